## MessagePack codec for the subset of MessagePack the Worldloom protocol uses.
##
## Values: null, bool, int (every width; uint64 above 2^63-1 wraps into a negative int, GDScript ints
## being signed 64-bit), float (float 32 and 64 read; always written as float 64), String (UTF-8,
## validated), PackedByteArray (bin 8/16/32), Array, Dictionary. Ext types are refused (the protocol
## forbids them). Writers use the smallest integer format, as the reference encoder does, so a
## message encodes to the exact bytes of the golden vectors.
##
## Why hand-written: Godot ships no MessagePack, and an SDK must not need anything the engine does not
## ship. Errors are values, not exceptions (GDScript has none): `decode` returns `[value, error]`.
## Untrusted input cannot make it allocate more than the frame holds (lengths are checked against
## the bytes left before anything is read) nor recurse deeper than MAX_DEPTH.
##
## Usage: `var codec = Msgpack.new()`, `codec.encode(value) -> PackedByteArray` (empty on an
## unsupported value, see `encode_error`), `codec.decode(bytes) -> [value, error_string]`.

const Compat = preload("res://addons/worldloom/core/compat.gd")

## Deepest nesting of arrays/maps accepted when decoding.
const MAX_DEPTH = 32

## Why the last `encode` failed ("" after a success).
var encode_error: String = ""

var _in: StreamPeerBuffer
var _size: int = 0
var _error: String = ""


## Encode `value`; empty bytes (and `encode_error` set) if it holds an unsupported type.
func encode(value) -> PackedByteArray:
	var out := StreamPeerBuffer.new()
	out.big_endian = true
	encode_error = ""
	_write(out, value, 0)
	if encode_error != "":
		return Compat.new_bytes()
	return out.data_array


## Decode one value that spans all of `data`: returns `[value, ""]` or `[null, error]`.
func decode(data: PackedByteArray) -> Array:
	_in = StreamPeerBuffer.new()
	_in.big_endian = true
	_in.data_array = data
	_in.seek(0)
	_size = data.size()
	_error = ""
	var value = _read(0)
	if _error == "" and _in.get_position() != _size:
		_error = "%d trailing bytes after the value" % (_size - _in.get_position())
	if _error != "":
		return [null, _error]
	return [value, ""]


func _write(out: StreamPeerBuffer, value, depth: int) -> void:
	if depth > MAX_DEPTH:
		encode_error = "nesting deeper than %d" % MAX_DEPTH
		return
	var kind := typeof(value)
	if kind == TYPE_NIL:
		out.put_u8(0xc0)
	elif kind == TYPE_BOOL:
		out.put_u8(0xc3 if value else 0xc2)
	elif kind == TYPE_INT:
		_write_int(out, value)
	elif Compat.is_float(value):
		out.put_u8(0xcb)
		out.put_double(value)
	elif kind == TYPE_STRING:
		var raw := Compat.utf8(value)
		_write_header(out, raw.size(), 0xa0, 32, 0xd9, 0xda, 0xdb)
		out.put_data(raw)
	elif Compat.is_bytes(value):
		_write_header(out, value.size(), -1, 0, 0xc4, 0xc5, 0xc6)
		out.put_data(value)
	elif kind == TYPE_ARRAY:
		_write_header(out, value.size(), 0x90, 16, -1, 0xdc, 0xdd)
		for item in value:
			_write(out, item, depth + 1)
	elif kind == TYPE_DICTIONARY:
		_write_header(out, value.size(), 0x80, 16, -1, 0xde, 0xdf)
		for key in value:
			_write(out, key, depth + 1)
			_write(out, value[key], depth + 1)
	else:
		encode_error = "cannot encode a value of Variant type %d" % kind


## A length header: fix form below `fix_limit` (if `fix` >= 0), else the 8/16/32-bit form.
func _write_header(out: StreamPeerBuffer, n: int, fix: int, fix_limit: int, op8: int, op16: int,
		op32: int) -> void:
	if fix >= 0 and n < fix_limit:
		out.put_u8(fix | n)
	elif op8 >= 0 and n < 0x100:
		out.put_u8(op8)
		out.put_u8(n)
	elif n < 0x10000:
		out.put_u8(op16)
		out.put_u16(n)
	else:
		out.put_u8(op32)
		out.put_u32(n)


func _write_int(out: StreamPeerBuffer, n: int) -> void:
	if n >= 0:
		if n < 0x80:
			out.put_u8(n)
		elif n < 0x100:
			out.put_u8(0xcc)
			out.put_u8(n)
		elif n < 0x10000:
			out.put_u8(0xcd)
			out.put_u16(n)
		elif n < 0x100000000:
			out.put_u8(0xce)
			out.put_u32(n)
		else:
			out.put_u8(0xcf)
			out.put_64(n)
	elif n >= -32:
		out.put_u8(n & 0xff)
	elif n >= -128:
		out.put_u8(0xd0)
		out.put_8(n)
	elif n >= -32768:
		out.put_u8(0xd1)
		out.put_16(n)
	elif n >= -2147483648:
		out.put_u8(0xd2)
		out.put_32(n)
	else:
		out.put_u8(0xd3)
		out.put_64(n)


