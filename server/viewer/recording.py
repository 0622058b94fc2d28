"""Position recordings of headless runs, so ``worldloom sim`` output can be replayed in the web viewer.

A recording is one file, ``positions.wlrec``, in the run directory::

    b"WLREC\\x00\\x01\\x00"          magic + format version 1
    u32 header_len, header JSON   (UTF-8, sorted keys): version, scenario, seed, dt, every, half_extent,
                                  scale (metres per position unit), kinds, tiles, tile_size, biomes, colors,
                                  settlements [{name, x, y}]
    u8[tiles * tiles]             biome index per tile, rows = y (the terrain under the replay)
    frames, until the end:        u32 tick, then per kind (header order): u32 count,
                                  u32[count] ids ascending, i16[count * 2] x, y interleaved

All integers little-endian. Positions are ``round(metres / scale)`` with ``scale = half_extent / 32000``
(about 0.8 cm in the 256 m meadow), so an entity costs 8 bytes per frame and a browser parses a frame
with two typed-array views, no decoding loop.

Why this design: the viewer needs positions at a handful of ticks per second of simulated time, not the
full delta stream; a fixed-layout binary file written with ``numpy.tobytes`` is cheap to write during a
run (one ``kind_view`` per kind every K ticks) and needs no codec in the browser. Rejected: MessagePack
per frame (a JS decoder pass per entity), CSV/JSON (10x larger), HDF5/Parquet (no browser reader).
Written under ``.part`` and renamed by ``finish`` so a file without the suffix is complete; same run,
same bytes (nothing time- or host-dependent is written).
"""

from __future__ import annotations

import json
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from worldsim import KIND_NAMES, Kind

from .errors import RecordingError

MAGIC = b"WLREC\x00\x01\x00"
FORMAT_VERSION = 1
FILE_NAME = "positions.wlrec"
POSITION_RANGE = 32000
"""Largest |position unit|: positions are int16 ``round(metres / (half_extent / POSITION_RANGE))``."""
RECORDED_KINDS = (Kind.PLAYER, Kind.NPC, Kind.CREATURE, Kind.PROP)
MAX_FRAMES = 2400
"""With ``ticks`` known, frames are spaced so a run records at most about this many (a browser loads the
whole file: 2400 frames of the 1300-entity meadow are ~25 MB)."""


def default_every(ticks_per_second: float) -> int:
    """Record 4 frames per simulated second (every 5 ticks at 20 Hz)."""
    return max(1, round(ticks_per_second / 4))


