"""``WorldloomClient``: the asyncio websocket adapter around ``protocol.session.ClientSession``.

Why this design: every protocol rule the client needs already lives in sans-I/O pieces — the handshake
and decoding in ``ClientSession``, delta reassembly in ``SnapshotAssembler``, input seq/resend in
``InputLog``, RPC bookkeeping in ``rpc``, smoothing in ``InterpolationBuffer``. This module only opens
sockets, moves bytes and routes decoded messages, so it stays small and the pieces stay unit-tested.

One background task owns the socket: it reads frames, dispatches them by message type (a dict lookup,
no per-frame allocation beyond the decode), acknowledges each completed snapshot tick, and — when the
connection drops (a network loss, or a close the protocol says to retry: 1001, 4007; see
``NO_RECONNECT``) — reconnects with the resume token from ``Welcome`` (bounded attempts with jittered
exponential backoff). The ``SnapshotAssembler`` survives the reconnect, so the server's
next delta (against the newest acknowledged tick) still applies; inputs the server had not received are
resent (``seq > Welcome.last_input``).

Alternatives rejected: websockets' own ``async for ws in connect(...)`` reconnect loop (it knows nothing
of resume tokens or which close codes mean "do not come back"); a writer task with an outgoing queue
(an extra hop per message; websockets already serializes concurrent ``send`` calls).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from protocol.codec import encode
from protocol.codes import CloseCode, ErrorCode
from protocol.errors import DecodeError, SnapshotError
from protocol.messages import (
    Ack,
    Bye,
    Error,
    Event,
    Message,
    Ping,
    Pong,
    Role,
    RpcRequest,
    RpcResponse,
    Snapshot,
    Welcome,
)
from protocol.session import ClientSession
from protocol.snapshot import SnapshotAssembler, WorldView
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from .errors import ClientError, ConnectFailed, ConnectionLost, HandshakeRefused, RpcError
from .inputs import InputLog
from .interpolation import InterpolationBuffer, Sample
from .rpc import Handler, PendingCalls, check_method_name, serve_request

__version__ = "0.1.0"

log = logging.getLogger("worldloom_client")

MAX_MESSAGE_BYTES = 1 << 20
"""Largest incoming websocket message accepted (the server keeps frames under 60 kB)."""

NO_RECONNECT = frozenset({
    CloseCode.NORMAL, CloseCode.MESSAGE_TOO_BIG, CloseCode.PROTOCOL_VIOLATION, CloseCode.UNAUTHORIZED,
    CloseCode.VERSION_MISMATCH, CloseCode.RATE_LIMIT, CloseCode.TOO_MANY_ERRORS, CloseCode.REPLACED,
})
"""Close codes after which the client does not come back (docs/protocol.md, "Close codes"): a retry
would be refused again (4001/4002), would fight the connection that owns the session (4005), or the
close reports a client bug (1009/4003/4004). Anything else — 1001 (server restarting), 4007 (full), a
network loss (1006) — is retried with backoff and the resume token."""

FATAL_REFUSALS = frozenset({ErrorCode.UNAUTHORIZED, ErrorCode.VERSION_MISMATCH, ErrorCode.SCHEMA_MISMATCH})
"""Handshake refusals that no retry can fix."""


@dataclass
class ClientStats:
    """Counters of one client (across reconnects). ``rtt`` is the last measured round trip in seconds."""

    frames_received: int = 0
    bytes_received: int = 0
    frames_sent: int = 0
    bytes_sent: int = 0
    snapshot_parts: int = 0
    snapshots: int = 0
    snapshot_errors: int = 0
    acks_sent: int = 0
    inputs_sent: int = 0
    inputs_resent: int = 0
    events: int = 0
    events_dropped: int = 0
    errors: int = 0
    decode_errors: int = 0
    rpc_calls: int = 0
    rpc_served: int = 0
    disconnects: int = 0
    reconnects: int = 0
    resumes: int = 0
    rtt: float | None = None


class WorldloomClient:
    """A Worldloom client for players, spectators, admins and services.

    Args:
        url: ``ws://host:port/ws``.
        role: ``player`` | ``spectator`` | ``service`` | ``admin``.
        token: bearer token (required by the server for ``service`` and ``admin``).
        name: display name sent in ``Hello``.
        methods: for services, the RPC methods provided: a mapping ``name -> handler`` or just names
            (then ``register`` the handlers before ``connect``).
        client_name: ``Hello.client``.
        auto_reconnect: reconnect and resume the session when the connection drops (not after our own
            ``close()`` nor after a close code in ``NO_RECONNECT``).
        interpolation_delay: seconds ``interpolated()`` renders behind the estimated server time.
        reconnect_attempts: handshakes tried per drop before giving up (``ConnectionLost``).
        reconnect_delay: first backoff delay in seconds (doubles per attempt, at most 2 s, jittered).
        handshake_timeout: seconds to wait for the websocket and the ``Welcome``.
        event_queue: capacity of ``events`` (the oldest event is dropped when full).
        on_event: optional callback ``f(event)`` (a coroutine function is scheduled as a task).
        connect_options: extra keyword arguments for ``websockets.asyncio.client.connect``.
    """

    def __init__(self, url: str, *, role: Role = "player", token: str = "", name: str = "",
                 methods: Mapping[str, Handler] | Iterable[str] | None = None,
                 client_name: str = "worldloom-python", auto_reconnect: bool = True,
                 interpolation_delay: float = 0.1, reconnect_attempts: int = 8, reconnect_delay: float = 0.05,
                 handshake_timeout: float = 10.0, event_queue: int = 1024,
                 on_event: Callable[[Event], Any] | None = None,
                 connect_options: Mapping[str, Any] | None = None) -> None:
        self.url, self.role, self.token, self.name = url, role, token, name
        self.auto_reconnect = auto_reconnect
        self.reconnect_attempts = reconnect_attempts
        self.reconnect_delay = reconnect_delay
        self.handshake_timeout = handshake_timeout
        self.on_event = on_event
        self._connect_options = dict(connect_options or {})
        self._handlers: dict[str, Handler] = {}
        self._method_names: list[str] = []
        if isinstance(methods, Mapping):
            for method, handler in methods.items():
                self.register(method, handler)
        elif methods is not None:
            for method in methods:
                check_method_name(method)
                self._method_names.append(method)

        self.session = ClientSession(client=client_name, version=__version__)
        self.assembler = SnapshotAssembler(history=64)
        self.inputs = InputLog()
        self.buffer = InterpolationBuffer(delay=interpolation_delay)
        self.stats = ClientStats()
        self.errors: list[Error] = []
        """Every ``Error`` the server sent (the newest 1000)."""
        self.events: asyncio.Queue[Event] = asyncio.Queue(maxsize=event_queue)
        self.welcome: Welcome | None = None
        self.entity = 0
        """The avatar's entity id (0 for roles without one)."""
        self.tick = 0
        """The newest completed snapshot tick."""
        self.view: WorldView = {}
        """The newest completed world view (``kind -> KindView``, quantized)."""
        self.close_code: int | None = None
        """The close code (or server ``Bye`` code) that ended the connection for good."""

        self._calls = PendingCalls()
        self._pings: dict[int, asyncio.Future[float]] = {}
        self._ping_nonce = 0
        self._ws: ClientConnection | None = None
        self._runner: asyncio.Task[None] | None = None
        self._serving: set[asyncio.Task[Any]] = set()
        self._online = asyncio.Event()
        self._changed = asyncio.Event()
        self._waiters = 0
        self._closing = False
        self._bye_code: int | None = None
        self._lost: ConnectionLost | None = None
        self._clock_offset: float | None = None
        self._jitter = random.Random()
        self._dispatch: dict[type[Message], Callable[[Any], Any]] = {
            Snapshot: self._on_snapshot, Event: self._on_event, RpcResponse: self._on_rpc_response,
            RpcRequest: self._on_rpc_request, Pong: self._on_pong, Error: self._on_error, Bye: self._on_bye,
            Welcome: lambda _m: None,
        }

    # ------------------------------------------------------------ public API
    def register(self, method: str, handler: Handler) -> None:
        """Provide RPC ``method`` (services). Register before ``connect``: the list travels in ``Hello``."""
        check_method_name(method)
        self._handlers[method] = handler
        if method not in self._method_names:
            self._method_names.append(method)

    async def connect(self) -> Welcome:
        """Open the websocket, say ``Hello`` and wait for ``Welcome``; start the receive task.

        Raises:
            HandshakeRefused: the server answered with ``Error`` and closed (code, message, close code).
            ConnectFailed: the websocket could not be opened or no ``Welcome`` came in time.
        """
        if self._runner is not None:
            raise ClientError("connect() was already called on this client")
        ws, welcome, early = await self._handshake(resume="")
        await self._adopt(ws, welcome, early, reconnect=False)
        self._runner = asyncio.create_task(self._run(), name=f"worldloom-client-{welcome.session}")
        return welcome

    async def close(self) -> None:
        """Say ``Bye``, close the websocket and stop the receive task. Safe to call twice."""
        if self._closing:
            if self._runner is not None and not self._runner.done():
                await asyncio.wait({self._runner})
            return
        self._closing = True
        ws = self._ws
        if ws is not None:
            try:
                await ws.send(encode(Bye(code=int(CloseCode.NORMAL), reason="client closing")))
            except ConnectionClosed:
                pass
            await ws.close()
            self.close_code = ws.close_code
        if self._runner is not None and not self._runner.done():
            try:
                await asyncio.wait_for(asyncio.shield(self._runner), timeout=1.0)
            except TimeoutError:
                self._runner.cancel()
                await asyncio.wait({self._runner})
        for task in list(self._serving):
            task.cancel()
        self._shutdown(ConnectionLost("client closed", self.close_code))

    async def __aenter__(self) -> WorldloomClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @property
    def connected(self) -> bool:
        """True while a websocket is open and welcomed (False while reconnecting)."""
        return self._online.is_set()

    @property
    def input_ack(self) -> int:
        """The newest input seq the server reported as applied."""
        return self.inputs.acked

    async def send_input(self, move_x: float, move_y: float, buttons: int = 0) -> int:
        """Send one input (axes clamped to [-1, 1]); returns its seq.

        While reconnecting the input is only logged; it is sent after the resume. Unacknowledged inputs
        are kept for that (bounded). Raises ``ConnectionLost`` once the client is closed for good.
        """
        if self._lost is not None:
            raise self._lost
        message = self.inputs.record(move_x, move_y, buttons, tick=self.tick)
        if await self._send(message):
            self.stats.inputs_sent += 1
        return message.seq

    async def call(self, method: str, params: Any = None, timeout: float = 5.0) -> Any:
        """Call an RPC method (built-in or provided by a service) and return its result.

        Raises:
            RpcError: the server or provider answered with an error, or nothing came within ``timeout``
                (code ``RPC_TIMEOUT``); ``INVALID`` for a bad method name or unserializable params.
            ConnectionLost: the client is closed for good.
        """
        check_method_name(method)
        if self._lost is not None:
            raise self._lost
        loop = asyncio.get_running_loop()
        call_id, future = self._calls.open(loop)
        deadline_ms = min(600_000, max(1, int(timeout * 1000)))
        try:
            try:
                frame = encode(RpcRequest(id=call_id, method=method, params=params, deadline_ms=deadline_ms))
            except (TypeError, ValueError, OverflowError) as exc:
                raise RpcError(ErrorCode.INVALID, f"{method}: params are not serializable ({exc})") from None
            self.stats.rpc_calls += 1
            async with asyncio.timeout(timeout):
                while not await self._send_frame(frame):
                    await self._wait_online()
                return await future
        except TimeoutError:
            raise RpcError(ErrorCode.RPC_TIMEOUT, f"{method}: no answer within {timeout:g} s") from None
        finally:
            self._calls.discard(call_id)

    async def ping(self, timeout: float = 5.0) -> float:
        """Measure one round trip to the server; returns seconds (also stored in ``stats.rtt``)."""
        if self._lost is not None:
            raise self._lost
        loop = asyncio.get_running_loop()
        self._ping_nonce += 1
        nonce = self._ping_nonce
        future: asyncio.Future[float] = loop.create_future()
        self._pings[nonce] = future
        try:
            async with asyncio.timeout(timeout):
                while not await self._send(Ping(nonce=nonce, time=loop.time())):
                    await self._wait_online()
                return await future
        finally:
            self._pings.pop(nonce, None)

    async def send_ping(self) -> bool:
        """Send a ``Ping`` without waiting for the answer (the ``Pong`` updates ``stats.rtt``).

        Returns False when there is no live connection right now.
        """
        return await self._send(Ping(nonce=0, time=asyncio.get_running_loop().time()))

    async def wait_for(self, predicate: Callable[[WorldloomClient], Any], timeout: float | None = 5.0) -> Any:
        """Wait until ``predicate(client)`` is truthy (checked after every received frame); return it.

        Raises ``TimeoutError`` after ``timeout`` seconds (None: no limit), ``ConnectionLost`` if the
        client is finished first.
        """
        self._waiters += 1
        try:
            async with asyncio.timeout(timeout):
                while True:
                    result = predicate(self)
                    if result:
                        return result
                    if self._lost is not None:
                        raise self._lost
                    await self._changed.wait()
        finally:
            self._waiters -= 1

    async def _wait_online(self) -> None:
        """Wait for a (re)connection; raises ``ConnectionLost`` if the client is finished instead."""
        await self.wait_for(lambda c: c.connected, timeout=None)

    async def wait_for_tick(self, tick: int, timeout: float = 5.0) -> int:
        """Wait until a snapshot of ``tick`` or later is complete; returns the tick reached."""
        await self.wait_for(lambda c: c.tick >= tick, timeout)
        return self.tick

    def server_time(self) -> float:
        """Estimated current server clock (seconds), from snapshot timestamps; 0.0 before any."""
        if self._clock_offset is None:
            return 0.0
        return asyncio.get_running_loop().time() + self._clock_offset

    def interpolated(self, render_time: float | None = None) -> Sample:
        """Smoothed positions (metres) at ``render_time`` (default: now) minus the interpolation delay."""
        return self.buffer.sample(self.server_time() if render_time is None else render_time)

    def position(self, entity: int | None = None) -> np.ndarray | None:
        """Position (3,) in metres of ``entity`` (default: the avatar) in the newest view, or None."""
        target = self.entity if entity is None else entity
        for kind_view in self.view.values():
            ids = kind_view.ids
            row = int(np.searchsorted(ids, target))
            if row < len(ids) and ids[row] == target:
                return kind_view.q[row].astype(np.float64) * self.buffer.quantum
        return None

    def drop_connection(self) -> None:
        """Abort the TCP connection without ``Bye`` (for testing resume); reconnects if enabled."""
        if self._ws is not None:
            self._ws.transport.abort()

    # ------------------------------------------------------------ connection lifecycle
    async def _handshake(self, resume: str) -> tuple[ClientConnection, Welcome, list[Message]]:
        """Open a websocket, send Hello, read until Welcome. Returns the socket, Welcome, earlier messages."""
        options: dict[str, Any] = {"max_size": MAX_MESSAGE_BYTES, "compression": None,
                                   "open_timeout": self.handshake_timeout}
        options.update(self._connect_options)
        try:
            ws = await ws_connect(self.url, **options)
        except (OSError, TimeoutError, InvalidHandshake, InvalidURI) as exc:
            raise ConnectFailed(f"cannot open {self.url}: {type(exc).__name__}: {exc}") from exc
        early: list[Message] = []
        refusal: Error | None = None
        try:
            await ws.send(self.session.hello(role=self.role, token=self.token, resume=resume, name=self.name,
                                             methods=self._method_names))
            async with asyncio.timeout(self.handshake_timeout):
                while True:
                    data = await ws.recv()
                    self._count_in(data)
                    try:
                        message = self.session.receive_frame(data)  # type: ignore[arg-type]
                    except DecodeError as exc:
                        await ws.close(int(CloseCode.PROTOCOL_VIOLATION), "undecodable frame")
                        raise HandshakeRefused(int(exc.code), f"server sent an invalid frame: {exc.message}",
                                               ws.close_code) from None
                    if isinstance(message, Welcome):
                        return ws, message, early
                    if isinstance(message, Error):
                        self._on_error(message)
                        refusal = message
                    elif isinstance(message, Bye):
                        refusal = refusal or Error(code=int(ErrorCode.SHUTTING_DOWN), message=message.reason)
                    else:
                        early.append(message)
        except ConnectionClosed:
            await ws.wait_closed()
            code, text = (refusal.code, refusal.message) if refusal else (0, ws.close_reason or "closed before welcome")
            raise HandshakeRefused(code, text, ws.close_code) from None
        except TimeoutError:
            await ws.close()
            raise ConnectFailed(f"no welcome from {self.url} within {self.handshake_timeout:g} s") from None
        except BaseException:
            ws.transport.abort()
            raise

    async def _adopt(self, ws: ClientConnection, welcome: Welcome, early: list[Message], reconnect: bool) -> None:
        """Make ``ws`` the live connection after its ``Welcome``."""
        self._ws, self.welcome, self._bye_code = ws, welcome, None
        self.entity = welcome.entity
        self.buffer.quantum = welcome.quantum
        if reconnect:
            self.stats.reconnects += 1
            if welcome.resumed:
                self.stats.resumes += 1
            else:  # a new session: the server knows none of our ticks or inputs
                self.assembler = SnapshotAssembler(history=64)
                self.inputs.clear()
                self.buffer.clear()
        self._online.set()
        for message in early:
            await self._handle(message)
        if reconnect and welcome.resumed:
            for message in self.inputs.unacknowledged(after=welcome.last_input):
                if await self._send(message):
                    self.stats.inputs_resent += 1
        self._notify()

    async def _run(self) -> None:
        """Receive loop for the lifetime of the client, reconnecting as needed."""
        while True:
            ws = self._ws
            assert ws is not None
            try:
                async for data in ws:
                    self._count_in(data)
                    try:
                        message = self.session.receive_frame(data)  # type: ignore[arg-type]
                    except DecodeError:
                        self.stats.decode_errors += 1
                        continue
                    await self._handle(message)
            except ConnectionClosed:
                pass
            self._online.clear()
            if self._closing:
                return
            code = self._bye_code if self._bye_code is not None else ws.close_code
            if not self.auto_reconnect or code in NO_RECONNECT:
                self.close_code = code
                self._shutdown(ConnectionLost("server closed the connection", code))
                return
            self.stats.disconnects += 1
            if not await self._reconnect(code):
                return

    async def _reconnect(self, code: int | None) -> bool:
        delay = self.reconnect_delay
        resume = self.welcome.resume if self.welcome else ""
        last: ClientError | None = None
        for _attempt in range(self.reconnect_attempts):
            if self._closing:
                return False
            try:
                ws, welcome, early = await self._handshake(resume=resume)
            except HandshakeRefused as exc:
                last = exc
                if exc.code in FATAL_REFUSALS:
                    break
            except ConnectionLost as exc:
                last = exc
            else:
                if self._closing:  # close() ran meanwhile: leave this session properly too
                    with contextlib.suppress(ConnectionClosed):
                        await ws.send(encode(Bye(code=int(CloseCode.NORMAL), reason="client closing")))
                    await ws.close()
                    return False
                await self._adopt(ws, welcome, early, reconnect=True)
                return True
            await asyncio.sleep(delay * (0.5 + self._jitter.random()))
            delay = min(delay * 2.0, 2.0)
        self.close_code = code
        self._shutdown(ConnectionLost(f"connection lost and not re-established ({last})", code))
        return False

    def _shutdown(self, error: ConnectionLost) -> None:
        """The client is finished: fail outstanding calls, pings and waiters."""
        self._online.clear()
        if self._lost is None:
            self._lost = error
        self._calls.fail_all(self._lost)
        for future in self._pings.values():
            if not future.done():
                future.set_exception(self._lost)
        self._pings.clear()
        self._notify()

    # ------------------------------------------------------------ sending
    async def _send(self, message: Message) -> bool:
        return await self._send_frame(encode(message))

    async def _send_frame(self, frame: bytes) -> bool:
        """Write one frame; False (not raised) when there is no live connection — the caller decides."""
        ws = self._ws
        if ws is None or not self._online.is_set():
            return False
        try:
            await ws.send(frame)
        except ConnectionClosed:
            return False
        self.stats.frames_sent += 1
        self.stats.bytes_sent += len(frame)
        return True

    # ------------------------------------------------------------ receiving
    def _count_in(self, data: bytes | str) -> None:
        self.stats.frames_received += 1
        self.stats.bytes_received += len(data)

    async def _handle(self, message: Message) -> None:
        handler = self._dispatch.get(type(message))
        if handler is not None:
            try:
                result = handler(message)
                if result is not None:
                    await result
            except Exception:  # a bug in a handler must not end the receive loop
                log.exception("handling %s failed", type(message).__name__)
        self._notify()

    def _notify(self) -> None:
        if self._waiters:
            changed, self._changed = self._changed, asyncio.Event()
            changed.set()

    async def _on_snapshot(self, snap: Snapshot) -> None:
        stats = self.stats
        stats.snapshot_parts += 1
        if snap.input_ack > self.inputs.acked:
            self.inputs.acknowledge(snap.input_ack)
        try:
            done = self.assembler.feed(snap)
        except SnapshotError:
            stats.snapshot_errors += 1  # no ack: the server falls back to a full snapshot
            return
        if done is None:
            return
        tick, view = done
        self.tick, self.view = tick, view
        stats.snapshots += 1
        self.buffer.push(snap.time, view)
        offset = snap.time - asyncio.get_running_loop().time()
        self._clock_offset = offset if self._clock_offset is None else self._clock_offset + 0.1 * (
            offset - self._clock_offset)
        if await self._send(Ack(tick=tick)):
            stats.acks_sent += 1

    def _on_event(self, event: Event) -> None:
        self.stats.events += 1
        queue = self.events
        if queue.full():
            queue.get_nowait()
            self.stats.events_dropped += 1
        queue.put_nowait(event)
        if self.on_event is not None:
            result = self.on_event(event)
            if inspect.isawaitable(result):
                self._spawn(result)

    def _on_rpc_response(self, response: RpcResponse) -> None:
        self._calls.resolve(response)

    def _on_rpc_request(self, request: RpcRequest) -> None:
        self._spawn(self._serve(request))

    async def _serve(self, request: RpcRequest) -> None:
        response = await serve_request(self._handlers, request)
        self.stats.rpc_served += 1
        await self._send(response)

    def _on_pong(self, pong: Pong) -> None:
        rtt = asyncio.get_running_loop().time() - pong.time
        self.stats.rtt = rtt
        future = self._pings.pop(pong.nonce, None)
        if future is not None and not future.done():
            future.set_result(rtt)

    def _on_error(self, error: Error) -> None:
        self.stats.errors += 1
        self.errors.append(error)
        if len(self.errors) > 1000:
            del self.errors[:-1000]
        log.debug("server error %d: %s", error.code, error.message)

    def _on_bye(self, bye: Bye) -> None:
        self._bye_code = bye.code  # the close that follows decides whether to come back

    def _spawn(self, awaitable: Any) -> None:
        task = asyncio.ensure_future(awaitable)
        self._serving.add(task)
        task.add_done_callback(self._serving.discard)
