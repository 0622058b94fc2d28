"""Pictures of an agent's surroundings: (H, W, 3) uint8 arrays (``render_mode="rgb_array"``)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .core import BatchedWorlds

PIXELS_PER_TILE = 8
RENDER_RADIUS = 6
"""Tiles drawn on each side of the agent: a 13 x 13 tile picture, 104 x 104 pixels, north up."""

_OUTSIDE = (20, 20, 28)
_GRAZED_TINT = 0.55
_PREDATOR = (70, 70, 82)
_AGENT = (220, 40, 40)
_OTHER = (240, 160, 40)


def _rgb(hex_color: str) -> tuple[int, int, int]:
    value = hex_color.lstrip("#")
    try:
        return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)
    except (ValueError, IndexError):
        return 128, 128, 128


def render_agent(core: BatchedWorlds, world: int, agent: int) -> npt.NDArray[np.uint8]:
    """A north-up picture (H, W, 3) uint8 of the tiles around one agent: biome colours, grazed tiles
    darker, blocked tiles outside the arena near-black, pursuers grey squares, other agents orange, the
    agent red."""
    side = 2 * RENDER_RADIUS + 1
    tiles = np.zeros((side, side, 3), dtype=np.float64)
    palette = np.array([_rgb(c) for c in core.atlas.biome_colors], dtype=np.float64)
    ox, oy = core.origin[world]
    x0, y0 = core.ax[world, agent], core.ay[world, agent]
    t = core.t[world]
    g = core.g
    for row in range(side):
        y = y0 + RENDER_RADIUS - row  # row 0 is the northmost
        for col in range(side):
            x = x0 - RENDER_RADIUS + col
            if not (0 <= x < g and 0 <= y < g):
                tiles[row, col] = _OUTSIDE
                continue
            colour = palette[core.atlas.biome[oy + y, ox + x]]
            grown = t >= core.regrow_at[world, y + core.r, x + core.r]
            passable = core.atlas.passable[oy + y, ox + x]
            tiles[row, col] = colour if (grown or not passable) else colour * _GRAZED_TINT
    marks = [(core.px[world, i], core.py[world, i], _PREDATOR) for i in range(int(core.pred_count[world]))]
    marks += [(core.ax[world, b], core.ay[world, b], _OTHER) for b in range(core.n_agents)
              if b != agent and core.alive[world, b]]
    marks.append((x0, y0, _AGENT))
    picture = np.repeat(np.repeat(tiles, PIXELS_PER_TILE, axis=0), PIXELS_PER_TILE, axis=1)
    inset = PIXELS_PER_TILE // 4
    for x, y, colour in marks:
        col, row = x - x0 + RENDER_RADIUS, y0 + RENDER_RADIUS - y
        if 0 <= col < side and 0 <= row < side:
            r0, c0 = row * PIXELS_PER_TILE + inset, col * PIXELS_PER_TILE + inset
            picture[r0:r0 + PIXELS_PER_TILE - 2 * inset, c0:c0 + PIXELS_PER_TILE - 2 * inset] = colour
    return picture.astype(np.uint8)
