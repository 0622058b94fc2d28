"""worldsim: ids and generations, the entity table, RNG streams, movement kernels against slow references,
player input validation and determinism of ``world_hash`` (in-process and across processes)."""

from __future__ import annotations

import ast
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from worldsim import (
    KIND_NAMES,
    MAX_ROWS,
    PLAYER_SPEED,
    CapacityError,
    CorruptStateError,
    EntityTable,
    InputError,
    Kind,
    RngStreams,
    StaleEntityError,
    World,
    WorldError,
    id_generation,
    id_row,
    make_id,
)
from worldsim.ids import MAX_GENERATION, next_generation
from worldsim.kernels.movement import integrate_positions, select_arrived, steer_wanderers

ROOT = Path(__file__).resolve().parents[1]

# Scripted inputs that depend only on the world's own tick and state, so the same script can be run here,
# in a child process, or resumed after a save/load. Kept as source so the child can exec it verbatim.
DRIVER = '''
import math
from worldsim import Kind, World

def drive(world, until_tick, dt=0.05):
    while world.tick < until_tick:
        t = world.tick
        if t in (0, 30):
            world.spawn_player(None)
        if t == 10:
            world.spawn_player((3.0, -4.0))
        if t == 60:
            world.despawn(int(world.kind_view(Kind.PLAYER)[0][0]))
        if t == 120:
            world.despawn(int(world.kind_view(Kind.NPC)[0][3]))
            world.spawn_player((0.0, 0.0, 1.5))
        ids, _ = world.kind_view(Kind.PLAYER)
        for j, pid in enumerate(ids):
            world.apply_input(int(pid), 2.0 * math.cos(0.05 * t + j), math.sin(0.03 * t * (j + 1)))
        world.step(dt)
    return world

def scripted_hash(seed, ticks=200):
    return drive(World(seed, half_extent=30.0, capacity=256, npc_count=40), ticks).world_hash()
'''
_driver: dict = {}
exec(DRIVER, _driver)
drive = _driver["drive"]
scripted_hash = _driver["scripted_hash"]


# ------------------------------------------------------------------------------------------ ids


def test_id_packing_round_trips_and_never_issues_zero():
    for row, generation in [(0, 1), (5, 7), (MAX_ROWS - 1, MAX_GENERATION)]:
        entity_id = make_id(row, generation)
        assert 0 < entity_id < 2**32
        assert (id_row(entity_id), id_generation(entity_id)) == (row, generation)
    with pytest.raises(ValueError):
        make_id(0, 0)
    with pytest.raises(ValueError):
        make_id(MAX_ROWS, 1)


def test_generation_wraps_to_one_skipping_zero():
    assert next_generation(1) == 2
    assert next_generation(MAX_GENERATION) == 1


# ------------------------------------------------------------------------------- entity table


def test_spawn_uses_lowest_free_row_and_recycled_row_gets_a_new_id():
    table = EntityTable(8)
    a, b, c = (table.spawn(Kind.NPC, (i, 0, 0), 1.0, True) for i in range(3))
    assert [id_row(x) for x in (a, b, c)] == [0, 1, 2]
    table.despawn(b)
    assert table.count == 2
    with pytest.raises(StaleEntityError) as info:
        table.row_of(b)
    assert info.value.entity_id == b
    d = table.spawn(Kind.PLAYER, (9, 9, 0), PLAYER_SPEED, False)
    assert id_row(d) == 1 and d != b and id_generation(d) == id_generation(b) + 1
    assert table.row_of(d) == 1
    with pytest.raises(StaleEntityError):
        table.despawn(b)
    assert table.kind[1] == Kind.PLAYER and not table.wander[1]


def test_row_of_rejects_zero_bogus_and_non_integer_ids():
    table = EntityTable(4)
    live = table.spawn(Kind.NPC, (0, 0, 0), 1.0, False)
    for bad in (0, -1, 2**32 + live, make_id(3, 1), live + 1, "x", 1.5):
        with pytest.raises(StaleEntityError):
            table.row_of(bad)


def test_generation_wrap_on_a_row_still_gives_a_fresh_id():
    table = EntityTable(2)
    old = table.spawn(Kind.NPC, (0, 0, 0), 1.0, False)
    table.generation[0] = MAX_GENERATION
    wrapped = make_id(0, MAX_GENERATION)
    table.despawn(wrapped)
    new = table.spawn(Kind.NPC, (0, 0, 0), 1.0, False)
    assert id_generation(new) == 1 and new == old  # 4095 recycles later the id repeats, as documented
    with pytest.raises(StaleEntityError):
        table.row_of(wrapped)


