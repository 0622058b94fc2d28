## Frame-of-reference bit-packed integer columns (docs/protocol.md, "Columns").
##
## A column is `{"base", "bits", "count", "data"}`: `value[i] = base + field[i]`, the `count` fields of
## `bits` bits packed least-significant bit first into little-endian bytes. Arithmetic wraps modulo
## 2^64 like the reference (GDScript ints are signed 64-bit), so `bits = 64` round-trips too.
## Fields are read and written a byte-chunk at a time, which keeps every shift below 64 and free of
## sign extension. Errors are values: `unpack` returns `[values, ""]` or `[null, error]`.

const Compat = preload("res://addons/worldloom/core/compat.gd")

## Most values in one column (the wire bound on `count`).
const MAX_COUNT = 1048576


## The signed values of `column`: `[Array of int, ""]`, or `[null, error]` for a bad column.
static func unpack(column: Dictionary) -> Array:
	var base: int = column["base"]
	var bits: int = column["bits"]
	var count: int = column["count"]
	var data: PackedByteArray = column["data"]
	if bits < 0 or bits > 64 or count < 0 or count > MAX_COUNT:
		return [null, "column bits %d / count %d out of range" % [bits, count]]
	if data.size() != (count * bits + 7) / 8:
		return [null, "column data is %d bytes, expected %d" % [data.size(), (count * bits + 7) / 8]]
	var values := []
	values.resize(count)
	if bits == 0:
		for i in range(count):
			values[i] = base
		return [values, ""]
	var bit := 0
	for i in range(count):
		var field := 0
		var got := 0
		while got < bits:
			var offset := bit & 7
			var take := mini_int(8 - offset, bits - got)
			var chunk: int = (data[bit >> 3] >> offset) & ((1 << take) - 1)
			field |= chunk << got
			got += take
			bit += take
		values[i] = base + field
	return [values, ""]


## Pack `values` (Array of int) the way the server does: base = min, bits = bit length of the span.
static func pack(values: Array) -> Dictionary:
	var count := values.size()
	if count == 0:
		return {"base": 0, "bits": 0, "count": 0, "data": Compat.new_bytes()}
	var low: int = values[0]
	var high: int = values[0]
	for v in values:
		low = mini_int(low, v)
		high = maxi_int(high, v)
	var span: int = high - low  # wraps negative when the span needs all 64 bits
	var bits := 64 if span < 0 else bit_length(span)
	var data := Compat.new_bytes()
	if count * bits > 0:
		data.resize((count * bits + 7) / 8)
	for i in range(data.size()):
		data[i] = 0
	var bit := 0
	for v in values:
		var field: int = v - low
		var put := 0
		while put < bits:
			var offset := bit & 7
			var take := mini_int(8 - offset, bits - put)
			var chunk: int = (field >> put) & ((1 << take) - 1)
			data[bit >> 3] = data[bit >> 3] | (chunk << offset)
			put += take
			bit += take
	return {"base": low, "bits": bits, "count": count, "data": data}


## Number of bits needed for the non-negative `n` (0 for 0).
static func bit_length(n: int) -> int:
	var bits := 0
	while n > 0:
		n = n >> 1
		bits += 1
	return bits


static func mini_int(a: int, b: int) -> int:
	return a if a < b else b


static func maxi_int(a: int, b: int) -> int:
	return a if a > b else b
