"""The narrative system in a real world (director encounters, saves, bad settings) and quests over the wire."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from worldloom_client import WorldloomClient

from server.testing import boot
from worldsim.errors import ScenarioError
from worldsim.scenario import load_scenario
from worldsim.world import World

ROOT = Path(__file__).resolve().parents[1]


def town_with_player_at_the_camp() -> tuple[World, int]:
    world = World.from_scenario(load_scenario("town"))
    npc = world.systems["npc"]
    bandit = int(np.flatnonzero(npc.hostile)[0])
    player = world.spawn_player(tuple(npc.home[bandit] + 3.0))
    return world, player


def test_encounters_feed_the_director_and_everything_is_logged() -> None:
    world, player = town_with_player_at_the_camp()
    kinds: dict[str, int] = {}
    for _ in range(1500):
        world.step()
        for e in world.drain_events():
            kinds[e.kind] = kinds.get(e.kind, 0) + 1
            if e.kind == "director.difficulty":
                assert e.entity == player and e.data["reason"]
                assert abs(e.data["new"] - e.data["old"]) <= 0.75 + 1e-9  # the preset's bounded step
    assert kinds.get("director.encounter", 0) >= 1
    assert kinds.get("director.difficulty", 0) >= 1
    assert set(kinds) <= set(world.event_kinds())
    m = world.metrics()
    assert m["director.players"] == 1
    assert m["director.encounters_won"] + m["director.encounters_lost"] >= 1
    state = world.systems["narrative"].director_state()
    assert state["players"][0]["id"] == player and state["players"][0]["intensity"]


def test_director_state_survives_a_save_in_another_process(tmp_path: Path) -> None:
    world, _ = town_with_player_at_the_camp()
    for _ in range(400):
        world.step()
    path = tmp_path / "town.save"
    world.save(path)
    for _ in range(300):
        world.step()
    code = textwrap.dedent(f"""
        from worldsim.world import World
        world = World.load({str(path)!r})
        for _ in range(300):
            world.step()
        print(world.world_hash())
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300,
                         check=True)
    assert out.stdout.strip().splitlines()[-1] == world.world_hash()


@pytest.mark.parametrize(("override", "key"), [
    ({"systems.narrative.preset": "no-such-preset"}, "systems.narrative.preset"),
    ({"systems.narrative.pacing": 1}, "systems.narrative.pacing"),
    ({"systems.narrative.rate": -2}, "systems.narrative.rate"),
])
def test_bad_narrative_settings_name_the_key(override: dict, key: str) -> None:
    with pytest.raises(ScenarioError) as info:
        World.from_scenario(load_scenario("town", overrides=override))
    assert info.value.key == key


def test_a_player_is_offered_quests_and_accepts_one_over_the_protocol() -> None:
    async def scenario() -> None:
        updates: list = []
        async with boot(scenario="town", npc_count=0) as srv:
            async with WorldloomClient(srv.url, name="questing",
                                       on_event=lambda e: updates.append(e) if e.kind == "quest.update" else None) as c:
                for _ in range(200):
                    if any(u.data.get("status") == "offered" for u in updates):
                        break
                    await asyncio.sleep(0.05)
                listed = await c.call("quest.list")
                offered = [q for q in listed["quests"] if q["status"] == "offered"]
                assert offered, (updates, listed)
                quest = offered[0]
                assert quest["title"] and quest["giver_name"] and quest["motivation"]
                answer = await c.call("quest.accept", {"quest": quest["id"]})
                assert answer["updates"] and answer["updates"][0]["status"] == "active"
                from analytics.taxonomy import KIND_CODE

                queued = [(row[1], row[3], row[4]) for row in srv.server.analytics._rows]  # awaiting a service
                assert ("questing", KIND_CODE["quest_start"], quest["id"]) in queued
                with pytest.raises(Exception) as err:
                    await c.call("quest.accept", {"quest": "no-such-quest"})
                assert getattr(err.value, "code", None) == 2  # INVALID, and the session carries on
                assert (await c.call("room.info"))["tick"] > 0
                async with WorldloomClient(srv.url, role="spectator") as spectator:  # the viewer's panel
                    everyone = await spectator.call("quest.list")
                    assert any(q["id"] == quest["id"] and q["state"] == "active" for q in everyone["quests"])

    asyncio.run(scenario())
