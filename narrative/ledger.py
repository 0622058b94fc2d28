"""``QuestLedger``: every player's offered, active and finished quests, and the only way they change.

Players act through four verbs (the server maps RPCs onto them): ``accept``, ``progress`` (the player
reports the current step done), ``turn_in`` (hand the finished quest to its giver) and ``abandon``. The
world acts through ``update(events, facts)``, called once per narrative tick with the events drained since
the last one: quests advance on evidence (the player's avatar killed the target, harvested the node,
bought the good), branch when someone else gets there first, and re-validate every binding so no offered
or active quest ever points at a dead or missing entity. Every change comes back as a ``QuestUpdate``
(for protocol events and logs); outcomes carry typed effects for the server to apply.

Why a ledger object and not quest state on the player entity: quests are narrative data (graphs, text,
logs) with a lifecycle of their own; keeping them here keeps worldsim free of strings and graphs, and one
``to_dict``/``from_dict`` pair saves them all.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .errors import QuestNotFoundError, QuestSaveError, QuestStateError, QuestStepError
from .facts import WorldFacts
from .quest_effects import Effect, effect_to_dict
from .quest_graph import Binding, Quest, build_graph
from .quest_taxonomy import ACTIONS
from .quests import QuestGenerator, outcome_effects, rebind_creature, rebind_giver

SAVE_VERSION = 1
WATCHED = frozenset({"npc.stole"}).union(*ACTIONS.values())
"""Event kinds quests react to directly (deaths are also caught by re-validation)."""


@dataclass
class QuestUpdate:
    """One change to one player's quest: ``change`` is offered, accepted, declined, progressed, branched,
    completed, failed or withdrawn; ``line`` is what the giver says; ``effects`` the consequences."""

    player: str
    quest_id: str
    change: str
    status: str
    node: str
    note: str = ""
    line: str = ""
    effects: list[Effect] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A msgpack-able dict (for a protocol ``Event`` payload)."""
        return {"player": self.player, "quest": self.quest_id, "change": self.change, "status": self.status,
                "node": self.node, "note": self.note, "line": self.line,
                "effects": [effect_to_dict(e) for e in self.effects]}


