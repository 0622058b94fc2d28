// What a client sees after applying a snapshot: per entity kind, sorted ids and quantized positions.
using System;
using System.Collections.Generic;

namespace Worldloom
{
    /// <summary>
    /// The entities of one kind: <see cref="Ids"/> (n) ascending unique in [0, 2^32), and <see cref="Q"/>
    /// (3n) their quantized positions x0, y0, z0, x1, ... in units of the position quantum (Welcome.quantum).
    /// Treat both arrays as read-only: views are shared between ticks.
    /// </summary>
    public sealed class KindView
    {
        public static readonly KindView Empty = new KindView(new long[0], new long[0]);

        public readonly long[] Ids;
        public readonly long[] Q;

        public KindView(long[] ids, long[] q)
        {
            if (ids == null || q == null || q.Length != 3 * ids.Length)
                throw new ArgumentException("q must hold 3 values per id");
            Ids = ids;
            Q = q;
        }

        public int Count { get { return Ids.Length; } }

        /// <summary>Row of <paramref name="id"/>, or -1 when it is not in this view.</summary>
        public int IndexOf(long id)
        {
            int i = Array.BinarySearch(Ids, id);
            return i >= 0 ? i : -1;
        }
    }

    /// <summary>Every kind a client sees, by wire kind name (e.g. "player", "npc").</summary>
    public sealed class WorldView : Dictionary<string, KindView>
    {
        /// <summary>Finds <paramref name="id"/> in any kind; returns its kind and row, or false.</summary>
        public bool TryFind(long id, out string kind, out int row)
        {
            foreach (var pair in this)
            {
                int i = pair.Value.IndexOf(id);
                if (i >= 0)
                {
                    kind = pair.Key;
                    row = i;
                    return true;
                }
            }
            kind = null;
            row = -1;
            return false;
        }

        /// <summary>Total entities over all kinds.</summary>
        public int EntityCount
        {
            get
            {
                int n = 0;
                foreach (var v in Values) n += v.Count;
                return n;
            }
        }
    }
}
