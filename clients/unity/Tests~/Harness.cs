// Console test harness of the Unity SDK's engine-independent runtime (runs under Mono).
//
//   mono Worldloom.Harness.exe vectors PROTOCOL_VECTORS_DIR
//   mono Worldloom.Harness.exe chain DIR_WITH_CHAIN_JSON
//   mono Worldloom.Harness.exe play ws://127.0.0.1:PORT/ws [--watch ENTITY_ID] [--ticks N]
//
// `vectors` runs the golden vectors; `play` joins a live server as a player, moves its avatar, watches
// another entity move, calls room.info, survives a forced disconnect by resuming, closes with Bye, and
// prints one `RESULT {...}` JSON line for the Python side to check. Exit code 0 only when all passed.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Threading;
using Worldloom.Protocol;

namespace Worldloom.Harness
{
    public static class Program
    {
        public static int Main(string[] args)
        {
            if (args.Length >= 2 && args[0] == "vectors")
            {
                var tests = new VectorTests(args[1]);
                tests.RunAll();
                Console.WriteLine("vectors: " + tests.Passed + " passed, " + tests.Failed + " failed");
                return tests.Failed == 0 && tests.Passed > 0 ? 0 : 1;
            }
            if (args.Length >= 2 && args[0] == "chain")
            {
                var tests = new VectorTests(args[1]);
                tests.RunChain();
                Console.WriteLine("chain: " + tests.Passed + " passed, " + tests.Failed + " failed");
                return tests.Failed == 0 && tests.Passed > 0 ? 0 : 1;
            }
            if (args.Length >= 2 && args[0] == "play")
            {
                long watch = 0;
                int ticks = 30;
                for (int i = 2; i + 1 < args.Length; i += 2)
                {
                    if (args[i] == "--watch") watch = long.Parse(args[i + 1], CultureInfo.InvariantCulture);
                    else if (args[i] == "--ticks") ticks = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
                }
                try
                {
                    return new LivePlay(args[1], watch, ticks).Run();
                }
                catch (Exception e)
                {
                    Console.WriteLine("FAIL play: " + e);
                    return 1;
                }
            }
            Console.Error.WriteLine("usage: Worldloom.Harness.exe vectors DIR | chain DIR | play URL [--watch ENTITY] [--ticks N]");
            return 2;
        }
    }

    /// <summary>The live end-to-end scenario against a running server.</summary>
    public sealed class LivePlay
    {
        private readonly string _url;
        private readonly long _watch;
        private readonly int _ticks;
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private WorldloomClient _client;

        public LivePlay(string url, long watch, int ticks)
        {
            _url = url;
            _watch = watch;
            _ticks = ticks;
        }

        private void Step(string what)
        {
            Console.WriteLine("[" + _clock.Elapsed.TotalSeconds.ToString("F2", CultureInfo.InvariantCulture) + " s] " + what);
        }

        /// <summary>Poll the client until <paramref name="done"/> holds, or fail after <paramref name="seconds"/>.</summary>
        private void WaitFor(string what, Func<bool> done, double seconds = 10.0)
        {
            var limit = Stopwatch.StartNew();
            while (!done())
            {
                _client.Poll();
                if (limit.Elapsed.TotalSeconds > seconds) throw new Exception("timed out waiting for " + what);
                Thread.Sleep(5);
            }
            _client.Poll();
        }

        private void Sleep(int ms)
        {
            var t = Stopwatch.StartNew();
            while (t.ElapsedMilliseconds < ms)
            {
                _client.Poll();
                Thread.Sleep(5);
            }
        }

        private double[] Position(long id)
        {
            double x, y, z;
            return _client.TryGetPosition(id, out x, out y, out z) ? new[] { x, y, z } : null;
        }

        private static void Require(bool ok, string what)
        {
            if (!ok) throw new Exception(what);
        }