def test_capacity_limits_and_all_or_nothing_spawn_many():
    with pytest.raises(CapacityError):
        EntityTable(0)
    with pytest.raises(CapacityError):
        EntityTable(MAX_ROWS + 1)
    table = EntityTable(3)
    table.spawn(Kind.NPC, (0, 0, 0), 1.0, False)
    with pytest.raises(CapacityError):
        table.spawn_many(Kind.NPC, np.zeros((3, 3)), np.ones(3), np.ones(3, bool))
    assert table.count == 1 and table.extent == 1
    ids = table.spawn_many(Kind.NPC, np.zeros((2, 3)), np.ones(2), np.ones(2, bool))
    assert ids.dtype == np.uint32 and list(table.rows_of(ids)) == [1, 2]
    with pytest.raises(CapacityError):
        table.spawn(Kind.NPC, (0, 0, 0), 1.0, False)


def test_spawn_validates_kind_and_values():
    table = EntityTable(4)
    with pytest.raises(InputError):
        table.spawn(7, (0, 0, 0), 1.0, False)
    with pytest.raises(InputError):
        table.spawn(Kind.NPC, (0, math.nan, 0), 1.0, False)
    with pytest.raises(InputError):
        table.spawn(Kind.NPC, (0, 0), 1.0, False)
    with pytest.raises(InputError):
        table.spawn(Kind.NPC, (0, 0, 0), -1.0, False)
    assert table.count == 0


def test_rows_of_names_the_first_stale_id():
    table = EntityTable(4)
    ids = table.spawn_many(Kind.NPC, np.zeros((3, 3)), np.ones(3), np.zeros(3, bool))
    table.despawn(int(ids[1]))
    with pytest.raises(StaleEntityError) as info:
        table.rows_of(ids)
    assert info.value.entity_id == int(ids[1])
    assert table.rows_of(np.array([], dtype=np.int64)).shape == (0,)


def test_kinds_have_wire_names():
    assert (Kind.PLAYER, Kind.NPC, Kind.CREATURE, Kind.PROP) == (1, 2, 3, 4)
    assert KIND_NAMES == {Kind.PLAYER: "player", Kind.NPC: "npc", Kind.CREATURE: "creature", Kind.PROP: "prop"}


# ------------------------------------------------------------------------------------ rng


def test_rng_streams_are_seeded_named_and_independent():
    a, b = RngStreams(11), RngStreams(11)
    assert np.array_equal(a.stream("wander").random(5), b.stream("wander").random(5))
    b.stream("other").random(100)  # drawing from another stream does not shift "spawn"
    assert np.array_equal(a.stream("spawn").random(5), b.stream("spawn").random(5))
    assert not np.array_equal(RngStreams(12).stream("spawn").random(5), RngStreams(11).stream("spawn").random(5))
    assert not np.array_equal(a.stream("x").random(5), a.stream("y").random(5))


def test_rng_state_bytes_round_trip_and_reject_garbage():
    source = RngStreams(3)
    source.stream("b").random(7)
    source.stream("a").random(2)
    copy = RngStreams(99)
    copy.load_state_bytes(source.state_bytes())
    assert copy.names() == ["a", "b"] and copy.state_bytes() == source.state_bytes()
    assert np.array_equal(copy.stream("b").random(3), source.stream("b").random(3))
    for garbage in (b"", b"\xff", b"{}", b'[["a", {"bit_generator": "MT19937"}]]', b'[["a", {"bit_generator": "PCG64"}]]'):
        with pytest.raises(CorruptStateError):
            copy.load_state_bytes(garbage)
    with pytest.raises(InputError):
        RngStreams(-1)


# ---------------------------------------------------------------------------- kernels vs refs


def ref_select_arrived(pos, target, wander, alive, radius):
    return [i for i in range(len(alive)) if alive[i] and wander[i]
            and (target[i][0] - pos[i][0]) ** 2 + (target[i][1] - pos[i][1]) ** 2 <= radius * radius]


