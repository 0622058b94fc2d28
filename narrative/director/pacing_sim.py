"""Simulated groups under the intensity director (benchmarks/storyteller_stats.py and its fast test).

Each group has ``players_per_group`` players and a pool of live threats. Per tick of ``dt`` seconds:
the director's waves join the pool; every threat engages every player of its group (``threats_near``);
each threat is killed with probability ``1 - exp(-kill_rate * dt)``; each player loses
``damage_rate * dt * U(0, 2)`` of max health per threat; resources are a fixed per-player level. The
director side is the very code ``Director.tick`` runs (``update_intensity``, ``group_intensity``,
``advance_pacing``), vectorised over every player and group at once.

Output: every phase change with the duration of the phase it ended, from which the benchmark measures
peak and relax lengths per cycle.
"""

from __future__ import annotations

import msgspec
import numpy as np
import numpy.typing as npt
from tqdm import tqdm

from . import intensity as pacing
from .presets import PacingSettings


class PhaseLog(msgspec.Struct, frozen=True, kw_only=True):
    """Every phase change, each (k,): ``group``, ``ended`` (phase index that ended), ``duration`` (s),
    ``time`` (s, when it ended); ``spawned``: threats spawned in total; ``seconds``: simulated per group."""

    group: npt.NDArray[np.int64]
    ended: npt.NDArray[np.int64]
    duration: npt.NDArray[np.float64]
    time: npt.NDArray[np.float64]
    spawned: int
    seconds: float

    def durations(self, phase: int) -> npt.NDArray[np.float64]:
        """Durations (s) of completed ``phase`` periods (a ``PHASES`` index), shape (m,)."""
        return self.duration[self.ended == phase]


def simulate_pacing(settings: PacingSettings, groups: int, seconds: float, dt: float, rng: np.random.Generator,
                    players_per_group: int = 4, kill_rate: float = 0.35, damage_rate: float = 0.012,
                    progress: bool = False) -> PhaseLog:
    """Run ``groups`` independent groups for ``seconds`` each, ticking every ``dt`` seconds.

    ``rng`` drives both the simulated fights and the director (one seeded generator: reproducible).
    """
    n = groups * players_per_group
    member_group = np.repeat(np.arange(groups, dtype=np.int64), players_per_group)
    resources = rng.uniform(0.3, 1.0, n)
    intensity = np.zeros(n)
    threats = np.zeros(groups, dtype=np.int64)
    columns = pacing.PacingColumns.new(groups, settings)
    kill_p = 1.0 - np.exp(-kill_rate * dt)
    logs: list[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64], float]] = []
    spawned = 0
    steps = int(round(seconds / dt))
    for step in tqdm(range(steps), desc="pacing", unit="tick", disable=not progress, mininterval=0.5):
        killed = rng.binomial(threats, kill_p)
        threats -= killed
        near = threats[member_group].astype(np.float64)
        damage = damage_rate * dt * near * rng.uniform(0.0, 2.0, n)
        kills = killed[member_group] / players_per_group  # kills shared among the group's players
        intensity = pacing.update_intensity(intensity, damage, kills, near, resources, dt, settings)
        level = pacing.group_intensity(intensity, member_group, groups)
        decided = pacing.advance_pacing(columns, level, dt, settings, rng)
        threats += decided.waves
        spawned += int(decided.waves.sum())
        if decided.changed.size:
            logs.append((decided.changed, decided.previous, decided.durations, (step + 1) * dt))
    if logs:
        group = np.concatenate([g for g, _, _, _ in logs])
        ended = np.concatenate([p for _, p, _, _ in logs])
        duration = np.concatenate([d for _, _, d, _ in logs])
        time = np.concatenate([np.full(g.size, t) for g, _, _, t in logs])
    else:
        group = ended = np.zeros(0, dtype=np.int64)
        duration = time = np.zeros(0)
    return PhaseLog(group=group, ended=ended, duration=duration, time=time, spawned=spawned, seconds=steps * dt)
