"""Physics tick benchmark: ms per ``PhysicsWorld.step`` at several body counts, with a collapsing stack.

Scene per body count N (seeded, identical every run): a 10 x 10 wall of 0.5 m crates (fewer for small N),
a 5 kg projectile fired into it at tick 5, and the rest of the N bodies as crates and balls dropped from up
to 5 m over a 200 m x 200 m field, so most of the run has resting contacts plus one collapse. One tick =
4 substeps at 20 Hz. Printed per N: ``step`` p50/p99 (contacts and pose reads included), the same scene
stepped with bare ``pybullet.stepSimulation`` as the peer (what the wrapper costs on top), ``state_bytes``
(the world-hash input) and a ``to_bytes`` + ``from_bytes`` round trip.

    .venv/bin/python benchmarks/physics_step.py                       # 100, 500, 2000 bodies, 200 ticks
    .venv/bin/python benchmarks/physics_step.py --sizes 100 --ticks 20  # quick look

The world tick budget is 25 ms at p99 for everything; physics should take a fraction of it.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pybullet
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from worldsim.physics import PhysicsWorld  # noqa: E402


def build_scene(n: int, seed: int = 7) -> tuple[PhysicsWorld, int]:
    """The benchmark scene with ``n`` bodies (projectile included); returns the world and the projectile."""
    pw = PhysicsWorld(dt=1 / 20, substeps=4)
    side = max(1, min(10, int(np.sqrt(n / 2))))
    pw.add_stack((0.0, 0.0, 0.0), (0.25, 0.25, 0.25), side, side, 1.0)
    rng = np.random.Generator(np.random.PCG64(seed))
    while len(pw.handles()) < n - 1:
        x, y = rng.uniform(-100, 100, 2)
        if abs(x) < 8 and abs(y) < 8:
            continue
        z = rng.uniform(0.3, 5.0)
        if rng.random() < 0.5:
            pw.add_box((x, y, z), tuple(rng.uniform(0.1, 0.5, 3)), float(rng.uniform(0.5, 20)))
        else:
            pw.add_sphere((x, y, z), float(rng.uniform(0.1, 0.4)), float(rng.uniform(0.5, 10)))
    shot = pw.add_sphere((0.3, -10.0, 1.0), 0.2, 5.0)
    return pw, shot


def percentiles(samples: list[float]) -> str:
    a = np.asarray(samples) * 1e3
    return f"p50 {np.percentile(a, 50):7.2f} ms  p99 {np.percentile(a, 99):7.2f} ms"


def run(n: int, ticks: int, bar: tqdm) -> dict[str, list[float]]:
    pw, shot = build_scene(n)
    times: dict[str, list[float]] = {"step": [], "bare": [], "state_bytes": [], "save_load": []}
    contacts = 0
    for tick in range(ticks):
        if tick == 5:
            pw.apply_impulse(shot, (0.0, 5.0 * 40.0, 5.0))
        t0 = time.perf_counter()
        contacts += len(pw.step())
        times["step"].append(time.perf_counter() - t0)
        if tick % 20 == 19:
            t0 = time.perf_counter()
            pw.state_bytes()
            times["state_bytes"].append(time.perf_counter() - t0)
        bar.update(1)
    t0 = time.perf_counter()
    PhysicsWorld.from_bytes(pw.to_bytes()).close()
    times["save_load"].append(time.perf_counter() - t0)
    pw.close()
    # Peer: the same scene stepped with bare pybullet (no contact reports, no pose reads).
    pw, shot = build_scene(n)
    client = pw._client  # the benchmark reaches inside on purpose: it measures pybullet itself
    for tick in range(ticks):
        if tick == 5:
            pw.apply_impulse(shot, (0.0, 5.0 * 40.0, 5.0))
        t0 = time.perf_counter()
        for _ in range(4):
            pybullet.stepSimulation(physicsClientId=client)
        times["bare"].append(time.perf_counter() - t0)
        bar.update(1)
    pw.close()
    times["contacts"] = [float(contacts)]
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 500, 2000], help="body counts")
    parser.add_argument("--ticks", type=int, default=200, help="ticks per body count")
    args = parser.parse_args()
    results = {}
    with tqdm(total=2 * args.ticks * len(args.sizes), desc="physics ticks", file=sys.stderr) as bar:
        for n in args.sizes:
            results[n] = run(n, args.ticks, bar)
    print(f"PhysicsWorld.step, 20 Hz x 4 substeps, {args.ticks} ticks, collapsing stack + resting props")
    for n, t in results.items():
        p99_ratio = np.percentile(t["step"], 99) / np.percentile(t["bare"], 99)
        print(f"  {n:5d} bodies  step {percentiles(t['step'])}   | bare pybullet {percentiles(t['bare'])}"
              f"  (step/bare p99 {p99_ratio:.2f}x)")
        sb = percentiles(t["state_bytes"]) if t["state_bytes"] else "n/a"
        print(f"               state_bytes {sb}   save+load {t['save_load'][0] * 1e3:.1f} ms"
              f"   contacts reported {int(t['contacts'][0])}")


if __name__ == "__main__":
    main()
