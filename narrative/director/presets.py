"""Storyteller presets: designer data in TOML, decoded by msgspec into frozen, validated Structs.

A preset says *how* the director paces a world (a threat schedule or an intensity-driven pacing loop)
and *how hard* it pushes each player (the skill model, the success band, the step bound and the map from
one difficulty scalar to encounter parameters). Bundled presets live in ``presets/*.toml`` next to this
module: ``steady`` (periodic, escalating threats), ``random`` (Poisson threats of random size) and
``intensity`` (a Left 4 Dead style build-up / sustained peak / fade / relax loop).

Why this design: the same pattern as ``worldsim.scenario`` -- msgspec decodes straight into Structs with
``forbid_unknown_fields``, so a typo'd key or a wrong type is refused with its path before a director
exists; checks msgspec cannot express (``lo <= hi`` pairs, exactly one of ``[schedule]``/``[pacing]``) run
afterwards with the same error type. Every refusal is a ``DesignDataError`` naming the file and the field.
Rejected: YAML (implicit typing, a second parser) and JSON Schema (a second description that can drift).
"""

from __future__ import annotations

import math
import tomllib
import typing
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct

from ..errors import DesignDataError

PRESET_DIR = Path(__file__).resolve().parent / "presets"
"""Bundled presets: ``<name>.toml``."""

Positive = Annotated[float, Meta(gt=0)]
NonNeg = Annotated[float, Meta(ge=0)]
Unit = Annotated[float, Meta(ge=0, le=1)]
Range = Annotated[tuple[float, float], Meta()]
"""A ``[lo, hi]`` pair; ``lo <= hi`` is checked after decoding."""


