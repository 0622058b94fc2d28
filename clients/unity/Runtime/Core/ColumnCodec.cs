// Frame-of-reference bit-packed integer columns (docs/protocol.md, "Columns").
//
// value[i] = base + field[i], each field `bits` wide, packed least-significant bit first into
// little-endian bytes (field i starts at bit i*bits). All arithmetic wraps modulo 2^64 like the reference.
using System;
using Worldloom.Protocol;

namespace Worldloom
{
    /// <summary>Packs and unpacks <see cref="Column"/> values.</summary>
    public static class ColumnCodec
    {
        /// <summary>Most values in one column (the wire bound on Column.count).</summary>
        public const int MaxCount = 1 << 20;

        /// <summary>Decode a column into its <c>count</c> signed 64-bit values.</summary>
        /// <exception cref="SnapshotException">bits/count out of range, a data length other than
        /// ceil(bits*count/8), or base + field beyond the signed 64-bit range.</exception>
        public static long[] Unpack(Column col)
        {
            if (col == null) return new long[0];
            if (col.Bits < 0 || col.Bits > 64) throw new SnapshotException("column bits " + col.Bits + " outside [0, 64]");
            if (col.Count < 0 || col.Count > MaxCount) throw new SnapshotException("column count " + col.Count + " outside [0, " + MaxCount + "]");
            int bits = (int)col.Bits, count = (int)col.Count;
            byte[] data = col.Data ?? new byte[0];
            long expected = ((long)bits * count + 7) / 8;
            if (data.Length != expected)
                throw new SnapshotException("column data has " + data.Length + " bytes, expected " + expected);
            var values = new long[count];
            long b = col.Base;
            if (bits == 0)
            {
                for (int i = 0; i < count; i++) values[i] = b;
                return values;
            }
            ulong headroom = unchecked((ulong)long.MaxValue - (ulong)b);
            ulong ubase = unchecked((ulong)b);
            long bit = 0;
            for (int i = 0; i < count; i++)
            {
                ulong field = 0;
                int got = 0;
                while (got < bits)
                {
                    int off = (int)(bit & 7);
                    int take = Math.Min(8 - off, bits - got);
                    ulong chunk = (ulong)((data[bit >> 3] >> off) & ((1 << take) - 1));
                    field |= chunk << got;
                    got += take;
                    bit += take;
                }
                if (field > headroom) throw new SnapshotException("column value overflows int64");
                values[i] = unchecked((long)(ubase + field));
            }
            return values;
        }

        /// <summary>Pack values as Column(base = min, bits = bit length of max - min, count, data).</summary>
        public static Column Pack(long[] values)
        {
            if (values == null || values.Length == 0) return new Column();
            if (values.Length > MaxCount) throw new ArgumentException("at most " + MaxCount + " values per column");
            long min = values[0], max = values[0];
            foreach (long v in values)
            {
                if (v < min) min = v;
                if (v > max) max = v;
            }
            ulong span = unchecked((ulong)max - (ulong)min);
            int bits = 0;
            while (span != 0) { span >>= 1; bits++; }
            var data = new byte[((long)bits * values.Length + 7) / 8];
            long bit = 0;
            for (int i = 0; i < values.Length && bits > 0; i++)
            {
                ulong field = unchecked((ulong)values[i] - (ulong)min);
                int left = bits;
                while (left > 0)
                {
                    int off = (int)(bit & 7);
                    int take = Math.Min(8 - off, left);
                    data[bit >> 3] |= (byte)((field << off) & 0xff);
                    field >>= take;
                    bit += take;
                    left -= take;
                }
            }
            return new Column { Base = min, Bits = bits, Count = values.Length, Data = data };
        }
    }
}
