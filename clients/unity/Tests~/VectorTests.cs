// Runs the golden vectors of protocol/vectors/ through the SDK (docs/protocol.md, "Golden vectors"):
// decode every frame and compare every field, re-encode and compare bytes, the bit packer, the snapshot
// views (also through the assembler, split parts in reverse order) and the hard-coded SCHEMA_HASH.
using System;
using System.Collections;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Worldloom.Protocol;

namespace Worldloom.Harness
{
    public sealed class VectorTests
    {
        private readonly string _dir;
        public int Passed, Failed;

        public VectorTests(string dir) { _dir = dir; }

        private void Check(string name, Action test)
        {
            try
            {
                test();
                Passed++;
            }
            catch (Exception e)
            {
                Failed++;
                Console.WriteLine("FAIL " + name + ": " + e.Message);
            }
        }

        private static void Require(bool ok, string what)
        {
            if (!ok) throw new Exception(what);
        }

        private Dictionary<string, object> Json(string name)
        {
            return (Dictionary<string, object>)MiniJson.Parse(File.ReadAllText(Path.Combine(_dir, name)));
        }

        public void RunAll()
        {
            var files = Directory.GetFiles(_dir, "*.json").Select(Path.GetFileName).OrderBy(f => f, StringComparer.Ordinal).ToList();
            foreach (var file in files)
            {
                if (file.EndsWith(".view.json")) Check(file, () => CheckView(file));
                else if (file.StartsWith("column_")) Check(file, () => CheckColumn(file));
                else Check(file, () => CheckMessage(file));
            }
            Check("assembler chain", CheckAssemblerChain);
            Check("assembler split parts reversed", CheckSplitReversed);
            Check("schema hash", () =>
            {
                var hello = (Dictionary<string, object>)Json("hello.json")["message"];
                Require((string)hello["schema"] == ProtocolConstants.SchemaHash, "SCHEMA_HASH " + ProtocolConstants.SchemaHash + " != vectors' " + hello["schema"]);
                Require((long)hello["protocol"] == ProtocolConstants.ProtocolVersion, "PROTOCOL_VERSION differs from the vectors'");
            });
            Check("bad input is a typed error", CheckBadInput);
        }

        // ------------------------------------------------------------ messages
        private static IMessage Decode(byte[] frame, string direction)
        {
            return direction == "server" ? ServerMessages.Decode(frame) : ClientMessages.Decode(frame);
        }

        private void CheckMessage(string file)
        {
            var doc = Json(file);
            string stem = file.Substring(0, file.Length - ".json".Length);
            byte[] frame = File.ReadAllBytes(Path.Combine(_dir, stem + ".msgpack"));
            string direction = (string)doc["direction"];
            var expected = (Dictionary<string, object>)doc["message"];
            bool decodeOnly = doc.ContainsKey("decode_only") && (bool)doc["decode_only"];

            IMessage decoded = Decode(frame, direction);
            Require(decoded.Tag == (string)doc["type"], "decoded tag " + decoded.Tag + ", expected " + doc["type"]);
            byte[] reencoded = MessageCodec.Encode(decoded);
            var tree = new MsgPackReader(reencoded).ReadAny();
            var fields = (Dictionary<string, object>)tree;
            foreach (var pair in expected)
            {
                Require(fields.ContainsKey(pair.Key), "decoded message lacks field " + pair.Key);
                Same(fields[pair.Key], pair.Value, "$." + pair.Key);
            }
            // the message built from the JSON (through the same typed reader) encodes canonically
            IMessage fromJson = Decode(JsonToMsgPack(expected), direction);
            byte[] built = MessageCodec.Encode(fromJson);
            Require(built.SequenceEqual(reencoded), "message from JSON and decoded frame encode differently");
            if (!decodeOnly)
            {
                Require(built.SequenceEqual(frame), "encoding differs from the vector bytes:\n  got  " + Hex(built) + "\n  want " + Hex(frame));
            }
        }

