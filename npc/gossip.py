"""Gossip: NPCs who meet tell each other what they remember, and facts distort as they travel.

Design: one Numba call per tick runs every meeting pair in order (``npc.kernels.gossip``); the random draws
come from the caller as a (P, 4) array taken from the world's seeded stream, so the outcome is a pure
function of the state, the pairs and the draws (reproducible, saved with the world's RNG). A retold memory
keeps its *fact* id but its content may drift: the value is jittered and, now and then, the subject is
swapped for someone the teller knows. So ``reach`` counts how far a fact spread while ``versions`` shows
the different claims about it in circulation.

Telling also warms both sides a little towards each other (affinity, trust), which is how gossip builds the
relationship graph.

Alternatives rejected: a probabilistic broadcast over the networkx graph (no spatial meetings, no saved
state, slow) and telling every memory at once (rumours would saturate a town in a few meetings).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from .errors import NpcInputError
from .kernels.gossip import exchange_pairs
from .memory import MemoryKind, MemoryStore, as_array, kind_mask
from .social import Relations

DEFAULT_TRANSMISSIBLE = kind_mask([MemoryKind.RUMOUR, MemoryKind.CRIME, MemoryKind.THREAT])
"""Kinds told by default: rumours, crimes and threats."""


@dataclass(frozen=True)
class GossipParams:
    """How NPCs gossip.

    Attributes:
        p_tell: probability that a speaker with news tells it at a meeting, in [0, 1].
        salience_keep: the listener's salience = the speaker's × this, in [0, 1].
        p_distort_subject: probability that the subject is swapped for another entity the speaker knows.
        value_noise: relative jitter of the value: × (1 + value_noise·(2u − 1)), in [0, 1].
        kinds: bit set of transmissible memory kinds (``memory.kind_mask``).
        d_affinity: affinity change, both ways, per telling. d_trust: trust change, both ways, per telling.
    """

    p_tell: float = 0.5
    salience_keep: float = 0.85
    p_distort_subject: float = 0.1
    value_noise: float = 0.1
    kinds: int = DEFAULT_TRANSMISSIBLE
    d_affinity: float = 0.02
    d_trust: float = 0.01

    def __post_init__(self) -> None:
        for name in ("p_tell", "salience_keep", "p_distort_subject", "value_noise"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and 0.0 <= v <= 1.0):
                raise NpcInputError(f"GossipParams.{name} must be a number in [0, 1], got {v!r}")
        for name in ("d_affinity", "d_trust"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and -1.0 <= v <= 1.0):
                raise NpcInputError(f"GossipParams.{name} must be a number in [-1, 1], got {v!r}")
        kind_mask(self.kinds)  # raises NpcInputError for bits outside kinds 1..6


def exchange(memory: MemoryStore, relations: Relations, pairs: object, uniforms: object, ids: object,
             tick: int, params: GossipParams, crossed_out: np.ndarray | None = None) -> np.ndarray:
    """Let each (speaker, listener) pair gossip once, in order (rules in ``npc.kernels.gossip``).

    Args:
        memory, relations: the stores of the same n rows (both written).
        pairs: (P, 2) int rows (speaker, listener); meet both ways by listing both orders.
        uniforms: (P, 4) float64 in [0, 1) from the world's seeded stream (tell, distort, value, pick).
        ids: (n,) entity id of each row. tick: the current world tick. params: ``GossipParams``.
        crossed_out: optional (P, 2) int8 array filled with the relation crossings (+1 friends, −1 feud)
            of the speaker towards the listener and back.
    Returns:
        (P,) bool, which pairs told something.
    Raises:
        NpcInputError: shapes or dtypes do not match, rows outside [0, n) or without an entity id (> 0),
            draws outside [0, 1).
    """
    n = memory.n
    if relations.n != n:
        raise NpcInputError(f"memory has {n} rows but relations {relations.n}: both must cover the same NPCs")
    p = np.asarray(pairs) if isinstance(pairs, np.ndarray) else as_array("pairs", pairs, np.int64)
    if p.ndim != 2 or p.shape[1] != 2 or (p.size and p.dtype.kind not in "iu"):
        raise NpcInputError(f"pairs: expected (P, 2) integer rows, got shape {p.shape} dtype {p.dtype}")
    p = np.ascontiguousarray(p, dtype=np.int64)
    if p.size and (p.min() < 0 or p.max() >= n):
        raise NpcInputError(f"pairs: rows outside [0, {n})")
    u = as_array("uniforms", uniforms, np.float64)
    if u.shape != (p.shape[0], 4):
        raise NpcInputError(f"uniforms: expected shape ({p.shape[0]}, 4), got {u.shape}")
    if u.size and not ((u >= 0.0) & (u < 1.0)).all():
        raise NpcInputError("uniforms: values outside [0, 1) (or NaN); draw them with Generator.random")
    id_arr = as_array("ids", ids, np.int64)
    if id_arr.shape != (n,):
        raise NpcInputError(f"ids: expected shape ({n},), got {id_arr.shape}")
    if p.size and (id_arr[p] <= 0).any():
        raise NpcInputError("pairs: a row without a live entity id (ids <= 0) cannot gossip")
    if crossed_out is None:
        crossed = np.zeros((p.shape[0], 2), dtype=np.int8)
    else:
        crossed = crossed_out
        if crossed.shape != (p.shape[0], 2) or crossed.dtype != np.int8 or not crossed.flags.c_contiguous:
            raise NpcInputError(f"crossed_out: expected a C-contiguous ({p.shape[0]}, 2) int8 array")
    told = np.zeros(p.shape[0], dtype=np.bool_)
    if p.shape[0]:
        exchange_pairs(*memory.columns(), *relations.columns(), p, u, id_arr, np.int64(tick),
                       float(params.p_tell), float(params.salience_keep), float(params.p_distort_subject),
                       float(params.value_noise), np.int64(params.kinds), np.float32(params.d_affinity),
                       np.float32(params.d_trust), told, crossed)
    return told


def reach(memory: MemoryStore, fact: int, live_rows: object = None) -> float:
    """Share of live NPC rows (default: all rows) that hold ``fact``, in [0, 1]; 0.0 when none are live."""
    knows = memory.knows(fact)
    if live_rows is None:
        return float(knows.mean()) if knows.size else 0.0
    rows = np.asarray(live_rows)
    if rows.dtype == np.bool_:
        if rows.shape != knows.shape:
            raise NpcInputError(f"live_rows mask: expected shape {knows.shape}, got {rows.shape}")
        rows = np.flatnonzero(rows)
    rows = rows.astype(np.int64)
    if rows.size and (rows.min() < 0 or rows.max() >= memory.n):
        raise NpcInputError(f"live_rows: values outside [0, {memory.n})")
    return float(knows[rows].mean()) if rows.size else 0.0


def versions(memory: MemoryStore, fact: int) -> list[dict]:
    """The distinct (subject, object, value) claims about ``fact`` held by anyone, most held first.

    Returns:
        ``[{"subject", "object", "value", "count", "min_hops"}]`` sorted by count (descending), then
        subject, object, value -- the spread of versions shows how the fact distorted as it travelled.
    """
    hit = (memory.fact == np.int64(fact)) & (memory.kind != 0)
    claims: Counter[tuple] = Counter()
    hops: dict[tuple, int] = {}
    for su, ob, v, h in zip(memory.subject[hit].tolist(), memory.object[hit].tolist(),
                            memory.value[hit].tolist(), memory.hops[hit].tolist(), strict=True):
        key = (su, ob, v)
        claims[key] += 1
        hops[key] = min(hops.get(key, h), h)
    ordered = sorted(claims.items(), key=lambda kv: (-kv[1], kv[0]))
    return [{"subject": k[0], "object": k[1], "value": k[2], "count": c, "min_hops": hops[k]} for k, c in ordered]
