"""Viewer server side over real websockets: RPC built-ins, admin controls and roles, HTTP routes, recordings."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from worldloom_client import WorldloomClient
from worldloom_client.errors import RpcError

from server.testing import boot
from server.viewer.errors import RecordingError, ReplayPathError
from server.viewer.history import MarketHistory
from server.viewer.http import resolve_run
from server.viewer.recording import FILE_NAME, PositionRecorder, read_recording
from worldsim import World, load_scenario

UNAUTHORIZED, INVALID, UNEXPECTED = 4, 2, 3


def run(coro):
    return asyncio.run(coro)


async def fetch(url: str) -> tuple[int, bytes]:
    def get() -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(url, timeout=10) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()
    return await asyncio.to_thread(get)


def test_terrain_metrics_settlement_and_missing_systems() -> None:
    async def scenario() -> None:
        async with boot(scenario="meadow", npc_count=0) as srv, WorldloomClient(srv.url, role="spectator") as c:
            t = await c.call("viewer.terrain", {"chunk": 0})
            n, world = t["n"], srv.server.room.world
            grid = bytearray(n * n)
            for i in range(t["chunks"]):
                part = t if i == 0 else await c.call("viewer.terrain", {"chunk": i})
                grid[part["row0"] * n:(part["row0"] + part["rows"]) * n] = part["biome"]
            assert bytes(grid) == world.terrain.biome.astype(np.uint8).tobytes()
            assert t["palette"][0].startswith("#") and {s["name"] for s in t["settlements"]} == {"Millbrook", "Stonewatch"}
            sp = await c.call("viewer.species")
            creatures = world.kind_view(3)[0]
            assert sp["names"] == ["sheep", "wolf"] and sp["chunks"] == 1
            got = np.frombuffer(sp["ids"], "<u4").astype(np.int64)
            assert len(got) == len(sp["species"]) > 100 and bool(np.all(np.diff(got) > 0))
            assert np.isin(got, creatures).mean() > 0.9  # the world ticked since the answer: a few were born/died
            sheep = world.ecology.names.index("sheep")
            assert set(np.frombuffer(sp["species"], np.uint8).tolist()) <= {sheep, 1 - sheep}
            m = await c.call("viewer.metrics")
            assert m["world"]["population.sheep"] > 0 and m["server"]["paused"] is False
            await srv.wait_for_ticks(110)  # more than one economy step (100 ticks)
            s = await c.call("viewer.settlement", {"name": "Millbrook"})
            assert len(s["ticks"]) >= 2 and len(s["price"]["food"]) == len(s["ticks"])
            for method, params, code in [("viewer.settlement", {"name": "Atlantis"}, INVALID),
                                         ("viewer.terrain", {"chunk": 99}, INVALID),
                                         ("npc.inspect", {"id": 1}, INVALID)]:
                with pytest.raises(RpcError) as err:
                    await c.call(method, params)
                assert err.value.code == code, (method, err.value)

            summary = await c.call("npc.summary")  # meadow has townsfolk, quests and a director
            assert len(summary["ids"]) > 100 and summary["role_names"]
            view = await c.call("npc.inspect", {"id": summary["ids"][0]})
            assert view["name"] and set(view["needs"]) >= {"hunger", "rest"}
            assert (await c.call("quest.list"))["quests"] == []  # no players, no quests
            assert (await c.call("director.state"))["players"] == []

    run(scenario())


def test_admin_controls_change_the_world_and_spectators_cannot() -> None:
    async def scenario() -> None:
        async with boot(scenario="meadow", npc_count=0) as srv, \
                WorldloomClient(srv.url, role="spectator") as spec, \
                WorldloomClient(srv.url, role="admin", token=srv.token("admin")) as adm:
            for method in ("admin.pause", "admin.weather", "admin.kill", "admin.load", "admin.state"):
                with pytest.raises(RpcError) as err:
                    await spec.call(method, {"name": "rain", "id": 1})
                assert err.value.code == UNAUTHORIZED and "admin role" in err.value.message
            room = srv.server.room
            state = await adm.call("admin.pause")
            assert state["paused"] and room.paused
            tick = room.world.tick
            await asyncio.sleep(0.3)
            assert room.world.tick == tick
            await adm.call("admin.step", {"ticks": 2})
            await asyncio.wait_for(_until(lambda: room.world.tick == tick + 2), 5)
            await asyncio.sleep(0.2)
            assert room.world.tick == tick + 2
            assert (await adm.call("admin.speed", {"factor": 4.0}))["speed"] == 4.0
            assert (await adm.call("admin.weather", {"name": "cold"}))["weather"] == "cold"
            spawned = await adm.call("admin.spawn", {"kind": "creature", "species": "sheep", "x": 60.0, "y": 60.0,
                                                     "count": 3})
            wander = await adm.call("admin.spawn", {"kind": "wanderer", "x": 0.0, "y": 0.0, "count": 2})
            assert len(spawned["ids"]) == 3 and len(wander["ids"]) == 2
            await adm.call("admin.kill", {"id": wander["ids"][0]})
            assert wander["ids"][0] not in room.world.kind_view(2)[0].tolist()
            fired: list[tuple[str, dict]] = []
            srv.server.viewer.admin.triggers.append(lambda event, data: fired.append((event, data)))
            assert (await adm.call("admin.trigger", {"event": "raid", "data": {"size": 3}}))["handlers"] == 1
            assert fired == [("raid", {"size": 3})]
            await adm.call("admin.resume")
            await srv.wait_for_ticks(2)
            assert room.world.climate.names[room.world.climate.state] == "cold"
            for bad in ({"factor": 3.0}, {"factor": "x"}, {}):
                with pytest.raises(RpcError) as err:
                    await adm.call("admin.speed", bad)
                assert err.value.code == INVALID
            with pytest.raises(RpcError) as err:
                await adm.call("admin.save")
            assert err.value.code == 13 and "--no-save" in err.value.message

    run(scenario())


async def _until(predicate) -> None:
    while not predicate():
        await asyncio.sleep(0.01)


def test_trigger_emits_director_event() -> None:
    async def scenario() -> None:
        async with boot(scenario="meadow", npc_count=0) as srv, \
                WorldloomClient(srv.url, role="admin", token=srv.token("admin")) as adm:
            seen: list[str] = []
            srv.server.room.add_tick_listener(lambda tick: seen.extend(e.kind for e in srv.server.room.tick_events))
            await adm.call("admin.trigger", {"event": "storm"})
            await srv.wait_for_ticks(3)
            assert "director.trigger" in seen

    run(scenario())


@settings(max_examples=40, deadline=None)
@given(params=st.one_of(st.none(), st.integers(), st.text(max_size=8),
                        st.dictionaries(st.sampled_from(["ticks", "factor", "kind", "x", "y", "count", "id", "name",
                                                         "event", "data", "species", "chunk"]),
                                        st.one_of(st.none(), st.booleans(), st.integers(-2**40, 2**40),
                                                  st.floats(allow_nan=True), st.text(max_size=10)), max_size=5)))
def test_bad_params_get_typed_errors_never_crash(params) -> None:
    """Hostile params to every admin/viewer method: a result or a typed error; the room keeps ticking."""
    from server.app import WorldServer
    from server.config import ServerConfig
    from server.rpc import RpcDenied

    if "s" not in _SERVER:
        _SERVER["spill"] = tempfile.TemporaryDirectory()  # removed when the module is garbage collected
        _SERVER["s"] = WorldServer(ServerConfig(scenario="meadow", npc_count=0, secret="x" * 32,
                                                analytics_spill_dir=_SERVER["spill"].name))
    server = _SERVER["s"]
    slot = type("Slot", (), {"role": "admin", "session_id": "t"})()
    for handler in server.viewer.methods().values():
        try:
            handler(slot, params)
        except RpcDenied as exc:
            assert exc.code in (INVALID, UNEXPECTED, UNAUTHORIZED, 13)
    server.room.paused = False
    server.room.step_once()


_SERVER: dict = {}


def test_http_routes_and_replay_paths(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    world = World.from_scenario(load_scenario("meadow"), seed=3)
    recorder = PositionRecorder(runs / "m3", world, every=5)
    for _ in range(20):
        world.step()
        recorder.after_step(world)
    assert recorder.finish() == FILE_NAME

    async def scenario() -> None:
        async with boot(npc_count=5) as srv:
            srv.server.viewer.http.runs_dir = runs
            base = f"http://127.0.0.1:{srv.port}"
            status, body = await fetch(base + "/viewer/")
            assert status == 200 and b"<canvas id=\"map\"" in body
            status, body = await fetch(base + "/viewer/js/snapshot.js")
            assert status == 200 and b"unpackColumn" in body
            status, body = await fetch(base + "/viewer/config.json")
            assert status == 200 and b"schema" in body
            assert (await fetch(base + "/viewer/runs")) == (200, b'["m3"]')
            status, body = await fetch(base + "/viewer/replay?run=m3")
            assert status == 200 and body == (runs / "m3" / FILE_NAME).read_bytes()
            for bad in ("..", "../runs/m3", "%2Fetc", "/etc/passwd", "m3/../m3", "nope", ""):
                status, _ = await fetch(base + "/viewer/replay?run=" + bad)
                assert status == 404, bad
            assert (await fetch(base + "/viewer/replay?run=m3&file=secret"))[0] == 400
            for bad in ("../app.py", "..%2F..%2Fapp.py", "%2e%2e/%2e%2e/config.py"):
                assert (await fetch(base + "/viewer/" + bad))[0] == 404, bad
            assert (await fetch(base + "/status"))[0] == 200  # the transport's own routes still answer

    run(scenario())


@given(name=st.text(max_size=12))
def test_resolve_run_never_leaves_the_runs_dir(tmp_path_factory, name: str) -> None:
    root = tmp_path_factory.getbasetemp() / "runsdir"
    (root / "ok").mkdir(parents=True, exist_ok=True)
    try:
        path = resolve_run(root, name)
    except ReplayPathError:
        return
    assert path.parent == root.resolve() and path.name == name == "ok"


def test_recording_round_trip_and_determinism(tmp_path: Path) -> None:
    world = World.from_scenario(load_scenario("meadow"), seed=5)
    recorder = PositionRecorder(tmp_path, world, every=4)
    for _ in range(12):
        world.step()
        recorder.after_step(world)
    recorder.finish()
    rec = read_recording(tmp_path / FILE_NAME)
    assert rec.ticks.tolist() == [0, 4, 8, 12] and rec.meta["every"] == 4
    ids, pos = world.kind_view(3)
    got_ids, xy = rec.frames[-1]["creature"]
    assert got_ids.tolist() == ids.tolist()
    assert np.abs(xy - pos[:, :2]).max() <= rec.meta["scale"] / 2 + 1e-9
    code = ("import sys; from worldsim import World, load_scenario; from server.viewer.recording import PositionRecorder;"
            "w = World.from_scenario(load_scenario('meadow'), seed=5); r = PositionRecorder(sys.argv[1], w, every=4)\n"
            "for _ in range(12):\n    w.step(); r.after_step(w)\nr.finish()")
    other = tmp_path / "other"
    subprocess.run([sys.executable, "-c", code, str(other)], check=True, cwd=Path(__file__).resolve().parents[1])
    assert (other / FILE_NAME).read_bytes() == (tmp_path / FILE_NAME).read_bytes()
    (tmp_path / "bad.wlrec").write_bytes((tmp_path / FILE_NAME).read_bytes()[:-3])
    with pytest.raises(RecordingError, match="truncated"):
        read_recording(tmp_path / "bad.wlrec")
    with pytest.raises(RecordingError, match="magic"):
        (tmp_path / "x.wlrec").write_bytes(b"nope" * 10)
        read_recording(tmp_path / "x.wlrec")


@given(samples=st.lists(st.floats(0, 100), min_size=1, max_size=30), capacity=st.integers(2, 8))
def test_market_history_keeps_the_newest_samples_in_order(samples: list[float], capacity: int) -> None:
    history = MarketHistory(capacity)
    for tick, v in enumerate(samples):
        history.sample(tick, np.full((2, 3), v), np.full((2, 3), -v))
    ticks, price, stock = history.series(1)
    assert ticks.tolist() == list(range(len(samples)))[-capacity:]
    assert price[:, 0].tolist() == samples[-capacity:] and (stock == -price).all()
