"""The ecology system: species parameters, the grass layer, and one ecology step over the entity table.

Why this design: creatures are ordinary entity rows (kind ``CREATURE``) so snapshots, interest management,
saves and the hash treat them like everything else; species, energy, age and tile live in columns. The
step itself is one sequential Numba kernel (``kernels.ecology.fauna_step``) over a shuffled activation
order, which is what the WolfSheep family of models specifies and what makes predation well defined
(a sheep eaten earlier in the step does not act). Births and deaths come back as row lists and one
compiled pass (``kernels.ecology.settle_step``) applies them to the table -- the same rules as
``EntityTable.despawn_rows`` / ``spawn_rows`` (defaults restored, generation bumped, lowest free rows
first) -- so a step costs a few kernel calls, independent of Python per creature.

The step is spread over its interval: each tick one cohort (rows equal to the tick modulo the interval
in ticks) acts, so no tick pays for the whole population. Per-(species, tile) lists persist between ticks;
they are derived state (prey is picked by row rank), rebuilt after a load or an outside despawn.
Creatures move tile to tile once per ecology step; between steps the movement kernel glides them to
their new tile centre so clients see smooth motion.

Alternatives rejected: creatures as a separate pool with their own ids (two id spaces on the wire), a
vectorised (non-sequential) update (predation conflicts need an order; the WolfSheep specification has
one), one pass per interval (a 45 ms spike once a second at 100k creatures).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from .ids import FIRST_GENERATION, MAX_GENERATION, ROW_BITS
from .kernels.ecology import (
    GRASS,
    OLD_AGE,
    PREDATION,
    STARVATION,
    activation_order,
    cohort_rows,
    fauna_step,
    link_creatures,
    regrow_grass,
    settle_step,
    tile_centres,
)
from .scenario import Scenario
from .state import EntityTable, Kind
from .terrain import Terrain

DEATH_CAUSES = {STARVATION: "starvation", PREDATION: "predation", OLD_AGE: "old_age"}
_NO_IMMIGRANTS = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64))


@dataclass
class StepOutcome:
    """What one ecology step did. Rows/ids are (k,) int64 arrays."""

    born_ids: npt.NDArray[np.int64]
    parent_ids: npt.NDArray[np.int64]
    dead_ids: npt.NDArray[np.int64]
    death_cause: npt.NDArray[np.int64]
    killer_ids: npt.NDArray[np.int64]
    species_born: npt.NDArray[np.int64]
    species_dead: npt.NDArray[np.int64]
    grazed: int
    grown_tiles: int


@dataclass
class Ecology:
    """Species parameter arrays (S,) in scenario order, and the grass layer (n*n,) flat tiles."""

    names: list[str]
    diet: npt.NDArray[np.int64]
    gain: npt.NDArray[np.float64]
    metabolism: npt.NDArray[np.float64]
    reproduce: npt.NDArray[np.float64]
    reproduce_energy: npt.NDArray[np.float64]
    max_age: npt.NDArray[np.int64]
    sated_above: npt.NDArray[np.float64]
    habitat: npt.NDArray[np.bool_]
    immigration: npt.NDArray[np.float64]
    edge_tiles: list[npt.NDArray[np.int64]]
    grown: npt.NDArray[np.bool_]
    countdown: npt.NDArray[np.float64]
    regrowth: npt.NDArray[np.float64]
    growth: npt.NDArray[np.float64]
    births_dropped: int = 0
    """Births that found no free entity row (the table was full), since the world was built."""
    _scratch: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    _lists_valid: bool = field(default=False, repr=False)

    @classmethod
    def from_scenario(cls, scenario: Scenario, terrain: Terrain) -> Ecology:
        """Parameters from the scenario; every tile starts grown (``seed_grass`` randomises it)."""
        names = list(scenario.species)
        sp = list(scenario.species.values())
        biomes = list(scenario.biomes.values())
        tiles = terrain.n * terrain.n
        regrowth_by_biome = np.array([b.grass_regrowth for b in biomes], dtype=np.float64)
        growth_by_biome = np.array([b.growth for b in biomes], dtype=np.float64)
        flat_biome = terrain.biome.reshape(-1)
        regrowth = regrowth_by_biome[flat_biome] * terrain.passable.reshape(-1)
        return cls(
            names=names,
            diet=np.array([GRASS if s.diet == "grass" else names.index(s.diet) for s in sp], dtype=np.int64),
            gain=np.array([s.energy_gain for s in sp], dtype=np.float64),
            metabolism=np.array([s.metabolism for s in sp], dtype=np.float64),
            reproduce=np.array([s.reproduce for s in sp], dtype=np.float64),
            reproduce_energy=np.array([s.reproduce_energy for s in sp], dtype=np.float64),
            max_age=np.array([s.max_age for s in sp], dtype=np.int64),
            sated_above=np.array([s.sated_above for s in sp], dtype=np.float64),
            habitat=(habitat := _habitats(scenario, terrain)),
            immigration=np.array([s.immigration for s in sp], dtype=np.float64),
            edge_tiles=[np.flatnonzero(habitat[i] & _edge_mask(terrain.n)) for i in range(len(sp))],
            grown=regrowth > 0,
            countdown=np.zeros(tiles, dtype=np.float64),
            regrowth=regrowth,
            growth=growth_by_biome[flat_biome],
        )

    def seed_grass(self, rng: np.random.Generator) -> None:
        """Half the growable tiles start grown, the rest with a countdown uniform in [0, regrowth)."""
        tiles = self.grown.shape[0]
        grown = rng.random(tiles) < 0.5
        countdown = np.floor(rng.random(tiles) * self.regrowth)
        growable = self.regrowth > 0
        self.grown[:] = grown & growable
        self.countdown[:] = np.where(self.grown | ~growable, 0.0, countdown)

    def spawn_initial(self, table: EntityTable, scenario: Scenario, terrain: Terrain,
                      rng: np.random.Generator) -> None:
        """Place each species' initial ``count`` on uniformly random tiles of its habitat with energy uniform
        in [0, 2 * energy_gain)."""
        for index, sp in enumerate(scenario.species.values()):
            passable_tiles = np.flatnonzero(self.habitat[index])
            if sp.count == 0 or len(passable_tiles) == 0:
                continue
            tiles = passable_tiles[rng.integers(0, len(passable_tiles), size=sp.count)]
            energy = rng.random(sp.count) * 2.0 * sp.energy_gain
            self._spawn(table, terrain, tiles, np.full(sp.count, index), energy)

    def _spawn(self, table: EntityTable, terrain: Terrain, tiles: npt.NDArray[np.int64],
               species: npt.NDArray[np.int64], energy: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
        """Creatures at the centres of ``tiles`` (k,); returns their ids (k,) int64."""
        pos = np.empty((len(tiles), 3))
        tile_centres(tiles, terrain.elevation.reshape(-1), terrain.n, terrain.tile_size, terrain.half_extent, pos)
        rows = table.spawn_rows(Kind.CREATURE, pos)
        table.species[rows] = species
        table.energy[rows] = energy
        table.cell[rows] = tiles
        if self._lists_valid:
            scratch = self._scratch
            link_creatures(rows, table.species, table.cell, scratch["head"], scratch["nxt"], scratch["prv"],
                           scratch["dead"])
        return table.ids(rows).astype(np.int64)

    def creature_rows(self, table: EntityTable) -> npt.NDArray[np.int64]:
        """Rows of live creatures, ascending."""
        n = table.extent
        return np.flatnonzero(table.alive[:n] & (table.kind[:n] == Kind.CREATURE))

    def populations(self, table: EntityTable) -> npt.NDArray[np.int64]:
        """Live creatures per species (S,)."""
        rows = self.creature_rows(table)
        return np.bincount(table.species[rows], minlength=len(self.names))[: len(self.names)]

    def step(self, table: EntityTable, terrain: Terrain, rng: np.random.Generator, metabolism_factor: float,
             growth_factor: float, glide_seconds: float, phase: int = 0, stride: int = 1) -> StepOutcome:
        """One ecology step for the cohort ``phase`` of ``stride``: the live creatures whose row is
        ``phase`` modulo ``stride`` act, grass tiles ``phase`` modulo ``stride`` regrow, immigrants arrive
        (at 1/stride of the per-step rate). Calling it for every phase in turn is one full ecology step,
        spread over ``stride`` ticks so no tick pays for all of it. The dead are despawned, newborns
        spawned, and every creature that acted glides to its tile centre over ``glide_seconds``.
        """
        if not self._lists_valid:
            self._rebuild_lists(table, terrain)
        scratch = self._buffers(table.capacity, terrain.n * terrain.n)
        m = table.extent
        k = cohort_rows(table.alive[:m], table.kind[:m], int(Kind.CREATURE), phase, stride, scratch["cohort"])
        rows = scratch["cohort"][:k]
        order = np.empty(k, dtype=np.int64)
        activation_order(rows, table.species[rows], len(self.names), rng.random(k), order)
        draws = rng.random((k, 3))
        n_births, n_deaths, grazed = fauna_step(
            order, draws, table.species, table.energy, table.age, table.cell, terrain.n, self.habitat,
            self.grown, self.countdown, self.regrowth, self.diet, self.gain, self.metabolism, self.reproduce,
            self.reproduce_energy, self.max_age, self.sated_above, float(metabolism_factor),
            scratch["head"], scratch["nxt"], scratch["prv"], scratch["dead"], scratch["births"], scratch["deaths"],
            scratch["cause"], scratch["by"], scratch["work"])
        grown_tiles = regrow_grass(self.grown, self.countdown, self.regrowth, self.growth, float(growth_factor),
                                   phase, stride)
        tiles, species, energy = _NO_IMMIGRANTS
        if self.immigration.any():
            tiles, species, energy = self._immigrants(rng, stride)
        width = max(n_deaths, n_births + len(tiles), 1)
        ids = np.empty((4, width), dtype=np.int64)
        kinds = np.empty((2, width), dtype=np.int64)
        born, dropped, extent = settle_step(
            order, n_births, n_deaths, scratch["births"], scratch["deaths"], scratch["by"], tiles, species, energy,
            table.alive, table.generation, table.kind, int(Kind.CREATURE), table.species, table.energy,
            table.cell, table.pos, table.vel, table.target, table._reset_pairs, table.extent, table.capacity,
            table.count, FIRST_GENERATION, MAX_GENERATION, ROW_BITS, terrain.elevation.reshape(-1), terrain.n,
            terrain.tile_size, terrain.half_extent, float(glide_seconds), scratch["head"], scratch["nxt"],
            scratch["prv"], scratch["dead"], scratch["cohort"], ids, kinds)
        table.settle(extent, born - n_deaths)
        self.births_dropped += dropped
        return StepOutcome(ids[3, :born].copy(), ids[2, :born].copy(), ids[0, :n_deaths].copy(),
                           scratch["cause"][:n_deaths].copy(), ids[1, :n_deaths].copy(), kinds[1, :born].copy(),
                           kinds[0, :n_deaths].copy(), int(grazed), int(grown_tiles))

    def _immigrants(self, rng: np.random.Generator, stride: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Arrivals this cohort: a Poisson draw per species (rate / stride) on random edge tiles of its habitat."""
        arrivals = rng.poisson(self.immigration / stride)
        tiles, species, energy = [], [], []
        for s, count in enumerate(arrivals.tolist()):
            edge = self.edge_tiles[s]
            if count > 0 and len(edge):
                tiles.append(edge[rng.integers(0, len(edge), size=count)])
                species.append(np.full(count, s, dtype=np.int64))
                energy.append(np.full(count, self.gain[s]))
        if not tiles:
            return _NO_IMMIGRANTS
        return np.concatenate(tiles), np.concatenate(species), np.concatenate(energy)

    def invalidate(self) -> None:
        """Creature rows changed outside ``step`` (a command despawned one, a save was loaded): the
        per-tile lists are rebuilt before the next step."""
        self._lists_valid = False

    def _rebuild_lists(self, table: EntityTable, terrain: Terrain) -> None:
        scratch = self._buffers(table.capacity, terrain.n * terrain.n)
        scratch["head"].fill(-1)
        rows = self.creature_rows(table)
        link_creatures(rows, table.species, table.cell, scratch["head"], scratch["nxt"], scratch["prv"],
                       scratch["dead"])
        self._lists_valid = True

    def _buffers(self, capacity: int, tiles: int) -> dict[str, np.ndarray]:
        s = self._scratch
        if s.get("nxt") is None or s["nxt"].shape[0] != capacity or s["head"].shape[1] != tiles:
            s["head"] = np.full((max(len(self.names), 1), tiles), -1, dtype=np.int32)
            s["nxt"] = np.full(capacity, -1, dtype=np.int32)
            s["prv"] = np.full(capacity, -1, dtype=np.int32)
            s["dead"] = np.zeros(capacity, dtype=np.bool_)
            for name in ("cohort", "births", "deaths", "cause", "by", "work"):
                s[name] = np.empty(capacity, dtype=np.int64)
            self._lists_valid = False
        return s

    def arrays(self) -> dict[str, npt.NDArray]:
        """State arrays of the grass layer (saved and hashed)."""
        return {"ecology.grown": self.grown, "ecology.countdown": self.countdown}

    def load_arrays(self, arrays: dict[str, npt.NDArray]) -> None:
        """Restore ``arrays()`` output (shapes already validated by the caller)."""
        self.grown[:] = arrays["ecology.grown"]
        self.countdown[:] = arrays["ecology.countdown"]


def _habitats(scenario: Scenario, terrain: Terrain) -> npt.NDArray[np.bool_]:
    """(S, n*n) bool: the tiles each species may stand on (its habitat biomes, passable ones only)."""
    flat_biome = terrain.biome.reshape(-1)
    passable = terrain.passable.reshape(-1)
    out = np.zeros((max(len(scenario.species), 1), flat_biome.size), dtype=np.bool_)
    for index, sp in enumerate(scenario.species.values()):
        if sp.habitat:
            allowed = np.isin(flat_biome, [terrain.biome_names.index(b) for b in sp.habitat])
            out[index] = allowed & passable
        else:
            out[index] = passable
    return out


def _edge_mask(n: int) -> npt.NDArray[np.bool_]:
    """(n*n,) bool: tiles on the border of the map."""
    mask = np.zeros((n, n), dtype=np.bool_)
    mask[0, :] = mask[-1, :] = mask[:, 0] = mask[:, -1] = True
    return mask.reshape(-1)
