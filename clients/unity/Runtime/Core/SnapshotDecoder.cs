// Applying a snapshot's KindBlocks to a baseline view (docs/protocol.md, "KindBlock").
//
// Why merge loops instead of dictionaries: views are sorted id columns, so removing, shifting and inserting
// are linear two-pointer passes with no per-entity allocation, exactly the reference algorithm.
using System;
using System.Collections.Generic;
using Worldloom.Protocol;

namespace Worldloom
{
    /// <summary>Applies snapshot blocks to views.</summary>
    public static class SnapshotDecoder
    {
        /// <summary>One more than the largest entity id: the largest allowed block end.</summary>
        public const long IdLimit = 1L << 32;

        /// <summary>
        /// Apply every block of one snapshot (the union of all its parts) to <paramref name="baseline"/>
        /// (null: the empty view). The result has exactly the kinds that have blocks.
        /// </summary>
        /// <exception cref="SnapshotException">a bad column, overlapping/out-of-range blocks, unsorted or
        /// duplicate ids, ids outside their block, a removed id not in the baseline, an entered id already in
        /// it, or a delta count that differs from the number of kept ids.</exception>
        public static WorldView ApplyBlocks(WorldView baseline, IEnumerable<KindBlock> blocks)
        {
            var byKind = new Dictionary<string, List<KindBlock>>();
            var order = new List<string>();
            foreach (var block in blocks)
            {
                if (block == null || block.Kind == null) throw new SnapshotException("block without a kind");
                if (block.Lo < 0 || block.Lo > block.Hi || block.Hi > IdLimit)
                    throw new SnapshotException("kind '" + block.Kind + "': block range must satisfy 0 <= lo <= hi <= 2**32");
                List<KindBlock> list;
                if (!byKind.TryGetValue(block.Kind, out list))
                {
                    list = new List<KindBlock>();
                    byKind[block.Kind] = list;
                    order.Add(block.Kind);
                }
                list.Add(block);
            }
            var result = new WorldView();
            foreach (var kind in order)
            {
                var kindBlocks = byKind[kind];
                kindBlocks.Sort((a, b) => a.Lo.CompareTo(b.Lo));
                KindView base_ = null;
                if (baseline != null) baseline.TryGetValue(kind, out base_);
                base_ = base_ ?? KindView.Empty;
                if (kindBlocks.Count == 1)
                {
                    result[kind] = ApplyBlock(kindBlocks[0], base_);
                    continue;
                }
                var ids = new List<long>();
                var q = new List<long>();
                long prevHi = 0;
                foreach (var block in kindBlocks)
                {
                    if (block.Lo < prevHi) throw new SnapshotException("kind '" + kind + "': overlapping block ranges");
                    prevHi = block.Hi;
                    var piece = ApplyBlock(block, base_);
                    ids.AddRange(piece.Ids);
                    q.AddRange(piece.Q);
                }
                result[kind] = new KindView(ids.ToArray(), q.ToArray());
            }
            return result;
        }

        private static void CheckIds(long[] ids, long lo, long hi, string what, string kind)
        {
            for (int i = 0; i < ids.Length; i++)
            {
                if (ids[i] < lo || ids[i] >= hi || (i > 0 && ids[i] <= ids[i - 1]))
                    throw new SnapshotException("kind '" + kind + "': " + what + " ids must be ascending, unique and in [" + lo + ", " + hi + ")");
            }
        }

        /// <summary>The view of ids in [block.Lo, block.Hi) after applying <paramref name="block"/>.</summary>
        public static KindView ApplyBlock(KindBlock block, KindView baseline)
        {
            string kind = block.Kind;
            long lo = block.Lo, hi = block.Hi;
            long[] baseIds = baseline.Ids;
            int i0 = LowerBound(baseIds, lo), i1 = LowerBound(baseIds, hi);
            var changes = block.Changes;
            long[] entered = changes != null ? ColumnCodec.Unpack(changes.Entered) : new long[0];
            long[] ex = changes != null ? ColumnCodec.Unpack(changes.Ex) : new long[0];
            long[] ey = changes != null ? ColumnCodec.Unpack(changes.Ey) : new long[0];
            long[] ez = changes != null ? ColumnCodec.Unpack(changes.Ez) : new long[0];
            long[] removed = changes != null ? ColumnCodec.Unpack(changes.Removed) : new long[0];
            if (ex.Length != entered.Length || ey.Length != entered.Length || ez.Length != entered.Length)
                throw new SnapshotException("kind '" + kind + "': " + entered.Length + " entered ids but ex/ey/ez counts differ");
            CheckIds(entered, lo, hi, "entered", kind);
            CheckIds(removed, lo, hi, "removed", kind);

            // kept = baseline ids in range minus removed (every removed id must be among them)
            int inRange = i1 - i0;
            var keptRows = new int[inRange];
            int kept = 0, r = 0;
            for (int i = i0; i < i1; i++)
            {
                long id = baseIds[i];
                if (r < removed.Length && removed[r] < id)
                    throw new SnapshotException("kind '" + kind + "': removed id not in the baseline");
                if (r < removed.Length && removed[r] == id) { r++; continue; }
                keptRows[kept++] = i;
            }
            if (r != removed.Length) throw new SnapshotException("kind '" + kind + "': removed id not in the baseline");

            long[] dx = ColumnCodec.Unpack(block.Dx), dy = ColumnCodec.Unpack(block.Dy), dz = ColumnCodec.Unpack(block.Dz);
            if (dx.Length != kept || dy.Length != kept || dz.Length != kept)
                throw new SnapshotException("kind '" + kind + "': " + kept + " kept ids but dx/dy/dz counts differ");

            // no entered id may already be in the baseline range
            for (int e = 0, b = i0; e < entered.Length; e++)
            {
                while (b < i1 && baseIds[b] < entered[e]) b++;
                if (b < i1 && baseIds[b] == entered[e])
                    throw new SnapshotException("kind '" + kind + "': entered id already in the baseline");
            }

            int n = kept + entered.Length;
            var ids = new long[n];
            var q = new long[3 * n];
            long[] baseQ = baseline.Q;
            int k = 0, j = 0, o = 0;
            while (k < kept || j < entered.Length)
            {
                bool takeKept = j >= entered.Length || (k < kept && baseIds[keptRows[k]] < entered[j]);
                if (takeKept)
                {
                    int row = keptRows[k];
                    ids[o] = baseIds[row];
                    q[3 * o] = unchecked(baseQ[3 * row] + dx[k]);
                    q[3 * o + 1] = unchecked(baseQ[3 * row + 1] + dy[k]);
                    q[3 * o + 2] = unchecked(baseQ[3 * row + 2] + dz[k]);
                    k++;
                }
                else
                {
                    ids[o] = entered[j];
                    q[3 * o] = ex[j];
                    q[3 * o + 1] = ey[j];
                    q[3 * o + 2] = ez[j];
                    j++;
                }
                o++;
            }
            return new KindView(ids, q);
        }

        private static int LowerBound(long[] sorted, long value)
        {
            int lo = 0, hi = sorted.Length;
            while (lo < hi)
            {
                int mid = (lo + hi) >> 1;
                if (sorted[mid] < value) lo = mid + 1;
                else hi = mid;
            }
            return lo;
        }
    }
}
