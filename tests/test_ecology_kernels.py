"""Ecology and noise kernels against slow pure-Python references, ``Ecology.step`` bookkeeping invariants,
and cross-process determinism of the WolfSheep world.

The references follow the rules written in the kernels' docstrings, one creature at a time with Python
lists. One convention the docstring leaves implicit is spelled out in ``ReferenceFauna``: each
(species, tile) keeps its occupants most-recent-arrival first (the initial fill inserts in activation order,
a move inserts at the front), and a hunter's prey draw ``u`` picks the ``min(int(u * count), count - 1)``-th
occupant of that list. A move draw picks among the neighbours inside the species' habitat, enumerated
row by row (dy = -1, 0, 1, then dx = -1, 0, 1).
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from worldsim.kernels.ecology import (
    GRASS,
    OLD_AGE,
    PREDATION,
    STARVATION,
    fauna_step,
    link_creatures,
    regrow_grass,
)
from worldsim.kernels.noise import fractal_value_noise
from worldsim.scenario import from_dict, load_scenario
from worldsim.state import Kind
from worldsim.world import World

ROOT = Path(__file__).resolve().parents[1]
FAST = settings(deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow])


# ----------------------------------------------------------------------------------------- fauna_step

class ReferenceFauna:
    """Slow reference of one ``fauna_step``: the same rules, Python lists per (species, tile)."""

    def __init__(self, n, passable, grown, countdown, regrowth, diet, gain, metabolism, reproduce,
                 reproduce_energy, max_age, sated_above, metabolism_factor):
        self.n = n
        self.passable = passable.tolist()
        self.grown = grown.tolist()
        self.countdown = countdown.tolist()
        self.regrowth = regrowth.tolist()
        self.diet = diet.tolist()
        self.gain, self.metabolism = gain.tolist(), metabolism.tolist()
        self.reproduce, self.reproduce_energy = reproduce.tolist(), reproduce_energy.tolist()
        self.max_age = max_age.tolist()
        self.sated_above = sated_above.tolist()
        self.factor = metabolism_factor

    def neighbours(self, c, s):
        cx, cy = c % self.n, c // self.n
        out = []
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                x, y = cx + dx, cy + dy
                if (dx or dy) and 0 <= x < self.n and 0 <= y < self.n and self.passable[s][y * self.n + x]:
                    out.append(y * self.n + x)
        return out

    def run(self, order, draws, species, energy, age, cell):
        species = species.tolist()
        energy, age, cell = energy.tolist(), age.tolist(), cell.tolist()
        occupants: dict[tuple[int, int], list[int]] = {}
        for r in order:
            occupants.setdefault((species[r], cell[r]), []).insert(0, r)
        dead = set()
        births, deaths, grazed = [], [], 0
        for j, r in enumerate(order):
            if r in dead:
                continue
            s = species[r]
            options = self.neighbours(cell[r], s)
            if options:
                target = options[min(int(draws[j][0] * len(options)), len(options) - 1)]
                occupants[(s, cell[r])].remove(r)
                cell[r] = target
                occupants.setdefault((s, target), []).insert(0, r)
            c = cell[r]
            energy[r] -= self.metabolism[s] * self.factor
            if 0.0 < self.sated_above[s] < energy[r]:
                pass  # sated: does not eat
            elif self.diet[s] == GRASS:
                if self.grown[c]:
                    self.grown[c] = False
                    self.countdown[c] = self.regrowth[c]
                    energy[r] += self.gain[s]
                    grazed += 1
            else:
                prey = occupants.get((self.diet[s], c), [])
                if prey:  # the rank-th smallest row: independent of list order
                    q = sorted(prey)[min(int(draws[j][2] * len(prey)), len(prey) - 1)]
                    prey.remove(q)
                    dead.add(q)
                    deaths.append((q, PREDATION, r))
                    energy[r] += self.gain[s]
            age[r] += 1
            cause = 0
            if energy[r] < 0.0:
                cause = STARVATION
            elif self.max_age[s] > 0 and age[r] > self.max_age[s]:
                cause = OLD_AGE
            if cause:
                occupants[(s, c)].remove(r)
                dead.add(r)
                deaths.append((r, cause, -1))
            elif energy[r] >= self.reproduce_energy[s] and draws[j][1] < self.reproduce[s]:
                energy[r] /= 2.0
                births.append(r)
        return energy, age, cell, births, deaths, grazed


@st.composite
def fauna_cases(draw):
    """A small grid with impassable tiles and per-species habitats ((S, n*n) bool, inside the land),
    2-4 species (species 0 grazes, the others hunt), creatures inside their habitat in arbitrary rows, a shuffled activation order and uniform draws (with edge values)."""
    n = draw(st.integers(2, 6))
    tiles = n * n
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.Generator(np.random.PCG64(seed))
    land = rng.random(tiles) < draw(st.floats(0.3, 1.0))
    land[draw(st.integers(0, tiles - 1))] = True
    species_count = draw(st.integers(2, 4))
    passable = land & (rng.random((species_count, tiles)) < draw(st.sampled_from([1.0, 0.7])))  # habitats
    passable[np.arange(species_count), rng.choice(np.flatnonzero(land), size=species_count)] = True
    diet = np.array([GRASS] + [int(rng.choice([x for x in range(species_count) if x != s]))
                               for s in range(1, species_count)], dtype=np.int64)
    k = draw(st.integers(0, 40))
    capacity = k + draw(st.integers(0, 20))
    rows = rng.permutation(capacity)[:k].astype(np.int64)
    species = np.zeros(capacity, dtype=np.uint8)
    species[rows] = rng.integers(0, species_count, size=k)
    cell = np.full(capacity, -1, dtype=np.int32)
    for r in rows.tolist():  # each creature starts inside its species' habitat
        cell[r] = rng.choice(np.flatnonzero(passable[species[r]]))
    energy = np.zeros(capacity)
    energy[rows] = rng.uniform(-0.5, 12.0, size=k)
    age = np.zeros(capacity, dtype=np.int32)
    age[rows] = rng.integers(0, 12, size=k)
    draws = rng.random((k, 3))
    if k and draw(st.booleans()):
        draws[rng.integers(0, k, size=3), rng.integers(0, 3, size=3)] = draw(st.sampled_from([0.0, 1.0 - 2**-53]))
    regrowth = np.where(land, rng.integers(0, 6, size=tiles), 0).astype(np.float64)
    return dict(
        n=n, passable=passable, grown=rng.random(tiles) < 0.5, countdown=rng.integers(-1, 6, size=tiles) * 1.0,
        regrowth=regrowth, diet=diet, gain=rng.uniform(0, 8, species_count),
        metabolism=rng.uniform(0, 2.5, species_count), reproduce=rng.uniform(0, 1, species_count),
        reproduce_energy=rng.uniform(0, 6, species_count), max_age=rng.integers(0, 12, species_count),
        sated_above=np.where(rng.random(species_count) < 0.5, 0.0, rng.uniform(0, 10, species_count)),
        metabolism_factor=draw(st.sampled_from([1.0, 0.7, 1.4])),
        order=rows, draws=draws, species=species, energy=energy, age=age, cell=cell, capacity=capacity,
    )


def run_kernel(case):
    """Call ``fauna_step`` on copies of the case's arrays; returns the written arrays and the outputs."""
    k, capacity, tiles = len(case["order"]), case["capacity"], case["n"] ** 2
    species_count = len(case["diet"])
    energy, age, cell = case["energy"].copy(), case["age"].copy(), case["cell"].copy()
    grown, countdown = case["grown"].copy(), case["countdown"].copy()
    head = np.full((species_count, tiles), -1, dtype=np.int32)
    nxt, prv = np.full(capacity, -1, dtype=np.int32), np.full(capacity, -1, dtype=np.int32)
    dead = np.zeros(capacity, dtype=np.bool_)
    link_creatures(case["order"], case["species"], cell, head, nxt, prv, dead)
    births, deaths, causes, by = (np.empty(max(k, 1), dtype=np.int64) for _ in range(4))
    work = np.empty(max(capacity, 8), dtype=np.int64)
    n_births, n_deaths, grazed = fauna_step(
        case["order"], case["draws"], case["species"], energy, age, cell, case["n"], case["passable"], grown,
        countdown, case["regrowth"], case["diet"], case["gain"], case["metabolism"], case["reproduce"],
        case["reproduce_energy"], case["max_age"], case["sated_above"], case["metabolism_factor"], head, nxt, prv, dead, births,
        deaths, causes, by, work)
    death_list = list(zip(deaths[:n_deaths].tolist(), causes[:n_deaths].tolist(), by[:n_deaths].tolist(),
                          strict=True))
    return energy, age, cell, grown, countdown, births[:n_births].tolist(), death_list, grazed


