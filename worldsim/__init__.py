"""Worldloom world simulation: scenarios, terrain, ecology, economy, weather, physics and an event log over
entity columns with generational ids, seeded RNG streams and Numba kernels; a deterministic ``World`` with
``world_hash`` and atomic versioned saves. Imports nothing of ours."""

from .errors import (
    CapacityError,
    CorruptStateError,
    InputError,
    SaveError,
    ScenarioError,
    StaleEntityError,
    WorldError,
)
from .events import EVENT_KINDS, WorldEvent
from .ids import MAX_ROWS, NO_ENTITY, id_generation, id_row, make_id
from .rng import RngStreams
from .saves import FORMAT_VERSION
from .scenario import SCENARIO_DIR, Scenario, load_scenario
from .state import COLUMNS, KIND_NAMES, EntityTable, Kind
from .world import ARRIVE_RADIUS, PLAYER_SPEED, World

__all__ = [
    "ARRIVE_RADIUS", "COLUMNS", "EVENT_KINDS", "FORMAT_VERSION", "KIND_NAMES", "MAX_ROWS", "NO_ENTITY",
    "PLAYER_SPEED", "SCENARIO_DIR",
    "CapacityError", "CorruptStateError", "EntityTable", "InputError", "Kind", "RngStreams", "SaveError",
    "Scenario", "ScenarioError", "StaleEntityError", "World", "WorldError", "WorldEvent", "load_scenario",
    "id_generation", "id_row", "make_id",
]
