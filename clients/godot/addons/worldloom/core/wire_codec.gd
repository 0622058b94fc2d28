## Typed decoding and canonical encoding of protocol messages, driven by the generated tables.
##
## `decode_frame(bytes, direction)` parses MessagePack, checks the tag is a message of that direction,
## checks every field's type and range (the `range` column of docs/protocol.md), fills missing keys
## with their defaults, ignores unknown keys, and turns the positional nested types (`Column`,
## `Membership`, `KindBlock`) into Dictionaries keyed by field name. `encode(message)` writes the tag
## first, then every field in declaration order (a Snapshot omits `part`/`parts`/`blocks` at their
## defaults), the nested types back as arrays, float fields as float 64: the canonical bytes of the
## golden vectors. Errors are values: `[message, ""]` or `[null, error]` where error names the path
## like the server does (`$.move[0]: expected float in [-1.0, 1.0]`).
##
## Why table-driven: the tables come from `protocol/messages.py` through clients/codegen, so a schema
## change regenerates `protocol.gd` and this file keeps working unchanged.

const Compat = preload("res://addons/worldloom/core/compat.gd")
const Msgpack = preload("res://addons/worldloom/core/msgpack.gd")
const Protocol = preload("res://addons/worldloom/core/protocol.gd")

var _msgpack = Msgpack.new()
var _patterns := {}


## Decode one frame for `direction` ("server": what a client receives; "client": what it sends).
func decode_frame(data: PackedByteArray, direction: String) -> Array:
	var parsed: Array = _msgpack.decode(data)
	if parsed[1] != "":
		return [null, "malformed: " + parsed[1]]
	return from_plain(parsed[0], direction)


## Validate a decoded MessagePack value as a message of `direction`; `[message, ""]` or `[null, err]`.
func from_plain(value, direction: String) -> Array:
	if typeof(value) != TYPE_DICTIONARY:
		return [null, "$: expected a map with a tag"]
	var tag = value.get(Protocol.TAG_FIELD)
	if typeof(tag) != TYPE_STRING or not Protocol.MESSAGES.has(tag):
		return [null, "$.t: unknown message tag %s" % str(tag)]
	var desc: Dictionary = Protocol.MESSAGES[tag]
	if not desc["directions"].has(direction):
		return [null, "$.t: '%s' is not a %s message" % [tag, direction]]
	var out := {Protocol.TAG_FIELD: tag}
	for field in desc["fields"]:
		var name: String = field["name"]
		if not value.has(name):
			if field["required"]:
				return [null, "$.%s: required field missing" % name]
			out[name] = _default(field)
			continue
		var checked: Array = _check(value[name], field["type"], "$." + name)
		if checked[1] != "":
			return checked
		out[name] = checked[0]
	return [out, ""]


## The canonical frame of `message` (a Dictionary with "t"); empty bytes if it is not encodable.
func encode(message: Dictionary) -> PackedByteArray:
	var desc: Dictionary = Protocol.MESSAGES[message[Protocol.TAG_FIELD]]
	var wire := {Protocol.TAG_FIELD: message[Protocol.TAG_FIELD]}
	for field in desc["fields"]:
		var name: String = field["name"]
		var value = message[name] if message.has(name) else _default(field)
		if desc["omit_defaults"] and _is_default(value, field):
			continue
		wire[name] = to_wire(value, field["type"])
	return _msgpack.encode(wire)


## `value` of schema type `type_spec` as the plain MessagePack value written on the wire.
func to_wire(value, type_spec: Dictionary):
	var kind: String = type_spec["kind"]
	if kind == "float":
		return float(value)
	if kind == "optional":
		return null if value == null else to_wire(value, type_spec["item"])
	if kind == "list" or kind == "tuple":
		var out := []
		for i in range(value.size()):
			var item_type: Dictionary = type_spec["item"] if kind == "list" else type_spec["items"][i]
			out.append(to_wire(value[i], item_type))
		return out
	if kind == "struct":
		var desc: Dictionary = Protocol.STRUCTS[type_spec["name"]]
		var out := []
		for field in desc["fields"]:
			out.append(to_wire(value[field["name"]], field["type"]))
		return out
	return value


## A message as plain wire values (nested types as arrays): what a JSON golden vector holds.
func message_to_wire(message: Dictionary) -> Dictionary:
	var desc: Dictionary = Protocol.MESSAGES[message[Protocol.TAG_FIELD]]
	var out := {Protocol.TAG_FIELD: message[Protocol.TAG_FIELD]}
	for field in desc["fields"]:
		out[field["name"]] = to_wire(message[field["name"]], field["type"])
	return out


func _default(field: Dictionary):
	var value = field["default"]
	if typeof(value) == TYPE_DICTIONARY and value.has("struct"):
		return _struct_defaults(value["struct"])
	if typeof(value) == TYPE_DICTIONARY and value.has("bytes"):
		var raw := Compat.new_bytes()
		var hex: String = value["bytes"]
		for i in range(0, hex.length(), 2):
			raw.append(("0x" + hex.substr(i, 2)).hex_to_int())
		return raw
	if typeof(value) == TYPE_ARRAY or typeof(value) == TYPE_DICTIONARY:
		return value.duplicate(true)
	return value


