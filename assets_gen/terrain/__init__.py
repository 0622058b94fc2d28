"""Terrain generation: noise heightmaps, erosion, rivers, moisture and biomes."""

from .climate import BIOME_COLOURS, Biome
from .generate import Terrain, generate_terrain

__all__ = ["BIOME_COLOURS", "Biome", "Terrain", "generate_terrain"]
