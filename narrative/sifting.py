"""Story sifting: declarative patterns (TOML in ``narrative/patterns/``) matched incrementally against the
world event log and, through ``WorldFacts``, the world's state.

A pattern is a list of ordered event *steps* plus optional state *conditions*::

    name = "feud_violence"
    window = 1200                 # ticks from the first to the last matched event
    cooldown = 6000               # ticks before the same bindings may match again
    motivations = ["serenity"]    # quest motivations this situation suggests
    slots = { enemy = "victim" }  # quest slots it fills from its variables
    distinct = [["attacker", "victim"]]
    [[steps]]
    kind = "npc.attacked"         # or kinds = [...]
    bind = { attacker = "entity", victim = "data.target" }
    where = { "data.weapon" = "axe" }     # literal, or "$var" (must equal a bound variable)
    count = 3                     # events with consistent bindings needed to finish the step
    within = 600                  # at most this many ticks after the previous matched event
    [[conditions]]
    fact = "alive"                # one of CONDITIONS; may filter or enumerate bindings
    args = { entity = "$victim" }

Matching: events are processed one at a time in log order. For each pattern the sifter keeps partial
matches keyed by their variable bindings (one partial per binding set: an existing one wins over a new
one, so the same evidence is never counted twice). An
event that fits a partial's current step under its bindings advances it in place when it binds nothing
new, else starts a new partial with the extended bindings; a fresh partial is also started from the empty
match. A partial older than ``window`` is dropped; past ``max_partials`` the oldest is dropped and counted.
Because every decision depends only on the event sequence, feeding the log in any batch split gives the
same situations (a property test checks this).

State-only patterns (no steps) are evaluated by ``scan(facts)``; their conditions enumerate bindings.

Why this design (after story-sifting work such as Felt and Winnow): designers write the what (steps,
bindings, windows), the sifter owns the how. Rejected: a Datalog/Prolog engine (opaque to designers, hard
to bound), regexes over a flattened log (no variable bindings across steps), and re-querying the whole
log every tick (cost grows with history; the incremental matcher's cost grows with live partials).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import DesignDataError
from .facts import WorldFacts
from .quest_taxonomy import MOTIVATIONS, SLOT_KINDS

PATTERN_DIR = Path(__file__).with_name("patterns")
_VAR = re.compile(r"^[a-z_][a-z0-9_]*$")
_FIELD = re.compile(r"^(entity|tick|kind|data\.[A-Za-z_][A-Za-z0-9_]*)$")
Bindings = dict[str, Any]


# ------------------------------------------------------------------------------------ conditions
def _alive(facts: WorldFacts, a: dict[str, Any], b: Bindings) -> list[Bindings]:
    return [b] if facts.is_alive(int(a["entity"])) else []


def _each_settlement(facts: WorldFacts, a: dict[str, Any], b: Bindings) -> list[Bindings]:
    return [{**b, a["as"]: s.name} for s in facts.settlements()]


def _short_of(facts: WorldFacts, a: dict[str, Any], b: Bindings) -> list[Bindings]:
    town = facts.settlement(str(a["settlement"]))
    if town is None:
        return []
    if "good" in a:
        return [b] if a["good"] in town.shortages else []
    return [{**b, a["as"]: good} for good in town.shortages]


def _hunters_near(facts: WorldFacts, a: dict[str, Any], b: Bindings) -> list[Bindings]:
    town = facts.settlement(str(a["place"]))
    if town is None:
        return []
    hunters = {s for s, diet in facts.species_diet().items() if diet != "grass"}
    near = [c for c in facts.creatures_near(town.x, town.y, float(a["radius"])) if c.species in hunters]
    if len(near) < int(a.get("min", 1)):
        return []
    out = dict(b)
    out[a.get("nearest_as", "nearest")] = near[0].id
    out[a.get("species_as", "species")] = near[0].species
    out[a.get("count_as", "count")] = len(near)
    return [out]


def _faction_rel(same: bool) -> Callable[[WorldFacts, dict[str, Any], Bindings], list[Bindings]]:
    def check(facts: WorldFacts, a: dict[str, Any], b: Bindings) -> list[Bindings]:
        x, y = facts.npc(int(a["a"])), facts.npc(int(a["b"]))
        if x is None or y is None:
            return []
        return [b] if (x.faction == y.faction) == same else []
    return check


def _role_is(facts: WorldFacts, a: dict[str, Any], b: Bindings) -> list[Bindings]:
    npc = facts.npc(int(a["entity"]))
    roles = a["role"] if isinstance(a["role"], list) else [a["role"]]
    return [b] if npc is not None and npc.role in roles else []


def _affinity_below(facts: WorldFacts, a: dict[str, Any], b: Bindings) -> list[Bindings]:
    for r in facts.relations(int(a["a"])):
        if r.other == int(a["b"]):
            return [b] if r.affinity < float(a["value"]) else []
    return []


CONDITIONS: dict[str, tuple[Callable[[WorldFacts, dict[str, Any], Bindings], list[Bindings]], set[str], set[str]]] = {
    "alive": (_alive, {"entity"}, set()),
    "each_settlement": (_each_settlement, {"as"}, set()),
    "short_of": (_short_of, {"settlement"}, {"good", "as"}),
    "hunters_near": (_hunters_near, {"place", "radius"}, {"min", "nearest_as", "species_as", "count_as"}),
    "same_faction": (_faction_rel(True), {"a", "b"}, set()),
    "different_faction": (_faction_rel(False), {"a", "b"}, set()),
    "role_is": (_role_is, {"entity", "role"}, set()),
    "affinity_below": (_affinity_below, {"a", "b", "value"}, set()),
}
"""fact name -> (function(facts, resolved args, bindings) -> binding sets that pass, required args,
optional args). Args ending in ``as`` name the variables a condition binds."""


# ------------------------------------------------------------------------------------- patterns
@dataclass(frozen=True)
class Step:
    """One ordered event step: event kinds, variable bindings (var -> field), constraints, count, within."""

    kinds: frozenset[str]
    bind: tuple[tuple[str, str], ...]
    where: tuple[tuple[str, Any], ...]
    count: int = 1
    within: int | None = None

    def match(self, event: Any, bindings: Bindings) -> Bindings | None:
        """The bindings extended by ``event``, or None if it does not fit."""
        for path, want in self.where:
            got = _field(event, path)
            if isinstance(want, str) and want.startswith("$"):
                if want[1:] not in bindings or bindings[want[1:]] != got:
                    return None
            elif got != want:
                return None
        out = bindings
        for var, path in self.bind:
            got = _field(event, path)
            if got is _MISSING or not isinstance(got, int | float | str):
                return None  # absent, or not a scalar that can key a match
            if var in out:
                if out[var] != got:
                    return None
            else:
                out = {**out, var: got}
        return out


@dataclass(frozen=True)
class Condition:
    fact: str
    args: tuple[tuple[str, Any], ...]

    def apply(self, facts: WorldFacts, bindings: Bindings) -> list[Bindings]:
        resolved = {k: (bindings[v[1:]] if isinstance(v, str) and v.startswith("$") else v) for k, v in self.args}
        return CONDITIONS[self.fact][0](facts, resolved, bindings)


@dataclass(frozen=True)
class Pattern:
    """A validated pattern (see the module docstring for the file format)."""

    name: str
    description: str
    steps: tuple[Step, ...]
    conditions: tuple[Condition, ...]
    window: int
    cooldown: int
    max_partials: int
    distinct: tuple[tuple[str, str], ...]
    motivations: tuple[str, ...]
    slots: tuple[tuple[str, str], ...]
    source: str

    @property
    def kinds(self) -> frozenset[str]:
        return frozenset().union(*(s.kinds for s in self.steps)) if self.steps else frozenset()


@dataclass(frozen=True)
class Situation:
    """A completed match: pattern name, its bindings, the ticks of its first and last events (equal for a
    state match), the motivations and quest slots its pattern suggests, and the events that matched."""

    pattern: str
    bindings: dict[str, Any]
    start_tick: int
    end_tick: int
    motivations: tuple[str, ...] = ()
    slots: dict[str, Any] = field(default_factory=dict)
    evidence: tuple[Any, ...] = ()


_MISSING = object()


def _field(event: Any, path: str) -> Any:
    if path == "entity":
        return int(event.entity)
    if path == "tick":
        return int(event.tick)
    if path == "kind":
        return event.kind
    return event.data.get(path[5:], _MISSING)


def load_patterns(directory: str | Path = PATTERN_DIR) -> list[Pattern]:
    """Every ``*.toml`` pattern in ``directory``, sorted by file name. Raises ``DesignDataError``."""
    out = []
    for path in sorted(Path(directory).glob("*.toml")):
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise DesignDataError(str(path), "(syntax)", f"valid TOML ({exc})") from None
        out.append(parse_pattern(data, str(path), default_name=path.stem))
    names = [p.name for p in out]
    for p in out:
        if names.count(p.name) > 1:
            raise DesignDataError(p.source, "name", f"a pattern name unique in {directory}")
    return out


def parse_pattern(data: dict[str, Any], source: str, default_name: str = "pattern") -> Pattern:
    """Validate one pattern's parsed TOML. Raises ``DesignDataError(source, field, expected)``."""
    def fail(where: str, expected: str) -> DesignDataError:
        return DesignDataError(source, where, expected)

    known = {"name", "description", "window", "cooldown", "max_partials", "distinct", "motivations", "slots",
             "steps", "conditions"}
    for key in data:
        if key not in known:
            raise fail(key, f"one of {', '.join(sorted(known))}")
    name = data.get("name", default_name)
    if not isinstance(name, str) or not name:
        raise fail("name", "a non-empty string")
    ints = {}
    for key, default, low in (("window", 1200, 1), ("cooldown", 0, 0), ("max_partials", 4096, 1)):
        value = data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise fail(key, f"an integer >= {low} (ticks)" if key != "max_partials" else f"an integer >= {low}")
        ints[key] = value
    bound: set[str] = set()
    steps = []
    raw_steps = data.get("steps", [])
    if not isinstance(raw_steps, list):
        raise fail("steps", "a list of [[steps]] tables")
    for i, raw in enumerate(raw_steps):
        steps.append(_parse_step(raw, f"steps[{i}]", bound, fail))
    conditions = []
    raw_conditions = data.get("conditions", [])
    if not isinstance(raw_conditions, list):
        raise fail("conditions", "a list of [[conditions]] tables")
    for i, raw in enumerate(raw_conditions):
        conditions.append(_parse_condition(raw, f"conditions[{i}]", bound, fail))
    if not steps and not conditions:
        raise fail("steps", "at least one step or condition")
    distinct = []
    for i, pair in enumerate(data.get("distinct", [])):
        if not (isinstance(pair, list) and len(pair) == 2 and all(v in bound for v in pair)):
            raise fail(f"distinct[{i}]", f"a pair of bound variables ({', '.join(sorted(bound))})")
        distinct.append((pair[0], pair[1]))
    motivations = data.get("motivations", [])
    if not isinstance(motivations, list):
        raise fail("motivations", "a list of motivations")
    for i, m in enumerate(motivations):
        if m not in MOTIVATIONS:
            raise fail(f"motivations[{i}]", f"a motivation, one of {', '.join(MOTIVATIONS)} (got {m!r})")
    slots = data.get("slots", {})
    if not isinstance(slots, dict):
        raise fail("slots", "a table of quest slot -> pattern variable")
    for slot, var in slots.items():
        if slot not in SLOT_KINDS:
            raise fail(f"slots.{slot}", f"a quest slot, one of {', '.join(sorted(SLOT_KINDS))}")
        if var not in bound:
            raise fail(f"slots.{slot}", f"a variable the pattern binds ({', '.join(sorted(bound))}), not {var!r}")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise fail("description", "a string")
    for var in re.findall(r"\{([A-Za-z_][A-Za-z0-9_]*)\}", description):
        if var not in bound:
            raise fail("description", f"text using only bound variables ({', '.join(sorted(bound))}), not {{{var}}}")
    return Pattern(name, description, tuple(steps), tuple(conditions), ints["window"], ints["cooldown"],
                   ints["max_partials"], tuple(distinct), tuple(motivations), tuple(sorted(slots.items())), source)


