"""Temperature, moisture and biome classification over a heightmap.

Why this design: a Whittaker-style lookup — biome from (temperature, moisture) on land, water by sea
level — is what designers expect and is a few array operations. Temperature falls with altitude and
towards the map's top and bottom edges; moisture mixes its own noise with proximity to water (box-blurred
sea and river masks), so coasts and river valleys are greener.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np


class Biome(IntEnum):
    """Biome codes stored in the (n, n) uint8 biome map."""

    OCEAN = 0
    BEACH = 1
    DESERT = 2
    GRASSLAND = 3
    FOREST = 4
    RAINFOREST = 5
    TUNDRA = 6
    SNOW = 7
    ROCK = 8
    RIVER = 9


BIOME_COLOURS = np.array([
    (38, 84, 148), (222, 205, 150), (214, 184, 110), (136, 178, 82), (58, 122, 58), (28, 94, 48),
    (150, 160, 140), (240, 244, 250), (120, 110, 100), (60, 120, 200)], dtype=np.uint8)
"""(10, 3) RGB preview/vertex colour per ``Biome`` code."""


def temperature_map(height: np.ndarray, sea_level: float) -> np.ndarray:
    """(n, n) float32 in [0, 1]: warm at sea level and mid-latitudes, cold high up and near the edges."""
    n = height.shape[0]
    latitude = np.abs(np.linspace(-1.0, 1.0, n, dtype=np.float32))[:, None]
    altitude = np.clip((height - sea_level) / max(1e-6, 1.0 - sea_level), 0.0, 1.0)
    return np.clip(1.0 - 0.35 * latitude - 0.8 * altitude, 0.0, 1.0).astype(np.float32)


def classify_biomes(height: np.ndarray, temperature: np.ndarray, moisture: np.ndarray, rivers: np.ndarray,
                    sea_level: float) -> np.ndarray:
    """(n, n) uint8 ``Biome`` codes from normalised height, temperature and moisture (all in [0, 1])."""
    biome = np.full(height.shape, Biome.GRASSLAND, dtype=np.uint8)
    hot, cold = temperature > 0.7, temperature < 0.3
    biome[(moisture > 0.45) & ~cold] = Biome.FOREST
    biome[(moisture > 0.62) & hot] = Biome.RAINFOREST
    biome[(moisture < 0.28) & hot] = Biome.DESERT
    biome[cold] = Biome.TUNDRA
    biome[temperature < 0.12] = Biome.SNOW
    steep_high = (height > sea_level + 0.6 * (1 - sea_level)) & (temperature >= 0.12)
    biome[steep_high] = Biome.ROCK
    biome[(height >= sea_level) & (height < sea_level + 0.015)] = Biome.BEACH
    biome[rivers] = Biome.RIVER
    biome[height < sea_level] = Biome.OCEAN
    return biome
