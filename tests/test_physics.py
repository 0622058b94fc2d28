"""worldsim.physics: determinism across processes, exact save continuation in a fresh process (resting,
collapsing and hit stacks, terrain, removals, rebuilds), physical sanity, bad input and corrupt saves."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from worldsim.errors import CorruptStateError, InputError
from worldsim.physics import TERRAIN, Contact, PhysicsWorld

ROOT = Path(__file__).resolve().parents[1]
HALF = (0.25, 0.25, 0.25)


def step_terrain() -> tuple[np.ndarray, float, tuple[float, float]]:
    """20 x 30 samples, 1 m apart, from (-15, -10): 0 m where x < 0, 2 m where x >= 0 (a cliff along y)."""
    heights = np.zeros((20, 30))
    heights[:, 15:] = 2.0
    return heights, 1.0, (-15.0, -10.0)


def build(name: str) -> PhysicsWorld:
    """The named scripted scene, before its first tick."""
    if name == "terrain":
        pw = PhysicsWorld(terrain=step_terrain(), rebuild_after_removals=2)
        pw.add_stack((5.0, 0.0, 2.0), HALF, 4, 3, 1.0)
        for i in range(6):  # balls rolling off the low side of the map are removed, which forces rebuilds
            pw.add_sphere((-13.0 + i, -8.0 + 3 * i, 0.5), 0.2, 1.0, vel=(-6.0, 1.0 - i * 0.4, 0.0))
        return pw
    pw = PhysicsWorld(bounds=(-20.0, -20.0, 20.0, 20.0))
    rows = {"resting": 4, "collapse": 6, "hit": 6}[name]
    pw.add_stack((0.0, 0.0, 0.0), HALF, rows, 4, 1.0)
    pw.add_box((3.0, 2.0, 0.5), (0.5, 0.5, 0.5), 0.0)  # a static crate
    if name == "hit":
        pw.add_sphere((0.3, -9.0, 1.2), 0.2, 5.0, vel=(0.0, 35.0, 1.5))
    return pw


def advance(pw: PhysicsWorld, name: str, until: int) -> list[list]:
    """Step ``pw`` to tick ``until`` applying the scene's scripted actions; returns the contact log."""
    log = []
    while pw.tick < until:
        if name == "collapse" and pw.tick == 3:
            pw.add_sphere((-0.3, -6.0, 0.8), 0.25, 8.0, vel=(0.0, 25.0, 0.0))
        if name in ("collapse", "hit") and pw.tick == 10:
            pw.remove(int(pw.handles()[-1]))
        if name == "terrain" and pw.tick == 8:
            pw.apply_impulse(int(pw.handles()[0]), (0.0, 9.0, 4.0))
        log.append([[c.a, c.b, c.impulse, list(c.pos)] for c in pw.step()])
        log.append(pw.removed_last_step().tolist())
    return log


def digest(pw: PhysicsWorld) -> str:
    return hashlib.sha256(pw.state_bytes()).hexdigest()


def child_main() -> None:
    """In a fresh process: for each job, run a scene from scratch or resume a save, print the hashes."""
    out = []
    for job in json.loads(sys.argv[1]):
        if job["save"] is None:
            pw = build(job["name"])
        else:
            pw = PhysicsWorld.from_bytes(Path(job["save"]).read_bytes(),
                                         terrain=step_terrain() if job["name"] == "terrain" else None)
        log = advance(pw, job["name"], job["until"])
        out.append([digest(pw), hashlib.sha256(json.dumps(log).encode()).hexdigest()])
        pw.close()
    print(json.dumps(out))


SCENES = [("resting", 6), ("collapse", 5), ("collapse", 14), ("hit", 4), ("hit", 7), ("terrain", 9)]
TOTAL = 40


