"""Attached systems: packages layered above ``worldsim`` (``npc``, ``narrative``) that add state and a
per-tick step to a world.

Why this design: ``worldsim`` must not import the packages above it, yet their state has to step with the
world, travel in its saves and be digested by ``world_hash`` (same seed and inputs => same hash). So a
scenario's ``[systems.<name>]`` table names a system and carries its settings; ``ENTRY_POINTS`` maps the
name to a ``"module:Class"`` string imported only when a world needs it (the lazy registration Gymnasium
uses for env ids). The world calls each attached system, in scenario order, at the end of every ``step``;
their ``arrays()`` are saved and hashed under ``systems.<name>.<array>``. Rejected: a subclass of ``World``
per feature (combinatorial), and a ``World`` that imports ``npc`` (breaks the layering test).

A system class provides::

    create(world, settings: dict, source: str, fresh: bool) -> system   # fresh=False when loading a save
    system.step(world, tick: int, dt: float) -> None
    system.arrays() -> dict[str, np.ndarray]; system.load_arrays(arrays) -> None
    system.metrics() -> dict[str, float]

``create`` validates ``settings`` and raises ``ScenarioError`` naming ``systems.<name>.<key>``.
"""

from __future__ import annotations

import importlib
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from .errors import ScenarioError

ENTRY_POINTS: dict[str, str] = {
    "npc": "npc.system:NpcSystem",
    "narrative": "narrative.system:NarrativeSystem",
}
"""System name -> ``"module:Class"``; extend with ``register``."""


class AttachedSystem(Protocol):
    """What a world needs from an attached system (see the module docstring)."""

    def step(self, world: Any, tick: int, dt: float) -> None: ...

    def arrays(self) -> dict[str, npt.NDArray[Any]]: ...

    def load_arrays(self, arrays: dict[str, npt.NDArray[Any]]) -> None: ...

    def metrics(self) -> dict[str, float]: ...


def register(name: str, entry: str) -> None:
    """Make ``[systems.<name>]`` build ``entry`` (``"package.module:Class"``)."""
    if ":" not in entry:
        raise ValueError(f"entry must look like 'package.module:Class', got {entry!r}")
    ENTRY_POINTS[name] = entry


def system_class(name: str, source: str) -> Any:
    """The class registered for ``name``. Raises ``ScenarioError`` (unknown name, or it cannot be imported)."""
    entry = ENTRY_POINTS.get(name)
    if entry is None:
        raise ScenarioError(source, f"systems.{name}", f"one of the systems {sorted(ENTRY_POINTS)}")
    module_name, _, attr = entry.partition(":")
    try:
        return getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ScenarioError(source, f"systems.{name}", f"an importable system ({entry}: {exc})") from None


def attach_all(world: Any, fresh: bool) -> dict[str, AttachedSystem]:
    """Build every system the world's scenario names, in file order."""
    scenario = world.scenario
    out: dict[str, AttachedSystem] = {}
    world.systems = out  # visible to later systems while they are created (narrative reads npc)
    for name, settings in scenario.systems.items():
        out[name] = system_class(name, scenario.source).create(world, dict(settings), scenario.source, fresh)
    return out


def prefixed_arrays(systems: dict[str, AttachedSystem]) -> dict[str, npt.NDArray[Any]]:
    """Every attached system's arrays as ``systems.<name>.<array>`` (the save/hash view)."""
    out: dict[str, npt.NDArray[Any]] = {}
    for name, system in systems.items():
        for key, values in system.arrays().items():
            out[f"systems.{name}.{key}"] = np.asarray(values)
    return out


def split_arrays(arrays: dict[str, npt.NDArray[Any]], name: str) -> dict[str, npt.NDArray[Any]]:
    """The arrays saved for system ``name``, with the prefix removed."""
    prefix = f"systems.{name}."
    return {key.removeprefix(prefix): values for key, values in arrays.items() if key.startswith(prefix)}
