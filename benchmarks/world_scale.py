"""Whole-world tick rate at ~10k, ~100k and ~1M simulated creatures and resources.

Each scale is the default ``meadow`` scenario grown with ``load_scenario("meadow", overrides=...)``: more
tiles (so grass per creature stays near the meadow's), ten sheep per wolf, more resource nodes and
wanderers, a capacity with room for births, and the meadow's modest physics (24 crates, 2 towers). Every
system runs as it does in the server: weather, ecology every ``ecology_interval`` (every 20th tick at
20 Hz), markets every 5 s, wanderers, pybullet, movement. Only ``World.step`` is inside the timer. Printed
per scale: build time, tick time p50/p99/max over all ticks, the same for ecology ticks and for the other
ticks, creatures alive at start and end, grass tiles, resource nodes, ticks/s, and -- outside the timer, as
separate figures -- what one ``metrics()`` call and one ``drain_events()`` after an ecology tick cost.

Target (issue #3): 100k active creatures at 20 Hz with the full world tick <= 25 ms at p99.

    .venv/bin/python benchmarks/world_scale.py                     # 10k, 100k, 1M; 400 ticks each
    .venv/bin/python benchmarks/world_scale.py --quick             # 10k and 100k, 60 ticks
    .venv/bin/python benchmarks/world_scale.py --scales 100k --profile   # where an ecology tick's time goes
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from worldsim.scenario import load_scenario  # noqa: E402
from worldsim.state import Kind  # noqa: E402
from worldsim.world import World  # noqa: E402

BUDGET_MS = 25.0
TARGET_CREATURES = 100_000


@dataclass(frozen=True)
class Scale:
    """One world size: creatures at start (sheep + wolves), map side in tiles, nodes per resource kind."""

    name: str
    sheep: int
    wolves: int
    tiles: int
    nodes: int
    wanderers: int
    capacity: int

    def overrides(self) -> dict:
        return {
            "world.tiles": self.tiles,
            "world.capacity": self.capacity,
            "world.wanderers": self.wanderers,
            "species.sheep.count": self.sheep,
            "species.wolf.count": self.wolves,
            "resources.timber.count": self.nodes,
            "resources.quarry.count": self.nodes // 3,
        }


SCALES = {
    "10k": Scale("10k", sheep=9_000, wolves=900, tiles=384, nodes=400, wanderers=150, capacity=1 << 16),
    "100k": Scale("100k", sheep=90_000, wolves=9_000, tiles=1216, nodes=4_000, wanderers=500, capacity=1 << 18),
    # 1M: 650k creatures with room to breed in the 2**20-row table, plus 2 x 100k-ish resource nodes and
    # 4.2M grass tiles.
    "1M": Scale("1M", sheep=590_000, wolves=59_000, tiles=2048, nodes=100_000, wanderers=1_000,
                capacity=1 << 20),
}


def creatures(world: World) -> int:
    t = world.entities
    return int((t.alive[: t.extent] & (t.kind[: t.extent] == Kind.CREATURE)).sum())


def pct(samples: list[float]) -> str:
    if not samples:
        return "      -"
    a = np.asarray(samples) * 1e3
    return f"p50 {np.percentile(a, 50):8.2f}  p99 {np.percentile(a, 99):8.2f}  max {a.max():8.2f} ms"


def run_scale(scale: Scale, ticks: int, profile: bool) -> dict:
    start = time.perf_counter()
    world = World.from_scenario(load_scenario("meadow", overrides=scale.overrides()), seed=11)
    build = time.perf_counter() - start
    settings = world.scenario.world
    eco_every = max(1, round(settings.ecology_interval * settings.tick_rate))  # ticks between ecology steps
    alive_start = creatures(world)
    grass_tiles = int((world.ecology.regrowth > 0).sum())
    nodes = len(world.economy.node_tile)
    world.step()  # first tick outside the timer: Numba cache load / compile
    all_ticks, eco_ticks, other_ticks = [], [], []
    metrics_cost, drain_cost, drained = [], [], []
    profiler = cProfile.Profile() if profile else None
    for _ in tqdm(range(ticks), desc=f"{scale.name} ticks", unit="tick", leave=False):
        ecology_tick = (world.tick + 1) % eco_every == 0
        if profiler is not None and ecology_tick:
            profiler.enable()
        t0 = time.perf_counter()
        world.step()
        elapsed = time.perf_counter() - t0
        if profiler is not None and ecology_tick:
            profiler.disable()
        all_ticks.append(elapsed)
        (eco_ticks if ecology_tick else other_ticks).append(elapsed)
        if ecology_tick:
            t0 = time.perf_counter()
            world.metrics()
            metrics_cost.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            drained.append(len(world.drain_events()))
            drain_cost.append(time.perf_counter() - t0)
    world.drain_events()
    out = {
        "scale": scale, "build": build, "all": all_ticks, "eco": eco_ticks, "other": other_ticks,
        "alive_start": alive_start, "alive_end": creatures(world), "grass_tiles": grass_tiles, "nodes": nodes,
        "metrics": metrics_cost, "drain": drain_cost, "drained": drained, "rows": world.entities.extent,
    }
    if profiler is not None:
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(18)
        out["profile"] = text.getvalue()
    if world.physics is not None:
        world.physics.close()
    return out


def report(r: dict) -> None:
    s: Scale = r["scale"]
    ticks = len(r["all"])
    total = sum(r["all"])
    print(f"\n== {s.name}: {s.tiles}x{s.tiles} tiles ({r['grass_tiles']:,} grass tiles), {r['nodes']:,} resource nodes, "
          f"{s.wanderers} wanderers, capacity {s.capacity:,}")
    print(f"   build {r['build']:.2f} s; creatures alive {r['alive_start']:,} -> {r['alive_end']:,} after {ticks} ticks "
          f"(entity rows used {r['rows']:,})")
    print(f"   all ticks     {pct(r['all'])}   -> {ticks / total:8.1f} ticks/s")
    print(f"   ecology ticks {pct(r['eco'])}   ({len(r['eco'])} ticks)")
    print(f"   other ticks   {pct(r['other'])}")
    if r["metrics"]:
        print(f"   outside the tick: metrics() {1e3 * np.median(r['metrics']):.2f} ms; drain_events() after an ecology "
              f"tick {1e3 * np.median(r['drain']):.2f} ms for {int(np.median(r['drained'])):,} events (medians)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", nargs="+", choices=list(SCALES), default=list(SCALES))
    parser.add_argument("--ticks", type=int, default=400, help="timed ticks per scale (default 400)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 10k and 100k, 60 ticks")
    parser.add_argument("--profile", action="store_true", help="cProfile the ecology ticks and print the top")
    args = parser.parse_args(argv)
    scales, ticks = (["10k", "100k"], 60) if args.quick else (args.scales, args.ticks)
    if ticks < 1:
        parser.error("--ticks must be >= 1")
    print(f"world_scale: meadow scaled up, {ticks} ticks per scale at 20 Hz, python {sys.version.split()[0]}")
    results = []
    for name in tqdm(scales, desc="scales", unit="scale"):
        results.append(run_scale(SCALES[name], ticks, args.profile))
        report(results[-1])
        if "profile" in results[-1]:
            print(f"   cProfile of the ecology ticks ({SCALES[name].name}):")
            print("\n".join("      " + line for line in results[-1]["profile"].splitlines()[:40]))
    for r in results:
        if r["scale"].name == "100k":
            p99 = float(np.percentile(np.asarray(r["all"]) * 1e3, 99))
            active = min(r["alive_start"], r["alive_end"])
            met = p99 <= BUDGET_MS and active >= 0.9 * TARGET_CREATURES
            print(f"\ntarget: ~{TARGET_CREATURES:,} active creatures at 20 Hz, full tick p99 <= {BUDGET_MS:.0f} ms: "
                  f"{'met' if met else 'NOT met'} (p99 {p99:.2f} ms, ecology-tick p99 "
                  f"{np.percentile(np.asarray(r['eco']) * 1e3, 99):.2f} ms, other-tick p99 "
                  f"{np.percentile(np.asarray(r['other']) * 1e3, 99):.2f} ms, {active:,} creatures at the lower end)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
