"""Designer data for NPCs: needs, actions with considerations, roles with daily schedules, factions.

A *design* is a TOML file (bundled ones live in ``npc/designs/<name>.toml``; ``default.toml`` is annotated)
decoded into frozen msgspec Structs with ``forbid_unknown_fields`` and then compiled by ``compile_design``
into a ``CompiledDesign`` of contiguous NumPy arrays that the Numba scoring kernel
(``npc/kernels/utility.py``) and the NPC system read directly.

Why this design: the same habits as ``worldsim/scenario.py`` -- named things are TOML tables keyed by name
(``[actions.eat]``), so file order fixes indices and a typo is caught with a dotted path; cross-references
(an effect's need, a consideration's input, a role's faction, a bias's action) are checked after decoding
with the same error type. Everything the kernel needs is resolved to small integers at compile time, so the
hot loop never touches a string or a dict. Alternatives rejected: one Python object per consideration
evaluated by virtual call (too slow for 100k NPCs per tick) and JSON Schema (a second description of the
same structs that can drift).

Every mistake raises ``npc.errors.NpcDataError(source, field, expected)`` naming the file and the dotted
field, e.g. ``npc/designs/mine.toml: actions.eat.considerations[1].curve: expected one of ...``.

Inputs (``input = ...`` in a consideration) are ``"need.<name>"`` (the need's satisfaction, 1 = fully
satisfied) or one of ``CONTEXT_INPUTS``, all in [0, 1], filled each tick by the NPC system:

==================  ===============================================================================
``threat``          1 - d / sight of the nearest threat within sight (hostile NPC, predator,
                    attacker), else 0
``player_near``     1 - d / sight of the nearest player within sight, else 0
``health``          health / max health of the role
``wealth``          coins / 100, capped at 1
``carry``           carried load / carrying capacity
``daylight``        1 at noon, 0 at night (the world's daylight factor)
``hour``            in-game hour / 24
``crowd``           NPCs within sight / 8, capped at 1
``rumour``          salience of the best memory the NPC could still pass on (gossip), else 0
``hostility``       1 for roles with ``hostile = true``, else 0
``distance.home``   metres to the NPC's home / 150, capped at 1 (likewise ``.work``, ``.market``,
                    ``.tavern``: the nearest work place for its role, its town's market and tavern)
==================  ===============================================================================
"""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import msgspec
import numpy as np
from msgspec import Meta, Struct

from .errors import NpcDataError

DESIGN_DIR = Path(__file__).resolve().parent / "designs"
"""Bundled designs (``default.toml`` is the annotated small-town design)."""

CONTEXT_INPUTS: tuple[str, ...] = (
    "threat", "player_near", "health", "wealth", "carry", "daylight", "hour", "crowd", "rumour",
    "hostility", "distance.home", "distance.work", "distance.market", "distance.tavern",
)
"""Context inputs a consideration may read besides ``need.<name>`` (all in [0, 1]; see the module docstring)."""

VERBS: tuple[str, ...] = (
    "idle", "rest", "eat", "work", "sell", "socialise", "patrol", "attack", "flee", "steal", "wander",
)
"""What the NPC system does once the NPC is at the action's target (index = ``CompiledDesign.verb`` value)."""

TARGETS: tuple[str, ...] = (
    "none", "home", "work", "market", "tavern", "threat", "away", "patrol", "friend", "player",
)
"""Where the NPC goes to perform an action (index = ``CompiledDesign.target`` value). ``none`` = where it
stands, ``away`` = directly away from the nearest threat, ``patrol`` = the next waypoint around its town."""

CURVES: tuple[str, ...] = ("linear", "polynomial", "logistic", "logit", "step", "constant")
"""Response curves (index = ``CompiledDesign.cons_curve`` value); defined in ``npc/curves.py``."""

