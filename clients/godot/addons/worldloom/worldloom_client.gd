extends Node
## WorldloomClient: a Node that connects a Godot 4 game to a Worldloom server.
##
## Add it to a scene (or `WorldloomClient.new()` from code via the addon's custom type), set `url`,
## call `connect_to_server()`, and react to its signals. It moves binary frames over Godot's
## `WebSocketPeer` and leaves every protocol rule to the sans-I/O `core/session.gd`: the handshake
## (a version or schema mismatch is reported with both sides' versions through `refused`), snapshot
## deltas with acks, spawn/despawn, inputs with sequence numbers (resent after a resume), RPC calls
## with timeouts, events, and a clean `Bye` on `close()`. When the connection drops (network loss,
## server restart: anything but the close codes in `Session.NO_RECONNECT`) it reconnects with backoff
## and resumes the session with the resume token, keeping the avatar and the snapshot baselines.
##
## Polling happens in `_process`, so the node must be in the tree and processing.

signal connected(welcome: Dictionary)
signal resumed(welcome: Dictionary)
signal refused(code: int, message: String)
signal disconnected(close_code: int, will_reconnect: bool)
signal snapshot_received(tick: int, view: Dictionary)
signal entity_spawned(kind: String, entity: int)
signal entity_despawned(kind: String, entity: int)
signal event_received(event: Dictionary)
signal rpc_completed(call_id: int, method: String, result: Variant, code: int, message: String)
signal server_error(code: int, message: String)

const Session = preload("res://addons/worldloom/core/session.gd")
const Compat = preload("res://addons/worldloom/core/compat.gd")

## Inbound WebSocket buffer (server frames stay under 60000 bytes).
const INBOUND_BUFFER_BYTES = 1 << 17

## Server address, e.g. ws://127.0.0.1:8765/ws.
@export var url: String = "ws://127.0.0.1:8765/ws"
## player | spectator | admin | service.
@export var role: String = "player"
## Access token ("" for open play).
@export var token: String = ""
## Display name sent in Hello.
@export var display_name: String = ""
## Connect when the node enters the tree.
@export var auto_connect: bool = false
## Reconnect and resume after a dropped connection.
@export var auto_reconnect: bool = true
## Handshakes tried per drop before giving up.
@export var reconnect_attempts: int = 8

## The sans-I/O protocol session (views, inputs, calls, interpolation buffer).
var session = Session.new()

var _peer: WebSocketPeer = null
var _opened: bool = false
var _attempts_left: int = 0
var _retry_at_usec: int = 0
var _retry_delay: float = 0.05
var _clock_offset: float = 0.0
var _has_clock: bool = false


func _ready() -> void:
	if auto_connect:
		connect_to_server()


## Open the WebSocket and start the handshake. Returns OK or the WebSocketPeer error.
func connect_to_server() -> Error:
	session.role = role
	session.token = token
	session.display_name = display_name
	return _open()


## Say Bye and close (no resume afterwards).
func close(reason: String = "client closing") -> void:
	if _peer != null and _peer.get_ready_state() == WebSocketPeer.STATE_OPEN:
		session.say_bye(reason)
		_flush()
		_peer.close(Session.Protocol.CloseCode.NORMAL, reason)
	else:
		session.state = "closed"


## Drop the connection without Bye (as a network loss would); it resumes if `auto_reconnect`.
func drop_connection() -> void:
	if _peer != null:
		_peer.close(-1)


## Send one movement input (axes clamped to [-1, 1]); returns its sequence number.
func send_input(move: Vector2, buttons: int = 0) -> int:
	var seq: int = session.send_input(move.x, move.y, buttons)
	_flush()
	return seq


## Call an RPC method (e.g. "room.info"); the answer arrives via `rpc_completed` with this id.
func call_rpc(method: String, params: Variant = null, timeout: float = 5.0) -> int:
	var call_id: int = session.call_rpc(method, params, timeout)
	_flush()
	return call_id


