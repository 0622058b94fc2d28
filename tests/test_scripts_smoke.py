"""The user-facing scripts run for real as subprocesses with tiny budgets (`worldloom run`, net_load)."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_worldloom_run_serves_bots_and_saves_on_ctrl_c(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "server", "run", "--port", "0", "--bots", "2",
                                 "--npcs", "20", "--state-dir", str(tmp_path / "var")],
                                cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while not re.search(r"started 2 bot clients", log.read_text()):
                assert proc.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
            url = re.search(r"connect clients to\s+(ws://\S+)", log.read_text()).group(1)
            names, count = asyncio.run(_ask_services(url))
            assert len(names["names"]) == 3
            assert count["events"] >= 1  # the bots' session_start events reached DuckDB through the forwarder
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=30) == 0, log.read_text()
        finally:
            if proc.poll() is None:
                proc.kill()
    text = log.read_text()
    assert re.search(r"connect clients to\s+ws://127\.0\.0\.1:\d+/ws", text)
    assert "worldloom: stopped at tick" in text
    assert (tmp_path / "var" / "world.save").exists()
    assert (tmp_path / "var" / "secret").stat().st_mode & 0o077 == 0, "the secret is private"


async def _ask_services(url: str) -> tuple[dict, dict]:
    """The default services answer through the server: asset names and the analytics event count."""
    from worldloom_client import RpcError, WorldloomClient

    async with WorldloomClient(url, name="smoke") as client:
        deadline = time.monotonic() + 60
        while True:
            try:
                names = await client.call("assets.names", {"kind": "place", "count": 3, "seed": 1}, timeout=10)
                count = await client.call("analytics.query", {"q": "count"}, timeout=10)
                if count["events"] >= 1:
                    return names, count
            except RpcError:  # services still connecting
                pass
            assert time.monotonic() < deadline, "services never answered"
            await asyncio.sleep(0.5)


def test_net_load_benchmark_runs_with_a_tiny_budget(tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    subprocess.run([sys.executable, "benchmarks/net_load.py", "--duration", "1", "--clients", "3",
                    "--npcs", "10", "--no-peer", "--json", str(out)], cwd=ROOT, check=True, timeout=180,
                   capture_output=True)
    figures = json.loads(out.read_text())["reference"]
    assert figures["clients_connected"] == 3 and figures["ticks"] > 0
    assert figures["bytes_per_client_per_s"] > 0 and figures["latency_ms_p50"] > 0
