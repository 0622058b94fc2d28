"""Invariant 1 through the real server: the command log of a networked run, replayed headless in a separate
process from the same seed, reaches the same world hash — with or without clients."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import protocol as p
from server.testing import boot

from .wire import Peer

REPLAY = r"""
import json, sys
from worldsim import World, load_scenario
spec = json.load(sys.stdin)
if spec.get("scenario"):
    scenario = load_scenario(spec["scenario"], overrides={"world.tick_rate": spec["tick_rate"]})
    world = World.from_scenario(scenario, seed=spec["seed"], npc_count=spec["npc_count"])
else:
    world = World(seed=spec["seed"], half_extent=spec["half_extent"], npc_count=spec["npc_count"])
by_tick = {}
for tick, op, entity, *args in spec["log"]:
    by_tick.setdefault(tick, []).append((op, entity, args))
while world.tick < spec["tick"]:
    for op, entity, args in by_tick.get(world.tick, []):
        if op == "spawn":
            assert world.spawn_player() == entity, "spawn ids diverged"
        elif op == "despawn":
            world.despawn(entity)
        elif op == "throw":
            world.throw_from(entity, *args)
        else:
            world.apply_input(entity, *args)
    world.step(1.0 / spec["tick_rate"])
print(world.world_hash())
"""


def test_networked_run_replays_to_same_hash_in_another_process() -> None:
    async def scenario() -> dict:
        async with boot(npc_count=30, half_extent=40.0, record_commands=True, seed=7) as srv:
            a, b = await Peer.open(srv.url), await Peer.open(srv.url)
            await a.hello()
            await b.hello()
            for i in range(20):
                await a.move(1.0, 0.5 - (i % 3) * 0.5)
                await b.move(-0.25 * (i % 4), 1.0)
                await asyncio.sleep(0.01)
            await b.send(p.Bye())
            await srv.wait_for_ticks(3)
            srv.server.request_stop()
            await srv.server._loop_task  # the tick loop has stopped: the world is frozen
            cfg, world = srv.server.config, srv.server.world
            return {"seed": cfg.seed, "half_extent": cfg.half_extent, "npc_count": cfg.npc_count,
                    "tick_rate": cfg.tick_rate, "tick": world.tick, "hash": world.world_hash(),
                    "log": srv.server.room.command_log}

    spec = asyncio.run(scenario())
    assert any(op == "input" for _, op, *_ in spec["log"])
    child = subprocess.run([sys.executable, "-c", REPLAY], input=json.dumps(spec), capture_output=True,
                           text=True, timeout=120, check=True)
    assert child.stdout.strip() == spec["hash"]


def test_a_living_world_with_throws_replays_to_same_hash_in_another_process(tmp_path) -> None:  # noqa: ANN001
    """The same through a scenario world: ecology, markets, weather, physics and two players' throws."""
    from pathlib import Path

    scenario_path = tmp_path / "small.toml"
    text = (Path(__file__).resolve().parents[1] / "worldsim/scenarios/meadow.toml").read_text()
    scenario_path.write_text(text.replace("count = 900", "count = 150").replace("count = 90", "count = 15")
                             .replace("wanderers = 150", "wanderers = 10").replace("crates = 24", "crates = 4"))

    async def scenario() -> dict:
        async with boot(scenario=str(scenario_path), npc_count=5, record_commands=True, seed=11) as srv:
            a, b = await Peer.open(srv.url), await Peer.open(srv.url)
            await a.hello()
            await b.hello()
            for i in range(24):
                await a.send(p.Input(seq=i + 1, tick=0, move=(1.0, -0.5), buttons=1 if i % 6 == 0 else 0))
                await b.send(p.Input(seq=i + 1, tick=0, move=(-0.5, 1.0), buttons=1 if i % 8 == 3 else 0))
                await asyncio.sleep(0.02)
            await srv.wait_for_ticks(3)
            srv.server.request_stop()
            await srv.server._loop_task
            cfg, world = srv.server.config, srv.server.world
            return {"scenario": str(scenario_path), "seed": cfg.seed, "half_extent": cfg.half_extent,
                    "npc_count": cfg.npc_count, "tick_rate": cfg.tick_rate, "tick": world.tick,
                    "hash": world.world_hash(), "log": srv.server.room.command_log}

    spec = asyncio.run(scenario())
    assert sum(op == "throw" for _, op, *_ in spec["log"]) >= 2
    child = subprocess.run([sys.executable, "-c", REPLAY], input=json.dumps(spec), capture_output=True,
                           text=True, timeout=120, check=True)
    assert child.stdout.strip() == spec["hash"]
