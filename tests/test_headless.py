"""Headless runs for designers: ``sim`` and ``sweep`` run the real world in real subprocesses with tiny
budgets, and every file they write is checked (CSV columns and rows, JSONL, PNGs, reports, summary)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.headless import ParamError, parse_assignment, sample_ticks
from server.report import Heading, Paragraph, Table, render_html, render_markdown

ROOT = Path(__file__).resolve().parents[1]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
TICKS, EVERY = 30, 7


def _run(module: str, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def _assert_png(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC, path
    assert len(data) > 5000, f"{path} is suspiciously small ({len(data)} bytes)"


@pytest.fixture(scope="module")
def sim_dirs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two runs of meadow with the same seed in two processes: the first with plots, the second without."""
    first, second = tmp_path_factory.mktemp("sim1"), tmp_path_factory.mktemp("sim2")
    done = _run("server.headless", "meadow", "--ticks", str(TICKS), "--seed", "5", "--every", str(EVERY),
                "--out", str(first), "--save", str(first / "world.save"))
    assert done.returncode == 0, done.stderr
    done = _run("server.headless", "meadow", "--ticks", str(TICKS), "--seed", "5", "--every", str(EVERY),
                "--out", str(second), "--no-plots")
    assert done.returncode == 0, done.stderr
    return first, second


def test_sim_writes_metrics_csv_with_every_metric_per_sample(sim_dirs: tuple[Path, Path]) -> None:
    out = sim_dirs[0]
    with open(out / "metrics.csv", newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    assert header[:2] == ["tick", "time_s"]
    assert any(h.startswith("population.") for h in header) and any(h.startswith("price.") for h in header)
    assert [int(r[0]) for r in body] == [0, 7, 14, 21, 28, 30] == sample_ticks(TICKS, EVERY)
    assert all(len(r) == len(header) for r in body)
    assert float(body[-1][1]) == pytest.approx(TICKS / 20)  # meadow ticks at 20 Hz
    assert not list(out.glob("*.part")), "streamed files are renamed when the run ends"


def test_sim_writes_events_plots_report_and_save(sim_dirs: tuple[Path, Path]) -> None:
    out = sim_dirs[0]
    result = json.loads((out / "result.json").read_text())
    events = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    assert len(events) == result["events"] > 0
    assert all({"tick", "kind", "entity", "data"} <= e.keys() and 1 <= e["tick"] <= TICKS for e in events)
    for name in ("populations", "prices", "stock", "resources", "flora", "density_map"):
        _assert_png(out / f"{name}.png")
    md, page = (out / "report.md").read_text(), (out / "report.html").read_text()
    for text in (md, page):
        assert result["world_hash"] in text and "meadow" in text and "ticks/s" in text
        assert "populations.png" in text and "density_map.png" in text
    assert page.startswith("<!DOCTYPE html>") and "http" not in page, "self-contained, relative images"
    assert (out / "world.save").read_bytes()[:8] == b"WLOOMSAV"
    from worldsim import World

    assert World.load(out / "world.save").world_hash() == result["world_hash"]


def test_sim_is_deterministic_across_processes(sim_dirs: tuple[Path, Path]) -> None:
    first, second = sim_dirs
    assert (first / "metrics.csv").read_bytes() == (second / "metrics.csv").read_bytes()
    assert (first / "events.jsonl").read_bytes() == (second / "events.jsonl").read_bytes()
    hashes = [json.loads((d / "result.json").read_text())["world_hash"] for d in sim_dirs]
    assert hashes[0] == hashes[1] and len(hashes[0]) == 64
    assert not list(second.glob("*.png")), "--no-plots writes no plots"


def test_sweep_runs_the_grid_in_parallel_and_records_a_failed_run(tmp_path: Path) -> None:
    # Two runs whose output cannot be written fail; the rest go on. One raises inside the run (a directory
    # where metrics.csv.part must go) and reports its error; the other cannot even create its directory (a
    # file is in the way), so its process dies without a result.json and the sweep records the exit code.
    (tmp_path / "runs" / "species.wolf.reproduce=0.05-seed1" / "metrics.csv.part").mkdir(parents=True)
    (tmp_path / "runs" / "species.wolf.reproduce=0.02-seed0").write_text("in the way")
    done = _run("server.sweep", "meadow", "--param", "species.wolf.reproduce=0.02,0.05", "--seeds", "2",
                "--ticks", "12", "--jobs", "2", "--out", str(tmp_path))
    assert done.returncode == 1, done.stderr  # 1 = finished, some runs failed
    with open(tmp_path / "summary.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert sorted(r["run"] for r in rows) == sorted(
        f"species.wolf.reproduce={v}-seed{s}" for v in ("0.02", "0.05") for s in (0, 1))
    failed = {r["run"]: r["error"] for r in rows if r["status"] == "failed"}
    assert failed.keys() == {"species.wolf.reproduce=0.05-seed1", "species.wolf.reproduce=0.02-seed0"}
    assert "IsADirectoryError" in failed["species.wolf.reproduce=0.05-seed1"]
    assert "worker process died (exit code 1)" in failed["species.wolf.reproduce=0.02-seed0"]
    for row in rows:
        if row["status"] == "ok":
            assert int(row["ticks"]) == 12 and len(row["world_hash"]) == 64
            assert float(row["final.population.sheep"]) > 0
            assert (tmp_path / "runs" / row["run"] / "metrics.csv").exists()
            assert not list((tmp_path / "runs" / row["run"]).glob("*.png")), "plots are opt-in in sweeps"
    summary = (tmp_path / "summary.md").read_text()
    assert "| species.wolf.reproduce=0.02 | 1/2 |" in summary
    assert "| species.wolf.reproduce=0.05 | 1/2 |" in summary
    assert "## Failed runs" in summary and "IsADirectoryError" in summary
    assert "± " in summary and "species.wolf.reproduce=0.02 | 1/2" in done.stdout
    _assert_png(tmp_path / "compare_populations.png")
    _assert_png(tmp_path / "compare_prices.png")
    assert (tmp_path / "summary.html").read_text().startswith("<!DOCTYPE html>")


@pytest.mark.parametrize(("module", "args", "needle"), [
    ("server", ["sim", "no/such/scenario.toml", "--ticks", "5", "--out", "{out}"], "no/such/scenario.toml"),
    ("server", ["sweep", "meadow", "--ticks", "5", "--out", "{out}", "--param", "nope"], "--param 'nope'"),
    ("server.headless", ["no/such/scenario.toml", "--ticks", "5", "--out", "{out}"], "no/such/scenario.toml"),
    ("server.headless", ["meadow", "--ticks", "5", "--out", "{out}", "--set", "species.wolf.bogus=1"],
     "species.wolf.bogus"),
    ("server.sweep", ["meadow", "--ticks", "5", "--out", "{out}", "--param", "species.wolf.reproduce"],
     "expected KEY=VALUE"),
    ("server.sweep", ["meadow", "--ticks", "5", "--out", "{out}", "--param", "species.wolf.reproduce=0.1,"],
     "empty value"),
    ("server.sweep", ["meadow", "--ticks", "5", "--out", "{out}", "--param", "species.wolf.reproduce=-1,0.1"],
     "species.wolf.reproduce"),
    ("server.sweep", ["missing.toml", "--ticks", "5", "--out", "{out}", "--param", "a.b=1"], "missing.toml"),
])
def test_bad_scenario_or_param_exits_2_naming_the_problem(tmp_path: Path, module: str, args: list[str],
                                                         needle: str) -> None:
    done = _run(module, *(a.format(out=tmp_path / "out") for a in args), timeout=120)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert needle in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "out" / "runs").exists(), "nothing runs before the whole grid is valid"


