"""Cellular-automata caves: random fill, then the 4-5 smoothing rule.

Why this design: a few passes of "become wall with >= 5 wall neighbours (of 9), floor with <= 3" turn
noise into organic caverns in O(cells) per pass. The random fill is drawn by the caller's seeded
generator; the smoothing kernel is pure. Disconnected pockets are removed afterwards by the level
pipeline (largest region kept).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .tiles import Tile

FILL = 0.45
"""Initial wall probability."""
PASSES = 5


@njit(cache=True, nogil=True)
def smooth_caves(walls: np.ndarray, passes: int) -> np.ndarray:
    """Apply the 4-5 rule ``passes`` times to (h, w) bool ``walls`` (out of bounds counts as wall)."""
    h, w = walls.shape
    cur = walls.copy()
    nxt = np.empty_like(cur)
    for _ in range(passes):
        for r in range(h):
            for c in range(w):
                count = 0
                for dr in range(-1, 2):
                    for dc in range(-1, 2):
                        rr = r + dr
                        cc = c + dc
                        if rr < 0 or cc < 0 or rr >= h or cc >= w or cur[rr, cc]:
                            count += 1
                nxt[r, c] = count >= 5
        cur, nxt = nxt, cur
    return cur


def cave_layout(width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """(height, width) uint8 cave grid bordered by wall."""
    walls = rng.random((height, width)) < FILL
    walls[0, :] = walls[-1, :] = True
    walls[:, 0] = walls[:, -1] = True
    walls = smooth_caves(walls, PASSES)
    tiles = np.where(walls, Tile.WALL, Tile.FLOOR).astype(np.uint8)
    tiles[0, :] = tiles[-1, :] = Tile.WALL
    tiles[:, 0] = tiles[:, -1] = Tile.WALL
    return tiles
