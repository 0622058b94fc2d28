"""The batched core: the state of W worlds x A agents as arrays, and the calls that reset and step them.

Every environment in ``npc.rl`` is a view of one ``BatchedWorlds``: the single-agent gymnasium env is a
batch of one world with one agent, the vector envs are W worlds with one agent each, the PettingZoo env
is one world with A agents. Trajectories therefore agree by construction (and the tests check it).

The terrain atlas comes from a bundled scenario exactly as the server builds it
(``Terrain.generate`` on the world's ``"terrain"`` stream for the map seed), so the arenas are cut from
the same valleys, lakes and scrub the live world has, with each biome's regrowth time.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from gymnasium.utils import seeding

from worldsim.rng import RngStreams
from worldsim.scenario import Scenario, load_scenario
from worldsim.terrain import Terrain

from . import kernels
from .errors import RlActionError, RlOptionError
from .kernels import VIEW_RADIUS
from .params import MAX_PREDATORS, N_PARAMS

ARENA_TILES = 24
"""Side of an arena window, tiles (48 m on the bundled scenarios' 2 m tiles)."""
N_ACTIONS = 5


@dataclass(frozen=True)
class Atlas:
    """Terrain an arena is cut from: ``passable`` (n, n) bool, ``grass_rates`` (2, n, n) float64 (biome
    ``grass_regrowth`` and ``growth`` per tile, see ``grass_rates_of``), ``biome`` (n, n) uint8, [y, x]."""

    scenario: str
    map_seed: int
    passable: npt.NDArray[np.bool_]
    grass_rates: npt.NDArray[np.float64]
    biome: npt.NDArray[np.uint8]
    biome_colors: tuple[str, ...]


def grass_rates_of(scenario: Scenario, terrain: Terrain) -> npt.NDArray[np.float64]:
    """Per-tile grass parameters (2, n, n) float64 of ``terrain``: [0] the biome's ``grass_regrowth``
    (ecology steps; 0 on impassable tiles: nothing grows), [1] its ``growth`` (countdown per step) --
    exactly what ``worldsim.ecology.Ecology`` gives ``regrow_grass``."""
    biomes = list(scenario.biomes.values())
    regrowth = np.array([b.grass_regrowth for b in biomes])[terrain.biome] * terrain.passable
    growth = np.array([b.growth for b in biomes])[terrain.biome]
    return np.stack([regrowth, growth])


@lru_cache(maxsize=16)
def load_atlas(scenario: str = "meadow", map_seed: int | None = None) -> Atlas:
    """The atlas of a bundled scenario (or TOML path) with the terrain of ``map_seed`` (default: the
    scenario's own seed, i.e. the map the server runs). Raises ``RlOptionError`` for a bad scenario."""
    from worldsim.errors import ScenarioError

    try:
        spec = load_scenario(scenario)
    except ScenarioError as exc:
        raise RlOptionError("scenario", scenario, f"a bundled scenario name or TOML path ({exc})") from None
    seed = spec.world.seed if map_seed is None else int(map_seed)
    if spec.world.tiles < ARENA_TILES:
        raise RlOptionError("scenario", scenario, f"a map of at least {ARENA_TILES} tiles per side")
    terrain = Terrain.generate(spec, RngStreams(seed).stream("terrain"))
    colors = tuple(b.color for b in spec.biomes.values())
    steps = grass_rates_of(spec, terrain)
    for array in (terrain.passable, steps, terrain.biome):
        array.setflags(write=False)
    return Atlas(scenario, seed, np.ascontiguousarray(terrain.passable), np.ascontiguousarray(steps),
                 np.ascontiguousarray(terrain.biome), colors)


class BatchedWorlds:
    """W worlds of A agents each, stepped together by one ``kernels.step_worlds`` call.

    ``parallel=True`` uses ``kernels.step_worlds_parallel`` (worlds over Numba's threads; identical
    results). It is off by default: on a machine whose cores are busy with other work, Numba's thread
    pool was measured 5-10x slower than the serial kernel (benchmarks/rl_steps.py prints both).

    Attributes (W = ``n_worlds``, A = ``n_agents``, D = ``obs_dim``):
        params (W, N_PARAMS) float64: per-world task parameters (``npc.rl.params``).
        obs (W, A, D) float32, reward (W, A) float64, terminated / truncated (W, A) bool,
        final_obs (W, A, D) float32, was_reset (W,) bool: outputs of the last call (reused buffers).
        t (W,) steps into the episode; ax, ay (W, A) agent tiles; alive (W, A); hunger, energy, health
        (W, A) in [0, 1]; eaten (W, A) tiles grazed this episode; px, py (W, MAX_PREDATORS) pursuer tiles;
        origin (W, 2) arena origin in the atlas (x, y); blocked (W, G+2R, G+2R) uint8 and regrow_at
        (W, G+2R, G+2R) step a tile is grown from, delay_at (W, G+2R, G+2R) steps a grazed tile takes
        to regrow this episode, all padded by R tiles (tile (x, y) at [y + R, x + R]);
        pred_count (W,) pursuers of the current episode.
    """

    def __init__(self, n_worlds: int, n_agents: int, params: npt.NDArray[np.float64], atlas: Atlas,
                 arena_tiles: int = ARENA_TILES, parallel: bool = False) -> None:
        view_radius = VIEW_RADIUS
        if n_worlds < 1 or n_agents < 1:
            raise RlOptionError("num_envs", (n_worlds, n_agents), "at least one world and one agent")
        self.n_worlds, self.n_agents = n_worlds, n_agents
        self.parallel = bool(parallel)
        self.g, self.r = arena_tiles, view_radius
        self.obs_dim = kernels.obs_size(view_radius)
        self.atlas = atlas
        self.params = np.ascontiguousarray(np.broadcast_to(params, (n_worlds, N_PARAMS)), dtype=np.float64).copy()
        w, a, g = n_worlds, n_agents, arena_tiles
        self.rng = np.zeros(w, dtype=np.uint64)
        self.t = np.zeros(w, dtype=np.int64)
        self.origin = np.zeros((w, 2), dtype=np.int64)
        pad = g + 2 * view_radius
        self.blocked = np.ones((w, pad, pad), dtype=np.uint8)
        self.regrow_at = np.zeros((w, pad, pad), dtype=np.int64)
        self.delay_at = np.zeros((w, pad, pad), dtype=np.int64)
        self.pred_count = np.zeros(w, dtype=np.int64)
        self.needs_reset = np.zeros(w, dtype=bool)
        self.ax = np.zeros((w, a), dtype=np.int64)
        self.ay = np.zeros((w, a), dtype=np.int64)
        self.alive = np.zeros((w, a), dtype=bool)
        self.hunger = np.zeros((w, a))
        self.energy = np.zeros((w, a))
        self.health = np.zeros((w, a))
        self.eaten = np.zeros((w, a), dtype=np.int64)
        self.px = np.zeros((w, MAX_PREDATORS), dtype=np.int64)
        self.py = np.zeros((w, MAX_PREDATORS), dtype=np.int64)
        self.obs = np.zeros((w, a, self.obs_dim), dtype=np.float32)
        self.final_obs = np.zeros((w, a, self.obs_dim), dtype=np.float32)
        self.reward = np.zeros((w, a))
        self.terminated = np.zeros((w, a), dtype=bool)
        self.truncated = np.zeros((w, a), dtype=bool)
        self.was_reset = np.zeros(w, dtype=bool)
        self._actions = np.zeros((w, a), dtype=np.int64)

    def set_atlas(self, atlas: Atlas) -> None:
        """Cut future arenas from ``atlas`` (takes effect at each world's next reset)."""
        self.atlas = atlas

    def seed_worlds(self, mask: npt.NDArray[np.bool_], generators: list[np.random.Generator]) -> None:
        """Seed each masked world's SplitMix64 state from one draw of its ``Generator`` (in mask order)."""
        for w, gen in zip(np.flatnonzero(mask), generators, strict=True):
            self.rng[w] = np.uint64(int(gen.integers(0, 2**63)))

    def reset(self, mask: npt.NDArray[np.bool_]) -> None:
        """Start new episodes in the masked worlds (W,) bool; writes their rows of ``obs``."""
        kernels.reset_worlds(mask, self.params, self.atlas.passable, self.atlas.grass_rates, self.g, self.r,
                             self.rng, self.t, self.origin, self.blocked, self.regrow_at, self.delay_at, self.pred_count,
                             self.needs_reset, self.ax, self.ay,
                             self.alive, self.hunger, self.energy, self.health, self.eaten, self.px, self.py,
                             self.obs)

    def step(self, actions: npt.ArrayLike, mode: int, respawn: bool = False) -> None:
        """One step of every world: ``actions`` (W, A) integers in [0, 5). Raises ``RlActionError``."""
        acts = np.asarray(actions)
        if acts.shape != (self.n_worlds, self.n_agents):
            acts = acts.reshape(self.n_worlds, self.n_agents) if acts.size == self._actions.size else acts
        if acts.shape != (self.n_worlds, self.n_agents) or acts.dtype.kind not in "iu":
            raise RlActionError(f"integers of shape ({self.n_worlds}, {self.n_agents})",
                                f"{acts.dtype} of shape {acts.shape}")
        if acts.size and (acts.min() < 0 or acts.max() >= N_ACTIONS):
            raise RlActionError(f"integers in [0, {N_ACTIONS})", f"values in [{acts.min()}, {acts.max()}]")
        self._actions[...] = acts
        kernel = kernels.step_worlds_parallel if self.parallel else kernels.step_worlds
        kernel(self._actions, mode, respawn, self.params, self.atlas.passable,
                            self.atlas.grass_rates, self.g, self.r, self.rng, self.t, self.origin,
                            self.blocked, self.regrow_at, self.delay_at, self.pred_count, self.needs_reset, self.ax, self.ay, self.alive, self.hunger,
                            self.energy, self.health, self.eaten, self.px, self.py, self.obs, self.reward,
                            self.terminated, self.truncated, self.final_obs, self.was_reset)


def generators_for(seed: int | list[int] | None, count: int) -> list[np.random.Generator] | None:
    """Per-world generators the way gymnasium seeds sub-envs: world i gets ``np_random(seed + i)``
    (or ``np_random(seed[i])`` for a list). None -> None (worlds keep their current streams)."""
    if seed is None:
        return None
    seeds = [seed + i for i in range(count)] if isinstance(seed, int | np.integer) else list(seed)
    if len(seeds) != count:
        raise RlOptionError("seed", seed, f"an int or a list of {count} ints")
    return [seeding.np_random(int(s))[0] for s in seeds]
