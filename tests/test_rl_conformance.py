"""Conformance of the RL environments with suites we did not write (gymnasium, SB3, PettingZoo), and the
batched env against gymnasium's own SyncVectorEnv over the single env."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import npc.rl  # noqa: F401 - registers the ids
from npc.rl.envs import EvadeEnv, ForagerEnv
from npc.rl.multi import parallel_env, shared_policy_vec_env
from npc.rl.vector import WorldloomSB3VecEnv, WorldloomVectorEnv

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("env_id", ["Worldloom/Forager-v0", "Worldloom/Evade-v0"])
def test_gymnasium_check_env_with_warnings_as_errors(env_id: str) -> None:
    env = gym.make(env_id, render_mode="rgb_array")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env.unwrapped)  # the checker asks for the unwrapped env
        env.reset(seed=0)
        assert env.render().shape == (104, 104, 3)  # through gymnasium's own wrappers too


@pytest.mark.parametrize("cls", [ForagerEnv, EvadeEnv])
def test_stable_baselines3_check_env(cls: type) -> None:
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sb3_check_env(cls(), warn=True)


def test_pettingzoo_parallel_api_and_seed_tests() -> None:
    from pettingzoo.test import parallel_api_test, parallel_seed_test

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        parallel_api_test(parallel_env(n_agents=3), num_cycles=300)
        parallel_seed_test(lambda: parallel_env(n_agents=3), num_cycles=200)


def test_make_vec_uses_the_batched_entry_point() -> None:
    env = gym.make_vec("Worldloom/Forager-v0", num_envs=3, vectorization_mode="vector_entry_point")
    assert isinstance(env.unwrapped, WorldloomVectorEnv)
    obs, _ = env.reset(seed=1)
    assert obs.shape == (3, 199) and obs.dtype == np.float32


def _sync_and_batched(task: str, n: int, options: dict) -> tuple[gym.vector.SyncVectorEnv, WorldloomVectorEnv]:
    sync = gym.vector.SyncVectorEnv([lambda: npc.rl.envs.WorldloomEnv(task, **options) for _ in range(n)])
    return sync, WorldloomVectorEnv(n, task=task, **options)


@pytest.mark.parametrize("task", ["forager", "evade"])
def test_batched_env_equals_sync_vector_env_over_single_env(task: str) -> None:
    """Same seeds and actions => identical observations, rewards, flags, through deaths, truncations and
    NEXT_STEP autoresets (short episodes and deadly pursuers make many happen)."""
    options = {"max_steps": 25, "predators": 4, "accuracy": 0.9}
    sync, batched = _sync_and_batched(task, 6, options)
    o1, _ = sync.reset(seed=123)
    o2, _ = batched.reset(seed=123)
    np.testing.assert_array_equal(o1, o2)
    rng = np.random.default_rng(5)
    ends = 0
    for _ in range(120):
        actions = rng.integers(0, 5, size=6)
        s, b = sync.step(actions), batched.step(actions)
        for x, y in zip(s[:4], b[:4], strict=True):
            np.testing.assert_array_equal(x, y)
        ends += int(np.sum(s[2] | s[3]))
    assert ends > 10  # the comparison really crossed episode boundaries


def test_sb3_adapter_matches_single_env_episodes() -> None:
    """Slot w of the SB3 adapter plays the same episodes as a single env seeded w (same-step reset: the
    terminal observation is in infos, the returned one is the next episode's first)."""
    opts = {"max_steps": 15, "predators": 4, "accuracy": 0.9}
    vec = WorldloomSB3VecEnv(3, **opts)
    vec.seed(40)
    obs = vec.reset()
    singles = [ForagerEnv(**opts) for _ in range(3)]
    first = [e.reset(seed=40 + i)[0] for i, e in enumerate(singles)]
    np.testing.assert_array_equal(obs, np.stack(first))
    rng = np.random.default_rng(1)
    for _ in range(60):
        actions = rng.integers(0, 5, size=3)
        obs, rewards, dones, infos = vec.step(actions)
        for i, env in enumerate(singles):
            o, r, term, trunc, _ = env.step(actions[i])
            assert rewards[i] == np.float32(r) and dones[i] == (term or trunc)
            if term or trunc:
                np.testing.assert_array_equal(infos[i]["terminal_observation"], o)
                assert infos[i]["TimeLimit.truncated"] == (trunc and not term)
                o, _ = env.reset()
            np.testing.assert_array_equal(obs[i], o)


def test_shared_policy_adapter_slots_never_stop() -> None:
    vec = shared_policy_vec_env(2, n_agents=3, max_steps=40, predators=4, accuracy=0.9)
    vec.seed(3)
    obs = vec.reset()
    assert obs.shape == (6, 199)
    deaths = 0
    rng = np.random.default_rng(2)
    for _ in range(80):
        obs, rewards, dones, infos = vec.step(rng.integers(0, 5, size=6))
        assert obs.shape == (6, 199) and np.isfinite(rewards).all()
        for i in np.flatnonzero(dones):
            assert infos[i]["terminal_observation"].shape == (199,)
            deaths += int(not infos[i]["TimeLimit.truncated"])
    assert deaths > 0
    assert vec.core.alive.all()  # dead agents were respawned in their running worlds


def test_sb3_ppo_learns_through_the_adapter_without_errors(tmp_path: Path) -> None:
    from stable_baselines3 import PPO

    model = PPO("MlpPolicy", WorldloomSB3VecEnv(4), n_steps=32, batch_size=64, n_epochs=1, seed=0)
    model.learn(256)
    model.save(tmp_path / "p.zip")
    assert (tmp_path / "p.zip").exists()


_TRAJECTORY_SCRIPT = textwrap.dedent("""
    import hashlib, numpy as np
    from npc.rl.vector import WorldloomVectorEnv
    env = WorldloomVectorEnv(5, max_steps=30)
    obs, _ = env.reset(seed=99)
    h = hashlib.sha256(obs.tobytes())
    rng = np.random.Generator(np.random.PCG64(7))
    for _ in range(100):
        obs, r, te, tr, _ = env.step(rng.integers(0, 5, size=5))
        for a in (obs, r, te, tr):
            h.update(np.ascontiguousarray(a).tobytes())
    print(h.hexdigest())
""")


def test_trajectories_are_identical_across_processes() -> None:
    digests = {subprocess.run([sys.executable, "-c", _TRAJECTORY_SCRIPT], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout.strip() for _ in range(2)}
    local = {}
    exec(compile(_TRAJECTORY_SCRIPT.replace("print(h.hexdigest())", "out = h.hexdigest()"), "<t>", "exec"), local)
    digests.add(local["out"])
    assert len(digests) == 1
    assert hashlib.sha256(b"").hexdigest() not in digests


def test_parallel_kernel_gives_the_serial_results() -> None:
    a, b = WorldloomVectorEnv(70, max_steps=20), WorldloomVectorEnv(70, max_steps=20, parallel=True)
    np.testing.assert_array_equal(a.reset(seed=4)[0], b.reset(seed=4)[0])
    rng = np.random.default_rng(0)
    for _ in range(50):
        act = rng.integers(0, 5, size=70)
        for x, y in zip(a.step(act)[:4], b.step(act)[:4], strict=True):
            np.testing.assert_array_equal(x, y)
