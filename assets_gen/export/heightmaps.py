"""Heightmaps for engines: 16-bit little-endian RAW (Unity) and 16-bit grayscale PNG (Unreal).

Both map height 0..1 linearly to 0..65535, row 0 first (north). Unity's "Import Raw" expects a square
of 2^n+1 samples, 16-bit, byte order "Windows" (little-endian); Unreal's landscape import reads 16-bit
grayscale PNG (PNG stores samples big-endian by definition).
"""

from __future__ import annotations

import numpy as np

from .png import encode_png


def quantise_heights(height: np.ndarray) -> np.ndarray:
    """(n, n) float heights in [0, 1] -> (n, n) uint16 (round to nearest)."""
    return np.round(np.clip(height, 0.0, 1.0) * 65535.0).astype(np.uint16)


def encode_raw16(height: np.ndarray) -> bytes:
    """Unity RAW: n*n little-endian uint16 samples, rows top to bottom. ``n`` must be 2^k+1."""
    n = height.shape[0]
    if height.shape != (n, n) or (n - 1) & (n - 2):
        raise ValueError(f"RAW heightmaps must be square with 2^k+1 samples per side, got {height.shape}")
    return quantise_heights(height).astype("<u2").tobytes()


def encode_png16(height: np.ndarray) -> bytes:
    """Unreal heightmap: 16-bit grayscale PNG of the quantised heights."""
    return encode_png(quantise_heights(height))
