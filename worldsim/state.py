"""World state as structure-of-arrays columns indexed by dense rows, with stable generational ids.

Why this design: kernels want plain contiguous arrays (one per component) they can sweep without Python
objects in the way; the table only hands out rows and ids. Every column is declared once in ``COLUMNS``
(name, dtype, per-row shape, default), so adding a component is one line there plus its annotation on
``EntityTable`` -- saves and the world hash iterate ``COLUMNS`` and pick the new column up automatically.

Rows are allocated lowest-free-first (deterministic, keeps live rows packed near the start). ``extent`` is
the high-water mark: every row at or beyond it has never been used, so kernels sweep ``[:extent]`` only.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum

import numpy as np
import numpy.typing as npt

from .errors import CapacityError, CorruptStateError, InputError, StaleEntityError
from .ids import FIRST_GENERATION, MAX_GENERATION, MAX_ROWS, ROW_BITS, ROW_MASK
from .kernels.table import advance_generations, claim_rows, lowest_free_rows, reset_rows


class Kind(IntEnum):
    """What an entity is. Values are stored in the ``kind`` column (uint8); 0 is unused."""

    PLAYER = 1
    NPC = 2
    CREATURE = 3
    PROP = 4


KIND_NAMES: dict[Kind, str] = {Kind.PLAYER: "player", Kind.NPC: "npc", Kind.CREATURE: "creature", Kind.PROP: "prop"}
"""Wire name of each kind (used by snapshot encoding)."""


@dataclass(frozen=True)
class ColumnSpec:
    """One component column: ``shape`` is the per-row shape, the column is ``(capacity, *shape)``."""

    name: str
    dtype: np.dtype
    shape: tuple[int, ...]
    default: float | int | bool


COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("alive", np.dtype(np.bool_), (), False),
    ColumnSpec("generation", np.dtype(np.uint16), (), FIRST_GENERATION),
    ColumnSpec("kind", np.dtype(np.uint8), (), 0),
    ColumnSpec("pos", np.dtype(np.float64), (3,), 0.0),
    ColumnSpec("vel", np.dtype(np.float64), (3,), 0.0),
    ColumnSpec("speed", np.dtype(np.float64), (), 0.0),
    ColumnSpec("wander", np.dtype(np.bool_), (), False),
    ColumnSpec("target", np.dtype(np.float64), (2,), 0.0),
    ColumnSpec("species", np.dtype(np.uint8), (), 0),
    ColumnSpec("energy", np.dtype(np.float64), (), 0.0),
    ColumnSpec("age", np.dtype(np.int32), (), 0),
    ColumnSpec("cell", np.dtype(np.int32), (), -1),
    ColumnSpec("body", np.dtype(np.int32), (), -1),
    ColumnSpec("expires", np.dtype(np.float64), (), 0.0),
)
"""Every column of the entity table, in canonical order (saves and hashes follow this order)."""

_FLOAT_COLUMNS = tuple(spec.name for spec in COLUMNS if spec.dtype.kind == "f")


class EntityTable:
    """Fixed-capacity structure-of-arrays entity storage.

    Columns (``cap`` = capacity; rows at or beyond ``extent`` were never used):
        alive      (cap,)   bool     row holds a live entity
        generation (cap,)   uint16   generation of the live entity / of the next one to use the row
        kind       (cap,)   uint8    ``Kind`` value
        pos        (cap, 3) float64  position, metres
        vel        (cap, 3) float64  velocity, m/s
        speed      (cap,)   float64  maximum speed, m/s
        wander     (cap,)   bool     autonomous wanderer (steered by the movement kernels)
        target     (cap, 2) float64  wander goal (x, y), metres
        species    (cap,)   uint8    creature species index (scenario order)
        energy     (cap,)   float64  creature energy (ecology units)
        age        (cap,)   int32    creature age, ecology steps
        cell       (cap,)   int32    creature's flat tile index (-1: not on the tile grid)
        body       (cap,)   int32    physics body handle of a prop (-1: none)
        expires    (cap,)   float64  simulated second at which a temporary entity is removed (0: never)
    """

    alive: npt.NDArray[np.bool_]
    generation: npt.NDArray[np.uint16]
    kind: npt.NDArray[np.uint8]
    pos: npt.NDArray[np.float64]
    vel: npt.NDArray[np.float64]
    speed: npt.NDArray[np.float64]
    wander: npt.NDArray[np.bool_]
    target: npt.NDArray[np.float64]
    species: npt.NDArray[np.uint8]
    energy: npt.NDArray[np.float64]
    age: npt.NDArray[np.int32]
    cell: npt.NDArray[np.int32]
    body: npt.NDArray[np.int32]
    expires: npt.NDArray[np.float64]

    def __init__(self, capacity: int) -> None:
        """Allocate every column with ``capacity`` rows. Raises ``CapacityError`` unless 1 <= capacity <= 2**20."""
        capacity = operator.index(capacity)
        if not 1 <= capacity <= MAX_ROWS:
            raise CapacityError(f"capacity {capacity} outside [1, {MAX_ROWS}] (entity ids address 2**20 rows)")
        self.capacity = capacity
        for spec in COLUMNS:
            setattr(self, spec.name, np.full((capacity, *spec.shape), spec.default, dtype=spec.dtype))
        self._extent = 0
        self._count = 0
        self._reset_pairs = tuple((getattr(self, spec.name), spec.dtype.type(spec.default))
                                  for spec in COLUMNS if spec.name != "generation")
        """(column, default) for every column but ``generation``: what ``despawn_rows`` restores."""

    @property
    def count(self) -> int:
        """Number of live entities."""
        return self._count

    @property
    def extent(self) -> int:
        """High-water mark: rows ``>= extent`` have never held an entity."""
        return self._extent

    def _allocate_rows(self, n: int) -> npt.NDArray[np.int64]:
        """The ``n`` lowest free rows (dead rows below ``extent`` first, then fresh ones), ascending."""
        rows = np.empty(n, dtype=np.int64)
        found = lowest_free_rows(self.alive, self._extent, n, rows)
        fresh = n - found
        if fresh > self.capacity - self._extent:
            raise CapacityError(f"cannot spawn {n} entities: {found + self.capacity - self._extent} free rows "
                                f"of {self.capacity}; create the world with a larger capacity")
        rows[found:] = np.arange(self._extent, self._extent + fresh)
        self._extent += fresh
        return rows

    def spawn(self, kind: int, pos: npt.ArrayLike, speed: float, wander: bool) -> int:
        """Create one entity in the lowest free row and return its id.

        Args:
            kind: a ``Kind`` value.
            pos: (3,) finite position, metres.
            speed: finite maximum speed >= 0, m/s.
            wander: whether the movement kernels steer it.
        Raises:
            InputError: invalid kind, position or speed. CapacityError: no free row.
        """
        ids = self.spawn_many(kind, np.reshape(np.asarray(pos, dtype=np.float64), (1, -1)), [speed], [wander])
        return int(ids[0])

    def spawn_many(
        self, kind: int, pos: npt.ArrayLike, speed: npt.ArrayLike, wander: npt.ArrayLike
    ) -> npt.NDArray[np.uint32]:
        """Create ``n`` entities of one kind in the ``n`` lowest free rows; all or nothing.

        Args:
            kind: a ``Kind`` value.
            pos: (n, 3) finite positions, metres.
            speed: (n,) finite maximum speeds >= 0, m/s.
            wander: (n,) bools.
        Returns:
            (n,) uint32 ids in row order.
        Raises:
            InputError: invalid kind or shapes or non-finite values. CapacityError: fewer than n free rows.
        """
        try:
            kind = Kind(kind)
        except ValueError:
            raise InputError(f"unknown entity kind {kind!r}") from None
        pos_a = np.asarray(pos, dtype=np.float64)
        n = pos_a.shape[0] if pos_a.ndim == 2 else -1
        speed_a = np.asarray(speed, dtype=np.float64)
        wander_a = np.asarray(wander, dtype=np.bool_)
        if pos_a.shape != (n, 3) or speed_a.shape != (n,) or wander_a.shape != (n,):
            raise InputError(f"spawn wants pos (n, 3), speed (n,), wander (n,); got {pos_a.shape}, "
                             f"{speed_a.shape}, {wander_a.shape}")
        if not (np.isfinite(pos_a).all() and np.isfinite(speed_a).all() and (speed_a >= 0).all()):
            raise InputError("spawn position and speed must be finite and speed >= 0")
        rows = self.spawn_rows(kind, pos_a)
        self.speed[rows] = speed_a
        self.wander[rows] = wander_a
        return self.ids(rows)

    def spawn_rows(self, kind: Kind, pos: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
        """Fast path for systems: ``n`` entities of ``kind`` at ``pos`` (n, 3) (already validated) in the
        lowest free rows, other columns at their defaults (free rows always hold defaults: fresh rows
        from allocation, freed ones from ``despawn_rows``). Returns the rows. Raises ``CapacityError``."""
        rows = self._allocate_rows(pos.shape[0])
        claim_rows(rows, self.alive, self.kind, int(kind), self.pos, self.target, np.ascontiguousarray(pos))
        self._count += len(rows)
        return rows

    def settle(self, extent: int, count_change: int) -> None:
        """Record rows claimed and freed by a compiled system step (``kernels.ecology.settle_step``) that
        wrote the columns itself: the new high-water mark and the change in live entities."""
        self._extent = extent
        self._count += count_change

    def despawn(self, entity_id: int) -> None:
        """Remove a live entity; its row's generation advances so the id goes stale. Raises ``StaleEntityError``."""
        self.despawn_rows(np.array([self.row_of(entity_id)], dtype=np.int64))

    def despawn_rows(self, rows: npt.ArrayLike, check: bool = True) -> None:
        """Remove the live entities in ``rows`` (k,) distinct live rows; each row's generation advances.

        Raises ``InputError`` if a row is out of range, repeated or not live (nothing is changed then).
        ``check=False`` skips that validation for callers that built ``rows`` themselves from live rows.
        """
        rows_a = np.asarray(rows, dtype=np.int64).reshape(-1)
        if rows_a.size == 0:
            return
        if check and ((rows_a < 0).any() or (rows_a >= self._extent).any() or not self.alive[rows_a].all()
                      or len(np.unique(rows_a)) != rows_a.size):
            raise InputError("despawn_rows wants distinct live rows")
        reset_rows(rows_a, self._reset_pairs)
        advance_generations(rows_a, self.generation, FIRST_GENERATION, MAX_GENERATION)
        self._count -= rows_a.size

    def row_of(self, entity_id: int) -> int:
        """Row of the live entity ``entity_id``. Raises ``StaleEntityError`` for dead, recycled or bogus ids."""
        try:
            value = operator.index(entity_id)
        except TypeError:
            raise StaleEntityError(entity_id) from None
        if not 0 < value < (1 << 32):
            raise StaleEntityError(entity_id)
        row = value & ROW_MASK
        if row >= self._extent or not self.alive[row] or int(self.generation[row]) != value >> ROW_BITS:
            raise StaleEntityError(entity_id)
        return row

    def rows_of(self, entity_ids: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """Rows of many live ids, (n,) int64. Raises ``StaleEntityError`` naming the first bad id."""
        ids = np.asarray(entity_ids)
        if ids.ndim != 1 or (ids.size and ids.dtype.kind not in "iu"):
            raise InputError(f"entity ids must be a 1-D integer array, got shape {ids.shape} dtype {ids.dtype}")
        ids = ids.astype(np.int64)
        rows = ids & ROW_MASK
        ok = (ids > 0) & (ids < (1 << 32)) & (rows < self._extent)
        ok[ok] &= self.alive[rows[ok]] & (self.generation[rows[ok]].astype(np.int64) == ids[ok] >> ROW_BITS)
        if not ok.all():
            raise StaleEntityError(int(ids[np.argmin(ok)]))
        return rows

    def ids(self, rows: npt.ArrayLike) -> npt.NDArray[np.uint32]:
        """Ids of the entities in ``rows`` (n,) -> (n,) uint32. Rows are assumed live."""
        rows_a = np.asarray(rows, dtype=np.int64)
        ids = (self.generation[rows_a].astype(np.uint32) << np.uint32(ROW_BITS)) | rows_a.astype(np.uint32)
        return ids.astype(np.uint32, copy=False)

    def live_rows(self) -> npt.NDArray[np.int64]:
        """Rows holding live entities, ascending, (n,) int64."""
        return np.flatnonzero(self.alive[: self._extent])

    def export_columns(self) -> dict[str, npt.NDArray]:
        """Every column cut to ``[:extent]`` (views), keyed by name in ``COLUMNS`` order."""
        return {spec.name: getattr(self, spec.name)[: self._extent] for spec in COLUMNS}

    @classmethod
    def from_columns(cls, capacity: int, extent: int, columns: Mapping[str, tuple[str, tuple[int, ...], bytes]]) -> EntityTable:
        """Rebuild a table from ``export_columns`` data: name -> (dtype str, shape, raw little-endian bytes).

        Validates the layout and the invariants (generations in [1, 4095], known kinds, finite floats and
        speeds >= 0 on live rows). Raises ``CorruptStateError`` (or ``CapacityError``) instead of building a
        half-valid table.
        """
        table = cls(capacity)
        if not 0 <= extent <= table.capacity:
            raise CorruptStateError(f"extent {extent} outside [0, {table.capacity}]")
        if set(columns) != {spec.name for spec in COLUMNS}:
            raise CorruptStateError(f"columns {sorted(columns)} != expected {[s.name for s in COLUMNS]}")
        for spec in COLUMNS:
            dtype_str, shape, data = columns[spec.name]
            want = spec.dtype.newbyteorder("<")
            if dtype_str != want.str or tuple(shape) != (extent, *spec.shape):
                raise CorruptStateError(f"column {spec.name!r} is {dtype_str}{tuple(shape)}, "
                                        f"expected {want.str}{(extent, *spec.shape)}")
            if len(data) != want.itemsize * int(np.prod((extent, *spec.shape))):
                raise CorruptStateError(f"column {spec.name!r} holds {len(data)} bytes, wrong for its shape")
            values = np.frombuffer(data, dtype=want).reshape((extent, *spec.shape))
            getattr(table, spec.name)[:extent] = values
        table._extent = extent
        table._check_invariants()
        table._count = int(table.alive[:extent].sum())
        return table

    def _check_invariants(self) -> None:
        n = self._extent
        generation = self.generation[:n]
        if ((generation < FIRST_GENERATION) | (generation > MAX_GENERATION)).any():
            raise CorruptStateError(f"generation outside [1, {MAX_GENERATION}]")
        live = self.alive[:n]
        if not np.isin(self.kind[:n][live], [int(k) for k in Kind]).all():
            raise CorruptStateError("a live entity has an unknown kind")
        for name in _FLOAT_COLUMNS:
            if not np.isfinite(getattr(self, name)[:n][live]).all():
                raise CorruptStateError(f"column {name!r} holds non-finite values")
        if (self.speed[:n][live] < 0).any():
            raise CorruptStateError("a live entity has a negative speed")
