"""Fractal value noise on a tile grid (Numba).

Why value noise on random lattices: the lattice values come from the world's seeded numpy stream, so the
kernel itself is pure and deterministic; smoothstep interpolation is enough for biomes and relief.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def fractal_value_noise(lattices, n, scale, persistence, out):  # pragma: no cover - compiled
    """Sum of octaves of smoothly interpolated lattice values, normalised to [0, 1].

    Args:
        lattices: (octaves, L, L) float64 random values in [0, 1); octave k has period ``scale / 2**k`` tiles.
        n: grid side in tiles.
        scale: tiles per lattice cell at octave 0 (> 0).
        persistence: amplitude ratio between octaves, in (0, 1].
        out: (n, n) float64, written as out[y, x].
    """
    octaves, size = lattices.shape[0], lattices.shape[1]
    out[:, :] = 0.0
    amplitude = 1.0
    total = 0.0
    period = scale
    for k in range(octaves):
        for y in range(n):
            fy = (y + 0.5) / period
            y0 = int(np.floor(fy))
            ty = fy - y0
            sy = ty * ty * (3.0 - 2.0 * ty)
            ya, yb = y0 % size, (y0 + 1) % size
            for x in range(n):
                fx = (x + 0.5) / period
                x0 = int(np.floor(fx))
                tx = fx - x0
                sx = tx * tx * (3.0 - 2.0 * tx)
                xa, xb = x0 % size, (x0 + 1) % size
                top = lattices[k, ya, xa] * (1.0 - sx) + lattices[k, ya, xb] * sx
                bottom = lattices[k, yb, xa] * (1.0 - sx) + lattices[k, yb, xb] * sx
                out[y, x] += amplitude * (top * (1.0 - sy) + bottom * sy)
        total += amplitude
        amplitude *= persistence
        period = max(period / 2.0, 1.0)
    lo, hi = out.min(), out.max()
    span = hi - lo
    for y in range(n):
        for x in range(n):
            out[y, x] = (out[y, x] - lo) / span if span > 0 else 0.5
