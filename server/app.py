"""``WorldServer``: one process serving one room over websockets — admission, dispatch, saves, shutdown.

Lifecycle: ``start()`` loads the last save if there is one, binds the port and starts the room loop;
``stop()`` stops accepting, saves the world atomically, says ``Bye(1001)`` to every client and closes.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import json
import logging
import os
import shutil
import tempfile
import time
from typing import Any

from websockets.asyncio.server import Server, serve

from narrative.errors import NarrativeError
from narrative.quest_board import RPC_METHODS as QUEST_METHODS
from narrative.quest_board import QuestBoard
from protocol import Ack, Bye, CloseCode, ErrorCode, Event, Hello, Input, RpcRequest, RpcResponse
from protocol.messages import Message
from worldsim import KIND_NAMES, Kind, World, load_scenario, saves
from worldsim.errors import WorldError

from .analytics_forwarder import AnalyticsForwarder
from .auth import AuthError, TokenSigner
from .config import ServerConfig
from .errors import RoomError
from .metrics import Metrics
from .room import ClientSlot, Link, Room
from .rpc import RpcDenied, RpcRouter
from .transport import Connection, Transport
from .viewer import Viewer

log = logging.getLogger("worldloom.server")

RESUME_TOKEN_TTL = 24 * 3600.0


def _warm_up() -> None:
    """Load/compile the Numba kernels and codec paths before the first real tick (keeps tick times flat)."""
    from protocol.snapshot import SnapshotAssembler

    from .interest import SpatialGrid
    from .snapshots import SnapshotFrames, TickFrame

    town = World.from_scenario(load_scenario("town"))  # NPC, director and ecology kernels (compiled once, cached)
    for _ in range(5):
        town.step()
    scratch = World(seed=0, half_extent=10.0, npc_count=4)
    player = scratch.spawn_player()
    scratch.apply_input(player, 1.0, 0.0)
    scratch.step(0.05)
    frame = TickFrame(scratch, SpatialGrid(5.0), need_grid=True)
    view = frame.around(frame.row_of(Kind.PLAYER, player) or 0, 5.0)
    SnapshotFrames().frames(1, 0.0, 0, view, 0, None)
    SnapshotAssembler()


class WorldServer:
    def __init__(self, config: ServerConfig | None = None, world: World | None = None) -> None:
        self.config = (config or ServerConfig()).validate()
        self.metrics = Metrics()
        self.signer = TokenSigner(self.config.secret)
        self.world = world if world is not None else self._initial_world()
        self.room = Room(self.world, self.config, self.metrics)
        self.router = RpcRouter(self.room, {"room.info": self._rpc_room_info, "world.hash": self._rpc_world_hash,
                                            "world.save": self._rpc_world_save})
        self.viewer = Viewer(self, getattr(self.config, "runs_dir", None) or os.environ.get("WORLDLOOM_RUNS_DIR"))
        self.router.builtins.update(self.viewer.methods())
        self.room.add_tick_listener(self.viewer.rpc.sample_markets)
        # quests are per player session: the board lives with the room (narrative/quest_board.py)
        self.quests = QuestBoard(seed=self.world.seed, every_ticks=max(1, self.config.tick_rate))
        for method in QUEST_METHODS:
            self.router.builtins[f"quest.{method}"] = functools.partial(self._rpc_quest, method)
        self.room.add_tick_listener(self._quest_tick)
        self.viewer.rpc.quest_source = self
        self._load_quests()
        self.viewer.rpc.director_source = self
        self.room.add_tick_listener(self._after_tick)
        self._temp_spill = None if self.config.analytics_spill_dir else tempfile.mkdtemp(prefix="worldloom-spill-")
        self.analytics = AnalyticsForwarder(self.router, self.config.analytics_spill_dir or self._temp_spill or "")
        self.room.add_tick_listener(self.analytics.on_tick)
        self.room.add_leave_listener(self._record_session_end)
        self.transport = Transport(self)
        self.stopping = False
        self._stop = asyncio.Event()
        self._ws_server: Server | None = None
        self._loop_task: asyncio.Task[None] | None = None
        self._last_autosave = time.monotonic()
        self.port = 0

    # ---------------------------------------------------------------- lifecycle
    def _initial_world(self) -> World:
        cfg = self.config
        if cfg.save_path and os.path.exists(cfg.save_path):
            world = World.load(cfg.save_path)
            ids, _ = world.kind_view(Kind.PLAYER)
            for entity in ids.tolist():  # their sessions died with the old process: nobody can resume them
                world.despawn(entity)
            log.info("resumed world from %s at tick %d (%d stale avatars removed)", cfg.save_path, world.tick,
                     len(ids))
            return world
        if cfg.scenario:
            scenario = load_scenario(cfg.scenario, overrides={"world.tick_rate": cfg.tick_rate})
            world = World.from_scenario(scenario, seed=cfg.seed, npc_count=cfg.npc_count, npc_speed=cfg.npc_speed)
            log.info("built world %r from %s (seed %d)", scenario.world.name, scenario.source, cfg.seed)
            return world
        return World(seed=cfg.seed, half_extent=cfg.half_extent, npc_count=cfg.npc_count,
                     npc_speed=cfg.npc_speed)

    async def start(self) -> None:
        if self._ws_server is not None:
            raise RuntimeError("server already started")
        _warm_up()
        gc.collect()
        gc.freeze()  # startup objects (modules, compiled kernels) never need scanning again: shorter GC pauses
        self._ws_server = await serve(
            self.transport.handle, self.config.host, self.config.port,
            process_request=lambda conn, req: self.viewer.http.handle(req) or self.transport.process_request(conn, req),
            compression=None,
            max_size=max(self.config.limits.max_frame, self.config.service_limits.max_frame), max_queue=64, write_limit=64 * 1024,
            ping_interval=20, ping_timeout=20, server_header="worldloom")
        sock = next(iter(self._ws_server.sockets))
        self.port = sock.getsockname()[1]
        self._loop_task = asyncio.create_task(self.room.run(self._stop), name="room-loop")

    @property
    def url(self) -> str:
        return f"ws://{self.config.host}:{self.port}/ws"

    async def stop(self) -> None:
        """Graceful shutdown: stop accepting, save atomically, Bye(1001) to everyone, close."""
        if self.stopping:
            return
        self.stopping = True
        if self._ws_server is not None:
            self._ws_server.close(close_connections=False)
        self._stop.set()
        if self._loop_task is not None:
            try:
                await self._loop_task
            except Exception:
                log.exception("room loop ended with an error")
        self.analytics.close()  # what the service has not acknowledged goes to the spill for the next process
        if self._temp_spill is not None:  # no spill dir configured (embedded/tests): nobody would replay it
            shutil.rmtree(self._temp_spill, ignore_errors=True)
        self.save()
        for conn in list(self.transport.connections):
            conn.session.close(CloseCode.GOING_AWAY, "server shutting down")
            conn.wake()
        deadline = time.monotonic() + 3.0
        while self.transport.connections and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        if self._ws_server is not None:
            self._ws_server.close(close_connections=True)
            await self._ws_server.wait_closed()

    async def wait_stopped(self) -> None:
        """Wait until a stop is requested (signal handler, test or admin)."""
        await self._stop.wait()

    def request_stop(self) -> None:
        self._stop.set()

    def save(self) -> str | None:
        """Write the world to ``save_path`` atomically; returns the path (None when saving is off)."""
        path = self.config.save_path
        if not path:
            return None
        self.world.save(path)
        saves.write_atomic(path + ".quests.json", json.dumps(self.quests.to_dict(), sort_keys=True).encode())
        log.info("saved world at tick %d to %s", self.world.tick, path)
        return path

    def _load_quests(self) -> None:
        """Quests saved next to the world save, if any (a damaged file is logged and ignored: quests restart)."""
        path = (self.config.save_path or "") + ".quests.json"
        if not self.config.save_path or not os.path.exists(path):
            return
        try:
            with open(path, encoding="utf-8") as f:
                self.quests.load_dict(json.load(f))
        except (OSError, ValueError, NarrativeError) as exc:
            log.error("quests in %s could not be restored (%s); quests start afresh", path, exc)

    def _after_tick(self, tick: int) -> None:
        self.router.expire(time.time())
        interval = self.config.autosave_interval
        if interval and self.config.save_path and time.monotonic() - self._last_autosave >= interval:
            self._last_autosave = time.monotonic()
            try:
                self.save()
            except WorldError:
                log.exception("autosave failed; the previous save is intact")

    # ---------------------------------------------------------------- admission
    def admit(self, link: Connection, hello: Hello) -> ClientSlot | None:
        """Authenticate ``hello`` and admit the client, or refuse it on its session. Returns the slot."""
        session, now = link.session, time.time()
        try:
            self._authenticate(hello, now)
        except AuthError as exc:
            self.metrics.connections_refused += 1
            session.refuse(ErrorCode.UNAUTHORIZED, exc.reason, CloseCode.UNAUTHORIZED)
            return None
        resume_session = None
        if hello.resume:
            try:
                claims = self.signer.verify(hello.resume, now, role="resume")
                if claims.sub in self.room.slots and self.room.slots[claims.sub].role == hello.role:
                    resume_session = claims.sub
                else:
                    raise AuthError("session to resume is unknown or its grace window expired")
            except AuthError as exc:
                session.send_error(ErrorCode.RESUME_FAILED, f"cannot resume: {exc.reason}; starting a new session")
        try:
            slot, welcome = self.room.admit(link, hello.role, hello.name, tuple(hello.methods), resume_session)
        except RoomError as exc:
            self.metrics.connections_refused += 1
            session.refuse(ErrorCode.SERVER_FULL, str(exc), CloseCode.SERVER_FULL)
            return None
        welcome.resume = self.signer.issue(slot.session_id, "resume", RESUME_TOKEN_TTL, now)
        if hello.role in ("service", "admin"):  # authenticated by token: bigger frames, higher rate
            session.limits = self.config.service_limits
        session.accept(welcome)
        if not welcome.resumed:
            self.room.announce_join(slot)
            if slot.role == "player":
                self.analytics.record("session_start", player=slot.name or slot.session_id, session=slot.session_id)
        if slot.role == "player":
            self.quests.add_player(slot.session_id, slot.entity)
        return slot

    def _record_session_end(self, slot: ClientSlot) -> None:
        if slot.role == "player":
            self.quests.remove_player(slot.session_id)
            self.analytics.record("session_end", player=slot.name or slot.session_id, session=slot.session_id)

    def _authenticate(self, hello: Hello, now: float) -> None:
        open_role = hello.role in ("player", "spectator") and self.config.open_play
        if not hello.token:
            if open_role:
                return
            raise AuthError(f"role {hello.role!r} requires a token; create one with "
                            f"`worldloom token --role {hello.role}`")
        self.signer.verify(hello.token, now, role=hello.role)

    def detach(self, slot: ClientSlot, link: Link) -> None:
        self.room.detach(slot, link)

    # ---------------------------------------------------------------- dispatch
    def dispatch(self, slot: ClientSlot, message: Message, now: float) -> None:
        match message:
            case Input():
                self.room.receive_input(slot, message, now)
            case Ack(tick=tick):
                self.room.receive_ack(slot, tick)
            case RpcRequest():
                self.router.request(slot, message, now)
            case RpcResponse():
                self.router.response(slot, message)
            case Bye():
                slot.said_bye = True
            case _:
                pass

    # ---------------------------------------------------------------- quests and the director
    def _quest_tick(self, tick: int) -> None:
        """Feed the tick's events to the quest board; send each player its quest updates as ``quest.update``."""
        try:
            updates = self.quests.on_tick(self.world, self.room.tick_events)
        except NarrativeError:
            log.exception("quest update failed; quests carry on next update")
            return
        self._story_to_analytics(updates)
        if not updates:
            return
        slots = {s.session_id: s for s in self.room.slots.values() if s.role == "player"}
        for update in updates:
            slot = slots.get(update.player)
            if slot is not None and slot.link is not None:
                slot.link.session.send(Event(tick=tick, kind="quest.update", entity=slot.entity,
                                             data=update.to_dict()))
                slot.link.wake()

    _QUEST_ANALYTICS = {"accepted": "quest_start", "completed": "quest_complete", "failed": "quest_fail"}
    _DESIGN_EVENTS = frozenset({"director.spawn", "director.threat", "director.hostility", "director.phase"})

    def _story_to_analytics(self, updates: list[Any]) -> None:
        """Quests, difficulty changes, downed players and the director's pacing decisions go to analytics
        (``quest_*``, ``difficulty_change``, ``death``, ``design``), keyed by the player's name."""
        players = {s.entity: s for s in self.room.slots.values() if s.role == "player" and s.entity}
        by_session = {s.session_id: s for s in players.values()}
        for update in updates:
            kind = self._QUEST_ANALYTICS.get(update.change)
            slot = by_session.get(update.player)
            if kind and slot is not None:
                self.analytics.record(kind, player=slot.name or slot.session_id, name=str(update.quest_id),
                                      session=slot.session_id)
        for event in self.room.tick_events:
            if event.kind == "director.difficulty":
                slot = players.get(int(event.data.get("player", 0)))
                if slot is not None:
                    self.analytics.record("difficulty_change", player=slot.name or slot.session_id,
                                          name=str(event.data.get("reason", ""))[:128],
                                          value=float(event.data.get("new", 0.0)), session=slot.session_id)
            elif event.kind == "player.downed":
                slot = players.get(event.entity)
                if slot is not None:
                    self.analytics.record("death", player=slot.name or slot.session_id,
                                          name=f"killed by {event.data.get('killer', 0)}", session=slot.session_id)
            elif event.kind in self._DESIGN_EVENTS:
                self.analytics.record("design", player="director", name=event.kind,
                                      value=float(event.data.get("count", 0) or 0))

    def _rpc_quest(self, method: str, slot: ClientSlot, params: Any) -> Any:
        """``quest.<method>``: players manage their own quests; ``quest.list`` from a spectator or admin lists
        every player's (the web viewer's panel)."""
        if method == "list" and slot.role != "player":
            return self.viewer.rpc.quest_list(slot, params)  # its quest_source is this server by default
        if slot.role != "player":
            raise RpcDenied(ErrorCode.UNAUTHORIZED, "quests are for players")
        try:
            answer = self.quests.rpc(self.world, slot.session_id, method, params)
        except NarrativeError as exc:
            raise RpcDenied(ErrorCode.INVALID, str(exc)) from None
        for update in answer.get("updates", []):
            kind = self._QUEST_ANALYTICS.get(update.get("change", ""))
            if kind:
                self.analytics.record(kind, player=slot.name or slot.session_id, name=str(update.get("quest", "")),
                                      session=slot.session_id)
        return answer

    def quest_list(self) -> list[dict[str, Any]]:
        """Every player's offered and active quests in the viewer's shape."""
        out = []
        for player in sorted(self.quests.ledger.avatars):
            for quest in self.quests.ledger.quests(player):
                if quest.status not in ("offered", "active"):
                    continue
                d = self.quests.describe(quest)
                out.append({"id": d["id"], "title": d["title"], "state": d["status"], "giver": d["giver_name"],
                            "player": player, "motivation": d["motivation"], "objective": d["objective"],
                            "steps": [{"name": str(d["step"]), "state": d["status"]}]})
        return out

    def director_state(self) -> dict[str, Any]:
        """The narrative system's director view, or a typed refusal when the world has none."""
        system = self.world.systems.get("narrative")
        if system is None:
            raise RpcDenied(ErrorCode.UNEXPECTED, "this world has no narrative system (no director)")
        return dict(system.director_state())

    # ---------------------------------------------------------------- built-in RPCs and status
    def _rpc_room_info(self, slot: ClientSlot, params: Any) -> dict[str, Any]:
        return {"tick": self.world.tick, "tick_rate": self.config.tick_rate, "clients": self.metrics.clients,
                "entities": {KIND_NAMES[k]: int(len(self.world.kind_view(k)[0])) for k in Kind}}

    def _rpc_world_hash(self, slot: ClientSlot, params: Any) -> dict[str, Any]:
        return {"tick": self.world.tick, "hash": self.world.world_hash()}

    def _rpc_world_save(self, slot: ClientSlot, params: Any) -> dict[str, Any]:
        if slot.role != "admin":
            raise RpcDenied(ErrorCode.UNAUTHORIZED, "world.save needs the admin role")
        path = self.save()
        if path is None:
            raise RpcDenied(ErrorCode.INTERNAL, "saving is off on this server (it was started with --no-save)")
        return {"tick": self.world.tick, "path": path}

    def status(self, last: int | None = None) -> dict[str, Any]:
        """Server state for /status; tick percentiles over the ``last`` ticks when given."""
        self.transport.refresh_metrics()
        return {"url": self.url, "tick": self.world.tick, "room_failed": self.room.failed is not None,
                "entities": {KIND_NAMES[k]: int(len(self.world.kind_view(k)[0])) for k in Kind},
                "metrics": self.metrics.as_dict(last)}
