"""PNG previews: terrain (biome colours shaded by slope, rivers) and levels (tiles plus placements)."""

from __future__ import annotations

import numpy as np

from ..levels import Level, Tile
from ..terrain import BIOME_COLOURS, Terrain
from .png import encode_png

LEVEL_SCALE = 8
"""Pixels per tile in level previews."""
TILE_COLOURS = {Tile.WALL: (40, 40, 48), Tile.FLOOR: (200, 196, 180), Tile.DOOR: (150, 90, 30)}
MARKER_COLOURS = {"start": (40, 200, 60), "exit": (40, 120, 240), "key": (250, 210, 0), "door": (150, 90, 30),
                  "enemy": (220, 40, 40), "trap": (160, 60, 200), "treasure": (250, 150, 20)}
PATH_COLOUR = (230, 225, 160)


def terrain_preview(terrain: Terrain, max_pixels: int = 1024) -> bytes:
    """RGB PNG of the biome map, hill-shaded, downsampled to at most ``max_pixels`` per side."""
    step = max(1, int(np.ceil(terrain.height.shape[0] / max_pixels)))
    height = terrain.height[::step, ::step].astype(np.float64)
    colours = BIOME_COLOURS[terrain.biome[::step, ::step]].astype(np.float64)
    gy, gx = np.gradient(height * height.shape[0] * 0.5)
    shade = np.clip(1.0 + 0.5 * (gx - gy) / np.sqrt(1.0 + gx * gx + gy * gy), 0.55, 1.35)
    return encode_png(np.clip(colours * shade[:, :, None], 0, 255).astype(np.uint8))


def level_preview(level: Level) -> bytes:
    """RGB PNG, ``LEVEL_SCALE`` pixels per tile: tiles, the critical path, a square per placement."""
    lut = np.array([TILE_COLOURS[Tile(i)] for i in range(len(Tile))], dtype=np.uint8)
    image = lut[level.tiles]
    for x, y in level.critical_path:
        if level.tiles[y, x] == Tile.FLOOR:
            image[y, x] = PATH_COLOUR
    image = np.repeat(np.repeat(image, LEVEL_SCALE, axis=0), LEVEL_SCALE, axis=1)
    inset = LEVEL_SCALE // 4
    for item in level.placements:
        y0, x0 = item["y"] * LEVEL_SCALE + inset, item["x"] * LEVEL_SCALE + inset
        image[y0:y0 + LEVEL_SCALE - 2 * inset, x0:x0 + LEVEL_SCALE - 2 * inset] = MARKER_COLOURS[item["type"]]
    return encode_png(image)
