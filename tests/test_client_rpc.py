"""RPC bookkeeping: pending-call table and answering requests as a service. No sockets."""

from __future__ import annotations

import asyncio

import pytest
from worldloom_client import ConnectFailed, ConnectionLost, RpcError, WorldloomClient
from worldloom_client.rpc import PendingCalls, check_method_name, serve_request

from protocol.codes import ErrorCode
from protocol.messages import RpcRequest, RpcResponse


def run(coro):
    return asyncio.run(coro)


async def _echo(params):
    await asyncio.sleep(0)
    return {"echo": params}


def test_serve_request_answers_with_the_same_id():
    handlers = {"test.echo": _echo, "test.sync": lambda p: p * 2}
    response = run(serve_request(handlers, RpcRequest(id=41, method="test.echo", params=[1, "x"])))
    assert response == RpcResponse(id=41, result={"echo": [1, "x"]})
    assert run(serve_request(handlers, RpcRequest(id=2, method="test.sync", params=21))).result == 42


def test_serve_request_never_raises():
    async def boom(params):
        raise KeyError("secret-detail")

    async def refuse(params):
        raise RpcError(ErrorCode.UNAUTHORIZED, "not you")

    async def slow(params):
        await asyncio.sleep(10)

    handlers = {"t.boom": boom, "t.refuse": refuse, "t.slow": slow, "t.blob": lambda p: object()}
    failed = run(serve_request(handlers, RpcRequest(id=1, method="t.boom")))
    assert failed.id == 1 and failed.code == ErrorCode.RPC_FAILED
    assert "KeyError" in failed.message and "secret-detail" not in failed.message
    refused = run(serve_request(handlers, RpcRequest(id=2, method="t.refuse")))
    assert (refused.code, refused.message) == (ErrorCode.UNAUTHORIZED, "not you")
    late = run(serve_request(handlers, RpcRequest(id=3, method="t.slow", deadline_ms=20)))
    assert late.code == ErrorCode.RPC_TIMEOUT
    blob = run(serve_request(handlers, RpcRequest(id=4, method="t.blob")))
    assert blob.code == ErrorCode.RPC_FAILED and "serializable" in blob.message
    missing = run(serve_request(handlers, RpcRequest(id=5, method="t.none")))
    assert missing.code == ErrorCode.NO_SUCH_METHOD


def test_pending_calls_resolve_fail_and_ignore_unknown_ids():
    async def scenario():
        calls = PendingCalls()
        loop = asyncio.get_running_loop()
        (a, fa), (b, fb), (c, fc) = calls.open(loop), calls.open(loop), calls.open(loop)
        assert (a, b, c) == (1, 2, 3) and len(calls) == 3
        assert calls.resolve(RpcResponse(id=a, result={"ok": 1}))
        assert not calls.resolve(RpcResponse(id=a, result=None))  # already settled
        assert not calls.resolve(RpcResponse(id=99))
        assert calls.resolve(RpcResponse(id=b, code=ErrorCode.NO_SUCH_METHOD, message="none"))
        calls.fail_all(ConnectionLost("gone"))
        assert await fa == {"ok": 1}
        with pytest.raises(RpcError) as err:
            await fb
        assert err.value.code == ErrorCode.NO_SUCH_METHOD and err.value.message == "none"
        with pytest.raises(ConnectionLost):
            await fc
        assert len(calls) == 0

    run(scenario())


@pytest.mark.parametrize("name", ["room.info", "test.echo", "a.b_c.d9"])
def test_method_names_accepted(name):
    check_method_name(name)


@pytest.mark.parametrize("name", ["", "room", "Room.info", "room.", ".info", "x" * 70 + ".y", 7])
def test_method_names_rejected(name):
    with pytest.raises(RpcError) as err:
        check_method_name(name)
    assert err.value.code == ErrorCode.INVALID


def test_connect_to_a_closed_port_raises_connect_failed():
    async def scenario():
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        server.close()
        await server.wait_closed()
        client = WorldloomClient(f"ws://127.0.0.1:{port}/ws", handshake_timeout=2.0)
        with pytest.raises(ConnectFailed):
            await client.connect()
        await client.close()
        with pytest.raises(ConnectionLost):
            await client.send_input(1.0, 0.0)

    run(scenario())


def test_client_rejects_bad_method_registration():
    with pytest.raises(RpcError):
        WorldloomClient("ws://127.0.0.1:1/ws", role="service", methods={"NotValid": _echo})
    client = WorldloomClient("ws://127.0.0.1:1/ws", role="service", methods=["test.echo"])
    client.register("test.other", _echo)
    assert client._method_names == ["test.echo", "test.other"]