        private static string Hex(byte[] b) { return BitConverter.ToString(b).Replace("-", "").ToLowerInvariant(); }

        /// <summary>JSON message -> MessagePack: base64 strings in Column data slots become bin.</summary>
        private static byte[] JsonToMsgPack(Dictionary<string, object> message)
        {
            var w = new MsgPackWriter();
            w.WriteAny(Bytesify(message, false));
            return w.ToArray();
        }

        private static object Bytesify(object value, bool inBlocks)
        {
            var map = value as Dictionary<string, object>;
            if (map != null)
            {
                var copy = new Dictionary<string, object>();
                foreach (var pair in map) copy[pair.Key] = Bytesify(pair.Value, inBlocks || pair.Key == "blocks");
                return copy;
            }
            var list = value as List<object>;
            if (list == null) return value;
            var items = list.Select(x => Bytesify(x, inBlocks)).ToList();
            if (inBlocks && items.Count >= 4 && items.Take(3).All(x => x is long) && items[3] is string)
                items[3] = Convert.FromBase64String((string)items[3]);
            return items;
        }

        private static void Same(object got, object want, string path)
        {
            if (want == null) { Require(got == null, path + ": expected null, got " + got); return; }
            if (got is byte[] && want is string)
            {
                Require(Convert.ToBase64String((byte[])got) == (string)want, path + ": bytes differ");
                return;
            }
            var wantList = want as List<object>;
            if (wantList != null)
            {
                var gotList = got as List<object>;
                Require(gotList != null && gotList.Count == wantList.Count, path + ": list length differs");
                for (int i = 0; i < wantList.Count; i++) Same(gotList[i], wantList[i], path + "[" + i + "]");
                return;
            }
            var wantMap = want as Dictionary<string, object>;
            if (wantMap != null)
            {
                var gotMap = got as Dictionary<string, object>;
                Require(gotMap != null && gotMap.Count == wantMap.Count, path + ": map differs");
                foreach (var pair in wantMap)
                {
                    Require(gotMap.ContainsKey(pair.Key), path + ": missing key " + pair.Key);
                    Same(gotMap[pair.Key], pair.Value, path + "." + pair.Key);
                }
                return;
            }
            if (want is double || got is double)
            {
                Require(IsNumber(got) && Convert.ToDouble(got) == Convert.ToDouble(want), path + ": " + got + " != " + want);
                return;
            }
            Require(Equals(got, want), path + ": " + got + " (" + (got == null ? "null" : got.GetType().Name) + ") != " + want);
        }

        private static bool IsNumber(object x) { return x is long || x is ulong || x is double; }

        // ------------------------------------------------------------ columns
        private void CheckColumn(string file)
        {
            var doc = Json(file);
            var values = ((List<object>)doc["values"]).Select(Convert.ToInt64).ToArray();
            var col = new Column
            {
                Base = Convert.ToInt64(doc["base"]), Bits = (long)doc["bits"], Count = (long)doc["count"],
                Data = FromHex((string)doc["data"]),
            };
            Require(ColumnCodec.Unpack(col).SequenceEqual(values), "unpacked values differ");
            var packed = ColumnCodec.Pack(values);
            Require(packed.Base == col.Base && packed.Bits == col.Bits && packed.Count == col.Count && packed.Data.SequenceEqual(col.Data),
                    "packed column differs: base " + packed.Base + " bits " + packed.Bits + " data " + Hex(packed.Data));
            var w = new MsgPackWriter();
            packed.WriteTo(w);
            Require(Hex(w.ToArray()) == (string)doc["msgpack"], "column MessagePack differs");
        }

        private static byte[] FromHex(string hex)
        {
            var b = new byte[hex.Length / 2];
            for (int i = 0; i < b.Length; i++) b[i] = Convert.ToByte(hex.Substring(2 * i, 2), 16);
            return b;
        }

