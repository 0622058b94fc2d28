"""``worldloom sim``: run a scenario headless at full speed and write metrics, events, plots and a report.

One run is one readable function, ``simulate(SimOptions) -> SimResult``: build the world from the
scenario, step it ``ticks`` times, and every ``every`` ticks append one row of ``world.metrics()`` to
``metrics.csv``; every tick append the drained world events to ``events.jsonl``. Both files are streamed
(written as the run goes, never held in memory) under a ``.part`` name and renamed when the run ends, so a
file without the suffix is always complete; plots and reports are written to a temp file and renamed.
``sweep`` calls the same function in worker processes, so a sweep run and a ``sim`` run are one code path.

Output directory after ``worldloom sim meadow --ticks 2000 --seed 1 --out runs/m1``::

    metrics.csv      tick, time_s, then every metric of world.metrics() (same keys every tick)
    events.jsonl     one JSON object per world event (tick, kind, entity, data)
    *.png            populations, prices, stock, flora, density map (see server/report.py)
    report.md/.html  scenario, seed, ticks, wall time, ticks/s, final world hash, key figures, plots
    result.json      the same figures machine-readable (what ``sweep`` aggregates)

Why this design: sampling every K ticks (default: ~1000 rows per run) keeps a long run's CSV small while
the event log keeps every change; the per-sample running min/max/sum gives the key figures without reading
the CSV back, and the plots read it back once at the end (1000 rows). Ctrl-C stops the loop at the next
tick and still finishes every file for the ticks that ran (the report says it was interrupted).
Rejected: Parquet (a designer opens CSV in anything; pyarrow is still there to convert), holding the
series in memory (a 10^7-tick run with K=1 would not fit), one JSON file for all events (not streamable).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .errors import ServerError
from .viewer.recording import PositionRecorder

TARGET_ROWS = 1000
"""Default number of metric samples per run: ``every = max(1, ticks // TARGET_ROWS)``."""



class HeadlessError(ServerError):
    """A headless run (``sim``/``sweep``) cannot start or continue: bad option, output dir, metric set."""


class ParamError(HeadlessError):
    """A ``--param``/``--set`` argument that is not ``dotted.key=value[,value...]``. Names the argument."""


# ----------------------------------------------------------------------------------------------- options
@dataclass(frozen=True)
class SimOptions:
    """One headless run.

    Attributes:
        scenario: path of a scenario file (or the name of a bundled one, see ``resolve_scenario``).
        ticks: ticks to simulate, >= 1.
        seed: world seed, >= 0.
        out: output directory (created).
        every: sample metrics every this many ticks; None = ``default_every(ticks)``.
        overrides: dotted scenario keys to override, e.g. ``{"species.wolf.reproduce": 0.05}``.
        save: write the world save here at the end (None = no save).
        plots: write PNG plots (the report is written either way and lists no plots without them).
        progress: tqdm bar; None = only when stderr is a terminal.
    """

    scenario: str
    ticks: int
    seed: int
    out: Path
    every: int | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    save: Path | None = None
    plots: bool = True
    progress: bool | None = None


@dataclass
class SimResult:
    """What a run produced; ``to_json`` is ``result.json``. Times in seconds (wall clock)."""

    scenario: str
    seed: int
    ticks_requested: int
    ticks_run: int
    every: int
    dt: float
    interrupted: bool
    wall_s: float
    ticks_per_s: float
    world_hash: str
    rows: int
    events: int
    event_kinds: dict[str, int]
    metric_names: list[str]
    final: dict[str, float]
    mean: dict[str, float]
    minimum: dict[str, float]
    maximum: dict[str, float]
    extinctions: list[dict[str, Any]]
    overrides: dict[str, Any]
    files: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def default_every(ticks: int) -> int:
    """Sample interval giving about ``TARGET_ROWS`` metric rows for ``ticks`` ticks."""
    return max(1, ticks // TARGET_ROWS)


def sample_ticks(ticks: int, every: int) -> list[int]:
    """The ticks at which a run of ``ticks`` ticks samples its metrics: 0, K, 2K, ... and always the last."""
    samples = list(range(0, ticks + 1, every))
    if samples[-1] != ticks:
        samples.append(ticks)
    return samples


def parse_assignment(text: str, multi: bool) -> tuple[str, list[Any]]:
    """Parse ``dotted.key=v1,v2`` (``multi``) or ``dotted.key=value`` into the key and its values.

    Raises:
        ParamError: no ``=``, an empty or malformed key, an empty value, or several values when not ``multi``.
    """
    flag = "--param" if multi else "--set"
    key, sep, rest = text.partition("=")
    key = key.strip()
    example = f"{flag} species.wolf.reproduce=0.04" + (",0.06" if multi else "")
    if not sep:
        raise ParamError(f"{flag} {text!r}: expected KEY=VALUE{',VALUE...' if multi else ''}, e.g. {example}")
    parts = key.split(".")
    if not key or any(not p or not all(c.isalnum() or c in "_-" for c in p) for p in parts):
        raise ParamError(f"{flag} {text!r}: key {key!r} must be dotted names (letters, digits, _ or -), "
                         f"e.g. {example}")
    raw = [v.strip() for v in rest.split(",")] if multi else [rest.strip()]
    if any(not v for v in raw):
        raise ParamError(f"{flag} {text!r}: empty value for {key!r}; give at least one value, e.g. {example}")
    from worldsim.scenario import parse_value

    values = [parse_value(v) for v in raw]  # TOML scalar syntax, the same as the scenario files
    if len(set(map(repr, values))) != len(values):
        raise ParamError(f"{flag} {text!r}: a value is repeated for {key!r}")
    return key, values


def resolve_scenario(scenario: str) -> str:
    """A scenario argument as a path: an existing file as given, else a bundled ``worldsim/scenarios/NAME.toml``.

    An unknown name comes back unchanged, so ``load_scenario`` reports it with the file it tried.
    """
    from worldsim.scenario import resolve_path

    return str(resolve_path(scenario))


# ----------------------------------------------------------------------------------------- atomic output
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temp file in the same directory and ``os.replace``."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp makes 0600; reports are as readable as any new file
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


@contextlib.contextmanager
def streamed_file(path: Path, mode: str = "w") -> Iterator[Any]:
    """Open ``path.part`` for streaming; on a clean exit flush, fsync and rename it to ``path``.

    If the body raises, the ``.part`` file stays (it holds what was written before the failure).
    """
    part = path.with_name(path.name + ".part")
    f = open(part, mode, encoding=None if "b" in mode else "utf-8", newline="" if "b" not in mode else None)
    try:
        yield f
        f.flush()
        os.fsync(f.fileno())
    finally:
        f.close()
    os.replace(part, path)


# ------------------------------------------------------------------------------------------- statistics
class SampleStats:
    """Running min, max and sum of every metric over the samples, plus extinctions seen in populations.

    A species goes extinct at the first sample where its ``population.<species>`` is 0 after a sample
    where it was positive (a sampled figure: a dip to 0 between samples that recovers is not seen).
    """

    def __init__(self, names: list[str]) -> None:
        self.names = names
        n = len(names)
        self.minimum = np.full(n, np.inf)
        self.maximum = np.full(n, -np.inf)
        self.total = np.zeros(n)
        self.count = 0
        self.last = np.zeros(n)
        self._population = [i for i, name in enumerate(names) if name.startswith("population.")]
        self.extinctions: list[dict[str, Any]] = []

    def add(self, tick: int, values: npt.NDArray[np.float64]) -> None:
        for i in self._population:
            if self.count and self.last[i] > 0 and values[i] <= 0:
                self.extinctions.append({"species": self.names[i].removeprefix("population."), "tick": tick})
        np.minimum(self.minimum, values, out=self.minimum)
        np.maximum(self.maximum, values, out=self.maximum)
        self.total += values
        self.count += 1
        self.last = values

    def as_dicts(self) -> tuple[dict[str, float], dict[str, float], dict[str, float], dict[str, float]]:
        """(final, mean, min, max), each keyed by metric name."""
        mean = self.total / max(self.count, 1)
        return tuple(dict(zip(self.names, map(float, a), strict=True))  # type: ignore[return-value]
                     for a in (self.last, mean, self.minimum, self.maximum))


# ----------------------------------------------------------------------------------------------- the run
def _metric_row(world: Any, names: list[str]) -> npt.NDArray[np.float64]:
    metrics = world.metrics()
    if len(metrics) != len(names) or list(metrics) != names:
        changed = sorted(set(metrics) ^ set(names)) or ["(order)"]
        raise HeadlessError(f"world.metrics() changed its keys during the run ({', '.join(changed[:5])}); "
                            "the metric set must be fixed for a world")
    return np.fromiter((float(v) for v in metrics.values()), dtype=np.float64, count=len(names))


def _extinction_events(events: list[Any]) -> list[dict[str, Any]]:
    """Extinctions the world reports itself: events whose kind mentions "extinct" (species from ``data``)."""
    found = []
    for event in events:
        if "extinct" in event.kind:
            data = event.data if isinstance(event.data, dict) else {}
            found.append({"species": str(data.get("species", event.entity)), "tick": int(event.tick)})
    return found


def _biome_colors(world: Any) -> list[str | None]:
    """The scenario's colour for each biome (``biomes.<name>.color``), None where it has none."""
    biomes = getattr(getattr(world, "scenario", None), "biomes", None) or {}
    return [getattr(biomes.get(name), "color", None) for name in getattr(world, "biome_names", [])]


def _progress_bar(total: int, enabled: bool | None, desc: str) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, unit="tick", desc=desc, disable=None if enabled is None else not enabled,
                dynamic_ncols=True, smoothing=0.1)


def simulate(options: SimOptions) -> SimResult:
    """Run one scenario headless and write every output file into ``options.out``.

    Raises:
        worldsim.ScenarioError: the scenario (or an override) is invalid.
        HeadlessError: bad options, or the world's metric keys changed during the run.
        OSError: the output directory cannot be written.
    """
    import msgspec

    from worldsim import World, load_scenario

    from . import report

    if options.ticks < 1:
        raise HeadlessError(f"--ticks must be >= 1, got {options.ticks}")
    if options.seed < 0:
        raise HeadlessError(f"--seed must be >= 0, got {options.seed}")
    every = options.every if options.every is not None else default_every(options.ticks)
    if every < 1:
        raise HeadlessError(f"--every must be >= 1, got {every}")
    path = resolve_scenario(options.scenario)
    scenario = load_scenario(path, overrides=dict(options.overrides))
    out = Path(options.out)
    out.mkdir(parents=True, exist_ok=True)

    world = World.from_scenario(scenario, seed=options.seed)
    recorder = PositionRecorder(out, world, ticks=options.ticks)  # the web viewer replays these frames
    dt = float(world.dt)
    names = list(world.metrics())
    stats = SampleStats(names)
    density_sum = np.zeros_like(np.asarray(world.density_map(), dtype=np.float64))
    encoder = msgspec.json.Encoder()
    kinds: Counter[str] = Counter()
    n_events = 0
    event_extinctions: list[dict[str, Any]] = []
    ticks_run = 0
    interrupted = False
    bar = _progress_bar(options.ticks, options.progress, Path(path).stem)
    start = time.perf_counter()
    with streamed_file(out / "metrics.csv") as csv_file, streamed_file(out / "events.jsonl", "wb") as events_file:
        rows = csv.writer(csv_file, lineterminator="\n")
        rows.writerow(["tick", "time_s", *names])

        def sample(tick: int) -> None:
            values = _metric_row(world, names)
            stats.add(tick, values)
            rows.writerow([tick, repr(tick * dt), *map(repr, values.tolist())])
            density_sum[...] += world.density_map()

        sample(0)
        pending = 0
        try:
            for tick in range(1, options.ticks + 1):
                world.step(dt)
                recorder.after_step(world)
                ticks_run = tick
                events = world.drain_events()
                if events:
                    n_events += len(events)
                    kinds.update(e.kind for e in events)
                    event_extinctions.extend(_extinction_events(events))
                    events_file.write(encoder.encode_lines(events))
                pending += 1
                if tick % every == 0 or tick == options.ticks:
                    sample(tick)
                    bar.update(pending)
                    pending = 0
        except KeyboardInterrupt:
            interrupted = True
            if ticks_run % every:
                sample(ticks_run)
        bar.update(pending)
        bar.close()
    wall = time.perf_counter() - start
    final_hash = world.world_hash()
    if options.save is not None:
        Path(options.save).parent.mkdir(parents=True, exist_ok=True)
        world.save(options.save)
    final, mean, minimum, maximum = stats.as_dicts()
    reported = {e["species"] for e in event_extinctions}
    extinctions = event_extinctions + [e for e in stats.extinctions if e["species"] not in reported]
    result = SimResult(
        scenario=path, seed=options.seed, ticks_requested=options.ticks, ticks_run=ticks_run, every=every,
        dt=dt, interrupted=interrupted, wall_s=wall, ticks_per_s=ticks_run / wall if wall > 0 else 0.0,
        world_hash=final_hash, rows=stats.count, events=n_events, event_kinds=dict(sorted(kinds.items())),
        metric_names=names, final=final, mean=mean, minimum=minimum, maximum=maximum,
        extinctions=extinctions, overrides=dict(options.overrides),
        files=["metrics.csv", "events.jsonl"],
    )
    result.files.append(recorder.finish())
    density = density_sum / max(stats.count, 1)
    terrain = getattr(world, "terrain", None)
    result.files += report.write_run_report(
        out, result, density=density,
        biome=None if terrain is None else np.asarray(terrain.biome),
        height=None if terrain is None else np.asarray(terrain.height),
        biome_names=list(getattr(world, "biome_names", [])), biome_colors=_biome_colors(world),
        plots=options.plots)
    result.files.append("result.json")
    atomic_write_text(out / "result.json", json.dumps(result.to_json(), indent=1) + "\n")
    if interrupted:
        raise KeyboardInterrupt
    return result


# ------------------------------------------------------------------------------------------ sweep worker
def run_for_sweep(options: SimOptions) -> None:
    """Sweep worker (spawned process): run ``options``; on failure write ``result.json`` with the error.

    Never raises for a failed run: the parent reads ``result.json`` (``status`` "ok" or "failed").
    """
    out = Path(options.out)
    try:
        result = simulate(options)
    except BaseException as exc:  # a failed run is data for the sweep, whatever it raised
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / "result.json", json.dumps({
            "status": "failed", "error": f"{type(exc).__name__}: {exc}",
            "traceback": traceback.format_exc(), "seed": options.seed, "overrides": options.overrides,
        }, indent=1) + "\n")
        sys.exit(1)
    data = result.to_json()
    data["status"] = "ok"
    atomic_write_text(out / "result.json", json.dumps(data, indent=1) + "\n")


