"""Difficulty curves along the critical path: progress t in [0, 1] (entrance -> exit) to a level in [0, 1]."""

from __future__ import annotations

import numpy as np

NAMED_CURVES: dict[str, tuple[float, ...]] = {
    "flat": (0.5, 0.5),
    "linear": (0.0, 1.0),
    "rising": (0.1, 0.25, 0.45, 0.7, 1.0),  # gentle start, steep end
    "sawtooth": (0.1, 0.6, 0.25, 0.8, 0.4, 1.0),  # tension and release
    "peak": (0.1, 0.4, 1.0, 0.5),  # climax three quarters in, calm before the exit
}


def curve_points(curve: str | tuple[float, ...]) -> np.ndarray:
    """The control points of a named or explicit curve, (k,) float64, spaced evenly over t in [0, 1]."""
    return np.array(NAMED_CURVES[curve] if isinstance(curve, str) else curve, dtype=np.float64)


def evaluate(curve: str | tuple[float, ...], t: np.ndarray) -> np.ndarray:
    """Piecewise-linear curve value at progress ``t`` (any shape, clipped to [0, 1])."""
    points = curve_points(curve)
    xs = np.linspace(0.0, 1.0, len(points))
    return np.interp(np.clip(t, 0.0, 1.0), xs, points)