CURVE_DEFAULTS: dict[str, tuple[float, float, float, float]] = {
    "linear": (1.0, 1.0, 0.0, 0.0),
    "polynomial": (1.0, 2.0, 0.0, 0.0),
    "logistic": (10.0, 1.0, 0.0, 0.5),
    "logit": (1.0, 10.0, 0.5, 0.0),
    "step": (1.0, 0.0, 0.0, 0.5),
    "constant": (0.0, 0.0, 1.0, 0.0),
}
"""Default (m, k, b, c) of each curve, used for any parameter a consideration leaves out."""

HOURS = 24
MAX_NEEDS = 32
MAX_ACTIONS = 120
MAX_CONSIDERATIONS = 16
MAX_ROLES = 1000
MAX_FACTIONS = 64

Finite = Annotated[float, Meta(ge=-1e6, le=1e6)]
NonNeg = Annotated[float, Meta(ge=0, le=1e6)]
Positive = Annotated[float, Meta(gt=0, le=1e6)]
Unit = Annotated[float, Meta(ge=0, le=1)]
Hour = Annotated[float, Meta(ge=0, lt=24)]
Name = Annotated[str, Meta(min_length=1, max_length=32, pattern=r"^[A-Za-z][A-Za-z0-9_-]*$")]


class _Table(Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Base: unknown keys are errors; every field has a documented default or is required."""


class Need(_Table, frozen=True):
    """A need whose value is its satisfaction in [0, 1] (1 = fully satisfied).

    ``decay`` is lost per in-game hour; ``initial`` is the uniform range drawn at spawn; below ``critical``
    the NPC system emits an ``npc.need`` event.
    """

    decay: NonNeg = 0.05
    initial: Annotated[list[Unit], Meta(min_length=2, max_length=2)] = msgspec.field(default_factory=lambda: [0.5, 1.0])
    critical: Unit = 0.15


class Consideration(_Table, frozen=True):
    """One axis of an action's score: ``curve(input)`` in [0, 1]. Parameters left out take the curve's
    default (``CURVE_DEFAULTS``)."""

    input: str
    curve: str = "linear"
    m: Finite | None = None
    k: Finite | None = None
    b: Finite | None = None
    c: Finite | None = None


class Action(_Table, frozen=True):
    """Something an NPC may choose: go to ``target`` and perform ``verb`` for at least ``duration`` in-game
    minutes. ``effects`` are need changes per in-game hour while performing; ``weight`` multiplies the score."""

    verb: str
    target: str = "none"
    weight: NonNeg = 1.0
    duration: NonNeg = 10.0
    effects: dict[str, Finite] = {}
    considerations: list[Consideration] = []


class ScheduleBlock(_Table, frozen=True):
    """Hours ``from`` to ``to`` (may wrap midnight: 22 -> 6) in which ``bias`` multiplies action scores.

    An integer in-game hour h belongs to the block if its midpoint h + 0.5 lies in [from, to) (wrapping).
    """

    from_: Hour = msgspec.field(name="from")
    to: Hour
    bias: dict[str, NonNeg] = {}


class Role(_Table, frozen=True):
    """A kind of NPC: its faction, job, body, the actions it may choose and its daily schedule.

    ``work`` is the good it harvests at work places ("" = no job); ``speed`` m/s; ``sight`` metres;
    ``health`` hit points; ``damage`` per hit; ``hostile`` roles attack players and NPCs of factions their
    faction is hostile to; ``policy`` an optional trained RL policy path that drives movement.
    """

    faction: str
    work: Annotated[str, Meta(max_length=32)] = ""
    speed: Positive = 1.4
    sight: Positive = 20.0
    health: Positive = 100.0
    damage: NonNeg = 5.0
    hostile: bool = False
    policy: Annotated[str, Meta(max_length=260)] = ""
    actions: list[str] = []
    schedule: list[ScheduleBlock] = []


class Faction(_Table, frozen=True):
    """A side. ``hostile_to`` lists factions its members attack (one-directional: declare both ways for a feud)."""

    hostile_to: list[str] = []


class Design(_Table, frozen=True):
    """A whole NPC design (see ``npc/designs/default.toml``)."""

    needs: dict[str, Need] = {}
    actions: dict[str, Action] = {}
    roles: dict[str, Role] = {}
    factions: dict[str, Faction] = {}
    source: str = "<design>"
    """Where it came from (set by the loader; not a file key)."""

    @property
    def input_names(self) -> list[str]:
        """Consideration inputs in index order: ``need.<name>`` in file order, then ``CONTEXT_INPUTS``."""
        return [f"need.{n}" for n in self.needs] + list(CONTEXT_INPUTS)


_SECTIONS: dict[str, type[Struct]] = {"needs": Need, "actions": Action, "roles": Role, "factions": Faction}


def _convert(value: Any, cls: Any, source: str, prefix: str) -> Any:
    """``msgspec.convert`` with its error turned into an ``NpcDataError`` whose field starts at ``prefix``."""
    try:
        return msgspec.convert(value, cls, strict=False)
    except msgspec.ValidationError as exc:
        message, _, where = str(exc).partition(" - at `")
        key = where.rstrip("`").removeprefix("$").removeprefix(".") if where else ""
        if message.startswith("Object contains unknown field"):
            key = ".".join(p for p in (key, message.split("`")[1]) if p)
            message = "a known key (this one is not; the keys are documented in npc/designs.py)"
        else:
            message = message.replace("`", "")
            message = message[0].lower() + message[1:] if message.startswith("Expected") else message
            message = message.removeprefix("expected ")
            if "1000000.0" in message:
                message = f"a finite number in [-1e6, 1e6] ({message})"
        field = ".".join(p for p in (prefix, key) if p).replace(".[", "[") or "$"
        raise NpcDataError(source, field, message) from None


def _check(d: Design) -> None:
    """Cross-reference and range checks msgspec cannot express. Raises ``NpcDataError`` naming the field."""

    def fail(field: str, expected: str) -> None:
        raise NpcDataError(d.source, field, expected)

    inputs = set(d.input_names)
    for section, limit in (("needs", MAX_NEEDS), ("actions", MAX_ACTIONS), ("roles", MAX_ROLES),
                           ("factions", MAX_FACTIONS)):
        if len(getattr(d, section)) > limit:
            fail(section, f"at most {limit} entries")
    for section in ("actions", "roles", "factions"):
        if not getattr(d, section):
            fail(section, f"at least one [{section}.<name>] table")
    for name, need in d.needs.items():
        if need.initial[0] > need.initial[1]:
            fail(f"needs.{name}.initial", f"[low, high] with low <= high, got {need.initial}")
    for name, act in d.actions.items():
        where = f"actions.{name}"
        if act.verb not in VERBS:
            fail(f"{where}.verb", f"one of {list(VERBS)}, not {act.verb!r}")
        if act.target not in TARGETS:
            fail(f"{where}.target", f"one of {list(TARGETS)}, not {act.target!r}")
        for need_name in act.effects:
            if need_name not in d.needs:
                fail(f"{where}.effects.{need_name}", f"one of the needs {list(d.needs)}")
        if not act.considerations:
            fail(f"{where}.considerations", "at least one [[" + where + ".considerations]] table")
        if len(act.considerations) > MAX_CONSIDERATIONS:
            fail(f"{where}.considerations", f"at most {MAX_CONSIDERATIONS} considerations")
        for i, con in enumerate(act.considerations):
            if con.input not in inputs:
                fail(f"{where}.considerations[{i}].input", f"one of {sorted(inputs)}, not {con.input!r}")
            if con.curve not in CURVES:
                fail(f"{where}.considerations[{i}].curve", f"one of {list(CURVES)}, not {con.curve!r}")
    for name, role in d.roles.items():
        where = f"roles.{name}"
        if role.faction not in d.factions:
            fail(f"{where}.faction", f"one of the factions {list(d.factions)}, not {role.faction!r}")
        if not role.actions:
            fail(f"{where}.actions", "a non-empty list of action names")
        for i, action_name in enumerate(role.actions):
            if action_name not in d.actions:
                fail(f"{where}.actions[{i}]", f"one of the actions {list(d.actions)}, not {action_name!r}")
            if action_name in role.actions[:i]:
                fail(f"{where}.actions[{i}]", f"each action once ({action_name!r} is listed twice)")
        owner: dict[int, int] = {}
        for i, block in enumerate(role.schedule):
            if block.from_ == block.to:
                fail(f"{where}.schedule[{i}].to", f"an hour different from 'from' ({block.from_})")
            for hour in schedule_hours(block.from_, block.to):
                if hour in owner:
                    fail(f"{where}.schedule[{i}]", f"blocks that do not overlap (hour {hour} is already in "
                                                   f"schedule[{owner[hour]}])")
                owner[hour] = i
            for action_name in block.bias:
                if action_name not in role.actions:
                    fail(f"{where}.schedule[{i}].bias.{action_name}", f"one of this role's actions {role.actions}")
    for name, faction in d.factions.items():
        for i, other in enumerate(faction.hostile_to):
            if other not in d.factions:
                fail(f"factions.{name}.hostile_to[{i}]", f"one of the factions {list(d.factions)}, not {other!r}")
            if other in faction.hostile_to[:i]:
                fail(f"factions.{name}.hostile_to[{i}]", f"each faction once ({other!r} is listed twice)")


def schedule_hours(start: float, end: float) -> list[int]:
    """Integer in-game hours (0..23) whose midpoint h + 0.5 lies in [start, end), wrapping past midnight."""
    return [h for h in range(HOURS) if (start <= h + 0.5 < end if start < end else (h + 0.5 >= start or h + 0.5 < end))]


def _check_finite(value: Any, source: str, path: str) -> None:
    """Refuse NaN and infinities (TOML allows ``nan`` and ``inf``) naming the field they are in."""
    if isinstance(value, float) and not math.isfinite(value):
        raise NpcDataError(source, path, f"a finite number, not {value}")
    if isinstance(value, dict):
        for key, item in value.items():
            _check_finite(item, source, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_finite(item, source, f"{path}[{i}]")


def _check_named_numbers(section: str, name: str, entry: Any, source: str) -> None:
    """Check the values of ``effects`` and ``bias`` tables one by one, so an error names the key."""
    if not isinstance(entry, dict):
        return
    if section == "actions" and isinstance(entry.get("effects"), dict):
        for key, value in entry["effects"].items():
            _convert(value, Finite, source, f"actions.{name}.effects.{key}")
    if section == "roles" and isinstance(entry.get("schedule"), list):
        for i, block in enumerate(entry["schedule"]):
            if isinstance(block, dict) and isinstance(block.get("bias"), dict):
                for key, value in block["bias"].items():
                    _convert(value, NonNeg, source, f"roles.{name}.schedule[{i}].bias.{key}")


def from_dict(data: dict[str, Any], source: str = "<design>") -> Design:
    """Validate a parsed design mapping. Raises ``NpcDataError`` naming ``source``, the field and what was expected."""
    if not isinstance(data, dict):
        raise NpcDataError(source, "$", "a table")
    for section, cls in _SECTIONS.items():  # per entry first, so errors name the entry
        entries = data.get(section, {})
        if not isinstance(entries, dict):
            raise NpcDataError(source, section, f"a table of named entries, e.g. [{section}.name]")
        for name, entry in entries.items():
            _convert(name, Name, source, f"{section}.{name} (name)")
            _check_finite(entry, source, f"{section}.{name}")
            _check_named_numbers(section, name, entry, source)
            _convert(entry, cls, source, f"{section}.{name}")
    design = _convert({**data, "source": source}, Design, source, "")
    _check(design)
    return design


def loads(text: str, source: str = "<design>") -> Design:
    """Validate design TOML text. Raises ``NpcDataError`` (``field`` is ``(syntax)`` for TOML syntax errors)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise NpcDataError(source, "(syntax)", f"valid TOML ({exc})") from None
    return from_dict(data, source)


def resolve_path(name_or_path: str | os.PathLike[str]) -> Path:
    """A design path as given if it exists, else a bundled design by name (``default`` -> designs/default.toml)."""
    candidate = Path(name_or_path)
    if candidate.exists():
        return candidate
    bundled = DESIGN_DIR / (candidate.name if candidate.suffix == ".toml" else f"{candidate.name}.toml")
    return bundled if bundled.exists() else candidate


def load_design(name_or_path: str | os.PathLike[str] = "default") -> Design:
    """Read and validate a design file, or a bundled design by name.

    Raises:
        NpcDataError: unreadable file, TOML syntax error, unknown key, wrong type or range, non-finite
            number, duplicate, or broken cross-reference -- always naming the file and the dotted field.
    """
    resolved = resolve_path(name_or_path)
    source = os.fspath(resolved)
    try:
        text = resolved.read_text(encoding="utf-8")
    except FileNotFoundError:
        bundled = ", ".join(sorted(p.stem for p in DESIGN_DIR.glob("*.toml")))
        raise NpcDataError(source, "(file)", f"an existing TOML file or a bundled design ({bundled})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise NpcDataError(source, "(file)", f"a readable UTF-8 text file ({exc})") from None
    return loads(text, source)


@dataclass(frozen=True, eq=False)
class CompiledDesign:
    """A design as read-only contiguous arrays. K needs, A actions, C = most considerations of any action,
    I = K + len(CONTEXT_INPUTS) inputs, R roles, F factions.

    Attributes:
        source: the design file.
        need_names (K,), decay (K,) f32 satisfaction lost per in-game hour, initial (K, 2) f32 spawn range,
            critical (K,) f32 threshold of the ``npc.need`` event.
        action_names (A,), verb (A,) i8 index into VERBS, target (A,) i8 index into TARGETS, weight (A,) f32,
            duration (A,) f32 in-game minutes of commitment, effects (A, K) f32 need change per in-game hour.
        cons_input (A, C) i16 input index (-1 = unused slot), cons_curve (A, C) i8 index into CURVES,
            cons_params (A, C, 4) f32 (m, k, b, c) with the curve's defaults filled in, cons_count (A,) i16.
        role_names (R,), role_actions (R, A) bool, role_bias (R, 24, A) f32 score multiplier per in-game
            hour, role_faction (R,) i16, role_work (R,) list of good names ("" = none), role_speed (R,) f32
            m/s, role_sight (R,) f32 m, role_health (R,) f32, role_damage (R,) f32, role_hostile (R,) bool,
            role_policy (R,) list of paths ("" = none).
        faction_names (F,), faction_hostile (F, F) bool: [a, b] is True if faction a attacks faction b.
        input_names (I,): ``need.<name>`` in need order, then CONTEXT_INPUTS.
    """

    source: str
    need_names: list[str]
    decay: np.ndarray
    initial: np.ndarray
    critical: np.ndarray
    action_names: list[str]
    verb: np.ndarray
    target: np.ndarray
    weight: np.ndarray
    duration: np.ndarray
    effects: np.ndarray
    cons_input: np.ndarray
    cons_curve: np.ndarray
    cons_params: np.ndarray
    cons_count: np.ndarray
    role_names: list[str]
    role_actions: np.ndarray
    role_bias: np.ndarray
    role_faction: np.ndarray
    role_work: list[str]
    role_speed: np.ndarray
    role_sight: np.ndarray
    role_health: np.ndarray
    role_damage: np.ndarray
    role_hostile: np.ndarray
    role_policy: list[str]
    faction_names: list[str]
    faction_hostile: np.ndarray
    input_names: list[str]

    def action_index(self, name: str) -> int:
        """Index of action ``name``. Raises ``KeyError`` listing the actions."""
        try:
            return self.action_names.index(name)
        except ValueError:
            raise KeyError(f"no action {name!r}; the design has {self.action_names}") from None

    def input_index(self, name: str) -> int:
        """Index of input ``name`` (``need.hunger``, ``threat``). Raises ``KeyError`` listing the inputs."""
        try:
            return self.input_names.index(name)
        except ValueError:
            raise KeyError(f"no input {name!r}; the design reads {self.input_names}") from None

    def role_index(self, name: str) -> int:
        """Index of role ``name``. Raises ``KeyError`` listing the roles."""
        try:
            return self.role_names.index(name)
        except ValueError:
            raise KeyError(f"no role {name!r}; the design has {self.role_names}") from None


def _frozen(array: np.ndarray) -> np.ndarray:
    out = np.ascontiguousarray(array)
    out.flags.writeable = False
    return out


def compile_design(design: Design) -> CompiledDesign:
    """Resolve every name to an index and pack the design into contiguous read-only arrays (see ``CompiledDesign``)."""
    needs, actions, roles, factions = list(design.needs), list(design.actions), list(design.roles), list(design.factions)
    inputs = design.input_names
    k, a, r, f = len(needs), len(actions), len(roles), len(factions)
    c = max(len(act.considerations) for act in design.actions.values())

    effects = np.zeros((a, k), np.float32)
    cons_input = np.full((a, c), -1, np.int16)
    cons_curve = np.zeros((a, c), np.int8)
    cons_params = np.zeros((a, c, 4), np.float32)
    for ai, act in enumerate(design.actions.values()):
        for need, delta in act.effects.items():
            effects[ai, needs.index(need)] = delta
        for ci, con in enumerate(act.considerations):
            cons_input[ai, ci] = inputs.index(con.input)
            cons_curve[ai, ci] = CURVES.index(con.curve)
            defaults = CURVE_DEFAULTS[con.curve]
            given = (con.m, con.k, con.b, con.c)
            cons_params[ai, ci] = [d if g is None else g for g, d in zip(given, defaults, strict=True)]

    role_actions = np.zeros((r, a), np.bool_)
    role_bias = np.zeros((r, HOURS, a), np.float32)
    for ri, role in enumerate(design.roles.values()):
        allowed = [actions.index(name) for name in role.actions]
        role_actions[ri, allowed] = True
        role_bias[ri][:, allowed] = 1.0
        for block in role.schedule:
            hours = schedule_hours(block.from_, block.to)
            for name, bias in block.bias.items():
                role_bias[ri, hours, actions.index(name)] = bias

    faction_hostile = np.zeros((f, f), np.bool_)
    for fi, faction in enumerate(design.factions.values()):
        for other in faction.hostile_to:
            faction_hostile[fi, factions.index(other)] = True

    rv = list(design.roles.values())
    av = list(design.actions.values())
    nv = list(design.needs.values())
    return CompiledDesign(
        source=design.source,
        need_names=needs,
        decay=_frozen(np.array([n.decay for n in nv], np.float32).reshape(k)),
        initial=_frozen(np.array([n.initial for n in nv], np.float32).reshape(k, 2)),
        critical=_frozen(np.array([n.critical for n in nv], np.float32).reshape(k)),
        action_names=actions,
        verb=_frozen(np.array([VERBS.index(x.verb) for x in av], np.int8)),
        target=_frozen(np.array([TARGETS.index(x.target) for x in av], np.int8)),
        weight=_frozen(np.array([x.weight for x in av], np.float32)),
        duration=_frozen(np.array([x.duration for x in av], np.float32)),
        effects=_frozen(effects),
        cons_input=_frozen(cons_input),
        cons_curve=_frozen(cons_curve),
        cons_params=_frozen(cons_params),
        cons_count=_frozen(np.array([len(x.considerations) for x in av], np.int16)),
        role_names=roles,
        role_actions=_frozen(role_actions),
        role_bias=_frozen(role_bias),
        role_faction=_frozen(np.array([factions.index(x.faction) for x in rv], np.int16)),
        role_work=[x.work for x in rv],
        role_speed=_frozen(np.array([x.speed for x in rv], np.float32)),
        role_sight=_frozen(np.array([x.sight for x in rv], np.float32)),
        role_health=_frozen(np.array([x.health for x in rv], np.float32)),
        role_damage=_frozen(np.array([x.damage for x in rv], np.float32)),
        role_hostile=_frozen(np.array([x.hostile for x in rv], np.bool_)),
        role_policy=[x.policy for x in rv],
        faction_names=factions,
        faction_hostile=_frozen(faction_hostile),
        input_names=inputs,
    )