def ref_steer(pos, vel, speed, target, wander, alive, rows, new_targets, dt):
    target, vel = [list(t) for t in target], [list(v) for v in vel]
    for row, goal in zip(rows, new_targets, strict=True):
        target[row] = list(goal)
    for i in range(len(alive)):
        if alive[i] and wander[i]:
            dx, dy = target[i][0] - pos[i][0], target[i][1] - pos[i][1]
            distance = math.hypot(dx, dy)
            step_speed = min(speed[i], distance / dt) if distance > 0 else 0.0
            direction = (dx / distance, dy / distance) if distance > 0 else (0.0, 0.0)
            vel[i] = [direction[0] * step_speed, direction[1] * step_speed, 0.0]
    return target, vel


def ref_integrate(pos, vel, alive, dt, half):
    out = [list(p) for p in pos]
    for i in range(len(alive)):
        if alive[i]:
            out[i] = [max(-half, min(half, pos[i][0] + vel[i][0] * dt)),
                      max(-half, min(half, pos[i][1] + vel[i][1] * dt)),
                      pos[i][2] + vel[i][2] * dt]
    return out


coords = st.floats(-60, 60, allow_nan=False, allow_infinity=False)


@st.composite
def movement_cases(draw):
    n = draw(st.integers(0, 12))
    pos = draw(hnp.arrays(np.float64, (n, 3), elements=coords))
    target = draw(hnp.arrays(np.float64, (n, 2), elements=coords))
    on_target = draw(hnp.arrays(np.bool_, n))
    target[on_target] = pos[on_target, :2]
    near = draw(hnp.arrays(np.bool_, n))
    target[near] = pos[near, :2] + 0.3
    return {
        "pos": pos,
        "vel": draw(hnp.arrays(np.float64, (n, 3), elements=st.floats(-10, 10))),
        "speed": draw(hnp.arrays(np.float64, n, elements=st.floats(0, 20))),
        "target": target,
        "wander": draw(hnp.arrays(np.bool_, n)),
        "alive": draw(hnp.arrays(np.bool_, n)),
        "rows": np.array(sorted(draw(st.sets(st.integers(0, max(n - 1, 0)), max_size=n))), dtype=np.int64),
        "dt": draw(st.floats(1e-3, 1.0)),
        "half": draw(st.floats(1.0, 80.0)),
    }


@settings(deadline=None, max_examples=200)
@given(movement_cases(), st.floats(0.0, 5.0))
def test_select_arrived_matches_reference(case, radius):
    out = np.full(len(case["alive"]), -1, dtype=np.int64)
    k = select_arrived(case["pos"], case["target"], case["wander"], case["alive"], radius, out)
    assert list(out[:k]) == ref_select_arrived(case["pos"], case["target"], case["wander"], case["alive"], radius)


@settings(deadline=None, max_examples=200)
@given(movement_cases(), st.data())
def test_steer_wanderers_matches_reference(case, data):
    rows = case["rows"]
    new_targets = data.draw(hnp.arrays(np.float64, (len(rows), 2), elements=coords))
    want_target, want_vel = ref_steer(case["pos"], case["vel"], case["speed"], case["target"], case["wander"],
                                      case["alive"], rows, new_targets, case["dt"])
    vel, target = case["vel"].copy(), case["target"].copy()
    steer_wanderers(case["pos"], vel, case["speed"], target, case["wander"], case["alive"], rows, new_targets,
                    case["dt"])
    np.testing.assert_array_equal(target, np.array(want_target).reshape(-1, 2))
    np.testing.assert_allclose(vel, np.array(want_vel).reshape(-1, 3), rtol=1e-12, atol=1e-12)


