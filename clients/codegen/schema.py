"""Language-neutral description of the wire protocol, read from ``protocol.messages`` and ``protocol.codes``.

Why: every SDK's message types are generated from the Python schema so they cannot drift. Backends
(``backends/<lang>.py``) receive this plain model (dicts, lists, strings, numbers) and never touch msgspec.

Model (``load_schema()``)::

    {"protocol_version": 1, "schema_hash": "…", "max_frame_bytes": 60000, "position_quantum": 0.015625,
     "tag_field": "t",
     "messages": [{"name": "Hello", "tag": "hello", "directions": ["client"], "array_like": False,
                   "omit_defaults": False, "doc": "…",
                   "fields": [{"name": "protocol", "type": {...}, "default": 0 | None, "required": True}]}],
     "structs":  [... same shape for Column, Membership, KindBlock (array_like: True, tag None) ...],
     "error_codes": {"MALFORMED": 1, ...}, "close_codes": {"NORMAL": 1000, ...}}

A type is ``{"kind": K, ...}`` with K one of ``int`` (``ge``/``le``), ``float`` (``ge``/``le``), ``bool``,
``str`` (``max_length``/``min_length``/``pattern``), ``bytes``, ``any``, ``literal`` (``values``),
``list`` (``item``, ``max_length``), ``tuple`` (``items``), ``dict`` (``key``, ``value``),
``struct`` (``name``), ``optional`` (``item``: the struct or value that may be nil).
"""

from __future__ import annotations

import json
import types
import typing
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from protocol import codes, messages

_BOUND_KEYS = ("ge", "gt", "le", "lt", "min_length", "max_length", "pattern")


def _type(tp: Any) -> dict[str, Any]:
    origin = typing.get_origin(tp)
    if origin is Annotated:
        inner, *metas = typing.get_args(tp)
        out = _type(inner)
        for meta in metas:
            if isinstance(meta, Meta):
                for key in _BOUND_KEYS:
                    value = getattr(meta, key, None)
                    if value is not None:
                        out[key] = value
        return out
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) != 1:
            raise TypeError(f"unsupported union {tp!r}: only X | None is used on the wire")
        return {"kind": "optional", "item": _type(args[0])}
    if origin is Literal:
        return {"kind": "literal", "values": list(typing.get_args(tp))}
    if origin is list:
        return {"kind": "list", "item": _type(typing.get_args(tp)[0])}
    if origin is tuple:
        return {"kind": "tuple", "items": [_type(a) for a in typing.get_args(tp)]}
    if origin is dict:
        key, value = typing.get_args(tp)
        return {"kind": "dict", "key": _type(key), "value": _type(value)}
    if tp is Any:
        return {"kind": "any"}
    if isinstance(tp, type) and issubclass(tp, msgspec.Struct):
        return {"kind": "struct", "name": tp.__name__}
    simple = {int: "int", float: "float", bool: "bool", str: "str", bytes: "bytes"}
    if tp in simple:
        return {"kind": simple[tp]}
    raise TypeError(f"unsupported field type {tp!r}")


def _plain(value: Any) -> Any:
    """A default as plain data (structs become ``{"struct": name}``, bytes ``{"bytes": hex}``, tuples lists)."""
    if isinstance(value, msgspec.Struct):
        return {"struct": type(value).__name__}
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, bytes):
        return {"bytes": value.hex()}
    return value


def _describe(cls: type[msgspec.Struct], directions: list[str]) -> dict[str, Any]:
    config = cls.__struct_config__
    hints = typing.get_type_hints(cls, include_extras=True)
    fields = []
    for f in msgspec.structs.fields(cls):
        if f.default is not msgspec.NODEFAULT:
            default, required = _plain(f.default), False
        elif f.default_factory is not msgspec.NODEFAULT:
            default, required = _plain(f.default_factory()), False
        else:
            default, required = None, True
        fields.append({"name": f.name, "type": _type(hints[f.name]), "default": default, "required": required})
    return {"name": cls.__name__, "tag": config.tag, "directions": directions,
            "array_like": bool(config.array_like), "omit_defaults": bool(config.omit_defaults),
            "doc": (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else "", "fields": fields}


def load_schema() -> dict[str, Any]:
    """The protocol as plain data (see the module docstring for the shape)."""
    order: list[type[msgspec.Struct]] = []
    directions: dict[type[msgspec.Struct], list[str]] = {}
    for direction, classes in (("client", messages.CLIENT_MESSAGE_TYPES), ("server", messages.SERVER_MESSAGE_TYPES)):
        for cls in classes:
            if cls not in directions:
                order.append(cls)
                directions[cls] = []
            directions[cls].append(direction)
    return {
        "protocol_version": messages.PROTOCOL_VERSION,
        "schema_hash": messages.SCHEMA_HASH,
        "max_frame_bytes": messages.MAX_FRAME_BYTES,
        "position_quantum": messages.POSITION_QUANTUM,
        "tag_field": "t",
        "messages": [_describe(cls, directions[cls]) for cls in order],
        "structs": [_describe(cls, []) for cls in (messages.Column, messages.Membership, messages.KindBlock)],
        "error_codes": {c.name: int(c) for c in codes.ErrorCode},
        "close_codes": {c.name: int(c) for c in codes.CloseCode},
    }


if __name__ == "__main__":
    print(json.dumps(load_schema(), indent=2))