func _struct_defaults(name: String) -> Dictionary:
	var out := {}
	for field in Protocol.STRUCTS[name]["fields"]:
		out[field["name"]] = _default(field)
	return out


func _is_default(value, field: Dictionary) -> bool:
	var default = field["default"]
	if typeof(default) == TYPE_ARRAY:
		return typeof(value) == TYPE_ARRAY and value.size() == 0 and default.size() == 0
	return typeof(value) == typeof(default) and value == default


func _fail(path: String, what: String) -> Array:
	return [null, "%s: expected %s" % [path, what]]


## Check (and convert) one value against a type description.
func _check(value, type_spec: Dictionary, path: String) -> Array:
	var kind: String = type_spec["kind"]
	var vt := typeof(value)
	match kind:
		"any":
			return [value, ""]
		"int":
			if vt != TYPE_INT:
				return _fail(path, "int")
			if type_spec.has("ge") and value < type_spec["ge"]:
				return _fail(path, "int >= %d" % type_spec["ge"])
			if type_spec.has("le") and value > type_spec["le"]:
				return _fail(path, "int <= %d" % type_spec["le"])
			return [value, ""]
		"float":
			if vt != TYPE_INT and not Compat.is_float(value):
				return _fail(path, "float")
			var number := float(value)
			if type_spec.has("ge") or type_spec.has("le"):
				if is_nan(number):
					return _fail(path, "a number, not NaN")
				if type_spec.has("ge") and number < type_spec["ge"]:
					return _fail(path, "float >= %s" % str(type_spec["ge"]))
				if type_spec.has("le") and number > type_spec["le"]:
					return _fail(path, "float <= %s" % str(type_spec["le"]))
			return [number, ""]
		"bool":
			return [value, ""] if vt == TYPE_BOOL else _fail(path, "bool")
		"str":
			return _check_str(value, type_spec, path)
		"bytes":
			return [value, ""] if Compat.is_bytes(value) else _fail(path, "bytes")
		"literal":
			return [value, ""] if type_spec["values"].has(value) else _fail(
				path, "one of %s" % str(type_spec["values"]))
		"list", "tuple":
			return _check_array(value, type_spec, path)
		"dict":
			if vt != TYPE_DICTIONARY:
				return _fail(path, "map")
			for key in value:
				if typeof(key) != TYPE_STRING:
					return _fail(path, "str keys")
			return [value, ""]
		"struct":
			return _check_struct(value, Protocol.STRUCTS[type_spec["name"]], path)
		"optional":
			return [null, ""] if value == null else _check(value, type_spec["item"], path)
	return [null, "%s: unknown schema kind %s" % [path, kind]]


func _check_str(value, type_spec: Dictionary, path: String) -> Array:
	if typeof(value) != TYPE_STRING:
		return _fail(path, "str")
	var n: int = value.length()
	if type_spec.has("max_length") and n > type_spec["max_length"]:
		return _fail(path, "str of at most %d characters" % type_spec["max_length"])
	if type_spec.has("min_length") and n < type_spec["min_length"]:
		return _fail(path, "str of at least %d characters" % type_spec["min_length"])
	if type_spec.has("pattern"):
		var pattern: String = type_spec["pattern"]
		if not _patterns.has(pattern):
			var regex := RegEx.new()
			regex.compile(pattern)
			_patterns[pattern] = regex
		if _patterns[pattern].search(value) == null:
			return _fail(path, "str matching %s" % pattern)
	return [value, ""]


func _check_array(value, type_spec: Dictionary, path: String) -> Array:
	if typeof(value) != TYPE_ARRAY:
		return _fail(path, "array")
	var is_tuple: bool = type_spec["kind"] == "tuple"
	if is_tuple and value.size() != type_spec["items"].size():
		return _fail(path, "array of exactly %d items" % type_spec["items"].size())
	if not is_tuple and type_spec.has("max_length") and value.size() > type_spec["max_length"]:
		return _fail(path, "array of at most %d items" % type_spec["max_length"])
	var out := []
	for i in range(value.size()):
		var item_type: Dictionary = type_spec["items"][i] if is_tuple else type_spec["item"]
		var checked: Array = _check(value[i], item_type, "%s[%d]" % [path, i])
		if checked[1] != "":
			return checked
		out.append(checked[0])
	return [out, ""]


## A positional array as a Dictionary: missing trailing elements take defaults, extra ones are ignored.
func _check_struct(value, desc: Dictionary, path: String) -> Array:
	if typeof(value) != TYPE_ARRAY:
		return _fail(path, "%s array" % desc["name"])
	var out := {}
	var fields: Array = desc["fields"]
	for i in range(fields.size()):
		var field: Dictionary = fields[i]
		if i >= value.size():
			if field["required"]:
				return _fail(path, "%s with element %d (%s)" % [desc["name"], i, field["name"]])
			out[field["name"]] = _default(field)
			continue
		var checked: Array = _check(value[i], field["type"], "%s[%d]" % [path, i])
		if checked[1] != "":
			return checked
		out[field["name"]] = checked[0]
	return [out, ""]
