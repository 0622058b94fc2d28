"""The world save format and atomic save files. Knows bytes and files, not how a world is built.

File layout (all integers little-endian):

    magic      8 bytes   b"WLOOMSAV"
    version    uint32    FORMAT_VERSION
    length     uint64    payload byte count
    payload    length    MessagePack ``WorldRecord`` (msgspec, typed decoder)
    checksum   32 bytes  SHA-256 of everything before it

Why: the magic says "this is a Worldloom save", the version lets a later format refuse or migrate an older
one, the length detects truncation and the checksum detects corruption *before* any of the payload is
trusted, so a bad file is a ``SaveError`` and never a half-loaded world. Columns are stored by name with
dtype and shape, so a column added to the table shows up as a clear layout mismatch, not garbage.

Files are written atomically: temp file in the same directory, flush + fsync, ``os.replace`` over the old
save, fsync the directory. A crash at any point leaves either the old save or the new one on disk.
Alternatives rejected: ``np.savez`` (zip in a zip, no typed schema, pickle risk with object arrays) and
pickle (executes code from the file).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import struct
import tempfile
from typing import Annotated

import msgspec
from msgspec import Meta, Struct

from .errors import SaveError

MAGIC = b"WLOOMSAV"
FORMAT_VERSION = 2
"""Bumped on any change to the layout of ``WorldRecord`` or of the table columns."""

_HEADER = struct.Struct("<8sIQ")
_DIGEST_BYTES = hashlib.sha256().digest_size
_WRITE_FIX = "check that the directory exists, is writable and has free space; the previous save is untouched"
_VERSION_FIX = "load it with the Worldloom release that wrote it, or start a new world"


class ColumnRecord(Struct, array_like=True, frozen=True):
    """One table column: ``dtype`` is a numpy dtype string (little-endian), ``data`` its raw bytes."""

    name: str
    dtype: str
    shape: list[Annotated[int, Meta(ge=0)]]
    data: bytes


class WorldRecord(Struct, frozen=True, forbid_unknown_fields=True):
    """Everything needed to resume a world exactly: scalars, table columns ``[:extent]``, RNG state, the
    scenario, system arrays and the physics world."""

    seed: Annotated[int, Meta(ge=0)]  # < 2**64, checked by RngStreams
    tick: Annotated[int, Meta(ge=0, le=2**63 - 1)]
    half_extent: float
    capacity: Annotated[int, Meta(ge=1)]
    extent: Annotated[int, Meta(ge=0)]
    columns: list[ColumnRecord]
    rng_state: bytes
    scenario: bytes
    """The scenario as canonical JSON (a save is self-contained)."""
    seconds: float
    """Simulated seconds elapsed."""
    systems: list[ColumnRecord]
    """Named state arrays of the systems (grass layer, markets, weather, terrain fields)."""
    physics: bytes
    """The physics world (``PhysicsWorld.to_bytes``), empty when physics is off."""


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(WorldRecord)


def pack(record: WorldRecord) -> bytes:
    """Frame ``record`` as a complete save (header, payload, checksum)."""
    payload = _encoder.encode(record)
    head = _HEADER.pack(MAGIC, FORMAT_VERSION, len(payload)) + payload
    return head + hashlib.sha256(head).digest()


def unpack(data: bytes, source: str = "<bytes>") -> WorldRecord:
    """Check the framing of a save and decode its record. Raises ``SaveError(source, cause)``."""
    data = bytes(data)
    if not data:
        raise SaveError(source, "is empty (an interrupted write, or not a save)")
    if len(data) < len(MAGIC) or data[: len(MAGIC)] != MAGIC:
        if MAGIC.startswith(data):
            raise SaveError(source, f"is truncated ({len(data)} bytes, shorter than the header)")
        raise SaveError(source, "is not a Worldloom save (bad magic bytes)")
    if len(data) < _HEADER.size:
        raise SaveError(source, f"is truncated ({len(data)} bytes, shorter than the header)")
    _, version, length = _HEADER.unpack_from(data)
    if version != FORMAT_VERSION:
        raise SaveError(source, f"has format version {version}; this build reads version {FORMAT_VERSION}",
                        _VERSION_FIX)
    expected = _HEADER.size + length + _DIGEST_BYTES
    if len(data) < expected:
        raise SaveError(source, f"is truncated ({len(data)} bytes, the header announces {expected})")
    if len(data) > expected:
        raise SaveError(source, f"has {len(data) - expected} unexpected trailing bytes (corrupted)")
    body, digest = data[:-_DIGEST_BYTES], data[-_DIGEST_BYTES:]
    if hashlib.sha256(body).digest() != digest:
        raise SaveError(source, "fails its SHA-256 checksum (corrupted)")
    try:
        return _decoder.decode(body[_HEADER.size :])
    except Exception as exc:  # checksummed yet undecodable: written by a buggy or hostile tool
        raise SaveError(source, f"has a payload that does not decode ({type(exc).__name__}: {exc})") from None


def write_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically and durably. Raises ``SaveError``; the old file survives."""
    target = os.path.abspath(os.fspath(path))
    directory, name = os.path.split(target)
    tmp_path = None
    try:
        fd, tmp_path = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_path, target)
        tmp_path = None
    except OSError as exc:
        raise SaveError(os.fspath(path), f"could not be written ({exc})", _WRITE_FIX) from exc
    finally:
        if tmp_path is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp_path)
    _fsync_directory(directory)


def _fsync_directory(directory: str) -> None:
    """Make the rename durable. Best effort: some platforms cannot open or fsync a directory."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def read_save(path: str | os.PathLike[str]) -> bytes:
    """The bytes of a save file. Raises ``SaveError`` if it cannot be read."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise SaveError(os.fspath(path), f"could not be read ({exc})",
                        "check the path and its permissions") from exc
