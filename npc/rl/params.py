"""Task parameters: the columns of the per-world parameter matrix, the presets of each task, and the
``reset(options=...)`` keys that change them (curriculum / domain randomisation).

Why this design: every world of a batch carries its own parameter row (``(W, N_PARAMS)`` float64), so a
curriculum can give each world a different difficulty -- like ML-Agents' environment parameters, which
are read at the start of each episode. A task is just a preset row plus a reward weighting; the step
kernel is the same for every task. Options are validated here, at the Python boundary, so the kernel
never sees a bad value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from .errors import RlOptionError

# Column indices of the parameter matrix (kernels read these as plain ints).
PREDATORS = 0
"""Pursuers (wolves) in the arena, 0..MAX_PREDATORS."""
AGGRESSION = 1
"""Chance per step that a pursuer which sees an agent steps toward it, [0, 1]."""
ACCURACY = 2
"""Chance that a pursuer next to (or on) an agent hits it, per pursuer per step, [0, 1]."""
DAMAGE = 3
"""Health taken by one hit, (0, 1]."""
REGROWTH_SCALE = 4
"""Multiplier on the biome's grass regrowth time (ecology steps), > 0."""
HUNGER_RATE = 5
"""Hunger gained per step, [0, 1]."""
EAT_GAIN = 6
"""Hunger removed by grazing one grown tile, [0, 1]."""
MOVE_COST = 7
"""Energy spent per tile moved, [0, 1]; a move with less energy left fails (the agent stays)."""
REST_GAIN = 8
"""Energy regained per step spent standing still, [0, 1]."""
EAT_REWARD = 9
"""Reward per tile grazed."""
STEP_REWARD = 10
"""Reward per step survived."""
DEATH_PENALTY = 11
"""Reward subtracted when the agent dies (health reaches 0)."""
MAX_STEPS = 12
"""Steps after which the episode is truncated, >= 1."""
SIGHT = 13
"""Manhattan distance (tiles) within which a pursuer notices an agent, >= 0."""
WANDER = 14
"""Chance per step that a pursuer not chasing takes a random step, [0, 1]."""
STARVE_DAMAGE = 15
"""Health lost per step at full hunger, [0, 1]."""
GRASS_START = 16
"""Fraction of growable tiles grown at the start of an episode, [0, 1]."""
N_PARAMS = 17

MAX_PREDATORS = 8
"""Pursuer slots per world (the ``predators`` option may use up to this many)."""

OPTION_COLUMNS: dict[str, tuple[int, float, float]] = {
    "predators": (PREDATORS, 0, MAX_PREDATORS),
    "spawn_count": (PREDATORS, 0, MAX_PREDATORS),
    "aggression": (AGGRESSION, 0.0, 1.0),
    "accuracy": (ACCURACY, 0.0, 1.0),
    "damage": (DAMAGE, 1e-6, 1.0),
    "regrowth": (REGROWTH_SCALE, 1e-3, 1e3),
    "hunger_rate": (HUNGER_RATE, 0.0, 1.0),
    "eat_gain": (EAT_GAIN, 0.0, 1.0),
    "move_cost": (MOVE_COST, 0.0, 1.0),
    "rest_gain": (REST_GAIN, 0.0, 1.0),
    "max_steps": (MAX_STEPS, 1, 1_000_000),
    "sight": (SIGHT, 0, 1000),
    "wander": (WANDER, 0.0, 1.0),
    "grass_start": (GRASS_START, 0.0, 1.0),
}
"""``reset(options=...)`` / constructor keys that set a parameter column: (column, lowest, highest).
``spawn_count`` is an alias of ``predators`` (the difficulty director's name for it)."""

INTEGER_OPTIONS = frozenset({"predators", "spawn_count", "max_steps", "sight"})


def _preset(**values: float) -> np.ndarray:
    row = np.zeros(N_PARAMS, dtype=np.float64)
    for name, value in values.items():
        row[globals()[name.upper()]] = value
    return row


TASK_PRESETS: dict[str, np.ndarray] = {
    # Forager: graze to stay fed, two slow wolves that chase when near. Reward: +1 per tile grazed, -1 on death.
    "forager": _preset(predators=2, aggression=0.6, accuracy=0.5, damage=0.5, regrowth_scale=4.0,
                       hunger_rate=0.01, eat_gain=0.25, move_cost=0.01, rest_gain=0.05, eat_reward=1.0,
                       step_reward=0.0, death_penalty=1.0, max_steps=200, sight=6, wander=0.5,
                       starve_damage=0.05, grass_start=0.5),
    # Evade: survive pursuers; no hunger. Reward: +0.01 per step survived, -1 on death.
    "evade": _preset(predators=3, aggression=0.7, accuracy=0.5, damage=0.34, regrowth_scale=4.0,
                     hunger_rate=0.0, eat_gain=0.0, move_cost=0.0, rest_gain=0.0, eat_reward=0.0,
                     step_reward=0.01, death_penalty=1.0, max_steps=200, sight=12, wander=0.5,
                     starve_damage=0.0, grass_start=0.5),
}


def task_params(task: str) -> np.ndarray:
    """A copy of the preset parameter row (N_PARAMS,) of ``task``. Raises ``RlOptionError``."""
    try:
        return TASK_PRESETS[task].copy()
    except KeyError:
        raise RlOptionError("task", task, f"one of {sorted(TASK_PRESETS)}") from None


def apply_options(row: np.ndarray, options: Mapping[str, Any] | None, ignore: frozenset[str] = frozenset()) -> None:
    """Write validated option values into a parameter row (N_PARAMS,) in place.

    Keys in ``ignore`` are handled by the caller (e.g. ``map_seed``). All or nothing: on an error the row
    is left as it was. Raises ``RlOptionError`` for an unknown key, a non-number, a non-integer where an
    integer is needed, or a value out of range.
    """
    if not options:
        return
    if not isinstance(options, Mapping):
        raise RlOptionError("options", options, "a mapping of option names to numbers, or None")
    staged = row.copy()
    for key, value in options.items():
        if key in ignore:
            continue
        if key not in OPTION_COLUMNS:
            raise RlOptionError(key, value, f"one of the option names {sorted(OPTION_COLUMNS) + sorted(ignore)}")
        column, low, high = OPTION_COLUMNS[key]
        if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
            raise RlOptionError(key, value, "a number")
        number = float(value)
        if not math.isfinite(number) or not low <= number <= high:
            raise RlOptionError(key, value, f"a finite number in [{low}, {high}]")
        if key in INTEGER_OPTIONS and number != int(number):
            raise RlOptionError(key, value, "an integer")
        staged[column] = number
    row[:] = staged