func _need(n: int) -> bool:
	if n < 0 or _size - _in.get_position() < n:
		_error = "truncated: need %d bytes at offset %d" % [n, _in.get_position()]
		return false
	return true


func _read(depth: int):
	if depth > MAX_DEPTH:
		_error = "nesting deeper than %d" % MAX_DEPTH
		return null
	if not _need(1):
		return null
	var op := _in.get_u8()
	if op < 0x80:
		return op
	if op >= 0xe0:
		return op - 0x100
	if op >= 0xa0 and op < 0xc0:
		return _read_str(op & 0x1f)
	if op >= 0x90 and op < 0xa0:
		return _read_array(op & 0x0f, depth)
	if op >= 0x80 and op < 0x90:
		return _read_map(op & 0x0f, depth)
	match op:
		0xc0:
			return null
		0xc2:
			return false
		0xc3:
			return true
		0xc4, 0xc5, 0xc6:
			return _read_bin(_read_length(op - 0xc4))
		0xca:
			return _in.get_float() if _need(4) else null
		0xcb:
			return _in.get_double() if _need(8) else null
		0xcc:
			return _in.get_u8() if _need(1) else null
		0xcd:
			return _in.get_u16() if _need(2) else null
		0xce:
			return _in.get_u32() if _need(4) else null
		0xcf:
			return _in.get_64() if _need(8) else null
		0xd0:
			return _in.get_8() if _need(1) else null
		0xd1:
			return _in.get_16() if _need(2) else null
		0xd2:
			return _in.get_32() if _need(4) else null
		0xd3:
			return _in.get_64() if _need(8) else null
		0xd9, 0xda, 0xdb:
			return _read_str(_read_length(op - 0xd9))
		0xdc, 0xdd:
			return _read_array(_read_length(op - 0xdc + 1), depth)
		0xde, 0xdf:
			return _read_map(_read_length(op - 0xde + 1), depth)
	_error = "unsupported MessagePack type byte 0x%02x" % op
	return null


## A length of 1, 2 or 4 bytes (`width_index` 0, 1, 2); -1 on truncation.
func _read_length(width_index: int) -> int:
	var width := 1 << width_index
	if not _need(width):
		return -1
	if width == 1:
		return _in.get_u8()
	if width == 2:
		return _in.get_u16()
	return _in.get_u32()


func _read_bin(n: int):
	if n < 0 or not _need(n):
		return null
	if n == 0:
		return Compat.new_bytes()
	var got: Array = _in.get_data(n)
	return got[1]


func _read_str(n: int):
	var raw = _read_bin(n)
	if raw == null:
		return null
	if not is_valid_utf8(raw):
		_error = "invalid UTF-8 in a string"
		return null
	return raw.get_string_from_utf8()


func _read_array(n: int, depth: int):
	if n < 0 or not _need(n):  # every element takes at least one byte
		return null
	var out := []
	for i in range(n):
		var item = _read(depth + 1)
		if _error != "":
			return null
		out.append(item)
	return out


func _read_map(n: int, depth: int):
	if n < 0 or not _need(2 * n):
		return null
	var out := {}
	for i in range(n):
		var key = _read(depth + 1)
		if _error != "":
			return null
		var value = _read(depth + 1)
		if _error != "":
			return null
		out[key] = value
	return out


## Strict UTF-8 check (no overlongs, no surrogates, at most U+10FFFF).
static func is_valid_utf8(raw: PackedByteArray) -> bool:
	var i := 0
	var n := raw.size()
	while i < n:
		var b: int = raw[i]
		var extra := 0
		var lowest := 0
		if b < 0x80:
			i += 1
			continue
		elif b >= 0xc2 and b < 0xe0:
			extra = 1
			lowest = 0x80
		elif b >= 0xe0 and b < 0xf0:
			extra = 2
			lowest = 0x800
		elif b >= 0xf0 and b < 0xf5:
			extra = 3
			lowest = 0x10000
		else:
			return false
		if i + extra > n - 1:
			return false
		var code: int = b & (0x3f >> extra)
		for k in range(1, extra + 1):
			var c: int = raw[i + k]
			if c & 0xc0 != 0x80:
				return false
			code = (code << 6) | (c & 0x3f)
		if code < lowest or code > 0x10ffff or (code >= 0xd800 and code < 0xe000):
			return false
		i += extra + 1
	return true