def test_fresh_process_matches_and_resumes_saves_exactly(tmp_path):
    jobs, expected = [], []
    for name, save_at in SCENES:
        pw = build(name)
        advance(pw, name, save_at)
        path = tmp_path / f"{name}-{save_at}.phys"
        path.write_bytes(pw.to_bytes())
        log = advance(pw, name, TOTAL)
        expected.append([digest(pw), hashlib.sha256(json.dumps(log).encode()).hexdigest()])
        jobs.append({"name": name, "save": str(path), "until": TOTAL})
        pw.close()
    # the same scenes from scratch in the child: same hash as here (contact log compared for the resumed part only)
    fresh = {}
    for name in dict(SCENES):
        pw = build(name)
        advance(pw, name, TOTAL)
        fresh[name] = digest(pw)
        pw.close()
        jobs.append({"name": name, "save": None, "until": TOTAL})
    env = {**os.environ, "PYTHONHASHSEED": "random"}
    child = subprocess.run([sys.executable, "-c", "import tests.test_physics as t; t.child_main()",
                            json.dumps(jobs)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
                           check=False)
    assert child.returncode == 0, child.stderr
    got = json.loads(child.stdout.strip().splitlines()[-1])
    assert got[:len(SCENES)] == expected, "a save resumed in a fresh process diverged from the original run"
    assert [g[0] for g in got[len(SCENES):]] == list(fresh.values())


def test_terrain_scene_really_removes_and_rebuilds():
    pw = build("terrain")
    advance(pw, "terrain", TOTAL)
    assert pw._removed_since_build < 6  # the log was compacted at least once by a rebuild
    assert len(pw.handles()) < 18
    pw.close()


bodies = st.lists(st.tuples(st.sampled_from(["sphere", "box", "static"]),
                            st.floats(-3, 3), st.floats(-3, 3), st.floats(0.3, 4),
                            st.floats(0.1, 0.6), st.floats(0.2, 20)), min_size=1, max_size=8)
actions = st.lists(st.tuples(st.integers(0, 30), st.sampled_from(["impulse", "remove", "ball"]),
                             st.integers(0, 50), st.floats(-30, 30)), max_size=6)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bodies=bodies, actions=actions, stack=st.tuples(st.integers(0, 5), st.integers(1, 4)),
       save_at=st.integers(0, 25), more=st.integers(1, 20))
def test_random_scenes_resume_exactly(bodies, actions, stack, save_at, more):
    def make() -> PhysicsWorld:
        pw = PhysicsWorld(bounds=(-15, -15, 15, 15), rebuild_after_removals=3)
        if stack[0]:
            pw.add_stack((0.0, 0.0, 0.0), HALF, stack[0], stack[1], 2.0)
        for kind, x, y, z, size, mass in bodies:
            if kind == "sphere":
                pw.add_sphere((x, y, z), size, mass)
            else:
                pw.add_box((x, y, z), (size, size / 2, size), 0.0 if kind == "static" else mass)
        return pw

    def run(pw: PhysicsWorld, until: int) -> list:
        log = []
        while pw.tick < until:
            for tick, what, index, amount in actions:
                live = pw.handles()
                if tick != pw.tick or not len(live):
                    continue
                h = int(live[index % len(live)])
                if what == "remove":
                    pw.remove(h)
                elif what == "ball":
                    pw.add_sphere((amount / 3, -10.0, 1.0), 0.2, 3.0, vel=(0.0, 30.0, 2.0))
                elif pw.state_arrays()["mass"][index % len(live)] > 0:
                    pw.apply_impulse(h, (amount, -amount / 2, abs(amount)))
            log.append(pw.step())
        return log

    original = make()
    run(original, save_at)
    resumed = PhysicsWorld.from_bytes(original.to_bytes())
    assert resumed.state_bytes() == original.state_bytes()
    assert run(resumed, save_at + more) == run(original, save_at + more)
    assert resumed.state_bytes() == original.state_bytes()
    original.close()
    resumed.close()


def test_two_worlds_in_one_process_do_not_interfere():
    alone = build("collapse")
    advance(alone, "collapse", 20)
    a, b = build("collapse"), build("hit")
    for tick in range(1, 21):
        advance(a, "collapse", tick)
        advance(b, "hit", tick)
    assert a.state_bytes() == alone.state_bytes()
    for pw in (alone, a, b):
        pw.close()


