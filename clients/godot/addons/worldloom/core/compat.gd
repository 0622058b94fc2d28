## Engine-version seam of the portable core (Godot 4 implementation).
##
## The core scripts (msgpack, column, wire_codec, snapshot, interpolation, input_log, rpc_calls,
## session) are written in the subset of GDScript shared by Godot 4 and Godot 3 once type hints are
## stripped, and call this file for the handful of APIs that differ between the two engines.
## `clients/godot/godot3/compat.gd` is the Godot 3 twin with the same functions; CI runs the core
## in Godot 3 with that file swapped in (see clients/godot/tools/to_godot3.py).


## An empty byte array.
static func new_bytes() -> PackedByteArray:
	return PackedByteArray()


## Bytes `[from, to)` of `data` (a copy).
static func slice_bytes(data: PackedByteArray, from: int, to: int) -> PackedByteArray:
	return data.slice(from, to)


## The UTF-8 encoding of `text`.
static func utf8(text: String) -> PackedByteArray:
	return text.to_utf8_buffer()


## True if `value` is a float.
static func is_float(value) -> bool:
	return typeof(value) == TYPE_FLOAT


## True if `value` is a byte array.
static func is_bytes(value) -> bool:
	return typeof(value) == TYPE_PACKED_BYTE_ARRAY


## Monotonic clock in microseconds.
static func now_usec() -> int:
	return Time.get_ticks_usec()


## Wall clock in seconds since the Unix epoch.
static func unix_time() -> float:
	return Time.get_unix_time_from_system()


## Whole file as bytes (empty if it cannot be read).
static func read_bytes(path: String) -> PackedByteArray:
	var file := FileAccess.open(path, FileAccess.READ)
	if file == null:
		return PackedByteArray()
	return file.get_buffer(file.get_length())


## Whole file as text ("" if it cannot be read).
static func read_text(path: String) -> String:
	var file := FileAccess.open(path, FileAccess.READ)
	if file == null:
		return ""
	return file.get_as_text()


## Parsed JSON value (null when `text` is not JSON).
static func parse_json(text: String):
	return JSON.parse_string(text)


## Append every item of `items` to `target` (Godot 3.2's Array has no append_array).
static func append_all(target: Array, items: Array) -> void:
	target.append_array(items)
