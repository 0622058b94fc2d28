"""Guard/villager decisions: Worldloom's utility kernel against a py_trees 2.6.0 behaviour tree of the same behaviour.

The behaviour (``npc/designs/guard_villager.toml`` states it; both sides encode it):

  1. enemy close (threat >= 0.5): a guard with health >= 0.35 attacks, anyone else flees
  2. hungry (hunger < 0.3): eat
  3. exhausted (rest < 0.3), or night (daylight < 0.3) and tired (rest < 0.7): sleep
  4. otherwise a guard patrols; a villager works by day and socialises at night

py_trees side: the idiomatic tree -- a root ``Selector`` of priority branches built from the library's own
``CheckBlackboardVariableValue`` conditions and ``SetBlackboardVariable`` actions; per NPC the benchmark
writes the NPC's six inputs to the blackboard, ticks the tree once (``tick_once``) and reads ``decision``.
Worldloom side: the design file above, compiled, and one ``UtilityBrain.decide`` call over all N NPCs
(momentum 0 and no current action, since the tree is stateless). Both see the same seeded inputs: half
guards, half villagers; threat 0 for 70 % (no enemy in sight), else uniform; health, hunger, rest uniform
in [0, 1]; the hour uniform in [0, 24) with daylight = max(0, sin(pi (hour - 6) / 12)).

Printed: decisions per second for both (Worldloom single-threaded -- the like-for-like figure, as py_trees
runs on one thread -- and with Numba's threads), the ratio (target >= 50x), and the agreement rate of
the chosen behaviour on the same inputs. Then the kernel time for 10k and 100k NPCs x every action of the
default design (``npc/designs/default.toml``), single-threaded and threaded, median and p99.

py_trees is not a project dependency: this script installs py_trees==2.6.0 into the running interpreter's
environment with pip if it is missing.

    .venv/bin/python benchmarks/vs_behaviour_tree.py            # ~1 minute
    .venv/bin/python benchmarks/vs_behaviour_tree.py --quick    # smoke run, a few seconds
"""

from __future__ import annotations

import argparse
import importlib
import operator
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from npc.curves import UtilityBrain  # noqa: E402
from npc.designs import compile_design, load_design  # noqa: E402

PY_TREES_VERSION = "2.6.0"
BEHAVIOURS = ("attack", "flee", "eat", "sleep", "patrol", "work", "socialise")
ROLES = ("guard", "villager")