class QuestLedger:
    """Quests per player (player keys are strings; ``avatars`` maps them to entity ids for evidence).

    Args:
        generator: makes the text of later lines (progress, failure) and is saved with the ledger.
        require_evidence: if True, steps whose action has world evidence (kill, gather, get...) cannot be
            reported done by the player, only by the world's events.
        max_offers: open offers kept per player (the oldest is withdrawn beyond it).
        keep_done: finished quests remembered per player.
    """

    def __init__(self, generator: QuestGenerator, require_evidence: bool = False, max_offers: int = 5,
                 keep_done: int = 50) -> None:
        self.generator = generator
        self.require_evidence = require_evidence
        self.max_offers = max_offers
        self.keep_done = keep_done
        self.avatars: dict[str, int] = {}
        self._quests: dict[str, dict[str, Quest]] = {}

    # ----------------------------------------------------------------------------------- queries
    def quests(self, player: str, status: str | None = None) -> list[Quest]:
        """The player's quests (offered, active, then finished ones), optionally of one status."""
        return [q for q in self._quests.get(player, {}).values() if status is None or q.status == status]

    def get(self, player: str, quest_id: str) -> Quest:
        try:
            return self._quests[player][quest_id]
        except KeyError:
            raise QuestNotFoundError(player, quest_id) from None

    def players(self) -> list[str]:
        return sorted(self._quests)

    # ----------------------------------------------------------------------------------- verbs
    def set_avatar(self, player: str, entity: int) -> None:
        """Which entity is ``player``'s avatar (its kills, harvests and trades count as evidence)."""
        self.avatars[player] = int(entity)

    def offer(self, player: str, quest: Quest, facts: WorldFacts) -> list[QuestUpdate]:
        """Offer ``quest`` to ``player`` if it is healthy now. Raises ``QuestStateError`` if not offered-state
        or already held by the player."""
        if quest.status != "offered":
            raise QuestStateError(quest.id, quest.status, "offer")
        book = self._quests.setdefault(player, {})
        if quest.id in book:
            raise QuestStateError(quest.id, book[quest.id].status, "offer again")
        if quest.dangling(facts):
            return []
        book[quest.id] = quest
        out = [QuestUpdate(player, quest.id, "offered", quest.status, quest.node, quest.text.get("title", ""),
                           quest.text.get("offer", ""))]
        offers = [q for q in book.values() if q.status == "offered"]
        for old in offers[: max(0, len(offers) - self.max_offers)]:
            old.status = "withdrawn"
            old.outcome_reason = "too_many_offers"
            out.append(QuestUpdate(player, old.id, "withdrawn", old.status, old.node, "replaced by newer offers"))
        self._prune(player)
        return out

    def accept(self, player: str, quest_id: str, facts: WorldFacts) -> list[QuestUpdate]:
        """Take an offered quest. Re-validates first: an offer the world overtook is withdrawn instead.
        Raises QuestNotFoundError, QuestStateError (not offered)."""
        quest = self.get(player, quest_id)
        if quest.status != "offered":
            raise QuestStateError(quest_id, quest.status, "accept")
        out = self._revalidate(player, quest, facts)
        if quest.status != "offered":
            return out
        quest.status = "active"
        quest.log.append((facts.tick, "accepted"))
        out.append(QuestUpdate(player, quest_id, "accepted", quest.status, quest.node, "",
                               quest.text.get("accepted", "")))
        return out

    def decline(self, player: str, quest_id: str) -> list[QuestUpdate]:
        """Refuse an offer. Raises QuestNotFoundError, QuestStateError (not offered)."""
        quest = self.get(player, quest_id)
        if quest.status != "offered":
            raise QuestStateError(quest_id, quest.status, "decline")
        quest.status = "withdrawn"
        quest.outcome_reason = "declined"
        return [QuestUpdate(player, quest_id, "declined", quest.status, quest.node)]

    def progress(self, player: str, quest_id: str, facts: WorldFacts) -> list[QuestUpdate]:
        """The player reports the current step done. Re-validates first (the world may have moved on).

        Raises:
            QuestNotFoundError; QuestStateError (not active); QuestStepError (the current step is the
            turn-in, or needs world evidence under ``require_evidence``).
        """
        quest = self.get(player, quest_id)
        if quest.status != "active":
            raise QuestStateError(quest_id, quest.status, "progress")
        out = self._revalidate(player, quest, facts)
        if quest.status != "active":
            return out
        node = quest.current
        if node["kind"] == "turn_in":
            raise QuestStepError(quest_id, "every step is done: turn the quest in to its giver")
        if self.require_evidence and ACTIONS.get(node["action"]):
            raise QuestStepError(quest_id, f"step '{node['action']}' completes only when it happens in the world")
        before = quest.node
        quest._move("done", facts.tick, f"player reported {node['action']} done")
        out.append(QuestUpdate(player, quest_id, "progressed", quest.status, quest.node, f"{before} done",
                               self.generator.progress_bark(quest)))
        return out

    def turn_in(self, player: str, quest_id: str, facts: WorldFacts) -> list[QuestUpdate]:
        """Hand a finished quest to its giver: completes it and returns its success effects.

        Raises QuestNotFoundError, QuestStateError (not active), QuestStepError (steps remain)."""
        quest = self.get(player, quest_id)
        if quest.status != "active":
            raise QuestStateError(quest_id, quest.status, "turn in")
        out = self._revalidate(player, quest, facts)
        if quest.status != "active":
            return out
        if quest.current["kind"] != "turn_in":
            raise QuestStepError(quest_id, f"step {quest.node} ({quest.current['action']}) is not done yet")
        quest._move("done", facts.tick, f"turned in to {quest.bindings['giver'].label}")
        effects = outcome_effects(quest, self.avatars.get(player, 0), success=True)
        out.append(QuestUpdate(player, quest_id, "completed", quest.status, quest.node, "", quest.text.get("done", ""),
                               effects))
        self._prune(player)
        return out

    def abandon(self, player: str, quest_id: str) -> list[QuestUpdate]:
        """Give up an active quest: it fails with its failure effects."""
        quest = self.get(player, quest_id)
        if quest.status != "active":
            raise QuestStateError(quest_id, quest.status, "abandon")
        quest.status, quest.outcome_reason, quest.outcome_text = "failed", "abandoned", "you gave up"
        return [QuestUpdate(player, quest_id, "failed", quest.status, quest.node, "abandoned",
                           self.generator.failed_bark(quest), outcome_effects(quest, self.avatars.get(player, 0), False))]

    # ------------------------------------------------------------------------------- the world
    def update(self, events: Iterable[Any], facts: WorldFacts) -> list[QuestUpdate]:
        """Advance every open quest on ``events`` (in order) and re-validate it against ``facts``."""
        relevant = [e for e in events if e.kind in WATCHED]
        out: list[QuestUpdate] = []
        for player in self.players():
            avatar = self.avatars.get(player)
            for quest in [q for q in self._quests[player].values() if q.status in ("offered", "active")]:
                for event in relevant:
                    before = quest.node
                    for note in quest.observe(event, avatar, facts):
                        change = "branched" if note.startswith("branch") else "progressed"
                        out.append(QuestUpdate(player, quest.id, change, quest.status, quest.node,
                                               f"{before}: {note}", self._line(quest)))
                    if quest.status not in ("offered", "active"):
                        break
                out.extend(self._revalidate(player, quest, facts))
            self._prune(player)
        return out

    def _revalidate(self, player: str, quest: Quest, facts: WorldFacts) -> list[QuestUpdate]:
        was = quest.status
        notes = quest.check_faction(facts, rebind_giver) + quest.revalidate(facts, rebind_creature, rebind_giver)
        out = []
        for note in notes:
            out.append(QuestUpdate(player, quest.id, "branched", quest.status, quest.node, note, ""))
        if notes and quest.status != was:
            last = out[-1]
            last.change = quest.status
            if quest.status == "failed":
                last.line = self.generator.failed_bark(quest)
                last.effects = outcome_effects(quest, self.avatars.get(player, 0), success=False)
        elif notes and quest.status == "active":
            out[-1].line = self._line(quest)
        return out

    def _line(self, quest: Quest) -> str:
        return self.generator.progress_bark(quest) if quest.status == "active" else ""

    def _prune(self, player: str) -> None:
        book = self._quests.get(player, {})
        finished = [qid for qid, q in book.items() if q.status not in ("offered", "active")]
        for qid in finished[: max(0, len(finished) - self.keep_done)]:
            del book[qid]

    # ---------------------------------------------------------------------------------- saves
    def to_dict(self) -> dict[str, Any]:
        """Everything needed to resume (msgpack/JSON-able)."""
        return {"version": SAVE_VERSION, "seed": self.generator.seed, "made": self.generator.made,
                "avatars": dict(self.avatars),
                "players": {p: [_quest_to_dict(q) for q in book.values()] for p, book in self._quests.items()}}

    @classmethod
    def from_dict(cls, data: Any, generator: QuestGenerator | None = None, **kwargs: Any) -> QuestLedger:
        """Rebuild a ledger from ``to_dict`` output (graphs are rebuilt from the current strategies).
        Raises ``QuestSaveError`` naming what is wrong."""
        try:
            if not isinstance(data, dict) or data.get("version") != SAVE_VERSION:
                raise QuestSaveError(f"expected a dict with version {SAVE_VERSION}")
            generator = generator or QuestGenerator(int(data["seed"]))
            generator.made = max(generator.made, int(data["made"]))
            ledger = cls(generator, **kwargs)
            ledger.avatars = {str(k): int(v) for k, v in data["avatars"].items()}
            for player, quests in data["players"].items():
                book = ledger._quests.setdefault(str(player), {})
                for raw in quests:
                    quest = _quest_from_dict(raw, generator)
                    book[quest.id] = quest
            return ledger
        except QuestSaveError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise QuestSaveError(f"{type(exc).__name__}: {exc}") from None


