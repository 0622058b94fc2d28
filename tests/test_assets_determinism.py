"""Same seed and parameters => byte-identical output files, in this process and in a separate one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _generate(out: Path) -> None:
    commands = [
        ["terrain", "--size", "65", "--seed", "7", "--mesh-resolution", "33"],
        ["level", "--algorithm", "wfc", "--seed", "7", "--keys", "2"],
        ["names", "--seed", "7", "--kind", "person"],
    ]
    for args in commands:
        done = subprocess.run([sys.executable, "-m", "assets_gen", "gen", *args, "--out", str(out)], cwd=ROOT,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_cli_output_is_byte_identical_across_processes(tmp_path) -> None:
    _generate(tmp_path / "a")
    _generate(tmp_path / "b")
    a, b = _tree(tmp_path / "a"), _tree(tmp_path / "b")
    assert len(a) >= 9 and a.keys() == b.keys()
    assert [name for name in a if a[name] != b[name]] == []


def test_library_output_matches_a_separate_process(tmp_path) -> None:
    from assets_gen.export.files import write_level
    from assets_gen.levels import generate_level
    from assets_gen.params import level_params

    write_level(generate_level(level_params({"algorithm": "bsp", "seed": 123, "targets": {"keys": 2}})), tmp_path / "here")
    code = ("import sys; from pathlib import Path; from assets_gen.export.files import write_level; "
            "from assets_gen.levels import generate_level; from assets_gen.params import level_params; "
            "write_level(generate_level(level_params({'algorithm': 'bsp', 'seed': 123, 'targets': {'keys': 2}})), "
            "Path(sys.argv[1]))")
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "there")], cwd=ROOT, check=True, timeout=120)
    assert _tree(tmp_path / "here") == _tree(tmp_path / "there")
