"""Grid path-finding kernels: breadth-first distances, components, nearest-source labels.

All kernels walk 4-neighbours on a (h, w) bool ``passable`` grid; out of bounds is a wall. Unreached
cells get distance -1. Breadth-first search is exact for unit step costs, which is what a tile level has.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_DR = np.array([0, 1, 0, -1], dtype=np.int64)
_DC = np.array([1, 0, -1, 0], dtype=np.int64)


@njit(cache=True, nogil=True)
def _expand(passable, queue, head, tail, dist, label):  # pragma: no cover - compiled
    """Breadth-first expansion from ``queue[head:tail]`` (flat indices of cells already marked in ``dist``
    and ``label``): every reached unvisited passable cell gets its parent's distance + 1 and its label.
    Returns the new queue length (the queue can be shared by successive floods)."""
    h, w = passable.shape
    while head < tail:
        cell = queue[head]
        head += 1
        r = cell // w
        c = cell % w
        for k in range(4):
            rr = r + _DR[k]
            cc = c + _DC[k]
            if 0 <= rr < h and 0 <= cc < w and passable[rr, cc] and dist[rr, cc] < 0:
                dist[rr, cc] = dist[r, c] + 1
                label[rr, cc] = label[r, c]
                queue[tail] = rr * w + cc
                tail += 1
    return tail


@njit(cache=True, nogil=True)
def bfs_distances(passable: np.ndarray, start_r: int, start_c: int) -> np.ndarray:
    """(h, w) int32 steps from (start_r, start_c) over passable cells; -1 where unreachable."""
    sources = np.empty((1, 2), dtype=np.int64)
    sources[0, 0] = start_r
    sources[0, 1] = start_c
    if not passable[start_r, start_c]:
        return np.full(passable.shape, -1, dtype=np.int32)
    return nearest_source(passable, sources)[1]


@njit(cache=True, nogil=True)
def label_components(passable: np.ndarray) -> np.ndarray:
    """(h, w) int32 component labels (0, 1, ... in row-major discovery order); -1 for walls."""
    h, w = passable.shape
    label = np.full((h, w), -1, dtype=np.int32)
    dist = np.full((h, w), -1, dtype=np.int32)
    queue = np.empty(h * w, dtype=np.int64)
    tail = 0
    current = 0
    for r0 in range(h):
        for c0 in range(w):
            if passable[r0, c0] and label[r0, c0] < 0:
                label[r0, c0] = current
                dist[r0, c0] = 0
                queue[tail] = r0 * w + c0
                tail = _expand(passable, queue, tail, tail + 1, dist, label)
                current += 1
    return label


@njit(cache=True, nogil=True)
def nearest_source(passable: np.ndarray, sources: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Multi-source BFS. ``sources``: (k, 2) int64 (row, col), in priority order.

    Returns (label, dist): (h, w) int32 index into ``sources`` of the nearest source (earlier sources
    win ties) and the steps to it; -1 where unreachable.
    """
    h, w = passable.shape
    label = np.full((h, w), -1, dtype=np.int32)
    dist = np.full((h, w), -1, dtype=np.int32)
    queue = np.empty(h * w, dtype=np.int64)
    tail = 0
    for i in range(sources.shape[0]):
        r = sources[i, 0]
        c = sources[i, 1]
        if dist[r, c] < 0:
            dist[r, c] = 0
            label[r, c] = i
            queue[tail] = r * w + c
            tail += 1
    _expand(passable, queue, 0, tail, dist, label)
    return label, dist


def shortest_path(dist: np.ndarray, end: tuple[int, int]) -> list[tuple[int, int]]:
    """Walk back from ``end`` along strictly decreasing ``dist`` (from ``bfs_distances``) to distance 0.

    Returns [(row, col), ...] from the source to ``end``. Neighbours are tried in a fixed order
    (right, down, left, up), so the path is deterministic.
    """
    h, w = dist.shape
    r, c = end
    path = [(r, c)]
    while dist[r, c] > 0:
        for dr, dc in ((0, 1), (1, 0), (0, -1), (-1, 0)):
            rr, cc = r + dr, c + dc
            if 0 <= rr < h and 0 <= cc < w and dist[rr, cc] == dist[r, c] - 1:
                r, c = rr, cc
                break
        path.append((r, c))
    path.reverse()
    return path


def keep_largest_region(tiles: np.ndarray, floor: int) -> int:
    """Turn every floor cell outside the largest 4-connected floor region into wall (0), in place.

    Returns the size of the kept region (0 if there is no floor).
    """
    labels = label_components(tiles == floor)
    if labels.max() < 0:
        return 0
    counts = np.bincount(labels[labels >= 0])
    keep = int(np.argmax(counts))  # first largest wins: deterministic
    tiles[(labels != keep) & (tiles == floor)] = 0
    return int(counts[keep])