        // ------------------------------------------------------------ views
        private WorldView ViewFromJson(Dictionary<string, object> doc)
        {
            var view = new WorldView();
            foreach (var pair in (Dictionary<string, object>)doc["kinds"])
            {
                var kind = (Dictionary<string, object>)pair.Value;
                var ids = ((List<object>)kind["ids"]).Select(Convert.ToInt64).ToArray();
                var q = ((List<object>)kind["q"]).SelectMany(row => ((List<object>)row).Select(Convert.ToInt64)).ToArray();
                view[pair.Key] = new KindView(ids, q);
            }
            return view;
        }

        private Snapshot LoadSnapshot(string stem)
        {
            return (Snapshot)ServerMessages.Decode(File.ReadAllBytes(Path.Combine(_dir, stem + ".msgpack")));
        }

        private void CompareView(WorldView got, Dictionary<string, object> doc)
        {
            var kinds = (Dictionary<string, object>)doc["kinds"];
            Require(got.Count == kinds.Count, "kinds differ: got " + string.Join(",", got.Keys));
            foreach (var pair in kinds)
            {
                Require(got.ContainsKey(pair.Key), "kind " + pair.Key + " missing");
                var kind = (Dictionary<string, object>)pair.Value;
                var view = got[pair.Key];
                Require(view.Ids.SequenceEqual(((List<object>)kind["ids"]).Select(Convert.ToInt64)), pair.Key + ": ids differ");
                var q = ((List<object>)kind["q"]).SelectMany(row => ((List<object>)row).Select(Convert.ToInt64)).ToArray();
                Require(view.Q.SequenceEqual(q), pair.Key + ": q differs");
                var metres = ((List<object>)kind["metres"]).SelectMany(row => ((List<object>)row).Select(Convert.ToDouble)).ToArray();
                for (int i = 0; i < metres.Length; i++)
                    Require(Math.Abs(view.Q[i] * ProtocolConstants.PositionQuantum - metres[i]) <= 1e-9, pair.Key + ": metres differ");
            }
        }

        private void CheckView(string file)
        {
            var doc = Json(file);
            WorldView baseline = null;
            if (doc["baseline_vector"] != null) baseline = ViewFromJson(Json((string)doc["baseline_vector"] + ".view.json"));
            var blocks = ((List<object>)doc["parts"]).SelectMany(p => LoadSnapshot((string)p).Blocks).ToList();
            CompareView(SnapshotDecoder.ApplyBlocks(baseline, blocks), doc);
        }

        private void CheckAssemblerChain()
        {
            var assembler = new SnapshotAssembler();
            foreach (var stem in new[] { "snapshot_full", "snapshot_delta", "snapshot_kind_gone" })
            {
                var doc = Json(stem + ".view.json");
                WorldView view = assembler.Feed(LoadSnapshot(stem));
                Require(view != null, stem + " did not complete");
                Require(assembler.LatestTick == (long)doc["tick"], stem + ": tick differs");
                CompareView(view, doc);
            }
            // an unknown baseline is refused without breaking the assembler
            var orphan = LoadSnapshot("snapshot_delta");
            orphan.Tick = assembler.LatestTick + 10;
            orphan.Baseline = assembler.LatestTick + 5;
            bool refused = false;
            try { assembler.Feed(orphan); } catch (SnapshotException) { refused = true; }
            Require(refused, "a snapshot against an unknown baseline was accepted");
        }

        private void CheckSplitReversed()
        {
            var doc = Json("snapshot_split.view.json");
            var parts = ((List<object>)doc["parts"]).Select(p => LoadSnapshot((string)p)).Reverse().ToList();
            var assembler = new SnapshotAssembler();
            WorldView view = null;
            for (int i = 0; i < parts.Count; i++)
            {
                view = assembler.Feed(parts[i]);
                Require((view != null) == (i == parts.Count - 1), "the tick completed after part " + i + " of " + parts.Count);
            }
            CompareView(view, doc);
        }

