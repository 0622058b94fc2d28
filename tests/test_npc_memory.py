"""``npc.memory``: the memory kernels against a slow pure-Python store, bounds, decay, queries, saving.

``ReferenceMemory`` follows the rules written in ``npc/kernels/memory.py`` one memory at a time with Python
lists of dicts (``None`` = empty slot); ``tests/test_npc_gossip.py`` reuses it.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from npc.errors import NpcError, NpcInputError
from npc.kernels.memory import remember_batch
from npc.memory import COLUMNS, DEFAULT_HALF_LIFE_HOURS, KIND_COUNT, MemoryKind, MemoryStore, kind_mask

FAST = settings(deadline=None, max_examples=80, suppress_health_check=[HealthCheck.too_slow])
F32 = np.float32


class ReferenceMemory:
    """Slow reference store: per row a list of ``slots`` entries, each None or a dict of the columns."""

    def __init__(self, n: int, slots: int) -> None:
        self.rows: list[list[dict | None]] = [[None] * slots for _ in range(n)]

    def store(self, r: int, mem: dict) -> bool:
        row = self.rows[r]
        for s, cur in enumerate(row):
            if cur is not None and cur["fact"] == mem["fact"]:
                salience = max(cur["salience"], mem["salience"])
                if mem["hops"] <= cur["hops"]:
                    row[s] = dict(mem)
                row[s]["salience"] = salience
                return True
        for s, cur in enumerate(row):
            if cur is None:
                row[s] = dict(mem)
                return True
        weakest = min(range(len(row)), key=lambda s: (row[s]["salience"], s))
        if mem["salience"] > row[weakest]["salience"]:
            row[weakest] = dict(mem)
            return True
        return False

    def decay(self, hours: float, half_life: np.ndarray, forget_below: float) -> int:
        forgotten = 0
        for row in self.rows:
            for s, cur in enumerate(row):
                if cur is None:
                    continue
                factor = F32(0.5 ** (hours / float(half_life[cur["kind"]])))
                salience = F32(cur["salience"] * factor)
                if salience < forget_below:
                    row[s] = None
                    forgotten += 1
                else:
                    cur["salience"] = salience
        return forgotten

    def best(self, kinds: set[int]) -> list[int]:
        out = []
        for row in self.rows:
            held = [(-row[s]["salience"], s) for s in range(len(row)) if row[s] is not None and row[s]["kind"] in kinds]
            out.append(min(held)[1] if held else -1)
        return out

    def assert_matches(self, store: MemoryStore) -> None:
        for name, dtype in COLUMNS.items():
            expected = np.zeros(store.kind.shape, dtype=dtype)
            for r, row in enumerate(self.rows):
                for s, cur in enumerate(row):
                    if cur is not None:
                        expected[r, s] = cur[name]
            np.testing.assert_array_equal(getattr(store, name), expected, err_msg=name)


def memory_dict(kind, fact, subject, obj, x, y, value, salience, tick, hops) -> dict:
    """One memory as the reference holds it (values rounded to the store's dtypes)."""
    return {"kind": int(kind), "fact": int(fact), "subject": int(subject), "object": int(obj), "x": F32(x),
            "y": F32(y), "value": F32(value), "salience": F32(salience), "tick": int(tick), "hops": int(hops)}


# A small space of facts and saliences so that merges, ties, full rows and eviction all happen often.
memories = st.tuples(
    st.integers(0, 3),                               # row (clipped to n)
    st.integers(1, 6),                               # kind
    st.integers(1, 8),                               # fact
    st.integers(0, 5), st.integers(0, 5),            # subject, object
    st.floats(-100, 100, width=32), st.floats(-100, 100, width=32),
    st.floats(-10, 10, width=32),
    st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.5, 0.75, 1.0]),
    st.integers(0, 1000), st.integers(0, 4),
)


