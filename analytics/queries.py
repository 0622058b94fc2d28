"""The everyday questions: active users, sessions, retention, funnels, progression.

Definitions (all days are UTC calendar days; docs/analytics.md has worked examples):

* **active** on a day: at least one event that day. DAU = active that day; WAU/MAU = active on any of
  the 7/30 days ending that day.
* **sessions**: a player's events split wherever two consecutive events are more than ``idle_s``
  (1800 s) apart; length = last event - first event.
* **install day**: the day of a player's first event. **Fixed-day Dn retention**: share of a cohort
  active exactly on day install+n. **Rolling Dn**: active on day install+n *or any later day*. A player
  whose install+n is after the last day of data is not yet measurable and leaves that denominator.
* **funnels** over a conversion window measured from the step-1 event: *ordered* — steps in order,
  other events allowed between; *strict* — each step is the player's very next event; *unordered* —
  all steps in any order within the window. An exclusion event ends every attempt in progress (steps
  reached before it still count). Events with equal timestamps are taken in (ts, event id) order.
* **progression**: per level name, starts/fails/completes, fail rate = fails / (fails + completes),
  time per attempt = a start to the same player's next fail/complete of that level.

Why numpy + a Numba kernel for funnels: the per-player state machine is a loop SQL expresses badly;
DuckDB does the filtering and sorting, the kernel one pass over the sorted rows.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
from numba import njit

from .errors import QueryError
from .store import EventStore
from .taxonomy import KINDS

DAY_US = 86_400_000_000


def _where(start: str | None, end: str | None) -> tuple[str, list[Any]]:
    clauses, params = [], []
    if start:
        clauses.append("ts >= ?::TIMESTAMP")
        params.append(start)
    if end:
        clauses.append("ts < ?::TIMESTAMP")
        params.append(end)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


# ---------------------------------------------------------------- active users
def active_users(store: EventStore, start: str | None = None, end: str | None = None) -> dict[str, list[Any]]:
    """DAU, WAU and MAU for every day with data in ``[start, end)``. Returns columns by name."""
    where, params = _where(start, end)
    table = store.sql(f"""SELECT DISTINCT player_id, date_diff('day', DATE '1970-01-01', CAST(ts AS DATE)) AS d
                          FROM events{where} ORDER BY player_id, d""", params)
    if table.num_rows == 0:
        return {"day": [], "dau": [], "wau": [], "mau": []}
    players = table["player_id"].combine_chunks().dictionary_encode().indices.to_numpy(zero_copy_only=False)
    days = table["d"].to_numpy().astype(np.int64)
    first, last = int(days.min()), int(days.max())
    out: dict[str, list[Any]] = {"day": [str(dt.date(1970, 1, 1) + dt.timedelta(days=d)) for d in range(first, last + 1)]}
    for label, window in (("dau", 1), ("wau", 7), ("mau", 30)):
        out[label] = _coverage(players, days - first, last - first + 1, window).tolist()
    return out


def _coverage(players: np.ndarray, days: np.ndarray, n_days: int, window: int) -> np.ndarray:
    """Players counted on each day when each active day covers itself and the ``window - 1`` days after."""
    same_next = np.zeros(len(days), dtype=bool)
    same_next[:-1] = players[1:] == players[:-1]
    next_day = np.full(len(days), np.iinfo(np.int64).max)
    next_day[:-1] = np.where(same_next[:-1], days[1:], next_day[:-1])
    stop = np.minimum(np.minimum(days + window, next_day), n_days)
    diff = np.zeros(n_days + 1, dtype=np.int64)
    np.add.at(diff, days, 1)
    np.add.at(diff, stop, -1)
    return np.cumsum(diff)[:n_days]


# ---------------------------------------------------------------- sessions
SESSIONS_SQL = """
WITH gaps AS (
    SELECT player_id, ts,
           CASE WHEN lag(ts) OVER w IS NULL OR epoch_us(ts) - epoch_us(lag(ts) OVER w) > ? THEN 1 ELSE 0 END AS new
    FROM events{where} WINDOW w AS (PARTITION BY player_id ORDER BY ts, event_id)
), numbered AS (
    SELECT player_id, ts, sum(new) OVER (PARTITION BY player_id ORDER BY ts ROWS UNBOUNDED PRECEDING) AS n FROM gaps
)
SELECT player_id, n AS session, min(ts) AS start, max(ts) AS stop,
       (epoch_us(max(ts)) - epoch_us(min(ts))) / 1e6 AS length_s, count(*) AS events
