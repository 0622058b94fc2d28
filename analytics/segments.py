"""Behavioural segments: k-means over per-player behaviour, each cluster described in words.

Features per player (all events): active days, sessions per active day, mean session minutes, level
fail rate, deaths per session, gold spent per active day, highest level completed. They are
log-scaled and standardized; k-means (k-means++ seeding from a seeded PCG64, Lloyd iterations) groups
them; a cluster's description names the features whose cluster mean is furthest from the overall mean
(in standard deviations), e.g. "many sessions per day, spends a lot (+1.4σ, +1.1σ)".

Why k-means on a handful of named features: the description must be readable, so the features are the
words; a richer embedding would cluster better and explain worse.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import ModelError
from .store import EventStore

FEATURES = (
    ("active_days", "active days", "plays on many days", "plays on few days"),
    ("sessions_per_day", "sessions per day", "many sessions a day", "one short visit a day"),
    ("session_minutes", "session minutes", "long sessions", "short sessions"),
    ("fail_rate", "level fail rate", "fails levels often", "rarely fails levels"),
    ("deaths_per_session", "deaths per session", "dies a lot", "rarely dies"),
    ("spend_per_day", "gold spent per day", "spends a lot", "spends little"),
    ("max_level", "highest level", "far in the game", "early in the game"),
)

SQL = """
WITH s AS (
    SELECT player_id, ts, CASE WHEN lag(ts) OVER w IS NULL
        OR epoch_us(ts) - epoch_us(lag(ts) OVER w) > 1800000000 THEN 1 ELSE 0 END AS new
    FROM events WINDOW w AS (PARTITION BY player_id ORDER BY ts, event_id)
), sess AS (
    SELECT player_id, sum(new) OVER (PARTITION BY player_id ORDER BY ts ROWS UNBOUNDED PRECEDING) AS n, ts FROM s
), lengths AS (
    SELECT player_id, count(*) AS sessions, avg(len) AS mean_s FROM (
        SELECT player_id, n, (epoch_us(max(ts)) - epoch_us(min(ts))) / 1e6 AS len FROM sess GROUP BY player_id, n)
    GROUP BY player_id
)
SELECT e.player_id,
       count(DISTINCT CAST(ts AS DATE)) AS active_days,
       count(*) FILTER (WHERE kind = 'progression_fail') AS fails,
       count(*) FILTER (WHERE kind = 'progression_complete') AS completes,
       count(*) FILTER (WHERE kind = 'death') AS deaths,
       coalesce(sum(value) FILTER (WHERE kind = 'resource_sink'), 0) AS spent,
       count(DISTINCT name) FILTER (WHERE kind = 'progression_complete') AS levels,
       any_value(lengths.sessions) AS sessions, any_value(lengths.mean_s) AS mean_s
FROM events e JOIN lengths USING (player_id)
GROUP BY e.player_id ORDER BY e.player_id"""


@dataclass
class Segments:
    players: list[str]
    labels: np.ndarray  # (n,) cluster index per player
    descriptions: list[str]  # per cluster
    sizes: list[int]
    centers_z: np.ndarray  # (k, n_features) cluster means in standard deviations

    def mapping(self) -> dict[str, str]:
        """player -> "segment k: description" (for retention by segment)."""
        return {p: f"{int(c)}: {self.descriptions[int(c)]}" for p, c in zip(self.players, self.labels, strict=True)}


def player_behaviour(store: EventStore) -> tuple[list[str], np.ndarray]:
    """(players, (n, len(FEATURES)) float64 raw behaviour features)."""
    t = store.sql(SQL)
    if t.num_rows == 0:
        return [], np.zeros((0, len(FEATURES)))
    col = {name: t[name].to_numpy().astype(np.float64) for name in t.column_names if name != "player_id"}
    ended = col["fails"] + col["completes"]
    x = np.stack([
        col["active_days"], col["sessions"] / col["active_days"], col["mean_s"] / 60.0,
        np.divide(col["fails"], ended, out=np.zeros_like(ended), where=ended > 0),
        col["deaths"] / col["sessions"], col["spent"] / col["active_days"], col["levels"],
    ], axis=1)
    return t["player_id"].to_pylist(), x


def kmeans(x: np.ndarray, k: int, seed: int, iterations: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Lloyd's k-means with k-means++ seeding. Returns (labels (n,), centers (k, d))."""
    rng = np.random.Generator(np.random.PCG64(seed))
    centers = [x[int(rng.integers(len(x)))]]
    for _ in range(1, k):
        d2 = np.min(((x[:, None, :] - np.array(centers)[None]) ** 2).sum(-1), axis=1)
        centers.append(x[int(rng.choice(len(x), p=d2 / d2.sum()))] if d2.sum() > 0 else x[int(rng.integers(len(x)))])
    c = np.array(centers)
    labels = np.zeros(len(x), np.int64)
    for _ in range(iterations):
        labels = ((x[:, None, :] - c[None]) ** 2).sum(-1).argmin(axis=1)
        new = np.array([x[labels == j].mean(axis=0) if (labels == j).any() else c[j] for j in range(k)])
        if np.allclose(new, c):
            break
        c = new
    return labels, c


def segment_players(store: EventStore, k: int = 4, seed: int = 0) -> Segments:
    """Cluster players into ``k`` behavioural segments with readable descriptions."""
    players, raw = player_behaviour(store)
    if len(players) < k * 5:
        raise ModelError(f"need at least {k * 5} players to form {k} segments, have {len(players)}")
    x = np.log1p(raw)
    z = (x - x.mean(axis=0)) / (x.std(axis=0) + 1e-9)
    labels, centers = kmeans(z, k, seed)
    descriptions = []
    for j in range(k):
        top = np.argsort(-np.abs(centers[j]))[:2]
        words = [FEATURES[i][2] if centers[j, i] > 0 else FEATURES[i][3] for i in top if abs(centers[j, i]) >= 0.3]
        sigmas = ", ".join(f"{FEATURES[i][1]} {centers[j, i]:+.1f}σ" for i in top)
        descriptions.append((", ".join(words) or "typical players") + f" ({sigmas})")
    return Segments(players, labels, descriptions, [int((labels == j).sum()) for j in range(k)], centers)