def apply_batches(n: int, slots: int, batches: list[list[tuple]]):
    store, ref = MemoryStore(n, slots), ReferenceMemory(n, slots)
    for batch in batches:
        cols = list(zip(*batch, strict=True)) if batch else [[]] * 11
        rows = np.array([r % n for r in cols[0]], dtype=np.int64)
        stored = store.remember(rows, np.array(cols[1], dtype=np.int8), np.array(cols[2], dtype=np.int64),
                                np.array(cols[3]), np.array(cols[4]), np.array(cols[5], dtype=np.float32),
                                np.array(cols[6], dtype=np.float32), np.array(cols[7], dtype=np.float32),
                                np.array(cols[8], dtype=np.float32), np.array(cols[9]), np.array(cols[10]))
        expected = [ref.store(r % n, memory_dict(*mem[1:])) for r, mem in zip(cols[0], batch, strict=True)]
        assert stored.tolist() == expected
    return store, ref


@FAST
@given(st.integers(1, 4), st.integers(1, 4), st.lists(st.lists(memories, max_size=25), min_size=1, max_size=4))
def test_remember_equals_reference(n, slots, batches):
    store, ref = apply_batches(n, slots, batches)
    ref.assert_matches(store)
    # bounds: never more than `slots` memories per row and never the same fact twice in a row
    for r in range(n):
        held = store.fact[r][store.kind[r] != 0].tolist()
        assert len(held) == len(set(held)) <= slots


@FAST
@given(st.integers(1, 4), st.integers(1, 4), st.lists(st.lists(memories, max_size=25), min_size=1, max_size=3),
       st.floats(0, 200), st.lists(st.floats(0.5, 1e4) | st.just(math.inf), min_size=6, max_size=6),
       st.sampled_from([0.0, 0.05, 0.3]))
def test_decay_equals_reference_and_is_monotone(n, slots, batches, hours, half_lives, forget_below):
    store, ref = apply_batches(n, slots, batches)
    before_sal, before_count = store.salience.copy(), store.count()
    half_life = np.array([math.inf, *half_lives], dtype=np.float32)
    forgotten = store.decay(hours, half_life, forget_below)
    assert forgotten == ref.decay(hours, half_life, forget_below)
    ref.assert_matches(store)
    assert (store.salience <= before_sal).all()
    assert store.count() == before_count - forgotten
    assert ((store.salience >= forget_below) | (store.kind == 0)).all()


@FAST
@given(st.integers(1, 4), st.integers(1, 4), st.lists(st.lists(memories, max_size=25), min_size=1, max_size=3),
       st.sets(st.integers(1, 6), min_size=1))
def test_best_equals_reference(n, slots, batches, kinds):
    store, ref = apply_batches(n, slots, batches)
    assert store.best(kind_mask(kinds)).tolist() == ref.best(kinds)
    assert store.best(sorted(MemoryKind(k) for k in kinds)).tolist() == ref.best(kinds)


def test_same_fact_keeps_the_highest_salience_and_the_fewest_hops():
    store = MemoryStore(1, 4)
    store.remember([0], MemoryKind.RUMOUR, 5, subject=10, value=3.0, salience=0.4, hops=2)
    store.remember([0], MemoryKind.RUMOUR, 5, subject=11, value=9.0, salience=0.9, hops=4)  # louder, but retold
    (mem,) = store.recall(0)
    assert (mem["subject"], mem["value"], mem["hops"]) == (10, 3.0, 2)
    assert mem["salience"] == pytest.approx(0.9)
    store.remember([0], MemoryKind.RUMOUR, 5, subject=12, value=1.0, salience=0.2, hops=0)  # seen first-hand
    (mem,) = store.recall(0)
    assert (mem["subject"], mem["value"], mem["hops"]) == (12, 1.0, 0)
    assert mem["salience"] == pytest.approx(0.9)


def test_full_row_replaces_the_least_salient_or_drops():
    store = MemoryStore(1, 2)
    assert store.remember([0, 0], MemoryKind.THREAT, [1, 2], salience=[0.5, 0.3]).all()
    assert not store.remember([0], MemoryKind.THREAT, 3, salience=0.3)[0]  # not more salient than 0.3
    assert store.remember([0], MemoryKind.THREAT, 4, salience=0.31)[0]
    assert sorted(store.fact[0].tolist()) == [1, 4]


