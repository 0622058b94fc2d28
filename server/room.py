"""A room is an actor: it owns one world, admits clients, and runs the fixed-timestep loop.

Each tick: apply every client's queued inputs in seq order, step the world, then give each connected
client a snapshot of its area of interest, delta-encoded against the newest tick it acknowledged.
Network handlers only enqueue (inputs, acks) — the world is touched by the tick alone, so the simulation
stays deterministic whatever the network does.

The loop keeps a fixed timestep: it sleeps to the next deadline; a late tick is counted as an overrun and
the next ones run back to back to catch up, but never more than ``max_catchup`` ticks (a longer stall
skips ticks and counts them), so the loop cannot spiral.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from protocol import CloseCode, ErrorCode, Event, Input, Welcome, encode
from protocol.messages import POSITION_QUANTUM, PROTOCOL_VERSION, SCHEMA_HASH
from protocol.session import ServerSession
from worldsim import Kind, StaleEntityError, World, WorldEvent

from .config import ServerConfig
from .errors import RoomError
from .interest import SpatialGrid
from .metrics import Metrics
from .snapshots import FlatView, SnapshotFrames, TickFrame

log = logging.getLogger("worldloom.room")

SNAPSHOT_ROLES = ("player", "spectator", "admin")
BUTTON_THROW = 1
"""``Input.buttons`` bit 0: throw a projectile along the move stick."""
THROW_COOLDOWN = 0.5
"""Seconds between two throws of one player."""
CLIENT_EVENT_KINDS = frozenset({"weather.changed", "day.started", "market.shortage", "market.caravan",
                                "physics.collision", "entity.spawned"})
"""World events forwarded to clients (the rest stay in the server: analytics, narrative, replays)."""
LOCATED_BY_ENTITY = frozenset({"entity.spawned"})
"""Client-facing kinds without coordinates that are delivered around their entity."""


class Link(Protocol):
    """What the room needs of a connection: its protocol session and a way to flush it."""

    session: ServerSession

    def wake(self) -> None: ...


@dataclass
class ClientSlot:
    """One admitted client; survives a disconnect for the grace window (players)."""

    session_id: str
    role: str
    name: str
    entity: int
    link: Link | None
    methods: tuple[str, ...] = ()
    inputs: deque[Input] = field(default_factory=deque)
    last_seq_received: int = 0
    last_seq_applied: int = 0
    history: OrderedDict[int, FlatView] = field(default_factory=OrderedDict)
    acked: int = 0
    detached_at: float | None = None
    said_bye: bool = False
    halted: bool = False  # a detached avatar was stopped (it keeps no velocity while nobody steers it)
    next_throw_tick: int = 0  # a throw before this tick is refused (cooldown)

    def remember(self, tick: int, view: FlatView, keep: int) -> None:
        self.history[tick] = view
        while len(self.history) > keep:
            self.history.popitem(last=False)

    def acknowledge(self, tick: int) -> None:
        if tick > self.acked and tick in self.history:
            self.acked = tick
            while self.history and next(iter(self.history)) < tick:
                self.history.popitem(last=False)


class Room:
    """One world and its clients. Not thread-safe: all calls happen on the server's event loop."""

    def __init__(self, world: World, config: ServerConfig, metrics: Metrics,
                 clock: Callable[[], float] = time.time) -> None:
        self.world = world
        self.config = config
        self.metrics = metrics
        self.clock = clock
        self.slots: dict[str, ClientSlot] = {}
        self.grid = SpatialGrid(config.aoi_radius)
        self.encoder = SnapshotFrames()
        self.failed: BaseException | None = None
        self.tick_events: list[WorldEvent] = []
        """The world events of the newest tick (tick listeners read them: analytics, narrative)."""
        self._tick_listeners: list[Callable[[int], None]] = []
        self._leave_listeners: list[Callable[[ClientSlot], None]] = []
        self.command_log: list[tuple[Any, ...]] | None = [] if config.record_commands else None
        """When enabled: every world command as (tick, op, entity, *args) — enough to replay the run."""
        self.paused = False
        """Admin pause: the loop runs no tick (only ``pending_steps``) while set."""
        self.pending_steps = 0
        """Ticks to run while paused (admin single-step)."""
        self.speed = 1.0
        """Wall-clock tick rate multiplier (admin x0.25..x8); each tick still simulates 1 / tick_rate s."""

    # ---------------------------------------------------------------- admission
    def admit(self, link: Link, role: str, name: str, methods: tuple[str, ...] = (),
              resume_session: str | None = None) -> tuple[ClientSlot, Welcome]:
        """Admit a new client or resume ``resume_session``. Raises ``RoomError`` when full/unknown."""
        if resume_session is not None:
            slot = self.slots.get(resume_session)
            if slot is None:
                raise RoomError("session to resume is unknown or its grace window expired")
            old = slot.link
            if old is not None and old is not link:
                old.session.close(CloseCode.REPLACED, "session resumed on another connection")
                old.wake()
            slot.link, slot.detached_at, slot.said_bye, slot.halted = link, None, False, False
            return slot, self._welcome(slot, resumed=True)
        if len(self.slots) >= self.config.max_clients:
            raise RoomError(f"room is full ({self.config.max_clients} clients)")
        entity = self.world.spawn_player() if role == "player" else 0
        if entity and self.command_log is not None:
            self.command_log.append((self.world.tick, "spawn", entity))
        slot = ClientSlot(session_id=secrets.token_hex(8), role=role, name=name, entity=entity,
                          link=link, methods=methods)
        self.slots[slot.session_id] = slot
        return slot, self._welcome(slot, resumed=False)

    def announce_join(self, slot: ClientSlot) -> None:
        """Tell everyone a player joined (after its Welcome was queued, so Welcome stays first)."""
        if slot.entity:
            self.broadcast_event("player.joined", slot.entity, {"name": slot.name})

    def _welcome(self, slot: ClientSlot, resumed: bool) -> Welcome:
        self.metrics.clients = self._attached_count()
        return Welcome(session=slot.session_id, resume="", tick_rate=self.config.tick_rate,
                       tick=self.world.tick, server_time=self.clock(), entity=slot.entity,
                       protocol=PROTOCOL_VERSION, schema=SCHEMA_HASH, quantum=POSITION_QUANTUM,
                       aoi_radius=self.config.aoi_radius if slot.role == "player" else 0.0,
                       resumed=resumed, last_input=slot.last_seq_received)

    def detach(self, slot: ClientSlot, link: Link) -> None:
        """The connection ``link`` of ``slot`` ended. Players without Bye wait out the grace window."""
        if slot.link is not link:
            return  # already resumed on a newer connection
        slot.link = None
        if slot.said_bye or slot.role != "player" or self.config.resume_grace <= 0:
            self._remove(slot)
        else:
            slot.detached_at = self.clock()
        self.metrics.clients = self._attached_count()

    def _remove(self, slot: ClientSlot) -> None:
        self.slots.pop(slot.session_id, None)
        for listener in self._leave_listeners:
            listener(slot)
        if slot.entity:
            at = self.world.positions_of([slot.entity])[0]
            self.world.despawn(slot.entity)
            if self.command_log is not None:
                self.command_log.append((self.world.tick, "despawn", slot.entity))
            self.broadcast_event("player.left", slot.entity, {"name": slot.name}, at=at)

    def _attached_count(self) -> int:
        return sum(1 for s in self.slots.values() if s.link is not None)

    # ---------------------------------------------------------------- messages from clients
    def receive_input(self, slot: ClientSlot, message: Input, now: float) -> None:
        """Queue an input for the next tick; old/duplicate seqs are ignored, a full queue drops."""
        if slot.role != "player":
            self._notice(slot, ErrorCode.UNEXPECTED, f"role {slot.role} has no avatar to move", message.seq)
            return
        if message.seq <= slot.last_seq_received:
            return
        if len(slot.inputs) >= self.config.input_queue:
            self.metrics.input_drops += 1
            if slot.link is not None:
                slot.link.session.send_error(ErrorCode.QUEUE_FULL, "input queue full; input dropped",
                                             ref=message.seq, now=now)
            return
        slot.last_seq_received = message.seq
        slot.inputs.append(message)

    def receive_ack(self, slot: ClientSlot, tick: int) -> None:
        slot.acknowledge(tick)

    def _notice(self, slot: ClientSlot, code: ErrorCode, text: str, ref: int = 0) -> None:
        if slot.link is not None:
            slot.link.session.send_error(code, text, ref=ref)

    def broadcast_event(self, kind: str, entity: int, data: dict[str, Any], at: np.ndarray | None = None) -> None:
        """Send an Event to spectators/admins and to players whose area of interest contains ``at``.

        ``at`` (x, y, z metres) defaults to the entity's position. Interest-managed like snapshots, so a
        join among 1000 players costs the players nearby a message, not everyone (no O(n^2) fan-out).
        """
        if at is None and entity:
            at = self.world.positions_of([entity])[0]
        frame = encode(Event(tick=self.world.tick, kind=kind, entity=entity, data=data))
        receivers = [s for s in self.slots.values() if s.link is not None and s.role != "service"]
        players = [s for s in receivers if s.role == "player" and s.entity and s.entity != entity]
        near: set[str] = set()
        if players and at is not None:
            where = self.world.positions_of([s.entity for s in players])[:, :2] - np.asarray(at)[:2]
            radius = self.config.aoi_radius
            inside = (where * where).sum(axis=1) <= radius * radius
            near = {s.session_id for s, ok in zip(players, inside, strict=True) if ok}
        for slot in receivers:
            if slot.role != "player" or slot.entity == entity or slot.session_id in near or at is None:
                assert slot.link is not None
                slot.link.session.send_frame(frame)
                slot.link.wake()

    def _throw(self, slot: ClientSlot, message: Input) -> None:
        """``BUTTON_THROW``: the avatar throws a projectile along its move stick (east if centred), at most
        once per ``THROW_COOLDOWN`` seconds; refused with an error in a world without physics."""
        world = self.world
        if world.physics is None:
            if slot.link is not None:  # throttled: a held button must not flood the client with errors
                slot.link.session.send_error(ErrorCode.UNEXPECTED, "this world has no physics: nothing to throw",
                                             ref=message.seq, now=self.clock())
            return
        if world.tick < slot.next_throw_tick:
            return  # cooling down: the button is simply held
        world.throw_from(slot.entity, message.move[0], message.move[1])
        slot.next_throw_tick = world.tick + max(1, round(THROW_COOLDOWN * self.config.tick_rate))
        if self.command_log is not None:
            self.command_log.append((world.tick, "throw", slot.entity, *message.move))

    def _forward_events(self, events: list[WorldEvent]) -> None:
        """Send the client-facing world events: located ones (with x, y, z data) to those who see the spot,
        world-wide ones (weather, day, markets) to everyone. Creature births and deaths stay server-side
        (thousands per ecology step; clients see them as snapshot entries and exits)."""
        for event in events:
            if event.kind not in CLIENT_EVENT_KINDS:
                continue
            data = event.data
            at = np.array([data["x"], data["y"], data["z"]]) if "x" in data else None
            entity = event.entity if at is not None or event.kind in LOCATED_BY_ENTITY else 0
            try:
                self.broadcast_event(event.kind, entity, data, at=at)
            except StaleEntityError:  # the entity left the world within the tick
                continue

    def add_leave_listener(self, listener: Callable[[ClientSlot], None]) -> None:
        """Call ``listener(slot)`` when a client leaves for good (Bye, or its grace window ran out)."""
        self._leave_listeners.append(listener)

    def add_tick_listener(self, listener: Callable[[int], None]) -> None:
        self._tick_listeners.append(listener)

    # ---------------------------------------------------------------- the tick
    def step_once(self) -> None:
        """Run one tick: inputs, world step, grace reaping, snapshots."""
        world = self.world
        for slot in self.slots.values():
            if slot.link is None and slot.entity and not slot.halted and not slot.inputs:
                world.apply_input(slot.entity, 0.0, 0.0)
                if self.command_log is not None:
                    self.command_log.append((world.tick, "input", slot.entity, 0.0, 0.0))
                slot.halted = True
            while slot.inputs:
                message = slot.inputs.popleft()
                world.apply_input(slot.entity, message.move[0], message.move[1])
                if self.command_log is not None:
                    self.command_log.append((world.tick, "input", slot.entity, *message.move))
                if message.buttons & BUTTON_THROW:
                    self._throw(slot, message)
                slot.last_seq_applied = message.seq
        world.step(1.0 / self.config.tick_rate)
        self.tick_events = world.drain_events()
        self._forward_events(self.tick_events)
        now = self.clock()
        for slot in [s for s in self.slots.values() if s.detached_at is not None]:
            if now - slot.detached_at > self.config.resume_grace:  # type: ignore[operator]
                self._remove(slot)
        self._send_snapshots(now)
        for listener in self._tick_listeners:
            listener(world.tick)

    def _send_snapshots(self, now: float) -> None:
        receivers = [s for s in self.slots.values() if s.link is not None and s.role in SNAPSHOT_ROLES]
        if not receivers:
            return
        tick = self.world.tick
        players = [s for s in receivers if s.role == "player"]
        watchers = [s for s in receivers if s.role != "player"]
        frame = TickFrame(self.world, self.grid, need_grid=bool(players))
        keep = self.config.snapshot_history
        if players:
            rows = frame.rows_of(Kind.PLAYER, np.fromiter((s.entity for s in players), np.int64, len(players)))
            present = rows >= 0
            players = [s for s, ok in zip(players, present, strict=True) if ok]
            baselines = [s.history.get(s.acked) if s.acked else None for s in players]
            blocks, views = self.encoder.batch.encode(frame, rows[present], self.config.aoi_radius, baselines)
            for slot, block, view, baseline in zip(players, blocks, views, baselines, strict=True):
                frames = self.encoder.finish(tick, now, slot.last_seq_applied, block, view, slot.acked, baseline)
                self._deliver(slot, tick, view, frames, keep)
        for slot in watchers:
            view = frame.everything()
            baseline = slot.history.get(slot.acked) if slot.acked else None
            frames = self.encoder.frames(tick, now, slot.last_seq_applied, view, slot.acked, baseline)
            self._deliver(slot, tick, view, frames, keep)

    @staticmethod
    def _deliver(slot: ClientSlot, tick: int, view: FlatView, frames: list[bytes], keep: int) -> None:
        slot.remember(tick, view, keep)
        link = slot.link
        assert link is not None
        link.session.send_snapshot(frames)
        link.wake()

    async def run(self, stop: asyncio.Event) -> None:
        """Fixed-timestep loop until ``stop`` is set. A failure stops this room only (raised if configured)."""
        dt = 1.0 / self.config.tick_rate
        next_deadline = time.perf_counter()
        try:
            while not stop.is_set():
                delay = next_deadline - time.perf_counter()
                if delay > 0:
                    try:
                        await asyncio.wait_for(stop.wait(), timeout=delay)
                        break
                    except TimeoutError:
                        pass
                if self.paused and self.pending_steps <= 0:
                    next_deadline = time.perf_counter() + dt  # idle while paused: look again in one tick
                    continue
                if self.paused:
                    self.pending_steps -= 1
                started = time.perf_counter()
                self.step_once()
                elapsed = time.perf_counter() - started
                wall_dt = dt / self.speed
                self.metrics.record_tick(elapsed, overrun=elapsed > wall_dt)
                next_deadline += wall_dt
                behind = time.perf_counter() - next_deadline
                if behind > self.config.max_catchup * wall_dt:
                    skipped = int(behind / wall_dt)
                    self.metrics.skipped_ticks += skipped
                    next_deadline += skipped * wall_dt
                await asyncio.sleep(0)
        except Exception as exc:
            self.failed = exc
            self.metrics.room_failures += 1
            log.exception("room loop failed at tick %d; this room is stopped", self.world.tick)
            for slot in self.slots.values():
                if slot.link is not None:
                    slot.link.session.send_error(ErrorCode.INTERNAL, "room stopped by a server error")
                    slot.link.wake()
            if self.config.raise_room_errors:
                raise
