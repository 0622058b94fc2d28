"""Per-client snapshot frames for one tick: interest selection, delta against the acked baseline, encoding.

Once per tick the world's entities are laid out as *flat* columns sorted by ``key = kind_index << 32 | id``
(kind-major, ids ascending). A client's view is a subset of rows of those columns — the rows inside its
area of interest (players) or all rows (spectators, admins) — so each client's work is one grid query and
one kernel call (``protocol.frame_encoder``). Views are remembered per client as flat (keys, q) arrays;
frames too large for one part fall back to the general splitting encoder.
"""

from __future__ import annotations

import numpy as np

from protocol import encode
from protocol.frame_encoder import FrameEncoder
from protocol.snapshot import KindView, WorldView, encode_snapshot, quantize
from worldsim import KIND_NAMES, Kind, World

from .interest import SpatialGrid

FlatView = tuple[np.ndarray, np.ndarray]
"""(keys (n,) int64 ascending, q (n, 3) int64 quantized positions)."""

KINDS: tuple[Kind, ...] = tuple(Kind)
KIND_WIRE_NAMES: tuple[str, ...] = tuple(KIND_NAMES[k] for k in KINDS)


class TickFrame:
    """The world at one tick in flat columns, plus the spatial grid over it."""

    def __init__(self, world: World, grid: SpatialGrid, need_grid: bool) -> None:
        keys, pos = [], []
        for index, kind in enumerate(KINDS):
            ids, p = world.kind_view(kind)
            keys.append((np.int64(index) << np.int64(32)) | ids.astype(np.int64, copy=False))
            pos.append(p)
        self.keys = np.concatenate(keys)
        self.pos = np.concatenate(pos) if pos else np.empty((0, 3))
        self.q = quantize(self.pos)
        self.grid = grid
        if need_grid:
            grid.rebuild(self.pos)

    def row_of(self, kind: Kind, entity: int) -> int | None:
        key = (KINDS.index(kind) << 32) | entity
        row = int(np.searchsorted(self.keys, key))
        return row if row < self.keys.size and self.keys[row] == key else None

    def around(self, row: int, radius: float) -> FlatView:
        idx = self.grid.query(self.pos[row, 0], self.pos[row, 1], radius)
        return self.keys[idx], self.q[idx]

    def everything(self) -> FlatView:
        return self.keys, self.q


def to_world_view(view: FlatView) -> WorldView:
    """Flat view -> ``{kind name: KindView}`` with every kind present (for the general encoder)."""
    keys, q = view
    kinds = keys >> 32
    cuts = np.searchsorted(kinds, np.arange(len(KINDS) + 1))
    return {name: KindView(keys[cuts[k]:cuts[k + 1]] & 0xFFFF_FFFF, q[cuts[k]:cuts[k + 1]])
            for k, name in enumerate(KIND_WIRE_NAMES)}


class SnapshotFrames:
    """Encodes each client's snapshot frames; one instance per room (it reuses buffers)."""

    def __init__(self) -> None:
        self.encoder = FrameEncoder(KIND_WIRE_NAMES)

    def frames(self, tick: int, time: float, input_ack: int, view: FlatView, baseline_tick: int,
               baseline: FlatView | None) -> list[bytes]:
        """Encoded parts of the snapshot of ``view`` against ``baseline`` (None/0: full snapshot)."""
        if baseline is None:
            baseline_tick = 0
        frame = self.encoder.encode(tick, baseline_tick, input_ack, time, view[0], view[1],
                                    None if baseline is None else baseline[0],
                                    None if baseline is None else baseline[1])
        if frame is not None:
            return [frame]
        parts = encode_snapshot(tick, baseline_tick, input_ack, time, to_world_view(view),
                                None if baseline is None else to_world_view(baseline))
        return [encode(part) for part in parts]
