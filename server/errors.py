"""Errors raised by ``server``.

    ServerError                 root of this package
    ├── ConfigError             a setting is missing or out of range (message names it and the fix)
    ├── AuthError(reason)       a token is malformed, forged, expired or for another role
    ├── RoomError               a room could not admit/resume a client (full, unknown session)
    └── HeadlessError           ``sim``/``sweep`` cannot start or continue (in ``server/headless.py``)
        └── ParamError          a bad ``--param``/``--set`` argument
"""

from __future__ import annotations


class ServerError(Exception):
    """Root of every error raised by the server package."""


class ConfigError(ServerError):
    """A configuration value is invalid; the message names the setting and what is expected."""


class AuthError(ServerError):
    """A token failed verification. ``reason`` is safe to show to the peer (never the token itself)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RoomError(ServerError):
    """A room refused a join or resume."""
