## Live end-to-end script of the CI harness (portable subset; runs in Godot 3 in CI).
##
## Drives the SDK session over a transport object (duck-typed: open(url) -> bool, poll(), is_open(),
## is_closed(), frames() -> Array of bytes, send(bytes), close(code), drop(), close_code()) one engine
## frame at a time: join as a player, send inputs (seq 1, 2, ...) while acking snapshots, see our avatar
## and the Python bot's avatar (entity `bot_entity`) move, call `room.info`, drop the socket without a
## Bye, resume with the resume token (same avatar, inputs past Welcome.last_input resent), move again,
## say Bye. `step()` returns "running", "passed" or a failure text.

const Compat = preload("res://addons/worldloom/core/compat.gd")
const Session = preload("res://addons/worldloom/core/session.gd")

const INPUT_INTERVAL_USEC = 50000
const INPUTS_BEFORE_DROP = 20
const INPUTS_WHILE_DOWN = 3
const INPUTS_AFTER_RESUME = 15

var phase: String = "connect"
var session = Session.new()
var transport = null
var transport_script = null
var url: String = ""
var bot_entity: int = 0

var inputs_sent: int = 0
var last_input_usec: int = 0
var first_own = null
var first_bot = null
var own_moved: bool = false
var bot_moved: bool = false
var pos_at_resume = null
var moved_after_resume: bool = false
var rpc_id: int = 0
var rpc_result = null
var spawned: int = 0
var snapshots: int = 0
var entity_before_drop: int = 0
var seq_before_drop: int = 0
var resumed_ok: bool = false
var resent: int = 0
var events_seen: int = 0
var bye_usec: int = 0


func setup(server_url: String, bot: int, transport_class) -> void:
	url = server_url
	bot_entity = bot
	transport_script = transport_class
	session.display_name = "godot-harness"


func report() -> Array:
	return ["WL_RESULT entity=%d last_seq=%d input_ack=%d snapshots=%d spawned=%d resumed=%s resent=%d" % [
		session.entity, session.inputs.last_seq, session.inputs.acked, snapshots, spawned,
		str(resumed_ok), resent],
		"WL_RESULT events=%d own_moved=%s bot_moved=%s moved_after_resume=%s" % [
		events_seen, str(own_moved), str(bot_moved), str(moved_after_resume)],
		"WL_RPC room.info -> %s" % str(rpc_result)]


func _connect() -> String:
	transport = transport_script.new()
	if not transport.open(url):
		return "cannot open %s" % url
	session.begin()
	return ""


func _position(view: Dictionary, id: int):
	for kind in view:
		var ids: Array = view[kind]["ids"]
		for i in range(ids.size()):
			if ids[i] == id:
				var q: Array = view[kind]["q"]
				return [q[3 * i], q[3 * i + 1], q[3 * i + 2]]
	return null


func _handle(event: Dictionary) -> String:
	var kind: String = event["type"]
	if kind == "refused":
		return "refused: %s" % event["message"]
	if kind == "welcome" and phase == "resuming":
		resumed_ok = event["resumed"] and session.entity == entity_before_drop
		if not resumed_ok:
			return "resume failed: resumed=%s entity %d (was %d)" % [str(event["resumed"]),
				session.entity, entity_before_drop]
		resent = session.inputs.unacknowledged(event["message"]["last_input"]).size()
		phase = "after_resume"
	elif kind == "snapshot":
		snapshots += 1
		var own = _position(event["view"], session.entity)
		var bot = _position(event["view"], bot_entity)
		if own != null:
			if first_own == null:
				first_own = own
			elif own != first_own:
				own_moved = true
			if phase == "after_resume":
				if pos_at_resume == null:
					pos_at_resume = own
				elif own != pos_at_resume:
					moved_after_resume = true
		if bot != null:
			if first_bot == null:
				first_bot = bot
			elif bot != first_bot:
				bot_moved = true
	elif kind == "spawned":
		spawned += 1
	elif kind == "event":
		events_seen += 1
	elif kind == "rpc_result" and event["id"] == rpc_id:
		if event["code"] != 0:
			return "rpc %s failed with code %d: %s" % [event["method"], event["code"], event["message"]]
		rpc_result = event["result"]
	elif kind == "snapshot_error" or kind == "decode_error":
		print("WL_NOTE %s: %s" % [kind, event["error"]])
	return ""


func _pump() -> String:
	transport.poll()
	if transport.is_open():
		for frame in session.take_outgoing():
			transport.send(frame)
	for frame in transport.frames():
		for event in session.receive(frame):
			var failure := _handle(event)
			if failure != "":
				return failure
	for event in session.poll():
		var failure := _handle(event)
		if failure != "":
			return failure
	if transport.is_open():
		for frame in session.take_outgoing():
			transport.send(frame)
	return ""


func _maybe_input(move_x: float, move_y: float) -> bool:
	var now := Compat.now_usec()
	if now - last_input_usec < INPUT_INTERVAL_USEC:
		return false
	last_input_usec = now
	session.send_input(move_x, move_y)
	inputs_sent += 1
	return true


func step() -> String:
	if phase == "connect":
		var failure := _connect()
		if failure != "":
			return failure
		phase = "join"
		return "running"
	var failure := _pump()
	if failure != "":
		return failure
	if transport.is_closed() and phase != "bye" and phase != "dropped":
		return "connection closed in phase %s (code %d)" % [phase, transport.close_code()]
	if phase == "join":
		if session.state == "open":
			phase = "play"
	elif phase == "play":
		if inputs_sent < INPUTS_BEFORE_DROP:
			_maybe_input(1.0, 0.0)
		elif own_moved and bot_moved and session.inputs.acked >= INPUTS_BEFORE_DROP / 2:
			rpc_id = session.call_rpc("room.info", null, 5.0)
			phase = "rpc"
	elif phase == "rpc":
		if rpc_result != null:
			entity_before_drop = session.entity
			seq_before_drop = session.inputs.last_seq
			transport.drop()
			session.connection_lost()
			phase = "dropped"
	elif phase == "dropped":
		if inputs_sent < INPUTS_BEFORE_DROP + INPUTS_WHILE_DOWN:
			_maybe_input(0.0, 1.0)  # logged while offline, resent after the resume
		elif transport.is_closed():
			var reconnect := _connect()
			if reconnect != "":
				return reconnect
			phase = "resuming"
	elif phase == "after_resume":
		if inputs_sent < INPUTS_BEFORE_DROP + INPUTS_WHILE_DOWN + INPUTS_AFTER_RESUME:
			_maybe_input(-1.0, 0.0)
		elif moved_after_resume and session.inputs.acked >= session.inputs.last_seq:
			session.say_bye("harness done")
			bye_usec = Compat.now_usec()
			phase = "bye"
	elif phase == "bye":
		if transport.is_closed() or Compat.now_usec() - bye_usec > 2000000:
			return "passed"
	return "running"
