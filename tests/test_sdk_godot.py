"""Godot SDK (``clients/godot``): lint, generated-code freshness, golden vectors and a live game in an engine.

What runs where (see clients/godot/README.md): gdtoolkit parses and lints every ``.gd`` file (Godot 4
syntax); the portable core, built for Godot 3 by ``tools/to_godot3.py``, is executed by Debian's headless
Godot 3 (``godot3-server``) against the golden vectors and against a live server started here, with a
Python bot in the same world. The engine tests skip only when ``godot3-server`` is not installed
(``clients/godot/install-runtime.sh`` installs it).
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from worldloom_client import WorldloomClient

from server.testing import boot

ROOT = Path(__file__).resolve().parents[1]
GODOT = ROOT / "clients" / "godot"
BIN = ROOT / ".venv" / "bin"
GODOT3 = shutil.which("godot3-server")
needs_godot3 = pytest.mark.skipif(
    GODOT3 is None, reason="godot3-server is not installed: run clients/godot/install-runtime.sh")


def run(coro):
    return asyncio.run(coro)


def _gd_files() -> list[Path]:
    return sorted(GODOT.rglob("*.gd"))


def _engine_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ, LANG="C.UTF-8", LC_ALL="C.UTF-8")
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def godot3_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Godot 3 build of the core and harness (tools/to_godot3.py) in a fresh project directory."""
    out = tmp_path_factory.mktemp("godot3_build")
    subprocess.run([sys.executable, str(GODOT / "tools" / "to_godot3.py"), str(out)], check=True,
                   capture_output=True)
    return out


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("vectors") / "manifest.json"
    subprocess.run([sys.executable, str(GODOT / "tools" / "vector_manifest.py"), str(path)], check=True,
                   capture_output=True)
    return path


