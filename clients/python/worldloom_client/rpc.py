"""RPC bookkeeping: the table of calls awaiting an answer, and answering requests as a service.

Why this design: both halves are plain functions over futures and handlers so they are tested without a
network; the asyncio client only encodes, sends and routes ``RpcResponse``/``RpcRequest`` here.

A service handler is ``async def handler(params) -> result`` (a plain function works too). Whatever it
returns must be MessagePack-serializable. It may raise ``RpcError(code, message)`` to choose the answer;
any other exception becomes ``RPC_FAILED`` naming only the exception type (the traceback is logged here,
never sent: details may be sensitive). A handler never takes the client down.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from protocol.codec import encode
from protocol.codes import ErrorCode
from protocol.messages import RpcRequest, RpcResponse

from .errors import ConnectionLost, RpcError

log = logging.getLogger("worldloom_client.rpc")

Handler = Callable[[Any], Awaitable[Any] | Any]

_REQUEST_INFO = msgspec.inspect.type_info(RpcRequest)
assert isinstance(_REQUEST_INFO, msgspec.inspect.StructType)
_METHOD_PATTERN = re.compile(next(
    f.type.pattern for f in _REQUEST_INFO.fields if f.name == "method" and isinstance(f.type, msgspec.inspect.StrType)
    and f.type.pattern))
_METHOD_MAX = 64


def check_method_name(method: str) -> None:
    """Raise ``RpcError(INVALID)`` unless ``method`` is a valid wire method name (``room.info``)."""
    if not isinstance(method, str) or not 0 < len(method) <= _METHOD_MAX or not _METHOD_PATTERN.match(method):
        raise RpcError(ErrorCode.INVALID, f"invalid method name {method!r}: want dotted lowercase like 'room.info'")


class PendingCalls:
    """Outstanding RPC calls by id. Ids start at 1 and increase; each maps to one future."""

    def __init__(self) -> None:
        self._next_id = 0
        self._futures: dict[int, asyncio.Future[Any]] = {}

    def open(self, loop: asyncio.AbstractEventLoop) -> tuple[int, asyncio.Future[Any]]:
        """Allocate an id and the future its answer will resolve."""
        self._next_id += 1
        future: asyncio.Future[Any] = loop.create_future()
        self._futures[self._next_id] = future
        return self._next_id, future

    def discard(self, call_id: int) -> None:
        self._futures.pop(call_id, None)

    def resolve(self, response: RpcResponse) -> bool:
        """Settle the call ``response.id``. Returns False for an unknown or already-settled id."""
        future = self._futures.pop(response.id, None)
        if future is None or future.done():
            return False
        if response.code == 0:
            future.set_result(response.result)
        else:
            future.set_exception(RpcError(response.code, response.message))
        return True

    def fail_all(self, error: ConnectionLost) -> None:
        """Fail every outstanding call (the connection is gone for good)."""
        futures, self._futures = self._futures, {}
        for future in futures.values():
            if not future.done():
                future.set_exception(error)

    def __len__(self) -> int:
        return len(self._futures)


async def serve_request(handlers: dict[str, Handler], request: RpcRequest) -> RpcResponse:
    """Run the handler for ``request`` within its deadline and build the answer. Never raises."""
    handler = handlers.get(request.method)
    if handler is None:
        return RpcResponse(id=request.id, code=int(ErrorCode.NO_SUCH_METHOD),
                           message=f"this service does not provide {request.method!r}")
    try:
        async with asyncio.timeout(request.deadline_ms / 1000.0):
            result = handler(request.params)
            if inspect.isawaitable(result):
                result = await result
    except RpcError as exc:
        return RpcResponse(id=request.id, code=int(exc.code), message=exc.message[:1000])
    except TimeoutError:
        return RpcResponse(id=request.id, code=int(ErrorCode.RPC_TIMEOUT),
                           message=f"{request.method}: handler exceeded {request.deadline_ms} ms")
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log.exception("rpc handler for %s failed", request.method)
        return RpcResponse(id=request.id, code=int(ErrorCode.RPC_FAILED),
                           message=f"{request.method}: handler raised {type(exc).__name__}")
    response = RpcResponse(id=request.id, result=result)
    try:
        encode(response)  # fail here, not in the transport, if the result is not serializable
    except Exception as exc:
        return RpcResponse(id=request.id, code=int(ErrorCode.RPC_FAILED),
                           message=f"{request.method}: result is not serializable ({type(exc).__name__})")
    return response
