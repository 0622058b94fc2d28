"""Imports point downward (docs/architecture.md): checked by walking every module's ``ast``."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OURS = {"server", "worldsim", "npc", "narrative", "assets_gen", "protocol", "analytics"}
ALLOWED = {
    "protocol": set(),
    "worldsim": set(),
    "npc": {"worldsim"},
    "narrative": {"worldsim", "npc", "protocol"},
    "assets_gen": {"protocol", "worldsim"},
    "analytics": {"protocol"},
    "server": OURS - {"server"},
}
ASYNC_FREE = {"protocol", "worldsim", "npc", "narrative"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_packages_import_only_downward() -> None:
    bad = []
    for package, allowed in ALLOWED.items():
        for path in (ROOT / package).rglob("*.py"):
            for name in _imports(path) & OURS - {package} - allowed:
                bad.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not bad, "layering violated:\n" + "\n".join(bad)


def test_nothing_imports_server() -> None:
    offenders = [
        str(p.relative_to(ROOT))
        for pkg in OURS - {"server"}
        for p in (ROOT / pkg).rglob("*.py")
        if "server" in _imports(p)
    ]
    assert not offenders, offenders


def test_pure_layers_do_no_network_io() -> None:
    offenders = [
        str(p.relative_to(ROOT))
        for pkg in ASYNC_FREE
        for p in (ROOT / pkg).rglob("*.py")
        if _imports(p) & {"asyncio", "websockets", "socket"}
    ]
    assert not offenders, offenders
