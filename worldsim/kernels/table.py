"""Entity-table bookkeeping kernels: clear despawned rows, find the lowest free rows.

Why kernels: an ecology step despawns and spawns hundreds of rows; done with one numpy fancy-index
write per column it costs a few microseconds per column per call, which dominates small worlds' steps.
``reset_rows`` walks every column in one compiled call (``literal_unroll`` over the heterogeneous tuple of
columns), so adding a column to ``state.COLUMNS`` still needs no change here.
"""

from __future__ import annotations

from numba import literal_unroll, njit


@njit(cache=True, nogil=True)
def reset_rows(rows, pairs):  # pragma: no cover - compiled
    """Set ``column[row] = default`` for every (column, default) in ``pairs`` and every row in ``rows`` (k,)."""
    for pair in literal_unroll(pairs):
        column = pair[0]
        value = pair[1]
        for i in range(rows.shape[0]):
            column[rows[i]] = value


@njit(cache=True, nogil=True)
def lowest_free_rows(alive, extent, n, out):  # pragma: no cover - compiled
    """Write up to ``n`` rows below ``extent`` whose ``alive`` is False, ascending, to ``out``; returns how many."""
    k = 0
    for r in range(extent):
        if k == n:
            break
        if not alive[r]:
            out[k] = r
            k += 1
    return k


@njit(cache=True, nogil=True)
def advance_generations(rows, generation, first, last):  # pragma: no cover - compiled
    """Bump the generation of each row in ``rows`` (k,), wrapping from ``last`` back to ``first``."""
    for i in range(rows.shape[0]):
        r = rows[i]
        generation[r] = first if generation[r] >= last else generation[r] + 1


@njit(cache=True, nogil=True)
def claim_rows(rows, alive, kind, kind_value, pos, target, new_pos):  # pragma: no cover - compiled
    """Mark ``rows`` (k,) live entities of ``kind_value`` at ``new_pos`` (k, 3) metres (target = x, y)."""
    for i in range(rows.shape[0]):
        r = rows[i]
        alive[r] = True
        kind[r] = kind_value
        for axis in range(3):
            pos[r, axis] = new_pos[i, axis]
        target[r, 0] = new_pos[i, 0]
        target[r, 1] = new_pos[i, 1]