@FAST
@given(fauna_cases())
def test_fauna_step_matches_the_reference(case):
    energy, age, cell, grown, countdown, births, deaths, grazed = run_kernel(case)
    ref = ReferenceFauna(case["n"], case["passable"], case["grown"], case["countdown"], case["regrowth"],
                         case["diet"], case["gain"], case["metabolism"], case["reproduce"],
                         case["reproduce_energy"], case["max_age"], case["sated_above"],
                         case["metabolism_factor"])
    r_energy, r_age, r_cell, r_births, r_deaths, r_grazed = ref.run(
        case["order"].tolist(), case["draws"].tolist(), case["species"], case["energy"], case["age"], case["cell"])
    assert energy.tolist() == r_energy  # exact: same operations in the same order
    assert age.tolist() == r_age
    assert cell.tolist() == r_cell
    assert births == r_births
    assert deaths == r_deaths
    assert grazed == r_grazed
    assert grown.tolist() == ref.grown
    assert countdown.tolist() == ref.countdown
    for r in case["order"].tolist():  # every creature stays inside its species' habitat
        assert case["passable"][case["species"][r], cell[r]]


def test_fauna_step_predation_and_newborn_rules_by_hand():
    """Two sheep and a wolf on a 1-wide corridor: the wolf eats the sheep on its tile, the eaten sheep
    (after it) does not act, the other sheep reproduces, and nobody else is touched."""
    n = 3
    passable = np.zeros((2, 9), dtype=bool)
    passable[:, [0, 1]] = True  # tiles (0,0) and (1,0): each one's only passable neighbour is the other
    case = dict(
        n=n, passable=passable, grown=np.array([True, False] + [False] * 7), countdown=np.zeros(9),
        regrowth=np.array([5.0, 5.0] + [0.0] * 7), diet=np.array([GRASS, 0]), gain=np.array([4.0, 10.0]),
        metabolism=np.array([1.0, 1.0]), reproduce=np.array([0.5, 0.0]), reproduce_energy=np.array([0.0, 0.0]),
        max_age=np.array([0, 0]), sated_above=np.array([0.0, 0.0]), metabolism_factor=1.0,
        order=np.array([0, 2, 1]),  # sheep 0, wolf 2, then sheep 1
        draws=np.array([[0.5, 0.1, 0.0], [0.5, 0.9, 0.0], [0.5, 0.9, 0.0]]),
        species=np.array([0, 0, 1], dtype=np.uint8), energy=np.array([3.0, 3.0, 3.0]),
        age=np.zeros(3, dtype=np.int32), cell=np.array([1, 1, 0], dtype=np.int32), capacity=3,
    )
    energy, age, cell, grown, countdown, births, deaths, grazed = run_kernel(case)
    # sheep 0: 1 -> 0, eats the grass there (3 - 1 + 4 = 6), reproduces (draw 0.1 < 0.5): energy 3
    # wolf 2: 0 -> 1, eats sheep 1 (the only prey left on tile 1): 3 - 1 + 10 = 12; sheep 1 never acts
    assert cell.tolist() == [0, 1, 1] and energy.tolist() == [3.0, 3.0, 12.0] and age.tolist() == [1, 0, 1]
    assert births == [0] and deaths == [(1, PREDATION, 2)] and grazed == 1
    assert grown.tolist()[:2] == [False, False] and countdown[0] == 5.0


