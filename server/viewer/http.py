"""HTTP routes of the web viewer on the server's port (next to ``/ws``, ``/metrics`` and ``/status``).

    /viewer/                  the page (static/index.html); /viewer redirects here
    /viewer/<file>            static files under server/viewer/static (js, css, vendor)
    /viewer/config.json       protocol version, schema hash and quantum the page must speak
    /viewer/runs              JSON list of replayable runs in the configured runs directory
    /viewer/replay?run=NAME   that run's position recording (binary, see recording.py);
                              &file=metrics gives its metrics.csv

Why through websockets' ``process_request`` and not a second HTTP server: one port, one process, and
the handler runs on the event loop like every other request (static files are small and cached by
the browser; recordings are read in one call). Paths are never joined blindly: static files must
resolve inside the static directory, and a run name is a single path component that must exist under
the runs directory (no ``..``, no separators, no absolute paths) -- anything else is a 404/400.
"""

from __future__ import annotations

import json
import mimetypes
import os
import urllib.parse
from http import HTTPStatus
from pathlib import Path

from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from protocol.messages import POSITION_QUANTUM, PROTOCOL_VERSION, SCHEMA_HASH

from .errors import ReplayPathError
from .recording import FILE_NAME

STATIC_DIR = Path(__file__).resolve().parent / "static"
CONTENT_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
                 ".html": "text/html; charset=utf-8", ".png": "image/png", ".svg": "image/svg+xml",
                 ".txt": "text/plain; charset=utf-8", ".json": "application/json"}
RUN_FILES = {"positions": (FILE_NAME, "application/octet-stream"), "metrics": ("metrics.csv", "text/csv"),
             "result": ("result.json", "application/json")}


def response(status: HTTPStatus, content_type: str, body: bytes, extra: tuple[tuple[str, str], ...] = ()) -> Response:
    headers = Headers([("Content-Type", content_type), ("Content-Length", str(len(body))),
                       ("Cache-Control", "no-cache"), ("X-Content-Type-Options", "nosniff"),
                       ("Connection", "close"), *extra])
    return Response(status.value, status.phrase, headers, body)


def _text(status: HTTPStatus, text: str) -> Response:
    return response(status, "text/plain; charset=utf-8", (text + "\n").encode())


def resolve_run(runs_dir: Path | None, name: str) -> Path:
    """The directory of run ``name`` under ``runs_dir``. Raises ``ReplayPathError`` for anything else."""
    if runs_dir is None:
        raise ReplayPathError("this server has no runs directory; start it with --runs-dir DIR")
    if (not name or name in (".", "..") or "/" in name or "\\" in name or "\x00" in name
            or os.path.isabs(name) or ".." in name):
        raise ReplayPathError(f"run name {name!r} must be one directory name inside the runs directory")
    root = runs_dir.resolve()
    path = (root / name).resolve()
    if path.parent != root or not path.is_dir():
        raise ReplayPathError(f"no run {name!r} in the runs directory")
    return path


class ViewerHttp:
    """Answers the viewer's HTTP paths; ``handle`` returns None for every other path.

    Args:
        runs_dir: where ``worldloom sim`` output directories live (None: replay is off).
    """

    def __init__(self, runs_dir: str | os.PathLike[str] | None = None) -> None:
        self.runs_dir = Path(runs_dir) if runs_dir is not None else None

    def handle(self, request: Request) -> Response | None:
        path, _, query = request.path.partition("?")
        if path == "/viewer":
            return response(HTTPStatus.MOVED_PERMANENTLY, "text/plain", b"", (("Location", "/viewer/"),))
        if not path.startswith("/viewer/"):
            return None
        rest = urllib.parse.unquote(path[len("/viewer/"):])
        params = dict(urllib.parse.parse_qsl(query))
        if rest in ("", "index.html"):
            return self._static("index.html")
        if rest == "config.json":
            body = json.dumps({"protocol": PROTOCOL_VERSION, "schema": SCHEMA_HASH, "quantum": POSITION_QUANTUM,
                               "replay": self.runs_dir is not None}).encode()
            return response(HTTPStatus.OK, "application/json", body)
        if rest == "runs":
            return response(HTTPStatus.OK, "application/json", json.dumps(self.list_runs()).encode())
        if rest == "replay":
            return self._replay(params.get("run", ""), params.get("file", "positions"))
        return self._static(rest)

    def list_runs(self) -> list[str]:
        """Names of the run directories holding a recording, sorted."""
        if self.runs_dir is None or not self.runs_dir.is_dir():
            return []
        return sorted(p.name for p in self.runs_dir.iterdir() if (p / FILE_NAME).is_file())

    def _replay(self, run: str, file: str) -> Response:
        if file not in RUN_FILES:
            return _text(HTTPStatus.BAD_REQUEST, f"file must be one of {sorted(RUN_FILES)}")
        try:
            directory = resolve_run(self.runs_dir, run)
        except ReplayPathError as exc:
            return _text(HTTPStatus.NOT_FOUND, str(exc))
        name, content_type = RUN_FILES[file]
        target = directory / name
        if not target.is_file():
            hint = " (record it: see docs/viewer.md, Replay)" if file == "positions" else ""
            return _text(HTTPStatus.NOT_FOUND, f"run {run!r} has no {name}{hint}")
        return response(HTTPStatus.OK, content_type, target.read_bytes())

    @staticmethod
    def _static(rest: str) -> Response:
        root = STATIC_DIR
        target = (root / rest).resolve()
        if root not in target.parents or not target.is_file():
            return _text(HTTPStatus.NOT_FOUND, f"not found: /viewer/{rest}")
        content_type = CONTENT_TYPES.get(target.suffix) or mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        return response(HTTPStatus.OK, content_type, target.read_bytes())
