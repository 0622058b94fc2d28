"""NPC stage time at 10k and 100k NPCs, every NPC perceiving and re-deciding every tick at 20 Hz.

Each scale is a flat-ish valley with a grid of towns (settlements with markets, timber and stone nodes);
every town houses the default design's mix of farmers, woodcutters, miners, merchants, guards, villagers and
a few bandits, so threats, flight, work, trade, meetings and gossip all happen. ``think_every = 1``: the
whole loop -- perception on the grids with terrain line of sight, decision inputs, utility scoring of every
action, targets, movement and needs, work/trade/combat/theft, meetings with gossip, memory and relation decay
-- runs for every NPC on every tick. Timed separately: the NPC stage (``NpcSystem.step``) and the whole
world tick (``World.step``, which includes it). Warm-up ticks (JIT, first decisions) are excluded.

Targets (issue #4): 10k NPCs full decision loop <= 10 ms per tick; 100k NPCs whole NPC stage <= 25 ms p99
on this 2-core machine.

    .venv/bin/python benchmarks/npc_scale.py                 # 10k and 100k, 200 ticks each
    .venv/bin/python benchmarks/npc_scale.py --ticks 60      # quicker
    .venv/bin/python benchmarks/npc_scale.py --scales 100k --profile
"""

from __future__ import annotations

import argparse
import cProfile
import io
import math
import pstats
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from worldsim.scenario import from_dict  # noqa: E402
from worldsim.world import World  # noqa: E402

MIX = {"farmer": 12, "woodcutter": 6, "miner": 4, "merchant": 3, "guard": 4, "villager": 20, "bandit": 1}
"""NPCs per 50 in one town."""

SCALES = {"10k": 10_000, "100k": 100_000}


