"""Quest generation grounded in the world: pick a motivation, a giver and a strategy, bind every slot to a
live world fact, build the quest graph and its text -- all from one seeded generator.

How a quest is made (``QuestGenerator.generate``):
1. A situation found by the sifter (a feud, a hungry village, a predator at the gate...) suggests
   motivations and pre-fills slots (``slots`` in its pattern file); without one, the motivation is drawn
   uniformly so every motivation appears.
2. The giver is the situation's bound NPC if alive, else an NPC drawn from the living ones.
3. The motivation's strategies are tried in a seeded order; the first whose slots all resolve wins. Each
   slot kind has a resolver over ``WorldFacts`` (``SLOT_RESOLVERS``): a threat is a creature of a hunting
   species near the giver's home, a good is what home is short of, an enemy is an NPC of a rival faction,
   a culprit someone the giver resents (or the situation's thief)... A slot that cannot be bound to
   something that exists makes that strategy infeasible -- never a dangling reference.
4. Text comes from ``text.TextBank`` with the slots' labels as variables.

Determinism: quest ``n`` of a generator with seed ``s`` draws from ``Generator(PCG64(SeedSequence([s, n])))``,
and every candidate list is in a fixed order (ids ascending, scenario order), so the same seed and facts
give the same quests in any process.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .facts import NpcFact, WorldFacts
from .quest_effects import Effect, FactionEffect, PriceEffect, RelationEffect, StockEffect
from .quest_graph import REBIND_RADIUS, Binding, Quest, build_graph
from .quest_taxonomy import MOTIVATIONS, SLOT_KINDS, EffectSpec, Strategy, Taxonomy, load_taxonomy
from .sifting import Situation
from .text import TextBank, load_text

THREAT_RADIUS = 80.0
"""Metres around a giver's home within which a hunting creature counts as a threat (pests likewise)."""
GIVER_TRIES = 4
"""Givers tried (the situation's, then random ones) before a quest is given up."""
DANGER_RADIUS = 40.0
"""Metres around a resource node within which hunters make it a dangerous place."""


@dataclass
class SlotContext:
    """What a resolver sees: the facts, the giver, the bindings made so far and the quest's generator."""

    facts: WorldFacts
    giver: NpcFact
    bindings: dict[str, Binding]
    rng: np.random.Generator

    def home_xy(self) -> tuple[float, float]:
        home = self.bindings.get("home")
        town = self.facts.settlement(str(home.value)) if home else None
        return (town.x, town.y) if town else (self.giver.x, self.giver.y)


def _npc(n: NpcFact) -> Binding:
    return Binding("npc", n.id, n.name, n.faction, n.home)


def _pick(ctx: SlotContext, options: Sequence[Binding]) -> Binding | None:
    return options[int(ctx.rng.integers(len(options)))] if options else None


def _home(ctx: SlotContext) -> Binding | None:
    town = ctx.facts.settlement(ctx.giver.home)
    if town is None:
        towns = sorted(ctx.facts.settlements(), key=lambda s: (np.hypot(s.x - ctx.giver.x, s.y - ctx.giver.y), s.name))
        town = towns[0] if towns else None
    return Binding("settlement", town.name, town.name) if town else None


def _others(ctx: SlotContext) -> list[NpcFact]:
    return [n for n in ctx.facts.npcs() if n.id != ctx.giver.id and n.id not in
            {int(b.value) for b in ctx.bindings.values() if b.kind == "npc"}]


def _friend(ctx: SlotContext) -> Binding | None:
    others = {n.id: n for n in _others(ctx)}
    liked = [others[r.other] for r in sorted(ctx.facts.relations(ctx.giver.id), key=lambda r: (-r.affinity, r.other))
             if r.other in others and r.affinity > 0.2]
    if liked:
        return _npc(liked[0])
    return _pick(ctx, [_npc(n) for n in others.values() if n.faction == ctx.giver.faction])


def _enemy(ctx: SlotContext) -> Binding | None:
    others = {n.id: n for n in _others(ctx)}
    hated = [others[r.other] for r in sorted(ctx.facts.relations(ctx.giver.id), key=lambda r: (r.affinity, r.other))
             if r.other in others and r.affinity < -0.2]
    if hated:
        return _npc(hated[0])
    rivals = [n for n in others.values() if n.faction != ctx.giver.faction]
    if not rivals:
        return None
    worst = min(ctx.facts.faction_standing(ctx.giver.faction, n.faction) for n in rivals)
    return _pick(ctx, [_npc(n) for n in rivals if ctx.facts.faction_standing(ctx.giver.faction, n.faction) == worst])