        /// <summary>
        /// A chain of snapshots written by the Python reference encoder (chain.json: ticks, each with its part
        /// files and expected view): fed through one assembler, parts in reverse order, every view compared.
        /// </summary>
        public void RunChain()
        {
            var doc = Json("chain.json");
            var assembler = new SnapshotAssembler();
            foreach (Dictionary<string, object> tick in (List<object>)doc["ticks"])
            {
                string name = "tick " + tick["tick"];
                Check(name, () =>
                {
                    var parts = ((List<object>)tick["parts"]).Select(p => (Snapshot)ServerMessages.Decode(
                        File.ReadAllBytes(Path.Combine(_dir, (string)p)))).Reverse().ToList();
                    WorldView view = null;
                    foreach (var part in parts) view = assembler.Feed(part);
                    Require(view != null && assembler.LatestTick == (long)tick["tick"], name + " did not complete");
                    CompareView(view, tick);
                    foreach (var part in parts) Require(MessageCodec.Encode(part).SequenceEqual(File.ReadAllBytes(
                        Path.Combine(_dir, (string)((List<object>)tick["parts"])[(int)part.Part]))), name + ": re-encoding differs");
                });
            }
            foreach (Dictionary<string, object> col in (List<object>)doc["columns"])
            {
                Check("column " + col["data"], () =>
                {
                    var values = ((List<object>)col["values"]).Select(Convert.ToInt64).ToArray();
                    var packed = ColumnCodec.Pack(values);
                    Require(packed.Base == Convert.ToInt64(col["base"]) && packed.Bits == (long)col["bits"]
                            && Hex(packed.Data) == (string)col["data"], "packing differs from the reference");
                    Require(ColumnCodec.Unpack(packed).SequenceEqual(values), "unpacking differs");
                });
            }
        }

        // ------------------------------------------------------------ bad input
        private void CheckBadInput()
        {
            var rng = new Random(1234);
            var samples = Directory.GetFiles(_dir, "*.msgpack").Select(File.ReadAllBytes).ToList();
            int typed = 0;
            for (int n = 0; n < 3000; n++)
            {
                var frame = (byte[])samples[rng.Next(samples.Count)].Clone();
                int mode = rng.Next(3);
                if (mode == 0 && frame.Length > 1) Array.Resize(ref frame, rng.Next(frame.Length));
                else if (mode == 1) frame[rng.Next(frame.Length)] = (byte)rng.Next(256);
                else { Array.Resize(ref frame, frame.Length + 1); frame[frame.Length - 1] = 0xc0; }
                try
                {
                    var message = ServerMessages.Decode(frame);
                    var snap = message as Snapshot;
                    if (snap != null) new SnapshotAssembler().Feed(snap);
                }
                catch (ProtocolDecodeException e)
                {
                    Require(e.Code == 1 || e.Code == 2, "decode error with code " + e.Code);
                    typed++;
                }
                catch (SnapshotException)
                {
                    typed++;
                }
            }
            Require(typed > 1000, "too few corrupted frames were refused: " + typed);
            bool trailing = false;
            try { ServerMessages.Decode(samples[0].Concat(new byte[] { 0 }).ToArray()); }
            catch (ProtocolDecodeException e) { trailing = e.Code == (int)ErrorCode.Malformed; }
            Require(trailing, "trailing bytes were not MALFORMED");
            var w = new MsgPackWriter();
            w.WriteAny(new Dictionary<string, object> { { "t", "snap" }, { "tick", 1L }, { "baseline", 0L }, { "input_ack", 0L }, { "time", 0.0 }, { "part", 5000L } });
            try
            {
                ServerMessages.Decode(w.ToArray());
                Require(false, "part 5000 accepted");
            }
            catch (ProtocolDecodeException e)
            {
                Require(e.Code == 2 && e.Message == "Expected `int` <= 4095 - at `$.part`", "unexpected error text: " + e.Message);
            }
        }
    }
}
