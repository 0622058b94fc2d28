"""The narrative system attached to a world: the director paces threats and tunes each player's difficulty.

Why this design: the director (``narrative.director``) is pure arithmetic over columns; this module is the
thin adapter that feeds it what the world knows and carries out what it decides, once per tick, as a
``[systems.narrative]`` attached system (saved and hashed with the world like every other system):

- signals per player: damage taken this tick (the NPC system keeps players' health), threats near (hostile
  NPCs and predators within ``threat_radius``), resources (health left), kills (none yet: players cannot
  kill through inputs);
- encounters: one starts when a threat comes near a player with none near before, and ends after
  ``calm_seconds`` with none near (won) or when the player is downed (lost); its health left and duration go
  to ``record_outcome`` and the next encounter is set from ``encounter_params``;
- actions: ``director.hostility`` sets the NPCs' aggression/accuracy, ``director.spawn`` and
  ``director.threat`` bring predators to the players or to a settlement's edge, and every action is logged as a
  world event with its reason (for designers, the viewer and analytics).

Quests are per player session and live with the server (``narrative.quest_board``).
"""

from __future__ import annotations

import math
from typing import Annotated, Any

import numpy as np
import numpy.typing as npt
from msgspec import Meta, Struct

from npc.system import PLAYER_HEALTH
from worldsim.errors import CapacityError, CorruptStateError, InputError, ScenarioError
from worldsim.scenario import convert_table
from worldsim.state import Kind

from .director import ACTION_KINDS, Director, HostilityAction, SpawnAction, ThreatAction
from .errors import NarrativeError

INTENSITY_HISTORY = 120
"""Director samples of intensity kept per player for viewers (a minute at the default 2 Hz)."""
Positive = Annotated[float, Meta(gt=0)]


