"""What the director did, and why: typed action records, one Struct per kind, tagged by their event kind.

Every decision the director makes is returned from ``Director.tick``/``record_outcome`` as one of these
records; the world/server turns each into a world event with ``to_event()`` (kind ``director.*``, the
entity it is about, scalar data including ``reason``) so designers and analytics see the same log.
``time`` is the director's clock in seconds when the decision was made.

Why a tagged union of frozen Structs: typed fields for code that acts on them (spawn counts, hostility),
``msgspec.to_builtins`` gives analytics plain dicts with ``kind`` included, and new kinds or new fields
(with defaults) are added without breaking readers -- the schema-evolution rule of ``protocol``.
"""

from __future__ import annotations

from typing import Any

import msgspec


class _Action(msgspec.Struct, frozen=True, kw_only=True, tag_field="kind"):
    """Base: ``time`` (director seconds) and a human-readable ``reason``."""

    time: float
    reason: str

    @property
    def kind(self) -> str:
        """The world-event kind, e.g. ``director.spawn``."""
        return str(self.__struct_config__.tag)

    @property
    def entity(self) -> int:
        """The entity the event is about (a player id), or 0."""
        return 0

    def to_event(self) -> tuple[str, int, dict[str, Any]]:
        """``(kind, entity, data)`` for ``world.events.emit(tick, kind, entity, **data)``."""
        data = msgspec.to_builtins(self)
        data.pop("kind", None)
        return self.kind, self.entity, data


class SpawnAction(_Action, frozen=True, tag="director.spawn"):
    """Spawn ``count`` threats for ``group`` with the given hostility (``aggression``: attack-score
    multiplier 0..10, 1 = the NPC default; ``accuracy``: hit chance 0..1)."""

    group: int
    count: int
    aggression: float
    accuracy: float


class ThreatAction(_Action, frozen=True, tag="director.threat"):
    """A scheduled storyteller threat worth ``points`` (``count`` spawns), ``number``-th of the run."""

    number: int
    points: float
    count: int
    aggression: float
    accuracy: float


class PhaseAction(_Action, frozen=True, tag="director.phase"):
    """``group`` entered pacing ``phase`` after ``previous`` lasted ``duration`` seconds."""

    group: int
    phase: str
    previous: str
    duration: float
    intensity: float


class DifficultyAction(_Action, frozen=True, tag="director.difficulty"):
    """``player``'s next-encounter difficulty moved ``old`` -> ``new``; ``p_success`` is the model's
    predicted success probability at ``new``; ``skill``/``skill_sd`` the posterior."""

    player: int
    old: float
    new: float
    p_success: float
    skill: float
    skill_sd: float

    @property
    def entity(self) -> int:
        return self.player


class HostilityAction(_Action, frozen=True, tag="director.hostility"):
    """Set NPC hostility: ``npc.set_hostility(aggression, accuracy)`` (multiplier 0..10, hit chance 0..1)."""

    aggression: float
    accuracy: float


DirectorAction = SpawnAction | ThreatAction | PhaseAction | DifficultyAction | HostilityAction
"""Every record the director emits."""

ACTION_KINDS = ("director.spawn", "director.threat", "director.phase", "director.difficulty",
                "director.hostility")
"""World-event kinds the director's records become (docs/director.md describes each one's data)."""
