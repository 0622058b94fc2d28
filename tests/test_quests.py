"""Quests on crafted worlds: grounding, every motivation, branching when the world changes, the ledger's
verbs and typed errors, saves, text and Yarn export, bad designer data."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from narrative.errors import (
    DesignDataError,
    QuestNotFoundError,
    QuestSaveError,
    QuestStateError,
    QuestStepError,
)
from narrative.facts import FactSnapshot, NodeFact, NpcFact, RelationFact, SettlementFact
from narrative.ledger import QuestLedger
from narrative.quest_effects import (
    FactionEffect,
    RelationEffect,
    StockEffect,
    effect_from_dict,
    effect_to_dict,
)
from narrative.quest_taxonomy import ENTITY_KINDS, MOTIVATIONS, load_taxonomy
from narrative.quests import QuestGenerator
from narrative.sifting import Situation
from narrative.text import load_text
from narrative.yarn import escape_line, quest_to_yarn
from worldsim import WorldEvent

PLAYER = 7_000
WOLF, WOLF2, SHEEP = 900, 901, 902
V = [101, 102, 103, 104, 105]  # villagers of Millbrook
S = [201, 202]                  # Stonewatch guards
BANDIT = 301


def world(dead: tuple[int, ...] = (), tick: int = 0, changes: dict[int, str] | None = None) -> FactSnapshot:
    roles = ["farmer", "scholar", "smith", "healer", "merchant"]
    npcs = [NpcFact(i, f"V{i}", roles[k], "villagers", "Millbrook", -50.0 + k, 40.0) for k, i in enumerate(V)]
    npcs += [NpcFact(i, f"S{i}", "guard", "villagers", "Stonewatch", 70.0, -50.0) for i in S]
    npcs.append(NpcFact(BANDIT, "Grim", "bandit", "bandits", "Millbrook", 0.0, 0.0))
    for i, faction in (changes or {}).items():
        npcs = [NpcFact(n.id, n.name, n.role, faction, n.home, n.x, n.y) if n.id == i else n for n in npcs]
    npcs = [n for n in npcs if n.id not in dead]
    towns = [SettlementFact("Millbrook", -60.0, 40.0, {"food": 10.0, "wood": 100.0, "stone": 50.0},
                            {"food": 4.0, "wood": 2.0, "stone": 6.0}, {"food": 12.0, "wood": 3.0, "stone": 1.0},
                            ("food",)),
             SettlementFact("Stonewatch", 70.0, -50.0, {"food": 200.0, "wood": 60.0, "stone": 300.0},
                            {"food": 1.5, "wood": 3.0, "stone": 2.0}, {"food": 8.0, "wood": 3.0, "stone": 1.0}, ())]
    nodes = [NodeFact(0, "wood", -40.0, 60.0, 50.0), NodeFact(1, "stone", 20.0, 20.0, 100.0)]
    creatures = [(WOLF, 1, -55.0, 30.0), (WOLF2, 1, -70.0, 60.0), (SHEEP, 0, -65.0, 45.0), (903, 1, 22.0, 25.0)]
    creatures = [c for c in creatures if c[0] not in dead]
    rel = {V[0]: [RelationFact(V[1], 0.6, 0.5), RelationFact(BANDIT, -0.8, -0.9)],
           V[2]: [RelationFact(BANDIT, -0.5, -0.4)]}
    return FactSnapshot(tick, npcs, towns, nodes, ["food", "wood", "stone"], {"sheep": "grass", "wolf": "sheep"},
                        ["sheep", "wolf"], np.array([c[0] for c in creatures], dtype=np.int64),
                        np.array([c[1] for c in creatures], dtype=np.int64),
                        np.array([[c[2], c[3]] for c in creatures]).reshape(-1, 2), rel,
                        None, {("villagers", "bandits"): -0.8}, {PLAYER})


def ev(tick: int, kind: str, entity: int = 0, **data: object) -> WorldEvent:
    return WorldEvent(tick, kind, entity, data)


def make(strategy: str, giver: int = V[0], seed: int = 3, facts: FactSnapshot | None = None, **slots: object):
    """A quest of one strategy, its giver pinned through a situation."""
    facts = facts or world()
    generator = QuestGenerator(seed=seed)
    motivation, name = strategy.split(".")
    for _ in range(50):
        q = generator.make(facts, Situation("test", {}, 0, 0, (motivation,), {"giver": giver, **slots}), motivation)
        if q is not None and q.strategy.name == name:
            return generator, q
    raise AssertionError(f"could not make {strategy}")


def ledger_with(strategy: str, accept: bool = True, **kw: object):
    generator, quest = make(strategy, **kw)
    ledger = QuestLedger(generator)
    ledger.set_avatar("p", PLAYER)
    assert ledger.offer("p", quest, world())[0].change == "offered"
    if accept:
        ledger.accept("p", quest.id, world())
    return ledger, quest


# ------------------------------------------------------------------------------------ grounding
def test_taxonomy_has_all_nine_motivations_with_strategies() -> None:
    t = load_taxonomy()
    assert tuple(t.strategies) == MOTIVATIONS
    assert len(t.pairs()) == 34 and all(t.strategies[m] for m in MOTIVATIONS)


@pytest.mark.parametrize("motivation", MOTIVATIONS)
def test_every_motivation_yields_quests_bound_to_live_entities(motivation: str) -> None:
    facts = world()
    generator = QuestGenerator(seed=11)
    quests = [generator.make(facts, motivation=motivation) for _ in range(30)]
    quests = [q for q in quests if q is not None]
    assert quests and {q.motivation for q in quests} == {motivation}
    for q in quests:
        assert q.dangling(facts) == []
        for b in q.bindings.values():
            if b.kind in ENTITY_KINDS:
                assert facts.is_alive(b.value)
        assert q.text["title"] and q.text["summary"] and "{" not in q.text["summary"] + q.text["offer"]
        assert q.graph.has_node("done") and q.graph.nodes[q.node]["kind"] == "step"


def test_culprit_is_never_invented() -> None:
    facts = world()
    generator = QuestGenerator(seed=1)
    for _ in range(40):
        q = generator.make(facts, motivation="serenity")
        assert q is not None
        if "culprit" in q.bindings:
            assert q.giver in (V[0], V[2]) and q.bindings["culprit"].value == BANDIT


def test_situation_prefills_slots_and_biases_motivation() -> None:
    facts = world()
    situation = Situation("predator_near", {}, 0, 0, ("protection",), {"home": "Millbrook", "threat": WOLF2})
    generator = QuestGenerator(seed=5)
    quests = generator.generate(facts, [situation] * 10, count=10)
    assert all(q.motivation == "protection" for q in quests)
    threats = [q.bindings["threat"].value for q in quests if "threat" in q.bindings]
    assert threats and set(threats) == {WOLF2}


def test_no_npcs_means_no_quests() -> None:
    empty = FactSnapshot(0, [], world().settlement_list)
    assert QuestGenerator(seed=1).generate(empty, count=5) == []


# ------------------------------------------------------------------------------ world changes
def test_target_killed_by_the_player_completes_the_step() -> None:
    ledger, q = ledger_with("protection.attack_threats")
    threat = q.bindings["threat"].value
    ledger.progress("p", q.id, world())  # goto home
    updates = ledger.update([ev(5, "creature.died", threat, killer=PLAYER, cause="predation", species="wolf")],
                            world(dead=(threat,), tick=5))
    assert q.node == "s2" and any(u.change == "progressed" for u in updates)
    ledger.progress("p", q.id, world(dead=(threat,)))
    done = ledger.turn_in("p", q.id, world(dead=(threat,)))[-1]
    assert done.change == "completed" and q.reward == 1.0
    assert RelationEffect(V[0], PLAYER, 0.25, 0.25) in done.effects


def test_target_killed_by_someone_else_branches_to_a_half_reward_report() -> None:
    ledger, q = ledger_with("protection.attack_threats")
    threat = q.bindings["threat"].value
    updates = ledger.update([ev(5, "creature.died", threat, killer=999, cause="predation", species="wolf")],
                            world(dead=(threat,), tick=5))
    assert q.node == "alt_threat" and q.status == "active"
    assert updates[-1].change == "branched" and updates[-1].line
    assert "threat" not in q.needed_slots() and q.dangling(world(dead=(threat,))) == []
    ledger.progress("p", q.id, world(dead=(threat,)))
    done = ledger.turn_in("p", q.id, world(dead=(threat,)))[-1]
    assert done.change == "completed" and q.reward == 0.5
    assert RelationEffect(V[0], PLAYER, 0.125, 0.125) in done.effects


def test_friend_dying_fails_a_check_on_quest_gracefully() -> None:
    ledger, q = ledger_with("serenity.check_on_npc")
    friend = q.bindings["friend"].value
    updates = ledger.update([], world(dead=(friend,), tick=9))
    assert q.status == "failed" and q.node == "fail_friend" and q.outcome_reason == "friend_lost"
    last = updates[-1]
    assert last.change == "failed" and f"{q.bindings['friend'].label} is gone" in last.line
    assert RelationEffect(V[0], PLAYER, -0.1, -0.1) in last.effects
    with pytest.raises(QuestStateError):
        ledger.progress("p", q.id, world(dead=(friend,)))


def test_offered_quest_whose_target_dies_is_withdrawn_not_failed() -> None:
    ledger, q = ledger_with("serenity.check_on_npc", accept=False)
    friend = q.bindings["friend"].value
    updates = ledger.update([], world(dead=(friend,)))
    assert q.status == "withdrawn" and updates[-1].change == "withdrawn" and updates[-1].effects == []


def test_dead_giver_is_replaced_by_a_member_of_the_same_faction() -> None:
    ledger, q = ledger_with("protection.attack_threats")
    updates = ledger.update([ev(3, "npc.died", V[0], killer=BANDIT, cause="attack")], world(dead=(V[0],)))
    assert q.status == "active" and q.giver != V[0]
    assert q.bindings["giver"].faction == "villagers" and "takes over" in updates[0].note


def test_giver_alone_in_a_faction_dies_and_the_quest_fails() -> None:
    ledger, q = ledger_with("conquest.attack_enemy", giver=BANDIT)
    ledger.update([], world(dead=(BANDIT,)))
    assert q.status == "failed" and q.node == "fail_giver"


def test_giver_changing_faction_hands_the_quest_to_the_old_faction_or_fails() -> None:
    ledger, q = ledger_with("serenity.check_on_npc")
    ledger.update([], world(changes={V[0]: "bandits"}))
    assert q.status == "active" and q.giver != V[0] and q.bindings["giver"].faction == "villagers"
    everyone = tuple(i for i in V + S if i != q.giver)
    ledger2, q2 = ledger_with("conquest.attack_enemy", giver=BANDIT)
    ledger2.update([], world(changes={BANDIT: "villagers"}, dead=everyone))
    assert q2.status == "failed" and q2.node == "fail_defected"
    assert everyone  # the old faction (bandits) had nobody else


def test_item_stolen_by_someone_else_branches_to_the_robber() -> None:
    ledger, q = ledger_with("wealth.steal_valuables", giver=V[0])
    enemy, good = q.bindings["enemy"].value, q.bindings["rare_good"].value
    ledger.update([ev(4, "npc.stole", S[0], victim=enemy, good="nothing", units=1.0)], world())
    assert q.node == "s0"  # a different good: no branch
    updates = ledger.update([ev(5, "npc.stole", S[0], victim=enemy, good=good, units=1.0)], world())
    assert q.node == "alt_stolen1" and q.bindings["robber1"].value == S[0]
    assert any(u.change == "branched" for u in updates)
    ledger.update([], world(dead=(S[0],)))
    assert q.status == "failed" and q.node == "fail_robber1"


@settings(max_examples=40, deadline=None)
@given(kills=st.lists(st.sets(st.sampled_from(V + S + [BANDIT, WOLF, WOLF2, SHEEP, 903]), max_size=3), max_size=5),
       seed=st.integers(0, 2**32))
def test_open_quests_never_point_at_dead_entities(kills: list[set[int]], seed: int) -> None:
    generator = QuestGenerator(seed=seed)
    ledger = QuestLedger(generator, max_offers=100)
    ledger.set_avatar("p", PLAYER)
    dead: set[int] = set()
    for q in generator.generate(world(), count=12):
        ledger.offer("p", q, world())
        if q.seed % 2:
            ledger.accept("p", q.id, world())
    for tick, batch in enumerate(kills, start=1):
        dead |= batch
        facts = world(dead=tuple(dead), tick=tick)
        ledger.update([ev(tick, "npc.died", e, killer=0, cause="x") for e in sorted(batch)], facts)
        for q in ledger.quests("p"):
            if q.status in ("offered", "active"):
                assert q.dangling(facts) == [], (q.id, q.node, q.log)


# ----------------------------------------------------------------------------------- the ledger
def test_ledger_verbs_refuse_what_the_state_does_not_allow() -> None:
    ledger, q = ledger_with("protection.attack_threats", accept=False)
    with pytest.raises(QuestNotFoundError):
        ledger.accept("p", "nope", world())
    with pytest.raises(QuestNotFoundError):
        ledger.accept("someone else", q.id, world())
    with pytest.raises(QuestStateError):
        ledger.progress("p", q.id, world())
    with pytest.raises(QuestStateError):
        ledger.offer("p", q, world())
    ledger.accept("p", q.id, world())
    with pytest.raises(QuestStateError):
        ledger.accept("p", q.id, world())
    with pytest.raises(QuestStepError):
        ledger.turn_in("p", q.id, world())
    for _ in q.strategy.steps:
        ledger.progress("p", q.id, world())
    with pytest.raises(QuestStepError, match="turn the quest in"):
        ledger.progress("p", q.id, world())
    ledger.turn_in("p", q.id, world())
    with pytest.raises(QuestStateError):
        ledger.turn_in("p", q.id, world())


def test_require_evidence_refuses_reported_kills() -> None:
    generator, q = make("protection.attack_threats")
    ledger = QuestLedger(generator, require_evidence=True)
    ledger.offer("p", q, world())
    ledger.accept("p", q.id, world())
    ledger.progress("p", q.id, world())  # goto needs no evidence
    with pytest.raises(QuestStepError, match="in the world"):
        ledger.progress("p", q.id, world())


def test_abandon_fails_with_failure_effects_and_decline_withdraws() -> None:
    ledger, q = ledger_with("conquest.attack_enemy")
    out = ledger.abandon("p", q.id)[0]
    assert q.status == "failed" and out.effects and out.line
    ledger2, q2 = ledger_with("conquest.attack_enemy", accept=False)
    assert ledger2.decline("p", q2.id)[0].status == "withdrawn"


def test_too_many_offers_withdraws_the_oldest() -> None:
    generator = QuestGenerator(seed=2)
    ledger = QuestLedger(generator, max_offers=3)
    quests = generator.generate(world(), count=5)
    for q in quests:
        ledger.offer("p", q, world())
    assert [q.status for q in quests] == ["withdrawn", "withdrawn", "offered", "offered", "offered"]


def test_ledger_round_trips_through_json() -> None:
    ledger, q = ledger_with("wealth.steal_valuables")
    ledger.update([ev(5, "npc.stole", S[0], victim=q.bindings["enemy"].value,
                      good=q.bindings["rare_good"].value, units=1.0)], world())
    for extra in QuestGenerator(seed=9).generate(world(), count=4):
        ledger.offer("q", extra, world())
    data = json.loads(json.dumps(ledger.to_dict()))
    again = QuestLedger.from_dict(data)
    assert again.to_dict() == ledger.to_dict()
    restored = again.get("p", q.id)
    assert restored.node == "alt_stolen1" and restored.bindings["robber1"].value == S[0]


@pytest.mark.parametrize("mutate", [
    lambda d: d.update(version=99),
    lambda d: d["players"]["p"][0].update(strategy="wealth.alchemy"),
    lambda d: d["players"]["p"][0].update(node="nowhere"),
    lambda d: d["players"]["p"][0].update(objectives=[]),
    lambda d: d["players"]["p"][0]["bindings"].pop("giver"),
    lambda d: d["players"]["p"][0].pop("log"),
    lambda d: d.update(players={"p": [42]}),
])
def test_bad_ledger_saves_raise_quest_save_error(mutate) -> None:
    ledger, _ = ledger_with("protection.attack_threats")
    data = json.loads(json.dumps(ledger.to_dict()))
    mutate(data)
    with pytest.raises(QuestSaveError):
        QuestLedger.from_dict(data)


def test_effects_round_trip_as_tagged_dicts() -> None:
    for effect in (RelationEffect(1, 2, 0.1, -0.2), FactionEffect("a", "b", -0.1), StockEffect("M", "food", 3.0)):
        data = effect_to_dict(effect)
        assert data["type"] in ("relation", "faction", "stock") and effect_from_dict(data) == effect


# ------------------------------------------------------------------------------- text and yarn
def test_yarn_export_is_well_formed_and_escaped() -> None:
    _, q = make("protection.attack_threats")
    q.bindings["giver"].label = "Old {Tom} #1"
    q.text["offer"] = "Beware the <<wolf>> // [b]now[/b] #urgent"
    text = quest_to_yarn(q)
    blocks = [b for b in text.strip().split("\n\n")]
    titles = {re.match(r"title: (\w+)", b).group(1) for b in blocks}
    assert all(b.splitlines()[2] == "---" and b.endswith("===") for b in blocks)
    assert {f"{q.id.replace('-', '_')}_{n}" for n in ("Offer", "s0", "s1", "s2", "turn_in", "alt_threat")} <= titles
    for target in re.findall(r"<<jump (\w+)>>", text):
        assert target in titles
    assert "Old__Tom___1: Beware the \\<\\<wolf\\>\\> \\/\\/ \\[b\\]now\\[\\/b\\] \\#urgent" in text
    assert escape_line("a\nb {c}") == "a b \\{c\\}"


def _bad_text(tmp_path: Path, old: str, new: str) -> Path:
    source = Path("narrative/templates/text.toml").read_text()
    assert old in source
    path = tmp_path / "text.toml"
    path.write_text(source.replace(old, new, 1))
    return path


@pytest.mark.parametrize(("old", "new", "field"), [
    ('knowledge = ["What {giver} Wants to Know"', 'knowledge = ["What {thief} Wants to Know"', "titles.knowledge[0]"),
    ('"protection.attack_threats" = ["The {threat}', '"protection.attack_threats" = ["The {pest}',
     "titles.protection.attack_threats[0]"),
    ('[titles]\n', '[titles]\nglory = ["x"]\n', "titles.glory"),
    ('[titles]\n', '[titles]\n"protection.nap" = ["x"]\n', "titles.protection.nap"),
    ('comfort = ["Small Comforts"', 'comfort = ["#nothing# Comforts"', "titles.comfort[0]"),
    ('comfort = ["Small Comforts"', 'comfort = ["{home.shout} Comforts"', "titles.comfort[0]"),
    ('comfort = ["Small Comforts"', 'comfort = ["{Home} Comforts"', "titles.comfort[0]"),
    ('kill = ["kill {target}"', 'kill = ["kill {victim}"', "actions.kill[0]"),
    ('hail = ["Traveller"', 'hail = ["Traveller {threat}"', "grammar.hail[0]"),
    ('failed]\nknowledge = ["It is no use now: {reason}."]', 'failed]\nknowledge = ["{reason}"]\n[barks.sad]\nx = ["y"]',
     "barks.sad"),
])
def test_bad_text_templates_are_refused_naming_file_and_field(tmp_path: Path, old: str, new: str, field: str) -> None:
    path = _bad_text(tmp_path, old, new)
    with pytest.raises(DesignDataError) as info:
        load_text(path)
    assert info.value.source == str(path) and info.value.field == field, str(info.value)


def test_missing_motivation_text_is_refused(tmp_path: Path) -> None:
    path = _bad_text(tmp_path, 'ability = ["Learning the Trade"', 'ablity = ["Learning the Trade"')
    with pytest.raises(DesignDataError) as info:
        load_text(path)
    assert info.value.field == "titles.ablity"


@pytest.mark.parametrize(("old", "new", "field"), [
    ("[comfort.kill_pests]", "[comfrt.kill_pests]", "comfrt"),
    ('{ action = "kill", target = "pest" }', '{ action = "hug", target = "pest" }', "comfort.kill_pests.steps[1].action"),
    ('{ action = "kill", target = "pest" }', '{ action = "kill", target = "dragon" }',
     "comfort.kill_pests.steps[1].target"),
    ('settlement = "home", good = "good", units = 15', 'settlement = "home", good = "treasure", units = 15',
     "wealth.gather_raw_materials.on_success[1].good"),
    ("[defaults]", "[defaults]\nglory.on_success = []", "defaults.glory"),
])
def test_bad_strategy_files_are_refused_naming_file_and_field(tmp_path: Path, old: str, new: str, field: str) -> None:
    source = Path("narrative/templates/strategies.toml").read_text()
    assert old in source
    path = tmp_path / "strategies.toml"
    path.write_text(source.replace(old, new, 1))
    with pytest.raises(DesignDataError) as info:
        load_taxonomy(path)
    assert info.value.source == str(path) and info.value.field == field, str(info.value)


def test_text_is_deterministic_by_seed_and_varies_across_seeds() -> None:
    first = [q.text for q in QuestGenerator(seed=4).generate(world(), count=20)]
    again = [q.text for q in QuestGenerator(seed=4).generate(world(), count=20)]
    other = [q.text for q in QuestGenerator(seed=5).generate(world(), count=20)]
    assert first == again and first != other