# --------------------------------------------------------------------------------------- regrow_grass

def reference_regrow(grown, countdown, regrowth, growth, factor):
    grown, countdown = grown.tolist(), countdown.tolist()
    for i in range(len(grown)):
        if not grown[i] and regrowth[i] > 0.0:
            if countdown[i] <= 0.0:
                grown[i] = True
            else:
                countdown[i] -= growth[i] * factor
    return grown, countdown, sum(grown)


@FAST
@given(st.integers(1, 300), st.integers(0, 2**32 - 1), st.sampled_from([1.0, 0.4, 1.6, 1.0 / 3.0]))
def test_regrow_grass_matches_the_reference(tiles, seed, factor):
    rng = np.random.Generator(np.random.PCG64(seed))
    grown = rng.random(tiles) < 0.4
    countdown = np.round(rng.uniform(-2, 20, tiles), 1)
    regrowth = np.where(rng.random(tiles) < 0.2, 0.0, rng.integers(1, 25, tiles).astype(np.float64))
    growth = rng.choice([0.6, 1.0, 1.3], tiles)
    r_grown, r_countdown, r_total = reference_regrow(grown, countdown, regrowth, growth, factor)
    total = regrow_grass(grown, countdown, regrowth, growth, factor)
    assert grown.tolist() == r_grown and countdown.tolist() == r_countdown and total == r_total


