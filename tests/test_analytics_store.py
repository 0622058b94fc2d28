"""Analytics store and questions on real DuckDB files: exact ground truth, dedup, bad input, leakage."""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
import sys
import time
import uuid

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics import queries
from analytics.churn import auc, evaluate, features_at
from analytics.errors import BatchRefused
from analytics.events import SCHEMA, validate_batch
from analytics.segments import segment_players
from analytics.store import DuckDBEventStore
from analytics.synthetic import EPOCH, FUNNEL_EXCLUSION, FUNNEL_STEPS, FUNNEL_WINDOW_S, generate
from analytics.taxonomy import KINDS, MAX_BATCH_EVENTS

NOW_US = int(time.time() * 1e6)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    table, truth = generate(11, players=300, days=40)
    store = DuckDBEventStore(str(tmp_path_factory.mktemp("an") / "events.duckdb"))
    assert store.append(table) == table.num_rows
    yield store, table, truth
    store.close()


@pytest.mark.parametrize("rolling", [False, True])
@pytest.mark.parametrize("cohort", ["all", "variant", "install_day"])
def test_retention_equals_ground_truth_exactly(synthetic, rolling, cohort):
    store, _, truth = synthetic
    rows = queries.retention(store, (1, 7, 30), rolling, cohort)
    for n in (1, 7, 30):
        got = {r["cohort"]: (r[f"d{n}_retained"], r[f"d{n}_eligible"]) for r in rows}
        assert got == truth.retention(n, rolling, cohort if cohort != "install_day" else "day")


@pytest.mark.parametrize("mode", ["ordered", "strict", "unordered"])
@pytest.mark.parametrize("exclude", [False, True])
def test_funnels_equal_ground_truth_exactly(synthetic, mode, exclude):
    store, _, truth = synthetic
    result = queries.funnel(store, FUNNEL_STEPS, mode, FUNNEL_WINDOW_S, [FUNNEL_EXCLUSION] if exclude else [])
    assert result["players"] == truth.funnel(mode, exclude)


def test_sessions_and_active_users_match_the_generator(synthetic):
    store, table, truth = synthetic
    assert queries.sessions(store).num_rows == sum(p.sessions for p in truth.players)
    active = queries.active_users(store)
    first = dt.date.fromisoformat(active["day"][0])
    for k in (0, 10, 25):
        day = (first - EPOCH.date()).days + k
        assert active["dau"][k] == sum(day in p.active_days for p in truth.players)
        assert active["wau"][k] == sum(any(day - 6 <= d <= day for d in p.active_days) for p in truth.players)


def test_resending_a_batch_adds_nothing(tmp_path, synthetic):
    _, table, _ = synthetic
    store = DuckDBEventStore(str(tmp_path / "dup.duckdb"))
    part = table.slice(0, 1000)
    assert store.append(part) == 1000
    assert store.append(part) == 0
    assert store.append_many([part, table.slice(500, 1000)]) == [0, 500]
    assert store.count() == 1500
    store.close()
    reopened = DuckDBEventStore(str(tmp_path / "dup.duckdb"))
    assert reopened.count() == 1500


def test_generator_is_byte_identical_in_another_process():
    code = ("import hashlib, pyarrow as pa; from analytics.synthetic import generate; t, _ = generate(5, 60, 20); "
            "s = pa.BufferOutputStream(); w = pa.ipc.new_stream(s, t.schema); w.write_table(t); w.close(); "
            "print(hashlib.sha256(s.getvalue().to_pybytes()).hexdigest())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    table, _ = generate(5, 60, 20)
    sink = pa.BufferOutputStream()
    writer = pa.ipc.new_stream(sink, table.schema)
    writer.write_table(table)
    writer.close()
    assert out == hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()


def _good(i: int) -> dict:
    return {"id": str(uuid.UUID(int=i + 1)), "ts": NOW_US - 1000, "player": f"p{i}", "kind": "progression_fail",
            "name": "w1:l1"}


bad_field = st.sampled_from([
    ("ts", None), ("ts", "yesterday"), ("ts", NOW_US + 10**10), ("ts", 5), ("ts", float("nan")),
    ("player", ""), ("player", "x" * 65), ("player", 7), ("kind", "teleport"), ("kind", None),
    ("name", ""), ("name", "a:b:c:d"), ("value", "high"), ("value", float("inf")), ("id", "not-a-uuid"),
    ("id", 12), ("props", [1]),
])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(st.none(), bad_field), min_size=1, max_size=30))
def test_malformed_events_are_rejected_one_by_one(plan):
    events = []
    for i, broken in enumerate(plan):
        event = _good(i)
        if broken is not None:
            event[broken[0]] = broken[1]
        events.append(event)
    out = validate_batch({"events": events}, NOW_US)
    bad = {i for i, b in enumerate(plan) if b is not None}
    assert {i for i, _ in out.rejected} == bad and out.rejected_total == len(bad)
    assert all(reason for _, reason in out.rejected)
    assert out.table.num_rows == len(plan) - len(bad)
    assert out.table.schema == SCHEMA


@settings(max_examples=80, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=6), c, max_size=4)))
def test_any_params_are_stored_refused_or_rejected_never_crash(params):
    try:
        out = validate_batch(params, NOW_US)
    except BatchRefused:
        return
    assert out.table.num_rows + out.rejected_total >= 0


