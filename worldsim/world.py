"""The world: entity columns, terrain, ecology, economy, climate, physics, an event log and a tick counter.

Why this design: ``World`` only orchestrates. State lives in ``EntityTable`` columns and the systems'
arrays, randomness in named ``RngStreams``, arithmetic in ``kernels/``. Each system (``Ecology``,
``Economy``, ``Climate``, ``PhysicsWorld``) owns its arrays and a ``step``; ``World.step`` calls them on their
own cadence (ecology every ``ecology_interval`` seconds, markets every ``economy_interval``, physics and
movement every tick) and turns what they report into typed events. Everything that influences the future
is in the columns, the system arrays, the streams, the physics bodies or the tick, which is what
``world_hash`` digests and what saves store -- so the same scenario, seed and inputs give the same hash in
any process, with or without a save/load in between.

A world is built from a ``Scenario`` (``World.from_scenario``); ``World(seed, ...)`` builds a bare flat
world (no species, markets or props) with ``npc_count`` wanderers, as the server's tests use.
"""

from __future__ import annotations

import hashlib
import math
import operator
import os
import struct
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from . import saves, systems
from .climate import Climate
from .ecology import DEATH_CAUSES, Ecology
from .economy import Economy
from .errors import CapacityError, CorruptStateError, InputError, SaveError, ScenarioError
from .events import EVENT_KINDS, EventLog, WorldEvent
from .kernels.movement import integrate_positions, select_arrived, steer_wanderers
from .rng import RngStreams
from .scenario import Scenario, from_json, to_json
from .scenario import from_dict as scenario_from_dict
from .state import COLUMNS, EntityTable, Kind
from .terrain import Terrain

PLAYER_SPEED = 5.0
"""Speed of a player avatar at full input (|move| = 1), m/s."""

ARRIVE_RADIUS = 0.5
"""A wanderer within this many metres (x/y) of its goal picks a new one, metres."""

PROJECTILE_LIFETIME = 8.0
"""Seconds a thrown projectile stays in the world (bodies are the costly part of a tick)."""

THROW_SPEED = 12.0
"""Horizontal launch speed of a player's throw, m/s (it also rises at 0.4 x this)."""

SPAWN_STREAM = "spawn"
WANDER_STREAM = "wander"

_HASH_DOMAIN = b"worldloom/world_hash/v2"
_CAUSE_LABELS = tuple(DEATH_CAUSES.get(code, "unknown") for code in range(max(DEATH_CAUSES) + 1))
_HASHED_COLUMNS = tuple(spec.name for spec in COLUMNS if spec.name not in ("alive", "generation"))


def bare_scenario(half_extent: float) -> Scenario:
    """A flat, empty world of side ``2 * half_extent`` metres (64 tiles): no species, markets or props."""
    half_extent = float(half_extent)
    if not (math.isfinite(half_extent) and half_extent > 0):
        raise InputError(f"half_extent must be finite and > 0, got {half_extent}")
    return scenario_from_dict({"world": {"name": "bare", "tiles": 64, "tile_size": 2 * half_extent / 64,
                                         "capacity": 16},
                               "terrain": {"relief": 0.0}, "physics": {"enabled": False}}, "<bare world>")


