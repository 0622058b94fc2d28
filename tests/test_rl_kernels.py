"""The RL core against slow references: grass regrowth vs the world's own ecology kernel, observations
vs the documented layout, options and actions at the boundary, rendering, the multi-agent world."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from npc.rl.core import BatchedWorlds, load_atlas
from npc.rl.envs import EvadeEnv, ForagerEnv, WorldloomEnv
from npc.rl.errors import RlActionError, RlError, RlOptionError
from npc.rl.kernels import NEVER, regrow_delay
from npc.rl.multi import parallel_env
from npc.rl.params import task_params
from npc.rl.vector import WorldloomVectorEnv
from tests.test_rl_reference import reference_env_obs
from worldsim.kernels.ecology import regrow_grass


@settings(max_examples=200, deadline=None)
@given(regrowth=st.floats(0.05, 80.0), growth=st.floats(0.05, 3.0), scale=st.sampled_from([1.0, 0.5, 2.0, 4.0]))
def test_regrowth_delay_matches_the_world_ecology_kernel(regrowth: float, growth: float, scale: float) -> None:
    """Grazed in ecology step s, the env's tile is grown from the end of step s + k; the world's kernel
    (``regrow_grass``, called once per step from the grazing step on) must agree on k."""
    countdown0 = regrowth * scale
    grown = np.array([False])
    countdown = np.array([countdown0])
    calls = 0
    while not grown[0]:
        regrow_grass(grown, countdown, np.array([countdown0]), np.array([growth]), 1.0)
        calls += 1
        assert calls < 10_000
    assert regrow_delay(countdown0, growth) == calls - 1


def test_barren_tiles_never_regrow() -> None:
    assert regrow_delay(0.0, 1.0) == NEVER and regrow_delay(5.0, 0.0) == NEVER


def test_atlas_is_the_servers_meadow_terrain() -> None:
    from worldsim.scenario import load_scenario
    from worldsim.world import World

    world = World.from_scenario(load_scenario("meadow"))
    atlas = load_atlas("meadow")
    np.testing.assert_array_equal(atlas.passable, world.terrain.passable)
    np.testing.assert_array_equal(atlas.grass_rates[0].reshape(-1), world.ecology.regrowth)
    np.testing.assert_array_equal(atlas.grass_rates[1].reshape(-1), world.ecology.growth)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32), steps=st.integers(0, 60), agents=st.integers(1, 4),
       predators=st.integers(0, 8))
def test_observations_follow_the_documented_layout(seed: int, steps: int, agents: int, predators: int) -> None:
    params = task_params("forager")
    core = BatchedWorlds(2, agents, params, load_atlas("meadow"))
    core.params[:, 0] = predators
    core.rng[:] = [seed, seed + 1]
    core.reset(np.ones(2, dtype=bool))
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        core.step(rng.integers(0, 5, size=(2, agents)), mode=0)
    for w in range(2):
        for a in range(agents):
            np.testing.assert_array_equal(core.obs[w, a], reference_env_obs(core, w, a))


def test_agents_stay_on_open_tiles_and_pursuers_too() -> None:
    core = BatchedWorlds(8, 2, task_params("evade"), load_atlas("meadow"))
    core.rng[:] = np.arange(8)
    core.reset(np.ones(8, dtype=bool))
    rng = np.random.default_rng(0)
    for _ in range(300):
        core.step(rng.integers(0, 5, size=(8, 2)), mode=1)
        for w in range(8):
            ox, oy = core.origin[w]
            for x, y in list(zip(core.ax[w], core.ay[w], strict=True)) + list(
                    zip(core.px[w, :core.pred_count[w]], core.py[w, :core.pred_count[w]], strict=True)):
                assert 0 <= x < core.g and 0 <= y < core.g and core.atlas.passable[oy + y, ox + x]


def test_terminated_and_truncated_are_separate() -> None:
    deadly = ForagerEnv(predators=8, accuracy=1.0, damage=1.0, aggression=1.0, sight=100)
    deadly.reset(seed=0)
    for _ in range(200):
        _, reward, term, trunc, _ = deadly.step(0)
        if term or trunc:
            break
    assert term and not trunc and reward <= -1.0
    safe = ForagerEnv(predators=0, hunger_rate=0.0, max_steps=30)
    safe.reset(seed=0)
    flags = [safe.step(0)[2:4] for _ in range(30)]
    assert flags[-1] == (False, True) and all(f == (False, False) for f in flags[:-1])


def test_starvation_kills_without_pursuers() -> None:
    env = ForagerEnv(predators=0, hunger_rate=0.2, eat_gain=0.0, max_steps=500)
    env.reset(seed=3)
    for _ in range(500):
        _, _, term, trunc, info = env.step(0)
        if term:
            break
    assert term and info["health"] == 0.0 and info["hunger"] == 1.0


def test_reset_options_change_the_episode_and_persist() -> None:
    env = EvadeEnv()
    obs, _ = env.reset(seed=1, options={"spawn_count": 0, "max_steps": 7})
    assert env.core.pred_count[0] == 0
    for _ in range(7):
        *_, term, trunc, _ = env.step(1)
    assert trunc and not term
    env.reset()
    assert env.core.pred_count[0] == 0 and env.max_steps == 7
    env.reset(options={"map_seed": 5})
    assert env.core.atlas.map_seed == 5


def test_curriculum_per_world_options() -> None:
    env = WorldloomVectorEnv(3)
    env.reset(seed=0, options={"per_world": [{"predators": 0}, {"predators": 3}, {"predators": 8}]})
    assert env.core.pred_count.tolist() == [0, 3, 8]


@settings(max_examples=60, deadline=None)
@given(key=st.sampled_from(["predators", "aggression", "accuracy", "regrowth", "max_steps", "nonsense"]),
       value=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**6, 10**6), st.text(max_size=3),
                       st.booleans(), st.none()))
def test_bad_options_raise_typed_errors_and_leave_params_alone(key: str, value: object) -> None:
    env = ForagerEnv()
    env.reset(seed=0)
    before = env.core.params.copy()
    try:
        env.reset(options={key: value})
    except RlOptionError as exc:
        assert key in str(exc) and "expected" in str(exc)
        np.testing.assert_array_equal(env.core.params, before)  # a rejected value is never half-applied
    else:
        assert key != "nonsense" and isinstance(value, int | float) and not isinstance(value, bool)


@pytest.mark.parametrize("actions", [np.array([[5]]), np.array([[-1]]), np.array([[0.5]]), np.zeros((2, 2), int)])
def test_bad_actions_raise(actions: np.ndarray) -> None:
    core = BatchedWorlds(1, 1, task_params("forager"), load_atlas("meadow"))
    core.reset(np.ones(1, dtype=bool))
    with pytest.raises(RlActionError):
        core.step(actions, mode=2)


def test_unknown_task_and_scenario_name_the_fix() -> None:
    with pytest.raises(RlOptionError, match="forager"):
        WorldloomEnv("farming")
    with pytest.raises(RlError, match="bundled scenario"):
        WorldloomEnv("forager", scenario="no_such_place")


def test_render_is_an_rgb_picture_of_the_surroundings() -> None:
    env = ForagerEnv(render_mode="rgb_array")
    env.reset(seed=2)
    picture = env.render()
    assert picture.shape == (104, 104, 3) and picture.dtype == np.uint8
    centre = picture[48:56, 48:56].reshape(-1, 3)
    assert (centre == (220, 40, 40)).all(axis=1).any()  # the agent is drawn in the middle
    assert ForagerEnv().render() is None


def test_foragers_share_grass_in_one_world() -> None:
    env = parallel_env(n_agents=4, predators=0, max_steps=50)
    env.reset(seed=11)
    core = env.core
    # put every agent on one grown tile: only the first in index order may graze it
    core.ax[0, :] = core.ax[0, 0]
    core.ay[0, :] = core.ay[0, 0]
    x, y = core.ax[0, 0], core.ay[0, 0]
    core.regrow_at[0, y + core.r, x + core.r] = 0
    _, rewards, *_ = env.step({a: 0 for a in env.agents})
    assert [rewards[a] for a in env.possible_agents] == [1.0, 0.0, 0.0, 0.0]
    obs, *_ = env.step({a: 0 for a in env.agents})
    centre = 3 * 49 + 24
    assert all(obs[a][centre] == 1.0 for a in env.possible_agents)  # each sees the others on its tile


def test_a_bad_option_among_good_ones_changes_nothing() -> None:
    env = ForagerEnv()
    env.reset(seed=0)
    before = env.core.params.copy()
    with pytest.raises(RlOptionError, match="accuracy"):
        env.reset(options={"predators": 0, "accuracy": 2.0})
    np.testing.assert_array_equal(env.core.params, before)
