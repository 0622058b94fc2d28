"""Level generators: playability and WFC pattern properties under hypothesis, targets, bad parameters."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assets_gen.errors import GenerationFailed, ParameterError
from assets_gen.levels import Tile, check_playable, generate_level
from assets_gen.levels.generate import default_sample
from assets_gen.levels.paths import bfs_distances
from assets_gen.levels.tiles import from_rows
from assets_gen.levels.wfc import wfc_layout
from assets_gen.params import LEVEL_ALGORITHMS, level_params

FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(algorithm=st.sampled_from(LEVEL_ALGORITHMS), seed=st.integers(0, 2**64 - 1),
       keys=st.integers(0, 3), enemies=st.integers(0, 12), width=st.integers(16, 48), height=st.integers(16, 48))
def test_every_level_is_playable_and_placements_are_on_floor(algorithm, seed, keys, enemies, width, height) -> None:
    level = generate_level(level_params({"algorithm": algorithm, "seed": seed, "width": width, "height": height,
                                         "targets": {"keys": keys, "enemies": enemies}}))
    assert level.playability.playable, level.playability.problems
    cells = [(p["y"], p["x"]) for p in level.placements]
    assert len(cells) == len(set(cells)), "two placements share a tile"
    for item in level.placements:
        expected = Tile.DOOR if item["type"] == "door" else Tile.FLOOR
        assert level.tiles[item["y"], item["x"]] == expected, item
    # the critical path is a real walk from the start to the exit with every door open
    start = next(p for p in level.placements if p["type"] == "start")
    goal = next(p for p in level.placements if p["type"] == "exit")
    path = level.critical_path
    assert path[0] == (start["x"], start["y"]) and path[-1] == (goal["x"], goal["y"])
    assert all(abs(a[0] - b[0]) + abs(a[1] - b[1]) == 1 for a, b in zip(path, path[1:], strict=False))
    assert level.report["keys"]["placed"] == len([p for p in level.placements if p["type"] == "key"])


def test_playability_check_reports_a_broken_level() -> None:
    level = generate_level(level_params({"algorithm": "bsp", "seed": 3, "targets": {"keys": 1}}))
    assert level.playability.playable
    goal = next(p for p in level.placements if p["type"] == "exit")
    walled = level.tiles.copy()
    for dr, dc in ((0, 1), (1, 0), (0, -1), (-1, 0)):  # brick the exit in
        r, c = goal["y"] + dr, goal["x"] + dc
        if 0 <= r < walled.shape[0] and 0 <= c < walled.shape[1]:
            walled[r, c] = Tile.WALL
    result = check_playable(walled, level.placements)
    assert not result.playable and not result.exit_reachable and "the exit cannot be reached" in result.problems
    key_less = [p for p in level.placements if p["type"] != "key"]
    door = next(p for p in level.placements if p["type"] == "door")
    result = check_playable(level.tiles, key_less)
    if level.report["keys"]["doors_gating"]:
        assert not result.exit_reachable, "a gating door without its key must block the exit"
    assert door["key"] not in result.doors_opened


def _windows(tiles: np.ndarray, n: int) -> set[bytes]:
    h, w = tiles.shape
    return {np.ascontiguousarray(tiles[r:r + n, c:c + n]).tobytes() for r in range(h - n + 1) for c in range(w - n + 1)}


@FAST
@given(seed=st.integers(0, 2**32), n=st.integers(2, 3), width=st.integers(12, 40), height=st.integers(12, 40))
def test_wfc_output_contains_only_sample_patterns(seed, n, width, height) -> None:
    sample = default_sample()
    tiles, stats = wfc_layout(width, height, sample, n, np.random.Generator(np.random.PCG64(seed)))
    assert tiles.shape == (height, width)
    assert _windows(tiles, n) <= _windows(sample, n)
    assert stats["patterns"] == len(_windows(sample, n))


@settings(max_examples=20, deadline=None)
@given(rows=st.lists(st.text(alphabet="#.", min_size=6, max_size=6), min_size=6, max_size=6), seed=st.integers(0, 99))
def test_wfc_on_arbitrary_samples_is_faithful_or_fails_typed(rows, seed) -> None:
    sample = from_rows(rows)
    try:
        tiles, _stats = wfc_layout(16, 16, sample, 2, np.random.Generator(np.random.PCG64(seed)), attempts=2,
                                   max_backtracks=200)
    except GenerationFailed as exc:
        assert "wfc" in str(exc)
        return
    assert _windows(tiles, 2) <= _windows(sample, 2)


BACKTRACKING_SAMPLE = ("###########", "#..#####..#", "####..#.###", "####.###..#", "#..##.#####", "#..###.####",
                       "####..##.##", "##..#...###", "####.##.###", "###..##...#", "###########")
"""A sample whose 3x3 patterns force contradictions the solver must back out of (the bundled sample no
longer does: full arc-consistent propagation avoids them)."""


def test_wfc_backtracks_on_contradictions() -> None:
    sample = from_rows(BACKTRACKING_SAMPLE)
    used = 0
    for seed in range(6):
        tiles, stats = wfc_layout(24, 24, sample, 3, np.random.Generator(np.random.PCG64(seed)), attempts=1)
        assert _windows(tiles, 3) <= _windows(sample, 3)
        used += stats["backtracks"]
    assert used > 0, "this sample is expected to hit (and recover from) contradictions"


def test_path_length_target_is_met_when_the_layout_allows() -> None:
    for target in (10, 25, 40):
        level = generate_level(level_params({"algorithm": "caves", "seed": 11, "width": 40, "height": 40,
                                             "targets": {"path_length": target}}))
        report = level.report["path_length"]
        if report["longest_possible"] >= target:
            assert report["achieved"] == target
        assert len(level.critical_path) - 1 == report["achieved"]


def test_enemies_follow_a_rising_curve() -> None:
    early = late = 0.0
    for seed in range(8):
        level = generate_level(level_params({"algorithm": "bsp", "seed": seed, "width": 48, "height": 48,
                                             "curve": "linear", "targets": {"enemies": 20}}))
        for item in level.placements:
            if item["type"] == "enemy":
                early += item["progress"] < 0.5
                late += item["progress"] >= 0.5
                assert item["power"] >= 1.0
        assert level.report["enemies"] == {"target": 20, "placed": 20}
    assert late > early


@pytest.mark.parametrize(("params", "param", "why"), [
    ({"width": -3}, "width", "[16, 256]"),
    ({"algorithm": "maze"}, "algorithm", "unknown value 'maze'"),
    ({"targets": {"enemies": 500}}, "targets", "placements"),
    ({"targets": {"keys": 7}}, "targets.keys", "[0, 6]"),
    ({"targets": {"path_length": 10_000}}, "targets.path_length", "cannot fit"),
    ({"curve": "zigzag"}, "curve", "unknown curve"),
    ({"curve": [0.5, 2.0]}, "curve", "numbers in [0, 1]"),
    ({"colour": "red"}, "colour", "unknown parameter"),
    ({"sample": ["#.", "..", "##"]}, "sample[0]", "same length"),
])
def test_bad_level_parameters_name_the_parameter(params, param, why) -> None:
    with pytest.raises(ParameterError) as info:
        level_params(params)
    assert info.value.param == param and why in str(info.value)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.sampled_from(["width", "height", "algorithm", "seed", "difficulty", "curve", "targets",
                                        "pattern_size", "sample", "bogus"]),
                       st.one_of(st.none(), st.integers(-10**6, 10**6), st.floats(allow_nan=True), st.text(max_size=5),
                                 st.lists(st.integers(-2, 2), max_size=3), st.dictionaries(st.text(max_size=4),
                                                                                          st.integers(), max_size=2))))
def test_arbitrary_level_params_are_accepted_or_refused_with_parameter_error(params) -> None:
    try:
        level_params(params)
    except ParameterError as exc:
        assert exc.param and exc.reason


def test_bfs_matches_a_slow_reference() -> None:
    tiles = generate_level(level_params({"algorithm": "caves", "seed": 2})).tiles
    passable = tiles == Tile.FLOOR
    start = tuple(np.argwhere(passable)[0])
    fast = bfs_distances(passable, *start)
    slow = np.full(tiles.shape, -1)
    slow[start] = 0
    frontier = [start]
    while frontier:
        nxt = []
        for r, c in frontier:
            for rr, cc in ((r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)):
                if 0 <= rr < tiles.shape[0] and 0 <= cc < tiles.shape[1] and passable[rr, cc] and slow[rr, cc] < 0:
                    slow[rr, cc] = slow[r, c] + 1
                    nxt.append((rr, cc))
        frontier = nxt
    assert (fast == slow).all()
