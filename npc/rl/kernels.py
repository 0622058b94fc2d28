"""The RL step kernel: every world of a batch advanced by ONE compiled call (``step_worlds``).

A world is a ``G`` x ``G`` window (the *arena*) cut from a terrain *atlas* (a bundled scenario's
``Terrain``: passable tiles and per-tile regrowth time) at an origin drawn per episode. Each world holds
``A`` agents and up to ``MAX_PREDATORS`` pursuers on the tile grid and its own grass layer.

Grass follows the ecology kernel's rule (``worldsim.kernels.ecology.regrow_grass``): a grazed tile gets a
countdown of the biome's ``grass_regrowth`` that shrinks by ``growth`` per ecology step and the tile is
grown again on the first step that finds the countdown <= 0. One env step is one ecology step with a
constant growth factor, so the countdown is stored as the step at which the tile is grown again
(``regrow_at``): ``grown(t) = t >= regrow_at`` -- O(1) per grazing instead of a sweep over every tile of
every world each step. ``tests/test_rl_kernels.py`` checks it against ``regrow_grass`` itself.

One step of one world, in order: agents act in index order (move one tile N/E/S/W or stand; a move costs
energy, standing restores it; a move into a blocked tile or with too little energy fails), each grazes
the tile it stands on if grown; needs advance (hunger; starvation hurts); pursuers move (chase the
nearest live agent within sight with probability ``aggression``, else wander); each pursuer within one
tile of a live agent hits it with probability ``accuracy``; agents at zero health die (terminated); at
``max_steps`` the live agents are truncated; observations are written.

Randomness: each world owns a SplitMix64 state (``rng`` (W,) uint64), seeded from a numpy
``Generator(PCG64(seed))`` at a seeded reset; draws happen in a fixed order, so a world's trajectory
depends only on its seed, its parameters and its actions -- never on the batch it is in. That is what
makes the single env (a batch of one) and the batched env agree step for step.

Observation of one agent (``obs_size(R)`` float32 in [0, 1]), centred on its tile, view radius ``R``
(``S = (2R+1)^2`` cells, cell index ``(dy + R) * (2R+1) + (dx + R)``, dy = +1 is north, +y):

    [0*S : 1*S]  grass grown on the cell
    [1*S : 2*S]  cell blocked (impassable terrain or outside the arena / map)
    [2*S : 3*S]  a pursuer on the cell
    [3*S : 4*S]  another live agent on the cell
    [4*S + 0]    hunger (0 fed .. 1 starving)
    [4*S + 1]    energy (0 exhausted .. 1 rested)
    [4*S + 2]    health (0 dead .. 1 full)

Alternatives rejected: per-world Python objects (a Python call per world per step), a dense countdown
sweep like the world's ecology step (W x G x G work per step), and numpy vectorised over worlds
(pursuer chases and grazing conflicts are sequential).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..kernels.variants import serial_and_parallel
from .params import (
    ACCURACY,
    AGGRESSION,
    DAMAGE,
    DEATH_PENALTY,
    EAT_GAIN,
    EAT_REWARD,
    GRASS_START,
    HUNGER_RATE,
    MAX_STEPS,
    MOVE_COST,
    PREDATORS,
    REGROWTH_SCALE,
    REST_GAIN,
    SIGHT,
    STARVE_DAMAGE,
    STEP_REWARD,
    WANDER,
)

NEXT_STEP = 0
"""Autoreset mode: a world that ended is reset by the next step call (its actions ignored)."""
SAME_STEP = 1
"""Autoreset mode: a world that ends is reset in the same call; the final observation is kept apart."""
DISABLED = 2
"""Autoreset mode: the caller resets (PettingZoo)."""

NEVER = np.int64(1 << 62)
"""``regrow_at`` of a barren tile."""

MOVES = np.array([[0, 0], [0, 1], [1, 0], [0, -1], [-1, 0]], dtype=np.int64)
"""(dx, dy) tiles of each action: 0 stand, 1 north (+y), 2 east (+x), 3 south (-y), 4 west (-x)."""

N_NEEDS = 3

VIEW_RADIUS = 3
"""Tiles an agent sees in each direction (a 7 x 7 view). A compile-time constant of the step kernel."""


def obs_size(view_radius: int) -> int:
    """Length of one agent's observation vector for view radius ``R`` tiles: 4 * (2R+1)^2 + 3."""
    return 4 * (2 * view_radius + 1) ** 2 + N_NEEDS


