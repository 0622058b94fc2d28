"""Argument checks for ``PhysicsWorld`` and the value types it takes and returns.

Every check raises ``InputError`` with a message that names the argument and what was expected.
"""

from __future__ import annotations

import hashlib
import struct
from typing import NamedTuple

import numpy as np

from ..errors import InputError

TERRAIN = -1
"""The handle that stands for the terrain or ground plane in a ``Contact``."""


class Contact(NamedTuple):
    """A new contact of the tick: bodies ``a`` < ``b`` (``b`` = -1 for terrain), total normal impulse N*s,
    world position (x, y, z) of the strongest contact point, metres."""

    a: int
    b: int
    impulse: float
    pos: tuple[float, float, float]


class Terrain(NamedTuple):
    """Heights (H, W) float64 metres sampled every ``tile_size`` metres; ``heights[0, 0]`` is at ``origin``
    (x0, y0); row index grows along +y, column index along +x."""

    heights: np.ndarray
    tile_size: float
    origin: tuple[float, float]



def finite_vector(name: str, value: object, size: int) -> tuple[float, ...]:
    try:
        arr = np.asarray(value, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be {size} numbers, got {value!r}") from exc
    if arr.size != size or not np.all(np.isfinite(arr)):
        raise InputError(f"{name} must be {size} finite numbers, got {value!r}")
    return tuple(float(v) for v in arr)


def positive_number(name: str, value: object, allow_zero: bool = False) -> float:
    (v,) = finite_vector(name, value, 1)
    if v < 0 or (v == 0 and not allow_zero):
        raise InputError(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {value!r}")
    return v


def check_terrain(terrain: object) -> Terrain | None:
    if terrain is None:
        return None
    parts = tuple(terrain) if isinstance(terrain, tuple | list) else ()
    if len(parts) != 3:
        raise InputError("terrain must be None or (heights (H, W), tile_size, (x0, y0))")
    heights, tile, origin = parts
    try:
        h = np.ascontiguousarray(heights, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"terrain heights must be a finite (H, W) float array: {exc}") from exc
    if h.ndim != 2 or h.shape[0] < 2 or h.shape[1] < 2 or not np.all(np.isfinite(h)):
        raise InputError(f"terrain heights must be a finite (H, W) array with H, W >= 2, got shape {h.shape}")
    x0, y0 = finite_vector("terrain origin", origin, 2)
    return Terrain(h, positive_number("terrain tile_size", tile), (x0, y0))


def terrain_digest(terrain: Terrain | None) -> bytes:
    if terrain is None:
        return hashlib.sha256(b"flat ground plane").digest()
    h = hashlib.sha256(struct.pack("<qqd2d", *terrain.heights.shape, terrain.tile_size, *terrain.origin))
    h.update(terrain.heights.astype("<f8").tobytes())
    return h.digest()

