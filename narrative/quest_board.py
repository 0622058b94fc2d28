"""``QuestBoard``: the per-room quest runtime the server drives -- one call per tick, one per quest RPC.

Every ``every_ticks`` ticks (the narrative rate, default 1 s at 20 Hz) it snapshots ``WorldFacts``, feeds
the buffered world events to the sifter (plus a state scan), advances every player's quests on those
events, tops up each player's open offers (situations first, then free quests), and applies the typed
effects of any quest that ended. It returns ``QuestUpdate``s; the server sends each to its player as a
protocol ``Event(kind="quest.update", data=update.to_dict())``.

Players act through ``rpc(world, player, method, params)`` with methods ``list``, ``accept``, ``decline``,
``progress``, ``turn_in``, ``abandon`` (params ``{"quest": id}``). Refusals are ``NarrativeError``
subclasses (``QuestNotFoundError``; ``QuestStateError``; ``QuestStepError``, also for an unknown method or
bad params); the server turns them into an ``Error`` reply and the session stays.

Why buffer and not sift every tick: the world may emit thousands of ecology events per tick, and quests
and situations change on a human time scale; the buffer is bounded (oldest dropped and counted).
"""

from __future__ import annotations

from collections import deque
from typing import Any

from .errors import QuestStepError
from .facts import facts_from_world
from .ledger import QuestLedger, QuestUpdate
from .quest_effects import apply_effects
from .quests import QuestGenerator
from .sifting import Sifter, Situation

RPC_METHODS = ("list", "accept", "decline", "progress", "turn_in", "abandon")
"""Quest RPCs (the server exposes them as ``quest.<method>``)."""


class QuestBoard:
    """Sifter + generator + ledger for one world.

    Args:
        seed: fixes every quest draw (use the world's seed for reproducible rooms).
        every_ticks: ticks between quest updates (>= 1).
        offers_per_player: open offers each player is kept supplied with.
        max_buffer: world events kept between updates (the oldest beyond it are dropped and counted).
        require_evidence: see ``QuestLedger``.
    """

    def __init__(self, seed: int, every_ticks: int = 20, offers_per_player: int = 3, max_buffer: int = 100_000,
                 require_evidence: bool = False, sifter: Sifter | None = None) -> None:
        self.every_ticks = max(1, int(every_ticks))
        self.offers_per_player = int(offers_per_player)
        self.sifter = sifter or Sifter.from_directory()
        self.generator = QuestGenerator(seed)
        self.ledger = QuestLedger(self.generator, require_evidence=require_evidence)
        self._buffer: deque[Any] = deque(maxlen=max_buffer)
        self.dropped_events = 0
        self.skipped_effects: list[str] = []
        self.situations: deque[Situation] = deque(maxlen=64)

    def add_player(self, player: str, entity: int) -> None:
        """A player joined (or resumed) with avatar ``entity``; offers start at the next update."""
        self.ledger.set_avatar(player, entity)

    def remove_player(self, player: str) -> None:
        """A player left for good: no more offers or evidence (their quests stay in the ledger and save)."""
        self.ledger.avatars.pop(player, None)

    def on_tick(self, world: Any, events: list[Any]) -> list[QuestUpdate]:
        """Call once per world tick with that tick's drained events. Returns quest updates (usually empty
        between narrative updates)."""
        overflow = len(self._buffer) + len(events) - (self._buffer.maxlen or 0)
        if overflow > 0:
            self.dropped_events += overflow
        self._buffer.extend(events)
        if world.tick % self.every_ticks:
            return []
        events, self._buffer = list(self._buffer), deque(maxlen=self._buffer.maxlen)
        facts = facts_from_world(world)
        self.situations.extend(self.sifter.feed(events, facts) + self.sifter.scan(facts))
        updates = self.ledger.update(events, facts)
        for player in sorted(self.ledger.avatars):
            open_offers = len(self.ledger.quests(player, "offered"))
            want = self.offers_per_player - open_offers
            if want <= 0:
                continue
            found = [self.situations.popleft() for _ in range(min(want, len(self.situations)))]
            for quest in self.generator.generate(facts, found, count=want):
                updates.extend(self.ledger.offer(player, quest, facts))
        self._apply(world, updates)
        return updates

    def rpc(self, world: Any, player: str, method: str, params: Any) -> dict[str, Any]:
        """Handle ``quest.<method>`` for ``player``. Returns a msgpack-able result: ``{"quests": [...]}`` for
        ``list``, else ``{"updates": [...]}``. Raises ``NarrativeError`` subclasses on refusal."""
        if method == "list":
            return {"quests": [self.describe(q) for q in self.ledger.quests(player)]}
        if method not in RPC_METHODS:
            raise QuestStepError("-", f"unknown quest method {method!r}; one of {', '.join(RPC_METHODS)}")
        if not isinstance(params, dict) or not isinstance(params.get("quest"), str):
            raise QuestStepError("-", "params must be {\"quest\": \"<quest id>\"}")
        quest_id = params["quest"]
        if method == "decline":
            updates = self.ledger.decline(player, quest_id)
        elif method == "abandon":
            updates = self.ledger.abandon(player, quest_id)
        else:
            facts = facts_from_world(world)
            verb = {"accept": self.ledger.accept, "progress": self.ledger.progress, "turn_in": self.ledger.turn_in}
            updates = verb[method](player, quest_id, facts)
        self._apply(world, updates)
        return {"updates": [u.to_dict() for u in updates]}

    def describe(self, quest: Any) -> dict[str, Any]:
        """A quest as a small msgpack-able dict for clients (no graph, no log)."""
        node = quest.current
        return {"id": quest.id, "status": quest.status, "motivation": quest.motivation,
                "strategy": quest.strategy.name, "title": quest.text.get("title", ""),
                "summary": quest.text.get("summary", ""), "giver": quest.giver,
                "giver_name": quest.bindings["giver"].label, "step": quest.node,
                "objective": node.get("text", "") if node.get("kind") == "step" else "",
                "targets": {slot: [b.kind, b.value, b.label] for slot, b in quest.bindings.items()}}

    def _apply(self, world: Any, updates: list[QuestUpdate]) -> None:
        for update in updates:
            if update.effects:
                self.skipped_effects.extend(apply_effects(world, update.effects))
        del self.skipped_effects[:-100]

    def to_dict(self) -> dict[str, Any]:
        """The ledger's save (the sifter's partial matches are not saved: they rebuild within a window)."""
        return self.ledger.to_dict()

    def load_dict(self, data: Any) -> None:
        """Restore quests saved by ``to_dict``. Raises ``QuestSaveError``."""
        self.ledger = QuestLedger.from_dict(data, self.generator, require_evidence=self.ledger.require_evidence)
