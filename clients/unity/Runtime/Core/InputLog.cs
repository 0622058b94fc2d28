// Input bookkeeping: sequence numbers and the unacknowledged-input log used to resend after a resume.
//
// The server applies each Input.seq once, ignores anything not newer than the last one received, and
// reports the last applied seq back (Snapshot.input_ack, Welcome.last_input on resume). So the client only
// keeps an ordered log of inputs above the newest ack, trims it on every ack and resends its tail after a
// resume. The log is bounded: a long disconnection drops the oldest inputs (counted in Dropped).
using System;
using System.Collections.Generic;
using Worldloom.Protocol;

namespace Worldloom
{
    /// <summary>Assigns strictly increasing seq values and keeps inputs the server has not applied yet.</summary>
    public sealed class InputLog
    {
        private readonly LinkedList<Input> _pending = new LinkedList<Input>();
        private readonly int _capacity;

        public InputLog(int capacity = 1024)
        {
            if (capacity < 1) throw new ArgumentException("capacity must be at least 1");
            _capacity = capacity;
        }

        /// <summary>The newest seq handed out (0 before the first input).</summary>
        public long LastSeq { get; private set; }

        /// <summary>The newest seq the server reported as applied.</summary>
        public long Acked { get; private set; }

        /// <summary>Unacknowledged inputs discarded because the log was full.</summary>
        public long Dropped { get; private set; }

        public int Count { get { return _pending.Count; } }

        /// <summary>Clamp one movement axis to the wire range [-1, 1]; NaN becomes 0.</summary>
        public static double ClampAxis(double v)
        {
            if (double.IsNaN(v)) return 0.0;
            return v < -1.0 ? -1.0 : v > 1.0 ? 1.0 : v;
        }

        /// <summary>Create the next input (axes clamped) and remember it until acknowledged.</summary>
        public Input Record(double moveX, double moveY, long buttons, long tick)
        {
            LastSeq = Math.Max(LastSeq, Acked) + 1;
            var input = new Input
            {
                Seq = LastSeq,
                Tick = Math.Max(0, tick),
                Move = new[] { ClampAxis(moveX), ClampAxis(moveY) },
                Buttons = buttons & 0xFFFFFFFFL,
            };
            if (_pending.Count >= _capacity)
            {
                _pending.RemoveFirst();
                Dropped++;
            }
            _pending.AddLast(input);
            return input;
        }

        /// <summary>The server applied every input up to <paramref name="seq"/>; forget them.</summary>
        public int Acknowledge(long seq)
        {
            if (seq <= Acked) return 0;
            Acked = seq;
            int removed = 0;
            while (_pending.Count > 0 && _pending.First.Value.Seq <= seq)
            {
                _pending.RemoveFirst();
                removed++;
            }
            return removed;
        }

        /// <summary>Inputs with seq above <paramref name="after"/> (and the newest ack), oldest first: what to resend.</summary>
        public List<Input> Unacknowledged(long after)
        {
            Acknowledge(after);
            return new List<Input>(_pending);
        }

        /// <summary>Start over for a fresh (not resumed) session: seq counts from 1 again.</summary>
        public void Clear()
        {
            _pending.Clear();
            Acked = 0;
            LastSeq = 0;
        }
    }
}
