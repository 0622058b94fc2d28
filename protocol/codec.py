"""Encode/decode wire frames. Any exception while decoding untrusted bytes becomes ``DecodeError``."""

from __future__ import annotations

import msgspec

from .codes import ErrorCode
from .errors import DecodeError
from .messages import ClientMessage, Message, ServerMessage

_encoder = msgspec.msgpack.Encoder()
_client_decoder = msgspec.msgpack.Decoder(ClientMessage)
_server_decoder = msgspec.msgpack.Decoder(ServerMessage)


def encode(message: Message) -> bytes:
    """Serialize one message to a MessagePack frame."""
    return _encoder.encode(message)


def _decode(decoder: msgspec.msgpack.Decoder, data: bytes) -> Message:
    try:
        return decoder.decode(data)
    except msgspec.ValidationError as exc:
        raise DecodeError(ErrorCode.INVALID, str(exc)) from None
    except msgspec.DecodeError as exc:
        raise DecodeError(ErrorCode.MALFORMED, str(exc)) from None
    except Exception as exc:  # hostile input (deep nesting, bad UTF-8, huge ints) may raise anything
        raise DecodeError(ErrorCode.MALFORMED, f"undecodable frame ({type(exc).__name__})") from None


def decode_client(data: bytes) -> Message:
    """Decode a frame sent by a client. Raises ``DecodeError``."""
    return _decode(_client_decoder, data)


def decode_server(data: bytes) -> Message:
    """Decode a frame sent by the server. Raises ``DecodeError``."""
    return _decode(_server_decoder, data)
