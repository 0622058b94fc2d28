"""Errors raised by ``protocol``.

    ProtocolError                 root of this package
    ├── DecodeError(code, path)   untrusted bytes that are not a valid message (code MALFORMED/INVALID)
    ├── SnapshotError             a snapshot that cannot be applied (unknown baseline, bad column)
    └── SessionClosed             using a session after it closed
"""

from __future__ import annotations

from .codes import ErrorCode


class ProtocolError(Exception):
    """Root of every error raised by the protocol package."""


class DecodeError(ProtocolError):
    """Bytes that do not decode into a valid message. ``code`` is MALFORMED or INVALID."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class SnapshotError(ProtocolError):
    """A snapshot that cannot be applied: unknown baseline, truncated or inconsistent columns."""


class SessionClosed(ProtocolError):
    """The session has closed; nothing more can be sent or received."""
