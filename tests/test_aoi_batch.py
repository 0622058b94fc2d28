"""The batched AOI kernel gives, for every player, exactly the view and frame of the per-client path."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from server.interest import SpatialGrid
from server.snapshots import SnapshotFrames, TickFrame
from worldsim import Kind, World


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 1000), players=st.integers(1, 30), npcs=st.integers(0, 300),
       radius=st.floats(1.0, 80.0), steps=st.integers(1, 4))
def test_batch_equals_per_client_path(seed, players, npcs, radius, steps) -> None:
    world = World(seed=seed, half_extent=60.0, npc_count=npcs)
    avatars = [world.spawn_player() for _ in range(players)]
    frames = SnapshotFrames()
    grid = SpatialGrid(radius)
    previous = TickFrame(world, grid, need_grid=True)
    old_views = [previous.around(previous.row_of(Kind.PLAYER, e), radius) for e in avatars]
    for i, e in enumerate(avatars):
        world.apply_input(e, np.cos(i), np.sin(i))
    for _ in range(steps):
        world.step(0.05)
    frame = TickFrame(world, grid, need_grid=True)
    rows = frame.rows_of(Kind.PLAYER, np.asarray(avatars))
    baselines = [old_views[i] if i % 3 else None for i in range(players)]  # some full, some deltas
    blocks, views = frames.batch.encode(frame, rows, radius, baselines)
    for i, entity in enumerate(avatars):
        expected = frame.around(frame.row_of(Kind.PLAYER, entity), radius)
        assert np.array_equal(views[i][0], expected[0]) and np.array_equal(views[i][1], expected[1])
        baseline = baselines[i]
        [reference] = frames.frames(9, 1.5, 7, expected, 8 if baseline is not None else 0, baseline)
        got = frames.finish(9, 1.5, 7, blocks[i], views[i], 8, baseline)
        assert got == [reference]
