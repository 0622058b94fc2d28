"""Scheduled storytellers: threats on the game clock, periodic-and-escalating or random (Poisson).

The schedule keeps one number, the clock time of the next threat; each ``advance(dt)`` fires every threat
whose time has come and draws the next spacing. Spacing and size come from a seeded generator, so a run
is reproducible from (preset, seed); stats over long runs are what ``benchmarks/storyteller_stats.py``
checks against the preset (mean spacing, threats per year, escalation per year).

Why a next-event time and not a per-tick hazard: a per-tick Bernoulli draw ties the statistics to the
tick rate and draws random numbers every tick; one draw per threat is exact at any ``dt``.
"""

from __future__ import annotations

import math

import msgspec
import numpy as np

from .presets import ScheduleSettings


class ScheduledThreat(msgspec.Struct, frozen=True, kw_only=True):
    """One threat: its ``number`` (1-based), clock ``time`` (s), ``points`` and ``count`` of spawns,
    and the ``spacing`` (days) since the previous threat (or since the start)."""

    number: int
    time: float
    points: float
    count: int
    spacing: float


class ThreatSchedule:
    """The threat clock of a scheduled storyteller. State: ``clock`` and ``next_at`` (seconds), ``fired``."""

    def __init__(self, settings: ScheduleSettings, rng: np.random.Generator) -> None:
        self.settings = settings
        self.rng = rng
        self.clock = 0.0
        self.fired = 0
        self.last_at = 0.0
        self.next_at = settings.first_after_days * settings.day_length

    @property
    def year_seconds(self) -> float:
        """Seconds in one game year."""
        return self.settings.day_length * self.settings.days_per_year

    def draw_spacing_days(self) -> float:
        """Days until the following threat (one draw from the generator)."""
        s = self.settings
        if s.process == "poisson":
            return float(self.rng.exponential(s.spacing_days))
        return float(s.spacing_days * self.rng.uniform(1.0 - s.jitter, 1.0 + s.jitter))

    def points_at(self, seconds: float) -> float:
        """Expected threat points at clock ``seconds``: base plus escalation per elapsed year."""
        return self.settings.base_points + self.settings.escalation_per_year * seconds / self.year_seconds

    def advance(self, dt: float) -> list[ScheduledThreat]:
        """Move the clock by ``dt`` seconds; return every threat that fell due, in order."""
        s = self.settings
        self.clock += dt
        due: list[ScheduledThreat] = []
        while self.next_at <= self.clock:
            at = self.next_at
            factor = 1.0
            if s.size_spread > 0:
                factor = math.exp(s.size_spread * float(self.rng.standard_normal()) - 0.5 * s.size_spread**2)
            points = self.points_at(at) * factor
            count = max(1, min(s.max_spawns, math.ceil(points / s.points_per_spawn)))
            self.fired += 1
            due.append(ScheduledThreat(number=self.fired, time=at, points=points, count=count,
                                       spacing=(at - self.last_at) / s.day_length))
            self.last_at = at
            self.next_at = at + self.draw_spacing_days() * s.day_length
        return due

    def state(self) -> dict[str, float]:
        """Plain-data state for saves (the generator's state is saved by the owner)."""
        return {"clock": self.clock, "fired": self.fired, "last_at": self.last_at, "next_at": self.next_at}

    def load_state(self, state: dict[str, float]) -> None:
        """Inverse of ``state`` (validated by the caller)."""
        self.clock, self.fired = float(state["clock"]), int(state["fired"])
        self.last_at, self.next_at = float(state["last_at"]), float(state["next_at"])
