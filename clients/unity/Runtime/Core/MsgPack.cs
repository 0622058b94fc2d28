// MessagePack writer and reader for the subset the Worldloom protocol uses.
//
// Why hand-written: the SDK must not depend on anything Unity does not ship, and the protocol needs only
// nil, bool, integers up to 64 bits, float 32/64, str, bin, array and map (never ext). The writer always
// picks the smallest integer/str/bin/array/map format and writes floats as float 64, which is what the
// reference encoder does, so encoded frames match the golden vectors byte for byte. The reader accepts
// every width, treats truncation, invalid UTF-8, reserved bytes, ext types and nesting deeper than
// MaxDepth as MALFORMED, and wrong types as INVALID.
using System;
using System.Collections;
using System.Collections.Generic;
using System.Text;

namespace Worldloom
{
    /// <summary>Appends MessagePack values to a growable byte buffer.</summary>
    public sealed class MsgPackWriter
    {
        private static readonly UTF8Encoding Utf8 = new UTF8Encoding(false, true);
        private byte[] _buf;
        private int _len;

        public MsgPackWriter(int capacity = 256)
        {
            _buf = new byte[Math.Max(16, capacity)];
        }

        /// <summary>Bytes written so far.</summary>
        public int Length { get { return _len; } }

        /// <summary>A copy of the bytes written.</summary>
        public byte[] ToArray()
        {
            var copy = new byte[_len];
            Buffer.BlockCopy(_buf, 0, copy, 0, _len);
            return copy;
        }

        /// <summary>Forget everything written (keeps the buffer).</summary>
        public void Clear() { _len = 0; }

        private void Ensure(int extra)
        {
            if (_len + extra <= _buf.Length) return;
            var bigger = new byte[Math.Max(_buf.Length * 2, _len + extra)];
            Buffer.BlockCopy(_buf, 0, bigger, 0, _len);
            _buf = bigger;
        }

        private void Byte(byte b) { Ensure(1); _buf[_len++] = b; }

        private void BigEndian(ulong v, int bytes)
        {
            Ensure(bytes);
            for (int i = bytes - 1; i >= 0; i--) _buf[_len++] = (byte)(v >> (8 * i));
        }

        public void WriteNil() { Byte(0xc0); }

        public void WriteBool(bool v) { Byte(v ? (byte)0xc3 : (byte)0xc2); }

        /// <summary>A signed integer in the smallest format (non-negative values use the unsigned formats).</summary>
        public void WriteInt(long v)
        {
            if (v >= 0) { WriteUInt((ulong)v); return; }
            if (v >= -32) { Byte((byte)(sbyte)v); return; }
            if (v >= sbyte.MinValue) { Byte(0xd0); BigEndian((ulong)v, 1); return; }
            if (v >= short.MinValue) { Byte(0xd1); BigEndian((ulong)v, 2); return; }
            if (v >= int.MinValue) { Byte(0xd2); BigEndian((ulong)v, 4); return; }
            Byte(0xd3); BigEndian((ulong)v, 8);
        }

        public void WriteUInt(ulong v)
        {
            if (v <= 0x7f) { Byte((byte)v); return; }
            if (v <= 0xff) { Byte(0xcc); BigEndian(v, 1); return; }
            if (v <= 0xffff) { Byte(0xcd); BigEndian(v, 2); return; }
            if (v <= 0xffffffff) { Byte(0xce); BigEndian(v, 4); return; }
            Byte(0xcf); BigEndian(v, 8);
        }

        /// <summary>Always float 64 (0xcb), as the reference encoder writes every float.</summary>
        public void WriteDouble(double v)
        {
            Byte(0xcb);
            BigEndian((ulong)BitConverter.DoubleToInt64Bits(v), 8);
        }

        public void WriteString(string s)
        {
            int n = Utf8.GetByteCount(s);
            if (n <= 31) Byte((byte)(0xa0 | n));
            else if (n <= 0xff) { Byte(0xd9); BigEndian((ulong)n, 1); }
            else if (n <= 0xffff) { Byte(0xda); BigEndian((ulong)n, 2); }
            else { Byte(0xdb); BigEndian((ulong)n, 4); }
            Ensure(n);
            _len += Utf8.GetBytes(s, 0, s.Length, _buf, _len);
        }

