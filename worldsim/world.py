"""The world: one entity table, named RNG streams and a tick counter; ``step`` runs the kernels.

Why this design: ``World`` only orchestrates. State lives in ``EntityTable`` columns, randomness in
``RngStreams``, arithmetic in ``kernels/``; a later system (ecology, economy, physics) adds columns to
``state.COLUMNS``, a kernel module, and a line or two in ``step``. Everything that influences the future is
in the columns, the streams or the tick, which is what ``world_hash`` digests and what saves store -- so the
same seed and the same inputs give the same hash in any process, with or without a save/load in between.

Inputs are applied between ticks (``apply_input`` sets a velocity that persists until the next input);
``step`` is a handful of numpy calls plus three kernel calls, cheap enough for 20 Hz with 10k entities.
"""

from __future__ import annotations

import hashlib
import math
import operator
import os
import struct
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from . import saves
from .errors import CapacityError, CorruptStateError, InputError, SaveError
from .kernels.movement import integrate_positions, select_arrived, steer_wanderers
from .rng import RngStreams
from .state import COLUMNS, EntityTable, Kind

PLAYER_SPEED = 5.0
"""Speed of a player avatar at full input (|move| = 1), m/s."""

ARRIVE_RADIUS = 0.5
"""A wanderer within this many metres (x/y) of its goal picks a new one, metres."""

SPAWN_STREAM = "spawn"
WANDER_STREAM = "wander"

_HASH_DOMAIN = b"worldloom/world_hash/v1"
_HASHED_COLUMNS = tuple(spec.name for spec in COLUMNS if spec.name not in ("alive", "generation"))


