## Golden-vector checks of the SDK core (protocol/vectors/README.md, "How an SDK test uses them").
##
## Reads the manifest written by tools/vector_manifest.py (the JSON vectors with every scalar tagged
## so no precision is lost) and the `.msgpack` files themselves. For every message vector: decode the
## frame and compare it with the JSON message; unless decode_only, encode the JSON message and compare
## the bytes. For every column: unpack and pack. For the views: feed the chain full -> delta ->
## kind_gone through one assembler and the split parts in reverse order through another, comparing
## ids, quantized positions and metres. And the hard-coded SCHEMA_HASH equals hello.json's.
## `run(path)` returns `[checks_passed, failures (Array of String)]`. Portable subset (see
## tools/to_godot3.py): runs unchanged in Godot 4 and, type hints stripped, in Godot 3.

const Compat = preload("res://addons/worldloom/core/compat.gd")
const Protocol = preload("res://addons/worldloom/core/protocol.gd")
const WireCodec = preload("res://addons/worldloom/core/wire_codec.gd")
const Column = preload("res://addons/worldloom/core/column.gd")
const SnapshotAssembler = preload("res://addons/worldloom/core/snapshot.gd")

var codec = WireCodec.new()
var failures := []
var passed: int = 0


func run(manifest_path: String) -> Array:
	var manifest = Compat.parse_json(Compat.read_text(manifest_path))
	if manifest == null:
		return [0, ["cannot read the vector manifest %s" % manifest_path]]
	var decoded_by_name := {}
	for vector in manifest["vectors"]:
		_check_message(vector, decoded_by_name)
	for column in manifest["columns"]:
		_check_column(column)
	_check_views(manifest["views"])
	return [passed, failures]


func _expect(ok: bool, what: String) -> void:
	if ok:
		passed += 1
	else:
		failures.append(what)


func _check_message(vector: Dictionary, decoded_by_name: Dictionary) -> void:
	var name: String = vector["name"]
	var direction: String = vector["direction"]
	var frame: PackedByteArray = Compat.read_bytes(vector["msgpack"])
	var expected: Array = codec.from_plain(untag(vector["message"]), direction)
	if expected[1] != "":
		failures.append("%s: the JSON message does not validate: %s" % [name, expected[1]])
		return
	var decoded: Array = codec.decode_frame(frame, direction)
	if decoded[1] != "":
		failures.append("%s: decode failed: %s" % [name, decoded[1]])
		return
	decoded_by_name[name] = decoded[0]
	var want: Dictionary = codec.message_to_wire(expected[0])
	var got: Dictionary = codec.message_to_wire(decoded[0])
	_expect(deep_equal(got, want), "%s: decoded %s, expected %s" % [name, str(got), str(want)])
	if name == "hello":
		_expect(Protocol.SCHEMA_HASH == expected[0]["schema"],
			"SCHEMA_HASH %s differs from hello.json's %s" % [Protocol.SCHEMA_HASH, expected[0]["schema"]])
	if not vector["decode_only"]:
		var encoded: PackedByteArray = codec.encode(expected[0])
		_expect(hex(encoded) == hex(frame), "%s: encoded %s, expected %s" % [name, hex(encoded),
			hex(frame)])


func _check_column(case: Dictionary) -> void:
	var name: String = case["name"]
	var values: Array = untag(case["values"])
	var wire: Array = untag(case["column"])
	var column := {"base": wire[0], "bits": wire[1], "count": wire[2], "data": wire[3]}
	var unpacked: Array = Column.unpack(column)
	_expect(unpacked[1] == "" and deep_equal(unpacked[0], values),
		"%s: unpacked %s, expected %s" % [name, str(unpacked), str(values)])
	var packed: Dictionary = Column.pack(values)
	_expect(packed["base"] == column["base"] and packed["bits"] == column["bits"]
		and packed["count"] == column["count"]
		and hex(packed["data"]) == hex(column["data"]),
		"%s: packed %s, expected %s" % [name, str(packed), str(column)])


func _decode_parts(view_case: Dictionary) -> Array:
	var out := []
	for path in view_case["parts"]:
		var decoded: Array = codec.decode_frame(Compat.read_bytes(path), "server")
		if decoded[1] != "":
			failures.append("%s: %s" % [path, decoded[1]])
			return []
		out.append(decoded[0])
	return out


