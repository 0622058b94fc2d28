"""A quest as a networkx DiGraph with branches, and the state machine that walks it as the world changes.

Graph layout (built from a strategy and its bindings, so it can be rebuilt from a save):

- ``s0 .. s{k-1}``: the strategy's steps (``kind="step"``, ``action``, ``target`` slot, ``item`` slot,
  ``text``), joined by ``when="done"`` edges, then ``turn_in`` (hand it in to the giver) and ``done``
  (``kind="end"``, ``outcome="success"``).
- For every entity slot X other than the giver, an edge ``when="gone:X"`` from each step up to the last one
  that needs X: to ``alt_X`` (``report`` to the giver, half reward) when that last use is violent (kill,
  damage, capture: someone else did the job), else to ``fail_X`` (``outcome="failed"``). Where that edge
  would end the quest and X is a creature, X is first re-bound to another of its species near home.
- For every ``take`` step from NPC X of item G, an edge ``when="stolen:X"`` to ``alt_stolen{i}``: someone else
  robbed X of G first; the robber is bound to slot ``robber{i}`` and the player takes it from them instead.
- From every non-terminal node, ``when="giver_gone"`` to ``fail_giver`` and ``when="giver_defected"`` to
  ``fail_defected``; before following them the quest tries to hand the giver's role to another living member
  of the giver's original faction.

Invariant (checked by ``dangling``): an offered or active quest never needs a dead or missing entity;
``revalidate`` runs after every batch of events and either re-binds, branches or ends the quest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from .facts import WorldFacts
from .quest_taxonomy import ACTIONS, ENTITY_KINDS, SLOT_KINDS, Strategy

VIOLENT = frozenset({"kill", "damage", "capture"})
ACTIVE = ("offered", "active")
REBIND_RADIUS = 120.0
"""Metres around home within which a vanished creature target may be replaced by one of its species."""


@dataclass
class Binding:
    """What a slot is bound to: ``kind`` (npc, creature, settlement, good, node, species), ``value`` (entity
    id, name or node index), display ``label``; for NPCs also their ``faction`` and ``home`` at bind time."""

    kind: str
    value: Any
    label: str
    faction: str = ""
    home: str = ""

    def to_list(self) -> list[Any]:
        return [self.kind, self.value, self.label, self.faction, self.home]


def build_graph(strategy: Strategy, objectives: list[str]) -> nx.DiGraph:
    """The quest graph of ``strategy`` (see the module docstring); ``objectives`` are the steps' phrases."""
    g = nx.DiGraph(strategy=strategy.key)
    steps = strategy.steps
    for i, step in enumerate(steps):
        g.add_node(f"s{i}", kind="step", action=step.action, target=step.target, item=step.item or "",
                   text=objectives[i], reward=1.0)
    g.add_node("turn_in", kind="turn_in", action="report", target="giver", item="", text="", reward=1.0)
    g.add_node("done", kind="end", outcome="success")
    for i in range(len(steps)):
        g.add_edge(f"s{i}", f"s{i + 1}" if i + 1 < len(steps) else "turn_in", when="done")
    g.add_edge("turn_in", "done", when="done")
    slots = [s for s in strategy.slots if s != "giver" and SLOT_KINDS[s] in ENTITY_KINDS]
    for slot in slots:
        last = max(i for i, s in enumerate(steps) if s.target == slot)
        if steps[last].action in VIOLENT:
            alt = f"alt_{slot}"
            g.add_node(alt, kind="step", action="report", target="giver", item="", text="", reward=0.5)
            g.add_edge(alt, "turn_in", when="done")
        else:
            alt = f"fail_{slot}"
            g.add_node(alt, kind="end", outcome="failed", reason=f"{slot}_lost")
        for j in range(last + 1):
            g.add_edge(f"s{j}", alt, when=f"gone:{slot}")
    for i, step in enumerate(steps):
        if step.action == "take" and SLOT_KINDS[step.target] == "npc":
            alt = f"alt_stolen{i}"
            g.add_node(alt, kind="step", action="take", target=f"robber{i}", item=step.item or "", text="", reward=1.0)
            g.add_node(f"fail_robber{i}", kind="end", outcome="failed", reason=f"robber{i}_lost")
            g.add_edge(alt, f"s{i + 1}" if i + 1 < len(steps) else "turn_in", when="done")
            g.add_edge(alt, f"fail_robber{i}", when=f"gone:robber{i}")
            for j in range(i + 1):
                g.add_edge(f"s{j}", alt, when=f"stolen:{step.target}")
    g.add_node("fail_giver", kind="end", outcome="failed", reason="giver_lost")
    g.add_node("fail_defected", kind="end", outcome="failed", reason="giver_defected")
    for node, data in list(g.nodes(data=True)):
        if data["kind"] != "end":
            g.add_edge(node, "fail_giver", when="giver_gone")
            g.add_edge(node, "fail_defected", when="giver_defected")
    return g