@njit(cache=True, nogil=True, inline="always")
def _uniform(rng, w):  # pragma: no cover - compiled
    """Next SplitMix64 draw of world ``w`` as a float64 in [0, 1)."""
    s = rng[w] + np.uint64(0x9E3779B97F4A7C15)
    rng[w] = s
    z = s
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return np.float64(z >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True, nogil=True, inline="always")
def _open(blocked, w, r, x, y):  # pragma: no cover - compiled
    """True if arena tile (x, y) (at most ``r`` tiles outside the arena) is passable."""
    return blocked[w, y + r, x + r] == 0


@njit(cache=True, nogil=True)
def observe_fields(tiles, needs, r, grown_pad, blocked_pad, hunters_pad, npcs_pad, out):  # pragma: no cover
    """Observations of agents standing in a live world, in the env's layout (module docstring).

    Args:
        tiles: (k, 2) int64 tile (x, y) of each agent. needs: (k, 3) float64 hunger, energy, health.
        r: view radius. grown_pad, blocked_pad: (n + 2r, n + 2r) uint8 grass grown / blocked, padded by r
            (padding blocked, not grown), indexed [y + r, x + r]. hunters_pad, npcs_pad: same shape, int64
            counts of pursuers / agents per tile (each agent itself included; it is subtracted here).
        out: (k, obs_size(r)) float32 written.
    """
    side = 2 * r + 1
    cells = side * side
    for i in range(tiles.shape[0]):
        x0, y0 = tiles[i, 0], tiles[i, 1]
        for j in range(side):
            for q in range(side):
                k = j * side + q
                y, x = y0 + j, x0 + q
                out[i, k] = grown_pad[y, x]
                out[i, cells + k] = blocked_pad[y, x]
                out[i, 2 * cells + k] = 1.0 if hunters_pad[y, x] > 0 else 0.0
                others = npcs_pad[y, x] - (1 if (j == r and q == r) else 0)
                out[i, 3 * cells + k] = 1.0 if others > 0 else 0.0
        out[i, 4 * cells] = needs[i, 0]
        out[i, 4 * cells + 1] = needs[i, 1]
        out[i, 4 * cells + 2] = needs[i, 2]


@njit(cache=True, nogil=True)
def _write_obs(w, a, out, r, t, blocked, regrow_at, ax, ay, alive, hunger, energy, health, px, py,
               n_pred):  # pragma: no cover - compiled
    """Observation of agent ``a`` of world ``w`` into ``out[w, a]`` (out: (W, A, obs_size(VIEW_RADIUS)) float32).

    ``blocked`` and ``regrow_at`` are the world's arena fields padded by ``r`` (= VIEW_RADIUS) tiles on
    every side (blocked, never grown), so the view needs no bounds checks. The view radius is the
    compile-time ``VIEW_RADIUS``: with a constant side the row loops unroll (measured 2x faster).
    """
    side = 2 * VIEW_RADIUS + 1
    cells = side * side
    x0, y0 = ax[w, a], ay[w, a]
    o = out[w, a]
    o[2 * cells:4 * cells] = 0.0
    for j in range(side):
        base = j * side
        grass_row = regrow_at[w, y0 + j, x0:x0 + side]
        blocked_row = blocked[w, y0 + j, x0:x0 + side]
        for i in range(side):
            o[base + i] = np.float32(t >= grass_row[i])
            o[cells + base + i] = np.float32(blocked_row[i])
    for i in range(n_pred):
        dx, dy = px[w, i] - x0, py[w, i] - y0
        if -VIEW_RADIUS <= dx <= VIEW_RADIUS and -VIEW_RADIUS <= dy <= VIEW_RADIUS:
            o[2 * cells + (dy + VIEW_RADIUS) * side + (dx + VIEW_RADIUS)] = 1.0
    for b in range(ax.shape[1]):
        if b != a and alive[w, b]:
            dx, dy = ax[w, b] - x0, ay[w, b] - y0
            if -VIEW_RADIUS <= dx <= VIEW_RADIUS and -VIEW_RADIUS <= dy <= VIEW_RADIUS:
                o[3 * cells + (dy + VIEW_RADIUS) * side + (dx + VIEW_RADIUS)] = 1.0
    o[4 * cells] = hunger[w, a]
    o[4 * cells + 1] = energy[w, a]
    o[4 * cells + 2] = health[w, a]