def test_resting_stack_stays_up():
    pw = PhysicsWorld()
    pw.add_stack((0.0, 0.0, 0.0), HALF, 6, 3, 1.0)
    start = pw.positions()
    for _ in range(100):
        pw.step()
    assert np.abs(pw.positions() - start).max() < 0.05  # 5 s of standing: no creep or collapse
    pw.close()


def test_projectile_knocks_stack_over_and_is_reported():
    pw = build("hit")
    stack = pw.handles()[:24]
    shot = int(pw.handles()[-1])
    start = pw.positions()[:24]
    contacts = [c for _ in range(30) for c in pw.step()]
    assert any(shot in (c.a, c.b) and c.b != TERRAIN for c in contacts)
    assert np.linalg.norm(pw.positions()[:24] - start, axis=1).max() > 0.3
    assert all(isinstance(c, Contact) and (c.a < c.b or c.b == TERRAIN) for c in contacts)
    assert set(stack.tolist()) <= set(pw.handles().tolist())  # nothing left the map
    pw.close()


def test_drop_reports_one_ground_contact_with_plausible_impulse():
    pw = PhysicsWorld(contact_threshold=0.5)
    ball = pw.add_sphere((0.0, 0.0, 5.0), 0.2, 2.0)
    contacts = [c for _ in range(40) for c in pw.step()]
    first = [c for c in contacts if (c.a, c.b) == (ball, TERRAIN)]
    assert first, contacts
    speed = np.sqrt(2 * 9.81 * 4.8)
    assert 0.8 * 2.0 * speed < first[0].impulse < 2.5 * 2.0 * speed  # m v (1 + e) plus a tick of weight
    assert abs(first[0].pos[2]) < 0.05
    pw.close()


def test_boxes_rest_on_the_terrain_heightfield():
    pw = PhysicsWorld(terrain=step_terrain())
    low = pw.add_box((-6.0, 3.0, 4.0), HALF, 1.0)
    high = pw.add_box((6.0, -4.0, 4.0), HALF, 1.0)
    for _ in range(60):
        pw.step()
    z = dict(zip(pw.handles().tolist(), pw.positions()[:, 2], strict=True))
    assert z[low] == pytest.approx(0.25, abs=0.02)
    assert z[high] == pytest.approx(2.25, abs=0.02)
    pw.close()


def test_bodies_leaving_the_bounds_are_removed_and_reported():
    pw = PhysicsWorld(bounds=(-5.0, -5.0, 5.0, 5.0))
    stay = pw.add_box((0.0, 0.0, 0.25), HALF, 1.0)
    gone = pw.add_sphere((0.0, 0.0, 1.0), 0.2, 1.0, vel=(40.0, 0.0, 0.0))
    removed = []
    for _ in range(10):
        pw.step()
        removed += pw.removed_last_step().tolist()
    assert removed == [gone]
    assert pw.handles().tolist() == [stay]
    with pytest.raises(InputError, match="handle"):
        pw.apply_impulse(gone, (1.0, 0.0, 0.0))
    pw.close()


BAD_CALLS = [
    ("pos", lambda pw: pw.add_sphere((0.0, float("nan"), 1.0), 0.2, 1.0)),
    ("radius", lambda pw: pw.add_sphere((0.0, 0.0, 1.0), -0.2, 1.0)),
    ("mass", lambda pw: pw.add_sphere((0.0, 0.0, 1.0), 0.2, -1.0)),
    ("vel", lambda pw: pw.add_sphere((0.0, 0.0, 1.0), 0.2, 1.0, vel=(0.0, float("inf"), 0.0))),
    ("half_extents", lambda pw: pw.add_box((0.0, 0.0, 1.0), (0.2, 0.0, 0.2), 1.0)),
    ("orn", lambda pw: pw.add_box((0.0, 0.0, 1.0), HALF, 1.0, orn=(0.0, 0.0, 0.0, 0.0))),
    ("rows", lambda pw: pw.add_stack((0.0, 0.0, 0.0), HALF, 0, 2, 1.0)),
    ("mass", lambda pw: pw.add_stack((0.0, 0.0, 0.0), HALF, 2, 2, 0.0)),
    ("handle", lambda pw: pw.remove(12345)),
    ("handle", lambda pw: pw.apply_impulse("0", (1.0, 0.0, 0.0))),
    ("impulse_xyz", lambda pw: pw.apply_impulse(0, (1.0, float("nan"), 0.0))),
    ("static", lambda pw: pw.apply_impulse(1, (1.0, 0.0, 0.0))),
]


