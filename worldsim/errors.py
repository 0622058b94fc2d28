"""Errors raised by ``worldsim``.

    WorldError                        root of this package
    ├── StaleEntityError(entity_id)   an id whose entity was despawned, or whose row was recycled
    ├── CapacityError                 the entity table has no free row (or an impossible capacity)
    ├── InputError                    a command or argument with invalid values (NaN, wrong kind, dt <= 0)
    ├── CorruptStateError(reason)     bytes that do not describe valid world columns or RNG state
    ├── SaveError(path, reason, fix)  a save file that cannot be written or loaded
    └── ScenarioError(source, key, expected)  a scenario file that is unreadable or invalid

Every message says what went wrong; ``SaveError`` also says which file and what to do about it.
"""

from __future__ import annotations


class WorldError(Exception):
    """Root of every error raised by the worldsim package."""


class StaleEntityError(WorldError):
    """``entity_id`` names no live entity: it was despawned, its row was recycled, or it never existed."""

    def __init__(self, entity_id: object) -> None:
        super().__init__(f"entity id {entity_id!r} does not name a live entity (despawned, recycled or never issued)")
        self.entity_id = entity_id


class CapacityError(WorldError):
    """The entity table is full, or a requested capacity is outside what entity ids can address."""


class InputError(WorldError):
    """A command or argument with invalid values: non-finite numbers, the wrong kind of entity, dt <= 0."""


class CorruptStateError(WorldError):
    """Bytes or arrays that do not describe valid world state (wrong column layout, bad RNG state)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SaveError(WorldError):
    """A save that cannot be written or loaded. Names the file (``path``), the cause and the fix."""

    def __init__(self, path: str, reason: str, fix: str = "restore an earlier save or start a new world") -> None:
        super().__init__(f"save file {path!r}: {reason}; {fix}")
        self.path = path
        self.reason = reason
        self.fix = fix


class ScenarioError(WorldError):
    """A scenario that cannot be used. Names the file (``source``), the ``key`` and what was ``expected``."""

    def __init__(self, source: str, key: str, expected: str) -> None:
        super().__init__(f"scenario {source!r}, key {key}: expected {expected}")
        self.source = source
        self.key = key
        self.expected = expected
