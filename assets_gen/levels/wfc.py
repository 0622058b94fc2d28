"""WaveFunctionCollapse (overlapping model) with backtracking on contradictions.

Why this design: every N x N window of the sample is a pattern (counted, no rotations or reflections,
so the output contains *only* windows present in the input). The output is a grid of pattern slots;
neighbouring slots must agree on their overlap, which by transitivity makes every N x N window of the
output equal one pattern. Propagation is arc consistency with support counts (AC-4), so a removal
costs O(compatible patterns). Every removal is written to a trail; each decision records the trail
length, so a contradiction undoes to the last decision, bans that choice there and carries on
(chronological backtracking) instead of restarting from scratch. The slots on the border may only hold
patterns whose outer edge is wall, so levels come out enclosed (dropped if the sample cannot satisfy it).

The kernel draws no random numbers: the caller passes an array of uniforms from its seeded generator.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numba import njit

from ..errors import GenerationFailed
from .tiles import Tile

_DR = np.array([0, 1, 0, -1], dtype=np.int64)  # E, S, W, N
_DC = np.array([1, 0, -1, 0], dtype=np.int64)
BIG = 1 << 28


def extract_patterns(sample: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """All n x n windows of ``sample`` (no wrapping), deduplicated in first-seen order.

    Returns (patterns (P, n, n) uint8, weights (P,) float64 occurrence counts).
    """
    h, w = sample.shape
    index: dict[bytes, int] = {}
    patterns: list[np.ndarray] = []
    weights: list[float] = []
    for r in range(h - n + 1):
        for c in range(w - n + 1):
            window = np.ascontiguousarray(sample[r:r + n, c:c + n])
            key = window.tobytes()
            if key in index:
                weights[index[key]] += 1.0
            else:
                index[key] = len(patterns)
                patterns.append(window)
                weights.append(1.0)
    return np.array(patterns, dtype=np.uint8), np.array(weights, dtype=np.float64)


def adjacency(patterns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which patterns may sit next to which: (adj (4, P, P) int32 lists, counts (4, P) int32).

    ``adj[d, p, :counts[d, p]]`` are the patterns q that may occupy the slot one step in direction d
    (E, S, W, N) from a slot holding p: the two agree on their n x (n-1) overlap.
    """
    count, n = patterns.shape[0], patterns.shape[1]
    ok = np.zeros((4, count, count), dtype=bool)
    ok[0] = (patterns[:, None, :, 1:] == patterns[None, :, :, :n - 1]).all(axis=(2, 3))
    ok[1] = (patterns[:, None, 1:, :] == patterns[None, :, :n - 1, :]).all(axis=(2, 3))
    ok[2] = ok[0].T
    ok[3] = ok[1].T
    adj = np.zeros((4, count, count), dtype=np.int32)
    counts = np.zeros((4, count), dtype=np.int32)
    for d in range(4):
        for p in range(count):
            qs = np.nonzero(ok[d, p])[0]
            adj[d, p, :len(qs)] = qs
            counts[d, p] = len(qs)
    return adj, counts


@njit(cache=True, nogil=True)
def _ban(cell: int, p: int, wave: np.ndarray, remaining: np.ndarray, support: np.ndarray, adj: np.ndarray,
         counts: np.ndarray, gh: int, gw: int, trail: np.ndarray, trail_len: int, stack: np.ndarray,
         stack_len: int) -> tuple[int, int, bool]:
    """Remove pattern p from slot ``cell``; update neighbour supports eagerly; queue newly unsupported."""
    wave[cell, p] = False
    remaining[cell] -= 1
    trail[trail_len, 0] = cell
    trail[trail_len, 1] = p
    trail_len += 1
    r = cell // gw
    c = cell % gw
    for d in range(4):
        rr = r + _DR[d]
        cc = c + _DC[d]
        if rr < 0 or cc < 0 or rr >= gh or cc >= gw:
            continue
        other = rr * gw + cc
        back = (d + 2) % 4
        for k in range(counts[d, p]):
            q = adj[d, p, k]
            support[other, back, q] -= 1
            if support[other, back, q] == 0 and wave[other, q]:
                stack[stack_len, 0] = other
                stack[stack_len, 1] = q
                stack_len += 1
    return trail_len, stack_len, remaining[cell] == 0


