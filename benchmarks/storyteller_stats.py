"""Do the storyteller presets produce the statistics they promise, over 100 simulated years?

Scheduled presets (``steady``, ``random``): a ``Director`` from the bundled preset is ticked every
quarter day for ``--years`` game years (a year is the preset's ``days_per_year`` days of ``day_length``
seconds); every ``director.threat`` record it returns is collected. Measured against the preset:
  mean spacing (days) vs ``spacing_days``; threats per year vs ``days_per_year / spacing_days``;
  escalation (slope of threat points over years, least squares) vs ``escalation_per_year``;
  for the Poisson preset also the coefficient of variation of the spacing vs 1 (memoryless arrivals).
Each must be within 10 % of the intended value.

Intensity preset: ``--groups`` groups of 4 simulated players (``narrative/director/pacing_sim.py``; the
director's own pacing functions, vectorised over the groups) share the same 100 game years (years of
60 days x 600 s, the world's default clock), ticking at ``--dt`` seconds. Measured: the share of
completed sustained peaks lasting 3-5 s and of relax periods lasting 30-45 s (target >= 95 % each), and
the build-up and fade lengths for information.

    .venv/bin/python benchmarks/storyteller_stats.py                 # 100 years at 20 Hz (about a minute)
    .venv/bin/python benchmarks/storyteller_stats.py --years 20 --groups 50 --no-plot

Writes ``benchmarks/out/storyteller_stats.png``. Exit status 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from narrative.director import Director, ThreatAction, load_preset  # noqa: E402
from narrative.director import intensity as pacing  # noqa: E402
from narrative.director.pacing_sim import PhaseLog, simulate_pacing  # noqa: E402

TOLERANCE = 0.10
WORLD_YEAR_SECONDS = 60 * 600.0


def run_schedule(name: str, years: float, seed: int) -> tuple[list[ThreatAction], float, float]:
    """All threats of preset ``name`` over ``years``; returns (threats, day_length, year_seconds)."""
    director = Director.from_preset(name, seed)
    schedule = director.preset.schedule
    assert schedule is not None, f"{name} is not a scheduled preset"
    dt = schedule.day_length / 4
    year = schedule.day_length * schedule.days_per_year
    steps = int(round(years * year / dt))
    threats: list[ThreatAction] = []
    for _ in tqdm(range(steps), desc=name, unit="tick", mininterval=0.5, unit_scale=True):
        threats.extend(a for a in director.tick(dt) if isinstance(a, ThreatAction))
    return threats, schedule.day_length, year


def schedule_rows(name: str, years: float, seed: int) -> tuple[list[tuple[str, float, float]], dict[str, object]]:
    """(statistic, intended, measured) rows for a scheduled preset, plus data for the plot."""
    threats, day, year = run_schedule(name, years, seed)
    s = load_preset(name).schedule
    assert s is not None
    times = np.array([t.time for t in threats])
    spacing = np.diff(times) / day
    points = np.array([t.points for t in threats])
    at_years = times / year
    slope = float(np.polyfit(at_years, points, 1)[0]) if len(threats) > 2 else float("nan")
    rows = [("mean spacing (days)", s.spacing_days, float(spacing.mean()) if spacing.size else float("nan")),
            ("threats per year", s.days_per_year / s.spacing_days, len(threats) / years)]
    if s.escalation_per_year > 0:
        rows.append(("escalation (points/year)", s.escalation_per_year, slope))
    if s.process == "poisson":
        rows.append(("spacing CV (Poisson: 1)", 1.0, float(spacing.std() / spacing.mean()) if spacing.size else float("nan")))
    return rows, {"spacing": spacing, "years": at_years, "points": points}


def pacing_rows(years: float, groups: int, dt: float, seed: int) -> tuple[list[tuple[str, str, float]], PhaseLog]:
    settings = load_preset("intensity").pacing
    assert settings is not None
    seconds = years * WORLD_YEAR_SECONDS / groups
    log = simulate_pacing(settings, groups, seconds, dt, np.random.Generator(np.random.PCG64(seed)), progress=True)
    peaks, relaxes = log.durations(pacing.PEAK), log.durations(pacing.RELAX)
    (plo, phi), (rlo, rhi) = settings.peak_seconds, settings.relax_seconds
    eps = 1e-9
    rows = [
        (f"peaks lasting {plo:g}-{phi:g} s", f"{peaks.size} peaks",
         float(np.mean((peaks >= plo - eps) & (peaks <= phi + eps))) if peaks.size else float("nan")),
        (f"relaxes lasting {rlo:g}-{rhi:g} s", f"{relaxes.size} relaxes",
         float(np.mean((relaxes >= rlo - eps) & (relaxes <= rhi + eps))) if relaxes.size else float("nan")),
    ]
    return rows, log


def plot(schedules: dict[str, dict[str, object]], log: PhaseLog, dt: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4, figsize=(19, 4.2))
    for name, data in schedules.items():
        axes[0].hist(data["spacing"], bins=60, range=(0, 20), histtype="step", density=True, label=name)
        axes[1].plot(data["years"], data["points"], ".", markersize=2, alpha=0.5, label=name)
    axes[0].set(xlabel="days between threats", ylabel="density", title="Threat spacing")
    axes[1].set(xlabel="year", ylabel="threat points", title="Escalation", yscale="log")
    axes[0].legend()
    axes[1].legend()
    for phase, ax in ((pacing.PEAK, axes[2]), (pacing.RELAX, axes[3])):
        lengths = log.durations(phase)
        bins = np.arange(lengths.min() - dt / 2, lengths.max() + dt, dt) if lengths.size else 10  # one per tick
        ax.hist(lengths, bins=bins, color="C2" if phase == pacing.PEAK else "C0")
        ax.set(xlabel="seconds", ylabel="cycles", title=f"Intensity director: {pacing.PHASES[phase]} length")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--years", type=float, default=100.0)
    parser.add_argument("--groups", type=int, default=500, help="pacing groups sharing the simulated years")
    parser.add_argument("--dt", type=float, default=0.05, help="pacing tick (s); 0.05 is the server's 20 Hz")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "storyteller_stats.png")
    parser.add_argument("--no-plot", action="store_true")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    missed: list[str] = []
    schedules: dict[str, dict[str, object]] = {}
    print(f"\n{'preset':<10}{'statistic':<28}{'intended':>12}{'measured':>12}{'error':>9}   within 10%")
    for name in ("steady", "random"):
        rows, data = schedule_rows(name, args.years, args.seed)
        schedules[name] = data
        for stat, intended, measured in rows:
            error = abs(measured - intended) / intended
            ok = error <= TOLERANCE
            missed += [] if ok else [f"{name}: {stat}"]
            print(f"{name:<10}{stat:<28}{intended:>12.3f}{measured:>12.3f}{error:>9.1%}   {'yes' if ok else 'NO'}")
    rows_p, log = pacing_rows(args.years, args.groups, args.dt, args.seed)
    print(f"\n{'preset':<10}{'statistic':<28}{'cycles':>14}{'share':>10}   target >= 95%")
    for stat, count, share in rows_p:
        ok = share >= 0.95
        missed += [] if ok else [f"intensity: {stat}"]
        print(f"intensity {stat:<28}{count:>14}{share:>10.1%}   {'met' if ok else 'MISSED'}")
    for phase in (pacing.BUILD_UP, pacing.FADE):
        d = log.durations(phase)
        if d.size:
            print(f"intensity {pacing.PHASES[phase] + ' length (s)':<28} mean {d.mean():.1f}, "
                  f"5-95% {np.percentile(d, 5):.1f}-{np.percentile(d, 95):.1f}")
    builds = log.durations(pacing.BUILD_UP).size
    if builds:
        print(f"intensity build-ups that reached the peak threshold (not timed out): "
              f"{log.durations(pacing.PEAK).size / builds:.1%}")
    cycles = log.durations(pacing.RELAX).size
    print(f"intensity cycles per hour per group: {cycles / (log.seconds * args.groups / 3600):.1f}; "
          f"threats spawned: {log.spawned:,}; tick {args.dt:g} s; {args.groups} groups x {log.seconds:,.0f} s")
    print(f"elapsed {time.perf_counter() - start:.1f} s")
    if not args.no_plot:
        plot(schedules, log, args.dt, args.out)
        print(f"wrote {args.out}")
    if missed:
        print("targets missed: " + "; ".join(missed))
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
