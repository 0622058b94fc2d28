"""Quest quality over generated quests from varied, seeded, real worlds (issue #5).

Builds real worlds (``World.from_scenario`` of the bundled scenarios, different seeds, physics off so the
run is about quests), steps each a little so events exist, sifts the events for situations, generates
quests from the situations and from the world's facts, offers them to a bot player and plays the world on
so quests must follow it. Prints:

- quests generated, per motivation; (motivation, strategy) pairs produced / possible (target >= 80%);
- references to dead or missing entities at offer time, checked against the world's own entity table,
  not only the facts (target 0);
- after the world moved on: quests that branched, were re-bound, failed or were withdrawn, and any open
  quest still pointing at a dead entity (must be 0);
- situations found per pattern; generation time per quest.

    .venv/bin/python benchmarks/quest_quality.py                 # 1,000 quests
    .venv/bin/python benchmarks/quest_quality.py --quests 200 --worlds 3 --json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tqdm import tqdm  # noqa: E402

from narrative.facts import facts_from_world  # noqa: E402
from narrative.ledger import QuestLedger  # noqa: E402
from narrative.quest_taxonomy import ENTITY_KINDS, MOTIVATIONS  # noqa: E402
from narrative.quests import QuestGenerator  # noqa: E402
from narrative.sifting import Sifter  # noqa: E402
from worldsim import SCENARIO_DIR, StaleEntityError, World, load_scenario  # noqa: E402


@dataclass
class Args:
    """quests: total to generate. worlds: distinct seeded worlds. warmup: ticks stepped before the first
    quests. rounds: generate/step rounds per world. round_ticks: ticks stepped between rounds.
    seed: base seed (world i uses seed + i). json: print one JSON line of the figures at the end."""

    quests: int = 1000
    worlds: int = 10
    warmup: int = 200
    rounds: int = 4
    round_ticks: int = 100
    seed: int = 1
    json: bool = False


def parse(argv: list[str] | None = None) -> Args:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for name, value in vars(Args()).items():
        if isinstance(value, bool):
            p.add_argument(f"--{name}", action="store_true")
        else:
            p.add_argument(f"--{name.replace('_', '-')}", dest=name, type=type(value), default=value)
    return Args(**vars(p.parse_args(argv)))


def scenarios() -> list[str]:
    """Bundled scenarios with settlements (quests need towns), preferring those with an NPC system."""
    names = [n for n in ("town", "meadow") if (SCENARIO_DIR / f"{n}.toml").exists()]
    return names or ["meadow"]


def live_in_world(world: World, entity: int) -> bool:
    try:
        world.entities.row_of(int(entity))
        return True
    except StaleEntityError:
        return False


def run(args: Args) -> dict[str, object]:
    names = scenarios()
    per_world = -(-args.quests // args.worlds)
    per_round = -(-per_world // args.rounds)
    motivations: Counter[str] = Counter()
    pairs: set[tuple[str, str]] = set()
    situations: Counter[str] = Counter()
    changes: Counter[str] = Counter()
    dangling_offer = dangling_open = made = 0
    gen_seconds = 0.0
    possible: list[tuple[str, str]] = []
    bar = tqdm(total=args.quests, desc="quests", unit="quest")
    for w in range(args.worlds):
        name = names[w % len(names)]
        world = World.from_scenario(load_scenario(name, {"physics.enabled": False}), seed=args.seed + w)
        sifter = Sifter.from_directory()
        generator = QuestGenerator(seed=args.seed * 1000 + w)
        possible = generator.taxonomy.pairs()
        ledger = QuestLedger(generator, max_offers=10**6)
        player = "bot"
        ledger.set_avatar(player, world.spawn_player((0.0, 0.0)))
        for _ in range(args.warmup):
            world.step()
        events = world.drain_events()
        for r in range(args.rounds):
            want = min(per_round, per_world - r * per_round, args.quests - made)
            if want <= 0:
                break
            facts = facts_from_world(world)
            found = sifter.feed(events, facts) + sifter.scan(facts)
            situations.update(s.pattern for s in found)
            t0 = time.perf_counter()
            quests = generator.generate(facts, found[:want], count=want)
            gen_seconds += time.perf_counter() - t0
            for q in quests:
                bad = [s for s in q.needed_slots() if q.bindings[s].kind in ENTITY_KINDS
                       and not live_in_world(world, q.bindings[s].value)] + q.dangling(facts)
                dangling_offer += bool(bad)
                motivations[q.motivation] += 1
                pairs.add((q.motivation, q.strategy.name))
                for update in ledger.offer(player, q, facts):
                    changes[update.change] += 1
                if q.status == "offered" and int(q.seed) % 2 == 0:
                    for update in ledger.accept(player, q.id, facts):
                        changes[update.change] += 1
            made += len(quests)
            bar.update(len(quests))
            for _ in range(args.round_ticks):
                world.step()
            events = world.drain_events()
            facts = facts_from_world(world)
            for update in ledger.update(events, facts):
                changes[update.change] += 1
            for q in ledger.quests(player):
                if q.status in ("offered", "active"):
                    dangling_open += bool([s for s in q.needed_slots() if q.bindings.get(s) is not None
                                           and q.bindings[s].kind in ENTITY_KINDS
                                           and not live_in_world(world, q.bindings[s].value)])
    bar.close()
    return {
        "quests": made, "worlds": args.worlds, "scenarios": names,
        "motivations": {m: motivations.get(m, 0) for m in MOTIVATIONS},
        "motivations_produced": sum(1 for m in MOTIVATIONS if motivations.get(m)),
        "pairs_produced": len(pairs), "pairs_possible": len(possible),
        "pair_variety": len(pairs) / max(len(possible), 1),
        "missing_pairs": sorted(f"{m}.{s}" for m, s in set(possible) - pairs),
        "dangling_at_offer": dangling_offer, "dangling_open_after_updates": dangling_open,
        "changes": dict(sorted(changes.items())), "situations": dict(sorted(situations.items())),
        "ms_per_quest": 1000 * gen_seconds / max(made, 1),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    r = run(args)
    print(f"scenarios: {', '.join(r['scenarios'])} x {r['worlds']} seeded worlds")
    print(f"quests generated:            {r['quests']}")
    print(f"motivations produced:        {r['motivations_produced']}/9   (target 9)")
    for m, n in r["motivations"].items():
        print(f"    {m:<11} {n}")
    print(f"(motivation, strategy) pairs: {r['pairs_produced']}/{r['pairs_possible']} = "
          f"{100 * r['pair_variety']:.1f}%   (target >= 80%)")
    if r["missing_pairs"]:
        print(f"    not produced: {', '.join(r['missing_pairs'])}")
    print(f"dead/missing refs at offer:  {r['dangling_at_offer']}   (target 0)")
    print(f"dead refs in open quests after the world moved on: {r['dangling_open_after_updates']}   (target 0)")
    print(f"quest changes:               {r['changes']}")
    print(f"situations sifted:           {r['situations']}")
    print(f"generation:                  {r['ms_per_quest']:.2f} ms per quest")
    ok = r["motivations_produced"] == 9 and r["pair_variety"] >= 0.8 and r["dangling_at_offer"] == 0 \
        and r["dangling_open_after_updates"] == 0
    print("targets met" if ok else "TARGETS NOT MET")
    if args.json:
        print(json.dumps(r))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
