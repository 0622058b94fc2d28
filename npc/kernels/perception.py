"""Perception kernels: uniform grids over points, nearest hostile with terrain line of sight, neighbours.

Grids are counting-sorted (``bucket_points``): ``start`` (cells + 1,) offsets into ``order`` (m,) so a cell's
points are ``order[start[c]:start[c + 1]]`` in ascending index order, which keeps every query deterministic.
Each query kernel is compiled as ``*_serial`` and ``*_parallel`` (``variants.serial_and_parallel``;
threads pay off only for large populations); each row writes only its own outputs, so they agree exactly.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .variants import serial_and_parallel

NEIGHBOUR_CAP = 16
"""An NPC in a crowd stops looking after this many neighbours (its partner is the nearest of those)."""


@njit(cache=True, nogil=True)
def bucket_points(xy, half_extent, cell, side, start, order):
    """Counting sort of points into a ``side`` x ``side`` grid of ``cell`` metres.

    Args:
        xy: (m, 2) float64 positions, metres, inside [-h, h]. start: (side*side + 1,) int64 out.
        order: (m,) int64 out: point indices grouped by cell, ascending within a cell.
    """
    m = xy.shape[0]
    start[:] = 0
    cells = np.empty(m, dtype=np.int64)
    for i in range(m):
        cx = min(max(int((xy[i, 0] + half_extent) / cell), 0), side - 1)
        cy = min(max(int((xy[i, 1] + half_extent) / cell), 0), side - 1)
        cells[i] = cy * side + cx
        start[cells[i] + 1] += 1
    for c in range(side * side):
        start[c + 1] += start[c]
    fill = start[:-1].copy()
    for i in range(m):
        order[fill[cells[i]]] = i
        fill[cells[i]] += 1


@njit(cache=True, nogil=True)
def line_of_sight(elevation, tile_size, half_extent, x0, y0, x1, y1, eye):
    """True when no terrain rises above the straight line between two eyes ``eye`` metres above the ground.

    Samples the (n, n) elevation grid (metres, indexed [y, x]) every half tile between the two points.
    """
    n = elevation.shape[0]
    tx0 = min(max(int((x0 + half_extent) / tile_size), 0), n - 1)
    ty0 = min(max(int((y0 + half_extent) / tile_size), 0), n - 1)
    tx1 = min(max(int((x1 + half_extent) / tile_size), 0), n - 1)
    ty1 = min(max(int((y1 + half_extent) / tile_size), 0), n - 1)
    z0 = elevation[ty0, tx0] + eye
    z1 = elevation[ty1, tx1] + eye
    steps = int(math.hypot(x1 - x0, y1 - y0) / (0.5 * tile_size))
    for s in range(1, steps):
        t = s / steps
        x = x0 + t * (x1 - x0)
        y = y0 + t * (y1 - y0)
        tx = min(max(int((x + half_extent) / tile_size), 0), n - 1)
        ty = min(max(int((y + half_extent) / tile_size), 0), n - 1)
        if elevation[ty, tx] > z0 + t * (z1 - z0):
            return False
    return True


def _nearest_hostile(query, qxy, qfaction, sight, cxy, cfaction, cself, hostile, half_extent, cell, side, start,
                     order, elevation, tile_size, eye, out_index, out_dist):
    """For each queried NPC the nearest candidate it is hostile to, in sight and line of sight.

    Args:
        query: (q,) int64 rows of the NPCs asking (outputs are indexed by these rows).
        qxy: (n, 2) float64 NPC positions; qfaction (n,) int64; sight (n,) float64 metres.
        cxy: (m, 2) float64 candidate positions; cfaction (m,) int64 faction index, or -1 (a predator: a
            threat to everyone) or -2 (a player); cself (m,) int64 the NPC row a candidate is (-1 for
            others), so nobody sees itself -- all three **in grid order** (``x[order]``), so a cell's
            candidates sit next to each other in memory; ``out_index`` is an index into the original order.
        hostile: (F, F + 1) bool, [f, g] faction f treats g as hostile; column F: f attacks players.
        start, order: the candidates' grid (``bucket_points`` with ``cell`` >= every sight radius).
        elevation: (n, n) float64 metres; tile_size metres; eye metres above ground.
        out_index: (n,) int64 out: candidate index or -1. out_dist: (n,) float64 out: metres (inf if none).
    """
    players = hostile.shape[1] - 1
    for k in prange(query.shape[0]):
        i = query[k]
        x, y, r = qxy[i, 0], qxy[i, 1], sight[i]
        f = qfaction[i]
        x0 = min(max(int((x - r + half_extent) / cell), 0), side - 1)  # only the cells the sight disc touches
        x1 = min(max(int((x + r + half_extent) / cell), 0), side - 1)
        y0 = min(max(int((y - r + half_extent) / cell), 0), side - 1)
        y1 = min(max(int((y + r + half_extent) / cell), 0), side - 1)
        best, best_d2 = -1, np.inf
        r2 = r * r
        for gy in range(y0, y1 + 1):
            for gx in range(x0, x1 + 1):
                c = gy * side + gx
                for p in range(start[c], start[c + 1]):
                    j = order[p]
                    if cself[p] == i:
                        continue
                    g = cfaction[p]
                    if g == -2:
                        if not hostile[f, players]:
                            continue
                    elif g >= 0 and not hostile[f, g]:
                        continue
                    dx, dy = cxy[p, 0] - x, cxy[p, 1] - y
                    d2 = dx * dx + dy * dy  # squared metres: no square root until the winner is known
                    if d2 > r2 or d2 > best_d2 or (d2 == best_d2 and j > best):
                        continue
                    if not line_of_sight(elevation, tile_size, half_extent, x, y, cxy[p, 0], cxy[p, 1], eye):
                        continue
                    best, best_d2 = j, d2
        out_index[i] = best
        out_dist[i] = math.sqrt(best_d2) if best >= 0 else np.inf


nearest_hostile_serial, nearest_hostile_parallel = serial_and_parallel(_nearest_hostile)


def _neighbours(xy, alive, sxy, salive, radius, half_extent, cell, side, start, order, out_count, out_partner):
    """Per NPC: how many other live NPCs stand within ``radius`` metres (counting stops at
    ``NEIGHBOUR_CAP``), and the nearest of those (lowest row on ties; -1 if none). ``xy`` (n, 2) float64 is
    also the grid's point set (``cell`` >= ``radius``), ``sxy``/``salive`` the same in grid order
    (``xy[order]``: a cell's points are adjacent in memory); cells are scanned in a fixed order, so the
    result is deterministic."""
    r2 = radius * radius
    for q in prange(xy.shape[0]):  # queries in grid order: neighbouring queries read the same cells (cache)
        i = order[q]
        out_count[i] = 0
        out_partner[i] = -1
        if not salive[q]:
            continue
        x, y = sxy[q, 0], sxy[q, 1]
        x0 = min(max(int((x - radius + half_extent) / cell), 0), side - 1)  # only the cells the disc touches
        x1 = min(max(int((x + radius + half_extent) / cell), 0), side - 1)
        y0 = min(max(int((y - radius + half_extent) / cell), 0), side - 1)
        y1 = min(max(int((y + radius + half_extent) / cell), 0), side - 1)
        best_d2 = np.inf
        done = False
        for gy in range(y0, y1 + 1):
            if done:
                break
            for gx in range(x0, x1 + 1):
                if done:
                    break
                c = gy * side + gx
                for p in range(start[c], start[c + 1]):
                    j = order[p]
                    if j == i or not salive[p]:
                        continue
                    dx, dy = sxy[p, 0] - x, sxy[p, 1] - y
                    d2 = dx * dx + dy * dy
                    if d2 > r2:
                        continue
                    out_count[i] += 1
                    if d2 < best_d2 or (d2 == best_d2 and j < out_partner[i]):
                        best_d2 = d2
                        out_partner[i] = j
                    if out_count[i] >= NEIGHBOUR_CAP:  # a crowd: enough noticed (inputs cap the crowd at 8)
                        done = True
                        break


neighbours_serial, neighbours_parallel = serial_and_parallel(_neighbours)


@njit(cache=True, nogil=True)
def match_meetings(candidates, partner, due, hostile, busy, out_pairs):
    """Greedy pairing in ascending candidate order: i meets its nearest neighbour ``partner[i]`` when both are
    due, neither is already talking this tick and both are on the same side (hostile or not).

    Args:
        candidates: (c,) int64 rows, ascending. partner: (n,) int64 (-1: none). due, hostile: (n,) bool.
        busy: (n,) bool scratch, all False on entry. out_pairs: (c, 2) int64 out.
    Returns:
        k, the number of pairs written to ``out_pairs[:k]``.
    """
    k = 0
    for t in range(candidates.shape[0]):
        i = candidates[t]
        j = partner[i]
        if j < 0 or busy[i] or busy[j] or not due[j] or hostile[i] != hostile[j]:
            continue
        busy[i] = True
        busy[j] = True
        out_pairs[k, 0] = i
        out_pairs[k, 1] = j
        k += 1
    return k
