## Engine-version seam of the portable core (Godot 3 implementation; see the addon's core/compat.gd).
##
## Same functions as the Godot 4 file, written in GDScript 1. `tools/to_godot3.py` puts this file in
## place of `core/compat.gd` when it builds the Godot 3 copy of the core that CI runs headless.


static func new_bytes():
	return PoolByteArray()


static func slice_bytes(data, from, to):
	if to <= from:
		return PoolByteArray()
	return data.subarray(from, to - 1)


static func utf8(text):
	return text.to_utf8()


static func is_float(value):
	return typeof(value) == TYPE_REAL


static func is_bytes(value):
	return typeof(value) == TYPE_RAW_ARRAY


static func now_usec():
	return OS.get_ticks_usec()


static func unix_time():
	return OS.get_unix_time()


static func read_bytes(path):
	var file = File.new()
	if file.open(path, File.READ) != OK:
		return PoolByteArray()
	var data = file.get_buffer(file.get_len())
	file.close()
	return data


static func read_text(path):
	var file = File.new()
	if file.open(path, File.READ) != OK:
		return ""
	var text = file.get_as_text()
	file.close()
	return text


static func parse_json(text):
	var parsed = JSON.parse(text)
	if parsed.error != OK:
		return null
	return parsed.result


static func append_all(target, items):
	for item in items:
		target.append(item)
