"""The Python client SDK end to end against a real server on 127.0.0.1 port 0 (``server.testing.boot``)."""

from __future__ import annotations

import asyncio
import os
import sys

import numpy as np
import pytest
from worldloom_client import ConnectionLost, HandshakeRefused, RpcError, WorldloomClient
from worldloom_client.bot import run_bots

from protocol.codes import CloseCode, ErrorCode
from protocol.messages import Event
from protocol.snapshot import SnapshotAssembler
from server.testing import boot

TIME_LIMIT = 30.0


def run(coro):
    async def limited():
        async with asyncio.timeout(TIME_LIMIT):
            return await coro

    return asyncio.run(limited())


def sees(client: WorldloomClient, entity: int) -> bool:
    return client.position(entity) is not None


def test_join_and_move_changes_the_avatar_position() -> None:
    async def scenario() -> None:
        async with boot(npc_count=5, half_extent=40.0) as srv:
            async with WorldloomClient(srv.url, name="mover") as client:
                assert client.entity != 0 and client.welcome is not None and not client.welcome.resumed
                await client.wait_for(lambda c: c.position() is not None)
                start = client.position()
                direction = -np.sign(start[:2])  # toward the middle: never stopped by the world edge
                direction[direction == 0] = 1.0
                for _ in range(8):
                    seq = await client.send_input(float(direction[0]), float(direction[1]))
                    await asyncio.sleep(0.05)
                await client.wait_for(lambda c: c.input_ack >= seq)
                await client.wait_for_tick(client.tick + 3)
                moved = (client.position() - start)[:2] * direction
                assert np.all(moved > 0.2), (start, client.position())
                assert client.stats.snapshots >= 5 and client.stats.acks_sent == client.stats.snapshots
                assert client.stats.snapshot_errors == 0 and client.errors == []
                smooth = client.interpolated()
                assert client.entity in smooth["player"][0]
            assert client.close_code == CloseCode.NORMAL
            with pytest.raises(ConnectionLost):
                await client.send_input(1.0, 0.0)

    run(scenario())


def test_two_players_see_each_other_and_get_join_events() -> None:
    async def scenario() -> None:
        async with boot(npc_count=10, half_extent=20.0, aoi_radius=100.0) as srv:
            async with WorldloomClient(srv.url, name="ada") as ada, WorldloomClient(srv.url, name="bob") as bob:
                assert ada.entity != bob.entity
                await ada.wait_for(lambda c: sees(c, bob.entity))
                await bob.wait_for(lambda c: sees(c, ada.entity))
                joined = []
                while not ada.events.empty():
                    joined.append(ada.events.get_nowait())
                assert any(isinstance(e, Event) and e.kind == "player.joined" and e.entity == bob.entity
                           for e in joined)
                await bob.close()
                await ada.wait_for(lambda c: not sees(c, bob.entity))

    run(scenario())


def test_spectator_sees_the_whole_world() -> None:
    async def scenario() -> None:
        async with boot(npc_count=25, half_extent=500.0, aoi_radius=5.0) as srv:
            async with WorldloomClient(srv.url, role="spectator") as watcher:
                assert watcher.entity == 0
                await watcher.wait_for(lambda c: "npc" in c.view and len(c.view["npc"]) == 25)

    run(scenario())


def test_builtin_rpcs() -> None:
    async def scenario() -> None:
        async with boot(npc_count=7) as srv:
            async with WorldloomClient(srv.url) as client:
                info = await client.call("room.info")
                assert info["entities"] == {"player": 1, "npc": 7, "creature": 0, "prop": 0} and info["clients"] == 1
                assert info["tick_rate"] == client.welcome.tick_rate
                world_hash = await client.call("world.hash")
                assert world_hash["tick"] > 0 and world_hash["hash"]
                with pytest.raises(RpcError) as denied:
                    await client.call("world.save")
                assert denied.value.code == ErrorCode.UNAUTHORIZED
                with pytest.raises(RpcError) as missing:
                    await client.call("no.such_method")
                assert missing.value.code == ErrorCode.NO_SUCH_METHOD
                rtt = await client.ping()
                assert 0.0 < rtt < 1.0 and client.stats.rtt == rtt

    run(scenario())


def test_service_method_called_by_a_player_through_the_server() -> None:
    async def scenario() -> None:
        async def echo(params):
            return {"echo": params}

        async def broken(params):
            raise ValueError("details stay in the service")

        async with boot(npc_count=3) as srv:
            service = WorldloomClient(srv.url, role="service", token=srv.token("service"), name="echoer",
                                      methods={"test.echo": echo, "test.broken": broken})
            async with service, WorldloomClient(srv.url) as player:
                assert await player.call("test.echo", {"n": 3, "s": "hé"}) == {"echo": {"n": 3, "s": "hé"}}
                assert await player.call("test.echo", [1, 2]) == {"echo": [1, 2]}
                with pytest.raises(RpcError) as failed:
                    await player.call("test.broken", None)
                assert failed.value.code == ErrorCode.RPC_FAILED
                assert "ValueError" in failed.value.message and "details" not in failed.value.message
                assert service.stats.rpc_served == 3 and service.stats.snapshots == 0
                assert service.connected  # a failing handler does not take the service down

    run(scenario())


