"""Ecology kernels: grazers and hunters on the tile grid, and grass that regrows.

One ecology step (``fauna_step`` then ``regrow_grass``) follows the WolfSheep rules generalised to any
number of species: creatures act one at a time in the caller's order (species in scenario order, shuffled
within each species); each moves to a random neighbour tile of its habitat (8-neighbourhood, clipped at
the map edge), loses metabolism energy, eats (grass on its tile, or one random live prey of its prey species on its
tile), dies of starvation (energy < 0) or age, and may reproduce (probability, energy threshold, energy
halved, newborn on the same tile). A prey eaten earlier in the step does not act. Newborns are created by
the caller after the step (even if the parent was eaten later in the step) and first act -- and can first
be eaten -- in the next one.

Kernels never draw random numbers: the caller passes ``draws`` (k, 3) uniforms in [0, 1) from the world's
"ecology" stream (column 0: move, 1: reproduce, 2: prey choice), so the random sequence stays in
``RngStreams`` (saved, hashed). Per-tile occupancy is kept between calls as doubly linked lists per
(species, tile) (``link_creatures`` builds them; ``fauna_step`` keeps them current). Prey choice is by row
rank, not list position, so the lists are derived state: rebuilt after a load, the outcome is the same.

Death causes: 1 starvation, 2 predation, 3 old age.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .table import advance_generations, lowest_free_rows, reset_rows

STARVATION = 1
PREDATION = 2
OLD_AGE = 3
GRASS = -1
"""``diet`` value of a grazer; hunters hold their prey's species index."""


@njit(cache=True, nogil=True)
def fauna_step(order, draws, species, energy, age, cell, n, passable, grown, countdown, regrowth,
               diet, gain, metabolism, reproduce, reproduce_energy, max_age, sated_above, metabolism_factor,
               head, nxt, prv, dead, births, deaths, death_cause, death_by, scratch):  # pragma: no cover - compiled
    """Run every creature in ``order`` once, keeping the per-(species, tile) lists up to date.

    Args:
        order: (k,) int64 rows in activation order. draws: (k, 3) float64 uniforms.
        species (rows,) uint8, energy (rows,) float64, age (rows,) int32, cell (rows,) int32 flat tile:
            the entity columns (written).
        n: tiles per side. passable: (S, n*n) bool, where each species may go. grown: (n*n,) bool written.
            countdown: (n*n,) float64 written (steps until regrown). regrowth: (n*n,) float64 steps a
            grazed tile needs (0: barren).
        diet (S,) int64 (-1 grass, else prey species); gain, metabolism, reproduce, reproduce_energy (S,)
            float64; max_age (S,) int64 (0: none); sated_above (S,) float64 (no eating above this energy,
            0: always eats). metabolism_factor: weather multiplier.
        head: (S, n*n) int32, nxt, prv: (rows,) int32 -- the doubly linked lists of live creatures per
            (species, tile) (``link_creatures``), kept current. dead: (rows,) bool, set for rows that die.
        births: (k,) int64 out, parent rows. deaths, death_cause, death_by: (k,) int64 out (row, cause,
            killer row or -1). scratch: (rows,) int64 work space.
    Returns:
        (number of births, number of deaths, tiles grazed).

    A hunter eats the ``floor(u * count)``-th smallest row among the ``count`` prey on its tile, so the
    outcome never depends on the order inside a list (lists can be rebuilt after a load).
    """
    n_births = 0
    n_deaths = 0
    grazed = 0
    for j in range(order.shape[0]):
        r = order[j]
        if dead[r]:
            continue
        s = species[r]
        c = cell[r]
        # -- move to a random neighbour tile of the habitat (stay if there is none)
        cx, cy = c % n, c // n
        options = 0
        target = c
        pick = -1
        for dy in range(-1, 2):
            for dx in range(-1, 2):
                x, y = cx + dx, cy + dy
                if (dx != 0 or dy != 0) and 0 <= x < n and 0 <= y < n and passable[s, y * n + x]:
                    scratch[options] = y * n + x
                    options += 1
        if options > 0:
            pick = min(int(draws[j, 0] * options), options - 1)
            target = scratch[pick]
            _unlink(r, s, c, head, nxt, prv)
            c = target
            cell[r] = c
            _link(r, s, c, head, nxt, prv)
        # -- metabolism, eating
        energy[r] -= metabolism[s] * metabolism_factor
        if sated_above[s] > 0.0 and energy[r] > sated_above[s]:
            pass
        elif diet[s] == GRASS:
            if grown[c]:
                grown[c] = False
                countdown[c] = regrowth[c]
                energy[r] += gain[s]
                grazed += 1
        else:
            prey_species = diet[s]
            count = 0
            q = head[prey_species, c]
            while q >= 0:
                scratch[count] = q
                count += 1
                q = nxt[q]
            if count > 0:
                rank = min(int(draws[j, 2] * count), count - 1)
                for a in range(1, count):  # insertion sort: a handful of prey per tile
                    v = scratch[a]
                    b = a - 1
                    while b >= 0 and scratch[b] > v:
                        scratch[b + 1] = scratch[b]
                        b -= 1
                    scratch[b + 1] = v
                q = scratch[rank]
                _unlink(q, prey_species, c, head, nxt, prv)
                dead[q] = True
                deaths[n_deaths] = q
                death_cause[n_deaths] = PREDATION
                death_by[n_deaths] = r
                n_deaths += 1
                energy[r] += gain[s]
        # -- death or reproduction
        age[r] += 1
        cause = 0
        if energy[r] < 0.0:
            cause = STARVATION
        elif max_age[s] > 0 and age[r] > max_age[s]:
            cause = OLD_AGE
        if cause != 0:
            _unlink(r, s, c, head, nxt, prv)
            dead[r] = True
            deaths[n_deaths] = r
            death_cause[n_deaths] = cause
            death_by[n_deaths] = -1
            n_deaths += 1
        elif energy[r] >= reproduce_energy[s] and draws[j, 1] < reproduce[s]:
            energy[r] /= 2.0
            births[n_births] = r
            n_births += 1
    return n_births, n_deaths, grazed