@dataclass
class Quest:
    """One quest: who gave it, what it binds, where it stands in its graph, and what it said.

    ``status``: offered, active, completed, failed or withdrawn (an offer the world overtook).
    ``log``: (tick, note) of every transition, for designers and analytics.
    """

    id: str
    motivation: str
    strategy: Strategy
    bindings: dict[str, Binding]
    graph: nx.DiGraph
    seed: int
    node: str = "s0"
    status: str = "offered"
    reward: float = 1.0
    text: dict[str, str] = field(default_factory=dict)
    log: list[tuple[int, str]] = field(default_factory=list)
    outcome_reason: str = ""
    outcome_text: str = ""
    """Why it ended, in words (``"Grim is gone"``), for the giver's last line."""

    @property
    def giver(self) -> int:
        return int(self.bindings["giver"].value)

    @property
    def current(self) -> dict[str, Any]:
        return self.graph.nodes[self.node]

    def needed_slots(self) -> list[str]:
        """Slots the remaining path needs: targets and items of the current node and every node reachable
        from it along ``done`` edges, plus the giver (who takes the turn-in)."""
        out = ["giver"]
        node: str | None = self.node
        while node is not None and self.graph.nodes[node]["kind"] != "end":
            data = self.graph.nodes[node]
            for slot in (data["target"], data["item"]):
                if slot and slot not in out:
                    out.append(slot)
            node = self._next(node, "done")
        return out

    def dangling(self, facts: WorldFacts) -> list[str]:
        """Needed slots bound to something the world no longer has (empty for a healthy quest)."""
        bad = []
        for slot in self.needed_slots():
            b = self.bindings.get(slot)
            if b is None:
                bad.append(slot)
            elif b.kind in ENTITY_KINDS and not facts.is_alive(int(b.value)):
                bad.append(slot)
            elif b.kind == "npc" and facts.npc(int(b.value)) is None:
                bad.append(slot)
            elif b.kind == "settlement" and facts.settlement(str(b.value)) is None:
                bad.append(slot)
            elif b.kind == "good" and b.value not in facts.goods():
                bad.append(slot)
            elif b.kind == "node" and not any(n.index == b.value for n in facts.resource_nodes()):
                bad.append(slot)
        return bad

    def _next(self, node: str, when: str) -> str | None:
        for _, target, data in self.graph.out_edges(node, data=True):
            if data["when"] == when:
                return str(target)
        return None

    def _move(self, when: str, tick: int, note: str) -> bool:
        target = self._next(self.node, when)
        if target is None:
            return False
        self.log.append((tick, f"{self.node} -> {target}: {note}"))
        self.node = target
        data = self.graph.nodes[target]
        self.reward = min(self.reward, float(data.get("reward", self.reward)))
        if data["kind"] == "end":
            self.status = "completed" if data["outcome"] == "success" else (
                "withdrawn" if self.status == "offered" else "failed")
            self.outcome_reason = str(data.get("reason", ""))
            self.outcome_text = note
        return True

    # ----------------------------------------------------------------------------------- events
    def observe(self, event: Any, player_entity: int | None, facts: WorldFacts) -> list[str]:
        """Advance on one world event. Returns notes of what changed (empty if nothing)."""
        if self.status not in ACTIVE:
            return []
        data = self.current
        notes: list[str] = []
        target = self.bindings.get(data.get("target", ""))
        item = self.bindings.get(data.get("item", "") or "")
        evidence = ACTIONS.get(data.get("action", ""), ())
        if player_entity is not None and self.status == "active" and data["kind"] == "step" \
                and event.kind in evidence and target is not None:
            if self._is_evidence(event, data["action"], target, item, int(player_entity)):
                if self._move("done", event.tick, f"{data['action']} {target.label} (seen in the world)"):
                    notes.append(f"step done: {data['action']} {target.label}")
                return notes
        if event.kind == "npc.stole":
            victim = int(event.data.get("victim", -1))
            for slot, b in list(self.bindings.items()):
                if b.kind == "npc" and int(b.value) == victim and self._next(self.node, f"stolen:{slot}"):
                    good = event.data.get("good")
                    step = self._next(self.node, f"stolen:{slot}")
                    robber_slot = self.graph.nodes[step]["target"]
                    wanted = self.bindings.get(self.graph.nodes[step]["item"])
                    if wanted is not None and good != wanted.value:
                        continue
                    if player_entity is not None and int(event.entity) == int(player_entity):
                        continue
                    robber = facts.npc(int(event.entity))
                    if robber is None:
                        continue
                    self.bindings[robber_slot] = Binding("npc", robber.id, robber.name, robber.faction, robber.home)
                    self._move(f"stolen:{slot}", event.tick, f"{robber.name} robbed {b.label} first")
                    notes.append(f"branch: {robber.name} stole the {good} first")
        return notes

    @staticmethod
    def _is_evidence(event: Any, action: str, target: Binding, item: Binding | None, player: int) -> bool:
        d = event.data
        if action == "kill":
            return int(event.entity) == int(target.value) and int(d.get("killer", 0)) == player
        if int(event.entity) != player:
            return False
        if action == "gather":
            return int(d.get("node", -1)) == int(target.value)
        if action in ("get", "exchange"):
            return d.get("settlement") == target.value and (item is None or d.get("good") == item.value) \
                and float(d.get("units", 0)) < 0
        if action == "take":
            return int(d.get("victim", -1)) == int(target.value)
        return False

    def revalidate(self, facts: WorldFacts, rebind_creature: Any, rebind_giver: Any) -> list[str]:
        """Re-check every needed slot against ``facts``: re-bind, branch or end. Repeats until the quest is
        healthy or over, so an offered or active quest never points at a dead or missing entity."""
        notes: list[str] = []
        for _ in range(len(self.graph) + 2):
            if self.status not in ACTIVE:
                return notes
            bad = self.dangling(facts)
            if not bad:
                return notes
            slot = bad[0]
            b = self.bindings[slot]
            if slot == "giver" or (b.kind == "npc" and slot == "giver"):
                replacement = rebind_giver(self, facts)
                if replacement is not None:
                    notes.append(f"giver {b.label} is gone; {replacement.label} of the {replacement.faction} "
                                 "takes over")
                    self.log.append((facts.tick, notes[-1]))
                    self.bindings["giver"] = replacement
                    continue
                self._move("giver_gone", facts.tick, f"{b.label} is gone")
                notes.append(f"failed: {b.label} is gone")
                continue
            if b.kind == "creature":
                replacement = rebind_creature(self, slot, facts)
                if replacement is not None and self._next(self.node, f"gone:{slot}") is not None \
                        and self.graph.nodes[self._next(self.node, f"gone:{slot}")]["kind"] == "end":
                    notes.append(f"{b.label} is gone; another one is near: the quest follows it")
                    self.log.append((facts.tick, notes[-1]))
                    self.bindings[slot] = replacement
                    continue
            if self._move(f"gone:{slot}", facts.tick, f"{b.label} is gone"):
                notes.append(f"branch: {b.label} is gone")
                continue
            self.status = "withdrawn" if self.status == "offered" else "failed"
            self.outcome_reason = f"{slot}_lost"
            self.outcome_text = f"{b.label} is gone"
            self.log.append((facts.tick, f"{self.node}: ended, {b.label} is gone"))
            notes.append(f"ended: {b.label} is gone")
        return notes

    def check_faction(self, facts: WorldFacts, rebind_giver: Any) -> list[str]:
        """The giver changed faction since binding: hand over to a member of the original faction, or fail."""
        if self.status not in ACTIVE:
            return []
        giver = self.bindings["giver"]
        now = facts.npc(int(giver.value))
        if now is None or now.faction == giver.faction:
            return []
        replacement = rebind_giver(self, facts)
        if replacement is not None:
            self.bindings["giver"] = replacement
            note = f"{giver.label} joined the {now.faction}; {replacement.label} of the {giver.faction} takes over"
            self.log.append((facts.tick, note))
            return [note]
        self._move("giver_defected", facts.tick, f"{giver.label} joined the {now.faction}")
        return [f"failed: {giver.label} joined the {now.faction}"]
