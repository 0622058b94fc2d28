"""Layered (fractal) gradient noise kernels for heightmaps and moisture.

Why this design: classic 2-D gradient noise over a seeded permutation table, summed over octaves
(fractional Brownian motion). The permutation table and per-octave offsets are drawn by the caller from a
seeded numpy ``Generator``; the kernels themselves draw no random numbers, so the same inputs give the
same floats in every process. Rejected: simplex noise (patent-free now, but more code for no visible
gain at heightmap scale) and FFT spectral synthesis (periodic output, tiling artefacts).
"""

from __future__ import annotations

import numpy as np
from numba import njit

_DIAG = 0.7071067811865476
_GRAD_X = np.array([1.0, -1.0, 0.0, 0.0, _DIAG, -_DIAG, _DIAG, -_DIAG], dtype=np.float64)
_GRAD_Y = np.array([0.0, 0.0, 1.0, -1.0, _DIAG, _DIAG, -_DIAG, -_DIAG], dtype=np.float64)
"""The 8 unit gradient directions of the lattice (axes and diagonals)."""


def permutation_table(rng: np.random.Generator) -> np.ndarray:
    """A (512,) int32 table: a seeded permutation of 0..255, repeated twice (no index wrapping needed)."""
    perm = rng.permutation(256).astype(np.int32)
    return np.concatenate([perm, perm])


@njit(cache=True, nogil=True, inline="always")
def _fade(t: float) -> float:
    return t * t * t * (t * (t * 6.0 - 15.0) + 10.0)


@njit(cache=True, nogil=True)
def gradient_noise(x: float, y: float, perm: np.ndarray, gx: np.ndarray, gy: np.ndarray) -> float:
    """Gradient noise at (x, y) in lattice units; result roughly in [-1, 1]. ``perm``: (512,) int32."""
    fx = np.floor(x)
    fy = np.floor(y)
    ix = int(fx) & 255
    iy = int(fy) & 255
    dx = x - fx
    dy = y - fy
    a = perm[ix] + iy
    b = perm[ix + 1] + iy
    g00 = perm[a] & 7
    g01 = perm[a + 1] & 7
    g10 = perm[b] & 7
    g11 = perm[b + 1] & 7
    n00 = gx[g00] * dx + gy[g00] * dy
    n10 = gx[g10] * (dx - 1.0) + gy[g10] * dy
    n01 = gx[g01] * dx + gy[g01] * (dy - 1.0)
    n11 = gx[g11] * (dx - 1.0) + gy[g11] * (dy - 1.0)
    u = _fade(dx)
    v = _fade(dy)
    nx0 = n00 + u * (n10 - n00)
    nx1 = n01 + u * (n11 - n01)
    return 1.4142135623730951 * (nx0 + v * (nx1 - nx0))


@njit(cache=True, nogil=True)
def fbm_field(size: int, perm: np.ndarray, offsets: np.ndarray, base_frequency: float,
              persistence: float, lacunarity: float, gx: np.ndarray, gy: np.ndarray) -> np.ndarray:
    """Fractal noise over a ``size`` x ``size`` grid covering [0, 1)^2.

    Args:
        offsets: (octaves, 2) float64 lattice offsets per octave (decorrelates octaves).
        base_frequency: lattice cells across the map for octave 0; each octave multiplies it by
            ``lacunarity`` and its amplitude by ``persistence``.
    Returns:
        (size, size) float32, row = y, column = x, not normalised (about [-1, 1]).
    """
    out = np.empty((size, size), dtype=np.float32)
    octaves = offsets.shape[0]
    norm = 0.0
    amp = 1.0
    for _ in range(octaves):
        norm += amp
        amp *= persistence
    inv = 1.0 / (size - 1) if size > 1 else 1.0
    for row in range(size):
        y0 = row * inv
        for col in range(size):
            x0 = col * inv
            total = 0.0
            amp = 1.0
            freq = base_frequency
            for o in range(octaves):
                total += amp * gradient_noise(x0 * freq + offsets[o, 0], y0 * freq + offsets[o, 1], perm, gx, gy)
                amp *= persistence
                freq *= lacunarity
            out[row, col] = total / norm
    return out


def fbm(size: int, rng: np.random.Generator, octaves: int, base_frequency: float, persistence: float,
        lacunarity: float = 2.0) -> np.ndarray:
    """Seeded fractal noise, (size, size) float32 (about [-1, 1]). Draws the table and offsets from ``rng``."""
    perm = permutation_table(rng)
    offsets = rng.uniform(0.0, 256.0, size=(octaves, 2))
    return fbm_field(size, perm, offsets, float(base_frequency), float(persistence), float(lacunarity),
                     _GRAD_X, _GRAD_Y)