def test_stale_threat_keeps_the_place_it_was_seen_until_it_fades():
    store = MemoryStore(3, 4)
    store.remember([1], MemoryKind.THREAT, 77, subject=5, x=12.5, y=-3.0, salience=0.8, tick=10)
    store.remember([1], MemoryKind.CRIME, 78, subject=6, salience=0.9, tick=11)
    slot = store.best(MemoryKind.THREAT)
    assert slot.tolist()[0] == -1 and slot[2] == -1
    assert (store.x[1, slot[1]], store.y[1, slot[1]]) == (12.5, -3.0)
    store.decay(12.0)  # one half-life of a threat
    assert store.salience[1, slot[1]] == pytest.approx(0.4)
    store.decay(24.0)  # two more: 0.1
    assert store.best(MemoryKind.THREAT)[1] == slot[1]
    store.decay(12.0)  # 0.05 -> just under forget_below after float32 rounding, or at it
    store.decay(12.0)
    assert store.best(MemoryKind.THREAT)[1] == -1
    assert store.knows(78).tolist() == [False, True, False]


def test_recall_lists_most_salient_first():
    store = MemoryStore(2, 4)
    store.remember([0, 0, 0], [1, 2, 6], [1, 2, 3], salience=[0.2, 0.9, 0.5], tick=[1, 2, 3])
    assert [m["kind"] for m in store.recall(0)] == ["crime", "shortage", "threat"]
    assert store.recall(1) == []
    with pytest.raises(NpcInputError):
        store.recall(2)


@pytest.mark.parametrize("bad", [
    {"rows": [0, 5]},                       # row out of range
    {"rows": [[0]]},                        # 2-d rows
    {"rows": [0.5]},                        # float rows
    {"kind": 0}, {"kind": 7},               # not a memory kind
    {"salience": 1.5}, {"salience": -0.1}, {"salience": float("nan")},
    {"hops": -1}, {"hops": 128},
    {"fact": [1, 2, 3]},                    # wrong length
    {"x": float("nan")},
    {"subject": "a"},
])
def test_remember_refuses_bad_input(bad):
    args = {"rows": [0], "kind": 1, "fact": 1, "subject": 0, "x": 0.0, "salience": 0.5, "hops": 0} | bad
    store = MemoryStore(2, 2)
    with pytest.raises(NpcInputError):
        store.remember(args.pop("rows"), **args)
    assert store.count() == 0


@FAST
@given(st.one_of(st.floats(allow_nan=True), st.integers()), st.lists(st.floats(allow_nan=True), max_size=8))
def test_decay_refuses_bad_parameters_or_works(hours, half_life):
    store = MemoryStore(2, 2)
    store.remember([0], 1, 1, salience=0.5)
    hl = np.array(half_life)
    valid = (math.isfinite(hours) and hours >= 0 and hl.shape == (KIND_COUNT,) and not np.isnan(hl).any()
             and (hl[1:] > 0).all())
    if valid:
        store.decay(hours, hl)
        assert 0 <= store.salience[0, 0] <= 0.5
    else:
        with pytest.raises(NpcInputError):
            store.decay(hours, hl)


def test_kind_mask_refuses_unknown_kinds():
    assert kind_mask(MemoryKind.THREAT) == 2
    assert kind_mask([MemoryKind.THREAT, MemoryKind.CRIME]) == 6
    with pytest.raises(NpcInputError):
        kind_mask([0])
    with pytest.raises(NpcInputError):
        kind_mask(1 << 9)


@FAST
@given(st.integers(1, 4), st.integers(1, 4), st.lists(st.lists(memories, max_size=25), min_size=1, max_size=3))
def test_arrays_round_trip(n, slots, batches):
    store, _ = apply_batches(n, slots, batches)
    saved = store.arrays()
    other = MemoryStore(1, 1)
    other.load_arrays(saved)
    for key, arr in other.arrays().items():
        np.testing.assert_array_equal(arr, saved[key])
        assert arr.dtype == saved[key].dtype
    assert other.recall(0) == store.recall(0)


