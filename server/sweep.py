"""``worldloom sweep``: a parameter grid × seeds, run in parallel local processes, summarised as it goes.

``worldloom sweep meadow --param species.wolf.reproduce=0.02,0.04 --param world.tiles=96,128 --seeds 3
--ticks 2000 --jobs 2 --out runs/wolves`` runs the cartesian product (2 × 2 combinations × 3 seeds = 12
runs). Each run is exactly one ``worldloom sim`` (``headless.run_for_sweep`` in a worker process) into
``OUT/runs/<combination>-seed<S>/``; plots per run only with ``--plots``.

Output, written as runs finish (a sweep interrupted half way still leaves every finished run on disk)::

    summary.csv        one row per finished run (appended and flushed when it finishes): parameters,
                       seed, status, wall time, ticks/s, world hash, final/min populations, mean prices
    summary.md/.html   per combination: runs ok/failed, mean ± sd over seeds of the final populations,
                       extinctions, mean prices; and the comparison plots
    compare_*.png      per metric, each combination's mean curve over seeds with a ±1 sd band

A run that crashes is recorded as ``failed`` with its error and the sweep carries on; the command exits 1
if any run failed, 2 on a bad scenario or option (checked for every combination before anything runs).

Why processes (``ProcessPoolExecutor`` with the spawn start method): runs are CPU-bound Python + Numba
and independent, and spawn gives every worker a clean interpreter, so a run's result cannot depend on
what ran before it in the same process. Rejected: threads (the GIL), Ray (a cluster engine for what one
machine's cores do; the architecture keeps it for multi-machine sweeps).
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import multiprocessing
import os
import sys
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .headless import (
    HeadlessError,
    ParamError,
    SimOptions,
    default_every,
    parse_assignment,
    print_error,
    resolve_scenario,
    run_for_sweep,
)


@dataclass(frozen=True)
class Combination:
    """One point of the grid: the overrides it applies and a filesystem-safe label."""

    overrides: dict[str, Any]

    @property
    def label(self) -> str:
        if not self.overrides:
            return "base"
        return "_".join(f"{key.split('.')[-1]}={value}" for key, value in self.overrides.items())

    @property
    def slug(self) -> str:
        return "".join(c if c.isalnum() or c in "=._-" else "-" for c in self.label)


def grid(params: list[str]) -> list[Combination]:
    """The cartesian product of ``--param key=v1,v2`` arguments (in the order given). Raises ``ParamError``."""
    axes: list[tuple[str, list[Any]]] = []
    for text in params:
        key, values = parse_assignment(text, multi=True)
        if any(key == k for k, _ in axes):
            raise ParamError(f"--param {text!r}: {key!r} is given twice; list all its values in one --param")
        axes.append((key, values))
    keys = [k for k, _ in axes]
    return [Combination(dict(zip(keys, values, strict=True))) for values in itertools.product(*(v for _, v in axes))]


def _check_scenario(scenario: str, combos: list[Combination]) -> None:
    """Validate every combination's scenario before starting any worker (fail fast, exit 2)."""
    from worldsim import load_scenario

    for combo in combos:
        load_scenario(scenario, overrides=combo.overrides)


SUMMARY_FIELDS = ("combination", "seed", "status", "ticks_run", "wall_s", "ticks_per_s", "world_hash", "error")


