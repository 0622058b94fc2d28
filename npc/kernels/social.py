"""Relationship kernels: per NPC row a few sparse slots (other entity id, affinity, trust, meetings, last tick).

A slot is empty when ``other`` is 0 (entity id 0 is never issued). ``touch_one`` is shared with the gossip
kernel so both change relations by exactly the same rules. Kernels never raise; callers check inputs.
"""

from __future__ import annotations

import numpy as np
from numba import njit

FRIEND = np.float32(0.6)
"""Affinity at or above which two entities are friends (``interact`` reports crossing it upwards)."""

FOE = np.float32(-0.5)
"""Affinity at or below which two entities feud (``interact`` reports crossing it downwards)."""


@njit(cache=True, nogil=True)
def find_slot(other, meetings, affinity, r, o):  # pragma: no cover - compiled
    """Slot for entity ``o`` in row ``r``: its own, else the first empty, else the weakest (-(slot+1) for new).

    The weakest is the smallest |affinity|, then the fewest meetings, then the lowest slot. Returns
    ``s`` when ``o`` already has slot ``s``, ``-(s + 1)`` when slot ``s`` must be (re)initialised for ``o``.
    """
    empty = -1
    weakest = -1
    for s in range(other.shape[1]):
        held = other[r, s]
        if held == o:
            return s
        if held == 0:
            if empty < 0:
                empty = s
        elif empty < 0:
            if weakest < 0:
                weakest = s
            else:
                a = abs(affinity[r, s])
                w = abs(affinity[r, weakest])
                if a < w or (a == w and meetings[r, s] < meetings[r, weakest]):
                    weakest = s
    if empty >= 0:
        return -(empty + 1)
    return -(weakest + 1)


@njit(cache=True, nogil=True)
def touch_one(other, affinity, trust, meetings, last, r, o, d_affinity, d_trust, tick):  # pragma: no cover
    """Change row ``r``'s relation to entity ``o`` by (d_affinity, d_trust) at ``tick``; returns the crossing.

    Args:
        other (n, S) int64, affinity (n, S) float32 in [-1, 1], trust (n, S) float32 in [0, 1],
            meetings (n, S) int32, last (n, S) int64: the relation columns (written).
        d_affinity, d_trust: float32 changes. A new slot starts at affinity 0, trust 0, 0 meetings.
    Returns:
        +1 when affinity rose to >= FRIEND from below, -1 when it fell to <= FOE from above, else 0.
    """
    s = find_slot(other, meetings, affinity, r, o)
    if s < 0:
        s = -s - 1
        other[r, s] = o
        affinity[r, s] = 0.0
        trust[r, s] = 0.0
        meetings[r, s] = 0
    before = affinity[r, s]
    after = before + d_affinity
    if after > 1.0:
        after = np.float32(1.0)
    elif after < -1.0:
        after = np.float32(-1.0)
    t = trust[r, s] + d_trust
    if t > 1.0:
        t = np.float32(1.0)
    elif t < 0.0:
        t = np.float32(0.0)
    affinity[r, s] = after
    trust[r, s] = t
    if meetings[r, s] < 2147483647:
        meetings[r, s] += 1
    last[r, s] = tick
    if before < FRIEND and after >= FRIEND:
        return 1
    if before > FOE and after <= FOE:
        return -1
    return 0


@njit(cache=True, nogil=True)
def interact_batch(other, affinity, trust, meetings, last, rows, others, d_affinity, d_trust, tick,
                   crossed):  # pragma: no cover - compiled
    """Apply m relation changes in the given order (``touch_one`` rules).

    Args:
        other..last: the (n, S) relation columns (written). rows (m,) int64, others (m,) int64 entity ids
            (> 0), d_affinity/d_trust (m,) float32, tick int64. crossed: (m,) int8 out.
    """
    for j in range(rows.shape[0]):
        crossed[j] = touch_one(other, affinity, trust, meetings, last, rows[j], others[j],
                               d_affinity[j], d_trust[j], tick)


@njit(cache=True, nogil=True)
def relax_relations(other, affinity, trust, meetings, last, affinity_factor, trust_factor,
                    forget_below):  # pragma: no cover - compiled
    """Relax affinity and trust towards 0 by the given float32 factors; clear slots where both fall below.

    A slot is forgotten (all columns zeroed) when |affinity| < forget_below and trust < forget_below.
    Returns the number of slots forgotten.
    """
    forgotten = 0
    for r in range(other.shape[0]):
        for s in range(other.shape[1]):
            if other[r, s] == 0:
                continue
            a = affinity[r, s] * affinity_factor
            t = trust[r, s] * trust_factor
            if abs(a) < forget_below and t < forget_below:
                other[r, s] = 0
                affinity[r, s] = 0.0
                trust[r, s] = 0.0
                meetings[r, s] = 0
                last[r, s] = 0
                forgotten += 1
            else:
                affinity[r, s] = a
                trust[r, s] = t
    return forgotten
