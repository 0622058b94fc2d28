## Bookkeeping of outgoing RPC calls: ids, deadlines, answers and timeouts.
##
## The caller picks ids unique among its pending calls (a counter). `open` returns the `rpc` message to
## send; `resolve` matches an `rpc_result` to its call; `expire(now_usec)` returns the calls whose
## timeout passed (reported to the application as code RPC_TIMEOUT). An answer that arrives after its
## call expired is dropped. Pure bookkeeping: the session moves the bytes.

const Protocol = preload("res://addons/worldloom/core/protocol.gd")

var _next_id: int = 0
var _pending := {}


## Register a call; returns `[id, rpc message]`. `timeout` in seconds (deadline_ms in 1 … 600000).
func open(method: String, params, timeout: float, now_usec: int) -> Array:
	_next_id += 1
	var deadline_ms: int = int(clamp(timeout * 1000.0, 1.0, 600000.0))
	_pending[_next_id] = {"method": method, "expires": now_usec + int(timeout * 1000000.0)}
	return [_next_id, Protocol.rpc_request(_next_id, method, params, deadline_ms)]


## The pending call answered by `response` (and forget it), or null when unknown / expired.
func resolve(response: Dictionary):
	var call_id: int = response["id"]
	if not _pending.has(call_id):
		return null
	var call: Dictionary = _pending[call_id]
	_pending.erase(call_id)
	return call


## Calls past their timeout at `now_usec`: Array of `[id, method]` (forgotten).
func expire(now_usec: int) -> Array:
	var out := []
	for call_id in _pending.keys():
		if _pending[call_id]["expires"] <= now_usec:
			out.append([call_id, _pending[call_id]["method"]])
			_pending.erase(call_id)
	return out


func pending_count() -> int:
	return _pending.size()