func _check_views(cases: Array) -> void:
	var by_name := {}
	for case in cases:
		by_name[case["name"]] = case
	var chain = SnapshotAssembler.new()
	for name in ["snapshot_full", "snapshot_delta", "snapshot_kind_gone"]:
		var parts: Array = _decode_parts(by_name[name])
		for snap in parts:
			var fed: Dictionary = chain.feed(snap)
			_expect(fed["status"] == "complete", "%s: assembler said %s" % [name, str(fed)])
			if fed["status"] == "complete":
				_compare_view(name, fed["view"], untag(by_name[name]["kinds"]))
	var split = SnapshotAssembler.new()
	var parts: Array = _decode_parts(by_name["snapshot_split"])
	_reverse(parts)
	for i in range(parts.size()):
		var fed: Dictionary = split.feed(parts[i])
		var want := "complete" if i == parts.size() - 1 else "pending"
		_expect(fed["status"] == want, "snapshot_split part %d: %s, expected %s" % [i, str(fed), want])
		if fed["status"] == "complete":
			_compare_view("snapshot_split", fed["view"], untag(by_name["snapshot_split"]["kinds"]))


func _reverse(items: Array) -> void:
	var n := items.size()
	for i in range(n / 2):
		var other = items[n - 1 - i]
		items[n - 1 - i] = items[i]
		items[i] = other


func _compare_view(name: String, view: Dictionary, kinds: Dictionary) -> void:
	_expect(view.size() == kinds.size(), "%s: kinds %s, expected %s" % [name, str(view.keys()),
		str(kinds.keys())])
	for kind in kinds:
		if not view.has(kind):
			failures.append("%s: kind %s missing" % [name, kind])
			continue
		var want: Dictionary = kinds[kind]
		var got: Dictionary = view[kind]
		_expect(deep_equal(got["ids"], want["ids"]), "%s/%s ids %s, expected %s" % [name, kind,
			str(got["ids"]), str(want["ids"])])
		var metres_ok := true
		var flat := []
		for triple in want["q"]:
			Compat.append_all(flat, triple)
		_expect(deep_equal(got["q"], flat), "%s/%s q %s, expected %s" % [name, kind, str(got["q"]),
			str(flat)])
		for i in range(want["metres"].size()):
			for a in range(3):
				if i * 3 + a >= got["q"].size():
					metres_ok = false
				elif abs(got["q"][3 * i + a] * Protocol.POSITION_QUANTUM - want["metres"][i][a]) > 1e-9:
					metres_ok = false
		_expect(metres_ok, "%s/%s metres differ" % [name, kind])


## Tagged manifest value -> plain value ("i:" int, "f:" float bits, "s:" str, "b:" base64 bytes).
static func untag(value):
	if typeof(value) == TYPE_ARRAY:
		var out := []
		for item in value:
			out.append(untag(item))
		return out
	if typeof(value) == TYPE_DICTIONARY:
		var out := {}
		for key in value:
			out[key] = untag(value[key])
		return out
	if typeof(value) != TYPE_STRING:
		return value
	var text: String = value
	var body := text.substr(2, text.length() - 2)
	if text.begins_with("i:"):
		return parse_int64(body)
	if text.begins_with("f:"):
		var buffer := StreamPeerBuffer.new()
		buffer.big_endian = true
		for i in range(8):
			buffer.put_u8(("0x" + body.substr(2 * i, 2)).hex_to_int())
		buffer.seek(0)
		return buffer.get_double()
	if text.begins_with("b:"):
		return Compat.new_bytes() if body == "" else Marshalls.base64_to_raw(body)
	return body


## Decimal text -> 64-bit int (Godot 3's String.to_int is 32-bit).
static func parse_int64(text: String) -> int:
	var negative := text.begins_with("-")
	var n := 0
	for i in range(1 if negative else 0, text.length()):
		var digit := int(text.substr(i, 1))
		n = n * 10 - digit if negative else n * 10 + digit
	return n


## Strict structural equality (bytes by content, ints and floats by type and value).
static func deep_equal(a, b) -> bool:
	if Compat.is_bytes(a) and Compat.is_bytes(b):
		return hex(a) == hex(b)
	if typeof(a) != typeof(b):
		return false
	if typeof(a) == TYPE_ARRAY:
		if a.size() != b.size():
			return false
		for i in range(a.size()):
			if not deep_equal(a[i], b[i]):
				return false
		return true
	if typeof(a) == TYPE_DICTIONARY:
		if a.size() != b.size():
			return false
		for key in a:
			if not b.has(key) or not deep_equal(a[key], b[key]):
				return false
		return true
	return a == b


## Hex text of bytes ("" for none; Godot 3.2's hex_encode complains about empty arrays).
static func hex(data: PackedByteArray) -> String:
	return "" if data.size() == 0 else data.hex_encode()
