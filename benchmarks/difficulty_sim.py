"""Adaptive difficulty against simulated players: is each player's success probability kept in the band?

10k simulated players (``narrative/director/simulate.py``) of widely varying skill (N(0, 2) skill units)
and learning (gain U(0, 3), rate log-uniform 0.03..0.5 per encounter) play 30 encounters under four
policies, on the same population with the same seed:

* ``continuous`` -- the director with win/loss plus the health-left / time-taken reading;
* ``winloss``    -- the director with win/loss only;
* ``fixed``      -- every encounter at the prior mean (no adaptation): the baseline;
* ``staircase``  -- the classic rule-based peer: +0.4 after a win, -0.4 after a loss.

The *modelled success probability* of an encounter is the true one, Phi((s_k - d_k) / beta), from the
player's true skill s_k and the difficulty d_k the policy chose (the simulator knows s_k); so the figure
scores the controller against the truth, not against its own belief.

Figures over encounters 11..30 (1-based):
  players (headline) share of players whose mean success probability over those encounters is in 40-60%;
  pairs              share of (player, encounter) pairs in the band;
  all 20             share of players with every one of those encounters in the band;
  max step           the largest |difficulty change| between consecutive encounters (bound: max_step).
A reference row ``winloss, static skill`` runs the win/loss director on players who do not learn, with
the model matched exactly (no drift): the best win/loss alone can do with 10..30 outcomes per player.
A robustness row ``continuous, reading sd 1.2`` gives the players readings 1.5x noisier than the model
assumes (a mis-calibrated ``[signals]`` table).
Targets: continuous >= 90 %, winloss >= 70 %, fixed <= 25 %, max step <= the preset's bound.

    .venv/bin/python benchmarks/difficulty_sim.py            # 10k players x 30 encounters (seconds)
    .venv/bin/python benchmarks/difficulty_sim.py --players 500 --no-plot

Writes ``benchmarks/out/difficulty_sim.png``. Exit status 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import msgspec
import numpy as np
from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from narrative.director.presets import load_preset  # noqa: E402
from narrative.director.simulate import Population, SimulationResult, share_in_band, simulate  # noqa: E402

MISFIT_READING_SD = 1.2
"""A robustness row: players whose readings are noisier than the model assumes (its reading_sd is 0.8)."""
TARGETS = {"continuous": (">=", 0.90), "winloss": (">=", 0.70), "fixed": ("<=", 0.25)}


def _rng(seed: int, stream: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, stream])))


def run(players: int, encounters: int, seed: int, preset_name: str) -> tuple[dict[str, dict[str, float]],
                                                                            dict[str, SimulationResult], float]:
    preset = load_preset(preset_name)
    population = Population.draw(players, _rng(seed, 0))
    figures: dict[str, dict[str, float]] = {}
    results: dict[str, SimulationResult] = {}
    policies = ["continuous", "winloss", "fixed", "staircase"]
    start = time.perf_counter()
    for policy in tqdm(policies, desc="policies", unit="policy"):
        result = simulate(preset, population, policy, encounters, _rng(seed, 1))  # type: ignore[arg-type]
        results[policy] = result
        figures[policy] = share_in_band(result, preset.controller.band)
    elapsed = time.perf_counter() - start
    static_skill = msgspec.structs.replace(preset.skill, drift_sd=0.0, trend_mean=0.0, trend_sd=0.0,
                                           trend_noise_sd=0.0)
    static = simulate(msgspec.structs.replace(preset, skill=static_skill),
                      Population.draw(players, _rng(seed, 0), max_gain=0.0), "winloss", encounters, _rng(seed, 1))
    figures["winloss, static skill"] = share_in_band(static, preset.controller.band)
    noisy = simulate(preset, population, "continuous", encounters, _rng(seed, 1), true_reading_sd=MISFIT_READING_SD)
    figures[f"continuous, reading sd {MISFIT_READING_SD:g}"] = share_in_band(noisy, preset.controller.band)
    return figures, results, elapsed


def plot(results: dict[str, SimulationResult], band: tuple[float, float], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(16, 4.5))
    lo, hi = band
    for policy, result in results.items():
        inside = ((result.p_true >= lo) & (result.p_true <= hi)).mean(axis=1)
        axes[0].plot(np.arange(1, inside.size + 1), inside, label=policy)
        mean_p = result.p_true[10:].mean(axis=0)
        axes[1].hist(mean_p, bins=np.linspace(0, 1, 41), histtype="step", label=policy)
    axes[0].axvspan(10.5, result.p_true.shape[0] + 0.5, color="grey", alpha=0.1)
    axes[0].set(xlabel="encounter", ylabel="share of players with p in band", title="In band, per encounter")
    axes[0].legend()
    axes[1].axvspan(lo, hi, color="green", alpha=0.1)
    axes[1].set(xlabel="mean success probability, encounters 11-30", ylabel="players",
                title="Per-player mean success probability")
    chosen = results["continuous"]
    for j in range(5):
        line = axes[2].plot(chosen.skill[:, j], linewidth=1)[0]
        axes[2].plot(chosen.difficulty[:, j], "--", color=line.get_color(), linewidth=1)
    axes[2].set(xlabel="encounter", ylabel="skill units", title="True skill (solid) vs difficulty (dashed)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--players", type=int, default=10_000)
    parser.add_argument("--encounters", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--preset", default="intensity", help="preset whose skill/controller settings to use")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "difficulty_sim.png")
    parser.add_argument("--no-plot", action="store_true")
    args = parser.parse_args(argv)
    if args.encounters < 12:
        parser.error("--encounters must be at least 12 (the figures are over encounters 11..N)")
    preset = load_preset(args.preset)
    bound = preset.controller.max_step
    figures, results, elapsed = run(args.players, args.encounters, args.seed, args.preset)
    print(f"\n{args.players} players x {args.encounters} encounters, seed {args.seed}, preset {args.preset!r}, "
          f"band {preset.controller.band}, step bound {bound:g}; 4 policies simulated in {elapsed:.2f} s "
          f"({args.players * args.encounters * 4 / elapsed:,.0f} player-encounters/s)")
    print(f"{'policy':<30}{'players':>9}{'pairs':>9}{'all 20':>9}{'max step':>10}   target")
    missed = []
    for policy, f in figures.items():
        target = TARGETS.get(policy)
        verdict = ""
        if target is not None:
            op, value = target
            ok = f["players_mean_in_band"] >= value if op == ">=" else f["players_mean_in_band"] <= value
            verdict = f"{op} {value:.0%}  {'met' if ok else 'MISSED'}"
            if not ok:
                missed.append(policy)
        print(f"{policy:<30}{f['players_mean_in_band']:>9.1%}{f['encounters_in_band']:>9.1%}"
              f"{f['players_all_in_band']:>9.1%}{f['max_step']:>10.4f}   {verdict}")
    worst = max(figures[p]["max_step"] for p in ("continuous", "winloss"))
    step_ok = worst <= bound + 1e-9
    print(f"largest per-encounter difficulty change of the director: {worst:.6f} "
          f"(bound {bound:g}): {'respected' if step_ok else 'VIOLATED'}")
    staircase = figures["staircase"]["players_mean_in_band"]
    print(f"ratio to the staircase peer (players in band): continuous "
          f"{figures['continuous']['players_mean_in_band'] / staircase:.2f}x, winloss "
          f"{figures['winloss']['players_mean_in_band'] / staircase:.2f}x")
    if not args.no_plot:
        plot(results, preset.controller.band, args.out)
        print(f"wrote {args.out}")
    if missed or not step_ok:
        print(f"targets missed: {', '.join(missed + ([] if step_ok else ['step bound']))}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