@pytest.mark.parametrize(("word", "call"), BAD_CALLS)
def test_bad_input_raises_input_error_naming_the_argument(word, call):
    pw = PhysicsWorld()
    pw.add_sphere((0.0, 0.0, 1.0), 0.2, 1.0)
    pw.add_box((2.0, 0.0, 0.5), HALF, 0.0)
    before = pw.state_bytes()
    with pytest.raises(InputError, match=word):
        call(pw)
    assert pw.state_bytes() == before  # a refused call changes nothing
    pw.close()


@pytest.mark.parametrize(("kwargs", "word"), [
    ({"dt": 0.0}, "dt"), ({"substeps": 0}, "substeps"), ({"gravity": float("nan")}, "gravity"),
    ({"terrain": (np.zeros((1, 5)), 1.0, (0.0, 0.0))}, "terrain"),
    ({"terrain": (np.zeros((3, 3)), -1.0, (0.0, 0.0))}, "tile_size"),
    ({"bounds": (1.0, 0.0, 0.0, 1.0)}, "bounds"), ({"contact_threshold": -1.0}, "contact_threshold"),
])
def test_bad_construction_raises_input_error(kwargs, word):
    with pytest.raises(InputError, match=word):
        PhysicsWorld(**kwargs)


@given(value=st.sampled_from([float("nan"), float("inf"), float("-inf")]), axis=st.integers(0, 2),
       others=st.lists(st.floats(-1e6, 1e6), min_size=3, max_size=3))
@settings(max_examples=20, deadline=None)
def test_any_non_finite_position_is_refused(value, axis, others):
    pw = PhysicsWorld()
    pos = list(others)
    pos[axis] = value
    with pytest.raises(InputError, match="pos"):
        pw.add_box(pos, HALF, 1.0)
    assert len(pw.handles()) == 0
    pw.close()


@pytest.fixture(scope="module")
def saved() -> bytes:
    pw = build("hit")
    advance(pw, "hit", 5)
    data = pw.to_bytes()
    pw.close()
    return data


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_corrupted_saves_are_refused(saved, data):
    kind = data.draw(st.sampled_from(["truncate", "flip", "append"]))
    blob = bytearray(saved)
    if kind == "truncate":
        blob = blob[:data.draw(st.integers(0, len(saved) - 1))]
    elif kind == "flip":
        blob[data.draw(st.integers(0, len(saved) - 1))] ^= 1 << data.draw(st.integers(0, 7))
    else:
        blob += data.draw(st.binary(min_size=1, max_size=8))
    with pytest.raises(CorruptStateError):
        PhysicsWorld.from_bytes(bytes(blob))


def test_save_with_other_terrain_is_refused(saved):
    with pytest.raises(InputError, match="terrain"):
        PhysicsWorld.from_bytes(saved, terrain=step_terrain())
    PhysicsWorld.from_bytes(saved).close()


def test_state_arrays_columns_have_documented_shapes():
    pw = build("hit")
    pw.step()
    arrays = pw.state_arrays()
    n = len(pw.handles())
    shapes = {"handles": (n,), "kind": (n,), "dims": (n, 3), "mass": (n,), "pos": (n, 3), "orn": (n, 4),
              "linvel": (n, 3), "angvel": (n, 3)}
    assert {k: v.shape for k, v in arrays.items()} == shapes
    assert np.array_equal(arrays["pos"], pw.positions())
    assert np.all(np.diff(arrays["handles"]) > 0)
    pw.close()


def test_benchmark_smoke():
    child = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "physics_step.py"), "--sizes", "30",
                            "--ticks", "8"], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert child.returncode == 0, child.stderr
    assert "30 bodies  step p50" in child.stdout and "bare pybullet" in child.stdout
