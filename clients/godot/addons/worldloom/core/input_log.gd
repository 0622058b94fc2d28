## Input sequence numbers and the log of inputs the server has not applied yet.
##
## The server applies each `Input.seq` once, ignores any seq not above the last it received, and
## reports the last applied seq in `Snapshot.input_ack` (and the last received in
## `Welcome.last_input` on resume). So the client keeps the inputs above the newest ack, trims on every
## ack and resends the tail after a resume. Bounded: the oldest unacknowledged input is dropped.

const Protocol = preload("res://addons/worldloom/core/protocol.gd")

## Most unacknowledged inputs kept.
var capacity: int = 1024
## Newest seq handed out (0 before the first).
var last_seq: int = 0
## Newest seq the server reported as applied.
var acked: int = 0
## Inputs discarded because the log was full.
var dropped: int = 0

var _pending := []


## The next `input` message (axes clamped to [-1, 1], NaN -> 0), remembered until acknowledged.
func record(move_x: float, move_y: float, buttons: int, tick: int) -> Dictionary:
	last_seq = max(last_seq, acked) + 1
	var message: Dictionary = Protocol.input(last_seq, max(0, tick),
		[clamp_axis(move_x), clamp_axis(move_y)], buttons & 0xffffffff)
	if _pending.size() >= capacity:
		_pending.pop_front()
		dropped += 1
	_pending.append(message)
	return message


## The server applied every input up to `seq`.
func acknowledge(seq: int) -> void:
	if seq <= acked:
		return
	acked = seq
	while _pending.size() > 0 and _pending[0]["seq"] <= seq:
		_pending.pop_front()


## Inputs with a seq above `after` (to resend after a resume).
func unacknowledged(after: int) -> Array:
	var out := []
	for message in _pending:
		if message["seq"] > after:
			out.append(message)
	return out


## Forget everything (a new session starts seq again at 1).
func clear() -> void:
	_pending.clear()
	last_seq = 0
	acked = 0


static func clamp_axis(value: float) -> float:
	if is_nan(value):
		return 0.0
	return clamp(value, -1.0, 1.0)
