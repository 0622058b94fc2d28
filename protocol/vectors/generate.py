"""Generate the golden vectors: ``python -m protocol.vectors.generate [--out DIR] [--check]``.

Every vector is built here from literal values (no RNG, no clock), so two runs write identical bytes and
the committed files change only when the protocol does. ``tests/test_vectors.py`` regenerates into a
temporary directory and compares, which turns a protocol change without regenerated vectors into a
failing test.

Kinds of files (described for SDK authors in ``protocol/vectors/README.md``):

- ``NAME.msgpack`` + ``NAME.json``: one message, its exact encoded bytes and its JSON form
  ``{"type", "direction", "message"}``. ``compat_*`` pairs carry ``"decode_only": true``: hand-made
  frames (unknown keys, missing defaults, wide integer formats, ...) that readers must accept but that
  the canonical encoder never writes.
- ``NAME.view.json``: the world view after applying a snapshot vector (or its parts) to the view of its
  baseline vector.
- ``column_NAME.json``: one ``Column`` alone, values against packed fields.

Why literal data instead of hypothesis-style generation: SDK authors debug against these files by hand,
so every value is chosen to exercise one rule (a rounding tie, a negative delta, a 64-bit column) and
the names say which.
"""

from __future__ import annotations

import argparse
import struct
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import msgspec
import numpy as np

from ..codec import encode
from ..codes import CloseCode, ErrorCode
from ..messages import (
    POSITION_QUANTUM,
    PROTOCOL_VERSION,
    SCHEMA_HASH,
    Ack,
    Bye,
    Column,
    Error,
    Event,
    Hello,
    Input,
    KindBlock,
    Message,
    Ping,
    Pong,
    RpcRequest,
    RpcResponse,
    Snapshot,
    Welcome,
)
from ..snapshot import KindView, WorldView, apply_blocks, dequantize, encode_snapshot, pack_column, quantize
from . import VECTOR_DIR

Direction = Literal["client", "server"]

U63_MAX = 2**63 - 1
U32_MAX = 2**32 - 1
I64_MIN = -(2**63)

GENERATED_SUFFIXES = (".msgpack", ".json")
"""Files with these suffixes in the output directory belong to the generator (stale ones are deleted)."""


@dataclass(frozen=True)
class MessageVector:
    """One message vector. ``frame`` overrides the canonical encoding for decode-only vectors."""

    name: str
    direction: Direction
    message: Message
    frame: bytes | None = None


@dataclass(frozen=True)
class SnapshotScenario:
    """A tick's snapshot parts plus the view a decoder must reach after applying them."""

    name: str
    baseline_name: str | None
    tick: int
    parts: list[Snapshot]
    view: WorldView


