"""Bayesian skill estimation per player: a Gaussian posterior N(mean, var) on skill, vectorised over players.

The model (skill and difficulty share one scale, "skill units"):

* outcome: ``P(win | s, d) = Phi((s - d) / beta)`` (a probit; ``beta`` = ``outcome_noise``);
* performance reading (decoded from health left / time taken, see ``readings.py``): ``y ~ N(s - d, r)``
  with ``r = reading_sd ** 2``, independent of the outcome given ``s``;
* learning: each player also has a *trend* (skill gained per encounter), jointly Gaussian with skill;
  between encounters ``s += trend`` and ``trend *= persistence``, plus process noise (``advance``).

Updates are closed form. The outcome update is assumed-density filtering -- the exact posterior
``N(s; m, v) * Phi(+-(s - d) / beta)`` projected back onto a Gaussian by moment matching, the update
TrueSkill performs for one player against a fixed opponent -- so the variance shrinks by the factor
``1 - v / (beta**2 + v) * w`` with ``0 < w < 1``: it never grows. The reading update is a Kalman update.
Both touch skill only; ``condition_trend`` carries each to the trend through their covariance.
Rejected: Elo (no uncertainty, so a new player cannot move fast and a veteran cannot settle), Glicko's
rating-period approximation (the closed-form probit moments are exact for this likelihood) and particle
filters (10k players x particles for no gain on a unimodal posterior).

All functions are pure: float64 arrays of shape (n,) in, new arrays out (scalars broadcast).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.special import log_ndtr, ndtr, ndtri

Array = npt.NDArray[np.float64]

_LOG_SQRT_2PI = 0.5 * np.log(2.0 * np.pi)


def _mills(t: Array) -> Array:
    """phi(t) / Phi(t), stable for very negative t (where it approaches -t). Shape as ``t``."""
    return np.exp(-0.5 * t * t - _LOG_SQRT_2PI - log_ndtr(t))


def predict_success(mean: npt.ArrayLike, var: npt.ArrayLike, difficulty: npt.ArrayLike,
                    outcome_noise: float) -> Array:
    """Posterior predictive P(win) = Phi((mean - d) / sqrt(beta**2 + var)), shape (n,)."""
    m, v, d = np.broadcast_arrays(*(np.asarray(x, dtype=np.float64) for x in (mean, var, difficulty)))
    return np.asarray(ndtr((m - d) / np.sqrt(outcome_noise**2 + v)), dtype=np.float64)


def difficulty_for(mean: npt.ArrayLike, var: npt.ArrayLike, p_target: float, outcome_noise: float) -> Array:
    """The difficulty whose posterior predictive P(win) equals ``p_target`` (0 < p < 1), shape (n,)."""
    m = np.asarray(mean, dtype=np.float64)
    v = np.asarray(var, dtype=np.float64)
    return np.asarray(m - np.sqrt(outcome_noise**2 + v) * ndtri(p_target), dtype=np.float64)


def update_outcome(mean: npt.ArrayLike, var: npt.ArrayLike, difficulty: npt.ArrayLike, won: npt.ArrayLike,
                   outcome_noise: float) -> tuple[Array, Array]:
    """Moment-matched posterior after win/loss outcomes at the given difficulties.

    Args:
        mean, var: prior N(mean, var) per player, (n,) skill units / skill units squared, var > 0.
        difficulty: (n,) difficulty of the encounter played.
        won: (n,) bool.
        outcome_noise: beta of the probit likelihood (> 0).
    Returns:
        (mean', var'), each (n,); ``var' < var`` always and ``mean'`` moves up on a win, down on a loss.
    """
    m, v, d = np.broadcast_arrays(*(np.asarray(x, dtype=np.float64) for x in (mean, var, difficulty)))
    sign = np.where(np.broadcast_to(np.asarray(won, dtype=bool), m.shape), 1.0, -1.0)
    c = np.sqrt(outcome_noise**2 + v)
    t = sign * (m - d) / c
    lam = _mills(t)
    w = np.clip(lam * (lam + t), 0.0, 1.0 - 1e-12)  # in (0, 1) analytically; clip guards rounding
    new_mean = m + sign * v / c * lam
    new_var = v * (1.0 - v / (c * c) * w)
    return new_mean, np.maximum(new_var, 1e-12)


def update_reading(mean: npt.ArrayLike, var: npt.ArrayLike, difficulty: npt.ArrayLike,
                   margin: npt.ArrayLike, reading_var: float | npt.ArrayLike) -> tuple[Array, Array]:
    """Kalman update from performance readings ``margin ~ N(s - d, reading_var)``.

    NaN margins mean "no reading" and leave that player's posterior unchanged. Returns (mean', var'),
    each (n,); ``mean'`` lies between ``mean`` and ``d + margin`` and ``var' <= var``.
    """
    m, v, d, y, r = np.broadcast_arrays(*(np.asarray(x, dtype=np.float64)
                                          for x in (mean, var, difficulty, margin, reading_var)))
    have = np.isfinite(y)
    gain = v / (v + r)
    new_mean = np.where(have, m + gain * (d + np.where(have, y, 0.0) - m), m)
    new_var = np.where(have, v * r / (v + r), v)
    return new_mean, new_var


def condition_trend(trend: Array, cov: Array, var_trend: Array, var: Array, new_var: Array,
                    mean: Array, new_mean: Array) -> tuple[Array, Array, Array]:
    """Carry an update of the skill marginal N(mean, var) -> N(new_mean, new_var) over to the learning
    trend, which is jointly Gaussian with skill (covariance ``cov``) and not observed directly.

    For a likelihood that depends on skill only, the projected joint posterior moves every component
    along the gain ``K = cov / var``: trend' = trend + K (new_mean - mean) and
    var_trend' = var_trend + K**2 (new_var - var), cov' = K new_var. All arrays (n,).
    """
    gain = cov / var
    return trend + gain * (new_mean - mean), gain * new_var, var_trend + gain * gain * (new_var - var)


def advance(mean: Array, var: Array, trend: Array, cov: Array, var_trend: Array, persistence: float,
            drift_sd: float, trend_sd: float) -> tuple[Array, Array, Array, Array, Array]:
    """One encounter of learning: skill += trend, trend *= persistence, plus process noise.

    The state (skill, trend) evolves as x' = F x + noise with F = [[1, 1], [0, rho]], noise covariance
    diag(drift_sd**2, trend_sd**2). Returns (mean, var, trend, cov, var_trend), each (n,).
    """
    rho = persistence
    new_var = var + 2.0 * cov + var_trend + drift_sd**2
    new_cov = rho * (cov + var_trend)
    new_var_trend = rho * rho * var_trend + trend_sd**2
    return mean + trend, new_var, rho * trend, new_cov, new_var_trend
