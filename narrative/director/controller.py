"""The director's runtime object: the one thing the world/server calls, once per tick and per encounter.

    director = Director.from_preset("intensity", seed=7)
    director.observe(player_id, PlayerSignals(damage_taken=0.1, threats_near=3, kills=1, resources=0.6))
    actions = director.tick(dt)                      # spawns, phase changes, hostility -> world events
    params = director.encounter_params(player_id)    # spawn count, aggression, accuracy, resources
    action = director.record_outcome(player_id, won=True, health_left=0.4, time_taken=52.0)
    state = director.to_dict(); Director.from_dict(state)   # saves (msgpack-able plain data)

Players are added on first mention (a new player starts at the prior: an average player's 50% encounter)
and kept as rows of columns, so the per-tick work is a few NumPy operations whatever the player count.
Every decision comes back as a typed ``DirectorAction`` with its reason (``actions.py``); nothing here
does I/O. Random draws come from ``worldsim.rng.RngStreams(seed)`` (one PCG64 stream per purpose), so the
same preset, seed and calls give the same actions in any process.

Why one object with both jobs (pacing and difficulty): they share the players and the save; the
separate pure modules (``intensity``, ``storyteller``, ``skill``, ``difficulty``) keep the logic testable
on its own. Rejected: a director per player (pacing is a group matter; saves and ticks multiply).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import numpy.typing as npt

from worldsim.rng import RngStreams

from ..errors import DirectorInputError, DirectorStateError, NarrativeError
from . import intensity as pacing
from . import readings
from . import skill as sk
from .actions import DifficultyAction, DirectorAction, HostilityAction, PhaseAction, SpawnAction, ThreatAction
from .difficulty import SkillColumns, encounter_parameters, record_outcomes, target_probability
from .presets import Preset, load_preset, to_builtins
from .presets import from_dict as preset_from_dict
from .storyteller import ThreatSchedule

SAVE_VERSION = 1
MAX_GROUPS = 1024
MAX_SIGNAL = 1e6
"""Upper bound of each observed signal (and of its sum until the next tick)."""
HOSTILITY_EPSILON = 0.02
"""A hostility change smaller than this (on both values) is not re-emitted."""

_FLOAT_COLUMNS = ("mean", "var", "trend", "cov", "var_trend", "difficulty", "intensity", "damage", "kills",
                  "threats", "resources")
_INT_COLUMNS = ("encounters", "group")


class PlayerSignals(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What a player went through since the last observation.

    ``damage_taken``: health lost as a fraction of max health (>= 0); ``kills`` made (>= 0);
    ``threats_near``: hostile things near the player now (>= 0); ``resources``: 1 = plenty, 0 = none.
    """

    damage_taken: float = 0.0
    threats_near: int = 0
    kills: int = 0
    resources: float = 1.0


class EncounterParams(msgspec.Struct, frozen=True, kw_only=True):
    """A player's next encounter: the difficulty scalar (skill units) and what it maps to.

    ``level`` in (0, 1); ``spawn_count`` threats; ``aggression``, ``accuracy``, ``resources`` in [0, 1];
    ``p_success``: the model's predicted success probability; ``par_seconds``: expected length.
    """

    player: int
    difficulty: float
    level: float
    spawn_count: int
    aggression: float
    accuracy: float
    resources: float
    p_success: float
    par_seconds: float


def _finite(name: str, value: Any, lo: float = -math.inf, hi: float = math.inf) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise DirectorInputError(f"{name} must be a number, got {type(value).__name__}") from None
    if not (math.isfinite(x) and lo <= x <= hi):
        raise DirectorInputError(f"{name} must be a finite number in [{lo}, {hi}], got {value!r}")
    return x