@njit(cache=True, nogil=True, inline="always")
def _link(r, s, c, head, nxt, prv):  # pragma: no cover - compiled
    nxt[r] = head[s, c]
    prv[r] = -1
    if head[s, c] >= 0:
        prv[head[s, c]] = r
    head[s, c] = r


@njit(cache=True, nogil=True, inline="always")
def _unlink(r, s, c, head, nxt, prv):  # pragma: no cover - compiled
    if prv[r] >= 0:
        nxt[prv[r]] = nxt[r]
    else:
        head[s, c] = nxt[r]
    if nxt[r] >= 0:
        prv[nxt[r]] = prv[r]


@njit(cache=True, nogil=True)
def link_creatures(rows, species, cell, head, nxt, prv, dead):  # pragma: no cover - compiled
    """Add ``rows`` (k,) to the per-(species, tile) lists and clear their ``dead`` flag."""
    for i in range(rows.shape[0]):
        r = rows[i]
        dead[r] = False
        _link(r, species[r], cell[r], head, nxt, prv)


@njit(cache=True, nogil=True)
def cohort_rows(alive, kind, creature_kind, phase, stride, out):  # pragma: no cover - compiled
    """Write the live creature rows ``r`` with ``r % stride == phase`` (ascending) to ``out``; returns k."""
    k = 0
    for r in range(phase, alive.shape[0], stride):
        if alive[r] and kind[r] == creature_kind:
            out[k] = r
            k += 1
    return k


@njit(cache=True, nogil=True)
def regrow_grass(grown, countdown, regrowth, growth, growth_factor, phase=0, stride=1):  # pragma: no cover
    """Advance the countdown of every grazed tile ``i`` with ``i % stride == phase``; a tile whose countdown
    is already <= 0 becomes grown.

    Args:
        grown (t,) bool written, countdown (t,) float64 written, regrowth (t,) float64 (0: barren tile,
        never grows), growth (t,) float64 per-tile speed, growth_factor: weather/daylight multiplier.
        phase, stride: which tiles this call visits (stride 1: all of them).
    Returns:
        the number of grown tiles among those visited, after the step.
    """
    total = 0
    for i in range(phase, grown.shape[0], stride):
        if not grown[i] and regrowth[i] > 0.0:
            if countdown[i] <= 0.0:
                grown[i] = True
            else:
                countdown[i] -= growth[i] * growth_factor
        if grown[i]:
            total += 1
    return total


@njit(cache=True, nogil=True)
def activation_order(rows, species, n_species, uniforms, out):  # pragma: no cover - compiled
    """Rows grouped by species (ascending species index), each group shuffled (Fisher-Yates).

    Args:
        rows: (k,) int64 creature rows, ascending. species: (k,) species index of each row.
        n_species: S. uniforms: (k,) float64 in [0, 1): one draw per position. out: (k,) int64 written.
    """
    counts = np.zeros(n_species + 1, dtype=np.int64)
    for i in range(rows.shape[0]):
        counts[species[i] + 1] += 1
    for s in range(n_species):
        counts[s + 1] += counts[s]
    fill = counts[:-1].copy()
    for i in range(rows.shape[0]):
        s = species[i]
        out[fill[s]] = rows[i]
        fill[s] += 1
    for s in range(n_species):
        lo, hi = counts[s], counts[s + 1]
        for i in range(hi - 1, lo, -1):  # shuffle out[lo:hi]
            j = lo + min(int(uniforms[i] * (i - lo + 1)), i - lo)
            out[i], out[j] = out[j], out[i]