def _culprit(ctx: SlotContext) -> Binding | None:
    """Someone the giver resents (affinity < -0.3); never invented."""
    others = {n.id: n for n in _others(ctx)}
    for r in sorted(ctx.facts.relations(ctx.giver.id), key=lambda r: (r.affinity, r.other)):
        if r.other in others and r.affinity < -0.3:
            return _npc(others[r.other])
    return None


def _thief(ctx: SlotContext) -> Binding | None:
    """Only a situation (a witnessed theft) can name a thief."""
    return None


def _expert(ctx: SlotContext) -> Binding | None:
    others = _others(ctx)
    learned = [n for n in others if n.role in ("scholar", "healer", "smith", "merchant") and n.role != ctx.giver.role]
    return _pick(ctx, [_npc(n) for n in (learned or [n for n in others if n.role != ctx.giver.role])])


def _market(ctx: SlotContext) -> Binding | None:
    home = ctx.bindings.get("home")
    towns = [s for s in ctx.facts.settlements() if home is None or s.name != home.value] or list(ctx.facts.settlements())
    good = ctx.bindings.get("good") or ctx.bindings.get("rare_good")
    if good is not None:
        towns = sorted(towns, key=lambda s: (s.price.get(good.value, 0.0), s.name))[:1]
    return _pick(ctx, [Binding("settlement", s.name, s.name) for s in towns])


def _creature(ctx: SlotContext, hunters: bool) -> Binding | None:
    diets = ctx.facts.species_diet()
    x, y = ctx.home_xy()
    for radius in (THREAT_RADIUS, 2.5 * THREAT_RADIUS):
        near = [c for c in ctx.facts.creatures_near(x, y, radius) if (diets.get(c.species, "grass") != "grass") == hunters]
        if near:
            c = near[0]
            return Binding("creature", c.id, f"the {c.species}")
    return None


def _good(ctx: SlotContext) -> Binding | None:
    node = ctx.bindings.get("node")
    if node is not None:
        for n in ctx.facts.resource_nodes():
            if n.index == node.value:
                return Binding("good", n.good, n.good)
    home = ctx.facts.settlement(str(ctx.bindings["home"].value)) if "home" in ctx.bindings else None
    goods = list(ctx.facts.goods())
    tiers = [list(home.shortages), [g for g in goods if home.consume.get(g, 0) > 0]] if home else []
    for tier in [*tiers, goods]:
        if tier:
            return _pick(ctx, [Binding("good", g, g) for g in tier])
    return None


def _rare_good(ctx: SlotContext) -> Binding | None:
    home = ctx.facts.settlement(str(ctx.bindings["home"].value)) if "home" in ctx.bindings else None
    goods = list(ctx.facts.goods())
    if not goods:
        return None
    if home is None:
        return Binding("good", goods[0], goods[0])
    best = max(goods, key=lambda g: (home.price.get(g, 0.0), g))
    return Binding("good", best, best)


def _node_label(facts: WorldFacts, good: str, x: float, y: float) -> str:
    towns = sorted(facts.settlements(), key=lambda s: (np.hypot(s.x - x, s.y - y), s.name))
    return f"the {good} site near {towns[0].name}" if towns else f"the {good} site"


def _node(ctx: SlotContext) -> Binding | None:
    x, y = ctx.home_xy()
    good = ctx.bindings.get("good")
    nodes = [n for n in ctx.facts.resource_nodes() if n.amount > 0 and (good is None or n.good == good.value)]
    nodes = sorted(nodes, key=lambda n: (np.hypot(n.x - x, n.y - y), n.index))[:5]
    return _pick(ctx, [Binding("node", n.index, _node_label(ctx.facts, n.good, n.x, n.y)) for n in nodes])


def _far_place(ctx: SlotContext) -> Binding | None:
    diets = ctx.facts.species_diet()
    scored = []
    for n in ctx.facts.resource_nodes():
        danger = sum(1 for c in ctx.facts.creatures_near(n.x, n.y, DANGER_RADIUS) if diets.get(c.species) != "grass")
        scored.append((-danger, n.index, n))
    scored.sort(key=lambda t: (t[0], t[1]))
    top = [n for d, _, n in scored[:3] if d < 0] or [n for _, _, n in scored[-3:]]
    return _pick(ctx, [Binding("node", n.index, _node_label(ctx.facts, n.good, n.x, n.y)) for n in top])


def _prey_species(ctx: SlotContext) -> Binding | None:
    hunters = sorted(s for s, d in ctx.facts.species_diet().items() if d != "grass")
    return _pick(ctx, [Binding("species", s, s) for s in hunters])