@njit(cache=True, nogil=True)
def _unban_to(mark: int, wave: np.ndarray, remaining: np.ndarray, support: np.ndarray, adj: np.ndarray,
              counts: np.ndarray, gh: int, gw: int, trail: np.ndarray, trail_len: int) -> int:
    """Undo trail entries back to length ``mark`` (exact inverse of ``_ban``)."""
    while trail_len > mark:
        trail_len -= 1
        cell = trail[trail_len, 0]
        p = trail[trail_len, 1]
        wave[cell, p] = True
        remaining[cell] += 1
        r = cell // gw
        c = cell % gw
        for d in range(4):
            rr = r + _DR[d]
            cc = c + _DC[d]
            if rr < 0 or cc < 0 or rr >= gh or cc >= gw:
                continue
            other = rr * gw + cc
            back = (d + 2) % 4
            for k in range(counts[d, p]):
                support[other, back, adj[d, p, k]] += 1
    return trail_len


@njit(cache=True, nogil=True)
def wfc_solve(gh: int, gw: int, weights: np.ndarray, adj: np.ndarray, counts: np.ndarray,
              initial_bans: np.ndarray, uniforms: np.ndarray, max_backtracks: int) -> tuple[np.ndarray, int, int]:
    """Collapse a (gh, gw) grid of pattern slots.

    Args:
        weights: (P,) float64 pattern frequencies. adj/counts: from ``adjacency``.
        initial_bans: (gh*gw, P) bool, True = pattern not allowed in that slot from the start.
        uniforms: (k,) float64 in [0, 1), consumed cyclically for tie-breaks and weighted choices.
        max_backtracks: give up after this many undone decisions.
    Returns:
        (chosen (gh*gw,) int32 pattern per slot or -1, status 0 ok / 1 unsatisfiable / 2 gave up,
        backtracks used).
    """
    cells = gh * gw
    patterns = weights.shape[0]
    wave = np.ones((cells, patterns), dtype=np.bool_)
    remaining = np.full(cells, patterns, dtype=np.int64)
    support = np.empty((cells, 4, patterns), dtype=np.int32)
    for cell in range(cells):
        r = cell // gw
        c = cell % gw
        for d in range(4):
            rr = r + _DR[d]
            cc = c + _DC[d]
            inside = 0 <= rr < gh and 0 <= cc < gw
            for p in range(patterns):
                support[cell, d, p] = counts[d, p] if inside else BIG
    trail = np.empty((cells * patterns + 1, 2), dtype=np.int64)
    stack = np.empty((cells * patterns * 4 + 1, 2), dtype=np.int64)
    decisions = np.empty((cells + 1, 3), dtype=np.int64)  # cell, pattern, trail mark
    trail_len = 0
    stack_len = 0
    depth = 0
    backtracks = 0
    u = 0
    nu = uniforms.shape[0]
    chosen = np.full(cells, -1, dtype=np.int32)
    tiebreak = np.empty(cells, dtype=np.float64)
    for cell in range(cells):
        tiebreak[cell] = 0.5 * uniforms[u % nu]
        u += 1
    contradiction = False
    for cell in range(cells):
        for p in range(patterns):
            if initial_bans[cell, p] and wave[cell, p]:
                trail_len, stack_len, dead = _ban(cell, p, wave, remaining, support, adj, counts, gh, gw,
                                                  trail, trail_len, stack, stack_len)
                contradiction = contradiction or dead
    while True:
        # propagate queued removals
        while stack_len > 0 and not contradiction:
            stack_len -= 1
            cell = stack[stack_len, 0]
            p = stack[stack_len, 1]
            if wave[cell, p]:
                trail_len, stack_len, dead = _ban(cell, p, wave, remaining, support, adj, counts, gh, gw,
                                                  trail, trail_len, stack, stack_len)
                contradiction = dead
        if contradiction:
            stack_len = 0
            if depth == 0:
                return chosen, 1, backtracks
            backtracks += 1
            if backtracks > max_backtracks:
                return chosen, 2, backtracks
            depth -= 1
            cell = decisions[depth, 0]
            p = decisions[depth, 1]
            trail_len = _unban_to(decisions[depth, 2], wave, remaining, support, adj, counts, gh, gw,
                                  trail, trail_len)
            trail_len, stack_len, dead = _ban(cell, p, wave, remaining, support, adj, counts, gh, gw,
                                              trail, trail_len, stack, stack_len)
            contradiction = dead
            continue
        # observe: the undecided slot with the fewest options (random tie-break)
        best = -1
        best_score = 1e30
        for cell in range(cells):
            if remaining[cell] > 1:
                score = remaining[cell] + tiebreak[cell]
                if score < best_score:
                    best_score = score
                    best = cell
        if best < 0:
            break
        total = 0.0
        for p in range(patterns):
            if wave[best, p]:
                total += weights[p]
        target = uniforms[u % nu] * total
        u += 1
        pick = -1
        for p in range(patterns):
            if wave[best, p]:
                pick = p
                target -= weights[p]
                if target <= 0.0:
                    break
        decisions[depth, 0] = best
        decisions[depth, 1] = pick
        decisions[depth, 2] = trail_len
        depth += 1
        for p in range(patterns):
            if p != pick and wave[best, p]:
                trail_len, stack_len, dead = _ban(best, p, wave, remaining, support, adj, counts, gh, gw,
                                                  trail, trail_len, stack, stack_len)
                contradiction = contradiction or dead
    for cell in range(cells):
        for p in range(patterns):
            if wave[cell, p]:
                chosen[cell] = p
                break
    return chosen, 0, backtracks


