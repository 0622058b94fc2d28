"""Test harness: ``async with boot(npc_count=10) as running:`` starts a real server on 127.0.0.1 port 0."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from .app import WorldServer
from .config import ServerConfig


@dataclass
class RunningServer:
    server: WorldServer

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def room(self):  # noqa: ANN201 - Room
        return self.server.room

    def token(self, role: str, sub: str = "test", ttl: float = 3600.0) -> str:
        import time

        return self.server.signer.issue(sub, role, ttl, time.time())

    async def wait_for_ticks(self, n: int, timeout: float = 10.0) -> int:
        """Wait until ``n`` more ticks have run; returns the tick reached."""
        target = self.server.world.tick + n

        async def _wait() -> None:
            while self.server.world.tick < target:
                if self.server.room.failed is not None:
                    raise self.server.room.failed
                await asyncio.sleep(0.005)

        await asyncio.wait_for(_wait(), timeout)
        return self.server.world.tick


@asynccontextmanager
async def boot(**settings: Any) -> AsyncIterator[RunningServer]:
    """Start a ``WorldServer`` on 127.0.0.1 with an OS-chosen port; stop it gracefully afterwards."""
    settings.setdefault("host", "127.0.0.1")
    settings.setdefault("port", 0)
    settings.setdefault("npc_count", 20)
    settings.setdefault("raise_room_errors", True)
    settings.setdefault("secret", "test-secret-0123456789abcdef")
    server = WorldServer(ServerConfig(**settings))
    await server.start()
    try:
        yield RunningServer(server)
    finally:
        await server.stop()