@njit(cache=True, nogil=True, inline="always")
def _tile_xy(c, n, tile_size, half_extent):  # pragma: no cover - compiled
    """Centre (x, y) metres of flat tile ``c`` on an n x n grid of ``tile_size`` m tiles centred on 0."""
    return -half_extent + (c % n + 0.5) * tile_size, -half_extent + (c // n + 0.5) * tile_size


@njit(cache=True, nogil=True)
def tile_centres(tiles, elevation, n, tile_size, half_extent, out):  # pragma: no cover - compiled
    """Write the centre (x, y, ground z) of each flat tile in ``tiles`` (k,) to ``out`` (k, 3), metres."""
    for i in range(tiles.shape[0]):
        c = tiles[i]
        out[i, 0], out[i, 1] = _tile_xy(c, n, tile_size, half_extent)
        out[i, 2] = elevation[c]


@njit(cache=True, nogil=True)
def settle_step(order, n_births, n_deaths, births, deaths, killers, immigrant_tiles, immigrant_species,
                immigrant_energy, alive, generation, kind, creature_kind, species, energy, cell, pos, vel, target,
                reset_pairs, extent, capacity, count, first_generation, last_generation, row_bits, elevation, n,
                tile_size, half_extent, glide_seconds, head, nxt, prv, dead, rows_out, ids_out,
                out_species):  # pragma: no cover - compiled
    """Apply what ``fauna_step`` decided, in one pass: ids for the events, the dead despawned, the survivors
    that acted set gliding to their tile centre, newborns (then immigrants) spawned in the lowest free rows
    of a full-or-not table and linked into the tile lists.

    Args:
        order (k,), births (n_births,), deaths/killers (n_deaths,): ``fauna_step`` outputs (rows).
        immigrant_tiles/_species/_energy (m,): arrivals from the map edge.
        alive .. target: entity columns (written); reset_pairs: (column, default) for every column but
            ``generation`` (``EntityTable._reset_pairs``). extent, capacity, count: the table's.
        elevation (n*n,), n, tile_size, half_extent: terrain; glide_seconds > 0.
        head, nxt, prv, dead: the tile lists.
        rows_out (>= n_births + m,) int64 scratch for new rows. ids_out: (4, >= max(n_deaths, n_births + m))
            int64 out -- dead ids, killer ids (0: none), parent ids (0: immigrant), born ids.
        out_species: (2, same) int64 out -- species of the dead, species of the born.
    Returns:
        (born, dropped births, new extent).
    """
    for i in range(n_deaths):
        r = deaths[i]
        ids_out[0, i] = (np.int64(generation[r]) << row_bits) | r
        q = killers[i]
        ids_out[1, i] = ((np.int64(generation[q]) << row_bits) | q) if q >= 0 else 0
        out_species[0, i] = species[r]
    room = capacity - count + n_deaths
    kept = min(n_births, room)
    total = kept + min(immigrant_tiles.shape[0], room - kept)
    for i in range(kept):  # remember each newborn before its parent's row may be recycled
        p = births[i]
        ids_out[2, i] = (np.int64(generation[p]) << row_bits) | p
        out_species[1, i] = species[p]
        rows_out[i] = p
    for j in range(order.shape[0]):  # survivors that acted glide to their new tile centre
        r = order[j]
        if not dead[r]:
            c = cell[r]
            x, y = _tile_xy(c, n, tile_size, half_extent)
            target[r, 0] = x
            target[r, 1] = y
            vel[r, 0] = (x - pos[r, 0]) / glide_seconds
            vel[r, 1] = (y - pos[r, 1]) / glide_seconds
            vel[r, 2] = (elevation[c] - pos[r, 2]) / glide_seconds
    born_tile = np.empty(total, dtype=np.int64)
    born_energy = np.empty(total)
    for i in range(kept):
        p = rows_out[i]
        born_tile[i] = cell[p]
        born_energy[i] = energy[p]
    for i in range(kept, total):
        born_tile[i] = immigrant_tiles[i - kept]
        born_energy[i] = immigrant_energy[i - kept]
        out_species[1, i] = immigrant_species[i - kept]
        ids_out[2, i] = 0
    dead_rows = deaths[:n_deaths]
    reset_rows(dead_rows, reset_pairs)
    advance_generations(dead_rows, generation, first_generation, last_generation)
    found = lowest_free_rows(alive, extent, total, rows_out)
    for i in range(found, total):
        rows_out[i] = extent
        extent += 1
    for i in range(total):
        r = rows_out[i]
        c = born_tile[i]
        alive[r] = True
        kind[r] = creature_kind
        species[r] = out_species[1, i]
        energy[r] = born_energy[i]
        cell[r] = c
        pos[r, 0], pos[r, 1] = _tile_xy(c, n, tile_size, half_extent)
        pos[r, 2] = elevation[c]
        target[r, 0] = pos[r, 0]
        target[r, 1] = pos[r, 1]
        ids_out[3, i] = (np.int64(generation[r]) << row_bits) | r
        dead[r] = False
        _link(r, species[r], c, head, nxt, prv)
    return total, n_births - kept, extent
