"""A bare protocol peer for end-to-end server tests (real websockets on 127.0.0.1; no client SDK)."""

from __future__ import annotations

import asyncio
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

import protocol as p
from protocol.messages import Message
from protocol.session import ClientSession
from protocol.snapshot import SnapshotAssembler


class Peer:
    """Speaks the protocol by hand: send messages, collect everything received, ack snapshots."""

    def __init__(self, ws: ClientConnection, auto_ack: bool = True) -> None:
        self.ws = ws
        self.session = ClientSession(client="test-peer")
        self.assembler = SnapshotAssembler()
        self.auto_ack = auto_ack
        self.received: list[Message] = []
        self.welcome: p.Welcome | None = None
        self.seq = 0
        self._reader: asyncio.Task[None] | None = None
        self.closed = asyncio.Event()

    @classmethod
    async def open(cls, url: str, auto_ack: bool = True, **kw: Any) -> Peer:
        ws = await connect(url, max_size=2**20, compression=None)
        return cls(ws, auto_ack=auto_ack)

    async def hello(self, **fields: Any) -> Message:
        """Send a Hello (fields override) and return the first reply (Welcome or Error)."""
        await self.ws.send(self.session.hello(**fields))
        reply = self.session.receive_frame(await asyncio.wait_for(self.ws.recv(), 5))
        if isinstance(reply, p.Welcome):
            self.welcome = reply
            self._reader = asyncio.create_task(self._read())
        else:
            self.received.append(reply)
        return reply

    async def _read(self) -> None:
        try:
            async for frame in self.ws:
                message = self.session.receive_frame(frame)  # type: ignore[arg-type]
                self.received.append(message)
                if isinstance(message, p.Snapshot):
                    done = self.assembler.feed(message)
                    if done and self.auto_ack:
                        await self.ws.send(p.encode(p.Ack(tick=done[0])))
        except ConnectionClosed:
            pass
        finally:
            self.closed.set()

    async def send(self, message: p.ClientMessage | bytes | str) -> None:
        await self.ws.send(message if isinstance(message, (bytes, str)) else p.encode(message))

    async def move(self, x: float, y: float) -> int:
        self.seq += 1
        await self.send(p.Input(seq=self.seq, tick=0, move=(x, y)))
        return self.seq

    async def wait_for(self, predicate: Any, timeout: float = 5.0) -> Message:
        """Wait for a received message satisfying ``predicate`` (searching what already arrived too)."""
        async def _poll() -> Message:
            index = 0
            while True:
                while index < len(self.received):
                    message = self.received[index]
                    index += 1
                    if predicate(message):
                        return message
                if self.closed.is_set() and index >= len(self.received):
                    raise ConnectionError("connection closed while waiting")
                await asyncio.sleep(0.005)

        return await asyncio.wait_for(_poll(), timeout)

    def view(self) -> dict:
        latest = self.assembler.latest
        return {} if latest is None else latest[1]

    async def call(self, method: str, params: Any = None, call_id: int = 1, timeout: float = 5.0) -> p.RpcResponse:
        await self.send(p.RpcRequest(id=call_id, method=method, params=params))
        return await self.wait_for(lambda m: isinstance(m, p.RpcResponse) and m.id == call_id, timeout)  # type: ignore[return-value]

    async def close(self) -> None:
        await self.ws.close()
        if self._reader is not None:
            await asyncio.wait_for(self._reader, 5)

    @property
    def close_code(self) -> int | None:
        return self.ws.close_code
