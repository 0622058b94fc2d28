"""Terrain pipeline: fractal noise -> hydraulic + thermal erosion -> rivers -> moisture -> biomes.

Every random draw comes from named streams of one ``worldsim.RngStreams(seed)`` ("terrain.noise",
"terrain.droplets", "terrain.moisture"), so changing one stage's draws never shifts another's, and the
same parameters give byte-identical arrays in every process.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from worldsim.rng import RngStreams

from ..cancel import CancelToken, ensure_token
from ..params import TerrainParams
from .climate import classify_biomes, temperature_map
from .erosion import erode_droplets, thermal_erode
from .hydrology import box_blur, flow_accumulation
from .noise import fbm

DROPLET_CHUNK = 4096
"""Droplets per kernel call; cancellation is checked between chunks."""

Progress = Callable[[str, float], None]
"""``progress(stage, fraction_done)`` callback (the CLI drives a tqdm bar with it)."""


@dataclass
class Terrain:
    """A generated terrain. Every map is (size, size), row = y (north at row 0), column = x.

    height: float32 in [0, 1] (0 = deepest sea, 1 = highest peak); sea_level in the same unit.
    moisture, temperature: float32 in [0, 1]. biome: uint8 ``Biome`` codes. rivers: bool.
    timings_ms: wall time per stage (noise, erosion, hydrology, climate).
    """

    params: TerrainParams
    height: np.ndarray
    moisture: np.ndarray
    temperature: np.ndarray
    biome: np.ndarray
    rivers: np.ndarray
    timings_ms: dict[str, float] = field(default_factory=dict)

    @property
    def sea_level(self) -> float:
        return self.params.sea_level

    def summary(self) -> dict[str, object]:
        """Small JSON-able figures about the map (fits any RPC answer)."""
        land = self.height >= self.sea_level
        counts = np.bincount(self.biome.ravel(), minlength=10)
        from .climate import Biome

        return {
            "size": self.params.size, "seed": self.params.seed, "sea_level": self.sea_level,
            "land_fraction": round(float(land.mean()), 4), "river_cells": int(self.rivers.sum()),
            "biomes": {Biome(i).name.lower(): int(c) for i, c in enumerate(counts) if c},
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
        }


def _normalise(field_: np.ndarray) -> np.ndarray:
    lo, hi = float(field_.min()), float(field_.max())
    return ((field_ - lo) / (hi - lo if hi > lo else 1.0)).astype(np.float32)


def noise_heightmap(p: TerrainParams, streams: RngStreams) -> np.ndarray:
    """(size, size) float32 fractal noise heights in [0, 1] (with the island fall-off if asked)."""
    height = fbm(p.size, streams.stream("terrain.noise"), p.octaves, p.frequency, p.roughness)
    height = _normalise(height)
    if p.island:
        axis = np.linspace(-1.0, 1.0, p.size, dtype=np.float32)
        distance = np.sqrt(axis[None, :] ** 2 + axis[:, None] ** 2) / np.float32(np.sqrt(2.0))
        height = _normalise(height * (1.0 - distance ** 2))
    return height


def erode(height: np.ndarray, p: TerrainParams, streams: RngStreams, cancel: CancelToken,
          progress: Progress | None = None) -> None:
    """Hydraulic then thermal erosion of ``height`` in place (droplet starts from "terrain.droplets")."""
    total = p.droplet_count
    starts = streams.stream("terrain.droplets").uniform(0.0, p.size - 1.001, size=(total, 2))
    scale = 1.0 / p.size  # heights are in [0, 1]; droplet constants are tuned per cell of slope
    for lo in range(0, total, DROPLET_CHUNK):
        cancel.check()
        erode_droplets(height, starts[lo:lo + DROPLET_CHUNK], 48, 0.3, 8.0, 0.3, 0.3, 0.02, 4.0, scale * 0.05)
        if progress is not None:
            progress("erosion", min(1.0, (lo + DROPLET_CHUNK) / max(total, 1)))
    cancel.check()
    if p.thermal_iterations:
        thermal_erode(height, p.thermal_iterations, 3.0 / p.size, 0.5)


def generate_terrain(p: TerrainParams, cancel: CancelToken | None = None,
                     progress: Progress | None = None) -> Terrain:
    """Generate a terrain (see ``TerrainParams``). Raises ``Cancelled`` if ``cancel`` trips."""
    cancel = ensure_token(cancel)
    streams = RngStreams(p.seed)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    height = noise_heightmap(p, streams)
    timings["noise"] = (time.perf_counter() - t0) * 1000
    cancel.check()
    t0 = time.perf_counter()
    erode(height, p, streams, cancel, progress)
    height = _normalise(height)
    timings["erosion"] = (time.perf_counter() - t0) * 1000
    t0 = time.perf_counter()
    order = np.argsort(-height.ravel(), kind="stable")
    accumulation = flow_accumulation(height, order)
    rivers = (accumulation >= p.river_cells) & (height >= p.sea_level)
    timings["hydrology"] = (time.perf_counter() - t0) * 1000
    cancel.check()
    t0 = time.perf_counter()
    water = ((height < p.sea_level) | rivers).astype(np.float32)
    proximity = box_blur(box_blur(water, max(2, p.size // 64)), max(2, p.size // 64))
    moisture_noise = _normalise(fbm(p.size, streams.stream("terrain.moisture"), 4, p.frequency * 1.5, 0.5))
    moisture = np.clip(0.55 * moisture_noise + 0.45 * _normalise(proximity), 0.0, 1.0).astype(np.float32)
    temperature = temperature_map(height, p.sea_level)
    biome = classify_biomes(height, temperature, moisture, rivers, p.sea_level)
    timings["climate"] = (time.perf_counter() - t0) * 1000
    if progress is not None:
        progress("done", 1.0)
    return Terrain(p, height, moisture, temperature, biome, rivers, timings)
