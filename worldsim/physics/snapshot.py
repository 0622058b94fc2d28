"""The framing of a saved physics world: magic, version, length, a MessagePack record and a SHA-256.

Like ``worldsim/saves.py``, the checksum and length are checked before any of the payload is trusted, so a
truncated or corrupted save is a ``CorruptStateError`` and never a half-built world.
"""

from __future__ import annotations

import hashlib
import math
import struct

import msgspec

from ..errors import CorruptStateError

MAGIC, VERSION = b"WLPHYSIC", 1
_HEADER = struct.Struct("<8sIQ")
_DIGEST = 32
ADD, REMOVE = 0, 1
"""Structural log operations: (ADD, handle) and (REMOVE, handle)."""


class BodySpec(msgspec.Struct, array_like=True, frozen=True):
    """One body as created: handle, kind (0 sphere, 1 box), dims (m) and mass (kg)."""

    handle: int
    kind: int
    dims: tuple[float, float, float]
    mass: float


class SaveRecord(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Everything ``from_bytes`` needs: parameters, counters, the structural log, poses, pybullet's file."""

    params: tuple[float, int, float, float, float, tuple[float, float, float, float], int, int]
    tick: int
    next_handle: int
    removed_since_build: int
    terrain_digest: bytes
    specs: list[BodySpec]  # every body created since the last build, by handle
    ops: list[tuple[int, int]]  # (op, handle) since the last build, in order
    live_pose: bytes  # float64 (n, 7): pos + orn of the live bodies in handle order
    above: bytes  # int64 (m, 2): pairs at or over the contact threshold last tick
    bullet: bytes



def encode_record(record: SaveRecord) -> bytes:
    """Frame ``record`` as saved physics bytes (header, payload, checksum)."""
    payload = msgspec.msgpack.encode(record)
    head = _HEADER.pack(MAGIC, VERSION, len(payload)) + payload
    return head + hashlib.sha256(head).digest()


def decode_record(data: bytes) -> SaveRecord:
    """Check the framing and decode. Raises ``CorruptStateError`` naming what is wrong."""
    if len(data) < _HEADER.size + _DIGEST:
        raise CorruptStateError(f"physics state is truncated ({len(data)} bytes)")
    magic, version, length = _HEADER.unpack_from(data)
    if magic != MAGIC:
        raise CorruptStateError("physics state does not start with the physics magic bytes")
    if version != VERSION:
        raise CorruptStateError(f"physics state format version {version} is not supported (expected {VERSION})")
    if length != len(data) - _HEADER.size - _DIGEST:
        raise CorruptStateError("physics state length does not match its header (truncated or padded)")
    if hashlib.sha256(data[:-_DIGEST]).digest() != data[-_DIGEST:]:
        raise CorruptStateError("physics state checksum mismatch (corrupted)")
    try:
        record = msgspec.msgpack.decode(data[_HEADER.size:-_DIGEST], type=SaveRecord)
    except Exception as exc:  # hostile msgpack can raise more than msgspec's own error
        raise CorruptStateError(f"physics state payload does not decode: {exc}") from exc
    dt, substeps, *_, iterations, rebuild_after = record.params
    if not (math.isfinite(dt) and dt > 0 and 1 <= substeps <= 64 and record.tick >= 0
            and 1 <= iterations <= 1000 and rebuild_after >= 1):
        raise CorruptStateError("physics state has invalid parameters")
    return record

