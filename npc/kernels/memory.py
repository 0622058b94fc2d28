"""Memory kernels: a bounded store of facts per NPC, kept as (n, slots) columns.

A slot is empty when its ``kind`` is 0. Every slot holds one *fact* (an int64 id shared by everyone who knows
the same thing), its content (subject, object, x, y, value, tick), its salience in [0, 1] and ``hops``, the
number of mouths it passed through (0 = witnessed).

Storing one memory into a row (``store_one``, shared with the gossip kernel):

1. the row already holds the same fact: salience becomes the larger of the two; if the new version has
   fewer or as many hops, its content (kind, subject, object, x, y, value, tick, hops) replaces the old one
   -- a fresher first-hand account wins, a retold one never overwrites what was seen;
2. else the first empty slot;
3. else the least salient slot (lowest index on ties) is replaced if the new salience is greater;
4. else the memory is dropped.

Kernels never raise and draw no random numbers; callers check shapes, dtypes and ranges.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def store_one(kind, fact, subject, obj, x, y, value, salience, tick, hops, r,
              k, f, su, ob, px, py, v, sal, t, h):  # pragma: no cover - compiled
    """Store one memory into row ``r`` of the store columns; returns True when it was kept.

    Args:
        kind (n, S) int8, fact/subject/obj/tick (n, S) int64, x/y/value/salience (n, S) float32,
            hops (n, S) int8: the store columns (written).
        r: row. k, f, su, ob, px, py, v, sal, t, h: the memory (kind 1..6, fact, subject, object,
            position in metres, value, salience in [0, 1] as float32, tick, hops 0..127).
    """
    empty = -1
    weakest = -1
    for s in range(kind.shape[1]):
        if kind[r, s] == 0:
            if empty < 0:
                empty = s
        elif fact[r, s] == f:
            if sal > salience[r, s]:
                salience[r, s] = sal
            if h <= hops[r, s]:
                kind[r, s] = k
                subject[r, s] = su
                obj[r, s] = ob
                x[r, s] = px
                y[r, s] = py
                value[r, s] = v
                tick[r, s] = t
                hops[r, s] = h
            return True
        elif weakest < 0 or salience[r, s] < salience[r, weakest]:
            weakest = s
    if empty >= 0:
        target = empty
    elif sal > salience[r, weakest]:
        target = weakest
    else:
        return False
    kind[r, target] = k
    fact[r, target] = f
    subject[r, target] = su
    obj[r, target] = ob
    x[r, target] = px
    y[r, target] = py
    value[r, target] = v
    salience[r, target] = sal
    tick[r, target] = t
    hops[r, target] = h
    return True


@njit(cache=True, nogil=True)
def stable_row_order(rows, n):  # pragma: no cover - compiled
    """(m,) int64 positions of ``rows`` (values in [0, n)) sorted by row, equal rows in input order.

    A counting sort, O(n + m). Changes to different rows are independent, so applying a batch in this order
    gives the same result as the input order while sweeping the (n, S) columns front to back (several
    times faster than random access once the columns outgrow the cache). Callers gather the batch's
    columns in this order first: one numpy gather per column overlaps its cache misses far better than
    indirect reads inside the kernel's loop.
    """
    starts = np.zeros(n + 1, dtype=np.int64)
    for j in range(rows.shape[0]):
        starts[rows[j] + 1] += 1
    for r in range(n):
        starts[r + 1] += starts[r]
    order = np.empty(rows.shape[0], dtype=np.int64)
    for j in range(rows.shape[0]):
        order[starts[rows[j]]] = j
        starts[rows[j]] += 1
    return order


@njit(cache=True, nogil=True)
def remember_batch(kind, fact, subject, obj, x, y, value, salience, tick, hops,
                   rows, m_kind, m_fact, m_subject, m_obj, m_x, m_y, m_value, m_salience, m_tick, m_hops,
                   stored):  # pragma: no cover - compiled
    """Store m memories in the given order (``store_one`` rules).

    Args:
        kind..hops: the (n, S) store columns (written).
        rows: (m,) int64 rows. m_kind (m,) int8, m_fact/m_subject/m_obj/m_tick (m,) int64,
            m_x/m_y/m_value/m_salience (m,) float32, m_hops (m,) int8: the memories.
        stored: (m,) bool out, whether each memory was kept.
    """
    for j in range(rows.shape[0]):
        stored[j] = store_one(kind, fact, subject, obj, x, y, value, salience, tick, hops, rows[j],
                              m_kind[j], m_fact[j], m_subject[j], m_obj[j], m_x[j], m_y[j], m_value[j],
                              m_salience[j], m_tick[j], m_hops[j])


@njit(cache=True, nogil=True)
def decay_salience(kind, fact, subject, obj, x, y, value, salience, tick, hops,
                   factor, forget_below):  # pragma: no cover - compiled
    """Multiply every held memory's salience by ``factor[kind]``; clear the slots that fall below.

    Args:
        kind..hops: the (n, S) store columns (written).
        factor: (7,) float32 multiplier per kind (index 0 unused), in [0, 1].
        forget_below: salience under which a slot is forgotten (all its columns zeroed).
    Returns:
        the number of slots forgotten.
    """
    forgotten = 0
    for r in range(kind.shape[0]):
        for s in range(kind.shape[1]):
            k = kind[r, s]
            if k == 0:
                continue
            sal = salience[r, s] * factor[k]
            if sal < forget_below:
                kind[r, s] = 0
                fact[r, s] = 0
                subject[r, s] = 0
                obj[r, s] = 0
                x[r, s] = 0.0
                y[r, s] = 0.0
                value[r, s] = 0.0
                salience[r, s] = 0.0
                tick[r, s] = 0
                hops[r, s] = 0
                forgotten += 1
            else:
                salience[r, s] = sal
    return forgotten


@njit(cache=True, nogil=True)
def most_salient(kind, salience, kind_mask, out):  # pragma: no cover - compiled
    """Per row, the slot of the most salient memory whose kind is in ``kind_mask`` (lowest slot on ties).

    Args:
        kind: (n, S) int8. salience: (n, S) float32. kind_mask: int64 bit set, bit k for kind k.
        out: (n,) int64 out, the slot or -1 when the row holds no such memory.
    """
    for r in range(kind.shape[0]):
        best = -1
        best_sal = np.float32(-1.0)
        for s in range(kind.shape[1]):
            k = kind[r, s]
            if k != 0 and (kind_mask >> k) & 1 and salience[r, s] > best_sal:
                best = s
                best_sal = salience[r, s]
        out[r] = best