def test_oversized_and_compact_batches():
    with pytest.raises(BatchRefused, match="exceeds"):
        validate_batch({"events": [_good(i) for i in range(MAX_BATCH_EVENTS + 1)]}, NOW_US)
    cols = {"ts": [NOW_US] * 3, "player": ["a", "b", ""], "session": ["", "", ""], "kind": [4, 99, 4],
            "name": ["w1", "w1", "w1"], "value": [1.0, 2.0, 3.0], "variant": ["A", "", ""]}
    out = validate_batch({"run": 1, "seq0": 0, "cols": cols}, NOW_US)
    assert out.table.num_rows == 1 and [i for i, _ in out.rejected] == [1, 2]
    with pytest.raises(BatchRefused, match="differ"):
        validate_batch({"run": 1, "seq0": 0, "cols": {**cols, "ts": [NOW_US]}}, NOW_US)


def test_churn_features_ignore_everything_after_the_cutoff(tmp_path, synthetic):
    """Fails if any feature leaks information from at or after the prediction point."""
    _, table, _ = synthetic
    cutoff = (EPOCH + dt.timedelta(days=25)).date()
    limit = pa.scalar(dt.datetime.combine(cutoff, dt.time()), pa.timestamp("us"))
    before = table.filter(pa.compute.less(table["ts"], limit))
    after = table.filter(pa.compute.greater_equal(table["ts"], limit))
    rng = np.random.Generator(np.random.PCG64(3))
    # alter every post-cutoff event: shuffle players, kinds and times, drop half, add a burst at the cutoff
    altered = after.take(pa.array(rng.permutation(after.num_rows)[: after.num_rows // 2]))
    altered = altered.set_column(3, "player_id", pa.array(rng.permutation(altered["player_id"].to_numpy(zero_copy_only=False))))
    burst = before.slice(0, 200).set_column(1, "ts", pa.array(np.full(200, np.datetime64(cutoff, "us")), pa.timestamp("us")))
    burst = burst.set_column(0, "event_id", pa.array([str(uuid.uuid4()) for _ in range(200)]))
    a = DuckDBEventStore(str(tmp_path / "a.duckdb"))
    b = DuckDBEventStore(str(tmp_path / "b.duckdb"))
    a.append(table)
    b.append(pa.concat_tables([before, altered, burst]))
    fa, fb = features_at(a, cutoff), features_at(b, cutoff)
    assert fa.players == fb.players
    np.testing.assert_array_equal(fa.flat(), fb.flat())


def test_churn_model_is_near_the_best_achievable_auc(tmp_path):
    table, truth = generate(5, players=800, days=60, install_days=40)
    store = DuckDBEventStore(str(tmp_path / "churn.duckdb"))
    store.append(table)
    cutoff = 50
    ev = evaluate(store, (EPOCH + dt.timedelta(days=cutoff)).date(), 7, seed=1, epochs=200)
    true = truth.churn_probability(cutoff, 7)
    assert [true[p][1] for p in ev.players] == ev.labels.tolist()
    best = auc(np.array([true[p][0] for p in ev.players]), ev.labels)
    assert ev.model_auc >= 0.9 * best
    assert ev.model_ci[0] <= ev.model_auc <= ev.model_ci[1]
    assert ev.baseline_ci[0] <= ev.baseline_auc <= ev.baseline_ci[1]


def test_segments_have_descriptions_and_cover_everyone(synthetic):
    store, _, truth = synthetic
    seg = segment_players(store, k=4, seed=0)
    assert sum(seg.sizes) == len(truth.players) and all(seg.descriptions)
    again = segment_players(store, k=4, seed=0)
    assert (seg.labels == again.labels).all()


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**64 - 1), st.integers(0, 2**63 - 1), st.integers(0, 40))
def test_vectorized_ids_equal_the_per_row_ids(run, seq0, n):
    from analytics.events import id_array, ids_for_run

    ids = id_array(run, seq0, n)
    ids.validate(full=True)
    assert ids.to_pylist() == ids_for_run(run, seq0, n)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(range(len(KINDS))), st.text(":ab", max_size=7),
                          st.sampled_from([-1.0, 0.0, 2.5])), min_size=1, max_size=40))
def test_vectorized_kind_rules_equal_the_per_row_rules(rows):
    from analytics.events import _check_row, _kind_rules_broken

    codes, names, values = (list(col) for col in zip(*rows, strict=True))
    got = _kind_rules_broken(np.array(codes), pa.array(names, pa.string()), np.array(values))
    assert got.tolist() == [_check_row(KINDS[c], n, v) is not None for c, n, v in rows]


def test_duplicates_inside_and_across_grouped_batches_are_stored_once(tmp_path, synthetic):
    _, table, _ = synthetic
    store = DuckDBEventStore(str(tmp_path / "group.duckdb"))
    doubled = pa.concat_tables([table.slice(0, 300), table.slice(100, 300)])  # ids 100..399 twice in one batch
    assert store.append_many([doubled, table.slice(350, 100), table.slice(0, 0), table.slice(0, 10)]) == [400, 50, 0, 0]
    assert store.append(doubled) == 0
    assert store.count() == 450 == store.sql("SELECT count(DISTINCT event_id) AS n FROM events")["n"][0].as_py()
    store.close()
