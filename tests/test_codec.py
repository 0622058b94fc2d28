"""Codec properties: every message round-trips; no byte string makes a decoder raise anything undocumented.

Strategies are derived from ``msgspec.inspect`` type info, so they honour every ``Meta`` constraint of
``protocol/messages.py`` and pick up new fields and messages without edits here.
"""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol import DecodeError, ErrorCode, decode_client, decode_server, encode
from protocol.messages import CLIENT_MESSAGE_TYPES, SERVER_MESSAGE_TYPES, Message
from protocol.vectors import VECTOR_DIR

INT64_MIN, UINT64_MAX = -(2**63), 2**64 - 1
DOCUMENTED_CODES = (ErrorCode.MALFORMED, ErrorCode.INVALID)
ROUND_TRIP = settings(max_examples=60, deadline=None, database=None,
                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
FUZZ = settings(max_examples=300, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


# ---------------------------------------------------------------- strategies from the schema
def any_value() -> st.SearchStrategy:
    """Values an ``Any`` field round-trips exactly (no NaN: it never equals itself; lists, not tuples)."""
    scalars = (st.none() | st.booleans() | st.integers(INT64_MIN, UINT64_MAX)
               | st.floats(allow_nan=False) | st.text(max_size=20) | st.binary(max_size=20))
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
        max_leaves=12,
    )


def _str_strategy(info: msgspec.inspect.StrType) -> st.SearchStrategy[str]:
    lo, hi = info.min_length or 0, info.max_length
    if info.pattern is not None:
        strat = st.from_regex(info.pattern, fullmatch=True)
    else:
        strat = st.text(min_size=lo, max_size=min(hi if hi is not None else 40, 80))
    if hi is not None and hi <= 80 and info.pattern is None:
        # Reach the exact maximum length too: it is an edge SDKs get wrong (code points, not bytes).
        strat = strat | st.text(min_size=hi, max_size=hi)
    return strat.filter(lambda s: lo <= len(s) and (hi is None or len(s) <= hi))


def strategy_for(info: msgspec.inspect.Type) -> st.SearchStrategy:
    """A strategy producing values that satisfy the msgspec type ``info`` (bounds, lengths, patterns)."""
    mi = msgspec.inspect
    if isinstance(info, mi.IntType):
        lo = info.ge if info.ge is not None else (info.gt + 1 if info.gt is not None else INT64_MIN)
        hi = info.le if info.le is not None else (info.lt - 1 if info.lt is not None else UINT64_MAX)
        return st.integers(lo, hi)
    if isinstance(info, mi.FloatType):
        bounded = info.ge is not None or info.le is not None
        return st.floats(min_value=info.ge, max_value=info.le, allow_nan=False, allow_infinity=not bounded)
    if isinstance(info, mi.StrType):
        return _str_strategy(info)
    if isinstance(info, mi.BytesType):
        return st.binary(max_size=64)
    if isinstance(info, mi.BoolType):
        return st.booleans()
    if isinstance(info, mi.LiteralType):
        return st.sampled_from(info.values)
    if isinstance(info, mi.AnyType):
        return any_value()
    if isinstance(info, mi.ListType):
        return st.lists(strategy_for(info.item_type), min_size=info.min_length or 0,
                        max_size=min(info.max_length if info.max_length is not None else 4, 4))
    if isinstance(info, mi.TupleType):
        return st.tuples(*(strategy_for(t) for t in info.item_types))
    if isinstance(info, mi.DictType):
        return st.dictionaries(strategy_for(info.key_type), strategy_for(info.value_type), max_size=4)
    if isinstance(info, mi.StructType):
        required = {f.name: strategy_for(f.type) for f in info.fields if f.required}
        optional = {f.name: strategy_for(f.type) for f in info.fields if not f.required}
        return st.fixed_dictionaries(required, optional=optional).map(lambda kw: info.cls(**kw))
    if isinstance(info, mi.NoneType):
        return st.none()
    if isinstance(info, mi.UnionType):
        return st.one_of(*(strategy_for(t) for t in info.types))
    raise NotImplementedError(f"no strategy for {info!r}: extend strategy_for for this field type")


def message_strategy(cls: type[Message]) -> st.SearchStrategy[Message]:
    return strategy_for(msgspec.inspect.type_info(cls))


ALL_TYPES = sorted({*CLIENT_MESSAGE_TYPES, *SERVER_MESSAGE_TYPES}, key=lambda c: c.__name__)
ANY_MESSAGE = st.one_of(*(message_strategy(c) for c in ALL_TYPES))
TAGS = sorted({msgspec.inspect.type_info(c).tag for c in ALL_TYPES})
FIELD_NAMES = sorted({f.name for c in ALL_TYPES for f in msgspec.structs.fields(c)})


# ---------------------------------------------------------------- round trip
@pytest.mark.parametrize("cls", CLIENT_MESSAGE_TYPES, ids=lambda c: c.__name__)
@ROUND_TRIP
@given(data=st.data())
def test_client_messages_round_trip(cls: type[Message], data: st.DataObject) -> None:
    message = data.draw(message_strategy(cls))
    decoded = decode_client(encode(message))
    assert type(decoded) is cls
    assert decoded == message


@pytest.mark.parametrize("cls", SERVER_MESSAGE_TYPES, ids=lambda c: c.__name__)
@ROUND_TRIP
@given(data=st.data())
def test_server_messages_round_trip(cls: type[Message], data: st.DataObject) -> None:
    message = data.draw(message_strategy(cls))
    decoded = decode_server(encode(message))
    assert type(decoded) is cls
    assert decoded == message


@pytest.mark.parametrize("cls", [c for c in ALL_TYPES if c not in CLIENT_MESSAGE_TYPES],
                         ids=lambda c: c.__name__)
def test_server_only_messages_are_refused_from_clients(cls: type[Message]) -> None:
    message = next(m for m in _examples(cls))
    with pytest.raises(DecodeError) as info:
        decode_client(encode(message))
    assert info.value.code == ErrorCode.INVALID


def _examples(cls: type[Message]):
    """Messages of ``cls`` taken from the golden vectors (plain, deterministic examples)."""
    tag = msgspec.inspect.type_info(cls).tag
    for path in sorted(VECTOR_DIR.glob("*.msgpack")):
        try:
            message = decode_server(path.read_bytes())
        except DecodeError:
            message = decode_client(path.read_bytes())
        if msgspec.inspect.type_info(type(message)).tag == tag:
            yield message


# ---------------------------------------------------------------- hostile bytes
def assert_decodes_or_documented_error(frame: bytes) -> None:
    """Both decoders either return a message (that re-encodes) or raise DecodeError MALFORMED/INVALID."""
    for decode in (decode_client, decode_server):
        try:
            message = decode(frame)
        except DecodeError as exc:
            assert exc.code in DOCUMENTED_CODES, f"{decode.__name__}: undocumented code {exc.code!r}"
            assert isinstance(exc.message, str) and exc.message
        else:
            assert isinstance(message, Message)
            encode(message)


VALID_FRAMES = sorted(p.read_bytes() for p in VECTOR_DIR.glob("*.msgpack"))


@FUZZ
@given(st.binary(max_size=512))
def test_any_bytes_decode_or_raise_decode_error(frame: bytes) -> None:
    assert_decodes_or_documented_error(frame)


def _mutations(frame: bytes) -> st.SearchStrategy[bytes]:
    n = len(frame)
    at = st.integers(0, max(n - 1, 0))
    return st.one_of(
        st.tuples(at, st.integers(0, 255)).map(lambda a: frame[:a[0]] + bytes([a[1]]) + frame[a[0] + 1:]),
        st.tuples(at, st.integers(0, 7)).map(
            lambda a: frame[:a[0]] + bytes([frame[a[0]] ^ (1 << a[1])]) + frame[a[0] + 1:] if n else frame),
        at.map(lambda i: frame[:i]),
        st.tuples(at, st.binary(min_size=1, max_size=16)).map(lambda a: frame[:a[0]] + a[1] + frame[a[0]:]),
        st.tuples(at, at).map(lambda a: frame[:min(a)] + frame[max(a):]),
        st.binary(max_size=8).map(lambda tail: frame + tail),
    )


@FUZZ
@given(data=st.data())
def test_mutated_valid_frames_decode_or_raise_decode_error(data: st.DataObject) -> None:
    frame = data.draw(st.sampled_from(VALID_FRAMES) | ANY_MESSAGE.map(encode))
    for _ in range(data.draw(st.integers(1, 4))):
        frame = data.draw(_mutations(frame))
    assert_decodes_or_documented_error(frame)


@FUZZ
@given(fields=st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(max_size=6), any_value(), max_size=8),
       tag=st.sampled_from(TAGS) | st.text(max_size=6) | any_value())
