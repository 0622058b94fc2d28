"""Errors raised by ``server.viewer`` (and ``server.admin``).

    ViewerError                 root of the viewer's errors (a ``server.errors.ServerError``)
    ├── RecordingError(path)    a position recording is missing, truncated or of another format
    └── ReplayPathError         a replay request names a run outside the configured runs directory
"""

from __future__ import annotations

from ..errors import ServerError


class ViewerError(ServerError):
    """Root of every error raised by the web viewer's server side."""


class RecordingError(ViewerError):
    """A recording file cannot be written or read; ``path`` names it, the message says why and the fix."""

    def __init__(self, path: str, why: str) -> None:
        super().__init__(f"{path}: {why}")
        self.path = path
        self.why = why


class ReplayPathError(ViewerError):
    """A replay ``run`` name that is empty, absolute, contains ``..`` or a separator, or does not exist."""
