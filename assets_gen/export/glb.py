"""Terrain as a glTF 2.0 binary (.glb): one indexed triangle mesh with normals, UVs and biome colours.

Layout (all little-endian, every block 4-byte aligned as the spec requires): a 12-byte header, a JSON
chunk padded with spaces, a BIN chunk padded with zeros. The BIN chunk holds, in order, POSITION
(float32 VEC3, metres, y up, with min/max), NORMAL (float32 VEC3, unit length), TEXCOORD_0 (float32
VEC2 in [0, 1]), COLOR_0 (float32 VEC3 linear RGB) and the indices (uint16 below 65536 vertices, else
uint32), each in its own bufferView with its target. The heightmap is resampled to ``mesh_resolution``
vertices per side; the mesh is centred on the origin.
"""

from __future__ import annotations

import json
import struct

import numpy as np

from ..terrain import BIOME_COLOURS, Terrain

ARRAY_BUFFER, ELEMENT_ARRAY_BUFFER = 34962, 34963
FLOAT, UNSIGNED_SHORT, UNSIGNED_INT = 5126, 5123, 5125


def _resample(field: np.ndarray, n: int) -> np.ndarray:
    """Nearest-sample ``field`` (size, size) to (n, n) (exact when size - 1 is a multiple of n - 1)."""
    idx = np.round(np.linspace(0, field.shape[0] - 1, n)).astype(np.int64)
    return field[np.ix_(idx, idx)]


def terrain_mesh(terrain: Terrain) -> dict[str, np.ndarray]:
    """Vertex arrays of the terrain mesh: positions (n*n, 3), normals, uvs (n*n, 2), colours, indices."""
    p = terrain.params
    n = p.mesh_resolution
    height = _resample(terrain.height, n).astype(np.float64) * p.height_scale
    step = p.cell_size * (p.size - 1) / (n - 1)
    half = step * (n - 1) / 2.0
    axis = np.arange(n) * step - half
    xs, zs = np.meshgrid(axis, axis)
    positions = np.stack([xs, height, zs], axis=-1).reshape(-1, 3).astype(np.float32)
    gz, gx = np.gradient(height, step)
    normals = np.stack([-gx, np.ones_like(gx), -gz], axis=-1).reshape(-1, 3)
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    uv_axis = np.linspace(0.0, 1.0, n)
    us, vs = np.meshgrid(uv_axis, uv_axis)
    uvs = np.stack([us, vs], axis=-1).reshape(-1, 2).astype(np.float32)
    srgb = BIOME_COLOURS[_resample(terrain.biome, n)].reshape(-1, 3) / 255.0
    colours = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4).astype(np.float32)
    r, c = np.meshgrid(np.arange(n - 1), np.arange(n - 1), indexing="ij")
    a = (r * n + c).ravel()
    b, d, e = a + 1, a + n, a + n + 1
    indices = np.stack([a, d, b, b, d, e], axis=1).ravel()  # counter-clockwise seen from +y
    return {"positions": positions, "normals": normals.astype(np.float32), "uvs": uvs, "colours": colours,
            "indices": indices.astype(np.uint16 if n * n < 65536 else np.uint32)}


def _pad(data: bytes, fill: bytes) -> bytes:
    return data + fill * (-len(data) % 4)


def encode_glb(terrain: Terrain) -> bytes:
    """The .glb bytes of ``terrain`` (see module docstring for the layout)."""
    mesh = terrain_mesh(terrain)
    blobs: list[bytes] = []
    views, accessors = [], []
    offset = 0

    def add(array: np.ndarray, kind: str, component: int, target: int, bounds: bool = False) -> int:
        nonlocal offset
        data = np.ascontiguousarray(array).tobytes()
        views.append({"buffer": 0, "byteOffset": offset, "byteLength": len(data), "target": target})
        blobs.append(_pad(data, b"\x00"))
        offset += len(blobs[-1])
        accessor = {"bufferView": len(views) - 1, "componentType": component,
                    "count": int(array.shape[0]), "type": kind}
        if bounds:
            accessor["min"] = [float(v) for v in array.min(axis=0)]
            accessor["max"] = [float(v) for v in array.max(axis=0)]
        accessors.append(accessor)
        return len(accessors) - 1

    pos = add(mesh["positions"], "VEC3", FLOAT, ARRAY_BUFFER, bounds=True)
    nor = add(mesh["normals"], "VEC3", FLOAT, ARRAY_BUFFER)
    uv = add(mesh["uvs"], "VEC2", FLOAT, ARRAY_BUFFER)
    col = add(mesh["colours"], "VEC3", FLOAT, ARRAY_BUFFER)
    indices = mesh["indices"]
    idx = add(indices, "SCALAR", UNSIGNED_SHORT if indices.dtype == np.uint16 else UNSIGNED_INT,
              ELEMENT_ARRAY_BUFFER)
    binary = b"".join(blobs)
    document = {
        "asset": {"version": "2.0", "generator": "worldloom assets_gen"},
        "scene": 0, "scenes": [{"name": "terrain", "nodes": [0]}],
        "nodes": [{"name": "terrain", "mesh": 0}],
        "meshes": [{"name": "terrain", "primitives": [{
            "attributes": {"POSITION": pos, "NORMAL": nor, "TEXCOORD_0": uv, "COLOR_0": col},
            "indices": idx, "material": 0, "mode": 4}]}],
        "materials": [{"name": "terrain", "pbrMetallicRoughness": {
            "baseColorFactor": [1.0, 1.0, 1.0, 1.0], "metallicFactor": 0.0, "roughnessFactor": 0.9}}],
        "buffers": [{"byteLength": len(binary)}],
        "bufferViews": views, "accessors": accessors,
    }
    text = _pad(json.dumps(document, separators=(",", ":"), sort_keys=True).encode("utf-8"), b" ")
    total = 12 + 8 + len(text) + 8 + len(binary)
    return (struct.pack("<III", 0x46546C67, 2, total) + struct.pack("<II", len(text), 0x4E4F534A) + text
            + struct.pack("<II", len(binary), 0x004E4942) + binary)
