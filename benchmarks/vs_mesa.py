"""WolfSheep predator-prey: Worldloom's ecology kernels against a Mesa 3.3.1 model of the same rules.

The model is the large variant of the public ABMFrameworksComparison WolfSheep specification, with the
rules Worldloom's kernel documents (``worldsim/kernels/ecology.py``): a 100 x 100 non-toroidal grid, 1000
sheep (gain 5, reproduce 0.4) and 500 wolves (gain 13, reproduce 0.2), grass regrowth 20 steps. Each step
every sheep acts in a fresh random order, then every wolf, then the grass: move to a random one of the
(up to) 8 neighbour cells, lose 1 energy, eat (a grown grass tile, or one random sheep on the wolf's cell),
die if energy < 0, else reproduce with its probability (energy halved, the newborn gets the other half
on the parent's cell and first acts next step). A grazed tile counts down from 20 and grows back when its
countdown is already <= 0. Initial energy is uniform in [0, 2 * gain); half the tiles start grown, the
rest with a countdown uniform in {0, ..., 19}.

Worldloom side: ``World.from_scenario(load_scenario("wolfsheep"), seed=s)``, one ``World.step()`` per model
step (the scenario has tick_rate 1 and ecology_interval 1, so every tick is one ecology step; the whole tick
is timed: weather, ecology kernel, births/deaths bookkeeping, events, movement), populations from
``World.metrics()``. Mesa side: ``MesaWolfSheep`` below (``OrthogonalMooreGrid``, ``CellAgent`` sheep and
wolves, grass as two property layers regrown with one numpy pass -- the fastest way Mesa offers for a
spatial property, which the specification allows). Mesa is installed by this script if it is missing.

Equivalence (printed before any speed figure), over the same number of seeds for both:
  * time-mean: for each series (sheep, wolves, grown-grass fraction) the across-seed mean curve, averaged
    over steps 100..N; the relative difference |W - M| / M must be <= 10 %;
  * curve: both mean curves smoothed with a 25-step moving average; max over steps 100..N of |W(t) - M(t)|
    divided by the time-mean of M (a normalised L-infinity distance, reported, not a pass/fail criterion);
  * regrowth: the share of seeds whose grown fraction climbs back >= 5 points above a running minimum
    reached after step 10, and the mean number of tiles regrowing per step, for both.

Speed: agent-steps per second = (sum over steps of sheep + wolves alive at the start of the step) / (seconds
spent inside ``World.step`` or ``Model.step``); metrics reads and model construction are not timed. One
tiny Worldloom run warms the Numba cache first.

Known rule difference: Worldloom's kernel keeps a newborn out of the step it is born in (it cannot be eaten
until the next step); in this Mesa model, as in a plain Mesa implementation, a lamb born earlier in the step
sits in its cell and a wolf acting later in the same step may eat it. ``--mesa-safe-newborns`` makes Mesa
follow Worldloom's rule instead, to show whether the difference matters.

    .venv/bin/python benchmarks/vs_mesa.py                 # 20 seeds x 500 steps (a few minutes)
    .venv/bin/python benchmarks/vs_mesa.py --quick         # 3 seeds x 150 steps smoke run
    .venv/bin/python benchmarks/vs_mesa.py --seeds 30 --steps 1000 --param world.start_hour=12.0 --param world.day_length=1e20

Writes ``benchmarks/out/vs_mesa.png`` (mean curves of both, +-1 standard error bands).
"""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from worldsim.scenario import load_scenario, parse_value  # noqa: E402
from worldsim.world import World  # noqa: E402

MESA_VERSION = "3.3.1"
SERIES = ("sheep", "wolves", "grass")
WARMUP_STEPS = 100
SMOOTH_WINDOW = 25
TOLERANCE = 0.10
TARGET_RATIO = 50.0


def ensure_mesa():
    """Import mesa, installing ``mesa==3.3.1`` into this interpreter's environment if it is missing."""
    try:
        import mesa
    except ImportError:
        print(f"mesa is not installed: running {sys.executable} -m pip install mesa=={MESA_VERSION}", flush=True)
        result = subprocess.run([sys.executable, "-m", "pip", "install", f"mesa=={MESA_VERSION}"])
        if result.returncode != 0:
            sys.exit(f"error: pip could not install mesa=={MESA_VERSION} (exit {result.returncode}); install it "
                     f"by hand with `{sys.executable} -m pip install mesa=={MESA_VERSION}` and rerun")
        importlib.invalidate_caches()
        import mesa
    if mesa.__version__ != MESA_VERSION:
        print(f"note: mesa {mesa.__version__} is installed; the reference peer is mesa {MESA_VERSION}")
    return mesa


# ------------------------------------------------------------------------------------------ Mesa model

