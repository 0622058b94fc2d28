"""Quests on real worlds: the facts adapter (with and without the NPC system), effects applied to a world,
determinism across processes, and the fast version of benchmarks/quest_quality.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from narrative.facts import facts_from_world
from narrative.quest_effects import FactionEffect, PriceEffect, RelationEffect, StockEffect, apply_effects
from worldsim import World, load_scenario

ROOT = Path(__file__).resolve().parents[1]


def town(seed: int = 3, ticks: int = 60) -> World:
    world = World.from_scenario(load_scenario("town", {"physics.enabled": False}), seed=seed)
    for _ in range(ticks):
        world.step()
    return world


def test_facts_from_a_world_with_the_npc_system() -> None:
    world = town()
    facts = facts_from_world(world)
    system = world.systems["npc"]
    assert [n.id for n in facts.npcs()] == system.ids().tolist()
    for n in facts.npcs():
        world.entities.row_of(n.id)  # live in the world's own table
        assert n.home in world.economy.settlements and n.faction in system.faction_names
        assert n.name == system.name_of(n.id) and facts.is_alive(n.id)
    assert facts.faction_standing("villagers", "villagers") == pytest.approx(1.0)
    assert {s.name for s in facts.settlements()} == set(world.economy.settlements)
    for r in facts.relations(facts.npcs()[0].id):
        assert -1.0 <= r.affinity <= 1.0


def test_facts_from_a_world_without_npc_system_use_the_wanderers() -> None:
    scenario = load_scenario("meadow", {"physics.enabled": False, "species.sheep.count": 50,
                                        "species.wolf.count": 10, "world.wanderers": 150})
    scenario = msgspec.structs.replace(scenario, systems={})  # meadow's townsfolk are NPCs; drop them here
    world = World.from_scenario(scenario, seed=1)
    facts = facts_from_world(world)
    assert len(facts.npcs()) == 150
    assert {n.home for n in facts.npcs()} <= {"Millbrook", "Stonewatch"}
    wolves = [c for s in facts.settlements() for c in facts.creatures_near(s.x, s.y, 400.0, "wolf")]
    assert wolves and all(facts.species_of(c.id) == "wolf" for c in wolves)
    assert facts.species_diet() == {"sheep": "grass", "wolf": "sheep"}


def test_effects_change_the_world() -> None:
    world = town()
    economy = world.economy
    a, b = (int(i) for i in world.systems["npc"].ids()[:2])
    stock, price = float(economy.stock[0, 0]), float(economy.price[0, 0])
    good = economy.goods[0]
    before = world.systems["npc"].faction_standing.copy()
    skipped = apply_effects(world, [StockEffect("Millbrook", good, 7.0), PriceEffect("Millbrook", good, 1.5),
                                    RelationEffect(a, b, 0.3, 0.2), FactionEffect("villagers", "bandits", 0.2),
                                    StockEffect("Atlantis", good, 1.0), PriceEffect("Millbrook", good, -1.0)])
    assert economy.stock[0, 0] == pytest.approx(stock + 7.0) and economy.price[0, 0] == pytest.approx(price * 1.5)
    assert any(r["other"] == b and r["affinity"] > 0.25 for r in world.systems["npc"].inspect(a)["relations"])
    assert (world.systems["npc"].faction_standing != before).any()
    assert len(skipped) == 2 and "Atlantis" in skipped[0]


SCRIPT = """
import json, sys
from narrative.facts import facts_from_world
from narrative.ledger import QuestLedger
from narrative.quests import QuestGenerator
from narrative.sifting import Sifter
from narrative.yarn import quest_to_yarn
from worldsim import World, load_scenario
name, seed = sys.argv[1], int(sys.argv[2])
world = World.from_scenario(load_scenario(name, {"physics.enabled": False}), seed=seed)
sifter, generator = Sifter.from_directory(), QuestGenerator(seed=seed)
ledger = QuestLedger(generator, max_offers=100)
ledger.set_avatar("p", world.spawn_player((0.0, 0.0)))
for _ in range(3):
    for _ in range(40):
        world.step()
    facts = facts_from_world(world)
    found = sifter.feed(world.drain_events(), facts) + sifter.scan(facts)
    for q in generator.generate(facts, found, count=8):
        ledger.offer("p", q, facts)
        ledger.accept("p", q.id, facts)
    ledger.update([], facts)
