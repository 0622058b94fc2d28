## Sans-I/O Worldloom client session: bytes in, events and bytes out, no sockets.
##
## The transport adapter (the `WorldloomClient` node over `WebSocketPeer` in Godot 4, a
## `WebSocketClient` adapter in the Godot 3 CI harness) opens the socket, sends `begin()`'s Hello,
## feeds every binary frame to `receive()`, writes out `take_outgoing()` and calls `poll()` each frame.
## Everything protocol-shaped lives here: the handshake and its refusals (a version or schema mismatch
## names both sides' versions), snapshot assembly with acks, spawn/despawn detection, input seq and
## resend after a resume, RPC ids and timeouts, events, Bye. Keeping the state here (not in the node)
## is what lets the same logic run in Godot 3 in CI and survive reconnects: the assembler's views and
## the input log outlive the socket, so a resumed session continues its deltas and resends only the
## inputs the server did not receive (`seq > Welcome.last_input`).
##
## Events are Dictionaries with a "type": welcome, refused, snapshot, spawned, despawned, event,
## rpc_result, error, bye, pong, snapshot_error, decode_error.

const Compat = preload("res://addons/worldloom/core/compat.gd")
const Protocol = preload("res://addons/worldloom/core/protocol.gd")
const WireCodec = preload("res://addons/worldloom/core/wire_codec.gd")
const SnapshotAssembler = preload("res://addons/worldloom/core/snapshot.gd")
const InputLog = preload("res://addons/worldloom/core/input_log.gd")
const RpcCalls = preload("res://addons/worldloom/core/rpc_calls.gd")
const InterpolationBuffer = preload("res://addons/worldloom/core/interpolation.gd")

const SDK_NAME = "worldloom-godot"
const SDK_VERSION = "0.1.0"

## Close codes after which retrying cannot help (docs/protocol.md, "Close codes").
const NO_RECONNECT = [1000, 1009, 4000, 4001, 4002, 4003, 4004, 4005]

var role: String = "player"
var token: String = ""
var display_name: String = ""
## "idle" (no socket), "handshaking", "open", "closed" (finished for good).
var state: String = "idle"
## The last Welcome (a Dictionary) or null.
var welcome = null
## The avatar entity id (0 without one).
var entity: int = 0
## Newest server tick seen in a completed snapshot.
var tick: int = 0
## Resume token of the last Welcome ("" before the first).
var resume_token: String = ""
## Code of the refusal or Bye that ended the session (0 while none).
var close_code: int = 0

var codec = WireCodec.new()
var assembler = SnapshotAssembler.new()
var inputs = InputLog.new()
var calls = RpcCalls.new()
var buffer = InterpolationBuffer.new()

var _outbox := []
var _ping_nonce: int = 0


## Start a handshake: returns the Hello frame (also queued in the outbox). Resumes when we have a token.
func begin() -> PackedByteArray:
	state = "handshaking"
	var hello: Dictionary = Protocol.hello(Protocol.PROTOCOL_VERSION, Protocol.SCHEMA_HASH, SDK_NAME,
		SDK_VERSION, role, token, resume_token, display_name, [])
	var frame: PackedByteArray = codec.encode(hello)
	_outbox.append(frame)
	return frame


## Frames to write, oldest first (the outbox is emptied).
func take_outgoing() -> Array:
	var out := _outbox
	_outbox = []
	return out


## The socket went away without a Bye: keep the views, inputs and resume token for `begin()`.
func connection_lost() -> void:
	if state != "closed":
		state = "idle"


## Whether to reconnect after the socket closed with `code`.
func should_reconnect(code: int) -> bool:
	return state != "closed" and not NO_RECONNECT.has(code) and resume_token != ""


## Send one input (queued; logged for resend even while disconnected). Returns its seq.
func send_input(move_x: float, move_y: float, buttons: int = 0) -> int:
	var message: Dictionary = inputs.record(move_x, move_y, buttons, tick)
	if state == "open":
		_outbox.append(codec.encode(message))
	return message["seq"]


## Call an RPC: returns the call id; its answer (or RPC_TIMEOUT) comes as an "rpc_result" event.
func call_rpc(method: String, params = null, timeout: float = 5.0) -> int:
	var opened: Array = calls.open(method, params, timeout, Compat.now_usec())
	var frame: PackedByteArray = codec.encode(opened[1])
	if frame.size() > 0 and state == "open":
		_outbox.append(frame)
	return opened[0]


## Queue a Ping (the Pong event carries the round trip in seconds).
func ping() -> void:
	_ping_nonce += 1
	_outbox.append(codec.encode({"t": "ping", "nonce": _ping_nonce,
		"time": Compat.now_usec() / 1000000.0}))


## Queue a Bye (orderly close: the server removes the avatar at once, no resume).
func say_bye(reason: String = "client closing") -> void:
	_outbox.append(codec.encode({"t": "bye", "code": Protocol.CloseCode.NORMAL, "reason": reason}))
	state = "closed"
	close_code = Protocol.CloseCode.NORMAL