@njit(cache=True, nogil=True)
def regrow_delay(countdown, growth):  # pragma: no cover - compiled
    """Ecology steps after the grazing step until a tile is grown again, by ``regrow_grass``'s own rule.

    The grazing step's own ``regrow_grass`` call is the first to subtract ``growth`` from ``countdown``
    (the biome's regrowth, ecology steps); the tile turns grown in the first call that finds the
    countdown <= 0. Counting the subtractions with the same float arithmetic keeps rounding identical.
    Returns k >= 1: grazed at step s, grown from the end of step s + k. A tile that never regrows
    (``countdown`` or ``growth`` <= 0) gives NEVER.
    """
    if countdown <= 0.0 or growth <= 0.0:
        return NEVER
    k = 0
    while countdown > 0.0:
        countdown -= growth * 1.0
        k += 1
    return k


@njit(cache=True, nogil=True)
def _random_open_tile(w, rng, blocked, r, g):  # pragma: no cover - compiled
    """A uniformly drawn passable arena tile (64 tries, then the first passable tile in scan order)."""
    for _ in range(64):
        x = min(int(_uniform(rng, w) * g), g - 1)
        y = min(int(_uniform(rng, w) * g), g - 1)
        if _open(blocked, w, r, x, y):
            return x, y
    for y in range(g):
        for x in range(g):
            if _open(blocked, w, r, x, y):
                return x, y
    return 0, 0


@njit(cache=True, nogil=True)
def _spawn_agent(w, a, rng, blocked, r, g, ax, ay, alive, hunger, energy, health):  # pragma: no cover
    x, y = _random_open_tile(w, rng, blocked, r, g)
    ax[w, a], ay[w, a] = x, y
    alive[w, a] = True
    hunger[w, a] = 0.3 * _uniform(rng, w)
    energy[w, a] = 1.0
    health[w, a] = 1.0


@njit(cache=True, nogil=True)
def reset_world(w, params, passable, grass_rates, g, r, rng, t, origin, blocked, regrow_at, delay_at, pred_count, ax, ay,
                alive, hunger, energy, health, eaten, px, py):  # pragma: no cover - compiled
    """Start a new episode in world ``w``: arena origin, grass, agents and pursuers drawn from its rng.

    The origin is the first of up to 32 draws whose window is at least 60% passable (else the most
    passable one drawn). Grass starts grown with probability ``grass_start``, else regrows within its
    regrowth time (like ``Ecology.seed_grass``). Pursuers start >= 6 tiles (Manhattan) from every agent
    when such a tile is found in 32 tries. ``blocked``/``regrow_at``/``delay_at`` (W, g + 2r, g + 2r) are
    padded by r; ``delay_at`` holds each tile's ``regrow_delay`` for this episode's regrowth scale (the
    countdown loop runs once per distinct biome at reset, not at every grazing).
    """
    n = passable.shape[0]
    span = n - g + 1
    best_x, best_y, best_open = 0, 0, -1
    for _ in range(32):
        cx = min(int(_uniform(rng, w) * span), span - 1)
        cy = min(int(_uniform(rng, w) * span), span - 1)
        count = 0
        for y in range(g):
            for x in range(g):
                if passable[cy + y, cx + x]:
                    count += 1
        if count > best_open:
            best_x, best_y, best_open = cx, cy, count
        if count >= 0.6 * g * g:
            break
    ox, oy = best_x, best_y
    origin[w, 0], origin[w, 1] = ox, oy
    blocked[w] = 1
    regrow_at[w] = NEVER
    scale = params[w, REGROWTH_SCALE]
    start = params[w, GRASS_START]
    seen = np.zeros((16, 3))  # (regrowth, growth, delay) pairs met so far: a handful of biomes
    n_seen = 0
    for y in range(g):
        for x in range(g):
            blocked[w, y + r, x + r] = 0 if passable[oy + y, ox + x] else 1
            regrowth, growth = grass_rates[0, oy + y, ox + x], grass_rates[1, oy + y, ox + x]
            delay = -1
            for q in range(n_seen):
                if seen[q, 0] == regrowth and seen[q, 1] == growth:
                    delay = int(seen[q, 2])
            if delay < 0:
                delay = regrow_delay(regrowth * scale, growth)
                if n_seen < 16:
                    seen[n_seen, 0], seen[n_seen, 1], seen[n_seen, 2] = regrowth, growth, delay
                    n_seen += 1
            delay_at[w, y + r, x + r] = delay
            u = _uniform(rng, w)
            if regrowth <= 0.0 or growth <= 0.0:
                regrow_at[w, y + r, x + r] = NEVER
            elif u < start:
                regrow_at[w, y + r, x + r] = 0
            else:
                regrow_at[w, y + r, x + r] = 1 + int(_uniform(rng, w) * np.ceil(regrowth * scale / growth))
    t[w] = 0
    for a in range(ax.shape[1]):
        _spawn_agent(w, a, rng, blocked, r, g, ax, ay, alive, hunger, energy, health)
        eaten[w, a] = 0
    n_pred = min(int(params[w, PREDATORS]), px.shape[1])
    pred_count[w] = n_pred
    for i in range(px.shape[1]):
        if i >= n_pred:
            px[w, i], py[w, i] = -(1 << 20), -(1 << 20)  # parked far outside every view
            continue
        x, y = 0, 0
        for _ in range(32):
            x, y = _random_open_tile(w, rng, blocked, r, g)
            far = True
            for a in range(ax.shape[1]):
                if abs(ax[w, a] - x) + abs(ay[w, a] - y) < 6:
                    far = False
            if far:
                break
        px[w, i], py[w, i] = x, y


