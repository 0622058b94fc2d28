"""Ecology kernels: grazers and hunters on the tile grid, and grass that regrows.

One ecology step (``fauna_step`` then ``regrow_grass``) follows the WolfSheep rules generalised to any
number of species: creatures act one at a time in the caller's order (species in scenario order, shuffled
within each species); each moves to a random passable neighbour tile (8-neighbourhood, clipped at the map
edge), loses metabolism energy, eats (grass on its tile, or one random live prey of its prey species on its
tile), dies of starvation (energy < 0) or age, and may reproduce (probability, energy threshold, energy
halved, newborn on the same tile). A prey eaten earlier in the step does not act. Newborns are created by
the caller after the step (even if the parent was eaten later in the step) and first act -- and can first
be eaten -- in the next one.

Kernels never draw random numbers: the caller passes ``draws`` (k, 3) uniforms in [0, 1) from the world's
"ecology" stream (column 0: move, 1: reproduce, 2: prey choice), so the random sequence stays in
``RngStreams`` (saved, hashed). Per-tile occupancy is rebuilt at the start of each step as doubly linked
lists per (species, tile), which is O(creatures) and keeps nothing between steps.

Death causes: 1 starvation, 2 predation, 3 old age.
"""

from __future__ import annotations

from numba import njit

STARVATION = 1
PREDATION = 2
OLD_AGE = 3
GRASS = -1
"""``diet`` value of a grazer; hunters hold their prey's species index."""


@njit(cache=True, nogil=True)
def fauna_step(order, draws, species, energy, age, cell, n, passable, grown, countdown, regrowth,
               diet, gain, metabolism, reproduce, reproduce_energy, max_age, sated_above, metabolism_factor,
               head, nxt, prv, dead, births, deaths, death_cause, death_by):  # pragma: no cover - compiled
    """Run every creature in ``order`` once.

    Args:
        order: (k,) int64 rows in activation order. draws: (k, 3) float64 uniforms.
        species (rows,) uint8, energy (rows,) float64, age (rows,) int32, cell (rows,) int32 flat tile:
            the entity columns (written).
        n: tiles per side. passable: (S, n*n) bool, where each species may go. grown: (n*n,) bool written. countdown: (n*n,) float64
            written (steps until regrown). regrowth: (n*n,) float64 steps a grazed tile needs (0: barren).
        diet (S,) int64 (-1 grass, else prey species); gain, metabolism, reproduce, reproduce_energy (S,)
            float64; max_age (S,) int64 (0: none); sated_above (S,) float64 (no eating above this energy,
            0: always eats). metabolism_factor: weather multiplier.
        head: (S, n*n) int32 scratch. nxt, prv, dead: (rows,) int32/int32/bool scratch.
        births: (k,) int64 out, parent rows. deaths, death_cause, death_by: (k,) int64 out (row, cause,
            killer row or -1).
    Returns:
        (number of births, number of deaths, tiles grazed).
    """
    head[:, :] = -1
    for j in range(order.shape[0]):
        r = order[j]
        dead[r] = False
        s = species[r]
        c = cell[r]
        nxt[r] = head[s, c]
        prv[r] = -1
        if head[s, c] >= 0:
            prv[head[s, c]] = r
        head[s, c] = r
    n_births = 0
    n_deaths = 0
    grazed = 0
    for j in range(order.shape[0]):
        r = order[j]
        if dead[r]:
            continue
        s = species[r]
        c = cell[r]
        # -- move to a random passable neighbour (stay if there is none)
        cx, cy = c % n, c // n
        options = 0
        target = c
        for dy in range(-1, 2):
            for dx in range(-1, 2):
                x, y = cx + dx, cy + dy
                if (dx != 0 or dy != 0) and 0 <= x < n and 0 <= y < n and passable[s, y * n + x]:
                    options += 1
        if options > 0:
            pick = min(int(draws[j, 0] * options), options - 1)
            for dy in range(-1, 2):
                for dx in range(-1, 2):
                    x, y = cx + dx, cy + dy
                    if (dx != 0 or dy != 0) and 0 <= x < n and 0 <= y < n and passable[s, y * n + x]:
                        if pick == 0:
                            target = y * n + x
                        pick -= 1
            # unlink from the old tile, link at the new one
            if prv[r] >= 0:
                nxt[prv[r]] = nxt[r]
            else:
                head[s, c] = nxt[r]
            if nxt[r] >= 0:
                prv[nxt[r]] = prv[r]
            c = target
            cell[r] = c
            nxt[r] = head[s, c]
            prv[r] = -1
            if head[s, c] >= 0:
                prv[head[s, c]] = r
            head[s, c] = r
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
                count += 1
                q = nxt[q]
            if count > 0:
                pick = min(int(draws[j, 2] * count), count - 1)
                q = head[prey_species, c]
                for _ in range(pick):
                    q = nxt[q]
                if prv[q] >= 0:
                    nxt[prv[q]] = nxt[q]
                else:
                    head[prey_species, c] = nxt[q]
                if nxt[q] >= 0:
                    prv[nxt[q]] = prv[q]
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
            if prv[r] >= 0:
                nxt[prv[r]] = nxt[r]
            else:
                head[s, c] = nxt[r]
            if nxt[r] >= 0:
                prv[nxt[r]] = prv[r]
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


@njit(cache=True, nogil=True)
def regrow_grass(grown, countdown, regrowth, growth, growth_factor):  # pragma: no cover - compiled
    """Advance every grazed tile's countdown; a tile whose countdown is already <= 0 becomes grown.

    Args:
        grown (t,) bool written, countdown (t,) float64 written, regrowth (t,) float64 (0: barren tile,
        never grows), growth (t,) float64 per-tile speed, growth_factor: weather/daylight multiplier.
    Returns:
        the number of grown tiles after the step.
    """
    total = 0
    for i in range(grown.shape[0]):
        if not grown[i] and regrowth[i] > 0.0:
            if countdown[i] <= 0.0:
                grown[i] = True
            else:
                countdown[i] -= growth[i] * growth_factor
        if grown[i]:
            total += 1
    return total
