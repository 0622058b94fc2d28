"""Steps per second of the RL environments (issue #8 targets), next to gymnasium's own SyncVectorEnv.

Prints, for ``Worldloom/Forager-v0`` with uniformly random actions drawn in advance:
  single env                       target >= 50k steps/s   (the env class itself, no wrappers)
  gym.make single env              (with gymnasium's checker/order wrappers, for reference)
  batched VectorEnv, 1024 worlds   target >= 2M steps/s    (serial kernel; copy=False and copy=True)
  batched VectorEnv, parallel      (Numba threads; depends on free cores)
  SB3 VecEnv adapter, 1024 worlds  target >= 1M steps/s
  gymnasium SyncVectorEnv x 64 over the single env (the peer), and the ratios
and the per-tick inference time of ``PolicyDriver`` for 150 and 1000 NPCs on the meadow world.

Each figure is the best of several repeats (the machine is shared; best-of is the least noisy
estimate of what the code costs). Usage: .venv/bin/python benchmarks/rl_steps.py [--quick]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import gymnasium as gym  # noqa: E402

import npc.rl  # noqa: E402, F401
from npc.rl.envs import ForagerEnv  # noqa: E402
from npc.rl.vector import WorldloomSB3VecEnv, WorldloomVectorEnv  # noqa: E402


def best_rate(run: Callable[[int], None], steps_per_call: int, calls: int, repeats: int) -> float:
    """Best steps/s over ``repeats`` timings of ``run(calls)``."""
    run(2)
    best = 0.0
    for _ in range(repeats):
        t0 = time.perf_counter()
        run(calls)
        best = max(best, calls * steps_per_call / (time.perf_counter() - t0))
    return best


def single(env: gym.Env, actions: np.ndarray) -> Callable[[int], None]:
    env.reset(seed=0)

    def run(calls: int) -> None:
        for i in range(calls):
            _, _, term, trunc, _ = env.step(actions[i % len(actions)])
            if term or trunc:
                env.reset()
    return run


def vector(env: gym.vector.VectorEnv, actions: np.ndarray) -> Callable[[int], None]:
    env.reset(seed=0)

    def run(calls: int) -> None:
        for i in range(calls):
            env.step(actions[i % len(actions)])
    return run


def sb3(env: WorldloomSB3VecEnv, actions: np.ndarray) -> Callable[[int], None]:
    env.reset()

    def run(calls: int) -> None:
        for i in range(calls):
            env.step(actions[i % len(actions)])
    return run


def policy_inference(quick: bool) -> None:
    from npc.rl.policy import PolicyDriver
    from npc.rl.train import Args, train
    from worldsim.scenario import load_scenario
    from worldsim.state import Kind
    from worldsim.world import World

    with tempfile.TemporaryDirectory() as tmp:
        path = train(Args(steps=2048, num_envs=8, n_steps=256, out=tmp, checkpoint_every=0))
        driver = PolicyDriver(path)
        def npc_rows(world: World) -> np.ndarray:
            t = world.entities
            return np.flatnonzero(t.alive[:t.extent] & (t.kind[:t.extent] == Kind.NPC))

        base = len(npc_rows(World.from_scenario(load_scenario("meadow"))))
        for target in (150, 1000):  # the meadow's own NPCs plus extra walkers up to the target
            world = World.from_scenario(load_scenario("meadow"), npc_count=max(0, target - base))
            rows = npc_rows(world)
            driver.act(world, rows)
            timings = []
            for _ in range(5 if quick else 20):
                world.step()
                t0 = time.perf_counter()
                driver.act(world, rows)
                timings.append(time.perf_counter() - t0)
            obs_t = min(_timed(lambda w=world, r=rows: driver.observe(w, r)) for _ in range(5))
            print(f"PolicyDriver.act, {len(rows):5d} NPCs: median {np.median(timings) * 1e3:6.2f} ms, "
                  f"best {min(timings) * 1e3:6.2f} ms per tick (observe {obs_t * 1e3:.2f} ms; tick budget 50 ms)")


def _timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats (a smoke run)")
    ns = parser.parse_args()
    reps = 2 if ns.quick else 7
    rng = np.random.default_rng(0)
    worlds = 1024
    one = rng.integers(0, 5, size=4096)
    many = rng.integers(0, 5, size=(64, worlds))

    rows: list[tuple[str, float, str]] = []
    r_single = best_rate(single(ForagerEnv(), one), 1, 2000 if ns.quick else 20000, reps)
    rows.append(("single env (ForagerEnv)", r_single, ">= 50k"))
    r_made = best_rate(single(gym.make("Worldloom/Forager-v0"), one), 1, 2000 if ns.quick else 20000, reps)
    rows.append(("single env via gym.make (wrappers)", r_made, ""))
    calls = 20 if ns.quick else 200
    r_vec = best_rate(vector(WorldloomVectorEnv(worlds, copy=False), many), worlds, calls, reps)
    rows.append((f"VectorEnv {worlds} worlds, copy=False", r_vec, ">= 2M"))
    r_vec_copy = best_rate(vector(WorldloomVectorEnv(worlds), many), worlds, calls, reps)
    rows.append((f"VectorEnv {worlds} worlds, copy=True", r_vec_copy, ""))
    r_par = best_rate(vector(WorldloomVectorEnv(worlds, copy=False, parallel=True), many), worlds, calls, reps)
    rows.append((f"VectorEnv {worlds} worlds, parallel", r_par, ""))
    r_sb3 = best_rate(sb3(WorldloomSB3VecEnv(worlds), many), worlds, calls, reps)
    rows.append((f"SB3 VecEnv adapter {worlds} worlds", r_sb3, ">= 1M"))
    n_sync = 64
    sync = gym.vector.SyncVectorEnv([ForagerEnv for _ in range(n_sync)])
    r_sync = best_rate(vector(sync, many[:, :n_sync]), n_sync, 10 if ns.quick else 100, reps)
    rows.append((f"gymnasium SyncVectorEnv x{n_sync} (peer)", r_sync, ""))

    print(f"{'configuration':<40} {'steps/s':>14} {'target':>8}")
    for name, rate, target in rows:
        print(f"{name:<40} {rate:>14,.0f} {target:>8}")
    print(f"\nbatched VectorEnv / SyncVectorEnv: {r_vec / r_sync:7.1f}x")
    print(f"SB3 adapter / SyncVectorEnv:       {r_sync and r_sb3 / r_sync:7.1f}x")
    print(f"single env / SyncVectorEnv:        {r_single / r_sync:7.2f}x\n")
    policy_inference(ns.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