def test_grazed_tile_regrows_after_regrowth_plus_one_steps():
    """A tile grazed in a step (countdown = regrowth, then that step's regrowth pass) is grown again after
    ``regrowth`` more steps, and a barren tile never grows."""
    grown, countdown = np.array([False, False]), np.array([20.0, 0.0])
    regrowth, growth = np.array([20.0, 0.0]), np.ones(2)
    history = [regrow_grass(grown, countdown, regrowth, growth, 1.0) for _ in range(21)]
    assert history[:20] == [0] * 20 and history[20] == 1 and not grown[1]


# ----------------------------------------------------------------------------------------- value noise

def reference_noise(lattices, n, scale, persistence):
    octaves, size = len(lattices), len(lattices[0])
    out = [[0.0] * n for _ in range(n)]
    amplitude, period = 1.0, scale
    for k in range(octaves):
        for y in range(n):
            fy = (y + 0.5) / period
            y0 = math.floor(fy)
            sy = (fy - y0) ** 2 * (3 - 2 * (fy - y0))
            for x in range(n):
                fx = (x + 0.5) / period
                x0 = math.floor(fx)
                sx = (fx - x0) ** 2 * (3 - 2 * (fx - x0))
                lat = lattices[k]
                top = lat[y0 % size][x0 % size] * (1 - sx) + lat[y0 % size][(x0 + 1) % size] * sx
                bottom = lat[(y0 + 1) % size][x0 % size] * (1 - sx) + lat[(y0 + 1) % size][(x0 + 1) % size] * sx
                out[y][x] += amplitude * (top * (1 - sy) + bottom * sy)
        amplitude *= persistence
        period = max(period / 2.0, 1.0)
    flat = [v for row in out for v in row]
    lo, hi = min(flat), max(flat)
    return [[(v - lo) / (hi - lo) if hi > lo else 0.5 for v in row] for row in out]


@FAST
@given(st.integers(1, 9), st.integers(1, 4), st.integers(2, 6), st.floats(0.5, 12.0), st.floats(0.1, 1.0),
       st.integers(0, 2**32 - 1))