@dataclass(frozen=True)
class Rules:
    """Parameters of the model (the large variant)."""

    side: int = 100
    sheep: int = 1000
    wolves: int = 500
    sheep_gain: float = 5.0
    wolf_gain: float = 13.0
    sheep_reproduce: float = 0.4
    wolf_reproduce: float = 0.2
    regrowth: int = 20


def build_mesa_model(mesa, rules: Rules, seed: int, safe_newborns: bool):
    """A Mesa model of the rules above (classes are made here so that importing this file needs no Mesa)."""
    from mesa.discrete_space import CellAgent, OrthogonalMooreGrid

    class Animal(CellAgent):
        """A sheep or wolf: energy, and ``alive`` so an eaten animal still queued this step does not act."""

        gain = 0.0
        reproduce = 0.0

        def __init__(self, model, cell, energy: float) -> None:
            super().__init__(model)
            self.cell = cell
            self.energy = energy
            self.alive = True
            self.born = model.steps

        def walk_and_tire(self) -> None:
            self.cell = self.cell.neighborhood.select_random_cell()
            self.energy -= 1.0

        def die_or_breed(self) -> None:
            if self.energy < 0.0:
                self.alive = False
                self.remove()
            elif self.random.random() < self.reproduce:
                self.energy /= 2.0
                type(self)(self.model, self.cell, self.energy)

    class Sheep(Animal):
        gain = rules.sheep_gain
        reproduce = rules.sheep_reproduce

        def step(self) -> None:
            if not self.alive:
                return
            self.walk_and_tire()
            cell = self.cell
            if cell.grown:
                cell.grown = False
                cell.countdown = rules.regrowth
                self.energy += self.gain
            self.die_or_breed()

    class Wolf(Animal):
        gain = rules.wolf_gain
        reproduce = rules.wolf_reproduce

        def step(self) -> None:
            if not self.alive:
                return
            self.walk_and_tire()
            now = self.model.steps
            prey = [a for a in self.cell.agents if type(a) is Sheep and a.alive
                    and not (safe_newborns and a.born == now)]
            if prey:
                victim = self.random.choice(prey)
                victim.alive = False
                victim.remove()
                self.energy += self.gain
            self.die_or_breed()

    class WolfSheepModel(mesa.Model):
        """Sheep act (shuffled), then wolves (shuffled), then the grass layer regrows in one numpy pass."""

        def __init__(self) -> None:
            super().__init__(seed=seed)
            self.grid = OrthogonalMooreGrid((rules.side, rules.side), torus=False, random=self.random)
            self.grid.create_property_layer("grown", default_value=False, dtype=bool)
            self.grid.create_property_layer("countdown", default_value=0.0, dtype=float)
            tiles = (rules.side, rules.side)
            grown = self.rng.random(tiles) < 0.5
            self.grid.grown.data[:] = grown
            self.grid.countdown.data[:] = np.where(grown, 0.0, np.floor(self.rng.random(tiles) * rules.regrowth))
            self.regrown = 0
            cells = self.grid._cells
            for kind, count, gain in ((Sheep, rules.sheep, rules.sheep_gain), (Wolf, rules.wolves, rules.wolf_gain)):
                for _ in range(count):
                    where = (self.random.randrange(rules.side), self.random.randrange(rules.side))
                    kind(self, cells[where], self.random.random() * 2.0 * gain)
            self.sheep_type, self.wolf_type = Sheep, Wolf

        def step(self) -> None:
            by_type = self.agents_by_type
            if Sheep in by_type:
                by_type[Sheep].shuffle_do("step")
            if Wolf in by_type:
                by_type[Wolf].shuffle_do("step")
            grown = self.grid.grown.data
            countdown = self.grid.countdown.data
            waiting = ~grown
            ripe = waiting & (countdown <= 0.0)
            countdown[waiting & ~ripe] -= 1.0
            grown[ripe] = True
            self.regrown = int(ripe.sum())

        def populations(self) -> tuple[int, int, float]:
            by_type = self.agents_by_type
            sheep = len(by_type[Sheep]) if Sheep in by_type else 0
            wolves = len(by_type[Wolf]) if Wolf in by_type else 0
            return sheep, wolves, float(self.grid.grown.data.mean())

    return WolfSheepModel()


# -------------------------------------------------------------------------------------------- runs

@dataclass
class Run:
    """One seed's curves (steps + 1, 3) [sheep, wolves, grown fraction], regrown tiles per step, timing."""

    curves: np.ndarray
    regrown: np.ndarray
    agent_steps: int
    seconds: float
    daylight: tuple[float, float] = (1.0, 1.0)


