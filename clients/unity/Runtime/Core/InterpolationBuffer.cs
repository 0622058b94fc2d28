// Entity interpolation: render the world a little in the past, between two received snapshots.
//
// Snapshots arrive at the tick rate with network jitter; drawing the newest one makes motion stutter.
// Rendering at renderTime - Delay (about three send intervals; the client sets 3 / tick_rate) almost
// always has a snapshot on each side, and linear interpolation between them is smooth and cheap. Entities
// are matched by id: one only in the later snapshot has just appeared and is drawn where it is; one only in
// the earlier snapshot has left and is not drawn. Past the newest snapshot positions are extrapolated along
// the last interval for at most MaxExtrapolation intervals, then held, so a lost connection freezes the
// world instead of flinging it away. Views are stored as received (quantized) and converted only when sampled.
using System;
using System.Collections.Generic;

namespace Worldloom
{
    /// <summary>Ids (n) and positions (3n: x0, y0, z0, ...) in metres of one kind at one sampled time.</summary>
    public sealed class SampledKind
    {
        public readonly long[] Ids;
        public readonly double[] Positions;

        public SampledKind(long[] ids, double[] positions)
        {
            Ids = ids;
            Positions = positions;
        }

        public int Count { get { return Ids.Length; } }
    }

    /// <summary>A bounded, time-ordered buffer of world views that can be sampled at any time.</summary>
    public sealed class InterpolationBuffer
    {
        private readonly List<double> _times = new List<double>();
        private readonly List<WorldView> _views = new List<WorldView>();
        private readonly int _capacity;

        /// <param name="delay">seconds rendered behind the sample time (0: newest data).</param>
        /// <param name="capacity">views kept (older ones are dropped), at least 2.</param>
        /// <param name="quantum">metres per quantized unit (Welcome.quantum).</param>
        /// <param name="maxExtrapolation">intervals past the newest snapshot that may be extrapolated.</param>
        public InterpolationBuffer(double delay = 0.15, int capacity = 32, double quantum = Protocol.ProtocolConstants.PositionQuantum,
                                   double maxExtrapolation = 1.0)
        {
            if (delay < 0 || capacity < 2 || quantum <= 0 || maxExtrapolation < 0)
                throw new ArgumentException("need delay >= 0, capacity >= 2, quantum > 0, maxExtrapolation >= 0");
            Delay = delay;
            Quantum = quantum;
            MaxExtrapolation = maxExtrapolation;
            _capacity = capacity;
        }

        /// <summary>Seconds rendered behind the sample time.</summary>
        public double Delay { get; set; }

        /// <summary>Metres per quantized position unit.</summary>
        public double Quantum { get; set; }

        public double MaxExtrapolation { get; set; }

        public int Count { get { return _times.Count; } }

        /// <summary>Server time (seconds) of the newest view, or NaN when empty.</summary>
        public double NewestTime { get { return _times.Count > 0 ? _times[_times.Count - 1] : double.NaN; } }

        /// <summary>Add the view at <paramref name="serverTime"/> seconds; false when older than the newest.</summary>
        public bool Push(double serverTime, WorldView view)
        {
            int n = _times.Count;
            if (n > 0 && serverTime <= _times[n - 1])
            {
                if (serverTime != _times[n - 1]) return false;
                _views[n - 1] = view;
                return true;
            }
            _times.Add(serverTime);
            _views.Add(view);
            if (_times.Count > _capacity)
            {
                _times.RemoveAt(0);
                _views.RemoveAt(0);
            }
            return true;
        }

        public void Clear()
        {
            _times.Clear();
            _views.Clear();
        }

        /// <summary>Positions (metres) at renderTime - Delay (server seconds); empty when nothing was pushed.</summary>
        public Dictionary<string, SampledKind> Sample(double renderTime)
        {
            int n = _times.Count;
            if (n == 0) return new Dictionary<string, SampledKind>();
            double t = renderTime - Delay;
            int i = UpperBound(t) - 1; // times[i] <= t < times[i + 1]
            if (i < 0) return Blend(null, _views[0], 1.0);
            if (i == n - 1)
            {
                if (t == _times[n - 1] || n == 1) return Blend(null, _views[n - 1], 1.0);
                double interval = _times[n - 1] - _times[n - 2];
                double ahead = Math.Min((t - _times[n - 1]) / interval, MaxExtrapolation);
                return Blend(_views[n - 2], _views[n - 1], 1.0 + ahead);
            }
            if (t == _times[i]) return Blend(null, _views[i], 1.0);
            double alpha = (t - _times[i]) / (_times[i + 1] - _times[i]);
            return Blend(_views[i], _views[i + 1], alpha);
        }

        private int UpperBound(double t)
        {
            int lo = 0, hi = _times.Count;
            while (lo < hi)
            {
                int mid = (lo + hi) >> 1;
                if (_times[mid] <= t) lo = mid + 1;
                else hi = mid;
            }
            return lo;
        }

        /// <summary>Entities of <paramref name="late"/>; those also in <paramref name="early"/> at early + (late - early) * alpha.</summary>
        private Dictionary<string, SampledKind> Blend(WorldView early, WorldView late, double alpha)
        {
            var result = new Dictionary<string, SampledKind>(late.Count);
            foreach (var pair in late)
            {
                KindView b = pair.Value;
                KindView a = null;
                if (early != null) early.TryGetValue(pair.Key, out a);
                var pos = new double[b.Q.Length];
                int ia = 0;
                for (int row = 0; row < b.Ids.Length; row++)
                {
                    double x = b.Q[3 * row] * Quantum, y = b.Q[3 * row + 1] * Quantum, z = b.Q[3 * row + 2] * Quantum;
                    if (a != null)
                    {
                        while (ia < a.Ids.Length && a.Ids[ia] < b.Ids[row]) ia++;
                        if (ia < a.Ids.Length && a.Ids[ia] == b.Ids[row])
                        {
                            double sx = a.Q[3 * ia] * Quantum, sy = a.Q[3 * ia + 1] * Quantum, sz = a.Q[3 * ia + 2] * Quantum;
                            x = sx + (x - sx) * alpha;
                            y = sy + (y - sy) * alpha;
                            z = sz + (z - sz) * alpha;
                        }
                    }
                    pos[3 * row] = x;
                    pos[3 * row + 1] = y;
                    pos[3 * row + 2] = z;
                }
                result[pair.Key] = new SampledKind(b.Ids, pos);
            }
            return result;
        }
    }
}
