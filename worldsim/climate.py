"""Clock and weather: time of day with a daylight curve, and a Markov chain of weather states.

Daylight is ``max(0, sin(2*pi*(hour - 6) / 24))`` (0 at night, 1 at noon). Weather changes after its
state's ``duration`` seconds to a next state drawn from the "weather" stream with the scenario's weights.
Growth is scaled by weather and by daylight (by default plants grow at a third of the rate at night,
``world.night_growth``); creature
metabolism is scaled by weather.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .scenario import Scenario

NIGHT_GROWTH = 1.0 / 3.0
"""Default growth rate at night relative to noon."""


@dataclass
class Climate:
    """Weather state index into ``names`` and seconds left in it; the clock is derived from the tick."""

    names: list[str]
    growth: list[float]
    metabolism: list[float]
    duration: list[float]
    transitions: list[tuple[list[int], list[float]]]
    day_length: float
    start_hour: float
    night_growth: float = NIGHT_GROWTH
    state: int = 0
    remaining: float = 0.0

    @classmethod
    def from_scenario(cls, scenario: Scenario) -> Climate:
        names = list(scenario.weather)
        weathers = list(scenario.weather.values())
        transitions = []
        for w in weathers:
            targets = [names.index(t) for t, weight in w.next.items() if weight > 0]
            weights = [weight for weight in w.next.values() if weight > 0]
            total = sum(weights)
            transitions.append((targets, [x / total for x in weights]) if targets else ([0], [1.0]))
        return cls(names=names, growth=[w.growth for w in weathers], metabolism=[w.metabolism for w in weathers],
                   duration=[w.duration for w in weathers], transitions=transitions,
                   day_length=scenario.world.day_length, start_hour=scenario.world.start_hour,
                   night_growth=scenario.world.night_growth,
                   state=0, remaining=weathers[0].duration)

    def hour(self, seconds: float) -> float:
        """In-game hour [0, 24) at ``seconds`` of simulated time."""
        return (self.start_hour + 24.0 * seconds / self.day_length) % 24.0

    def daylight(self, seconds: float) -> float:
        """Daylight in [0, 1] at ``seconds`` of simulated time."""
        return max(0.0, math.sin(2.0 * math.pi * (self.hour(seconds) - 6.0) / 24.0))

    def growth_factor(self, seconds: float) -> float:
        light = self.daylight(seconds)
        return self.growth[self.state] * (self.night_growth + (1.0 - self.night_growth) * light)

    def metabolism_factor(self) -> float:
        return self.metabolism[self.state]

    def advance(self, dt: float, rng: np.random.Generator) -> tuple[str, str] | None:
        """Advance ``dt`` seconds; returns (old, new) weather names when the weather changed."""
        self.remaining -= dt
        if self.remaining > 0:
            return None
        targets, weights = self.transitions[self.state]
        old = self.state
        self.state = int(targets[int(np.searchsorted(np.cumsum(weights), rng.random(), side="right").clip(0, len(targets) - 1))])
        self.remaining += self.duration[self.state]
        return (self.names[old], self.names[self.state]) if old != self.state else None

    def arrays(self) -> dict[str, np.ndarray]:
        return {"climate.state": np.array([self.state], dtype=np.int64),
                "climate.remaining": np.array([self.remaining], dtype=np.float64)}

    def load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self.state = int(arrays["climate.state"][0])
        self.remaining = float(arrays["climate.remaining"][0])
