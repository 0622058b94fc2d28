"""Tile codes of a level grid and their text form.

A level is a (height, width) uint8 array, row = y (top row 0), column = x. Placements (start, keys,
enemies, ...) live beside the grid, not in it; only the locked doors change a tile, because they
change where one can walk.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np


class Tile(IntEnum):
    WALL = 0
    FLOOR = 1
    DOOR = 2  # a locked door: passable once its key is held


TILE_CHARS = {Tile.WALL: "#", Tile.FLOOR: ".", Tile.DOOR: "+"}
CHAR_TILES = {v: k for k, v in TILE_CHARS.items()}


def to_rows(tiles: np.ndarray) -> list[str]:
    """The grid as text rows ('#' wall, '.' floor, '+' locked door)."""
    lut = np.array([ord(TILE_CHARS[Tile(i)]) for i in range(len(Tile))], dtype=np.uint8)
    return [bytes(lut[row]).decode("ascii") for row in tiles]


def from_rows(rows: list[str] | tuple[str, ...]) -> np.ndarray:
    """Parse text rows back into a (len(rows), len(rows[0])) uint8 grid."""
    return np.array([[CHAR_TILES[ch] for ch in row] for row in rows], dtype=np.uint8)
