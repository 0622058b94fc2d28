"""The kernel-written snapshot frame is byte-identical to the reference encoder's single-part frame."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import protocol as p
from protocol.frame_encoder import FrameEncoder
from protocol.snapshot import KindView, encode_snapshot

KINDS = ("player", "npc")


@st.composite
def flat_views(draw):
    """A flat view: keys (kind<<32|id) ascending and q (n,3) int64, plus the same as a WorldView."""
    per_kind = []
    for _ in KINDS:
        ids = sorted(draw(st.sets(st.integers(1, 2**32 - 1), max_size=40)))
        q = draw(st.lists(st.tuples(*[st.integers(-(2**40), 2**40)] * 3), min_size=len(ids), max_size=len(ids)))
        per_kind.append((np.asarray(ids, np.int64), np.asarray(q, np.int64).reshape(-1, 3)))
    return per_kind


def _flat(per_kind):
    keys = np.concatenate([(k << 32) | ids for k, (ids, _) in enumerate(per_kind)]).astype(np.int64)
    q = np.concatenate([q for _, q in per_kind]).reshape(-1, 3)
    return keys, q


def _world(per_kind):
    return {name: KindView(ids, q) for name, (ids, q) in zip(KINDS, per_kind, strict=True)}


@settings(max_examples=300, deadline=None)
@given(cur=flat_views(), base=st.one_of(st.none(), flat_views()), tick=st.integers(2, 2**40),
       ack=st.integers(0, 2**63 - 1), time=st.floats(allow_nan=False))
def test_kernel_frame_equals_reference_frame(cur, base, tick, ack, time) -> None:
    encoder = FrameEncoder(KINDS)
    baseline_tick = 0 if base is None else tick - 1
    ck, cq = _flat(cur)
    bk, bq = (None, None) if base is None else _flat(base)
    fast = encoder.encode(tick, baseline_tick, ack, time, ck, cq, bk, bq)
    [reference] = encode_snapshot(tick, baseline_tick, ack, time, _world(cur),
                                  None if base is None else _world(base))
    assert fast == p.encode(reference)


def test_oversize_frame_returns_none_for_the_splitting_encoder() -> None:
    rng = np.random.default_rng(0)
    ids = np.arange(1, 20_001, dtype=np.int64)
    q = rng.integers(-(2**30), 2**30, size=(ids.size, 3))
    keys = (1 << 32) | ids
    assert FrameEncoder(KINDS).encode(5, 0, 0, 0.0, keys, q) is None


def test_buffers_grow_and_are_reused() -> None:
    encoder = FrameEncoder(KINDS)
    for n in (1, 3000, 2, 5000):
        ids = np.arange(1, n + 1, dtype=np.int64)
        q = np.zeros((n, 3), np.int64)
        frame = encoder.encode(1, 0, 0, 0.0, (1 << 32) | ids, q)
        assert frame is not None
        [ref] = encode_snapshot(1, 0, 0, 0.0, {"player": KindView.empty(), "npc": KindView(ids, q)}, None)
        assert frame == p.encode(ref)


def test_wide_columns_take_the_bitwise_path_and_still_match() -> None:
    ids = np.array([1, 2, 3], np.int64)
    q = np.array([[-(2**62), 0, 5], [2**62, 1, -5], [0, -(2**61), 2**61]], np.int64)
    frame = FrameEncoder(KINDS).encode(2, 0, 0, 0.0, (1 << 32) | ids, q)
    [ref] = encode_snapshot(2, 0, 0, 0.0, {"player": KindView.empty(), "npc": KindView(ids, q)}, None)
    assert frame == p.encode(ref)
