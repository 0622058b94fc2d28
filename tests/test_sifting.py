"""Story sifting on crafted event logs: the bundled patterns, windows, counts, ordering, state patterns,
bounded partial matches, batch-split invariance (hypothesis) and bad designer data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from narrative.errors import DesignDataError, NarrativeError
from narrative.facts import FactSnapshot, NpcFact, SettlementFact
from narrative.sifting import Sifter, describe, load_patterns, parse_pattern
from worldsim import WorldEvent

A, B, C, D = 101, 102, 103, 104


def ev(tick: int, kind: str, entity: int = 0, **data: object) -> WorldEvent:
    return WorldEvent(tick, kind, entity, data)


def facts(tick: int = 0, dead: tuple[int, ...] = (), wolf_at: tuple[float, float] | None = None) -> FactSnapshot:
    npcs = [NpcFact(i, f"n{i}", "farmer", "villagers", "Millbrook", 0.0, 0.0) for i in (A, B, C, D) if i not in dead]
    towns = [SettlementFact("Millbrook", 0.0, 0.0, {"food": 5.0}, {"food": 2.0}, {"food": 10.0}, ("food",)),
             SettlementFact("Stonewatch", 200.0, 0.0, {"food": 500.0}, {"food": 1.0}, {"food": 5.0}, ())]
    ids, species, xy = [900, 901], [0, 0], [[150.0, 0.0], [160.0, 5.0]]
    if wolf_at is not None:
        ids.append(950)
        species.append(1)
        xy.append(list(wolf_at))
    return FactSnapshot(tick, npcs, towns, [], ["food"], {"sheep": "grass", "wolf": "sheep"}, ["sheep", "wolf"],
                        np.array(ids), np.array(species), np.array(xy))


def names(situations: list) -> list[str]:
    return [s.pattern for s in situations]


def test_bundled_patterns_load() -> None:
    patterns = {p.name: p for p in load_patterns()}
    assert {"feud_violence", "feud_declared", "village_hungry", "predator_near", "theft_witnessed"} <= set(patterns)
    assert all(p.motivations for p in patterns.values())


def test_feud_needs_three_attacks_by_the_same_pair_within_the_window() -> None:
    sifter = Sifter.from_directory()
    log = [ev(10, "npc.attacked", A, target=B, damage=3.0), ev(20, "npc.attacked", C, target=B, damage=1.0),
           ev(30, "npc.attacked", A, target=B, damage=3.0), ev(40, "npc.attacked", B, target=A, damage=2.0)]
    assert sifter.feed(log, facts()) == []
    found = sifter.feed([ev(50, "npc.attacked", A, target=B, damage=3.0)], facts())
    assert names(found) == ["feud_violence"]
    s = found[0]
    assert s.bindings == {"attacker": A, "victim": B}
    assert (s.start_tick, s.end_tick) == (10, 50)
    assert s.slots == {"giver": B, "culprit": A, "enemy": A}
    assert [e.tick for e in s.evidence] == [10, 30, 50]
    assert describe(s, sifter.patterns, facts()) == f"n{A} keeps attacking n{B}."
    assert sifter.feed([ev(60, "npc.attacked", A, target=B)], facts()) == []  # cooldown: no repeat


def test_feud_attacks_spread_beyond_the_window_do_not_match() -> None:
    sifter = Sifter.from_directory()
    log = [ev(t, "npc.attacked", A, target=B) for t in (0, 700, 1400)]  # window is 1200 ticks
    assert "feud_violence" not in names(sifter.feed(log, facts()))


def test_feud_is_not_reported_for_a_dead_victim() -> None:
    sifter = Sifter.from_directory()
    log = [ev(t, "npc.attacked", A, target=B) for t in (1, 2, 3)]
    assert sifter.feed(log, facts(dead=(B,))) == []


def test_village_hungry_counts_per_town_and_only_food() -> None:
    sifter = Sifter.from_directory()
    log = [ev(100, "market.shortage", settlement="Millbrook", good="food", missing=2.0),
           ev(100, "market.shortage", settlement="Stonewatch", good="food", missing=1.0),
           ev(200, "market.shortage", settlement="Millbrook", good="wood", missing=1.0),
           ev(200, "market.shortage", settlement="Millbrook", good="food", missing=2.0),
           ev(300, "market.shortage", settlement="Millbrook", good="wood", missing=1.0),
           ev(300, "market.shortage", settlement="Millbrook", good="food", missing=3.0)]
    found = sifter.feed(log, facts())
    hungry = [s for s in found if s.pattern == "village_hungry"]
    assert len(hungry) == 1 and hungry[0].bindings == {"town": "Millbrook", "good": "food"}
    assert hungry[0].slots == {"home": "Millbrook", "good": "food"}
    short = sorted(s.bindings["good"] for s in found if s.pattern == "goods_shortage")
    assert short == ["food", "wood"]  # goods_shortage needs two: Millbrook food and wood, not Stonewatch


def test_theft_then_witness_in_order_binds_thief_victim_and_witness() -> None:
    sifter = Sifter.from_directory()
    found = sifter.feed([ev(5, "npc.witnessed", C, what="stole", subject=A, victim=B),  # before the theft
                         ev(10, "npc.stole", A, victim=B, good="food", units=2.0),
                         ev(12, "npc.witnessed", D, what="stole", subject=C, victim=B),  # another subject
                         ev(15, "npc.witnessed", C, what="stole", subject=A, victim=B)], facts())
    assert names(found) == ["theft_witnessed"]
    assert found[0].bindings == {"thief": A, "victim": B, "good": "food", "witness": C}


def test_witness_too_late_or_thief_witnessing_himself_does_not_match() -> None:
    sifter = Sifter.from_directory()
    assert sifter.feed([ev(10, "npc.stole", A, victim=B, good="food", units=1.0),
                        ev(11, "npc.witnessed", A, what="stole", subject=A, victim=B),
                        ev(700, "npc.witnessed", C, what="stole", subject=A, victim=B)], facts()) == []


def test_predator_near_is_a_state_pattern_with_a_cooldown() -> None:
    sifter = Sifter.from_directory()
    assert sifter.scan(facts(tick=1, wolf_at=(60.0, 0.0))) == []  # 60 m: too far
    found = sifter.scan(facts(tick=2, wolf_at=(30.0, 10.0)))
    assert names(found) == ["predator_near"]
    assert found[0].bindings == {"place": "Millbrook", "nearest": 950, "species": "wolf", "count": 1}
    assert found[0].slots == {"home": "Millbrook", "threat": 950}
    assert sifter.scan(facts(tick=3, wolf_at=(30.0, 10.0))) == []
    assert names(sifter.scan(facts(tick=10_000, wolf_at=(30.0, 10.0)))) == ["predator_near"]


def test_partial_matches_stay_bounded_and_drops_are_counted() -> None:
    pattern = parse_pattern({"window": 10_000, "max_partials": 8, "steps": [
        {"kind": "npc.attacked", "bind": {"a": "entity", "b": "data.target"}, "count": 5}]}, "<test>")
    sifter = Sifter([pattern])
    sifter.feed([ev(i, "npc.attacked", i, target=i + 1) for i in range(100)])
    assert sifter.partial_count == 8 and sifter.dropped == 92


def test_partials_expire_after_the_window() -> None:
    pattern = parse_pattern({"window": 50, "steps": [
        {"kind": "npc.attacked", "bind": {"a": "entity"}, "count": 2}]}, "<test>")
    sifter = Sifter([pattern])
    sifter.feed([ev(0, "npc.attacked", A, target=B)])
    assert sifter.partial_count == 1
    sifter.feed([ev(100, "day.started", 0, day=1), ev(100, "npc.attacked", C, target=B)])
    assert sifter.partial_count == 1  # A's expired, C's is new


KINDS = ("npc.attacked", "npc.stole", "npc.witnessed", "market.shortage", "npc.feud")


@st.composite
def logs(draw: st.DrawFn) -> list[WorldEvent]:
    n = draw(st.integers(0, 60))
    tick, out = 0, []
    for _ in range(n):
        tick += draw(st.integers(0, 300))
        kind = draw(st.sampled_from(KINDS))
        who, other = draw(st.sampled_from((A, B, C, D))), draw(st.sampled_from((A, B, C, D)))
        if kind == "market.shortage":
            out.append(ev(tick, kind, settlement=draw(st.sampled_from(("Millbrook", "Stonewatch"))),
                          good=draw(st.sampled_from(("food", "wood"))), missing=1.0))
        elif kind == "npc.stole":
            out.append(ev(tick, kind, who, victim=other, good="food", units=1.0))
        elif kind == "npc.witnessed":
            out.append(ev(tick, kind, who, what="stole", subject=other, victim=A))
        elif kind == "npc.feud":
            out.append(ev(tick, kind, who, other=other))
        else:
            out.append(ev(tick, kind, who, target=other, damage=1.0))
    return out


@settings(max_examples=60, deadline=None)
@given(log=logs(), cuts=st.lists(st.integers(0, 60), max_size=8))
def test_any_batch_split_gives_the_same_situations(log: list[WorldEvent], cuts: list[int]) -> None:
    whole = Sifter.from_directory().feed(log, facts())
    sifter = Sifter.from_directory()
    bounds = sorted({0, len(log), *[min(c, len(log)) for c in cuts]})
    split = []
    for lo, hi in zip(bounds, bounds[1:], strict=False):
        split.extend(sifter.feed(log[lo:hi], facts()))
    assert [(s.pattern, s.bindings, s.start_tick, s.end_tick) for s in split] == \
        [(s.pattern, s.bindings, s.start_tick, s.end_tick) for s in whole]
    assert sifter.partial_count <= sum(p.max_partials for p in sifter.patterns)


@settings(max_examples=80, deadline=None)
@given(data=st.dictionaries(st.sampled_from(["name", "window", "steps", "conditions", "motivations", "slots",
                                             "distinct", "cooldown", "bogus"]),
                            st.one_of(st.integers(-5, 5), st.text(max_size=5), st.lists(st.text(max_size=3)),
                                      st.dictionaries(st.text(max_size=3), st.text(max_size=3)))))
def test_arbitrary_pattern_data_is_accepted_or_refused_with_a_design_error(data: dict) -> None:
    try:
        parse_pattern(data, "<fuzz>")
    except DesignDataError as exc:
        assert exc.source == "<fuzz>" and exc.field
    except NarrativeError:  # pragma: no cover - any other narrative error would be a bug
        raise


@pytest.mark.parametrize(("text", "field"), [
    ('motivations = ["glory"]\n[[steps]]\nkind = "npc.feud"\n', "motivations[0]"),
    ('[[steps]]\nkind = "npc.feud"\nbind = { a = "entity" }\n[[steps]]\nkind = "npc.feud"\nwhere = { entity = "$b" }\n',
     "steps[1].where.entity"),
    ('slots = { threat = "x" }\n[[steps]]\nkind = "npc.feud"\nbind = { a = "entity" }\n', "slots.threat"),
    ('slots = { dragon = "a" }\n[[steps]]\nkind = "npc.feud"\nbind = { a = "entity" }\n', "slots.dragon"),
    ('description = "{who} did it"\n[[steps]]\nkind = "npc.feud"\nbind = { a = "entity" }\n', "description"),
    ('[[conditions]]\nfact = "telepathy"\n', "conditions[0].fact"),
    ('[[conditions]]\nfact = "hunters_near"\nargs = { place = "Millbrook" }\n', "conditions[0].args.radius"),
    ('[[steps]]\nkind = "npc.feud"\ncount = 0\n', "steps[0].count"),
    ('[[steps]]\nkind = "npc.feud"\nbind = { a = "data." }\n', "steps[0].bind.a"),
    ('window = -3\n[[steps]]\nkind = "npc.feud"\n', "window"),
    ("", "steps"),
])
def test_bad_pattern_files_are_refused_naming_file_and_field(tmp_path: Path, text: str, field: str) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(text)
    with pytest.raises(DesignDataError) as info:
        load_patterns(tmp_path)
    assert info.value.source == str(path) and info.value.field == field
    assert str(path) in str(info.value) and field in str(info.value)


def test_toml_syntax_errors_name_the_file(tmp_path: Path) -> None:
    (tmp_path / "x.toml").write_text("window = = 3")
    with pytest.raises(DesignDataError, match="x.toml"):
        load_patterns(tmp_path)


def test_events_with_missing_or_non_scalar_fields_are_skipped() -> None:
    sifter = Sifter.from_directory()
    log = [ev(1, "npc.attacked", A), ev(2, "npc.attacked", A, target=[B]), ev(3, "npc.attacked", A, target={"x": 1})]
    assert sifter.feed(log, facts()) == [] and sifter.partial_count == 0
