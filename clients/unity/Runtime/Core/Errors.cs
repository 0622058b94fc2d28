// Typed errors of the Worldloom SDK: one root (WorldloomException), small data-carrying subclasses.
using System;

namespace Worldloom
{
    /// <summary>Root of every error the Worldloom SDK raises.</summary>
    public class WorldloomException : Exception
    {
        public WorldloomException(string message) : base(message) { }
        public WorldloomException(string message, Exception inner) : base(message, inner) { }
    }

    /// <summary>
    /// A frame that is not one well-formed MessagePack value (Code = MALFORMED) or not a valid message
    /// (Code = INVALID). Detail says what, Path where (e.g. <c>$.blocks[0][3]</c>).
    /// </summary>
    public sealed class ProtocolDecodeException : WorldloomException
    {
        public readonly int Code;
        public readonly string Detail;
        public readonly string Path;

        public ProtocolDecodeException(int code, string detail, string path = "$")
            : base(detail + " - at `" + path + "`")
        {
            Code = code;
            Detail = detail;
            Path = path;
        }

        /// <summary>Malformed MessagePack (truncated, bad UTF-8, reserved byte, too deep, trailing bytes).</summary>
        public static ProtocolDecodeException Malformed(string detail)
        {
            return new ProtocolDecodeException((int)Protocol.ErrorCode.Malformed, detail);
        }

        /// <summary>Well-formed MessagePack that does not match the message schema.</summary>
        public static ProtocolDecodeException Invalid(string detail)
        {
            return new ProtocolDecodeException((int)Protocol.ErrorCode.Invalid, detail);
        }

        /// <summary>The same error one level deeper: <paramref name="segment"/> is ".field" or "[i]".</summary>
        public ProtocolDecodeException Under(string segment)
        {
            return new ProtocolDecodeException(Code, Detail, "$" + segment + Path.Substring(1));
        }
    }

    /// <summary>A snapshot that cannot be applied (bad column, unknown baseline, ranges, counts).</summary>
    public sealed class SnapshotException : WorldloomException
    {
        public SnapshotException(string message) : base(message) { }
    }

    /// <summary>The server refused the handshake (Error code and message, WebSocket close code).</summary>
    public sealed class HandshakeRefusedException : WorldloomException
    {
        public readonly int Code;
        public readonly string ServerMessage;
        public readonly int? CloseCode;

        public HandshakeRefusedException(int code, string serverMessage, int? closeCode, string clientSide)
            : base("handshake refused (error " + code + ", close " + (closeCode.HasValue ? closeCode.ToString() : "none")
                   + "): " + serverMessage + " [this SDK: " + clientSide + "]")
        {
            Code = code;
            ServerMessage = serverMessage;
            CloseCode = closeCode;
        }
    }

    /// <summary>The WebSocket could not be opened or no Welcome arrived in time.</summary>
    public sealed class ConnectFailedException : WorldloomException
    {
        public ConnectFailedException(string message, Exception inner = null) : base(message, inner) { }
    }

    /// <summary>The client is closed for good (own close, a close code that forbids retrying, or retries exhausted).</summary>
    public sealed class ConnectionLostException : WorldloomException
    {
        public readonly int? CloseCode;

        public ConnectionLostException(string message, int? closeCode)
            : base(message + (closeCode.HasValue ? " (close code " + closeCode + ")" : ""))
        {
            CloseCode = closeCode;
        }
    }

    /// <summary>An RPC answered with an error code, or not answered before its timeout (RPC_TIMEOUT).</summary>
    public sealed class RpcException : WorldloomException
    {
        public readonly int Code;
        public readonly string Method;

        public RpcException(string method, int code, string message)
            : base(method + ": " + (Enum.IsDefined(typeof(Protocol.ErrorCode), code) ? ((Protocol.ErrorCode)code).ToString() : "error " + code)
                   + (string.IsNullOrEmpty(message) ? "" : ": " + message))
        {
            Method = method;
            Code = code;
        }
    }
}
