"""Binary space partitioning: rooms in the leaves of a recursive split, corridors between siblings.

Why this design: BSP guarantees non-overlapping rooms spread over the whole map and a connected tree of
corridors (each split joins its two halves), the classic roguelike layout. Rejected: random room
scattering with rejection, which clusters rooms and needs a separate connection pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .tiles import Tile

MIN_LEAF = 7
"""Smallest partition side in tiles (room of at least 3x3 plus walls)."""


@dataclass
class _Node:
    x: int
    y: int
    w: int
    h: int
    left: _Node | None = None
    right: _Node | None = None
    room: tuple[int, int, int, int] | None = None  # x, y, w, h of the carved room (leaves only)


def _split(node: _Node, rng: np.random.Generator, depth: int) -> None:
    can_v, can_h = node.w >= 2 * MIN_LEAF, node.h >= 2 * MIN_LEAF
    if depth == 0 or not (can_v or can_h):
        return
    vertical = can_v if not (can_v and can_h) else (node.w > node.h if max(node.w, node.h) > 1.25 * min(
        node.w, node.h) else bool(rng.integers(2)))
    if vertical:
        cut = int(rng.integers(MIN_LEAF, node.w - MIN_LEAF + 1))
        node.left, node.right = _Node(node.x, node.y, cut, node.h), _Node(node.x + cut, node.y, node.w - cut, node.h)
    else:
        cut = int(rng.integers(MIN_LEAF, node.h - MIN_LEAF + 1))
        node.left, node.right = _Node(node.x, node.y, node.w, cut), _Node(node.x, node.y + cut, node.w, node.h - cut)
    _split(node.left, rng, depth - 1)
    _split(node.right, rng, depth - 1)


def _carve_rooms(node: _Node, tiles: np.ndarray, rng: np.random.Generator) -> None:
    if node.left is None or node.right is None:
        w = int(rng.integers(3, node.w - 1))  # leave a wall on each side of the partition
        h = int(rng.integers(3, node.h - 1))
        x = node.x + 1 + int(rng.integers(0, node.w - w - 1))
        y = node.y + 1 + int(rng.integers(0, node.h - h - 1))
        node.room = (x, y, w, h)
        tiles[y:y + h, x:x + w] = Tile.FLOOR
        return
    _carve_rooms(node.left, tiles, rng)
    _carve_rooms(node.right, tiles, rng)


def _room_point(node: _Node, rng: np.random.Generator) -> tuple[int, int]:
    """A random floor point in some room of the subtree (descending to a random leaf)."""
    while node.room is None:
        assert node.left is not None and node.right is not None
        node = node.left if rng.integers(2) == 0 else node.right
    x, y, w, h = node.room
    return x + int(rng.integers(w)), y + int(rng.integers(h))


def _connect(node: _Node, tiles: np.ndarray, rng: np.random.Generator) -> None:
    if node.left is None or node.right is None:
        return
    _connect(node.left, tiles, rng)
    _connect(node.right, tiles, rng)
    (x0, y0), (x1, y1) = _room_point(node.left, rng), _room_point(node.right, rng)
    if rng.integers(2):
        tiles[y0, min(x0, x1):max(x0, x1) + 1] = Tile.FLOOR
        tiles[min(y0, y1):max(y0, y1) + 1, x1] = Tile.FLOOR
    else:
        tiles[min(y0, y1):max(y0, y1) + 1, x0] = Tile.FLOOR
        tiles[y1, min(x0, x1):max(x0, x1) + 1] = Tile.FLOOR


def bsp_layout(width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """(height, width) uint8 grid of rooms and corridors, bordered by wall."""
    tiles = np.zeros((height, width), dtype=np.uint8)
    root = _Node(0, 0, width, height)
    _split(root, rng, depth=12)
    _carve_rooms(root, tiles, rng)
    _connect(root, tiles, rng)
    tiles[0, :] = tiles[-1, :] = Tile.WALL
    tiles[:, 0] = tiles[:, -1] = Tile.WALL
    return tiles
