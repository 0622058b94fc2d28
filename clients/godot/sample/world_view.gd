extends Node3D
## Minimal Worldloom sample: connects, draws every entity in view as a mesh at its interpolated
## position, and steers the avatar with the arrow keys / WASD (ui_* actions).

const WorldloomClientScript = preload("res://addons/worldloom/worldloom_client.gd")

@export var server_url: String = "ws://127.0.0.1:8765/ws"

var client: Node = null
var _meshes: Dictionary = {}
var _input_timer: float = 0.0


func _ready() -> void:
	var camera := Camera3D.new()
	camera.position = Vector3(0, 60, 40)
	add_child(camera)
	camera.look_at(Vector3.ZERO, Vector3.UP)
	var sun := DirectionalLight3D.new()
	sun.rotation_degrees = Vector3(-60, 30, 0)
	add_child(sun)
	client = WorldloomClientScript.new()
	client.url = server_url
	client.display_name = "godot-sample"
	add_child(client)
	client.entity_spawned.connect(_on_spawned)
	client.entity_despawned.connect(_on_despawned)
	client.refused.connect(func(code: int, message: String): push_error("refused %d: %s" % [code, message]))
	client.connect_to_server()


func _process(delta: float) -> void:
	_input_timer += delta
	if client.is_online() and _input_timer >= 0.05:
		_input_timer = 0.0
		var move := Input.get_vector("ui_left", "ui_right", "ui_down", "ui_up")
		client.send_input(move)
	var sample: Dictionary = client.interpolated()
	for kind in sample:
		var ids: Array = sample[kind]["ids"]
		var pos: Array = sample[kind]["pos"]
		for i in range(ids.size()):
			var mesh: MeshInstance3D = _meshes.get(ids[i])
			if mesh != null:
				# the world's z is up; Godot's y is up
				mesh.position = Vector3(pos[i].x, pos[i].z, -pos[i].y)


func _on_spawned(kind: String, entity: int) -> void:
	var mesh := MeshInstance3D.new()
	if kind == "player":
		mesh.mesh = BoxMesh.new()
	else:
		mesh.mesh = SphereMesh.new()
	add_child(mesh)
	_meshes[entity] = mesh


func _on_despawned(_kind: String, entity: int) -> void:
	if _meshes.has(entity):
		_meshes[entity].queue_free()
		_meshes.erase(entity)
