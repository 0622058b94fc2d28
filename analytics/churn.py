"""Churn risk: leakage-safe features, a small torch model, a logistic baseline, AUC with bootstrap CIs.

*Churned at cutoff* means: no event in the ``horizon`` days starting at the cutoff day (UTC, 00:00).
Features are built by ``features_at(store, cutoff)`` from events strictly before the cutoff only (the
SQL filters ``ts < cutoff``; a test alters every later event and checks the features do not move):

* the last ``LOOKBACK`` days as a sequence, per day: active (0/1), sessions, events, level fails,
  level completes, deaths;
* days since last seen, days since first seen (tenure), share of tenure days active.

Evaluation is a time split: the model trains at ``cutoff - horizon`` (labels from the ``horizon`` days
that end where the test cutoff starts, so no label of the training set looks past the test cutoff) and
is scored at ``cutoff``. Both the torch model (a 1D convolution over the daily sequence + the static
features, then an MLP) and the logistic-regression baseline train on the same rows in the same run;
AUCs come with percentile bootstrap intervals over the test players (paired for the difference).

Why torch for a small model: the daily sequence is the "recent behaviour" the issue names, and a
convolution over it learns recency weighting that a linear model over the same columns cannot.
torch runs on CPU in one thread so a seed gives the same numbers in every process.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from .errors import ModelError
from .store import EventStore

LOOKBACK = 14
DAILY = ("active", "sessions", "events", "fails", "completes", "deaths")
STATIC = ("days_since_seen", "tenure_days", "active_share")

FEATURES_SQL = """
SELECT player_id,
       date_diff('day', CAST(ts AS DATE), ?::DATE) AS ago,
       count(*) AS events,
       count(*) FILTER (WHERE kind = 'session_start') AS sessions,
       count(*) FILTER (WHERE kind = 'progression_fail') AS fails,
       count(*) FILTER (WHERE kind = 'progression_complete') AS completes,
       count(*) FILTER (WHERE kind = 'death') AS deaths
FROM events WHERE ts < ?::TIMESTAMP
GROUP BY player_id, ago ORDER BY player_id, ago"""


@dataclass
class Features:
    players: list[str]
    daily: np.ndarray  # (n, LOOKBACK, len(DAILY)) float32, index 0 = the day before the cutoff
    static: np.ndarray  # (n, len(STATIC)) float32

    def flat(self) -> np.ndarray:
        """(n, LOOKBACK * len(DAILY) + len(STATIC)) float32: the same information as one row each."""
        return np.concatenate([self.daily.reshape(len(self.players), -1), self.static], axis=1)


def _day(cutoff: dt.date | str) -> str:
    return str(cutoff if isinstance(cutoff, dt.date) else dt.date.fromisoformat(cutoff))


def features_at(store: EventStore, cutoff: dt.date | str) -> Features:
    """Features of every player seen before ``cutoff`` (a UTC day), from events before it only."""
    day = _day(cutoff)
    table = store.sql(FEATURES_SQL, [day, day])
    if table.num_rows == 0:
        return Features([], np.zeros((0, LOOKBACK, len(DAILY)), np.float32), np.zeros((0, len(STATIC)), np.float32))
    players_col = table["player_id"].to_pylist()
    players = sorted(set(players_col))
    index = {p: i for i, p in enumerate(players)}
    rows = np.fromiter((index[p] for p in players_col), np.int64, len(players_col))
    ago = table["ago"].to_numpy().astype(np.int64)
    daily = np.zeros((len(players), LOOKBACK, len(DAILY)), np.float32)
    recent = ago <= LOOKBACK
    values = np.stack([np.ones(len(ago))] + [table[c].to_numpy() for c in DAILY[1:]], axis=1).astype(np.float32)
    daily[rows[recent], ago[recent] - 1] = values[recent]
    last_seen = np.full(len(players), np.iinfo(np.int64).max)
    first_seen = np.zeros(len(players), np.int64)
    active_days = np.zeros(len(players), np.int64)
    np.minimum.at(last_seen, rows, ago)
    np.maximum.at(first_seen, rows, ago)
    np.add.at(active_days, rows, 1)
    static = np.stack([last_seen, first_seen, active_days / first_seen], axis=1).astype(np.float32)
    return Features(players, daily, static)


def labels_at(store: EventStore, cutoff: dt.date | str, horizon: int, players: list[str]) -> np.ndarray:
    """(n,) int: 1 when the player has no event in ``[cutoff, cutoff + horizon days)``."""
    day = dt.date.fromisoformat(_day(cutoff))
    seen = set(store.sql("SELECT DISTINCT player_id FROM events WHERE ts >= ?::TIMESTAMP AND ts < ?::TIMESTAMP",
                         [str(day), str(day + dt.timedelta(days=horizon))])["player_id"].to_pylist())
    return np.array([0 if p in seen else 1 for p in players], dtype=np.int64)


# ---------------------------------------------------------------- metrics
def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney, ties count half). NaN when one class is absent."""
    labels = np.asarray(labels).astype(bool)
    pos, neg = int(labels.sum()), int((~labels).sum())
    if pos == 0 or neg == 0:
        return float("nan")
    scores = np.asarray(scores, dtype=np.float64)
    order = np.argsort(scores, kind="mergesort")
    ordered = scores[order]
    starts_group = np.r_[True, ordered[1:] != ordered[:-1]]
    starts = np.flatnonzero(starts_group)
    ends = np.r_[starts[1:], len(scores)] - 1
    ranks = np.empty(len(scores), np.float64)
    ranks[order] = ((starts + ends) / 2.0 + 1.0)[np.cumsum(starts_group) - 1]
    return float((ranks[labels].sum() - pos * (pos + 1) / 2.0) / (pos * neg))


