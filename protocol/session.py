"""Sans-I/O protocol sessions: frames in, typed messages out; messages in, frames out. No sockets here.

Why this design: the websocket adapter (server/transport.py, the Python client) only moves bytes; every
protocol rule — handshake order, version/schema checks, rate limiting, violation counting, which error
or close code to use — lives here where it is unit-tested without a network. The clock is passed in
(``now``, seconds) so the state machine stays deterministic under test.

Outgoing data has two lanes: an ordered reliable lane (Welcome, Error, RpcResponse, Event, Pong, Bye)
and a latest-only snapshot lane. A new snapshot replaces any snapshot parts not yet handed to the
transport, so a slow client receives the newest world state, never a backlog.

Alternatives rejected: asyncio protocol classes (untestable without a loop); one FIFO for everything
(a slow client would accumulate stale snapshots without bound).
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass, field

from .codec import decode_client, decode_server, encode
from .codes import CloseCode, ErrorCode
from .errors import DecodeError, SessionClosed
from .messages import (
    PROTOCOL_VERSION,
    SCHEMA_HASH,
    Bye,
    Error,
    Hello,
    Message,
    Ping,
    Pong,
    Role,
    Welcome,
)


class State(enum.Enum):
    AWAITING_HELLO = "awaiting_hello"
    AWAITING_WELCOME = "awaiting_welcome"  # server: Hello handed to the app, accept/refuse pending
    OPEN = "open"
    CLOSED = "closed"


@dataclass
class SessionLimits:
    """Per-connection limits. Rates in messages per second, sizes in bytes, windows in seconds."""

    max_frame: int = 16 * 1024
    rate: float = 60.0
    burst: float = 120.0
    max_violations: int = 20
    violation_window: float = 10.0
    notice_interval: float = 1.0  # at most one RATE_LIMITED / QUEUE_FULL error per interval


@dataclass
class SessionCounters:
    frames_in: int = 0
    bytes_in: int = 0
    frames_out: int = 0
    bytes_out: int = 0
    invalid: int = 0
    rate_limited: int = 0
    snapshots_replaced: int = 0


@dataclass
class ServerSession:
    """The server side of one connection.

    Feed every received frame to ``receive_frame``; it returns the messages the application must act on
    (``Hello`` first — answer it with ``accept`` or ``refuse`` — then ``Input``, ``Ack``, ``RpcRequest``,
    ``RpcResponse``, ``Bye``). ``Ping`` is answered here. Drain ``data_to_send`` after every call and
    close the socket with ``close_code`` once it is set and the outgoing data is written.
    """

    limits: SessionLimits = field(default_factory=SessionLimits)
    state: State = State.AWAITING_HELLO
    close_code: CloseCode | None = None
    close_reason: str = ""
    counters: SessionCounters = field(default_factory=SessionCounters)
    _reliable: deque[bytes] = field(default_factory=deque)
    _snapshot: list[bytes] = field(default_factory=list)
    _tokens: float = -1.0
    _last_refill: float = 0.0
    _dropped_window_start: float = 0.0
    _dropped_in_window: int = 0
    _violations: deque[float] = field(default_factory=deque)
    _last_notice: dict[int, float] = field(default_factory=dict)

    # ------------------------------------------------------------ input
    def receive_frame(self, data: bytes | str, now: float) -> list[Message]:
        """Process one websocket message. Returns the messages for the application (possibly none)."""
        if self.state is State.CLOSED:
            return []
        self.counters.frames_in += 1
        self.counters.bytes_in += len(data)
        if len(data) > self.limits.max_frame:
            self._close(CloseCode.MESSAGE_TOO_BIG, f"frame of {len(data)} bytes exceeds {self.limits.max_frame}")
            return []
        if not self._take_token(now):
            return []
        if isinstance(data, str):
            text = "text frames are not accepted; send binary MessagePack"
            if self.state is State.AWAITING_HELLO:
                self._refuse_handshake(ErrorCode.MALFORMED, text, CloseCode.PROTOCOL_VIOLATION)
            else:
                self._violation(now, ErrorCode.MALFORMED, text)
            return []
        try:
            message = decode_client(data)
        except DecodeError as exc:
            if self.state is State.AWAITING_HELLO:
                self._refuse_handshake(exc.code, exc.message, CloseCode.PROTOCOL_VIOLATION)
            else:
                self._violation(now, exc.code, exc.message)
            return []
        return self._dispatch(message, now)

    def _dispatch(self, message: Message, now: float) -> list[Message]:
        if self.state is State.AWAITING_HELLO:
            if not isinstance(message, Hello):
                self._refuse_handshake(
                    ErrorCode.UNEXPECTED,
                    f"first message must be hello, got {type(message).__name__.lower()}",
                    CloseCode.PROTOCOL_VIOLATION,
                )
                return []
            if message.protocol != PROTOCOL_VERSION:
                self._refuse_handshake(
                    ErrorCode.VERSION_MISMATCH,
                    f"protocol version mismatch: client speaks {message.protocol}, server speaks "
                    f"{PROTOCOL_VERSION}; use a client SDK built for protocol {PROTOCOL_VERSION}",
                    CloseCode.VERSION_MISMATCH,
                )
                return []
            if message.schema != SCHEMA_HASH:
                self._refuse_handshake(
                    ErrorCode.SCHEMA_MISMATCH,
                    f"schema mismatch: client schema {message.schema!r}, server schema {SCHEMA_HASH!r} "
                    f"(protocol {PROTOCOL_VERSION}); regenerate the client from protocol/vectors",
                    CloseCode.VERSION_MISMATCH,
                )
                return []
            self.state = State.AWAITING_WELCOME
            return [message]
        if isinstance(message, Hello):
            self._violation(now, ErrorCode.UNEXPECTED, "hello was already received on this connection")
            return []
        if self.state is State.AWAITING_WELCOME:
            self._violation(now, ErrorCode.UNEXPECTED, "wait for welcome before sending other messages")
            return []
        if isinstance(message, Ping):
            self.send(Pong(nonce=message.nonce, time=message.time, server_time=now))
            return []
        if isinstance(message, Bye):
            self._close(CloseCode.NORMAL, "client said bye")
        return [message]

    # ------------------------------------------------------------ handshake answers
    def accept(self, welcome: Welcome) -> None:
        """Answer the pending Hello: the session is open."""
        if self.state is not State.AWAITING_WELCOME:
            raise SessionClosed(f"cannot accept in state {self.state.value}")
        self.state = State.OPEN
        self.send(welcome)

    def refuse(self, code: ErrorCode, message: str, close: CloseCode) -> None:
        """Answer the pending Hello with an error and a close (bad token, server full, ...)."""
        self._refuse_handshake(code, message, close)

    # ------------------------------------------------------------ output
    def send(self, message: Message) -> None:
        """Queue a message on the reliable, ordered lane."""
        if self.state is State.CLOSED and not isinstance(message, (Bye, Error)):
            return
        self._reliable.append(encode(message))

    def send_frame(self, frame: bytes) -> None:
        """Queue an already-encoded server message (one encode shared by many sessions)."""
        if self.state is State.OPEN:
            self._reliable.append(frame)

    def send_error(self, code: ErrorCode, message: str, ref: int = 0, now: float | None = None) -> None:
        """Queue an Error. With ``now``, repeated notices of one code are throttled (rate/queue notices)."""
        if now is not None:
            last = self._last_notice.get(int(code))
            if last is not None and now - last < self.limits.notice_interval:
                return
            self._last_notice[int(code)] = now
        self.send(Error(code=int(code), message=message, ref=ref))

    def send_snapshot(self, frames: list[bytes]) -> None:
        """Offer the newest snapshot (already-encoded parts); replaces any parts not yet sent."""
        if self.state is not State.OPEN:
            return
        if self._snapshot:
            self.counters.snapshots_replaced += 1
        self._snapshot = frames

    def data_to_send(self) -> list[bytes]:
        """Frames to write now, reliable lane first, then the latest snapshot parts."""
        out = list(self._reliable)
        self._reliable.clear()
        if self._snapshot:
            out.extend(self._snapshot)
            self._snapshot = []
        self.counters.frames_out += len(out)
        self.counters.bytes_out += sum(len(f) for f in out)
        return out

    def close(self, code: CloseCode, reason: str) -> None:
        """Say Bye with ``code`` and mark the session closed (server shutdown, replaced session...)."""
        if self.state is not State.CLOSED:
            self.send(Bye(code=int(code), reason=reason))
        self._close(code, reason)

    @property
    def closing(self) -> bool:
        return self.close_code is not None

    # ------------------------------------------------------------ internals
    def _take_token(self, now: float) -> bool:
        lim = self.limits
        if self._tokens < 0:
            self._tokens, self._last_refill = lim.burst, now
        self._tokens = min(lim.burst, self._tokens + (now - self._last_refill) * lim.rate)
        self._last_refill = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        self.counters.rate_limited += 1
        if now - self._dropped_window_start >= 1.0:
            self._dropped_window_start, self._dropped_in_window = now, 0
        self._dropped_in_window += 1
        if self._dropped_in_window > lim.rate:
            self.close(CloseCode.RATE_LIMIT, "message rate limit exceeded")
        else:
            self.send_error(ErrorCode.RATE_LIMITED, f"over {lim.rate:g} messages/s; message dropped", now=now)
        return False

    def _violation(self, now: float, code: ErrorCode, message: str) -> None:
        self.counters.invalid += 1
        self.send(Error(code=int(code), message=message))
        window = self._violations
        window.append(now)
        while window and now - window[0] > self.limits.violation_window:
            window.popleft()
        if len(window) > self.limits.max_violations:
            self.close(CloseCode.TOO_MANY_ERRORS, "too many invalid messages")

    def _refuse_handshake(self, code: ErrorCode, message: str, close: CloseCode) -> None:
        self.counters.invalid += 1
        self.send(Error(code=int(code), message=message))
        self._close(close, message[:120])

    def _close(self, code: CloseCode, reason: str) -> None:
        if self.close_code is None:
            self.close_code, self.close_reason = code, reason
        self.state = State.CLOSED
        self._snapshot = []


@dataclass
class ClientSession:
    """The client side: builds the Hello, decodes server frames, tracks the handshake.

    ``receive_frame`` returns decoded server messages; it raises ``DecodeError`` for a frame that is
    not a valid server message (a client trusts its server less than nothing, but reports it).
    """

    client: str = "worldloom-python"
    version: str = "0.1.0"
    state: State = State.AWAITING_WELCOME
    welcome: Welcome | None = None

    def hello(self, *, role: Role = "player", token: str = "", resume: str = "", name: str = "",
              methods: list[str] | None = None) -> bytes:
        """The first frame to send on a new connection."""
        self.state = State.AWAITING_WELCOME
        return encode(Hello(protocol=PROTOCOL_VERSION, schema=SCHEMA_HASH, client=self.client,
                            version=self.version, role=role, token=token, resume=resume, name=name,
                            methods=list(methods or [])))

    def receive_frame(self, data: bytes) -> Message:
        message = decode_server(data)
        if isinstance(message, Welcome):
            self.state, self.welcome = State.OPEN, message
        elif isinstance(message, Bye):
            self.state = State.CLOSED
        return message

    @staticmethod
    def encode(message: Message) -> bytes:
        return encode(message)