@njit(cache=True, nogil=True)
def _step_world(w, actions, params, passable, grass_rates, g, r, rng, t, origin, blocked, regrow_at, delay_at, pred_count,
                ax, ay, alive, hunger, energy, health, eaten, px, py, reward, terminated,
                truncated):  # pragma: no cover - compiled
    """Advance world ``w`` by one step (order in the module docstring). Returns True if it ended."""
    n_agents = ax.shape[1]
    s = t[w] + 1
    t[w] = s
    for a in range(n_agents):
        reward[w, a] = 0.0
        terminated[w, a] = False
        truncated[w, a] = False
    # -- agents act and graze
    for a in range(n_agents):
        if not alive[w, a]:
            continue
        act = actions[w, a]
        if act != 0:
            if energy[w, a] >= params[w, MOVE_COST]:
                nx, ny = ax[w, a] + MOVES[act, 0], ay[w, a] + MOVES[act, 1]
                if _open(blocked, w, r, nx, ny):
                    ax[w, a], ay[w, a] = nx, ny
                    energy[w, a] = max(0.0, energy[w, a] - params[w, MOVE_COST])
        else:
            energy[w, a] = min(1.0, energy[w, a] + params[w, REST_GAIN])
        x, y = ax[w, a], ay[w, a]
        if s - 1 >= regrow_at[w, y + r, x + r]:
            regrow_at[w, y + r, x + r] = s + delay_at[w, y + r, x + r]
            hunger[w, a] = max(0.0, hunger[w, a] - params[w, EAT_GAIN])
            reward[w, a] += params[w, EAT_REWARD]
            eaten[w, a] += 1
        hunger[w, a] = hunger[w, a] + params[w, HUNGER_RATE]
        if hunger[w, a] >= 1.0:
            hunger[w, a] = 1.0
            health[w, a] -= params[w, STARVE_DAMAGE]
    # -- pursuers move, then strike
    n_pred = pred_count[w]
    sight = params[w, SIGHT]
    for i in range(n_pred):
        best, bx, by = 1 << 30, 0, 0
        for a in range(n_agents):
            if alive[w, a]:
                d = abs(ax[w, a] - px[w, i]) + abs(ay[w, a] - py[w, i])
                if d < best:
                    best, bx, by = d, ax[w, a], ay[w, a]
        u = _uniform(rng, w)
        mx, my = 0, 0
        if best <= sight and u < params[w, AGGRESSION]:
            dx, dy = bx - px[w, i], by - py[w, i]
            sx = 1 if dx > 0 else (-1 if dx < 0 else 0)
            sy = 1 if dy > 0 else (-1 if dy < 0 else 0)
            if abs(dx) >= abs(dy):
                if sx != 0 and _open(blocked, w, r, px[w, i] + sx, py[w, i]):
                    mx = sx
                elif sy != 0 and _open(blocked, w, r, px[w, i], py[w, i] + sy):
                    my = sy
            else:
                if sy != 0 and _open(blocked, w, r, px[w, i], py[w, i] + sy):
                    my = sy
                elif sx != 0 and _open(blocked, w, r, px[w, i] + sx, py[w, i]):
                    mx = sx
        elif _uniform(rng, w) < params[w, WANDER]:
            k = 1 + min(int(_uniform(rng, w) * 4), 3)
            if _open(blocked, w, r, px[w, i] + MOVES[k, 0], py[w, i] + MOVES[k, 1]):
                mx, my = MOVES[k, 0], MOVES[k, 1]
        px[w, i] += mx
        py[w, i] += my
    for i in range(n_pred):
        for a in range(n_agents):
            if alive[w, a] and abs(ax[w, a] - px[w, i]) + abs(ay[w, a] - py[w, i]) <= 1:
                if _uniform(rng, w) < params[w, ACCURACY]:
                    health[w, a] -= params[w, DAMAGE]
    # -- outcomes
    live = 0
    for a in range(n_agents):
        if not alive[w, a]:
            continue
        reward[w, a] += params[w, STEP_REWARD]
        if health[w, a] <= 1e-9:
            health[w, a] = 0.0
            alive[w, a] = False
            terminated[w, a] = True
            reward[w, a] -= params[w, DEATH_PENALTY]
        else:
            live += 1
    ended = live == 0
    if s >= int(params[w, MAX_STEPS]):
        ended = True
        for a in range(n_agents):
            if alive[w, a]:
                truncated[w, a] = True
    return ended