class World:
    """An authoritative, deterministic world on the square [-h, h] x [-h, h] (metres), z up.

    Attributes:
        scenario: the ``Scenario`` it was built from. seed: the integer every random stream derives from.
        half_extent: h, metres. dt: seconds per tick at the scenario's tick rate.
        tick: completed ``step`` calls. seconds: simulated seconds.
        entities: the ``EntityTable``. rng: the ``RngStreams``. events: the ``EventLog``.
        terrain, ecology, economy, climate: the systems. physics: a ``PhysicsWorld`` or None.
    """

    def __init__(
        self,
        seed: int,
        half_extent: float = 100.0,
        capacity: int = 1 << 16,
        npc_count: int = 0,
        npc_speed: float = 2.0,
        scenario: Scenario | None = None,
    ) -> None:
        """Create a world: from ``scenario`` if given, else a bare flat world of ``half_extent``.

        Wanderers (``npc_count``, plus the scenario's ``world.wanderers``) start at random positions from
        the "spawn" stream and walk to random goals at ``npc_speed`` m/s.

        Args:
            seed: integer in [0, 2**64).
            half_extent: half the side of a bare world, metres (finite, > 0); ignored with a scenario.
            capacity: maximum live entities of a bare world, 1..2**20 (a scenario sets its own).
            npc_count: extra wanderers to spawn.
            npc_speed: their walking speed, m/s (finite, >= 0).
        Raises:
            InputError: bad seed, half_extent, npc_count or npc_speed. CapacityError: bad capacity or
                more creatures and wanderers than capacity.
        """
        npc_count = operator.index(npc_count)
        if npc_count < 0:
            raise InputError(f"npc_count must be >= 0, got {npc_count}")
        npc_speed = float(npc_speed)
        if not (math.isfinite(npc_speed) and npc_speed >= 0):
            raise InputError(f"npc_speed must be finite and >= 0, got {npc_speed}")
        if scenario is None:
            scenario = bare_scenario(half_extent)
            table = EntityTable(capacity)
        else:
            table = EntityTable(scenario.world.capacity)
        self._setup(seed, scenario, table, tick=0, seconds=0.0)
        wanderers = npc_count + scenario.world.wanderers
        if wanderers > self.entities.capacity:
            raise CapacityError(f"npc_count {wanderers} exceeds capacity {self.entities.capacity}")
        self.terrain = Terrain.generate(scenario, self.rng.stream("terrain"))
        self._build_systems()
        init = self.rng.stream("ecology.init")
        self.ecology.seed_grass(init)
        xy = self._spawn_rng.uniform(-self.half_extent, self.half_extent, size=(wanderers, 2))
        pos = np.zeros((wanderers, 3))
        pos[:, :2] = xy
        self.entities.spawn_many(Kind.NPC, pos, np.full(wanderers, npc_speed), np.ones(wanderers, bool))
        self.ecology.spawn_initial(self.entities, scenario, self.terrain, init)
        self.economy = Economy.from_scenario(scenario, self.terrain, self.rng.stream("economy.init"))
        self.physics = None
        if scenario.physics.enabled:
            self.physics = self._new_physics()
            self._place_props(self.rng.stream("physics.init"))
        self.systems = systems.attach_all(self, fresh=True)

    @classmethod
    def from_scenario(cls, scenario: Scenario, seed: int | None = None, npc_count: int = 0,
                      npc_speed: float = 2.0) -> World:
        """A world built from ``scenario`` with ``seed`` (default: the scenario's ``world.seed``)."""
        return cls(scenario.world.seed if seed is None else seed, scenario=scenario, npc_count=npc_count,
                   npc_speed=npc_speed)

    def _setup(self, seed: int, scenario: Scenario, table: EntityTable, tick: int, seconds: float) -> None:
        self.rng = RngStreams(seed)
        self.seed = self.rng.seed
        self.scenario = scenario
        self.half_extent = scenario.half_extent
        self.dt = 1.0 / scenario.world.tick_rate
        self.entities = table
        self.tick = tick
        self.seconds = seconds
        self.events = EventLog()
        self.systems: dict[str, systems.AttachedSystem] = {}
        """Attached systems (``[systems.<name>]`` in the scenario), stepped at the end of every tick."""
        self._spawn_rng = self.rng.stream(SPAWN_STREAM)
        self._wander_rng = self.rng.stream(WANDER_STREAM)
        self._ecology_rng = self.rng.stream("ecology")
        self._weather_rng = self.rng.stream("weather")
        self._ecology_ticks = max(1, round(scenario.world.ecology_interval * scenario.world.tick_rate))
        self._economy_ticks = max(1, round(scenario.world.economy_interval * scenario.world.tick_rate))
        self._last_births = np.zeros(len(scenario.species), dtype=np.int64)
        self._last_deaths = np.zeros(len(scenario.species), dtype=np.int64)
        self._grazed = 0
        self._interval = np.zeros((3, max(len(scenario.species), 1)), dtype=np.int64)
        """Births, deaths (per species) and grazing (column 0 of row 2) of the ecology step in progress."""

    def _build_systems(self) -> None:
        self.ecology = Ecology.from_scenario(self.scenario, self.terrain)
        self.climate = Climate.from_scenario(self.scenario)

    def _new_physics(self) -> Any:
        from .physics import PhysicsWorld

        t = self.terrain
        return PhysicsWorld(dt=self.dt, substeps=self.scenario.physics.substeps,
                            terrain=_physics_terrain(t))

    def _place_props(self, rng: np.random.Generator) -> None:
        """Crates dropped from 2-6 m above random passable tiles; towers of stacked boxes that can collapse."""
        p = self.scenario.physics
        assert self.physics is not None
        passable = np.flatnonzero(self.terrain.passable.reshape(-1))
        for tile in passable[rng.integers(0, len(passable), size=p.crates)]:
            x, y = self.terrain.tile_center([tile])[0]
            z = float(self.terrain.ground_z([tile])[0]) + 2.0 + 4.0 * float(rng.random())
            handle = self.physics.add_box((x, y, z), (0.4, 0.4, 0.4), 20.0)
            self._attach_prop(handle)
        for tile in passable[rng.integers(0, len(passable), size=p.towers)]:
            x, y = self.terrain.tile_center([tile])[0]
            z = float(self.terrain.ground_z([tile])[0])
            for handle in self.physics.add_stack((x, y, z + 0.5), (0.5, 0.5, 0.5), p.tower_height, 1, 10.0):
                self._attach_prop(handle)

    def _attach_prop(self, handle: int) -> int:
        assert self.physics is not None
        pos = self.physics.positions()[np.searchsorted(self.physics.handles(), handle)]
        entity = self.entities.spawn(Kind.PROP, pos, 0.0, False)
        self.entities.body[self.entities.row_of(entity)] = handle
        return entity

    # ----------------------------------------------------------------------------------- commands

    def spawn_player(self, pos: Sequence[float] | npt.ArrayLike | None = None) -> int:
        """Spawn a player avatar and return its id.

        Args:
            pos: (x, y) or (x, y, z) metres inside the world square; None draws (x, y) uniformly from the
                "spawn" stream with z = 0.
        Raises:
            InputError: a position that is not 2 or 3 finite numbers inside the world. CapacityError: full.
        """
        if pos is None:
            xy = self._spawn_rng.uniform(-self.half_extent, self.half_extent, size=2)
            where = np.array([xy[0], xy[1], 0.0])
        else:
            try:
                where = np.asarray(pos, dtype=np.float64).reshape(-1)
            except (TypeError, ValueError):
                raise InputError(f"player position must be 2 or 3 numbers, got {pos!r}") from None
            if where.shape == (2,):
                where = np.append(where, 0.0)
            if where.shape != (3,) or not np.isfinite(where).all():
                raise InputError(f"player position must be 2 or 3 finite numbers, got {pos!r}")
            if (np.abs(where[:2]) > self.half_extent).any():
                raise InputError(f"player position {where.tolist()} is outside the world (half extent "
                                 f"{self.half_extent} m)")
        return self.entities.spawn(Kind.PLAYER, where, PLAYER_SPEED, False)

    def spawn_creatures(self, species: str, x: float, y: float, count: int = 1) -> list[int]:
        """``count`` creatures of ``species`` on the tile at (x, y) metres, with the species' ``energy_gain`` as
        energy; returns their ids. Raises ``InputError`` (unknown species, bad count, a spot outside the world
        or outside the species' habitat) or ``CapacityError``."""
        names = list(self.scenario.species)
        if species not in names:
            raise InputError(f"unknown species {species!r}; this world has {names}")
        count = operator.index(count)
        if not 1 <= count <= 10_000:
            raise InputError(f"count must be in 1..10000, got {count}")
        x, y = float(x), float(y)
        if not (math.isfinite(x) and math.isfinite(y)) or max(abs(x), abs(y)) > self.half_extent:
            raise InputError(f"({x}, {y}) is outside the world (half extent {self.half_extent} m)")
        t = self.terrain
        tile = t.tile_at(x, y)
        index = names.index(species)
        if not self.ecology.habitat[index].reshape(-1)[tile]:
            raise InputError(f"({x:.1f}, {y:.1f}) is not {species} habitat")
        if self.entities.capacity - self.entities.count < count:
            raise CapacityError(f"no room for {count} more entities")
        energy = float(self.scenario.species[species].energy_gain)
        ids = self.ecology._spawn(self.entities, t, np.full(count, tile, np.int64), np.full(count, index, np.int64),
                                  np.full(count, energy))
        self.events.emit_batch(self.tick, "creature.born", ids, {"species": self.ecology.names},
                               parent=np.zeros(count, np.int64), species=np.full(count, index, np.int64))
        return [int(i) for i in ids]

    def despawn(self, entity_id: int) -> None:
        """Remove an entity; its id goes stale. Raises ``StaleEntityError``."""
        row = self.entities.row_of(entity_id)
        if self.entities.kind[row] == Kind.CREATURE:
            self.ecology.invalidate()
        self.entities.despawn(entity_id)

    def apply_input(self, entity_id: int, move_x: float, move_y: float) -> None:
        """Set a player's velocity from a move stick: ``(move_x, move_y)`` clamped to length <= 1, times speed.

        The velocity (m/s, z = 0) persists until the next input.

        Raises:
            InputError: non-finite or non-numeric move values, a non-integer id, or an entity that is not
                a player. StaleEntityError: the id names no live entity.
        """
        if isinstance(entity_id, bool) or not isinstance(entity_id, int | np.integer):
            raise InputError(f"entity id must be an integer, got {type(entity_id).__name__}")
        try:
            mx, my = float(move_x), float(move_y)
        except (TypeError, ValueError):
            raise InputError(f"move must be two numbers, got {move_x!r}, {move_y!r}") from None
        if not (math.isfinite(mx) and math.isfinite(my)):
            raise InputError(f"move must be finite, got ({mx}, {my})")
        row = self.entities.row_of(entity_id)
        if self.entities.kind[row] != Kind.PLAYER:
            raise InputError(f"entity {entity_id} is not a player")
        length = math.hypot(mx, my)
        if length > 1.0:
            mx, my = mx / length, my / length
        speed = self.entities.speed[row]
        self.entities.vel[row] = (mx * speed, my * speed, 0.0)

    def step(self, dt: float | None = None) -> None:
        """Advance one tick of ``dt`` seconds (default ``self.dt``).

        Order: weather; ecology (every ``ecology_interval``); markets (every ``economy_interval``);
        wanderers retarget and steer (new goals from the "wander" stream, one (k, 2) batch for exactly the
        k arrived wanderers in ascending row order); physics (fixed substeps); everything integrates;
        tick += 1. Each system's changes are appended to ``events``.

        Raises:
            InputError: dt not finite and > 0.
        """
        dt = self.dt if dt is None else float(dt)
        if not (math.isfinite(dt) and dt > 0):
            raise InputError(f"dt must be finite and > 0, got {dt}")
        tick = self.tick + 1
        hour_before = self.climate.hour(self.seconds)
        change = self.climate.advance(dt, self._weather_rng)
        if change is not None:
            self.events.emit(tick, "weather.changed", 0, old=change[0], new=change[1])
        if len(self.ecology.names):
            self._step_ecology(tick, dt)
        if tick % self._economy_ticks == 0 and self.economy.goods:
            for kind, data in self.economy.step():
                self.events.emit(tick, f"market.{kind}", 0, **data)
        t = self.entities
        n = t.extent
        pos, vel, alive, wander, target = t.pos[:n], t.vel[:n], t.alive[:n], t.wander[:n], t.target[:n]
        rows = np.empty(n, dtype=np.int64)
        k = select_arrived(pos, target, wander, alive, ARRIVE_RADIUS, rows)
        goals = self._wander_rng.uniform(-self.half_extent, self.half_extent, size=(k, 2))
        steer_wanderers(pos, vel, t.speed[:n], target, wander, alive, rows[:k], goals, dt)
        integrate_positions(pos, vel, alive, dt, self.half_extent)
        if self.physics is not None:
            self._step_physics(tick, self.seconds + dt)
        self.seconds += dt
        self.tick = tick
        if self.climate.hour(self.seconds) < hour_before:
            self.events.emit(tick, "day.started", 0, day=int(self.seconds // self.climate.day_length) + 1)
        for system in self.systems.values():
            system.step(self, tick, dt)

    def _step_ecology(self, tick: int, dt: float) -> None:
        """The ecology step is spread over ``ecology_interval``: each tick one cohort of creatures (rows
        equal to the tick modulo the interval in ticks) acts and one stride of grass tiles regrows."""
        every = self._ecology_ticks
        phase = tick % every
        out = self.ecology.step(self.entities, self.terrain, self._ecology_rng, self.climate.metabolism_factor(),
                                self.climate.growth_factor(self.seconds), every * dt, phase, every)
        labels = {"species": self.ecology.names, "cause": _CAUSE_LABELS}
        self.events.emit_batch(tick, "creature.born", out.born_ids, labels, parent=out.parent_ids,
                               species=out.species_born)
        self.events.emit_batch(tick, "creature.died", out.dead_ids, labels, cause=out.death_cause,
                               killer=out.killer_ids, species=out.species_dead)
        s = len(self.ecology.names)
        self._interval[0] += np.bincount(out.species_born, minlength=s)[:s]
        self._interval[1] += np.bincount(out.species_dead, minlength=s)[:s]
        self._interval[2, 0] += out.grazed
        if phase == every - 1 or every == 1:  # a full ecology step is complete: publish its totals
            self._last_births = self._interval[0].copy()
            self._last_deaths = self._interval[1].copy()
            self._grazed = int(self._interval[2, 0])
            self._interval[:] = 0

    def _step_physics(self, tick: int, now: float) -> None:
        """Step pybullet, copy prop positions, report removals and contacts, expire projectiles whose time
        (``expires``, simulated seconds) is up by ``now``."""
        assert self.physics is not None
        contacts = self.physics.step()
        t = self.entities
        rows = np.flatnonzero(t.alive[: t.extent] & (t.kind[: t.extent] == Kind.PROP))
        handles = self.physics.handles()
        bodies = t.body[rows]
        present = np.isin(bodies, handles)
        gone = rows[~present]
        if len(gone):
            self.events.emit_batch(tick, "physics.removed", t.ids(gone).astype(np.int64), body=t.body[gone].copy())
            t.despawn_rows(gone)
            rows, bodies = rows[present], bodies[present]
        if len(rows):
            t.pos[rows] = self.physics.positions()[np.searchsorted(handles, bodies)]
            t.vel[rows] = 0.0
            expired = rows[(t.expires[rows] > 0) & (t.expires[rows] <= now)]
            if len(expired):
                self.events.emit_batch(tick, "entity.despawned", t.ids(expired).astype(np.int64), what="projectile",
                                       reason="expired")
                for handle in t.body[expired].tolist():
                    self.physics.remove(handle)
                t.despawn_rows(expired)
                keep = ~np.isin(rows, expired)
                rows, bodies = rows[keep], bodies[keep]
        if contacts:
            entity_of = dict(zip(bodies.tolist(), t.ids(rows).tolist(), strict=True))
            for c in contacts:
                self.events.emit(tick, "physics.collision", entity_of.get(c.a, 0),
                                 other=entity_of.get(c.b, 0), impulse=round(float(c.impulse), 4),
                                 x=round(float(c.pos[0]), 3), y=round(float(c.pos[1]), 3), z=round(float(c.pos[2]), 3))

    # ------------------------------------------------------------------------------ commands (systems)

    def throw(self, pos: Sequence[float], vel: Sequence[float], radius: float = 0.15, mass: float = 1.0,
              lifetime: float = PROJECTILE_LIFETIME) -> int:
        """Launch a projectile (a physics sphere) from ``pos`` (3,) metres at ``vel`` (3,) m/s; it is removed
        after ``lifetime`` simulated seconds (0: never). Returns its entity id.

        Raises ``InputError`` (bad numbers, or physics is off in this world)."""
        if self.physics is None:
            raise InputError("this world has no physics (enable [physics] in its scenario)")
        lifetime = float(lifetime)
        if not (math.isfinite(lifetime) and lifetime >= 0):
            raise InputError(f"lifetime must be finite and >= 0 seconds, got {lifetime}")
        handle = self.physics.add_sphere(tuple(float(v) for v in pos), float(radius), float(mass),
                                         vel=tuple(float(v) for v in vel))
        entity = self._attach_prop(handle)
        if lifetime:
            self.entities.expires[self.entities.row_of(entity)] = self.seconds + lifetime
        self.events.emit(self.tick, "entity.spawned", entity, what="projectile")
        return entity

    def throw_from(self, entity_id: int, direction_x: float, direction_y: float) -> int:
        """A player throws: a projectile leaves 1.5 m above ``entity_id`` towards (x, y) (normalised; a zero
        direction throws east) at ``THROW_SPEED`` m/s, rising. Returns the projectile's id.

        Raises ``InputError`` (non-finite direction, no physics) or ``StaleEntityError``."""
        try:
            dx, dy = float(direction_x), float(direction_y)
        except (TypeError, ValueError):
            raise InputError(f"throw direction must be two numbers, got {direction_x!r}, {direction_y!r}") from None
        if not (math.isfinite(dx) and math.isfinite(dy)):
            raise InputError(f"throw direction must be finite, got ({dx}, {dy})")
        length = math.hypot(dx, dy)
        dx, dy = (dx / length, dy / length) if length > 0 else (1.0, 0.0)
        x, y, z = self.positions_of([entity_id])[0]
        start = (x + 0.6 * dx, y + 0.6 * dy, z + 1.5)
        return self.throw(start, (THROW_SPEED * dx, THROW_SPEED * dy, 0.4 * THROW_SPEED))

    def harvest(self, node: int, units: float, by: int = 0) -> float:
        """Take up to ``units`` from resource node ``node``; returns units taken (event ``resource.harvested``)."""
        taken = self.economy.harvest(node, units)
        self.events.emit(self.tick, "resource.harvested", by, node=int(node),
                         good=self.economy.goods[self.economy.node_good[node]], units=round(taken, 6))
        return taken

    def trade(self, settlement: int, good: int, units: float, by: int = 0) -> float:
        """Sell (``units`` > 0) or buy (< 0) at a market; returns coins paid to the trader (event ``market.trade``)."""
        coins = self.economy.trade(settlement, good, units)
        self.events.emit(self.tick, "market.trade", by, settlement=self.economy.settlements[settlement],
                         good=self.economy.goods[good], units=float(units), coins=round(coins, 6))
        return coins

    # ------------------------------------------------------------------------------------- views

    def kind_view(self, kind: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """Live entities of one kind: (ids (n,) int64 ascending, positions (n, 3) float64 metres, a copy)."""
        t = self.entities
        n = t.extent
        rows = np.flatnonzero(t.alive[:n] & (t.kind[:n] == int(kind)))
        ids = t.ids(rows).astype(np.int64)
        order = np.argsort(ids, kind="stable")
        return ids[order], t.pos[rows[order]]

    def positions_of(self, entity_ids: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Positions (n, 3) float64 metres of live ids (n,), in the given order. Raises ``StaleEntityError``."""
        return self.entities.pos[self.entities.rows_of(entity_ids)]

    @property
    def biome_names(self) -> list[str]:
        return self.terrain.biome_names

    def event_kinds(self) -> tuple[str, ...]:
        """Every kind this world can emit: ``EVENT_KINDS`` and its attached systems' ``EVENT_KINDS``."""
        extra = [k for system in self.systems.values() for k in getattr(system, "EVENT_KINDS", ())]
        return tuple(dict.fromkeys([*EVENT_KINDS, *extra]))

    def drain_events(self) -> list[WorldEvent]:
        """Every event since the last drain, in order (see ``worldsim.events``)."""
        return self.events.drain()

    def density_map(self) -> npt.NDArray[np.float64]:
        """Creatures per tile (n, n) float64, indexed [y, x]."""
        t = self.entities
        rows = self.ecology.creature_rows(t)
        counts = np.bincount(t.cell[rows].astype(np.int64), minlength=self.terrain.n ** 2)
        return counts.reshape(self.terrain.n, self.terrain.n).astype(np.float64)

    def metrics(self) -> dict[str, float]:
        """Flat scalar metrics of the current state; the same keys every tick for a given world.

        ``population.<species>``, ``born.<species>`` / ``died.<species>`` (last ecology step),
        ``flora.grown`` (fraction of growable tiles), ``flora.grazed``, ``births.dropped`` (births that found
        the entity table full, since the world was built -- not saved), ``weather`` (index),
        ``weather.<name>`` (1 in that weather), ``daylight``, ``hour``, ``price.<town>.<good>``,
        ``stock.<town>.<good>``, ``resources.<good>`` (units left in nodes), ``entities.<kind>``.
        """
        out: dict[str, float] = {}
        populations = self.ecology.populations(self.entities)
        for i, name in enumerate(self.ecology.names):
            out[f"population.{name}"] = float(populations[i])
            out[f"born.{name}"] = float(self._last_births[i])
            out[f"died.{name}"] = float(self._last_deaths[i])
        growable = self.ecology.regrowth > 0
        out["flora.grown"] = float(self.ecology.grown[growable].mean()) if growable.any() else 0.0
        out["flora.grazed"] = float(self._grazed)
        out["births.dropped"] = float(self.ecology.births_dropped)
        out["weather"] = float(self.climate.state)
        for i, name in enumerate(self.climate.names):
            out[f"weather.{name}"] = float(self.climate.state == i)
        out["daylight"] = self.climate.daylight(self.seconds)
        out["hour"] = self.climate.hour(self.seconds)
        e = self.economy
        for ti, town in enumerate(e.settlements):
            for gi, good in enumerate(e.goods):
                out[f"price.{town}.{good}"] = float(e.price[ti, gi])
                out[f"stock.{town}.{good}"] = float(e.stock[ti, gi])
        for gi, good in enumerate(e.goods):
            out[f"resources.{good}"] = float(e.node_amount[e.node_good == gi].sum())
        t = self.entities
        kinds = np.bincount(t.kind[: t.extent][t.alive[: t.extent]], minlength=len(Kind) + 1)
        for kind in Kind:
            out[f"entities.{kind.name.lower()}"] = float(kinds[int(kind)])
        for system in self.systems.values():
            out.update(system.metrics())
        return out

    # ------------------------------------------------------------------------------ hash and saves

    def _system_arrays(self) -> dict[str, npt.NDArray]:
        out: dict[str, npt.NDArray] = {}
        out.update(self.terrain.arrays())
        out.update(self.ecology.arrays())
        out.update(self.economy.arrays())
        out.update(self.climate.arrays())
        out["world.last"] = np.array([*self._last_births, *self._last_deaths, self._grazed,
                                      *self._interval.reshape(-1)], dtype=np.int64)
        out.update(systems.prefixed_arrays(self.systems))
        return out

    def world_hash(self) -> str:
        """Hex SHA-256 of everything that determines the future: tick, seconds, seed, the scenario, the ids
        and every other column of the live rows (row order, little-endian), every system array, the
        physics state and the RNG stream states."""
        digest = hashlib.sha256(_HASH_DOMAIN)
        digest.update(struct.pack("<QQdd", self.tick, self.seed, self.half_extent, self.seconds))
        digest.update(to_json(self.scenario))
        rows = self.entities.live_rows()
        digest.update(self.entities.ids(rows).astype("<u4").tobytes())
        for name in _HASHED_COLUMNS:
            column = getattr(self.entities, name)[rows]
            digest.update(np.ascontiguousarray(column, dtype=column.dtype.newbyteorder("<")).tobytes())
        for name, values in self._system_arrays().items():
            digest.update(name.encode())
            digest.update(np.ascontiguousarray(values, dtype=values.dtype.newbyteorder("<")).tobytes())
        if self.physics is not None:
            digest.update(self.physics.state_bytes())
        digest.update(self.rng.state_bytes())
        return digest.hexdigest()

    def to_bytes(self) -> bytes:
        """The world as a versioned, checksummed save (see ``worldsim.saves`` for the layout)."""
        record = saves.WorldRecord(
            seed=self.seed, tick=self.tick, half_extent=self.half_extent, capacity=self.entities.capacity,
            extent=self.entities.extent, columns=_records(self.entities.export_columns()),
            rng_state=self.rng.state_bytes(), scenario=to_json(self.scenario), seconds=self.seconds,
            systems=_records(self._system_arrays()),
            physics=self.physics.to_bytes() if self.physics is not None else b"")
        return saves.pack(record)

    @classmethod
    def from_bytes(cls, data: bytes, source: str = "<bytes>") -> World:
        """Rebuild a world from ``to_bytes`` output. Raises ``SaveError(source, cause)``; never half-loads."""
        record = saves.unpack(data, source)
        try:
            scenario = from_json(record.scenario, source)
            table = EntityTable.from_columns(
                record.capacity, record.extent, {c.name: (c.dtype, tuple(c.shape), c.data) for c in record.columns}
            )
            world = cls.__new__(cls)
            world._setup(record.seed, scenario, table, record.tick, record.seconds)
            stored = {c.name: _array(c) for c in record.systems}
            expected = {"terrain.height", "terrain.moisture", "ecology.grown", "ecology.countdown",
                        "economy.stock", "economy.price", "economy.node_amount", "climate.state",
                        "climate.remaining", "world.last"}
            if {name for name in stored if not name.startswith("systems.")} != expected:
                raise CorruptStateError(f"system arrays {sorted(stored)} != expected {sorted(expected)}")
            n = scenario.world.tiles
            for name in ("terrain.height", "terrain.moisture"):
                if stored[name].shape != (n, n) or not np.isfinite(stored[name]).all():
                    raise CorruptStateError(f"{name} is not a finite ({n}, {n}) array")
            world.terrain = Terrain.from_fields(scenario, stored["terrain.height"].copy(),
                                                stored["terrain.moisture"].copy())
            world._build_systems()
            # node placement comes from the seed's "economy.init" stream, so it is derived, not stored
            world.economy = Economy.from_scenario(scenario, world.terrain,
                                                  RngStreams(record.seed).stream("economy.init"))
            _check_like(stored, world.ecology.arrays())
            _check_like(stored, world.economy.arrays())
            _check_like(stored, world.climate.arrays())
            world.ecology.load_arrays(stored)
            world.economy.load_arrays(stored)
            world.climate.load_arrays(stored)
            s = len(scenario.species)
            last = stored["world.last"]
            if last.shape != (2 * s + 1 + world._interval.size,):
                raise CorruptStateError("world.last has the wrong length")
            world._last_births, world._last_deaths, world._grazed = last[:s], last[s:2 * s], int(last[2 * s])
            world._interval = last[2 * s + 1:].reshape(world._interval.shape).copy()
            world.rng.load_state_bytes(record.rng_state)
            world._spawn_rng = world.rng.stream(SPAWN_STREAM)
            world._wander_rng = world.rng.stream(WANDER_STREAM)
            world._ecology_rng = world.rng.stream("ecology")
            world._weather_rng = world.rng.stream("weather")
            world.physics = None
            if scenario.physics.enabled:
                from .physics import PhysicsWorld

                t = world.terrain
                world.physics = PhysicsWorld.from_bytes(
                    record.physics, terrain=_physics_terrain(t))
            elif record.physics:
                raise CorruptStateError("physics bytes in a world without physics")
            live = table.live_rows()
            if (np.abs(table.pos[live, :2]) > world.half_extent + 1e-9).any():
                raise CorruptStateError("a live entity lies outside the world square")
            world.systems = systems.attach_all(world, fresh=False)
            for name, system in world.systems.items():
                try:
                    system.load_arrays(systems.split_arrays(stored, name))
                except Exception as exc:  # untrusted bytes: any failure is a corrupt save, never a half-load
                    raise CorruptStateError(f"system {name!r}: {exc}") from None
        except (CorruptStateError, CapacityError, InputError, ScenarioError) as exc:
            raise SaveError(source, f"has inconsistent contents ({exc})") from None
        return world

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the world to ``path`` atomically (temp file, fsync, rename, fsync dir). Raises ``SaveError``;
        on failure the previous file at ``path`` is untouched."""
        saves.write_atomic(path, self.to_bytes())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> World:
        """Load a world saved with ``save``. Raises ``SaveError`` naming the file and the cause (unreadable,
        empty, truncated, not a save, wrong version, bad checksum, inconsistent contents)."""
        return cls.from_bytes(saves.read_save(path), os.fspath(path))


PHYSICS_HEIGHTFIELD_MAX = 512
"""Samples per side of the physics heightfield at most: larger maps give physics every k-th tile centre
(building a 2048² pybullet heightfield takes ~30 s; props are too few to need every tile)."""


def _physics_terrain(t: Terrain) -> tuple[npt.NDArray[np.float64], float, tuple[float, float]]:
    """The heightfield for physics: every k-th tile-centre elevation (k so that at most
    ``PHYSICS_HEIGHTFIELD_MAX`` samples per side), their spacing and the first centre's (x, y), metres."""
    k = -(-t.n // PHYSICS_HEIGHTFIELD_MAX)
    first = -t.half_extent + t.tile_size / 2
    return np.ascontiguousarray(t.elevation[::k, ::k]), t.tile_size * k, (first, first)


def _records(arrays: dict[str, npt.NDArray]) -> list[saves.ColumnRecord]:
    return [saves.ColumnRecord(name, values.dtype.newbyteorder("<").str, list(values.shape),
                               np.ascontiguousarray(values, dtype=values.dtype.newbyteorder("<")).tobytes())
            for name, values in arrays.items()]


def _array(record: saves.ColumnRecord) -> npt.NDArray:
    try:
        dtype = np.dtype(record.dtype)
        if dtype.kind not in "biuf":
            raise TypeError(f"dtype {record.dtype}")
        values = np.frombuffer(record.data, dtype=dtype).reshape(record.shape)
    except (TypeError, ValueError) as exc:
        raise CorruptStateError(f"system array {record.name!r} is malformed ({exc})") from None
    if values.dtype.kind == "f" and not np.isfinite(values).all():
        raise CorruptStateError(f"system array {record.name!r} holds non-finite values")
    return values.astype(values.dtype.newbyteorder("="))


def _check_like(loaded: dict[str, npt.NDArray], fresh: dict[str, npt.NDArray]) -> None:
    for name, values in fresh.items():
        if loaded[name].shape != values.shape or loaded[name].dtype != values.dtype:
            raise CorruptStateError(f"{name} is {loaded[name].dtype}{loaded[name].shape}, "
                                    f"expected {values.dtype}{values.shape}")
