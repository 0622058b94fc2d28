"""Golden vectors: the committed files are current, exact, complete, and decode as SDKs are told they do.

These are the checks every client SDK repeats (docs/protocol.md, "Golden vectors"), run here against the
Python reference codec, plus the staleness check that keeps the committed files in step with the code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import msgspec
import numpy as np
import pytest

from protocol import Column, DecodeError, SnapshotError, decode_client, decode_server, encode
from protocol.messages import (
    CLIENT_MESSAGE_TYPES,
    POSITION_QUANTUM,
    SCHEMA_HASH,
    SERVER_MESSAGE_TYPES,
    ClientMessage,
    ServerMessage,
    Snapshot,
)
from protocol.snapshot import KindView, SnapshotAssembler, WorldView, apply_blocks, pack_column, unpack_column
from protocol.vectors import VECTOR_DIR, generate

REGENERATE = ("run `.venv/bin/python -m protocol.vectors.generate` and commit protocol/vectors/ "
              "(client SDKs must then re-run their vector tests)")


class VectorDoc(msgspec.Struct, forbid_unknown_fields=True):
    """The JSON side of a ``NAME.msgpack`` / ``NAME.json`` pair."""

    type: str
    direction: Literal["client", "server"]
    message: msgspec.Raw
    decode_only: bool = False


def _pair_names() -> list[str]:
    return sorted(p.name.removesuffix(".msgpack") for p in VECTOR_DIR.glob("*.msgpack"))


PAIRS = _pair_names()
VIEWS = sorted(p.name.removesuffix(".view.json") for p in VECTOR_DIR.glob("*.view.json"))
COLUMNS = sorted(p.name for p in VECTOR_DIR.glob("column_*.json"))


def load(name: str) -> tuple[VectorDoc, bytes, Any]:
    """The JSON document, the frame, and the struct decoded from the JSON with the right union."""
    doc = msgspec.json.decode((VECTOR_DIR / f"{name}.json").read_bytes(), type=VectorDoc)
    union = ClientMessage if doc.direction == "client" else ServerMessage
    return doc, (VECTOR_DIR / f"{name}.msgpack").read_bytes(), msgspec.json.decode(doc.message, type=union)


def _decoder(direction: str):
    return decode_client if direction == "client" else decode_server


def _tag(obj: Any) -> str:
    return msgspec.inspect.type_info(type(obj)).tag


# ---------------------------------------------------------------- the committed files are current
def test_committed_vectors_match_the_generator(tmp_path: Path) -> None:
    generate.write(tmp_path)
    fresh = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    committed = {p.name: p.read_bytes() for p in VECTOR_DIR.iterdir()
                 if p.is_file() and p.suffix in generate.GENERATED_SUFFIXES}
    missing = sorted(set(fresh) - set(committed))
    extra = sorted(set(committed) - set(fresh))
    changed = sorted(n for n in set(fresh) & set(committed) if fresh[n] != committed[n])
    assert not (missing or extra or changed), (
        f"protocol/vectors is stale (missing {missing}, not generated {extra}, changed {changed}): {REGENERATE}")


def test_generation_is_deterministic() -> None:
    assert generate.build() == generate.build()


def test_check_mode_reports_stale_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    generate.write(tmp_path)
    assert generate.main(["--out", str(tmp_path), "--check"]) == 0
    (tmp_path / "ack.msgpack").write_bytes(b"\x80")
    (tmp_path / "orphan.json").write_bytes(b"{}")
    assert generate.main(["--out", str(tmp_path), "--check"]) == 1
    out = capsys.readouterr().out
    assert "stale: ack.msgpack" in out and "stale: orphan.json" in out


def test_writing_removes_orphaned_vectors(tmp_path: Path) -> None:
    (tmp_path / "renamed_long_ago.msgpack").write_bytes(b"\xc0")
    (tmp_path / "notes.txt").write_text("kept")
    generate.write(tmp_path)
    assert not (tmp_path / "renamed_long_ago.msgpack").exists()
    assert (tmp_path / "notes.txt").exists()


# ---------------------------------------------------------------- message pairs
def test_every_pair_is_complete() -> None:
    jsons = {p.name.removesuffix(".json") for p in VECTOR_DIR.glob("*.json")
             if not p.name.endswith(".view.json") and not p.name.startswith("column_")}
    assert jsons == set(PAIRS), REGENERATE


@pytest.mark.parametrize("name", PAIRS)
def test_msgpack_decodes_to_the_json_message(name: str) -> None:
    doc, frame, expected = load(name)
    decoded = _decoder(doc.direction)(frame)
    assert decoded == expected
    assert _tag(decoded) == doc.type
    assert json.loads(bytes(doc.message))["t"] == doc.type


@pytest.mark.parametrize("name", PAIRS)
def test_encoding_the_json_message_gives_the_exact_bytes(name: str) -> None:
    doc, frame, expected = load(name)
    if doc.decode_only:
        # A decode-only frame differs from the canonical encoding on purpose; its message still has one.
        assert encode(expected) != frame
        assert _decoder(doc.direction)(encode(expected)) == expected
    else:
        assert encode(expected) == frame


@pytest.mark.parametrize("name", PAIRS)
def test_the_other_direction_refuses_one_way_messages(name: str) -> None:
    doc, frame, expected = load(name)
    other, other_types = ((decode_server, SERVER_MESSAGE_TYPES) if doc.direction == "client"
                          else (decode_client, CLIENT_MESSAGE_TYPES))
    if type(expected) in other_types:
        assert other(frame) == expected
    else:
        with pytest.raises(DecodeError):
            other(frame)


@pytest.mark.parametrize(("direction", "cls"), [
    *(("client", c) for c in CLIENT_MESSAGE_TYPES),
    *(("server", c) for c in SERVER_MESSAGE_TYPES),
], ids=lambda v: v if isinstance(v, str) else v.__name__)
def test_every_message_type_has_a_canonical_vector(direction: str, cls: type) -> None:
    covered = set()
    for name in PAIRS:
        doc, _, message = load(name)
        if not doc.decode_only:
            covered.add((doc.direction, type(message)))
    assert (direction, cls) in covered, f"no {direction} vector for {cls.__name__}: add one to generate.py"


def test_vectors_carry_the_current_schema_hash() -> None:
    _, _, hello = load("hello")
    _, _, welcome = load("welcome")
    assert hello.schema == welcome.schema == SCHEMA_HASH


# ---------------------------------------------------------------- snapshots
def _view_from_json(kinds: dict[str, Any]) -> WorldView:
    return {k: KindView(np.array(v["ids"], np.int64), np.array(v["q"], np.int64).reshape(-1, 3))
            for k, v in kinds.items()}


def _view_doc(name: str) -> dict[str, Any]:
    return json.loads((VECTOR_DIR / f"{name}.view.json").read_text())


def _parts(doc: dict[str, Any]) -> list[Snapshot]:
    parts = [decode_server((VECTOR_DIR / f"{p}.msgpack").read_bytes()) for p in doc["parts"]]
    assert all(isinstance(p, Snapshot) for p in parts)
    return parts


@pytest.mark.parametrize("name", VIEWS)
def test_snapshot_vectors_apply_to_their_view(name: str) -> None:
    doc = _view_doc(name)
    baseline = None
    if doc["baseline_vector"] is not None:
        baseline = _view_from_json(_view_doc(doc["baseline_vector"])["kinds"])
    parts = _parts(doc)
    assert [p.part for p in parts] == list(range(len(parts)))
    assert {(p.tick, p.parts) for p in parts} == {(doc["tick"], len(parts))}
    view = apply_blocks(baseline, [b for p in parts for b in p.blocks])
    assert sorted(view) == sorted(doc["kinds"])
    for kind, expected in doc["kinds"].items():
        assert view[kind].ids.tolist() == expected["ids"]
        assert view[kind].q.tolist() == expected["q"]
        assert (view[kind].q * POSITION_QUANTUM).tolist() == expected["metres"]


def test_snapshot_chain_through_the_assembler() -> None:
    """What a client does: feed full, delta and kind-gone in order (and split parts out of order)."""
    assembler = SnapshotAssembler()
    for name in ("snapshot_full", "snapshot_delta", "snapshot_kind_gone"):
        doc = _view_doc(name)
        (part,) = _parts(doc)
        tick, view = assembler.feed(part)
        assert tick == doc["tick"] and view == _view_from_json(doc["kinds"])
    doc = _view_doc("snapshot_split")
    parts = _parts(doc)
    assert len(parts) > 1, "snapshot_split must exercise several parts"
    fresh = SnapshotAssembler()
    results = [fresh.feed(p) for p in reversed(parts)]
    assert results[:-1] == [None] * (len(parts) - 1)
    assert results[-1][1] == _view_from_json(doc["kinds"])


def test_a_delta_without_its_baseline_is_refused() -> None:
    (delta,) = _parts(_view_doc("snapshot_delta"))
    with pytest.raises(SnapshotError):
        SnapshotAssembler().feed(delta)


def test_split_snapshot_covers_the_id_space_with_ranges() -> None:
    blocks = [b for p in _parts(_view_doc("snapshot_split")) for b in p.blocks]
    npc = sorted((b.lo, b.hi) for b in blocks if b.kind == "npc")
    assert len(npc) > 1 and npc[0][0] == 0 and npc[-1][1] == 2**32
    assert all(a[1] == b[0] for a, b in zip(npc, npc[1:], strict=False))


# ---------------------------------------------------------------- columns
@pytest.mark.parametrize("name", COLUMNS)
def test_column_vectors(name: str) -> None:
    doc = json.loads((VECTOR_DIR / name).read_text())
    col = Column(doc["base"], doc["bits"], doc["count"], bytes.fromhex(doc["data"]))
    assert unpack_column(col).tolist() == doc["values"]
    assert pack_column(np.array(doc["values"], np.int64)) == col
    assert msgspec.msgpack.encode(col).hex() == doc["msgpack"]
    assert len(col.data) == (col.bits * col.count + 7) // 8