print(json.dumps(ledger.to_dict(), sort_keys=True))
print(quest_to_yarn(ledger.quests("p")[0]))
"""


def _run(name: str, seed: int, hash_seed: str) -> bytes:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    return subprocess.run([sys.executable, "-c", SCRIPT, name, str(seed)], cwd=ROOT, env=env, check=True,
                          capture_output=True, timeout=300).stdout


def test_quests_are_byte_identical_across_processes() -> None:
    first = _run("town", 4, "1")
    assert first == _run("town", 4, "987")
    assert first != _run("town", 5, "1")
    data = json.loads(first.splitlines()[0])
    assert len(data["players"]["p"]) == 24


def test_fast_quest_quality_benchmark_meets_the_targets() -> None:
    out = subprocess.run([sys.executable, "benchmarks/quest_quality.py", "--quests", "300", "--worlds", "2",
                          "--warmup", "60", "--rounds", "2", "--round-ticks", "60", "--json"],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    assert figures["quests"] == 300
    assert figures["dangling_at_offer"] == 0 and figures["dangling_open_after_updates"] == 0
    assert figures["motivations_produced"] == 9
    assert figures["pair_variety"] >= 0.8
    assert "targets met" in out.stdout



def test_quest_board_offers_and_answers_rpcs_on_a_live_world() -> None:
    from narrative.errors import NarrativeError, QuestNotFoundError, QuestStepError
    from narrative.quest_board import QuestBoard

    world = town(ticks=0)
    board = QuestBoard(seed=world.seed, every_ticks=20, offers_per_player=3)
    avatar = world.spawn_player((0.0, 0.0))
    board.add_player("alice", avatar)
    updates = []
    for _ in range(40):
        world.step()
        updates += board.on_tick(world, world.drain_events())
    offered = [u for u in updates if u.change == "offered"]
    assert len(offered) == 3 and all(u.player == "alice" and u.line for u in offered)
    listed = board.rpc(world, "alice", "list", None)["quests"]
    assert [q["status"] for q in listed] == ["offered"] * 3 and all(q["title"] for q in listed)
    quest = listed[0]["id"]
    assert board.rpc(world, "alice", "accept", {"quest": quest})["updates"][-1]["change"] == "accepted"
    with pytest.raises(QuestStepError):
        board.rpc(world, "alice", "turn_in", {"quest": quest})
    while board.ledger.get("alice", quest).current["kind"] == "step":
        board.rpc(world, "alice", "progress", {"quest": quest})
    giver = board.ledger.get("alice", quest).giver
    done = board.rpc(world, "alice", "turn_in", {"quest": quest})["updates"][-1]
    assert done["change"] == "completed" and done["effects"][0]["type"] == "relation"
    relations = world.systems["npc"].inspect(giver)["relations"]
    assert any(r["other"] == avatar and r["affinity"] > 0 for r in relations)
    with pytest.raises(QuestNotFoundError):
        board.rpc(world, "bob", "accept", {"quest": quest})
    for method, params in (("fly", {"quest": quest}), ("accept", {"quest": 3}), ("accept", [quest])):
        with pytest.raises(NarrativeError):
            board.rpc(world, "alice", method, params)
    for _ in range(20):
        world.step()
        board.on_tick(world, world.drain_events())
    assert len(board.ledger.quests("alice", "offered")) == 3  # topped up again
    again = QuestBoard(seed=world.seed)
    again.load_dict(board.to_dict())
    assert again.to_dict() == board.to_dict()
