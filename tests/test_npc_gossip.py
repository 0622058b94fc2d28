"""``npc.gossip``: the exchange kernel against a slow pure-Python reference, spread along a chain of meetings,
distortion at the configured rate, untouched bystanders, reach/versions, bad input and cross-process
determinism of memory + relations + gossip together.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.random import PCG64, Generator

from npc.errors import NpcInputError
from npc.gossip import DEFAULT_TRANSMISSIBLE, GossipParams, exchange, reach, versions
from npc.memory import MemoryKind, MemoryStore
from npc.social import Relations
from tests.test_npc_memory import ReferenceMemory, memory_dict
from tests.test_npc_social import ReferenceRelations

ROOT = Path(__file__).resolve().parents[1]
FAST = settings(deadline=None, max_examples=80, suppress_health_check=[HealthCheck.too_slow])
F32 = np.float32


def reference_exchange(mem: ReferenceMemory, rel: ReferenceRelations, pairs, uniforms, ids, now,
                       params: GossipParams) -> tuple[list[bool], list[tuple[int, int]]]:
    """The rules of ``npc/kernels/gossip.py``, one pair at a time."""
    kinds = {k for k in range(1, 7) if params.kinds >> k & 1}
    told, crossed = [], []
    for (s, lst), u in zip(pairs, uniforms, strict=True):
        best = None
        if s != lst:
            for a, m in enumerate(mem.rows[s]):
                if m is None or m["kind"] not in kinds:
                    continue
                told_hops = min(m["hops"] + 1, 127)
                if any(x is not None and x["fact"] == m["fact"] and x["hops"] <= told_hops for x in mem.rows[lst]):
                    continue
                if best is None or m["salience"] > mem.rows[s][best]["salience"]:
                    best = a
        if best is None or u[0] >= params.p_tell:
            told.append(False)
            crossed.append((0, 0))
            continue
        m = mem.rows[s][best]
        subject = m["subject"]
        if u[1] < params.p_distort_subject:
            others = [t["other"] for t in rel.rows[s] if t is not None and t["other"] not in (subject, ids[lst])]
            if others:
                subject = others[min(int(u[3] * len(others)), len(others) - 1)]
        heard = dict(m, subject=subject, hops=min(m["hops"] + 1, 127),
                     value=F32(float(m["value"]) * (1.0 + params.value_noise * (2.0 * u[2] - 1.0))),
                     salience=F32(float(m["salience"]) * params.salience_keep))
        mem.store(lst, heard)
        told.append(True)
        crossed.append((rel.touch(s, ids[lst], params.d_affinity, params.d_trust, now),
                        rel.touch(lst, ids[s], params.d_affinity, params.d_trust, now)))
    return told, crossed


@st.composite
def towns(draw):
    """A few NPCs with random memories and ties, meeting pairs, draws and gossip parameters."""
    n = draw(st.integers(2, 6))
    mem_slots, rel_slots = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    ids = [(r + 1) * 10 for r in range(n)]
    memories = draw(st.lists(st.tuples(
        st.integers(0, n - 1), st.integers(1, 6), st.integers(1, 5), st.sampled_from(ids + [3, 4]),
        st.integers(0, 9), st.floats(-5, 5, width=32), st.sampled_from([0.1, 0.3, 0.5, 0.9, 1.0]),
        st.integers(0, 3)), max_size=20))
    ties = draw(st.lists(st.tuples(st.integers(0, n - 1), st.sampled_from(ids + [1, 2, 3]),
                                   st.sampled_from([-0.4, 0.1, 0.5, 0.59])), max_size=20))
    pairs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=25))
    uniforms = draw(st.lists(st.tuples(*[st.floats(0, 1, exclude_max=True)] * 4),
                             min_size=len(pairs), max_size=len(pairs)))
    params = GossipParams(p_tell=draw(st.sampled_from([0.0, 0.5, 1.0])),
                          salience_keep=draw(st.sampled_from([0.5, 0.85, 1.0])),
                          p_distort_subject=draw(st.sampled_from([0.0, 0.3, 1.0])),
                          value_noise=draw(st.sampled_from([0.0, 0.2])),
                          kinds=draw(st.sampled_from([DEFAULT_TRANSMISSIBLE, 0b1111110])),
                          d_affinity=draw(st.sampled_from([0.02, 0.3])))
    return n, mem_slots, rel_slots, ids, memories, ties, pairs, uniforms, params


def build(n, mem_slots, rel_slots, memories, ties):
    store, ref_mem = MemoryStore(n, mem_slots), ReferenceMemory(n, mem_slots)
    for row, kind, fact, subject, obj, value, salience, hops in memories:
        store.remember([row], kind, fact, subject, obj, 1.0, 2.0, value, salience, 7, hops)
        ref_mem.store(row, memory_dict(kind, fact, subject, obj, 1.0, 2.0, value, salience, 7, hops))
    rel, ref_rel = Relations(n, rel_slots), ReferenceRelations(n, rel_slots)
    for row, other, d in ties:
        rel.interact([row], [other], [d], [0.1], 1)
        ref_rel.touch(row, other, d, 0.1, 1)
    return store, ref_mem, rel, ref_rel


@FAST
@given(towns())
def test_exchange_equals_reference_and_leaves_bystanders_alone(town):
    n, mem_slots, rel_slots, ids, memories, ties, pairs, uniforms, params = town
    store, ref_mem, rel, ref_rel = build(n, mem_slots, rel_slots, memories, ties)
    before_mem = {k: v.copy() for k, v in store.arrays().items()}
    before_rel = {k: v.copy() for k, v in rel.arrays().items()}
    crossed = np.zeros((len(pairs), 2), dtype=np.int8)
    told = exchange(store, rel, np.array(pairs, dtype=np.int64).reshape(-1, 2),
                    np.array(uniforms, dtype=np.float64).reshape(-1, 4), np.array(ids), 42, params, crossed)
    exp_told, exp_crossed = reference_exchange(ref_mem, ref_rel, pairs, uniforms, ids, 42, params)
    assert told.tolist() == exp_told
    assert [tuple(c) for c in crossed.tolist()] == exp_crossed
    ref_mem.assert_matches(store)
    ref_rel.assert_matches(rel)
    listeners = {lst for (s, lst), t in zip(pairs, exp_told, strict=True) if t}
    talkers = listeners | {s for (s, _), t in zip(pairs, exp_told, strict=True) if t}
    for r in range(n):
        if r not in listeners:  # never told: memory unchanged
            for key, arr in store.arrays().items():
                np.testing.assert_array_equal(arr[r], before_mem[key][r])
        if r not in talkers:    # took no part in a telling: relations unchanged
            for key, arr in rel.arrays().items():
                np.testing.assert_array_equal(arr[r], before_rel[key][r])


def chain(n: int) -> tuple[MemoryStore, Relations, np.ndarray]:
    """n NPCs; row 0 witnessed fact 99 (a claim about two outsiders)."""
    ids = np.arange(1, n + 1, dtype=np.int64) << 20
    store, rel = MemoryStore(n, 4), Relations(n, 4)
    store.remember([0], MemoryKind.RUMOUR, 99, subject=77, object=78, value=10.0, salience=1.0, tick=3)
    return store, rel, ids


def test_a_fact_spreads_along_a_chain_of_meetings_with_hops_increasing():
    store, rel, ids = chain(8)
    forward = np.array([[i, i + 1] for i in range(7)])
    told = exchange(store, rel, forward, np.zeros((7, 4)), ids, 50, GossipParams(p_tell=1.0, p_distort_subject=0.0))
    assert told.all()
    assert reach(store, 99) == 1.0
    slot = store.best(MemoryKind.RUMOUR)
    hops = store.hops[np.arange(8), slot]
    assert hops.tolist() == list(range(8))
    sal = store.salience[np.arange(8), slot]
    assert (np.diff(sal) < 0).all() and sal[7] == pytest.approx(0.85 ** 7, rel=1e-5)
    assert (store.tick[np.arange(8), slot] == 3).all()  # when it happened, not when it was heard
    assert rel.get(3, int(ids[4])) == pytest.approx((0.02, 0.01)) and rel.get(3, int(ids[2])) is not None
    # meeting again tells nothing new: everyone already holds it with as few hops
    assert not exchange(store, rel, forward, np.zeros((7, 4)), ids, 51, GossipParams(p_tell=1.0)).any()


def test_meetings_in_the_wrong_order_do_not_carry_the_fact_further():
    store, rel, ids = chain(4)
    backward = np.array([[2, 3], [1, 2], [0, 1]])
    told = exchange(store, rel, backward, np.zeros((3, 4)), ids, 50, GossipParams(p_tell=1.0))
    assert told.tolist() == [False, False, True]
    assert store.knows(99).tolist() == [True, True, False, False]
    assert reach(store, 99, live_rows=[0, 1]) == 1.0 and reach(store, 99, np.array([0, 0, 1, 1], bool)) == 0.0


def test_shorter_route_replaces_hops_but_not_salience_downwards():
    store, rel, ids = chain(3)
    params = GossipParams(p_tell=1.0, salience_keep=0.5)
    exchange(store, rel, np.array([[0, 1], [1, 2]]), np.zeros((2, 4)), ids, 1, params)
    assert store.hops[2].max() == 2
    exchange(store, rel, np.array([[0, 2]]), np.zeros((1, 4)), ids, 2, params)
    slot = store.best(MemoryKind.RUMOUR)[2]
    assert store.hops[2, slot] == 1 and store.salience[2, slot] == pytest.approx(0.5)


def test_distortion_happens_at_the_configured_rate():
    pairs_count, p_distort = 4000, 0.25
    n = 2 * pairs_count
    ids = np.arange(1, n + 1, dtype=np.int64) + 1000
    store, rel = MemoryStore(n, 4), Relations(n, 8)
    speakers = np.arange(pairs_count)
    store.remember(speakers, MemoryKind.CRIME, 7, subject=5, object=6, value=100.0, salience=0.9)
    for k in range(4):  # every speaker knows four other entities it could blame instead
        rel.interact(speakers, np.full(pairs_count, 10 + k), 0.1)
    draws = Generator(PCG64(2024)).random((pairs_count, 4))
    pairs = np.stack([speakers, speakers + pairs_count], axis=1)
    params = GossipParams(p_tell=1.0, p_distort_subject=p_distort, value_noise=0.2)
    assert exchange(store, rel, pairs, draws, ids, 9, params).all()
    claims = versions(store, 7)
    heard = store.subject[pairs_count:][store.kind[pairs_count:] != 0]
    share = float((heard != 5).mean())
    assert abs(share - p_distort) < 0.03  # binomial sd ~0.007 at 4000 tellings
    assert set(np.unique(heard[heard != 5]).tolist()) == {10, 11, 12, 13}
    assert sum(c["count"] for c in claims) == n  # every speaker and listener holds a version
    assert claims[0]["subject"] == 5 and claims[0]["min_hops"] == 0 and claims[0]["count"] >= pairs_count
    values = store.value[pairs_count:][store.kind[pairs_count:] != 0]
    assert values.min() >= 80.0 - 1e-3 and values.max() <= 120.0 + 1e-3
    assert abs(float(values.mean()) - 100.0) < 1.0
    assert reach(store, 7) == 1.0


def test_only_transmissible_kinds_are_told():
    store, rel, ids = MemoryStore(2, 4), Relations(2, 4), np.array([10, 20])
    store.remember([0, 0], [MemoryKind.HELPED, MemoryKind.SHORTAGE], [1, 2], salience=1.0)
    assert not exchange(store, rel, np.array([[0, 1]]), np.zeros((1, 4)), ids, 0, GossipParams(p_tell=1.0))[0]
    assert store.count() == 2 and not rel.other.any()
    params = GossipParams(p_tell=1.0, kinds=1 << MemoryKind.SHORTAGE)
    assert exchange(store, rel, np.array([[0, 1]]), np.zeros((1, 4)), ids, 0, params)[0]
    assert store.knows(2).tolist() == [True, True]


@pytest.mark.parametrize("bad", [
    {"pairs": np.array([[0, 2]])}, {"pairs": np.array([0, 1])}, {"pairs": np.array([[0.0, 1.0]])},
    {"uniforms": np.ones((1, 4))}, {"uniforms": np.full((1, 4), np.nan)}, {"uniforms": np.zeros((1, 3))},
    {"ids": np.array([1, 2, 3])}, {"ids": np.array([5, 0])},
    {"crossed_out": np.zeros((1, 2), dtype=np.int64)},
])
def test_exchange_refuses_bad_input(bad):
    store, rel = MemoryStore(2, 2), Relations(2, 2)
    store.remember([0], MemoryKind.RUMOUR, 1, salience=1.0)
    args = {"pairs": np.array([[0, 1]]), "uniforms": np.zeros((1, 4)), "ids": np.array([5, 6]),
            "crossed_out": None} | bad
    with pytest.raises(NpcInputError):
        exchange(store, rel, args["pairs"], args["uniforms"], args["ids"], 0, GossipParams(p_tell=1.0),
                 args["crossed_out"])
    assert store.count() == 1 and not rel.other.any()


def test_exchange_refuses_stores_of_different_sizes():
    with pytest.raises(NpcInputError):
        exchange(MemoryStore(2, 2), Relations(3, 2), np.zeros((0, 2), np.int64), np.zeros((0, 4)),
                 np.array([1, 2]), 0, GossipParams())


@pytest.mark.parametrize("field", ["p_tell", "salience_keep", "p_distort_subject", "value_noise"])
@pytest.mark.parametrize("value", [-0.1, 1.5, float("nan"), "0.5"])
def test_params_refuse_out_of_range(field, value):
    with pytest.raises(NpcInputError):
        GossipParams(**{field: value})


# ------------------------------------------------------------------------------------------ determinism

DRIVER = """
import hashlib, sys
import numpy as np
from numpy.random import Generator, PCG64
from npc.gossip import GossipParams, exchange
from npc.memory import MemoryStore
from npc.social import Relations