class PositionRecorder:
    """Writes ``positions.wlrec`` while a headless run steps its world.

    Usage (the hook in ``server/headless.py:simulate``)::

        recorder = PositionRecorder(out, world, ticks=options.ticks)   # before the loop (records tick 0)
        recorder.after_step(world)                       # after each world.step
        result.files.append(recorder.finish())           # after the loop: rename, returns the file name

    Args:
        out: the run directory. world: the ``worldsim.World`` being run.
        every: record every ``every`` ticks (None: 4 frames per simulated second, spaced further apart
            when ``ticks`` is given so the run records at most about ``MAX_FRAMES`` frames).
        ticks: the run's length in ticks, if known.
    """

    def __init__(self, out: str | os.PathLike[str], world: Any, every: int | None = None,
                 ticks: int | None = None) -> None:
        self.path = Path(out) / FILE_NAME
        if every is None:
            every = max(default_every(1.0 / world.dt), -(-int(ticks or 0) // MAX_FRAMES))
        self.every = int(every)
        if self.every < 1:
            raise RecordingError(str(self.path), f"every must be >= 1 tick, got {self.every}")
        self.scale = float(world.half_extent) / POSITION_RANGE
        self.frames = 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._part = self.path.with_name(self.path.name + ".part")
        self._file: BinaryIO | None = open(self._part, "wb")  # noqa: SIM115 - closed by finish()
        self._file.write(_header(world, self.every, self.scale))
        self._write_frame(world)

    def after_step(self, world: Any) -> None:
        """Record a frame when ``world.tick`` is a multiple of ``every``."""
        if world.tick % self.every == 0:
            self._write_frame(world)

    def _write_frame(self, world: Any) -> None:
        assert self._file is not None
        parts = [struct.pack("<I", int(world.tick))]
        for kind in RECORDED_KINDS:
            ids, pos = world.kind_view(kind)
            xy = np.clip(np.rint(pos[:, :2] / self.scale), -POSITION_RANGE, POSITION_RANGE).astype("<i2")
            parts += [struct.pack("<I", len(ids)), ids.astype("<u4").tobytes(), xy.tobytes()]
        self._file.write(b"".join(parts))
        self.frames += 1

    def finish(self) -> str:
        """Close the file and give it its final name; returns ``positions.wlrec``. Safe to call twice."""
        if self._file is not None:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self._file = None
            os.replace(self._part, self.path)
        return FILE_NAME


def _header(world: Any, every: int, scale: float) -> bytes:
    terrain = world.terrain
    biomes = getattr(world.scenario, "biomes", {}) or {}
    names = list(terrain.biome_names)
    meta = {"version": FORMAT_VERSION, "scenario": world.scenario.world.name, "seed": int(world.seed),
            "dt": float(world.dt), "every": every, "half_extent": float(world.half_extent), "scale": scale,
            "kinds": [KIND_NAMES[k] for k in RECORDED_KINDS], "tiles": int(terrain.n),
            "tile_size": float(terrain.tile_size), "biomes": names,
            "colors": [getattr(biomes.get(n), "color", "#888888") for n in names],
            "settlements": [{"name": s, "x": float(xy[0]), "y": float(xy[1])}
                            for s, xy in zip(world.economy.settlements, world.economy.town_xy.tolist(), strict=True)]}
    text = json.dumps(meta, sort_keys=True, separators=(",", ":")).encode()
    grid = np.ascontiguousarray(terrain.biome, dtype=np.uint8).tobytes()
    return MAGIC + struct.pack("<I", len(text)) + text + grid


@dataclass
class Recording:
    """A parsed recording: ``meta`` (the header JSON), ``biome`` (tiles, tiles) uint8 and the frames as
    ``ticks`` (f,) int64 and per frame ``{kind: (ids (n,) uint32, xy (n, 2) float64 metres)}``."""

    meta: dict[str, Any]
    biome: np.ndarray
    ticks: np.ndarray
    frames: list[dict[str, tuple[np.ndarray, np.ndarray]]]


def read_recording(path: str | os.PathLike[str]) -> Recording:
    """Parse a ``positions.wlrec`` file (the Python twin of the browser's reader; used by tests and tools).

    Raises:
        RecordingError: missing file, wrong magic or version, or a truncated frame.
    """
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise RecordingError(str(p), f"cannot read ({exc.strerror}); run `worldloom sim` to create it") from None
    if data[:8] != MAGIC:
        raise RecordingError(str(p), "not a Worldloom position recording (bad magic)")
    try:
        (hlen,) = struct.unpack_from("<I", data, 8)
        meta = json.loads(data[12:12 + hlen])
        n = int(meta["tiles"])
        at = 12 + hlen
        biome = np.frombuffer(data, np.uint8, n * n, at).reshape(n, n)
        at += n * n
        scale, kinds = float(meta["scale"]), list(meta["kinds"])
        ticks, frames = [], []
        while at < len(data):
            (tick,) = struct.unpack_from("<I", data, at)
            at += 4
            frame = {}
            for kind in kinds:
                (count,) = struct.unpack_from("<I", data, at)
                ids = np.frombuffer(data, "<u4", count, at + 4)
                xy = np.frombuffer(data, "<i2", count * 2, at + 4 + 4 * count).reshape(count, 2)
                frame[kind] = (ids, xy.astype(np.float64) * scale)
                at += 4 + 8 * count
            ticks.append(tick)
            frames.append(frame)
    except (struct.error, ValueError, KeyError, TypeError) as exc:
        raise RecordingError(str(p), f"truncated or corrupt recording ({exc}); record the run again") from None
    return Recording(meta, biome, np.array(ticks, np.int64), frames)