FROM numbered GROUP BY player_id, n ORDER BY player_id, n"""


def sessions(store: EventStore, idle_s: float = 1800.0, start: str | None = None, end: str | None = None):  # noqa: ANN201
    """One row per session: player_id, session (1, 2, ...), start, stop, length_s, events (Arrow)."""
    if not idle_s > 0:
        raise QueryError("idle_s must be > 0 seconds")
    where, params = _where(start, end)
    return store.sql(SESSIONS_SQL.format(where=where), [int(idle_s * 1e6), *params])


def session_summary(store: EventStore, idle_s: float = 1800.0) -> dict[str, Any]:
    table = sessions(store, idle_s)
    lengths = table["length_s"].to_numpy() if table.num_rows else np.zeros(0)
    q = np.quantile(lengths, [0.1, 0.25, 0.5, 0.75, 0.9]).tolist() if len(lengths) else []
    edges = [0, 60, 300, 600, 1200, 1800, 3600, 7200, float("inf")]
    hist = np.histogram(lengths, bins=edges)[0].tolist()
    players = len(set(table["player_id"].to_pylist())) if table.num_rows else 0
    return {"sessions": table.num_rows, "players": players, "quantiles_s": dict(zip(
        ["p10", "p25", "p50", "p75", "p90"], q, strict=False)), "histogram_edges_s": edges[:-1], "histogram": hist,
        "mean_s": float(lengths.mean()) if len(lengths) else 0.0}


# ---------------------------------------------------------------- retention
RETENTION_SQL = """
WITH pd AS (SELECT DISTINCT player_id, CAST(ts AS DATE) AS d FROM events),
first AS (SELECT player_id, min(d) AS install FROM pd GROUP BY player_id),
variant AS (SELECT player_id, arg_min(variant, ts) AS variant FROM events WHERE variant IS NOT NULL GROUP BY player_id),
offs AS (SELECT pd.player_id, date_diff('day', first.install, pd.d) AS k FROM pd JOIN first USING (player_id)),
per AS (SELECT player_id, {flags} FROM offs GROUP BY player_id)
SELECT first.player_id, CAST(first.install AS VARCHAR) AS install, coalesce(variant.variant, '') AS variant,
       date_diff('day', first.install, (SELECT max(d) FROM pd)) AS age, {cols}
FROM first JOIN per USING (player_id) LEFT JOIN variant USING (player_id)
"""


def retention(store: EventStore, days: tuple[int, ...] = (1, 7, 30), rolling: bool = False,
              cohort: str = "install_day", segments: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Dn retention by cohort. Each row: cohort, players, and per n: ``d{n}`` (share), ``d{n}_retained``,
    ``d{n}_eligible`` (players old enough to be measured). Cohorts sorted by name."""
    if cohort not in ("install_day", "variant", "segment", "all"):
        raise QueryError(f"cohort {cohort!r} is unknown; use install_day, variant, segment or all")
    if cohort == "segment" and not segments:
        raise QueryError("cohort 'segment' needs a player -> segment mapping (run segments first)")
    days = tuple(int(n) for n in days)
    if not days or any(n < 0 or n > 3650 for n in days):
        raise QueryError("days must be integers in 0..3650")
    op = ">=" if rolling else "="
    flags = ", ".join(f"max(CASE WHEN k {op} {n} THEN 1 ELSE 0 END) AS r{n}" for n in days)
    cols = ", ".join(f"per.r{n}" for n in days)
    table = store.sql(RETENTION_SQL.format(flags=flags, cols=cols))
    if table.num_rows == 0:
        return []
    player = table["player_id"].to_pylist()
    if cohort == "install_day":
        keys = table["install"].to_pylist()
    elif cohort == "variant":
        keys = [v or "(none)" for v in table["variant"].to_pylist()]
    elif cohort == "segment":
        keys = [(segments or {}).get(p, "(none)") for p in player]
    else:
        keys = ["all"] * len(player)
    keys_arr = np.asarray(keys, dtype=object)
    age = table["age"].to_numpy()
    rows = []
    for key in sorted(set(keys)):
        mask = keys_arr == key
        row: dict[str, Any] = {"cohort": key, "players": int(mask.sum())}
        for n in days:
            eligible = mask & (age >= n)
            retained = int(table[f"r{n}"].to_numpy()[eligible].sum())
            row[f"d{n}_eligible"] = int(eligible.sum())
            row[f"d{n}_retained"] = retained
            row[f"d{n}"] = retained / int(eligible.sum()) if eligible.any() else None
        rows.append(row)
    return rows


