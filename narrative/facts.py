"""What the narrative layer may know about the world: the ``WorldFacts`` protocol, a plain snapshot that
implements it (``FactSnapshot``) and ``facts_from_world`` that takes one from a live ``worldsim.World``.

Why a snapshot and a protocol: sifting conditions, quest generation and quest re-validation all ask the
same few questions (who is alive, who lives where, which town is short of what, what hunts near a
village). Answering them from one immutable-per-tick snapshot keeps every answer of a narrative update
consistent with every other, lets tests craft worlds by hand (``FactSnapshot(...)`` with a few NPCs) and
keeps ``narrative`` ignorant of how the NPC system stores its arrays. Rejected: querying ``World`` directly
from quests (couples quests to worldsim internals, untestable without building terrain) and a copy of the
whole entity table (most of it is irrelevant; creatures are kept as three columns for radius queries).

Without an NPC system (``world.systems["npc"]`` absent) the world's wanderers stand in for NPCs: each gets
a name made from its id, a role from its id, home = nearest settlement and faction = home (documented
fallback, enough for quests to bind live people).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

SHORTAGE_STEPS = 2.0
"""A settlement is short of a good when its stock covers fewer than this many economy steps of consumption."""

FALLBACK_ROLES = ("farmer", "guard", "merchant", "hunter", "smith", "healer", "scholar", "woodcutter")
"""Roles given to plain wanderers when the world has no NPC system."""

_SYLLABLES_A = ("Al", "Bra", "Cor", "Da", "El", "Fen", "Gar", "Hal", "Isa", "Jor", "Kel", "Lio", "Mar", "Nes",
                "Odo", "Pel", "Quin", "Ros", "Sel", "Tam", "Ul", "Ves", "Wyn", "Yor")
_SYLLABLES_B = ("dric", "wen", "mir", "ra", "bert", "lin", "ric", "na", "dor", "ia", "mund", "sa", "von", "eth")


@dataclass(frozen=True)
class NpcFact:
    """One live NPC: id, display name, role, faction and home settlement names, position (x, y) metres."""

    id: int
    name: str
    role: str
    faction: str
    home: str
    x: float
    y: float


@dataclass(frozen=True)
class SettlementFact:
    """One settlement: name, position (x, y) metres, per-good stock (units), price (coins per unit) and
    consumption (units per economy step); ``shortages`` lists goods whose stock covers fewer than
    ``SHORTAGE_STEPS`` steps of consumption."""

    name: str
    x: float
    y: float
    stock: dict[str, float]
    price: dict[str, float]
    consume: dict[str, float]
    shortages: tuple[str, ...] = ()


@dataclass(frozen=True)
class NodeFact:
    """A harvestable resource node: index (for ``World.harvest``), good, position metres, units left."""

    index: int
    good: str
    x: float
    y: float
    amount: float


@dataclass(frozen=True)
class RelationFact:
    """How ``entity`` feels about ``other``: affinity and trust, each in [-1, 1]."""

    other: int
    affinity: float
    trust: float


@dataclass(frozen=True)
class CreatureFact:
    """A live creature: id, species name, position (x, y) metres, distance (metres) from the query point."""

    id: int
    species: str
    x: float
    y: float
    distance: float


@runtime_checkable
class WorldFacts(Protocol):
    """The questions narrative asks of a world. Every list is in a deterministic order (ids ascending,
    settlements and goods in scenario order)."""

    tick: int

    def npcs(self) -> Sequence[NpcFact]: ...

    def npc(self, entity: int) -> NpcFact | None: ...

    def is_alive(self, entity: int) -> bool: ...

    def settlements(self) -> Sequence[SettlementFact]: ...

    def settlement(self, name: str) -> SettlementFact | None: ...

    def goods(self) -> Sequence[str]: ...

    def species_diet(self) -> dict[str, str]: ...

    def creatures_near(self, x: float, y: float, radius: float, species: str | None = None) -> list[CreatureFact]: ...

    def species_of(self, entity: int) -> str | None: ...

    def resource_nodes(self) -> Sequence[NodeFact]: ...

    def relations(self, entity: int) -> Sequence[RelationFact]: ...

    def faction_standing(self, faction_a: str, faction_b: str) -> float: ...

    def position(self, entity: int) -> tuple[float, float] | None: ...


@dataclass
class FactSnapshot:
    """A ``WorldFacts`` held as plain data. Tests build it by hand; ``facts_from_world`` fills it from a world.

    Attributes:
        tick: world tick the facts describe.
        npc_list: live NPCs (any order; kept sorted by id).
        settlement_list, node_list, goods_list: economy facts.
        diets: species name -> diet (``"grass"`` or the prey species' name).
        creature_ids (k,) int64, creature_species (k,) int64 index into ``species_names``,
        creature_xy (k, 2) float64 metres.
        relation_table: entity -> its relations (or ``relation_source`` called lazily, then remembered).
        standing: (faction_a, faction_b) -> standing in [-1, 1] (missing pairs: 0, same faction: 1).
        other_alive: further live ids (players, props) that count for ``is_alive``.
    """

    tick: int = 0
    npc_list: list[NpcFact] = field(default_factory=list)
    settlement_list: list[SettlementFact] = field(default_factory=list)
    node_list: list[NodeFact] = field(default_factory=list)
    goods_list: list[str] = field(default_factory=list)
    diets: dict[str, str] = field(default_factory=dict)
    species_names: list[str] = field(default_factory=list)
    creature_ids: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    creature_species: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    creature_xy: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros((0, 2)))
    relation_table: dict[int, list[RelationFact]] = field(default_factory=dict)
    relation_source: Callable[[int], list[RelationFact]] | None = None
    standing: dict[tuple[str, str], float] = field(default_factory=dict)
    other_alive: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.npc_list = sorted(self.npc_list, key=lambda n: n.id)
        self._npc_by_id = {n.id: n for n in self.npc_list}
        self._town_by_name = {s.name: s for s in self.settlement_list}
        self.creature_ids = np.asarray(self.creature_ids, dtype=np.int64).reshape(-1)
        self.creature_species = np.asarray(self.creature_species, dtype=np.int64).reshape(-1)
        self.creature_xy = np.asarray(self.creature_xy, dtype=np.float64).reshape(-1, 2)
        order = np.argsort(self.creature_ids, kind="stable")
        self.creature_ids = self.creature_ids[order]
        self.creature_species = self.creature_species[order]
        self.creature_xy = self.creature_xy[order]

    # ---------------------------------------------------------------------------------- WorldFacts
    def npcs(self) -> Sequence[NpcFact]:
        return self.npc_list

    def npc(self, entity: int) -> NpcFact | None:
        return self._npc_by_id.get(int(entity))

    def is_alive(self, entity: int) -> bool:
        entity = int(entity)
        if entity in self._npc_by_id or entity in self.other_alive:
            return True
        i = int(np.searchsorted(self.creature_ids, entity))
        return i < len(self.creature_ids) and int(self.creature_ids[i]) == entity

    def settlements(self) -> Sequence[SettlementFact]:
        return self.settlement_list

    def settlement(self, name: str) -> SettlementFact | None:
        return self._town_by_name.get(name)

    def goods(self) -> Sequence[str]:
        return self.goods_list

    def species_diet(self) -> dict[str, str]:
        return dict(self.diets)

    def creatures_near(self, x: float, y: float, radius: float, species: str | None = None) -> list[CreatureFact]:
        """Creatures within ``radius`` metres of (x, y), nearest first (ties by id)."""
        if not len(self.creature_ids):
            return []
        d = np.hypot(self.creature_xy[:, 0] - x, self.creature_xy[:, 1] - y)
        mask = d <= radius
        if species is not None:
            if species not in self.species_names:
                return []
            mask &= self.creature_species == self.species_names.index(species)
        rows = np.flatnonzero(mask)
        rows = rows[np.lexsort((self.creature_ids[rows], d[rows]))]
        return [CreatureFact(int(self.creature_ids[r]), self.species_names[int(self.creature_species[r])],
                             float(self.creature_xy[r, 0]), float(self.creature_xy[r, 1]), float(d[r]))
                for r in rows]

    def species_of(self, entity: int) -> str | None:
        """The species of a live creature, else None."""
        i = int(np.searchsorted(self.creature_ids, int(entity)))
        if i < len(self.creature_ids) and int(self.creature_ids[i]) == int(entity):
            return self.species_names[int(self.creature_species[i])]
        return None

    def resource_nodes(self) -> Sequence[NodeFact]:
        return self.node_list

    def relations(self, entity: int) -> Sequence[RelationFact]:
        entity = int(entity)
        if entity not in self.relation_table and self.relation_source is not None and entity in self._npc_by_id:
            self.relation_table[entity] = list(self.relation_source(entity))
        return self.relation_table.get(entity, [])

    def faction_standing(self, faction_a: str, faction_b: str) -> float:
        if faction_a == faction_b:
            return self.standing.get((faction_a, faction_b), 1.0)
        return self.standing.get((faction_a, faction_b), self.standing.get((faction_b, faction_a), 0.0))

    def position(self, entity: int) -> tuple[float, float] | None:
        npc = self.npc(entity)
        if npc is not None:
            return (npc.x, npc.y)
        i = int(np.searchsorted(self.creature_ids, int(entity)))
        if i < len(self.creature_ids) and int(self.creature_ids[i]) == int(entity):
            return (float(self.creature_xy[i, 0]), float(self.creature_xy[i, 1]))
        return None

    # ------------------------------------------------------------------------------ crafted changes
    def without(self, entities: Iterable[int]) -> FactSnapshot:
        """A copy in which ``entities`` are dead (tests and what-if checks)."""
        gone = {int(e) for e in entities}
        keep = ~np.isin(self.creature_ids, list(gone))
        return FactSnapshot(self.tick, [n for n in self.npc_list if n.id not in gone], self.settlement_list,
                            self.node_list, self.goods_list, self.diets, self.species_names,
                            self.creature_ids[keep], self.creature_species[keep], self.creature_xy[keep],
                            self.relation_table, self.relation_source, self.standing, self.other_alive - gone)

    def with_npc(self, npc: NpcFact) -> FactSnapshot:
        """A copy with ``npc`` added or replaced (same id), e.g. one that changed faction."""
        npcs = [n for n in self.npc_list if n.id != npc.id] + [npc]
        return FactSnapshot(self.tick, npcs, self.settlement_list, self.node_list, self.goods_list, self.diets,
                            self.species_names, self.creature_ids, self.creature_species, self.creature_xy,
                            self.relation_table, self.relation_source, self.standing, self.other_alive)


def fallback_name(entity: int) -> str:
    """A stable display name made from an entity id (used when the world has no NPC system)."""
    h = (int(entity) * 2654435761) & 0xFFFFFFFF
    return _SYLLABLES_A[h % len(_SYLLABLES_A)] + _SYLLABLES_B[(h // 97) % len(_SYLLABLES_B)]


def _label(value: Any, names: Sequence[str]) -> str:
    """An index into ``names`` or already a name -> the name."""
    if isinstance(value, str):
        return value
    i = int(value)
    return names[i] if 0 <= i < len(names) else str(value)


def _nearest(towns: Sequence[SettlementFact], x: float, y: float) -> str:
    if not towns:
        return "the wilds"
    return min(towns, key=lambda s: (math.hypot(s.x - x, s.y - y), s.name)).name


def facts_from_world(world: Any) -> FactSnapshot:
    """Snapshot the ``WorldFacts`` of a live ``worldsim.World`` (NPC fields from ``world.systems["npc"]``
    when present, otherwise the wanderer fallback described in the module docstring)."""
    from worldsim.state import Kind

    e = world.economy
    towns = []
    for ti, name in enumerate(e.settlements):
        stock = {g: float(e.stock[ti, gi]) for gi, g in enumerate(e.goods)}
        consume = {g: float(e.consume[ti, gi]) for gi, g in enumerate(e.goods)}
        short = tuple(g for g in e.goods if consume[g] > 0 and stock[g] < SHORTAGE_STEPS * consume[g])
        towns.append(SettlementFact(name, float(e.town_xy[ti, 0]), float(e.town_xy[ti, 1]), stock,
                                    {g: float(e.price[ti, gi]) for gi, g in enumerate(e.goods)}, consume, short))
    nodes = [NodeFact(i, e.goods[int(e.node_good[i])], float(e.node_xy[i, 0]), float(e.node_xy[i, 1]),
                      float(e.node_amount[i])) for i in range(len(e.node_amount))]
    creature_ids, creature_pos = world.kind_view(Kind.CREATURE)
    creature_species = world.entities.species[world.entities.rows_of(creature_ids)].astype(np.int64) \
        if len(creature_ids) else np.zeros(0, np.int64)
    species_names = list(world.ecology.names)
    diets = {name: world.scenario.species[name].diet for name in species_names}
    player_ids, _ = world.kind_view(Kind.PLAYER)
    system = getattr(world, "systems", {}).get("npc")
    npcs: list[NpcFact] = []
    standing: dict[tuple[str, str], float] = {}
    relation_source = None
    if system is not None:
        ids = np.asarray(system.ids(), dtype=np.int64)
        pos = world.positions_of(ids) if len(ids) else np.zeros((0, 3))
        for i, npc_id in enumerate(ids.tolist()):
            npcs.append(NpcFact(npc_id, str(system.name_of(npc_id)), _label(system.role_of(npc_id), system.role_names),
                                _label(system.faction_of(npc_id), system.faction_names),
                                _label(system.home_of(npc_id), e.settlements),
                                float(pos[i, 0]), float(pos[i, 1])))
        matrix = np.asarray(system.faction_standing, dtype=np.float64)
        for a, fa in enumerate(system.faction_names):
            for b, fb in enumerate(system.faction_names):
                standing[(fa, fb)] = float(matrix[a, b])

        def relation_source(entity: int) -> list[RelationFact]:
            rows = system.inspect(entity).get("relations", [])
            return [RelationFact(int(r["other"]), float(r["affinity"]), float(r["trust"])) for r in rows]
    else:
        ids, pos = world.kind_view(Kind.NPC)
        for i, npc_id in enumerate(ids.tolist()):
            x, y = float(pos[i, 0]), float(pos[i, 1])
            home = _nearest(towns, x, y)
            npcs.append(NpcFact(npc_id, fallback_name(npc_id), FALLBACK_ROLES[npc_id % len(FALLBACK_ROLES)],
                                home, home, x, y))
    return FactSnapshot(int(world.tick), npcs, towns, nodes, list(e.goods), diets, species_names, creature_ids,
                        creature_species, creature_pos[:, :2] if len(creature_ids) else np.zeros((0, 2)),
                        {}, relation_source, standing, set(player_ids.tolist()))
