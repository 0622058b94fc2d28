"""Errors raised by ``worldloom_client``.

    ClientError                                 root of this package
    ├── HandshakeRefused(code, message, close_code)
    │                                           the server answered Hello with Error (+ close) or closed
    ├── RpcError(code, message)                 an RPC call failed: provider error, timeout, no provider
    └── ConnectionLost(message, close_code)     the connection is gone and will not come back
        └── ConnectFailed                       the websocket could not be opened at all

Codes are ``protocol.codes.ErrorCode`` values (0 when the server sent none); close codes are websocket
close codes (``protocol.codes.CloseCode`` for the server's own, 1006 for a dropped TCP connection).
"""

from __future__ import annotations


class ClientError(Exception):
    """Root of every error raised by the Worldloom Python client."""


class HandshakeRefused(ClientError):
    """The server refused ``Hello``: bad token, version/schema mismatch, server full, protocol violation.

    Attributes:
        code: the ``ErrorCode`` from the server's ``Error`` (0 if it closed without one).
        message: the server's explanation.
        close_code: the websocket close code that followed (``None`` if the socket never closed).
    """

    def __init__(self, code: int, message: str, close_code: int | None) -> None:
        super().__init__(f"handshake refused (code {code}, close {close_code}): {message}")
        self.code = code
        self.message = message
        self.close_code = close_code


class RpcError(ClientError):
    """An RPC call failed. ``code`` is an ``ErrorCode`` (``RPC_TIMEOUT``, ``NO_SUCH_METHOD``, ...).

    A service handler may also raise it to answer a request with a specific code and message.
    """

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"rpc error {code}: {message}")
        self.code = code
        self.message = message


class ConnectionLost(ClientError):
    """The connection closed and will not be re-established (closed by us, by the server, or retries ran out)."""

    def __init__(self, message: str, close_code: int | None = None) -> None:
        super().__init__(message if close_code is None else f"{message} (close code {close_code})")
        self.message = message
        self.close_code = close_code


class ConnectFailed(ConnectionLost):
    """The websocket could not be opened (refused TCP connection, HTTP error, open timeout)."""
