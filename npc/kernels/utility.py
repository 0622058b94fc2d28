"""Utility scoring kernel: every NPC scores every action of the design and picks the best.

The numbers are defined once, in ``npc/curves.py`` (the pure-Python reference that the tests compare this
kernel against); this module is the same arithmetic over arrays. Everything is computed in float64 and
stored as float32, so the kernel and the reference agree to float32 rounding.

Why this design: one pass per NPC row over a few small read-only tables (``CompiledDesign``) with no
strings, no allocation and no branches that depend on other rows. ``prange`` splits rows across threads;
each thread writes only its own rows, so the result does not depend on the thread count or schedule.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

LINEAR, POLYNOMIAL, LOGISTIC, LOGIT, STEP, CONSTANT = 0, 1, 2, 3, 4, 5
"""Curve ids, in the order of ``npc.designs.CURVES``."""

LOGIT_EPS = 1e-4
"""The logit curve's argument is clamped to [LOGIT_EPS, 1 - LOGIT_EPS] so it stays finite."""

EXP_LIMIT = 700.0
"""Exponents of the logistic curve are clamped to [-EXP_LIMIT, EXP_LIMIT] (exp(709) is the float64 limit)."""


@njit(cache=True, nogil=True, error_model="numpy")
def _clamp01(y: float) -> float:  # pragma: no cover - compiled
    if y != y:  # NaN (e.g. 0 * inf) scores 0
        return 0.0
    return min(max(y, 0.0), 1.0)


@njit(cache=True, nogil=True, error_model="numpy")
def _signed_power(d: float, k: float) -> float:  # pragma: no cover - compiled
    """sign(d) * |d| ** k, with 0 ** k = 0 for k > 0, 1 for k == 0 and +inf for k < 0."""
    if d == 0.0:
        if k > 0.0:
            return 0.0
        return 1.0 if k == 0.0 else math.inf
    if k == 2.0:
        return d * abs(d)
    if k == 1.0:
        return d
    if k == 3.0:
        return d * d * d
    a = abs(d)
    if k == 0.5:
        p = math.sqrt(a)
    elif k == 1.5:
        p = a * math.sqrt(a)
    else:
        p = a ** k
    return -p if d < 0.0 else p


@njit(cache=True, nogil=True, error_model="numpy")
def response(curve: int, m: float, k: float, b: float, c: float, x: float) -> float:  # pragma: no cover
    """One response curve at input ``x`` (NaN reads as 0; clamped to [0, 1]); output clamped to [0, 1].

    Definitions are in ``npc/curves.py`` (``evaluate``), which this mirrors exactly.
    """
    if x != x:
        x = 0.0
    x = min(max(x, 0.0), 1.0)
    if curve == LINEAR:
        y = m * (x - c) + b
    elif curve == POLYNOMIAL:
        y = m * _signed_power(x - c, k) + b
    elif curve == LOGISTIC:
        z = min(max(-m * (x - c), -EXP_LIMIT), EXP_LIMIT)
        y = k / (1.0 + math.exp(z)) + b
    elif curve == LOGIT:
        if k == 0.0:
            y = b
        else:
            u = min(max(x - c, LOGIT_EPS), 1.0 - LOGIT_EPS)
            y = m * math.log(u / (1.0 - u)) / k + b
    elif curve == STEP:
        y = b if x < c else m
    else:
        y = b
    return _clamp01(y)


@njit(cache=True, nogil=True, error_model="numpy", inline="always")  # inlined: no per-row call with 12 arrays
def _score_row(inputs, i, r, hour, current, cons_input, cons_curve, cons_params, weight, role_actions,
               role_bias, momentum, scores_out):  # pragma: no cover - compiled
    """Scores of every action for row ``i`` into ``scores_out[i]``; returns the best action (-1 if all 0)."""
    n_actions, n_slots = cons_input.shape
    best = -1
    best_score = np.float32(0.0)
    for a in range(n_actions):
        score = 0.0
        gate = float(weight[a]) * float(role_bias[r, hour, a])
        if role_actions[r, a] and gate > 0.0:
            n = 0
            while n < n_slots and cons_input[a, n] >= 0:
                n += 1
            mod = 1.0 - 1.0 / n if n > 0 else 0.0
            product = 1.0 if n > 0 else 0.0
            for slot in range(n):
                v = response(cons_curve[a, slot], float(cons_params[a, slot, 0]), float(cons_params[a, slot, 1]),
                             float(cons_params[a, slot, 2]), float(cons_params[a, slot, 3]),
                             float(inputs[i, cons_input[a, slot]]))
                product *= v + v * (1.0 - v) * mod
                if product == 0.0:
                    break
            score = gate * product
            if a == current:
                score *= 1.0 + momentum
        s32 = np.float32(score)
        scores_out[i, a] = s32
        if s32 > best_score:
            best_score = s32
            best = a
    return best


@njit(cache=True, nogil=True, parallel=True, error_model="numpy")
def score_actions(inputs, role, hour, current, locked, cons_input, cons_curve, cons_params, weight, role_actions,
                  role_bias, momentum, scores_out, best_out):  # pragma: no cover - compiled
    """Score every action for every NPC and choose one.

    Args:
        inputs: (N, I) float32 consideration inputs in [0, 1] (NaN reads as 0), columns as
            ``CompiledDesign.input_names``.
        role: (N,) int16 role index. hour: the in-game hour, 0..23. current: (N,) int16 current action
            (-1 = none). locked: (N,) bool, True while the NPC is inside its action's commitment (the caller
            clears it when an interrupt, e.g. a threat, applies).
        cons_input (A, C) int16, cons_curve (A, C) int8, cons_params (A, C, 4) float32, weight (A,) float32,
            role_actions (R, A) bool, role_bias (R, 24, A) float32: the ``CompiledDesign`` tables.
        momentum: hysteresis; the current action's score is multiplied by (1 + momentum).
        scores_out: (N, A) float32, written: score of each action (0 for actions the role may not choose).
        best_out: (N,) int16, written: the highest-scoring action (lowest index on ties), -1 if every score
            is 0; a locked NPC with a current action keeps it.
    """
    for i in prange(inputs.shape[0]):
        cur = current[i]
        best = _score_row(inputs, i, role[i], hour, cur, cons_input, cons_curve, cons_params, weight,
                          role_actions, role_bias, momentum, scores_out)
        if locked[i] and cur >= 0:
            best = cur
        best_out[i] = best


@njit(cache=True, nogil=True, error_model="numpy")
def score_actions_serial(inputs, role, hour, current, locked, cons_input, cons_curve, cons_params, weight,
                         role_actions, role_bias, momentum, scores_out, best_out):  # pragma: no cover - compiled
    """``score_actions`` on the calling thread only: same arguments, same results.

    Faster for small N (no thread wake-up) and steadier on a busy machine, where a parallel region waits for
    its slowest thread to be scheduled.
    """
    for i in range(inputs.shape[0]):
        cur = current[i]
        best = _score_row(inputs, i, role[i], hour, cur, cons_input, cons_curve, cons_params, weight,
                          role_actions, role_bias, momentum, scores_out)
        if locked[i] and cur >= 0:
            best = cur
        best_out[i] = best