def _summary_row(combo: Combination, seed: int, result: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {"combination": combo.label, "seed": seed, "status": result.get("status", "failed"),
                           "ticks_run": result.get("ticks_run", 0), "wall_s": result.get("wall_s", 0.0),
                           "ticks_per_s": result.get("ticks_per_s", 0.0), "world_hash": result.get("world_hash", ""),
                           "error": result.get("error", "")}
    for key, value in combo.overrides.items():
        row[f"param.{key}"] = value
    for name, value in sorted(result.get("final", {}).items()):
        if name.startswith("population."):
            row[f"final.{name}"] = value
            row[f"min.{name}"] = result.get("minimum", {}).get(name, value)
    for name, value in sorted(result.get("mean", {}).items()):
        if name.startswith("price."):
            row[f"mean.{name}"] = value
    return row


def _read_result(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        return {"status": "failed", "error": f"no readable result.json ({exc}); the worker died"}


@dataclass
class SweepOutcome:
    rows: list[dict[str, Any]]
    failed: int


def run_grid(scenario: str, combos: list[Combination], seeds: list[int], ticks: int, jobs: int, out: Path,
             every: int | None, plots: bool, progress: bool | None) -> SweepOutcome:
    """Run every (combination, seed) in ``jobs`` worker processes; append ``summary.csv`` as runs finish."""
    from tqdm import tqdm

    out.mkdir(parents=True, exist_ok=True)
    runs = [(combo, seed) for combo in combos for seed in seeds]
    rows: list[dict[str, Any]] = []
    summary_path = out / "summary.csv"
    param_fields = [f"param.{k}" for k in combos[0].overrides] if combos else []
    fields: list[str] | None = None
    failed = 0
    context = multiprocessing.get_context("spawn")
    with (open(summary_path, "w", newline="", encoding="utf-8") as summary,
          ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool,
          tqdm(total=len(runs), unit="run", desc="sweep", disable=None if progress is None else not progress,
               dynamic_ncols=True) as bar):
        pending: dict[Future[None], tuple[Combination, int, Path]] = {}
        for combo, seed in runs:
            run_dir = out / "runs" / f"{combo.slug}-seed{seed}"
            options = SimOptions(scenario=scenario, ticks=ticks, seed=seed, out=run_dir, every=every,
                                 overrides=combo.overrides, save=None, plots=plots, progress=False)
            pending[pool.submit(run_for_sweep, options)] = (combo, seed, run_dir)
        writer: csv.DictWriter[str] | None = None
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                combo, seed, run_dir = pending.pop(future)
                try:
                    future.result()
                    result = _read_result(run_dir / "result.json")
                except BaseException as exc:  # a worker that died (killed, crashed interpreter) is a failed run
                    result = _read_result(run_dir / "result.json")
                    if result.get("status") != "failed" or not result.get("error"):
                        result = {"status": "failed", "error": f"{type(exc).__name__}: {exc}"}
                row = _summary_row(combo, seed, result)
                failed += row["status"] != "ok"
                if writer is None:
                    extra = sorted(k for k in row if k not in SUMMARY_FIELDS and k not in param_fields)
                    fields = [*SUMMARY_FIELDS[:2], *param_fields, *SUMMARY_FIELDS[2:], *extra]
                    writer = csv.DictWriter(summary, fieldnames=fields, extrasaction="ignore")
                    writer.writeheader()
                writer.writerow(row)
                summary.flush()
                rows.append(row)
                bar.update(1)
                if row["status"] != "ok":
                    bar.write(f"run {combo.label} seed {seed} failed: {row['error']}")
    return SweepOutcome(rows, failed)


def _mean_sd(values: list[float]) -> str:
    if not values:
        return "-"
    a = np.asarray(values, dtype=np.float64)
    return f"{a.mean():.4g} ± {a.std(ddof=1) if len(a) > 1 else 0.0:.2g}"


def summary_blocks(scenario: str, combos: list[Combination], seeds: list[int], ticks: int,
                   outcome: SweepOutcome, plots: list[tuple[str, str]]) -> list[Any]:
    """The sweep report: one table row per combination (mean ± sd over its successful seeds)."""
    from .report import Heading, Image, Paragraph, Table

    species = sorted({k.removeprefix("final.population.") for r in outcome.rows for k in r
                      if k.startswith("final.population.")})
    prices = sorted({k.removeprefix("mean.price.") for r in outcome.rows for k in r if k.startswith("mean.price.")})
    header = ["combination", "runs ok", *[f"final {s}" for s in species], *[f"extinct {s}" for s in species],
              *[f"mean price {p}" for p in prices]]
    table_rows = []
    for combo in combos:
        mine = [r for r in outcome.rows if r["combination"] == combo.label]
        ok = [r for r in mine if r["status"] == "ok"]
        cells = [combo.label, f"{len(ok)}/{len(mine)}"]
        cells += [_mean_sd([r[f"final.population.{s}"] for r in ok if f"final.population.{s}" in r]) for s in species]
        cells += [str(sum(1 for r in ok if r.get(f"min.population.{s}", 1) == 0)) for s in species]
        cells += [_mean_sd([r[f"mean.price.{p}"] for r in ok if f"mean.price.{p}" in r]) for p in prices]
        table_rows.append(cells)
    blocks: list[Any] = [
        Heading(f"Sweep of {scenario}", 1),
        Paragraph(f"{len(combos)} combinations × {len(seeds)} seeds ({', '.join(map(str, seeds))}), {ticks} ticks "
                  f"each; {len(outcome.rows) - outcome.failed} runs ok, {outcome.failed} failed. "
                  "Figures are mean ± sd over the successful seeds; 'extinct' counts runs in which the "
                  "population reached 0 at some sample."),
        Table(header, table_rows),
    ]
    failures = [r for r in outcome.rows if r["status"] != "ok"]
    if failures:
        blocks.append(Heading("Failed runs"))
        blocks.append(Table(["combination", "seed", "error"], [[r["combination"], str(r["seed"]), r["error"]]
                                                               for r in failures]))
    for path, alt in plots:
        blocks.append(Image(path, alt))
    return blocks


def comparison_plots(out: Path, combos: list[Combination], seeds: list[int]) -> list[tuple[str, str]]:
    """``compare_populations.png`` and ``compare_prices.png``: mean ± sd over seeds per combination."""
    from .report import plot_comparison, read_metrics

    series: dict[str, list[Any]] = {}
    for combo in combos:
        for seed in seeds:
            path = out / "runs" / f"{combo.slug}-seed{seed}" / "metrics.csv"
            if path.exists():
                series.setdefault(combo.label, []).append(read_metrics(path))
    written = []
    for stem, prefix, title in (("compare_populations", "population.", "Populations"),
                                ("compare_prices", "price.", "Market prices")):
        curves: dict[str, dict[str, tuple[Any, Any, Any]]] = {}
        for label, runs in series.items():
            names = [n for n in runs[0].names if n.startswith(prefix)]
            rows = min(len(r.time_s) for r in runs)
            for name in names:
                stack = np.stack([r.column(name)[:rows] for r in runs])
                curves.setdefault(name, {})[label] = (runs[0].time_s[:rows], stack.mean(axis=0), stack.std(axis=0))
        if curves:
            plot_comparison(curves, out / f"{stem}.png", f"{title}: mean ± sd over seeds", "value")
            written.append((f"{stem}.png", f"{title} per combination (mean ± sd over seeds)"))
    return written


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("sweep", help="run a scenario over a parameter grid and seeds, in parallel")
    p.add_argument("scenario", help="scenario file or bundled name, e.g. meadow")
    p.add_argument("--param", action="append", default=[], metavar="KEY=V1,V2,...",
                   help="a scenario key and the values to try, e.g. species.wolf.reproduce=0.02,0.04 (repeatable)")
    p.add_argument("--seeds", type=int, default=3, help="seeds per combination: 1..K from --first-seed (default %(default)s)")
    p.add_argument("--first-seed", type=int, default=1, help="first seed (default %(default)s)")
    p.add_argument("--ticks", type=int, required=True, help="ticks per run")
    p.add_argument("--jobs", type=int, default=max(1, (os.cpu_count() or 1)), help="worker processes (default: cores)")
    p.add_argument("--out", type=Path, required=True, help="output directory (created)")
    p.add_argument("--every", type=int, default=None, help="sample metrics every K ticks (default: ~1000 rows)")
    p.add_argument("--plots", action="store_true", help="also write each run's PNG plots")
    p.add_argument("--no-progress", dest="progress", action="store_const", const=False, default=None,
                   help="no progress bar (default: shown on a terminal)")
    p.set_defaults(handler=run_sweep)


def run_sweep(args: argparse.Namespace) -> int:
    """``worldloom sweep``: 0 if every run succeeded, 1 if some failed, 2 on a bad scenario or option."""
    from worldsim import ScenarioError

    try:
        if args.seeds < 1 or args.ticks < 1 or args.jobs < 1:
            raise HeadlessError("--seeds, --ticks and --jobs must be >= 1")
        combos = grid(args.param)
        scenario = resolve_scenario(args.scenario)
        _check_scenario(scenario, combos)
        seeds = list(range(args.first_seed, args.first_seed + args.seeds))
        every = args.every if args.every is not None else default_every(args.ticks)
        outcome = run_grid(scenario, combos, seeds, args.ticks, args.jobs, args.out, every, args.plots, args.progress)
    except (ScenarioError, HeadlessError, OSError) as exc:
        print_error(exc)
        return 2
    except KeyboardInterrupt:
        print(f"worldloom: sweep interrupted; finished runs are in {args.out / 'summary.csv'}", file=sys.stderr)
        return 130
    from .report import render_markdown, write_report

    plots = comparison_plots(args.out, combos, seeds)
    blocks = summary_blocks(args.scenario, combos, seeds, args.ticks, outcome, plots)
    write_report(args.out, "summary", blocks, f"Sweep of {args.scenario}")
    print(render_markdown(blocks[:3]))
    print(f"worldloom: {len(outcome.rows)} runs, {outcome.failed} failed; summary in {args.out / 'summary.md'}")
    return 1 if outcome.failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="worldloom sweep", description="Run a parameter grid in parallel.")
    sub = parser.add_subparsers(dest="command", required=True)
    add_parser(sub)
    return run_sweep(parser.parse_args(["sweep", *(argv if argv is not None else sys.argv[1:])]))


if __name__ == "__main__":
    sys.exit(main())