class World:
    """An authoritative, deterministic world of entities moving on the square [-h, h] x [-h, h] (metres).

    Attributes:
        seed: the integer every random stream derives from.
        half_extent: h, metres.
        tick: number of completed ``step`` calls.
        entities: the ``EntityTable`` (columns readable by other systems).
        rng: the ``RngStreams``.
    """

    def __init__(
        self,
        seed: int,
        half_extent: float = 100.0,
        capacity: int = 1 << 16,
        npc_count: int = 0,
        npc_speed: float = 2.0,
    ) -> None:
        """Create a world with ``npc_count`` wandering NPCs at random positions from the "spawn" stream.

        Args:
            seed: integer in [0, 2**64).
            half_extent: half the side of the square world, metres (finite, > 0).
            capacity: maximum live entities, 1..2**20.
            npc_count: wandering NPCs to spawn (each starts on its own position, so the first step
                gives it a goal).
            npc_speed: their walking speed, m/s (finite, >= 0).
        Raises:
            InputError: bad seed, half_extent, npc_count or npc_speed. CapacityError: bad capacity or
                npc_count > capacity.
        """
        self._setup(seed, half_extent, EntityTable(capacity), tick=0)
        npc_count = operator.index(npc_count)
        if npc_count < 0:
            raise InputError(f"npc_count must be >= 0, got {npc_count}")
        if npc_count > capacity:
            raise CapacityError(f"npc_count {npc_count} exceeds capacity {capacity}")
        xy = self.rng.stream(SPAWN_STREAM).uniform(-self.half_extent, self.half_extent, size=(npc_count, 2))
        pos = np.zeros((npc_count, 3))
        pos[:, :2] = xy
        self.entities.spawn_many(Kind.NPC, pos, np.full(npc_count, float(npc_speed)), np.ones(npc_count, bool))

    def _setup(self, seed: int, half_extent: float, table: EntityTable, tick: int) -> None:
        self.rng = RngStreams(seed)
        self.seed = self.rng.seed
        half_extent = float(half_extent)
        if not (math.isfinite(half_extent) and half_extent > 0):
            raise InputError(f"half_extent must be finite and > 0, got {half_extent}")
        self.half_extent = half_extent
        self.entities = table
        self.tick = tick
        self._spawn_rng = self.rng.stream(SPAWN_STREAM)
        self._wander_rng = self.rng.stream(WANDER_STREAM)

    # ----------------------------------------------------------------------------------- commands

    def spawn_player(self, pos: Sequence[float] | npt.ArrayLike | None = None) -> int:
        """Spawn a player avatar and return its id.

        Args:
            pos: (x, y) or (x, y, z) metres inside the world square; None draws (x, y) uniformly from the
                "spawn" stream with z = 0.
        Raises:
            InputError: a position that is not 2 or 3 finite numbers inside the world. CapacityError: full.
        """
        if pos is None:
            xy = self._spawn_rng.uniform(-self.half_extent, self.half_extent, size=2)
            where = np.array([xy[0], xy[1], 0.0])
        else:
            try:
                where = np.asarray(pos, dtype=np.float64).reshape(-1)
            except (TypeError, ValueError):
                raise InputError(f"player position must be 2 or 3 numbers, got {pos!r}") from None
            if where.shape == (2,):
                where = np.append(where, 0.0)
            if where.shape != (3,) or not np.isfinite(where).all():
                raise InputError(f"player position must be 2 or 3 finite numbers, got {pos!r}")
            if (np.abs(where[:2]) > self.half_extent).any():
                raise InputError(f"player position {where.tolist()} is outside the world (half extent "
                                 f"{self.half_extent} m)")
        return self.entities.spawn(Kind.PLAYER, where, PLAYER_SPEED, False)

    def despawn(self, entity_id: int) -> None:
        """Remove an entity; its id goes stale. Raises ``StaleEntityError``."""
        self.entities.despawn(entity_id)

    def apply_input(self, entity_id: int, move_x: float, move_y: float) -> None:
        """Set a player's velocity from a move stick: ``(move_x, move_y)`` clamped to length <= 1, times speed.

        The velocity (m/s, z = 0) persists until the next input.

        Raises:
            InputError: non-finite or non-numeric move values, a non-integer id, or an entity that is not
                a player. StaleEntityError: the id names no live entity.
        """
        if isinstance(entity_id, bool) or not isinstance(entity_id, int | np.integer):
            raise InputError(f"entity id must be an integer, got {type(entity_id).__name__}")
        try:
            mx, my = float(move_x), float(move_y)
        except (TypeError, ValueError):
            raise InputError(f"move must be two numbers, got {move_x!r}, {move_y!r}") from None
        if not (math.isfinite(mx) and math.isfinite(my)):
            raise InputError(f"move must be finite, got ({mx}, {my})")
        row = self.entities.row_of(entity_id)
        if self.entities.kind[row] != Kind.PLAYER:
            raise InputError(f"entity {entity_id} is not a player")
        length = math.hypot(mx, my)
        if length > 1.0:
            mx, my = mx / length, my / length
        speed = self.entities.speed[row]
        self.entities.vel[row] = (mx * speed, my * speed, 0.0)

    def step(self, dt: float) -> None:
        """Advance one tick of ``dt`` seconds: retarget arrived wanderers, steer them, integrate, tick += 1.

        New goals are drawn from the "wander" stream as one (k, 2) batch, uniform on the world square,
        for exactly the k wanderers that arrived, assigned in ascending row order.

        Raises:
            InputError: dt not finite and > 0.
        """
        dt = float(dt)
        if not (math.isfinite(dt) and dt > 0):
            raise InputError(f"dt must be finite and > 0, got {dt}")
        t = self.entities
        n = t.extent
        pos, vel, alive, wander, target = t.pos[:n], t.vel[:n], t.alive[:n], t.wander[:n], t.target[:n]
        rows = np.empty(n, dtype=np.int64)
        k = select_arrived(pos, target, wander, alive, ARRIVE_RADIUS, rows)
        goals = self._wander_rng.uniform(-self.half_extent, self.half_extent, size=(k, 2))
        steer_wanderers(pos, vel, t.speed[:n], target, wander, alive, rows[:k], goals, dt)
        integrate_positions(pos, vel, alive, dt, self.half_extent)
        self.tick += 1

    # ------------------------------------------------------------------------------------- views

    def kind_view(self, kind: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """Live entities of one kind: (ids (n,) int64 ascending, positions (n, 3) float64 metres, a copy)."""
        t = self.entities
        n = t.extent
        rows = np.flatnonzero(t.alive[:n] & (t.kind[:n] == int(kind)))
        ids = t.ids(rows).astype(np.int64)
        order = np.argsort(ids, kind="stable")
        return ids[order], t.pos[rows[order]]

    def positions_of(self, entity_ids: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Positions (n, 3) float64 metres of live ids (n,), in the given order. Raises ``StaleEntityError``."""
        return self.entities.pos[self.entities.rows_of(entity_ids)]

    def world_hash(self) -> str:
        """Hex SHA-256 of everything that determines the future: tick, seed, half extent, the ids and
        every other column of the live rows (row order, little-endian) and the RNG stream states."""
        digest = hashlib.sha256(_HASH_DOMAIN)
        digest.update(struct.pack("<QQd", self.tick, self.seed, self.half_extent))
        rows = self.entities.live_rows()
        digest.update(self.entities.ids(rows).astype("<u4").tobytes())
        for name in _HASHED_COLUMNS:
            column = getattr(self.entities, name)[rows]
            digest.update(np.ascontiguousarray(column, dtype=column.dtype.newbyteorder("<")).tobytes())
        digest.update(self.rng.state_bytes())
        return digest.hexdigest()

    # ------------------------------------------------------------------------------------- saves

    def to_bytes(self) -> bytes:
        """The world as a versioned, checksummed save (see ``worldsim.saves`` for the layout)."""
        columns = [
            saves.ColumnRecord(name, values.dtype.newbyteorder("<").str, list(values.shape),
                               np.ascontiguousarray(values, dtype=values.dtype.newbyteorder("<")).tobytes())
            for name, values in self.entities.export_columns().items()
        ]
        record = saves.WorldRecord(seed=self.seed, tick=self.tick, half_extent=self.half_extent,
                                   capacity=self.entities.capacity, extent=self.entities.extent,
                                   columns=columns, rng_state=self.rng.state_bytes())
        return saves.pack(record)

    @classmethod
    def from_bytes(cls, data: bytes, source: str = "<bytes>") -> World:
        """Rebuild a world from ``to_bytes`` output. Raises ``SaveError(source, cause)``; never half-loads."""
        record = saves.unpack(data, source)
        try:
            table = EntityTable.from_columns(
                record.capacity, record.extent, {c.name: (c.dtype, tuple(c.shape), c.data) for c in record.columns}
            )
            world = cls.__new__(cls)
            world._setup(record.seed, record.half_extent, table, record.tick)
            world.rng.load_state_bytes(record.rng_state)
            world._spawn_rng = world.rng.stream(SPAWN_STREAM)
            world._wander_rng = world.rng.stream(WANDER_STREAM)
            live = table.live_rows()
            if (np.abs(table.pos[live, :2]) > world.half_extent).any():
                raise CorruptStateError("a live entity lies outside the world square")
        except (CorruptStateError, CapacityError, InputError) as exc:
            raise SaveError(source, f"has inconsistent contents ({exc})") from None
        return world

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the world to ``path`` atomically (temp file, fsync, rename, fsync dir). Raises ``SaveError``;
        on failure the previous file at ``path`` is untouched."""
        saves.write_atomic(path, self.to_bytes())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> World:
        """Load a world saved with ``save``. Raises ``SaveError`` naming the file and the cause (unreadable,
        empty, truncated, not a save, wrong version, bad checksum, inconsistent contents)."""
        return cls.from_bytes(saves.read_save(path), os.fspath(path))
