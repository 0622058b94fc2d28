"""``worldloom sweep``: a parameter grid × seeds, each run a headless ``sim`` in its own local process.

The grid is the cartesian product of every ``--param key=v1,v2,...`` times ``--seeds K`` seeds
(``--seed-start`` .. ``--seed-start + K - 1``). Each run is ``headless.simulate`` in a process started with
the ``spawn`` context, writing into ``DIR/runs/<key=value,...>-seed<s>/``, at most ``--jobs`` at a time.
As each run finishes its row is appended to ``DIR/summary.csv`` and flushed, so a long sweep can be read
(or abandoned) half-way. At the end ``DIR/summary.md`` (also printed) gives, per parameter combination,
mean ± sd over seeds of the final populations, extinction counts and mean prices per good, and
``DIR/compare_populations.png`` / ``compare_prices.png`` draw the mean curve over seeds with a ±1 sd band.

Why one process per run rather than a ``ProcessPoolExecutor``: a run that crashes its process (a
segfault in a native library, the OOM killer, ``os._exit``) breaks an executor and every pending future
with it, and the executor cannot say which run was responsible. With one process per run the parent waits
on process sentinels, reads the run's ``result.json`` (written atomically by the run itself, ``ok`` or
``failed`` with the error) and, if there is none, records the exit code: a failed run is a row, never the
end of the sweep. The cost is one interpreter start and import per run (about a second), small next to a
run worth sweeping; Numba's on-disk cache keeps the kernels compiled across runs. ``spawn`` (not ``fork``)
because the parent holds threads (tqdm's monitor) and a forked Numba/pybullet is not safe.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import itertools
import json
import multiprocessing
import multiprocessing.connection
import os
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from .headless import HeadlessError, ParamError, SimOptions, parse_assignment, print_error, resolve_scenario

FIXED_COLUMNS = ["run", "status", "seed", "ticks", "wall_s", "ticks_per_s", "world_hash", "extinctions"]


@dataclass(frozen=True)
class SweepRun:
    """One cell of the grid: a parameter combination and a seed, with its output directory name."""

    combination: tuple[tuple[str, Any], ...]
    seed: int
    name: str

    @property
    def label(self) -> str:
        return ",".join(f"{k}={v}" for k, v in self.combination) or "base"


def parse_params(texts: list[str]) -> list[tuple[str, list[Any]]]:
    """``--param`` arguments as (key, values); raises ``ParamError`` for a malformed or repeated key."""
    params: list[tuple[str, list[Any]]] = []
    for text in texts:
        key, values = parse_assignment(text, multi=True)
        if any(key == k for k, _ in params):
            raise ParamError(f"--param {text!r}: {key!r} is given twice; list all its values in one --param")
        params.append((key, values))
    return params


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "._=,-+" else "_" for c in text)


def build_grid(params: list[tuple[str, list[Any]]], seeds: list[int]) -> list[SweepRun]:
    """Every combination × seed, in a fixed order (combinations in ``--param`` order, then seeds)."""
    runs: list[SweepRun] = []
    for values in itertools.product(*(v for _, v in params)):
        combination = tuple(zip((k for k, _ in params), values, strict=True))
        label = ",".join(f"{k}={v}" for k, v in combination) or "base"
        runs.extend(SweepRun(combination, seed, f"{_safe(label)}-seed{seed}") for seed in seeds)
    return runs


def _probe_metric_names(scenario: str, runs: list[SweepRun]) -> list[str]:
    """The summary.csv metric columns: ``metrics()`` of the first grid world that builds, in this process.

    A world that fails to build here will fail in its run too and be recorded there, so it is skipped.
    """
    from worldsim import World, load_scenario

    seen: set[str] = set()
    for run in runs:
        if run.label in seen:
            continue
        seen.add(run.label)
        try:
            world = World.from_scenario(load_scenario(scenario, dict(run.combination)), seed=run.seed)
        except Exception:  # recorded as that run's failure when it runs
            continue
        return list(world.metrics())
    return []


# --------------------------------------------------------------------------------------- the scheduler
def _read_result(run_dir: Path, exitcode: int | None) -> dict[str, Any]:
    try:
        return json.loads((run_dir / "result.json").read_text())
    except (OSError, ValueError):
        how = f"killed by signal {-exitcode}" if exitcode is not None and exitcode < 0 else f"exit code {exitcode}"
        return {"status": "failed", "error": f"worker process died ({how}) without writing result.json"}


def execute(runs: list[SweepRun], base: SimOptions, out: Path, jobs: int, progress: bool | None,
            on_result: Any) -> None:
    """Run every ``SweepRun`` in at most ``jobs`` spawned processes; call ``on_result(run, result)`` as each ends.

    On Ctrl-C the running processes are terminated and ``KeyboardInterrupt`` propagates.
    """
    from tqdm import tqdm

    from .headless import run_for_sweep

    ctx = multiprocessing.get_context("spawn")
    pending = list(reversed(runs))
    running: dict[int, tuple[Any, SweepRun]] = {}
    bar = tqdm(total=len(runs), unit="run", desc="sweep", disable=None if progress is None else not progress)
    failed = 0
    try:
        while pending or running:
            while pending and len(running) < jobs:
                run = pending.pop()
                run_dir = out / "runs" / run.name
                with contextlib.suppress(OSError):  # a stale result from an earlier sweep into the same DIR
                    (run_dir / "result.json").unlink(missing_ok=True)
                options = replace(base, seed=run.seed, out=run_dir, overrides=dict(run.combination), progress=False)
                process = ctx.Process(target=run_for_sweep, args=(options,), name=f"sweep:{run.name}")
                process.start()
                running[process.sentinel] = (process, run)
            for sentinel in multiprocessing.connection.wait(list(running)):
                process, run = running.pop(sentinel)  # type: ignore[arg-type]
                process.join()
                result = _read_result(out / "runs" / run.name, process.exitcode)
                failed += result.get("status") != "ok"
                on_result(run, result)
                bar.update(1)
                bar.set_postfix(failed=failed)
    finally:
        for process, _ in running.values():
            process.terminate()
        for process, _ in running.values():
            process.join(5)
        bar.close()


class SummaryWriter:
    """``summary.csv``: one row per finished run, appended and flushed as runs end."""

    def __init__(self, path: Path, params: list[str], metric_names: list[str]) -> None:
        self.params = params
        self.metrics = metric_names
        self.columns = [*FIXED_COLUMNS, *params, *(f"final.{m}" for m in metric_names),
                        *(f"mean.{m}" for m in metric_names), "error"]
        self._file = open(path, "w", encoding="utf-8", newline="")
        self._csv = csv.writer(self._file, lineterminator="\n")
        self._csv.writerow(self.columns)
        self._file.flush()

    def append(self, run: SweepRun, result: dict[str, Any]) -> dict[str, Any]:
        ok = result.get("status") == "ok"
        row: dict[str, Any] = {"run": run.name, "status": "ok" if ok else "failed", "seed": run.seed}
        row.update(dict(run.combination))
        if ok:
            row.update(ticks=result["ticks_run"], wall_s=round(result["wall_s"], 4),
                       ticks_per_s=round(result["ticks_per_s"], 2), world_hash=result["world_hash"],
                       extinctions=len(result["extinctions"]))
            row.update({f"final.{m}": result["final"].get(m, "") for m in self.metrics})
            row.update({f"mean.{m}": result["mean"].get(m, "") for m in self.metrics})
        else:
            row["error"] = " ".join(str(result.get("error", "unknown error")).split())
        self._csv.writerow([row.get(c, "") for c in self.columns])
        self._file.flush()
        os.fsync(self._file.fileno())
        return row

    def close(self) -> None:
        self._file.close()


# ---------------------------------------------------------------------------------------- aggregation
def _mean_sd(values: list[float]) -> str:
    if not values:
        return "–"
    a = np.asarray(values, dtype=np.float64)
    sd = float(a.std(ddof=1)) if len(a) > 1 else 0.0
    return f"{float(a.mean()):.4g} ± {sd:.3g}"


def summary_table(rows: list[dict[str, Any]], runs: list[SweepRun], metric_names: list[str]) -> tuple[list[str],
                                                                                                        list[list[str]]]:
    """Per combination (grid order): runs ok/total, mean ± sd over seeds of final populations, extinctions
    and mean price per good (averaged over settlements)."""
    species = [m for m in metric_names if m.startswith("population.")]
    goods = sorted({m.rsplit(".", 1)[-1] for m in metric_names if m.startswith("price.")})
    header = ["combination", "runs ok", *(f"final {s.removeprefix('population.')}" for s in species),
              "extinctions", *(f"mean price {g}" for g in goods)]
    by_label: dict[str, list[dict[str, Any]]] = {}
    for run in runs:
        by_label.setdefault(run.label, [])
    labels = {r.name: r.label for r in runs}
    for row in rows:
        by_label[labels[row["run"]]].append(row)
    table = []
    for label, group in by_label.items():
        ok = [r for r in group if r["status"] == "ok"]
        cells = [label, f"{len(ok)}/{sum(r.label == label for r in runs)}"]
        cells += [_mean_sd([r[f"final.{s}"] for r in ok]) for s in species]
        cells.append(_mean_sd([r["extinctions"] for r in ok]))
        for good in goods:
            per_run = [float(np.mean([r[f"mean.{m}"] for m in metric_names
                                      if m.startswith("price.") and m.endswith(f".{good}")])) for r in ok]
            cells.append(_mean_sd(per_run))
        table.append(cells)
    return header, table


def comparison_curves(out: Path, runs: list[SweepRun], rows: list[dict[str, Any]], prefix: str,
                      group_by_good: bool) -> dict[str, dict[str, tuple[Any, Any, Any]]]:
    """metric -> combination -> (time_s, mean over seeds, sd over seeds) from each ok run's metrics.csv.

    With ``group_by_good`` the ``price.<settlement>.<good>`` columns are averaged over settlements first.
    """
    from .report import read_metrics

    ok = {r["run"] for r in rows if r["status"] == "ok"}
    collected: dict[str, dict[str, list[Any]]] = {}
    time_of: dict[str, Any] = {}
    for run in runs:
        if run.name not in ok:
            continue
        series = read_metrics(out / "runs" / run.name / "metrics.csv")
        names = series.with_prefix(prefix)
        groups: dict[str, list[str]] = {}
        for name in names:
            groups.setdefault(name.rsplit(".", 1)[-1] if group_by_good else name.removeprefix(prefix), []).append(name)
        for metric, members in groups.items():
            curve = np.mean([series.column(m) for m in members], axis=0)
            collected.setdefault(metric, {}).setdefault(run.label, []).append(curve)
            time_of[run.label] = series.time_s
    curves: dict[str, dict[str, tuple[Any, Any, Any]]] = {}
    for metric, per_label in collected.items():
        for label, stack in per_label.items():
            length = min(len(c) for c in stack)  # interrupted runs may be shorter
            a = np.stack([c[:length] for c in stack])
            curves.setdefault(metric, {})[label] = (time_of[label][:length], a.mean(axis=0), a.std(axis=0))
    return curves


# ------------------------------------------------------------------------------------------------- CLI
@dataclass(frozen=True)
class SweepOutcome:
    total: int
    failed: int
    wall_s: float
    table: str


def sweep(scenario: str, params: list[tuple[str, list[Any]]], seeds: list[int], base: SimOptions, jobs: int,
          progress: bool | None = None) -> SweepOutcome:
    """Run the grid, stream ``summary.csv``, write ``summary.md`` and the comparison plots into ``base.out``.

    Raises:
        worldsim.ScenarioError: the scenario or one of the combinations is invalid (checked before any run).
        HeadlessError: bad ``jobs``/``seeds``.
    """
    from worldsim import load_scenario

    from . import report

    if jobs < 1:
        raise HeadlessError(f"--jobs must be >= 1, got {jobs}")
    if not seeds:
        raise HeadlessError("--seeds must be >= 1")
    if base.ticks < 1:
        raise HeadlessError(f"--ticks must be >= 1, got {base.ticks}")
    runs = build_grid(params, seeds)
    for values in itertools.product(*(v for _, v in params)):  # every combination is valid before any run
        load_scenario(scenario, dict(zip((k for k, _ in params), values, strict=True)))
    out = Path(base.out)
    (out / "runs").mkdir(parents=True, exist_ok=True)
    metric_names = _probe_metric_names(scenario, runs)
    writer = SummaryWriter(out / "summary.csv", [k for k, _ in params], metric_names)
    rows: list[dict[str, Any]] = []
    start = time.perf_counter()
    try:
        execute(runs, replace(base, scenario=scenario), out, jobs, progress,
                lambda run, result: rows.append(writer.append(run, result)))
    finally:
        writer.close()
    wall = time.perf_counter() - start
    failed = sum(r["status"] != "ok" for r in rows)
    header, table = summary_table(rows, runs, metric_names)
    blocks: list[report.Block] = [
        report.Heading(f"Worldloom sweep: {Path(scenario).stem}", 1),
        report.Paragraph(f"{len(runs)} runs ({len(runs) - failed} ok, {failed} failed) of {base.ticks} ticks, "
                         f"seeds {seeds[0]}..{seeds[-1]}, {jobs} jobs, {wall:.1f} s wall. "
                         "Cells are mean ± sd over seeds; per-run figures are in `summary.csv`."),
        report.Table(header, table),
    ]
    failures = [r for r in rows if r["status"] != "ok"]
    if failures:
        blocks += [report.Heading("Failed runs"),
                   report.Table(["run", "error"], [[r["run"], r.get("error", "")] for r in failures])]
    plots = []
    for prefix, by_good, file, title, ylabel in (
            ("population.", False, "compare_populations.png", "Populations: mean over seeds ± 1 sd", "individuals"),
            ("price.", True, "compare_prices.png", "Mean price per good over settlements: mean over seeds ± 1 sd",
             "price")):
        curves = comparison_curves(out, runs, rows, prefix, by_good)
        if curves:
            report.plot_comparison(curves, out / file, title, ylabel)
            plots.append(report.Image(file, title))
    if plots:
        blocks += [report.Heading("Comparison plots"), *plots]
    report.write_report(out, "summary", blocks, f"Worldloom sweep: {Path(scenario).stem}")
    return SweepOutcome(len(runs), failed, wall, report.render_markdown([report.Table(header, table)]))


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("sweep", help="run a parameter grid × seeds in parallel local processes")
    _add_sweep_arguments(p)
    p.set_defaults(handler=run_sweep)


def _add_sweep_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", help="scenario file (.toml) or bundled name, e.g. meadow")
    p.add_argument("--param", action="append", default=[], metavar="KEY=V1,V2,...",
                   help="a scenario key and the values to try, e.g. species.wolf.reproduce=0.02,0.04 (repeatable)")
    p.add_argument("--seeds", type=int, default=3, help="seeds per combination (default %(default)s)")
    p.add_argument("--seed-start", type=int, default=0, help="first seed (default %(default)s)")
    p.add_argument("--ticks", type=int, required=True, help="ticks per run")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="parallel runs (default: CPU count)")
    p.add_argument("--out", type=Path, required=True, help="output directory (created)")
    p.add_argument("--every", type=int, default=None, help="sample metrics every K ticks (default: ~1000 rows)")
    p.add_argument("--plots", action="store_true", help="also write each run's PNG plots")
    p.add_argument("--no-progress", dest="progress", action="store_const", const=False, default=None,
                   help="no progress bar (default: shown on a terminal)")


def run_sweep(args: argparse.Namespace) -> int:
    """``worldloom sweep``: 0 when every run succeeded, 1 if some failed, 2 on bad input, 130 on Ctrl-C."""
    from worldsim import ScenarioError

    try:
        params = parse_params(args.param)
        if args.seeds < 1:
            raise HeadlessError(f"--seeds must be >= 1, got {args.seeds}")
        if args.seed_start < 0:
            raise HeadlessError(f"--seed-start must be >= 0, got {args.seed_start}")
        seeds = list(range(args.seed_start, args.seed_start + args.seeds))
        scenario = resolve_scenario(args.scenario)
        base = SimOptions(scenario=scenario, ticks=args.ticks, seed=seeds[0], out=args.out, every=args.every,
                          plots=args.plots, progress=False)
        outcome = sweep(scenario, params, seeds, base, args.jobs, args.progress)
    except (ScenarioError, HeadlessError, OSError) as exc:
        print_error(exc)
        return 2
    except KeyboardInterrupt:
        print(f"worldloom: sweep interrupted; finished runs are in {Path(args.out) / 'summary.csv'}", file=sys.stderr)
        return 130
    print(outcome.table, end="")
    print(f"worldloom: {outcome.total} runs, {outcome.failed} failed, {outcome.wall_s:.1f} s; "
          f"summary in {Path(args.out) / 'summary.md'}")
    return 1 if outcome.failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="worldloom sweep", description="Run a parameter grid × seeds.")
    _add_sweep_arguments(parser)
    return run_sweep(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