def test_fractal_value_noise_matches_the_reference_and_is_deterministic(n, octaves, size, scale, persistence, seed):
    lattices = np.random.Generator(np.random.PCG64(seed)).random((octaves, size, size))
    out = np.empty((n, n))
    fractal_value_noise(lattices, n, scale, persistence, out)
    np.testing.assert_allclose(out, reference_noise(lattices.tolist(), n, scale, persistence), rtol=0, atol=1e-9)
    assert out.min() >= 0.0 and out.max() <= 1.0
    again = np.full((n, n), np.nan)
    fractal_value_noise(lattices.copy(), n, scale, persistence, again)
    assert again.tobytes() == out.tobytes()


def test_fractal_value_noise_of_a_flat_lattice_is_one_half():
    out = np.empty((5, 5))
    fractal_value_noise(np.full((3, 4, 4), 0.25), 5, 3.0, 0.5, out)
    assert (out == 0.5).all()


# ------------------------------------------------------------------------------- Ecology.step invariants

def small_world(seed: int, sheep: int, wolves: int, foxes: int) -> World:
    """A 16 x 16 world with a lake (impassable) and woods, sheep, wolves hunting sheep (and avoiding the
    woods) and foxes hunting wolves, some arriving from beyond the map edge."""
    scenario = from_dict({
        "world": {"tiles": 16, "tile_size": 1.0, "capacity": 4096, "tick_rate": 1},
        "terrain": {"scale": 6.0},
        "biomes": {"lake": {"max_height": 0.35, "passable": False, "grass_regrowth": 0},
                   "woods": {"min_moisture": 0.6, "grass_regrowth": 6},
                   "meadow": {"grass_regrowth": 4, "growth": 0.8}},
        "species": {"sheep": {"count": sheep, "energy_gain": 4.0, "reproduce": 0.3, "max_age": 15},
                    "wolf": {"diet": "sheep", "count": wolves, "energy_gain": 9.0, "reproduce": 0.1,
                             "reproduce_energy": 3.0, "habitat": ["meadow"], "sated_above": 20.0},
                    "fox": {"diet": "wolf", "count": foxes, "energy_gain": 6.0, "metabolism": 0.5,
                            "immigration": 0.7}},
        "physics": {"enabled": False},
    }, "<test ecology>")
    return World.from_scenario(scenario, seed=seed)


@settings(deadline=None, max_examples=25, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1), st.integers(0, 120), st.integers(0, 40), st.integers(0, 10))
def test_ecology_step_keeps_population_bookkeeping_and_creatures_on_land(seed, sheep, wolves, foxes):
    world = small_world(seed, sheep, wolves, foxes)
    ecology, table, terrain = world.ecology, world.entities, world.terrain
    passable = terrain.passable.reshape(-1)
    assert not passable.all()  # the lake is really there
    rng = world.rng.stream("ecology")
    for _ in range(8):
        before_ids = set(table.ids(ecology.creature_rows(table)).tolist())
        before = ecology.populations(table)
        out = ecology.step(table, terrain, rng, 1.0, 1.0, 1.0)
        rows = ecology.creature_rows(table)
        after_ids = set(table.ids(rows).tolist())
        species_count = len(ecology.names)
        assert len(after_ids) == len(before_ids) + len(out.born_ids) - len(out.dead_ids)
        np.testing.assert_array_equal(
            ecology.populations(table),
            before + np.bincount(out.species_born, minlength=species_count)
            - np.bincount(out.species_dead, minlength=species_count))
        assert set(out.dead_ids.tolist()) <= before_ids and not set(out.dead_ids.tolist()) & after_ids
        assert set(out.born_ids.tolist()) == after_ids - before_ids
        assert len(out.parent_ids) == len(out.born_ids)
        assert set(out.parent_ids[out.parent_ids != 0].tolist()) <= before_ids  # 0: an immigrant
        predation = out.death_cause == PREDATION
        assert set(out.killer_ids[predation].tolist()) <= before_ids and (out.killer_ids[~predation] == 0).all()
        assert set(out.death_cause.tolist()) <= {STARVATION, PREDATION, OLD_AGE}
        assert (table.kind[rows] == Kind.CREATURE).all()
        cells = table.cell[rows]
        assert ((cells >= 0) & (cells < terrain.n ** 2)).all() and passable[cells].all()
        assert ecology.habitat[table.species[rows], cells].all()  # wolves never enter the woods
        assert np.isfinite(table.energy[rows]).all() and (table.energy[rows] >= 0).all()
        assert not (ecology.grown & (ecology.regrowth == 0)).any()  # nothing grows in the lake


