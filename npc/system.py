"""The NPC system attached to a world: perceive, decide, act, remember, relate, gossip, work, trade, fight.

Why this design: every NPC is a row in fixed-size arrays (``n`` = the scenario's population; a dead NPC's row
waits and respawns as a newcomer), and each stage of a tick is one batched kernel over all rows -- perception
on uniform grids (``kernels.perception``), utility scoring (``kernels.utility``), movement and action effects
(``kernels.acting``), memory/relations/gossip (``memory``, ``social``, ``gossip``). Python only orchestrates
and handles the rare, discrete outcomes (a sale, a swing, a theft, a meeting) for the few rows that have one
this tick, in row order, drawing from the world's named streams. The world's entity table holds positions
and velocities (``Kind.NPC`` rows); this system sets velocities and the world integrates them.

A tick: sync (rows removed by someone else count as deaths) -> every ``think_every`` ticks: perception,
inputs, decision (with hysteresis and commitment), targets -> every tick: movement and needs, work, trade,
combat, theft, meetings and gossip, memory and relation decay -> events.

Attached through ``[systems.npc]`` in a scenario (see ``npc.settings.NpcSettings``); the world saves and
hashes ``arrays()``, so a loaded world continues identically.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import networkx as nx
import numpy as np
import numpy.typing as npt

from worldsim.errors import CorruptStateError, ScenarioError, StaleEntityError
from worldsim.rng import RngStreams
from worldsim.state import Kind

from .curves import UtilityBrain
from .designs import CONTEXT_INPUTS, VERBS, compile_design, load_design
from .errors import NpcDataError, NpcInputError
from .gossip import GossipParams, exchange, reach
from .kernels import acting, perception
from .kernels.acting import V_ATTACK, V_EAT, V_PATROL, V_SELL, V_STEAL, V_WANDER, lock_state
from .kernels.perception import bucket_points, match_meetings
from .memory import DEFAULT_HALF_LIFE_HOURS, MemoryKind, MemoryStore
from .population import place_population
from .settings import NpcSettings, check_settings, decode_settings
from .social import FactionStanding, Relations

FACT_RUMOUR = 1 << 40
FACT_CRIME = 2 << 40
FACT_THREAT = 3 << 40
"""Fact ids: a kind tag in the high bits, a serial or an entity id in the low bits."""

EYE_HEIGHT = 1.6
RESPAWN_HOURS = 12.0
"""In-game hours until a dead NPC's row returns as a newcomer at its home."""
PLAYER_HEALTH = 100.0
STEAL_COINS = 5.0
WITNESS_EVENTS = 3
"""At most this many ``npc.witnessed`` events per theft (every witness still remembers it)."""
GRID_SIDE_MAX = 1024
FAR = 1e9
"""Distance (metres) standing for "nothing in sight" (saves hold finite numbers only)."""
PARALLEL_ABOVE = 20_000
"""Populations above this run the kernels' threaded variants (below it thread start-up costs more than it saves)."""