class NarrativeSettings(Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """``[systems.narrative]``: the storyteller preset and how encounters are recognised."""

    preset: str = "intensity"  # steady | random | intensity, or a preset file path
    threat_radius: Positive = 20.0  # metres
    calm_seconds: Positive = 10.0  # quiet time that ends an encounter
    spawn_distance: Positive = 25.0  # predators appear this far away
    rate: Positive = 2.0  # Hz: the director thinks at its own rate, lower than the world's tick


class NarrativeSystem:
    """``world.systems["narrative"]``: see the module docstring."""

    EVENT_KINDS = (*ACTION_KINDS, "director.encounter")
    """Kinds this system emits (it also makes the world emit ``creature.born`` when predators arrive)."""

    @classmethod
    def create(cls, world: Any, settings: dict[str, Any], source: str, fresh: bool) -> NarrativeSystem:
        s = convert_table(settings, NarrativeSettings, source, "systems.narrative",
                          documented_in="narrative/system.py")
        try:
            director = Director.from_preset(s.preset, seed=world.seed)
        except NarrativeError as exc:
            raise ScenarioError(source, "systems.narrative.preset", f"a valid preset ({exc})") from None
        return cls(world, s, director)

    def __init__(self, world: Any, settings: NarrativeSettings, director: Director) -> None:
        self.settings = settings
        self.director = director
        self.tick_rate = float(world.scenario.world.tick_rate)
        self.every = max(1, round(self.tick_rate / settings.rate))
        self.players = np.zeros(0, dtype=np.int64)
        self.health = np.zeros(0)  # player health seen last tick
        self.started = np.full(0, -1.0)  # encounter start (world seconds), -1: none
        self.quiet = np.zeros(0)  # seconds without a threat near, during an encounter
        self.encounters = np.zeros(2, dtype=np.int64)  # won, lost
        self._rng = world.rng.stream("narrative.spawn")
        species = world.scenario.species
        self._predator = next((name for name, sp in species.items() if sp.diet != "grass"), None)
        self._hunters = np.array([i for i, sp in enumerate(species.values()) if sp.diet != "grass"], np.int64)
        self._history: dict[int, list[float]] = {}  # intensity per player for viewers (derived, not saved)

    # ------------------------------------------------------------------------------ the tick

    def step(self, world: Any, tick: int, dt: float) -> None:
        if tick % self.every:
            return
        dt *= self.every
        self._sync_players(world)
        npc = world.systems.get("npc")
        if len(self.players):
            health = self._player_health(npc)
            damage = np.maximum(self.health - health, 0.0) / PLAYER_HEALTH
            downed = health > self.health + 0.5 * PLAYER_HEALTH  # health is restored when a player is downed
            threats = self._threats_near(world, npc)
            self.director.observe_many(self.players, np.minimum(damage, 1e6), np.minimum(threats, 1e6), 0.0,
                                       np.clip(health / PLAYER_HEALTH, 0.0, 1.0))
            self._encounters(world, tick, world.seconds, dt, threats, health, downed)
            self.health = health
            self._remember_intensity()
        for action in self.director.tick(dt):
            kind, entity, data = action.to_event()
            world.events.emit(tick, kind, entity, **data)
            if isinstance(action, HostilityAction) and npc is not None:
                npc.set_hostility(min(max(action.aggression, 0.0), 10.0), min(max(action.accuracy, 0.0), 1.0))
            elif isinstance(action, SpawnAction | ThreatAction):
                self._bring_predators(world, tick, action.count)

    def _sync_players(self, world: Any) -> None:
        ids, _ = world.kind_view(Kind.PLAYER)
        if np.array_equal(ids, self.players):
            return
        keep = np.isin(self.players, ids)
        for gone in self.players[~keep].tolist():
            self.director.remove_player(int(gone))
            self._history.pop(int(gone), None)
        new = ids[~np.isin(ids, self.players)]
        for pid in new.tolist():
            self.director.add_player(int(pid), group=0)
        self.players = np.concatenate([self.players[keep], new])
        self.health = np.concatenate([self.health[keep], np.full(len(new), PLAYER_HEALTH)])
        self.started = np.concatenate([self.started[keep], np.full(len(new), -1.0)])
        self.quiet = np.concatenate([self.quiet[keep], np.zeros(len(new))])

    def _player_health(self, npc: Any) -> npt.NDArray[np.float64]:
        out = np.full(len(self.players), PLAYER_HEALTH)
        if npc is not None and len(npc.players):
            known = np.isin(self.players, npc.players)
            index = np.searchsorted(npc.players, self.players[known], sorter=np.argsort(npc.players))
            out[known] = npc.player_health[np.argsort(npc.players)[index]]
        return out

    def _threats_near(self, world: Any, npc: Any) -> npt.NDArray[np.float64]:
        """Hostile NPCs and predators within ``threat_radius`` of each player (P,)."""
        t = world.entities
        points = []
        if npc is not None:
            hostile = np.flatnonzero(npc.hostile & (npc.dead_since < 0))
            points.append(t.pos[npc.table_row[hostile], :2])
        if len(self._hunters):
            ext = t.extent
            rows = np.flatnonzero(t.alive[:ext] & (t.kind[:ext] == Kind.CREATURE) & np.isin(t.species[:ext], self._hunters))
            points.append(t.pos[rows, :2])
        if not points or not sum(len(p) for p in points):
            return np.zeros(len(self.players))
        threat_xy = np.concatenate(points)
        player_xy = world.positions_of(self.players)[:, :2]
        d = np.hypot(player_xy[:, None, 0] - threat_xy[None, :, 0], player_xy[:, None, 1] - threat_xy[None, :, 1])
        return (d <= self.settings.threat_radius).sum(axis=1).astype(np.float64)

    def _encounters(self, world: Any, tick: int, now: float, dt: float, threats: npt.NDArray[np.float64],
                    health: npt.NDArray[np.float64], downed: npt.NDArray[np.bool_]) -> None:
        active = self.started >= 0
        begin = ~active & (threats > 0)
        for i in np.flatnonzero(begin).tolist():
            params = self.director.encounter_params(int(self.players[i]))
            world.events.emit(tick, "director.encounter", int(self.players[i]), difficulty=round(params.difficulty, 4),
                              p_success=round(params.p_success, 4), spawn_count=params.spawn_count,
                              reason="a threat came near")
        self.started[begin] = now
        self.quiet[begin] = 0.0
        self.quiet[active] = np.where(threats[active] > 0, 0.0, self.quiet[active] + dt)
        end = active & (downed | (self.quiet >= self.settings.calm_seconds))
        for i in np.flatnonzero(end).tolist():
            won = not bool(downed[i])
            took = max(now - self.started[i] - (self.quiet[i] if won else 0.0), 1.0 / self.tick_rate)
            left = float(np.clip(health[i] / PLAYER_HEALTH, 0.0, 1.0)) if won else 0.0
            record = self.director.record_outcome(int(self.players[i]), won, left, took)
            kind, entity, data = record.to_event()
            world.events.emit(tick, kind, entity, **data)
            self.encounters[0 if won else 1] += 1
        self.started[end] = -1.0

    def _bring_predators(self, world: Any, tick: int, count: int) -> None:
        """Predators arrive ``spawn_distance`` from a player (or the first settlement), on their habitat."""
        if self._predator is None or count <= 0:
            return
        if len(self.players):
            centre = world.positions_of(self.players[: 1])[0, :2]
        elif len(world.economy.settlements):
            centre = world.economy.town_xy[0]
        else:
            return
        h = world.half_extent - 1.0
        for _ in range(24):  # look for habitat around the spot
            angle = float(self._rng.uniform(0.0, 2 * math.pi))
            x = float(np.clip(centre[0] + self.settings.spawn_distance * math.cos(angle), -h, h))
            y = float(np.clip(centre[1] + self.settings.spawn_distance * math.sin(angle), -h, h))
            try:
                world.spawn_creatures(self._predator, x, y, min(int(count), 50))
                return
            except InputError:
                continue
            except CapacityError:
                return

    def director_state(self) -> dict[str, Any]:
        """For the web viewer: each player's recent intensity (oldest first), pacing phase and difficulty."""
        cols = self.director.columns()
        ids = self.director.player_ids().tolist()
        players = []
        for i, pid in enumerate(ids):
            history = self._history.setdefault(int(pid), [])
            players.append({"id": int(pid), "intensity": list(history), "phase": str(cols["phase"][i]),
                            "difficulty": round(float(cols["difficulty"][i]), 4)})
        return {"players": players}

    def _remember_intensity(self) -> None:
        cols = self.director.columns()
        for pid, value in zip(self.director.player_ids().tolist(), cols["intensity"].tolist(), strict=True):
            history = self._history.setdefault(int(pid), [])
            history.append(round(float(value), 4))
            del history[:-INTENSITY_HISTORY]

    # ------------------------------------------------------------------------------ state

    def metrics(self) -> dict[str, float]:
        out = self.director.metrics()
        out["director.encounters_won"] = float(self.encounters[0])
        out["director.encounters_lost"] = float(self.encounters[1])
        return out

    def arrays(self) -> dict[str, npt.NDArray[Any]]:
        out = {f"director.{k}": v for k, v in self.director.arrays().items()}
        out.update(players=self.players, health=self.health, started=self.started,
                   quiet=self.quiet, encounters=self.encounters)
        return out

    def load_arrays(self, arrays: dict[str, npt.NDArray[Any]]) -> None:
        try:
            self.director.load_arrays({k.removeprefix("director."): v for k, v in arrays.items()
                                       if k.startswith("director.")})
            columns = {name: np.asarray(arrays[name]) for name in ("players", "health", "started",
                                                                   "quiet", "encounters")}
        except (KeyError, NarrativeError) as exc:
            raise CorruptStateError(f"narrative arrays: {exc}") from None
        n = len(columns["players"])
        if any(len(columns[k]) != n for k in ("health", "started", "quiet")):
            raise CorruptStateError("narrative arrays: player columns differ in length")
        self.players = columns["players"].astype(np.int64)
        for name in ("health", "started", "quiet"):
            setattr(self, name, columns[name].astype(np.float64))
        self.encounters = columns["encounters"].astype(np.int64)
