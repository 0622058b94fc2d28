"""WaveFunctionCollapse solver kernel: bitset domains, bitset arc consistency, trail-based backtracking.

Why this design: a slot's domain (the patterns it may still hold) is a row of ``W = ceil(P / 64)`` uint64
words, and ``compat[d, p]`` is the bitset of patterns allowed one step in direction d from pattern p. When a
slot shrinks, each neighbour's domain is intersected with the union of ``compat`` over the slot's remaining
patterns (AC-3 on bitsets, first-in first-out queue). That union is read from a table precomputed per
8-bit chunk of the domain (``chunk_unions``), so it costs W * 8 lookups whatever the domain size. This
replaced per-pattern support counts (AC-4: cells x 4 x P counters to initialise per solve and one update
per compatible pattern per removal; ~4x slower here). The arc-consistency fixpoint is unique, so queue
order changes only speed, never the result; the closure of the starting domains is the same for every
seed, so ``settle`` computes it once per (sample, size) and the caller caches it.

Backtracking is chronological: before a slot is first narrowed at decision depth k, its old words go on a
trail (once per depth, tracked by ``saved_at``), and undoing a decision pops the trail back to its mark.
The next slot to collapse is the undecided one with the fewest options (popcount), ties broken by a
per-slot uniform drawn up front; the pattern is a weighted draw over its remaining options. The kernels
draw no random numbers: the caller passes uniforms from its seeded generator.
"""

from __future__ import annotations

import numpy as np
from numba import njit, types
from numba.core.extending import intrinsic

ZERO = np.uint64(0)
ONE = np.uint64(1)
_DR = np.array([0, 1, 0, -1], dtype=np.int64)  # E, S, W, N
_DC = np.array([1, 0, -1, 0], dtype=np.int64)

OK, UNSATISFIABLE, GAVE_UP = 0, 1, 2  # solver outcomes
SETTLED, CONTRADICTION, TRAIL_FULL = 0, 1, 2  # propagation outcomes
QHEAD, QLEN, TLEN = 0, 1, 2  # fields of the solver's int64 cursor array


@intrinsic
def popcount(typingctx, word):
    """Number of set bits of a uint64 (LLVM ``ctpop``), as int64."""
    if word != types.uint64:
        return None

    def codegen(context, builder, signature, args):
        return builder.ctpop(args[0])

    return types.int64(types.uint64), codegen


@intrinsic
def lowest_bit(typingctx, word):
    """Index of the lowest set bit of a non-zero uint64 (LLVM ``cttz``), as int64."""
    if word != types.uint64:
        return None

    def codegen(context, builder, signature, args):
        from llvmlite import ir
        return builder.cttz(args[0], ir.Constant(ir.IntType(1), 0))

    return types.int64(types.uint64), codegen