def _player_id(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise DirectorInputError(f"player id must be an integer, got {type(value).__name__}")
    return int(value)


class Director:
    """Pacing (a threat schedule or an intensity loop) and per-player adaptive difficulty for one world."""

    def __init__(self, preset: Preset, seed: int) -> None:
        """Raises ``DirectorInputError`` for a seed outside [0, 2**64)."""
        try:
            self.streams = RngStreams(seed)
        except Exception as exc:  # worldsim's InputError: re-raise as ours so callers catch one root
            raise DirectorInputError(str(exc)) from None
        self.preset = preset
        self.seed = int(seed)
        self.clock = 0.0
        self._ids: dict[int, int] = {}
        self._order: list[int] = []
        self._cols: dict[str, npt.NDArray[Any]] = {
            **{name: np.zeros(0) for name in _FLOAT_COLUMNS}, **{name: np.zeros(0, np.int64) for name in _INT_COLUMNS}}
        self.pacing = pacing.PacingColumns.new(1, preset.pacing) if preset.pacing else None
        self.schedule = ThreatSchedule(preset.schedule, self.streams.stream("schedule")) if preset.schedule else None
        self.hostility: tuple[float, float] | None = None

    @classmethod
    def from_preset(cls, name_or_path: str | Path, seed: int) -> Director:
        """A director from a bundled preset name (``steady``, ``random``, ``intensity``) or a TOML path.

        Raises ``DesignDataError`` for a missing or invalid preset, ``DirectorInputError`` for a bad seed.
        """
        return cls(load_preset(name_or_path), seed)

    # ----------------------------------------------------------------- players
    @property
    def player_count(self) -> int:
        return len(self._order)

    def player_ids(self) -> npt.NDArray[np.int64]:
        """Ids of the known players, in row order, shape (n,)."""
        return np.asarray(self._order, dtype=np.int64)

    def columns(self) -> dict[str, npt.NDArray[Any]]:
        """Read-only copies of the per-player columns (row order as ``player_ids``) and each player's pacing
        phase name (``"scheduled"`` under a storyteller schedule)."""
        out = {name: self._col(name).copy() for name in self._cols}
        if self.pacing is not None:
            groups = self._col("group")
            out["phase"] = np.array([pacing.PHASES[int(self.pacing.phase[g])] if g < len(self.pacing.phase)
                                     else "relax" for g in groups.tolist()], dtype=object)
        else:
            out["phase"] = np.full(len(self._order), "scheduled", dtype=object)
        return out

    def _col(self, name: str) -> npt.NDArray[Any]:
        return self._cols[name][: len(self._order)]

    def _skill_view(self) -> SkillColumns:
        n = len(self._order)
        c = self._cols
        return SkillColumns(mean=c["mean"][:n], var=c["var"][:n], trend=c["trend"][:n], cov=c["cov"][:n],
                            var_trend=c["var_trend"][:n], difficulty=c["difficulty"][:n],
                            encounters=c["encounters"][:n])

    def _row(self, player_id: Any) -> int:
        """The row of ``player_id``, adding the player (at the prior, group 0) if unknown."""
        pid = _player_id(player_id)
        row = self._ids.get(pid)
        if row is not None:
            return row
        row = len(self._order)
        if row >= self._cols["mean"].size:
            capacity = max(16, 2 * row)
            for name, column in self._cols.items():
                grown = np.zeros(capacity, dtype=column.dtype)
                grown[:row] = column[:row]
                self._cols[name] = grown
        fresh = SkillColumns.new(1, self.preset.skill, self.preset.controller)
        for name in ("mean", "var", "trend", "cov", "var_trend", "difficulty", "encounters"):
            self._cols[name][row] = getattr(fresh, name)[0]
        for name in ("intensity", "damage", "kills", "threats", "group"):
            self._cols[name][row] = 0
        self._cols["resources"][row] = 1.0
        self._ids[pid] = row
        self._order.append(pid)
        return row

    def add_player(self, player_id: int, group: int = 0) -> None:
        """Know ``player_id`` (a no-op if known) and put it in pacing ``group`` (0 <= group < 1024)."""
        self._row(player_id)
        self.set_group(player_id, group)

    def set_group(self, player_id: int, group: int) -> None:
        """Move a player to pacing ``group``; its intensity then counts towards that group's pacing."""
        if isinstance(group, bool) or not isinstance(group, int | np.integer) or not 0 <= group < MAX_GROUPS:
            raise DirectorInputError(f"group must be an integer in [0, {MAX_GROUPS}), got {group!r}")
        self._cols["group"][self._row(player_id)] = int(group)
        if self.pacing is not None and self.preset.pacing is not None:
            self.pacing.grow(int(group) + 1, self.preset.pacing)

    def remove_player(self, player_id: int) -> None:
        """Forget a player (it left the world). Raises ``DirectorInputError`` if unknown."""
        pid = _player_id(player_id)
        row = self._ids.pop(pid, None)
        if row is None:
            raise DirectorInputError(f"player {pid} is not known to the director")
        last = len(self._order) - 1
        if row != last:
            moved = self._order[last]
            for column in self._cols.values():
                column[row] = column[last]
            self._order[row] = moved
            self._ids[moved] = row
        self._order.pop()

    def skill(self, player_id: int) -> tuple[float, float]:
        """Posterior (mean, sd) of a player's skill, in skill units (the prior for a new player)."""
        row = self._row(player_id)
        return float(self._cols["mean"][row]), math.sqrt(float(self._cols["var"][row]))

    # ---------------------------------------------------------------- pacing
    def observe(self, player_id: int, signals: PlayerSignals | dict[str, Any]) -> None:
        """Record what a player went through since the last observation (read at the next ``tick``).

        Raises ``DirectorInputError`` for unknown keys, negative, non-finite or absurd (> 1e6) values.
        """
        if isinstance(signals, dict):
            try:
                signals = msgspec.convert(signals, PlayerSignals)
            except msgspec.ValidationError as exc:
                raise DirectorInputError(f"signals: {exc}") from None
        damage = _finite("damage_taken", signals.damage_taken, 0.0, MAX_SIGNAL)
        kills = _finite("kills", signals.kills, 0.0, MAX_SIGNAL)
        threats = _finite("threats_near", signals.threats_near, 0.0, MAX_SIGNAL)
        resources = _finite("resources", signals.resources, 0.0, 1.0)
        row = self._row(player_id)
        c = self._cols
        c["damage"][row] = min(c["damage"][row] + damage, MAX_SIGNAL)  # bounded: sums never reach inf
        c["kills"][row] = min(c["kills"][row] + kills, MAX_SIGNAL)
        c["threats"][row], c["resources"][row] = threats, resources

    def observe_many(self, player_ids: npt.ArrayLike, damage_taken: npt.ArrayLike, threats_near: npt.ArrayLike,
                     kills: npt.ArrayLike, resources: npt.ArrayLike) -> None:
        """``observe`` for many players at once: ids (k,) int, each signal (k,) or a scalar (same meaning
        and limits as ``PlayerSignals``). All or nothing: raises ``DirectorInputError`` before changing
        anything if any value is out of range or the shapes disagree."""
        ids = np.asarray(player_ids)
        if ids.ndim != 1 or not (ids.size == 0 or np.issubdtype(ids.dtype, np.integer)):
            raise DirectorInputError("player_ids must be a 1-d array of integers")
        if np.unique(ids).size != ids.size:
            raise DirectorInputError("each player may appear once per observe_many call")
        try:
            damage, threats, killed, supply = (np.broadcast_to(np.asarray(x, dtype=np.float64), ids.shape)
                                               for x in (damage_taken, threats_near, kills, resources))
        except (TypeError, ValueError) as exc:
            raise DirectorInputError(f"signals must be numbers of the players' shape ({exc})") from None
        for name, values, hi in (("damage_taken", damage, MAX_SIGNAL), ("threats_near", threats, MAX_SIGNAL),
                                 ("kills", killed, MAX_SIGNAL), ("resources", supply, 1.0)):
            if not np.all(np.isfinite(values) & (values >= 0) & (values <= hi)):
                raise DirectorInputError(f"{name} must be finite numbers in [0, {hi:g}]")
        rows = np.array([self._row(int(p)) for p in ids.tolist()], dtype=np.int64)
        c = self._cols
        c["damage"][rows] = np.minimum(c["damage"][rows] + damage, MAX_SIGNAL)
        c["kills"][rows] = np.minimum(c["kills"][rows] + killed, MAX_SIGNAL)
        c["threats"][rows], c["resources"][rows] = threats, supply

    def tick(self, dt: float) -> list[DirectorAction]:
        """Advance the director by ``dt`` seconds; return what it decided, in order.

        Raises ``DirectorInputError`` unless ``0 < dt <= 86400`` (a day: headless fast-forward).
        """
        dt = _finite("dt", dt, 0.0, 86400.0)
        if dt <= 0:
            raise DirectorInputError("dt must be above 0 seconds")
        self.clock += dt
        actions: list[DirectorAction] = []
        self._tick_hostility(actions)
        if self.pacing is not None and self.preset.pacing is not None:
            self._tick_pacing(dt, self.preset.pacing, actions)
        if self.schedule is not None:
            self._tick_schedule(dt, actions)
        return actions

    def _hostility_for(self, rows: npt.NDArray[np.int64] | None = None) -> tuple[float, float, float]:
        """(aggression, accuracy, spawn scale) for the mean difficulty of ``rows`` (all players if None)."""
        difficulty = self._col("difficulty") if rows is None else self._cols["difficulty"][rows]
        d = float(difficulty.mean()) if difficulty.size else self.preset.skill.prior_mean
        params = encounter_parameters([d, self.preset.skill.prior_mean], self.preset.encounter)
        scale = float(params["spawn_count"][0] / max(params["spawn_count"][1], 1.0))
        return float(params["aggression"][0]), float(params["accuracy"][0]), scale

    def _tick_hostility(self, actions: list[DirectorAction]) -> None:
        aggression, accuracy, _ = self._hostility_for()
        old = self.hostility
        if old is None or max(abs(old[0] - aggression), abs(old[1] - accuracy)) >= HOSTILITY_EPSILON:
            self.hostility = (aggression, accuracy)
            who = f"mean difficulty of {self.player_count} players" if self.player_count else "no players yet: prior"
            actions.append(HostilityAction(time=self.clock, aggression=round(aggression, 4),
                                           accuracy=round(accuracy, 4), reason=f"hostility follows the {who}"))

    def _tick_pacing(self, dt: float, settings: Any, actions: list[DirectorAction]) -> None:
        assert self.pacing is not None
        c = self._cols
        n = self.player_count
        c["intensity"][:n] = pacing.update_intensity(self._col("intensity"), self._col("damage"), self._col("kills"),
                                                     self._col("threats"), self._col("resources"), dt, settings)
        c["damage"][:n] = 0.0
        c["kills"][:n] = 0.0
        groups = self.pacing.phase.size
        level = pacing.group_intensity(self._col("intensity"), self._col("group"), groups)
        step = pacing.advance_pacing(self.pacing, level, dt, settings, self.streams.stream("pacing"))
        for group, previous, duration in zip(step.changed.tolist(), step.previous.tolist(),
                                             step.durations.tolist(), strict=True):
            phase = int(self.pacing.phase[group])
            why = {pacing.PEAK: f"intensity {level[group]:.2f} reached the peak threshold {settings.peak_threshold}",
                   pacing.FADE: ("the sustained peak ran its course" if previous == pacing.PEAK else
                                 f"build-up timed out after {settings.max_build_seconds:g} s without a peak"),
                   pacing.RELAX: f"intensity {level[group]:.2f} fell below {settings.relax_threshold}",
                   pacing.BUILD_UP: "the relax period is over"}[phase]
            actions.append(PhaseAction(time=self.clock, group=group, phase=pacing.PHASES[phase],
                                       previous=pacing.PHASES[previous], duration=round(duration, 4),
                                       intensity=round(float(level[group]), 4), reason=why))
        for group in np.flatnonzero(step.waves).tolist():
            members = np.flatnonzero(self._col("group") == group)
            aggression, accuracy, scale = self._hostility_for(members if members.size else None)
            count = max(1, int(round(int(step.waves[group]) * scale)))
            phase_name = pacing.PHASES[int(self.pacing.phase[group])]
            actions.append(SpawnAction(time=self.clock, group=group, count=count, aggression=round(aggression, 4),
                                       accuracy=round(accuracy, 4),
                                       reason=f"{phase_name}: wave of {count} at group intensity {level[group]:.2f}"))

    def _tick_schedule(self, dt: float, actions: list[DirectorAction]) -> None:
        assert self.schedule is not None
        aggression, accuracy, _ = self._hostility_for()
        process = self.schedule.settings.process
        for threat in self.schedule.advance(dt):
            why = (f"{process} schedule: threat {threat.number} after {threat.spacing:.2f} days, "
                   f"{threat.points:.0f} points at year {threat.time / self.schedule.year_seconds:.2f}")
            actions.append(ThreatAction(time=threat.time, number=threat.number, points=round(threat.points, 3),
                                        count=threat.count, aggression=round(aggression, 4),
                                        accuracy=round(accuracy, 4), reason=why))

    # ------------------------------------------------------------ difficulty
    def encounter_params(self, player_id: int) -> EncounterParams:
        """The next encounter's parameters for ``player_id`` (a new player gets the prior's)."""
        row = self._row(player_id)
        c = self._cols
        d = float(c["difficulty"][row])
        params = encounter_parameters([d], self.preset.encounter)
        p = sk.predict_success([c["mean"][row]], [c["var"][row]], [d], self.preset.skill.outcome_noise)
        return EncounterParams(player=int(player_id), difficulty=d, level=float(params["level"][0]),
                               spawn_count=int(params["spawn_count"][0]), aggression=float(params["aggression"][0]),
                               accuracy=float(params["accuracy"][0]), resources=float(params["resources"][0]),
                               p_success=float(p[0]), par_seconds=self.preset.signals.par_seconds)

    def record_outcome(self, player_id: int, won: bool, health_left: float | None = None,
                       time_taken: float | None = None) -> DifficultyAction:
        """Learn from the encounter just played at ``encounter_params(player_id)`` and choose the next one.

        Args:
            won: whether the player succeeded.
            health_left: fraction of max health at the end, in [0, 1] (None: unknown).
            time_taken: seconds the encounter took (> 0; None: unknown).
        Returns the ``director.difficulty`` record (old/new difficulty, predicted p_success, reason).
        Raises ``DirectorInputError`` for out-of-range or non-finite signals.
        """
        return self.record_outcomes([player_id], [won], [health_left], [time_taken])[0]

    def record_outcomes(self, player_ids: Any, won: Any, health_left: Any = None,
                        time_taken: Any = None) -> list[DifficultyAction]:
        """``record_outcome`` for many players at once (sequences of equal length; None entries: unknown)."""
        ids = [_player_id(p) for p in player_ids]
        if len(set(ids)) != len(ids):
            raise DirectorInputError("each player may appear once per record_outcomes call")
        k = len(ids)
        health = [None] * k if health_left is None else list(health_left)
        seconds = [None] * k if time_taken is None else list(time_taken)
        outcomes = list(won)
        if not len(outcomes) == len(health) == len(seconds) == k:
            raise DirectorInputError("player_ids, won, health_left and time_taken must have equal lengths")
        if not all(isinstance(w, bool | np.bool_) for w in outcomes):
            raise DirectorInputError("won must hold booleans")
        h = np.array([np.nan if x is None else _finite("health_left", x, 0.0, 1.0) for x in health])
        t = np.array([np.nan if x is None else _finite("time_taken", x, 1e-6, 1e7) for x in seconds])
        rows = np.array([self._row(p) for p in ids], dtype=np.int64)
        w = np.array(outcomes, dtype=bool)
        margin = readings.decode(w, h, t, self.preset.signals)
        columns = self._skill_view()
        old, new, p, target = record_outcomes(columns, rows, w, margin, self.preset.skill, self.preset.controller)
        aim = target_probability(self.preset.controller)
        actions = []
        for i, pid in enumerate(ids):
            row = rows[i]
            mean, sd = float(columns.mean[row]), math.sqrt(float(columns.var[row]))
            got = "won" if w[i] else "lost"
            seen = f", performance reading {margin[i]:+.2f}" if np.isfinite(margin[i]) else ""
            limited = abs(target[i] - old[i]) > self.preset.controller.max_step + 1e-9
            why = (f"{got} at difficulty {old[i]:.2f}{seen}; skill now {mean:.2f} ± {sd:.2f} after "
                   f"{int(columns.encounters[row])} encounters; aiming at p={aim:.2f}"
                   + (f", step limited to {self.preset.controller.max_step:g}" if limited else ""))
            actions.append(DifficultyAction(time=self.clock, player=pid, old=round(float(old[i]), 6),
                                            new=round(float(new[i]), 6), p_success=round(float(p[i]), 6),
                                            skill=round(mean, 6), skill_sd=round(sd, 6), reason=why))
        return actions

    # ------------------------------------------------------------- reporting
    def metrics(self) -> dict[str, float]:
        """Figures for the world's metrics: players, mean difficulty, max intensity, groups at peak."""
        result = {"director.players": float(self.player_count),
                  "director.mean_difficulty": float(self._col("difficulty").mean()) if self.player_count else 0.0,
                  "director.max_intensity": float(self._col("intensity").max()) if self.player_count else 0.0}
        if self.pacing is not None:
            result["director.groups_at_peak"] = float(np.sum(self.pacing.phase == pacing.PEAK))
        if self.schedule is not None:
            result["director.threats"] = float(self.schedule.fired)
        return result

    # ------------------------------------------------------------------ saves
    def to_dict(self) -> dict[str, Any]:
        """Plain, msgpack-able state: the preset itself (so edits to its file do not change a saved run),
        the seed, clock, RNG state, every player's columns and the pacing or schedule state."""
        preset = to_builtins(self.preset)
        preset.pop("source", None)
        state: dict[str, Any] = {
            "version": SAVE_VERSION, "preset": preset, "source": self.preset.source, "seed": self.seed,
            "clock": self.clock, "rng": self.streams.state_bytes().decode("utf-8"),
            "hostility": None if self.hostility is None else list(self.hostility),
            "players": {"ids": list(self._order), **{name: self._col(name).tolist() for name in self._cols}},
        }
        if self.pacing is not None:
            state["pacing"] = {name: getattr(self.pacing, name).tolist()
                               for name in ("phase", "elapsed", "length", "since_spawn")}
        if self.schedule is not None:
            state["schedule"] = self.schedule.state()
        return state

    def arrays(self) -> dict[str, npt.NDArray[Any]]:
        """The state as arrays for the world's attached-system saves and hash: ``{"state": (k,) uint8}``
        holding canonical JSON of ``to_dict()`` (sorted keys, so equal states give equal bytes)."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), allow_nan=False)
        return {"state": np.frombuffer(text.encode("utf-8"), dtype=np.uint8).copy()}

    def load_arrays(self, arrays: dict[str, npt.NDArray[Any]]) -> None:
        """Replace this director's state with one from ``arrays()``. Raises ``DirectorStateError``."""
        try:
            state = json.loads(np.asarray(arrays["state"], dtype=np.uint8).tobytes().decode("utf-8"))
        except Exception as exc:  # missing key, not bytes, not UTF-8 JSON
            raise DirectorStateError(f"invalid director arrays ({type(exc).__name__}: {exc})") from None
        if not isinstance(state, dict):
            raise DirectorStateError("invalid director arrays: the state is not a JSON object")
        self.__dict__.update(Director.from_dict(state).__dict__)

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> Director:
        """Inverse of ``to_dict``. Raises ``DirectorStateError`` for anything that is not a valid save."""
        try:
            if state.get("version") != SAVE_VERSION:
                raise ValueError(f"unsupported save version {state.get('version')!r} (expected {SAVE_VERSION})")
            preset = preset_from_dict(dict(state["preset"]), str(state.get("source", "<save>")))
            director = cls(preset, state["seed"])
            director.clock = float(state["clock"])
            director.streams.load_state_bytes(str(state["rng"]).encode("utf-8"))
            if director.schedule is not None:  # the schedule holds the stream object: rebind after loading
                director.schedule.rng = director.streams.stream("schedule")
                director.schedule.load_state(state["schedule"])
            hostility = state["hostility"]
            director.hostility = None if hostility is None else (float(hostility[0]), float(hostility[1]))
            players = state["players"]
            ids = [_player_id(p) for p in players["ids"]]
            if len(set(ids)) != len(ids):
                raise ValueError("repeated player ids")
            n = len(ids)
            for name in _FLOAT_COLUMNS + _INT_COLUMNS:
                dtype = np.int64 if name in _INT_COLUMNS else np.float64
                column = np.asarray(players[name], dtype=dtype)
                if column.shape != (n,) or (dtype is np.float64 and not np.all(np.isfinite(column))):
                    raise ValueError(f"players.{name} must hold {n} finite numbers")
                director._cols[name] = column.copy()
            if n and (np.any(director._cols["var"] <= 0) or np.any(director._cols["group"] < 0)
                      or np.any(director._cols["group"] >= MAX_GROUPS)):
                raise ValueError("players: variances must be > 0 and groups in range")
            director._order = ids
            director._ids = {pid: row for row, pid in enumerate(ids)}
            if director.pacing is not None:
                saved = state["pacing"]
                phase = np.asarray(saved["phase"], dtype=np.int64)
                g = phase.size
                if phase.ndim != 1 or g < 1 or np.any((phase < 0) | (phase >= len(pacing.PHASES))):
                    raise ValueError("pacing.phase must hold phase indices")
                columns = {name: np.asarray(saved[name], dtype=np.float64)
                           for name in ("elapsed", "length", "since_spawn")}
                if any(col.shape != (g,) or not np.all(np.isfinite(col)) for col in columns.values()):
                    raise ValueError("pacing columns must be finite and of one length")
                if n and int(director._cols["group"].max()) >= g:
                    raise ValueError("a player's group has no pacing state")
                director.pacing = pacing.PacingColumns(phase=phase, **columns)
        except NarrativeError as exc:
            if isinstance(exc, DirectorStateError):
                raise
            raise DirectorStateError(f"invalid director save: {exc}") from None
        except Exception as exc:  # wrong types, missing keys, bad shapes: all mean a corrupt save
            raise DirectorStateError(f"invalid director save ({type(exc).__name__}: {exc})") from None
        return director


__all__ = ["Director", "EncounterParams", "PlayerSignals"]
