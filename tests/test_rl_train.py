"""``worldloom train`` (``npc.rl.train:main``) as a subprocess with a tiny budget: files, resume, errors."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _train(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "npc.rl.train", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


def test_tiny_training_run_writes_logs_curve_checkpoint_and_resumes(tmp_path: Path) -> None:
    out = tmp_path / "run"
    tiny = ["--num-envs", "4", "--n-steps", "64", "--batch-size", "64", "--n-epochs", "1", "--seed", "3"]
    first = _train("Worldloom/Forager-v0", "--algo", "ppo", "--steps", "512", "--out", str(out),
                   "--checkpoint-every", "256", *tiny)
    assert first.returncode == 0, first.stderr
    for name in ("progress.csv", "curve.png", "checkpoint.zip", "policy.zip", "args.json"):
        assert (out / name).stat().st_size > 0, name
    assert (out / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "step" in first.stderr  # the tqdm bar
    with (out / "progress.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [int(r["timesteps"]) for r in rows] == [256, 512]

    resumed = _train("forager", "--steps", "1024", "--out", str(out), "--resume", *tiny)
    assert resumed.returncode == 0, resumed.stderr
    with (out / "progress.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [int(r["timesteps"]) for r in rows] == [256, 512, 768, 1024]  # continued, not restarted


def test_bad_arguments_name_the_cause_and_the_fix(tmp_path: Path) -> None:
    bad_task = _train("Worldloom/Farming-v0", "--steps", "64", "--out", str(tmp_path / "a"))
    assert bad_task.returncode == 2 and "Worldloom/Forager-v0" in bad_task.stderr
    no_checkpoint = _train("forager", "--steps", "64", "--out", str(tmp_path / "b"), "--resume")
    assert no_checkpoint.returncode == 2 and "run without --resume first" in no_checkpoint.stderr
    bad_algo = _train("forager", "--algo", "dqn", "--out", str(tmp_path / "c"))
    assert bad_algo.returncode == 2 and "ppo" in bad_algo.stderr


def test_benchmark_scripts_run_with_tiny_budgets(tmp_path: Path) -> None:
    steps = subprocess.run([sys.executable, "benchmarks/rl_steps.py", "--quick"], cwd=ROOT, capture_output=True,
                           text=True, timeout=300)
    assert steps.returncode == 0, steps.stderr
    for label in ("single env (ForagerEnv)", "SB3 VecEnv adapter", "SyncVectorEnv", "PolicyDriver.act"):
        assert label in steps.stdout
    learning = subprocess.run([sys.executable, "benchmarks/rl_learning.py", "--steps", "1024", "--seeds", "1",
                               "--out", str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert learning.returncode in (0, 1), learning.stderr  # 1 = the bar is not met, expected at 1k steps
    assert "normalised score" in learning.stdout and (tmp_path / "curves.png").exists()
