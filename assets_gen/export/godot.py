"""Levels as a Godot 4 scene (.tscn, text format 3) with a ``TileMapLayer`` and placement markers.

The scene is self-contained: the tile atlas is an embedded ``Image`` (RGBA8, one 16x16 tile per
``Tile`` code, in a row) wrapped by an ``ImageTexture``, a ``TileSetAtlasSource`` and a ``TileSet``.
``tile_map_data`` is the TileMapLayer binary form: a little-endian uint16 format version (0), then 12
bytes per cell — int16 x, int16 y, uint16 source id, uint16 atlas x, uint16 atlas y, uint16
alternative — written as a ``PackedByteArray(...)`` of decimal bytes. Placements are ``Marker2D`` nodes
under ``Placements`` at tile centres (pixels), with ``metadata/*`` entries for their fields.
Godot 4 is not installed here, so the structure is checked by a parser test (tests/test_assets_exports.py),
not by loading it in Godot.
"""

from __future__ import annotations

import json
import struct

import numpy as np

from ..levels import Level, Tile
from .previews import TILE_COLOURS

TILE_PX = 16


def _atlas_rgba() -> bytes:
    tiles = []
    for code in range(len(Tile)):
        block = np.zeros((TILE_PX, TILE_PX, 4), dtype=np.uint8)
        block[:, :, :3] = TILE_COLOURS[Tile(code)]
        block[:, :, 3] = 255
        block[0, :, :3] = block[:, 0, :3] = np.array(TILE_COLOURS[Tile(code)]) * 0.8  # grid line
        tiles.append(block)
    return np.concatenate(tiles, axis=1).tobytes()


def tile_map_data(tiles: np.ndarray) -> bytes:
    """The ``TileMapLayer.tile_map_data`` bytes for every cell of (h, w) ``tiles`` (atlas x = tile code)."""
    h, w = tiles.shape
    out = bytearray(struct.pack("<H", 0))
    for y in range(h):
        for x in range(w):
            out += struct.pack("<hhHHHH", x, y, 0, int(tiles[y, x]), 0, 0)
    return bytes(out)


def _byte_array(data: bytes) -> str:
    return "PackedByteArray(" + ", ".join(map(str, data)) + ")"


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(value if isinstance(value, str) else json.dumps(value, sort_keys=True))


def encode_tscn(level: Level, name: str = "Level") -> str:
    """The .tscn text of ``level`` (see module docstring)."""
    atlas = _atlas_rgba()
    lines = [
        "[gd_scene load_steps=5 format=3]", "",
        '[sub_resource type="Image" id="Image_atlas"]',
        "data = {", f'"data": {_byte_array(atlas)},', '"format": "RGBA8",', f'"height": {TILE_PX},',
        '"mipmaps": false,', f'"width": {TILE_PX * len(Tile)}', "}", "",
        '[sub_resource type="ImageTexture" id="ImageTexture_atlas"]', 'image = SubResource("Image_atlas")', "",
        '[sub_resource type="TileSetAtlasSource" id="TileSetAtlasSource_tiles"]',
        'texture = SubResource("ImageTexture_atlas")', f"texture_region_size = Vector2i({TILE_PX}, {TILE_PX})",
        *[f"{code}:0/0 = 0" for code in range(len(Tile))], "",
        '[sub_resource type="TileSet" id="TileSet_level"]', f"tile_size = Vector2i({TILE_PX}, {TILE_PX})",
        'sources/0 = SubResource("TileSetAtlasSource_tiles")', "",
        f'[node name="{name}" type="Node2D"]',
        f"metadata/seed = {level.params.seed}", f'metadata/algorithm = "{level.params.algorithm}"',
        f"metadata/playable = {_value(level.playability.playable)}", "",
        '[node name="Tiles" type="TileMapLayer" parent="."]',
        f"tile_map_data = {_byte_array(tile_map_data(level.tiles))}", 'tile_set = SubResource("TileSet_level")', "",
        '[node name="Placements" type="Node2D" parent="."]', "",
    ]
    counters: dict[str, int] = {}
    for item in level.placements:
        kind = item["type"]
        counters[kind] = counters.get(kind, 0) + 1
        lines.append(f'[node name="{kind.capitalize()}{counters[kind]}" type="Marker2D" parent="Placements"]')
        lines.append(f"position = Vector2({(item['x'] + 0.5) * TILE_PX}, {(item['y'] + 0.5) * TILE_PX})")
        for key, value in item.items():
            if key not in ("x", "y"):
                lines.append(f"metadata/{key} = {_value(value)}")
        lines.append("")
    return "\n".join(lines)