def _parse_step(raw: Any, where: str, bound: set[str], fail: Callable[[str, str], DesignDataError]) -> Step:
    if not isinstance(raw, dict):
        raise fail(where, "a table")
    extra = set(raw) - {"kind", "kinds", "bind", "where", "count", "within"}
    if extra:
        raise fail(f"{where}.{sorted(extra)[0]}", "one of kind, kinds, bind, where, count, within")
    kinds = raw.get("kinds", [raw["kind"]] if "kind" in raw else [])
    if not kinds or not all(isinstance(k, str) and "." in k for k in kinds):
        raise fail(f"{where}.kind", "an event kind such as \"npc.attacked\" (or kinds = [...])")
    bind = raw.get("bind", {})
    if not isinstance(bind, dict):
        raise fail(f"{where}.bind", "a table of variable -> event field")
    for var, path in bind.items():
        if not _VAR.match(var):
            raise fail(f"{where}.bind.{var}", "a lower_snake_case variable name")
        if not isinstance(path, str) or not _FIELD.match(path):
            raise fail(f"{where}.bind.{var}", "an event field: entity, tick, kind or data.<name>")
    constraints = raw.get("where", {})
    if not isinstance(constraints, dict):
        raise fail(f"{where}.where", "a table of event field -> value")
    for path, want in constraints.items():
        if not _FIELD.match(path):
            raise fail(f"{where}.where.{path}", "an event field: entity, tick, kind or data.<name>")
        if isinstance(want, str) and want.startswith("$") and want[1:] not in bound:
            raise fail(f"{where}.where.{path}", f"a variable bound by an earlier step, not {want}")
    count, within = raw.get("count", 1), raw.get("within")
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise fail(f"{where}.count", "an integer >= 1")
    if within is not None and (isinstance(within, bool) or not isinstance(within, int) or within < 0):
        raise fail(f"{where}.within", "an integer >= 0 (ticks)")
    bound.update(bind)
    return Step(frozenset(kinds), tuple(sorted(bind.items())), tuple(sorted(constraints.items())), count, within)