        public void WriteBin(byte[] data)
        {
            int n = data.Length;
            if (n <= 0xff) { Byte(0xc4); BigEndian((ulong)n, 1); }
            else if (n <= 0xffff) { Byte(0xc5); BigEndian((ulong)n, 2); }
            else { Byte(0xc6); BigEndian((ulong)n, 4); }
            Ensure(n);
            Buffer.BlockCopy(data, 0, _buf, _len, n);
            _len += n;
        }

        public void WriteArrayHeader(int n)
        {
            if (n <= 15) Byte((byte)(0x90 | n));
            else if (n <= 0xffff) { Byte(0xdc); BigEndian((ulong)n, 2); }
            else { Byte(0xdd); BigEndian((ulong)n, 4); }
        }

        public void WriteMapHeader(int n)
        {
            if (n <= 15) Byte((byte)(0x80 | n));
            else if (n <= 0xffff) { Byte(0xde); BigEndian((ulong)n, 2); }
            else { Byte(0xdf); BigEndian((ulong)n, 4); }
        }

        /// <summary>
        /// A value of protocol type <c>any</c>: null, bool, integers (long, ulong, int, ...), float/double,
        /// string, byte[], IDictionary (maps) and IList/IEnumerable (arrays).
        /// </summary>
        /// <exception cref="ArgumentException">a value of another type (nothing is written for it).</exception>
        public void WriteAny(object value, int depth = 0)
        {
            if (depth > MsgPackReader.MaxDepth) throw new ArgumentException("value nested too deeply for MessagePack");
            if (value == null) { WriteNil(); return; }
            if (value is bool) { WriteBool((bool)value); return; }
            if (value is long) { WriteInt((long)value); return; }
            if (value is int) { WriteInt((int)value); return; }
            if (value is short) { WriteInt((short)value); return; }
            if (value is sbyte) { WriteInt((sbyte)value); return; }
            if (value is ulong) { WriteUInt((ulong)value); return; }
            if (value is uint) { WriteUInt((uint)value); return; }
            if (value is ushort) { WriteUInt((ushort)value); return; }
            if (value is byte) { WriteUInt((byte)value); return; }
            if (value is double) { WriteDouble((double)value); return; }
            if (value is float) { WriteDouble((float)value); return; }
            var str = value as string;
            if (str != null) { WriteString(str); return; }
            var bytes = value as byte[];
            if (bytes != null) { WriteBin(bytes); return; }
            var map = value as IDictionary;
            if (map != null)
            {
                WriteMapHeader(map.Count);
                foreach (DictionaryEntry entry in map)
                {
                    WriteAny(entry.Key, depth + 1);
                    WriteAny(entry.Value, depth + 1);
                }
                return;
            }
            var list = value as ICollection;
            if (list != null)
            {
                WriteArrayHeader(list.Count);
                foreach (var item in list) WriteAny(item, depth + 1);
                return;
            }
            throw new ArgumentException("cannot encode a " + value.GetType().Name + " as MessagePack");
        }
    }

    /// <summary>The MessagePack type family of the next value.</summary>
    public enum MsgPackKind { Nil, Bool, Int, Float, Str, Bin, Array, Map, Ext }

    /// <summary>Reads MessagePack values from a byte array, front to back.</summary>
    public sealed class MsgPackReader
    {
        /// <summary>Deepest nesting accepted inside <c>any</c> values (deeper is MALFORMED).</summary>
        public const int MaxDepth = 64;

        private static readonly UTF8Encoding Utf8 = new UTF8Encoding(false, true);
        private readonly byte[] _data;
        private readonly int _end;
        private int _pos;

        public MsgPackReader(byte[] data) : this(data, 0, data.Length) { }

        public MsgPackReader(byte[] data, int offset, int count)
        {
            _data = data;
            _pos = offset;
            _end = offset + count;
        }

