"""Room-template assembly: hand-made 7x7 rooms on a grid of cells joined along a random spanning tree.

Why this design: designers author small rooms (``assets_gen/data/rooms.txt``) and the assembler only
decides which room goes where and which sockets open, so every level keeps the authored look. A random
spanning tree (randomised depth-first search over cells) guarantees connectivity; a few extra openings
add loops so the critical path is not the only route.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import numpy as np

from .tiles import Tile, from_rows

CELL = 8
"""Cell pitch in tiles: a 7x7 room plus one shared wall line."""
ROOM = 7
LOOP_CHANCE = 0.15


@lru_cache(maxsize=1)
def room_templates() -> tuple[np.ndarray, ...]:
    """The bundled 7x7 uint8 room templates."""
    text = resources.files("assets_gen.data").joinpath("rooms.txt").read_text()
    rooms, block = [], []
    for line in text.splitlines() + [""]:
        if line.startswith("#") and not set(line) <= {"#", "."}:
            continue  # comment line
        if line.strip():
            block.append(line.strip())
        elif block:
            rooms.append(from_rows(block))
            block = []
    assert rooms and all(r.shape == (ROOM, ROOM) for r in rooms), "rooms.txt: every template must be 7x7"
    return tuple(rooms)


def _carve_to_centre(tiles: np.ndarray, y0: int, x0: int, side: int) -> None:
    """Carve from the centre of the room at (y0, x0) through socket ``side`` (0 E, 1 S, 2 W, 3 N)."""
    mid = ROOM // 2
    if side == 0:
        tiles[y0 + mid, x0 + mid:x0 + ROOM + 1] = Tile.FLOOR
    elif side == 1:
        tiles[y0 + mid:y0 + ROOM + 1, x0 + mid] = Tile.FLOOR
    elif side == 2:
        tiles[y0 + mid, x0 - 1:x0 + mid + 1] = Tile.FLOOR
    else:
        tiles[y0 - 1:y0 + mid + 1, x0 + mid] = Tile.FLOOR


def template_layout(width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """(height, width) uint8 grid of template rooms (cells of 8 tiles) joined by opened sockets."""
    rooms = room_templates()
    cols, rows = max(1, (width - 1) // CELL), max(1, (height - 1) // CELL)
    tiles = np.zeros((height, width), dtype=np.uint8)
    for r in range(rows):
        for c in range(cols):
            room = rooms[int(rng.integers(len(rooms)))]
            if rng.integers(2):
                room = room[:, ::-1]
            tiles[1 + r * CELL:1 + r * CELL + ROOM, 1 + c * CELL:1 + c * CELL + ROOM] = room
    visited = np.zeros((rows, cols), dtype=bool)
    stack = [(int(rng.integers(rows)), int(rng.integers(cols)))]
    visited[stack[0]] = True
    steps = ((0, 1, 0), (1, 0, 1), (0, -1, 2), (-1, 0, 3))
    links: list[tuple[int, int, int]] = []
    while stack:
        r, c = stack[-1]
        options = [(r + dr, c + dc, side) for dr, dc, side in steps
                   if 0 <= r + dr < rows and 0 <= c + dc < cols and not visited[r + dr, c + dc]]
        if not options:
            stack.pop()
            continue
        nr, nc, side = options[int(rng.integers(len(options)))]
        visited[nr, nc] = True
        links.append((r, c, side))
        stack.append((nr, nc))
    for r in range(rows):  # a few extra openings east/south make loops
        for c in range(cols):
            if c + 1 < cols and rng.random() < LOOP_CHANCE:
                links.append((r, c, 0))
            if r + 1 < rows and rng.random() < LOOP_CHANCE:
                links.append((r, c, 1))
    opposite = {0: 2, 1: 3, 2: 0, 3: 1}
    offsets = {0: (0, 1), 1: (1, 0), 2: (0, -1), 3: (-1, 0)}
    for r, c, side in links:
        dr, dc = offsets[side]
        _carve_to_centre(tiles, 1 + r * CELL, 1 + c * CELL, side)
        _carve_to_centre(tiles, 1 + (r + dr) * CELL, 1 + (c + dc) * CELL, opposite[side])
    tiles[0, :] = tiles[-1, :] = Tile.WALL
    tiles[:, 0] = tiles[:, -1] = Tile.WALL
    return tiles