SLOT_RESOLVERS: dict[str, Callable[[SlotContext], Binding | None]] = {
    "home": _home, "friend": _friend, "enemy": _enemy, "culprit": _culprit, "thief": _thief, "expert": _expert,
    "market": _market, "threat": lambda c: _creature(c, True), "pest": lambda c: _creature(c, False),
    "good": _good, "rare_good": _rare_good, "node": _node, "far_place": _far_place, "prey_species": _prey_species,
}
assert set(SLOT_RESOLVERS) | {"giver"} == set(SLOT_KINDS)


def _prefilled(facts: WorldFacts, slot: str, value: Any) -> Binding | None:
    """A situation's value for ``slot``, if it names something that exists now."""
    kind = SLOT_KINDS[slot]
    if kind == "npc":
        n = facts.npc(int(value)) if isinstance(value, int) else None
        return _npc(n) if n else None
    if kind == "creature":
        species = facts.species_of(int(value)) if isinstance(value, int) else None
        return Binding("creature", int(value), f"the {species}") if species else None
    if kind == "settlement":
        return Binding("settlement", value, value) if facts.settlement(str(value)) else None
    if kind == "good":
        return Binding("good", value, value) if value in facts.goods() else None
    return None


def rebind_giver(quest: Quest, facts: WorldFacts) -> Binding | None:
    """Another living NPC of the original giver's faction, preferring the same home (lowest id first)."""
    old = quest.bindings["giver"]
    taken = {int(b.value) for b in quest.bindings.values() if b.kind == "npc"}
    same = [n for n in facts.npcs() if n.faction == old.faction and n.id not in taken]
    same.sort(key=lambda n: (n.home != old.home, n.id))
    return _npc(same[0]) if same else None


def rebind_creature(quest: Quest, slot: str, facts: WorldFacts) -> Binding | None:
    """The nearest living creature of the vanished one's species within ``REBIND_RADIUS`` of home."""
    old = quest.bindings[slot]
    species = old.label.removeprefix("the ")
    home = quest.bindings.get("home")
    town = facts.settlement(str(home.value)) if home else None
    if town is None:
        return None
    taken = {int(b.value) for b in quest.bindings.values() if b.kind == "creature"}
    for c in facts.creatures_near(town.x, town.y, REBIND_RADIUS, species):
        if c.id not in taken:
            return Binding("creature", c.id, f"the {c.species}")
    return None


