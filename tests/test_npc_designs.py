"""NPC design files: the bundled ones load and compile to the documented arrays; every kind of mistake is refused
with an ``NpcDataError`` naming the file and the dotted field."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from npc.designs import (
    CONTEXT_INPUTS,
    CURVE_DEFAULTS,
    CURVES,
    DESIGN_DIR,
    TARGETS,
    VERBS,
    compile_design,
    from_dict,
    load_design,
    loads,
    schedule_hours,
)
from npc.errors import NpcDataError, NpcError

DEFAULT_PATH = DESIGN_DIR / "default.toml"
DEFAULT_DATA: dict[str, Any] = tomllib.loads(DEFAULT_PATH.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", sorted(DESIGN_DIR.glob("*.toml")), ids=lambda p: p.stem)
def test_bundled_designs_load_and_compile(path: Path) -> None:
    compiled = compile_design(load_design(path))
    a, k, r = len(compiled.action_names), len(compiled.need_names), len(compiled.role_names)
    assert compiled.cons_input.shape[0] == a and compiled.effects.shape == (a, k)
    assert compiled.role_bias.shape == (r, 24, a) and compiled.role_actions.shape == (r, a)
    assert compiled.input_names == [f"need.{n}" for n in compiled.need_names] + list(CONTEXT_INPUTS)
    for name in ("decay", "weight", "duration", "effects", "cons_params", "role_bias", "role_speed"):
        arr = getattr(compiled, name)
        assert arr.dtype == np.float32 and arr.flags.c_contiguous and not arr.flags.writeable, name
    assert compiled.cons_input.dtype == np.int16 and compiled.cons_curve.dtype == np.int8
    assert compiled.verb.dtype == np.int8 and compiled.role_faction.dtype == np.int16
    # every role can always do something: its bias is positive for at least one allowed action every hour
    assert ((compiled.role_bias > 0) & compiled.role_actions[:, None, :]).any(axis=2).all()


def test_default_design_is_the_small_town_of_the_issue() -> None:
    d = compile_design(load_design("default"))
    assert d.need_names == ["hunger", "rest", "safety", "social", "wealth"]
    assert {"farmer", "woodcutter", "miner", "merchant", "guard", "villager", "bandit"} <= set(d.role_names)
    assert {"eat", "sleep", "work", "sell", "socialise", "patrol", "attack", "flee", "steal", "wander",
            "idle"} <= set(d.action_names)
    bandit, guard, farmer = (d.role_index(n) for n in ("bandit", "guard", "farmer"))
    assert d.role_hostile[bandit] and not d.role_hostile[guard]
    bandits, villagers = d.faction_names.index("bandits"), d.faction_names.index("villagers")
    assert d.role_faction[bandit] == bandits and d.faction_hostile[villagers, bandits]
    assert not d.faction_hostile[villagers, villagers]
    work, sleep, steal = (d.action_index(n) for n in ("work", "sleep", "steal"))
    assert d.role_bias[farmer, 8, work] == 2.0 and d.role_bias[farmer, 23, sleep] == 3.0
    assert d.role_bias[farmer, 3, work] == pytest.approx(0.1)
    assert not d.role_actions[farmer, steal] and d.role_bias[farmer, 12, steal] == 0.0
    assert d.verb[d.action_index("socialise")] == VERBS.index("socialise")
    assert d.target[d.action_index("socialise")] == TARGETS.index("tavern")
    assert d.target[d.action_index("flee")] == TARGETS.index("away")
    assert d.role_work[farmer] == "food" and d.role_policy[farmer] == ""


def test_curve_parameters_left_out_take_the_curve_defaults() -> None:
    text = _minimal(considerations='[[actions.a.considerations]]\ninput = "threat"\ncurve = "logistic"\nm = 3.0\n')
    d = compile_design(loads(text, "x.toml"))
    m, k, b, c = CURVE_DEFAULTS["logistic"]
    assert d.cons_params[0, 0].tolist() == [3.0, k, b, c]
    assert d.cons_curve[0, 0] == CURVES.index("logistic") and d.cons_input[0, 0] == d.input_index("threat")


def test_unused_consideration_slots_are_minus_one() -> None:
    d = compile_design(load_design("default"))
    idle = d.action_index("idle")
    assert d.cons_count[idle] == 1 and (d.cons_input[idle, 1:] == -1).all()


@pytest.mark.parametrize(
    ("start", "end", "hours"),
    [(6.0, 12.0, list(range(6, 12))), (22.0, 6.0, [0, 1, 2, 3, 4, 5, 22, 23]), (18.0, 0.0, list(range(18, 24))),
     (6.5, 8.0, [6, 7]), (6.6, 8.0, [7]), (0.0, 0.25, [])],
)
def test_schedule_blocks_cover_the_hours_whose_midpoint_they_contain(start: float, end: float, hours: list[int]) -> None:
    assert schedule_hours(start, end) == hours


def _minimal(considerations: str = '[[actions.a.considerations]]\ninput = "threat"\n', extra: str = "") -> str:
    return ('[needs.h]\n[actions.a]\nverb = "idle"\n' + considerations +
            '[roles.r]\nfaction = "f"\nactions = ["a"]\n[factions.f]\n' + extra)


CONS = '[[actions.a.considerations]]\ninput = "threat"\n'


@pytest.mark.parametrize(
    ("text", "field", "expected"),
    [
        ('[needs.h]\ndecay = "fast"\n', "needs.h.decay", "float, got str"),
        ("[needs.h]\ndecay = -1.0\n", "needs.h.decay", ">= 0"),
        ("[needs.h]\ninitial = [0.9, 0.1]\n", "needs.h.initial", "low <= high"),
        ("[needs.h]\ninitial = [0.5]\n", "needs.h.initial", "length"),
        ("[needs.h]\ncritical = 1.5\n", "needs.h.critical", "<= 1"),
        ("[needs.h]\ndecya = 0.1\n", "needs.h.decya", "a known key"),
        ('[needs."9lives"]\n', "needs.9lives (name)", "matching regex"),
        ('[actions.a]\nverb = "dance"\n' + CONS, "actions.a.verb", "one of"),
        ('[actions.a]\nverb = "idle"\ntarget = "moon"\n' + CONS, "actions.a.target", "one of"),
        ('[actions.a]\nverb = "idle"\nweight = nan\n' + CONS, "actions.a.weight", "a finite number"),
        ('[actions.a]\nverb = "idle"\nweight = inf\n' + CONS, "actions.a.weight", "a finite number"),
        ('[actions.a]\nverb = "idle"\neffects = { thirst = 1.0 }\n' + CONS, "actions.a.effects.thirst", "one of the needs"),
        ('[actions.a]\nverb = "idle"\n', "actions.a.considerations", "at least one"),
        ('[actions.a]\nverb = "idle"\n' + CONS + '[[actions.a.considerations]]\ninput = "need.thirst"\n',
         "actions.a.considerations[1].input", "one of"),
        ('[actions.a]\nverb = "idle"\n' + CONS + '[[actions.a.considerations]]\ninput = "threat"\ncurve = "cubic"\n',
         "actions.a.considerations[1].curve", "one of"),
        ('[actions.a]\nverb = "idle"\n' + CONS + '[[actions.a.considerations]]\ninput = "threat"\nm = nan\n',
         "actions.a.considerations[1].m", "a finite number"),
        ('[actions.a]\nverb = "idle"\n' + CONS + '[[actions.a.considerations]]\ninput = "threat"\nk = "two"\n',
         "actions.a.considerations[1].k", "float"),
        ('[actions.a]\nverb = "idle"\n[[actions.a.considerations]]\ncurve = "linear"\n',
         "actions.a.considerations[0]", "input"),
        ('[actions.a]\nverb = "idle"\n' + CONS + '[[actions.a.considerations]]\ninput = "threat"\nslope = 1\n',
         "actions.a.considerations[1].slope", "a known key"),
        ("actions = 3\n", "actions", "a table of named entries"),
        ("[actions]\na = 3\n", "actions.a", "object"),
    ],
)
def test_mistakes_in_needs_and_actions_name_file_and_field(text: str, field: str, expected: str) -> None:
    _assert_refused(text + _rest_without(text), field, expected)


@pytest.mark.parametrize(
    ("role", "field", "expected"),
    [
        ('faction = "pirates"\nactions = ["a"]\n', "roles.r.faction", "one of the factions"),
        ('faction = "f"\nactions = []\n', "roles.r.actions", "non-empty"),
        ('faction = "f"\nactions = ["a", "fly"]\n', "roles.r.actions[1]", "one of the actions"),
        ('faction = "f"\nactions = ["a", "a"]\n', "roles.r.actions[1]", "each action once"),
        ('faction = "f"\nactions = ["a"]\nspeed = 0.0\n', "roles.r.speed", "> 0"),
        ('faction = "f"\nactions = ["a"]\nhostile = "yes"\n', "roles.r.hostile", "bool"),
        ('faction = "f"\nactions = ["a"]\n[[roles.r.schedule]]\nfrom = 24.0\nto = 6.0\n', "roles.r.schedule[0].from", "< 24"),
        ('faction = "f"\nactions = ["a"]\n[[roles.r.schedule]]\nfrom = 6.0\nto = -1.0\n', "roles.r.schedule[0].to", ">= 0"),
        ('faction = "f"\nactions = ["a"]\n[[roles.r.schedule]]\nfrom = 6.0\nto = 6.0\n', "roles.r.schedule[0].to", "different"),
        ('faction = "f"\nactions = ["a"]\n[[roles.r.schedule]]\nfrom = 22.0\nto = 6.0\n[[roles.r.schedule]]\nfrom = 5.0\nto = 9.0\n',
         "roles.r.schedule[1]", "do not overlap"),
        ('faction = "f"\nactions = ["a"]\n[[roles.r.schedule]]\nfrom = 6.0\nto = 9.0\nbias = { b = 2.0 }\n',
         "roles.r.schedule[0].bias.b", "one of this role's actions"),
        ('faction = "f"\nactions = ["a"]\n[[roles.r.schedule]]\nfrom = 6.0\nto = 9.0\nbias = { a = -2.0 }\n',
         "roles.r.schedule[0].bias.a", ">= 0"),
        ('faction = "f"\nactions = ["a"]\n[[roles.r.schedule]]\nfrom = 6.0\nuntil = 9.0\n', "roles.r.schedule[0].until", "a known key"),
    ],
)
def test_mistakes_in_roles_name_file_and_field(role: str, field: str, expected: str) -> None:
    text = ('[needs.h]\n[actions.a]\nverb = "idle"\n' + CONS + '[actions.b]\nverb = "idle"\n'
            '[[actions.b.considerations]]\ninput = "threat"\n[roles.r]\n' + role + "[factions.f]\n")
    _assert_refused(text, field, expected)


@pytest.mark.parametrize(
    ("factions", "field", "expected"),
    [
        ('[factions.f]\nhostile_to = ["g"]\n', "factions.f.hostile_to[0]", "one of the factions"),
        ('[factions.f]\nhostile_to = ["g", "g"]\n[factions.g]\n', "factions.f.hostile_to[1]", "each faction once"),
        ('[factions.f]\nhostile_to = "g"\n[factions.g]\n', "factions.f.hostile_to", "array"),
    ],
)
def test_mistakes_in_factions_name_file_and_field(factions: str, field: str, expected: str) -> None:
    text = '[actions.a]\nverb = "idle"\n' + CONS + '[roles.r]\nfaction = "f"\nactions = ["a"]\n' + factions
    _assert_refused(text, field, expected)


@pytest.mark.parametrize(
    ("text", "field"),
    [("[needs.h\n", "(syntax)"), ('[needs.h]\ndecay = 1\ndecay = 2\n', "(syntax)"), ("", "actions"),
     ('[actions.a]\nverb = "idle"\n' + CONS, "roles")],
)
def test_syntax_errors_duplicates_and_empty_designs_are_refused(text: str, field: str) -> None:
    _assert_refused(text, field, "")


def test_missing_file_lists_the_bundled_designs(tmp_path: Path) -> None:
    with pytest.raises(NpcDataError, match="default") as info:
        load_design(tmp_path / "nope.toml")
    assert info.value.field == "(file)"
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b"\xff\xfe")
    with pytest.raises(NpcDataError, match="UTF-8") as info:
        load_design(bad)
    assert info.value.source == str(bad)


def test_a_design_file_on_disk_is_named_in_errors(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(DEFAULT_PATH.read_text(encoding="utf-8").replace('curve = "logistic"', 'curve = "logistik"', 1))
    with pytest.raises(NpcDataError) as info:
        load_design(path)
    assert info.value.source == str(path) and info.value.field == "actions.sleep.considerations[0].curve"
    assert str(path) in str(info.value) and "actions.sleep.considerations[0].curve" in str(info.value)


def test_errors_are_typed() -> None:
    assert issubclass(NpcDataError, NpcError)


def _rest_without(text: str) -> str:
    """The parts of a minimal valid design the snippet ``text`` does not define."""
    rest = ""
    if "[actions" not in text and "actions =" not in text:
        rest += '[actions.a]\nverb = "idle"\n' + CONS
    if "[roles" not in text:
        rest += '[roles.r]\nfaction = "f"\nactions = ["a"]\n'
    if "[factions" not in text:
        rest += "[factions.f]\n"
    return rest


def _assert_refused(text: str, field: str, expected: str) -> None:
    with pytest.raises(NpcDataError) as info:
        loads(text, "designs/bad.toml")
    err = info.value
    assert err.source == "designs/bad.toml" and err.field == field, str(err)
    assert expected in err.expected, str(err)
    assert str(err).startswith(f"designs/bad.toml: {field}: expected ")


# ------------------------------------------------------------------ fuzzing


def _leaves(node: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """(dotted path, container, key) of every leaf value in a parsed design, ``a.b[1].c`` style."""
    out: list[tuple[str, Any, Any]] = []
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for key, value in items:
        sub = f"{path}[{key}]" if isinstance(node, list) else (f"{path}.{key}" if path else str(key))
        if isinstance(value, (dict, list)) and value:
            out.extend(_leaves(value, sub))
        else:
            out.append((sub, node, key))
    return out


def _tables(node: Any, path: str = "") -> list[tuple[str, dict[str, Any]]]:
    """(dotted path, table) of every table below the top level."""
    out: list[tuple[str, dict[str, Any]]] = []
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for key, value in items:
        sub = f"{path}[{key}]" if isinstance(node, list) else (f"{path}.{key}" if path else str(key))
        if isinstance(value, dict):
            if path and not path.endswith((".effects", ".bias")) and not sub.endswith((".effects", ".bias")):
                out.append((sub, value))
            out.extend(_tables(value, sub))
        elif isinstance(value, list):
            out.extend(_tables(value, sub))
    return out


REFERENCE_LEAVES = [(p, c, k) for p, c, k in _leaves(DEFAULT_DATA)
                    if isinstance(c[k], str) and not p.endswith((".work", ".policy"))]
ENTRY_TABLES = [p for p, _ in _tables(DEFAULT_DATA) if p.count(".") >= 1]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(range(len(REFERENCE_LEAVES))), st.text(min_size=1, max_size=12))
def test_a_broken_reference_anywhere_is_refused_at_its_field(index: int, junk: str) -> None:
    data = copy.deepcopy(DEFAULT_DATA)
    path = REFERENCE_LEAVES[index][0]
    container, key = _find(data, path)
    container[key] = "zz" + junk  # names a verb, target, curve, input, faction or action that does not exist
    with pytest.raises(NpcDataError) as info:
        from_dict(data, "fuzz.toml")
    assert info.value.field == path and info.value.source == "fuzz.toml"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(ENTRY_TABLES), st.from_regex(r"[a-z]{3,10}", fullmatch=True))
def test_an_unknown_key_in_any_table_is_refused_naming_it(table: str, key: str) -> None:
    data = copy.deepcopy(DEFAULT_DATA)
    container, last = _find(data, table)
    target = container[last]
    if key in target:
        return
    target[key] = 1
    with pytest.raises(NpcDataError) as info:
        from_dict(data, "fuzz.toml")
    assert info.value.field == f"{table}.{key}"


JUNK = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20), st.floats(), st.text(max_size=8),
                 st.lists(st.integers(-3, 30), max_size=3), st.dictionaries(st.text(max_size=4), st.floats(), max_size=2))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(range(len(_leaves(DEFAULT_DATA)))), JUNK), min_size=1, max_size=3))
def test_any_mutation_of_the_default_design_loads_or_is_refused(mutations: list[tuple[int, Any]]) -> None:
    data = copy.deepcopy(DEFAULT_DATA)
    leaves = _leaves(data)
    for index, value in mutations:
        path, container, key = leaves[index]
        if value is None:
            container.pop(key, None) if isinstance(container, dict) else None
        else:
            container[key] = value
    try:
        design = from_dict(data, "fuzz.toml")
    except NpcDataError as err:
        assert err.source == "fuzz.toml" and err.field and err.expected
        return
    compiled = compile_design(design)
    assert np.isfinite(compiled.cons_params).all() and np.isfinite(compiled.role_bias).all()


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=200))
def test_any_text_loads_or_raises_npc_data_error(text: str) -> None:
    try:
        loads(text, "fuzz.toml")
    except NpcDataError as err:
        assert err.source == "fuzz.toml"


def _find(data: Any, path: str) -> tuple[Any, Any]:
    """The container and key that ``path`` (``a.b[1].c``) points at in ``data``."""
    tokens: list[Any] = []
    for part in path.split("."):
        name, _, rest = part.partition("[")
        tokens.append(name)
        if rest:
            tokens.extend(int(x) for x in rest.rstrip("]").split("]["))
    node = data
    for token in tokens[:-1]:
        node = node[token]
    return node, tokens[-1]
