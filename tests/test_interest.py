"""The Numba AOI grid query equals a brute-force distance filter."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from server.interest import SpatialGrid


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(0, 400), cell=st.floats(0.5, 100.0),
       radius=st.floats(0.0, 150.0), center=st.tuples(st.floats(-300, 300), st.floats(-300, 300)),
       extent=st.sampled_from([1.0, 50.0, 500.0]))
def test_query_equals_brute_force(seed, n, cell, radius, center, extent) -> None:
    pos = np.random.default_rng(seed).uniform(-extent, extent, size=(n, 3))
    grid = SpatialGrid(cell)
    grid.rebuild(pos)
    got = grid.query(center[0], center[1], radius)
    d = pos[:, :2] - center
    expected = np.nonzero((d * d).sum(axis=1) <= radius * radius)[0]
    assert np.array_equal(got, expected)


def test_points_on_a_cell_edge_and_far_away_are_found() -> None:
    pos = np.array([[0.0, 0.0, 0.0], [50.0, 0.0, 0.0], [-50.0, 0.0, 0.0], [1e6, 1e6, 0.0]])
    grid = SpatialGrid(50.0)
    grid.rebuild(pos)
    assert grid.query(0.0, 0.0, 50.0).tolist() == [0, 1, 2]
    assert grid.query(1e6, 1e6, 1.0).tolist() == [3]
