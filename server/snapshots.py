"""Per-client snapshot frames for one tick: interest selection, delta against the acked baseline, encoding.

Once per tick the world's entities are laid out as *flat* columns sorted by ``key = kind_index << 32 | id``
(kind-major, ids ascending). A client's view is a subset of rows of those columns — the rows inside its
area of interest (players) or all rows (spectators, admins). All players are handled by one kernel call
(``AreaOfInterestBatch``: grid query + delta blocks per client, written with ``protocol.frame_encoder``'s
block writer); spectators and admins take ``FrameEncoder.encode``. Views are remembered per client as
flat (keys, q) arrays; frames too large for one part fall back to the general splitting encoder.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from protocol import encode
from protocol.frame_encoder import FrameEncoder, blocks_bytes_bound, write_blocks
from protocol.messages import MAX_FRAME_BYTES
from protocol.snapshot import KindView, WorldView, encode_snapshot, quantize
from worldsim import KIND_NAMES, Kind, World

from .interest import SPAN, SpatialGrid, query_circle

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

    def rows_of(self, kind: Kind, entities: np.ndarray) -> np.ndarray:
        """Row of each entity of ``kind`` in the flat columns, -1 where it is absent. (n,) int64."""
        wanted = (np.int64(KINDS.index(kind)) << np.int64(32)) | entities.astype(np.int64)
        rows = np.searchsorted(self.keys, wanted)
        rows[rows >= self.keys.size] = self.keys.size - 1 if self.keys.size else 0
        found = self.keys[rows] == wanted if self.keys.size else np.zeros(wanted.size, bool)
        return np.where(found, rows, -1)

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
        self.batch = AreaOfInterestBatch(self.encoder)

    def finish(self, tick: int, time: float, input_ack: int, blocks: bytes | None, view: FlatView,
               baseline_tick: int, baseline: FlatView | None) -> list[bytes]:
        """Frames from kernel-written ``blocks``; None (too big for one frame) takes the splitting path."""
        if blocks is not None:
            return [self.encoder.header(tick, baseline_tick if baseline is not None else 0, input_ack, time)
                    + blocks]
        return self.frames(tick, time, input_ack, view, baseline_tick, baseline)

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


@njit(cache=True, nogil=True)
def _encode_aoi_views(keys, q, grid_keys, grid_order, xy, centers, radius, cell_size, span,  # pragma: no cover
                      base_keys, base_q, base_offsets, names, name_starts, first, buf,
                      frame_offsets, sel_keys, sel_q, sel_offsets, scratch, idx):
    """For clients ``first..``: select entities within ``radius`` of ``centers[c]`` and write their blocks.

    keys (n,) int64 flat keys, q (n, 3) int64; grid_* from ``SpatialGrid.index``; centers (C, 2) metres;
    baselines concatenated in base_keys/base_q with base_offsets (C + 1,). Writes client c's blocks at
    ``buf[frame_offsets[c]:frame_offsets[c + 1]]`` and its view (keys, q) at ``sel_*[sel_offsets[c]:...]``.
    Returns the first client not done (== C when all are), stopping early when ``buf`` may be too small.
    """
    n_clients = centers.shape[0]
    kinds = name_starts.shape[0] - 1
    pos = frame_offsets[first]
    s = sel_offsets[first]
    for c in range(first, n_clients):
        b0 = base_offsets[c]
        b1 = base_offsets[c + 1]
        n = query_circle(grid_keys, grid_order, xy, centers[c, 0], centers[c, 1], radius, cell_size, span, idx)
        if pos + 64 + kinds * 320 + 8 * (7 * n + (b1 - b0)) > buf.shape[0] or s + n > sel_keys.shape[0]:
            return c
        cur_keys = sel_keys[s:s + n]
        cur_q = sel_q[s:s + n]
        for t in range(n):
            row = idx[t]
            cur_keys[t] = keys[row]
            cur_q[t, 0] = q[row, 0]
            cur_q[t, 1] = q[row, 1]
            cur_q[t, 2] = q[row, 2]
        s += n
        sel_offsets[c + 1] = s
        pos += write_blocks(buf[pos:], cur_keys, cur_q, base_keys[b0:b1], base_q[b0:b1], names, name_starts,
                            scratch)
        frame_offsets[c + 1] = pos
    return n_clients


class AreaOfInterestBatch:
    """All player clients of a tick in one kernel call: AOI selection plus delta blocks per client.

    Why: per-client Python work dominated the tick (a grid query, fancy indexing, an encoder call each);
    one call keeps the interpreter out of the per-client loop, leaving a header and a slice per client.
    """

    def __init__(self, encoder: FrameEncoder) -> None:
        self.encoder = encoder
        self._buf = np.zeros(1 << 20, np.uint8)
        self._scratch = np.zeros((8, 1024), np.int64)
        self._sel_keys = np.zeros(1 << 16, np.int64)
        self._sel_q = np.zeros((1 << 16, 3), np.int64)

    def encode(self, frame: TickFrame, rows: np.ndarray, radius: float,
               baselines: list[FlatView | None]) -> tuple[list[bytes | None], list[FlatView]]:
        """Blocks bytes (None: too big for one frame) and the selected view for each client.

        rows (C,) int64 avatar rows in ``frame``; baselines[c] is client c's baseline view or None.
        """
        n_clients = rows.shape[0]
        empty_keys, empty_q = np.empty(0, np.int64), np.empty((0, 3), np.int64)
        base_keys = [b[0] if b is not None else empty_keys for b in baselines]
        base_q = [b[1] if b is not None else empty_q for b in baselines]
        base_offsets = np.zeros(n_clients + 1, np.int64)
        np.cumsum([k.shape[0] for k in base_keys], out=base_offsets[1:])
        all_base_keys = np.concatenate(base_keys) if n_clients else empty_keys
        all_base_q = np.concatenate(base_q) if n_clients else empty_q
        n = frame.keys.shape[0]
        widest_base = int(np.diff(base_offsets).max()) if n_clients else 0
        if self._scratch.shape[1] < n + widest_base:
            self._scratch = np.zeros((8, 2 * (n + widest_base)), np.int64)
        enc = self.encoder
        grid_keys, grid_order, xy = frame.grid.index
        centers = np.ascontiguousarray(frame.pos[rows, :2])
        frame_offsets = np.zeros(n_clients + 1, np.int64)
        sel_offsets = np.zeros(n_clients + 1, np.int64)
        idx = np.empty(max(1, n), np.int64)
        done = 0
        while done < n_clients:
            done = _encode_aoi_views(frame.keys, frame.q, grid_keys, grid_order, xy, centers, radius,
                                     frame.grid.cell_size, SPAN, all_base_keys, all_base_q, base_offsets,
                                     enc.names, enc.name_starts, done, self._buf, frame_offsets,
                                     self._sel_keys, self._sel_q, sel_offsets, self._scratch, idx)
            if done < n_clients:  # grow both buffers and continue where the kernel stopped
                need = int(frame_offsets[done]) + blocks_bytes_bound(n, int(np.diff(base_offsets)[done]),
                                                                     len(enc.kinds))
                grown = np.zeros(max(2 * self._buf.shape[0], need), np.uint8)
                grown[: frame_offsets[done]] = self._buf[: frame_offsets[done]]
                self._buf = grown
                size = max(2 * self._sel_keys.shape[0], int(sel_offsets[done]) + n)
                more_keys, more_q = np.zeros(size, np.int64), np.zeros((size, 3), np.int64)
                more_keys[: sel_offsets[done]] = self._sel_keys[: sel_offsets[done]]
                more_q[: sel_offsets[done]] = self._sel_q[: sel_offsets[done]]
                self._sel_keys, self._sel_q = more_keys, more_q
        # the views outlive this call (clients keep them as baselines): copy out of the reused buffers
        total = int(sel_offsets[-1])
        sel_keys, sel_q = self._sel_keys[:total].copy(), self._sel_q[:total].copy()
        data = self._buf[: frame_offsets[-1]].tobytes()
        limit = MAX_FRAME_BYTES - 64
        blocks: list[bytes | None] = []
        views: list[FlatView] = []
        for c in range(n_clients):
            a, b = int(frame_offsets[c]), int(frame_offsets[c + 1])
            blocks.append(data[a:b] if b - a <= limit else None)
            v0, v1 = int(sel_offsets[c]), int(sel_offsets[c + 1])
            views.append((sel_keys[v0:v1], sel_q[v0:v1]))
        return blocks, views