        /// <summary>Byte offset of the next value.</summary>
        public int Position { get { return _pos; } set { _pos = value; } }

        public bool AtEnd { get { return _pos >= _end; } }

        private void Need(int n)
        {
            if (n < 0 || _end - _pos < n) throw ProtocolDecodeException.Malformed("truncated MessagePack data");
        }

        private byte Next() { Need(1); return _data[_pos++]; }

        private ulong BigEndian(int bytes)
        {
            Need(bytes);
            ulong v = 0;
            for (int i = 0; i < bytes; i++) v = (v << 8) | _data[_pos++];
            return v;
        }

        /// <summary>What the next value is (without consuming it).</summary>
        public MsgPackKind PeekKind()
        {
            Need(1);
            byte b = _data[_pos];
            if (b <= 0x7f || b >= 0xe0) return MsgPackKind.Int;
            if (b <= 0x8f) return MsgPackKind.Map;
            if (b <= 0x9f) return MsgPackKind.Array;
            if (b <= 0xbf) return MsgPackKind.Str;
            switch (b)
            {
                case 0xc0: return MsgPackKind.Nil;
                case 0xc2: case 0xc3: return MsgPackKind.Bool;
                case 0xc4: case 0xc5: case 0xc6: return MsgPackKind.Bin;
                case 0xca: case 0xcb: return MsgPackKind.Float;
                case 0xd9: case 0xda: case 0xdb: return MsgPackKind.Str;
                case 0xdc: case 0xdd: return MsgPackKind.Array;
                case 0xde: case 0xdf: return MsgPackKind.Map;
                case 0xc1: throw ProtocolDecodeException.Malformed("reserved MessagePack byte 0xc1");
            }
            if (b >= 0xcc && b <= 0xd3) return MsgPackKind.Int;
            return MsgPackKind.Ext;
        }

        private static string Name(MsgPackKind kind)
        {
            switch (kind)
            {
                case MsgPackKind.Nil: return "null";
                case MsgPackKind.Bool: return "bool";
                case MsgPackKind.Int: return "int";
                case MsgPackKind.Float: return "float";
                case MsgPackKind.Str: return "str";
                case MsgPackKind.Bin: return "bytes";
                case MsgPackKind.Array: return "array";
                case MsgPackKind.Map: return "object";
                default: return "ext";
            }
        }

        private ProtocolDecodeException Expected(string what)
        {
            MsgPackKind got = PeekKind();
            if (got == MsgPackKind.Ext) return ProtocolDecodeException.Malformed("MessagePack ext types are not used");
            return ProtocolDecodeException.Invalid("Expected `" + what + "`, got `" + Name(got) + "`");
        }

        /// <summary>Consumes a nil and returns true, or returns false leaving the value in place.</summary>
        public bool TryReadNil()
        {
            Need(1);
            if (_data[_pos] != 0xc0) return false;
            _pos++;
            return true;
        }

        public bool ReadBool()
        {
            Need(1);
            byte b = _data[_pos];
            if (b == 0xc2 || b == 0xc3) { _pos++; return b == 0xc3; }
            throw Expected("bool");
        }

        /// <summary>Any integer format as (negative?, magnitude bits): unsigned value or two's complement.</summary>
        private bool ReadIntegerRaw(out ulong raw)
        {
            Need(1);
            byte b = _data[_pos];
            if (b <= 0x7f) { _pos++; raw = b; return false; }
            if (b >= 0xe0) { _pos++; raw = (ulong)(long)(sbyte)b; return true; }
            switch (b)
            {
                case 0xcc: _pos++; raw = BigEndian(1); return false;
                case 0xcd: _pos++; raw = BigEndian(2); return false;
                case 0xce: _pos++; raw = BigEndian(4); return false;
                case 0xcf: _pos++; raw = BigEndian(8); return false;
                case 0xd0: _pos++; raw = (ulong)(long)(sbyte)BigEndian(1); return (long)raw < 0;
                case 0xd1: _pos++; raw = (ulong)(long)(short)BigEndian(2); return (long)raw < 0;
                case 0xd2: _pos++; raw = (ulong)(long)(int)BigEndian(4); return (long)raw < 0;
                case 0xd3: _pos++; raw = BigEndian(8); return (long)raw < 0;
            }
            throw Expected("int");
        }

