"""Sans-I/O session tests: bytes in, messages and bytes out, no sockets; plus a hypothesis state machine."""

from __future__ import annotations

import msgspec
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import protocol as p
from protocol.session import ClientSession, ServerSession, SessionLimits, State


def _hello(**kw) -> bytes:
    return ClientSession().hello(**kw)


def _out(session: ServerSession) -> list:
    return [p.decode_server(frame) for frame in session.data_to_send()]


def _welcome() -> p.Welcome:
    return p.Welcome(session="s", resume="r", tick_rate=20, tick=0, server_time=0.0, entity=1,
                     protocol=p.PROTOCOL_VERSION, schema=p.SCHEMA_HASH)


def _open_session(**limits) -> ServerSession:
    session = ServerSession(limits=SessionLimits(**limits))
    [hello] = session.receive_frame(_hello(), now=0.0)
    assert isinstance(hello, p.Hello)
    session.accept(_welcome())
    session.data_to_send()
    return session


def test_handshake_hands_hello_to_app_then_welcome_goes_out() -> None:
    session = ServerSession()
    [hello] = session.receive_frame(_hello(name="ann"), now=0.0)
    assert hello.name == "ann" and session.state is State.AWAITING_WELCOME
    assert session.receive_frame(p.encode(p.Ping()), now=0.0) == []
    [err] = _out(session)
    assert err.code == p.ErrorCode.UNEXPECTED
    session.accept(_welcome())
    assert isinstance(_out(session)[0], p.Welcome) and session.state is State.OPEN


def test_version_mismatch_names_both_versions_and_closes_4002() -> None:
    session = ServerSession()
    frame = p.encode(p.Hello(protocol=7, schema=p.SCHEMA_HASH, client="c", version="v"))
    assert session.receive_frame(frame, now=0.0) == []
    [err] = _out(session)
    assert err.code == p.ErrorCode.VERSION_MISMATCH and "7" in err.message
    assert f"server speaks {p.PROTOCOL_VERSION}" in err.message
    assert session.close_code == p.CloseCode.VERSION_MISMATCH


def test_first_message_must_be_hello() -> None:
    session = ServerSession()
    session.receive_frame(p.encode(p.Input(seq=1, tick=0)), now=0.0)
    assert _out(session)[0].code == p.ErrorCode.UNEXPECTED
    assert session.close_code == p.CloseCode.PROTOCOL_VIOLATION


def test_garbage_first_frame_closes_with_protocol_violation() -> None:
    session = ServerSession()
    session.receive_frame(b"\xc1\x00", now=0.0)
    assert _out(session)[0].code == p.ErrorCode.MALFORMED
    assert session.close_code == p.CloseCode.PROTOCOL_VIOLATION


def test_invalid_message_after_open_gets_path_error_and_session_stays() -> None:
    session = _open_session()
    bad = msgspec.msgpack.encode({"t": "input", "seq": -1, "tick": 0})
    assert session.receive_frame(bad, now=1.0) == []
    [err] = _out(session)
    assert err.code == p.ErrorCode.INVALID and "$.seq" in err.message
    assert session.state is State.OPEN and not session.closing


def test_ping_is_answered_in_the_session() -> None:
    session = _open_session()
    assert session.receive_frame(p.encode(p.Ping(nonce=9, time=1.5)), now=2.0) == []
    [pong] = _out(session)
    assert (pong.nonce, pong.time, pong.server_time) == (9, 1.5, 2.0)


def test_bye_closes_normally_and_is_passed_on() -> None:
    session = _open_session()
    [bye] = session.receive_frame(p.encode(p.Bye()), now=1.0)
    assert isinstance(bye, p.Bye) and session.close_code == p.CloseCode.NORMAL


def test_oversize_frame_closes_1009() -> None:
    session = _open_session(max_frame=200)
    session.receive_frame(b"\x00" * 201, now=1.0)
    assert session.close_code == p.CloseCode.MESSAGE_TOO_BIG


