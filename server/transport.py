"""The websockets adapter: moves bytes between sockets and ``protocol.session.ServerSession``.

Each connection has a reader (this handler) and a writer task. The reader feeds frames to the session
and hands decoded messages to the application; the writer drains the session's outgoing frames. Only the
writer awaits the socket's send buffer, so a slow client delays nothing but itself, and the session's
latest-only snapshot lane means it receives the newest snapshot when it catches up.

HTTP on the same port: ``/metrics`` (Prometheus text) and ``/status`` (JSON); websockets at ``/ws``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from http import HTTPStatus
from typing import TYPE_CHECKING

from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.protocol import State

from protocol import CloseCode, Hello
from protocol.session import ServerSession, SessionCounters

if TYPE_CHECKING:
    from .app import WorldServer

log = logging.getLogger("worldloom.transport")


WRITE_BUFFER_LIMIT = 64 * 1024
"""Bytes queued in a socket's transport above which frames wait for the writer task (flow control)."""


class Connection:
    """One websocket connection and its protocol session.

    Outgoing frames normally leave synchronously: ``wake`` marks the connection dirty and one coalesced
    callback per loop iteration (``Transport.flush``) hands every dirty session's frames to websockets'
    sans-I/O protocol and writes them to the socket — no task switch, no await per frame. A connection
    whose socket buffer is over ``WRITE_BUFFER_LIMIT`` (a slow client), or that is closing, is left to
    its writer task, which awaits the socket's drain; meanwhile the session's latest-only snapshot lane
    keeps just the newest snapshot for it.
    """

    def __init__(self, ws: ServerConnection, session: ServerSession, transport: Transport) -> None:
        self.ws = ws
        self.session = session
        self._wake = asyncio.Event()
        self._transport = transport
        self._writer_busy = False

    def wake(self) -> None:
        self._transport.mark_dirty(self)

    def flush_now(self) -> None:
        """Write queued frames synchronously if the socket can take them; else defer to the writer task."""
        ws = self.ws
        transport = ws.transport
        if (self._writer_busy or self.session.closing or ws.protocol.state is not State.OPEN
                or transport is None or transport.is_closing()
                or transport.get_write_buffer_size() > WRITE_BUFFER_LIMIT):
            self._wake.set()
            return
        frames = self.session.data_to_send()
        if not frames:
            return
        try:
            for frame in frames:
                ws.protocol.send_binary(frame)
            ws.send_data()
        except Exception:  # the connection failed under us: the reader/writer tasks will see it close
            self._wake.set()

    async def write_loop(self) -> None:
        """Send what the fast path could not (slow sockets), and close the socket once the session closes."""
        session = self.session
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                self._writer_busy = True
                frames = session.data_to_send()
                for frame in frames:
                    await self.ws.send(frame)
                self._writer_busy = False
                if session.closing:
                    code = int(session.close_code or CloseCode.NORMAL)
                    await self.ws.close(code, session.close_reason[:120])
                    return
        except ConnectionClosed:
            return


class Transport:
    """Accepts websocket connections for a ``WorldServer`` and serves its HTTP endpoints."""

    def __init__(self, app: WorldServer) -> None:
        self.app = app
        self.connections: set[Connection] = set()
        self.retired = SessionCounters()  # counters of connections that have ended
        self._dirty: dict[Connection, None] = {}  # insertion-ordered set: flush in the order woken
        self._flush_scheduled = False

    def mark_dirty(self, conn: Connection) -> None:
        self._dirty[conn] = None
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self.flush)

    def flush(self) -> None:
        """Write every dirty connection's frames (one coalesced pass per event-loop iteration)."""
        self._flush_scheduled = False
        dirty, self._dirty = self._dirty, {}
        for conn in dirty:
            conn.flush_now()

    def refresh_metrics(self) -> None:
        """Fold every session's counters into the server metrics (done on read, not per message)."""
        total = SessionCounters(**vars(self.retired))
        for conn in self.connections:
            for name, value in vars(conn.session.counters).items():
                setattr(total, name, getattr(total, name) + value)
        m = self.app.metrics
        m.frames_in, m.bytes_in = total.frames_in, total.bytes_in
        m.frames_out, m.bytes_out = total.frames_out, total.bytes_out
        m.invalid_messages, m.rate_limited = total.invalid, total.rate_limited
        m.snapshots_replaced = total.snapshots_replaced

    def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        path, _, query = request.path.partition("?")
        self.refresh_metrics()
        if path == "/metrics":
            return self._http(HTTPStatus.OK, "text/plain; version=0.0.4; charset=utf-8",
                              self.app.metrics.prometheus().encode())
        if path == "/status":
            last = None
            for pair in query.split("&"):
                key, _, value = pair.partition("=")
                if key == "last" and value.isdigit():
                    last = int(value)
            return self._http(HTTPStatus.OK, "application/json", json.dumps(self.app.status(last)).encode())
        if path in ("/ws", "/"):
            return None
        return self._http(HTTPStatus.NOT_FOUND, "text/plain; charset=utf-8",
                          b"not found: websocket at /ws, metrics at /metrics, status at /status\n")

    @staticmethod
    def _http(status: HTTPStatus, content_type: str, body: bytes) -> Response:
        headers = Headers([("Content-Type", content_type), ("Content-Length", str(len(body))),
                           ("Connection", "close")])
        return Response(status.value, status.phrase, headers, body)

    async def handle(self, ws: ServerConnection) -> None:
        app = self.app
        session = ServerSession(limits=app.config.limits)
        conn = Connection(ws, session, self)
        self.connections.add(conn)
        writer = asyncio.create_task(conn.write_loop())
        slot = None
        try:
            if app.stopping:
                session.close(CloseCode.GOING_AWAY, "server shutting down")
                return
            try:
                first = await asyncio.wait_for(ws.recv(), timeout=app.config.hello_timeout)
            except TimeoutError:
                session.close(CloseCode.HANDSHAKE_TIMEOUT, "no hello received in time")
                return
            messages = session.receive_frame(first, time.time())
            if messages and isinstance(messages[0], Hello):
                slot = app.admit(conn, messages[0])
            if slot is None:
                if not session.closing:  # safety net: every refusal path should already have closed
                    session.close(CloseCode.PROTOCOL_VIOLATION, "the first message must be a hello")
                return
            conn.wake()
            async for data in ws:
                now = time.time()
                for message in session.receive_frame(data, now):
                    app.dispatch(slot, message, now)
                conn.wake()
                # once closing, keep draining (ignored) frames so the close handshake is not stuck
                # behind a full receive queue; the loop ends when the socket closes
        except ConnectionClosed:
            pass
        except Exception:
            log.exception("connection handler failed; closing this connection only")
            session.close(CloseCode.GOING_AWAY, "internal error")
        finally:
            if slot is not None:
                app.detach(slot, conn)
            conn.wake()
            try:
                await asyncio.wait_for(writer, timeout=2.0)
            except (TimeoutError, ConnectionClosed):
                writer.cancel()
            self.connections.discard(conn)
            for name, value in vars(session.counters).items():
                setattr(self.retired, name, getattr(self.retired, name) + value)
