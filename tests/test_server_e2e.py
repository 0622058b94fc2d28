"""End to end over real websockets on 127.0.0.1 port 0: join, move, AOI, resume, limits, refusals."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request

import numpy as np
import pytest
from websockets.asyncio.client import connect

import protocol as p
from protocol.snapshot import dequantize
from server.testing import boot
from worldsim import World

from .wire import Peer


def run(coro):
    return asyncio.run(coro)


def _position(peer: Peer, kind: str, entity: int) -> np.ndarray | None:
    view = peer.view().get(kind)
    if view is None:
        return None
    hit = np.nonzero(view.ids == entity)[0]
    return None if hit.size == 0 else dequantize(view.q[hit[0]][None, :])[0]


def test_join_move_and_input_ack() -> None:
    async def scenario() -> None:
        async with boot(npc_count=5, half_extent=30.0) as srv:
            peer = await Peer.open(srv.url)
            welcome = await peer.hello(name="mover")
            assert isinstance(welcome, p.Welcome) and welcome.entity != 0 and not welcome.resumed
            await peer.wait_for(lambda m: isinstance(m, p.Snapshot))
            await srv.wait_for_ticks(2)
            start = _position(peer, "player", welcome.entity)
            assert start is not None
            seq = 0
            for _ in range(10):
                seq = await peer.move(1.0, 0.0)
                await asyncio.sleep(0.02)
            await peer.wait_for(lambda m: isinstance(m, p.Snapshot) and m.input_ack == seq)
            await srv.wait_for_ticks(3)
            end = _position(peer, "player", welcome.entity)
            assert end is not None
            assert end[0] > start[0] + 0.5 or end[0] >= 29.9  # walked east (or hit the world edge)
            await peer.close()

    run(scenario())


def test_two_players_see_each_other_and_deltas_are_used() -> None:
    async def scenario() -> None:
        async with boot(npc_count=10, half_extent=20.0, aoi_radius=80.0) as srv:
            a, b = await Peer.open(srv.url), await Peer.open(srv.url)
            wa, wb = await a.hello(name="a"), await b.hello(name="b")
            await srv.wait_for_ticks(5)
            await a.wait_for(lambda m: isinstance(m, p.Snapshot) and m.baseline > 0)
            ids_seen_by_a = set(a.view()["player"].ids.tolist())
            assert {wa.entity, wb.entity} <= ids_seen_by_a
            assert len(a.view()["npc"].ids) == 10
            joined = await a.wait_for(lambda m: isinstance(m, p.Event) and m.kind == "player.joined"
                                      and m.entity == wb.entity)
            assert joined.data == {"name": "b"}
            await b.send(p.Bye())
            await a.wait_for(lambda m: isinstance(m, p.Event) and m.kind == "player.left" and m.entity == wb.entity)
            await srv.wait_for_ticks(2)
            await a.wait_for(lambda m: isinstance(m, p.Snapshot) and wb.entity not in a.view()["player"].ids)
            await a.close()

    run(scenario())


def test_client_that_never_acks_gets_full_snapshots() -> None:
    async def scenario() -> None:
        async with boot(npc_count=10) as srv:
            peer = await Peer.open(srv.url, auto_ack=False)
            await peer.hello(role="spectator")
            await srv.wait_for_ticks(5)
            snaps = [m for m in peer.received if isinstance(m, p.Snapshot)]
            assert snaps and all(s.baseline == 0 for s in snaps)
            await peer.close()

    run(scenario())


def test_area_of_interest_limits_what_a_player_receives() -> None:
    async def scenario() -> None:
        async with boot(npc_count=400, half_extent=200.0, aoi_radius=30.0) as srv:
            peer = await Peer.open(srv.url)
            welcome = await peer.hello()
            await srv.wait_for_ticks(3)
            await peer.wait_for(lambda m: isinstance(m, p.Snapshot) and m.baseline > 0)
            me = _position(peer, "player", welcome.entity)
            npcs = peer.view()["npc"]
            assert len(npcs.ids) < 400
            dist = np.hypot(*(dequantize(npcs.q)[:, :2] - me[:2]).T)
            assert np.all(dist <= 30.0 + 2.0)  # entities move a little between the tick and our check
            spectator = await Peer.open(srv.url)
            await spectator.hello(role="spectator")
            await spectator.wait_for(lambda m: isinstance(m, p.Snapshot) and len(spectator.view().get("npc", [])) == 400)
            await peer.close()
            await spectator.close()

    run(scenario())


def test_resume_keeps_entity_and_acknowledged_inputs() -> None:
    async def scenario() -> None:
        async with boot(npc_count=5, resume_grace=10.0) as srv:
            first = await Peer.open(srv.url)
            welcome = await first.hello(name="phoenix")
            for _ in range(5):
                await first.move(0.0, 1.0)
            await first.wait_for(lambda m: isinstance(m, p.Snapshot) and m.input_ack == 5)
            await srv.wait_for_ticks(2)
            assembler = first.assembler
            await first.close()  # no Bye: the avatar waits out the grace window
            await srv.wait_for_ticks(2)
            info = await _info(srv.url)
            assert info["entities"]["player"] == 1

            second = await Peer.open(srv.url)
            second.assembler = assembler  # a client keeps its snapshot state across reconnects
            again = await second.hello(resume=welcome.resume)
            assert isinstance(again, p.Welcome)
            assert again.resumed and again.entity == welcome.entity and again.last_input == 5
            await second.move(1.0, 0.0)  # seq 1 again is ignored: must continue after last_input
            second.seq = again.last_input
            seq = await second.move(1.0, 0.0)
            await second.wait_for(lambda m: isinstance(m, p.Snapshot) and m.input_ack == seq)
            snap = await second.wait_for(lambda m: isinstance(m, p.Snapshot))
            assert snap.baseline > 0, "deltas resume against the client's acknowledged ticks"
            info = await _info(srv.url)
            assert info["entities"]["player"] == 1, "no duplicate player after resume"
            await second.close()

    run(scenario())


def test_resume_with_unknown_token_starts_fresh_session() -> None:
    async def scenario() -> None:
        async with boot(npc_count=1) as srv:
            peer = await Peer.open(srv.url)
            await peer.ws.send(peer.session.hello(resume="forged.token"))
            first = peer.session.receive_frame(await peer.ws.recv())
            assert isinstance(first, p.Error) and first.code == p.ErrorCode.RESUME_FAILED
            welcome = peer.session.receive_frame(await peer.ws.recv())
            assert isinstance(welcome, p.Welcome) and not welcome.resumed
            await peer.ws.close()

    run(scenario())


async def _info(url: str) -> dict:
    peer = await Peer.open(url)
    await peer.hello(role="spectator")
    reply = await peer.call("room.info")
    await peer.close()
    return reply.result


def test_malformed_and_invalid_messages_get_errors_and_session_stays() -> None:
    async def scenario() -> None:
        async with boot(npc_count=2) as srv:
            bad, good = await Peer.open(srv.url), await Peer.open(srv.url)
            await bad.hello()
            await good.hello()
            await bad.send(b"\xc1\xc1")
            await bad.send("a text frame")
            await bad.send(_raw({"t": "input", "seq": 1, "tick": 0, "move": [5.0, 0.0]}))
            await bad.send(_raw({"t": "nope"}))
            errors = []
            for _ in range(4):
                errors.append(await bad.wait_for(lambda m: isinstance(m, p.Error) and m not in errors))
            codes = [e.code for e in errors]
            assert codes.count(p.ErrorCode.MALFORMED) >= 2 and p.ErrorCode.INVALID in codes
            assert any("$.move[0]" in e.message for e in errors)
            assert (await bad.call("room.info")).code == 0, "the session stays usable"
            tick = await srv.wait_for_ticks(3)
            assert good.assembler.latest is not None and good.assembler.latest[0] >= tick - 2
            assert srv.server.status()["metrics"]["invalid_messages"] >= 4
            await bad.close()
            await good.close()

    run(scenario())


def _raw(obj: object) -> bytes:
    import msgspec

    return msgspec.msgpack.encode(obj)


def test_repeated_violations_close_with_4004() -> None:
    async def scenario() -> None:
        async with boot(npc_count=1) as srv:
            peer = await Peer.open(srv.url)
            await peer.hello()
            for _ in range(25):
                await peer.send(b"\xc1")
            await asyncio.wait_for(peer.closed.wait(), 5)
            assert peer.close_code == p.CloseCode.TOO_MANY_ERRORS

    run(scenario())


def test_rate_limit_errors_then_closes_with_4003() -> None:
    async def scenario() -> None:
        async with boot(npc_count=1) as srv:
            peer = await Peer.open(srv.url)
            await peer.hello()
            for i in range(400):
                await peer.send(p.Ping(nonce=i))
            await asyncio.wait_for(peer.closed.wait(), 5)
            assert any(isinstance(m, p.Error) and m.code == p.ErrorCode.RATE_LIMITED for m in peer.received)
            assert peer.close_code == p.CloseCode.RATE_LIMIT
            assert srv.server.status()["metrics"]["rate_limited"] > 0
            other = await Peer.open(srv.url)
            assert isinstance(await other.hello(), p.Welcome), "other clients are unaffected"
            await other.close()

    run(scenario())


def test_oversize_frame_closes_with_1009() -> None:
    async def scenario() -> None:
        async with boot(npc_count=1) as srv:
            peer = await Peer.open(srv.url)
            await peer.hello()
            await peer.send(b"\x00" * (20 * 1024))
            await asyncio.wait_for(peer.closed.wait(), 5)
            assert peer.close_code == 1009

    run(scenario())


@pytest.mark.parametrize("role,token", [("admin", ""), ("admin", "garbage"), ("service", "x.y"),
                                        ("admin", "expired"), ("admin", "wrong-role")])
def test_bad_token_is_refused_with_4001(role: str, token: str) -> None:
    async def scenario() -> None:
        async with boot(npc_count=1) as srv:
            if token == "expired":
                token_ = srv.server.signer.issue("x", "admin", -10, time.time())
            elif token == "wrong-role":
                token_ = srv.token("player")
            else:
                token_ = token
            peer = await Peer.open(srv.url)
            reply = await peer.hello(role=role, token=token_)
            assert isinstance(reply, p.Error) and reply.code == p.ErrorCode.UNAUTHORIZED
            await asyncio.wait_for(peer.ws.wait_closed(), 5)
            assert peer.close_code == p.CloseCode.UNAUTHORIZED
            assert token_ not in reply.message or not token_

    run(scenario())


def test_closed_server_requires_player_tokens() -> None:
    async def scenario() -> None:
        async with boot(npc_count=1, open_play=False) as srv:
            peer = await Peer.open(srv.url)
            assert isinstance(await peer.hello(), p.Error)
            ok = await Peer.open(srv.url)
            assert isinstance(await ok.hello(token=srv.token("player")), p.Welcome)
            await ok.close()

    run(scenario())


def test_version_and_schema_mismatch_name_both_sides() -> None:
    async def scenario() -> None:
        async with boot(npc_count=1) as srv:
            async with connect(srv.url) as ws:
                await ws.send(p.encode(p.Hello(protocol=99, schema=p.SCHEMA_HASH, client="old", version="0")))
                err = p.decode_server(await ws.recv())
                assert err.code == p.ErrorCode.VERSION_MISMATCH
                assert "99" in err.message and str(p.PROTOCOL_VERSION) in err.message
                await ws.wait_closed()
                assert ws.close_code == p.CloseCode.VERSION_MISMATCH
            async with connect(srv.url) as ws:
                await ws.send(p.encode(p.Hello(protocol=p.PROTOCOL_VERSION, schema="deadbeef", client="x",
                                               version="0")))
                err = p.decode_server(await ws.recv())
                assert err.code == p.ErrorCode.SCHEMA_MISMATCH
                assert "deadbeef" in err.message and p.SCHEMA_HASH in err.message
                await ws.wait_closed()
                assert ws.close_code == p.CloseCode.VERSION_MISMATCH

    run(scenario())


def test_handshake_rules() -> None:
    async def scenario() -> None:
        async with boot(npc_count=1, hello_timeout=0.3) as srv:
            async with connect(srv.url) as ws:  # silent client
                await ws.wait_closed()
                assert ws.close_code == p.CloseCode.HANDSHAKE_TIMEOUT
            async with connect(srv.url) as ws:  # input before hello
                await ws.send(p.encode(p.Input(seq=1, tick=0)))
                err = p.decode_server(await ws.recv())
                assert err.code == p.ErrorCode.UNEXPECTED
                await ws.wait_closed()
                assert ws.close_code == p.CloseCode.PROTOCOL_VIOLATION

    run(scenario())


def test_server_full_closes_with_4007() -> None:
    async def scenario() -> None:
        async with boot(npc_count=1, max_clients=1) as srv:
            a = await Peer.open(srv.url)
            await a.hello()
            b = await Peer.open(srv.url)
            reply = await b.hello()
            assert isinstance(reply, p.Error) and reply.code == p.ErrorCode.SERVER_FULL
            await b.ws.wait_closed()
            assert b.close_code == p.CloseCode.SERVER_FULL
            await a.close()

    run(scenario())


def test_rpc_builtins_and_service_routing() -> None:
    async def scenario() -> None:
        async with boot(npc_count=1) as srv:
            service = await Peer.open(srv.url)
            assert isinstance(await service.hello(role="service", token=srv.token("service"),
                                                  methods=["test.echo", "test.silent"]), p.Welcome)
            player = await Peer.open(srv.url)
            await player.hello()

            async def serve_echo() -> None:
                req = await service.wait_for(lambda m: isinstance(m, p.RpcRequest) and m.method == "test.echo")
                await service.send(p.RpcResponse(id=req.id, result={"echo": req.params}))

            task = asyncio.create_task(serve_echo())
            reply = await player.call("test.echo", {"x": 1}, call_id=41)
            await task
            assert reply.code == 0 and reply.result == {"echo": {"x": 1}}

            await player.send(p.RpcRequest(id=42, method="test.silent", deadline_ms=200))
            timeout = await player.wait_for(lambda m: isinstance(m, p.RpcResponse) and m.id == 42)
            assert timeout.code == p.ErrorCode.RPC_TIMEOUT

            missing = await player.call("nobody.home", call_id=43)
            assert missing.code == p.ErrorCode.NO_SUCH_METHOD

            await player.send(p.RpcRequest(id=44, method="test.silent", deadline_ms=10_000))
            await service.wait_for(lambda m: isinstance(m, p.RpcRequest) and m.method == "test.silent"
                                   and m.deadline_ms == 10_000)
            await service.close()
            gone = await player.wait_for(lambda m: isinstance(m, p.RpcResponse) and m.id == 44)
            assert gone.code == p.ErrorCode.RPC_FAILED

            denied = await player.call("world.save", call_id=45)
            assert denied.code == p.ErrorCode.UNAUTHORIZED
            hashed = await player.call("world.hash", call_id=46)
            assert len(hashed.result["hash"]) == 64
            await player.close()

    run(scenario())


def test_metrics_and_status_over_http() -> None:
    async def scenario() -> None:
        async with boot(npc_count=3) as srv:
            peer = await Peer.open(srv.url)
            await peer.hello()
            await srv.wait_for_ticks(5)
            base = f"http://127.0.0.1:{srv.port}"
            text = await asyncio.to_thread(lambda: urllib.request.urlopen(base + "/metrics", timeout=5).read().decode())
            assert 'worldloom_tick_seconds{quantile="0.99"}' in text and "worldloom_clients 1" in text
            status = await asyncio.to_thread(lambda: json.loads(urllib.request.urlopen(base + "/status", timeout=5).read()))
            assert status["metrics"]["ticks"] >= 5 and status["metrics"]["bytes_out"] > 0
            await peer.close()

    run(scenario())


def test_graceful_shutdown_says_bye_and_saves(tmp_path) -> None:
    save = tmp_path / "world.save"

    async def scenario() -> tuple[int, str]:
        async with boot(npc_count=8, save_path=str(save)) as srv:
            peer = await Peer.open(srv.url)
            await peer.hello()
            await srv.wait_for_ticks(5)
            ctx_server = srv.server
        # leaving the context ran stop(): Bye(1001), close 1001, atomic save
        await asyncio.wait_for(peer.closed.wait(), 5)
        bye = [m for m in peer.received if isinstance(m, p.Bye)]
        assert bye and bye[0].code == p.CloseCode.GOING_AWAY
        assert peer.close_code == p.CloseCode.GOING_AWAY
        return ctx_server.world.tick, ctx_server.world.world_hash()

    tick, digest = run(scenario())
    loaded = World.load(save)
    assert loaded.tick == tick and loaded.world_hash() == digest

    async def restart() -> int:
        async with boot(npc_count=8, save_path=str(save)) as srv:
            return srv.server.world.tick

    assert run(restart()) >= tick, "a restart resumes from the last save"


def test_slow_client_never_stalls_the_tick() -> None:
    async def scenario() -> None:
        async with boot(npc_count=3000, half_extent=100.0) as srv:
            slow = await connect(srv.url, max_queue=1, compression=None)
            from protocol.session import ClientSession

            await slow.send(ClientSession().hello(role="spectator"))  # and then never read again
            fast = await Peer.open(srv.url)
            await fast.hello()
            start_tick = srv.server.world.tick
            started = time.monotonic()
            await asyncio.sleep(2.0)
            elapsed = time.monotonic() - started
            ticks = srv.server.world.tick - start_tick
            assert ticks >= 0.6 * elapsed * 20, f"tick loop stalled: {ticks} ticks in {elapsed:.1f}s"
            assert fast.assembler.latest[0] >= srv.server.world.tick - 3
            metrics = srv.server.status()["metrics"]
            assert metrics["snapshots_replaced"] > 0 or metrics["bytes_out"] > 0
            await fast.close()
            await slow.close()

    run(scenario())


def test_events_are_interest_managed() -> None:
    async def scenario() -> None:
        async with boot(npc_count=0, half_extent=300.0, aoi_radius=5.0, seed=3) as srv:
            watcher = await Peer.open(srv.url)
            await watcher.hello(role="spectator")
            a = await Peer.open(srv.url)
            wa = await a.hello(name="a")
            b = await Peer.open(srv.url)
            wb = await b.hello(name="b")
            pa, pb = srv.server.world.positions_of([wa.entity, wb.entity])
            assert np.hypot(*(pa - pb)[:2]) > 5.0, "precondition: the two avatars spawn far apart"
            await watcher.wait_for(lambda m: isinstance(m, p.Event) and m.entity == wb.entity)
            await srv.wait_for_ticks(3)
            assert not any(isinstance(m, p.Event) and m.entity == wb.entity for m in a.received)
            for peer in (watcher, a, b):
                await peer.close()

    run(scenario())
