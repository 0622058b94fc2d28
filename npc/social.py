"""Relationships between NPCs (and towards players) and standing between factions.

Design: the hot path keeps relations as sparse per-row slots in (n, slots) columns -- other entity id,
affinity in [-1, 1], trust in [0, 1], meetings, last tick -- so a tick's interactions are one Numba call and
memory stays O(n) however many entities an NPC has met. A full row evicts its weakest tie (smallest
|affinity|, then fewest meetings). ``networkx`` mirrors the arrays on demand (``to_networkx``) for the
questions narrative and analysis ask: who are X's friends, the shortest social path, communities.

Alternatives rejected: a dense (n, n) matrix (80 GB at 100k NPCs) and keeping a networkx graph as the
source of truth (a Python dict update per interaction, and not saveable as arrays).
"""

from __future__ import annotations

from collections.abc import Sequence

import networkx as nx
import numpy as np

from .errors import NpcError, NpcInputError
from .kernels.memory import stable_row_order
from .kernels.social import FOE, FRIEND, interact_batch, relax_relations
from .memory import as_array, as_column, as_row, as_rows, checked_columns, checked_number, grouped_pays

__all__ = ["FOE", "FRIEND", "FactionStanding", "Relations", "communities", "friends", "social_path"]

COLUMNS: dict[str, type] = {
    "other": np.int64, "affinity": np.float32, "trust": np.float32, "meetings": np.int32, "last": np.int64,
}
"""The relation columns and their dtypes; each is (n, slots)."""

HOSTILE_BELOW = -0.3
"""Faction standing under which two factions are hostile."""


