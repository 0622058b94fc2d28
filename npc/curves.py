"""Response curves and utility scoring: the pure-Python definition, and ``UtilityBrain``, the checked entry
point to the Numba kernel (``npc/kernels/utility.py``) that computes the same numbers over arrays.

Curves. Every curve maps an input x to a consideration score y; x is clamped to [0, 1] first (NaN reads
as 0) and y is clamped to [0, 1] last (NaN scores 0). Parameters (m, k, b, c); a consideration that
leaves one out gets the curve's default from ``npc.designs.CURVE_DEFAULTS``:

============  ==========================================================  ====================
curve         y                                                           defaults (m, k, b, c)
============  ==========================================================  ====================
linear        m (x - c) + b                                               1, 1, 0, 0
polynomial    m sign(x - c) |x - c|^k + b  (sign-preserving power;        1, 2, 0, 0
              0^k = 0 for k > 0, 1 for k = 0, +inf for k < 0)
logistic      k / (1 + exp(-m (x - c))) + b  (exponent clamped to         10, 1, 0, 0.5
              [-700, 700])
logit         m ln(u / (1 - u)) / k + b,  u = clamp(x - c, 1e-4, 1-1e-4)   1, 10, 0.5, 0
              (b if k = 0); the inverse S: steep at both ends
step          b if x < c else m                                           1, 0, 0, 0.5
constant      b                                                           0, 0, 1, 0
============  ==========================================================  ====================

Score of action a for an NPC of role r at in-game hour h::

    score = weight[a] * role_bias[r, h, a] * prod_j  make_up(curve_j(input_j))     (0 if the role may not
    make_up(v) = v + v (1 - v) (1 - 1/n)        n = number of a's considerations    choose a)

and the current action's score is multiplied by (1 + momentum) (hysteresis). ``make_up`` is the
*compensation factor* of Dave Mark's Infinite Axis Utility System (Dave Mark and Mike Lewis, "Building a
Better Centaur: AI at Massive Scale", GDC 2015 AI Summit; also documented as "Compensation Factor" in the
Utility Intelligence manual, utilityintelligence.carloslab-ai.com/Documentation/UtilityIntelligence/Considerations).
Multiplying n scores in [0, 1] drags an action with many considerations towards 0; the make-up restores
part of each score's shortfall in proportion to (1 - 1/n), so n = 1 is unchanged. In the published
formulation (and in the public implementations checked) it is applied to *each consideration score
before multiplying*, not once to the product, so that is what is implemented here and in the kernel.

The best action is the highest score (lowest index on ties), -1 if every score is 0; an NPC whose
``locked`` flag is set keeps its current action (the NPC system clears ``locked`` when an interrupt such
as a threat applies).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .designs import CURVES, HOURS, CompiledDesign
from .errors import NpcInputError
from .kernels.utility import EXP_LIMIT, LOGIT_EPS, score_actions, score_actions_serial

DEFAULT_MOMENTUM = 0.25
"""Default hysteresis: the current action scores 25 % higher than it otherwise would."""

PARALLEL_MIN_ROWS = 20_000
"""With ``parallel="auto"``, batches of at least this many NPCs use the multi-threaded kernel. Below it the
thread wake-up costs more than it saves, and on a busy 2-core machine a parallel region can wait a whole
scheduler slice for its second thread (see ``benchmarks/vs_behaviour_tree.py --scaling``)."""


def _clamp01(y: float) -> float:
    return 0.0 if y != y else min(max(y, 0.0), 1.0)


def _signed_power(d: float, k: float) -> float:
    """sign(d) * |d| ** k with 0 ** k = 0 (k > 0), 1 (k == 0), +inf (k < 0); overflow gives +-inf."""
    if d == 0.0:
        return 0.0 if k > 0.0 else (1.0 if k == 0.0 else math.inf)
    try:
        p = abs(d) ** k
    except OverflowError:
        p = math.inf
    return -p if d < 0.0 else p


def evaluate(curve: str | int, m: float, k: float, b: float, c: float, x: float) -> float:
    """The consideration score of one response curve at input ``x`` (see the table in the module docstring).

    Args:
        curve: a name from ``CURVES`` or its index. m, k, b, c: the curve's parameters. x: the input.

    Returns:
        A float in [0, 1].
    """
    cid = CURVES.index(curve) if isinstance(curve, str) else int(curve)
    x = 0.0 if x != x else min(max(x, 0.0), 1.0)
    if cid == 0:  # linear
        y = m * (x - c) + b
    elif cid == 1:  # polynomial
        y = m * _signed_power(x - c, k) + b
    elif cid == 2:  # logistic
        z = min(max(-m * (x - c), -EXP_LIMIT), EXP_LIMIT)
        y = k / (1.0 + math.exp(z)) + b
    elif cid == 3:  # logit
        if k == 0.0:
            y = b
        else:
            u = min(max(x - c, LOGIT_EPS), 1.0 - LOGIT_EPS)
            y = m * math.log(u / (1.0 - u)) / k + b
    elif cid == 4:  # step
        y = b if x < c else m
    else:  # constant
        y = b
    return _clamp01(y)


def make_up(value: float, n: int) -> float:
    """Dave Mark's compensation of one consideration score among ``n``: v + v (1 - v) (1 - 1/n)."""
    return value + value * (1.0 - value) * (1.0 - 1.0 / n)


