"""Hostile frames over a real websocket never hurt the world (hypothesis against one live server)."""

from __future__ import annotations

import asyncio
import threading
import time

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

import protocol as p
from protocol.session import ClientSession
from server.app import WorldServer
from server.config import ServerConfig


@pytest.fixture(scope="module")
def live_server():
    loop = asyncio.new_event_loop()
    server = WorldServer(ServerConfig(port=0, npc_count=50, secret="fuzz-secret-0123456789",
                                      max_clients=10_000))
    ready = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.start())
        ready.set()
        loop.run_until_complete(server._stop.wait())
        loop.run_until_complete(server.stop())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(30)
    yield server
    loop.call_soon_threadsafe(server.request_stop)
    thread.join(30)


VALID = [p.encode(m) for m in (
    p.Input(seq=1, tick=0, move=(0.5, -0.5)), p.Ack(tick=3), p.Ping(nonce=1),
    p.RpcRequest(id=1, method="room.info"), p.RpcResponse(id=99, result=[1, 2]),
)]


def _mutate(data: st.DataObject) -> bytes:
    frame = bytearray(data.draw(st.sampled_from(VALID)))
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(frame) - 1))
        frame[i] = data.draw(st.integers(0, 255))
    return bytes(frame)


hostile = st.one_of(
    st.binary(max_size=256),
    st.builds(lambda depth: b"\x91" * depth + b"\xc0", st.integers(1, 5000)),  # deep nesting
    st.builds(lambda obj: msgspec.msgpack.encode(obj), st.dictionaries(
        st.sampled_from(["t", "seq", "tick", "move", "id", "method", "params"]),
        st.one_of(st.integers(-2**70, 2**70).map(lambda i: i if -2**63 <= i < 2**64 else 0), st.floats(),
                  st.text(max_size=20), st.sampled_from(["input", "ack", "rpc", "hello", "bye"]),
                  st.lists(st.floats(), max_size=3)))),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(data=st.data())
def test_any_frames_leave_the_world_running(live_server: WorldServer, data: st.DataObject) -> None:
    frames = data.draw(st.lists(hostile, max_size=10))
    frames += [_mutate(data) for _ in range(data.draw(st.integers(0, 4)))]
    frames = data.draw(st.permutations(frames))
    tick_before = live_server.world.tick
    with connect(live_server.url, compression=None) as ws:
        ws.send(ClientSession().hello())
        try:
            for frame in frames:
                ws.send(frame)
            deadline = time.monotonic() + 0.2
            while time.monotonic() < deadline:
                reply = ws.recv(timeout=0.2)
                p.decode_server(reply)  # every reply is a valid server message
        except (TimeoutError, ConnectionClosed):
            pass
    assert live_server.room.failed is None
    deadline = time.monotonic() + 5
    while live_server.world.tick <= tick_before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert live_server.world.tick > tick_before, "the tick loop carries on"


def test_after_the_fuzz_a_normal_client_still_joins(live_server: WorldServer) -> None:
    with connect(live_server.url, compression=None) as ws:
        ws.send(ClientSession().hello(name="after"))
        assert isinstance(p.decode_server(ws.recv(timeout=5)), p.Welcome)