class QuestGenerator:
    """Makes quests from world facts. ``seed`` fixes every draw; ``taxonomy`` and ``text`` default to the
    bundled data files."""

    def __init__(self, seed: int = 0, taxonomy: Taxonomy | None = None, text: TextBank | None = None) -> None:
        self.seed = int(seed)
        self.taxonomy = taxonomy or load_taxonomy()
        self.text = text or load_text(taxonomy=self.taxonomy)
        self.made = 0

    def generate(self, facts: WorldFacts, situations: Iterable[Situation] = (), count: int = 1,
                 motivation: str | None = None) -> list[Quest]:
        """Up to ``count`` quests: one per situation first (in order), then free ones. Fewer if the world
        has no living NPC or no strategy can be bound."""
        out: list[Quest] = []
        pending = list(situations)
        attempts = 0
        while len(out) < count and attempts < 4 * count + len(pending):
            attempts += 1
            situation = pending.pop(0) if pending else None
            quest = self.make(facts, situation, motivation)
            if quest is not None:
                out.append(quest)
        return out

    def make(self, facts: WorldFacts, situation: Situation | None = None, motivation: str | None = None) -> Quest | None:
        """One quest (or None if nothing can be bound), using the generator's next seed."""
        index = self.made
        self.made += 1
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([self.seed, index])))
        npcs = list(facts.npcs())
        if not npcs:
            return None
        pre = dict(situation.slots) if situation else {}
        motivations = list(MOTIVATIONS)
        rng.shuffle(motivations)
        if situation and situation.motivations:
            first = list(situation.motivations)
            rng.shuffle(first)
            motivations = first + [m for m in motivations if m not in first]
        if motivation is not None:
            motivations = [motivation]
        pinned = _prefilled(facts, "giver", pre["giver"]) if "giver" in pre else None
        givers = [facts.npc(int(pinned.value))] if pinned else []
        givers += [npcs[int(i)] for i in rng.permutation(len(npcs))[:GIVER_TRIES]]
        for giver in givers:
            assert giver is not None
            for m in motivations:
                strategies = list(self.taxonomy.strategies[m])
                shuffled = [strategies[i] for i in rng.permutation(len(strategies)).tolist()]
                # strategies that use more of the situation's slots first (stable: ties keep the draw)
                shuffled.sort(key=lambda s: -len(set(s.slots) & (set(pre) - {"giver"})))
                for strategy in shuffled:
                    quest = self._bind(facts, strategy, giver, pre, rng, index)
                    if quest is not None:
                        if situation is not None:
                            quest.log.append((facts.tick, f"from situation {situation.pattern}"))
                        return quest
        return None

    def _bind(self, facts: WorldFacts, strategy: Strategy, giver: NpcFact, pre: dict[str, Any],
              rng: np.random.Generator, index: int) -> Quest | None:
        ctx = SlotContext(facts, giver, {"giver": _npc(giver)}, rng)
        home = _home(ctx)
        if home is None:
            return None
        ctx.bindings["home"] = home
        for slot in strategy.slots:
            if slot in ctx.bindings:
                continue
            binding = _prefilled(facts, slot, pre[slot]) if slot in pre else None
            if binding is None:
                binding = SLOT_RESOLVERS[slot](ctx)
            if binding is None:
                return None
            ctx.bindings[slot] = binding
        labels = {slot: b.label for slot, b in ctx.bindings.items()}
        objectives = [self.text.objective(s.action, labels[s.target], labels.get(s.item) if s.item else None, rng)
                      for s in strategy.steps]
        main = next((i for i, s in enumerate(strategy.steps) if s.action not in ("goto", "report")), 0)
        variables = {**labels, "giver_role": giver.role, "giver_faction": giver.faction, "objective": objectives[main]}
        m, name = strategy.motivation, strategy.name
        text = {"title": self.text.title(m, name, variables, rng), "summary": self.text.summary(m, name, variables, rng),
                "offer": self.text.bark("offer", m, name, variables, rng),
                "accepted": self.text.bark("accepted", m, name, variables, rng),
                "done": self.text.bark("done", m, name, variables, rng)}
        quest = Quest(f"q{self.seed:x}-{index}", m, strategy, dict(ctx.bindings), build_graph(strategy, objectives),
                      seed=index, text=text)
        quest.log.append((facts.tick, f"offered by {giver.name}: {strategy.key}"))
        return quest

    def progress_bark(self, quest: Quest) -> str:
        """What the giver says about the current step."""
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([self.seed, quest.seed, len(quest.log)])))
        variables = self._variables(quest, quest.current.get("text") or "come and see me")
        return self.text.bark("progress", quest.motivation, quest.strategy.name, variables, rng)

    def failed_bark(self, quest: Quest) -> str:
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([self.seed, quest.seed, len(quest.log)])))
        reason = quest.outcome_text or quest.outcome_reason.replace("_", " ") or "the world moved on"
        variables = {**self._variables(quest, ""), "reason": reason}
        return self.text.bark("failed", quest.motivation, quest.strategy.name, variables, rng)

    @staticmethod
    def _variables(quest: Quest, objective: str) -> dict[str, str]:
        giver = quest.bindings["giver"]
        return {**{s: b.label for s, b in quest.bindings.items()}, "giver_role": "", "giver_faction": giver.faction,
                "objective": objective}


def outcome_effects(quest: Quest, player_entity: int, success: bool) -> list[Effect]:
    """The quest's typed consequences for ``player_entity``: its strategy's ``on_success`` (scaled by the
    quest's reward, e.g. 0.5 when someone else did the job) or ``on_failure`` effects, with slots resolved.
    Effects naming an NPC slot that no longer exists are still returned (the NPC API rejects them)."""
    specs: tuple[EffectSpec, ...] = quest.strategy.on_success if success else quest.strategy.on_failure
    scale = quest.reward if success else 1.0
    out: list[Effect] = []

    def entity(slot: str) -> int:
        return int(player_entity) if slot == "player" else int(quest.bindings[slot].value)

    def place(slot: str) -> str:
        b = quest.bindings[slot]
        return b.home if b.kind == "npc" else str(b.value)

    for spec in specs:
        f = dict(spec.fields)
        if spec.kind == "relation":
            out.append(RelationEffect(entity(f["a"]), entity(f["b"]), round(f["affinity"] * scale, 6),
                                      round(f["trust"] * scale, 6)))
        elif spec.kind == "faction":
            out.append(FactionEffect(quest.bindings[f["a"]].faction, quest.bindings[f["b"]].faction,
                                     round(f["delta"] * scale, 6)))
        elif spec.kind == "stock":
            out.append(StockEffect(place(f["settlement"]), str(quest.bindings[f["good"]].value),
                                   round(f["units"] * scale, 6)))
        else:
            out.append(PriceEffect(place(f["settlement"]), str(quest.bindings[f["good"]].value), float(f["factor"])))
    return out
