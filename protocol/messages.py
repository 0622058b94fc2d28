"""Wire messages: one msgspec Struct per message, one tagged union per direction.

Why this design: a tagged union decoded by one reused typed ``Decoder`` turns hostile bytes into either a
typed, bounds-checked message or a ``msgspec.ValidationError`` carrying a path (``$.move[0]``), so the
server never touches an untyped dict from the network. Messages are MessagePack maps keyed by field name
with the tag in field ``t`` (easy to read in any SDK); the two hot nested types (``Column``, ``KindBlock``)
are MessagePack arrays to keep snapshots small.

Schema evolution (docs/protocol.md): new fields are appended with defaults; array-like structs are
append-only; a tag is never reused. Changing any of this changes ``SCHEMA_HASH``.
"""

from __future__ import annotations

import hashlib
import typing
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct

PROTOCOL_VERSION = 1
"""Bumped on any incompatible wire change; a mismatch is refused at ``Hello``."""

MAX_FRAME_BYTES = 60_000
"""Every server frame stays under this (Godot's default websocket buffer is 65535 bytes)."""

POSITION_QUANTUM = 1.0 / 64.0
"""Metres per quantized position unit (1.5625 cm; worst-case rounding error 0.78 cm)."""

U16 = Annotated[int, Meta(ge=0, le=0xFFFF)]
U32 = Annotated[int, Meta(ge=0, le=0xFFFF_FFFF)]
IdBound = Annotated[int, Meta(ge=0, le=2**32)]
PartIndex = Annotated[int, Meta(ge=0, le=4095)]
PartCount = Annotated[int, Meta(ge=1, le=4096)]
U63 = Annotated[int, Meta(ge=0, le=2**63 - 1)]
I64 = Annotated[int, Meta(ge=-(2**63), le=2**63 - 1)]
ShortStr = Annotated[str, Meta(max_length=64)]
Token = Annotated[str, Meta(max_length=512)]
MethodName = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")]
Axis = Annotated[float, Meta(ge=-1.0, le=1.0)]
Role = Literal["player", "spectator", "service", "admin"]


class Message(Struct, tag_field="t", forbid_unknown_fields=False):
    """Base of every tagged message (a MessagePack map with its tag in field ``t``)."""


# ---------------------------------------------------------------- handshake
class Hello(Message, tag="hello"):
    """First client message. ``resume`` (a token from an earlier ``Welcome``) continues that session."""

    protocol: Annotated[int, Meta(ge=0, le=65535)]
    schema: ShortStr
    client: ShortStr
    version: ShortStr
    role: Role = "player"
    token: Token = ""
    resume: Token = ""
    name: ShortStr = ""
    methods: Annotated[list[MethodName], Meta(max_length=64)] = []


class Welcome(Message, tag="welcome"):
    """Server's accept. ``entity`` is the avatar's entity id (0 when the role has none)."""

    session: ShortStr
    resume: Token
    tick_rate: U16
    tick: U63
    server_time: float
    entity: U32
    protocol: U16
    schema: ShortStr
    quantum: float = POSITION_QUANTUM
    aoi_radius: float = 0.0
    resumed: bool = False
    last_input: U63 = 0


# ---------------------------------------------------------------- gameplay
class Input(Message, tag="input"):
    """One client input. ``seq`` strictly increases (gaps allowed); ``tick`` is the newest server tick seen.

    ``move`` is the desired planar direction (each axis in [-1, 1], magnitude clamped to 1 by the server);
    ``buttons`` is a bit set of actions: bit 0 throws a projectile along ``move`` (worlds with physics);
    the other bits are reserved.
    """

    seq: U63
    tick: U63
    move: tuple[Axis, Axis] = (0.0, 0.0)
    buttons: U32 = 0


class Ack(Message, tag="ack"):
    """Client received (all parts of) snapshot ``tick``; the server may delta-encode against it."""

    tick: U63


