"""Write a generated terrain or level to a directory in every supported format (atomic per file)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..errors import ExportError
from ..levels import Level
from ..terrain import Terrain
from .glb import encode_glb
from .godot import encode_tscn
from .heightmaps import encode_png16, encode_raw16
from .previews import level_preview, terrain_preview


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file and rename (readers never see half a file)."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError as exc:
        raise ExportError(str(path), exc.strerror or str(exc)) from None


def canonical_json(value: object) -> bytes:
    """Deterministic JSON bytes (sorted keys, fixed separators, trailing newline)."""
    return (json.dumps(value, sort_keys=True, indent=1, separators=(",", ": ")) + "\n").encode("utf-8")


def write_terrain(terrain: Terrain, out: Path, stem: str = "terrain", preview: bool = True) -> dict[str, str]:
    """Write ``stem``.glb, .r16 (Unity RAW), .png (16-bit, Unreal), .json (summary), _preview.png.

    Returns {format: path}.
    """
    files = {
        "glb": (out / f"{stem}.glb", encode_glb(terrain)),
        "raw16": (out / f"{stem}.r16", encode_raw16(terrain.height)),
        "png16": (out / f"{stem}.png", encode_png16(terrain.height)),
    }
    summary = terrain.summary()
    summary.pop("timings_ms")  # wall-clock figures would break byte-identical output
    summary["params"] = terrain.params.__dict__
    summary["files"] = {k: p.name for k, (p, _d) in files.items()}
    files["json"] = (out / f"{stem}.json", canonical_json(summary))
    if preview:
        files["preview"] = (out / f"{stem}_preview.png", terrain_preview(terrain))
    for path, data in files.values():
        write_atomic(path, data)
    return {k: str(p) for k, (p, _d) in files.items()}


def level_document(level: Level) -> dict:
    """The level JSON document without wall-clock timings (deterministic)."""
    doc = level.as_dict()
    report = doc["report"]
    assert isinstance(report, dict)
    doc["report"] = {k: v for k, v in report.items() if k != "elapsed_ms"}
    return doc


def write_level(level: Level, out: Path, stem: str = "level", preview: bool = True) -> dict[str, str]:
    """Write ``stem``.json, ``stem``.tscn (Godot 4 TileMapLayer scene) and ``stem``_preview.png."""
    files = {"json": (out / f"{stem}.json", canonical_json(level_document(level))),
             "tscn": (out / f"{stem}.tscn", encode_tscn(level).encode("utf-8"))}
    if preview:
        files["preview"] = (out / f"{stem}_preview.png", level_preview(level))
    for path, data in files.values():
        write_atomic(path, data)
    return {k: str(p) for k, (p, _d) in files.items()}
