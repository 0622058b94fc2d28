# Godot 3 (GDScript 1) entry point of the CI harness:
# `godot3-server --path BUILD -s res://harness/main_godot3.gd`.
#
# WL_MODE=vectors: run harness/vector_suite.gd over the manifest WL_MANIFEST.
# WL_MODE=fuzz: print the decoder's verdict (ok/err) on every hex frame of WL_FRAMES.
# WL_MODE=live: play against the server at WL_URL with harness/live_play.gd over the Godot 3
# WebSocketClient adapter (ws_transport_godot3.gd). Prints "WL_RESULT ..." lines; exits 0 on success.
# A watchdog (WL_TIMEOUT seconds, default 60) exits 3 so a stuck run never hangs CI.
extends SceneTree

const VectorSuite = preload("res://harness/vector_suite.gd")
const LivePlay = preload("res://harness/live_play.gd")
const FuzzSuite = preload("res://harness/fuzz_suite.gd")
const Transport = preload("res://harness/ws_transport_godot3.gd")

var play = null
var started_usec = 0
var timeout_usec = 60000000


func _init():
	started_usec = OS.get_ticks_usec()
	var limit = OS.get_environment("WL_TIMEOUT")
	if limit != "":
		timeout_usec = int(limit) * 1000000
	var mode = OS.get_environment("WL_MODE")
	if mode == "vectors":
		var suite = VectorSuite.new()
		var outcome = suite.run(OS.get_environment("WL_MANIFEST"))
		for failure in outcome[1]:
			print("WL_FAIL " + failure)
		print("WL_RESULT vectors passed=%d failed=%d" % [outcome[0], outcome[1].size()])
		quit(0 if outcome[1].size() == 0 and outcome[0] > 0 else 1)
	elif mode == "fuzz":
		print("WL_VERDICTS " + PoolStringArray(FuzzSuite.run(OS.get_environment("WL_FRAMES"))).join(","))
		quit(0)
	elif mode == "live":
		play = LivePlay.new()
		play.setup(OS.get_environment("WL_URL"), int(OS.get_environment("WL_BOT_ENTITY")), Transport)
	else:
		print("WL_FAIL set WL_MODE to vectors or live")
		quit(2)


func _idle(_delta):
	if play == null:
		return false
	if OS.get_ticks_usec() - started_usec > timeout_usec:
		print("WL_FAIL watchdog: still in phase '%s' after the time limit" % play.phase)
		quit(3)
		return true
	var status = play.step()
	if status == "running":
		return false
	for line in play.report():
		print(line)
	if status == "passed":
		quit(0)
	else:
		print("WL_FAIL " + status)
		quit(1)
	return true