## Measure a round trip (answered through the session; see `session` events).
func ping() -> void:
	session.ping()
	_flush()


## Estimated server clock in seconds (0 before the first snapshot).
func server_time() -> float:
	if not _has_clock:
		return 0.0
	return Compat.now_usec() / 1000000.0 + _clock_offset


## Smoothed entity positions: `{kind: {"ids": Array, "pos": Array of Vector3 metres}}`.
func interpolated() -> Dictionary:
	return session.buffer.sample(server_time())


## Position in metres of `entity` (default: our avatar) in the newest view, or null.
func position_of(entity: int = -1) -> Variant:
	var target: int = session.entity if entity < 0 else entity
	var view: Dictionary = session.assembler.latest_view
	for kind in view:
		var ids: Array = view[kind]["ids"]
		var row := ids.find(target)
		if row >= 0:
			var q: Array = view[kind]["q"]
			return Vector3(q[3 * row], q[3 * row + 1], q[3 * row + 2]) * session.buffer.quantum
	return null


func is_online() -> bool:
	return session.state == "open"


func _open() -> Error:
	_peer = WebSocketPeer.new()
	_peer.inbound_buffer_size = INBOUND_BUFFER_BYTES
	_opened = false
	var err := _peer.connect_to_url(url)
	if err == OK:
		session.begin()
	return err


func _flush() -> void:
	if _peer == null or _peer.get_ready_state() != WebSocketPeer.STATE_OPEN:
		return
	for frame in session.take_outgoing():
		_peer.send(frame, WebSocketPeer.WRITE_MODE_BINARY)


func _process(_delta: float) -> void:
	if _peer == null:
		if _retry_at_usec > 0 and Compat.now_usec() >= _retry_at_usec:
			_retry_at_usec = 0
			_open()
		return
	_peer.poll()
	var state := _peer.get_ready_state()
	if state == WebSocketPeer.STATE_OPEN:
		_opened = true
		_flush()
		while _peer.get_available_packet_count() > 0:
			var packet := _peer.get_packet()
			if _peer.was_string_packet():
				continue
			for event in session.receive(packet):
				_dispatch(event)
		for event in session.poll():
			_dispatch(event)
		_flush()
	elif state == WebSocketPeer.STATE_CLOSED:
		_on_closed(_peer.get_close_code())


func _on_closed(code: int) -> void:
	_peer = null
	var again: bool = auto_reconnect and session.should_reconnect(code)
	if again and _attempts_left <= 0:
		_attempts_left = reconnect_attempts
		_retry_delay = 0.05
	if again and _attempts_left > 0:
		_attempts_left -= 1
		session.connection_lost()
		_retry_at_usec = Compat.now_usec() + int(_retry_delay * randf_range(0.5, 1.5) * 1000000.0)
		_retry_delay = min(_retry_delay * 2.0, 2.0)
	else:
		session.state = "closed"
	disconnected.emit(code, again)


func _dispatch(event: Dictionary) -> void:
	match event["type"]:
		"welcome":
			_attempts_left = 0
			if event["resumed"]:
				resumed.emit(event["message"])
			else:
				connected.emit(event["message"])
		"refused":
			refused.emit(event["code"], event["message"])
		"snapshot":
			var offset: float = event["time"] - Compat.now_usec() / 1000000.0
			_clock_offset = offset if not _has_clock else _clock_offset + 0.1 * (offset - _clock_offset)
			_has_clock = true
			snapshot_received.emit(event["tick"], event["view"])
		"spawned":
			entity_spawned.emit(event["kind"], event["id"])
		"despawned":
			entity_despawned.emit(event["kind"], event["id"])
		"event":
			event_received.emit(event["message"])
		"rpc_result":
			rpc_completed.emit(event["id"], event["method"], event["result"], event["code"],
				event["message"])
		"error":
			server_error.emit(event["code"], event["message"])
