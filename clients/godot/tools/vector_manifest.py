"""Write the golden vectors as a manifest the GDScript test harness can read exactly.

``python vector_manifest.py OUT.json`` reads ``protocol/vectors/*.json`` and writes one JSON file in
which every scalar is tagged so that no engine JSON parser can lose it: ints as ``"i:<decimal>"``
(Godot's JSON reads numbers as doubles and Godot 3's ``String.to_int`` is 32-bit), floats as
``"f:<16 hex digits of the IEEE-754 double>"``, strings as ``"s:<text>"``, and ``bytes`` fields
(base64 in the vectors) as ``"b:<base64>"``. It does not touch the ``.msgpack`` files: the harness
reads those itself, decodes them with the SDK and compares with this manifest, and encodes the
manifest's messages with the SDK and compares with those bytes (protocol/vectors/README.md).
"""

from __future__ import annotations

import base64
import json
import struct
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]
VECTORS = ROOT / "protocol" / "vectors"
sys.path[:0] = [str(ROOT), str(ROOT / "clients" / "codegen")]

from schema import load_schema  # noqa: E402


def tag(value: Any, spec: dict[str, Any] | None, structs: dict[str, Any]) -> Any:
    """``value`` with every scalar tagged; ``spec`` (a schema type or None for ``any``) marks bytes."""
    kind = spec["kind"] if spec else "any"
    if kind == "optional":
        return None if value is None else tag(value, spec["item"], structs)
    if kind == "struct":
        fields = structs[spec["name"]]["fields"]
        return [tag(v, fields[i]["type"] if i < len(fields) else None, structs) for i, v in enumerate(value)]
    if kind == "bytes" and isinstance(value, str):
        return "b:" + value
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return f"i:{value}"
    if isinstance(value, float):
        return "f:" + struct.pack(">d", value).hex()
    if isinstance(value, str):
        return "s:" + value
    if isinstance(value, list):
        if kind == "list":
            return [tag(v, spec["item"], structs) for v in value]
        if kind == "tuple":
            return [tag(v, spec["items"][i], structs) for i, v in enumerate(value)]
        return [tag(v, None, structs) for v in value]
    if isinstance(value, dict):
        return {k: tag(v, None, structs) for k, v in value.items()}
    raise TypeError(f"unexpected JSON value {value!r}")


def build() -> dict[str, Any]:
    schema = load_schema()
    structs = {s["name"]: s for s in schema["structs"]}
    by_tag = {m["tag"]: m for m in schema["messages"]}
    column_spec = {"kind": "struct", "name": "Column"}
    manifest: dict[str, Any] = {"vectors": [], "columns": [], "views": []}
    for path in sorted(VECTORS.glob("*.json")):
        doc = json.loads(path.read_text())
        name = path.name[: -len(".json")]
        if name.endswith(".view"):
            manifest["views"].append({
                "name": name[: -len(".view")], "baseline_vector": doc["baseline_vector"],
                "parts": [str(VECTORS / f"{p}.msgpack") for p in doc["parts"]],
                "kinds": tag(doc["kinds"], None, structs)})
        elif name.startswith("column_"):
            column = [doc["base"], doc["bits"], doc["count"], base64.b64encode(bytes.fromhex(doc["data"])).decode()]
            manifest["columns"].append({"name": name, "values": tag(doc["values"], None, structs),
                                        "column": tag(column, column_spec, structs)})
        else:
            fields = {f["name"]: f["type"] for f in by_tag[doc["type"]]["fields"]}
            message = {k: tag(v, fields.get(k), structs) for k, v in doc["message"].items()}
            manifest["vectors"].append({"name": name, "direction": doc["direction"],
                                        "decode_only": bool(doc.get("decode_only", False)),
                                        "msgpack": str(VECTORS / f"{name}.msgpack"), "message": message})
    return manifest


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__.splitlines()[0])
    Path(sys.argv[1]).write_text(json.dumps(build(), indent=1, ensure_ascii=False))