class Column(Struct, array_like=True, frozen=True):
    """Frame-of-reference bit-packed integers: ``value[i] = base + field[i]``.

    ``data`` holds ``count`` unsigned fields of ``bits`` bits each, packed least-significant bit first
    into little-endian bytes (field i starts at bit ``i * bits``). ``bits == 0`` means every value is
    ``base`` and ``data`` is empty.
    """

    base: I64 = 0
    bits: Annotated[int, Meta(ge=0, le=64)] = 0
    count: Annotated[int, Meta(ge=0, le=1 << 20)] = 0
    data: bytes = b""


class Membership(Struct, array_like=True, frozen=True):
    """Ids that entered a range (ascending, with absolute quantized ``ex, ey, ez``) and ids that left it."""

    entered: Column = Column()
    ex: Column = Column()
    ey: Column = Column()
    ez: Column = Column()
    removed: Column = Column()


EMPTY_COLUMN = Column()


class KindBlock(Struct, array_like=True, frozen=True):
    """The change of one entity kind over ids in ``[lo, hi)`` against the baseline snapshot.

    ``dx, dy, dz``: quantized position change of every baseline id in the range that is still present,
    in ascending id order. ``changes`` (nil when nobody entered or left — the common tick): ``entered``
    ids (ascending) absent from the baseline with absolute quantized ``ex, ey, ez``, and ``removed``
    baseline ids (ascending) that left. A full snapshot is the same thing against an empty baseline
    (everything entered). Build blocks with ``kind_block``, which sets ``changes`` canonically.
    """

    kind: ShortStr
    lo: IdBound
    hi: IdBound
    dx: Column = Column()
    dy: Column = Column()
    dz: Column = Column()
    changes: Membership | None = None

    @property
    def entered(self) -> Column:
        return self.changes.entered if self.changes is not None else EMPTY_COLUMN

    @property
    def ex(self) -> Column:
        return self.changes.ex if self.changes is not None else EMPTY_COLUMN

    @property
    def ey(self) -> Column:
        return self.changes.ey if self.changes is not None else EMPTY_COLUMN

    @property
    def ez(self) -> Column:
        return self.changes.ez if self.changes is not None else EMPTY_COLUMN

    @property
    def removed(self) -> Column:
        return self.changes.removed if self.changes is not None else EMPTY_COLUMN


def kind_block(kind: str, lo: int, hi: int, entered: Column = EMPTY_COLUMN, ex: Column = EMPTY_COLUMN,
               ey: Column = EMPTY_COLUMN, ez: Column = EMPTY_COLUMN, removed: Column = EMPTY_COLUMN,
               dx: Column = EMPTY_COLUMN, dy: Column = EMPTY_COLUMN, dz: Column = EMPTY_COLUMN) -> KindBlock:
    """A ``KindBlock`` in canonical form: ``changes`` is None exactly when no id entered or left."""
    changes = None
    if entered.count or removed.count or ex.count or ey.count or ez.count:
        changes = Membership(entered, ex, ey, ez, removed)
    return KindBlock(kind, lo, hi, dx, dy, dz, changes)


class Snapshot(Message, tag="snap", omit_defaults=True):
    """World state at ``tick``, one part of ``parts``. ``baseline == 0``: full snapshot (no baseline).

    A delta is a Snapshot whose ``baseline`` is a tick the client acknowledged. ``input_ack`` is the last
    input ``seq`` the server has applied for this client. ``time`` is server wall-clock seconds at the tick.
    Fields equal to their default (``part`` 0, ``parts`` 1, empty ``blocks``) are left out on the wire —
    this is the hot message, and readers already fill in missing keys with defaults.
    """

    tick: U63
    baseline: U63
    input_ack: U63
    time: float
    part: PartIndex = 0
    parts: PartCount = 1
    blocks: list[KindBlock] = []


class Event(Message, tag="event"):
    """A typed world event (``kind`` e.g. ``player.joined``) with scalar ``data``."""

    tick: U63
    kind: ShortStr
    entity: U32 = 0
    data: dict[str, Any] = {}


# ---------------------------------------------------------------- RPC
class RpcRequest(Message, tag="rpc"):
    """Call ``method`` with ``params``; the answer is an ``RpcResponse`` with the same ``id``."""

    id: U63
    method: MethodName
    params: Any = None
    deadline_ms: Annotated[int, Meta(ge=1, le=600_000)] = 5000


