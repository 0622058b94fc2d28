"""Worldloom wire protocol: messages, codec, snapshot encoding and a sans-I/O session. No I/O here."""

from .codec import decode_client, decode_server, encode
from .codes import CloseCode, ErrorCode
from .errors import DecodeError, ProtocolError, SessionClosed, SnapshotError
from .messages import (
    MAX_FRAME_BYTES,
    POSITION_QUANTUM,
    PROTOCOL_VERSION,
    SCHEMA_HASH,
    Ack,
    Bye,
    ClientMessage,
    Column,
    Error,
    Event,
    Hello,
    Input,
    KindBlock,
    Membership,
    Ping,
    Pong,
    RpcRequest,
    RpcResponse,
    ServerMessage,
    Snapshot,
    Welcome,
    kind_block,
)

__all__ = [
    "MAX_FRAME_BYTES", "POSITION_QUANTUM", "PROTOCOL_VERSION", "SCHEMA_HASH",
    "Ack", "Bye", "ClientMessage", "CloseCode", "Column", "DecodeError", "Error", "ErrorCode", "Event",
    "Hello", "Input", "KindBlock", "Membership", "Ping", "Pong", "ProtocolError", "RpcRequest", "RpcResponse",
    "ServerMessage", "SessionClosed", "Snapshot", "SnapshotError", "Welcome",
    "decode_client", "decode_server", "encode", "kind_block",
]
