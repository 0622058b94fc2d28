"""A minimal PNG encoder (zlib + struct): 8-bit RGB/RGBA and 16-bit grayscale, no filters.

Why this design: the output must be byte-identical for the same input in every process and with any
installed imaging library version; writing the few chunks ourselves (IHDR, IDAT at a fixed zlib level,
IEND, no timestamps) guarantees that. Filter type 0 (none) keeps the encoder trivial; 16-bit height
samples compress acceptably without prediction.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COLOUR_TYPES = {1: 0, 3: 2, 4: 6}  # channels -> PNG colour type (grey, RGB, RGBA)


def _chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def encode_png(image: np.ndarray) -> bytes:
    """PNG bytes of ``image``: (h, w) uint16 grayscale, or (h, w, 3|4) uint8 RGB/RGBA, or (h, w) uint8 grey."""
    if image.ndim == 2:
        image = image[:, :, None]
    h, w, channels = image.shape
    if channels not in _COLOUR_TYPES or image.dtype not in (np.uint8, np.uint16) or (
            image.dtype == np.uint16 and channels != 1):
        raise ValueError(f"unsupported image: shape {image.shape}, dtype {image.dtype}")
    depth = 16 if image.dtype == np.uint16 else 8
    samples = image.astype(">u2") if depth == 16 else image
    rows = samples.reshape(h, w * channels * (depth // 8)) if depth == 8 else samples.view(np.uint8).reshape(h, -1)
    raw = np.hstack([np.zeros((h, 1), dtype=np.uint8), rows.view(np.uint8)]).tobytes()
    header = struct.pack(">IIBBBBB", w, h, depth, _COLOUR_TYPES[channels], 0, 0, 0)
    return _SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(raw, 6)) + _chunk(b"IEND", b"")