class RpcResponse(Message, tag="rpc_result"):
    """Answer to ``RpcRequest`` ``id``: ``result`` when ``code == 0``, else an error code and message."""

    id: U63
    result: Any = None
    code: U16 = 0
    message: str = ""


# ---------------------------------------------------------------- control
class Error(Message, tag="error"):
    """A refused message. ``code`` from ``protocol.codes.ErrorCode``; ``ref`` is the offending seq/id if any."""

    code: U16
    message: str
    ref: U63 = 0


class Ping(Message, tag="ping"):
    """Liveness and round-trip probe; answered by ``Pong`` echoing ``nonce`` and ``time``."""

    nonce: U63 = 0
    time: float = 0.0


class Pong(Message, tag="pong"):
    """Answer to ``Ping``: ``nonce`` and ``time`` echoed, ``server_time`` in server wall-clock seconds."""

    nonce: U63 = 0
    time: float = 0.0
    server_time: float = 0.0


class Bye(Message, tag="bye"):
    """Orderly goodbye (either direction) with a close code from ``protocol.codes.CloseCode``."""

    code: U16 = 1000
    reason: str = ""


ClientMessage = Hello | Input | Ack | RpcRequest | RpcResponse | Ping | Bye
"""Everything a client (player, spectator, admin or service) may send."""

ServerMessage = Welcome | Snapshot | Event | RpcRequest | RpcResponse | Error | Pong | Bye
"""Everything the server may send."""

CLIENT_MESSAGE_TYPES: tuple[type[Message], ...] = typing.get_args(ClientMessage)
SERVER_MESSAGE_TYPES: tuple[type[Message], ...] = typing.get_args(ServerMessage)


_META_KEYS = ("ge", "gt", "le", "lt", "min_length", "max_length", "pattern")


def _type_name(tp: Any) -> str:
    """Stable, Python- and msgspec-version-independent spelling of a field type (with its bounds)."""
    origin = typing.get_origin(tp)
    if origin is Annotated:
        inner, *metas = typing.get_args(tp)
        bounds = [f"{key}={getattr(m, key)!r}" for m in metas if isinstance(m, Meta)
                  for key in _META_KEYS if getattr(m, key, None) is not None]
        return _type_name(inner) + ("{" + ",".join(bounds) + "}" if bounds else "")
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return "union[" + ",".join(sorted(_type_name(a) for a in typing.get_args(tp))) + "]"
    if origin is Literal:
        return "literal[" + ",".join(map(str, typing.get_args(tp))) + "]"
    if origin in (list, tuple, dict):
        return origin.__name__ + "[" + ",".join(_type_name(a) for a in typing.get_args(tp)) + "]"
    if tp is Any:
        return "any"
    return getattr(tp, "__name__", str(tp))


def _default_text(field: msgspec.structs.FieldInfo) -> str:
    if field.default is not msgspec.NODEFAULT:
        return "=" + repr(field.default)
    if field.default_factory is not msgspec.NODEFAULT:
        return "=" + repr(field.default_factory())
    return ""


def _schema_text() -> str:
    """Canonical layout: direction, tag field, tag, array-likeness + omit-defaults, and every field's type,
    bounds and default."""
    lines = []
    groups = (("client", CLIENT_MESSAGE_TYPES), ("server", SERVER_MESSAGE_TYPES), ("nested", (Column, Membership, KindBlock)))
    for direction, classes in groups:
        for cls in classes:
            config = cls.__struct_config__
            tag = f"{config.tag_field or ''}={config.tag or ''}"
            hints = typing.get_type_hints(cls, include_extras=True)
            fields = ";".join(f"{f.name}:{_type_name(hints[f.name])}{_default_text(f)}"
                              for f in msgspec.structs.fields(cls))
            flags = f"{int(config.array_like)}{int(config.omit_defaults)}"
            lines.append(f"{direction}|{cls.__name__}|{tag}|{flags}|{fields}")
    return "\n".join(lines)


SCHEMA_HASH: str = hashlib.sha256(_schema_text().encode()).hexdigest()[:16]
"""First 16 hex digits of SHA-256 over the canonical message layout; sent in ``Hello`` and ``Welcome``."""