def _parse_condition(raw: Any, where: str, bound: set[str], fail: Callable[[str, str], DesignDataError]) -> Condition:
    if not isinstance(raw, dict) or set(raw) - {"fact", "args"}:
        raise fail(where, "a table with fact and args")
    fact = raw.get("fact")
    if fact not in CONDITIONS:
        raise fail(f"{where}.fact", f"one of {', '.join(sorted(CONDITIONS))}")
    args = raw.get("args", {})
    if not isinstance(args, dict):
        raise fail(f"{where}.args", "a table")
    _, required, optional = CONDITIONS[fact]
    for key in required - set(args):
        raise fail(f"{where}.args.{key}", f"a value (required by {fact})")
    for key, value in args.items():
        if key not in required | optional:
            raise fail(f"{where}.args.{key}", f"an argument of {fact}: {', '.join(sorted(required | optional))}")
        if isinstance(value, str) and value.startswith("$") and value[1:] not in bound:
            raise fail(f"{where}.args.{key}", f"a variable bound earlier, not {value}")
    for key, value in args.items():
        if key == "as" or key.endswith("_as"):
            if not isinstance(value, str) or not _VAR.match(value):
                raise fail(f"{where}.args.{key}", "a lower_snake_case variable name")
            bound.add(value)
    if fact == "hunters_near":
        bound.update({args.get("nearest_as", "nearest"), args.get("species_as", "species"),
                      args.get("count_as", "count")})
    return Condition(fact, tuple(sorted(args.items())))