        public int Run()
        {
            _client = new WorldloomClient(new WorldloomClientOptions { Url = _url, Name = "unity-harness" });
            int spawned = 0, despawned = 0, events = 0, welcomes = 0, disconnects = 0;
            _client.EntitySpawned += (kind, id, pos) => spawned++;
            _client.EntityDespawned += (kind, id) => despawned++;
            _client.EventReceived += ev => events++;
            _client.Welcomed += w => welcomes++;
            _client.Disconnected += (code, retry) => disconnects++;

            Welcome welcome = _client.ConnectAsync().Result;
            Step("welcome: entity " + welcome.Entity + ", tick rate " + welcome.TickRate + ", protocol " + welcome.Protocol + ", schema " + welcome.Schema);
            Require(welcome.Entity != 0 && !welcome.Resumed, "a player gets an avatar in a fresh session");
            long entity = welcome.Entity;
            WaitFor("own avatar in view", () => Position(entity) != null);
            var start = Position(entity);
            double[] watchStart = null;
            if (_watch != 0)
            {
                WaitFor("the watched entity in view", () => Position(_watch) != null);
                watchStart = Position(_watch);
            }

            // move toward the middle of the world for some ticks
            double dx = start[0] > 0 ? -1.0 : 1.0, dy = start[1] > 0 ? -1.0 : 1.0;
            long seq = 0;
            int interval = 1000 / Math.Max(1, (int)welcome.TickRate);
            for (int i = 0; i < _ticks; i++)
            {
                seq = _client.SendInput(dx, dy);
                Sleep(interval);
            }
            WaitFor("input ack " + seq, () => _client.InputAck >= seq);
            long tickNow = _client.Tick;
            WaitFor("three more ticks", () => _client.Tick >= tickNow + 3);
            var moved = Position(entity);
            double gain = (moved[0] - start[0]) * dx + (moved[1] - start[1]) * dy;
            Step("avatar moved " + gain.ToString("F2", CultureInfo.InvariantCulture) + " m toward the middle in " + _ticks + " inputs");
            Require(gain > 0.4, "the avatar did not move with its inputs");
            var smooth = _client.Interpolated();
            Require(smooth.ContainsKey("player") && Array.IndexOf(smooth["player"].Ids, entity) >= 0, "interpolation lacks the avatar");

            // the other player (a Python bot) moves too
            if (_watch != 0)
            {
                WaitFor("the watched entity to move", () =>
                {
                    var p = Position(_watch);
                    return p != null && Math.Abs(p[0] - watchStart[0]) + Math.Abs(p[1] - watchStart[1]) > 0.2;
                });
                Step("watched entity " + _watch + " moved");
            }

            // one RPC
            var info = (Dictionary<string, object>)_client.CallAsync("room.info", null, 5.0).Result;
            Require(info.ContainsKey("tick") && info.ContainsKey("entities") && (long)info["clients"] >= 1, "room.info result lacks fields");
            Step("room.info: tick " + info["tick"] + ", clients " + info["clients"]);
            bool timedOut = false;
            try { _client.CallAsync("no.such_method", null, 5.0).Wait(); }
            catch (AggregateException e) { timedOut = e.InnerException is RpcException && ((RpcException)e.InnerException).Code == (int)ErrorCode.NoSuchMethod; }
            Require(timedOut, "an unknown method did not fail with NO_SUCH_METHOD");

            // forced disconnect: abort the socket, resume with the resume token
            long acksBefore = _client.Stats.AcksSent;
            _client.DropConnection();
            Step("socket aborted");
            WaitFor("resume", () => _client.Stats.Resumes >= 1 && _client.IsConnected);
            Require(_client.Welcome.Resumed && _client.Entity == entity, "resume did not continue the session");
            WaitFor("snapshots after resume", () => _client.Stats.AcksSent > acksBefore + 3);
            Require(_client.Stats.SnapshotErrors == 0, "snapshot errors: " + _client.Stats.SnapshotErrors);
            Step("resumed: same entity " + entity + ", last input " + _client.Welcome.LastInput);
            for (int i = 0; i < 10; i++)
            {
                seq = _client.SendInput(-dx, -dy);
                Sleep(interval);
            }
            WaitFor("input ack after resume " + seq, () => _client.InputAck >= seq);
            double rtt = _client.PingAsync().Result;

            _client.CloseAsync().Wait();
            _client.Poll();

            // a version mismatch is refused, and the error names both versions
            var stale = new WorldloomClient(new WorldloomClientOptions { Url = _url, Name = "stale", ProtocolOverride = 99, AutoReconnect = false });
            HandshakeRefusedException refused = null;
            try { stale.ConnectAsync().Wait(); }
            catch (AggregateException e) { refused = e.InnerException as HandshakeRefusedException; }
            Require(refused != null && refused.Code == (int)ErrorCode.VersionMismatch && refused.CloseCode == (int)CloseCode.VersionMismatch,
                    "a wrong protocol version was not refused with VERSION_MISMATCH / 4002");
            Require(refused.Message.Contains("99") && refused.Message.Contains("speaks " + ProtocolConstants.ProtocolVersion), "mismatch message lacks a version: " + refused.Message);
            Step("mismatch reported: " + refused.Message);
            Require(_client.CloseCode == (int)CloseCode.Normal, "close code " + _client.CloseCode);
            Require(spawned >= 1 && welcomes == 2 && disconnects == 1, "callbacks: spawned " + spawned + " welcomes " + welcomes + " disconnects " + disconnects);
            Console.WriteLine("RESULT {\"entity\": " + entity + ", \"last_seq\": " + seq + ", \"resumes\": " + _client.Stats.Resumes
                              + ", \"snapshots\": " + _client.Stats.Snapshots + ", \"acks\": " + _client.Stats.AcksSent
                              + ", \"spawned\": " + spawned + ", \"despawned\": " + despawned + ", \"events\": " + events
                              + ", \"rpc_tick\": " + info["tick"] + ", \"rtt\": " + rtt.ToString("R", CultureInfo.InvariantCulture)
                              + ", \"close_code\": " + _client.CloseCode + "}");
            return 0;
        }
    }
}