@njit(cache=True, nogil=True)
def _reset_in_step(w, params, passable, grass_rates, g, r, rng, t, origin, blocked, regrow_at, delay_at, pred_count,
                   ax, ay, alive, hunger, energy, health, eaten, px, py, reward, terminated,
                   truncated):  # pragma: no cover - compiled
    """NEXT_STEP autoreset of world ``w``: a new episode, reward 0, both flags False."""
    reset_world(w, params, passable, grass_rates, g, r, rng, t, origin, blocked, regrow_at, delay_at, pred_count,
                ax, ay, alive, hunger, energy, health, eaten, px, py)
    for a in range(ax.shape[1]):
        reward[w, a] = 0.0
        terminated[w, a] = False
        truncated[w, a] = False


@njit(cache=True, nogil=True)
def _after_step(w, ended, mode, params, passable, grass_rates, g, r, rng, t, origin, blocked, regrow_at, delay_at,
                pred_count, needs_reset, ax, ay, alive, hunger, energy, health, eaten, px, py, terminated, final_obs,
                was_reset, respawn):  # pragma: no cover - compiled
    """The rare path after a step: an ended world is reset (SAME_STEP, final observations kept) or flagged
    (NEXT_STEP); with ``respawn``, agents that died in a running world come back (final observation kept)."""
    n_agents = ax.shape[1]
    if ended and mode == SAME_STEP:
        for a in range(n_agents):
            _write_obs(w, a, final_obs, r, t[w], blocked, regrow_at, ax, ay, alive, hunger, energy, health, px, py,
                       pred_count[w])
        reset_world(w, params, passable, grass_rates, g, r, rng, t, origin, blocked, regrow_at, delay_at,
                    pred_count, ax, ay, alive, hunger, energy, health, eaten, px, py)
        was_reset[w] = True
    elif ended:
        needs_reset[w] = True
    elif respawn:
        for a in range(n_agents):
            if terminated[w, a]:
                _write_obs(w, a, final_obs, r, t[w], blocked, regrow_at, ax, ay, alive, hunger, energy, health,
                           px, py, pred_count[w])
                _spawn_agent(w, a, rng, blocked, r, g, ax, ay, alive, hunger, energy, health)
                eaten[w, a] = 0


