"""The ``[systems.npc]`` table of a scenario: who lives where, which design they follow, social tuning.

Decoded with msgspec like the rest of a scenario, so a typo'd key or a wrong type is a ``ScenarioError``
naming ``systems.npc.<key>``; cross-references (towns are settlements, roles exist in the design) are checked
by ``check_settings`` once the design is loaded.
"""

from __future__ import annotations

from typing import Annotated, Any

from msgspec import Meta, Struct

from worldsim.errors import ScenarioError
from worldsim.scenario import convert_table

Positive = Annotated[float, Meta(gt=0)]
Unit = Annotated[float, Meta(ge=0, le=1)]


class RumourSeed(Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A rumour planted in one NPC of ``town`` at world creation (``salience`` in [0, 1])."""

    town: str
    salience: Unit = 1.0
    claim: str = "a stranger was seen near the well at night"


class NpcSettings(Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Tuning of the NPC system (units in brackets)."""

    design: str = "default"  # a bundled design name (npc/designs/<name>.toml) or a path
    towns: dict[str, dict[str, Annotated[int, Meta(ge=0, le=1_000_000)]]] = {}  # settlement -> role -> count
    home_radius: Positive = 18.0  # homes scatter within this of the settlement centre [m]
    camp_distance: Positive = 70.0  # hostile roles live in a camp this far from their town [m]
    field_distance: tuple[float, float] = (20.0, 45.0)  # work spots when no resource node has the good [m]
    memory_slots: Annotated[int, Meta(ge=1, le=64)] = 8
    relation_slots: Annotated[int, Meta(ge=1, le=256)] = 16
    talk_radius: Positive = 2.5  # NPCs this close notice each other, meet and gossip [m]
    meet_interval: Positive = 20.0  # seconds between two conversations of one NPC
    p_tell: Unit = 0.18  # chance a meeting passes on the speaker's best story
    salience_keep: Unit = 0.58  # a retold story is this much less gripping than the teller's version
    p_distort: Unit = 0.15  # chance the retold story names a different subject
    value_noise: Unit = 0.25  # relative noise on a retold amount
    affinity_per_meeting: Annotated[float, Meta(ge=0, le=1)] = 0.006
    affinity_per_story: Annotated[float, Meta(ge=0, le=1)] = 0.16  # extra warmth when a story is told
    trust_per_meeting: Annotated[float, Meta(ge=0, le=1)] = 0.02
    relation_decay: Annotated[float, Meta(ge=0, le=1)] = 0.004  # affinity relaxing to 0 [per hour]
    momentum: Annotated[float, Meta(ge=0, le=10)] = 0.25  # hysteresis bonus of the current action
    interrupt: Unit = 0.3  # a threat input this high breaks an action's commitment
    think_every: Annotated[int, Meta(ge=1, le=1000)] = 1  # ticks between perception + decision
    rescore_committed: bool = False  # also score NPCs inside an action's commitment (they keep it anyway)
    carry_capacity: Positive = 10.0  # [units]
    work_rate: Positive = 2.0  # [units per in-game hour]
    coins: tuple[float, float] = (10.0, 40.0)  # starting purse range [coins]
    arrive: Positive = 1.0  # within this of a place counts as there [m]
    flee_distance: Positive = 25.0  # [m]
    reach: Positive = 2.0  # melee reach [m]
    aggression: Annotated[float, Meta(ge=0, le=10)] = 1.0  # hostile roles' attack score multiplier (director)
    accuracy: Unit = 0.5  # hostile roles' hit chance per swing (director)
    guard_accuracy: Unit = 0.7
    predator_damage: Annotated[float, Meta(ge=0)] = 6.0  # a bite on a player (predators use `accuracy` too)
    swing_seconds: Positive = 1.0
    healing: Annotated[float, Meta(ge=0)] = 2.0  # health regained per in-game hour
    rest_healing: Annotated[float, Meta(ge=0)] = 10.0  # ... while resting at home
    rumours: list[RumourSeed] = []


def decode_settings(settings: dict[str, Any], source: str) -> NpcSettings:
    """Validate the raw ``[systems.npc]`` table. Raises ``ScenarioError`` naming ``systems.npc.<key>``."""
    return convert_table(settings, NpcSettings, source, "systems.npc", documented_in="npc/settings.py")


def check_settings(s: NpcSettings, source: str, settlements: list[str], roles: list[str]) -> None:
    """Cross-references: towns are settlements, roles exist in the design. Raises ``ScenarioError``."""
    for town, counts in s.towns.items():
        if town not in settlements:
            raise ScenarioError(source, f"systems.npc.towns.{town}", f"one of the settlements {settlements}")
        for role in counts:
            if role not in roles:
                raise ScenarioError(source, f"systems.npc.towns.{town}.{role}", f"one of the design's roles {roles}")
    for i, rumour in enumerate(s.rumours):
        if rumour.town not in s.towns:
            raise ScenarioError(source, f"systems.npc.rumours[{i}].town", f"a town with NPCs {sorted(s.towns)}")
    lo, hi = s.field_distance
    if not 0 <= lo <= hi:
        raise ScenarioError(source, "systems.npc.field_distance", "[near, far] with 0 <= near <= far")
    lo, hi = s.coins
    if not 0 <= lo <= hi:
        raise ScenarioError(source, "systems.npc.coins", "[low, high] with 0 <= low <= high")