def test_maps_with_a_known_tag_and_arbitrary_fields(fields: dict, tag: object) -> None:
    assert_decodes_or_documented_error(msgspec.msgpack.encode({"t": tag, **fields}))


def _nested(depth: int, opener: bytes) -> bytes:
    return opener * depth + b"\xc0"


DEEP = [10, 1_000, 100_000, 1_000_000]


@pytest.mark.parametrize("depth", DEEP)
@pytest.mark.parametrize("opener", [b"\x91", b"\x81\xa1k", b"\xdd\x00\x00\x00\x01"], ids=["array", "map", "array32"])
@pytest.mark.parametrize("wrap", ["top", "rpc_params", "event_data", "snapshot_blocks"])
def test_deeply_nested_values(depth: int, opener: bytes, wrap: str) -> None:
    deep = _nested(depth, opener)
    frame = {
        "top": deep,
        "rpc_params": b"\x84\xa1t\xa3rpc\xa2id\x01\xa6method\xa9room.info\xa6params" + deep,
        "event_data": b"\x84\xa1t\xa5event\xa4tick\x01\xa4kind\xa1x\xa4data\x81\xa1k" + deep,
        "snapshot_blocks": b"\x85\xa1t\xa4snap\xa4tick\x01\xa8baseline\x00\xa9input_ack\x00\xa6blocks" + deep,
    }[wrap]
    assert_decodes_or_documented_error(frame)


