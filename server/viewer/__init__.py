"""The web viewer: static page + HTTP routes (``http.py``), read-only RPC built-ins (``methods.py``), price
history (``history.py``) and position recordings for replays (``recording.py``). Admin controls live in
``server/admin.py``. See docs/viewer.md.

``Viewer(server, runs_dir)`` is what ``WorldServer`` installs: ``methods()`` are merged into the RPC
router's built-ins, ``http.handle`` is tried before the transport's own HTTP paths, and
``methods.sample_markets`` is a room tick listener.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..admin import AdminControls
from .http import ViewerHttp
from .methods import ViewerMethods

if TYPE_CHECKING:
    from ..app import WorldServer
    from ..room import ClientSlot

__all__ = ["Viewer", "ViewerHttp", "ViewerMethods"]


class Viewer:
    """Everything the server needs to serve the viewer. ``runs_dir``: where replayable runs live."""

    def __init__(self, server: WorldServer, runs_dir: str | os.PathLike[str] | None = None) -> None:
        self.http = ViewerHttp(runs_dir)
        self.rpc = ViewerMethods(server)
        self.admin = AdminControls(server)

    def methods(self) -> dict[str, Callable[[ClientSlot, Any], Any]]:
        return {**self.rpc.methods(), **self.admin.methods()}
