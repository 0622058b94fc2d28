"""The director: storyteller presets (pacing as data), intensity-driven pacing and per-player adaptive
difficulty, with every decision logged as a typed ``director.*`` record. See docs/director.md.

Modules, each with one job: ``presets`` (TOML -> typed settings), ``storyteller`` (scheduled threats),
``intensity`` (intensity and the build-up/peak/fade/relax loop), ``skill`` (Bayesian skill posterior),
``readings`` (health/time -> performance margin), ``difficulty`` (bounded-step controller and encounter
parameters), ``actions`` (the records), ``controller`` (the ``Director`` runtime object), ``simulate``
(simulated players and groups for benchmarks and tests).
"""

from .actions import (
    ACTION_KINDS,
    DifficultyAction,
    DirectorAction,
    HostilityAction,
    PhaseAction,
    SpawnAction,
    ThreatAction,
)
from .controller import Director, EncounterParams, PlayerSignals
from .presets import Preset, available, load_preset

__all__ = [
    "ACTION_KINDS", "DifficultyAction", "Director", "DirectorAction", "EncounterParams", "HostilityAction",
    "PhaseAction", "PlayerSignals", "Preset", "SpawnAction", "ThreatAction", "available", "load_preset",
]
