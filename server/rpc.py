"""RPC routing: built-in methods answered by the server, the rest forwarded to service connections.

A service declares its methods in ``Hello.methods``. A request is forwarded with a server-assigned id to
a live provider (round robin) and the answer relayed back under the caller's id. Deadlines are checked
every tick, so a dead or slow service yields RPC_TIMEOUT / RPC_FAILED, never a hung tick.

The server itself may call a service too (``call``): the same routing and deadlines, but the answer goes
to a completion callback ``on_done(code, result, message)`` instead of a caller's connection. The
callback runs exactly once — on the answer, at the deadline (RPC_TIMEOUT), when the provider goes away
(RPC_FAILED) or at once when nobody provides the method (NO_SUCH_METHOD) — on the event loop, so it must
not block (the analytics forwarder only moves a batch between its queues there).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from protocol import ErrorCode, RpcRequest, RpcResponse

from .room import ClientSlot, Room

log = logging.getLogger("worldloom.rpc")

Builtin = Callable[[ClientSlot, Any], Any]
Completion = Callable[[int, Any, str], None]
"""``on_done(code, result, message)`` of a server-originated call; ``code == 0`` means success."""


class RpcDenied(Exception):
    """Raised by a built-in method to refuse a call with an error code."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass
class _Pending:
    caller: str  # session id ("" for a call made by the server itself)
    caller_id: int
    provider: str
    method: str
    deadline: float
    on_done: Completion | None = None


class RpcRouter:
    def __init__(self, room: Room, builtins: dict[str, Builtin]) -> None:
        self.room = room
        self.builtins = builtins
        self._ids = itertools.count(1)
        self._pending: dict[int, _Pending] = {}
        self._rotation = itertools.count()

    def request(self, slot: ClientSlot, req: RpcRequest, now: float) -> None:
        metrics = self.room.metrics
        metrics.rpc_calls += 1
        handler = self.builtins.get(req.method)
        if handler is not None:
            try:
                self._reply(slot, RpcResponse(id=req.id, result=handler(slot, req.params)))
            except RpcDenied as exc:
                self._fail(slot, req.id, exc.code, exc.message)
            except Exception:
                log.exception("built-in rpc %s failed", req.method)
                self._fail(slot, req.id, ErrorCode.INTERNAL, f"{req.method} failed on the server")
            return
        providers = self._providers(req.method)
        if not providers:
            self._fail(slot, req.id, ErrorCode.NO_SUCH_METHOD,
                       f"no live service provides {req.method!r}; start the service that registers it")
            return
        provider = providers[next(self._rotation) % len(providers)]
        self._forward(provider, req.method, req.params, req.deadline_ms,
                      _Pending(slot.session_id, req.id, provider.session_id, req.method,
                               now + req.deadline_ms / 1000.0))

    def _providers(self, method: str) -> list[ClientSlot]:
        return [s for s in self.room.slots.values()
                if s.role == "service" and s.link is not None and method in s.methods]

    def has_provider(self, method: str) -> bool:
        """True when a connected service declared ``method``."""
        return any(True for _ in self._providers(method))

    def call(self, method: str, params: Any, deadline_ms: int, on_done: Completion, now: float) -> int:
        """Call ``method`` on a service from the server itself; ``on_done`` gets the outcome exactly once.

        Returns the server-assigned call id (0 when nobody provides the method: ``on_done`` has then
        already run with NO_SUCH_METHOD). ``deadline_ms`` in 1..600000 like ``RpcRequest.deadline_ms``.
        """
        self.room.metrics.rpc_calls += 1
        providers = self._providers(method)
        if not providers:
            self.room.metrics.rpc_errors += 1
            on_done(int(ErrorCode.NO_SUCH_METHOD), None, f"no live service provides {method!r}")
            return 0
        provider = providers[next(self._rotation) % len(providers)]
        return self._forward(provider, method, params, deadline_ms,
                             _Pending("", 0, provider.session_id, method, now + deadline_ms / 1000.0, on_done))

    def _forward(self, provider: ClientSlot, method: str, params: Any, deadline_ms: int, pending: _Pending) -> int:
        server_id = next(self._ids)
        self._pending[server_id] = pending
        assert provider.link is not None
        provider.link.session.send(RpcRequest(id=server_id, method=method, params=params, deadline_ms=deadline_ms))
        provider.link.wake()
        return server_id

    @staticmethod
    def _complete(pending: _Pending, code: int, result: Any, message: str) -> None:
        assert pending.on_done is not None
        try:
            pending.on_done(code, result, message)
        except Exception:  # a broken callback must not break routing (or the tick that expires calls)
            log.exception("completion of server call %s failed", pending.method)

    def response(self, slot: ClientSlot, resp: RpcResponse) -> None:
        pending = self._pending.get(resp.id)
        if pending is None or pending.provider != slot.session_id:
            return  # late answer after a timeout, or not ours: ignore
        del self._pending[resp.id]
        if pending.on_done is not None:
            if resp.code:
                self.room.metrics.rpc_errors += 1
            self._complete(pending, resp.code, resp.result, resp.message)
            return
        caller = self.room.slots.get(pending.caller)
        if caller is None:
            return
        if resp.code:
            self.room.metrics.rpc_errors += 1
        self._reply(caller, RpcResponse(id=pending.caller_id, result=resp.result, code=resp.code,
                                        message=resp.message))

    def expire(self, now: float) -> None:
        """Fail requests past their deadline or whose provider is gone. Called every tick."""
        for server_id, pending in list(self._pending.items()):
            provider = self.room.slots.get(pending.provider)
            gone = provider is None or provider.link is None
            if gone or now > pending.deadline:
                del self._pending[server_id]
                if pending.on_done is not None:
                    self.room.metrics.rpc_errors += 1
                    code, why = ((ErrorCode.RPC_FAILED, "went away") if gone
                                 else (ErrorCode.RPC_TIMEOUT, "did not answer before its deadline"))
                    self._complete(pending, int(code), None, f"the service providing {pending.method!r} {why}")
                    continue
                caller = self.room.slots.get(pending.caller)
                if caller is None:
                    continue
                if gone:
                    self._fail(caller, pending.caller_id, ErrorCode.RPC_FAILED,
                               f"the service providing {pending.method!r} went away")
                else:
                    self._fail(caller, pending.caller_id, ErrorCode.RPC_TIMEOUT,
                               f"{pending.method!r} did not answer before its deadline")

    def _fail(self, slot: ClientSlot, call_id: int, code: ErrorCode, message: str) -> None:
        self.room.metrics.rpc_errors += 1
        self._reply(slot, RpcResponse(id=call_id, code=int(code), message=message))

    @staticmethod
    def _reply(slot: ClientSlot, resp: RpcResponse) -> None:
        if slot.link is not None:
            slot.link.session.send(resp)
            slot.link.wake()
