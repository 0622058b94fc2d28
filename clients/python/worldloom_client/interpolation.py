"""Entity interpolation: render the world a little in the past, between two received snapshots.

Why this design: snapshots arrive at the tick rate with network jitter; drawing the newest one makes
motion stutter. Rendering at ``render_time - delay`` (``delay`` ≈ two tick intervals) almost always has
a snapshot on each side, and linear interpolation between them is smooth and cheap. Entities are matched
by id; one present only in the later snapshot has just appeared and is drawn where it is (snapped); one
present only in the earlier snapshot has left and is not drawn.

Past the newest snapshot (packet loss, a stalled server) positions are extrapolated along the last
interval for at most ``max_extrapolation`` intervals and then held — never further, so a lost
connection freezes the world instead of flinging it away. Before the oldest snapshot the oldest is shown.

The buffer stores the views as received (quantized ``int64`` columns, O(1) per push) and only converts
the two bracketing snapshots to metres when sampled, so a client that never renders (a bot) pays nothing.
Pure numpy, no I/O. Alternatives rejected: Hermite/velocity-based curves (the wire carries no velocity)
and per-entity objects (columns stay columns).
"""

from __future__ import annotations

from bisect import bisect_right
from collections import deque
from collections.abc import Mapping
from typing import Any, Protocol

import numpy as np
from protocol.messages import POSITION_QUANTUM

Sample = dict[str, tuple[np.ndarray, np.ndarray]]
"""``kind -> (ids int64 (n,), positions float64 (n, 3) metres)``."""


class KindColumns(Protocol):
    """What a view holds per kind (``protocol.snapshot.KindView``): ids ``(n,)`` and quantized ``q (n, 3)``."""

    @property
    def ids(self) -> np.ndarray: ...

    @property
    def q(self) -> np.ndarray: ...


class InterpolationBuffer:
    """A bounded, time-ordered buffer of world views that can be sampled at any time.

    Args:
        delay: seconds to render behind ``render_time`` (0 renders the newest data available).
        capacity: how many views to keep (older ones are dropped).
        quantum: metres per quantized position unit (``Welcome.quantum``).
        max_extrapolation: how many intervals past the newest snapshot positions may be extrapolated.
    """

    def __init__(self, delay: float = 0.1, capacity: int = 32, quantum: float = POSITION_QUANTUM,
                 max_extrapolation: float = 1.0) -> None:
        if delay < 0 or capacity < 2 or quantum <= 0 or max_extrapolation < 0:
            raise ValueError("need delay >= 0, capacity >= 2, quantum > 0, max_extrapolation >= 0")
        self.delay = float(delay)
        self.quantum = float(quantum)
        self.max_extrapolation = float(max_extrapolation)
        self._times: deque[float] = deque(maxlen=capacity)
        self._views: deque[Mapping[str, Any]] = deque(maxlen=capacity)

    def push(self, server_time: float, view: Mapping[str, KindColumns]) -> bool:
        """Add the view of the world at ``server_time`` (seconds). Returns False if it was out of order.

        A view with the same time as the newest replaces it; an older one is ignored.
        """
        times = self._times
        if times and server_time <= times[-1]:
            if server_time == times[-1]:
                self._views[-1] = view
                return True
            return False
        times.append(float(server_time))
        self._views.append(view)
        return True

    def clear(self) -> None:
        self._times.clear()
        self._views.clear()

    def __len__(self) -> int:
        return len(self._times)

    @property
    def newest_time(self) -> float | None:
        return self._times[-1] if self._times else None

    def sample(self, render_time: float) -> Sample:
        """Positions at ``render_time - delay`` (server seconds). Empty dict if nothing was pushed."""
        times = self._times
        if not times:
            return {}
        t = render_time - self.delay
        n = len(times)
        i = bisect_right(times, t) - 1  # times[i] <= t < times[i + 1]
        if i < 0:
            return self._exact(self._views[0])
        if i == n - 1:
            if t == times[-1] or n == 1:
                return self._exact(self._views[-1])
            interval = times[-1] - times[-2]
            ahead = min((t - times[-1]) / interval, self.max_extrapolation)
            return self._blend(self._views[-2], self._views[-1], 1.0 + ahead)
        if t == times[i]:
            return self._exact(self._views[i])
        alpha = (t - times[i]) / (times[i + 1] - times[i])
        return self._blend(self._views[i], self._views[i + 1], alpha)

    # ------------------------------------------------------------ internals
    def _metres(self, columns: KindColumns) -> np.ndarray:
        return np.asarray(columns.q, dtype=np.float64).reshape(-1, 3) * self.quantum

    def _exact(self, view: Mapping[str, KindColumns]) -> Sample:
        return {kind: (np.asarray(c.ids, dtype=np.int64), self._metres(c)) for kind, c in view.items()}

    def _blend(self, early: Mapping[str, KindColumns], late: Mapping[str, KindColumns], alpha: float) -> Sample:
        """Entities of ``late``; those also in ``early`` at ``early + (late - early) * alpha``."""
        out: Sample = {}
        for kind, b in late.items():
            ids = np.asarray(b.ids, dtype=np.int64)
            pos = self._metres(b)
            a = early.get(kind)
            if a is not None and len(ids) and len(a.ids):
                _, ia, ib = np.intersect1d(a.ids, ids, assume_unique=True, return_indices=True)
                if len(ib):
                    start = self._metres(a)[ia]
                    pos[ib] = start + (pos[ib] - start) * alpha
            out[kind] = (ids, pos)
        return out
