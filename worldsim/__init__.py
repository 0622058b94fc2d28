"""Worldloom world simulation: entity columns with generational ids, seeded RNG streams, Numba kernels,
a deterministic ``World`` with ``world_hash`` and atomic versioned saves. Imports nothing of ours."""

from .errors import CapacityError, CorruptStateError, InputError, SaveError, StaleEntityError, WorldError
from .ids import MAX_ROWS, NO_ENTITY, id_generation, id_row, make_id
from .rng import RngStreams
from .saves import FORMAT_VERSION
from .state import COLUMNS, KIND_NAMES, EntityTable, Kind
from .world import ARRIVE_RADIUS, PLAYER_SPEED, World

__all__ = [
    "ARRIVE_RADIUS", "COLUMNS", "FORMAT_VERSION", "KIND_NAMES", "MAX_ROWS", "NO_ENTITY", "PLAYER_SPEED",
    "CapacityError", "CorruptStateError", "EntityTable", "InputError", "Kind", "RngStreams", "SaveError",
    "StaleEntityError", "World", "WorldError",
    "id_generation", "id_row", "make_id",
]
