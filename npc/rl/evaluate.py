"""Evaluation on held-out episode seeds, with bootstrap confidence intervals.

``evaluate`` plays exactly one episode per seed, all seeds at once in one batched env (world ``i`` is
seeded with ``seeds[i]``), and returns each episode's return. Seeds used for evaluation are kept apart
from training seeds by the caller (the benchmark uses 10_000 + i).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from .vector import WorldloomVectorEnv

Policy = Callable[[npt.NDArray[np.float32]], npt.NDArray[np.int64]]
"""Observations (n, obs_dim) -> actions (n,)."""


def evaluate(policy: Policy, task: str, seeds: Sequence[int], **options: object) -> npt.NDArray[np.float64]:
    """Return of one episode (n_seeds,) float64 per seed, every world stepping until its episode ends."""
    env = WorldloomVectorEnv(len(seeds), task=task, **options)  # type: ignore[arg-type]
    obs, _ = env.reset(seed=[int(s) for s in seeds])
    returns = np.zeros(len(seeds))
    running = np.ones(len(seeds), dtype=bool)
    while running.any():
        obs, reward, terminated, truncated, _ = env.step(policy(obs))
        returns += reward * running
        running &= ~(terminated | truncated)
    return returns


def bootstrap_ci(groups: Sequence[npt.NDArray[np.float64]], rng: np.random.Generator, resamples: int = 5000,
                 level: float = 0.95) -> tuple[float, float, float]:
    """Mean of the group means and its percentile bootstrap CI (episodes resampled within each group).

    Args:
        groups: one (n_i,) array of episode returns per training seed (or a single group).
    Returns:
        (mean, low, high).
    """
    means = np.zeros(resamples)
    for group in groups:
        g = np.asarray(group, dtype=np.float64)
        picks = rng.integers(0, len(g), size=(resamples, len(g)))
        means += g[picks].mean(axis=1)
    means /= len(groups)
    tail = (1 - level) / 2 * 100
    centre = float(np.mean([np.mean(g) for g in groups]))
    return centre, float(np.percentile(means, tail)), float(np.percentile(means, 100 - tail))
