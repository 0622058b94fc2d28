## Entity interpolation: render the world a little in the past, between two received views.
##
## Snapshots arrive at the tick rate with jitter; drawing the newest one stutters. `sample(t)` renders
## at `t - delay` (by default three send intervals, `set_tick_rate`), which almost always has a view
## on each side, and blends linearly. An entity only in the later view has just appeared and is drawn
## where it is; one only in the earlier view has left and is not drawn. Past the newest view,
## positions are extrapolated for at most `max_extrapolation` intervals, then held. Same rules as the
## Python SDK's `InterpolationBuffer`. Views hold quantized positions; only sampling converts to metres.

## Seconds rendered behind the given time.
var delay: float = 0.15
## Metres per quantized unit (`Welcome.quantum`).
var quantum: float = 0.015625
## Views kept.
var capacity: int = 32
## Intervals past the newest view that positions may run ahead.
var max_extrapolation: float = 1.0

var _times := []
var _views := []


## Render `intervals` send intervals behind (3 by default) at `tick_rate` snapshots per second.
func set_tick_rate(tick_rate: int, intervals: float = 3.0) -> void:
	if tick_rate > 0:
		delay = intervals / float(tick_rate)


## Add the view of server time `time` (seconds); false if older than the newest (ignored).
func push(time: float, view: Dictionary) -> bool:
	if _times.size() > 0 and time <= _times[_times.size() - 1]:
		if time == _times[_times.size() - 1]:
			_views[_views.size() - 1] = view
			return true
		return false
	_times.append(time)
	_views.append(view)
	while _times.size() > capacity:
		_times.pop_front()
		_views.pop_front()
	return true


func clear() -> void:
	_times.clear()
	_views.clear()


func size() -> int:
	return _times.size()


## Positions at `render_time - delay`: `{kind: {"ids": Array, "pos": Array of Vector3 (metres)}}`.
func sample(render_time: float) -> Dictionary:
	var n := _times.size()
	if n == 0:
		return {}
	var t := render_time - delay
	var i := -1
	while i + 1 < n and _times[i + 1] <= t:
		i += 1
	if i < 0:
		return _blend(_views[0], _views[0], 1.0)
	if i == n - 1:
		if n == 1 or t == _times[n - 1]:
			return _blend(_views[n - 1], _views[n - 1], 1.0)
		var interval: float = _times[n - 1] - _times[n - 2]
		var ahead: float = min((t - _times[n - 1]) / interval, max_extrapolation)
		return _blend(_views[n - 2], _views[n - 1], 1.0 + ahead)
	var alpha: float = (t - _times[i]) / (_times[i + 1] - _times[i])
	return _blend(_views[i], _views[i + 1], alpha)


## Entities of `late`; those also in `early` at `early + (late - early) * alpha`.
func _blend(early: Dictionary, late: Dictionary, alpha: float) -> Dictionary:
	var out := {}
	for kind in late:
		var ids: Array = late[kind]["ids"]
		var q: Array = late[kind]["q"]
		var start := {}
		if early.has(kind) and early != late:
			var e_ids: Array = early[kind]["ids"]
			var e_q: Array = early[kind]["q"]
			for k in range(e_ids.size()):
				start[e_ids[k]] = k
			var pos := []
			for k in range(ids.size()):
				var to := Vector3(q[3 * k], q[3 * k + 1], q[3 * k + 2]) * quantum
				if start.has(ids[k]):
					var s: int = start[ids[k]]
					var from := Vector3(e_q[3 * s], e_q[3 * s + 1], e_q[3 * s + 2]) * quantum
					to = from + (to - from) * alpha
				pos.append(to)
			out[kind] = {"ids": ids, "pos": pos}
		else:
			var pos := []
			for k in range(ids.size()):
				pos.append(Vector3(q[3 * k], q[3 * k + 1], q[3 * k + 2]) * quantum)
			out[kind] = {"ids": ids, "pos": pos}
	return out
