"""``python -m analytics report --db FILE --out DIR``: PNG plots and one HTML page of the questions.

Each section is computed from the store (read-only), drawn with matplotlib (Agg backend, no display)
and written to ``DIR``; ``DIR/index.html`` links them with the numbers as tables. A section that
cannot be computed (e.g. too few players for a churn model) says why instead of failing the report.
"""

from __future__ import annotations

import datetime as dt
import html
import os
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from tqdm import tqdm  # noqa: E402

from . import queries  # noqa: E402
from .errors import AnalyticsError  # noqa: E402
from .store import DuckDBEventStore  # noqa: E402
from .synthetic import FUNNEL_STEPS, FUNNEL_WINDOW_S  # noqa: E402


def _table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "<p>(no rows)</p>"
    head = "".join(f"<th>{html.escape(str(k))}</th>" for k in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{_fmt(v)}</td>" for v in r.values()) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _fmt(v: Any) -> str:
    return f"{v:.3f}" if isinstance(v, float) else html.escape(str(v))


def write_report(db: str, out: str, funnel_steps: list[str] | None = None, window_s: float = FUNNEL_WINDOW_S,
                 churn: bool = True, progress: bool = True) -> str:
    """Write the report; returns the path of ``index.html``."""
    os.makedirs(out, exist_ok=True)
    store = DuckDBEventStore(db, read_only=True)
    sections: list[str] = []
    steps = ["active users", "sessions", "retention", "funnel", "progression", "segments"] + (["churn"] if churn else [])
    bar = tqdm(steps, desc="report", unit="section", disable=not progress)
    for step in bar:
        bar.set_postfix_str(step)
        try:
            sections.append(_SECTIONS[step](store, out, funnel_steps or FUNNEL_STEPS, window_s))
        except AnalyticsError as exc:
            sections.append(f"<h2>{step}</h2><p>not computed: {html.escape(str(exc))}</p>")
    store.close()
    page = os.path.join(out, "index.html")
    with open(page, "w") as fh:
        fh.write("<!doctype html><meta charset='utf-8'><title>Worldloom analytics</title><style>"
                 "body{font-family:sans-serif;max-width:1000px;margin:auto}td,th{padding:2px 8px;border:1px solid #ccc}"
                 "table{border-collapse:collapse;font-size:13px}</style><h1>Worldloom analytics</h1>"
                 f"<p>{html.escape(db)} — generated {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC</p>" + "".join(sections))
    return page


def _save(fig: Any, out: str, name: str) -> str:
    fig.tight_layout()
    fig.savefig(os.path.join(out, name), dpi=90)
    plt.close(fig)
    return f"<img src='{name}' width='800'>"


def _active(store, out, _steps, _w) -> str:  # noqa: ANN001
    a = queries.active_users(store)
    fig, ax = plt.subplots(figsize=(9, 3.5))
    for key in ("dau", "wau", "mau"):
        ax.plot(range(len(a["day"])), a[key], label=key.upper())
    ax.set_xlabel(f"day since {a['day'][0] if a['day'] else '-'}")
    ax.set_ylabel("players")
    ax.legend()
    last = [{"day": d, "dau": x, "wau": y, "mau": z} for d, x, y, z in
            list(zip(a["day"], a["dau"], a["wau"], a["mau"], strict=True))[-7:]]
    return "<h2>Active users</h2>" + _save(fig, out, "active.png") + _table(last)


def _sessions(store, out, _steps, _w) -> str:  # noqa: ANN001
    table = queries.sessions(store)
    summary = queries.session_summary(store)
    fig, ax = plt.subplots(figsize=(9, 3.5))
    ax.hist(table["length_s"].to_numpy() / 60.0, bins=40)
    ax.set_xlabel("session length (minutes, 30-min idle split)")
    ax.set_ylabel("sessions")
    rows = [{"sessions": summary["sessions"], "players": summary["players"], "mean_min": summary["mean_s"] / 60}]
    return "<h2>Sessions</h2>" + _save(fig, out, "sessions.png") + _table(rows)


def _retention(store, out, _steps, _w) -> str:  # noqa: ANN001
    days = (1, 3, 7, 14, 30)
    fig, ax = plt.subplots(figsize=(9, 3.5))
    html_rows = []
    for rolling in (False, True):
        for row in queries.retention(store, days, rolling, "variant"):
            ax.plot(days, [row[f"d{n}"] or 0 for n in days], marker="o",
                    label=f"{'rolling' if rolling else 'fixed'} {row['cohort']}")
            html_rows.append({"kind": "rolling" if rolling else "fixed", "variant": row["cohort"],
                              "players": row["players"], **{f"D{n}": row[f"d{n}"] for n in days}})
    ax.set_xlabel("days since install")
    ax.set_ylabel("retained share")
    ax.legend()
    return "<h2>Retention by A/B variant</h2>" + _save(fig, out, "retention.png") + _table(html_rows)


def _funnel(store, out, steps, window_s) -> str:  # noqa: ANN001
    fig, ax = plt.subplots(figsize=(9, 3.5))
    rows = []
    for offset, mode in enumerate(("ordered", "strict", "unordered")):
        f = queries.funnel(store, steps, mode, window_s)
        ax.bar([k + offset * 0.27 for k in range(len(steps))], f["players"], width=0.27, label=mode)
        rows.append({"mode": mode, **{s: n for s, n in zip(steps, f["players"], strict=True)}})
    ax.set_xticks(range(len(steps)), [s[:30] for s in steps], fontsize=8)
    ax.set_ylabel("players")
    ax.legend()
    return f"<h2>Funnel (window {window_s:g} s)</h2>" + _save(fig, out, "funnel.png") + _table(rows)


def _progression(store, out, _steps, _w) -> str:  # noqa: ANN001
    rows = queries.progression(store)[:30]
    fig, ax = plt.subplots(figsize=(9, 3.5))
    ax.bar(range(len(rows)), [r["fail_rate"] or 0 for r in rows])
    ax.set_xticks(range(len(rows)), [r["name"] for r in rows], rotation=90, fontsize=7)
    ax.set_ylabel("fail rate")
    return "<h2>Progression (difficulty curve)</h2>" + _save(fig, out, "progression.png") + _table(rows)


def _segments(store, out, _steps, _w) -> str:  # noqa: ANN001
    from .segments import segment_players

    seg = segment_players(store)
    fig, ax = plt.subplots(figsize=(9, 3.5))
    ax.barh(range(len(seg.sizes)), seg.sizes)
    ax.set_yticks(range(len(seg.sizes)), [f"{j}" for j in range(len(seg.sizes))])
    ax.set_xlabel("players")
    rows = [{"segment": j, "players": n, "description": d} for j, (n, d) in enumerate(zip(seg.sizes, seg.descriptions, strict=True))]
    return "<h2>Behavioural segments</h2>" + _save(fig, out, "segments.png") + _table(rows)


def _churn(store, out, _steps, _w) -> str:  # noqa: ANN001
    from .churn import evaluate

    newest = store.sql("SELECT max(ts) AS t FROM events")["t"][0].as_py()
    cutoff = newest.date() - dt.timedelta(days=7)
    ev = evaluate(store, cutoff, 7)
    fig, ax = plt.subplots(figsize=(9, 3.5))
    ax.hist([ev.model_scores[ev.labels == 0], ev.model_scores[ev.labels == 1]], bins=20, label=["stayed", "churned"])
    ax.set_xlabel("predicted churn probability (test cutoff)")
    ax.legend()
    rows = [{"model": "torch conv+MLP", "AUC": ev.model_auc, "95% CI": f"{ev.model_ci[0]:.3f}-{ev.model_ci[1]:.3f}"},
            {"model": "logistic baseline", "AUC": ev.baseline_auc,
             "95% CI": f"{ev.baseline_ci[0]:.3f}-{ev.baseline_ci[1]:.3f}"}]
    return (f"<h2>Churn (train {ev.train_cutoff}, test {ev.test_cutoff}, {ev.horizon}-day horizon, "
            f"{ev.test_players} players)</h2>" + _save(fig, out, "churn.png") + _table(rows))


_SECTIONS = {"active users": _active, "sessions": _sessions, "retention": _retention, "funnel": _funnel,
             "progression": _progression, "segments": _segments, "churn": _churn}
