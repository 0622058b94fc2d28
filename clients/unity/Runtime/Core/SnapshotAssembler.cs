// Client-side reassembly of snapshot parts into views, keeping recent views as delta baselines.
//
// Mirrors protocol.snapshot.SnapshotAssembler: feed every Snapshot; when Feed returns a completed tick,
// acknowledge it (Ack). Parts of ticks not newer than the newest completed one are ignored; at most
// MaxPending incomplete ticks are held; the last `history` completed views serve as baselines. On a
// SnapshotException the tick is dropped: keep the connection and stop acking it, and the server falls
// back to a full snapshot once the acked baseline ages out of its history.
using System.Collections.Generic;
using Worldloom.Protocol;

namespace Worldloom
{
    /// <summary>Gathers snapshot parts per tick and applies complete ticks to their baseline view.</summary>
    public sealed class SnapshotAssembler
    {
        /// <summary>Most incomplete ticks held at once (the oldest is dropped first).</summary>
        public const int MaxPending = 4;

        private sealed class Pending
        {
            public long Baseline, Parts, InputAck;
            public double Time;
            public readonly Dictionary<long, List<KindBlock>> Received = new Dictionary<long, List<KindBlock>>();
        }

        private readonly int _history;
        private readonly Dictionary<long, WorldView> _views = new Dictionary<long, WorldView>();
        private readonly Queue<long> _viewOrder = new Queue<long>();
        private readonly Dictionary<long, Pending> _pending = new Dictionary<long, Pending>();

        public SnapshotAssembler(int history = 64)
        {
            if (history < 1) throw new System.ArgumentException("history must be at least 1");
            _history = history;
        }

        /// <summary>The newest completed tick (0 before the first).</summary>
        public long LatestTick { get; private set; }

        /// <summary>The newest completed view (null before the first).</summary>
        public WorldView Latest { get; private set; }

        /// <summary>Whether the view of <paramref name="tick"/> is still held as a baseline.</summary>
        public bool Holds(long tick) { return _views.ContainsKey(tick); }

        /// <summary>Take one part; returns the completed view when it completes its tick, else null.</summary>
        /// <exception cref="SnapshotException">part out of range, parts that disagree or repeat, an unknown
        /// baseline, or blocks that do not apply.</exception>
        public WorldView Feed(Snapshot snap)
        {
            long tick = snap.Tick;
            if (snap.Part < 0 || snap.Part >= snap.Parts)
                throw new SnapshotException("snapshot part " + snap.Part + " of " + snap.Parts + " out of range");
            if (Latest != null && tick <= LatestTick) return null;
            if (snap.Baseline != 0 && (snap.Baseline >= tick || !_views.ContainsKey(snap.Baseline)))
            {
                _pending.Remove(tick);
                throw new SnapshotException("snapshot " + tick + ": unknown baseline tick " + snap.Baseline);
            }
            Pending pending;
            if (!_pending.TryGetValue(tick, out pending))
            {
                pending = new Pending { Baseline = snap.Baseline, Parts = snap.Parts, InputAck = snap.InputAck, Time = snap.Time };
                _pending[tick] = pending;
                while (_pending.Count > MaxPending) _pending.Remove(MinKey(_pending.Keys));
            }
            else if (pending.Baseline != snap.Baseline || pending.Parts != snap.Parts || pending.InputAck != snap.InputAck
                     || !pending.Time.Equals(snap.Time) || pending.Received.ContainsKey(snap.Part))
            {
                _pending.Remove(tick);
                throw new SnapshotException("snapshot " + tick + ": parts disagree or repeat");
            }
            pending.Received[snap.Part] = snap.Blocks ?? new List<KindBlock>();
            if (pending.Received.Count < pending.Parts) return null;
            _pending.Remove(tick);
            var blocks = new List<KindBlock>();
            for (long i = 0; i < pending.Parts; i++) blocks.AddRange(pending.Received[i]);
            var view = SnapshotDecoder.ApplyBlocks(pending.Baseline != 0 ? _views[pending.Baseline] : null, blocks);
            _views[tick] = view;
            _viewOrder.Enqueue(tick);
            while (_views.Count > _history) _views.Remove(_viewOrder.Dequeue());
            var stale = new List<long>();
            foreach (var t in _pending.Keys)
                if (t < tick) stale.Add(t);
            foreach (var t in stale) _pending.Remove(t);
            LatestTick = tick;
            Latest = view;
            return view;
        }

        private static long MinKey(IEnumerable<long> keys)
        {
            long min = long.MaxValue;
            foreach (var k in keys)
                if (k < min) min = k;
            return min;
        }
    }
}
