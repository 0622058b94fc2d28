"""World saves: exact resume, atomic writes that never clobber the previous save, and every damaged file
rejected with a ``SaveError`` that names the file and the cause."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from worldsim import FORMAT_VERSION, Kind, SaveError, World
from worldsim import saves as save_format


def drive(world: World, until_tick: int, dt: float = 0.05) -> World:
    """Scripted inputs derived from the world's own tick and state, so a resumed world gets the same ones."""
    while world.tick < until_tick:
        t = world.tick
        if t % 40 == 0:
            world.spawn_player(None)
        if t % 70 == 69:
            world.despawn(int(world.kind_view(Kind.PLAYER)[0][0]))
        if t == 90:
            world.despawn(int(world.kind_view(Kind.NPC)[0][-1]))
        ids, _ = world.kind_view(Kind.PLAYER)
        for j, pid in enumerate(ids):
            world.apply_input(int(pid), math.sin(0.1 * t + j), 1.5 * math.cos(0.07 * t))
        world.step(dt)
    return world


def small_world(seed: int = 21) -> World:
    return World(seed, half_extent=25.0, capacity=64, npc_count=12)


@pytest.fixture(scope="module")
def good_save() -> bytes:
    return drive(small_world(), 30).to_bytes()


def test_round_trip_preserves_the_hash(tmp_path):
    world = drive(small_world(), 50)
    assert World.from_bytes(world.to_bytes()).world_hash() == world.world_hash()
    path = tmp_path / "world.save"
    world.save(path)
    loaded = World.load(path)
    assert loaded.world_hash() == world.world_hash()
    assert (loaded.tick, loaded.seed, loaded.half_extent) == (50, 21, 25.0)
    assert [p.name for p in tmp_path.iterdir()] == ["world.save"]  # no temp file left behind


@pytest.mark.parametrize("save_tick", [0, 1, 69, 100])
def test_save_load_continue_equals_an_uninterrupted_run(tmp_path, save_tick):
    total = 200
    uninterrupted = drive(World(3, half_extent=30.0, capacity=256, npc_count=60), total).world_hash()
    first = drive(World(3, half_extent=30.0, capacity=256, npc_count=60), save_tick)
    path = tmp_path / "resume.save"
    first.save(path)
    del first
    resumed = drive(World.load(path), total)
    assert resumed.tick == total
    assert resumed.world_hash() == uninterrupted


def test_resumed_world_reuses_rows_and_ids_like_the_original():
    world = drive(small_world(), 75)  # a player and an NPC have despawned: free rows exist
    copy = World.from_bytes(world.to_bytes())
    assert world.entities.extent == copy.entities.extent
    assert world.spawn_player((1.0, 1.0)) == copy.spawn_player((1.0, 1.0))


# ---------------------------------------------------------------------------------- damage


def test_empty_garbage_and_truncated_files_name_the_cause(tmp_path, good_save):
    cases = {
        "empty.save": (b"", "empty"),
        "garbage.save": (b"hello, this is not a save file at all", "not a Worldloom save"),
        "short.save": (good_save[:5], "truncated"),
        "header-only.save": (good_save[:20], "truncated"),
        "cut.save": (good_save[:-1], "truncated"),
        "long.save": (good_save + b"\0", "trailing"),
    }
    for name, (data, cause) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(SaveError) as info:
            World.load(path)
        assert info.value.path == str(path) and cause in info.value.reason
        assert str(path) in str(info.value) and info.value.fix in str(info.value)


def test_missing_file_and_wrong_version(tmp_path, good_save):
    with pytest.raises(SaveError, match="could not be read"):
        World.load(tmp_path / "nope.save")
    future = bytearray(good_save)
    future[8:12] = (FORMAT_VERSION + 1).to_bytes(4, "little")
    path = tmp_path / "future.save"
    path.write_bytes(bytes(future))
    with pytest.raises(SaveError, match="version") as info:
        World.load(path)
    assert "release that wrote it" in info.value.fix


