"""InterpolationBuffer: exact at snapshot times, linear between, snapping, clamping. Pure numpy."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from worldloom_client.interpolation import InterpolationBuffer

from protocol.messages import POSITION_QUANTUM
from protocol.snapshot import KindView

Q = POSITION_QUANTUM


def kind(ids, q) -> KindView:
    return KindView(np.asarray(ids, np.int64), np.asarray(q, np.int64).reshape(-1, 3))


@st.composite
def world_views(draw, kinds=("npc", "player"), max_entities=12):
    view = {}
    for name in draw(st.sets(st.sampled_from(kinds), min_size=1)):
        ids = sorted(draw(st.sets(st.integers(0, 40), max_size=max_entities)))
        q = draw(st.lists(st.tuples(*[st.integers(-10_000, 10_000)] * 3), min_size=len(ids), max_size=len(ids)))
        view[name] = kind(ids, q)
    return view


@st.composite
def timelines(draw, min_size=1, max_size=6):
    n = draw(st.integers(min_size, max_size))
    gaps = draw(st.lists(st.floats(0.01, 1.0), min_size=n, max_size=n))
    start = draw(st.floats(0.0, 1e5))
    times = list(np.cumsum(gaps) + start)
    times = [t for i, t in enumerate(times) if i == 0 or t > times[i - 1]]
    return [(t, draw(world_views())) for t in times]


def assert_is_view(sample, view):
    assert set(sample) == set(view)
    for name, kv in view.items():
        ids, pos = sample[name]
        np.testing.assert_array_equal(ids, kv.ids)
        np.testing.assert_array_equal(pos, kv.q.astype(np.float64) * Q)
        assert pos.shape == (len(kv.ids), 3) and pos.dtype == np.float64


@settings(max_examples=150, deadline=None)
@given(timelines(), st.floats(0.0, 0.5))
def test_sample_at_a_snapshot_time_is_that_snapshot(timeline, delay):
    buf = InterpolationBuffer(delay=delay, capacity=16)
    for t, view in timeline:
        assert buf.push(t, view)
    for t, view in timeline:
        if (t + delay) - delay == t:  # render time whose rendered instant is exactly t in floats
            assert_is_view(buf.sample(t + delay), view)
    zero = InterpolationBuffer(delay=0.0, capacity=16)
    for t, view in timeline:
        zero.push(t, view)
    for t, view in timeline:
        assert_is_view(zero.sample(t), view)


@settings(max_examples=150, deadline=None)
@given(world_views(), st.data(), st.floats(0.0, 1e5), st.floats(0.01, 2.0))
def test_midpoint_is_the_average(early, data, t0, gap):
    late = {}
    for name, kv in early.items():  # same ids, new positions
        q = data.draw(st.lists(st.tuples(*[st.integers(-10_000, 10_000)] * 3),
                               min_size=len(kv.ids), max_size=len(kv.ids)))
        late[name] = kind(kv.ids, q)
    t1 = t0 + gap
    buf = InterpolationBuffer(delay=0.0)
    buf.push(t0, early)
    buf.push(t1, late)
    sample = buf.sample(t0 + (t1 - t0) / 2)
    for name in early:
        ids, pos = sample[name]
        np.testing.assert_array_equal(ids, late[name].ids)
        expected = (early[name].q + late[name].q).astype(np.float64) / 2 * Q
        np.testing.assert_allclose(pos, expected, rtol=1e-9, atol=1e-6)


@settings(max_examples=100, deadline=None)
@given(world_views(), world_views(), st.floats(0.0, 1.0))
def test_between_two_views_shows_the_later_set_and_stays_in_bounds(early, late, alpha):
    buf = InterpolationBuffer(delay=0.0)
    buf.push(10.0, early)
    buf.push(11.0, late)
    sample = buf.sample(10.0 + alpha)
    if 10.0 + alpha == 10.0:
        assert_is_view(sample, early)
        return
    assert set(sample) == set(late)
    for name, kv in late.items():
        ids, pos = sample[name]
        np.testing.assert_array_equal(ids, kv.ids)
        before = early.get(name)
        for row, entity in enumerate(kv.ids):
            b = kv.q[row] * Q
            hit = [] if before is None else np.flatnonzero(before.ids == entity)
            if len(hit):  # matched by id: between its two positions
                a = before.q[hit[0]] * Q
                lo, hi = np.minimum(a, b) - 1e-9, np.maximum(a, b) + 1e-9
                assert np.all(pos[row] >= lo) and np.all(pos[row] <= hi)
            else:  # present only in the later view: snapped
                np.testing.assert_array_equal(pos[row], b)


def test_entered_snaps_and_removed_disappears():
    buf = InterpolationBuffer(delay=0.0)
    buf.push(1.0, {"npc": kind([1, 2], [[0, 0, 0], [64, 0, 0]])})
    buf.push(2.0, {"npc": kind([2, 3], [[128, 0, 0], [640, 64, 0]])})
    ids, pos = buf.sample(1.25)["npc"]
    np.testing.assert_array_equal(ids, [2, 3])
    np.testing.assert_allclose(pos, [[1.25, 0, 0], [10.0, 1.0, 0]])


def test_before_oldest_shows_oldest_and_past_newest_extrapolates_one_interval_then_holds():
    buf = InterpolationBuffer(delay=0.1)
    buf.push(1.0, {"npc": kind([7], [[0, 0, 0]])})
    buf.push(2.0, {"npc": kind([7], [[64, 0, 0]])})  # 1 m per second
    assert buf.sample(0.0)["npc"][1][0, 0] == 0.0
    np.testing.assert_allclose(buf.sample(2.6)["npc"][1][0], [1.5, 0, 0])
    np.testing.assert_allclose(buf.sample(3.1)["npc"][1][0], [2.0, 0, 0])
    np.testing.assert_allclose(buf.sample(100.0)["npc"][1][0], [2.0, 0, 0])
    held = InterpolationBuffer(delay=0.0, max_extrapolation=0.0)
    held.push(1.0, {"npc": kind([7], [[0, 0, 0]])})
    held.push(2.0, {"npc": kind([7], [[64, 0, 0]])})
    np.testing.assert_allclose(held.sample(50.0)["npc"][1][0], [1.0, 0, 0])


def test_single_view_and_empty_buffer():
    buf = InterpolationBuffer(delay=0.1)
    assert buf.sample(5.0) == {}
    view = {"player": kind([3], [[1, 2, 3]])}
    buf.push(4.0, view)
    assert_is_view(buf.sample(0.0), view)
    assert_is_view(buf.sample(99.0), view)


def test_push_order_capacity_and_quantum():
    buf = InterpolationBuffer(delay=0.0, capacity=3, quantum=0.5)
    assert buf.push(1.0, {"npc": kind([1], [[2, 0, 0]])})
    assert not buf.push(0.5, {"npc": kind([1], [[4, 0, 0]])})  # older: ignored
    assert buf.push(1.0, {"npc": kind([1], [[6, 0, 0]])})  # same time: replaces
    np.testing.assert_allclose(buf.sample(1.0)["npc"][1], [[3.0, 0, 0]])
    for t in (2.0, 3.0, 4.0):
        buf.push(t, {"npc": kind([1], [[int(t), 0, 0]])})
    assert len(buf) == 3 and buf.newest_time == 4.0
    np.testing.assert_allclose(buf.sample(0.0)["npc"][1], [[1.0, 0, 0]])  # oldest kept is t=2


def test_empty_kinds_survive():
    buf = InterpolationBuffer(delay=0.0)
    buf.push(1.0, {"npc": KindView.empty()})
    buf.push(2.0, {"npc": KindView.empty()})
    ids, pos = buf.sample(1.5)["npc"]
    assert ids.shape == (0,) and pos.shape == (0, 3)


@pytest.mark.parametrize("kwargs", [{"delay": -1}, {"capacity": 1}, {"quantum": 0}, {"max_extrapolation": -1}])
def test_rejects_bad_settings(kwargs):
    with pytest.raises(ValueError):
        InterpolationBuffer(**kwargs)
