"""Per-player feedback signals for the difficulty director and the narrative: skill, engagement, churn.

``player_signals(store, players)`` returns for each player, as of the day after the newest event
(or ``as_of``):

* ``skill`` in [0, 1]: level completes / (completes + fails) over the last 14 days with a Beta(1, 1)
  prior, so a player with no attempts sits at 0.5;
* ``engagement`` in [0, 1]: share of the last 7 days with activity;
* ``churn`` in [0, 1]: the torch churn model (``analytics.churn``) trained on this store at
  ``as_of - 7 days``; when there is too little data to train, a recency rule (days since last seen / 7,
  capped at 1) and the reason says so;
* ``reason``: one line naming the numbers behind the three values (the service logs it).

The trained model is cached per (store, as_of day), so the director may call often.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import Any

from .churn import ChurnModel, features_at, labels_at
from .errors import ModelError, QueryError
from .store import EventStore

log = logging.getLogger("worldloom.analytics")
HORIZON = 7
MAX_PLAYERS = 50
_cache: dict[tuple[int, str], ChurnModel | str] = {}
_lock = threading.Lock()


def _model(store: EventStore, as_of: dt.date) -> ChurnModel | str:
    key = (id(store), str(as_of))
    with _lock:
        if key not in _cache:
            train_day = as_of - dt.timedelta(days=HORIZON)
            feats = features_at(store, train_day)
            try:
                _cache[key] = ChurnModel(seed=0, epochs=200).fit(feats, labels_at(store, train_day, HORIZON, feats.players))
            except ModelError as exc:
                _cache[key] = exc.reason
        return _cache[key]


def player_signals(store: EventStore, players: list[str], as_of: dt.date | None = None) -> dict[str, dict[str, Any]]:
    if as_of is None:
        newest = store.sql("SELECT max(ts) AS t FROM events")["t"][0].as_py()
        if newest is None:
            raise QueryError("no events stored yet")
        as_of = newest.date() + dt.timedelta(days=1)
    feats = features_at(store, as_of)
    index = {p: i for i, p in enumerate(feats.players)}
    model = _model(store, as_of)
    churn = model.predict(feats) if isinstance(model, ChurnModel) and feats.players else None
    out = {}
    for player in players:
        i = index.get(player)
        if i is None:
            out[player] = {"skill": 0.5, "engagement": 0.0, "churn": None, "reason": "no events before " + str(as_of)}
            continue
        daily = feats.daily[i]
        fails, completes = float(daily[:, 3].sum()), float(daily[:, 4].sum())
        skill = (completes + 1) / (completes + fails + 2)
        active7 = int(daily[:7, 0].sum())
        seen = int(feats.static[i, 0])
        if churn is not None:
            risk, how = float(churn[i]), "model"
        else:
            risk, how = min(1.0, seen / 7.0), f"recency rule ({model})"
        reason = (f"churn {risk:.2f} by {how}: last seen {seen} d ago, {active7}/7 days active, "
                  f"{int(fails)} fails and {int(completes)} completes in 14 d; skill {skill:.2f}; "
                  f"engagement {active7 / 7:.2f}")
        out[player] = {"skill": round(skill, 4), "engagement": round(active7 / 7, 4), "churn": round(risk, 4),
                       "reason": reason}
        log.info("signals %s: %s", player, reason)
    return out


def signals_rpc(store: EventStore, params: Any) -> dict[str, Any]:
    """``analytics.player_signals``: ``{"players": [ids], "as_of": "YYYY-MM-DD"?}`` (at most 50 players)."""
    if not isinstance(params, dict) or not isinstance(params.get("players"), list):
        raise QueryError("params must be {'players': [player ids], 'as_of': 'YYYY-MM-DD' (optional)}")
    players = [str(p) for p in params["players"]]
    if len(players) > MAX_PLAYERS:
        raise QueryError(f"at most {MAX_PLAYERS} players per call, got {len(players)}")
    as_of = params.get("as_of")
    try:
        day = dt.date.fromisoformat(as_of) if as_of else None
    except (TypeError, ValueError):
        raise QueryError(f"as_of {str(as_of)[:20]!r} is not a YYYY-MM-DD day") from None
    return {"signals": player_signals(store, players, day)}
