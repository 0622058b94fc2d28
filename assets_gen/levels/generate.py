"""Level pipeline: layout (one of four algorithms) -> largest region -> placements -> playability check.

Random draws come from named streams of ``worldsim.RngStreams(seed)`` ("level.layout.N",
"level.place.N" for attempt N), so the same parameters give the same level in every process.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

import numpy as np

from worldsim.rng import RngStreams

from ..cancel import CancelToken, ensure_token
from ..errors import GenerationFailed
from ..params import LevelParams
from .bsp import bsp_layout
from .caves import cave_layout
from .paths import keep_largest_region
from .placement import place
from .playability import Playability, check_playable
from .templates import template_layout
from .tiles import Tile, from_rows, to_rows
from .wfc import wfc_layout

ATTEMPTS = 4
MIN_REGION = 24
"""A layout whose largest floor region is smaller than this is redrawn."""


@dataclass
class Level:
    """A generated level.

    tiles: (height, width) uint8 ``Tile`` codes, row = y. placements: dicts with ``type`` (start, exit,
    door, key, enemy, trap, treasure), ``x``, ``y`` in tiles and type-specific fields. critical_path:
    [(x, y), ...] from start to exit. report: targets vs achieved, curve fit, playability, timings.
    """

    params: LevelParams
    tiles: np.ndarray
    placements: list[dict]
    critical_path: list[tuple[int, int]]
    playability: Playability
    report: dict = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        """JSON-able form (the ``.json`` export and the RPC result)."""
        return {
            "format": "worldloom.level", "version": 1, "seed": self.params.seed,
            "algorithm": self.params.algorithm, "width": int(self.tiles.shape[1]),
            "height": int(self.tiles.shape[0]), "legend": {"#": "wall", ".": "floor", "+": "locked door"},
            "tiles": to_rows(self.tiles), "placements": self.placements,
            "critical_path": [list(cell) for cell in self.critical_path],
            "playability": self.playability.as_dict(), "report": self.report,
        }


@lru_cache(maxsize=1)
def default_sample() -> np.ndarray:
    """The bundled WFC sample (``assets_gen/data/wfc_sample.txt``)."""
    text = resources.files("assets_gen.data").joinpath("wfc_sample.txt").read_text()
    return from_rows([line.strip() for line in text.splitlines() if line.strip()])


def layout(p: LevelParams, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """The raw tile grid of ``p.algorithm`` and algorithm statistics."""
    if p.algorithm == "bsp":
        return bsp_layout(p.width, p.height, rng), {}
    if p.algorithm == "caves":
        return cave_layout(p.width, p.height, rng), {}
    if p.algorithm == "templates":
        return template_layout(p.width, p.height, rng), {}
    sample = from_rows(p.sample) if p.sample is not None else default_sample()
    return wfc_layout(p.width, p.height, sample, p.pattern_size, rng)


def generate_level(p: LevelParams, cancel: CancelToken | None = None) -> Level:
    """Generate a level (see ``LevelParams``). The playability result is in ``level.playability``.

    Raises ``GenerationFailed`` if no attempt yields a floor region of at least ``MIN_REGION`` tiles,
    ``Cancelled`` if ``cancel`` trips.
    """
    cancel = ensure_token(cancel)
    streams = RngStreams(p.seed)
    t0 = time.perf_counter()
    for attempt in range(ATTEMPTS):
        cancel.check()
        tiles, stats = layout(p, streams.stream(f"level.layout.{attempt}"))
        region = keep_largest_region(tiles, Tile.FLOOR)
        if region < MIN_REGION:
            continue
        cancel.check()
        placements, path, report = place(tiles, p, streams.stream(f"level.place.{attempt}"))
        playability = check_playable(tiles, placements)
        if playability.playable or attempt == ATTEMPTS - 1:
            report.update({"attempts": attempt + 1, "floor_tiles": region, "layout": stats,
                           "playable": playability.playable,
                           "elapsed_ms": round((time.perf_counter() - t0) * 1000, 3)})
            return Level(p, tiles, placements, path, playability, report)
    raise GenerationFailed(p.algorithm, f"no layout with a floor region of at least {MIN_REGION} tiles in "
                                        f"{ATTEMPTS} attempts at {p.width}x{p.height}; enlarge the level")
