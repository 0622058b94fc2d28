"""Generate every SDK's protocol types from the Python schema: ``python clients/codegen/generate.py [--check]``.

Each backend in ``backends/`` exposes ``render(schema) -> dict[str, str]`` mapping a path relative to the
repository root to the file's full text. ``--check`` writes nothing and exits 1 listing stale files (CI
runs it so generated code can never drift from ``protocol/messages.py``).
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def render_all() -> dict[Path, str]:
    """Every generated file (absolute path -> text) from every backend."""
    sys.path[:0] = [str(ROOT), str(HERE)]
    from schema import load_schema

    schema = load_schema()
    out: dict[Path, str] = {}
    for info in sorted(pkgutil.iter_modules([str(HERE / "backends")]), key=lambda m: m.name):
        backend = importlib.import_module(f"backends.{info.name}")
        for rel, text in backend.render(schema).items():
            out[ROOT / rel] = text
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if any generated file is stale")
    args = parser.parse_args(argv)
    stale = []
    for path, text in render_all().items():
        current = path.read_text() if path.exists() else None
        if current == text:
            continue
        if args.check:
            stale.append(str(path.relative_to(ROOT)))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            print(f"wrote {path.relative_to(ROOT)}")
    if stale:
        print("stale generated files (run `python clients/codegen/generate.py`):\n  " + "\n  ".join(stale),
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