def scenario_for(npcs: int, rescore_committed: bool = False) -> dict:
    """A world holding ``npcs`` NPCs in a square grid of 50-person towns, ~40 m apart per person density."""
    towns = max(1, npcs // 50)
    side = math.ceil(math.sqrt(towns))
    spacing = 90.0  # metres between town centres
    half = side * spacing / 2 + 60.0
    tiles = int(math.ceil(2 * half / 4.0))
    settlements, populations = {}, {}
    for k in range(towns):
        gx, gy = k % side, k // side
        name = f"T{k}"
        settlements[name] = {"x": -side * spacing / 2 + (gx + 0.5) * spacing,
                             "y": -side * spacing / 2 + (gy + 0.5) * spacing, "population": 50,
                             "stock": {"food": 400, "wood": 100, "stone": 50}, "produces": {"food": 10},
                             "consumes": {"food": 8, "wood": 2, "stone": 1}}
        populations[name] = dict(MIX)
    return {
        "world": {"name": f"npc-scale-{npcs}", "seed": 5, "tiles": tiles, "tile_size": 4.0, "tick_rate": 20,
                  "capacity": int(npcs * 1.05) + 64, "day_length": 600.0, "start_hour": 9.0},
        "terrain": {"relief": 6.0},
        "biomes": {"woods": {"min_moisture": 0.62}, "grassland": {}},
        "goods": {"food": {"base_price": 2.0}, "wood": {"base_price": 3.0}, "stone": {"base_price": 4.0}},
        "settlements": settlements,
        "resources": {"timber": {"good": "wood", "biome": "woods", "count": towns * 2, "amount": 500.0},
                      "quarry": {"good": "stone", "biome": "grassland", "count": towns, "amount": 500.0}},
        "physics": {"enabled": False},
        "systems": {"npc": {"design": "default", "towns": populations, "think_every": 1,
                            "camp_distance": 35.0, "rescore_committed": rescore_committed}},
    }


def run(name: str, npcs: int, ticks: int, warmup: int, profile: bool, rescore: bool) -> dict[str, float]:
    t0 = time.perf_counter()
    world = World.from_scenario(from_dict(scenario_for(npcs, rescore), f"<npc_scale {name}>"))
    build = time.perf_counter() - t0
    system = world.systems["npc"]
    stage: list[float] = []
    original = system.step

    def timed(w, tick, dt):  # noqa: ANN001, ANN202
        s = time.perf_counter()
        original(w, tick, dt)
        stage.append(time.perf_counter() - s)

    system.step = timed
    for _ in tqdm(range(warmup), desc=f"{name} warm-up", leave=False):
        world.step()
        world.drain_events()
    stage.clear()
    whole: list[float] = []
    profiler = cProfile.Profile() if profile else None
    for _ in tqdm(range(ticks), desc=f"{name} ticks", leave=False):
        if profiler:
            profiler.enable()
        s = time.perf_counter()
        world.step()
        whole.append(time.perf_counter() - s)
        if profiler:
            profiler.disable()
        world.drain_events()
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(30)
        print(out.getvalue())
    m = world.metrics()
    st, wh = np.array(stage) * 1e3, np.array(whole) * 1e3
    actions = {k.removeprefix("npc.action."): int(v) for k, v in m.items() if k.startswith("npc.action.") and v}
    return {"npcs": system.n, "alive": m["npc.alive"], "build_s": build, "stage_p50": float(np.percentile(st, 50)),
            "stage_p99": float(np.percentile(st, 99)), "stage_max": float(st.max()),
            "tick_p50": float(np.percentile(wh, 50)), "tick_p99": float(np.percentile(wh, 99)),
            "meetings": m["npc.meetings"], "deaths": m["npc.deaths"], "thefts": m["npc.thefts"],
            "actions": actions}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", nargs="+", choices=list(SCALES), default=list(SCALES))
    parser.add_argument("--ticks", type=int, default=200, help="timed ticks per scale")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--rescore-committed", choices=["no", "yes", "both"], default="both",
                        help="also score NPCs inside an action's commitment (they keep it anyway); "
                             "'both' prints the default and the score-everyone variant")
    args = parser.parse_args(argv)
    import numba

    print(f"numba threads: {numba.get_num_threads()}  (machine cores: {__import__('os').cpu_count()})")
    rows = []
    variants = {"no": [False], "yes": [True], "both": [False, True]}[args.rescore_committed]
    for name in args.scales:
        for rescore in variants:
            r = run(name, SCALES[name], args.ticks, args.warmup, args.profile, rescore)
            label = "everyone scored every tick" if rescore else "committed NPCs keep their action unscored (default)"
            rows.append((name, r, rescore))
            print(f"\n{name}, {label}: {r['npcs']} NPCs ({r['alive']:.0f} alive at the end), built in {r['build_s']:.1f} s")
            print(f"  NPC stage   p50 {r['stage_p50']:7.2f} ms   p99 {r['stage_p99']:7.2f} ms   max {r['stage_max']:7.2f} ms")
            print(f"  world tick  p50 {r['tick_p50']:7.2f} ms   p99 {r['tick_p99']:7.2f} ms")
            print(f"  meetings {r['meetings']:.0f}, deaths {r['deaths']:.0f}, thefts {r['thefts']:.0f}; actions now: {r['actions']}")
    print("\nTargets (issue #4)")
    for name, r, rescore in rows:
        if rescore:
            print(f"  ({name}, everyone scored every tick: p50 {r['stage_p50']:.2f} ms, p99 {r['stage_p99']:.2f} ms)")
            continue
        if name == "10k":
            ok = r["stage_p50"] <= 10.0
            print(f"  10k NPCs, full decision loop per tick <= 10 ms: p50 {r['stage_p50']:.2f} ms, "
                  f"p99 {r['stage_p99']:.2f} ms -> {'met' if ok else 'NOT met'}")
        if name == "100k":
            ok = r["stage_p99"] <= 25.0
            print(f"  100k NPCs, NPC stage p99 <= 25 ms: {r['stage_p99']:.2f} ms -> {'met' if ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
