"""GDScript backend: ``clients/godot/addons/worldloom/core/protocol.gd`` from the language-neutral schema.

Why this shape: GDScript has no exceptions and no generics, and the same file must also run in Godot 3
(GDScript 1) after ``clients/godot/tools/to_godot3.py`` strips its type hints. So the generated file is
plain data plus thin builders: constants (protocol version, schema hash, quantum, frame limit), the
error and close codes as enums and name tables, one ``MESSAGES``/``STRUCTS`` table that the hand-written
``wire_codec.gd`` walks to validate, fill defaults and encode in declaration order, and one builder per
message (``Protocol.hello(...)``) returning the message as a Dictionary keyed by wire field names.

Alternatives rejected: one GDScript inner class per message with generated encode/decode methods (about
ten times the generated code, and inner classes with typed members behave differently in Godot 3, where
CI runs the code); hand-written tables (they would drift from ``protocol/messages.py``).
"""

from __future__ import annotations

import json
import math
import textwrap
from typing import Any

OUTPUT = "clients/godot/addons/worldloom/core/protocol.gd"

_PARAM_TYPES = {"int": "int", "float": "float", "bool": "bool", "str": "String", "list": "Array",
                "tuple": "Array", "dict": "Dictionary", "literal": "String"}


def _literal(value: Any) -> str:
    """A Python plain value as a GDScript literal (structs and bytes become marker dictionaries)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        if value == -(2**63):  # the literal 9223372036854775808 does not fit; spell it as an expression
            return "(-9223372036854775807 - 1)"
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"non-finite default {value!r} has no GDScript literal")
        text = repr(value)
        return text if any(c in text for c in ".e") else text + ".0"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))}: {_literal(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no GDScript literal for {value!r}")


def _pretty(prefix: str, value: Any, indent: str, suffix: str = ",") -> list[str]:
    """``prefix + literal + suffix`` on one line when it fits in 100 columns, else one entry per line."""
    line = f"{indent}{prefix}{_literal(value)}{suffix}"
    if len(line.expandtabs(4)) <= 100 or not isinstance(value, (dict, list)) or not value:
        return [line]
    opener, closer = ("{", "}") if isinstance(value, dict) else ("[", "]")
    lines = [f"{indent}{prefix}{opener}"]
    items = value.items() if isinstance(value, dict) else ((None, v) for v in value)
    for key, item in items:
        lines += _pretty("" if key is None else f"{json.dumps(str(key))}: ", item, indent + "\t")
    lines.append(f"{indent}{closer}{suffix}")
    return lines


def _struct_table(desc: dict[str, Any], indent: str) -> list[str]:
    lines = [f'{indent}"name": {json.dumps(desc["name"])},',
             f'{indent}"tag": {_literal(desc["tag"])},',
             f'{indent}"directions": {_literal(desc["directions"])},',
             f'{indent}"array_like": {_literal(desc["array_like"])},',
             f'{indent}"omit_defaults": {_literal(desc["omit_defaults"])},',
             f'{indent}"fields": [']
    for field in desc["fields"]:
        lines.append(f"{indent}\t{{")
        lines.append(f'{indent}\t\t"name": {json.dumps(field["name"])},')
        lines += _pretty('"type": ', field["type"], indent + "\t\t")
        lines += _pretty('"default": ', field["default"], indent + "\t\t")
        lines.append(f'{indent}\t\t"required": {_literal(field["required"])},')
        lines.append(f"{indent}\t}},")
    lines.append(f"{indent}],")
    return lines


def _builder(desc: dict[str, Any]) -> list[str]:
    """``static func hello(protocol: int, ...) -> Dictionary`` for one tagged message."""
    params = []
    for field in desc["fields"]:
        kind = field["type"]["kind"]
        hint = _PARAM_TYPES.get(kind)
        text = field["name"] + (f": {hint}" if hint else "")
        if not field["required"]:
            default = field["default"]
            if isinstance(default, dict) and "struct" in default:
                default = None
            text += f" = {_literal(default)}"
        params.append(text)
    name = "".join("_" + c.lower() if c.isupper() else c for c in desc["name"]).lstrip("_")
    lines = ["## " + line for line in textwrap.wrap(
        f"Build a `{desc['tag']}` message ({desc['name']}): {desc['doc']}", 96)]
    signature = f"static func {name}("
    lines.append(signature)
    for i, param in enumerate(params):
        lines.append(f"\t{param}" + ("," if i < len(params) - 1 else ""))
    lines.append(") -> Dictionary:")
    lines.append("\treturn {")
    lines.append(f'\t\t"t": {json.dumps(desc["tag"])},')
    lines += [f'\t\t"{f["name"]}": {f["name"]},' for f in desc["fields"]]
    lines.append("\t}")
    return lines


def render(schema: dict[str, Any]) -> dict[str, str]:
    """Map the output path to the generated ``protocol.gd`` text."""
    out = [
        "## Worldloom wire protocol tables and message builders (GDScript).",
        "##",
        "## GENERATED by clients/codegen/generate.py (backend gdscript.py) from protocol/messages.py",
        "## and protocol/codes.py. Do not edit: regenerate; `generate.py --check` fails when stale.",
        "## Messages are Dictionaries keyed by wire field names, tag under \"t\" (docs/protocol.md).",
        "",
        "enum ErrorCode {",
    ]
    out += [f"\t{name} = {value}," for name, value in schema["error_codes"].items()]
    out += ["}", "", "enum CloseCode {"]
    out += [f"\t{name} = {value}," for name, value in schema["close_codes"].items()]
    out += ["}", "",
            f"const PROTOCOL_VERSION = {schema['protocol_version']}",
            f"const SCHEMA_HASH = {json.dumps(schema['schema_hash'])}",
            f"const MAX_FRAME_BYTES = {schema['max_frame_bytes']}",
            f"const POSITION_QUANTUM = {_literal(float(schema['position_quantum']))}",
            f"const TAG_FIELD = {json.dumps(schema['tag_field'])}",
            "", "## Error code -> name (codes not listed are unknown: treat as generic errors).",
            "const ERROR_NAMES = {"]
    out += [f'\t{value}: "{name}",' for name, value in schema["error_codes"].items()]
    out += ["}", "", "## Close code -> name.", "const CLOSE_NAMES = {"]
    out += [f'\t{value}: "{name}",' for name, value in schema["close_codes"].items()]
    out += ["}", "", "## Tag -> message description (fields in wire order; see wire_codec.gd).",
            "const MESSAGES = {"]
    for desc in schema["messages"]:
        out.append(f'\t"{desc["tag"]}": {{')
        out += _struct_table(desc, "\t\t")
        out.append("\t},")
    out += ["}", "", "## Positional (array-like) nested types, by name.", "const STRUCTS = {"]
    for desc in schema["structs"]:
        out.append(f'\t"{desc["name"]}": {{')
        out += _struct_table(desc, "\t\t")
        out.append("\t},")
    out += ["}", ""]
    for desc in schema["messages"]:
        out += _builder(desc)
        out.append("")
    text = "\n".join(out).rstrip("\n") + "\n"
    return {OUTPUT: text}
