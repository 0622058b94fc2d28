"""Typed consequences of a quest's outcome, and how to apply them to a world.

Quests never mutate the world themselves: turning in or failing a quest returns a list of effects; the
server applies them in the tick (``apply_effects``), so they land in a deterministic order and can be
logged with the other commands. Effects are msgspec Structs tagged by kind so they can travel in protocol
``Event`` payloads unchanged.
"""

from __future__ import annotations

import math
from typing import Any

import msgspec


class RelationEffect(msgspec.Struct, frozen=True, tag="relation"):
    """``a``'s feelings towards ``b`` change by ``affinity`` and ``trust`` (each in [-1, 1])."""

    a: int
    b: int
    affinity: float
    trust: float


class FactionEffect(msgspec.Struct, frozen=True, tag="faction"):
    """The standing between two factions changes by ``delta`` (in [-1, 1])."""

    faction_a: str
    faction_b: str
    delta: float


class StockEffect(msgspec.Struct, frozen=True, tag="stock"):
    """A settlement's stock of ``good`` changes by ``units`` (a delivery; prices follow on the next market step)."""

    settlement: str
    good: str
    units: float


class PriceEffect(msgspec.Struct, frozen=True, tag="price"):
    """A settlement's price of ``good`` is multiplied by ``factor`` (> 0)."""

    settlement: str
    good: str
    factor: float


Effect = RelationEffect | FactionEffect | StockEffect | PriceEffect


def effect_to_dict(effect: Effect) -> dict[str, Any]:
    """A msgpack-able dict with a ``type`` key."""
    return msgspec.to_builtins(effect)


def effect_from_dict(data: dict[str, Any]) -> Effect:
    """Inverse of ``effect_to_dict``. Raises ``msgspec.ValidationError`` on bad data."""
    return msgspec.convert(data, Effect)


def apply_effects(world: Any, effects: list[Effect]) -> list[str]:
    """Apply ``effects`` in order to a ``worldsim.World``: relations and factions through the NPC system
    (``world.systems["npc"].adjust_relation`` / ``adjust_faction``), stock and price on ``world.economy``.

    Returns a note for every effect that could not be applied (no NPC system, unknown settlement or
    good, an entity that is no longer an NPC); nothing raises, so a quest outcome never breaks a tick.
    """
    skipped: list[str] = []
    npc = getattr(world, "systems", {}).get("npc")
    economy = world.economy
    for effect in effects:
        if isinstance(effect, RelationEffect | FactionEffect):
            if npc is None:
                skipped.append(f"{effect}: the world has no NPC system")
                continue
            try:
                if isinstance(effect, RelationEffect):
                    npc.adjust_relation(effect.a, effect.b, effect.affinity, effect.trust)
                else:
                    npc.adjust_faction(effect.faction_a, effect.faction_b, effect.delta)
            except Exception as exc:  # the NPC API's own typed errors; an outcome must not break the tick
                skipped.append(f"{effect}: {exc}")
            continue
        if effect.settlement not in economy.settlements or effect.good not in economy.goods:
            skipped.append(f"{effect}: unknown settlement or good")
            continue
        t, g = economy.settlements.index(effect.settlement), economy.goods.index(effect.good)
        if isinstance(effect, StockEffect):
            economy.stock[t, g] = max(0.0, float(economy.stock[t, g]) + effect.units)
        elif math.isfinite(effect.factor) and effect.factor > 0:
            economy.price[t, g] *= effect.factor
        else:
            skipped.append(f"{effect}: factor must be finite and > 0")
    return skipped
