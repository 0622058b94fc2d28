"""Interest management: which entities each client receives, found through a uniform spatial grid.

Why: a client only needs what is near its avatar; sending the whole world to every client costs
O(clients x entities) bytes. The grid is rebuilt once per tick (sort by cell key, O(n log n)) and each
query touches only the cells overlapping the circle, then filters by exact distance. Alternatives
rejected: a k-d tree (rebuild cost similar, no gain at uniform densities) and per-client scans (O(n)).
"""

from __future__ import annotations

import numpy as np
from numba import njit

SPAN = 1 << 21  # cells per axis in the key space; cell coordinates are offset into [0, SPAN)


class SpatialGrid:
    """Entities bucketed by square cells of ``cell_size`` metres over the x/y plane."""

    def __init__(self, cell_size: float) -> None:
        if not cell_size > 0:
            raise ValueError(f"cell_size must be > 0 metres, got {cell_size}")
        self.cell_size = float(cell_size)
        self._keys = np.empty(0, np.int64)
        self._order = np.empty(0, np.int64)
        self._xy = np.empty((0, 2), np.float64)

    def rebuild(self, positions: np.ndarray) -> None:
        """Index ``positions`` ((n, 2+) float metres; only x and y are used)."""
        xy = np.ascontiguousarray(positions[:, :2], dtype=np.float64)
        cells = np.floor(xy / self.cell_size).astype(np.int64) + SPAN // 2
        np.clip(cells, 0, SPAN - 1, out=cells)
        keys = cells[:, 0] * SPAN + cells[:, 1]
        self._order = np.argsort(keys, kind="stable")
        self._keys = keys[self._order]
        self._xy = xy

    @property
    def index(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(sorted cell keys (n,), point index per sorted key (n,), xy (n, 2) metres) for kernels."""
        return self._keys, self._order, self._xy

    def query(self, center_x: float, center_y: float, radius: float) -> np.ndarray:
        """Indices (ascending, into the rebuilt array) of points within ``radius`` metres of the center."""
        out = np.empty(self._keys.size, np.int64)
        n = query_circle(self._keys, self._order, self._xy, float(center_x), float(center_y), float(radius),
                          self.cell_size, SPAN, out)
        return out[:n]


@njit(cache=True, nogil=True)
def query_circle(keys, order, xy, cx, cy, radius, cell_size, span, out):  # pragma: no cover - compiled
    """Write indices of points within ``radius`` of (cx, cy) into ``out`` ascending; return their count.

    keys (n,) int64 sorted cell keys; order (n,) int64 point index per sorted key; xy (n, 2) metres.
    """
    half = span // 2
    x0 = max(int(np.floor((cx - radius) / cell_size)) + half, 0)
    x1 = min(int(np.floor((cx + radius) / cell_size)) + half, span - 1)
    y0 = max(int(np.floor((cy - radius) / cell_size)) + half, 0)
    y1 = min(int(np.floor((cy + radius) / cell_size)) + half, span - 1)
    r2 = radius * radius
    n = 0
    for gx in range(x0, x1 + 1):
        lo = np.searchsorted(keys, gx * span + y0)
        hi = np.searchsorted(keys, gx * span + y1, side="right")
        for t in range(lo, hi):
            idx = order[t]
            dx = xy[idx, 0] - cx
            dy = xy[idx, 1] - cy
            if dx * dx + dy * dy <= r2:
                out[n] = idx
                n += 1
    out[:n].sort()
    return n
