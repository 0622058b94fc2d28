"""Reference policies for the learning benchmark: uniformly random actions, and a scripted heuristic.

The heuristic reads the same observation a learned policy gets (layout in ``npc.rl.kernels``):

1. a pursuer within 2 tiles (Manhattan): step to the open neighbour farthest from the visible pursuers
   (ties: the one with grass, then action order);
2. else, energy below 0.05: stand still and rest;
3. else, grass visible: step toward the nearest grown tile (Manhattan; ties in scan order), preferring
   the axis with the larger gap, through open tiles only;
4. else: a random open step.

It is a fair, simple baseline -- not an optimum (no memory, no planning around lakes).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .core import N_ACTIONS, VIEW_RADIUS
from .kernels import MOVES

_SIDE = 2 * VIEW_RADIUS + 1
_CELLS = _SIDE * _SIDE
_OFFSETS = np.array([(dx, dy) for dy in range(-VIEW_RADIUS, VIEW_RADIUS + 1)
                     for dx in range(-VIEW_RADIUS, VIEW_RADIUS + 1)], dtype=np.int64)
_DIST = np.abs(_OFFSETS).sum(axis=1)


def _cell(dx: int, dy: int) -> int:
    return (dy + VIEW_RADIUS) * _SIDE + (dx + VIEW_RADIUS)


def heuristic_actions(obs: npt.NDArray[np.float32], rng: np.random.Generator) -> npt.NDArray[np.int64]:
    """Scripted actions (n,) int64 for observations (n, obs_dim) (rules in the module docstring)."""
    obs = np.asarray(obs).reshape(-1, obs.shape[-1])
    out = np.zeros(obs.shape[0], dtype=np.int64)
    for i, row in enumerate(obs):
        grass = row[:_CELLS] > 0.5
        blocked = row[_CELLS:2 * _CELLS] > 0.5
        hunters = row[2 * _CELLS:3 * _CELLS] > 0.5
        energy = row[4 * _CELLS + 1]
        open_moves = [a for a in range(1, N_ACTIONS) if not blocked[_cell(*MOVES[a])]]
        near = np.flatnonzero(hunters & (_DIST <= 2))
        if near.size and open_moves:
            seen = _OFFSETS[np.flatnonzero(hunters)]
            scores = [(int(np.abs(seen - MOVES[a]).sum(axis=1).min()), int(grass[_cell(*MOVES[a])]), -a)
                      for a in open_moves]
            out[i] = -max(scores)[2]
            continue
        if energy < 0.05:
            out[i] = 0
            continue
        targets = np.flatnonzero(grass & ~blocked & (_DIST > 0))
        if targets.size:
            best = targets[np.argmin(_DIST[targets])]
            tx, ty = _OFFSETS[best]
            choices = []
            if tx:
                choices.append((abs(tx), 2 if tx > 0 else 4))
            if ty:
                choices.append((abs(ty), 1 if ty > 0 else 3))
            choices.sort(reverse=True)
            step = next((a for _, a in choices if a in open_moves), None)
            if step is not None:
                out[i] = step
                continue
        out[i] = open_moves[int(rng.integers(len(open_moves)))] if open_moves else 0
    return out


def random_actions(obs: npt.NDArray[np.float32], rng: np.random.Generator) -> npt.NDArray[np.int64]:
    """Uniformly random actions (n,) int64 for observations (n, obs_dim)."""
    return rng.integers(0, N_ACTIONS, size=np.asarray(obs).reshape(-1, obs.shape[-1]).shape[0])
