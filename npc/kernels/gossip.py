"""Gossip kernel: pairs of NPCs that met tell each other what they remember, distorting it a little.

For each (speaker, listener) pair, in order, with four caller-drawn uniforms ``u``:

1. the speaker picks its most salient memory (lowest slot on ties) whose kind is in ``kinds_mask`` and that
   would be news to the listener -- the listener does not hold the same fact with as few hops as the retold
   version would have (speaker hops + 1, capped at 127); no such memory: nothing is told;
2. it tells with probability ``p_tell`` (``u[0] < p_tell``);
3. the listener stores it (``memory.store_one`` rules) with hops + 1, salience × ``keep``, value ×
   (1 + value_noise·(2·u[2] − 1)), the speaker's tick, and -- when ``u[1] < p_distort`` -- the subject
   replaced by the ``floor(u[3]·c)``-th (slot order) of the c entities the speaker has a tie with, other
   than the subject and the listener (no such entity: the subject stays). The fact id never changes;
4. both sides' relation to the other changes by (d_affinity, d_trust) (``social.touch_one`` rules) and the
   crossings are reported.

A pair whose speaker is its listener tells nothing. The kernel never raises and draws no random numbers.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .memory import store_one
from .social import touch_one


@njit(cache=True, nogil=True)
def pick_news(kind, fact, salience, hops, s, listener, kinds_mask):  # pragma: no cover - compiled
    """Slot of the speaker's most salient transmissible memory that is news to ``listener``, or -1."""
    slots = kind.shape[1]
    best = -1
    best_sal = np.float32(-1.0)
    for a in range(slots):
        k = kind[s, a]
        if k == 0 or not (kinds_mask >> k) & 1 or salience[s, a] <= best_sal:
            continue
        told_hops = min(hops[s, a] + 1, 127)
        known = False
        for b in range(slots):
            if kind[listener, b] != 0 and fact[listener, b] == fact[s, a] and hops[listener, b] <= told_hops:
                known = True
                break
        if not known:
            best = a
            best_sal = salience[s, a]
    return best


@njit(cache=True, nogil=True)
def distorted_subject(other, s, subject, listener_id, u):  # pragma: no cover - compiled
    """The floor(u·c)-th of the speaker's c tied entities other than ``subject`` and the listener, or ``subject``."""
    count = 0
    for a in range(other.shape[1]):
        o = other[s, a]
        if o != 0 and o != subject and o != listener_id:
            count += 1
    if count == 0:
        return subject
    pick = min(int(u * count), count - 1)
    for a in range(other.shape[1]):
        o = other[s, a]
        if o != 0 and o != subject and o != listener_id:
            if pick == 0:
                return o
            pick -= 1
    return subject


@njit(cache=True, nogil=True)
def exchange_pairs(kind, fact, subject, obj, x, y, value, salience, tick, hops,
                   other, affinity, trust, meetings, last,
                   pairs, uniforms, ids, now, p_tell, keep, p_distort, value_noise, kinds_mask,
                   d_affinity, d_trust, told, crossed):  # pragma: no cover - compiled
    """Run every (speaker, listener) pair once (module docstring rules).

    Args:
        kind..hops: the (n, S) memory columns (written). other..last: the (n, R) relation columns (written).
        pairs: (P, 2) int64 rows (speaker, listener). uniforms: (P, 4) float64 in [0, 1). ids: (n,) int64
            entity id of each row. now: tick (int64) of the meeting. p_tell, keep, p_distort, value_noise:
            float64. kinds_mask: int64 bit set of transmissible kinds. d_affinity, d_trust: float32.
        told: (P,) bool out. crossed: (P, 2) int8 out, the relation crossings of speaker and listener.
    """
    for j in range(pairs.shape[0]):
        s = pairs[j, 0]
        lst = pairs[j, 1]
        told[j] = False
        crossed[j, 0] = 0
        crossed[j, 1] = 0
        if s == lst:
            continue
        a = pick_news(kind, fact, salience, hops, s, lst, kinds_mask)
        if a < 0 or uniforms[j, 0] >= p_tell:
            continue
        told[j] = True
        su = subject[s, a]
        if uniforms[j, 1] < p_distort:
            su = distorted_subject(other, s, su, ids[lst], uniforms[j, 3])
        v = np.float32(value[s, a] * (1.0 + value_noise * (2.0 * uniforms[j, 2] - 1.0)))
        sal = np.float32(salience[s, a] * keep)
        h = np.int8(min(hops[s, a] + 1, 127))
        store_one(kind, fact, subject, obj, x, y, value, salience, tick, hops, lst,
                  kind[s, a], fact[s, a], su, obj[s, a], x[s, a], y[s, a], v, sal, tick[s, a], h)
        crossed[j, 0] = touch_one(other, affinity, trust, meetings, last, s, ids[lst], d_affinity, d_trust, now)
        crossed[j, 1] = touch_one(other, affinity, trust, meetings, last, lst, ids[s], d_affinity, d_trust, now)
