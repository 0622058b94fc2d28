"""``npc.social``: relation kernels against a slow pure-Python reference, clamps and crossing flags, density,
the networkx mirror and its queries, faction standing, saving.

``ReferenceRelations`` follows ``npc/kernels/social.py`` one change at a time with Python lists of dicts;
``tests/test_npc_gossip.py`` reuses it.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from npc.errors import NpcError, NpcInputError
from npc.kernels.social import interact_batch
from npc.social import (
    COLUMNS,
    FOE,
    FRIEND,
    FactionStanding,
    Relations,
    communities,
    friends,
    social_path,
)

FAST = settings(deadline=None, max_examples=80, suppress_health_check=[HealthCheck.too_slow])
F32 = np.float32


class ReferenceRelations:
    """Slow reference: per row a list of ``slots`` entries, each None or a dict of the columns."""

    def __init__(self, n: int, slots: int) -> None:
        self.rows: list[list[dict | None]] = [[None] * slots for _ in range(n)]

    def touch(self, r: int, other: int, d_affinity, d_trust, tick: int) -> int:
        row = self.rows[r]
        s = next((s for s, cur in enumerate(row) if cur is not None and cur["other"] == other), None)
        if s is None:
            s = next((s for s, cur in enumerate(row) if cur is None), None)
            if s is None:
                s = min(range(len(row)), key=lambda s: (abs(row[s]["affinity"]), row[s]["meetings"], s))
            row[s] = {"other": other, "affinity": F32(0), "trust": F32(0), "meetings": 0, "last": 0}
        cur = row[s]
        before = cur["affinity"]
        after = F32(min(F32(1), max(F32(-1), F32(before + F32(d_affinity)))))
        cur["affinity"] = after
        cur["trust"] = F32(min(F32(1), max(F32(0), F32(cur["trust"] + F32(d_trust)))))
        cur["meetings"] += 1
        cur["last"] = tick
        if before < FRIEND <= after:
            return 1
        if before > FOE >= after:
            return -1
        return 0

    def decay(self, fa, ft, forget_below) -> int:
        forgotten = 0
        for row in self.rows:
            for s, cur in enumerate(row):
                if cur is None:
                    continue
                a, t = F32(cur["affinity"] * fa), F32(cur["trust"] * ft)
                if abs(a) < forget_below and t < forget_below:
                    row[s] = None
                    forgotten += 1
                else:
                    cur["affinity"], cur["trust"] = a, t
        return forgotten

    def assert_matches(self, rel: Relations) -> None:
        for name, dtype in COLUMNS.items():
            expected = np.zeros(rel.other.shape, dtype=dtype)
            for r, row in enumerate(self.rows):
                for s, cur in enumerate(row):
                    if cur is not None:
                        expected[r, s] = cur[name]
            np.testing.assert_array_equal(getattr(rel, name), expected, err_msg=name)


changes = st.tuples(
    st.integers(0, 3),                                        # row (clipped to n)
    st.integers(1, 7),                                        # other entity id
    st.sampled_from([-0.6, -0.3, -0.1, 0.0, 0.05, 0.1, 0.3, 0.6, 1.5, -1.5]),
    st.sampled_from([-0.2, 0.0, 0.1, 0.5, 2.0]),
)


def apply_changes(n: int, slots: int, batches: list[list[tuple]]):
    rel, ref = Relations(n, slots), ReferenceRelations(n, slots)
    for tick, batch in enumerate(batches):
        rows = np.array([c[0] % n for c in batch], dtype=np.int64)
        crossed = rel.interact(rows, np.array([c[1] for c in batch], dtype=np.int64),
                               np.array([c[2] for c in batch]), np.array([c[3] for c in batch]), tick)
        expected = [ref.touch(c[0] % n, c[1], c[2], c[3], tick) for c in batch]
        assert crossed.tolist() == expected
    return rel, ref


@FAST
@given(st.integers(1, 4), st.integers(1, 4), st.lists(st.lists(changes, max_size=30), min_size=1, max_size=4))
def test_interact_equals_reference_with_clamps(n, slots, batches):
    rel, ref = apply_changes(n, slots, batches)
    ref.assert_matches(rel)
    assert (rel.affinity >= -1).all() and (rel.affinity <= 1).all()
    assert (rel.trust >= 0).all() and (rel.trust <= 1).all()
    for r in range(n):  # one slot per other at most
        held = rel.other[r][rel.other[r] != 0].tolist()
        assert len(held) == len(set(held)) <= slots


@FAST
@given(st.integers(1, 4), st.integers(1, 4), st.lists(st.lists(changes, max_size=30), min_size=1, max_size=3),
       st.floats(0, 100), st.floats(0, 2), st.sampled_from([0.0, 0.01, 0.2]))
def test_decay_equals_reference_and_relaxes_towards_zero(n, slots, batches, hours, rate, forget_below):
    rel, ref = apply_changes(n, slots, batches)
    before_aff, before_trust = np.abs(rel.affinity).copy(), rel.trust.copy()
    forgotten = rel.decay(hours, rate, forget_below=forget_below)
    fa, ft = F32(math.exp(-rate * hours)), F32(math.exp(-rate / 4 * hours))
    assert forgotten == ref.decay(fa, ft, forget_below)
    ref.assert_matches(rel)
    assert (np.abs(rel.affinity) <= before_aff).all() and (rel.trust <= before_trust).all()


def test_crossing_flags_fire_once_at_the_thresholds():
    rel = Relations(1, 4)
    steps = [0.3, 0.29, 0.01, 0.1, -0.2, 0.2, -1.5, 0.1, -0.3]
    got = [int(rel.interact([0], [9], [d])[0]) for d in steps]
    # 0.3, 0.59, 0.6 (friends), 0.7, 0.5, 0.7 (friends again), -0.8 (feud), -0.7, -1.0 (already foes)
    assert got == [0, 0, 1, 0, 0, 1, -1, 0, 0]
    assert rel.get(0, 9)[0] == pytest.approx(-1.0)
    assert rel.get(0, 8) is None and rel.get(0, 0) is None


def test_full_row_evicts_the_weakest_tie():
    rel = Relations(1, 3)
    rel.interact([0, 0, 0, 0], [11, 12, 13, 12], [0.5, 0.1, -0.1, 0.0])  # 12: |0.1|, 2 meetings; 13: |0.1|, 1
    rel.interact([0], [14], [0.2])
    assert sorted(rel.other[0].tolist()) == [11, 12, 14]
    assert [t["other"] for t in rel.of(0)] == [11, 14, 12]


@pytest.mark.parametrize("bad", [
    {"rows": [3]}, {"rows": [[0]]}, {"rows": [0.0]}, {"others": [0]}, {"others": [-5]},
    {"d_affinity": [float("nan")]}, {"d_trust": [float("inf")]}, {"others": [1, 2]},
])
def test_interact_refuses_bad_input(bad):
    args = {"rows": [0], "others": [5], "d_affinity": [0.1], "d_trust": [0.0]} | bad
    rel = Relations(3, 2)
    with pytest.raises(NpcInputError):
        rel.interact(args["rows"], args["others"], args["d_affinity"], args["d_trust"])
    assert not rel.other.any()


def reference_density(rel: Relations, ids: list[int], threshold: float) -> float:
    live = [e for e in ids if e > 0]
    row_of = {e: i for i, e in enumerate(ids) if e > 0}
    edges = 0
    for a, b in itertools.combinations(live, 2):
        ab, ba = rel.get(row_of[a], b), rel.get(row_of[b], a)
        if (ab and ab[0] >= F32(threshold)) or (ba and ba[0] >= F32(threshold)):
            edges += 1
    return 0.0 if len(live) < 2 else edges / (len(live) * (len(live) - 1) / 2)


@FAST
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(1, 7), st.floats(-1, 1)), max_size=40),
       st.lists(st.booleans(), min_size=6, max_size=6), st.sampled_from([0.0, 0.3, 0.6]))
def test_density_and_graph_match_a_pairwise_count(ties, alive, threshold):
    ids = [(i + 1) if alive[i] else 0 for i in range(6)]  # entity 7 is never an NPC (a player)
    rel = Relations(6, 4)
    for row, other, d in ties:
        rel.interact([row], [other], [d])
    expected = reference_density(rel, ids, threshold)
    assert rel.density(np.array(ids), threshold) == pytest.approx(expected)
    # the same through a live mask: dead rows keep their entity id
    all_ids = np.arange(1, 7)
    assert rel.density(all_ids, threshold, live=np.array(alive)) == pytest.approx(expected)
    masked = rel.to_networkx(all_ids, {}, threshold, live=np.array(alive))
    graph = rel.to_networkx(np.array(ids), {e: {"name": f"n{e}"} for e in ids if e}, threshold)
    assert sorted(masked.nodes) == sorted(graph.nodes) and sorted(masked.edges) == sorted(graph.edges)
    live = sum(1 for e in ids if e)
    assert graph.number_of_nodes() == live
    if live >= 2:
        assert graph.number_of_edges() == pytest.approx(expected * live * (live - 1) / 2)
    for a, b, data in graph.edges(data=True):
        sides = [t for t in (rel.get(ids.index(a), b), rel.get(ids.index(b), a)) if t]
        assert data["affinity"] == pytest.approx(np.mean([s[0] for s in sides]))
        assert -1 <= data["affinity"] <= 1 and 0 <= data["trust"] <= 1


def small_town() -> tuple[Relations, np.ndarray]:
    """Two cliques of four joined by one lukewarm tie, and a direct but cold tie between their ends."""
    ids = np.arange(1, 9, dtype=np.int64) * 100
    rel = Relations(8, 8)
    for group in ((0, 1, 2, 3), (4, 5, 6, 7)):
        for a, b in itertools.permutations(group, 2):
            rel.interact([a], [ids[b]], [0.9])
    rel.interact([3, 4], [ids[4], ids[3]], [0.4, 0.4])
    rel.interact([0], [ids[7]], [0.31])
    return rel, ids


def test_graph_queries_friends_path_communities():
    rel, ids = small_town()
    graph = rel.to_networkx(ids, {int(e): {"role": "farmer"} for e in ids}, 0.3)
    assert graph.nodes[100]["role"] == "farmer"
    assert friends(graph, 100, k=3) == [200, 300, 400]
    assert friends(graph, 400, k=10)[-1] == 500
    # the cold direct tie costs 0.69; through friends 0.1 + 0.6 + 0.1 + 0.1 = 0.9 -- the direct one wins
    assert social_path(graph, 100, 800) == [100, 800]
    assert social_path(graph, 200, 700) == [200, 400, 500, 700]
    split = communities(graph, seed=3)
    assert split == [[100, 200, 300, 400], [500, 600, 700, 800]]
    assert communities(graph, seed=3) == split
    graph.add_node(999)
    assert social_path(graph, 100, 999) == []
    with pytest.raises(NpcInputError):
        friends(graph, 12345)


def test_faction_standing():
    factions = FactionStanding(["town", "bandits", "wolves"], hostile=[[0, 1, 0], [0, 0, 0], [0, 0, 0]])
    assert factions.hostile("town", "bandits") and factions.hostile(1, 0)
    assert not factions.hostile("town", "wolves")
    assert factions.adjust("town", "bandits", 0.75) == -0.25
    assert not factions.hostile("bandits", "town")
    assert factions.adjust(0, 2, -5.0) == -1.0 and factions.standing[2, 0] == -1.0
    assert factions.hostility().tolist() == [[False, False, True], [False, False, False], [True, False, False]]
    copy = FactionStanding(["town", "bandits", "wolves"])
    copy.load_arrays(factions.arrays())
    np.testing.assert_array_equal(copy.standing, factions.standing)
    for bad in ({}, {"faction_standing": np.zeros((2, 2), np.float32)},
                {"faction_standing": np.zeros((3, 3), np.float64)},
                {"faction_standing": np.triu(np.ones((3, 3), np.float32))}):
        with pytest.raises(NpcError):
            copy.load_arrays(bad)
    with pytest.raises(NpcInputError):
        factions.adjust("town", "elves", 0.1)
    with pytest.raises(NpcInputError):
        factions.adjust("town", "wolves", float("nan"))
    with pytest.raises(NpcInputError):
        FactionStanding(["a", "a"])


@FAST
@given(st.integers(1, 4), st.integers(1, 4), st.lists(st.lists(changes, max_size=30), min_size=1, max_size=3))
def test_arrays_round_trip(n, slots, batches):
    rel, _ = apply_changes(n, slots, batches)
    other = Relations(0, 1)
    other.load_arrays(rel.arrays())
    for key, arr in rel.arrays().items():
        np.testing.assert_array_equal(other.arrays()[key], arr)
    assert other.of(0) == rel.of(0)


def test_load_arrays_refuses_bad_saves():
    rel = Relations(2, 2)
    rel.interact([0], [5], [0.5])
    saved = rel.arrays()
    for data in ({k: v for k, v in saved.items() if k != "relations_last"},
                 saved | {"relations_affinity": np.full((2, 2), 3.0, np.float32)},
                 saved | {"relations_trust": np.full((2, 2), -1.0, np.float32)},
                 saved | {"relations_meetings": saved["relations_meetings"].astype(np.int64)},
                 saved | {"relations_other": np.zeros((2, 3), np.int64)}):
        target = Relations(2, 2)
        with pytest.raises(NpcError):
            target.load_arrays(data)
        assert not target.other.any()


def test_forget_entity_and_rows():
    rel, ids = small_town()
    assert rel.forget_entity(100) == 3
    assert rel.get(1, 100) is None and rel.get(0, 200) is not None
    rel.forget_rows([0])
    assert rel.of(0) == []


@settings(deadline=None, max_examples=15)
@given(st.integers(0, 2**32 - 1), st.sampled_from([600, 5000]), st.sampled_from([1, 4]))
def test_large_batches_grouped_by_row_give_the_same_relations(seed, n, slots):
    """``interact`` applies big batches grouped by row (counting sort): same result as the kernel in input order."""
    rng = np.random.default_rng(seed)
    m = 6000
    rel, plain = Relations(n, slots), Relations(n, slots)
    for tick in range(2):
        args = (rng.integers(0, n, m), rng.integers(1, 12, m), rng.choice(np.array([-0.6, 0.1, 0.6], np.float32), m),
                rng.random(m).astype(np.float32))
        crossed = rel.interact(*args, tick)
        expected = np.zeros(m, dtype=np.int8)
        interact_batch(*plain.columns(), *args, np.int64(tick), expected)
        np.testing.assert_array_equal(crossed, expected)
    for key, arr in rel.arrays().items():
        np.testing.assert_array_equal(arr, plain.arrays()[key])
    assert rel.other.any()