def _considerations(design: CompiledDesign, a: int) -> list[int]:
    return [slot for slot in range(design.cons_input.shape[1]) if design.cons_input[a, slot] >= 0]


def _curve_of(design: CompiledDesign, a: int, slot: int) -> tuple[int, float, float, float, float]:
    m, k, b, c = (float(p) for p in design.cons_params[a, slot])
    return int(design.cons_curve[a, slot]), m, k, b, c


def score_row(design: CompiledDesign, inputs_row: Any, role: int, hour: int, current: int,
              momentum: float = DEFAULT_MOMENTUM) -> list[float]:
    """The (A,) action scores of one NPC, in pure Python; float32-rounded like the kernel's output.

    Args:
        inputs_row: (I,) inputs (``design.input_names``). role: role index. hour: in-game hour 0..23.
        current: current action index (-1 = none). momentum: hysteresis factor.
    """
    scores = []
    for a in range(len(design.action_names)):
        gate = float(design.weight[a]) * float(design.role_bias[role, hour, a])
        score = 0.0
        if design.role_actions[role, a] and gate > 0.0:
            slots = _considerations(design, a)
            product = 1.0 if slots else 0.0
            for slot in slots:
                v = evaluate(*_curve_of(design, a, slot), float(np.float32(inputs_row[design.cons_input[a, slot]])))
                product *= make_up(v, len(slots))
            score = gate * product * (1.0 + momentum if a == current else 1.0)
        scores.append(float(np.float32(score)))
    return scores


def choose(scores: list[float], current: int, locked: bool) -> int:
    """The decision rule: highest score, lowest index on ties, -1 if all 0; a locked NPC keeps ``current``."""
    if locked and current >= 0:
        return current
    best, best_score = -1, 0.0
    for a, s in enumerate(scores):
        if s > best_score:
            best, best_score = a, s
    return best