        /// <summary>An integer of any width that fits a signed 64-bit value (larger uint 64 is INVALID).</summary>
        public long ReadInt64()
        {
            ulong raw;
            bool negative = ReadIntegerRaw(out raw);
            if (!negative && raw > long.MaxValue)
                throw ProtocolDecodeException.Invalid("Expected `int` <= 9223372036854775807");
            return (long)raw;
        }

        /// <summary>float 64, float 32, or an integer (as the spec lets readers accept), as a double.</summary>
        public double ReadDouble()
        {
            Need(1);
            byte b = _data[_pos];
            if (b == 0xcb) { _pos++; return BitConverter.Int64BitsToDouble((long)BigEndian(8)); }
            if (b == 0xca)
            {
                _pos++;
                var four = BitConverter.GetBytes((uint)BigEndian(4));
                return BitConverter.ToSingle(four, 0);
            }
            if (PeekKind() == MsgPackKind.Int)
            {
                ulong raw;
                return ReadIntegerRaw(out raw) ? (double)(long)raw : (double)raw;
            }
            throw Expected("float");
        }

        private int Length(int bytes)
        {
            ulong n = BigEndian(bytes);
            if (n > int.MaxValue) throw ProtocolDecodeException.Malformed("MessagePack length too large");
            return (int)n;
        }

        public string ReadString()
        {
            Need(1);
            byte b = _data[_pos];
            int n;
            if (b >= 0xa0 && b <= 0xbf) { _pos++; n = b & 0x1f; }
            else if (b == 0xd9) { _pos++; n = Length(1); }
            else if (b == 0xda) { _pos++; n = Length(2); }
            else if (b == 0xdb) { _pos++; n = Length(4); }
            else throw Expected("str");
            Need(n);
            string s;
            try { s = Utf8.GetString(_data, _pos, n); }
            catch (ArgumentException) { throw ProtocolDecodeException.Malformed("invalid UTF-8 in a str"); }
            _pos += n;
            return s;
        }

        public byte[] ReadBin()
        {
            Need(1);
            byte b = _data[_pos];
            int n;
            if (b == 0xc4) { _pos++; n = Length(1); }
            else if (b == 0xc5) { _pos++; n = Length(2); }
            else if (b == 0xc6) { _pos++; n = Length(4); }
            else throw Expected("bytes");
            Need(n);
            var copy = new byte[n];
            Buffer.BlockCopy(_data, _pos, copy, 0, n);
            _pos += n;
            return copy;
        }

        public int ReadArrayHeader()
        {
            Need(1);
            byte b = _data[_pos];
            if (b >= 0x90 && b <= 0x9f) { _pos++; return b & 0x0f; }
            if (b == 0xdc) { _pos++; return Length(2); }
            if (b == 0xdd) { _pos++; return Length(4); }
            throw Expected("array");
        }

        public int ReadMapHeader()
        {
            Need(1);
            byte b = _data[_pos];
            if (b >= 0x80 && b <= 0x8f) { _pos++; return b & 0x0f; }
            if (b == 0xde) { _pos++; return Length(2); }
            if (b == 0xdf) { _pos++; return Length(4); }
            throw Expected("object");
        }