def run_worldloom(seed: int, steps: int, overrides: dict) -> Run:
    world = World.from_scenario(load_scenario("wolfsheep", overrides=overrides), seed=seed)
    growable = int((world.ecology.regrowth > 0).sum())
    curves = np.zeros((steps + 1, 3))
    regrown = np.zeros(steps)
    daylight = []
    agent_steps = 0
    seconds = 0.0
    m = world.metrics()
    for t in range(steps + 1):
        curves[t] = m["population.sheep"], m["population.wolf"], m["flora.grown"]
        daylight.append(world.climate.growth_factor(world.seconds))  # what grass growth is scaled by
        if t == steps:
            break
        agent_steps += int(m["population.sheep"] + m["population.wolf"])
        start = time.perf_counter()
        world.step()
        seconds += time.perf_counter() - start
        before = curves[t, 2]
        m = world.metrics()
        regrown[t] = (m["flora.grown"] - before) * growable + m["flora.grazed"]
    return Run(curves, regrown, agent_steps, seconds, (min(daylight), max(daylight)))


def run_mesa(mesa, seed: int, steps: int, safe_newborns: bool) -> Run:
    model = build_mesa_model(mesa, Rules(), seed, safe_newborns)
    curves = np.zeros((steps + 1, 3))
    regrown = np.zeros(steps)
    agent_steps = 0
    seconds = 0.0
    for t in range(steps + 1):
        sheep, wolves, grass = model.populations()
        curves[t] = sheep, wolves, grass
        if t == steps:
            break
        agent_steps += sheep + wolves
        start = time.perf_counter()
        model.step()
        seconds += time.perf_counter() - start
        regrown[t] = model.regrown
    return Run(curves, regrown, agent_steps, seconds)


# ------------------------------------------------------------------------------------- comparison

def smooth(curve: np.ndarray, window: int) -> np.ndarray:
    """Centred moving average (edges averaged over the part of the window inside the curve)."""
    kernel = np.ones(window)
    return np.convolve(curve, kernel, "same") / np.convolve(np.ones_like(curve), kernel, "same")


def recovers(grass: np.ndarray, rise: float = 0.05, after: int = 10) -> bool:
    """True if the grown fraction climbs ``rise`` above its running minimum (taken from step ``after``)."""
    tail = grass[after:]
    return bool(len(tail) and (tail - np.minimum.accumulate(tail)).max() >= rise)


