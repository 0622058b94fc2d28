"""Adaptive difficulty: pick each player's next encounter difficulty from the skill posterior, with a
bounded step, and map that one scalar to encounter parameters. Vectorised over players.

Control law: the target is the difficulty at which the posterior predictive success probability is the
middle of the band (``difficulty_for``); the new difficulty moves from the current one towards it by at
most ``max_step`` and stays within ``difficulty_range``. Aiming at the middle (not just "inside the
band") leaves room for the estimate's error; the step bound is what keeps a lucky streak from turning
into whiplash. A new player starts at the prior mean, i.e. an average player's 50% encounter, and the
prior's width lets the first results move the estimate quickly.

Rejected: a PID on the observed win rate (needs many encounters per correction and ignores how sure we
are) and a bandit over discrete levels (no shared model across levels, slow for a new player).
"""

from __future__ import annotations

import msgspec
import numpy as np
import numpy.typing as npt

from . import skill as sk
from .presets import ControllerSettings, EncounterSettings, SkillSettings

Array = npt.NDArray[np.float64]


class SkillColumns(msgspec.Struct, kw_only=True):
    """Per-player columns, each (n,) float64: posterior ``mean``/``var`` of skill (skill units), of the
    learning ``trend`` (skill units per encounter, ``var_trend``) and their covariance ``cov``; the
    ``difficulty`` of the next encounter, and ``encounters`` played (int64)."""

    mean: Array
    var: Array
    trend: Array
    cov: Array
    var_trend: Array
    difficulty: Array
    encounters: npt.NDArray[np.int64]

    @classmethod
    def new(cls, n: int, skill: SkillSettings, controller: ControllerSettings) -> SkillColumns:
        """``n`` players with no history: the prior, and the prior mean as first difficulty."""
        lo, hi = controller.difficulty_range
        return cls(mean=np.full(n, skill.prior_mean), var=np.full(n, skill.prior_sd**2),
                   trend=np.full(n, skill.trend_mean), cov=np.zeros(n), var_trend=np.full(n, skill.trend_sd**2),
                   difficulty=np.full(n, float(np.clip(skill.prior_mean, lo, hi))),
                   encounters=np.zeros(n, dtype=np.int64))


def target_probability(controller: ControllerSettings) -> float:
    """The success probability the controller aims at: the middle of the band."""
    return 0.5 * (controller.band[0] + controller.band[1])


def next_difficulty(current: npt.ArrayLike, mean: npt.ArrayLike, var: npt.ArrayLike, skill: SkillSettings,
                    controller: ControllerSettings) -> tuple[Array, Array]:
    """New difficulties (n,) and the unclipped target difficulties (n,).

    ``|new - current| <= max_step`` always (unless ``current`` lay outside ``difficulty_range``, where it
    moves back towards the range by at most ``max_step`` as well).
    """
    cur = np.asarray(current, dtype=np.float64)
    target = sk.difficulty_for(mean, var, target_probability(controller), skill.outcome_noise)
    lo, hi = controller.difficulty_range
    wanted = np.clip(target, lo, hi)
    step = np.clip(wanted - cur, -controller.max_step, controller.max_step)
    return cur + step, target


def record_outcomes(columns: SkillColumns, rows: npt.NDArray[np.int64], won: npt.ArrayLike,
                    margin: npt.ArrayLike, skill: SkillSettings, controller: ControllerSettings
                    ) -> tuple[Array, Array, Array, Array]:
    """Update ``columns`` in place for the players at ``rows`` after their encounters at
    ``columns.difficulty[rows]``: outcome update, reading update (NaN margin: none), drift, next difficulty.

    Returns (old_difficulty, new_difficulty, predicted p_success at the new difficulty, target), each (k,).
    """
    d = columns.difficulty[rows]
    mean0, var0 = columns.mean[rows], columns.var[rows]
    trend, cov, var_trend = columns.trend[rows], columns.cov[rows], columns.var_trend[rows]
    mean1, var1 = sk.update_outcome(mean0, var0, d, won, skill.outcome_noise)
    trend, cov, var_trend = sk.condition_trend(trend, cov, var_trend, var0, var1, mean0, mean1)
    mean2, var2 = sk.update_reading(mean1, var1, d, margin, skill.reading_sd**2)
    trend, cov, var_trend = sk.condition_trend(trend, cov, var_trend, var1, var2, mean1, mean2)
    mean, var, trend, cov, var_trend = sk.advance(mean2, var2, trend, cov, var_trend, skill.trend_persistence,
                                                  skill.drift_sd, skill.trend_noise_sd)
    new_d, target = next_difficulty(d, mean, var, skill, controller)
    columns.mean[rows], columns.var[rows], columns.difficulty[rows] = mean, var, new_d
    columns.trend[rows], columns.cov[rows], columns.var_trend[rows] = trend, cov, var_trend
    columns.encounters[rows] += 1
    return d, new_d, sk.predict_success(mean, var, new_d, skill.outcome_noise), target


def encounter_parameters(difficulty: npt.ArrayLike, encounter: EncounterSettings) -> dict[str, Array]:
    """Encounter parameters for difficulties (n,): ``level`` in (0, 1), ``spawn_count`` (rounded, as
    float), ``aggression``, ``accuracy`` and ``resources``; each (n,)."""
    d = np.asarray(difficulty, dtype=np.float64)
    level = 1.0 / (1.0 + np.exp(-d / encounter.softness))

    def lerp(pair: tuple[float, float]) -> Array:
        return np.asarray(pair[0] + level * (pair[1] - pair[0]), dtype=np.float64)

    return {"level": level, "spawn_count": np.rint(lerp(encounter.spawn_count)),
            "aggression": lerp(encounter.aggression), "accuracy": lerp(encounter.accuracy),
            "resources": lerp(encounter.resources)}
