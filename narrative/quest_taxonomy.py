"""The quest vocabulary: the nine motivations, the atomic actions, the slot kinds, and the strategies a
designer writes in ``narrative/templates/strategies.toml``.

Why this split: Doran & Parberry's analysis of RPG quests (2011) found that every quest serves one of nine
NPC motivations and follows one of a few strategies per motivation, each a short sequence of atomic
actions (goto, kill, gather, give, spy...). The motivations and actions are the fixed vocabulary (Python,
because the quest state machine must know what evidence completes an action); the strategies are data
(TOML), so a designer adds "Guard the well" without touching code. Slots are the named roles a strategy
binds to the world (giver, threat, good...); each slot kind has a resolver in ``quests.py``.

Loading validates everything and names the file and field on any problem (``DesignDataError``).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import DesignDataError

MOTIVATIONS = ("knowledge", "comfort", "reputation", "serenity", "protection", "conquest", "wealth", "ability",
               "equipment")
"""The nine NPC motivations, in the order of the published taxonomy."""

ACTIONS: dict[str, tuple[str, ...]] = {
    "goto": (), "explore": (), "listen": (), "report": (), "spy": (), "stealth": (), "read": (),
    "experiment": (), "use": (), "repair": (), "defend": (), "escort": (), "wait": (), "give": (),
    "capture": (), "damage": (), "take": ("npc.stole",), "get": ("market.trade",),
    "exchange": ("market.trade",), "gather": ("resource.harvested",),
    "kill": ("creature.died", "npc.died"),
}
"""Atomic actions -> world event kinds that count as the player doing it (the event's ``entity`` or
``killer`` is the player's avatar). Every action may also be reported by the player (``QuestLedger.progress``)
unless the ledger requires evidence."""

SLOT_KINDS: dict[str, str] = {
    "giver": "npc", "friend": "npc", "enemy": "npc", "culprit": "npc", "thief": "npc", "expert": "npc",
    "home": "settlement", "market": "settlement", "threat": "creature", "pest": "creature", "good": "good",
    "rare_good": "good", "node": "node", "far_place": "node", "prey_species": "species",
}
"""Every slot a strategy may use and the kind of world thing it binds. ``npc`` and ``creature`` slots are
entities that must stay alive while the quest still needs them."""

ENTITY_KINDS = frozenset({"npc", "creature"})
EFFECTS = {
    "relation": {"a", "b", "affinity", "trust"},
    "faction": {"a", "b", "delta"},
    "stock": {"settlement", "good", "units"},
    "price": {"settlement", "good", "factor"},
}
"""Effect kinds a designer may attach to an outcome and their fields (slot names or numbers)."""

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class StepSpec:
    """One step of a strategy: an atomic ``action`` on the thing bound to slot ``target`` (optionally with
    the good in slot ``item``)."""

    action: str
    target: str
    item: str | None = None


@dataclass(frozen=True)
class EffectSpec:
    """An outcome effect: ``kind`` in ``EFFECTS`` and its fields (slot names, ``player``, or numbers)."""

    kind: str
    fields: tuple[tuple[str, Any], ...]

    def get(self, name: str) -> Any:
        return dict(self.fields)[name]


@dataclass(frozen=True)
class Strategy:
    """A (motivation, strategy) pair: its steps, the slots they need and the effects of each outcome."""

    motivation: str
    name: str
    label: str
    steps: tuple[StepSpec, ...]
    on_success: tuple[EffectSpec, ...]
    on_failure: tuple[EffectSpec, ...]

    @property
    def key(self) -> str:
        return f"{self.motivation}.{self.name}"

    @property
    def slots(self) -> tuple[str, ...]:
        """Slots this strategy binds, giver first, then in order of first use."""
        out = ["giver"]
        for step in self.steps:
            for slot in (step.target, step.item):
                if slot is not None and slot not in out:
                    out.append(slot)
        for effect in (*self.on_success, *self.on_failure):
            for _, value in effect.fields:
                if isinstance(value, str) and value in SLOT_KINDS and value not in out:
                    out.append(value)
        return tuple(out)


@dataclass(frozen=True)
class Taxonomy:
    """Every strategy by motivation (each motivation has at least one)."""

    strategies: dict[str, tuple[Strategy, ...]]
    source: str

    def pairs(self) -> list[tuple[str, str]]:
        """All (motivation, strategy) pairs."""
        return [(m, s.name) for m in MOTIVATIONS for s in self.strategies[m]]

    def strategy(self, key: str) -> Strategy:
        motivation, _, name = key.partition(".")
        for s in self.strategies.get(motivation, ()):
            if s.name == name:
                return s
        raise KeyError(key)


STRATEGIES_PATH = Path(__file__).with_name("templates") / "strategies.toml"


def load_taxonomy(path: str | Path = STRATEGIES_PATH) -> Taxonomy:
    """Read and validate a strategies file. Raises ``DesignDataError(source, field, expected)``."""
    source = str(path)
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise DesignDataError(source, "(file)", f"a readable TOML file ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise DesignDataError(source, "(syntax)", f"valid TOML ({exc})") from None
    return parse_taxonomy(data, source)


def parse_taxonomy(data: dict[str, Any], source: str) -> Taxonomy:
    """Validate already-parsed strategies data (see ``load_taxonomy``)."""
    defaults = data.get("defaults", {})
    if not isinstance(defaults, dict):
        raise DesignDataError(source, "defaults", "a table of motivation -> {on_success, on_failure}")
    for key in defaults:
        if key not in MOTIVATIONS:
            raise DesignDataError(source, f"defaults.{key}", f"a motivation, one of {', '.join(MOTIVATIONS)}")
    out: dict[str, list[Strategy]] = {m: [] for m in MOTIVATIONS}
    for motivation, table in data.items():
        if motivation == "defaults":
            continue
        if motivation not in MOTIVATIONS:
            raise DesignDataError(source, motivation, f"a motivation, one of {', '.join(MOTIVATIONS)}")
        if not isinstance(table, dict):
            raise DesignDataError(source, motivation, "a table of strategies")
        base = defaults.get(motivation, {})
        for name, spec in table.items():
            field = f"{motivation}.{name}"
            out[motivation].append(_strategy(motivation, name, spec, base, source, field))
    for motivation in MOTIVATIONS:
        if not out[motivation]:
            raise DesignDataError(source, motivation, "at least one strategy for every motivation")
    return Taxonomy({m: tuple(v) for m, v in out.items()}, source)


def _strategy(motivation: str, name: str, spec: Any, base: dict[str, Any], source: str, field: str) -> Strategy:
    if not _NAME.match(name):
        raise DesignDataError(source, field, "a lower_snake_case strategy name")
    if not isinstance(spec, dict):
        raise DesignDataError(source, field, "a table with label and steps")
    unknown = set(spec) - {"label", "steps", "on_success", "on_failure"}
    if unknown:
        raise DesignDataError(source, f"{field}.{sorted(unknown)[0]}", "one of label, steps, on_success, on_failure")
    label = spec.get("label", name.replace("_", " "))
    if not isinstance(label, str):
        raise DesignDataError(source, f"{field}.label", "a string")
    raw_steps = spec.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise DesignDataError(source, f"{field}.steps", "a non-empty list of {action, target[, item]} tables")
    steps = []
    for i, step in enumerate(raw_steps):
        where = f"{field}.steps[{i}]"
        if not isinstance(step, dict) or set(step) - {"action", "target", "item"}:
            raise DesignDataError(source, where, "a table with action, target and optional item")
        action, target, item = step.get("action"), step.get("target"), step.get("item")
        if action not in ACTIONS:
            raise DesignDataError(source, f"{where}.action", f"an action, one of {', '.join(sorted(ACTIONS))}")
        if target not in SLOT_KINDS:
            raise DesignDataError(source, f"{where}.target", f"a slot, one of {', '.join(sorted(SLOT_KINDS))}")
        if item is not None and SLOT_KINDS.get(item) != "good":
            raise DesignDataError(source, f"{where}.item", "a slot of kind good (good or rare_good)")
        steps.append(StepSpec(action, target, item))
    used = {"giver", "home", "player"} | {s.target for s in steps} | {s.item for s in steps if s.item}
    effects = {}
    for outcome in ("on_success", "on_failure"):
        raw = list(base.get(outcome, [])) + list(spec.get(outcome, []))
        effects[outcome] = tuple(_effect(e, used, source, f"{field}.{outcome}[{i}]") for i, e in enumerate(raw))
    return Strategy(motivation, name, label, tuple(steps), effects["on_success"], effects["on_failure"])


def _effect(raw: Any, used: set[str], source: str, field: str) -> EffectSpec:
    if not isinstance(raw, dict) or raw.get("effect") not in EFFECTS:
        raise DesignDataError(source, f"{field}.effect", f"one of {', '.join(sorted(EFFECTS))}")
    kind = raw["effect"]
    fields = {k: v for k, v in raw.items() if k != "effect"}
    if set(fields) != EFFECTS[kind]:
        raise DesignDataError(source, field, f"exactly the fields {', '.join(sorted(EFFECTS[kind]))}")
    for key, value in fields.items():
        if isinstance(value, str):
            if value not in used:
                raise DesignDataError(source, f"{field}.{key}",
                                      f"a slot this strategy binds ({', '.join(sorted(used))}), not {value!r}")
        elif isinstance(value, bool) or not isinstance(value, int | float):
            raise DesignDataError(source, f"{field}.{key}", "a slot name or a number")
    return EffectSpec(kind, tuple(sorted(fields.items())))
