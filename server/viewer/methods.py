"""The viewer's RPC built-ins: terrain, live metrics, settlement history, NPC inspection, quests, director.

Each handler is ``(slot, params) -> msgpack-able result`` and raises ``RpcDenied`` for a typed error. Any
role may call them (they only read). Methods backed by a system that may not exist in this world (the NPC
system, the narrative system) answer ``UNEXPECTED`` naming what is missing, so the viewer can show "no NPC
system" instead of failing.

Every answer is kept under ``protocol.messages.MAX_FRAME_BYTES``: the terrain is cut into row chunks
(``viewer.terrain {chunk}``), histories are ring buffers of bounded length, and NPC inspections keep the
most salient memories and strongest relations (``_fit`` trims lists until the encoded answer fits).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import msgspec
import numpy as np

from protocol import ErrorCode
from protocol.messages import MAX_FRAME_BYTES
from worldsim import KIND_NAMES

from ..rpc import RpcDenied
from .history import MarketHistory

if TYPE_CHECKING:
    from ..app import WorldServer
    from ..room import ClientSlot

CREATURES_PER_CHUNK = 8_000
"""Creatures per ``viewer.species`` chunk (5 bytes each: id and species)."""
TERRAIN_CHUNK_BYTES = 40_000
"""Most grid bytes (biome + shade) per ``viewer.terrain`` chunk, leaving room for the map's header."""
ANSWER_BUDGET = MAX_FRAME_BYTES - 2_000
"""Largest encoded RPC result the viewer methods return (the RpcResponse wrapper needs a few bytes)."""


class QuestSource(Protocol):
    """What ``quest.list`` needs of the narrative system (the lead wires an adapter when it exists).

    ``quest_list()`` returns the active quests, each a msgpack-able map the page shows as
    ``{"id", "title", "state", "giver"?, "steps": [{"name", "state"}]}`` (steps in graph order; the page
    draws them as a chain coloured by state). Extra keys are shown as text.
    """

    def quest_list(self) -> list[dict[str, Any]]: ...


class DirectorSource(Protocol):
    """What ``director.state`` needs of the director (the lead wires an adapter when it exists).

    ``director_state()`` returns ``{"players": [{"id", "name"?, "intensity": [float oldest first, 0..1],
    "phase", "difficulty"?}]}``; the page draws each player's intensity curve and prints phase and
    difficulty.
    """

    def director_state(self) -> dict[str, Any]: ...


def _param(params: Any, name: str, kind: type) -> Any:
    if not isinstance(params, dict) or name not in params:
        raise RpcDenied(ErrorCode.INVALID, f"params must be a map with {name!r}")
    value = params[name]
    if isinstance(value, bool) or not isinstance(value, kind):
        raise RpcDenied(ErrorCode.INVALID, f"parameter {name!r} must be {kind.__name__}, got {type(value).__name__}")
    return value


