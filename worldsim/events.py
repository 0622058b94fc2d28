"""The world event log: every meaningful change as a typed ``WorldEvent`` (birth, death, weather change,
caravan, shortage, harvest, trade, collision, spawn, despawn ...), appended per tick.

Why batches: an ecology step at 100k creatures produces thousands of births and deaths; the log stores
them as column batches (one array per field) and only builds ``WorldEvent`` objects when a reader drains
them, so the tick pays a few array copies, not a Python object per event. Readers (narrative, analytics,
the server's event fan-out, headless reports, replays) call ``drain()``; an undrained log keeps at most
``limit`` events and counts what it dropped.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import msgspec
import numpy as np
import numpy.typing as npt


class WorldEvent(msgspec.Struct, frozen=True, array_like=False):
    """One event: ``kind`` (e.g. ``creature.born``), the ``entity`` it is about (0: none), scalar ``data``."""

    tick: int
    kind: str
    entity: int = 0
    data: dict[str, Any] = {}


class _Batch(msgspec.Struct):
    tick: int
    kind: str
    entity: npt.NDArray[np.int64]
    columns: dict[str, Any]
    labels: dict[str, Any]

    def __len__(self) -> int:
        return len(self.entity)


EVENT_KINDS = (
    "creature.born", "creature.died", "weather.changed", "market.caravan", "market.shortage",
    "resource.harvested", "market.trade", "physics.collision", "physics.removed", "entity.spawned",
    "entity.despawned", "day.started",
)
"""Every kind the world emits (docs/worldsim.md describes each one's data)."""


class EventLog:
    """Append-only until drained; bounded at ``limit`` events (the oldest are dropped and counted)."""

    def __init__(self, limit: int = 1_000_000) -> None:
        self.limit = limit
        self._items: deque[WorldEvent | _Batch] = deque()
        self._size = 0
        self.dropped = 0
        self.total = 0

    def __len__(self) -> int:
        return self._size

    def emit(self, tick: int, kind: str, entity: int = 0, **data: Any) -> None:
        """Append one event."""
        self._append(WorldEvent(tick, kind, int(entity), data), 1)

    def emit_batch(self, tick: int, kind: str, entity: npt.ArrayLike, labels: dict[str, Any] | None = None,
                   **columns: Any) -> None:
        """Append ``k`` events of one kind: ``entity`` (k,) ids and per-event ``columns`` (each (k,) or a
        scalar). A column named in ``labels`` holds indices into ``labels[name]`` (a sequence of strings),
        looked up only when the events are drained."""
        ids = np.asarray(entity, dtype=np.int64).reshape(-1)
        if ids.size:
            self._append(_Batch(tick, kind, ids, columns, labels or {}), ids.size)

    def _append(self, item: WorldEvent | _Batch, size: int) -> None:
        self._items.append(item)
        self._size += size
        self.total += size
        while self._size > self.limit and len(self._items) > 1:
            old = self._items.popleft()
            n = len(old) if isinstance(old, _Batch) else 1
            self._size -= n
            self.dropped += n

    def counts(self) -> dict[str, int]:
        """Undrained events per kind."""
        out: dict[str, int] = {}
        for item in self._items:
            out[item.kind] = out.get(item.kind, 0) + (len(item) if isinstance(item, _Batch) else 1)
        return out

    def drain(self) -> list[WorldEvent]:
        """Every undrained event in order, as ``WorldEvent`` objects; the log is empty afterwards."""
        out: list[WorldEvent] = []
        for item in self._items:
            if isinstance(item, WorldEvent):
                out.append(item)
                continue
            names = list(item.columns)
            values = [np.broadcast_to(np.asarray(item.columns[n]), item.entity.shape).tolist() for n in names]
            for i, name in enumerate(names):
                if name in item.labels:
                    table = item.labels[name]
                    values[i] = [table[v] for v in values[i]]
            for i, entity in enumerate(item.entity.tolist()):
                out.append(WorldEvent(item.tick, item.kind, entity, {n: v[i] for n, v in zip(names, values, strict=True)}))
        self._items.clear()
        self._size = 0
        return out
