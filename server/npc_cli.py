"""``worldloom npc``: run a scenario headless for a while, then list its NPCs or inspect one.

The same ``NpcSystem.summary()`` / ``inspect()`` the ``npc.summary`` / ``npc.inspect`` RPCs and the web viewer
use, printed for a terminal (or as JSON with ``--json``)::

    worldloom npc town --ticks 1500                 # who lives here and what they are doing
    worldloom npc town --ticks 1500 --name Rynloum  # one NPC: needs, action and why, memories, relations
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from tqdm import tqdm

from worldsim import World, load_scenario


def add_parser(sub: Any) -> None:
    p = sub.add_parser("npc", help="run a scenario headless, then list its NPCs or inspect one")
    p.add_argument("scenario", nargs="?", default="town", help="scenario file or bundled name (default town)")
    p.add_argument("--ticks", type=int, default=600, help="ticks to run first (default %(default)s)")
    p.add_argument("--seed", type=int, default=None, help="world seed (default: the scenario's)")
    who = p.add_mutually_exclusive_group()
    who.add_argument("--id", type=int, help="inspect the NPC with this entity id")
    who.add_argument("--name", help="inspect the NPC with this name")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.ticks < 0:
        print("worldloom npc: --ticks must be >= 0", file=sys.stderr)
        return 2
    world = World.from_scenario(load_scenario(args.scenario), seed=args.seed)
    npc = world.systems.get("npc")
    if npc is None:
        print(f"worldloom npc: scenario {args.scenario!r} has no NPCs (add a [systems.npc] table)", file=sys.stderr)
        return 2
    for _ in tqdm(range(args.ticks), desc=f"{args.scenario}: simulating", unit="tick", leave=False):
        world.step()
        world.drain_events()
    if args.id is None and args.name is None:
        rows = _listing(world, npc)
        print(json.dumps(rows, indent=1) if args.json else _table(world, rows))
        return 0
    entity = args.id
    if args.name is not None:
        matches = [int(i) for i in npc.ids() if npc.name_of(int(i)) == args.name]
        if not matches:
            names = ", ".join(sorted(npc.name_of(int(i)) for i in npc.ids()))
            print(f"worldloom npc: nobody called {args.name!r} lives here; try one of: {names}", file=sys.stderr)
            return 2
        entity = matches[0]
    if not npc.alive(entity):
        print(f"worldloom npc: {entity} is not a live NPC (list them without --id)", file=sys.stderr)
        return 2
    view = npc.inspect(entity, world)
    print(json.dumps(view, indent=1) if args.json else _describe(view))
    return 0


def _listing(world: World, npc: Any) -> list[dict[str, Any]]:
    s = npc.summary()
    return [{"id": i, "name": npc.name_of(i), "role": s["role_names"][r], "action": s["action_names"][a] if a >= 0
             else "", "faction": s["faction_names"][f]}
            for i, r, a, f in zip(s["ids"], s["role"], s["action"], s["faction"], strict=True)]


def _table(world: World, rows: list[dict[str, Any]]) -> str:
    hour = world.climate.hour(world.seconds)
    lines = [f"{len(rows)} NPCs at tick {world.tick} (in-game {int(hour):02d}:{int(hour % 1 * 60):02d})",
             f"{'id':>9}  {'name':<14} {'role':<11} {'doing':<10} faction"]
    lines += [f"{r['id']:>9}  {r['name']:<14} {r['role']:<11} {r['action']:<10} {r['faction']}" for r in rows]
    return "\n".join(lines)


def _describe(v: dict[str, Any]) -> str:
    out = [f"{v['name']} (id {v['id']}), {v['role']} of {v['town'] or 'nowhere'}, faction {v['faction']}",
           f"  at ({v['pos'][0]:.1f}, {v['pos'][1]:.1f}) m, health {v['health']:.0f}, coins {v['coins']:.1f}, "
           f"carrying {v['carry'] or 'nothing'}",
           "  needs: " + ", ".join(f"{k} {val:.2f}" for k, val in v["needs"].items()),
           f"  doing: {v['action']['name']} (score {v['action']['score']:.3f}, since tick {v['action']['since_tick']})",
           "  why (every action it may choose, best first):"]
    for s in sorted(v["scores"], key=lambda s: -s["score"]):
        parts = ", ".join(f"{c['input']}={c['value']:.2f}->{c['score']:.2f}" for c in s["considerations"])
        out.append(f"    {s['action']:<10} {s['score']:.3f}  [{parts}]")
    out.append(f"  memories ({len(v['memories'])}):")
    out += [f"    {m['kind']:<8} about {m['subject']} salience {m['salience']:.2f}, {m['hops']} hops, tick {m['tick']}"
            for m in v["memories"]]
    out.append(f"  relations ({len(v['relations'])}):")
    out += [f"    {r.get('name') or r['other']:<14} affinity {r['affinity']:+.2f} trust {r['trust']:.2f}"
            for r in sorted(v["relations"], key=lambda r: -r["affinity"])]
    return "\n".join(out)
