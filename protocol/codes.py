"""Every error code and close code of the protocol, in one place (mirrored in docs/protocol.md).

``ErrorCode`` travels in ``Error.code`` / ``RpcResponse.code``; the connection stays open.
``CloseCode`` is the websocket close code (and ``Bye.code``) when the server ends a connection.
"""

from __future__ import annotations

from enum import IntEnum


class ErrorCode(IntEnum):
    MALFORMED = 1  # frame is not MessagePack (or is a text frame, or cannot be decoded at all)
    INVALID = 2  # valid MessagePack but not a valid message: unknown tag, wrong type, out of range (names the path)
    UNEXPECTED = 3  # message not allowed in this session state (e.g. Input before Hello)
    UNAUTHORIZED = 4  # token missing, forged or expired; or role not allowed to do this
    VERSION_MISMATCH = 5  # Hello.protocol differs from the server's PROTOCOL_VERSION
    SCHEMA_MISMATCH = 6  # Hello.schema differs from the server's SCHEMA_HASH
    RATE_LIMITED = 7  # message dropped: over the per-client message rate
    RESUME_FAILED = 8  # resume token unknown, expired or for another player
    NO_SUCH_METHOD = 9  # RPC method has no live provider
    RPC_TIMEOUT = 10  # RPC provider did not answer before the deadline
    RPC_FAILED = 11  # RPC provider answered with an error or went away
    SERVER_FULL = 12  # no room for another client
    INTERNAL = 13  # server-side failure (details are logged, never sent)
    SHUTTING_DOWN = 14  # reserved: shutdown is announced with Bye(1001), not this error
    QUEUE_FULL = 15  # input dropped: this client's input queue is full


class CloseCode(IntEnum):
    NORMAL = 1000  # orderly close after Bye
    GOING_AWAY = 1001  # server shutting down
    MESSAGE_TOO_BIG = 1009  # frame larger than the server's limit
    PROTOCOL_VIOLATION = 4000  # first message was not a valid Hello
    UNAUTHORIZED = 4001  # bad token at handshake
    VERSION_MISMATCH = 4002  # protocol version or schema hash differs
    RATE_LIMIT = 4003  # sustained message flood
    TOO_MANY_ERRORS = 4004  # repeated invalid messages
    REPLACED = 4005  # the session was resumed on another connection
    HANDSHAKE_TIMEOUT = 4006  # no Hello in time
    SERVER_FULL = 4007  # no capacity for another client