def _step_worlds(actions, mode, respawn, params, passable, grass_rates, g, r, rng, t, origin, blocked, regrow_at, delay_at,
                pred_count, needs_reset, ax, ay, alive, hunger, energy, health, eaten, px, py, obs, reward,
                terminated, truncated, final_obs, was_reset):  # pragma: no cover - compiled
    """Step every world once; the one compiled call per batched step.

    Args:
        actions: (W, A) int64 in [0, 5). mode: NEXT_STEP, SAME_STEP or DISABLED. respawn: an agent that
            dies while its world goes on is put back at a random tile in the same call (its final
            observation kept in ``final_obs``) -- the shared-policy SB3 adapter's slots never stop.
        params: (W, N_PARAMS) float64. passable: (n, n) bool atlas, grass_rates: (2, n, n) float64 per-tile
            ``grass_regrowth`` (0: barren) and ``growth`` of the biome. g: arena side, tiles. r: view radius, tiles (>= 1).
        rng (W,) uint64, t (W,) int64, origin (W, 2) int64, blocked (W, g+2r, g+2r) uint8, regrow_at,
            delay_at (W, g+2r, g+2r) int64, pred_count (W,) int64, needs_reset (W,) bool, ax/ay (W, A) int64, alive
            (W, A) bool, hunger/energy/health (W, A) float64, eaten (W, A) int64, px/py (W, MAX_PREDATORS)
            int64: world state, written.
        obs: (W, A, D) float32 out. reward: (W, A) float64 out. terminated/truncated: (W, A) bool out.
        final_obs: (W, A, D) float32 out -- the observation at the end of an episode that was reset in
            this call (SAME_STEP, or a respawn). was_reset: (W,) bool out -- world reset in this call.
    """
    for w in prange(ax.shape[0]):  # worlds share nothing: serial and threaded runs agree exactly
        was_reset[w] = False
        if mode == NEXT_STEP and needs_reset[w]:
            _reset_in_step(w, params, passable, grass_rates, g, r, rng, t, origin, blocked, regrow_at, delay_at,
                           pred_count, ax, ay, alive, hunger, energy, health, eaten, px, py, reward, terminated,
                           truncated)
            needs_reset[w] = False
            was_reset[w] = True
        else:
            ended = _step_world(w, actions, params, passable, grass_rates, g, r, rng, t, origin, blocked, regrow_at,
                                delay_at, pred_count, ax, ay, alive, hunger, energy, health, eaten, px, py, reward,
                                terminated, truncated)
            if ended or respawn:
                _after_step(w, ended, mode, params, passable, grass_rates, g, r, rng, t, origin, blocked, regrow_at,
                            delay_at, pred_count, needs_reset, ax, ay, alive, hunger, energy, health, eaten, px, py,
                            terminated, final_obs, was_reset, respawn)
        for a in range(ax.shape[1]):
            _write_obs(w, a, obs, r, t[w], blocked, regrow_at, ax, ay, alive, hunger, energy, health, px, py,
                       pred_count[w])


step_worlds, step_worlds_parallel = serial_and_parallel(_step_worlds)
"""``step_worlds`` runs on the calling thread; ``step_worlds_parallel`` spreads the worlds over Numba's threads
(used for large batches when cores are free)."""



@njit(cache=True, nogil=True)
def reset_worlds(mask, params, passable, grass_rates, g, r, rng, t, origin, blocked, regrow_at, delay_at, pred_count,
                 needs_reset, ax, ay, alive, hunger, energy, health, eaten, px, py, obs):  # pragma: no cover
    """Reset the worlds where ``mask`` (W,) is True and write their observations (W, A, D)."""
    for w in range(mask.shape[0]):
        if not mask[w]:
            continue
        reset_world(w, params, passable, grass_rates, g, r, rng, t, origin, blocked, regrow_at, delay_at, pred_count,
                    ax, ay, alive, hunger, energy, health, eaten, px, py)
        needs_reset[w] = False
        for a in range(ax.shape[1]):
            _write_obs(w, a, obs, r, t[w], blocked, regrow_at, ax, ay, alive, hunger, energy, health,
                       px, py, pred_count[w])
