@tool
extends EditorPlugin
## Registers the WorldloomClient node type while the addon is enabled.

const CLIENT_SCRIPT = preload("res://addons/worldloom/worldloom_client.gd")


func _enter_tree() -> void:
	add_custom_type("WorldloomClient", "Node", CLIENT_SCRIPT, null)


func _exit_tree() -> void:
	remove_custom_type("WorldloomClient")
