## Bad-input check of the SDK decoder: decode every frame of a file (one hex frame per line) as a
## server message and print one verdict per line ("ok" or "err"), for comparison with the Python
## reference decoder (tests/test_sdk_godot.py). Portable subset (runs in Godot 3 in CI).

const Compat = preload("res://addons/worldloom/core/compat.gd")
const WireCodec = preload("res://addons/worldloom/core/wire_codec.gd")


## Verdicts ("ok"/"err") for the frames in `path`, in order.
static func run(path: String) -> Array:
	var codec = WireCodec.new()
	var verdicts := []
	for line in Compat.read_text(path).split("\n"):
		if line == "":
			continue
		var frame := Compat.new_bytes()
		if line != "-":
			for i in range(0, line.length(), 2):
				frame.append(("0x" + line.substr(i, 2)).hex_to_int())
		var decoded: Array = codec.decode_frame(frame, "server")
		verdicts.append("ok" if decoded[1] == "" else "err")
	return verdicts