class NpcSystem:
    """NPCs of one world (``world.systems["npc"]``). See the module docstring; the public read API is
    ``ids``, ``name_of``, ``role_of``, ``faction_of``, ``home_of``, ``alive``, ``summary``, ``inspect``,
    ``social_graph``, ``rumour_reach``; commands ``adjust_relation``, ``adjust_faction``, ``set_hostility``."""

    EVENT_KINDS = ("npc.died", "npc.arrived", "npc.attacked", "npc.stole", "npc.witnessed", "npc.friends",
                   "npc.feud", "npc.need", "player.downed", "creature.attacked")
    """Kinds this system emits (it also emits the world's ``creature.died`` and ``market.trade``)."""

    # ------------------------------------------------------------------------------ construction

    @classmethod
    def create(cls, world: Any, settings: dict[str, Any], source: str, fresh: bool) -> NpcSystem:
        """Build from a scenario's ``[systems.npc]`` table; spawn the population when ``fresh``.

        Raises ``ScenarioError`` for bad settings or a bad design file (naming the file and field)."""
        s = decode_settings(settings, source)
        try:
            design = compile_design(load_design(s.design))
        except NpcDataError as exc:
            raise ScenarioError(source, "systems.npc.design", f"a valid design ({exc})") from None
        economy = world.economy
        check_settings(s, source, list(economy.settlements), list(design.role_names))
        try:
            return cls(world, s, design, fresh)
        except NpcDataError as exc:  # a role's trained policy could not be loaded
            raise ScenarioError(source, "systems.npc.design", f"a usable design ({exc})") from None

    def __init__(self, world: Any, s: NpcSettings, design: Any, fresh: bool) -> None:
        self.settings = s
        self.design = design
        self.world_half = float(world.half_extent)
        self.tick_rate = float(world.scenario.world.tick_rate)
        self.day_length = float(world.scenario.world.day_length)
        self.need_names = list(design.need_names)
        self.action_names = list(design.action_names)
        self.role_names = list(design.role_names)
        self.faction_names = list(design.faction_names)
        goods = list(world.economy.goods)
        self._food = goods.index("food") if "food" in goods else -1
        self._role_good = np.array([goods.index(g) if g in goods else -1 for g in design.role_work], np.int64)
        self._duration_ticks = np.maximum(
            1, np.round(design.duration * 60.0 / 3600.0 * self.day_length / 24.0 * self.tick_rate)).astype(np.int64)
        self._hunters = np.array([i for i, sp in enumerate(world.scenario.species.values()) if sp.diet != "grass"],
                                 dtype=np.int64)
        # placement draws from "npc.init"; a loaded world re-derives it from the seed (its arrays then
        # overwrite the draws) so loading leaves the world's saved stream states untouched
        rng = world.rng.stream("npc.init") if fresh else RngStreams(world.seed).stream("npc.init")
        terrain = world.terrain
        towns = [(economy_index, [(design.role_names.index(r), c) for r, c in counts.items()])
                 for economy_index, counts in ((list(world.economy.settlements).index(t), counts)
                                               for t, counts in s.towns.items())]
        placement = place_population(
            rng, towns, world.economy.town_xy, list(self._role_good), [bool(h) for h in design.role_hostile],
            world.economy.node_good, world.economy.node_xy, lambda x, y: bool(terrain.passable.reshape(-1)[terrain.tile_at(x, y)]),
            self.world_half, s.home_radius, s.camp_distance, s.field_distance)
        n = len(placement.names)
        self.n = n
        self.names = placement.names
        self.role = placement.role.astype(np.int16)
        self.town = placement.town
        self.home = placement.home
        self.places = placement.places
        self.patrol = placement.patrol
        self.work_node = placement.work_node
        self.faction = design.role_faction[self.role].astype(np.int64)
        self.hostile = design.role_hostile[self.role].astype(np.bool_)
        self.speed = design.role_speed[self.role].astype(np.float64)
        self.sight = design.role_sight[self.role].astype(np.float64)
        self.max_health = design.role_health[self.role].astype(np.float64)
        k = len(self.need_names)
        lo, hi = design.initial[:, 0], design.initial[:, 1]
        self.needs = (lo + (hi - lo) * rng.random((n, k))).astype(np.float32)
        self.health = self.max_health.copy()
        self.coins = rng.uniform(*s.coins, size=n)
        self.carry = np.zeros(n)
        self.capacity = np.full(n, s.carry_capacity)
        self.action = np.full(n, -1, dtype=np.int16)
        self.score = np.zeros(n, dtype=np.float32)
        self.since = np.zeros(n, dtype=np.int64)
        self.patrol_index = np.arange(n, dtype=np.int64) % max(self.patrol.shape[1], 1)
        self.wander_goal = self.home.copy()
        self.target = self.home.copy()
        self.lost = np.zeros(n, dtype=np.bool_)
        self.next_meet = np.zeros(n, dtype=np.int64)
        self.next_swing = np.zeros(n, dtype=np.int64)
        self.meal_paid = np.zeros(n, dtype=np.bool_)
        self.dead_since = np.full(n, -1, dtype=np.int64)
        self.entity = np.zeros(n, dtype=np.int64)
        self.table_row = np.zeros(n, dtype=np.int64)
        self.memory = MemoryStore(n, s.memory_slots)
        self.relations = Relations(n, s.relation_slots)
        self.standing = FactionStanding(self.faction_names, design.faction_hostile)
        self.players = np.zeros(0, dtype=np.int64)
        self.player_health = np.zeros(0)
        self.counters = np.zeros(4, dtype=np.int64)  # next fact serial, deaths, thefts, meetings
        self.rumour_facts = np.zeros(len(s.rumours), dtype=np.int64)
        self.aggression = float(s.aggression)
        self.accuracy = float(s.accuracy)
        self._brain_for_aggression()
        self._gossip = GossipParams(p_tell=s.p_tell, salience_keep=s.salience_keep, p_distort_subject=s.p_distort, value_noise=s.value_noise,
                                    d_affinity=s.affinity_per_story, d_trust=s.trust_per_meeting)
        self._rng_social = world.rng.stream("npc.social")
        self._rng_combat = world.rng.stream("npc.combat")
        self._rng_wander = world.rng.stream("npc.wander")
        # per-tick perception products (derived, recomputed on the next think)
        self._threat_xy = np.zeros((n, 2))
        self._threat_dist = np.full(n, FAR)
        self._threat_kind = np.zeros(n, dtype=np.int64)  # 0 none, 1 NPC row, 2 creature row, 3 player
        self._threat_ref = np.full(n, -1, dtype=np.int64)
        self._partner = np.full(n, -1, dtype=np.int64)
        self._crowd = np.zeros(n, dtype=np.int64)
        self._player_xy = np.zeros((n, 2))
        self._player_dist = np.full(n, FAR)
        self._inputs = np.zeros((n, len(design.input_names)), dtype=np.float32)
        variant = "parallel" if n > PARALLEL_ABOVE else "serial"
        self._assemble_inputs = getattr(acting, f"assemble_inputs_{variant}")
        self._choose_targets = getattr(acting, f"choose_targets_{variant}")
        self._move_and_act = getattr(acting, f"move_and_act_{variant}")
        self._nearest_hostile = getattr(perception, f"nearest_hostile_{variant}")
        self._neighbours = getattr(perception, f"neighbours_{variant}")
        self._safety = self.need_names.index("safety") if "safety" in self.need_names else -1
        self._resting = np.array([v == VERBS.index("rest") for v in design.verb], dtype=np.bool_)
        self._drivers = _policy_drivers(design)
        self._hours_since_think = np.zeros(2)  # in-game hours since the last think, since the last housekeeping
        self._seen_threat = np.zeros(n, dtype=np.int64)
        every = self.settings.think_every
        self._housekeeping_every = every * max(1, round(self.tick_rate / every))  # about once a second
        self._worked = np.zeros(n)
        self._needs_mark = self.needs.copy()
        if fresh:
            self._spawn_all(world, rng)
            self._seed_rumours(world, rng)

    def _spawn_all(self, world: Any, rng: np.random.Generator) -> None:
        if not self.n:
            return
        pos = np.zeros((self.n, 3))
        pos[:, :2] = self.home
        ids = world.entities.spawn_many(Kind.NPC, pos, self.speed, np.zeros(self.n, dtype=bool))
        self.entity = ids.astype(np.int64)
        self.table_row = world.entities.rows_of(self.entity)

    def _seed_rumours(self, world: Any, rng: np.random.Generator) -> None:
        for i, seed in enumerate(self.settings.rumours):
            town = list(world.economy.settlements).index(seed.town)
            rows = np.flatnonzero((self.town == town) & ~self.hostile)
            if not len(rows):
                continue
            teller = int(rows[rng.integers(len(rows))])
            fact = FACT_RUMOUR | self._next_serial()
            self.rumour_facts[i] = fact
            x, y = self.home[teller]
            self.memory.remember([teller], MemoryKind.RUMOUR, [fact], subject=0, object=town, x=x, y=y,
                                 value=1.0, salience=seed.salience, tick=world.tick, hops=0)

    def _next_serial(self) -> int:
        self.counters[0] += 1
        return int(self.counters[0])

    def _brain_for_aggression(self) -> None:
        """Hostile roles' ``attack`` actions score x aggression (the director's knob)."""
        bias = np.array(self.design.role_bias, dtype=np.float32, copy=True)
        attack = np.flatnonzero(self.design.verb == VERBS.index("attack"))
        hostile_roles = np.flatnonzero(self.design.role_hostile)
        if len(attack) and len(hostile_roles):
            bias[np.ix_(hostile_roles, np.arange(bias.shape[1]), attack)] *= self.aggression
        self.brain = UtilityBrain(dataclasses.replace(self.design, role_bias=bias), momentum=self.settings.momentum)

    # ------------------------------------------------------------------------------ the tick

    def step(self, world: Any, tick: int, dt: float) -> None:
        """One tick of ``dt`` seconds (called by ``World.step`` after the world moved)."""
        if not self.n:
            return
        hours = dt * 24.0 / self.day_length
        t = world.entities
        self._sync(world, tick)
        if (self.dead_since >= 0).any():
            self._respawn(world, tick)
        alive = self.dead_since < 0
        rows = self.table_row
        xy = np.ascontiguousarray(t.pos[rows, :2])
        think = tick % self.settings.think_every == 0 or tick <= 1
        if think:
            self._perceive(world, xy, alive)
            self._decide(world, tick, xy, alive)
        # every tick: movement and needs (one kernel); everything discrete waits for the next think
        vel = np.zeros((self.n, 3))
        at_target = np.zeros(self.n, dtype=np.bool_)
        worked = np.zeros(self.n)
        d = self.design
        self._move_and_act(self.action, alive, d.verb, d.target, d.effects, xy, self.target, self.lost, self.speed,
                           self.settings.arrive, self.needs, d.decay, hours, self.carry, self.capacity,
                           self.settings.work_rate, vel, at_target, worked)
        for role, driver in self._drivers.items():  # roles driven by a trained policy (npc/rl): one batch each
            idx = np.flatnonzero(alive & (self.role == role))
            if len(idx):
                from .rl.policy import needs_from_npc_system

                vel[idx, :2] = driver.act(world, self.table_row[idx], needs_from_npc_system(self, idx))
        t.vel[rows[alive]] = vel[alive]
        self._worked += worked
        self._hours_since_think += hours
        if think:
            self._think_tick(world, tick, xy, alive, at_target)

    def _think_tick(self, world: Any, tick: int, xy: npt.NDArray[np.float64], alive: npt.NDArray[np.bool_],
                    at_target: npt.NDArray[np.bool_]) -> None:
        """Work, trade, rounds, combat, healing, theft, meetings and slow bookkeeping, at the thinking cadence
        over the in-game hours since the last think."""
        d = self.design
        hours = float(self._hours_since_think[0])
        self._work(world, self._worked)
        self._worked[:] = 0.0
        verbs = np.where(self.action >= 0, d.verb[np.maximum(self.action, 0)], -1)
        self._trade(world, tick, verbs, at_target & alive)
        self._advance_rounds(world, verbs, xy, alive)
        self._combat(world, tick, verbs, xy, alive)
        self._predators_bite(world, tick)
        resting = alive & (self.action >= 0) & self._resting[np.maximum(self.action, 0)] & at_target
        heal = np.where(resting, self.settings.rest_healing, self.settings.healing) * hours
        self.health = np.where(alive, np.minimum(self.max_health, self.health + heal), self.health)
        self._steal(world, tick, verbs, xy, alive)
        self._meet(world, tick, alive)
        self._hours_since_think[0] = 0.0
        if self._housekeeping_due(tick):  # slow fading and need alarms, about once a real second
            slow = float(self._hours_since_think[1])
            self.memory.decay(slow, DEFAULT_HALF_LIFE_HOURS)
            self.relations.decay(slow, self.settings.relation_decay)
            self._hours_since_think[1] = 0.0
            self._need_events(world, tick, self._needs_mark, alive)
            self._needs_mark = self.needs.copy()

    def _housekeeping_due(self, tick: int) -> bool:
        return tick % self._housekeeping_every == 0
    def _sync(self, world: Any, tick: int) -> None:
        """Rows despawned by someone else (an admin, a script) are deaths."""
        t = world.entities
        alive = self.dead_since < 0
        rows = self.table_row[alive]
        ok = t.alive[rows] & (t.ids(rows).astype(np.int64) == self.entity[alive])
        if ok.all():
            return
        for i in np.flatnonzero(alive)[~ok]:
            self._die(world, tick, int(i), killer=0, cause="removed", despawn=False)

    def _respawn(self, world: Any, tick: int) -> None:
        wait = round(RESPAWN_HOURS / 24.0 * self.day_length * self.tick_rate)
        due = np.flatnonzero((self.dead_since >= 0) & (tick - self.dead_since >= wait))
        if not len(due) or world.entities.capacity - world.entities.count < len(due):
            return
        pos = np.zeros((len(due), 3))
        pos[:, :2] = self.home[due]
        ids = world.entities.spawn_many(Kind.NPC, pos, self.speed[due], np.zeros(len(due), dtype=bool))
        self.entity[due] = ids.astype(np.int64)
        self.table_row[due] = world.entities.rows_of(self.entity[due])
        self.dead_since[due] = -1
        self.health[due] = self.max_health[due]
        self.needs[due] = self.design.initial[:, 1]
        self.carry[due] = 0.0
        self.action[due] = -1
        self.memory.forget_rows(due)
        self.relations.forget_rows(due)
        for i in due.tolist():
            world.events.emit(tick, "npc.arrived", int(self.entity[i]), name=self.names[i],
                              role=self.role_names[self.role[i]])

    def _perceive(self, world: Any, xy: npt.NDArray[np.float64], alive: npt.NDArray[np.bool_]) -> None:
        """Nearest hostile in sight (line of sight over the terrain), nearest player, neighbours."""
        t = world.entities
        terrain = world.terrain
        n = self.n
        ext = t.extent
        kinds = t.kind[:ext]
        live = t.alive[:ext]
        creature_rows = np.flatnonzero(live & (kinds == Kind.CREATURE) & np.isin(t.species[:ext], self._hunters)) \
            if len(self._hunters) else np.zeros(0, dtype=np.int64)
        player_rows = np.flatnonzero(live & (kinds == Kind.PLAYER))
        f = len(self.faction_names)
        hostility = np.zeros((f, f + 1), dtype=np.bool_)
        hostility[:, :f] = self.standing.hostility()
        for r in np.flatnonzero(self.design.role_hostile):
            hostility[self.design.role_faction[r], f] = True
        cell = max(float(self.sight.max(initial=1.0)), 2 * self.world_half / GRID_SIDE_MAX)
        side = max(1, min(GRID_SIDE_MAX, int(math.ceil(2 * self.world_half / cell))))
        self._threat_dist[:] = FAR
        self._threat_kind[:] = 0
        self._threat_ref[:] = -1
        calm = np.flatnonzero(alive & ~self.hostile)
        fierce = np.flatnonzero(alive & self.hostile)
        # peaceful NPCs look for hostile NPCs and predators; hostile NPCs for their targets and players
        for query, cand_npcs, others, other_faction, other_kind in (
                (calm, np.flatnonzero(alive & self.hostile), creature_rows, -1, 2),
                (fierce, np.flatnonzero(alive & ~self.hostile), player_rows, -2, 3)):
            if not len(query):
                continue
            cxy = np.concatenate([xy[cand_npcs], t.pos[others, :2]]) if len(others) else xy[cand_npcs]
            cfaction = np.concatenate([self.faction[cand_npcs], np.full(len(others), other_faction, np.int64)])
            cself = np.concatenate([cand_npcs, np.full(len(others), -1, np.int64)])
            if not len(cxy):
                continue
            start = np.zeros(side * side + 1, dtype=np.int64)
            order = np.zeros(len(cxy), dtype=np.int64)
            cxy = np.ascontiguousarray(cxy, dtype=np.float64)
            bucket_points(cxy, self.world_half, cell, side, start, order)
            index = np.full(n, -1, dtype=np.int64)
            dist = np.full(n, np.inf)
            self._nearest_hostile(query, xy, self.faction, self.sight, cxy[order], cfaction[order], cself[order],
                                  hostility, self.world_half, cell, side, start, order, terrain.elevation,
                                  terrain.tile_size, EYE_HEIGHT, index, dist)
            seen = query[index[query] >= 0]
            j = index[seen]
            self._threat_dist[seen] = np.minimum(dist[seen], FAR)
            self._threat_xy[seen] = cxy[j]
            npc_hit = j < len(cand_npcs)
            self._threat_kind[seen] = np.where(npc_hit, 1, other_kind)
            self._threat_ref[seen] = np.where(npc_hit, cand_npcs[np.minimum(j, len(cand_npcs) - 1)],
                                              others[np.maximum(j - len(cand_npcs), 0)] if len(others) else -1)
        self._player_dist[:] = FAR
        if len(player_rows):
            pxy = t.pos[player_rows, :2]
            d = np.hypot(xy[:, None, 0] - pxy[None, :, 0], xy[:, None, 1] - pxy[None, :, 1])
            nearest = np.argmin(d, axis=1)
            self._player_dist = np.minimum(d[np.arange(n), nearest], FAR)
            self._player_xy = pxy[nearest]
        r = self.settings.talk_radius
        ncell = max(2 * r, 2 * self.world_half / GRID_SIDE_MAX)  # a talk disc touches at most 2 x 2 cells
        nside = max(1, min(GRID_SIDE_MAX, int(math.ceil(2 * self.world_half / ncell))))
        start = np.zeros(nside * nside + 1, dtype=np.int64)
        order = np.zeros(n, dtype=np.int64)
        bucket_points(xy, self.world_half, ncell, nside, start, order)
        self._neighbours(xy, alive, xy[order], alive[order], r, self.world_half, ncell, nside, start, order,
                         self._crowd, self._partner)
        self._remember_threats(world, alive, refresh=self._housekeeping_due(world.tick))

    def _remember_threats(self, world: Any, alive: npt.NDArray[np.bool_], refresh: bool) -> None:
        """Peaceful NPCs who see a threat remember who and where: at once for a new sighting, and for every
        sighting at housekeeping time (``refresh``: the place and salience of a threat still in view)."""
        seen = np.flatnonzero(alive & ~self.hostile & (self._threat_kind > 0))
        subject = self._threat_entity(world, seen)
        last = self._seen_threat.copy()
        self._seen_threat[:] = 0
        self._seen_threat[seen] = subject
        if not refresh:
            new = subject != last[seen]
            seen, subject = seen[new], subject[new]
        if not len(seen):
            return
        self.memory.remember(seen, MemoryKind.THREAT, FACT_THREAT | subject, subject=subject, object=0,
                             x=self._threat_xy[seen, 0], y=self._threat_xy[seen, 1], value=1.0, salience=0.8,
                             tick=world.tick, hops=0)

    def _threat_entity(self, world: Any, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        kind = self._threat_kind[rows]
        ref = self._threat_ref[rows]
        out = np.zeros(len(rows), dtype=np.int64)
        npc = kind == 1
        out[npc] = self.entity[ref[npc]]
        other = (kind >= 2) & (ref >= 0)
        if other.any():
            out[other] = world.entities.ids(ref[other]).astype(np.int64)
        return out

    def _decide(self, world: Any, tick: int, xy: npt.NDArray[np.float64], alive: npt.NDArray[np.bool_]) -> None:
        d = self.design
        rumour_slot = self.memory.best([MemoryKind.RUMOUR, MemoryKind.CRIME, MemoryKind.THREAT])
        rumour = np.where(rumour_slot >= 0,
                          self.memory.salience[np.arange(self.n), np.maximum(rumour_slot, 0)], 0).astype(np.float32)
        seconds = world.seconds
        hour = world.climate.hour(seconds)
        self._assemble_inputs(self.needs, alive, self._threat_dist, self.sight, self._player_dist, self.health,
                        self.max_health, self.coins, self.carry, self.capacity, world.climate.daylight(seconds),
                        hour, self._crowd, rumour, self.hostile, xy, self.places, self._inputs)
        k = len(self.need_names)
        threat = self._inputs[:, k + CONTEXT_INPUTS.index("threat")]
        locked = np.zeros(self.n, dtype=np.bool_)
        lock_state(self.action, self.since, self._duration_ticks, tick, threat, self.settings.interrupt, locked)
        if self.settings.rescore_committed:
            best, scores = self.brain.decide(self._inputs, self.role, int(hour) % 24, self.action, locked)
            self.score = scores[np.arange(self.n), np.maximum(best, 0)]
        else:  # an NPC inside its commitment keeps its action whatever the scores: only the others are scored
            free = np.flatnonzero(~locked & alive)
            best = self.action.copy()
            if len(free):
                chosen, scores = self.brain.decide(np.ascontiguousarray(self._inputs[free]), self.role[free],
                                                   int(hour) % 24, self.action[free], locked[free])
                best[free] = chosen
                self.score[free] = scores[np.arange(len(free)), np.maximum(chosen, 0)]
        best = np.where(alive, best, self.action).astype(np.int16)
        changed = alive & (best != self.action)
        self.since[changed] = tick
        self.meal_paid[changed] = False
        self.action = best
        wander = changed & (d.verb[np.maximum(best, 0)] == V_WANDER)
        if wander.any():
            self._new_wander_goals(np.flatnonzero(wander))
        has_threat = self._threat_kind > 0
        has_partner = self._partner >= 0
        partner_xy = xy[np.maximum(self._partner, 0)]
        has_player = self._player_dist < FAR
        self._choose_targets(self.action, alive, d.target, d.verb, xy, self.places, self.patrol, self.patrol_index,
                       self._threat_xy, has_threat, partner_xy, has_partner, self._player_xy, has_player,
                       self.wander_goal, self.settings.flee_distance, self.world_half - 0.5, self.target,
                       self.lost)

    def _new_wander_goals(self, rows: npt.NDArray[np.int64]) -> None:
        angle = self._rng_wander.uniform(0, 2 * math.pi, size=len(rows))
        radius = self._rng_wander.uniform(5.0, 30.0, size=len(rows))
        goal = self.home[rows] + np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
        self.wander_goal[rows] = np.clip(goal, -self.world_half + 1, self.world_half - 1)

    def _advance_rounds(self, world: Any, verbs: npt.NDArray[np.int64], xy: npt.NDArray[np.float64],
                        alive: npt.NDArray[np.bool_]) -> None:
        """Patrollers reaching a waypoint head for the next; wanderers reaching their goal pick another."""
        close = alive & (np.hypot(*(xy - self.target).T) <= self.settings.arrive)
        self.patrol_index[close & (verbs == V_PATROL)] += 1
        wandered = np.flatnonzero(close & (verbs == V_WANDER))
        if len(wandered):
            self._new_wander_goals(wandered)

    def _work(self, world: Any, worked: npt.NDArray[np.float64]) -> None:
        """Units made at resource nodes come out of those nodes (what a depleted node cannot give is lost)."""
        at_node = np.flatnonzero((worked > 0) & (self.work_node >= 0))
        if not len(at_node):
            return
        economy = world.economy
        wanted = np.bincount(self.work_node[at_node], weights=worked[at_node], minlength=len(economy.node_amount))
        nodes = np.flatnonzero(wanted > 0)
        share = np.ones(len(economy.node_amount))
        for node in nodes.tolist():
            taken = economy.harvest(node, float(wanted[node]))
            share[node] = taken / wanted[node]
        self.carry[at_node] -= worked[at_node] * (1.0 - share[self.work_node[at_node]])

    def _trade(self, world: Any, tick: int, verbs: npt.NDArray[np.int64], here: npt.NDArray[np.bool_]) -> None:
        """Sellers at market sell their load; eaters at market buy one meal per sitting if they can pay."""
        economy = world.economy
        for i in np.flatnonzero(here & (verbs == V_SELL) & (self.carry > 1e-9)).tolist():
            good = int(self._role_good[self.role[i]])
            if good < 0:
                continue
            units = float(self.carry[i])
            self.coins[i] += world.trade(int(self.town[i]), good, units, by=int(self.entity[i]))
            self.carry[i] = 0.0
        if self._food < 0:
            return
        for i in np.flatnonzero(here & (verbs == V_EAT) & ~self.meal_paid).tolist():
            town = int(self.town[i])
            self.meal_paid[i] = True
            price = float(economy.price[town, self._food])
            if self.coins[i] >= price and economy.stock[town, self._food] >= 1.0:
                self.coins[i] += world.trade(town, self._food, -1.0, by=int(self.entity[i]))

    def _combat(self, world: Any, tick: int, verbs: npt.NDArray[np.int64], xy: npt.NDArray[np.float64],
                alive: npt.NDArray[np.bool_]) -> None:
        """Attackers within reach of their threat swing once per ``swing_seconds``; hits cost health."""
        swing = np.flatnonzero(alive & (verbs == V_ATTACK) & (self._threat_kind > 0)
                               & (self._threat_dist <= self.settings.reach) & (tick >= self.next_swing))
        if not len(swing):
            return
        rolls = self._rng_combat.random(len(swing))
        self.next_swing[swing] = tick + max(1, round(self.settings.swing_seconds * self.tick_rate))
        t = world.entities
        for i, roll in zip(swing.tolist(), rolls.tolist(), strict=True):
            if self.dead_since[i] >= 0:
                continue
            accuracy = self.accuracy if self.hostile[i] else self.settings.guard_accuracy
            if roll >= accuracy:
                continue
            damage = float(self.design.role_damage[self.role[i]])
            kind, ref = int(self._threat_kind[i]), int(self._threat_ref[i])
            me = int(self.entity[i])
            if kind == 1:
                if self.dead_since[ref] >= 0:
                    continue
                target = int(self.entity[ref])
                self.health[ref] -= damage
                self.needs[ref, self._safety] = max(0.0, float(self.needs[ref, self._safety]) - 0.3) \
                    if self._safety >= 0 else 0.0
                world.events.emit(tick, "npc.attacked", me, target=target, damage=damage)
                self.relations.interact([ref], [me], [-0.3], [-0.3], tick)
                self.memory.remember([ref], MemoryKind.HARMED, [FACT_CRIME | self._next_serial()], subject=me,
                                     object=target, x=xy[i, 0], y=xy[i, 1], value=damage, salience=1.0,
                                     tick=tick, hops=0)
                if self.health[ref] <= 0:
                    self._die(world, tick, ref, killer=me, cause="attack", despawn=True)
            elif kind == 2:
                if not (ref < t.extent and t.alive[ref] and t.kind[ref] == Kind.CREATURE):
                    continue
                target = int(t.ids([ref])[0])
                species = list(world.scenario.species)[int(t.species[ref])]
                world.despawn(target)
                world.events.emit(tick, "creature.died", target, cause="hunted", killer=me, species=species)
                world.events.emit(tick, "npc.attacked", me, target=target, damage=damage)
                self._threat_kind[i] = 0
            elif kind == 3:
                if not (ref < t.extent and t.alive[ref] and t.kind[ref] == Kind.PLAYER):
                    continue
                target = int(t.ids([ref])[0])
                hp = self._hurt_player(target, damage)
                world.events.emit(tick, "npc.attacked", me, target=target, damage=damage, health=hp)
                if hp <= 0:
                    world.events.emit(tick, "player.downed", target, killer=me)
                    self._hurt_player(target, -PLAYER_HEALTH)

    def _predators_bite(self, world: Any, tick: int) -> None:
        """Fauna threatens players too: a predator within ``reach`` of a player bites with the hostile
        accuracy (the director's knob), at most once per ``swing_seconds`` on average, for ``predator_damage``."""
        if not len(self._hunters):
            return
        t = world.entities
        ext = t.extent
        live = t.alive[:ext]
        players = np.flatnonzero(live & (t.kind[:ext] == Kind.PLAYER))
        if not len(players):
            return
        hunters = np.flatnonzero(live & (t.kind[:ext] == Kind.CREATURE) & np.isin(t.species[:ext], self._hunters))
        if not len(hunters):
            return
        d = np.hypot(t.pos[hunters, None, 0] - t.pos[None, players, 0], t.pos[hunters, None, 1] - t.pos[None, players, 1])
        close = np.argwhere(d <= self.settings.reach)  # (k, 2) hunter index, player index, row-major order
        if not len(close):
            return
        chance = self.accuracy * min(1.0, self.settings.think_every / (self.settings.swing_seconds * self.tick_rate))
        rolls = self._rng_combat.random(len(close))
        damage = self.settings.predator_damage
        for (h, p), roll in zip(close.tolist(), rolls.tolist(), strict=True):
            if roll >= chance:
                continue
            biter, target = int(t.ids([hunters[h]])[0]), int(t.ids([players[p]])[0])
            hp = self._hurt_player(target, damage)
            world.events.emit(tick, "creature.attacked", biter, target=target, damage=damage, health=hp)
            if hp <= 0:
                world.events.emit(tick, "player.downed", target, killer=biter)
                self._hurt_player(target, -PLAYER_HEALTH)

    def _hurt_player(self, player: int, damage: float) -> float:
        """Players' health lives here (the NPCs are what hurts them); returns the new health."""
        hit = np.flatnonzero(self.players == player)
        if not len(hit):
            self.players = np.append(self.players, player)
            self.player_health = np.append(self.player_health, PLAYER_HEALTH)
            hit = np.array([len(self.players) - 1])
        j = int(hit[0])
        self.player_health[j] = min(PLAYER_HEALTH, self.player_health[j] - damage)
        return float(self.player_health[j])

    def _steal(self, world: Any, tick: int, verbs: npt.NDArray[np.int64], xy: npt.NDArray[np.float64],
               alive: npt.NDArray[np.bool_]) -> None:
        """Thieves within reach of the peaceful NPC they stalk (their "threat") take some of its coins;
        everyone peaceful who sees it remembers the crime and thinks less of the thief."""
        thieves = np.flatnonzero(alive & (verbs == V_STEAL) & (self._threat_kind == 1)
                                 & (self._threat_dist <= self.settings.reach) & (tick >= self.next_swing))
        for i in thieves.tolist():
            victim = int(self._threat_ref[i])
            if self.hostile[victim] or self.dead_since[victim] >= 0 or self.coins[victim] <= 0:
                continue
            units = float(min(STEAL_COINS, self.coins[victim]))
            self.coins[victim] -= units
            self.coins[i] += units
            self.counters[2] += 1
            self.next_swing[i] = tick + max(1, round(60.0 * self.tick_rate))
            me, them = int(self.entity[i]), int(self.entity[victim])
            world.events.emit(tick, "npc.stole", me, victim=them, good="coins", units=units)
            fact = FACT_CRIME | self._next_serial()
            d = np.hypot(xy[:, 0] - xy[i, 0], xy[:, 1] - xy[i, 1])
            witnesses = np.flatnonzero(alive & ~self.hostile & (d <= self.sight))
            witnesses = witnesses[witnesses != i]
            if len(witnesses):
                self.memory.remember(witnesses, MemoryKind.CRIME, fact, subject=me, object=them, x=xy[i, 0],
                                     y=xy[i, 1], value=units, salience=1.0, tick=tick, hops=0)
                self.relations.interact(witnesses, np.full(len(witnesses), me), -0.2, -0.2, tick)
                for w in witnesses[:WITNESS_EVENTS].tolist():
                    world.events.emit(tick, "npc.witnessed", int(self.entity[w]), what="theft", subject=me,
                                      victim=them)

    def _meet(self, world: Any, tick: int, alive: npt.NDArray[np.bool_]) -> None:
        """NPCs next to each other whose conversation is due talk: relations warm (or cool, across hostile
        factions) and each may pass on their best story (``gossip.exchange``)."""
        partner = self._partner
        due = alive & (partner >= 0) & (tick >= self.next_meet)
        candidates = np.flatnonzero(due)
        if not len(candidates):
            return
        pairs = np.zeros((len(candidates), 2), dtype=np.int64)
        k = match_meetings(candidates, partner, due, self.hostile, np.zeros(self.n, dtype=np.bool_), pairs)
        if not k:
            return
        p = pairs[:k]
        interval = max(1, round(self.settings.meet_interval * self.tick_rate))
        self.next_meet[p.reshape(-1)] = tick + interval
        self.counters[3] += len(p)
        both = np.concatenate([p, p[:, ::-1]])
        crossed = np.zeros((len(both), 2), dtype=np.int8)
        uniforms = self._rng_social.random((len(both), 4))
        exchange(self.memory, self.relations, both, uniforms, self.entity, tick, self._gossip, crossed)
        a = self.relations.interact(both[:, 0], self.entity[both[:, 1]], self.settings.affinity_per_meeting,
                                    self.settings.trust_per_meeting, tick)
        flags = np.maximum(np.abs(crossed[:, 0]), np.abs(a)) * np.sign(crossed[:, 0] + a)
        for (i, j), flag in zip(both.tolist(), flags.tolist(), strict=True):
            if flag > 0:
                world.events.emit(tick, "npc.friends", int(self.entity[i]), other=int(self.entity[j]))
            elif flag < 0:
                world.events.emit(tick, "npc.feud", int(self.entity[i]), other=int(self.entity[j]))

    def _need_events(self, world: Any, tick: int, before: npt.NDArray[np.float32],
                     alive: npt.NDArray[np.bool_]) -> None:
        crit = self.design.critical
        crossed = (before >= crit) & (self.needs < crit) & alive[:, None]
        for i, k in zip(*np.nonzero(crossed), strict=True):
            world.events.emit(tick, "npc.need", int(self.entity[i]), need=self.need_names[int(k)],
                              level=round(float(self.needs[i, k]), 4))

    def _die(self, world: Any, tick: int, i: int, killer: int, cause: str, despawn: bool) -> None:
        entity = int(self.entity[i])
        if despawn:
            try:
                world.despawn(entity)
            except StaleEntityError:
                pass
        self.dead_since[i] = tick
        self.health[i] = 0.0
        self.counters[1] += 1
        self.relations.forget_entity(entity)
        world.events.emit(tick, "npc.died", entity, killer=killer, cause=cause, name=self.names[i],
                          role=self.role_names[self.role[i]])

    # ------------------------------------------------------------------------------ read API

    def ids(self) -> npt.NDArray[np.int64]:
        """Live NPC entity ids, ascending."""
        return np.sort(self.entity[self.dead_since < 0])

    def _index(self, entity_id: Any) -> int:
        if isinstance(entity_id, bool) or not isinstance(entity_id, int | np.integer):
            raise NpcInputError(f"NPC id must be an integer, got {type(entity_id).__name__}")
        hit = np.flatnonzero((self.entity == int(entity_id)) & (self.dead_since < 0))
        if not len(hit):
            raise NpcInputError(f"{entity_id} is not a live NPC")
        return int(hit[0])

    def alive(self, entity_id: int) -> bool:
        try:
            self._index(entity_id)
        except NpcInputError:
            return False
        return True

    def name_of(self, entity_id: int) -> str:
        return self.names[self._index(entity_id)]

    def role_of(self, entity_id: int) -> str:
        return self.role_names[self.role[self._index(entity_id)]]

    def faction_of(self, entity_id: int) -> str:
        return self.faction_names[self.faction[self._index(entity_id)]]

    def home_of(self, entity_id: int) -> int:
        """Settlement index of the NPC's town."""
        return int(self.town[self._index(entity_id)])

    def summary(self) -> dict[str, Any]:
        """Live NPCs' ids with role, current action and faction indices (cheap; for viewers)."""
        live = np.flatnonzero(self.dead_since < 0)
        order = live[np.argsort(self.entity[live], kind="stable")]
        return {"ids": self.entity[order].tolist(), "role": self.role[order].tolist(),
                "action": self.action[order].tolist(), "faction": self.faction[order].tolist(),
                "role_names": self.role_names, "action_names": self.action_names,
                "faction_names": self.faction_names}

    def inspect(self, entity_id: int, world: Any | None = None) -> dict[str, Any]:
        """Everything a designer wants to see about one NPC (msgpack-able). Raises ``NpcInputError``."""
        i = self._index(entity_id)
        hour = int(world.climate.hour(world.seconds)) % 24 if world is not None else 12
        a = int(self.action[i])
        explain = self.brain.explain(self._inputs[i], int(self.role[i]), hour, a)
        pos = world.entities.pos[self.table_row[i], :2].tolist() if world is not None else self.home[i].tolist()
        good = int(self._role_good[self.role[i]])
        goods = list(world.economy.goods) if world is not None else []
        relations = self.relations.of(i)
        by_id = {int(e): self.names[j] for j, e in enumerate(self.entity.tolist())}
        for r in relations:
            r["name"] = by_id.get(int(r["other"]), "")
        return {
            "id": int(self.entity[i]), "name": self.names[i], "role": self.role_names[self.role[i]],
            "faction": self.faction_names[self.faction[i]], "home": int(self.town[i]),
            "town": (list(world.economy.settlements)[int(self.town[i])] if world is not None else ""),
            "pos": [round(float(v), 3) for v in pos], "health": round(float(self.health[i]), 3),
            "coins": round(float(self.coins[i]), 3),
            "carry": ({goods[good]: round(float(self.carry[i]), 3)} if good >= 0 and goods else {}),
            "needs": {name: round(float(self.needs[i, k]), 4) for k, name in enumerate(self.need_names)},
            "action": {"name": self.action_names[a] if a >= 0 else "", "score": round(float(self.score[i]), 5),
                       "since_tick": int(self.since[i]),
                       "target": [round(float(v), 3) for v in self.target[i]]},
            "scores": explain, "memories": self.memory.recall(i), "relations": relations,
        }

    def social_graph(self, threshold: float = 0.3) -> nx.Graph:
        """The live NPCs' relationship graph (networkx mirror of the arrays)."""
        live = np.flatnonzero(self.dead_since < 0)
        attrs = {int(self.entity[i]): {"name": self.names[i], "role": self.role_names[self.role[i]],
                                       "faction": self.faction_names[self.faction[i]]} for i in live.tolist()}
        return self.relations.to_networkx(self.entity, attrs, threshold=threshold, live=self.dead_since < 0)

    def social_density(self, threshold: float = 0.3) -> float:
        """Share of possible ties among live NPCs with affinity >= ``threshold`` either way."""
        return float(self.relations.density(self.entity, threshold, live=self.dead_since < 0))

    def rumour_reach(self, index: int = 0) -> float:
        """Share of live peaceful NPCs who know seeded rumour ``index`` (0 if there is none)."""
        if index >= len(self.rumour_facts) or not self.rumour_facts[index]:
            return 0.0
        live = np.flatnonzero((self.dead_since < 0) & ~self.hostile)
        return float(reach(self.memory, int(self.rumour_facts[index]), live))

    @property
    def faction_standing(self) -> npt.NDArray[np.float32]:
        return self.standing.standing

    # ------------------------------------------------------------------------------ commands

    def adjust_relation(self, a: int, b: int, d_affinity: float, d_trust: float = 0.0, tick: int = 0) -> None:
        """NPC ``a``'s feelings towards entity ``b`` change (quests, scripts). Raises ``NpcInputError``."""
        for v in (d_affinity, d_trust):
            if not math.isfinite(v):
                raise NpcInputError("relation changes must be finite")
        self.relations.interact([self._index(a)], [int(b)], [d_affinity], [d_trust], tick)

    def adjust_faction(self, a: str | int, b: str | int, delta: float) -> float:
        """Standing between two factions changes by ``delta`` (symmetric, clamped to [-1, 1])."""
        return float(self.standing.adjust(a, b, delta))

    def set_hostility(self, aggression: float, accuracy: float) -> None:
        """The director's knobs: hostile roles' attack score multiplier (0..10) and hit chance (0..1)."""
        if not (math.isfinite(aggression) and 0 <= aggression <= 10 and math.isfinite(accuracy)
                and 0 <= accuracy <= 1):
            raise NpcInputError(f"aggression must be in [0, 10] and accuracy in [0, 1], got {aggression}, {accuracy}")
        self.aggression, self.accuracy = float(aggression), float(accuracy)
        self._brain_for_aggression()

    # ------------------------------------------------------------------------------ metrics and state

    def metrics(self) -> dict[str, float]:
        """``npc.alive``, ``npc.deaths``, ``npc.thefts``, ``npc.meetings``, ``npc.coins`` (mean),
        ``npc.need.<need>`` (mean), ``npc.action.<action>`` (count), ``npc.social_density``,
        ``npc.rumour_reach`` (first seeded rumour)."""
        live = self.dead_since < 0
        out: dict[str, float] = {"npc.alive": float(live.sum()), "npc.deaths": float(self.counters[1]),
                                 "npc.thefts": float(self.counters[2]), "npc.meetings": float(self.counters[3]),
                                 "npc.coins": float(self.coins[live].mean()) if live.any() else 0.0}
        for k, name in enumerate(self.need_names):
            out[f"npc.need.{name}"] = float(self.needs[live, k].mean()) if live.any() else 0.0
        counts = np.bincount(self.action[live & (self.action >= 0)], minlength=len(self.action_names))
        for a, name in enumerate(self.action_names):
            out[f"npc.action.{name}"] = float(counts[a])
        out["npc.social_density"] = self.social_density() if self.n < 20_000 else 0.0
        out["npc.rumour_reach"] = self.rumour_reach(0)
        return out

    _STATE = ("needs", "health", "coins", "carry", "action", "score", "since", "patrol_index", "wander_goal",
              "target", "lost", "next_meet", "next_swing", "meal_paid", "dead_since", "entity", "table_row", "counters",
              "rumour_facts", "home", "places", "patrol", "work_node", "town", "role",
              # perception between two thinks (think_every > 1) shapes the ticks in between
              "_threat_xy", "_threat_dist", "_threat_kind", "_threat_ref", "_partner", "_crowd", "_player_xy",
              "_player_dist", "_inputs", "_needs_mark", "_hours_since_think", "_worked", "_seen_threat")

    def arrays(self) -> dict[str, npt.NDArray[Any]]:
        """Everything that shapes the future (saved and hashed with the world)."""
        out = {name: getattr(self, name) for name in self._STATE}
        out["hostility"] = np.array([self.aggression, self.accuracy])
        out["players"] = self.players
        out["player_health"] = self.player_health
        out.update({f"memory.{k}": v for k, v in self.memory.arrays().items()})
        out.update({f"relations.{k}": v for k, v in self.relations.arrays().items()})
        out.update({f"standing.{k}": v for k, v in self.standing.arrays().items()})
        return out

    def load_arrays(self, arrays: dict[str, npt.NDArray[Any]]) -> None:
        """Restore ``arrays()`` output. Raises ``CorruptStateError`` on anything missing or misshapen."""
        for name in self._STATE:
            if name not in arrays:
                raise CorruptStateError(f"npc array {name!r} is missing")
            mine = getattr(self, name)
            got = np.asarray(arrays[name])
            if got.shape != mine.shape or got.dtype != mine.dtype:
                raise CorruptStateError(f"npc array {name!r} is {got.dtype}{got.shape}, expected {mine.dtype}{mine.shape}")
            setattr(self, name, got.copy())
        for name in ("hostility", "players", "player_health"):
            if name not in arrays:
                raise CorruptStateError(f"npc array {name!r} is missing")
        self.aggression, self.accuracy = (float(v) for v in arrays["hostility"])
        self._brain_for_aggression()
        self.players = arrays["players"].astype(np.int64).copy()
        self.player_health = arrays["player_health"].astype(np.float64).copy()
        self.memory.load_arrays({k.removeprefix("memory."): v for k, v in arrays.items() if k.startswith("memory.")})
        self.relations.load_arrays({k.removeprefix("relations."): v for k, v in arrays.items()
                                    if k.startswith("relations.")})
        self.standing.load_arrays({k.removeprefix("standing."): v for k, v in arrays.items()
                                   if k.startswith("standing.")})
        self.faction = self.design.role_faction[self.role].astype(np.int64)
        self.hostile = self.design.role_hostile[self.role].astype(np.bool_)


def _policy_drivers(design: Any) -> dict[int, Any]:
    """A ``PolicyDriver`` per role whose design names a trained policy (torch is imported only then).
    Raises ``NpcDataError`` naming the role when the file cannot be used."""
    paths = {r: p for r, p in enumerate(design.role_policy) if p}
    if not paths:
        return {}
    from .rl.errors import RlError
    from .rl.policy import PolicyDriver

    drivers = {}
    for role, path in paths.items():
        try:
            drivers[role] = PolicyDriver(path)
        except RlError as exc:
            raise NpcDataError(design.source, f"roles.{design.role_names[role]}.policy", f"a usable policy ({exc})") \
                from None
    return drivers