# ---------------------------------------------------------------------------------------- determinism

HASH_DRIVER = """
from worldsim.scenario import load_scenario
from worldsim.world import World
for seed in (3, 4):
    world = World.from_scenario(load_scenario("wolfsheep"), seed=seed)
    for _ in range(30):
        world.step()
    print(world.world_hash(), int(world.metrics()["population.sheep"]))
"""


def test_wolfsheep_hash_is_the_same_in_two_processes_and_differs_by_seed():
    outputs = []
    for hash_seed in ("1", "987"):  # different str-hash salts: nothing may depend on Python's hash()
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(ROOT)}
        child = subprocess.run([sys.executable, "-c", HASH_DRIVER], cwd=ROOT, env=env, capture_output=True,
                               text=True, timeout=300, check=False)
        assert child.returncode == 0, child.stderr
        outputs.append(child.stdout.split())
    assert outputs[0] == outputs[1]
    seed3_hash, seed3_sheep, seed4_hash, _ = outputs[0]
    assert seed3_hash != seed4_hash
    assert int(seed3_sheep) > 0  # the world was alive, not an empty hash


def test_wolfsheep_scenario_is_the_large_variant():
    s = load_scenario("wolfsheep")
    assert s.world.tiles == 100 and s.world.tick_rate == 1 and s.world.ecology_interval == 1.0
    assert (s.species["sheep"].count, s.species["wolf"].count) == (1000, 500)
    assert (s.species["sheep"].energy_gain, s.species["sheep"].reproduce) == (5.0, 0.4)
    assert (s.species["wolf"].energy_gain, s.species["wolf"].reproduce, s.species["wolf"].diet) == (13.0, 0.2, "sheep")
    assert [b.grass_regrowth for b in s.biomes.values()] == [20.0]


@FAST
@given(st.integers(0, 2**32 - 1), st.integers(0, 60), st.integers(1, 4))
def test_activation_order_groups_species_and_shuffles_within(seed, k, species_count):
    from worldsim.kernels.ecology import activation_order

    rng = np.random.Generator(np.random.PCG64(seed))
    rows = np.sort(rng.choice(1000, size=k, replace=False)).astype(np.int64)
    species = rng.integers(0, species_count, size=k).astype(np.uint8)
    out = np.empty(k, dtype=np.int64)
    activation_order(rows, species, species_count, rng.random(k), out)
    assert sorted(out.tolist()) == rows.tolist()  # a permutation
    by_row = dict(zip(rows.tolist(), species.tolist(), strict=True))
    assert [by_row[r] for r in out.tolist()] == sorted(species.tolist())  # grouped in species order


def test_cohorts_cover_every_creature_once_per_interval():
    from worldsim.kernels.ecology import cohort_rows

    alive = np.array([True, True, False, True, True, True, True])
    kind = np.array([3, 3, 3, 1, 3, 3, 3], dtype=np.uint8)
    seen = []
    for phase in range(3):
        out = np.empty(7, dtype=np.int64)
        seen += out[: cohort_rows(alive, kind, 3, phase, 3, out)].tolist()
    assert sorted(seen) == [0, 1, 4, 5, 6]