# ---------------------------------------------------------------------------------------- sifter
@dataclass
class _Partial:
    step: int
    count: int
    bindings: Bindings
    start: int
    last: int
    evidence: tuple[Any, ...]


def _key(bindings: Bindings) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted(bindings.items()))


class Sifter:
    """Incremental matcher for a list of patterns.

    Attributes:
        patterns: the patterns, in load order. dropped: partial matches dropped for ``max_partials``.
    """

    def __init__(self, patterns: Iterable[Pattern]) -> None:
        self.patterns = list(patterns)
        self._partials: list[dict[tuple, _Partial]] = [{} for _ in self.patterns]
        self._last_match: list[dict[tuple, int]] = [{} for _ in self.patterns]
        self._by_kind: dict[str, list[int]] = {}
        for i, p in enumerate(self.patterns):
            for kind in sorted(p.kinds):
                self._by_kind.setdefault(kind, []).append(i)
        self._tick: int | None = None
        self.dropped = 0

    @classmethod
    def from_directory(cls, directory: str | Path = PATTERN_DIR) -> Sifter:
        return cls(load_patterns(directory))

    @property
    def partial_count(self) -> int:
        """Live partial matches over all patterns."""
        return sum(len(p) for p in self._partials)

    def feed(self, events: Iterable[Any], facts: WorldFacts | None = None) -> list[Situation]:
        """Process ``events`` (``WorldEvent``-like: tick, kind, entity, data) in order; return completed
        situations. A pattern's conditions are checked against ``facts`` when given (pass them in
        production; without them conditions are skipped)."""
        out: list[Situation] = []
        for event in events:
            tick = int(event.tick)
            if tick != self._tick:
                self._expire(tick)
                self._tick = tick
            for index in self._by_kind.get(event.kind, ()):
                out.extend(self._advance(index, event, tick, facts))
        return out

    def scan(self, facts: WorldFacts) -> list[Situation]:
        """Evaluate the state-only patterns (no steps) against ``facts`` at ``facts.tick``."""
        out = []
        for index, p in enumerate(self.patterns):
            if not p.steps:
                out.extend(self._complete(index, {}, facts.tick, facts.tick, (), facts))
        return out

    def _expire(self, tick: int) -> None:
        for index, p in enumerate(self.patterns):
            partials = self._partials[index]
            for key in [k for k, v in partials.items() if tick - v.start > p.window]:
                del partials[key]
            last = self._last_match[index]
            for key in [k for k, t in last.items() if tick - t > p.cooldown]:
                del last[key]

    def _advance(self, index: int, event: Any, tick: int, facts: WorldFacts | None) -> list[Situation]:
        p = self.patterns[index]
        partials = self._partials[index]
        touched: set[tuple] = set()
        created: list[_Partial] = []
        done: list[_Partial] = []
        for key, part in list(partials.items()):
            step = p.steps[part.step]
            if step.within is not None and tick - part.last > step.within:
                del partials[key]  # too late for its next step, now and forever
                continue
            if event.kind not in step.kinds:
                continue
            bindings = step.match(event, part.bindings)
            if bindings is None or not self._distinct(p, bindings):
                continue
            if bindings is part.bindings:
                touched.add(key)
                self._progress(p, part, event, tick)
                if part.step == len(p.steps):
                    del partials[key]
                    done.append(part)
            else:
                created.append(_Partial(part.step, part.count, bindings, part.start, part.last, part.evidence))
        first = p.steps[0]
        if event.kind in first.kinds:
            bindings = first.match(event, {})
            if bindings is not None and self._distinct(p, bindings):
                created.append(_Partial(0, 0, bindings, tick, tick, ()))
        for part in created:
            key = _key(part.bindings)
            if key in touched or key in partials:
                continue
            touched.add(key)
            self._progress(p, part, event, tick)
            if part.step == len(p.steps):
                done.append(part)
                continue
            partials[key] = part
            if len(partials) > p.max_partials:
                del partials[next(iter(partials))]
                self.dropped += 1
        out = []
        for part in done:
            out.extend(self._complete(index, part.bindings, part.start, tick, part.evidence, facts))
        return out

    @staticmethod
    def _distinct(p: Pattern, bindings: Bindings) -> bool:
        return all(not (a in bindings and b in bindings and bindings[a] == bindings[b]) for a, b in p.distinct)

    @staticmethod
    def _progress(p: Pattern, part: _Partial, event: Any, tick: int) -> None:
        part.count += 1
        part.last = tick
        part.evidence = (*part.evidence, event)
        if part.count >= p.steps[part.step].count:
            part.step += 1
            part.count = 0

    def _complete(self, index: int, bindings: Bindings, start: int, end: int, evidence: tuple[Any, ...],
                  facts: WorldFacts | None) -> list[Situation]:
        p = self.patterns[index]
        results = [bindings]
        if facts is not None:
            for condition in p.conditions:
                results = [out for b in results for out in condition.apply(facts, b)]
        elif not p.steps:
            return []
        out = []
        last = self._last_match[index]
        for b in results:
            if not self._distinct(p, b):
                continue
            key = _key(b)
            if key in last and end - last[key] <= p.cooldown:
                continue
            last[key] = end
            slots = {slot: b[var] for slot, var in p.slots if var in b}
            out.append(Situation(p.name, dict(b), start, end, p.motivations, slots, evidence))
        return out


def describe(situation: Situation, patterns: Iterable[Pattern], facts: WorldFacts | None = None) -> str:
    """The situation's pattern ``description`` with its variables filled in (NPC ids become names when
    ``facts`` knows them), for logs and designer tools."""
    pattern = next((p for p in patterns if p.name == situation.pattern), None)
    if pattern is None or not pattern.description:
        return situation.pattern

    def value(match: re.Match[str]) -> str:
        v = situation.bindings.get(match.group(1), "?")
        npc = facts.npc(v) if facts is not None and isinstance(v, int) else None
        return npc.name if npc is not None else str(v)

    return re.sub(r"\{([A-Za-z_][A-Za-z0-9_]*)\}", value, pattern.description)


def summarise(situations: Iterable[Situation]) -> dict[str, int]:
    """Situations per pattern name (for logs and benchmarks)."""
    out: dict[str, int] = {}
    for s in situations:
        out[s.pattern] = out.get(s.pattern, 0) + 1
    return out

