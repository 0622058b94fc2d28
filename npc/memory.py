"""What each NPC remembers: a bounded store of observed and heard facts with salience that fades.

Design: one ``(n, slots)`` column per field (structure of arrays, row = NPC row), so storing a tick's
observations, decaying every memory and asking "where is the danger I remember" are each one Numba call
over all NPCs. A memory is about a *fact* (an int64 id the caller chooses, e.g. the event that was seen);
everyone who knows the same thing holds the same fact id, so the spread of a rumour is counted per fact
while its content (subject, value) may differ from NPC to NPC as it is retold (see ``npc.gossip``).

Memories are never corrected when the world changes: a THREAT keeps the place where it was seen until it
fades, so NPCs act on what they remember, which may be stale or wrong.

Alternatives rejected: a Python list of dicts per NPC (no batched kernels, 100x slower at 100k NPCs) and
an unbounded event log per NPC queried on demand (memory grows without bound; salience could not decay in
one pass).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum

import numpy as np
from numpy.typing import ArrayLike

from .errors import NpcError, NpcInputError
from .kernels.memory import decay_salience, most_salient, remember_batch, stable_row_order


class MemoryKind(IntEnum):
    """What a memory is about. The meaning of subject/object/value per kind is fixed here."""

    THREAT = 1
    """subject = the threat's entity id; x, y = where it was seen."""
    CRIME = 2
    """subject = the thief, object = the victim, value = units stolen."""
    RUMOUR = 3
    """a claim: subject, object, value as the teller told it."""
    HELPED = 4
    """subject = who helped, object = who was helped."""
    HARMED = 5
    """subject = who harmed, object = who was harmed, value = damage."""
    SHORTAGE = 6
    """object = settlement index, value = good index."""


KIND_COUNT = 7
"""Number of kind codes including 0 (empty); the length of per-kind parameter arrays."""

MAX_HOPS = 127
"""Largest hop count (int8); retelling a memory that has travelled this far keeps it at this count."""

DEFAULT_HALF_LIFE_HOURS = np.array([np.inf, 12.0, 48.0, 24.0, 72.0, 72.0, 24.0], dtype=np.float32)
"""Default salience half-life per kind in in-game hours (index 0 unused)."""

COLUMNS: dict[str, type] = {
    "kind": np.int8, "fact": np.int64, "subject": np.int64, "object": np.int64,
    "x": np.float32, "y": np.float32, "value": np.float32, "salience": np.float32,
    "tick": np.int64, "hops": np.int8,
}
"""The store's columns and their dtypes; each is (n, slots)."""


def kind_mask(kinds: int | MemoryKind | Iterable[int | MemoryKind]) -> int:
    """Bit set of memory kinds (bit k for kind k) from one kind, several kinds, or an int bit set.

    A ``MemoryKind`` (or a list of them) is turned into bits; a plain ``int`` is taken as a bit set already.
    """
    if isinstance(kinds, MemoryKind):
        return 1 << int(kinds)
    if isinstance(kinds, (int, np.integer)):
        mask = int(kinds)
        if not 0 <= mask < (1 << KIND_COUNT):
            raise NpcInputError(f"kind mask {mask} has bits outside kinds 1..6; build it with kind_mask([...])")
        return mask
    mask = 0
    for k in kinds:
        code = int(k)
        if not 1 <= code < KIND_COUNT:
            raise NpcInputError(f"memory kind {code} is not one of 1..6 (MemoryKind)")
        mask |= 1 << code
    return mask


