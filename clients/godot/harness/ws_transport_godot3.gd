# Godot 3 WebSocketClient adapter of the CI harness (GDScript 1; not part of the Godot 4 addon).
#
# Same duck-typed surface as the addon's transport over Godot 4's WebSocketPeer: open(url), poll(),
# is_open(), is_closed(), frames(), send(bytes), close(code), drop(), close_code(). Binary frames only.
# drop() ends the connection without the protocol's Bye (Godot 3 offers no raw TCP abort, so the
# socket is closed with WebSocket code 4100 and the object discarded), which the server treats like a
# network loss: the avatar waits for a resume.

var ws = WebSocketClient.new()
var _state = "connecting"
var _code = 0
var _inbox = []


func open(url):
	ws.connect("connection_established", self, "_on_established")
	ws.connect("connection_closed", self, "_on_closed")
	ws.connect("connection_error", self, "_on_error")
	ws.connect("server_close_request", self, "_on_close_request")
	ws.connect("data_received", self, "_on_data")
	return ws.connect_to_url(url) == OK


func poll():
	if _state == "connecting" or _state == "open":
		ws.poll()


func is_open():
	return _state == "open"


func is_closed():
	return _state == "closed"


func close_code():
	return _code


func frames():
	var out = _inbox
	_inbox = []
	return out


func send(data):
	if _state == "open":
		ws.get_peer(1).put_packet(data)


func close(code):
	ws.disconnect_from_host(code, "")


func drop():
	ws.disconnect_from_host(4100, "harness drops the connection")
	_state = "closed"
	_code = 4100


func _on_established(_protocol):
	ws.get_peer(1).set_write_mode(WebSocketPeer.WRITE_MODE_BINARY)
	_state = "open"


func _on_data():
	var peer = ws.get_peer(1)
	while peer.get_available_packet_count() > 0:
		var packet = peer.get_packet()
		if not peer.was_string_packet():
			_inbox.append(packet)


func _on_close_request(code, _reason):
	_code = code


func _on_closed(_was_clean):
	_state = "closed"


func _on_error():
	_state = "closed"
