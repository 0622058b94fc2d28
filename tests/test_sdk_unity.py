"""The Unity SDK (``clients/unity/``): its engine-independent C# runtime compiled with Mono's ``mcs``, the
golden vectors through its console harness, and the harness playing against a live server.

The harness is a real Mono process speaking the real protocol over a real websocket on 127.0.0.1: it joins
as a player, moves its avatar, sees a Python bot's avatar move, calls ``room.info``, survives a forced
disconnect by resuming, and closes with ``Bye``. The Python side checks the server received its inputs and
moved its avatar. Skips (with the fix) only when Mono is not installed; ``clients/unity/install-runtime.sh``
installs it.
"""

from __future__ import annotations

import asyncio
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from worldloom_client import WorldloomClient

from protocol.codec import encode
from protocol.messages import POSITION_QUANTUM
from protocol.snapshot import KindView, encode_snapshot, pack_column
from server.testing import boot
from worldsim.errors import StaleEntityError

ROOT = Path(__file__).resolve().parents[1]
UNITY = ROOT / "clients" / "unity"
VECTORS = ROOT / "protocol" / "vectors"
TIME_LIMIT = 90.0

needs_mono = pytest.mark.skipif(
    shutil.which("mono") is None or shutil.which("mcs") is None,
    reason="Mono is not installed: run clients/unity/install-runtime.sh (Debian's mono-mcs) to test the Unity SDK",
)


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Compile the runtime and the console harness with mcs (warnings are errors, C# <= 7.2)."""
    out = tmp_path_factory.mktemp("unity-build")
    done = subprocess.run(["bash", str(UNITY / "build.sh"), str(out)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return out / "Worldloom.Harness.exe"


def test_generated_csharp_is_current() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "clients" / "codegen" / "generate.py"), "--check"],
                          capture_output=True, text=True, timeout=120)
    stale = [line for line in done.stderr.splitlines() if "clients/unity/" in line]
    assert not stale, done.stderr


def test_unity_part_is_kept_apart_from_the_engine_free_runtime() -> None:
    """Only ``Runtime/Unity`` may use UnityEngine (the rest compiles with Mono), and it has its own asmdef."""
    for path in (UNITY / "Runtime").rglob("*.cs"):
        uses_unity = "UnityEngine" in path.read_text()
        assert uses_unity == (path.parent.name == "Unity"), path
    asmdef = json.loads((UNITY / "Runtime" / "Worldloom.Runtime.asmdef").read_text())
    assert asmdef["name"] == "Worldloom.Runtime" and not asmdef.get("references")
    package = json.loads((UNITY / "package.json").read_text())
    assert package["name"] == "com.worldloom.sdk" and package["unity"] == "2021.3"
    assert not package.get("dependencies"), "the SDK must not depend on other packages"