def ensure_py_trees() -> Any:
    """Import py_trees, installing the pinned version with pip first if it is missing."""
    try:
        return importlib.import_module("py_trees")
    except ImportError:
        print(f"installing py_trees=={PY_TREES_VERSION} (benchmark only) ...", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", f"py_trees=={PY_TREES_VERSION}"], check=True)
        importlib.invalidate_caches()
        return importlib.import_module("py_trees")


def sample_inputs(n: int, seed: int) -> dict[str, np.ndarray]:
    """The shared input distribution (see the module docstring); float32 columns and a role column."""
    rng = np.random.Generator(np.random.PCG64(seed))
    hour = rng.uniform(0.0, 24.0, n)
    threat = np.where(rng.random(n) < 0.7, 0.0, rng.random(n))
    return {
        "role": rng.integers(0, 2, n).astype(np.int16),
        "threat": threat.astype(np.float32),
        "health": rng.random(n, dtype=np.float32),
        "hunger": rng.random(n, dtype=np.float32),
        "rest": rng.random(n, dtype=np.float32),
        "daylight": np.maximum(0.0, np.sin(np.pi * (hour - 6.0) / 12.0)).astype(np.float32),
        "hour": hour,
    }


def build_tree(py_trees: Any) -> Any:
    """The behaviour as a py_trees tree: a priority Selector of condition/action branches."""
    check = py_trees.behaviours.CheckBlackboardVariableValue
    expr = py_trees.common.ComparisonExpression
    Sequence, Selector = py_trees.composites.Sequence, py_trees.composites.Selector

    def act(name: str) -> Any:
        return py_trees.behaviours.SetBlackboardVariable(name=name, variable_name="decision", variable_value=name,
                                                         overwrite=True)

    def when(variable: str, op: Any, value: Any) -> Any:
        return check(name=f"{variable} {op.__name__} {value}", check=expr(variable=variable, value=value, operator=op))

    combat = Sequence("enemy close", memory=False, children=[
        when("threat", operator.ge, 0.5),
        Selector("fight or flight", memory=False, children=[
            Sequence("fight", memory=False, children=[when("role", operator.eq, "guard"),
                                                      when("health", operator.ge, 0.35), act("attack")]),
            act("flee"),
        ]),
    ])
    hungry = Sequence("hungry", memory=False, children=[when("hunger", operator.lt, 0.3), act("eat")])
    tired = Sequence("tired", memory=False, children=[
        Selector("sleepy", memory=False, children=[
            when("rest", operator.lt, 0.3),
            Sequence("night and tired", memory=False, children=[when("daylight", operator.lt, 0.3),
                                                                when("rest", operator.lt, 0.7)]),
        ]),
        act("sleep"),
    ])
    duty = Selector("duty", memory=False, children=[
        Sequence("guard duty", memory=False, children=[when("role", operator.eq, "guard"), act("patrol")]),
        Sequence("day work", memory=False, children=[when("daylight", operator.ge, 0.3), act("work")]),
        act("socialise"),
    ])
    root = Selector("npc", memory=False, children=[combat, hungry, tired, duty])
    tree = py_trees.trees.BehaviourTree(root)
    tree.setup()
    return tree


def run_tree(py_trees: Any, data: dict[str, np.ndarray], n: int) -> tuple[list[str], float, float]:
    """Decide for the first ``n`` NPCs with the tree; returns (decisions, wall seconds, CPU seconds)."""
    tree = build_tree(py_trees)
    board = py_trees.blackboard.Client(name="benchmark")
    for key in ("role", "threat", "health", "hunger", "rest", "daylight", "decision"):
        board.register_key(key=key, access=py_trees.common.Access.WRITE)
    columns = {k: data[k][:n].tolist() for k in ("threat", "health", "hunger", "rest", "daylight")}
    roles = [ROLES[r] for r in data["role"][:n]]
    decisions: list[str] = []
    elapsed = cpu = 0.0
    chunk = max(1, n // 20)
    for start in tqdm(range(0, n, chunk), desc="ticking the py_trees tree", unit="chunk", leave=False):
        t0, c0 = time.perf_counter(), time.thread_time()
        for i in range(start, min(n, start + chunk)):
            board.role = roles[i]
            board.threat = columns["threat"][i]
            board.health = columns["health"][i]
            board.hunger = columns["hunger"][i]
            board.rest = columns["rest"][i]
            board.daylight = columns["daylight"][i]
            tree.root.tick_once()
            decisions.append(board.decision)
        elapsed += time.perf_counter() - t0
        cpu += time.thread_time() - c0
    return decisions, elapsed, cpu


def utility_inputs(design: Any, data: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    n = len(data["role"])
    inputs = np.zeros((n, len(design.input_names)), np.float32)
    for name, column in (("threat", "threat"), ("health", "health"), ("need.hunger", "hunger"),
                         ("need.rest", "rest"), ("daylight", "daylight")):
        inputs[:, design.input_index(name)] = data[column]
    inputs[:, design.input_index("hour")] = (data["hour"] / 24.0).astype(np.float32)
    role = np.array([design.role_index(ROLES[r]) for r in data["role"]], np.int16)
    return inputs, role


def time_calls(fn: Any, repeats: int) -> tuple[np.ndarray, np.ndarray]:
    """Wall-clock and calling-thread CPU seconds of ``repeats`` calls (after one warm-up call)."""
    fn()  # warm: compile or load the Numba cache
    wall, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.thread_time()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.thread_time() - c0)
    return np.array(wall), np.array(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--npcs", type=int, default=100_000, help="NPCs per Worldloom decide call")
    parser.add_argument("--tree-npcs", type=int, default=20_000, help="NPCs ticked through the py_trees tree")
    parser.add_argument("--repeats", type=int, default=30, help="timed Worldloom calls per configuration")
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    args = parser.parse_args()
    if args.quick:
        args.npcs, args.tree_npcs, args.repeats = 5_000, 1_000, 5

    py_trees = ensure_py_trees()
    design = compile_design(load_design("guard_villager"))
    data = sample_inputs(max(args.npcs, args.tree_npcs), args.seed)
    inputs, role = utility_inputs(design, data)
    none = np.full(len(role), -1, np.int16)
    free = np.zeros(len(role), np.bool_)
    hour = 12  # the design has no schedule, so the hour does not matter

    rows = []
    for label, parallel in (("Worldloom utility kernel, 1 thread", False), ("Worldloom utility kernel, threads", True)):
        brain = UtilityBrain(design, momentum=0.0, parallel=parallel)
        n = args.npcs
        wall, cpu = time_calls(lambda b=brain, n=n: b.decide(inputs[:n], role[:n], hour, none[:n], free[:n]),
                               args.repeats)
        rows.append((label, n, float(np.median(wall)), None if parallel else float(np.median(cpu))))
    decisions, bt_wall, bt_cpu = run_tree(py_trees, data, args.tree_npcs)
    rows.append((f"py_trees {PY_TREES_VERSION} behaviour tree", args.tree_npcs, bt_wall, bt_cpu))

    best, _ = UtilityBrain(design, momentum=0.0).decide(inputs[: args.tree_npcs], role[: args.tree_npcs], hour,
                                                       none[: args.tree_npcs], free[: args.tree_npcs])
    chosen = [design.action_names[b].replace("sleep_at_night", "sleep") if b >= 0 else "none" for b in best]
    agree = np.array([a == b for a, b in zip(chosen, decisions, strict=True)])

    print(f"\nGuard/villager decisions, same {args.tree_npcs} seeded inputs (seed {args.seed})")
    print("(wall = elapsed seconds per call; cpu = CPU seconds of the calling thread, less sensitive to other load)")
    print(f"{'implementation':<40} {'NPCs/call':>10} {'wall s':>9} {'cpu s':>9} {'decisions/s wall':>17} "
          f"{'decisions/s cpu':>16}")
    for label, n, wall_s, cpu_s in rows:
        cpu_rate = f"{n / cpu_s:>16,.0f}" if cpu_s else f"{'-':>16}"
        cpu_text = f"{cpu_s:>9.4f}" if cpu_s else f"{'-':>9}"
        print(f"{label:<40} {n:>10} {wall_s:>9.4f} {cpu_text} {n / wall_s:>17,.0f} {cpu_rate}")
    (_, n1, w1, c1), (_, n2, w2, _), (_, nb, wb, cb) = rows
    print(f"\nratio, 1 thread vs py_trees (wall): {(n1 / w1) / (nb / wb):,.0f}x   (target >= 50x)")
    print(f"ratio, 1 thread vs py_trees (cpu):  {(n1 / c1) / (nb / cb):,.0f}x")
    print(f"ratio, threads  vs py_trees (wall): {(n2 / w2) / (nb / wb):,.0f}x")
    print(f"agreement of the chosen behaviour: {agree.mean():.2%} ({(~agree).sum()} of {len(agree)} differ)")
    if (~agree).any():
        pairs: dict[tuple[str, str], int] = {}
        for a, b, same in zip(chosen, decisions, agree, strict=True):
            if same:
                continue
            pairs[(a, b)] = pairs.get((a, b), 0) + 1
        top = sorted(pairs.items(), key=lambda kv: -kv[1])[:5]
        print("  most common differences (utility -> tree): " + ", ".join(f"{a}->{b}: {v}" for (a, b), v in top))

    default = compile_design(load_design("default"))
    print(f"\nKernel time, default design ({len(default.action_names)} actions, up to "
          f"{default.cons_input.shape[1]} considerations), random inputs in [0, 1], {args.repeats} calls each")
    print(f"{'NPCs':>8} {'threads':>8} {'median ms':>10} {'p99 ms':>8} {'ns/NPC':>8} {'cpu ms (1 thread)':>18}")
    rng = np.random.Generator(np.random.PCG64(args.seed))
    for n in ((10_000,) if args.quick else (10_000, 100_000)):
        x = rng.random((n, len(default.input_names)), dtype=np.float32)
        r = rng.integers(0, len(default.role_names), n).astype(np.int16)
        cur = rng.integers(-1, len(default.action_names), n).astype(np.int16)
        locked = np.zeros(n, np.bool_)
        scores, chosen_out = np.empty((n, len(default.action_names)), np.float32), np.empty(n, np.int16)
        for parallel in (False, True):
            brain = UtilityBrain(default, parallel=parallel)
            call = (x, r, 14, cur, locked, scores, chosen_out)
            times, cpu = time_calls(lambda b=brain, c=call: b.decide(*c), args.repeats)
            cpu_text = "-" if parallel else f"{np.median(cpu) * 1e3:.2f}"
            print(f"{n:>8} {'yes' if parallel else 'no':>8} {np.median(times) * 1e3:>10.2f} "
                  f"{np.percentile(times, 99) * 1e3:>8.2f} {np.median(times) / n * 1e9:>8.0f} {cpu_text:>18}")


if __name__ == "__main__":
    main()
