"""Admin controls over RPC: pause/resume, single steps, speed, spawn/kill, weather, storyteller trigger, save/load.

Every method needs a connection with the ``admin`` role (token required at the handshake); any other role
gets ``UNAUTHORIZED``. Bad parameters get ``INVALID`` naming the parameter and what is expected.

Why RPC built-ins and not a separate HTTP admin API: the viewer is already a protocol client, the token
and role checks are the handshake's, and each command runs on the event loop between two ticks, the only
place the world may change outside ``Room.step_once`` -- so the simulation stays deterministic given the
command log (each command is appended to ``room.command_log`` when it is kept, as ``(tick, "admin.<op>",
entity, *args)``). Speed only changes the wall-clock rate of ticks; every tick still advances the world by
``1 / tick_rate`` simulated seconds, so a run at x8 hashes like a run at x1.

``admin.trigger`` is the storyteller hook: it emits a ``director.trigger`` world event (seen by tick
listeners, analytics and replays like any other) and calls every callback in ``AdminControls.triggers``
(the narrative director registers itself there) with ``(event, data)``.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from protocol import ErrorCode
from worldsim import Kind, StaleEntityError, World
from worldsim.errors import CapacityError, InputError, WorldError

from .rpc import RpcDenied

if TYPE_CHECKING:
    from .app import WorldServer
    from .room import ClientSlot

log = logging.getLogger("worldloom.admin")

SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
"""Allowed simulation speed factors (wall-clock tick rate multipliers)."""
MAX_STEPS = 1000
"""Most ticks one ``admin.step`` may queue."""
MAX_SPAWN = 500
"""Most entities one ``admin.spawn`` may create."""

Trigger = Callable[[str, dict[str, Any]], None]


def _param(params: Any, name: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
    """``params[name]`` checked against ``kind``; raises ``RpcDenied(INVALID)`` naming the parameter."""
    if not isinstance(params, dict):
        if default is not ...:
            return default
        raise RpcDenied(ErrorCode.INVALID, f"params must be a map with {name!r}")
    if name not in params:
        if default is not ...:
            return default
        raise RpcDenied(ErrorCode.INVALID, f"missing parameter {name!r}")
    value = params[name]
    numeric = kind in (int, float) or (isinstance(kind, tuple) and float in kind)
    if isinstance(value, bool) and numeric or not isinstance(value, kind):
        expected = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise RpcDenied(ErrorCode.INVALID, f"parameter {name!r} must be {expected}, got {type(value).__name__}")
    return value


class AdminControls:
    """The ``admin.*`` RPC methods of one ``WorldServer``. ``methods()`` maps names to built-in handlers."""

    def __init__(self, server: WorldServer) -> None:
        self.server = server
        self.triggers: list[Trigger] = []

    def methods(self) -> dict[str, Callable[[ClientSlot, Any], Any]]:
        table = {"state": self.state, "pause": self.pause, "resume": self.resume, "step": self.step,
                 "speed": self.speed, "spawn": self.spawn, "kill": self.kill, "weather": self.weather,
                 "trigger": self.trigger, "save": self.save, "load": self.load}
        return {f"admin.{name}": self._guarded(f"admin.{name}", fn) for name, fn in table.items()}

    @staticmethod
    def _guarded(method: str, fn: Callable[[Any], Any]) -> Callable[[ClientSlot, Any], Any]:
        def handler(slot: ClientSlot, params: Any) -> Any:
            if slot.role != "admin":
                raise RpcDenied(ErrorCode.UNAUTHORIZED,
                                f"{method} needs the admin role; connect as admin with a token from "
                                f"`worldloom token --role admin`")
            return fn(params)
        return handler

    def _log(self, op: str, entity: int = 0, *args: Any) -> None:
        room = self.server.room
        if room.command_log is not None:
            room.command_log.append((room.world.tick, f"admin.{op}", entity, *args))

    # ---------------------------------------------------------------- clock
    def state(self, params: Any = None) -> dict[str, Any]:
        room, world = self.server.room, self.server.room.world
        return {"tick": world.tick, "paused": room.paused, "speed": room.speed, "pending_steps": room.pending_steps,
                "weather": world.climate.names[world.climate.state], "weathers": list(world.climate.names),
                "species": list(world.ecology.names), "speeds": list(SPEEDS)}

    def pause(self, params: Any = None) -> dict[str, Any]:
        self.server.room.paused = True
        self.server.room.pending_steps = 0
        return self.state()

    def resume(self, params: Any = None) -> dict[str, Any]:
        self.server.room.paused = False
        self.server.room.pending_steps = 0
        return self.state()

    def step(self, params: Any) -> dict[str, Any]:
        """Pause (if running) and run ``ticks`` (default 1) more ticks at the loop's pace."""
        ticks = _param(params, "ticks", int, 1)
        if not 1 <= ticks <= MAX_STEPS:
            raise RpcDenied(ErrorCode.INVALID, f"parameter 'ticks' must be in 1..{MAX_STEPS}, got {ticks}")
        room = self.server.room
        room.paused = True
        room.pending_steps += ticks
        return self.state()

    def speed(self, params: Any) -> dict[str, Any]:
        factor = float(_param(params, "factor", (int, float)))
        if factor not in SPEEDS:
            raise RpcDenied(ErrorCode.INVALID, f"parameter 'factor' must be one of {list(SPEEDS)}, got {factor}")
        self.server.room.speed = factor
        return self.state()

    # ---------------------------------------------------------------- entities
    def spawn(self, params: Any) -> dict[str, Any]:
        """Spawn ``count`` (default 1) entities near (x, y) metres: ``kind`` ``"wanderer"`` (an NPC-kind
        walker) or ``"creature"`` with ``species``. Returns the new ids."""
        world = self.server.room.world
        kind = _param(params, "kind", str)
        x, y = float(_param(params, "x", (int, float))), float(_param(params, "y", (int, float)))
        count = _param(params, "count", int, 1)
        h = world.half_extent
        if not (math.isfinite(x) and math.isfinite(y) and abs(x) <= h and abs(y) <= h):
            raise RpcDenied(ErrorCode.INVALID, f"(x, y) must be inside the world, |x|, |y| <= {h} m")
        if not 1 <= count <= MAX_SPAWN:
            raise RpcDenied(ErrorCode.INVALID, f"parameter 'count' must be in 1..{MAX_SPAWN}, got {count}")
        if world.entities.count + count > world.entities.capacity:
            raise RpcDenied(ErrorCode.INVALID, f"the world is full ({world.entities.capacity} entities)")
        if kind == "wanderer":
            pos = np.zeros((count, 3))
            pos[:, 0], pos[:, 1] = x, y
            ids = [int(i) for i in world.entities.spawn_many(Kind.NPC, pos, np.full(count, 2.0),
                                                            np.ones(count, bool))]
        elif kind == "creature":
            ids = self._spawn_creatures(world, _param(params, "species", str), x, y, count)
        else:
            raise RpcDenied(ErrorCode.INVALID, f"parameter 'kind' must be 'wanderer' or 'creature', got {kind!r}")
        self._log("spawn", 0, kind, x, y, count)
        return {"tick": world.tick, "ids": ids}

    @staticmethod
    def _spawn_creatures(world: World, species: str, x: float, y: float, count: int) -> list[int]:
        try:
            return world.spawn_creatures(species, x, y, count)
        except (InputError, CapacityError) as exc:
            raise RpcDenied(ErrorCode.INVALID, f"{exc}; pick another spot or species") from None

    def kill(self, params: Any) -> dict[str, Any]:
        """Remove entity ``id`` (not a player's avatar: those leave with their connection)."""
        world = self.server.room.world
        entity = _param(params, "id", int)
        try:
            row = world.entities.row_of(entity)
        except (StaleEntityError, WorldError, ValueError, OverflowError):
            raise RpcDenied(ErrorCode.INVALID, f"entity {entity} is not alive") from None
        if int(world.entities.kind[row]) == Kind.PLAYER:
            raise RpcDenied(ErrorCode.INVALID, f"entity {entity} is a player's avatar; it leaves with its player")
        body = int(world.entities.body[row])
        if body >= 0 and world.physics is not None:
            world.physics.remove(body)
        world.despawn(entity)
        self._log("kill", entity)
        return {"tick": world.tick, "killed": entity}

    # ---------------------------------------------------------------- world
    def weather(self, params: Any) -> dict[str, Any]:
        """Switch the weather to ``name`` now (a ``weather.changed`` event follows with the next tick)."""
        world = self.server.room.world
        name = _param(params, "name", str)
        climate = world.climate
        if name not in climate.names:
            raise RpcDenied(ErrorCode.INVALID, f"parameter 'name' must be one of {list(climate.names)}, got {name!r}")
        old = climate.names[climate.state]
        climate.state = climate.names.index(name)
        climate.remaining = climate.duration[climate.state]
        world.events.emit(world.tick + 1, "weather.changed", 0, old=old, new=name, by="admin")
        self._log("weather", 0, name)
        return self.state()

    def trigger(self, params: Any) -> dict[str, Any]:
        """Storyteller hook: emit ``director.trigger {event, ...data}`` and call the registered triggers."""
        world = self.server.room.world
        event = _param(params, "event", str)
        data = _param(params, "data", dict, {})
        if not event or len(event) > 64:
            raise RpcDenied(ErrorCode.INVALID, "parameter 'event' must be 1..64 characters")
        clean = {str(k)[:64]: v for k, v in list(data.items())[:16]
                 if isinstance(v, str | int | float | bool) and not isinstance(v, bytes)}
        world.events.emit(world.tick + 1, "director.trigger", 0, event=event, **clean)
        self._log("trigger", 0, event)
        for callback in list(self.triggers):
            try:
                callback(event, clean)
            except Exception:  # a broken director must not break the admin call or the tick
                log.exception("storyteller trigger callback failed for %r", event)
        return {"tick": world.tick, "event": event, "handlers": len(self.triggers)}

    def save(self, params: Any = None) -> dict[str, Any]:
        path = self.server.save()
        if path is None:
            raise RpcDenied(ErrorCode.INTERNAL, "saving is off on this server (it was started with --no-save)")
        return {"tick": self.server.room.world.tick, "path": path}

    def load(self, params: Any = None) -> dict[str, Any]:
        """Replace the world by the server's save file (never another path). Refused while players are
        connected: their avatars would vanish under them."""
        server, room = self.server, self.server.room
        path = server.config.save_path
        if not path or not os.path.exists(path):
            raise RpcDenied(ErrorCode.INVALID, "no save to load: save first (admin.save), and run without --no-save")
        if any(s.role == "player" for s in room.slots.values()):
            raise RpcDenied(ErrorCode.INVALID, "players are connected; loading would remove their avatars")
        try:
            world = World.load(path)
        except WorldError as exc:
            raise RpcDenied(ErrorCode.INTERNAL, f"the save cannot be loaded: {exc}") from None
        for entity in world.kind_view(Kind.PLAYER)[0].tolist():
            world.despawn(entity)
        server.world = room.world = world
        for slot in room.slots.values():  # watchers: the next snapshot is a full one
            slot.history.clear()
            slot.acked = 0
        self._log("load", 0, world.tick)
        return {"tick": world.tick, "path": path}