def compare(worldloom: list[Run], mesa_runs: list[Run], steps: int) -> bool:
    w = np.stack([r.curves for r in worldloom])
    m = np.stack([r.curves for r in mesa_runs])
    lo = min(WARMUP_STEPS, steps // 2)
    print(f"\nEquivalence over {len(worldloom)} seeds, steps {lo}..{steps} (mean of the across-seed mean curve; "
          f"+- is the standard error across seeds)")
    print(f"{'series':<8} {'Worldloom':>18} {'Mesa':>18} {'rel. diff':>10} {'curve dist':>11}  verdict")
    ok = True
    for i, name in enumerate(SERIES):
        w_seed = w[:, lo:, i].mean(axis=1)
        m_seed = m[:, lo:, i].mean(axis=1)
        w_mean, m_mean = w_seed.mean(), m_seed.mean()
        w_se = w_seed.std(ddof=1) / np.sqrt(len(w_seed)) if len(w_seed) > 1 else 0.0
        m_se = m_seed.std(ddof=1) / np.sqrt(len(m_seed)) if len(m_seed) > 1 else 0.0
        rel = abs(w_mean - m_mean) / max(abs(m_mean), 1e-12)
        ws, ms = smooth(w[:, :, i].mean(axis=0), SMOOTH_WINDOW), smooth(m[:, :, i].mean(axis=0), SMOOTH_WINDOW)
        dist = np.abs(ws[lo:] - ms[lo:]).max() / max(abs(ms[lo:].mean()), 1e-12)
        good = rel <= TOLERANCE
        ok &= good
        fmt = "{:9.4f} +- {:6.4f}" if name == "grass" else "{:9.1f} +- {:6.1f}"
        print(f"{name:<8} {fmt.format(w_mean, w_se):>18} {fmt.format(m_mean, m_se):>18} {rel:>9.1%} {dist:>10.1%}"
              f"  {'agree' if good else 'DIFFER'} (<= {TOLERANCE:.0%})")
    for label, runs in (("Worldloom", worldloom), ("Mesa", mesa_runs)):
        share = np.mean([recovers(r.curves[:, 2]) for r in runs])
        regrow = np.mean([r.regrown.mean() for r in runs])
        extinct = np.mean([r.curves[-1, 1] == 0 for r in runs])
        print(f"grass regrows in {label:<9}: {share:5.0%} of seeds recover >= 5 points after a dip; "
              f"{regrow:6.1f} tiles regrow per step; wolves extinct by the end in {extinct:4.0%} of seeds")
        ok &= share > 0 and regrow > 0
    return ok


def plot(worldloom: list[Run], mesa_runs: list[Run], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(3, 1, figsize=(9, 9), sharex=True)
    titles = ("sheep", "wolves", "grown grass (fraction of tiles)")
    for label, runs, color in (("Worldloom", worldloom, "tab:green"), ("Mesa 3.3.1", mesa_runs, "tab:purple")):
        curves = np.stack([r.curves for r in runs])
        mean = curves.mean(axis=0)
        se = curves.std(axis=0, ddof=1) / np.sqrt(len(runs)) if len(runs) > 1 else np.zeros_like(mean)
        steps = np.arange(curves.shape[1])
        for i, ax in enumerate(axes):
            ax.plot(steps, mean[:, i], color=color, label=f"{label} (mean of {len(runs)} seeds)")
            ax.fill_between(steps, mean[:, i] - se[:, i], mean[:, i] + se[:, i], color=color, alpha=0.25)
            ax.set_ylabel(titles[i])
    axes[0].legend()
    axes[-1].set_xlabel("step")
    fig.suptitle("WolfSheep (large): mean population curves, +-1 standard error")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def parse_overrides(pairs: list[str]) -> dict:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            sys.exit(f"error: --param wants KEY=VALUE (e.g. world.start_hour=12.0), got {pair!r}")
        out[key] = parse_value(value)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=20, help="seeds per framework (default 20)")
    parser.add_argument("--steps", type=int, default=500, help="steps per run (default 500)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 3 seeds x 150 steps")
    parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                        help="override a key of the wolfsheep scenario (repeatable)")
    parser.add_argument("--mesa-safe-newborns", action="store_true",
                        help="in Mesa, a newborn cannot be eaten in the step it is born (Worldloom's rule)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "vs_mesa.png")
    args = parser.parse_args(argv)
    seeds, steps = (3, 150) if args.quick else (args.seeds, args.steps)
    if seeds < 1 or steps < 1:
        parser.error("--seeds and --steps must be >= 1")
    overrides = parse_overrides(args.param)
    mesa = ensure_mesa()
    print(f"WolfSheep large: {Rules()}; {seeds} seeds x {steps} steps; mesa {mesa.__version__}, "
          f"python {sys.version.split()[0]}" + (f"; scenario overrides {overrides}" if overrides else ""))
    run_worldloom(0, 2, overrides)  # Numba cache / compile warm-up, not timed
    worldloom: list[Run] = []
    mesa_runs: list[Run] = []
    with tqdm(total=2 * seeds, desc="seeds (Worldloom, Mesa)", unit="run") as bar:
        for seed in range(seeds):
            worldloom.append(run_worldloom(seed, steps, overrides))
            bar.update(1)
            mesa_runs.append(run_mesa(mesa, seed, steps, args.mesa_safe_newborns))
            bar.update(1)

    low = min(r.daylight[0] for r in worldloom)
    high = max(r.daylight[1] for r in worldloom)
    if not low == high == 1.0:
        print(f"\nnote: the grass growth factor in this wolfsheep world ranges {low:.17g}..{high:.17g} over the run, "
              f"not a constant 1 (weather or day/night), which the WolfSheep specification does not have; "
              f"set world.night_growth=1.0 and a single weather with growth 1.0 (as worldsim/scenarios/wolfsheep.toml does).")
    equivalent = compare(worldloom, mesa_runs, steps)
    print("newborns: Worldloom never lets a newborn be eaten in its birth step; this Mesa run "
          + ("follows that rule (--mesa-safe-newborns)." if args.mesa_safe_newborns
             else "lets wolves eat lambs born earlier in the same step (rerun with --mesa-safe-newborns to compare)."))

    w_steps, w_sec = sum(r.agent_steps for r in worldloom), sum(r.seconds for r in worldloom)
    m_steps, m_sec = sum(r.agent_steps for r in mesa_runs), sum(r.seconds for r in mesa_runs)
    w_rate, m_rate = w_steps / w_sec, m_steps / m_sec
    ratio = w_rate / m_rate
    print("\nSpeed (agent-steps = sheep + wolves alive at the start of each step, summed; model step time only)")
    print(f"  Worldloom  {w_steps:>12,d} agent-steps in {w_sec:8.2f} s  = {w_rate:>13,.0f} agent-steps/s "
          f"({1e3 * w_sec / (seeds * steps):.3f} ms per step)")
    print(f"  Mesa       {m_steps:>12,d} agent-steps in {m_sec:8.2f} s  = {m_rate:>13,.0f} agent-steps/s "
          f"({1e3 * m_sec / (seeds * steps):.3f} ms per step)")
    print(f"  ratio Worldloom / Mesa: {ratio:.1f}x  (target >= {TARGET_RATIO:.0f}x: "
          f"{'met' if ratio >= TARGET_RATIO else 'NOT met'})")
    print(f"equivalence within {TOLERANCE:.0%}: {'met' if equivalent else 'NOT met'}")
    plot(worldloom, mesa_runs, args.out)
    print(f"plot: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