class UtilityBrain:
    """Decides actions for many NPCs at once with the Numba kernel, checking its inputs at the boundary.

    Args:
        design: a ``CompiledDesign`` (``compile_design(load_design(...))``).
        momentum: hysteresis, >= 0 (the current action's score is multiplied by 1 + momentum).
        parallel: ``"auto"`` (threads for batches of at least ``PARALLEL_MIN_ROWS``), True (always) or
            False (never). Results are identical either way.
    """

    def __init__(self, design: CompiledDesign, momentum: float = DEFAULT_MOMENTUM,
                 parallel: bool | str = "auto") -> None:
        if isinstance(momentum, bool) or not (isinstance(momentum, (int, float)) and math.isfinite(momentum)
                                              and momentum >= 0):
            raise NpcInputError(f"momentum must be a finite number >= 0, got {momentum!r}")
        if parallel not in (True, False, "auto"):
            raise NpcInputError(f'parallel must be True, False or "auto", got {parallel!r}')
        self.design = design
        self.momentum = float(momentum)
        self.parallel = parallel

    @property
    def n_inputs(self) -> int:
        return len(self.design.input_names)

    @property
    def n_actions(self) -> int:
        return len(self.design.action_names)

    def decide(self, inputs: np.ndarray, role: np.ndarray, hour: int, current: np.ndarray, locked: np.ndarray,
               scores_out: np.ndarray | None = None, best_out: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        """Score every action for every NPC and choose one (see the module docstring for the rule).

        Args:
            inputs: (N, I) float32 C-contiguous, columns as ``design.input_names``; values in [0, 1]
                (clamped; NaN reads as 0).
            role: (N,) int16 role indices. hour: in-game hour, an int in 0..23.
            current: (N,) int16 current action (-1 = none). locked: (N,) bool, inside a commitment.
            scores_out, best_out: optional (N, A) float32 and (N,) int16 buffers to write into.

        Returns:
            (best (N,) int16 with -1 where no action scored above 0, scores (N, A) float32).

        Raises:
            NpcInputError: a wrong shape, dtype or layout, an hour outside 0..23, a role or current
                action index out of range.
        """
        d = self.design
        n = _check_array("inputs", inputs, np.float32, 2)
        if inputs.shape[1] != self.n_inputs:
            raise NpcInputError(f"inputs must have {self.n_inputs} columns ({d.input_names}), got {inputs.shape[1]}")
        _check_array("role", role, np.int16, 1, n)
        _check_array("current", current, np.int16, 1, n)
        _check_array("locked", locked, np.bool_, 1, n)
        if isinstance(hour, bool) or not isinstance(hour, (int, np.integer)) or not 0 <= hour < HOURS:
            raise NpcInputError(f"hour must be an int in 0..23, got {hour!r}")
        if n and (role.min() < 0 or role.max() >= len(d.role_names)):
            raise NpcInputError(f"role indices must be in 0..{len(d.role_names) - 1}, got {role.min()}..{role.max()}")
        if n and (current.min() < -1 or current.max() >= self.n_actions):
            raise NpcInputError(f"current must be -1 or an action index < {self.n_actions}")
        if scores_out is None:
            scores_out = np.empty((n, self.n_actions), np.float32)
        else:
            _check_array("scores_out", scores_out, np.float32, 2, n)
            if scores_out.shape[1] != self.n_actions:
                raise NpcInputError(f"scores_out must have {self.n_actions} columns, got {scores_out.shape[1]}")
        if best_out is None:
            best_out = np.empty(n, np.int16)
        else:
            _check_array("best_out", best_out, np.int16, 1, n)
        threaded = self.parallel is True or (self.parallel == "auto" and n >= PARALLEL_MIN_ROWS)
        kernel = score_actions if threaded else score_actions_serial
        if n:
            kernel(inputs, role, int(hour), current, locked, d.cons_input, d.cons_curve, d.cons_params,
                          d.weight, d.role_actions, d.role_bias, self.momentum, scores_out, best_out)
        return best_out, scores_out

    def explain(self, inputs_row: Any, role: int, hour: int, current: int = -1) -> list[dict[str, Any]]:
        """Why one NPC scores its actions as it does, in pure Python (the same numbers as ``decide``).

        Args:
            inputs_row: (I,) inputs. role: role index. hour: 0..23. current: current action (-1 = none).

        Returns:
            For each action the role may choose, in design order: ``{"action", "score", "considerations":
            [{"input", "value", "curve", "score"}]}`` where a consideration's ``score`` is its curve output
            before the make-up (msgpack-able: only str, float and lists/dicts).

        Raises:
            NpcInputError: a row of the wrong length, or role, hour or current out of range.
        """
        d = self.design
        row = np.asarray(inputs_row, dtype=np.float32)
        if row.shape != (self.n_inputs,):
            raise NpcInputError(f"inputs_row must have shape ({self.n_inputs},), got {row.shape}")
        if not (isinstance(role, (int, np.integer)) and 0 <= role < len(d.role_names)):
            raise NpcInputError(f"role must be an index in 0..{len(d.role_names) - 1}, got {role!r}")
        if not (isinstance(hour, (int, np.integer)) and 0 <= hour < HOURS):
            raise NpcInputError(f"hour must be an int in 0..23, got {hour!r}")
        if not (isinstance(current, (int, np.integer)) and -1 <= current < self.n_actions):
            raise NpcInputError(f"current must be -1 or an action index < {self.n_actions}, got {current!r}")
        scores = score_row(d, row, int(role), int(hour), int(current), self.momentum)
        out = []
        for a in np.flatnonzero(d.role_actions[role]):
            considerations = []
            for slot in _considerations(d, int(a)):
                curve, m, k, b, c = _curve_of(d, int(a), slot)
                value = float(row[d.cons_input[a, slot]])
                considerations.append({"input": d.input_names[d.cons_input[a, slot]], "value": value,
                                       "curve": CURVES[curve], "score": evaluate(curve, m, k, b, c, value)})
            out.append({"action": d.action_names[a], "score": scores[a], "considerations": considerations})
        return out


def _check_array(name: str, array: Any, dtype: Any, ndim: int, rows: int | None = None) -> int:
    """Raise ``NpcInputError`` unless ``array`` is a C-contiguous ndarray of ``dtype``, ``ndim`` and ``rows``."""
    if not isinstance(array, np.ndarray):
        raise NpcInputError(f"{name} must be a numpy array, got {type(array).__name__}")
    if array.dtype != dtype:
        raise NpcInputError(f"{name} must have dtype {np.dtype(dtype).name}, got {array.dtype.name}")
    if array.ndim != ndim:
        raise NpcInputError(f"{name} must have {ndim} dimension(s), got shape {array.shape}")
    if not array.flags.c_contiguous:
        raise NpcInputError(f"{name} must be C-contiguous (use np.ascontiguousarray)")
    if rows is not None and array.shape[0] != rows:
        raise NpcInputError(f"{name} must have {rows} rows (one per NPC), got {array.shape[0]}")
    if name.endswith("_out") and not array.flags.writeable:
        raise NpcInputError(f"{name} must be writeable")
    return array.shape[0]
