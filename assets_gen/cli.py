"""``gen`` command line: ``worldloom gen terrain|level|loot|names ... --seed S --out DIR``.

``add_parser(subparsers)`` adds the ``gen`` command to any argparse sub-parser set (the ``worldloom`` CLI
wires it in); ``run(args)`` executes it and returns the exit status (0 ok, 2 bad parameters or failed
generation, 3 a level that failed its playability check). ``python -m assets_gen gen ...`` runs it
standalone. Terrain generation shows a tqdm progress bar.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .cancel import CancelToken
from .errors import AssetsError
from .params import CURVES, LEVEL_ALGORITHMS, NAME_KINDS


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``gen`` (with ``terrain``, ``level``, ``loot``, ``names``) to ``subparsers``; return its parser."""
    gen = subparsers.add_parser("gen", help="generate terrain, levels, loot or names into files")
    kinds = gen.add_subparsers(dest="gen_kind", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--seed", type=int, default=0, help="random seed (default %(default)s)")
        p.add_argument("--out", type=Path, default=Path("out"), help="output directory (default %(default)s)")

    t = kinds.add_parser("terrain", help="heightmap + erosion + biomes -> .glb, .r16, 16-bit .png, preview")
    common(t)
    t.add_argument("--size", type=int, default=257, help="samples per side, 2^n+1 (default %(default)s)")
    t.add_argument("--octaves", type=int, default=6)
    t.add_argument("--frequency", type=float, default=3.0, help="noise cells across the map for the first octave")
    t.add_argument("--roughness", type=float, default=0.5, help="amplitude kept per octave (0.05..0.95)")
    t.add_argument("--sea-level", type=float, default=0.35, help="fraction of the height range under water")
    t.add_argument("--island", action="store_true", help="fade the map edges into the sea")
    t.add_argument("--droplets", type=int, default=None, help="hydraulic erosion droplets (default size^2/16)")
    t.add_argument("--thermal-iterations", type=int, default=10)
    t.add_argument("--mesh-resolution", type=int, default=None, help="vertices per side of the .glb mesh")
    t.add_argument("--height-scale", type=float, default=120.0, help="metres for the full height range")
    t.add_argument("--cell-size", type=float, default=2.0, help="metres between samples")
    t.add_argument("--no-preview", action="store_true")

    lv = kinds.add_parser("level", help="dungeon level -> .json, Godot 4 .tscn, preview .png")
    common(lv)
    lv.add_argument("--algorithm", choices=LEVEL_ALGORITHMS, default="bsp")
    lv.add_argument("--width", type=int, default=32)
    lv.add_argument("--height", type=int, default=32)
    lv.add_argument("--difficulty", type=float, default=0.5)
    lv.add_argument("--curve", default="rising",
                    help=f"{', '.join(CURVES)} or comma-separated numbers in [0, 1] (default %(default)s)")
    lv.add_argument("--enemies", type=int, default=6)
    lv.add_argument("--treasure", type=int, default=3)
    lv.add_argument("--traps", type=int, default=2)
    lv.add_argument("--keys", type=int, default=1)
    lv.add_argument("--path-length", type=int, default=None)
    lv.add_argument("--sample", type=Path, default=None, help="WFC sample file: rows of '#' and '.'")
    lv.add_argument("--pattern-size", type=int, default=3)
    lv.add_argument("--count", type=int, default=1, help="levels to generate (seeds S, S+1, ...)")
    lv.add_argument("--no-preview", action="store_true")

    lo = kinds.add_parser("loot", help="loot table and item rolls for a difficulty -> loot.json")
    common(lo)
    lo.add_argument("--difficulty", type=float, default=0.5)
    lo.add_argument("--count", type=int, default=10)

    nm = kinds.add_parser("names", help="names from a Markov chain -> names_KIND.json")
    common(nm)
    nm.add_argument("--kind", choices=NAME_KINDS, default="place")
    nm.add_argument("--count", type=int, default=10)
    nm.add_argument("--min-length", type=int, default=4)
    nm.add_argument("--max-length", type=int, default=10)
    return gen


def _curve(text: str) -> Any:
    if "," in text:
        try:
            return [float(v) for v in text.split(",")]
        except ValueError:
            return text
    return text


def _terrain(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .jobs import terrain_job

    raw = {"seed": args.seed, "size": args.size, "octaves": args.octaves, "frequency": args.frequency,
           "roughness": args.roughness, "sea_level": args.sea_level, "island": args.island,
           "droplets": args.droplets, "thermal_iterations": args.thermal_iterations,
           "height_scale": args.height_scale, "cell_size": args.cell_size}
    if args.mesh_resolution is not None:
        raw["mesh_resolution"] = args.mesh_resolution
    with tqdm(total=100, desc=f"terrain {args.size}x{args.size}", unit="%", disable=None) as bar:
        def progress(stage: str, fraction: float) -> None:
            bar.set_postfix_str(stage)
            bar.update(int(fraction * 100) - bar.n)

        result = terrain_job(raw, args.out, CancelToken(), preview=not args.no_preview, progress=progress)
    for kind, path in result["files"].items():
        print(f"  {kind:8s} {path}")
    print("  " + json.dumps({k: v for k, v in result["summary"].items() if k != "biomes"}))
    return 0


def _level(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .jobs import level_job, write_level_files

    sample = None
    if args.sample is not None:
        sample = [line.strip() for line in args.sample.read_text().splitlines() if line.strip()]
    status = 0
    for i in tqdm(range(args.count), desc="levels", disable=args.count < 20 or None):
        raw = {"seed": args.seed + i, "algorithm": args.algorithm, "width": args.width, "height": args.height,
               "difficulty": args.difficulty, "curve": _curve(args.curve), "sample": sample,
               "pattern_size": args.pattern_size,
               "targets": {"enemies": args.enemies, "treasure": args.treasure, "traps": args.traps,
                           "keys": args.keys, "path_length": args.path_length}}
        level, _doc = level_job(raw, CancelToken())
        stem = "level" if args.count == 1 else f"level_{args.seed + i}"
        files = write_level_files(level, args.out / stem if args.count > 1 else args.out, not args.no_preview)
        if not level.playability.playable:
            status = 3
            print(f"warning: level seed {args.seed + i} is NOT playable: {level.playability.problems}",
                  file=sys.stderr)
        if args.count == 1:
            for kind, path in files.items():
                print(f"  {kind:8s} {path}")
            report = level.report
            print(f"  playable={level.playability.playable} path={report['path_length']['achieved']} "
                  f"enemies={report['enemies']['placed']}/{report['enemies']['target']} "
                  f"keys={report['keys']['placed']}/{report['keys']['target']} "
                  f"curve_error={report['curve']['mean_abs_error']}")
    return status


def run(args: argparse.Namespace) -> int:
    """Execute a parsed ``gen`` command. Returns the process exit status."""
    from .jobs import loot_job, names_job, write_json

    try:
        if args.gen_kind == "terrain":
            return _terrain(args)
        if args.gen_kind == "level":
            return _level(args)
        if args.gen_kind == "loot":
            path = write_json(loot_job({"seed": args.seed, "difficulty": args.difficulty, "count": args.count}),
                              args.out / "loot.json")
        else:
            path = write_json(names_job({"seed": args.seed, "kind": args.kind, "count": args.count,
                                         "min_length": args.min_length, "max_length": args.max_length}),
                              args.out / f"names_{args.kind}.json")
        print(f"  json     {path}")
        return 0
    except AssetsError as exc:
        print(f"worldloom gen: error: {exc}", file=sys.stderr)
        return 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m assets_gen", description="Worldloom asset generators")
    add_parser(parser.add_subparsers(dest="command", required=True))
    return run(parser.parse_args(argv))