# ---------------------------------------------------------------- funnels
EXCLUDE_BIT = 62


def parse_step(spec: str) -> tuple[str, str | None]:
    """``"kind"`` or ``"kind:name"`` (name matched exactly, may contain ':'). Raises ``QueryError``."""
    if not isinstance(spec, str) or not spec:
        raise QueryError("a funnel step is a string 'kind' or 'kind:name'")
    kind, _, name = spec.partition(":")
    if kind not in KINDS:
        raise QueryError(f"funnel step {spec[:60]!r}: kind {kind!r} is unknown; one of {', '.join(KINDS)}")
    return kind, (name or None)


def funnel(store: EventStore, steps: list[str], mode: str = "ordered", window_s: float = 86_400.0,
           exclusions: list[str] | None = None, start: str | None = None, end: str | None = None) -> dict[str, Any]:
    """Players reaching each step. Returns steps, players (reaching at least step k), conversion."""
    if mode not in ("ordered", "strict", "unordered"):
        raise QueryError(f"funnel mode {mode!r} is unknown; use ordered, strict or unordered")
    if not 1 <= len(steps) <= 20:
        raise QueryError("a funnel has 1..20 steps")
    if not window_s > 0:
        raise QueryError("window_s must be > 0 seconds")
    parsed = [parse_step(s) for s in steps]
    excluded = [parse_step(s) for s in (exclusions or [])]
    terms, params = [], []
    for bit, (kind, name) in [(i, p) for i, p in enumerate(parsed)] + [(EXCLUDE_BIT, p) for p in excluded]:
        cond = "kind = ?" + (" AND name = ?" if name is not None else "")
        params.extend([kind] + ([name] if name is not None else []))
        terms.append(f"CASE WHEN {cond} THEN {1 << bit} ELSE 0 END")
    mask_expr = " | ".join(terms)
    where, wparams = _where(start, end)
    inner = f"SELECT player_id, epoch_us(ts) AS t, event_id, ({mask_expr})::BIGINT AS m FROM events{where}"
    keep = "" if mode == "strict" else " WHERE m <> 0"
    table = store.sql(f"SELECT player_id, t, m FROM ({inner}){keep} ORDER BY player_id, t, event_id", params + wparams)
    if table.num_rows == 0:
        reached = np.zeros(len(steps), dtype=np.int64)
    else:
        player = table["player_id"].combine_chunks().dictionary_encode().indices.to_numpy(zero_copy_only=False)
        t = table["t"].to_numpy().astype(np.int64)
        m = table["m"].to_numpy().astype(np.int64)
        best = _funnel_kernel(player.astype(np.int64), t, m, len(steps), int(window_s * 1e6),
                              {"ordered": 0, "strict": 1, "unordered": 2}[mode])
        reached = np.array([(best >= k + 1).sum() for k in range(len(steps))], dtype=np.int64)
    base = int(reached[0]) if len(reached) else 0
    return {"steps": list(steps), "mode": mode, "window_s": window_s, "exclusions": list(exclusions or []),
            "players": reached.tolist(), "conversion": [float(r) / base if base else 0.0 for r in reached]}


