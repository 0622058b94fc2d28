"""Build the Godot 3 (GDScript 1) copy of the portable core: ``python to_godot3.py OUT_PROJECT_DIR``.

The core scripts in ``addons/worldloom/core/`` are written in the subset of GDScript that Godot 4 and
Godot 3 share once static type hints are removed: no ``extends`` (both default to a reference-counted
object), no annotations, no lambdas, no ``await``, no typed arrays, and every API that differs between
the engines goes through ``core/compat.gd``. This script copies them into ``OUT/addons/worldloom/core``
with the type hints stripped (``var x: int = 1`` -> ``var x = 1``, ``func f(a: int) -> int:`` ->
``func f(a):``) and ``godot3/compat.gd`` in place of the Godot 4 ``compat.gd``; the harness scripts
(``harness/*.gd``, same subset) are copied to ``OUT/harness``. It refuses a core file that still
mentions a Godot-4-only name after the rewrite, so the subset cannot silently erode.

Why a transform and not two hand-written copies: CI then executes the very logic that ships in the
addon (same statements, same order), differing only by type hints and the compat seam.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

GODOT_DIR = Path(__file__).resolve().parents[1]
CORE = GODOT_DIR / "addons" / "worldloom" / "core"
HARNESS = GODOT_DIR / "harness"

_TYPE = r"[A-Za-z_][A-Za-z0-9_]*(?:\[[A-Za-z0-9_]+\])?"
_VAR = re.compile(rf"^(\s*(?:static\s+)?(?:var|const)\s+[A-Za-z_][A-Za-z0-9_]*)\s*(?::\s*{_TYPE}\s*)?(:?=)")
_VAR_BARE = re.compile(rf"^(\s*var\s+[A-Za-z_][A-Za-z0-9_]*)\s*:\s*{_TYPE}\s*$")
_RETURN = re.compile(rf"\)\s*->\s*{_TYPE}\s*:\s*$")
_PARAM = re.compile(rf"\b([a-z_][A-Za-z0-9_]*)\s*:\s*{_TYPE}(?=\s*(?:=|,|\)|$))")
FORBIDDEN = ("PackedByteArray", "RefCounted", "TYPE_FLOAT", "TYPE_PACKED", "to_utf8_buffer", "await ",
             "Callable", "FileAccess", "is_empty(", "Time.", "@")


def strip_types(text: str) -> str:
    """Remove static type hints from GDScript 2 source written in the portable subset."""
    out = []
    in_signature = False
    for line in text.splitlines():
        stripped = line.lstrip()
        if stripped.startswith("#"):
            out.append(line)
            continue
        if re.match(r"\s*(static\s+)?func\s", line):
            in_signature = True
        if in_signature:
            line = _PARAM.sub(r"\1", line)
            line = _RETURN.sub("):", line)
            if re.search(r"\)\s*(->.*)?:\s*$", line):
                in_signature = False
        else:
            line = _VAR.sub(lambda m: m.group(1) + " =", line)
            line = _VAR_BARE.sub(r"\1", line)
        out.append(line)
    return "\n".join(out) + "\n"


def _code_only(text: str) -> str:
    return "\n".join(line.split("#", 1)[0] if '"' not in line else line
                     for line in text.splitlines() if not line.lstrip().startswith("#"))


def build(out_dir: Path) -> list[Path]:
    """Write the Godot 3 core and harness under ``out_dir``; returns the files written."""
    written = []
    core_out = out_dir / "addons" / "worldloom" / "core"
    core_out.mkdir(parents=True, exist_ok=True)
    for src in sorted(CORE.glob("*.gd")):
        if src.name == "compat.gd":
            text = (GODOT_DIR / "godot3" / "compat.gd").read_text()
        else:
            text = strip_types(src.read_text())
            bad = [name for name in FORBIDDEN if name in _code_only(text)]
            if bad:
                raise SystemExit(f"{src.name}: Godot-4-only names left after the rewrite: {bad}")
        (core_out / src.name).write_text(text)
        written.append(core_out / src.name)
    harness_out = out_dir / "harness"
    harness_out.mkdir(parents=True, exist_ok=True)
    for src in sorted(HARNESS.glob("*.gd")):
        text = src.read_text() if src.name.endswith("_godot3.gd") else strip_types(src.read_text())
        (harness_out / src.name).write_text(text)
        written.append(harness_out / src.name)
    (out_dir / "project.godot").write_text("config_version=4\n\n[application]\n\nconfig/name=\"worldloom-godot3-ci\"\n")
    return written


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__.splitlines()[0])
    for path in build(Path(sys.argv[1])):
        print(path)