# ------------------------------------------------------------------------------------------------- CLI
def _add_sim_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", help="scenario file (.toml) or bundled name, e.g. meadow")
    p.add_argument("--ticks", type=int, required=True, help="ticks to simulate")
    p.add_argument("--seed", type=int, default=1, help="world seed (default %(default)s)")
    p.add_argument("--out", type=Path, required=True, help="output directory (created)")
    p.add_argument("--every", type=int, default=None,
                   help=f"sample metrics every K ticks (default: ticks // {TARGET_ROWS}, at least 1)")
    p.add_argument("--set", "--param", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a scenario key, e.g. --set species.wolf.reproduce=0.05 (repeatable)")
    p.add_argument("--save", type=Path, default=None, help="save the world here at the end")
    p.add_argument("--no-plots", dest="plots", action="store_false", help="skip the PNG plots")
    p.add_argument("--no-progress", dest="progress", action="store_const", const=False, default=None,
                   help="no progress bar (default: shown on a terminal)")


def add_parsers(subparsers: Any) -> None:
    """Add the ``sim`` and ``sweep`` subcommands; each sets ``handler`` (``args.handler(args) -> int``)."""
    from . import sweep

    p_sim = subparsers.add_parser("sim", help="run a scenario headless and write metrics, plots, a report")
    _add_sim_arguments(p_sim)
    p_sim.set_defaults(handler=run_sim)
    sweep.add_parser(subparsers)


def _overrides(assignments: list[str]) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    for text in assignments:
        key, (value,) = parse_assignment(text, multi=False)
        if key in overrides:
            raise ParamError(f"--set {text!r}: {key!r} is set twice")
        overrides[key] = value
    return overrides


def print_error(exc: BaseException) -> None:
    """Print a setup error for a human (the worldsim and headless errors name the file, key and fix)."""
    print(f"worldloom: error: {exc}", file=sys.stderr)


def run_sim(args: argparse.Namespace) -> int:
    """``worldloom sim``: 0 on success, 2 on a bad scenario/option, 130 on Ctrl-C (files still written)."""
    from worldsim import ScenarioError

    try:
        options = SimOptions(scenario=args.scenario, ticks=args.ticks, seed=args.seed, out=args.out,
                             every=args.every, overrides=_overrides(args.overrides), save=args.save,
                             plots=args.plots, progress=args.progress)
        result = simulate(options)
    except (ScenarioError, HeadlessError, OSError) as exc:
        print_error(exc)
        return 2
    except KeyboardInterrupt:
        print(f"worldloom: interrupted; files for the ticks run are in {args.out}", file=sys.stderr)
        return 130
    print(f"worldloom: {result.ticks_run} ticks in {result.wall_s:.2f} s ({result.ticks_per_s:,.0f} ticks/s), "
          f"world hash {result.world_hash}")
    print(f"  report  {Path(args.out) / 'report.html'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="worldloom sim", description="Run a scenario headless.")
    _add_sim_arguments(parser)
    return run_sim(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
