"""Headless runs for designers, as subprocesses with tiny budgets: ``worldloom sim`` and ``worldloom sweep``
write every promised file, are deterministic, and fail with exit 2 and a message that names the problem."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["--set", "world.tiles=80", "--set", "species.sheep.count=200", "--set", "species.wolf.count=20",
         "--set", "world.wanderers=5", "--set", "physics.crates=3", "--set", "physics.towers=0",
         "--set", "world.ecology_interval=0.25"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def worldloom(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "server", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def test_sim_writes_metrics_events_plots_and_report(tmp_path: Path) -> None:
    out = tmp_path / "run"
    done = worldloom("sim", "meadow", "--ticks", "40", "--seed", "3", "--out", str(out), "--every", "4",
                     "--save", str(tmp_path / "end.save"), *SMALL)
    assert done.returncode == 0, done.stderr
    result = json.loads((out / "result.json").read_text())
    with open(out / "metrics.csv") as f:
        rows = list(csv.reader(f))
    assert rows[0][:2] == ["tick", "time_s"] and "population.sheep" in rows[0] and "price.Millbrook.food" in rows[0]
    assert len(rows) == 1 + 11 and rows[-1][0] == "40"  # ticks 0, 4, ..., 40
    events = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    assert events and {"tick", "kind", "entity", "data"} <= set(events[0])
    assert {e["kind"] for e in events} >= {"creature.born", "creature.died"}
    pngs = sorted(out.glob("*.png"))
    assert {p.name for p in pngs} >= {"populations.png", "prices.png", "density_map.png"}
    for png in pngs:
        data = png.read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 5000, png
    report = (out / "report.md").read_text()
    assert result["world_hash"] in report and "populations.png" in report
    assert (out / "report.html").read_text().startswith("<!DOCTYPE html>")
    assert (tmp_path / "end.save").stat().st_size > 0
    assert not list(out.glob("*.part")), "no half-written files are left"


def test_sim_is_deterministic(tmp_path: Path) -> None:
    runs = []
    for name in ("a", "b"):
        out = tmp_path / name
        done = worldloom("sim", "meadow", "--ticks", "30", "--seed", "9", "--out", str(out), "--no-plots", *SMALL)
        assert done.returncode == 0, done.stderr
        runs.append(out)
    a, b = (json.loads((r / "result.json").read_text()) for r in runs)
    assert a["world_hash"] == b["world_hash"]
    assert (runs[0] / "metrics.csv").read_bytes() == (runs[1] / "metrics.csv").read_bytes()
    assert (runs[0] / "events.jsonl").read_bytes() == (runs[1] / "events.jsonl").read_bytes()


def test_sweep_runs_the_grid_in_parallel_and_records_failures(tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    # capacity 226 holds the 220 creatures and 5 wanderers but not 3 crates too: those runs fail when the
    # world is built, and the sweep records them and carries on
    done = worldloom("sweep", "meadow", "--param", "species.wolf.reproduce=0.02,0.05",
                     "--param", "world.capacity=226,4096", "--seeds", "2", "--ticks", "20", "--jobs", "2",
                     "--out", str(out), "--no-progress",
                     *[a.replace("--set", "--param") for a in SMALL])
    assert done.returncode == 1, done.stderr  # some runs failed
    with open(out / "summary.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 8
    statuses = {(r["param.world.capacity"], r["status"]) for r in rows}
    assert statuses == {("226", "failed"), ("4096", "ok")}
    assert all("Capacity" in r["error"] or "capacity" in r["error"] for r in rows if r["status"] == "failed")
    summary = (out / "summary.md").read_text()
    assert "capacity=4096" in summary and "Failed runs" in summary
    assert (out / "compare_populations.png").read_bytes().startswith(PNG_MAGIC)


def test_bad_input_exits_2_naming_the_problem(tmp_path: Path) -> None:
    missing = worldloom("sim", str(tmp_path / "nope.toml"), "--ticks", "5", "--out", str(tmp_path / "x"))
    assert missing.returncode == 2 and "nope.toml" in missing.stderr and "meadow" in missing.stderr
    bad_key = worldloom("sim", "meadow", "--ticks", "5", "--out", str(tmp_path / "y"), "--set", "species.wolf.speeed=2")
    assert bad_key.returncode == 2 and "species.wolf.speeed" in bad_key.stderr
    bad_param = worldloom("sweep", "meadow", "--param", "species.wolf.reproduce", "--ticks", "5",
                          "--out", str(tmp_path / "z"))
    assert bad_param.returncode == 2 and "--param" in bad_param.stderr
    bad_value = worldloom("sweep", "meadow", "--param", "species.wolf.reproduce=0.1,7", "--ticks", "5",
                          "--out", str(tmp_path / "w"))
    assert bad_value.returncode == 2 and "species.wolf.reproduce" in bad_value.stderr
