"""The analytics service as a real subprocess on real websockets: forwarder, spill, crash, PostHog, RPC."""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import duckdb
from worldloom_client import WorldloomClient
from worldloom_client.errors import RpcError

from server.analytics_forwarder import AnalyticsForwarder
from server.testing import boot

ROOT = Path(__file__).resolve().parents[1]


def run(coro):
    return asyncio.run(coro)


def _service(url: str, token: str, db: Path, *extra: str) -> subprocess.Popen:
    env = dict(os.environ, WORLDLOOM_TOKEN=token)
    return subprocess.Popen([sys.executable, "-m", "analytics.service", "--url", url, "--db", str(db),
                             "--log-level", "WARNING", *extra], env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True)


async def _until(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


def _ids(db: Path) -> list[str]:
    with duckdb.connect(str(db), read_only=True) as con:
        return [str(r[0]) for r in con.execute("SELECT event_id FROM events").fetchall()]


def _stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 0


def test_forwarder_delivers_spills_while_down_and_replays_after_a_restart(tmp_path):
    db, spill = tmp_path / "events.duckdb", tmp_path / "spill"

    async def scenario() -> None:
        async with boot(npc_count=5) as running:
            router = running.server.router
            fwd = AnalyticsForwarder(router, str(spill), down_grace=0.1, flush_interval=0.05)
            running.room.add_tick_listener(fwd.on_tick)
            for i in range(4000):  # no service yet: these must reach the disk, not be lost
                fwd.record("progression_start", f"p{i % 37}", "w1:l1", session=f"s{i % 5}")
            await _until(lambda: fwd.stats.spilled == 4000)
            assert list(spill.glob("spill-*.bin"))
            fwd.close()  # server shutdown: nothing in memory
            running.room._tick_listeners.remove(fwd.on_tick)

            again = AnalyticsForwarder(router, str(spill), flush_interval=0.05)  # the next server process
            running.room.add_tick_listener(again.on_tick)
            for i in range(3000):
                again.record("resource_sink", f"p{i % 11}", "gold:shop:sword", 5.0, variant="B")
            again.record("teleport", "p1")  # unknown kind: counted, never raised into the tick
            proc = _service(running.url, running.token("service"), db)
            try:
                await _until(lambda: again.idle)
            finally:
                _stop(proc)
            assert again.stats.dropped_bad_kind == 1 and again.stats.acknowledged == 7000
            assert again.stats.replayed >= 4000  # the old segments (and, if the service was slow to start, new ones)
            assert not list(spill.glob("spill-*.bin"))

    run(scenario())
    ids = _ids(db)
    assert len(ids) == len(set(ids)) == 7000


def test_acknowledged_events_survive_a_sigkill_of_the_service(tmp_path):
    db = tmp_path / "crash.duckdb"
    acked: list[str] = []

    async def scenario() -> None:
        async with boot(npc_count=5) as running:
            proc = _service(running.url, running.token("service"), db)
            async with WorldloomClient(running.url, role="admin", token=running.token("admin")) as client:
                await _until(lambda: running.server.router.has_provider("analytics.ingest"))
                killed = False
                batch_no = 0

                async def send(n: int) -> None:
                    events = [{"id": str(uuid.uuid4()), "ts": time.time(), "player": f"p{k}", "kind": "death",
                               "name": "lava"} for k in range(80)]
                    try:
                        answer = await client.call("analytics.ingest", {"events": events}, timeout=10)
                    except RpcError:
                        return
                    assert answer["stored"] == 80
                    acked.extend(e["id"] for e in events)

                while batch_no < 400:
                    await asyncio.gather(*(send(batch_no + k) for k in range(4)))
                    batch_no += 4
                    if not killed and len(acked) >= 2000:
                        os.kill(proc.pid, signal.SIGKILL)  # mid-stream: calls in flight now fail
                        killed = True
                        await asyncio.sleep(0)
                    if killed:
                        break
                proc.wait(timeout=10)
            assert killed

    run(scenario())
    stored = set(_ids(db))  # reopening replays the WAL of the killed process
    assert acked and set(acked) <= stored


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_posthog_capture_and_queries_over_rpc(tmp_path):
    db, port = tmp_path / "ph.duckdb", _free_port()

    async def scenario() -> None:
        async with boot(npc_count=5) as running:
            proc = _service(running.url, running.token("service"), db, "--http-port", str(port),
                            "--posthog-key", "phc_test")
            try:
                async with WorldloomClient(running.url, role="admin", token=running.token("admin")) as client:
                    await _until(lambda: running.server.router.has_provider("analytics.query"))
                    base = f"http://127.0.0.1:{port}"
                    batch = {"api_key": "phc_test", "batch": [
                        {"event": "$pageview", "distinct_id": "u1", "properties": {"$session_id": "s1"},
                         "timestamp": "2026-01-02T10:00:00Z", "uuid": str(uuid.UUID(int=1))},
                        {"event": "progression_complete", "distinct_id": "u1",
                         "properties": {"name": "w1:l1", "value": 42}, "timestamp": "2026-01-02T10:05:00+01:00"},
                        {"event": "progression_complete", "properties": {}},  # no distinct_id
                    ]}
                    body = gzip.compress(json.dumps(batch).encode())
                    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
                    status, answer = await asyncio.to_thread(_post, base + "/batch/", body, headers)
                    assert status == 200 and answer["status"] == 1 and answer["stored"] == 2
                    assert [i for i, _ in answer["rejected"]] == [2]
                    status, again = await asyncio.to_thread(_post, base + "/batch/", body, headers)
                    assert (status, again["stored"], again["duplicates"]) == (200, 0, 2)  # idempotent
                    single = json.dumps({"api_key": "phc_test", "event": "design", "distinct_id": "u2",
                                         "properties": {"name": "ui:shop:open"}}).encode()
                    status, answer = await asyncio.to_thread(_post, base + "/i/v0/e/", single,
                                                             {"Content-Type": "application/json"})
                    assert (status, answer["stored"]) == (200, 1)
                    status, answer = await asyncio.to_thread(_post, base + "/capture/", b"{not json",
                                                             {"Content-Type": "application/json"})
                    assert status == 400 and "JSON" in answer["detail"]
                    status, _ = await asyncio.to_thread(_post, base + "/capture/", json.dumps(
                        {"api_key": "wrong", "event": "x", "distinct_id": "u"}).encode(), {})
                    assert status == 401

                    assert await client.call("analytics.query", {"q": "count"}) == {"events": 3}
                    progression = await client.call("analytics.query", {"q": "progression"})
                    assert progression[0]["name"] == "w1:l1" and progression[0]["completes"] == 1
                    funnel = await client.call("analytics.query", {"q": "funnel", "steps": ["progression_complete", "custom"]})
                    assert funnel["players"] == [1, 1]  # 09:05 UTC level, then the 10:00 UTC page view
                    try:
                        await client.call("analytics.query", {"q": "funnel", "steps": ["nope"]})
                        raise AssertionError("an unknown step must be refused")
                    except RpcError as exc:
                        assert "unknown" in exc.message
                    signals = await client.call("analytics.player_signals", {"players": ["u1", "ghost"]}, timeout=60)
                    assert set(signals["signals"]) == {"u1", "ghost"} and signals["signals"]["u1"]["reason"]
            finally:
                _stop(proc)

    run(scenario())
    with duckdb.connect(str(db), read_only=True) as con:
        ts = con.execute("SELECT ts FROM events WHERE name = 'w1:l1'").fetchone()[0]
    assert str(ts) == "2026-01-02 09:05:00"  # stored in UTC