def test_load_arrays_refuses_bad_saves():
    good = MemoryStore(3, 2)
    good.remember([0], 1, 1, salience=0.5)
    saved = good.arrays()
    broken = [
        {k: v for k, v in saved.items() if k != "memory_tick"},
        saved | {"memory_salience": saved["memory_salience"].astype(np.float64)},
        saved | {"memory_fact": np.zeros((3, 3), dtype=np.int64)},
        saved | {"memory_kind": np.full((3, 2), 9, dtype=np.int8)},
        saved | {"memory_salience": np.full((3, 2), 2.0, dtype=np.float32)},
        saved | {"memory_hops": np.full((3, 2), -1, dtype=np.int8)},
        saved | {"memory_x": np.zeros(6, dtype=np.float32)},
    ]
    for data in broken:
        target = MemoryStore(3, 2)
        with pytest.raises(NpcError):
            target.load_arrays(data)
        assert target.count() == 0


def test_resize_and_forget_rows_keep_other_rows():
    store = MemoryStore(2, 3)
    store.remember([0, 1], 1, [1, 2], salience=0.5)
    store.resize(4)
    assert store.knows(1).tolist() == [True, False, False, False]
    store.forget_rows([0])
    assert store.count() == 1 and store.knows(2)[1]
    store.resize(1)
    assert store.count() == 0 and store.n == 1


def test_default_half_lives_cover_every_kind():
    assert DEFAULT_HALF_LIFE_HOURS.shape == (KIND_COUNT,)
    assert (DEFAULT_HALF_LIFE_HOURS[1:] > 0).all()


@settings(deadline=None, max_examples=15)
@given(st.integers(0, 2**32 - 1), st.sampled_from([600, 5000]), st.sampled_from([1, 3]))
def test_large_batches_grouped_by_row_give_the_same_store(seed, n, slots):
    """``remember`` applies big batches grouped by row (counting sort): same result as the kernel in input order."""
    rng = np.random.default_rng(seed)
    m = 6000
    store, plain = MemoryStore(n, slots), MemoryStore(n, slots)
    for _ in range(2):
        args = (rng.integers(0, n, m), rng.integers(1, 7, m).astype(np.int8), rng.integers(1, 6, m),
                rng.integers(0, 9, m), rng.integers(0, 9, m), rng.random(m).astype(np.float32),
                rng.random(m).astype(np.float32), rng.random(m).astype(np.float32),
                rng.choice(np.array([0.1, 0.5, 0.9], np.float32), m), rng.integers(0, 9, m), rng.integers(0, 3, m).astype(np.int8))
        stored = store.remember(*args)
        expected = np.zeros(m, dtype=np.bool_)
        remember_batch(*plain.columns(), *args, expected)
        np.testing.assert_array_equal(stored, expected)
    for key, arr in store.arrays().items():
        np.testing.assert_array_equal(arr, plain.arrays()[key])
    assert store.count() > 0


junk = st.one_of(
    st.integers(-300, 300), st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=3), st.none(),
    st.lists(st.integers(-3, 300), max_size=4), st.lists(st.floats(allow_nan=True), max_size=4),
    st.lists(st.lists(st.integers(0, 3), max_size=2), max_size=2),
)


@FAST
@given(junk, junk, junk, junk, junk, junk)
def test_remember_with_junk_stores_valid_memories_or_refuses(rows, kind, fact, value, salience, hops):
    """Anything at all: either NpcInputError and an untouched store, or memories that satisfy the bounds."""
    store = MemoryStore(3, 2)
    try:
        store.remember(rows, kind, fact, value=value, salience=salience, hops=hops)
    except NpcInputError:
        assert store.count() == 0
        return
    assert ((store.kind >= 0) & (store.kind < KIND_COUNT)).all()
    assert ((store.salience >= 0) & (store.salience <= 1)).all() and (store.hops >= 0).all()