        /// <summary>Skip one value of any type (MALFORMED when truncated, an ext, or nested too deeply).</summary>
        public void Skip(int depth = 0)
        {
            if (depth > MaxDepth) throw ProtocolDecodeException.Malformed("MessagePack nested too deeply");
            switch (PeekKind())
            {
                case MsgPackKind.Nil: _pos++; return;
                case MsgPackKind.Bool: _pos++; return;
                case MsgPackKind.Int: { ulong raw; ReadIntegerRaw(out raw); return; }
                case MsgPackKind.Float: ReadDouble(); return;
                case MsgPackKind.Str: SkipBytes(StrOrBinLength()); return;
                case MsgPackKind.Bin: SkipBytes(StrOrBinLength()); return;
                case MsgPackKind.Array:
                    {
                        int n = ReadArrayHeader();
                        for (int i = 0; i < n; i++) Skip(depth + 1);
                        return;
                    }
                case MsgPackKind.Map:
                    {
                        int n = ReadMapHeader();
                        for (int i = 0; i < n; i++) { Skip(depth + 1); Skip(depth + 1); }
                        return;
                    }
            }
            throw ProtocolDecodeException.Malformed("MessagePack ext types are not used");
        }

        private int StrOrBinLength()
        {
            byte b = Next();
            if (b >= 0xa0 && b <= 0xbf) return b & 0x1f;
            switch (b)
            {
                case 0xd9: case 0xc4: return Length(1);
                case 0xda: case 0xc5: return Length(2);
                default: return Length(4);
            }
        }

        private void SkipBytes(int n) { Need(n); _pos += n; }

        /// <summary>
        /// A value of protocol type <c>any</c>: null, bool, long (or ulong above 2^63-1), double, string,
        /// byte[], List&lt;object&gt;, and Dictionary&lt;string, object&gt; (Dictionary&lt;object, object&gt;
        /// when a key is not a string).
        /// </summary>
        public object ReadAny(int depth = 0)
        {
            if (depth > MaxDepth) throw ProtocolDecodeException.Malformed("MessagePack nested too deeply");
            switch (PeekKind())
            {
                case MsgPackKind.Nil: _pos++; return null;
                case MsgPackKind.Bool: return ReadBool();
                case MsgPackKind.Int:
                    {
                        ulong raw;
                        bool negative = ReadIntegerRaw(out raw);
                        if (!negative && raw > long.MaxValue) return raw;
                        return (long)raw;
                    }
                case MsgPackKind.Float: return ReadDouble();
                case MsgPackKind.Str: return ReadString();
                case MsgPackKind.Bin: return ReadBin();
                case MsgPackKind.Array:
                    {
                        int n = ReadArrayHeader();
                        var list = new List<object>(Math.Min(n, 1024));
                        for (int i = 0; i < n; i++) list.Add(ReadAny(depth + 1));
                        return list;
                    }
                case MsgPackKind.Map:
                    {
                        int n = ReadMapHeader();
                        var keys = new List<object>(Math.Min(n, 1024));
                        var values = new List<object>(Math.Min(n, 1024));
                        bool allStrings = true;
                        for (int i = 0; i < n; i++)
                        {
                            object key = ReadAny(depth + 1);
                            if (key == null || key is List<object> || key is IDictionary)
                                throw ProtocolDecodeException.Invalid("map keys must be scalars");
                            allStrings &= key is string;
                            keys.Add(key);
                            values.Add(ReadAny(depth + 1));
                        }
                        if (allStrings)
                        {
                            var map = new Dictionary<string, object>(n);
                            for (int i = 0; i < n; i++) map[(string)keys[i]] = values[i];
                            return map;
                        }
                        var general = new Dictionary<object, object>(n);
                        for (int i = 0; i < n; i++) general[keys[i]] = values[i];
                        return general;
                    }
            }
            throw ProtocolDecodeException.Malformed("MessagePack ext types are not used");
        }

        /// <summary>
        /// Scan the map at the current position for the string value under <paramref name="key"/> without
        /// consuming anything; also reports where the map ends. Returns null when the key is absent.
        /// </summary>
        public string PeekMapString(string key, out int end)
        {
            int start = _pos;
            try
            {
                string found = null;
                int n = ReadMapHeader();
                for (int i = 0; i < n; i++)
                {
                    bool match = false;
                    if (PeekKind() == MsgPackKind.Str) match = ReadString() == key;
                    else Skip(1);
                    if (match && found == null && PeekKind() == MsgPackKind.Str) found = ReadString();
                    else Skip(1);
                }
                end = _pos;
                return found;
            }
            finally
            {
                _pos = start;
            }
        }
    }
}
