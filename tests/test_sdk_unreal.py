"""The Unreal SDK's portable C++17 core, built with g++ and run for real.

What runs here (the Unreal module itself needs the engine and cannot be compiled on this machine):

* the core (``clients/unreal/Source/WorldloomCore``) compiles with ``g++ -std=c++17 -Wall -Wextra -Werror
  -Wshadow -fno-exceptions -fno-rtti`` (Unreal's defaults: no exceptions, no RTTI);
* ``clients/unreal/Tests/core_tests.cpp`` passes every golden vector of ``protocol/vectors/`` plus the
  sans-I/O session, interpolation and bad-input tests;
* the C++ decoder classifies hypothesis-generated frames exactly like the Python reference decoder;
* ``clients/unreal/Tests/harness.cpp`` (the core over websocketpp, a Debian package) plays against a live
  server: joins, walks, sees a Python bot move, calls ``room.info``, survives a dropped connection by
  resuming, says Bye — and the server side confirms it received and applied every input.

The binaries are built once per test session into a temporary directory keyed by a hash of the sources
and flags (reused while nothing changed). Tests skip, naming the fix, only when g++ or the Debian headers
are missing (``clients/unreal/install-runtime.sh`` installs them).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import json
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from worldloom_client import WorldloomClient

from protocol import messages as m
from protocol.codec import decode_server, encode
from protocol.codes import ErrorCode
from protocol.errors import DecodeError
from server.testing import boot

ROOT = Path(__file__).resolve().parents[1]
UNREAL = ROOT / "clients" / "unreal"
CORE = UNREAL / "Source" / "WorldloomCore"
VECTORS = ROOT / "protocol" / "vectors"
CORE_SOURCES = sorted((CORE / "Private").glob("*.cpp"))
CORE_SOURCES = [p for p in CORE_SOURCES if p.name != "WorldloomCoreModule.cpp"]  # the UE module glue
STRICT = ["-std=c++17", "-O1", "-Wall", "-Wextra", "-Werror", "-Wshadow", "-fno-exceptions", "-fno-rtti"]
TEST_FLAGS = ["-std=c++17", "-O1", "-Wall", "-Wextra", "-Werror"]
HEADERS = {
    "websocketpp": Path("/usr/include/websocketpp/client.hpp"),
    "asio": Path("/usr/include/asio.hpp"),
    "nlohmann-json": Path("/usr/include/nlohmann/json.hpp"),
}
TIME_LIMIT = 60.0


def _missing_runtime() -> str | None:
    if shutil.which("g++") is None:
        return "g++ not found: install it (apt-get install g++) to build the Unreal SDK core"
    missing = [name for name, path in HEADERS.items() if not path.exists()]
    if missing:
        return (f"Debian headers missing ({', '.join(missing)}): run clients/unreal/install-runtime.sh "
                "(installs libwebsocketpp-dev libasio-dev nlohmann-json3-dev)")
    return None


pytestmark = pytest.mark.skipif(_missing_runtime() is not None, reason=_missing_runtime() or "")


# ---------------------------------------------------------------- build (once per session)
def _build_key() -> str:
    digest = hashlib.sha256()
    version = subprocess.run(["g++", "--version"], capture_output=True, text=True).stdout
    digest.update(version.encode())
    digest.update(" ".join(STRICT + TEST_FLAGS).encode())
    for path in sorted([*CORE.rglob("*.h"), *CORE.rglob("*.cpp"), *(UNREAL / "Tests").glob("*.cpp")]):
        digest.update(str(path.relative_to(UNREAL)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _compile(args: list[str]) -> None:
    done = subprocess.run(["g++", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise AssertionError(f"g++ {' '.join(args)} failed:\n{done.stderr[-6000:]}")


@pytest.fixture(scope="session")
def unreal_build() -> dict[str, Path]:
    """Compile the core objects, ``core_tests`` and ``harness``; returns their paths."""
    out = Path(tempfile.gettempdir()) / f"worldloom-unreal-{_build_key()}"
    binaries = {"core_tests": out / "core_tests", "harness": out / "harness"}
    if all(p.exists() for p in binaries.values()):
        return binaries
    staging = Path(tempfile.mkdtemp(prefix="worldloom-unreal-build-"))
    include = ["-I", str(CORE / "Public")]
    objects = [staging / (src.stem + ".o") for src in CORE_SOURCES]
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(_compile, [[*STRICT, *include, "-c", str(src), "-o", str(obj)]
                                 for src, obj in zip(CORE_SOURCES, objects, strict=True)]))
        list(pool.map(_compile, [
            [*TEST_FLAGS, *include, str(UNREAL / "Tests" / "core_tests.cpp"), *map(str, objects),
             "-o", str(staging / "core_tests")],
            [*TEST_FLAGS, *include, str(UNREAL / "Tests" / "harness.cpp"), *map(str, objects),
             "-o", str(staging / "harness"), "-lpthread"],
        ]))
    out.mkdir(parents=True, exist_ok=True)
    for name, path in binaries.items():
        shutil.copy2(staging / name, path.with_suffix(".tmp"))
        os.replace(path.with_suffix(".tmp"), path)
    shutil.rmtree(staging, ignore_errors=True)
    return binaries


# ---------------------------------------------------------------- generated code
def test_generated_cpp_matches_the_python_schema() -> None:
    sys.path[:0] = [str(ROOT / "clients" / "codegen")]
    try:
        from backends import cpp
        from schema import load_schema
    finally:
        del sys.path[0]
    rendered = cpp.render(load_schema())
    assert rendered, "the C++ backend rendered nothing"
    for rel, text in rendered.items():
        path = ROOT / rel
        assert path.exists() and path.read_text() == text, (
            f"{rel} is stale: run `.venv/bin/python clients/codegen/generate.py`")
    header = (CORE / "Public" / "Worldloom" / "ProtocolMessages.h").read_text()
    assert f'kSchemaHash = "{m.SCHEMA_HASH}"' in header
    assert f"kProtocolVersion = {m.PROTOCOL_VERSION};" in header


# ---------------------------------------------------------------- golden vectors and unit tests
def test_core_passes_golden_vectors_and_unit_tests(unreal_build: dict[str, Path]) -> None:
    done = subprocess.run([str(unreal_build["core_tests"]), str(VECTORS)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    summary = done.stdout.strip().splitlines()[-1]
    passed, failed = (int(part.split()[0]) for part in summary.split(", "))
    assert failed == 0 and passed >= 60, summary  # one test per vector plus the unit tests


def test_core_tests_fail_on_a_corrupted_vector(unreal_build: dict[str, Path], tmp_path: Path) -> None:
    """The vector test can fail: a flipped byte and a changed expectation are both caught."""
    corrupted = tmp_path / "vectors"
    shutil.copytree(VECTORS, corrupted)
    ping = bytearray((corrupted / "ping.msgpack").read_bytes())
    ping[-1] ^= 1
    (corrupted / "ping.msgpack").write_bytes(bytes(ping))
    view = json.loads((corrupted / "snapshot_delta.view.json").read_text())
    view["kinds"]["npc"]["q"][0][0] += 1
    (corrupted / "snapshot_delta.view.json").write_text(json.dumps(view))
    done = subprocess.run([str(unreal_build["core_tests"]), str(corrupted)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1
    assert "[vector ping]" in done.stderr and "[view snapshot_delta]" in done.stderr


# ---------------------------------------------------------------- decoder agrees with the reference
def _reference_class(frame: bytes) -> str:
    try:
        message = decode_server(frame)
    except DecodeError as exc:
        return "malformed" if exc.code == ErrorCode.MALFORMED else "invalid"
    return f"ok {type(message).__struct_config__.tag}"


def _well_formed(frame: bytes) -> bool:
    try:
        msgspec.msgpack.decode(frame)
    except Exception:  # noqa: BLE001 - any failure of the untyped decoder means "not one MessagePack value"
        return False
    return True


def _classify(binary: Path, frames: list[bytes]) -> list[str]:
    payload = b"".join(struct.pack("<I", len(f)) + f for f in frames)
    done = subprocess.run([str(binary), "--classify"], input=payload, capture_output=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout.decode().splitlines()


_u63 = st.integers(0, 2**63 - 1)
_any_int = st.integers(-(2**63), 2**64 - 1)
_short = st.text(max_size=70)
_server_messages = st.one_of(
    st.builds(m.Event, tick=_u63, kind=_short, entity=st.integers(0, 2**32 + 5),
              data=st.dictionaries(st.text(max_size=5), st.one_of(st.none(), st.booleans(), _any_int,
                                                                   st.floats(allow_nan=False), st.text()))),
    st.builds(m.Pong, nonce=_u63, time=st.floats(allow_nan=False), server_time=st.floats(allow_nan=False)),
    st.builds(m.Error, code=st.integers(0, 70000), message=st.text(), ref=_u63),
    st.builds(m.Bye, code=st.integers(0, 65535), reason=st.text()),
    st.builds(m.Snapshot, tick=_u63, baseline=_u63, input_ack=_u63, time=st.floats(allow_nan=False),
              part=st.integers(0, 5000), parts=st.integers(0, 5000),
              blocks=st.lists(st.builds(m.KindBlock, kind=_short, lo=st.integers(0, 2**33),
                                        hi=st.integers(0, 2**33),
                                        dx=st.builds(m.Column, base=st.integers(-(2**63), 2**63 - 1),
                                                     bits=st.integers(0, 70), count=st.integers(0, 2**21),
                                                     data=st.binary(max_size=8))), max_size=2)),
)


def _raw_map(draw_dict: dict) -> bytes:
    return msgspec.msgpack.encode(draw_dict)


_frames = st.one_of(
    _server_messages.map(encode),                     # valid and out-of-range messages
    st.binary(max_size=40),                           # arbitrary bytes
    st.dictionaries(st.sampled_from(["t", "tick", "kind", "code", "message", "nonce", "time", "extra"]),
                    st.one_of(st.sampled_from(["event", "pong", "error", "bye", "snap", "hello", "zzz"]),
                              st.none(), st.booleans(), _any_int, st.floats(), st.text(max_size=5),
                              st.binary(max_size=3), st.lists(st.integers(-(2**63), 2**64 - 1), max_size=3)),
                    max_size=6).map(_raw_map),        # near-messages: wrong types, missing fields
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(frames=st.lists(_frames, min_size=1, max_size=40))
def test_cpp_decoder_classifies_frames_like_the_reference(unreal_build: dict[str, Path], frames: list[bytes]) -> None:
    """Same verdict as ``protocol.codec.decode_server`` (accepted with the same tag, MALFORMED or INVALID).

    One allowance: msgspec validates while it parses, so bytes that are both invalid and not well-formed
    MessagePack (e.g. an int followed by trailing bytes) may be reported as INVALID by the reference; the
    C++ reader parses first and says MALFORMED. Both refuse the frame.
    """
    for frame, got in zip(frames, _classify(unreal_build["core_tests"], frames), strict=True):
        want = _reference_class(frame)
        if _well_formed(frame):
            assert got == want, (frame, got, want)
        else:
            assert got == "malformed" and want in ("malformed", "invalid"), (frame, got, want)


# ---------------------------------------------------------------- end to end against a live server
def _run(coro):
    async def limited():
        async with asyncio.timeout(TIME_LIMIT):
            return await coro

    return asyncio.run(limited())


def _slot_named(srv, name: str):
    return next((s for s in srv.room.slots.values() if s.name == name), None)


def test_harness_plays_against_a_live_server(unreal_build: dict[str, Path]) -> None:
    async def scenario() -> None:
        async with boot(npc_count=10, half_extent=30.0, aoi_radius=200.0) as srv:
            final: dict[str, int] = {}  # the slot's state when it leaves (polling can miss the last tick)
            srv.room.add_leave_listener(lambda slot: final.__setitem__(slot.name, slot.last_seq_applied))
            async with WorldloomClient(srv.url, name="py-bot") as bot:
                stop = asyncio.Event()

                async def walk() -> None:  # the bot walks a square so it keeps moving
                    step = 0
                    while not stop.is_set():
                        leg = (step // 20) % 4
                        await bot.send_input(*((1.0, 0.0), (0.0, 1.0), (-1.0, 0.0), (0.0, -1.0))[leg])
                        step += 1
                        await asyncio.sleep(0.05)

                walker = asyncio.create_task(walk())
                proc = await asyncio.create_subprocess_exec(
                    str(unreal_build["harness"]), "--url", srv.url, "--name", "unreal-harness",
                    "--inputs", "20", "--watch", str(bot.entity), "--timeout", "45",
                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
                communicate = asyncio.create_task(proc.communicate())
                # Watch the server side while the harness plays.
                applied, sessions, detached, seen_positions = 0, set(), False, []
                while not communicate.done():
                    slot = _slot_named(srv, "unreal-harness")
                    if slot is not None:
                        applied = max(applied, slot.last_seq_applied)
                        sessions.add(slot.session_id)
                        detached = detached or slot.link is None
                        where = bot.position(slot.entity)
                        if where is not None:
                            seen_positions.append(where)
                    await asyncio.sleep(0.01)
                stdout, stderr = communicate.result()
                applied = max(applied, final.get("unreal-harness", 0))
                stop.set()
                await walker
        output = stdout.decode() + stderr.decode()
        assert proc.returncode == 0, output
        result = json.loads(next(line for line in stdout.decode().splitlines() if line.startswith("RESULT "))[7:])
        # The harness's own account.
        assert result["resumed"] and result["resumes"] == 1 and result["inputs_resent"] == 3, output
        assert result["rpc"]["code"] == 0 and result["rpc"]["clients"] >= 2, output
        assert result["bot_moved_m"] > 0.5 and result["self_moved_m"] > 0.5, output
        assert result["snapshots"] >= 10 and result["acks"] == result["snapshots"], output
        assert result["input_ack"] == result["last_seq"] == 28, output  # 20 + 3 while offline + 5
        assert result["close_code"] == 1000, output
        # The server's account: one session, which went through the grace window, and every input applied.
        assert len(sessions) == 1 and result["session"] in sessions, (sessions, output)
        assert detached, "the server never saw the harness's connection drop"
        assert applied == result["last_seq"], (applied, output)
        # The Python bot saw the harness's avatar move.
        assert len(seen_positions) >= 2
        moved = max(math.dist(seen_positions[0][:2], p[:2]) for p in seen_positions)
        assert moved > 0.5, moved

    _run(scenario())


def test_harness_reports_a_version_mismatch_with_both_versions(unreal_build: dict[str, Path]) -> None:
    async def scenario() -> None:
        async with boot(npc_count=2) as srv:
            proc = await asyncio.create_subprocess_exec(
                str(unreal_build["harness"]), "--url", srv.url, "--protocol", "99", "--timeout", "20",
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            stdout, stderr = await proc.communicate()
        output = stdout.decode() + stderr.decode()
        assert proc.returncode == 3, output
        refused = next(line for line in stdout.decode().splitlines() if line.startswith("refused: "))
        assert "VERSION_MISMATCH" in refused and "close 4002" in refused, refused
        assert "this SDK: protocol 99" in refused and f"server speaks {m.PROTOCOL_VERSION}" in refused, refused

    _run(scenario())
