"""Seeded synthetic players with known ground truth, for exact tests and the churn evaluation.

Every player has a latent engagement ``e`` in (0, 1) that sets a daily activity probability
``a = 0.2 + 0.75 e`` and a daily churn hazard ``c = 0.01 + 0.25 (1 - e)^2``; from the install day on,
each day the player first churns for good with probability ``c``, else plays with probability ``a``
(the install day is always played). A played day holds 1-3 sessions started at least 2 h apart, with
events 1-9 minutes apart inside a session (so the 30-minute idle split recovers them exactly), all
within the UTC day.

Ground truth is kept from the generator's own bookkeeping, never from a query: the set of active days
per player (retention), the number of sessions, and the tutorial funnel path of each player:

================  =======================================================================  ======
path              first-session events after ``session_start``, ``design tutorial:start``  share
================  =======================================================================  ======
quit              nothing more of the tutorial                                             30 %
straight          ``tutorial:finish`` next, then (half of them) the sword purchase next    30 %
wander            a level start, ``tutorial:finish``, the purchase 45 min later            20 %
skip              ``tutorial:skip``, ``tutorial:finish``, the purchase                     10 %
buy_first         the purchase, then ``tutorial:finish``                                   10 %
================  =======================================================================  ======

The funnel ``design:tutorial:start → design:tutorial:finish → resource_sink:gold:shop:sword`` with a
30-minute window then has exact expected counts per mode (``Truth.funnel``). The true probability
that a player shows no activity in the ``horizon`` days after a cutoff is known in closed form
(``Truth.churn_probability``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from .events import SCHEMA, ids_for_run

DAY_US = 86_400_000_000
MIN_US = 60_000_000
EPOCH = dt.datetime(2025, 1, 6)
FUNNEL_STEPS = ["design:tutorial:start", "design:tutorial:finish", "resource_sink:gold:shop:sword"]
FUNNEL_EXCLUSION = "design:tutorial:skip"
FUNNEL_WINDOW_S = 1800.0
PATHS = ("quit", "straight", "wander", "skip", "buy_first")
PATH_P = (0.3, 0.3, 0.2, 0.1, 0.1)


@dataclass
class PlayerTruth:
    player: str
    install: int  # day index
    variant: str
    activity: float
    hazard: float
    active_days: list[int]
    churn_day: int | None  # first day not played because churned (None: never churned in range)
    sessions: int
    path: str
    bought: bool


@dataclass
class Truth:
    days: int
    players: list[PlayerTruth] = field(default_factory=list)

    def retention(self, n: int, rolling: bool = False, by: str = "all") -> dict[str, tuple[int, int]]:
        """``cohort -> (retained, eligible)`` for Dn, from the active-day sets (last data day = max day)."""
        last = max(d for p in self.players for d in p.active_days)
        out: dict[str, list[int]] = {}
        for p in self.players:
            key = "all" if by == "all" else (p.variant if by == "variant" else _day(p.install))
            entry = out.setdefault(key, [0, 0])
            if p.install + n > last:
                continue
            entry[1] += 1
            days = set(p.active_days)
            if (any(d >= p.install + n for d in days) if rolling else (p.install + n) in days):
                entry[0] += 1
        return {k: (v[0], v[1]) for k, v in out.items()}

    def funnel(self, mode: str, exclusion: bool = False) -> list[int]:
        """Players reaching at least step 1, 2, 3 of ``FUNNEL_STEPS`` within ``FUNNEL_WINDOW_S``."""
        reached = [0, 0, 0]
        for p in self.players:
            path, bought = p.path, p.bought
            if mode == "ordered":
                steps = {"quit": 1, "straight": 3 if bought else 2, "wander": 2, "skip": 1 if exclusion else 3,
                         "buy_first": 2}[path]
            elif mode == "strict":
                steps = {"quit": 1, "straight": 3 if bought else 2, "wander": 1, "skip": 1, "buy_first": 1}[path]
            else:  # unordered
                steps = {"quit": 1, "straight": 3 if bought else 2, "wander": 2, "skip": 2 if exclusion else 3,
                         "buy_first": 3}[path]  # with the exclusion, a skip player's attempt may start at finish
            for k in range(steps):
                reached[k] += 1
        return reached

    def churn_probability(self, cutoff: int, horizon: int) -> dict[str, tuple[float, int]]:
        """Per player installed before ``cutoff``: (true P(no activity in [cutoff, cutoff+horizon)), label)."""
        out = {}
        for p in self.players:
            if p.install >= cutoff:
                continue
            label = int(not any(cutoff <= d < cutoff + horizon for d in p.active_days))
            if p.churn_day is not None and p.churn_day <= cutoff:
                prob = 1.0
            else:
                stay = (1 - p.hazard) * (1 - p.activity)  # alive and idle for one day
                prob = sum(stay ** j * p.hazard for j in range(horizon)) + stay ** horizon
            out[p.player] = (prob, label)
        return out


def _day(index: int) -> str:
    return str((EPOCH + dt.timedelta(days=index)).date())


def generate(seed: int, players: int = 400, days: int = 45, install_days: int | None = None) -> tuple[pa.Table, Truth]:
    """Events (``analytics.events.SCHEMA``, sorted by ts) and their ground truth. Same seed ⇒ same bytes."""
    rng = np.random.Generator(np.random.PCG64(seed))
    base = int((EPOCH - dt.datetime(1970, 1, 1)).total_seconds()) * 1_000_000
    install_days = install_days or max(1, days - 10)
    cols: dict[str, list] = {k: [] for k in ("ts", "player_id", "session_id", "kind", "name", "value", "variant")}
    truth = Truth(days)

    def emit(t: int, player: str, session: str, kind: str, name: str = "", value: float = 0.0, variant: str = "") -> None:
        cols["ts"].append(t)
        cols["player_id"].append(player)
        cols["session_id"].append(session)
        cols["kind"].append(kind)
        cols["name"].append(name)
        cols["value"].append(value)
        cols["variant"].append(variant or None)

    for i in range(players):
        pid = f"p{i:05d}"
        install = int(rng.integers(0, install_days))
        variant = "B" if rng.random() < 0.5 else "A"
        e = float(rng.beta(2.0, 2.0))
        activity = 0.2 + 0.75 * e
        hazard = 0.01 + 0.25 * (1 - e) ** 2
        skill = float(rng.beta(2.0, 2.0))
        path = PATHS[int(rng.choice(len(PATHS), p=PATH_P))]
        bought = bool(rng.random() < 0.5) if path == "straight" else path in ("wander", "skip", "buy_first")
        active, churn_day, n_sessions, level = [], None, 0, 1
        for day in range(install, days):
            if day > install:
                if rng.random() < hazard:
                    churn_day = day
                    break
                if rng.random() >= activity:
                    continue
            active.append(day)
            count = int(rng.integers(1, 4))
            hours = sorted(rng.choice(np.arange(1, 21, 3), size=count, replace=False).tolist())
            for h in hours:
                n_sessions += 1
                sid = f"{pid}-{n_sessions}"
                t = base + day * DAY_US + h * 3_600_000_000 + int(rng.integers(0, 30)) * MIN_US
                first = day == install and h == hours[0]
                emit(t, pid, sid, "session_start", variant=variant)
                t += MIN_US
                if first:
                    emit(t, pid, sid, "design", "tutorial:start", variant=variant)
                    t += MIN_US
                    if path == "straight":
                        emit(t, pid, sid, "design", "tutorial:finish", variant=variant)
                        t += MIN_US
                        if bought:
                            emit(t, pid, sid, "resource_sink", "gold:shop:sword", 50, variant)
                            t += MIN_US
                    elif path == "wander":
                        emit(t, pid, sid, "progression_start", "w1:l1", variant=variant)
                        t += MIN_US
                        emit(t, pid, sid, "design", "tutorial:finish", variant=variant)
                        t += 8 * MIN_US
                        emit(t, pid, sid, "progression_fail", "w1:l1", variant=variant)
                        for _ in range(4):
                            t += 9 * MIN_US
                            emit(t, pid, sid, "resource_source", "gold:loot:chest", 5, variant)
                        t += 9 * MIN_US
                        emit(t, pid, sid, "resource_sink", "gold:shop:sword", 50, variant)
                        t += MIN_US
                    elif path == "skip":
                        for name in ("tutorial:skip", "tutorial:finish"):
                            emit(t, pid, sid, "design", name, variant=variant)
                            t += MIN_US
                        emit(t, pid, sid, "resource_sink", "gold:shop:sword", 50, variant)
                        t += MIN_US
                    elif path == "buy_first":
                        emit(t, pid, sid, "resource_sink", "gold:shop:sword", 50, variant)
                        t += MIN_US
                        emit(t, pid, sid, "design", "tutorial:finish", variant=variant)
                        t += MIN_US
                for _ in range(int(rng.integers(1, 4))):  # level attempts
                    name = f"w{(level - 1) // 5 + 1}:l{level}"
                    emit(t, pid, sid, "progression_start", name, variant=variant)
                    t += int(rng.integers(1, 9)) * MIN_US
                    if rng.random() < 0.35 + 0.5 * skill - 0.03 * level:
                        emit(t, pid, sid, "progression_complete", name, float(rng.integers(10, 100)), variant)
                        emit(t + 1, pid, sid, "resource_source", "gold:reward:level", 10, variant)
                        level += 1
                    else:
                        emit(t, pid, sid, "progression_fail", name, variant=variant)
                        emit(t + 1, pid, sid, "death", name, variant=variant)
                    t += int(rng.integers(1, 3)) * MIN_US
                emit(t, pid, sid, "session_end", variant=variant)
        truth.players.append(PlayerTruth(pid, install, variant, activity, hazard, active, churn_day, n_sessions,
                                         path, bought))
    n = len(cols["ts"])
    order = np.argsort(np.asarray(cols["ts"], dtype=np.int64), kind="stable")
    received = base + days * DAY_US
    table = pa.table({
        "event_id": pa.array(ids_for_run(seed, 0, n)),
        "ts": pa.array(np.asarray(cols["ts"], dtype="datetime64[us]")),
        "received_at": pa.array(np.full(n, received, dtype="datetime64[us]")),
        "player_id": pa.array(cols["player_id"]), "session_id": pa.array(cols["session_id"]),
        "kind": pa.array(cols["kind"]), "name": pa.array(cols["name"]), "value": pa.array(cols["value"], pa.float64()),
        "variant": pa.array(cols["variant"], pa.string()), "props": pa.nulls(n, pa.string()),
    }, schema=SCHEMA).take(pa.array(order))
    return table, truth
