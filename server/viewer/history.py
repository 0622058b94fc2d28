"""Price and stock history of every settlement: a fixed-size ring buffer sampled each economy step.

Why a ring buffer of (capacity, T, G) float64 arrays: the viewer asks "how did prices move lately", the
markets update every ``economy_interval`` seconds, and a bounded window keeps both memory and the RPC
answer (``viewer.settlement``, one frame under ``MAX_FRAME_BYTES``) bounded however long the server runs.
Sampling happens in a room tick listener, after the tick, so the history never affects the simulation.
"""

from __future__ import annotations

from typing import Any

import numpy as np

DEFAULT_CAPACITY = 240
"""Samples kept per settlement (240 economy steps = 20 minutes at the default 5 s interval)."""


class MarketHistory:
    """Ring buffer of the economy's ``price`` and ``stock`` (T settlements x G goods) over time.

    Args:
        capacity: samples kept (>= 2); the oldest sample is overwritten first.
    """

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 2:
            raise ValueError(f"capacity must be >= 2, got {capacity}")
        self.capacity = capacity
        self._ticks = np.zeros(capacity, dtype=np.int64)
        self._price: np.ndarray | None = None  # (capacity, T, G) coins per unit
        self._stock: np.ndarray | None = None  # (capacity, T, G) units
        self._count = 0  # samples written in total

    def __len__(self) -> int:
        return min(self._count, self.capacity)

    def sample(self, tick: int, price: np.ndarray, stock: np.ndarray) -> None:
        """Record ``price`` and ``stock`` (T, G) float64 at ``tick``; a shape change restarts the history."""
        if self._price is None or self._price.shape[1:] != price.shape:
            self._price = np.zeros((self.capacity, *price.shape))
            self._stock = np.zeros((self.capacity, *price.shape))
            self._count = 0
        assert self._stock is not None
        at = self._count % self.capacity
        self._ticks[at] = tick
        self._price[at] = price
        self._stock[at] = stock
        self._count += 1

    def series(self, settlement: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Oldest-first ``ticks`` (k,) int64, ``price`` (k, G) and ``stock`` (k, G) of one settlement index."""
        k = len(self)
        if k == 0 or self._price is None or self._stock is None:
            return np.zeros(0, np.int64), np.zeros((0, 0)), np.zeros((0, 0))
        order = (np.arange(k) + (self._count - k)) % self.capacity
        return self._ticks[order], self._price[order, settlement], self._stock[order, settlement]

    def describe(self, settlement: int, name: str, goods: list[str]) -> dict[str, Any]:
        """The msgpack-able answer of ``viewer.settlement``: series per good, oldest first."""
        ticks, price, stock = self.series(settlement)
        return {"name": name, "goods": goods, "ticks": ticks.tolist(),
                "price": {g: [round(v, 4) for v in price[:, i].tolist()] for i, g in enumerate(goods)},
                "stock": {g: [round(v, 3) for v in stock[:, i].tolist()] for i, g in enumerate(goods)}}