def pack_bitsets(mask: np.ndarray) -> np.ndarray:
    """Pack a (..., P) bool array into (..., ceil(P / 64)) uint64 words; bit p of the row is ``mask[..., p]``."""
    count = mask.shape[-1]
    words = max(1, (count + 63) // 64)
    padded = np.zeros((*mask.shape[:-1], words * 64), dtype=bool)
    padded[..., :count] = mask
    packed = np.packbits(padded, axis=-1, bitorder="little")
    return np.ascontiguousarray(packed).view("<u8").astype(np.uint64)


def chunk_unions(compat: np.ndarray) -> np.ndarray:
    """Precomputed unions of compatibility bitsets over every chunk of a domain (the "four Russians" trick).

    A domain word is read as chunks of c bits (c = 8 up to 256 patterns, else 4 to bound the table size).
    Returns (W * 64 / c * 2**c, 4 * W) uint64: row j * 2**c + v holds, for each direction d at words
    [d * W:(d + 1) * W], the union of ``compat[d, p]`` over the patterns p whose bits are set in value v of
    chunk j. The union over a whole domain, for all four directions at once, then costs W * 64 / c lookups
    of 4 * W contiguous words instead of one lookup per pattern.
    """
    _, count, words = compat.shape
    width = 8 if count <= 256 else 4
    chunks = words * 64 // width
    padded = np.zeros((chunks * width, 4, words), dtype=np.uint64)
    padded[:count] = compat.transpose(1, 0, 2)
    per_chunk = padded.reshape(chunks, width, 4, words)
    table = np.zeros((chunks, 1 << width, 4, words), dtype=np.uint64)
    for value in range(1, 1 << width):
        low = (value & -value).bit_length() - 1
        table[:, value] = table[:, value & (value - 1)] | per_chunk[:, low]
    return table.reshape(chunks << width, 4 * words)


@njit(cache=True, nogil=True)
def _union_compat(dom: np.ndarray, cell: int, unions: np.ndarray, out: np.ndarray) -> None:
    """out (4 * W,) = for each direction d, at [d * W:(d + 1) * W], the union of the compatibility bitsets
    of every pattern in ``dom[cell]``.

    unions: (W * 64 / c * 2**c, 4 * W) uint64 from ``chunk_unions``.
    """
    words = dom.shape[1]
    width = 8 if unions.shape[0] // words == (64 // 8) << 8 else 4
    mask = np.uint64((1 << width) - 1)
    out[:] = ZERO
    base = 0
    for wi in range(words):
        bits = dom[cell, wi]
        while bits != ZERO:
            value = bits & mask
            if value != ZERO:
                row = base + np.int64(value)
                for k in range(out.shape[0]):
                    out[k] |= unions[row, k]
            bits >>= np.uint64(width)
            base += 1 << width
        base = (wi + 1) * (unions.shape[0] // words)


@njit(cache=True, nogil=True)
def _save(cell: int, depth: int, dom: np.ndarray, saved_at: np.ndarray, trail: np.ndarray, cursor: np.ndarray) -> None:
    """Put ``cell``'s words on the trail unless already saved at this depth (depth 0 is never undone).

    trail: (capacity, 2 + W) uint64 rows (slot, depth it was last saved at, old words); the caller keeps
    room for the row (``_with_room``). cursor[TLEN] is the trail length.
    """
    if depth == 0 or saved_at[cell] == depth:
        return
    t = cursor[TLEN]
    trail[t, 0] = cell
    trail[t, 1] = saved_at[cell]
    for k in range(dom.shape[1]):
        trail[t, 2 + k] = dom[cell, k]
    saved_at[cell] = depth
    cursor[TLEN] = t + 1


@njit(cache=True, nogil=True)
def _with_room(trail: np.ndarray, cursor: np.ndarray, rows: int) -> np.ndarray:
    """``trail``, or a copy of twice the capacity if fewer than ``rows`` free rows are left."""
    if cursor[TLEN] + rows <= trail.shape[0]:
        return trail
    grown = np.empty((2 * trail.shape[0] + rows, trail.shape[1]), dtype=np.uint64)
    grown[:cursor[TLEN]] = trail[:cursor[TLEN]]
    return grown


@njit(cache=True, nogil=True)
def _undo_to(mark: int, dom: np.ndarray, count: np.ndarray, saved_at: np.ndarray, trail: np.ndarray,
             cursor: np.ndarray) -> None:
    """Restore every slot saved after trail position ``mark`` (their words, counts and save depths)."""
    t = cursor[TLEN]
    while t > mark:
        t -= 1
        cell = np.int64(trail[t, 0])
        n = 0
        for k in range(dom.shape[1]):
            dom[cell, k] = trail[t, 2 + k]
            n += popcount(dom[cell, k])
        count[cell] = n
        saved_at[cell] = np.int64(trail[t, 1])
    cursor[TLEN] = t


@njit(cache=True, nogil=True)
def _propagate(gh: int, gw: int, depth: int, dom: np.ndarray, count: np.ndarray, unions: np.ndarray,
               queue: np.ndarray, queued: np.ndarray, saved_at: np.ndarray, trail: np.ndarray,
               cursor: np.ndarray, scratch: np.ndarray) -> int:
    """Narrow the neighbours of queued slots until nothing changes (arc consistency).

    queue: (cells,) ring buffer of cursor[QLEN] slots from cursor[QHEAD] (first in, first out, so a slot
    gathers several narrowings before it is revisited). Returns SETTLED (queue empty), CONTRADICTION (a
    slot lost every option; queue emptied) or TRAIL_FULL (fewer than 4 free trail rows; nothing half done,
    grow the trail and call again).
    """
    words = dom.shape[1]
    cells = queue.shape[0]
    while cursor[QLEN] > 0:
        if cursor[TLEN] + 4 > trail.shape[0]:
            return TRAIL_FULL
        head = cursor[QHEAD]
        cell = queue[head]
        cursor[QHEAD] = head + 1 if head + 1 < cells else 0
        cursor[QLEN] -= 1
        queued[cell] = False
        r = cell // gw
        c = cell - r * gw
        _union_compat(dom, cell, unions, scratch)
        for d in range(4):
            rr = r + _DR[d]
            cc = c + _DC[d]
            if rr < 0 or cc < 0 or rr >= gh or cc >= gw:
                continue
            other = rr * gw + cc
            changed = False
            for k in range(words):
                if dom[other, k] & ~scratch[d * words + k] != ZERO:
                    changed = True
            if not changed:
                continue
            _save(other, depth, dom, saved_at, trail, cursor)
            n = 0
            for k in range(words):
                dom[other, k] &= scratch[d * words + k]
                n += popcount(dom[other, k])
            count[other] = n
            if n == 0:
                while cursor[QLEN] > 0:
                    queued[queue[cursor[QHEAD]]] = False
                    cursor[QHEAD] = (cursor[QHEAD] + 1) % cells
                    cursor[QLEN] -= 1
                return CONTRADICTION
            if not queued[other]:
                queued[other] = True
                queue[(cursor[QHEAD] + cursor[QLEN]) % cells] = other
                cursor[QLEN] += 1
    return SETTLED


@njit(cache=True, nogil=True)
def _enqueue_only(cell: int, queue: np.ndarray, queued: np.ndarray, cursor: np.ndarray) -> None:
    """Make ``cell`` the only queued slot (the queue is empty when this is called)."""
    queued[cell] = True
    cursor[QHEAD] = 0
    queue[0] = cell
    cursor[QLEN] = 1


@njit(cache=True, nogil=True)
def _most_constrained(count: np.ndarray, order: np.ndarray) -> int:
    """The slot with the fewest options above one, ties going to the earliest in ``order``; -1 if all decided.

    order: (cells,) slot indices in the seeded tie-break order. Stops at the first slot with two options.
    """
    best = -1
    best_count = 1 << 62
    for i in range(order.shape[0]):
        cell = order[i]
        n = count[cell]
        if 1 < n < best_count:
            best_count = n
            best = cell
            if n == 2:
                break
    return best


@njit(cache=True, nogil=True)
def _weighted_pick(dom: np.ndarray, cell: int, weights: np.ndarray, uniform: float) -> int:
    """A pattern of ``dom[cell]`` drawn with probability proportional to its weight (lowest index first)."""
    total = 0.0
    for wi in range(dom.shape[1]):
        bits = dom[cell, wi]
        while bits != ZERO:
            total += weights[wi * 64 + lowest_bit(bits)]
            bits &= bits - ONE
    target = uniform * total
    pick = -1
    for wi in range(dom.shape[1]):
        bits = dom[cell, wi]
        while bits != ZERO:
            pick = wi * 64 + lowest_bit(bits)
            bits &= bits - ONE
            target -= weights[pick]
            if target <= 0.0:
                return pick
    return pick


@njit(cache=True, nogil=True)
def settle(gh: int, gw: int, unions: np.ndarray, allowed: np.ndarray) -> tuple[np.ndarray, bool]:
    """Arc-consistent closure of (gh*gw, W) uint64 starting domains: (domains, False if a slot is empty).

    The same for every seed, so callers settle once and hand the result to ``wfc_solve`` many times.
    """
    cells = gh * gw
    dom = allowed.copy()
    count = np.zeros(cells, dtype=np.int64)
    queue = np.arange(cells)
    queued = np.ones(cells, dtype=np.bool_)
    cursor = np.zeros(3, dtype=np.int64)
    cursor[QLEN] = cells
    for cell in range(cells):
        for k in range(dom.shape[1]):
            count[cell] += popcount(dom[cell, k])
        if count[cell] == 0:
            return dom, False
    unused_trail = np.empty((4, 2 + dom.shape[1]), dtype=np.uint64)  # depth 0 saves nothing
    saved_at = np.zeros(cells, dtype=np.int64)
    status = _propagate(gh, gw, 0, dom, count, unions, queue, queued, saved_at, unused_trail, cursor,
                        np.empty(4 * dom.shape[1], dtype=np.uint64))
    return dom, status == SETTLED


@njit(cache=True, nogil=True)
def wfc_solve(gh: int, gw: int, weights: np.ndarray, unions: np.ndarray, allowed: np.ndarray,
              uniforms: np.ndarray, max_backtracks: int) -> tuple[np.ndarray, int, int]:
    """Collapse a (gh, gw) grid of pattern slots.

    Args:
        weights: (P,) float64 pattern frequencies.
        unions: ``chunk_unions`` of the (4, P, W) uint64 compatibility bitsets, where bit q of
            ``compat[d, p]`` allows q one step in direction d (E, S, W, N) from a slot holding p.
        allowed: (gh*gw, W) uint64 initial domain per slot, already arc consistent: the domains that
            ``settle`` returned as satisfiable.
        uniforms: (k,) float64 in [0, 1), consumed cyclically: first one per slot (sorted, they give the
            tie-break order among equally constrained slots), then one per decision.
        max_backtracks: give up after this many undone decisions.
    Returns:
        (chosen (gh*gw,) int32 pattern per slot or -1, status OK / UNSATISFIABLE / GAVE_UP, backtracks used).
    """
    cells = gh * gw
    words = allowed.shape[1]
    dom = allowed.copy()
    count = np.zeros(cells, dtype=np.int64)
    queue = np.empty(cells, dtype=np.int64)
    queued = np.zeros(cells, dtype=np.bool_)
    saved_at = np.zeros(cells, dtype=np.int64)
    nu = uniforms.shape[0]
    u = 0
    cursor = np.zeros(3, dtype=np.int64)
    tiebreak = np.empty(cells, dtype=np.float64)
    for cell in range(cells):
        tiebreak[cell] = uniforms[u % nu]
        u += 1
    order = np.argsort(tiebreak, kind="mergesort")
    for cell in range(cells):
        n = 0
        for k in range(words):
            n += popcount(dom[cell, k])
        count[cell] = n
    chosen = np.full(cells, -1, dtype=np.int32)
    trail = np.empty((cells + 16, 2 + words), dtype=np.uint64)
    cursor[TLEN] = 0
    scratch = np.empty(4 * words, dtype=np.uint64)
    decisions = np.empty((cells + 1, 3), dtype=np.int64)  # slot, pattern, trail mark
    depth = 0
    backtracks = 0
    while True:
        status = _propagate(gh, gw, depth, dom, count, unions, queue, queued, saved_at, trail, cursor, scratch)
        if status == TRAIL_FULL:
            trail = _with_room(trail, cursor, 4)
            continue
        while status == CONTRADICTION:
            # undo the latest decision and forbid its pattern there (an empty slot undoes one more)
            if depth == 0:
                return chosen, UNSATISFIABLE, backtracks
            backtracks += 1
            if backtracks > max_backtracks:
                return chosen, GAVE_UP, backtracks
            depth -= 1
            cell, pick, mark = decisions[depth, 0], decisions[depth, 1], decisions[depth, 2]
            _undo_to(mark, dom, count, saved_at, trail, cursor)
            _save(cell, depth, dom, saved_at, trail, cursor)  # the undo freed at least this row
            dom[cell, pick // 64] &= ~(ONE << np.uint64(pick % 64))
            count[cell] -= 1
            if count[cell] > 0:
                status = SETTLED
                _enqueue_only(cell, queue, queued, cursor)
        if cursor[QLEN] > 0:
            continue
        cell = _most_constrained(count, order)
        if cell < 0:
            break
        pick = _weighted_pick(dom, cell, weights, uniforms[u % nu])
        u += 1
        decisions[depth, 0], decisions[depth, 1], decisions[depth, 2] = cell, pick, cursor[TLEN]
        depth += 1
        trail = _with_room(trail, cursor, 1)
        _save(cell, depth, dom, saved_at, trail, cursor)
        for k in range(words):
            dom[cell, k] = ZERO
        dom[cell, pick // 64] = ONE << np.uint64(pick % 64)
        count[cell] = 1
        _enqueue_only(cell, queue, queued, cursor)
    for cell in range(cells):
        for wi in range(words):
            if dom[cell, wi] != ZERO:
                chosen[cell] = wi * 64 + lowest_bit(dom[cell, wi])
                break
    return chosen, OK, backtracks


@njit(cache=True, nogil=True)
def paint_tiles(chosen: np.ndarray, patterns: np.ndarray, gh: int, gw: int) -> np.ndarray:
    """(gh + n - 1, gw + n - 1) uint8 tiles from a (gh*gw,) slot -> pattern index grid; patterns (P, n, n)."""
    n = patterns.shape[1]
    tiles = np.zeros((gh + n - 1, gw + n - 1), dtype=np.uint8)
    for r in range(gh):
        for c in range(gw):
            p = chosen[r * gw + c]
            for i in range(n):
                for j in range(n):
                    tiles[r + i, c + j] = patterns[p, i, j]
    return tiles