class Relations:
    """Affinity and trust of n NPC rows towards other entities, ``slots`` ties per row.

    Attributes:
        other, affinity, trust, meetings, last: the (n, slots) columns (see ``COLUMNS``); ``other`` 0 =
            empty slot. Read freely; write through the methods.
    """

    other: np.ndarray
    affinity: np.ndarray
    trust: np.ndarray
    meetings: np.ndarray
    last: np.ndarray

    def __init__(self, n: int, slots: int = 16) -> None:
        if n < 0 or slots < 1:
            raise NpcInputError(f"Relations needs n >= 0 and slots >= 1, got n={n}, slots={slots}")
        for name, dtype in COLUMNS.items():
            setattr(self, name, np.zeros((int(n), int(slots)), dtype=dtype))

    @property
    def n(self) -> int:
        """Number of rows (NPCs)."""
        return int(self.other.shape[0])

    @property
    def slots(self) -> int:
        """Ties each row can hold."""
        return int(self.other.shape[1])

    def columns(self) -> tuple[np.ndarray, ...]:
        """(other, affinity, trust, meetings, last), in the order the kernels take them."""
        return tuple(getattr(self, name) for name in COLUMNS)

    # ------------------------------------------------------------------------------------------ writing

    def interact(self, rows: object, others: object, d_affinity: object, d_trust: object = 0.0,
                 tick: int = 0) -> np.ndarray:
        """Apply m relation changes in the given order.

        Args:
            rows: (m,) NPC rows. others: (m,) entity ids (> 0; an NPC or a player). d_affinity, d_trust:
                (m,) or scalar changes (finite). tick: world tick recorded as the last meeting.
        Returns:
            (m,) int8: +1 where affinity rose to >= FRIEND (0.6) from below, -1 where it fell to <= FOE
            (-0.5) from above, else 0 -- the caller's ``npc.friends`` / ``npc.feud`` events.
        Raises:
            NpcInputError: shapes differ, rows outside [0, n), an id <= 0, NaN or infinite changes.
        """
        r = as_rows(rows, self.n)
        m = r.shape[0]
        o = as_column("others", others, m, np.int64, 1)
        da = as_column("d_affinity", d_affinity, m, np.float32)
        dt = as_column("d_trust", d_trust, m, np.float32)
        if not (np.isfinite(da).all() and np.isfinite(dt).all()):
            raise NpcInputError("d_affinity/d_trust: infinite values")
        crossed = np.zeros(m, dtype=np.int8)
        if m and grouped_pays(m, self.n):
            order = stable_row_order(r, self.n)
            flags = np.zeros(m, dtype=np.int8)
            interact_batch(*self.columns(), r[order], o[order], da[order], dt[order], np.int64(tick), flags)
            crossed[order] = flags
        elif m:
            interact_batch(*self.columns(), r, o, da, dt, np.int64(tick), crossed)
        return crossed

    def decay(self, hours: float, rate: float, trust_rate: float | None = None, forget_below: float = 0.01) -> int:
        """Relax affinity towards 0 by exp(-rate·hours) and trust by exp(-trust_rate·hours).

        Args:
            hours: in-game hours elapsed (>= 0). rate: per hour (>= 0). trust_rate: per hour, default
                rate / 4 (trust fades slower). forget_below: a tie with |affinity| and trust both below it
                is forgotten (its slot freed).
        Returns:
            the number of ties forgotten.
        """
        hours = checked_number("hours", hours, 0.0)
        rate = checked_number("rate", rate, 0.0)
        trust_rate = rate / 4.0 if trust_rate is None else checked_number("trust_rate", trust_rate, 0.0)
        forget_below = checked_number("forget_below", forget_below, 0.0, 1.0)
        fa = np.float32(np.exp(-rate * hours))
        ft = np.float32(np.exp(-trust_rate * hours))
        return int(relax_relations(*self.columns(), fa, ft, float(forget_below)))

    def forget_rows(self, rows: object) -> None:
        """Clear every tie of ``rows`` (e.g. a recycled NPC row)."""
        r = as_rows(rows, self.n)
        for col in self.columns():
            col[r] = 0

    def forget_entity(self, entity: int) -> int:
        """Free every slot that points at ``entity`` (e.g. it died); returns how many."""
        hit = self.other == np.int64(entity)
        for col in self.columns():
            col[hit] = 0
        return int(hit.sum())

    def resize(self, n: int) -> None:
        """Grow or shrink to n rows; new rows are empty, kept rows unchanged."""
        if n < 0:
            raise NpcInputError(f"n must be >= 0, got {n}")
        keep = min(n, self.n)
        for name, dtype in COLUMNS.items():
            new: np.ndarray = np.zeros((n, self.slots), dtype=dtype)
            new[:keep] = getattr(self, name)[:keep]
            setattr(self, name, new)

    # ------------------------------------------------------------------------------------------ queries

    def get(self, row: int, other: int) -> tuple[float, float] | None:
        """(affinity, trust) of ``row`` towards entity ``other``, or None when they have no tie."""
        hit = np.flatnonzero(self.other[as_row(row, self.n)] == np.int64(other))
        if not hit.size or other == 0:
            return None
        s = int(hit[0])
        return float(self.affinity[row, s]), float(self.trust[row, s])

    def of(self, row: int) -> list[dict]:
        """The ties of one row, strongest |affinity| first (ties by entity id), as msgpack-able dicts."""
        row = as_row(row, self.n)
        held = [s for s in range(self.slots) if self.other[row, s] != 0]
        held.sort(key=lambda s: (-abs(float(self.affinity[row, s])), int(self.other[row, s])))
        return [
            {
                "other": int(self.other[row, s]),
                "affinity": float(self.affinity[row, s]),
                "trust": float(self.trust[row, s]),
                "meetings": int(self.meetings[row, s]),
                "last_tick": int(self.last[row, s]),
            }
            for s in held
        ]

    def _edges(self, ids: np.ndarray, threshold: float, live: np.ndarray | None) -> np.ndarray:
        """(e, 2) int64 unique undirected (low id, high id) pairs among live rows with affinity >= threshold."""
        ids = as_array("ids", ids, np.int64)
        if ids.shape != (self.n,):
            raise NpcInputError(f"ids: expected shape ({self.n},) (the entity id of each row), got {ids.shape}")
        alive = (ids > 0) if live is None else (np.asarray(live, dtype=bool) & (ids > 0))
        live_ids = np.unique(ids[alive])
        hit = (self.other != 0) & (self.affinity >= np.float32(threshold)) & alive[:, None]
        src = np.searchsorted(live_ids, np.broadcast_to(ids[:, None], self.other.shape)[hit])
        dst = self.other[hit]
        at = np.minimum(np.searchsorted(live_ids, dst), max(live_ids.size - 1, 0))
        keep = (live_ids[at] == dst) & (at != src) if live_ids.size else np.zeros(dst.shape, dtype=bool)
        size = np.int64(live_ids.size)
        keys = np.unique(np.minimum(src, at)[keep] * size + np.maximum(src, at)[keep])
        return np.stack([live_ids[keys // size], live_ids[keys % size]], axis=1) if keys.size else np.zeros((0, 2), np.int64)

    def density(self, ids: object, threshold: float = 0.3, live: object = None) -> float:
        """Share of possible undirected ties among live NPCs that exist with affinity >= threshold.

        Args:
            ids: (n,) entity id of each row (0 for an unused row). threshold: affinity in [-1, 1].
            live: optional (n,) bool mask of live rows (default: every row with an id > 0).
        Returns:
            edges / (L (L - 1) / 2) for L live NPCs (an edge when either direction holds the affinity);
            0.0 when L < 2.
        """
        ids_arr = as_array("ids", ids, np.int64)
        mask = None if live is None else as_array("live", live, np.bool_)
        if mask is not None and mask.shape != ids_arr.shape:
            raise NpcInputError(f"live: expected shape {ids_arr.shape}, got {mask.shape}")
        edges = self._edges(ids_arr, threshold, mask)
        alive = (ids_arr > 0) if mask is None else (mask & (ids_arr > 0))
        count = int(alive.sum())
        return 0.0 if count < 2 else edges.shape[0] / (count * (count - 1) / 2)

    def to_networkx(self, ids: object, attrs: dict[int, dict] | None = None, threshold: float = 0.3,
                    live: object = None) -> nx.Graph:
        """Undirected mirror of the ties among live NPCs.

        Args:
            ids: (n,) entity id of each row (0 = unused row). attrs: node attributes per entity id (e.g.
                name, role, faction). threshold: an edge exists when either direction's affinity >= it.
            live: optional (n,) bool mask of live rows (default: every row with an id > 0).
        Returns:
            a Graph with a node per live id and edges carrying ``affinity`` and ``trust``: the mean over the
            directions that hold a tie (a one-sided tie counts only its own side).
        """
        ids_arr = as_array("ids", ids, np.int64)
        mask = None if live is None else as_array("live", live, np.bool_)
        if mask is not None and mask.shape != ids_arr.shape:
            raise NpcInputError(f"live: expected shape {ids_arr.shape}, got {mask.shape}")
        alive = (ids_arr > 0) if mask is None else (mask & (ids_arr > 0))
        attrs = attrs or {}
        graph = nx.Graph()
        for eid in ids_arr[alive].tolist():
            graph.add_node(eid, **attrs.get(eid, {}))
        row_of = {int(e): i for i, e in enumerate(ids_arr.tolist()) if alive[i]}
        for a, b in self._edges(ids_arr, threshold, mask).tolist():
            sides = [t for t in (self.get(row_of[a], b), self.get(row_of[b], a)) if t is not None]
            graph.add_edge(a, b, affinity=float(np.mean([s[0] for s in sides])),
                           trust=float(np.mean([s[1] for s in sides])))
        return graph

    # ------------------------------------------------------------------------------------------ saving

    def arrays(self) -> dict[str, np.ndarray]:
        """The columns to save and hash, keyed ``relations_<column>`` (copies)."""
        return {f"relations_{name}": getattr(self, name).copy() for name in COLUMNS}

    def load_arrays(self, data: dict[str, np.ndarray]) -> None:
        """Replace the ties with saved columns (the shape comes from the data).

        Raises:
            NpcError: a column missing, of another dtype or shape, or affinity/trust out of range.
        """
        loaded = checked_columns(data, "relations_", COLUMNS)
        aff, trust = loaded["affinity"], loaded["trust"]
        if np.isnan(aff).any() or (np.abs(aff) > 1).any() or np.isnan(trust).any() or (trust < 0).any() or (trust > 1).any():
            raise NpcError("saved relations hold affinity outside [-1, 1] or trust outside [0, 1]: the save is corrupt")
        for name, arr in loaded.items():
            setattr(self, name, arr)


# ---------------------------------------------------------------------------------------- graph queries

def _need_node(graph: nx.Graph, node: int) -> None:
    if node not in graph:
        raise NpcInputError(f"entity {node} is not in the social graph (not a live NPC?)")


def friends(graph: nx.Graph, entity: int, k: int = 5) -> list[int]:
    """Up to k neighbours of ``entity`` with positive affinity, warmest first (ties by id)."""
    _need_node(graph, entity)
    near = [(d.get("affinity", 0.0), o) for o, d in graph[entity].items() if d.get("affinity", 0.0) > 0]
    near.sort(key=lambda t: (-t[0], t[1]))
    return [o for _, o in near[:k]]


def social_path(graph: nx.Graph, a: int, b: int) -> list[int]:
    """The cheapest chain of acquaintances from a to b, each step costing 1 − affinity; [] if none."""
    _need_node(graph, a)
    _need_node(graph, b)
    try:
        path = nx.dijkstra_path(graph, a, b, weight=lambda _u, _v, d: 1.0 - d.get("affinity", 0.0))
    except nx.NetworkXNoPath:
        return []
    return [int(node) for node in path]


def communities(graph: nx.Graph, seed: int = 0) -> list[list[int]]:
    """Louvain communities (edge weight = positive affinity), largest first, each sorted; deterministic by seed."""
    weighted = nx.Graph()
    weighted.add_nodes_from(sorted(graph.nodes))
    for u, v, d in sorted(graph.edges(data=True), key=lambda e: (min(e[0], e[1]), max(e[0], e[1]))):
        weighted.add_edge(u, v, weight=max(float(d.get("affinity", 0.0)), 0.0))
    found = nx.community.louvain_communities(weighted, weight="weight", seed=seed)
    return sorted((sorted(c) for c in found), key=lambda c: (-len(c), c[0]))


# ---------------------------------------------------------------------------------------- factions

class FactionStanding:
    """Standing between F factions: a symmetric (F, F) float32 matrix in [-1, 1].

    Starts at -1 for hostile pairs, +1 on the diagonal, 0 elsewhere. Two factions are hostile while their
    standing is under ``HOSTILE_BELOW`` (-0.3).
    """

    def __init__(self, names: Sequence[str], hostile: object = None) -> None:
        self.names = list(names)
        f = len(self.names)
        if len(set(self.names)) != f:
            raise NpcInputError(f"faction names must be unique, got {self.names}")
        h = np.zeros((f, f), dtype=bool) if hostile is None else np.asarray(hostile, dtype=bool)
        if h.shape != (f, f):
            raise NpcInputError(f"hostile: expected ({f}, {f}) bool, got shape {h.shape}")
        h = h | h.T
        self.standing = np.where(h, np.float32(-1.0), np.float32(0.0)).astype(np.float32)
        np.fill_diagonal(self.standing, 1.0)

    def index(self, faction: int | str) -> int:
        """Index of a faction given by name or index."""
        if isinstance(faction, str):
            if faction not in self.names:
                raise NpcInputError(f"unknown faction {faction!r}; known: {', '.join(self.names)}")
            return self.names.index(faction)
        i = int(faction)
        if not 0 <= i < len(self.names):
            raise NpcInputError(f"faction index {i} outside [0, {len(self.names)})")
        return i

    def adjust(self, a: int | str, b: int | str, delta: float) -> float:
        """Change the standing between a and b (both ways) by ``delta``, clamped to [-1, 1]; returns it."""
        delta = checked_number("delta", delta)
        i, j = self.index(a), self.index(b)
        value = np.float32(min(1.0, max(-1.0, float(self.standing[i, j]) + float(delta))))
        self.standing[i, j] = self.standing[j, i] = value
        return float(value)

    def hostile(self, a: int | str, b: int | str) -> bool:
        """Whether a and b are hostile (standing < -0.3)."""
        return bool(self.standing[self.index(a), self.index(b)] < HOSTILE_BELOW)

    def hostility(self) -> np.ndarray:
        """(F, F) bool: every hostile pair, for kernels."""
        return self.standing < np.float32(HOSTILE_BELOW)

    def arrays(self) -> dict[str, np.ndarray]:
        """``{"faction_standing": (F, F) float32}`` (a copy)."""
        return {"faction_standing": self.standing.copy()}

    def load_arrays(self, data: dict[str, np.ndarray]) -> None:
        """Replace the standing with a saved matrix.

        Raises:
            NpcError: missing, not (F, F) float32 for this set of factions, asymmetric or out of [-1, 1].
        """
        if "faction_standing" not in data:
            raise NpcError("saved arrays lack 'faction_standing': the save is from another version or corrupt")
        arr = np.asarray(data["faction_standing"])
        f = len(self.names)
        if arr.dtype != np.float32 or arr.shape != (f, f):
            raise NpcError(f"saved faction_standing is {arr.dtype} {arr.shape}; expected float32 ({f}, {f}) "
                           "(did the scenario's factions change?)")
        if np.isnan(arr).any() or (np.abs(arr) > 1).any() or not np.array_equal(arr, arr.T):
            raise NpcError("saved faction_standing is not symmetric within [-1, 1]: the save is corrupt")
        self.standing = arr.copy()
