"""``PolicyDriver`` on a real meadow world: the env's observation built from live state, batched
inference to velocities, and load errors that name the fix."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from npc.rl.errors import PolicyLoadError, RlActionError
from npc.rl.policy import PolicyDriver
from npc.rl.train import Args, train
from tests.test_rl_reference import reference_world_obs
from worldsim.scenario import load_scenario
from worldsim.state import Kind
from worldsim.world import World


@pytest.fixture(scope="module")
def tiny_policy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("policy")
    return train(Args(steps=256, num_envs=4, n_steps=64, batch_size=64, n_epochs=1, out=str(out), checkpoint_every=0))


@pytest.fixture(scope="module")
def meadow() -> World:
    world = World.from_scenario(load_scenario("meadow"))
    for _ in range(25):  # a second of ticks: grazing, wolves moving
        world.step()
    return world


def _npc_rows(world: World) -> np.ndarray:
    t = world.entities
    return np.flatnonzero(t.alive[:t.extent] & (t.kind[:t.extent] == Kind.NPC))


def test_observation_from_the_live_world_follows_the_env_layout(tiny_policy: Path, meadow: World) -> None:
    driver = PolicyDriver(tiny_policy)
    rows = _npc_rows(meadow)
    assert len(rows) >= 100  # the meadow's townsfolk
    needs = np.random.default_rng(0).random((len(rows), 3))
    obs = driver.observe(meadow, rows, needs)
    assert obs.shape == (len(rows), 199) and obs.dtype == np.float32
    for i in range(0, len(rows), 7):
        np.testing.assert_array_equal(obs[i], reference_world_obs(meadow, rows[i], needs[i]))
    assert obs[:, :49].any() and obs[:, 147:196].any()  # grass and neighbours are really there


def test_act_gives_one_velocity_per_npc_in_one_batch(tiny_policy: Path, meadow: World) -> None:
    driver = PolicyDriver(tiny_policy, speed=2.0)
    rows = _npc_rows(meadow)
    v1, v2 = driver.act(meadow, rows), driver.act(meadow, rows)
    assert v1.shape == (len(rows), 2)
    np.testing.assert_array_equal(v1, v2)  # deterministic
    speeds = np.hypot(v1[:, 0], v1[:, 1])
    assert set(np.round(speeds, 9)) <= {0.0, 2.0}
    assert driver.act(meadow, rows[:0]).shape == (0, 2)


def test_driving_npcs_moves_them_in_the_world(tiny_policy: Path) -> None:
    world = World.from_scenario(load_scenario("meadow"))
    driver = PolicyDriver(tiny_policy)
    rows = _npc_rows(world)
    world.entities.wander[rows] = False
    start = world.entities.pos[rows, :2].copy()
    for _ in range(10):
        world.entities.vel[rows, :2] = driver.act(world, rows)
        world.step()
    moved = np.hypot(*(world.entities.pos[rows, :2] - start).T)
    assert (moved > 0).any()


def test_bad_rows_and_needs_are_rejected(tiny_policy: Path, meadow: World) -> None:
    driver = PolicyDriver(tiny_policy)
    with pytest.raises(RlActionError):
        driver.observe(meadow, [meadow.entities.capacity - 1])
    with pytest.raises(RlActionError):
        driver.observe(meadow, _npc_rows(meadow)[:2], needs=np.full((2, 3), 2.0))


def test_load_errors_name_the_fix(tmp_path: Path) -> None:
    with pytest.raises(PolicyLoadError, match="worldloom train"):
        PolicyDriver(tmp_path / "missing.zip")
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip")
    with pytest.raises(PolicyLoadError, match="policy.zip"):
        PolicyDriver(junk)
    from stable_baselines3 import PPO

    other = tmp_path / "cartpole.zip"
    PPO("MlpPolicy", "CartPole-v1", n_steps=64, batch_size=64).save(other)
    with pytest.raises(PolicyLoadError, match="Worldloom task"):
        PolicyDriver(other)


def test_map_edge_and_lake_read_as_blocked(tiny_policy: Path) -> None:
    world = World.from_scenario(load_scenario("meadow"))
    driver = PolicyDriver(tiny_policy)
    rows = _npc_rows(world)[:2]
    h = world.terrain.half_extent
    world.entities.pos[rows[0], :2] = (-h + 1.0, -h + 1.0)  # the south-west corner tile
    lake = np.argwhere(~world.terrain.passable)[0]  # [y, x] of an impassable tile
    world.entities.pos[rows[1], :2] = world.terrain.tile_center([lake[0] * world.terrain.n + lake[1]])[0]
    obs = driver.observe(world, rows)
    for i, row in enumerate(rows):
        np.testing.assert_array_equal(obs[i], reference_world_obs(world, row, (0.5, 1.0, 1.0)))
    blocked = obs[:, 49:98].reshape(2, 7, 7)
    assert blocked[0, :3, :].all() and blocked[0, :, :3].all()  # rows south / columns west of the edge
    assert blocked[1, 3, 3] == 1.0


def test_needs_come_from_the_npc_system(tiny_policy: Path) -> None:
    from npc.rl.policy import needs_from_npc_system

    world = World.from_scenario(load_scenario("meadow"))
    system = world.systems["npc"]
    for _ in range(5):
        world.step()
    picked = np.arange(min(10, len(system.table_row)))
    needs = needs_from_npc_system(system, picked)
    hunger = system.need_names.index("hunger")
    np.testing.assert_allclose(needs[:, 0], 1.0 - system.needs[picked, hunger], rtol=1e-6)
    assert needs.shape == (len(picked), 3) and ((needs >= 0) & (needs <= 1)).all()
    velocities = PolicyDriver(tiny_policy).act(world, system.table_row[picked], needs)
    assert velocities.shape == (len(picked), 2)


def test_a_role_with_a_policy_is_driven_by_it_inside_the_world(tiny_policy: Path, tmp_path: Path) -> None:
    """``policy = "<path>"`` on a role: the NPC system moves those NPCs with the trained policy, one batch
    per tick, and everyone else by utility AI."""
    from npc.designs import DESIGN_DIR

    text = (DESIGN_DIR / "default.toml").read_text()
    text = text.replace('[roles.villager]\n', f'[roles.villager]\npolicy = "{tiny_policy}"\n', 1)
    design = tmp_path / "driven.toml"
    design.write_text(text)
    world = World.from_scenario(load_scenario("town", overrides={"systems.npc.design": str(design)}))
    npc = world.systems["npc"]
    villager = npc.role_names.index("villager")
    assert list(npc._drivers) == [villager]
    for _ in range(10):
        world.step()
    rows = npc.table_row[(npc.role == villager) & (npc.dead_since < 0)]
    speeds = np.hypot(world.entities.vel[rows, 0], world.entities.vel[rows, 1])
    assert np.allclose(speeds[speeds > 0], 2.0)  # the driver's one-tile moves at 2 m/s, not the role's 1.4
    assert (speeds > 0).any()


def test_a_broken_policy_path_names_the_role(tmp_path: Path) -> None:
    from npc.designs import DESIGN_DIR
    from worldsim.errors import ScenarioError

    text = (DESIGN_DIR / "default.toml").read_text().replace('[roles.guard]\n', '[roles.guard]\npolicy = "nope.zip"\n', 1)
    design = tmp_path / "broken.toml"
    design.write_text(text)
    with pytest.raises(ScenarioError, match="roles.guard.policy"):
        World.from_scenario(load_scenario("town", overrides={"systems.npc.design": str(design)}))
