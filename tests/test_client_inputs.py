"""InputLog bookkeeping and the walking bot's move generator: no sockets."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from worldloom_client.bot import bot_seed, walk_moves
from worldloom_client.inputs import InputLog, clamp_axis

from protocol import decode_client, encode
from protocol.messages import Input


def test_seq_is_strictly_increasing_and_inputs_are_valid_wire_messages():
    log = InputLog()
    seqs = [log.record(0.5, -0.5, buttons=3, tick=7).seq for _ in range(5)]
    assert seqs == [1, 2, 3, 4, 5] and log.last_seq == 5
    message = log.record(2.0, float("nan"), buttons=1, tick=9)
    assert message.move == (1.0, 0.0)
    decoded = decode_client(encode(message))  # within the validated wire ranges
    assert isinstance(decoded, Input) and decoded.seq == 6 and decoded.tick == 9


def test_acknowledge_trims_and_resend_list_is_the_tail():
    log = InputLog()
    for _ in range(6):
        log.record(1.0, 0.0)
    assert log.acknowledge(2) == 2
    assert log.acknowledge(1) == 0  # older ack: nothing
    assert [m.seq for m in log.unacknowledged()] == [3, 4, 5, 6]
    assert [m.seq for m in log.unacknowledged(after=4)] == [5, 6]
    assert log.acked == 4 and len(log) == 2
    log.clear()
    assert len(log) == 0 and log.record(0, 0).seq == 1  # a fresh session counts from 1 again


def test_capacity_drops_oldest():
    log = InputLog(capacity=3)
    for _ in range(5):
        log.record(0.0, 1.0)
    assert [m.seq for m in log.unacknowledged()] == [3, 4, 5] and log.dropped == 2
    with pytest.raises(ValueError):
        InputLog(capacity=0)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.just("record"), st.integers(0, 60)), max_size=80))
def test_pending_is_exactly_the_unacknowledged_seqs(ops):
    log = InputLog(capacity=1000)
    acked, recorded = 0, []
    for op in ops:
        if op == "record":
            seq = log.record(0.1, 0.2).seq
            assert seq > max([acked, *recorded])
            recorded.append(seq)
        else:
            log.acknowledge(op)
            acked = max(acked, op)
    assert [m.seq for m in log.unacknowledged()] == [s for s in recorded if s > acked]


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_clamp_axis_stays_in_range(value):
    out = clamp_axis(value)
    assert -1.0 <= out <= 1.0
    if -1.0 <= value <= 1.0:
        assert out == value


def test_walk_moves_are_seeded_unit_moves_that_hold_about_two_seconds():
    first = walk_moves(5, input_rate=10.0)
    a = [next(first) for _ in range(500)]
    again = walk_moves(5, input_rate=10.0)
    assert a == [next(again) for _ in range(500)]
    other = walk_moves(6, input_rate=10.0)
    assert a != [next(other) for _ in range(500)]
    for x, y in a:
        assert (x, y) == (0.0, 0.0) or math.isclose(math.hypot(x, y), 1.0)
    changes = sum(1 for p, q in zip(a, a[1:], strict=False) if p != q)
    assert 15 <= changes <= 40  # ~ 500 inputs / 20 per direction
    assert bot_seed(1, 0) != bot_seed(1, 1) != bot_seed(2, 1)