def _fit(answer: dict[str, Any], trimmable: tuple[str, ...]) -> dict[str, Any]:
    """Halve the longest of ``answer[trimmable]`` lists until the encoded answer fits ``ANSWER_BUDGET``."""
    while len(msgspec.msgpack.encode(answer)) > ANSWER_BUDGET:
        lists = [k for k in trimmable if isinstance(answer.get(k), list) and answer[k]]
        if not lists:
            raise RpcDenied(ErrorCode.INTERNAL, "the answer does not fit one frame")
        longest = max(lists, key=lambda k: len(answer[k]))
        answer[longest] = answer[longest][: len(answer[longest]) // 2]
        answer["truncated"] = True
    return answer


class ViewerMethods:
    """Read-only RPC built-ins for the web viewer over one ``WorldServer``.

    ``sample_markets`` is a room tick listener: every economy step it appends the markets to ``history``.
    ``quest_source`` / ``director_source`` are set by the lead when the narrative system exists.
    """

    def __init__(self, server: WorldServer, history: MarketHistory | None = None) -> None:
        self.server = server
        self.history = history or MarketHistory()
        self.quest_source: QuestSource | None = None
        self.director_source: DirectorSource | None = None

    def methods(self) -> dict[str, Callable[[ClientSlot, Any], Any]]:
        return {"viewer.terrain": self.terrain, "viewer.metrics": self.metrics, "viewer.species": self.species,
                "viewer.settlement": self.settlement, "npc.inspect": self.npc_inspect,
                "npc.summary": self.npc_summary, "quest.list": self.quest_list,
                "director.state": self.director_state}

    @property
    def world(self) -> Any:
        return self.server.room.world

    # ---------------------------------------------------------------- sampling
    def sample_markets(self, tick: int) -> None:
        """Tick listener: sample prices and stock on every economy step (``economy_interval``)."""
        world = self.world
        economy = world.economy
        if not economy.goods or not economy.settlements:
            return
        interval = max(1, round(world.scenario.world.economy_interval * world.scenario.world.tick_rate))
        if tick % interval == 0 or len(self.history) == 0:
            self.history.sample(tick, economy.price, economy.stock)

    # ---------------------------------------------------------------- map
    def terrain(self, slot: ClientSlot, params: Any) -> dict[str, Any]:
        """Chunk ``chunk`` (default 0) of the biome grid and a height shade, rows = y from the south edge.

        Returns ``n``, ``tile_size``, ``half_extent`` (metres), ``chunk``, ``chunks``, ``row0``, ``rows``,
        ``biome`` (rows * n bytes, index into ``biomes``), ``shade`` (rows * n bytes, height 0..255),
        and in chunk 0 also ``biomes``, ``palette`` (CSS colours), ``settlements`` [{name, x, y}],
        ``nodes`` [{good, x, y}], ``species``, ``weathers``, ``goods`` and ``kinds``.
        """
        chunk = 0 if params is None or (isinstance(params, dict) and "chunk" not in params) \
            else _param(params, "chunk", int)
        world = self.world
        t = world.terrain
        n = int(t.n)
        rows_per = max(1, TERRAIN_CHUNK_BYTES // (2 * n))
        chunks = (n + rows_per - 1) // rows_per
        if not 0 <= chunk < chunks:
            raise RpcDenied(ErrorCode.INVALID, f"parameter 'chunk' must be in 0..{chunks - 1}, got {chunk}")
        r0, r1 = chunk * rows_per, min(n, (chunk + 1) * rows_per)
        shade = np.clip(np.asarray(t.height[r0:r1]) * 255.0, 0, 255).astype(np.uint8)
        out: dict[str, Any] = {"n": n, "tile_size": float(t.tile_size), "half_extent": float(world.half_extent),
                               "chunk": chunk, "chunks": chunks, "row0": r0, "rows": r1 - r0,
                               "biome": np.ascontiguousarray(t.biome[r0:r1], np.uint8).tobytes(),
                               "shade": shade.tobytes()}
        if chunk == 0:
            scenario = world.scenario
            e = world.economy
            out.update(
                biomes=list(t.biome_names),
                palette=[getattr(scenario.biomes.get(b), "color", "#888888") for b in t.biome_names],
                settlements=[{"name": s, "x": float(xy[0]), "y": float(xy[1])}
                             for s, xy in zip(e.settlements, e.town_xy.tolist(), strict=True)],
                nodes=[{"good": e.goods[g], "x": float(xy[0]), "y": float(xy[1])}
                       for g, xy in zip(e.node_good.tolist(), e.node_xy.tolist(), strict=True)][:400],
                species=[{"name": s, "color": scenario.species[s].color} for s in world.ecology.names],
                weathers=list(world.climate.names), goods=list(e.goods),
                kinds=[KIND_NAMES[k] for k in KIND_NAMES])
        return out

    def species(self, slot: ClientSlot, params: Any) -> dict[str, Any]:
        """Which species each live creature is, for colouring (snapshots carry positions only).

        Chunk ``chunk`` (default 0) of the creatures in ascending id order: ``ids`` (k little-endian u32
        bytes), ``species`` (k bytes, index into ``names``), ``colors``, ``chunk``, ``chunks``, ``tick``.
        """
        chunk = 0 if not isinstance(params, dict) or "chunk" not in params else _param(params, "chunk", int)
        world = self.world
        t = world.entities
        rows = world.ecology.creature_rows(t)
        ids = t.ids(rows).astype(np.int64)
        order = np.argsort(ids, kind="stable")
        chunks = max(1, (len(ids) + CREATURES_PER_CHUNK - 1) // CREATURES_PER_CHUNK)
        if not 0 <= chunk < chunks:
            raise RpcDenied(ErrorCode.INVALID, f"parameter 'chunk' must be in 0..{chunks - 1}, got {chunk}")
        pick = order[chunk * CREATURES_PER_CHUNK:(chunk + 1) * CREATURES_PER_CHUNK]
        names = list(world.ecology.names)
        return {"tick": world.tick, "chunk": chunk, "chunks": chunks, "names": names,
                "colors": [world.scenario.species[n].color for n in names],
                "ids": ids[pick].astype("<u4").tobytes(), "species": t.species[rows[pick]].astype(np.uint8).tobytes()}

    # ---------------------------------------------------------------- panels
    def metrics(self, slot: ClientSlot, params: Any) -> dict[str, Any]:
        """``world.metrics()`` plus the room's: tick, tick time percentiles (ms, last 100 ticks), clients,
        bytes out per second, paused, speed and the weather's name."""
        server, world = self.server, self.world
        room, m = server.room, server.metrics
        server.transport.refresh_metrics()
        return {"tick": world.tick, "seconds": float(world.seconds), "tick_rate": server.config.tick_rate,
                "world": world.metrics(),
                "server": {"tick_ms": m.tick_percentiles_ms(100), "clients": m.clients,
                           "bytes_out_per_s": m.bytes_out_per_second(), "overruns": m.overruns,
                           "paused": bool(getattr(room, "paused", False)),
                           "speed": float(getattr(room, "speed", 1.0))},
                "weather": world.climate.names[world.climate.state]}

    def settlement(self, slot: ClientSlot, params: Any) -> dict[str, Any]:
        """Stock and prices over time of settlement ``name`` (oldest first) and its current values."""
        name = _param(params, "name", str)
        e = self.world.economy
        if name not in e.settlements:
            raise RpcDenied(ErrorCode.INVALID, f"no settlement {name!r}; this world has {list(e.settlements)}")
        i = e.settlements.index(name)
        out = self.history.describe(i, name, list(e.goods))
        out["now"] = {"tick": self.world.tick,
                      "price": {g: float(e.price[i, j]) for j, g in enumerate(e.goods)},
                      "stock": {g: float(e.stock[i, j]) for j, g in enumerate(e.goods)}}
        out["x"], out["y"] = (float(v) for v in e.town_xy[i])
        return out

    # ---------------------------------------------------------------- systems that may be missing
    def _system(self, name: str, what: str) -> Any:
        systems = getattr(self.world, "systems", None) or {}
        system = systems.get(name) if isinstance(systems, dict) else None
        if system is None:
            raise RpcDenied(ErrorCode.UNEXPECTED, f"this world has no {what}")
        return system

    def npc_inspect(self, slot: ClientSlot, params: Any) -> dict[str, Any]:
        """``NpcSystem.inspect(id)``: needs, action and utility breakdown, memories, relations, faction."""
        entity = _param(params, "id", int)
        system = self._system("npc", "NPC system")
        try:
            answer = dict(system.inspect(entity))
        except Exception as exc:  # NpcInputError (not a live NPC) -> INVALID; the rest is a server failure
            if type(exc).__name__ == "NpcInputError" or isinstance(exc, KeyError | ValueError):
                raise RpcDenied(ErrorCode.INVALID, f"entity {entity} is not a live NPC") from None
            raise
        return _fit(answer, ("memories", "relations", "scores"))

    def npc_summary(self, slot: ClientSlot, params: Any) -> dict[str, Any]:
        """``NpcSystem.summary()``: ids with role, action and faction indices and their names."""
        return _fit(dict(self._system("npc", "NPC system").summary()), ())

    def quest_list(self, slot: ClientSlot, params: Any) -> dict[str, Any]:
        source = self.quest_source
        if source is None:
            raise RpcDenied(ErrorCode.UNEXPECTED, "this world has no narrative system (no quests yet)")
        return _fit({"tick": self.world.tick, "quests": list(source.quest_list())}, ("quests",))

    def director_state(self, slot: ClientSlot, params: Any) -> dict[str, Any]:
        source = self.director_source
        if source is None:
            raise RpcDenied(ErrorCode.UNEXPECTED, "this world has no narrative system (no director yet)")
        return _fit({"tick": self.world.tick, **dict(source.director_state())}, ())