def bootstrap_ci(labels: np.ndarray, *scores: np.ndarray, seed: int = 0, rounds: int = 400,
                 level: float = 0.95) -> list[tuple[float, float]]:
    """Percentile CIs of AUC for each score vector and, with two, of their paired difference (a - b)."""
    rng = np.random.Generator(np.random.PCG64(seed))
    n = len(labels)
    draws: list[list[float]] = [[] for _ in range(len(scores) + (len(scores) == 2))]
    for _ in range(rounds):
        pick = rng.integers(0, n, n)
        values = [auc(s[pick], labels[pick]) for s in scores]
        if any(np.isnan(values)):
            continue
        for k, v in enumerate(values):
            draws[k].append(v)
        if len(scores) == 2:
            draws[2].append(values[0] - values[1])
    lo, hi = (1 - level) / 2 * 100, (1 + level) / 2 * 100
    return [(float(np.percentile(d, lo)), float(np.percentile(d, hi))) for d in draws]


# ---------------------------------------------------------------- models
def _torch():
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - torch is a declared dependency
        raise ModelError("torch is not installed; install worldloom with the 'rl' extra (torch==2.13.0, CPU)") from exc
    torch.set_num_threads(1)
    return torch


class ChurnModel:
    """A small convolutional model over the daily sequence plus static features (torch, CPU)."""

    def __init__(self, seed: int = 0, epochs: int = 300, linear: bool = False) -> None:
        self.seed, self.epochs, self.linear = seed, epochs, linear
        self._net = None
        self._mean: np.ndarray | None = None
        self._std: np.ndarray | None = None

    def _inputs(self, feats: Features):  # noqa: ANN202
        torch = _torch()
        x = np.log1p(feats.flat())
        return torch.from_numpy(((x - self._mean) / self._std).astype(np.float32))

    def fit(self, feats: Features, labels: np.ndarray) -> ChurnModel:
        if len(feats.players) < 20 or labels.min() == labels.max():
            raise ModelError("need at least 20 players with both churned and retained ones to train")
        torch = _torch()
        torch.manual_seed(self.seed)
        x = np.log1p(feats.flat())
        self._mean, self._std = x.mean(axis=0), x.std(axis=0) + 1e-6
        inputs = self._inputs(feats)
        target = torch.from_numpy(labels.astype(np.float32))
        width = inputs.shape[1]
        self._net = self._build(torch, width)
        optimiser = torch.optim.Adam(self._net.parameters(), lr=0.01, weight_decay=1e-4)
        loss_fn = torch.nn.BCEWithLogitsLoss()
        for _ in range(self.epochs):
            optimiser.zero_grad()
            loss = loss_fn(self._net(inputs).squeeze(1), target)
            loss.backward()
            optimiser.step()
        return self

    def _build(self, torch, width: int):  # noqa: ANN001, ANN202
        nn = torch.nn
        if self.linear:
            return nn.Linear(width, 1)
        seq = LOOKBACK * len(DAILY)

        class Net(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.conv = nn.Conv1d(len(DAILY), 8, kernel_size=3, padding=1)
                self.head = nn.Sequential(nn.Linear(8 * LOOKBACK + width - seq, 32), nn.ReLU(), nn.Linear(32, 1))

            def forward(self, x):  # noqa: ANN001, ANN202
                daily = x[:, :seq].reshape(-1, LOOKBACK, len(DAILY)).transpose(1, 2)
                h = torch.relu(self.conv(daily)).flatten(1)
                return self.head(torch.cat([h, x[:, seq:]], dim=1))

        return Net()

    def predict(self, feats: Features) -> np.ndarray:
        """(n,) churn probability per player of ``feats``."""
        if self._net is None:
            raise ModelError("the model is not trained; call fit first")
        torch = _torch()
        with torch.no_grad():
            return torch.sigmoid(self._net(self._inputs(feats)).squeeze(1)).numpy().astype(np.float64)


@dataclass
class Evaluation:
    train_cutoff: str
    test_cutoff: str
    horizon: int
    train_players: int
    test_players: int
    churn_rate: float
    model_auc: float
    model_ci: tuple[float, float]
    baseline_auc: float
    baseline_ci: tuple[float, float]
    difference_ci: tuple[float, float]
    players: list[str]
    labels: np.ndarray
    model_scores: np.ndarray


def evaluate(store: EventStore, test_cutoff: dt.date | str, horizon: int = 7, seed: int = 0,
             epochs: int = 300) -> Evaluation:
    """Train at ``test_cutoff - horizon``, score at ``test_cutoff``; model vs logistic baseline."""
    test_day = dt.date.fromisoformat(_day(test_cutoff))
    train_day = test_day - dt.timedelta(days=horizon)
    train = features_at(store, train_day)
    y_train = labels_at(store, train_day, horizon, train.players)
    test = features_at(store, test_day)
    y_test = labels_at(store, test_day, horizon, test.players)
    model = ChurnModel(seed, epochs).fit(train, y_train)
    baseline = ChurnModel(seed, epochs, linear=True).fit(train, y_train)
    s_model, s_base = model.predict(test), baseline.predict(test)
    ci_model, ci_base, ci_diff = bootstrap_ci(y_test, s_model, s_base, seed=seed)
    return Evaluation(str(train_day), str(test_day), horizon, len(train.players), len(test.players),
                      float(y_test.mean()), auc(s_model, y_test), ci_model, auc(s_base, y_test), ci_base, ci_diff,
                      test.players, y_test, s_model)
