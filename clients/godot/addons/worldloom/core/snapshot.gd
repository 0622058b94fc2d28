## Snapshot assembly: parts -> ticks -> world views, with the baselines needed for deltas.
##
## A view is `{kind: {"ids": Array of int (ascending), "q": Array of int (3 per id: x, y, z in
## quantum units)}}`. `feed(snap)` takes one decoded `snap` message and returns
## `{"status": "pending" | "ignored" | "complete" | "error", "tick", "view", "error"}`; on "complete"
## send `Ack(tick)`. On "error" the tick is dropped and not acked: the server keeps sending deltas
## against the last acked tick and falls back to a full snapshot once that ages out (docs/protocol.md,
## "Unknown baseline"). This mirrors `protocol.snapshot.SnapshotAssembler` rule for rule: at most
## MAX_PENDING incomplete ticks, the last `history` completed views kept as baselines, parts of ticks
## not newer than the latest completed one ignored, parts that disagree or repeat spoil their tick.

const Compat = preload("res://addons/worldloom/core/compat.gd")
const Column = preload("res://addons/worldloom/core/column.gd")

## Most incomplete ticks held at once.
const MAX_PENDING = 4
## One more than the largest entity id: the end of a block's range.
const ID_LIMIT = 4294967296

## Completed views kept as delta baselines.
var history: int = 64
## Newest completed tick (0 before the first).
var latest_tick: int = 0
## Newest completed view.
var latest_view: Dictionary = {}

var _views := {}
var _order := []
var _pending := {}


## Take one snapshot part (a decoded `snap` message).
func feed(snap: Dictionary) -> Dictionary:
	var tick: int = snap["tick"]
	var part: int = snap["part"]
	var parts: int = snap["parts"]
	var baseline: int = snap["baseline"]
	if part < 0 or part >= parts:
		return _error("snapshot part %d of %d out of range" % [part, parts])
	if latest_tick > 0 and tick <= latest_tick:
		return {"status": "ignored", "tick": tick}
	if baseline != 0 and (baseline >= tick or not _views.has(baseline)):
		_pending.erase(tick)
		return _error("snapshot %d: unknown baseline tick %d" % [tick, baseline])
	var pending = _pending.get(tick)
	if pending == null:
		pending = {"baseline": baseline, "parts": parts, "input_ack": snap["input_ack"],
			"time": snap["time"], "received": {}}
		_pending[tick] = pending
		while _pending.size() > MAX_PENDING:
			_pending.erase(_min_key(_pending))
	elif (pending["baseline"] != baseline or pending["parts"] != parts
			or pending["input_ack"] != snap["input_ack"] or pending["time"] != snap["time"]
			or pending["received"].has(part)):
		_pending.erase(tick)
		return _error("snapshot %d: parts disagree or repeat" % tick)
	pending["received"][part] = snap["blocks"]
	if pending["received"].size() < parts:
		return {"status": "pending", "tick": tick}
	_pending.erase(tick)
	var blocks := []
	for i in range(parts):
		Compat.append_all(blocks, pending["received"][i])
	var base = _views[baseline] if baseline != 0 else null
	var applied: Array = apply_blocks(base, blocks)
	if applied[1] != "":
		return _error("snapshot %d: %s" % [tick, applied[1]])
	var view: Dictionary = applied[0]
	_views[tick] = view
	_order.append(tick)
	while _order.size() > history:
		_views.erase(_order.pop_front())
	for old in _pending.keys():
		if old < tick:
			_pending.erase(old)
	latest_tick = tick
	latest_view = view
	return {"status": "complete", "tick": tick, "view": view}


## Forget everything (a new session: the server knows none of our ticks).
func reset() -> void:
	_views.clear()
	_order.clear()
	_pending.clear()
	latest_tick = 0
	latest_view = {}


func _error(text: String) -> Dictionary:
	return {"status": "error", "error": text}


func _min_key(map: Dictionary) -> int:
	var keys: Array = map.keys()
	var low: int = keys[0]
	for key in keys:
		if key < low:
			low = key
	return low


