"""The NPC system in a real world: the town scenario check, determinism, saves, inspection, bad settings."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from npc.errors import NpcInputError
from npc.memory import MemoryKind
from worldsim.errors import ScenarioError
from worldsim.scenario import load_scenario
from worldsim.world import World

ROOT = Path(__file__).resolve().parents[1]
TICKS_PER_DAY = 3000  # town: 600 s days at 5 Hz


def town(**overrides: object) -> World:
    return World.from_scenario(load_scenario("town", overrides=overrides or None))


TOWN_RUN = textwrap.dedent("""
    import json, sys, time
    from worldsim.scenario import load_scenario
    from worldsim.world import World
    world = World.from_scenario(load_scenario("town"))
    world.step()  # compile and first decisions outside the clock
    npc = world.systems["npc"]
    curve = []
    start = time.process_time()
    for tick in range(2, 2 * TICKS_PER_DAY + 1):
        world.step()
        if tick % 150 == 0:
            curve.append([tick, npc.rumour_reach(), npc.social_density()])
        world.drain_events()
    cpu = time.process_time() - start
    print(json.dumps({"hash": world.world_hash(), "curve": curve, "cpu": cpu}))
""").replace("TICKS_PER_DAY", str(TICKS_PER_DAY))


def run_town_in_subprocess() -> dict:
    out = subprocess.run([sys.executable, "-c", TOWN_RUN], capture_output=True, text=True, cwd=ROOT, timeout=600,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def town_runs() -> list[dict]:
    return [run_town_in_subprocess(), run_town_in_subprocess()]


def test_town_scenario_check(town_runs: list[dict]) -> None:
    """25 NPCs, two in-game days, one seeded rumour: it reaches 30-55 % of the town and the relationship
    graph's density at least triples from day one to day two. (CPU time is printed, never asserted.)"""
    run = town_runs[0]
    curve = {tick: (reach, density) for tick, reach, density in run["curve"]}
    reach_end = curve[2 * TICKS_PER_DAY][0]
    density_day1 = curve[TICKS_PER_DAY][1]
    density_day2 = curve[2 * TICKS_PER_DAY][1]
    print(f"\ntown: rumour reach {reach_end:.2f}, density day 1 {density_day1:.3f} -> day 2 {density_day2:.3f}, "
          f"CPU {run['cpu']:.2f} s for {2 * TICKS_PER_DAY} ticks (reported for the issue's < 1 s check; not asserted)")
    assert 0.30 <= reach_end <= 0.55
    assert density_day1 > 0
    assert density_day2 >= 3 * density_day1


def test_town_is_reproducible_across_processes(town_runs: list[dict]) -> None:
    a, b = town_runs
    assert a["hash"] == b["hash"]
    assert a["curve"] == b["curve"]


def test_town_hash_matches_in_process(town_runs: list[dict]) -> None:
    world = town()
    for _ in range(2 * TICKS_PER_DAY):
        world.step()
        world.drain_events()
    assert world.world_hash() == town_runs[0]["hash"]


