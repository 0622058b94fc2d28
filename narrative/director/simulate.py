"""Simulated players for evaluating adaptive difficulty (benchmarks/difficulty_sim.py and its fast test).

Each simulated player has a true skill that changes as they learn:
``s_k = s0 + gain * (1 - exp(-rate * k))`` for encounter k = 0, 1, ...; ``s0 ~ N(0, skill_sd)``,
``gain ~ U(0, max_gain)``, ``rate ~ log-uniform(rate_range)``: widely varying skill and learning speed.
An encounter at difficulty ``d`` is won with the true probability ``Phi((s_k - d) / beta)``; its
performance reading is ``y = s_k - d + N(0, reading_sd)``, reported as health left and time taken
(``readings.encode``) with log-normal noise on the time, like a real clock on a real fight.

The *modelled success probability* of an encounter is this true probability: the simulator knows the
true skill, so the metric scores the controller against the truth, not against its own belief.

Policies: ``"continuous"`` (the director with win/loss and readings), ``"winloss"`` (outcomes only),
``"fixed"`` (every encounter at the prior mean: the baseline without adaptation) and ``"staircase"``
(the classic rule-based peer: one fixed step up after a win, down after a loss -- it targets 50% by
construction but carries no model and no uncertainty).
"""

from __future__ import annotations

from typing import Literal

import msgspec
import numpy as np
import numpy.typing as npt
from scipy.special import ndtr

from . import readings
from .difficulty import SkillColumns, record_outcomes
from .presets import Preset

Policy = Literal["continuous", "winloss", "fixed", "staircase"]
STAIRCASE_STEP = 0.4
"""Difficulty change per encounter of the staircase peer (skill units)."""


class Population(msgspec.Struct, frozen=True, kw_only=True):
    """True parameters of ``n`` simulated players, each (n,) float64."""

    s0: npt.NDArray[np.float64]
    gain: npt.NDArray[np.float64]
    rate: npt.NDArray[np.float64]

    @classmethod
    def draw(cls, n: int, rng: np.random.Generator, skill_sd: float = 2.0, max_gain: float = 3.0,
             rate_range: tuple[float, float] = (0.03, 0.5)) -> Population:
        """``n`` players drawn from ``rng`` (a seeded ``np.random.Generator``)."""
        s0 = rng.normal(0.0, skill_sd, n)
        gain = rng.uniform(0.0, max_gain, n)
        rate = np.exp(rng.uniform(np.log(rate_range[0]), np.log(rate_range[1]), n))
        return cls(s0=s0, gain=gain, rate=rate)

    def skill_at(self, k: int) -> npt.NDArray[np.float64]:
        """True skills (n,) at encounter ``k`` (0-based)."""
        return np.asarray(self.s0 + self.gain * (1.0 - np.exp(-self.rate * k)), dtype=np.float64)


class SimulationResult(msgspec.Struct, frozen=True, kw_only=True):
    """Per-encounter histories, each (encounters, n): true success probability, difficulty played,
    true skill, posterior mean, and whether the encounter was won."""

    p_true: npt.NDArray[np.float64]
    difficulty: npt.NDArray[np.float64]
    skill: npt.NDArray[np.float64]
    estimate: npt.NDArray[np.float64]
    won: npt.NDArray[np.bool_]


def simulate(preset: Preset, population: Population, policy: Policy, encounters: int,
             rng: np.random.Generator, true_reading_sd: float | None = None,
             time_noise_sd: float = 0.15) -> SimulationResult:
    """Play ``encounters`` encounters for every player of ``population`` under ``policy``.

    Uses the director's own vectorised update (``record_outcomes``) over all players at once.
    ``true_reading_sd`` (default: the preset's ``reading_sd`` minus the time noise's share) sets the
    simulated players' reading noise.
    """
    n = population.s0.size
    skill, ctrl, signals = preset.skill, preset.controller, preset.signals
    if true_reading_sd is None:
        true_reading_sd = float(np.sqrt(max(skill.reading_sd**2 - (0.5 * signals.time_scale * time_noise_sd)**2,
                                            1e-6)))
    columns = SkillColumns.new(n, skill, ctrl)
    rows = np.arange(n, dtype=np.int64)
    shape = (encounters, n)
    p_hist, d_hist = np.empty(shape), np.empty(shape)
    s_hist, m_hist, w_hist = np.empty(shape), np.empty(shape), np.empty(shape, dtype=bool)
    for k in range(encounters):
        s = population.skill_at(k)
        d = columns.difficulty.copy()
        p = ndtr((s - d) / skill.outcome_noise)
        won = rng.random(n) < p
        margin_true = s - d + rng.normal(0.0, true_reading_sd, n)
        health, seconds = readings.encode(won, margin_true, signals)
        seconds = seconds * np.exp(rng.normal(0.0, time_noise_sd, n))
        p_hist[k], d_hist[k], s_hist[k], m_hist[k], w_hist[k] = p, d, s, columns.mean, won
        if policy == "fixed":
            continue
        if policy == "staircase":
            lo, hi = ctrl.difficulty_range
            columns.difficulty[:] = np.clip(d + np.where(won, STAIRCASE_STEP, -STAIRCASE_STEP), lo, hi)
            continue
        margin = readings.decode(won, health, seconds, signals) if policy == "continuous" else np.full(n, np.nan)
        record_outcomes(columns, rows, won, margin, skill, ctrl)
    return SimulationResult(p_true=p_hist, difficulty=d_hist, skill=s_hist, estimate=m_hist, won=w_hist)


def share_in_band(result: SimulationResult, band: tuple[float, float], first: int = 10,
                  last: int | None = None) -> dict[str, float]:
    """The evaluation figures over encounters ``first``..``last`` (0-based, inclusive; default: to the end).

    ``players_mean_in_band``: share of players whose mean true success probability over those encounters
    lies in ``band`` (the issue's headline figure). ``encounters_in_band``: share of all (player,
    encounter) pairs in the band. ``players_all_in_band``: share of players with every encounter in it.
    ``max_step``: the largest |difficulty change| between consecutive encounters, over all players.
    """
    window = result.p_true[first: None if last is None else last + 1]
    lo, hi = band
    inside = (window >= lo) & (window <= hi)
    mean_p = window.mean(axis=0)
    steps = np.abs(np.diff(result.difficulty, axis=0))
    return {
        "players_mean_in_band": float(np.mean((mean_p >= lo) & (mean_p <= hi))),
        "encounters_in_band": float(inside.mean()),
        "players_all_in_band": float(inside.all(axis=0).mean()),
        "max_step": float(steps.max()) if steps.size else 0.0,
    }
