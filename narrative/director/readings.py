"""Performance readings: health left and time taken, turned into a margin ``s - d`` in skill units.

A win says "skill above difficulty", but not by how much; health left and time taken do. The reading is
the designer-calibrated map (``[signals]`` of a preset):

* win:  margin = health_scale * logit(health_left), averaged with -time_scale * ln(time / par) when a
  time is given (an easy win ends with health to spare, and fast);
* loss: margin = time_scale * ln(time / par) - loss_offset (health is 0; surviving longer is a smaller
  defeat).

``encode`` is the inverse, used by the simulator to produce game-like signals from a margin. Keeping both
directions here keeps them consistent (a round-trip test checks it).

Shapes: every function takes and returns (n,) float64 arrays (scalars broadcast).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .presets import SignalSettings

Array = npt.NDArray[np.float64]

HEALTH_CLIP = (0.005, 0.995)
"""Health fractions are clipped into this range before the logit (full health is not infinite skill)."""


def decode(won: npt.ArrayLike, health_left: npt.ArrayLike, time_taken: npt.ArrayLike,
           signals: SignalSettings) -> Array:
    """Margin readings (n,) in skill units; NaN where no usable signal was given.

    Args:
        won: (n,) bool outcome.
        health_left: (n,) fraction of max health at the end, in [0, 1]; NaN if unknown.
        time_taken: (n,) seconds the encounter lasted (> 0); NaN if unknown.
    """
    w, h, t = np.broadcast_arrays(np.asarray(won, dtype=bool), np.asarray(health_left, dtype=np.float64),
                                  np.asarray(time_taken, dtype=np.float64))
    with np.errstate(divide="ignore", invalid="ignore"):
        hc = np.clip(h, *HEALTH_CLIP)
        from_health = signals.health_scale * np.log(hc / (1.0 - hc))
        log_time = np.log(t / signals.par_seconds)
        win_from_time = -signals.time_scale * log_time
        loss_from_time = signals.time_scale * log_time - signals.loss_offset
    usable_t = np.isfinite(t) & (t > 0)
    usable_h = np.isfinite(h)
    win_reading = np.where(usable_h & usable_t, 0.5 * (from_health + win_from_time),
                           np.where(usable_h, from_health, np.where(usable_t, win_from_time, np.nan)))
    loss_reading = np.where(usable_t, loss_from_time, np.nan)
    return np.where(w, win_reading, loss_reading)


def encode(won: npt.ArrayLike, margin: npt.ArrayLike, signals: SignalSettings) -> tuple[Array, Array]:
    """Signals a player with reading ``margin`` would report: (health_left (n,), time_taken (n,) seconds).

    ``decode(won, *encode(won, margin))`` returns ``margin`` (up to the health clip).
    """
    w, y = np.broadcast_arrays(np.asarray(won, dtype=bool), np.asarray(margin, dtype=np.float64))
    health = np.where(w, 1.0 / (1.0 + np.exp(-y / signals.health_scale)), 0.0)
    time_win = signals.par_seconds * np.exp(-y / signals.time_scale)
    time_loss = signals.par_seconds * np.exp((y + signals.loss_offset) / signals.time_scale)
    return health, np.where(w, time_win, time_loss)