seed = int(sys.argv[1])
rng = Generator(PCG64(seed))
n = 300
ids = np.arange(1, n + 1, dtype=np.int64) << 20
store, rel = MemoryStore(n, 8), Relations(n, 16)
params = GossipParams(p_tell=0.6, p_distort_subject=0.2, value_noise=0.3)
for tick in range(40):
    rows = rng.integers(0, n, 20)
    store.remember(rows, rng.integers(1, 7, 20), rng.integers(1, 30, 20), rng.choice(ids, 20),
                   rng.choice(ids, 20), rng.random(20) * 100, rng.random(20) * 100, rng.random(20) * 5,
                   rng.random(20), tick, 0)
    rel.interact(rng.integers(0, n, 50), rng.choice(ids, 50), rng.normal(0, 0.2, 50), rng.random(50) * 0.1, tick)
    pairs = rng.integers(0, n, (150, 2))
    exchange(store, rel, pairs, rng.random((150, 4)), ids, tick, params)
    store.decay(0.5)
    rel.decay(0.5, 0.01)
digest = hashlib.sha256()
for arrays in (store.arrays(), rel.arrays()):
    for key in sorted(arrays):
        digest.update(key.encode())
        digest.update(np.ascontiguousarray(arrays[key]).tobytes())
print(digest.hexdigest(), store.count())
"""


def test_same_seed_same_bytes_in_separate_processes():
    env = dict(os.environ, PYTHONHASHSEED="random")
    outputs = []
    for seed in (5, 5, 6):
        child = subprocess.run([sys.executable, "-c", DRIVER, str(seed)], cwd=ROOT, env=env, capture_output=True,
                               text=True, timeout=300, check=False)
        assert child.returncode == 0, child.stderr
        outputs.append(child.stdout.split())
    assert outputs[0] == outputs[1]
    assert outputs[0][0] != outputs[2][0]
    assert int(outputs[0][1]) > 300  # the stores were busy, not an empty hash
    assert hashlib.sha256(b"").hexdigest() != outputs[0][0]


junk_arrays = st.one_of(
    st.none(), st.integers(-3, 3), st.text(max_size=2),
    st.lists(st.integers(-2, 4), max_size=6).map(np.array),
    st.lists(st.lists(st.integers(-2, 4), min_size=2, max_size=2), max_size=4).map(np.array),
    st.lists(st.lists(st.floats(allow_nan=True), min_size=4, max_size=4), max_size=4).map(np.array),
)


@FAST
@given(junk_arrays | st.just(np.array([[0, 1], [2, 1]])), junk_arrays | st.just(np.zeros((2, 4))),
       junk_arrays | st.just(np.array([7, 8, 9])))
def test_exchange_with_junk_tells_or_refuses(pairs, uniforms, ids):
    store, rel = MemoryStore(3, 2), Relations(3, 2)
    store.remember([0], MemoryKind.RUMOUR, 1, salience=1.0)
    try:
        told = exchange(store, rel, pairs, uniforms, ids, 0, GossipParams(p_tell=1.0))
    except (NpcInputError, TypeError, ValueError) as err:
        assert isinstance(err, NpcInputError), f"{type(err).__name__} escaped: {err}"
        assert store.count() == 1 and not rel.other.any()
        return
    assert told.dtype == np.bool_ and ((store.hops >= 0) & (store.salience <= 1)).all()