def checked_number(name: str, value: object, lo: float = -np.inf, hi: float = np.inf) -> float:
    """``value`` as a finite float in [lo, hi], else ``NpcInputError`` naming ``name``."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        raise NpcInputError(f"{name} must be a number, got {value!r}") from None
    if not (np.isfinite(number) and lo <= number <= hi):
        raise NpcInputError(f"{name} must be a finite number in [{lo}, {hi}], got {value!r}")
    return number


def as_array(name: str, value: object, dtype: type) -> np.ndarray:
    """``value`` as a C-contiguous array of ``dtype``, or ``NpcInputError`` naming ``name`` (no other error)."""
    try:
        arr = np.asarray(value)
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"dtype {arr.dtype}")
        return np.ascontiguousarray(arr, dtype=dtype)
    except (TypeError, ValueError, OverflowError) as err:
        raise NpcInputError(f"{name}: expected numbers, got {type(value).__name__} ({err})") from None


def as_column(name: str, values: object, m: int, dtype: type, lo: float | None = None,
              hi: float | None = None) -> np.ndarray:
    """``values`` as an (m,) array of ``dtype`` (scalars broadcast), checked to be finite where an integer is
    expected, free of NaN and within [lo, hi]; else ``NpcInputError`` naming ``name``."""
    try:
        arr = np.asarray(values)
    except (TypeError, ValueError, OverflowError) as err:
        raise NpcInputError(f"{name}: expected numbers ({err})") from None
    if arr.dtype.kind not in "biuf":
        raise NpcInputError(f"{name}: expected numbers, got dtype {arr.dtype}")
    if arr.ndim == 0:
        arr = np.full(m, arr)
    if arr.shape != (m,):
        raise NpcInputError(f"{name}: expected shape ({m},), got {arr.shape}")
    if arr.dtype.kind == "f":
        if np.isnan(arr).any():
            raise NpcInputError(f"{name}: NaN values")
        if np.dtype(dtype).kind in "iu" and not (np.isfinite(arr) & (np.abs(arr) < 2.0**62)).all():
            raise NpcInputError(f"{name}: infinite or huge values where an integer is expected")
    if lo is not None and m and (arr < lo).any():
        raise NpcInputError(f"{name}: values below {lo}")
    if hi is not None and m and (arr > hi).any():
        raise NpcInputError(f"{name}: values above {hi}")
    return np.ascontiguousarray(arr, dtype=dtype)


def as_row(row: object, n: int) -> int:
    """``row`` as one row index in [0, n), else ``NpcInputError``."""
    if isinstance(row, (bool, np.bool_)) or not isinstance(row, (int, np.integer)) or not 0 <= int(row) < n:
        raise NpcInputError(f"row {row!r} is not a row index in [0, {n})")
    return int(row)


def as_rows(rows: object, n: int) -> np.ndarray:
    """``rows`` as a 1-d int64 array of row indices in [0, n), else ``NpcInputError``."""
    try:
        arr = np.asarray(rows)
    except (TypeError, ValueError, OverflowError) as err:
        raise NpcInputError(f"rows: expected a 1-d integer array ({err})") from None
    if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iu"):
        raise NpcInputError(f"rows: expected a 1-d integer array, got shape {arr.shape} dtype {arr.dtype}")
    if arr.size and (arr.min() < 0 or arr.max() >= n):
        raise NpcInputError(f"rows: values outside [0, {n})")
    return arr.astype(np.int64)


class MemoryStore:
    """Bounded memories of n NPCs, ``slots`` each, as (n, slots) columns (see ``COLUMNS``).

    Attributes:
        kind, fact, subject, object, x, y, value, salience, tick, hops: the (n, slots) columns. Read them
            freely; write only through the methods.
    """

    kind: np.ndarray
    fact: np.ndarray
    subject: np.ndarray
    object: np.ndarray
    x: np.ndarray
    y: np.ndarray
    value: np.ndarray
    salience: np.ndarray
    tick: np.ndarray
    hops: np.ndarray

    def __init__(self, n: int, slots: int = 8) -> None:
        if n < 0 or slots < 1:
            raise NpcInputError(f"MemoryStore needs n >= 0 and slots >= 1, got n={n}, slots={slots}")
        self._allocate(int(n), int(slots))

    def _allocate(self, n: int, slots: int) -> None:
        for name, dtype in COLUMNS.items():
            setattr(self, name, np.zeros((n, slots), dtype=dtype))

    @property
    def n(self) -> int:
        """Number of rows (NPCs)."""
        return int(self.kind.shape[0])

    @property
    def slots(self) -> int:
        """Memories each row can hold."""
        return int(self.kind.shape[1])

    def columns(self) -> tuple[np.ndarray, ...]:
        """(kind, fact, subject, object, x, y, value, salience, tick, hops), in the order the kernels take them."""
        return tuple(getattr(self, name) for name in COLUMNS)

    # ------------------------------------------------------------------------------------------ writing

    def remember(self, rows: ArrayLike, kind: ArrayLike, fact: ArrayLike, subject: ArrayLike = 0, object: ArrayLike = 0,
                 x: ArrayLike = 0.0, y: ArrayLike = 0.0, value: ArrayLike = 0.0, salience: ArrayLike = 1.0,
                 tick: ArrayLike = 0, hops: ArrayLike = 0) -> np.ndarray:
        """Store m memories, applied in the given order.

        Args:
            rows: (m,) NPC rows. kind: (m,) or scalar, 1..6 (``MemoryKind``). fact: (m,) int64 fact ids.
            subject, object: entity ids (or indices, see ``MemoryKind``). x, y: metres. value: kind-specific.
            salience: in [0, 1]. tick: world tick the memory is from. hops: 0 (witnessed) .. 127.
            Every argument but ``rows`` may be a scalar, broadcast to m.
        Returns:
            (m,) bool, whether each memory was kept (same fact merged, an empty slot, or a less salient one
            replaced) -- False when the row is full of more salient memories.
        Raises:
            NpcInputError: wrong shapes, rows outside [0, n), kind outside 1..6, salience outside [0, 1],
                hops outside 0..127, NaN values.
        """
        r = as_rows(rows, self.n)
        m = r.shape[0]
        cols = (
            as_column("kind", kind, m, np.int8, 1, KIND_COUNT - 1),
            as_column("fact", fact, m, np.int64),
            as_column("subject", subject, m, np.int64),
            as_column("object", object, m, np.int64),
            as_column("x", x, m, np.float32),
            as_column("y", y, m, np.float32),
            as_column("value", value, m, np.float32),
            as_column("salience", salience, m, np.float32, 0.0, 1.0),
            as_column("tick", tick, m, np.int64),
            as_column("hops", hops, m, np.int8, 0, MAX_HOPS),
        )
        stored = np.zeros(m, dtype=np.bool_)
        if m and grouped_pays(m, self.n):
            order = stable_row_order(r, self.n)
            kept = np.zeros(m, dtype=np.bool_)
            remember_batch(*self.columns(), r[order], *(c[order] for c in cols), kept)
            stored[order] = kept
        elif m:
            remember_batch(*self.columns(), r, *cols, stored)
        return stored

    def decay(self, hours: float, half_life: ArrayLike = DEFAULT_HALF_LIFE_HOURS, forget_below: float = 0.05) -> int:
        """Fade every memory: salience × 0.5 ** (hours / half_life[kind]); slots under ``forget_below`` are cleared.

        Args:
            hours: in-game hours elapsed (>= 0). half_life: (7,) hours per kind (index 0 unused; > 0,
                ``inf`` = never fades). forget_below: salience threshold in [0, 1].
        Returns:
            the number of memories forgotten.
        """
        hours = checked_number("hours", hours, 0.0)
        hl = np.asarray(half_life, dtype=np.float64)
        if hl.shape != (KIND_COUNT,) or np.isnan(hl).any() or (hl[1:] <= 0).any():
            raise NpcInputError(f"half_life: expected ({KIND_COUNT},) hours > 0 per kind, got {hl}")
        forget_below = checked_number("forget_below", forget_below, 0.0, 1.0)
        factor = decay_factors(hours, hl)
        return int(decay_salience(*self.columns(), factor, float(forget_below)))

    def forget_rows(self, rows: ArrayLike) -> None:
        """Clear every memory of ``rows`` (e.g. a recycled NPC row)."""
        r = as_rows(rows, self.n)
        for col in self.columns():
            col[r] = 0

    def resize(self, n: int) -> None:
        """Grow or shrink to n rows; new rows are empty, kept rows unchanged."""
        if n < 0:
            raise NpcInputError(f"n must be >= 0, got {n}")
        keep = min(n, self.n)
        for name, dtype in COLUMNS.items():
            new: np.ndarray = np.zeros((n, self.slots), dtype=dtype)
            new[:keep] = getattr(self, name)[:keep]
            setattr(self, name, new)

    # ------------------------------------------------------------------------------------------ queries

    def knows(self, fact: int) -> np.ndarray:
        """(n,) bool: which rows hold ``fact``."""
        return ((self.fact == np.int64(fact)) & (self.kind != 0)).any(axis=1)

    def best(self, kinds: int | MemoryKind | Iterable[int | MemoryKind]) -> np.ndarray:
        """(n,) int64: per row the slot of its most salient memory of the given kinds, or -1.

        ``kinds`` is a ``MemoryKind``, a list of them, or a bit set from ``kind_mask``. Read the memory with
        e.g. ``store.x[rows, slot]`` where ``slot >= 0``.
        """
        out = np.empty(self.n, dtype=np.int64)
        most_salient(self.kind, self.salience, np.int64(kind_mask(kinds)), out)
        return out

    def recall(self, row: int) -> list[dict]:
        """The memories of one row, most salient first (ties by slot), as msgpack-able dicts."""
        row = as_row(row, self.n)
        held = [s for s in range(self.slots) if self.kind[row, s] != 0]
        held.sort(key=lambda s: (-float(self.salience[row, s]), s))
        return [
            {
                "kind": MemoryKind(int(self.kind[row, s])).name.lower(),
                "fact": int(self.fact[row, s]),
                "subject": int(self.subject[row, s]),
                "object": int(self.object[row, s]),
                "x": float(self.x[row, s]),
                "y": float(self.y[row, s]),
                "value": float(self.value[row, s]),
                "salience": float(self.salience[row, s]),
                "tick": int(self.tick[row, s]),
                "hops": int(self.hops[row, s]),
            }
            for s in held
        ]

    def count(self) -> int:
        """Number of memories held over all rows."""
        return int(np.count_nonzero(self.kind))

    # ------------------------------------------------------------------------------------------ saving

    def arrays(self) -> dict[str, np.ndarray]:
        """The columns to save and hash, keyed ``memory_<column>`` (copies)."""
        return {f"memory_{name}": getattr(self, name).copy() for name in COLUMNS}

    def load_arrays(self, data: dict[str, np.ndarray]) -> None:
        """Replace the store with saved columns (the shape comes from the data).

        Raises:
            NpcError: a column missing, of another dtype or shape than the others, or holding an invalid
                kind, salience or hop count.
        """
        loaded = checked_columns(data, "memory_", COLUMNS)
        kind = loaded["kind"]
        if ((kind < 0) | (kind >= KIND_COUNT)).any():
            raise NpcError("saved memory_kind holds codes outside 0..6: the save is corrupt")
        sal = loaded["salience"]
        if np.isnan(sal).any() or (sal < 0).any() or (sal > 1).any():
            raise NpcError("saved memory_salience holds values outside [0, 1]: the save is corrupt")
        if (loaded["hops"] < 0).any():
            raise NpcError("saved memory_hops holds negative hop counts: the save is corrupt")
        for name, arr in loaded.items():
            setattr(self, name, arr)


def grouped_pays(m: int, n: int) -> bool:
    """Whether a batch of m changes over n rows is applied faster grouped by row (``stable_row_order``).

    Rows are independent, so grouping never changes the result; it pays once the batch is large enough for
    the O(n + m) counting sort and the gathers to cost less than the cache misses they save.
    """
    return m >= 4096 and 8 * m >= n


def decay_factors(hours: float, half_life: np.ndarray) -> np.ndarray:
    """(7,) float32 salience multipliers 0.5 ** (hours / half_life) for a step of ``hours``."""
    with np.errstate(divide="ignore"):
        factor = np.power(0.5, float(hours) / np.asarray(half_life, dtype=np.float64))
    factor[0] = 1.0
    return factor.astype(np.float32)


def checked_columns(data: dict[str, np.ndarray], prefix: str, columns: dict[str, type]) -> dict[str, np.ndarray]:
    """Copies of ``data[prefix + name]`` for every column, checked for dtype and a common 2-d shape."""
    out: dict[str, np.ndarray] = {}
    shape = None
    for name, dtype in columns.items():
        key = prefix + name
        if key not in data:
            raise NpcError(f"saved arrays lack {key!r}: the save is from another version or corrupt")
        arr = np.asarray(data[key])
        if arr.dtype != np.dtype(dtype) or arr.ndim != 2:
            raise NpcError(f"saved {key!r} is {arr.dtype} with {arr.ndim} dims; expected a 2-d {np.dtype(dtype)} array")
        if shape is None:
            shape = arr.shape
        elif arr.shape != shape:
            raise NpcError(f"saved {key!r} has shape {arr.shape}, other columns {shape}: the save is corrupt")
        out[name] = np.ascontiguousarray(arr).copy()
    return out