def test_service_without_token_is_refused() -> None:
    async def scenario() -> None:
        async with boot(npc_count=1) as srv:
            client = WorldloomClient(srv.url, role="service", methods=["test.echo"])
            with pytest.raises(HandshakeRefused) as refused:
                await client.connect()
            assert refused.value.code == ErrorCode.UNAUTHORIZED
            assert refused.value.close_code == CloseCode.UNAUTHORIZED
            assert client.errors and client.errors[0].code == ErrorCode.UNAUTHORIZED

    run(scenario())


def test_disconnect_and_resume_keeps_entity_and_loses_no_input() -> None:
    async def scenario() -> None:
        async with boot(npc_count=5, half_extent=60.0) as srv:
            async with WorldloomClient(srv.url, name="phoenix") as client:
                entity = client.entity
                for _ in range(5):
                    await client.send_input(0.0, 1.0)
                    await asyncio.sleep(0.02)
                await client.wait_for(lambda c: c.input_ack >= 5)
                tick_before = client.tick
                client.drop_connection()
                # Inputs sent while the connection is down are kept and resent after the resume.
                last = 0
                for _ in range(5):
                    last = await client.send_input(0.0, -1.0)
                await client.wait_for(lambda c: c.stats.resumes == 1 and c.connected)
                assert client.welcome.resumed and client.entity == entity and client.stats.disconnects == 1
                await client.wait_for(lambda c: c.input_ack >= last)
                await client.wait_for_tick(tick_before + 5)
                assert client.position(entity) is not None
                assert client.stats.snapshot_errors == 0  # deltas continued against the kept baselines
                assert client.stats.inputs_resent >= 1
                info = await client.call("room.info")
                assert info["entities"]["player"] == 1  # the same avatar, not a second one

    run(scenario())


def test_server_shutdown_surfaces_going_away() -> None:
    async def scenario() -> None:
        async with boot(npc_count=1) as srv:
            client = WorldloomClient(srv.url, auto_reconnect=False)
            await client.connect()
            await client.wait_for_tick(client.welcome.tick + 1)
        with pytest.raises(ConnectionLost):
            await client.wait_for(lambda c: False, timeout=5.0)
        assert client.close_code == CloseCode.GOING_AWAY
        await client.close()

    run(scenario())


def test_bots_walk_for_two_seconds() -> None:
    async def scenario() -> None:
        async with boot(npc_count=20, half_extent=50.0) as srv:
            reports = await run_bots(srv.url, count=3, duration=2.0, seed=1, input_rate=10.0)
        assert len(reports) == 3 and len({r.entity for r in reports}) == 3
        for report in reports:
            assert report.error is None
            assert report.stats.snapshots >= 20  # 20 Hz for ~2 s
            assert 15 <= report.inputs <= 25 and report.stats.inputs_sent == report.inputs
            assert report.stats.rtt is not None and report.stats.snapshot_errors == 0

    run(scenario())


def test_bot_cli_prints_status_and_summary() -> None:
    async def scenario() -> None:
        async with boot(npc_count=5) as srv:
            env = {**os.environ, "PYTHONUNBUFFERED": "1"}
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "worldloom_client.bot", "--url", srv.url, "--count", "2",
                "--duration", "1.5", "--seed", "3", "--status", "0.5",
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env)
            out, err = await proc.communicate()
        text = out.decode()
        assert proc.returncode == 0, err.decode()
        assert "bots 2/2" in text and "done: 2/2 bots ok" in text

    run(scenario())


def test_unknown_baseline_is_not_acked_and_recovers_with_a_full_snapshot() -> None:
    async def scenario() -> None:
        async with boot(npc_count=10, tick_rate=40) as srv:
            async with WorldloomClient(srv.url, role="spectator") as client:
                await client.wait_for(lambda c: c.stats.snapshots >= 3)
                client.assembler = SnapshotAssembler()  # forget every baseline the server may refer to
                acks = client.stats.acks_sent
                await client.wait_for(lambda c: c.stats.snapshot_errors >= 1)
                assert client.stats.acks_sent == acks
                await client.wait_for(lambda c: c.stats.acks_sent > acks, timeout=10.0)  # full snapshot came
                assert len(client.view["npc"]) == 10 and client.connected

    run(scenario())


def test_server_restart_reconnects_with_a_new_session() -> None:
    async def scenario() -> None:
        async with boot(npc_count=2) as first:
            port = first.port
            client = WorldloomClient(first.url, reconnect_attempts=30, reconnect_delay=0.05)
            await client.connect()
            old_entity = client.entity
            await client.send_input(1.0, 0.0)
            await client.wait_for(lambda c: c.input_ack >= 1)
        await client.wait_for(lambda c: not c.connected)
        async with boot(npc_count=2, port=port):  # Bye(1001) is retried: the client finds the new server
            await client.wait_for(lambda c: c.connected and c.stats.reconnects == 1, timeout=10.0)
            assert not client.welcome.resumed and client.stats.resumes == 0
            assert any(e.code == ErrorCode.RESUME_FAILED for e in client.errors)
            assert client.entity != 0 and client.entity == client.welcome.entity
            assert await client.send_input(0.0, 1.0) == 1  # a fresh session counts seq from 1 again
            await client.wait_for(lambda c: c.input_ack >= 1 and c.position() is not None)
            await client.close()
        assert old_entity != 0

    run(scenario())
