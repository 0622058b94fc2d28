"""Tests of protocol.snapshot: bit-packed columns, delta encoding, frame splitting and client reassembly."""

from __future__ import annotations

import ast
import random
from pathlib import Path

import msgspec
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from protocol.codec import decode_server, encode
from protocol.errors import SnapshotError
from protocol.messages import MAX_FRAME_BYTES, POSITION_QUANTUM, Column, KindBlock, Snapshot, kind_block
from protocol.snapshot import (
    ID_LIMIT,
    KindView,
    SnapshotAssembler,
    WorldView,
    apply_blocks,
    dequantize,
    encode_kind,
    encode_snapshot,
    pack_column,
    quantize,
    unpack_column,
)

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
SLOW = settings(deadline=None, max_examples=150)


# ---------------------------------------------------------------- slow pure-Python references
def ref_pack(values: list[int]) -> Column:
    """Frame-of-reference packing, one Python int as the bit stream."""
    if not values:
        return Column()
    base = min(values)
    bits = (max(values) - base).bit_length()
    stream = 0
    for i, v in enumerate(values):
        stream |= (v - base) << (i * bits)
    return Column(base, bits, len(values), stream.to_bytes((bits * len(values) + 7) // 8, "little"))


def ref_unpack(col: Column) -> list[int]:
    stream = int.from_bytes(col.data, "little")
    mask = (1 << col.bits) - 1
    return [col.base + ((stream >> (i * col.bits)) & mask) for i in range(col.count)]


def ref_encode_kind(kind: str, cur: KindView, base: KindView | None, lo: int, hi: int) -> KindBlock:
    """The KindBlock spec with dicts and sets."""
    now = {i: tuple(p) for i, p in zip(cur.ids.tolist(), cur.q.tolist(), strict=True) if lo <= i < hi}
    was = {} if base is None else {
        i: tuple(p) for i, p in zip(base.ids.tolist(), base.q.tolist(), strict=True) if lo <= i < hi}
    entered = sorted(set(now) - set(was))
    kept = sorted(set(now) & set(was))

    def wrap(x: int) -> int:  # int64 wrap-around, as the encoder's numpy arithmetic
        return (x + 2**63) % 2**64 - 2**63

    return kind_block(
        kind, lo, hi,
        entered=ref_pack(entered),
        ex=ref_pack([now[i][0] for i in entered]),
        ey=ref_pack([now[i][1] for i in entered]),
        ez=ref_pack([now[i][2] for i in entered]),
        removed=ref_pack(sorted(set(was) - set(now))),
        dx=ref_pack([wrap(now[i][0] - was[i][0]) for i in kept]),
        dy=ref_pack([wrap(now[i][1] - was[i][1]) for i in kept]),
        dz=ref_pack([wrap(now[i][2] - was[i][2]) for i in kept]),
    )


def view(ids, q) -> KindView:
    return KindView(np.asarray(ids, np.int64), np.asarray(q, np.int64).reshape(-1, 3))


def all_blocks(parts: list[Snapshot]) -> list[KindBlock]:
    return [b for p in parts for b in p.blocks]


# ---------------------------------------------------------------- strategies
@st.composite
def int64_lists(draw, max_size: int = 60) -> list[int]:
    """Lists of int64 clustered around a base with a random span (so every bit width shows up)."""
    width = draw(st.integers(0, 64))
    base = draw(st.integers(INT64_MIN, INT64_MAX))
    lo, hi = max(INT64_MIN, base), min(INT64_MAX, base + (1 << width) - 1)
    values = st.one_of(st.integers(lo, hi), st.sampled_from([lo, hi]))
    return draw(st.lists(values, max_size=max_size))


ids_pool = st.one_of(st.integers(0, 60), st.integers(0, ID_LIMIT - 1), st.sampled_from([0, ID_LIMIT - 1]))
coords = {"small": st.integers(-50, 50), "wide": st.integers(-(2**40), 2**40), "any": st.integers(INT64_MIN, INT64_MAX)}


@st.composite
def kind_views(draw, ids: list[int], scale: str) -> KindView:
    q = draw(arrays(np.int64, (len(ids), 3), elements=coords[scale]))
    return view(ids, q)


@st.composite
def world_pairs(draw) -> tuple[WorldView | None, WorldView]:
    """(baseline or None, current) over a few kinds with random overlap, appearing/vanishing kinds."""
    baseline: WorldView = {}
    current: WorldView = {}
    for kind in ("npc", "player", "k" * 64):
        presence = draw(st.sampled_from(["both", "baseline", "current", "neither"]))
        scale = draw(st.sampled_from(sorted(coords)))
        pool = sorted(draw(st.sets(ids_pool, max_size=40)))
        in_base = draw(st.lists(st.booleans(), min_size=len(pool), max_size=len(pool)))
        in_cur = in_base if draw(st.booleans()) else draw(
            st.lists(st.booleans(), min_size=len(pool), max_size=len(pool)))
        base_ids = [i for i, keep in zip(pool, in_base, strict=True) if keep]
        cur_ids = [i for i, keep in zip(pool, in_cur, strict=True) if keep]
        if presence in ("both", "baseline"):
            baseline[kind] = draw(kind_views(base_ids, scale))
        if presence in ("both", "current"):
            current[kind] = draw(kind_views(cur_ids, scale))
    return (baseline if draw(st.booleans()) else None), current


def random_view(rng: np.random.Generator, n: int, metres: float = 1000.0) -> KindView:
    ids = np.sort(rng.choice(ID_LIMIT, n, replace=False)).astype(np.int64)
    return KindView(ids, quantize(rng.uniform(-metres, metres, (n, 3))))


# ---------------------------------------------------------------- quantization
def test_quantize_rounds_half_to_even_and_dequantize_inverts() -> None:
    pos = np.array([[0.5, 1.5, -0.5], [2.5, 0.49, -1.5]]) * POSITION_QUANTUM
    assert quantize(pos).tolist() == [[0, 2, 0], [2, 0, -2]]
    assert quantize(pos).dtype == np.int64
    rng = np.random.default_rng(0)
    metres = rng.uniform(-5000, 5000, (100, 3))
    assert np.all(np.abs(dequantize(quantize(metres)) - metres) <= POSITION_QUANTUM / 2)


@pytest.mark.parametrize("bad", [np.zeros((3,)), np.zeros((2, 2)), np.array([[np.nan, 0, 0]]),
                                 np.array([[np.inf, 0, 0]]), np.array([[1e300, 0, 0]])])
def test_quantize_rejects_bad_positions(bad: np.ndarray) -> None:
    with pytest.raises(ValueError):
        quantize(bad)


# ---------------------------------------------------------------- columns
@SLOW
@given(int64_lists())
def test_pack_column_equals_reference(values: list[int]) -> None:
    assert pack_column(np.array(values, np.int64)) == ref_pack(values)


@SLOW
@given(int64_lists())
def test_pack_unpack_round_trip_through_msgpack(values: list[int]) -> None:
    col = msgspec.msgpack.decode(msgspec.msgpack.encode(pack_column(np.array(values, np.int64))), type=Column)
    out = unpack_column(col)
    assert out.dtype == np.int64
    assert out.tolist() == values


def test_pack_column_edge_cases() -> None:
    assert pack_column(np.empty(0, np.int64)) == Column()
    assert pack_column(np.full(5, -7)) == Column(-7, 0, 5, b"")
    extremes = np.array([INT64_MIN, INT64_MAX, 0, -1, INT64_MAX], np.int64)
    col = pack_column(extremes)
    assert (col.base, col.bits, len(col.data)) == (INT64_MIN, 64, 40)
    assert unpack_column(col).tolist() == extremes.tolist()
    assert pack_column(np.array([3, 4, 5, 6], np.int64)) == Column(3, 2, 4, bytes([0b11100100]))
    with pytest.raises(ValueError):
        pack_column(np.zeros((2, 2), np.int64))


@SLOW
@given(st.data(), st.integers(INT64_MIN, INT64_MAX), st.integers(0, 64), st.integers(0, 40))
def test_unpack_column_equals_reference_or_reports_overflow(data, base: int, bits: int, count: int) -> None:
    col = Column(base, bits, count, data.draw(st.binary(min_size=(bits * count + 7) // 8,
                                                        max_size=(bits * count + 7) // 8)))
    expected = ref_unpack(col)
    if any(v > INT64_MAX for v in expected):
        with pytest.raises(SnapshotError):
            unpack_column(col)
    else:
        assert unpack_column(col).tolist() == expected


junk = st.one_of(st.none(), st.text(max_size=3), st.floats(), st.booleans())


@settings(deadline=None, max_examples=400)
@given(st.one_of(st.integers(-(2**70), 2**70), junk), st.one_of(st.integers(-3, 70), junk),
       st.one_of(st.integers(-3, 2**21), st.integers(0, 30), junk), st.one_of(st.binary(max_size=40), junk))
def test_corrupted_column_raises_only_snapshot_error(base, bits, count, data) -> None:
    try:
        out = unpack_column(Column(base, bits, count, data))
    except SnapshotError:
        return
    assert out.dtype == np.int64 and out.shape == (count,)


@pytest.mark.parametrize("col", [
    Column(0, 3, 8, b"\x00\x00"),  # one byte short
    Column(0, 3, 8, b"\x00" * 4),  # one byte long
    Column(0, 0, 3, b"\x00"),  # bits 0 carries no data
    Column(0, 65, 1, b"\x00" * 9),  # bits > 64
    Column(INT64_MAX, 1, 1, b"\x01"),  # INT64_MAX + 1
    Column(1, 64, 1, b"\xff" * 8),  # 1 + 2**64 - 1
    Column(0, 1, (1 << 20) + 1, b"\x00" * ((1 << 17) + 1)),  # count over the wire bound
])
def test_bad_columns_raise_snapshot_error(col: Column) -> None:
    with pytest.raises(SnapshotError):
        unpack_column(col)


# ---------------------------------------------------------------- encode / apply
@SLOW
@given(world_pairs(), st.data())
def test_encode_kind_equals_reference(pair, data) -> None:
    baseline, current = pair
    for kind, cur in current.items():
        lo = data.draw(st.sampled_from([0, 10, 2**31]))
        hi = data.draw(st.sampled_from([ID_LIMIT, lo, lo + 30]))
        base = None if baseline is None else baseline.get(kind)
        assert encode_kind(kind, cur, base, lo, hi) == ref_encode_kind(kind, cur, base, lo, hi)


@SLOW
@given(world_pairs(), st.sampled_from([MAX_FRAME_BYTES, 700, 420]))
def test_encode_apply_round_trip(pair, max_bytes: int) -> None:
    baseline, current = pair
    parts = encode_snapshot(9, 0 if baseline is None else 8, 3, 12.5, current, baseline, max_bytes)
    assert [p.part for p in parts] == list(range(len(parts)))
    assert all(p.parts == len(parts) and (p.tick, p.input_ack, p.time) == (9, 3, 12.5) for p in parts)
    frames = [encode(p) for p in parts]
    assert all(len(f) <= max_bytes for f in frames)
    decoded = [decode_server(f) for f in frames]
    blocks = all_blocks(decoded)
    for kind in current:  # each kind's blocks tile the whole id space
        ranges = sorted((b.lo, b.hi) for b in blocks if b.kind == kind)
        assert ranges[0][0] == 0 and ranges[-1][1] == ID_LIMIT
        assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:], strict=False))
    assert {b.kind for b in blocks} == set(current)
    assert apply_blocks(baseline, blocks) == current


def test_full_snapshot_is_a_delta_against_nothing() -> None:
    cur = view([5, 9], [[1, 2, 3], [4, 5, 6]])
    block = encode_kind("npc", cur, None)
    assert block == encode_kind("npc", cur, KindView.empty())
    assert unpack_column(block.entered).tolist() == [5, 9]
    assert unpack_column(block.ey).tolist() == [2, 5]
    assert block.removed == block.dx == Column()


def test_apply_blocks_keeps_only_what_the_blocks_cover() -> None:
    base = {"npc": view([1, 10], [[0, 0, 0], [1, 1, 1]]), "gone": view([3], [[0, 0, 0]])}
    block = kind_block("npc", 0, 5, dx=pack_column(np.array([2])), dy=pack_column(np.array([0])),
                      dz=pack_column(np.array([0])))
    out = apply_blocks(base, [block])
    assert set(out) == {"npc"}
    assert out["npc"] == view([1], [[2, 0, 0]])
    assert not out["npc"].ids.flags.writeable and not out["npc"].q.flags.writeable
    assert apply_blocks(base, []) == {}


def _delta_block(**changes) -> KindBlock:
    """A valid delta of kind "npc" from ids [2, 4, 6] to [4, 6, 8]; ``changes`` corrupt it."""
    fields = dict(kind="npc", lo=0, hi=ID_LIMIT, entered=pack_column(np.array([8])),
                  ex=pack_column(np.array([1])), ey=pack_column(np.array([1])), ez=pack_column(np.array([1])),
                  removed=pack_column(np.array([2])), dx=pack_column(np.array([0, 1])),
                  dy=pack_column(np.array([0, 0])), dz=pack_column(np.array([0, 0])))
    fields.update(changes)
    return kind_block(**fields)


DELTA_BASE = {"npc": view([2, 4, 6], np.zeros(9))}


def test_delta_block_helper_is_valid() -> None:
    assert apply_blocks(DELTA_BASE, [_delta_block()]) == {"npc": view([4, 6, 8], [[0, 0, 0], [1, 0, 0], [1, 1, 1]])}


@pytest.mark.parametrize("blocks", [
    [_delta_block(dx=pack_column(np.array([0])))],  # fewer deltas than kept ids
    [_delta_block(dy=pack_column(np.array([0, 0, 0])))],  # more deltas than kept ids
    [_delta_block(ex=Column())],  # entered positions missing
    [_delta_block(hi=8)],  # entered id outside [lo, hi)
    [_delta_block(lo=3)],  # removed id outside [lo, hi)
    [_delta_block(entered=pack_column(np.array([9, 8])), ex=pack_column(np.array([1, 1])),
                  ey=pack_column(np.array([1, 1])), ez=pack_column(np.array([1, 1])))],  # unsorted
    [_delta_block(entered=pack_column(np.array([8, 8])), ex=pack_column(np.array([1, 1])),
                  ey=pack_column(np.array([1, 1])), ez=pack_column(np.array([1, 1])))],  # duplicate
    [_delta_block(removed=pack_column(np.array([3])), dx=pack_column(np.array([0, 0, 0])),
                  dy=pack_column(np.array([0, 0, 0])), dz=pack_column(np.array([0, 0, 0])))],  # not in baseline
    [_delta_block(entered=pack_column(np.array([4])))],  # entered id already in the baseline
    [_delta_block(hi=5), _delta_block(lo=4, entered=Column(), ex=Column(), ey=Column(), ez=Column(),
                                      removed=Column())],  # overlapping ranges
    [_delta_block(lo=7, hi=6)],  # lo > hi
    [_delta_block(hi=ID_LIMIT + 1)],  # beyond the id space
    [_delta_block(dz=Column(0, 64, 2, b"\x00" * 15))],  # truncated column
])
def test_inconsistent_blocks_raise_snapshot_error(blocks: list[KindBlock]) -> None:
    with pytest.raises(SnapshotError):
        apply_blocks(DELTA_BASE, blocks)


column_junk = st.builds(Column, st.integers(-(2**64), 2**64), st.integers(-1, 66), st.integers(-1, 12),
                        st.binary(max_size=12))


@settings(deadline=None, max_examples=300)
@given(st.sampled_from(["entered", "ex", "ey", "ez", "removed", "dx", "dy", "dz"]), column_junk,
       st.integers(-2, ID_LIMIT + 2), st.integers(-2, ID_LIMIT + 2))
def test_corrupted_blocks_raise_only_snapshot_error(field: str, col: Column, lo: int, hi: int) -> None:
    for block in (_delta_block(**{field: col}), _delta_block(lo=lo, hi=hi)):
        try:
            out = apply_blocks(DELTA_BASE, [block])
        except SnapshotError:
            continue
        assert set(out) == {"npc"}


def test_views_validate_their_arrays() -> None:
    with pytest.raises(ValueError):
        view([3, 2], np.zeros(6))
    with pytest.raises(ValueError):
        view([2, 2], np.zeros(6))
    with pytest.raises(ValueError):
        view([ID_LIMIT], np.zeros(3))
    with pytest.raises(ValueError):
        KindView(np.array([1, 2]), np.zeros((2, 2), np.int64))
    assert len(KindView(np.array([], np.int64), np.array([]))) == 0


def test_encode_snapshot_rejects_bad_arguments() -> None:
    cur = {"npc": view([1], [[0, 0, 0]])}
    with pytest.raises(ValueError):
        encode_snapshot(2, 1, 0, 0.0, cur, None)
    with pytest.raises(ValueError):
        encode_snapshot(2, 0, 0, 0.0, cur, cur)
    with pytest.raises(ValueError):
        encode_snapshot(2, 0, 0, 0.0, cur, None, max_bytes=200)
    with pytest.raises(ValueError):
        encode_snapshot(2, 0, 0, 0.0, {"k" * 65: cur["npc"]}, None)


# ---------------------------------------------------------------- wire size and splitting
def test_small_delta_costs_at_most_two_bytes_per_entity() -> None:
    """200 entities moving < 0.2 m: 5 bits per axis, 375 bytes of data plus < 150 bytes of headers."""
    rng = np.random.default_rng(7)
    before = random_view(rng, 200, metres=500.0)
    metres = dequantize(before.q)
    step = rng.normal(size=(200, 3))
    step *= rng.uniform(0, 0.2, (200, 1)) / np.linalg.norm(step, axis=1, keepdims=True)
    after = KindView(before.ids.copy(), quantize(metres + step))
    parts = encode_snapshot(101, 100, 55, 1234.5, {"npc": after}, {"npc": before})
    assert len(parts) == 1
    size = len(encode(parts[0]))
    assert (size - 150) / 200 <= 2.0, size
    assert apply_blocks({"npc": before}, decode_server(encode(parts[0])).blocks) == {"npc": after}


def test_100k_full_snapshot_splits_and_reassembles_in_any_order() -> None:
    rng = np.random.default_rng(42)
    current = {"npc": random_view(rng, 100_000), "player": random_view(rng, 30), "item": KindView.empty()}
    parts = encode_snapshot(1, 0, 0, 99.0, current, None)
    assert len(parts) > 1
    frames = [encode(p) for p in parts]
    assert max(len(f) for f in frames) <= MAX_FRAME_BYTES
    npc_ranges = sorted((b.lo, b.hi) for b in all_blocks(parts) if b.kind == "npc")
    assert len(npc_ranges) > 1 and npc_ranges[0][0] == 0 and npc_ranges[-1][1] == ID_LIMIT
    assert all(a[1] == b[0] for a, b in zip(npc_ranges, npc_ranges[1:], strict=False))

    assembler = SnapshotAssembler()
    random.Random(3).shuffle(frames)
    results = [assembler.feed(decode_server(f)) for f in frames]
    assert results[:-1] == [None] * (len(frames) - 1)
    tick, got = results[-1]
    assert tick == 1 and got == current
    assert assembler.latest == (1, current)

    # a large delta against the tick just assembled: 2000 leave, 500 enter, everyone moves
    keep = np.ones(100_000, bool)
    keep[rng.choice(100_000, 2000, replace=False)] = False
    fresh = np.setdiff1d(rng.choice(ID_LIMIT, 600, replace=False), current["npc"].ids)[:500]
    ids = np.concatenate((current["npc"].ids[keep], fresh))
    q = np.concatenate((current["npc"].q[keep] + rng.integers(-20, 21, (keep.sum(), 3)),
                        rng.integers(-64000, 64000, (fresh.size, 3))))
    order = np.argsort(ids)
    nxt = {"npc": KindView(ids[order], q[order]), "player": current["player"]}
    parts = encode_snapshot(2, 1, 0, 99.05, nxt, current)
    frames = [encode(p) for p in parts]
    assert max(len(f) for f in frames) <= MAX_FRAME_BYTES
    random.Random(4).shuffle(frames)
    results = [assembler.feed(decode_server(f)) for f in frames]
    assert results[-1] is not None and results[-1][0] == 2 and results[-1][1] == nxt


# ---------------------------------------------------------------- assembler
def _full(tick: int, world: WorldView, **kw) -> Snapshot:
    (snap,) = encode_snapshot(tick, 0, 0, float(tick), world, None)
    return msgspec.structs.replace(snap, **kw) if kw else snap


def _delta(tick: int, baseline_tick: int, world: WorldView, base: WorldView) -> Snapshot:
    (snap,) = encode_snapshot(tick, baseline_tick, 0, float(tick), world, base)
    return snap


W1 = {"npc": view([1, 2], [[0, 0, 0], [5, 5, 5]])}
W2 = {"npc": view([2, 3], [[6, 5, 5], [9, 9, 9]])}


def test_assembler_applies_deltas_against_remembered_ticks() -> None:
    asm = SnapshotAssembler(history=2)
    assert asm.latest is None
    assert asm.feed(_full(1, W1)) == (1, W1)
    assert asm.feed(_delta(2, 1, W2, W1)) == (2, W2)
    assert asm.feed(_delta(3, 1, W1, W1)) == (3, W1)  # tick 1 is still held (history 2: ticks 2, 3)
    with pytest.raises(SnapshotError):  # tick 1 fell out of the history
        asm.feed(_delta(4, 1, W2, W1))
    assert asm.feed(_delta(4, 2, W1, W2)) == (4, W1)
    assert asm.latest == (4, W1)


def test_assembler_rejects_unknown_baseline() -> None:
    asm = SnapshotAssembler()
    with pytest.raises(SnapshotError):
        asm.feed(_delta(5, 4, W2, W1))
    asm.feed(_full(6, W1))
    with pytest.raises(SnapshotError):
        asm.feed(_delta(8, 7, W2, W1))
    with pytest.raises(SnapshotError):  # a baseline can only be older than the tick
        asm.feed(_delta(7, 9, W2, W1))


def test_assembler_ignores_old_snapshots() -> None:
    asm = SnapshotAssembler()
    asm.feed(_full(5, W1))
    assert asm.feed(_full(5, W2)) is None
    assert asm.feed(_full(3, W2)) is None
    assert asm.latest == (5, W1)


@pytest.mark.parametrize("second", [
    dict(part=1, parts=3),  # parts disagree
    dict(part=1, parts=2, input_ack=9),  # header disagrees
    dict(part=0, parts=2),  # repeated part
])
def test_assembler_rejects_disagreeing_parts(second: dict) -> None:
    asm = SnapshotAssembler()
    assert asm.feed(_full(1, W1, part=0, parts=2)) is None
    with pytest.raises(SnapshotError):
        asm.feed(_full(1, W1, **second))


@pytest.mark.parametrize("fields", [dict(part=2, parts=2), dict(part=-1, parts=2), dict(part=0, parts=0)])
def test_assembler_rejects_part_out_of_range(fields: dict) -> None:
    with pytest.raises(SnapshotError):
        SnapshotAssembler().feed(_full(1, W1, **fields))


def test_assembler_bounds_incomplete_ticks() -> None:
    asm = SnapshotAssembler()
    for tick in range(1, 11):
        assert asm.feed(_full(tick, W1, part=0, parts=2)) is None
    assert len(asm._pending) <= SnapshotAssembler.MAX_PENDING
    assert asm.feed(_full(1, W1, part=1, parts=2)) is None  # tick 1 was dropped, this part waits alone
    assert asm.feed(_full(10, W2, blocks=[], part=1, parts=2)) == (10, W1)
    assert asm._pending == {}  # completing tick 10 drops every older incomplete tick


def test_protocol_snapshot_imports_nothing_of_ours_outside_protocol() -> None:
    tree = ast.parse(Path(__file__).parents[1].joinpath("protocol", "snapshot.py").read_text())
    allowed = {"__future__", "dataclasses", "typing", "msgspec", "numpy", "numba"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            assert {a.name.split(".")[0] for a in node.names} <= allowed
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            assert node.module.split(".")[0] in allowed