def _run_godot3(project: Path, timeout: float = 60.0, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([GODOT3, "--no-window", "--path", str(project), "-s", "res://harness/main_godot3.gd"],
                          env=_engine_env(WL_TIMEOUT=str(int(timeout - 5)), **env), capture_output=True, errors="replace",
                          text=True, timeout=timeout)


# ---------------------------------------------------------------- static checks
def test_every_script_parses_and_lints() -> None:
    files = [str(p) for p in _gd_files()]
    assert len(files) >= 15, files
    parsed = subprocess.run([str(BIN / "gdparse"), *files], capture_output=True, text=True, cwd=GODOT)
    assert parsed.returncode == 0, parsed.stdout + parsed.stderr
    linted = subprocess.run([str(BIN / "gdlint"), *files], capture_output=True, text=True, cwd=GODOT)
    assert linted.returncode == 0, linted.stdout + linted.stderr


def test_lint_catches_a_broken_script(tmp_path: Path) -> None:
    broken = tmp_path / "broken.gd"
    broken.write_text("func f(:\n\tpass\n")
    parsed = subprocess.run([str(BIN / "gdparse"), str(broken)], capture_output=True, text=True)
    assert parsed.returncode != 0


def test_generated_protocol_script_is_fresh() -> None:
    sys.path[:0] = [str(ROOT / "clients" / "codegen")]
    try:
        from schema import load_schema
    finally:
        del sys.path[0]
    spec = importlib.util.spec_from_file_location("gd_backend", ROOT / "clients/codegen/backends/gdscript.py")
    backend = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(backend)
    rendered = backend.render(load_schema())
    assert list(rendered) == ["clients/godot/addons/worldloom/core/protocol.gd"]
    for rel, text in rendered.items():
        assert (ROOT / rel).read_text() == text, f"{rel} is stale: run python clients/codegen/generate.py"
    from protocol import PROTOCOL_VERSION, SCHEMA_HASH
    text = next(iter(rendered.values()))
    assert f'const SCHEMA_HASH = "{SCHEMA_HASH}"' in text
    assert f"const PROTOCOL_VERSION = {PROTOCOL_VERSION}" in text


def test_godot3_build_strips_types_and_swaps_compat(godot3_project: Path) -> None:
    core = godot3_project / "addons" / "worldloom" / "core"
    snapshot = (core / "snapshot.gd").read_text()
    assert "func feed(snap):" in snapshot and "-> Dictionary" not in snapshot
    assert (core / "compat.gd").read_text() == (GODOT / "godot3" / "compat.gd").read_text()
    again = subprocess.run([sys.executable, str(GODOT / "tools" / "to_godot3.py"), str(godot3_project)],
                           check=True, capture_output=True)
    assert again.returncode == 0 and (core / "snapshot.gd").read_text() == snapshot


# ---------------------------------------------------------------- in the engine
@needs_godot3
def test_golden_vectors_in_godot3(godot3_project: Path, manifest: Path) -> None:
    done = _run_godot3(godot3_project, WL_MODE="vectors", WL_MANIFEST=str(manifest))
    assert "WL_RESULT vectors" in done.stdout, done.stdout + done.stderr
    assert done.returncode == 0, done.stdout
    passed = int(done.stdout.split("passed=")[1].split()[0])
    assert passed >= 100


@needs_godot3
def test_vector_suite_reports_a_wrong_expectation(godot3_project: Path, manifest: Path, tmp_path: Path) -> None:
    doc = json.loads(manifest.read_text())
    ack = next(v for v in doc["vectors"] if v["name"] == "ack")
    ack["message"]["tick"] = "i:1235"
    doc["columns"][0]["values"][0] = "i:7"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    done = _run_godot3(godot3_project, WL_MODE="vectors", WL_MANIFEST=str(bad))
    assert done.returncode == 1, done.stdout
    assert "WL_FAIL ack: decoded" in done.stdout and "WL_FAIL column_" in done.stdout


def _result_fields(stdout: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in stdout.splitlines():
        if line.startswith("WL_RESULT "):
            for item in line[len("WL_RESULT "):].split(" "):
                if "=" in item:
                    key, value = item.split("=", 1)
                    fields[key] = value
    return fields


@needs_godot3
def test_live_game_in_godot3(godot3_project: Path) -> None:
    async def scenario() -> None:
        async with boot(npc_count=10, half_extent=20.0, aoi_radius=100.0) as running:
            bot = WorldloomClient(running.url, name="py-bot")
            await bot.connect()
            stop = asyncio.Event()
            server_seen: dict[str, int] = {"max_seq": 0, "acked": 0}
            final: dict[str, int] = {}  # the slot's state when it leaves (polling can miss the last input)
            running.room.add_leave_listener(lambda slot: final.__setitem__(slot.name, slot.last_seq_received))
            godot_positions: list[tuple[float, ...]] = []

            async def drive_bot() -> None:
                step = 0
                while not stop.is_set():
                    await bot.send_input(0.0, 1.0 if (step // 20) % 2 == 0 else -1.0)
                    step += 1
                    await asyncio.sleep(0.05)

            async def watch_server() -> None:
                while not stop.is_set():
                    for slot in list(running.room.slots.values()):
                        if slot.name == "godot-harness":
                            server_seen["entity"] = slot.entity
                            server_seen["max_seq"] = max(server_seen["max_seq"], slot.last_seq_received)
                            server_seen["acked"] = max(server_seen["acked"], slot.acked)
                            where = bot.position(slot.entity)
                            if where is not None:
                                godot_positions.append(tuple(float(v) for v in where))
                    await asyncio.sleep(0.02)

            tasks = [asyncio.create_task(drive_bot()), asyncio.create_task(watch_server())]
            try:
                proc = await asyncio.create_subprocess_exec(
                    GODOT3, "--no-window", "--path", str(godot3_project), "-s", "res://harness/main_godot3.gd",
                    env=_engine_env(WL_MODE="live", WL_URL=running.url, WL_BOT_ENTITY=str(bot.entity),
                                    WL_TIMEOUT="60"),
                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
                out, err = await asyncio.wait_for(proc.communicate(), timeout=75)
            finally:
                stop.set()
                await asyncio.gather(*tasks)
                await bot.close()
            stdout = out.decode(errors="replace")
            assert proc.returncode == 0, stdout + err.decode(errors="replace")[-3000:]
            fields = _result_fields(stdout)
            assert fields["resumed"] == "True" and fields["own_moved"] == "True"
            assert fields["bot_moved"] == "True" and fields["moved_after_resume"] == "True"
            rpc_line = next(line for line in stdout.splitlines() if line.startswith("WL_RPC room.info -> "))
            assert "tick" in rpc_line and "entities" in rpc_line and "clients" in rpc_line
            # the server saw the harness's inputs (also those logged while it was offline) and its acks
            assert int(fields["entity"]) == server_seen["entity"] != 0
            server_seen["max_seq"] = max(server_seen["max_seq"], final.get("godot-harness", 0))
            assert server_seen["max_seq"] == int(fields["last_seq"]) >= 38
            assert int(fields["resent"]) >= 1
            assert server_seen["acked"] > 0
            # and the Python bot saw the Godot avatar move
            assert len(set(godot_positions)) > 1

    run(scenario())


def _mutated_frames(seed: int, n: int) -> list[bytes]:
    """Server vector frames with seeded random damage: flipped, dropped, inserted or truncated bytes."""
    rng = np.random.Generator(np.random.PCG64(seed))
    sources = []
    for path in sorted((ROOT / "protocol" / "vectors").glob("*.json")):
        if path.name.endswith(".view.json") or path.name.startswith("column_"):
            continue
        if json.loads(path.read_text())["direction"] == "server":
            sources.append(path.with_suffix(".msgpack").read_bytes())
    frames = list(sources)  # the undamaged frames must decode too
    for _ in range(n):
        frame = bytearray(sources[int(rng.integers(len(sources)))])
        for _ in range(int(rng.integers(1, 4))):
            op, at = int(rng.integers(4)), int(rng.integers(len(frame)))
            if op == 0:
                frame[at] = int(rng.integers(256))
            elif op == 1 and len(frame) > 1:
                del frame[at]
            elif op == 2:
                frame.insert(at, int(rng.integers(256)))
            else:
                frame = frame[:at]
            if not frame:
                break
        frames.append(bytes(frame))
    return frames


def _stricter_on_utf8(frame: bytes, reference: str, sdk: str) -> bool:
    """The one accepted difference: the SDK refuses invalid UTF-8 anywhere in a frame, as docs/protocol.md
    requires ("Invalid UTF-8 is MALFORMED"), while the reference decoder skips unknown keys unread and
    so accepts some frames whose skipped bytes are not UTF-8."""
    import msgspec

    if (reference, sdk) != ("ok", "err"):
        return False
    try:
        msgspec.msgpack.decode(frame)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        return "utf-8" in str(exc)
    return False


@needs_godot3
def test_decoder_agrees_with_the_reference_on_damaged_frames(godot3_project: Path, tmp_path: Path) -> None:
    from protocol.codec import decode_server
    from protocol.errors import DecodeError

    frames = _mutated_frames(seed=9, n=400)
    expected = []
    for frame in frames:
        try:
            decode_server(frame)
            expected.append("ok")
        except DecodeError:
            expected.append("err")
    path = tmp_path / "frames.txt"
    path.write_text("\n".join(frame.hex() or "-" for frame in frames) + "\n")
    done = _run_godot3(godot3_project, WL_MODE="fuzz", WL_FRAMES=str(path))
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("WL_VERDICTS ")), None)
    assert line is not None, done.stdout + done.stderr[-2000:]
    verdicts = line[len("WL_VERDICTS "):].split(",")
    assert len(verdicts) == len(frames)
    differ = [(frames[i].hex(), expected[i], verdicts[i]) for i in range(len(frames))
              if verdicts[i] != expected[i] and not _stricter_on_utf8(frames[i], expected[i], verdicts[i])]
    assert not differ, differ[:5]
    assert expected.count("ok") > 20 and expected.count("err") > 20