def test_unity_meta_files_are_complete() -> None:
    """Unity ignores assets without a ``.meta`` in an immutable (git/tarball) package."""
    done = subprocess.run([sys.executable, str(UNITY / "write_meta.py"), "--check"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr


@needs_mono
def test_golden_vectors_pass_in_the_csharp_runtime(harness: Path) -> None:
    done = subprocess.run(["mono", str(harness), "vectors", str(VECTORS)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert " 0 failed" in done.stdout and "FAIL" not in done.stdout


def write_chain(directory: Path, seed: int, ticks: int = 40) -> int:
    """Random worlds moving over ``ticks`` ticks, encoded by the Python reference into ``directory``.

    Each tick is a delta against the previous one (what a client acking everything receives), with
    entities entering and leaving, a kind appearing and vanishing, and a small frame budget that splits
    most ticks into several parts. Also random columns of every width. Returns the number of checks.
    """
    rng = np.random.Generator(np.random.PCG64(seed))
    views: dict[str, KindView] = {}
    previous: dict[str, KindView] | None = None
    out_ticks = []
    for tick in range(1, ticks + 1):
        current: dict[str, KindView] = {}
        for kind in ("npc", "player", "crate"):
            if kind == "crate" and tick % 10 >= 7:
                continue  # the kind vanishes for a few ticks
            old = views.get(kind, KindView.empty())
            keep = old.ids[rng.random(len(old)) > 0.1]
            moved = old.q[np.isin(old.ids, keep)] + rng.integers(-40, 41, size=(len(keep), 3))
            fresh = np.setdiff1d(rng.integers(1, 2**32, size=int(rng.integers(0, 12))), keep)
            ids = np.concatenate([keep, fresh])
            q = np.concatenate([moved, rng.integers(-(2**40), 2**40, size=(len(fresh), 3))])
            order = np.argsort(ids)
            current[kind] = KindView(ids[order], q[order])
        parts = encode_snapshot(tick, tick - 1 if previous is not None else 0, tick, float(tick) / 20.0, current,
                                previous, max_bytes=int(rng.integers(400, 1500)))
        names = []
        for part in parts:
            names.append(f"t{tick}_p{part.part}.msgpack")
            (directory / names[-1]).write_bytes(encode(part))
        out_ticks.append({"tick": tick, "parts": names, "kinds": {
            k: {"ids": v.ids.tolist(), "q": v.q.tolist(), "metres": (v.q * POSITION_QUANTUM).tolist()}
            for k, v in current.items()}})
        views = previous = current
    columns = []
    for bits in range(65):
        span = (1 << bits) - 1
        base = int(rng.integers(-(2**63), 2**63 - span)) if bits < 63 else -(2**63)
        fields = [int(x) for x in rng.integers(0, span, size=int(rng.integers(1, 9)), endpoint=True, dtype=np.uint64)]
        values = np.array([base + f for f in fields], dtype=np.int64)
        col = pack_column(values)
        columns.append({"values": values.tolist(), "base": col.base, "bits": col.bits, "data": col.data.hex()})
    (directory / "chain.json").write_text(json.dumps({"ticks": out_ticks, "columns": columns}))
    return len(out_ticks) + len(columns)


@needs_mono
def test_csharp_decoder_matches_the_python_encoder_on_random_worlds(harness: Path, tmp_path: Path) -> None:
    checks = write_chain(tmp_path, seed=2024)
    done = subprocess.run(["mono", str(harness), "chain", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"chain: {checks} passed, 0 failed" in done.stdout, done.stdout


@needs_mono
def test_harness_plays_against_a_live_server(harness: Path) -> None:
    async def scenario() -> None:
        async with boot(npc_count=6, half_extent=30.0, aoi_radius=200.0) as srv:
            bot = WorldloomClient(srv.url, name="python-bot")
            await bot.connect()
            stop = asyncio.Event()

            async def wander() -> None:
                step = 0
                while not stop.is_set():
                    angle = step * 0.15
                    await bot.send_input(math.cos(angle), math.sin(angle))
                    step += 1
                    await asyncio.sleep(0.05)

            mover = asyncio.create_task(wander())
            proc = await asyncio.create_subprocess_exec(
                "mono", str(harness), "play", srv.url, "--watch", str(bot.entity), "--ticks", "30",
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
            seen_seq, entity, start, moved_on_server = 0, 0, None, 0.0
            final: dict[str, int] = {}  # the slot's state when it leaves (polling can miss the last input)
            srv.room.add_leave_listener(lambda slot: final.__setitem__(slot.name, slot.last_seq_received))

            async def observe() -> None:
                """Watch the server's own state for the harness's session while it plays."""
                nonlocal seen_seq, entity, start, moved_on_server
                while proc.returncode is None:
                    for slot in list(srv.room.slots.values()):
                        if slot.name == "unity-harness":
                            seen_seq = max(seen_seq, slot.last_seq_received)
                            entity = slot.entity
                            if entity:
                                try:
                                    at = srv.server.world.positions_of([entity])[0]
                                except StaleEntityError:  # removed after the harness's Bye
                                    continue
                                if start is None:
                                    start = at.copy()
                                moved_on_server = max(moved_on_server, float(math.dist(at[:2], start[:2])))
                    await asyncio.sleep(0.02)

            watcher = asyncio.create_task(observe())
            output, _ = await proc.communicate()
            await watcher
            stop.set()
            await mover
            await bot.close()
            text = output.decode()
            print(text)
            assert proc.returncode == 0, text
            result = json.loads(next(line for line in text.splitlines() if line.startswith("RESULT "))[7:])
            assert result["entity"] == entity and result["resumes"] == 1 and result["close_code"] == 1000, text
            seen_seq = max(seen_seq, final.get("unity-harness", 0))
            assert seen_seq == result["last_seq"] >= 40, (seen_seq, text)  # 30 inputs, 10 more after the resume
            assert moved_on_server > 0.4, (moved_on_server, text)
            assert result["acks"] == result["snapshots"] > 10, text
            assert not any(s.name == "unity-harness" for s in srv.room.slots.values()), "Bye did not end the session"

    async def limited() -> None:
        async with asyncio.timeout(TIME_LIMIT):
            await scenario()

    asyncio.run(limited())