def _border_bans(patterns: np.ndarray, gh: int, gw: int) -> np.ndarray:
    """(gh*gw, P) bool: on border slots, ban patterns whose outer edge has floor."""
    count = patterns.shape[0]
    bans = np.zeros((gh, gw, count), dtype=bool)
    wall = Tile.WALL
    bans[0, :, :] |= ~(patterns[:, 0, :] == wall).all(axis=1)
    bans[-1, :, :] |= ~(patterns[:, -1, :] == wall).all(axis=1)
    bans[:, 0, :] |= ~(patterns[:, :, 0] == wall).all(axis=1)
    bans[:, -1, :] |= ~(patterns[:, :, -1] == wall).all(axis=1)
    return bans.reshape(gh * gw, count)


@lru_cache(maxsize=32)
def _model(sample_bytes: bytes, shape: tuple[int, int], n: int) -> tuple[np.ndarray, ...]:
    """Patterns, weights and adjacency of a sample (cached: designers reuse the same few samples)."""
    sample = np.frombuffer(sample_bytes, dtype=np.uint8).reshape(shape)
    patterns, weights = extract_patterns(sample, n)
    adj, counts = adjacency(patterns)
    return patterns, weights, adj, counts


def wfc_layout(width: int, height: int, sample: np.ndarray, n: int, rng: np.random.Generator,
               attempts: int = 4, max_backtracks: int = 2000) -> tuple[np.ndarray, dict[str, int]]:
    """(height, width) uint8 grid whose every n x n window occurs in ``sample``.

    Returns (tiles, stats with ``patterns``, ``backtracks``, ``attempts``, ``enclosed``).
    Raises ``GenerationFailed`` if no attempt completes (sample too constrained for this size).
    """
    patterns, weights, adj, counts = _model(sample.tobytes(), sample.shape, n)
    gh, gw = height - n + 1, width - n + 1
    border = _border_bans(patterns, gh, gw)
    total_backtracks = 0
    for attempt in range(attempts):
        uniforms = rng.random(4096)
        enclosed = attempt < attempts - 1  # the last attempt drops the enclosure constraint
        bans = border if enclosed else np.zeros_like(border)
        chosen, status, backtracks = wfc_solve(gh, gw, weights, adj, counts, bans, uniforms, max_backtracks)
        total_backtracks += backtracks
        if status == 0:
            tiles = np.zeros((height, width), dtype=np.uint8)
            grid = chosen.reshape(gh, gw)
            for r in range(gh):
                for c in range(gw):
                    tiles[r:r + n, c:c + n] = patterns[grid[r, c]]
            return tiles, {"patterns": int(len(patterns)), "backtracks": total_backtracks,
                           "attempts": attempt + 1, "enclosed": int(enclosed)}
    raise GenerationFailed("wfc", f"no consistent {width}x{height} layout after {attempts} attempts and "
                                  f"{total_backtracks} backtracks; use a larger or less constrained sample, "
                                  "a smaller pattern_size, or another algorithm")