# ---------------------------------------------------------------- plain messages
def message_vectors() -> list[MessageVector]:
    """Every message type of both directions with non-default values, plus edge cases."""
    resume_token = "eyJzdWIiOiJzLTAwMDEiLCJleHAiOjE3MDAwMDAwMzB9.b2xkLXNlc3Npb24tc2lnbmF0dXJl"
    admin_token = "eyJzdWIiOiJvcHMiLCJyb2xlIjoiYWRtaW4iLCJleHAiOjE3MDAwMDM2MDB9.c2lnbmF0dXJlLWJ5dGVz"
    service_token = "eyJzdWIiOiJhc3NldHMiLCJyb2xlIjoic2VydmljZSJ9.c2VydmljZS1zaWduYXR1cmU"
    avatar = (3 << 20) | 17
    c: Direction = "client"
    s: Direction = "server"
    return [
        # ------------------------------------------------ client -> server
        MessageVector("hello", c, Hello(
            protocol=PROTOCOL_VERSION, schema=SCHEMA_HASH, client="worldloom-godot", version="0.3.1",
            role="player", token="", resume=resume_token, name="Ünïcødé 名前 🌍")),
        MessageVector("hello_admin", c, Hello(
            protocol=PROTOCOL_VERSION, schema=SCHEMA_HASH, client="worldloom-cli", version="1.0.0",
            role="admin", token=admin_token, name="ops")),
        MessageVector("hello_service", c, Hello(
            protocol=PROTOCOL_VERSION, schema=SCHEMA_HASH, client="assets-gen", version="0.1.0",
            role="service", token=service_token, name="assets",
            methods=["assets.generate_level", "assets.list_biomes"])),
        MessageVector("hello_empty_strings", c, Hello(
            protocol=0, schema="", client="", version="", role="spectator")),
        MessageVector("hello_max_lengths", c, Hello(
            protocol=65535, schema="s" * 64, client="c" * 64, version="v" * 64, role="spectator",
            token="t" * 512, resume="r" * 512, name="名" * 64,
            methods=["a." + "b" * 62, "x_1.y_2.z_3"])),
        MessageVector("input", c, Input(seq=42, tick=1234, move=(0.5, -1.0), buttons=0b101)),
        MessageVector("input_defaults", c, Input(seq=1, tick=0)),
        MessageVector("input_max", c, Input(seq=U63_MAX, tick=U63_MAX, move=(1.0, -0.0078125),
                                            buttons=U32_MAX)),
        MessageVector("ack", c, Ack(tick=1234)),
        MessageVector("ack_max", c, Ack(tick=U63_MAX)),
        MessageVector("rpc_request_client", c, RpcRequest(
            id=7, method="room.info", params={"verbose": True, "limit": 10, "ratio": -0.5,
                                              "tags": ["a", "ü"], "none": None},
            deadline_ms=2500)),
        MessageVector("rpc_request_client_defaults", c, RpcRequest(id=0, method="world.hash")),
        MessageVector("rpc_response_client", c, RpcResponse(
            id=1_000_001, result={"level": [[0, 1], [1, 0]], "seed": 12345, "name": "Köln"})),
        MessageVector("rpc_response_client_error", c, RpcResponse(
            id=1_000_002, code=int(ErrorCode.RPC_FAILED), message="generator crashed: biome 'x' unknown")),
        MessageVector("ping", c, Ping(nonce=99, time=1_700_000_000.25)),
        MessageVector("ping_defaults", c, Ping()),
        MessageVector("bye_client", c, Bye(code=int(CloseCode.NORMAL), reason="player quit")),
        # ------------------------------------------------ server -> client
        MessageVector("welcome", s, Welcome(
            session="s-0001", resume=resume_token, tick_rate=20, tick=5000, server_time=1_700_000_000.5,
            entity=avatar, protocol=PROTOCOL_VERSION, schema=SCHEMA_HASH, quantum=POSITION_QUANTUM,
            aoi_radius=48.0, resumed=True, last_input=41)),
        MessageVector("welcome_spectator", s, Welcome(
            session="s-0002", resume="", tick_rate=30, tick=0, server_time=0.0, entity=0,
            protocol=PROTOCOL_VERSION, schema=SCHEMA_HASH)),
        MessageVector("welcome_max", s, Welcome(
            session="会" * 64, resume="r" * 512, tick_rate=1000, tick=U63_MAX, server_time=-1.5,
            entity=U32_MAX, protocol=65535, schema="f" * 16, quantum=0.015625, aoi_radius=1e9,
            resumed=False, last_input=U63_MAX)),
        MessageVector("snapshot_empty", s, Snapshot(tick=1, baseline=0, input_ack=0, time=0.0)),
        MessageVector("event", s, Event(
            tick=5001, kind="player.joined", entity=avatar,
            data={"name": "Ünïcødé 名前 🌍", "score": -3, "x": -1.5, "ok": True, "none": None})),
        MessageVector("event_defaults", s, Event(tick=0, kind="weather.changed")),
        MessageVector("rpc_request_server", s, RpcRequest(
            id=U63_MAX, method="assets.generate_level", params=["forest", {"size": 64, "seed": -7}],
            deadline_ms=600_000)),
        MessageVector("rpc_response_server", s, RpcResponse(
            id=7, result={"tick": 5000, "clients": 3, "entities": 250})),
        MessageVector("rpc_response_server_error", s, RpcResponse(
            id=8, code=int(ErrorCode.NO_SUCH_METHOD), message="no service provides 'assets.generate_level'")),
        MessageVector("error", s, Error(
            code=int(ErrorCode.INVALID), message="Expected `float` <= 1.0 - at `$.move[0]`", ref=43)),
        MessageVector("error_empty_message", s, Error(code=int(ErrorCode.INTERNAL), message="")),
        MessageVector("pong", s, Pong(nonce=99, time=1_700_000_000.25, server_time=1_700_000_000.3125)),
        MessageVector("pong_negative", s, Pong(nonce=U63_MAX, time=-0.5, server_time=-1e-300)),
        MessageVector("bye_server", s, Bye(code=int(CloseCode.GOING_AWAY), reason="server shutting down")),
        MessageVector("bye_server_defaults", s, Bye()),
    ]