@settings(deadline=None, max_examples=200)
@given(movement_cases())
def test_integrate_positions_matches_reference(case):
    pos = case["pos"].copy()
    integrate_positions(pos, case["vel"], case["alive"], case["dt"], case["half"])
    want = ref_integrate(case["pos"], case["vel"], case["alive"], case["dt"], case["half"])
    np.testing.assert_allclose(pos, np.array(want).reshape(-1, 3), rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------------- world


def test_npcs_stay_in_the_world_and_walk_at_most_their_speed():
    world = World(5, half_extent=20.0, capacity=128, npc_count=100, npc_speed=3.0)
    ids, before = world.kind_view(Kind.NPC)
    for _ in range(100):
        world.step(0.1)
        _, after = world.kind_view(Kind.NPC)
        step = np.hypot(*(after - before)[:, :2].T)
        assert (step <= 3.0 * 0.1 + 1e-9).all()
        assert (np.abs(after[:, :2]) <= 20.0).all()
        before = after
    assert np.array_equal(world.kind_view(Kind.NPC)[0], ids)
    assert world.tick == 100


def test_player_input_moves_the_avatar_and_is_clamped_to_unit_length():
    world = World(1, half_extent=10.0)
    player = world.spawn_player((0.0, 0.0))
    world.apply_input(player, 0.3, 0.4)
    np.testing.assert_allclose(world.entities.vel[world.entities.row_of(player)], [1.5, 2.0, 0.0])
    world.apply_input(player, 30.0, 40.0)
    np.testing.assert_allclose(world.entities.vel[world.entities.row_of(player)], [3.0, 4.0, 0.0])
    world.step(1.0)
    np.testing.assert_allclose(world.positions_of([player]), [[3.0, 4.0, 0.0]])
    for _ in range(10):
        world.step(1.0)
    np.testing.assert_allclose(world.positions_of([player]), [[10.0, 10.0, 0.0]])  # clamped at the walls


def test_apply_input_rejects_bad_values_and_ids_and_the_world_keeps_stepping():
    world = World(2, npc_count=3)
    player = world.spawn_player()
    npc = int(world.kind_view(Kind.NPC)[0][0])
    gone = world.spawn_player()
    world.despawn(gone)
    for move in [(math.nan, 0.0), (0.0, math.inf), (-math.inf, 1.0), ("a", 0.0), (None, 0.0)]:
        with pytest.raises(InputError):
            world.apply_input(player, *move)
    for bad_id, error in [(gone, StaleEntityError), (0, StaleEntityError), (2**40, StaleEntityError),
                          (npc, InputError), ("1", InputError), (True, InputError), (1.0, InputError)]:
        with pytest.raises(error):
            world.apply_input(bad_id, 1.0, 0.0)
    assert isinstance(StaleEntityError(1), WorldError) and isinstance(InputError(), WorldError)
    hashes = set()
    for _ in range(5):
        world.step(0.05)
        hashes.add(world.world_hash())
    assert len(hashes) == 5 and world.tick == 5
    with pytest.raises(InputError):
        world.step(0.0)
    with pytest.raises(InputError):
        world.step(math.nan)


def test_spawn_player_validates_position():
    world = World(4, half_extent=5.0)
    for bad in [(6.0, 0.0), (0.0, math.nan), (1.0,), (1, 2, 3, 4), "xy"]:
        with pytest.raises(InputError):
            world.spawn_player(bad)
    assert world.entities.count == 0


def test_kind_view_returns_sorted_ids_and_positions():
    world = World(8, capacity=16, npc_count=4)
    npcs = world.kind_view(Kind.NPC)[0]
    world.despawn(int(npcs[0]))
    player = world.spawn_player((1.0, 2.0))  # reuses row 0 with a higher generation: largest id
    ids, pos = world.kind_view(Kind.NPC)
    assert ids.dtype == np.int64 and pos.shape == (3, 3) and list(ids) == sorted(ids)
    np.testing.assert_array_equal(pos, world.positions_of(ids))
    pids, ppos = world.kind_view(Kind.PLAYER)
    assert list(pids) == [player] and ppos.tolist() == [[1.0, 2.0, 0.0]]
    with pytest.raises(StaleEntityError):
        world.positions_of([int(npcs[0])])


def test_same_seed_and_inputs_give_the_same_hash_and_different_seeds_differ():
    first = scripted_hash(7)
    assert scripted_hash(7) == first
    assert scripted_hash(8) != first
    assert World(7).world_hash() != World(8).world_hash()


def test_world_hash_is_identical_in_a_separate_process():
    env = {**os.environ, "PYTHONHASHSEED": "4242", "PYTHONPATH": str(ROOT)}
    child = subprocess.run([sys.executable, "-c", DRIVER + "\nprint(scripted_hash(7))"], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=600, check=False)
    assert child.returncode == 0, child.stderr
    assert child.stdout.strip() == scripted_hash(7)


def test_worldsim_imports_nothing_of_ours():
    ours = {"protocol", "server", "npc", "narrative", "assets_gen", "analytics", "clients"}
    for path in (ROOT / "worldsim").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            assert not {name.split(".")[0] for name in names} & ours, f"{path} imports {names}"