def test_rate_limit_drops_with_one_notice_then_closes_on_flood() -> None:
    session = _open_session(rate=10, burst=5)
    ping = p.encode(p.Ping())
    passed = sum(1 for _ in range(8) if session.receive_frame(ping, now=1.0) == [] and True)
    assert passed == 8
    out = _out(session)
    pongs = [m for m in out if isinstance(m, p.Pong)]
    notices = [m for m in out if isinstance(m, p.Error) and m.code == p.ErrorCode.RATE_LIMITED]
    assert len(pongs) == 5 and len(notices) == 1  # the bucket holds at most `burst`; one notice per second
    for _ in range(20):
        session.receive_frame(ping, now=1.1)
    assert session.close_code == p.CloseCode.RATE_LIMIT


def test_tokens_refill_over_time() -> None:
    session = _open_session(rate=10, burst=2)
    ping = p.encode(p.Ping())
    for t in range(50):
        session.receive_frame(ping, now=1.0 + t * 0.2)  # 5 msg/s under a 10 msg/s limit
    assert session.counters.rate_limited == 0 and not session.closing


def test_many_violations_close_4004_but_spread_out_ones_do_not() -> None:
    session = _open_session(max_violations=5, violation_window=10.0)
    for i in range(5):
        session.receive_frame(b"\xc1", now=1.0 + i * 3.0)  # spread over 12 s: never 6 in a window
    assert not session.closing
    for _ in range(6):
        session.receive_frame(b"\xc1", now=20.0)
    assert session.close_code == p.CloseCode.TOO_MANY_ERRORS


def test_snapshot_lane_keeps_only_the_newest() -> None:
    session = _open_session()
    session.send_snapshot([b"old-1", b"old-2"])
    session.send_snapshot([b"new"])
    session.send(p.Pong())
    frames = session.data_to_send()
    assert frames[-1] == b"new" and b"old-1" not in frames
    assert p.decode_server(frames[0]) == p.Pong()
    assert session.counters.snapshots_replaced == 1


def test_text_frame_is_malformed() -> None:
    session = _open_session()
    session.receive_frame("hello", now=1.0)
    assert _out(session)[0].code == p.ErrorCode.MALFORMED


class SessionMachine(RuleBasedStateMachine):
    """Any interleaving of good and bad frames keeps the session's invariants."""

    def __init__(self) -> None:
        super().__init__()
        self.session = ServerSession(limits=SessionLimits(rate=1000, burst=1000))
        self.now = 0.0
        self.welcomed = False

    @rule(data=st.binary(max_size=64))
    def junk(self, data: bytes) -> None:
        self.now += 0.01
        self.session.receive_frame(data, now=self.now)

    @rule()
    def hello(self) -> None:
        self.now += 0.01
        out = self.session.receive_frame(_hello(), now=self.now)
        if out and self.session.state is State.AWAITING_WELCOME:
            self.session.accept(_welcome())
            self.welcomed = True

    @rule(seq=st.integers(0, 2**63 - 1), x=st.floats(-1, 1))
    def valid_input(self, seq: int, x: float) -> None:
        self.now += 0.01
        out = self.session.receive_frame(p.encode(p.Input(seq=seq, tick=0, move=(x, 0.0))), now=self.now)
        if self.session.state is State.OPEN:
            assert len(out) == 1 and isinstance(out[0], p.Input)
        else:
            assert out == [] or self.session.state is State.CLOSED

    @precondition(lambda self: self.session.state is State.OPEN)
    @rule()
    def ping(self) -> None:
        self.now += 0.01
        self.session.receive_frame(p.encode(p.Ping()), now=self.now)

    @invariant()
    def outgoing_frames_are_valid_server_messages(self) -> None:
        for frame in self.session.data_to_send():
            assert isinstance(p.decode_server(frame), p.ServerMessage.__args__)  # type: ignore[attr-defined]

    @invariant()
    def closed_means_a_close_code(self) -> None:
        if self.session.state is State.CLOSED:
            assert self.session.close_code is not None


TestSessionMachine = SessionMachine.TestCase
TestSessionMachine.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)