def _quest_to_dict(q: Quest) -> dict[str, Any]:
    return {"id": q.id, "strategy": q.strategy.key, "seed": q.seed, "node": q.node, "status": q.status,
            "reward": q.reward, "reason": q.outcome_reason, "outcome": q.outcome_text, "text": dict(q.text),
            "objectives": [q.graph.nodes[f"s{i}"]["text"] for i in range(len(q.strategy.steps))],
            "bindings": {slot: b.to_list() for slot, b in q.bindings.items()},
            "log": [[t, note] for t, note in q.log]}


def _quest_from_dict(raw: dict[str, Any], generator: QuestGenerator) -> Quest:
    try:
        strategy = generator.taxonomy.strategy(str(raw["strategy"]))
    except KeyError:
        raise QuestSaveError(f"quest {raw.get('id')!r}: strategy {raw.get('strategy')!r} is not in the taxonomy") from None
    objectives = [str(o) for o in raw["objectives"]]
    if len(objectives) != len(strategy.steps):
        raise QuestSaveError(f"quest {raw['id']!r}: {len(objectives)} objectives for {len(strategy.steps)} steps")
    graph = build_graph(strategy, objectives)
    if raw["node"] not in graph or raw["status"] not in ("offered", "active", "completed", "failed", "withdrawn"):
        raise QuestSaveError(f"quest {raw['id']!r}: node {raw['node']!r} / status {raw['status']!r} is invalid")
    bindings = {str(slot): Binding(*b) for slot, b in raw["bindings"].items()}
    if "giver" not in bindings:
        raise QuestSaveError(f"quest {raw['id']!r} has no giver")
    return Quest(str(raw["id"]), strategy.motivation, strategy, bindings, graph, int(raw["seed"]), str(raw["node"]),
                 str(raw["status"]), float(raw["reward"]), {str(k): str(v) for k, v in raw["text"].items()},
                 [(int(t), str(n)) for t, n in raw["log"]], str(raw["reason"]), str(raw["outcome"]))
