"""Worldloom reference client SDK for Python: connect, move, watch the world, call and serve RPCs.

    async with WorldloomClient("ws://127.0.0.1:8765/ws", name="ada") as client:
        await client.send_input(1.0, 0.0)
        await client.wait_for_tick(client.tick + 5)
        print(client.position(), await client.call("room.info"))
"""

from .client import NO_RECONNECT, ClientStats, WorldloomClient, __version__
from .errors import ClientError, ConnectFailed, ConnectionLost, HandshakeRefused, RpcError
from .inputs import InputLog
from .interpolation import InterpolationBuffer
from .rpc import PendingCalls, serve_request

__all__ = [
    "NO_RECONNECT", "ClientError", "ClientStats", "ConnectFailed", "ConnectionLost", "HandshakeRefused",
    "InputLog", "InterpolationBuffer", "PendingCalls", "RpcError", "WorldloomClient", "__version__",
    "serve_request",
]