class _Table(Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Base: unknown keys are errors; every field has a documented default or is required."""


class ScheduleSettings(_Table, frozen=True):
    """A threat schedule on the game clock (days of ``day_length`` seconds, years of ``days_per_year`` days).

    ``process = "periodic"``: threats every ``spacing_days`` x U(1 - jitter, 1 + jitter) days.
    ``process = "poisson"``: exponential spacing with mean ``spacing_days`` (a Poisson process).
    A threat is worth ``base_points + escalation_per_year * years`` points, times a log-normal factor of
    log-sd ``size_spread`` (mean 1); it becomes ``ceil(points / points_per_spawn)`` spawns.
    """

    process: Literal["periodic", "poisson"]
    spacing_days: Positive
    jitter: Annotated[float, Meta(ge=0, lt=1)] = 0.0
    first_after_days: NonNeg = 1.0
    day_length: Positive = 600.0
    days_per_year: Annotated[int, Meta(ge=1, le=10_000)] = 60
    base_points: Positive = 100.0
    escalation_per_year: NonNeg = 0.0
    size_spread: Annotated[float, Meta(ge=0, le=3)] = 0.0
    points_per_spawn: Positive = 35.0
    max_spawns: Annotated[int, Meta(ge=1, le=1000)] = 40


class PacingSettings(_Table, frozen=True):
    """An intensity-driven pacing loop per group of players (Left 4 Dead's AI director, in spirit).

    Intensity is in [0, 1] per player; a group's intensity is its players' maximum. Phases:
    build-up (spawn a wave every ``spawn_interval`` s until intensity >= ``peak_threshold``, or
    ``max_build_seconds`` passed), sustained peak (keep spawning for U(``peak_seconds``) s), fade (no
    spawns until intensity < ``relax_threshold``), relax (no spawns for U(``relax_seconds``) s).
    Intensity gains: ``damage_weight`` per unit of health fraction lost, ``kill_weight`` per kill,
    ``threat_weight`` per threat near per second, ``scarcity_weight`` per second at zero resources.
    It decays by ``decay_per_second`` only while no threat is near.
    """

    peak_threshold: Unit = 0.8
    relax_threshold: Unit = 0.25
    peak_seconds: Range = (3.0, 5.0)
    relax_seconds: Range = (30.0, 45.0)
    max_build_seconds: Positive = 90.0
    spawn_interval: Positive = 2.0
    wave_size: Range = (2.0, 4.0)
    damage_weight: NonNeg = 1.0
    kill_weight: NonNeg = 0.03
    threat_weight: NonNeg = 0.01
    scarcity_weight: NonNeg = 0.005
    decay_per_second: Positive = 0.04


class SkillSettings(_Table, frozen=True):
    """The per-player skill model, in skill units (a 1-unit gap is about +0.23 success probability at 50%).

    Success probability of an encounter of difficulty ``d`` for skill ``s``: Phi((s - d) / outcome_noise)
    (a probit; ``outcome_noise = 1.7`` makes it close to the logistic 1 / (1 + exp(d - s))).
    A performance reading (decoded from health left and time taken) observes ``s - d`` with Gaussian noise
    of sd ``reading_sd``. Players learn: skill moves by a per-player *trend* each encounter, which the
    model estimates jointly with skill (prior N(``trend_mean``, ``trend_sd``) per encounter; the trend
    fades by ``trend_persistence`` per encounter as players plateau). ``drift_sd`` and ``trend_noise_sd``
    are the unpredictable parts of each encounter's change in skill and in trend.
    """

    prior_mean: float = 0.0
    prior_sd: Positive = 2.0
    outcome_noise: Positive = 1.7
    reading_sd: Positive = 0.8
    drift_sd: NonNeg = 0.05
    trend_mean: float = 0.2
    trend_sd: NonNeg = 0.15
    trend_persistence: Unit = 0.85
    trend_noise_sd: NonNeg = 0.02


class ControllerSettings(_Table, frozen=True):
    """Where the controller aims: success probability in ``band``, aiming at its middle, moving the
    difficulty by at most ``max_step`` skill units per encounter, kept within ``difficulty_range``."""

    band: Range = (0.4, 0.6)
    max_step: Positive = 0.75
    difficulty_range: Range = (-8.0, 8.0)


class SignalSettings(_Table, frozen=True):
    """How health left and time taken are read as a margin ``s - d`` in skill units.

    A win: margin = ``health_scale`` * logit(health_left) (health clipped to [0.005, 0.995]).
    A loss (health 0): margin = ``time_scale`` * ln(time_taken / par) - ``loss_offset``, i.e. surviving
    longer is a smaller defeat. ``par_seconds`` is an encounter's par time at difficulty 0.
    """

    health_scale: Positive = 1.0
    time_scale: Positive = 1.0
    loss_offset: NonNeg = 0.0
    par_seconds: Positive = 60.0


class EncounterSettings(_Table, frozen=True):
    """Map from the difficulty scalar ``d`` to encounter parameters.

    ``level = 1 / (1 + exp(-d / softness))`` in (0, 1); each parameter is ``lo + level * (hi - lo)``
    of its pair (``resources`` usually falls: ``[1.0, 0.2]``); ``spawn_count`` is rounded.
    ``aggression`` is the NPC system's attack-score multiplier (0..10, 1 = its default) and ``accuracy``
    its hostile hit chance (0..1); the defaults give exactly the NPC defaults (1.0, 0.5) at difficulty 0.
    """

    softness: Positive = 2.5
    spawn_count: Range = (1.0, 12.0)
    aggression: Range = (0.2, 1.8)
    accuracy: Range = (0.1, 0.9)
    resources: tuple[float, float] = (1.0, 0.2)


class Preset(_Table, frozen=True):
    """A whole storyteller preset. Exactly one of ``schedule`` or ``pacing`` is given."""

    name: str
    description: str = ""
    schedule: ScheduleSettings | None = None
    pacing: PacingSettings | None = None
    skill: SkillSettings = SkillSettings()
    controller: ControllerSettings = ControllerSettings()
    signals: SignalSettings = SignalSettings()
    encounter: EncounterSettings = EncounterSettings()
    source: str = ""
    """File the preset came from (filled in by the loader, not read from the file)."""


MAX_MAGNITUDE = 1e6
"""Every number in a preset lies within +-MAX_MAGNITUDE (finite, and far from float overflow)."""


def _check_numbers(value: Any, field: str, source: str) -> None:
    """Every number finite and within +-MAX_MAGNITUDE. Raises ``DesignDataError`` naming the field."""
    if isinstance(value, dict):
        for key, item in value.items():
            _check_numbers(item, f"{field}.{key}" if field else key, source)
    elif isinstance(value, list | tuple):
        for item in value:
            _check_numbers(item, field, source)
    elif isinstance(value, float | int) and not isinstance(value, bool):
        if not (math.isfinite(value) and abs(value) <= MAX_MAGNITUDE):
            raise DesignDataError(source, field, f"a finite number within +-{MAX_MAGNITUDE:g}, got {value!r}")


def _check(preset: Preset, source: str) -> None:
    """Checks msgspec cannot express. Raises ``DesignDataError`` naming the field."""
    _check_numbers(msgspec.to_builtins(preset), "", source)
    for name in ("prior_sd", "outcome_noise", "reading_sd"):
        if getattr(preset.skill, name) < 1e-3:
            raise DesignDataError(source, f"skill.{name}", "a standard deviation of at least 0.001")
    if (preset.schedule is None) == (preset.pacing is None):
        raise DesignDataError(source, "schedule/pacing", "exactly one of a [schedule] or a [pacing] table")
    ranges: dict[str, tuple[float, float]] = {
        "controller.band": preset.controller.band,
        "controller.difficulty_range": preset.controller.difficulty_range,
        "encounter.spawn_count": preset.encounter.spawn_count,
        "encounter.aggression": preset.encounter.aggression,
        "encounter.accuracy": preset.encounter.accuracy,
    }
    if preset.pacing is not None:
        ranges |= {"pacing.peak_seconds": preset.pacing.peak_seconds,
                   "pacing.relax_seconds": preset.pacing.relax_seconds,
                   "pacing.wave_size": preset.pacing.wave_size}
        if preset.pacing.relax_threshold >= preset.pacing.peak_threshold:
            raise DesignDataError(source, "pacing.relax_threshold", "a value below pacing.peak_threshold")
        if preset.pacing.peak_seconds[0] <= 0 or preset.pacing.relax_seconds[0] <= 0:
            raise DesignDataError(source, "pacing.peak_seconds/relax_seconds", "durations above 0 seconds")
    for field, (lo, hi) in ranges.items():
        if not lo <= hi:
            raise DesignDataError(source, field, f"a [lo, hi] pair with lo <= hi, got [{lo}, {hi}]")
    lo, hi = preset.controller.band
    if not 0 < lo < hi < 1:
        raise DesignDataError(source, "controller.band", f"probabilities 0 < lo < hi < 1, got [{lo}, {hi}]")
    if not all(0 <= v <= 10 for v in preset.encounter.aggression):
        raise DesignDataError(source, "encounter.aggression", "attack multipliers within [0, 10]")
    if not all(0 <= v <= 1 for v in (*preset.encounter.accuracy, *preset.encounter.resources)):
        raise DesignDataError(source, "encounter", "accuracy and resources within [0, 1]")
    if preset.encounter.spawn_count[0] < 0:
        raise DesignDataError(source, "encounter.spawn_count", "a non-negative count")


def _field_of(message: str) -> tuple[str, str]:
    """Turn msgspec's "Expected X - at `$.a.b`" into (``a.b``, what was expected)."""
    head, sep, path = message.rpartition(" - at `")
    if not sep:
        head, path = message, "$`"
    field = path.rstrip("`").removeprefix("$").lstrip(".")
    unknown = "a known key (this one is unknown: check its spelling)"
    for prefix, expected in (("Object contains unknown field `", unknown),
                             ("Object missing required field `", "this required key")):
        if head.startswith(prefix):
            key = head[len(prefix):].rstrip("`")
            return (f"{field}.{key}" if field else key), expected
    return field or "(top level)", head.removeprefix("Expected ")


def _choices(field: str) -> tuple[str, ...]:
    """The allowed values of a ``Literal`` field at dotted path ``field`` (empty for other fields)."""
    cls: Any = Preset
    for part in field.split("."):
        hints = typing.get_type_hints(cls) if isinstance(cls, type) and issubclass(cls, Struct) else {}
        cls = hints.get(part)
        options = [a for a in typing.get_args(cls) if a is not type(None)]
        if typing.get_origin(cls) is not Literal and len(options) == 1:  # ``X | None``
            cls = options[0]
    return tuple(str(a) for a in typing.get_args(cls)) if typing.get_origin(cls) is Literal else ()


def from_dict(data: dict[str, Any], source: str = "<preset>") -> Preset:
    """Validate a parsed preset mapping. Raises ``DesignDataError`` naming ``source`` and the field."""
    if "source" in data:
        raise DesignDataError(source, "source", "no 'source' key (it is filled in by the loader)")
    try:
        preset = msgspec.convert(data, Preset)
    except msgspec.ValidationError as exc:
        field, expected = _field_of(str(exc))
        choices = _choices(field)
        if choices:
            expected = f"one of {', '.join(choices)} ({expected})"
        raise DesignDataError(source, field, expected) from None
    preset = msgspec.structs.replace(preset, source=source)
    _check(preset, source)
    return preset


def loads(text: str, source: str = "<preset>") -> Preset:
    """Validate preset TOML text. Raises ``DesignDataError`` (syntax errors carry line and column)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DesignDataError(source, "(syntax)", f"valid TOML ({exc})") from None
    return from_dict(data, source)


def available() -> list[str]:
    """Names of the bundled presets, sorted."""
    return sorted(path.stem for path in PRESET_DIR.glob("*.toml"))


def load_preset(name_or_path: str | Path) -> Preset:
    """A bundled preset by name (``"intensity"``) or a TOML file by path.

    Raises:
        DesignDataError: no such preset/file, unreadable file, TOML syntax error, unknown key, wrong type
            or inconsistent values -- naming the file and the field.
    """
    path = Path(name_or_path)
    if path.suffix != ".toml" and not path.exists():
        path = PRESET_DIR / f"{name_or_path}.toml"
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DesignDataError(source, "(file)", f"an existing preset file or a bundled preset "
                                                f"({', '.join(available())})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DesignDataError(source, "(file)", f"a readable UTF-8 TOML file ({exc})") from None
    return loads(text, source)


def to_builtins(preset: Preset) -> dict[str, Any]:
    """The preset as plain data (embedded in saves so a save survives later edits of the file)."""
    result: dict[str, Any] = msgspec.to_builtins(preset)
    return result
