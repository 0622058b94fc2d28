"""Intensity tracking and the pacing loop of the intensity-driven director, vectorised over players/groups.

Intensity (per player, in [0, 1]) is the director's estimate of how hard-pressed a player is. It rises
with what the player goes through -- health lost, kills made, threats near (per second), scarce resources
(per second) -- and decays only while no threat is near, so a fight does not cool down while it lasts.
A group's intensity is its hottest player's (one overwhelmed player is enough to back off).

The pacing loop per group (the shape of Left 4 Dead's AI director):

    build_up --intensity >= peak_threshold (or max_build_seconds)--> peak --U(peak_seconds)--> fade
    fade --intensity < relax_threshold--> relax --U(relax_seconds)--> build_up

Spawn waves go out every ``spawn_interval`` seconds in build-up and peak; none in fade and relax.
Timed phases end on the first tick at which their drawn length is reached, or earlier if the *next* tick
would overshoot the upper end of the range, so a measured duration stays inside the range whenever a tick
is shorter than the range's width (a 20 Hz server's 0.05 s ticks against 2 s and 15 s widths).

Why columns: one director serves every group of a world (and the benchmark runs a thousand groups at
once); the state is five (g,) arrays and one tick is a handful of NumPy operations. Rejected: an object
per group with its own timers (Python overhead per group per tick, and harder to save).
"""

from __future__ import annotations

import msgspec
import numpy as np
import numpy.typing as npt

from .presets import PacingSettings

Array = npt.NDArray[np.float64]

PHASES = ("build_up", "peak", "fade", "relax")
BUILD_UP, PEAK, FADE, RELAX = range(4)


def update_intensity(intensity: Array, damage: Array, kills: Array, threats_near: Array, resources: Array,
                     dt: float, settings: PacingSettings) -> Array:
    """Player intensities after ``dt`` seconds, shape (n,), each in [0, 1].

    Args:
        intensity: (n,) current intensities.
        damage: (n,) health lost since the last tick, as a fraction of max health (>= 0).
        kills: (n,) kills made since the last tick (>= 0).
        threats_near: (n,) threats near the player now (>= 0).
        resources: (n,) resource level now, 1 = plenty, 0 = none.
        dt: seconds since the last tick (> 0).
    """
    gain = (settings.damage_weight * damage + settings.kill_weight * kills
            + dt * (settings.threat_weight * threats_near + settings.scarcity_weight * (1.0 - resources)))
    calm = threats_near <= 0
    return np.clip(intensity + gain - np.where(calm, settings.decay_per_second * dt, 0.0), 0.0, 1.0)


def group_intensity(player_intensity: Array, player_group: npt.NDArray[np.int64], groups: int) -> Array:
    """Each group's intensity: the maximum over its players (0 for a group with none), shape (groups,)."""
    result = np.zeros(groups)
    np.maximum.at(result, player_group, player_intensity)
    return result


class PacingColumns(msgspec.Struct, kw_only=True):
    """Pacing state per group, each (g,): ``phase`` (index into ``PHASES``, int64), ``elapsed`` seconds in
    it, ``length`` drawn for a timed phase (s, 0 otherwise), ``since_spawn`` seconds since the last wave."""

    phase: npt.NDArray[np.int64]
    elapsed: Array
    length: Array
    since_spawn: Array

    @classmethod
    def new(cls, groups: int, settings: PacingSettings) -> PacingColumns:
        """``groups`` groups starting a build-up, a wave due at once."""
        return cls(phase=np.zeros(groups, dtype=np.int64), elapsed=np.zeros(groups), length=np.zeros(groups),
                   since_spawn=np.full(groups, settings.spawn_interval))

    def grow(self, groups: int, settings: PacingSettings) -> None:
        """Add groups up to ``groups`` in total (new ones start a build-up)."""
        extra = groups - self.phase.size
        if extra > 0:
            fresh = PacingColumns.new(extra, settings)
            for name in ("phase", "elapsed", "length", "since_spawn"):
                setattr(self, name, np.concatenate([getattr(self, name), getattr(fresh, name)]))


class PacingStep(msgspec.Struct, frozen=True, kw_only=True):
    """What one pacing tick decided. ``changed``: (k,) groups that changed phase, with ``previous`` (k,)
    phases and ``durations`` (k,) seconds spent in them; ``waves``: (g,) spawns per group this tick."""

    changed: npt.NDArray[np.int64]
    previous: npt.NDArray[np.int64]
    durations: Array
    waves: npt.NDArray[np.int64]


def _timer_done(elapsed: Array, length: Array, dt: float, hi: float) -> npt.NDArray[np.bool_]:
    return (elapsed >= length) | (elapsed + dt > hi)


def advance_pacing(columns: PacingColumns, intensity: Array, dt: float, settings: PacingSettings,
                   rng: np.random.Generator) -> PacingStep:
    """Advance every group's phase by ``dt`` seconds given group ``intensity`` (g,); mutates ``columns``.

    Random draws (phase lengths, wave sizes) come from ``rng`` in ascending group order, so the same
    inputs and seed give the same decisions.
    """
    c = columns
    c.elapsed += dt
    c.since_spawn += dt
    phase = c.phase
    peak_lo, peak_hi = settings.peak_seconds
    relax_lo, relax_hi = settings.relax_seconds
    to_peak = (phase == BUILD_UP) & (intensity >= settings.peak_threshold)
    to_fade = ((phase == BUILD_UP) & ~to_peak & (c.elapsed >= settings.max_build_seconds)) | (
        (phase == PEAK) & (c.elapsed >= peak_lo) & _timer_done(c.elapsed, c.length, dt, peak_hi))
    to_relax = (phase == FADE) & (intensity < settings.relax_threshold)
    to_build = (phase == RELAX) & (c.elapsed >= relax_lo) & _timer_done(c.elapsed, c.length, dt, relax_hi)
    new_phase = phase.copy()
    new_phase[to_peak], new_phase[to_fade], new_phase[to_relax], new_phase[to_build] = PEAK, FADE, RELAX, BUILD_UP
    changed = np.flatnonzero(new_phase != phase)
    previous, durations = phase[changed].copy(), c.elapsed[changed].copy()
    c.length[changed] = 0.0
    peak_rows, relax_rows = np.flatnonzero(to_peak), np.flatnonzero(to_relax)
    if peak_rows.size:
        c.length[peak_rows] = rng.uniform(peak_lo, peak_hi, peak_rows.size)
    if relax_rows.size:
        c.length[relax_rows] = rng.uniform(relax_lo, relax_hi, relax_rows.size)
    c.elapsed[changed] = 0.0
    c.since_spawn[np.flatnonzero(to_build)] = settings.spawn_interval  # a wave opens every build-up
    c.phase = new_phase
    spawning = ((new_phase == BUILD_UP) | (new_phase == PEAK)) & (c.since_spawn >= settings.spawn_interval)
    waves = np.zeros(phase.size, dtype=np.int64)
    rows = np.flatnonzero(spawning)
    if rows.size:
        lo, hi = settings.wave_size
        waves[rows] = rng.integers(int(round(lo)), int(round(hi)) + 1, rows.size)
        c.since_spawn[rows] = 0.0
    return PacingStep(changed=changed, previous=previous, durations=durations, waves=waves)