@FUZZ
@given(depth=st.integers(1, 5_000), opener=st.sampled_from([b"\x91", b"\x81\xa1k", b"\x92\xc0"]))
def test_nesting_of_any_depth_inside_rpc_params(depth: int, opener: bytes) -> None:
    frame = b"\x84\xa1t\xa3rpc\xa2id\x01\xa6method\xa9room.info\xa6params" + _nested(depth, opener)
    assert_decodes_or_documented_error(frame)


@pytest.mark.parametrize("frame", [
    b"",
    b"\xc1",  # never-used opcode
    b"\x81\xa1t\xa3ack",  # required field missing
    b"\x82\xa1t\xa3ack\xa4tick\x01\x00",  # trailing byte
    b"\x82\xa1t\xa3ack\xa4tick",  # truncated
    b"\x82\xa1t\xa3ack\xa4tick\xcb\x7f\xf8\x00\x00\x00\x00\x00\x00",  # NaN where an int is expected
    b"\x83\xa1t\xa5input\xa3seq\x01\xa4tick\x01\xa4move",  # truncated value
    b"\x84\xa1t\xa5input\xa3seq\x01\xa4tick\x01\xa4move\x92\xcb\x7f\xf8\x00\x00\x00\x00\x00\x00\x00",  # NaN axis
    b"\x84\xa1t\xa5hello\xa8protocol\x01\xa6schema\xa2\xff\xfe\xa6client\xa0",  # invalid UTF-8 value
    b"\x82\xa2\xff\xfe\xa3ack\xa4tick\x01",  # invalid UTF-8 key
    b"\x82\xa1t\xa3ack\xa4tick\xcf\xff\xff\xff\xff\xff\xff\xff\xff",  # uint64 max beyond U63
    b"\x82\xa1t\xa3ack\xa4tick\xd4\x01\x00",  # ext where an int is expected
    b"\xdf\xff\xff\xff\xff",  # map32 claiming 4 billion entries
    b"\xdd\xff\xff\xff\xff",  # array32 claiming 4 billion items
    b"\xc6\xff\xff\xff\xff\x00",  # bin32 claiming 4 GiB
    b"\x86\xa1t\xa4snap\xa4tick\x01\xa8baseline\x00\xa9input_ack\x00\xa4time\xcb" + bytes(8)
    + b"\xa6blocks\x91\x94\xa1n\x00\x01",  # KindBlock claiming 4 elements, frame ends after 3
], ids=lambda f: f.hex()[:24] or "empty")
def test_hostile_frames(frame: bytes) -> None:
    assert_decodes_or_documented_error(frame)
    with pytest.raises(DecodeError):
        decode_server(frame)


def test_validation_errors_name_the_path() -> None:
    frame = msgspec.msgpack.encode({"t": "input", "seq": 1, "tick": 1, "move": [2.0, 0.0]})
    with pytest.raises(DecodeError) as info:
        decode_client(frame)
    assert info.value.code == ErrorCode.INVALID
    assert info.value.message == "Expected `float` <= 1.0 - at `$.move[0]`"


def test_not_msgpack_is_malformed() -> None:
    with pytest.raises(DecodeError) as info:
        decode_client(b"\xc1")
    assert info.value.code == ErrorCode.MALFORMED
