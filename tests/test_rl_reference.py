"""Slow, obvious reference implementations for the RL tests (the spec of the observation layout); imported
by test_rl_kernels.py and test_rl_policy.py, and checked here to be sensitive to what they describe."""

from __future__ import annotations

import numpy as np

from npc.rl.kernels import N_NEEDS


def reference_env_obs(core, w: int, a: int) -> np.ndarray:
    """One agent's observation from ``BatchedWorlds`` state, written from the documented layout."""
    r = core.r
    side = 2 * r + 1
    cells = side * side
    out = np.zeros(4 * cells + N_NEEDS, dtype=np.float32)
    ox, oy = core.origin[w]
    x0, y0 = core.ax[w, a], core.ay[w, a]
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            k = (dy + r) * side + (dx + r)
            x, y = x0 + dx, y0 + dy
            inside = 0 <= x < core.g and 0 <= y < core.g
            passable = inside and bool(core.atlas.passable[oy + y, ox + x])
            grown = inside and core.t[w] >= core.regrow_at[w, y + r, x + r]
            out[k] = float(grown)
            out[cells + k] = float(not passable)
            out[2 * cells + k] = float(any(core.px[w, i] == x and core.py[w, i] == y
                                           for i in range(core.pred_count[w])))
            out[3 * cells + k] = float(any(core.alive[w, b] and core.ax[w, b] == x and core.ay[w, b] == y
                                           for b in range(core.n_agents) if b != a))
    out[4 * cells:] = core.hunger[w, a], core.energy[w, a], core.health[w, a]
    return out


def reference_world_obs(world, row: int, needs, r: int = 3) -> np.ndarray:
    """One NPC's observation from a live ``World``, written from the documented layout."""
    from worldsim.state import Kind

    side = 2 * r + 1
    cells = side * side
    out = np.zeros(4 * cells + N_NEEDS, dtype=np.float32)
    terrain, ecology, t = world.terrain, world.ecology, world.entities
    n = terrain.n

    def tile(p):
        return tuple(int(min(max(np.floor((v + terrain.half_extent) / terrain.tile_size), 0), n - 1)) for v in p[:2])

    x0, y0 = tile(t.pos[row])
    hunters, npcs = set(), []
    for q in range(t.extent):
        if not t.alive[q]:
            continue
        if t.kind[q] == Kind.CREATURE and ecology.diet[t.species[q]] >= 0:
            hunters.add((int(t.cell[q]) % n, int(t.cell[q]) // n))
        if t.kind[q] == Kind.NPC and q != row:
            npcs.append(tile(t.pos[q]))
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            k = (dy + r) * side + (dx + r)
            x, y = x0 + dx, y0 + dy
            inside = 0 <= x < n and 0 <= y < n
            out[k] = float(inside and ecology.grown[y * n + x])
            out[cells + k] = float(not (inside and terrain.passable[y, x]))
            out[2 * cells + k] = float((x, y) in hunters)
            out[3 * cells + k] = float((x, y) in npcs)
    out[4 * cells:] = needs
    return out


def test_reference_sees_a_moved_pursuer() -> None:
    """The reference is not vacuous: moving a pursuer into view changes its answer in the pursuer channel."""
    from npc.rl.core import BatchedWorlds, load_atlas
    from npc.rl.params import task_params

    core = BatchedWorlds(1, 1, task_params("forager"), load_atlas("meadow"))
    core.rng[:] = 1
    core.reset(np.ones(1, dtype=bool))
    before = reference_env_obs(core, 0, 0)
    core.px[0, 0], core.py[0, 0] = core.ax[0, 0] + 1, core.ay[0, 0]
    after = reference_env_obs(core, 0, 0)
    assert after[98 + 3 * 7 + 4] == 1.0 and not np.array_equal(before, after)