def test_checksummed_but_inconsistent_contents_are_rejected(good_save):
    record = save_format.unpack(good_save)
    columns = [save_format.ColumnRecord(c.name, c.dtype, c.shape, bytes(len(c.data)) if c.name == "generation"
                                        else c.data) for c in record.columns]
    forged = save_format.WorldRecord(**{**{f: getattr(record, f) for f in record.__struct_fields__},
                                        "columns": columns})
    with pytest.raises(SaveError, match="inconsistent"):
        World.from_bytes(save_format.pack(forged))
    shrunk = save_format.WorldRecord(**{**{f: getattr(record, f) for f in record.__struct_fields__},
                                        "extent": record.extent + 1})
    with pytest.raises(SaveError, match="inconsistent"):
        World.from_bytes(save_format.pack(shrunk))
    bad_rng = save_format.WorldRecord(**{**{f: getattr(record, f) for f in record.__struct_fields__},
                                         "rng_state": b"[]]"})
    with pytest.raises(SaveError, match="inconsistent"):
        World.from_bytes(save_format.pack(bad_rng))


@settings(deadline=None, max_examples=300)
@given(data=st.data())
def test_any_corruption_raises_save_error(good_save, data):
    kind = data.draw(st.sampled_from(["truncate", "flip", "garbage", "splice"]))
    if kind == "truncate":
        damaged = good_save[: data.draw(st.integers(0, len(good_save) - 1))]
    elif kind == "flip":
        bit = data.draw(st.integers(0, len(good_save) * 8 - 1))
        damaged = bytearray(good_save)
        damaged[bit // 8] ^= 1 << (bit % 8)
        damaged = bytes(damaged)
    elif kind == "garbage":
        damaged = data.draw(st.binary(max_size=200))
    else:
        start = data.draw(st.integers(0, len(good_save)))
        damaged = good_save[:start] + data.draw(st.binary(min_size=1, max_size=40)) + good_save[start:]
    with pytest.raises(SaveError):
        World.from_bytes(damaged, source="fuzz.save")


# ------------------------------------------------------------------------------ atomic save


@pytest.mark.parametrize("failing", ["replace", "fsync", "write"])
def test_interrupted_save_leaves_the_previous_save_intact(tmp_path, monkeypatch, failing):
    path = tmp_path / "world.save"
    world = drive(small_world(), 20)
    world.save(path)
    before, before_hash = path.read_bytes(), world.world_hash()
    drive(world, 40)

    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")

    if failing == "write":
        real_fdopen = os.fdopen

        def fdopen_with_failing_write(*args, **kwargs):
            handle = real_fdopen(*args, **kwargs)
            handle.write = fail
            return handle

        monkeypatch.setattr(os, "fdopen", fdopen_with_failing_write)
    else:
        monkeypatch.setattr(os, failing, fail)
    with pytest.raises(SaveError, match="could not be written") as info:
        world.save(path)
    monkeypatch.undo()
    assert info.value.path == str(path) and "previous save is untouched" in str(info.value)
    assert path.read_bytes() == before
    assert World.load(path).world_hash() == before_hash
    assert [p.name for p in tmp_path.iterdir()] == ["world.save"]
    world.save(path)  # and the next save works
    assert World.load(path).world_hash() == world.world_hash()


def test_save_into_a_missing_directory_raises_save_error(tmp_path):
    with pytest.raises(SaveError, match="could not be written"):
        small_world().save(tmp_path / "no" / "such" / "dir" / "world.save")


def test_save_is_compact_for_a_sparse_table():
    world = World(1, capacity=1 << 16, npc_count=10)
    # only rows below the high-water mark are stored: capacity does not change the size
    assert len(world.to_bytes()) == len(World(1, capacity=1 << 18, npc_count=10).to_bytes())
    np.testing.assert_array_equal(World.from_bytes(world.to_bytes()).entities.pos, world.entities.pos)
