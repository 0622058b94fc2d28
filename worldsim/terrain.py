"""Terrain: a square tile grid of heights, moisture and biomes, generated from the world seed.

Tiles are indexed ``[y, x]`` (row = y) with tile (x, y) covering metres
``[-h + x*s, -h + (x+1)*s) x [-h + y*s, -h + (y+1)*s)`` for half extent ``h`` and tile size ``s``; flat
tile indices are ``y * n + x``. Heights and moisture are normalised to [0, 1]; ``elevation`` is metres.
Biomes are assigned by the scenario's rules (first match in file order; a tile no rule matches takes the
last biome).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .kernels.noise import fractal_value_noise
from .scenario import Scenario


@dataclass
class Terrain:
    """The tile grid. Arrays are (n, n), indexed [y, x].

    Attributes:
        n: tiles per side. tile_size: metres per tile. half_extent: metres.
        height: float64 normalised height. moisture: float64 normalised moisture.
        elevation: float64 metres. biome: uint8 index into ``biome_names``. passable: bool.
    """

    n: int
    tile_size: float
    half_extent: float
    height: npt.NDArray[np.float64]
    moisture: npt.NDArray[np.float64]
    elevation: npt.NDArray[np.float64]
    biome: npt.NDArray[np.uint8]
    passable: npt.NDArray[np.bool_]
    biome_names: list[str]

    @classmethod
    def generate(cls, scenario: Scenario, rng: np.random.Generator) -> Terrain:
        """Generate height and moisture from ``rng`` (the world's "terrain" stream) and classify biomes."""
        n = scenario.world.tiles
        t = scenario.terrain
        height = _noise(rng, n, t.octaves, t.scale, t.persistence)
        moisture = _noise(rng, n, max(1, t.octaves - 1), t.moisture_scale, t.persistence)
        return cls.from_fields(scenario, height, moisture)

    @classmethod
    def from_fields(cls, scenario: Scenario, height: npt.NDArray[np.float64],
                    moisture: npt.NDArray[np.float64]) -> Terrain:
        """Classify biomes for given height and moisture fields (n, n) in [0, 1]."""
        n = scenario.world.tiles
        names = list(scenario.biomes)
        biome = np.full((n, n), len(names) - 1, dtype=np.uint8)
        unassigned = np.ones((n, n), dtype=bool)
        for index, b in enumerate(scenario.biomes.values()):
            match = (unassigned & (height >= b.min_height) & (height <= b.max_height)
                     & (moisture >= b.min_moisture) & (moisture <= b.max_moisture))
            biome[match] = index
            unassigned &= ~match
        passable_by_biome = np.array([b.passable for b in scenario.biomes.values()], dtype=bool)
        return cls(n=n, tile_size=scenario.world.tile_size, half_extent=scenario.half_extent,
                   height=height, moisture=moisture, elevation=height * scenario.terrain.relief,
                   biome=biome, passable=passable_by_biome[biome], biome_names=names)

    def tile_at(self, x: float, y: float) -> int:
        """Flat index of the tile under (x, y) metres (clamped to the map)."""
        tx = min(max(int((x + self.half_extent) / self.tile_size), 0), self.n - 1)
        ty = min(max(int((y + self.half_extent) / self.tile_size), 0), self.n - 1)
        return ty * self.n + tx

    def tile_center(self, flat: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Centres (k, 2) metres of flat tile indices (k,)."""
        flat_a = np.asarray(flat, dtype=np.int64)
        x, y = flat_a % self.n, flat_a // self.n
        return np.stack([-self.half_extent + (x + 0.5) * self.tile_size,
                         -self.half_extent + (y + 0.5) * self.tile_size], axis=1)

    def ground_z(self, flat: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Ground elevation (k,) metres at flat tile indices (k,)."""
        return self.elevation.reshape(-1)[np.asarray(flat, dtype=np.int64)]

    def arrays(self) -> dict[str, npt.NDArray]:
        """Arrays that define the terrain (saved and hashed)."""
        return {"terrain.height": self.height, "terrain.moisture": self.moisture}


def _noise(rng: np.random.Generator, n: int, octaves: int, scale: float, persistence: float) -> npt.NDArray[np.float64]:
    size = int(np.ceil(n / min(scale, n) * 1.0)) + 2
    size = max(size, 2) << (octaves - 1)
    lattices = rng.random((octaves, size, size))
    out = np.empty((n, n), dtype=np.float64)
    fractal_value_noise(lattices, n, float(scale), float(persistence), out)
    return out
