"""Level/dungeon generation: BSP, cellular-automata caves, WaveFunctionCollapse, room templates."""

from .generate import Level, generate_level
from .playability import Playability, check_playable
from .tiles import Tile

__all__ = ["Level", "Playability", "Tile", "check_playable", "generate_level"]
