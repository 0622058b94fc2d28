"""Exports: .glb through the Khronos glTF validator, RAW/PNG heightmaps, level JSON, Godot 4 .tscn structure.

Godot 4 is not installed on the CI machine (Debian ships Godot 3 only), so the .tscn test parses the
scene text and checks its structure and the decoded tile data; it does not load it in Godot.
"""

from __future__ import annotations

import json
import re
import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest

from assets_gen.export.files import write_level, write_terrain
from assets_gen.export.heightmaps import quantise_heights
from assets_gen.levels import Tile, generate_level
from assets_gen.levels.tiles import from_rows
from assets_gen.params import level_params, terrain_params
from assets_gen.terrain import generate_terrain

ROOT = Path(__file__).resolve().parents[1]
VALIDATOR = ROOT / "assets_gen" / "validator"


def _decode_png(data: bytes) -> tuple[dict, np.ndarray]:
    """A tiny PNG reader for the files we write (no interlace, filter 0): (header, pixel rows)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, header, idat = 8, {}, b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        tag, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert crc == zlib.crc32(tag + body) & 0xFFFFFFFF
        if tag == b"IHDR":
            w, h, depth, colour, _c, _f, interlace = struct.unpack(">IIBBBBB", body)
            header = {"width": w, "height": h, "depth": depth, "colour": colour, "interlace": interlace}
        elif tag == b"IDAT":
            idat += body
        pos += 12 + length
    raw = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(header["height"], -1)
    assert (raw[:, 0] == 0).all()
    return header, raw[:, 1:]


@pytest.fixture(scope="module")
def terrain_files(tmp_path_factory) -> tuple[object, dict[str, str]]:
    terrain = generate_terrain(terrain_params({"size": 129, "seed": 4, "mesh_resolution": 65, "island": True}))
    return terrain, write_terrain(terrain, tmp_path_factory.mktemp("terrain"))


def test_glb_passes_the_khronos_validator_with_no_errors_or_warnings(terrain_files, tmp_path) -> None:
    if not (VALIDATOR / "node_modules" / "gltf-validator").exists():
        pytest.fail("gltf-validator is not installed: run `npm install --prefix assets_gen/validator`")
    big = generate_terrain(terrain_params({"size": 513, "seed": 1, "mesh_resolution": 257, "droplets": 1000}))
    big_glb = write_terrain(big, tmp_path, preview=False)["glb"]  # > 65535 vertices: uint32 indices
    out = subprocess.run(["node", str(VALIDATOR / "validate.mjs"), terrain_files[1]["glb"], big_glb],
                         capture_output=True, text=True, timeout=120)
    reports = [json.loads(line) for line in out.stdout.splitlines()]
    assert out.returncode == 0 and len(reports) == 2, out.stdout + out.stderr
    for report in reports:
        assert report["errors"] == 0 and report["warnings"] == 0, report


def test_glb_layout(terrain_files) -> None:
    data = Path(terrain_files[1]["glb"]).read_bytes()
    magic, version, total = struct.unpack("<III", data[:12])
    assert (magic, version, total) == (0x46546C67, 2, len(data))
    json_len, json_type = struct.unpack("<II", data[12:20])
    assert json_type == 0x4E4F534A and json_len % 4 == 0
    doc = json.loads(data[20:20 + json_len])
    assert doc["asset"]["version"] == "2.0"
    positions = doc["accessors"][doc["meshes"][0]["primitives"][0]["attributes"]["POSITION"]]
    assert positions["count"] == 65 * 65 and len(positions["min"]) == 3


def test_raw16_is_little_endian_at_unity_sizes(terrain_files) -> None:
    terrain, files = terrain_files
    raw = Path(files["raw16"]).read_bytes()
    assert len(raw) == 129 * 129 * 2
    heights = np.frombuffer(raw, dtype="<u2").reshape(129, 129)
    assert (heights == quantise_heights(terrain.height)).all()
    assert heights.max() == 65535 and heights.min() == 0


def test_png16_is_16_bit_grayscale_big_endian(terrain_files) -> None:
    terrain, files = terrain_files
    header, rows = _decode_png(Path(files["png16"]).read_bytes())
    assert header == {"width": 129, "height": 129, "depth": 16, "colour": 0, "interlace": 0}
    heights = rows.view(">u2").reshape(129, 129)
    assert (heights == quantise_heights(terrain.height)).all()
    preview, _rows = _decode_png(Path(files["preview"]).read_bytes())
    assert preview["depth"] == 8 and preview["colour"] == 2


def _parse_tscn(text: str) -> list[tuple[str, dict[str, str], dict[str, str]]]:
    """Sections of a Godot text scene: (kind, header attributes, properties as raw value text)."""
    sections: list[tuple[str, dict[str, str], dict[str, str]]] = []
    key = None
    for line in text.splitlines():
        if line.startswith("[") and line.endswith("]") and key is None:
            kind, _, rest = line[1:-1].partition(" ")
            attrs = dict(re.findall(r'(\w+)=("[^"]*"|\S+)', rest))
            sections.append((kind, {k: v.strip('"') for k, v in attrs.items()}, {}))
        elif key is not None:  # inside a multi-line value
            sections[-1][2][key] += "\n" + line
            if line == "}":
                key = None
        elif " = " in line:
            name, value = line.split(" = ", 1)
            sections[-1][2][name] = value
            if value == "{":
                key = name
    return sections


def test_godot_tscn_structure_and_tile_data(tmp_path) -> None:
    level = generate_level(level_params({"algorithm": "templates", "seed": 9, "targets": {"keys": 2}}))
    files = write_level(level, tmp_path)
    sections = _parse_tscn(Path(files["tscn"]).read_text())
    kind, attrs, _ = sections[0]
    assert kind == "gd_scene" and attrs["format"] == "3"
    subs = {a["id"]: (a["type"], props) for k, a, props in sections if k == "sub_resource"}
    assert int(attrs["load_steps"]) == len(subs) + 1
    for _k, _a, props in sections:  # every SubResource reference resolves
        for value in props.values():
            for ref in re.findall(r'SubResource\("([^"]+)"\)', value):
                assert ref in subs, ref
    image_type, image = subs["Image_atlas"]
    assert image_type == "Image"
    data = [int(v) for v in re.search(r"PackedByteArray\(([^)]*)\)", image["data"]).group(1).split(",")]
    assert len(data) == 16 * 16 * len(Tile) * 4
    atlas_type, atlas = subs["TileSetAtlasSource_tiles"]
    assert atlas_type == "TileSetAtlasSource" and all(f"{c}:0/0" in atlas for c in range(len(Tile)))
    nodes = [(a, props) for k, a, props in sections if k == "node"]
    root = nodes[0][0]
    assert "parent" not in root and root["type"] == "Node2D"
    layer = next(props for a, props in nodes if a["type"] == "TileMapLayer")
    raw = bytes(int(v) for v in re.match(r"PackedByteArray\((.*)\)", layer["tile_map_data"]).group(1).split(","))
    assert struct.unpack("<H", raw[:2])[0] == 0 and (len(raw) - 2) % 12 == 0
    decoded = np.zeros_like(level.tiles)
    for i in range(2, len(raw), 12):
        x, y, source, ax, ay, alt = struct.unpack("<hhHHHH", raw[i:i + 12])
        assert source == 0 and ay == 0 and alt == 0
        decoded[y, x] = ax
    assert (decoded == level.tiles).all()
    markers = [a for a, _p in nodes if a["type"] == "Marker2D"]
    assert len(markers) == len(level.placements)
    assert all(a["parent"] == "Placements" for a in markers)


def test_level_json_round_trips(tmp_path) -> None:
    level = generate_level(level_params({"algorithm": "wfc", "seed": 2}))
    doc = json.loads(Path(write_level(level, tmp_path, preview=False)["json"]).read_text())
    assert doc["format"] == "worldloom.level" and doc["version"] == 1
    assert (from_rows(doc["tiles"]) == level.tiles).all()
    assert doc["playability"]["playable"] is True
    header, _ = _decode_png(Path(write_level(level, tmp_path)["preview"]).read_bytes())
    assert header["width"] == level.tiles.shape[1] * 8