def test_save_mid_run_continues_identically(tmp_path: Path) -> None:
    world = town()
    for _ in range(1500):
        world.step()
    path = tmp_path / "town.save"
    world.save(path)
    for _ in range(700):
        world.step()
    expected = world.world_hash()
    code = textwrap.dedent(f"""
        import npc.system  # noqa: F401  (imported lazily by the world anyway)
        from worldsim.world import World
        world = World.load({str(path)!r})
        for _ in range(700):
            world.step()
        print(world.world_hash())
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300,
                         check=True)
    assert out.stdout.strip().splitlines()[-1] == expected


def test_corrupt_npc_arrays_refuse_the_save(tmp_path: Path) -> None:
    from worldsim import saves
    from worldsim.errors import SaveError

    world = town()
    world.step()
    record = saves.unpack(world.to_bytes(), "<test>")
    systems = [c for c in record.systems if c.name != "systems.npc.needs"]
    broken = saves.pack(saves.WorldRecord(**{**{f: getattr(record, f) for f in record.__struct_fields__},
                                             "systems": systems}))
    with pytest.raises(SaveError, match="needs"):
        World.from_bytes(broken)


def test_inspect_shows_real_state() -> None:
    world = town()
    for _ in range(300):
        world.step()
    npc = world.systems["npc"]
    ids = npc.ids()
    assert len(ids) == 25
    view = npc.inspect(int(ids[0]), world)
    assert view["id"] == int(ids[0]) and view["name"] and view["role"] in npc.role_names
    assert set(view["needs"]) == set(npc.need_names)
    assert all(0.0 <= v <= 1.0 for v in view["needs"].values())
    assert view["action"]["name"] in npc.action_names
    chosen = [s for s in view["scores"] if s["action"] == view["action"]["name"]]
    assert chosen and chosen[0]["considerations"]
    assert max(s["score"] for s in view["scores"]) > 0
    json.dumps(view)  # plain data, ready for msgpack/JSON
    with pytest.raises(NpcInputError):
        npc.inspect(999_999, world)
    with pytest.raises(NpcInputError):
        npc.inspect("3", world)  # type: ignore[arg-type]


def test_npcs_live_a_day() -> None:
    """Over one day people sleep, eat, work, sell and meet; coins move through the market."""
    world = town()
    seen: set[str] = set()
    kinds: set[str] = set()
    npc = world.systems["npc"]
    for tick in range(TICKS_PER_DAY):
        world.step()
        if tick % 25 == 0:
            seen.update(npc.action_names[a] for a in npc.action[npc.action >= 0])
        kinds.update(e.kind for e in world.drain_events())
    assert {"sleep", "eat", "work", "sell", "socialise", "patrol"} <= seen
    assert "market.trade" in kinds
    m = world.metrics()
    assert m["npc.meetings"] > 50
    assert 0 < m["npc.need.hunger"] <= 1


def test_witnessed_theft_is_remembered_and_resented() -> None:
    world = town()
    world.step()
    npc = world.systems["npc"]
    thief = int(np.flatnonzero(npc.hostile)[0])
    victim = int(np.flatnonzero(~npc.hostile)[0])
    witness = int(np.flatnonzero(~npc.hostile)[1])
    t = world.entities
    for row, xy in ((thief, (10.0, 10.0)), (victim, (11.0, 10.0)), (witness, (14.0, 10.0))):
        t.pos[npc.table_row[row], :2] = xy
    xy = np.ascontiguousarray(t.pos[npc.table_row, :2])
    alive = npc.dead_since < 0
    npc._perceive(world, xy, alive)
    npc._threat_kind[thief], npc._threat_ref[thief], npc._threat_dist[thief] = 1, victim, 1.0
    steal = npc.design.action_index("steal")
    npc.action[thief] = steal
    verbs = npc.design.verb[np.maximum(npc.action, 0)].astype(np.int64)
    before = npc.coins[victim]
    npc._steal(world, world.tick, verbs, xy, alive)
    assert npc.coins[victim] < before
    events = [e for e in world.drain_events() if e.kind.startswith("npc.")]
    assert any(e.kind == "npc.stole" and e.data["victim"] == int(npc.entity[victim]) for e in events)
    assert any(e.kind == "npc.witnessed" for e in events)
    crimes = [m for m in npc.memory.recall(witness) if m["kind"] == MemoryKind.CRIME.name.lower()]
    assert crimes and crimes[0]["subject"] == int(npc.entity[thief])
    affinity, _trust = npc.relations.get(witness, int(npc.entity[thief]))
    assert affinity < 0


def test_an_npc_removed_by_someone_else_dies_and_returns_later() -> None:
    world = town()
    world.step()
    npc = world.systems["npc"]
    victim = int(npc.ids()[3])
    world.despawn(victim)
    world.step()
    kinds = [(e.kind, e.entity, e.data.get("cause")) for e in world.drain_events()]
    assert ("npc.died", victim, "removed") in kinds
    assert not npc.alive(victim)
    assert world.metrics()["npc.alive"] == 24
    row = int(np.flatnonzero(npc.entity == victim)[0])
    for _ in range(TICKS_PER_DAY // 2 + 5):  # 12 in-game hours
        world.step()
    assert npc.dead_since[row] < 0 and npc.entity[row] != victim  # the row is back as a newcomer
    arrived = [e for e in world.drain_events() if e.kind == "npc.arrived"]
    assert any(e.entity == npc.entity[row] and e.data["name"] == npc.names[row] for e in arrived)


def test_director_knobs_are_bounded_and_saved() -> None:
    world = town()
    npc = world.systems["npc"]
    npc.set_hostility(2.0, 0.9)
    again = World.from_bytes(world.to_bytes())
    assert again.systems["npc"].aggression == 2.0 and again.systems["npc"].accuracy == 0.9
    for bad in ((-1.0, 0.5), (1.0, 1.5), (float("nan"), 0.5)):
        with pytest.raises(NpcInputError):
            npc.set_hostility(*bad)


def test_social_graph_mirror() -> None:
    world = town()
    for _ in range(TICKS_PER_DAY):
        world.step()
    npc = world.systems["npc"]
    graph = npc.social_graph(threshold=0.1)
    assert set(graph.nodes) == set(npc.ids().tolist())
    assert graph.number_of_edges() > 0
    node = next(iter(graph.nodes))
    assert graph.nodes[node]["name"] == npc.name_of(node)


@pytest.mark.parametrize(("override", "key"), [
    ({"systems.npc.unknown": 1}, "systems.npc.unknown"),
    ({"systems.npc.towns.Nowhere": {"farmer": 1}}, "systems.npc.towns.Nowhere"),
    ({"systems.npc.towns.Millbrook": {"wizard": 2}}, "systems.npc.towns.Millbrook.wizard"),
    ({"systems.npc.talk_radius": -1}, "systems.npc.talk_radius"),
    ({"systems.npc.design": "no-such-design"}, "systems.npc.design"),
    ({"systems.npc.rumours": [{"town": "Elsewhere"}]}, "systems.npc.rumours[0].town"),
    ({"systems.nosuch": {}}, "systems.nosuch"),
])
def test_bad_settings_name_the_key(override: dict, key: str) -> None:
    with pytest.raises(ScenarioError) as info:
        town(**override)
    assert info.value.key == key


def test_worldloom_npc_lists_and_inspects() -> None:
    exe = [sys.executable, "-m", "server.cli", "npc", "town", "--ticks", "200"]
    listing = subprocess.run(exe + ["--json"], capture_output=True, text=True, cwd=ROOT, timeout=300, check=True)
    rows = json.loads(listing.stdout)
    assert len(rows) == 25 and {"id", "name", "role", "action"} <= set(rows[0])
    one = subprocess.run(exe + ["--name", rows[0]["name"]], capture_output=True, text=True, cwd=ROOT, timeout=300,
                         check=True)
    assert rows[0]["name"] in one.stdout and "why (every action" in one.stdout
    bad = subprocess.run(exe + ["--name", "Nobody"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert bad.returncode == 2 and "nobody called 'Nobody'" in bad.stderr


def test_predators_bite_players_standing_next_to_them() -> None:
    """Fauna threatens players as hostile NPCs do: a wolf at a player's side bites (accuracy is the director's knob)."""
    world = World.from_scenario(load_scenario("meadow", overrides={"physics.enabled": False}))
    npc = world.systems["npc"]
    npc.set_hostility(1.0, 1.0)
    wolf = int(world.kind_view(3)[0][world.entities.species[world.entities.rows_of(world.kind_view(3)[0])]
                                    == list(world.scenario.species).index("wolf")][0])
    x, y, _ = world.positions_of([wolf])[0]
    player = world.spawn_player((x, y))
    bites = []
    for _ in range(8):
        world.entities.pos[world.entities.row_of(player), :2] = world.positions_of([wolf])[0, :2]  # keep close
        world.step()
        bites += [e for e in world.drain_events() if e.kind == "creature.attacked" and e.data["target"] == player]
        if bites:
            break
    assert bites and bites[0].entity == wolf and bites[0].data["health"] < 100
    assert "creature.attacked" in world.event_kinds()
