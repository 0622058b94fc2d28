"""WaveFunctionCollapse (overlapping model) with backtracking on contradictions: model and layout.

Why this design: every N x N window of the sample is a pattern (counted, no rotations or reflections,
so the output contains *only* windows present in the input). The output is a grid of pattern slots;
neighbouring slots must agree on their overlap, which by transitivity makes every N x N window of the
output equal one pattern. This module builds the model (patterns, weights, compatibility bitsets) and
turns a solution into tiles; the solver itself (bitset domains, arc consistency, chronological
backtracking) is the Numba kernel in ``wfc_kernel``. The slots on the border may only hold patterns whose
outer edge is wall, so levels come out enclosed (dropped on the last attempt if the sample cannot
satisfy it).

The kernel draws no random numbers: ``wfc_layout`` passes it uniforms from the caller's seeded generator.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..errors import GenerationFailed
from .tiles import Tile
from .wfc_kernel import OK, chunk_unions, pack_bitsets, paint_tiles, settle, wfc_solve


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


def compatibility(patterns: np.ndarray) -> np.ndarray:
    """Which patterns may sit next to which, as bitsets: (4, P, ceil(P / 64)) uint64.

    Bit q of ``compat[d, p]`` is set when pattern q may occupy the slot one step in direction d
    (E, S, W, N) from a slot holding p: the two agree on their n x (n-1) overlap.
    """
    n = patterns.shape[1]
    ok = np.zeros((4, patterns.shape[0], patterns.shape[0]), dtype=bool)
    ok[0] = (patterns[:, None, :, 1:] == patterns[None, :, :, :n - 1]).all(axis=(2, 3))
    ok[1] = (patterns[:, None, 1:, :] == patterns[None, :, :n - 1, :]).all(axis=(2, 3))
    ok[2] = ok[0].T
    ok[3] = ok[1].T
    return pack_bitsets(ok)


def _border_domains(patterns: np.ndarray, gh: int, gw: int) -> np.ndarray:
    """(gh*gw, W) uint64 initial domains: border slots exclude patterns whose outer edge has floor."""
    count = patterns.shape[0]
    allowed = np.ones((gh, gw, count), dtype=bool)
    wall = Tile.WALL
    allowed[0, :, :] &= (patterns[:, 0, :] == wall).all(axis=1)
    allowed[-1, :, :] &= (patterns[:, -1, :] == wall).all(axis=1)
    allowed[:, 0, :] &= (patterns[:, :, 0] == wall).all(axis=1)
    allowed[:, -1, :] &= (patterns[:, :, -1] == wall).all(axis=1)
    return pack_bitsets(allowed.reshape(gh * gw, count))


@lru_cache(maxsize=32)
def _model(sample_bytes: bytes, shape: tuple[int, int], n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Patterns, weights and the solver's compatibility union table of a sample (cached: designers reuse the
    same few samples)."""
    sample = np.frombuffer(sample_bytes, dtype=np.uint8).reshape(shape)
    patterns, weights = extract_patterns(sample, n)
    return patterns, weights, chunk_unions(compatibility(patterns))


@lru_cache(maxsize=32)
def _initial_domains(sample_bytes: bytes, shape: tuple[int, int], n: int, gh: int, gw: int,
                     enclosed: bool) -> np.ndarray | None:
    """Read-only arc-consistent (gh*gw, W) uint64 starting domains, or None if they cannot be satisfied.

    Border-restricted if ``enclosed``, else every pattern everywhere. Cached: the same for every seed.
    """
    patterns, _weights, unions = _model(sample_bytes, shape, n)
    if enclosed:
        domains = _border_domains(patterns, gh, gw)
    else:
        domains = np.repeat(pack_bitsets(np.ones((1, patterns.shape[0]), dtype=bool)), gh * gw, axis=0)
    domains, satisfiable = settle(gh, gw, unions, domains)
    if not satisfiable:
        return None
    domains.setflags(write=False)
    return domains


def wfc_layout(width: int, height: int, sample: np.ndarray, n: int, rng: np.random.Generator,
               attempts: int = 4, max_backtracks: int = 2000) -> tuple[np.ndarray, dict[str, int]]:
    """(height, width) uint8 grid whose every n x n window occurs in ``sample``.

    Draws 4096 uniforms from ``rng`` per attempt. Returns (tiles, stats with ``patterns``, ``backtracks``,
    ``attempts``, ``enclosed``). Raises ``GenerationFailed`` if no attempt completes (sample too constrained
    for this size).
    """
    key = (np.ascontiguousarray(sample, dtype=np.uint8).tobytes(), tuple(sample.shape), n)
    patterns, weights, unions = _model(*key)
    gh, gw = height - n + 1, width - n + 1
    total_backtracks = 0
    for attempt in range(attempts):
        uniforms = rng.random(4096)
        enclosed = attempt < attempts - 1  # the last attempt drops the enclosure constraint
        domains = _initial_domains(*key, gh, gw, enclosed)
        if domains is None:
            continue  # unsatisfiable before any choice: no backtracks spent
        chosen, status, backtracks = wfc_solve(gh, gw, weights, unions, domains, uniforms, max_backtracks)
        total_backtracks += backtracks
        if status == OK:
            tiles = paint_tiles(chosen, patterns, gh, gw)
            return tiles, {"patterns": int(len(patterns)), "backtracks": total_backtracks,
                           "attempts": attempt + 1, "enclosed": int(enclosed)}
    raise GenerationFailed("wfc", f"no consistent {width}x{height} layout after {attempts} attempts and "
                                  f"{total_backtracks} backtracks; use a larger or less constrained sample, "
                                  "a smaller pattern_size, or another algorithm")