# ----------------------------------------------------------------------------------- pure parts
@given(st.text(max_size=40))
def test_any_param_text_parses_or_raises_param_error(text: str) -> None:
    try:
        key, values = parse_assignment(text, multi=True)
    except ParamError as exc:
        assert "--param" in str(exc)
    else:
        assert key and values and "=" in text


@given(st.lists(st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True), min_size=1, max_size=4),
       st.lists(st.integers(-10**6, 10**6), min_size=1, max_size=5, unique=True))
def test_well_formed_params_round_trip(parts: list[str], values: list[int]) -> None:
    key = ".".join(parts)
    assert parse_assignment(f"{key}={','.join(map(str, values))}", multi=True) == (key, values)


@given(st.integers(1, 5000), st.integers(1, 6000))
def test_samples_start_at_zero_end_at_the_last_tick_and_never_skip_more_than_every(ticks: int, every: int) -> None:
    samples = sample_ticks(ticks, every)
    assert samples[0] == 0 and samples[-1] == ticks
    assert all(0 < b - a <= every for a, b in zip(samples, samples[1:], strict=False))


@given(st.text(max_size=30))
def test_report_text_is_escaped_in_html(text: str) -> None:
    page = render_html([Heading(text), Paragraph(text), Table(["h"], [[text]])], title=text)
    body = page.split("<body>", 1)[1]
    assert "<script" not in body.replace("&lt;script", "")
    assert render_markdown([Table(["h"], [[text]])]).count("\n") >= 3