def compat_vectors() -> list[MessageVector]:
    """Decode-only frames: what a reader must accept beyond the canonical encoding."""
    pack = msgspec.msgpack.encode
    wide_pong = (
        b"\x84"
        + b"\xa1t" + b"\xa4pong"
        + b"\xa5nonce" + b"\xcf" + (300).to_bytes(8, "big")  # uint 64 holding a small value
        + b"\xa4time" + b"\xca" + struct.pack(">f", 1.5)  # float 32
        + b"\xabserver_time" + b"\xd0\xfe"  # int 8 (-2) where a float is expected
    )
    return [
        MessageVector("compat_unknown_keys", "server", Event(tick=7, kind="door.opened", entity=12),
                      pack({"t": "event", "tick": 7, "future": [1, {"x": b"\x00"}], "kind": "door.opened",
                            "entity": 12, "zz": None})),
        MessageVector("compat_missing_defaults", "server", Welcome(
            session="s-9", resume="tok", tick_rate=20, tick=10, server_time=1.0, entity=5,
            protocol=PROTOCOL_VERSION, schema=SCHEMA_HASH),
            pack({"t": "welcome", "session": "s-9", "resume": "tok", "tick_rate": 20, "tick": 10,
                  "server_time": 1.0, "entity": 5, "protocol": PROTOCOL_VERSION, "schema": SCHEMA_HASH})),
        MessageVector("compat_key_order", "server", Pong(nonce=1, time=2.0, server_time=3.0),
                      pack({"server_time": 3.0, "time": 2.0, "nonce": 1, "t": "pong"})),
        MessageVector("compat_number_widths", "server", Pong(nonce=300, time=1.5, server_time=-2.0), wide_pong),
        MessageVector("compat_array_tail", "server", Snapshot(
            tick=3, baseline=0, input_ack=0, time=0.0,
            blocks=[KindBlock("npc", 0, 2**32, dx=Column(6, 0, 1, b""))]),
            pack({"t": "snap", "tick": 3, "baseline": 0, "input_ack": 0, "time": 0.0,
                  "blocks": [["npc", 0, 2**32, [6, 0, 1, b"", "future element"]]]})),
        MessageVector("compat_client_unknown_keys", "client", Input(seq=5, tick=9, move=(0.5, -0.5)),
                      pack({"t": "input", "seq": 5, "tick": 9, "move": [0.5, -0.5], "extra": {"a": 1}})),
    ]


# ---------------------------------------------------------------- snapshots
def _view(rows: list[tuple[int, tuple[float, float, float]]]) -> KindView:
    """A view from ``(id, (x, y, z) metres)`` rows, quantized like the server does."""
    rows = sorted(rows)
    ids = np.array([r[0] for r in rows], np.int64)
    q = quantize(np.array([r[1] for r in rows], np.float64).reshape(-1, 3))
    return KindView(ids, q)


def snapshot_scenarios() -> list[SnapshotScenario]:
    """A full snapshot, a delta against it, a delta dropping a kind, and a full snapshot split in parts."""
    g1, g2 = 1 << 20, 2 << 20  # generation 1 and 2 of the id space
    full: WorldView = {
        "npc": _view([
            (5, (12.5, 0.0, -3.25)),
            (9, (1.5 / 64, 1.0, -2.5 / 64)),  # rounding ties: 1.5 -> 2, -2.5 -> -2 (half to even)
            (g1 | 2, (-6400.5 / 64, 2.0, 7.75)),  # -6400.5 -> -6400
            (g2 | 40, (250.0, 0.5, -250.0)),
        ]),
        "player": _view([(3, (1.0, 0.0, 1.0))]),
    }
    delta: WorldView = {
        "npc": _view([
            (5, (12.75, 0.0, -3.75)),  # moved, negative z delta
            (g1 | 2, (-6400.5 / 64, 2.0, 7.75)),  # unchanged
            (77, (4.0, 0.0, 4.0)),  # entered; 9 removed
            (g2 | 40, (249.0, 0.5, -249.984375)),  # moved, negative x delta
        ]),
        "player": _view([(3, (1.5, 0.0, 0.75))]),
    }
    kind_gone: WorldView = {"npc": delta["npc"]}  # player kind gone, npc unchanged (all-zero deltas)
    crowd = [(i * 977 + (i % 3 << 20), (i * 0.37 - 8.0, (i % 5) * 0.25, 40.0 - i * 1.13)) for i in range(48)]
    split: WorldView = {"npc": _view(crowd), "player": _view([(3, (0.0, 0.0, 0.0))])}

    def parts(tick: int, base_tick: int, ack: int, current: WorldView, base: WorldView | None,
              max_bytes: int = 60_000) -> list[Snapshot]:
        return encode_snapshot(tick, base_tick, ack, 1_700_000_000.0 + tick / 20, current, base, max_bytes)

    return [
        SnapshotScenario("snapshot_full", None, 100, parts(100, 0, 16, full, None), full),
        SnapshotScenario("snapshot_delta", "snapshot_full", 103, parts(103, 100, 17, delta, full), delta),
        SnapshotScenario("snapshot_kind_gone", "snapshot_delta", 104,
                         parts(104, 103, 18, kind_gone, delta), kind_gone),
        SnapshotScenario("snapshot_split", None, 200, parts(200, 0, 0, split, None, max_bytes=400), split),
    ]


def _part_names(scenario: SnapshotScenario) -> list[str]:
    if len(scenario.parts) == 1:
        return [scenario.name]
    return [f"{scenario.name}.part{i}" for i in range(len(scenario.parts))]


