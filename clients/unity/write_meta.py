"""Write the Unity ``.meta`` file of every asset of this package: ``python clients/unity/write_meta.py [--check]``.

Why: Unity ignores files without a ``.meta`` in an immutable package (one installed from a git URL or a
tarball), so the package ships them. GUIDs are derived from the path (MD5 of ``worldloom-sdk:<path>``), so
re-running changes nothing and two checkouts agree. Folders ending in ``~`` and dot-files are invisible to
Unity and get none. ``--check`` writes nothing and exits 1 listing missing, stale or orphaned ``.meta`` files.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
_TAIL = "  userData: \n  assetBundleName: \n  assetBundleVariant: \n"
IMPORTERS = {
    ".cs": "MonoImporter:\n  externalObjects: {}\n  serializedVersion: 2\n  defaultReferences: []\n"
           "  executionOrder: 0\n  icon: {instanceID: 0}\n" + _TAIL,
    ".asmdef": "AssemblyDefinitionImporter:\n  externalObjects: {}\n" + _TAIL,
    ".json": "TextScriptImporter:\n  externalObjects: {}\n" + _TAIL,
    ".md": "TextScriptImporter:\n  externalObjects: {}\n" + _TAIL,
}
DEFAULT = "DefaultImporter:\n  externalObjects: {}\n" + _TAIL


def visible(path: Path) -> bool:
    """Whether Unity imports ``path`` (no part hidden with a leading dot or a trailing ``~``)."""
    rel = path.relative_to(HERE)
    return not any(p.startswith(".") or p.endswith("~") or p == "__pycache__" for p in rel.parts) \
        and path.suffix != ".meta"


def meta_text(path: Path) -> str:
    rel = path.relative_to(HERE).as_posix()
    guid = hashlib.md5(f"worldloom-sdk:{rel}".encode()).hexdigest()
    if path.is_dir():
        return f"fileFormatVersion: 2\nguid: {guid}\nfolderAsset: yes\n{DEFAULT}"
    return f"fileFormatVersion: 2\nguid: {guid}\n{IMPORTERS.get(path.suffix, DEFAULT)}"


def expected() -> dict[Path, str]:
    """Every ``.meta`` this package needs -> its text."""
    return {p.with_name(p.name + ".meta"): meta_text(p) for p in sorted(HERE.rglob("*")) if visible(p)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a .meta file is missing or stale")
    args = parser.parse_args(argv)
    want = expected()
    problems = []
    for meta, text in want.items():
        if meta.exists() and meta.read_text() == text:
            continue
        if args.check:
            problems.append(f"missing or stale: {meta.relative_to(HERE)}")
        else:
            meta.write_text(text)
    for meta in HERE.rglob("*.meta"):
        if meta not in want and not any(p.endswith("~") for p in meta.relative_to(HERE).parts):
            if args.check:
                problems.append(f"orphaned: {meta.relative_to(HERE)}")
            else:
                meta.unlink()
    if problems:
        print("Unity .meta files out of date (run `python clients/unity/write_meta.py`):\n  " + "\n  ".join(problems),
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