## Apply every block of one snapshot to `baseline` (null: empty view): `[view, ""]` or `[null, err]`.
static func apply_blocks(baseline, blocks: Array) -> Array:
	var by_kind := {}
	for block in blocks:
		var lo: int = block["lo"]
		var hi: int = block["hi"]
		if lo < 0 or lo > hi or hi > ID_LIMIT:
			return [null, "kind %s: block range must satisfy 0 <= lo <= hi <= 2**32" % block["kind"]]
		if not by_kind.has(block["kind"]):
			by_kind[block["kind"]] = []
		_insert_by_lo(by_kind[block["kind"]], block)
	var out := {}
	for kind in by_kind:
		var base = null
		if baseline != null and baseline.has(kind):
			base = baseline[kind]
		var ids := []
		var q := []
		var prev_hi := 0
		for block in by_kind[kind]:
			if block["lo"] < prev_hi:
				return [null, "kind %s: overlapping block ranges" % kind]
			prev_hi = block["hi"]
			var piece: Array = _apply_block(block, base)
			if piece[1] != "":
				return [null, "kind %s: %s" % [kind, piece[1]]]
			Compat.append_all(ids, piece[0]["ids"])
			Compat.append_all(q, piece[0]["q"])
		out[kind] = {"ids": ids, "q": q}
	return [out, ""]


static func _insert_by_lo(list: Array, block: Dictionary) -> void:
	var at := list.size()
	while at > 0 and list[at - 1]["lo"] > block["lo"]:
		at -= 1
	list.insert(at, block)


## Unpack several columns; `[Array of Arrays, ""]` or `[null, error]`.
static func _unpack_all(columns: Array) -> Array:
	var out := []
	for column in columns:
		var got: Array = Column.unpack(column)
		if got[1] != "":
			return got
		out.append(got[0])
	return [out, ""]


static func _ascending_in(ids: Array, lo: int, hi: int) -> bool:
	for i in range(ids.size()):
		if ids[i] < lo or ids[i] >= hi or (i > 0 and ids[i] <= ids[i - 1]):
			return false
	return true


static func _apply_block(block: Dictionary, base) -> Array:
	var lo: int = block["lo"]
	var hi: int = block["hi"]
	var base_ids := []
	var base_q := []
	if base != null:
		for i in range(base["ids"].size()):
			var id: int = base["ids"][i]
			if id >= lo and id < hi:
				base_ids.append(id)
				Compat.append_all(base_q, [base["q"][3 * i], base["q"][3 * i + 1], base["q"][3 * i + 2]])
	var entered := []
	var eq := [[], [], []]
	var removed := []
	var changes = block["changes"]
	if changes != null:
		var got: Array = _unpack_all([changes["entered"], changes["ex"], changes["ey"], changes["ez"],
			changes["removed"]])
		if got[1] != "":
			return got
		entered = got[0][0]
		eq = [got[0][1], got[0][2], got[0][3]]
		removed = got[0][4]
	for axis in eq:
		if axis.size() != entered.size():
			return [null, "%d entered ids but ex/ey/ez counts differ" % entered.size()]
	if not _ascending_in(entered, lo, hi) or not _ascending_in(removed, lo, hi):
		return [null, "entered/removed ids must be ascending, unique and in [lo, hi)"]
	var kept_ids := []
	var kept_q := []
	var r := 0
	for i in range(base_ids.size()):
		if r < removed.size() and removed[r] == base_ids[i]:
			r += 1
			continue
		kept_ids.append(base_ids[i])
		Compat.append_all(kept_q, [base_q[3 * i], base_q[3 * i + 1], base_q[3 * i + 2]])
	if r != removed.size():
		return [null, "removed id not in the baseline"]
	var deltas: Array = _unpack_all([block["dx"], block["dy"], block["dz"]])
	if deltas[1] != "":
		return deltas
	for axis in deltas[0]:
		if axis.size() != kept_ids.size():
			return [null, "%d kept ids but dx/dy/dz counts differ" % kept_ids.size()]
	for k in range(kept_ids.size()):
		for a in range(3):
			kept_q[3 * k + a] = kept_q[3 * k + a] + deltas[0][a][k]
	var base_set := {}
	for id in base_ids:
		base_set[id] = true
	for id in entered:
		if base_set.has(id):
			return [null, "entered id %d already in the baseline" % id]
	# merge kept and entered (both ascending, disjoint)
	var ids := []
	var q := []
	var i := 0
	var j := 0
	while i < kept_ids.size() or j < entered.size():
		if j >= entered.size() or (i < kept_ids.size() and kept_ids[i] < entered[j]):
			ids.append(kept_ids[i])
			Compat.append_all(q, [kept_q[3 * i], kept_q[3 * i + 1], kept_q[3 * i + 2]])
			i += 1
		else:
			ids.append(entered[j])
			Compat.append_all(q, [eq[0][j], eq[1][j], eq[2][j]])
			j += 1
	return [{"ids": ids, "q": q}, ""]