def view_document(scenario: SnapshotScenario) -> dict[str, Any]:
    """The ``NAME.view.json`` content: the decoded view a snapshot decoder must reach."""
    kinds = {}
    for kind in sorted(scenario.view):
        v = scenario.view[kind]
        kinds[kind] = {"ids": v.ids.tolist(), "q": v.q.tolist(), "metres": dequantize(v.q).tolist()}
    return {"tick": scenario.tick, "baseline_vector": scenario.baseline_name,
            "parts": _part_names(scenario), "kinds": kinds}


# ---------------------------------------------------------------- columns
COLUMN_CASES: dict[str, list[int]] = {
    "empty": [],
    "constant": [7, 7, 7],
    "example": [-2, 1, -1, 5, -2],
    "bits1": [0, 1, 1, 0, 1, 0, 0, 1, 1],
    "bits8": [0, 255, 128, 1],
    "bits13_negative": [-4096, 0, 4095, -1, 17],
    "bits33": [0, 2**33 - 1, 2**32, 12345678901],
    "bits64": [I64_MIN, U63_MAX, 0, -1],
    "int64_min_single": [I64_MIN],
}
"""Column vectors: name -> values (each exercises one packing rule)."""


def column_document(values: list[int]) -> dict[str, Any]:
    col = pack_column(np.array(values, np.int64))
    return {"values": values, "base": col.base, "bits": col.bits, "count": col.count,
            "data": col.data.hex(), "msgpack": msgspec.msgpack.encode(col).hex()}


# ---------------------------------------------------------------- files
def _json(doc: Any) -> bytes:
    return msgspec.json.format(msgspec.json.encode(doc), indent=2) + b"\n"


def _message_files(vec: MessageVector, decode_only: bool = False) -> dict[str, bytes]:
    tag = msgspec.inspect.type_info(type(vec.message)).tag  # type: ignore[attr-defined]
    doc: dict[str, Any] = {"type": tag, "direction": vec.direction,
                           "message": msgspec.Raw(msgspec.json.encode(vec.message))}
    if decode_only:
        doc["decode_only"] = True
    frame = vec.frame if vec.frame is not None else encode(vec.message)
    return {f"{vec.name}.msgpack": frame, f"{vec.name}.json": _json(doc)}


def build() -> dict[str, bytes]:
    """Every vector file: name -> exact content."""
    files: dict[str, bytes] = {}
    for vec in message_vectors():
        files.update(_message_files(vec))
    for vec in compat_vectors():
        files.update(_message_files(vec, decode_only=True))
    scenarios = snapshot_scenarios()
    views = {s.name: s.view for s in scenarios}
    for scenario in scenarios:
        baseline = views[scenario.baseline_name] if scenario.baseline_name is not None else None
        blocks = [b for part in scenario.parts for b in part.blocks]
        if apply_blocks(baseline, blocks) != scenario.view:  # dict of KindView compares arrays
            raise RuntimeError(f"{scenario.name}: snapshot does not decode to its view")
        for name, part in zip(_part_names(scenario), scenario.parts, strict=True):
            files.update(_message_files(MessageVector(name, "server", part)))
        files[f"{scenario.name}.view.json"] = _json(view_document(scenario))
    for name, values in COLUMN_CASES.items():
        files[f"column_{name}.json"] = _json(column_document(values))
    return dict(sorted(files.items()))


def write(directory: Path) -> list[str]:
    """Write every vector into ``directory`` and delete stale generated files. Returns the names written."""
    directory.mkdir(parents=True, exist_ok=True)
    files = build()
    for path in directory.iterdir():
        if path.is_file() and path.suffix in GENERATED_SUFFIXES and path.name not in files:
            path.unlink()
    for name, content in files.items():
        path = directory / name
        if not path.exists() or path.read_bytes() != content:
            path.write_bytes(content)
    return list(files)


def stale(directory: Path) -> list[str]:
    """Names of vector files in ``directory`` that differ from, lack or exceed what ``build`` produces."""
    files = build()
    present = {p.name for p in directory.iterdir() if p.is_file() and p.suffix in GENERATED_SUFFIXES}
    bad = sorted(present - set(files))
    bad += [n for n, content in files.items() if n not in present or (directory / n).read_bytes() != content]
    return sorted(bad)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m protocol.vectors.generate", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=VECTOR_DIR, help="output directory (default: %(default)s)")
    parser.add_argument("--check", action="store_true", help="only report stale files; exit 1 if any")
    args = parser.parse_args(argv)
    if args.check:
        bad = stale(args.out)
        for name in bad:
            print(f"stale: {name}")
        return 1 if bad else 0
    names = write(args.out)
    print(f"wrote {len(names)} files to {args.out} (schema {SCHEMA_HASH}, protocol {PROTOCOL_VERSION})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
