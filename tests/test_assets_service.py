"""The assets service over real websockets: a real server, the service as a real subprocess, a player calling.

Covers the round trip of every method, results too big for a frame (written to files), typed errors for
bad parameters, no service (NO_SUCH_METHOD), a service killed mid-request (RPC_FAILED, the server keeps
ticking) and a clean exit on SIGTERM.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from worldloom_client import RpcError, WorldloomClient

from protocol.codes import ErrorCode
from server.testing import boot

ROOT = Path(__file__).resolve().parents[1]


def run(coro):
    return asyncio.run(coro)


def _start_service(running, out_dir: Path) -> subprocess.Popen:
    env = {**os.environ, "WORLDLOOM_TOKEN": running.token("service")}
    return subprocess.Popen([sys.executable, "-m", "assets_gen.service", "--url", running.url, "--out-dir",
                             str(out_dir), "--workers", "2"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


async def _wait_for_method(running, method: str, timeout: float = 60.0) -> None:
    async def _poll() -> None:
        while not any(s.role == "service" and method in s.methods and s.link is not None
                      for s in running.room.slots.values()):
            await asyncio.sleep(0.05)

    await asyncio.wait_for(_poll(), timeout)


def _stop(proc: subprocess.Popen) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_round_trip_big_results_bad_params_and_clean_exit(tmp_path) -> None:
    async def scenario() -> int:
        async with boot(npc_count=5) as running:
            proc = _start_service(running, tmp_path)
            try:
                await _wait_for_method(running, "assets.generate_level")
                async with WorldloomClient(running.url, name="designer") as player:
                    level = await player.call("assets.generate_level",
                                              {"algorithm": "wfc", "seed": 3, "targets": {"keys": 2}}, timeout=30)
                    assert level["format"] == "worldloom.level" and level["playability"]["playable"]
                    assert len(level["tiles"]) == 32
                    big = await player.call("assets.generate_level", {"algorithm": "caves", "width": 256,
                                                                      "height": 256, "seed": 1}, timeout=30)
                    assert big["inline"] is False and big["summary"]["playability"]["playable"]
                    doc = json.loads(Path(big["files"]["json"]).read_text())
                    assert doc["width"] == 256 and Path(big["files"]["tscn"]).exists()
                    terrain = await player.call("assets.generate_terrain", {"size": 65, "seed": 2}, timeout=30)
                    assert terrain["summary"]["size"] == 65 and Path(terrain["files"]["glb"]).stat().st_size > 0
                    names, loot = await asyncio.gather(
                        player.call("assets.names", {"kind": "item", "count": 5, "seed": 1}, timeout=30),
                        player.call("assets.loot", {"difficulty": 0.9, "count": 3}, timeout=30))
                    assert len(names["names"]) == 5 and len(loot["items"]) == 3
                    many = await asyncio.gather(*[player.call("assets.generate_level", {"seed": s}, timeout=30)
                                                  for s in range(12)])
                    assert len({json.dumps(m["tiles"]) for m in many}) > 1
                    for params, fragment in (({"width": -3}, "'width'"), ({"algorithm": "maze"}, "'algorithm'"),
                                             ({"targets": {"enemies": 10_000}}, "'targets'")):
                        with pytest.raises(RpcError) as info:
                            await player.call("assets.generate_level", params, timeout=30)
                        assert info.value.code == ErrorCode.INVALID and fragment in info.value.message
                    with pytest.raises(RpcError) as info:
                        await player.call("assets.generate_terrain", {"size": 100}, timeout=30)
                    assert info.value.code == ErrorCode.INVALID and "2^n+1" in info.value.message
                    with pytest.raises(RpcError) as info:  # too short a deadline: typed timeout, job cancelled
                        await player.call("assets.generate_terrain", {"size": 2049, "seed": 5}, timeout=0.3)
                    assert info.value.code == ErrorCode.RPC_TIMEOUT
                    again = await player.call("assets.names", {"count": 2}, timeout=30)  # still serving
                    assert len(again["names"]) == 2
            finally:
                code = _stop(proc)
            return code

    assert run(scenario()) == 0


def test_absent_service_and_service_killed_mid_request(tmp_path) -> None:
    async def scenario() -> None:
        async with boot(npc_count=5) as running:
            async with WorldloomClient(running.url, name="designer") as player:
                with pytest.raises(RpcError) as info:
                    await player.call("assets.generate_level", {}, timeout=5)
                assert info.value.code == ErrorCode.NO_SUCH_METHOD
                proc = _start_service(running, tmp_path)
                try:
                    await _wait_for_method(running, "assets.generate_terrain")
                    call = asyncio.ensure_future(player.call(
                        "assets.generate_terrain", {"size": 2049, "seed": 9, "droplets": 4 * 2049 * 2049},
                        timeout=60))
                    await asyncio.sleep(1.0)
                    assert not call.done()
                    proc.kill()
                    with pytest.raises(RpcError) as info:
                        await call
                    assert info.value.code == ErrorCode.RPC_FAILED and "went away" in info.value.message
                    await running.wait_for_ticks(5)  # the server keeps ticking
                    with pytest.raises(RpcError) as info:
                        await player.call("assets.names", {}, timeout=5)
                    assert info.value.code == ErrorCode.NO_SUCH_METHOD
                finally:
                    _stop(proc)

    run(scenario())