## Timers: RPC calls past their timeout become "rpc_result" events with code RPC_TIMEOUT.
func poll() -> Array:
	var events := []
	for expired in calls.expire(Compat.now_usec()):
		events.append({"type": "rpc_result", "id": expired[0], "method": expired[1], "result": null,
			"code": Protocol.ErrorCode.RPC_TIMEOUT, "message": "%s: no answer in time" % expired[1]})
	return events


## Feed one binary frame from the server; returns the events it produced.
func receive(data: PackedByteArray) -> Array:
	var decoded: Array = codec.decode_frame(data, "server")
	if decoded[1] != "":
		return [{"type": "decode_error", "error": decoded[1]}]
	var message: Dictionary = decoded[0]
	match message["t"]:
		"welcome":
			return _on_welcome(message)
		"snap":
			return _on_snapshot(message)
		"event":
			return [{"type": "event", "message": message}]
		"rpc_result":
			var call = calls.resolve(message)
			if call == null:
				return []
			return [{"type": "rpc_result", "id": message["id"], "method": call["method"],
				"result": message["result"], "code": message["code"], "message": message["message"]}]
		"error":
			return _on_error(message)
		"bye":
			close_code = message["code"]
			return [{"type": "bye", "message": message}]
		"pong":
			var rtt: float = Compat.now_usec() / 1000000.0 - message["time"]
			return [{"type": "pong", "rtt": rtt, "message": message}]
	return []


func _on_welcome(message: Dictionary) -> Array:
	if message["protocol"] != Protocol.PROTOCOL_VERSION or message["schema"] != Protocol.SCHEMA_HASH:
		state = "closed"
		close_code = Protocol.CloseCode.VERSION_MISMATCH
		return [{"type": "refused", "code": Protocol.ErrorCode.VERSION_MISMATCH,
			"message": version_text("server speaks protocol %d, schema %s" % [message["protocol"],
				message["schema"]])}]
	var resumed: bool = message["resumed"]
	welcome = message
	entity = message["entity"]
	resume_token = message["resume"]
	buffer.quantum = message["quantum"]
	buffer.set_tick_rate(message["tick_rate"])
	state = "open"
	if resumed:
		for pending in inputs.unacknowledged(message["last_input"]):
			_outbox.append(codec.encode(pending))
	else:
		assembler.reset()
		inputs.clear()
		buffer.clear()
	return [{"type": "welcome", "message": message, "resumed": resumed}]


func _on_snapshot(snap: Dictionary) -> Array:
	if snap["input_ack"] > inputs.acked:
		inputs.acknowledge(snap["input_ack"])
	var previous: Dictionary = assembler.latest_view
	var fed: Dictionary = assembler.feed(snap)
	if fed["status"] == "error":
		return [{"type": "snapshot_error", "error": fed["error"]}]
	if fed["status"] != "complete":
		return []
	tick = fed["tick"]
	var view: Dictionary = fed["view"]
	buffer.push(snap["time"], view)
	_outbox.append(codec.encode(Protocol.ack(tick)))
	var events := [{"type": "snapshot", "tick": tick, "view": view, "time": snap["time"]}]
	Compat.append_all(events, membership_changes(previous, view))
	return events


func _on_error(message: Dictionary) -> Array:
	var code: int = message["code"]
	if state == "handshaking" and code != Protocol.ErrorCode.RESUME_FAILED:
		state = "closed"
		var text: String = message["message"]
		if code == Protocol.ErrorCode.VERSION_MISMATCH or code == Protocol.ErrorCode.SCHEMA_MISMATCH:
			text = version_text(text)
		return [{"type": "refused", "code": code, "message": text}]
	return [{"type": "error", "code": code, "message": message["message"], "ref": message["ref"]}]


## A refusal text naming this SDK's protocol version and schema hash next to the server's.
static func version_text(server_side: String) -> String:
	return "version mismatch: this SDK (%s %s) speaks protocol %d, schema %s; %s" % [
		SDK_NAME, SDK_VERSION, Protocol.PROTOCOL_VERSION, Protocol.SCHEMA_HASH, server_side]


## "spawned"/"despawned" events for ids that entered or left between two views.
static func membership_changes(before: Dictionary, after: Dictionary) -> Array:
	var events := []
	for kind in after:
		var old := {}
		if before.has(kind):
			for id in before[kind]["ids"]:
				old[id] = true
		for id in after[kind]["ids"]:
			if not old.has(id):
				events.append({"type": "spawned", "kind": kind, "id": id})
	for kind in before:
		var now := {}
		if after.has(kind):
			for id in after[kind]["ids"]:
				now[id] = true
		for id in before[kind]["ids"]:
			if not now.has(id):
				events.append({"type": "despawned", "kind": kind, "id": id})
	return events