@njit(cache=True, nogil=True)
def _funnel_kernel(player: np.ndarray, t: np.ndarray, m: np.ndarray, n_steps: int, window: int,
                   mode: int) -> np.ndarray:
    """Steps reached per player. Rows sorted by (player, t); ``m`` step bit masks (bit 62 = exclusion).

    Returns (n_players,) int64: the number of steps reached (0..n_steps) by each player's best attempt.
    """
    n_players = 0
    for i in range(len(player)):
        if player[i] + 1 > n_players:
            n_players = player[i] + 1
    best = np.zeros(n_players, dtype=np.int64)
    reach = np.full(n_steps, -1, dtype=np.int64)
    excl = np.int64(1) << 62
    i = 0
    while i < len(player):
        j = i
        while j < len(player) and player[j] == player[i]:
            j += 1
        top = 0
        if mode == 0:  # ordered
            for s in range(n_steps):
                reach[s] = -1
            for r in range(i, j):
                if m[r] & excl:
                    for s in range(n_steps - 1):
                        reach[s] = -1
                for s in range(n_steps - 1, 0, -1):
                    if (m[r] >> s) & 1 and reach[s - 1] >= 0 and t[r] - reach[s - 1] <= window:
                        if reach[s - 1] > reach[s]:
                            reach[s] = reach[s - 1]
                        if s + 1 > top:
                            top = s + 1
                if m[r] & 1:
                    reach[0] = t[r]
                    if top < 1:
                        top = 1
        elif mode == 1:  # strict
            at, start = -1, 0
            for r in range(i, j):
                if at >= 0 and at + 1 < n_steps and (m[r] >> (at + 1)) & 1 and t[r] - start <= window:
                    at += 1
                elif m[r] & 1:
                    at, start = 0, t[r]
                else:
                    at = -1
                if at + 1 > top:
                    top = at + 1
        else:  # unordered
            for a in range(i, j):
                if m[a] == 0 or m[a] & excl:
                    continue
                seen = np.int64(0)
                for r in range(a, j):
                    if t[r] - t[a] > window or m[r] & excl:
                        break
                    seen |= m[r] & ((np.int64(1) << n_steps) - 1)
                count = 0
                for s in range(n_steps):
                    count += (seen >> s) & 1
                if count > top:
                    top = count
        best[player[i]] = top
        i = j
    return best


# ---------------------------------------------------------------- progression
PROGRESSION_SQL = """
WITH p AS (
    SELECT player_id, name, kind, ts, lag(kind) OVER w AS prev_kind, lag(ts) OVER w AS prev_ts
    FROM events WHERE kind IN ('progression_start', 'progression_fail', 'progression_complete')
    WINDOW w AS (PARTITION BY player_id, name ORDER BY ts, event_id)
)
SELECT name,
       count(*) FILTER (WHERE kind = 'progression_start') AS starts,
       count(*) FILTER (WHERE kind = 'progression_fail') AS fails,
       count(*) FILTER (WHERE kind = 'progression_complete') AS completes,
       count(DISTINCT player_id) AS players,
       median((epoch_us(ts) - epoch_us(prev_ts)) / 1e6) FILTER (WHERE kind <> 'progression_start'
             AND prev_kind = 'progression_start') AS median_attempt_s,
       avg((epoch_us(ts) - epoch_us(prev_ts)) / 1e6) FILTER (WHERE kind <> 'progression_start'
             AND prev_kind = 'progression_start') AS mean_attempt_s
FROM p GROUP BY name ORDER BY name"""


def progression(store: EventStore) -> list[dict[str, Any]]:
    """Per level name: starts, fails, completes, players, fail_rate, median/mean attempt seconds."""
    rows = store.sql(PROGRESSION_SQL).to_pylist()
    for row in rows:
        ended = row["fails"] + row["completes"]
        row["fail_rate"] = row["fails"] / ended if ended else None
    return rows


# ---------------------------------------------------------------- RPC front
def run_query(store: EventStore, params: Any) -> Any:
    """``analytics.query``: ``{"q": "active"|"sessions"|"retention"|"funnel"|"progression"|"count", ...}``."""
    if not isinstance(params, dict) or not isinstance(params.get("q"), str):
        raise QueryError("params must be a map with 'q': active, sessions, retention, funnel, progression or count")
    q, limit = params["q"], int(params.get("limit", 60))
    if q == "count":
        return {"events": store.count()}
    if q == "active":
        out = active_users(store, params.get("start"), params.get("end"))
        return {k: v[-limit:] for k, v in out.items()}
    if q == "sessions":
        return session_summary(store, float(params.get("idle_s", 1800.0)))
    if q == "retention":
        rows = retention(store, tuple(params.get("days", (1, 7, 30))), bool(params.get("rolling", False)),
                         str(params.get("cohort", "install_day")))
        return rows[-limit:]
    if q == "funnel":
        return funnel(store, list(params.get("steps", [])), str(params.get("mode", "ordered")),
                      float(params.get("window_s", 86_400.0)), list(params.get("exclusions", [])),
                      params.get("start"), params.get("end"))
    if q == "progression":
        return progression(store)[:limit]
    raise QueryError(f"unknown question {q!r}; use active, sessions, retention, funnel, progression or count")
