"""The four generator jobs as plain functions: validated params in, JSON-able result (and files) out.

Shared by the CLI and the service so both accept exactly the same parameters and write the same files.
Each job is synchronous (the service runs it in a worker thread) and takes a ``CancelToken``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .cancel import CancelToken
from .export.files import canonical_json, level_document, write_atomic, write_level, write_terrain
from .levels import generate_level
from .loot import generate_loot
from .names import generate_names
from .params import level_params, loot_params, names_params, terrain_params
from .terrain import generate_terrain
from .terrain.generate import Progress


def request_digest(kind: str, params: Any) -> str:
    """16 hex digits naming a request (kind + validated params): the output sub-directory name."""
    text = json.dumps([kind, params], sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def terrain_job(raw: Mapping[str, Any], out: Path, cancel: CancelToken, preview: bool = True,
                progress: Progress | None = None, max_size: int = 4097) -> dict[str, Any]:
    """Generate a terrain and write its files under ``out``; return the summary plus file paths."""
    p = terrain_params(raw, max_size=max_size)
    terrain = generate_terrain(p, cancel, progress)
    cancel.check()
    files = write_terrain(terrain, out, preview=preview)
    return {"kind": "terrain", "summary": terrain.summary(), "files": files}


def level_job(raw: Mapping[str, Any], cancel: CancelToken) -> tuple[Any, dict[str, Any]]:
    """Generate a level; return (Level, its deterministic JSON document)."""
    level = generate_level(level_params(raw), cancel)
    return level, level_document(level)


def write_level_files(level: Any, out: Path, preview: bool = True) -> dict[str, str]:
    return write_level(level, out, preview=preview)


def loot_job(raw: Mapping[str, Any]) -> dict[str, Any]:
    return generate_loot(loot_params(raw))


def names_job(raw: Mapping[str, Any]) -> dict[str, Any]:
    p = names_params(raw)
    return {"kind": p.kind, "names": generate_names(p)}


def write_json(value: Any, path: Path) -> str:
    write_atomic(path, canonical_json(value))
    return str(path)
