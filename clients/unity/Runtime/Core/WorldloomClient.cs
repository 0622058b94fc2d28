// WorldloomClient: the System.Net.WebSockets adapter around the SDK's protocol pieces.
//
// Why this design: every protocol rule already lives in small engine-free pieces (generated messages +
// MsgPack codec, SnapshotAssembler, InputLog, InterpolationBuffer); this class only moves bytes and routes
// decoded messages. One background task owns the socket: it reads frames, assembles snapshots, sends the
// Acks, resolves RPC answers and, when the connection drops (a network loss, or a close the protocol says
// to retry: 1001, 4007), reconnects with the resume token and resends the inputs the server did not get.
// Application callbacks (C# events) are never raised on that background thread: they are queued and run by
// Poll() on the caller's thread — Unity's main thread calls it from Update(). So acks and resumes keep
// flowing even when a frame stalls, and user code never needs locks.
//
// Alternatives rejected: raising events on the socket thread (Unity APIs may only be used from the main
// thread); processing snapshots in Poll() (acks would then depend on the frame rate, and a paused game
// would fall back to full snapshots).
using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Net.WebSockets;
using System.Threading;
using System.Threading.Tasks;
using Worldloom.Protocol;

namespace Worldloom
{
    /// <summary>Connection settings of a <see cref="WorldloomClient"/>.</summary>
    public sealed class WorldloomClientOptions
    {
        /// <summary>ws://host:port/ws</summary>
        public string Url = "ws://127.0.0.1:8765/ws";
        /// <summary>"player", "spectator", "service" or "admin".</summary>
        public string Role = "player";
        /// <summary>Access token (required for service/admin; "" for open play).</summary>
        public string Token = "";
        /// <summary>Display name sent in Hello.</summary>
        public string Name = "";
        /// <summary>Hello.client.</summary>
        public string ClientName = "worldloom-unity";
        /// <summary>Reconnect and resume after a drop (not after Close() nor a close code that forbids it).</summary>
        public bool AutoReconnect = true;
        /// <summary>Handshakes tried per drop before giving up.</summary>
        public int ReconnectAttempts = 8;
        /// <summary>First backoff delay in seconds (doubles per attempt, at most 2 s, jittered).</summary>
        public double ReconnectDelay = 0.05;
        /// <summary>Seconds to wait for the socket and the Welcome.</summary>
        public double HandshakeTimeout = 10.0;
        /// <summary>Interpolation delay in seconds; NaN: three send intervals (3 / Welcome.tick_rate).</summary>
        public double InterpolationDelay = double.NaN;
        /// <summary>Protocol version to announce instead of ProtocolConstants.ProtocolVersion (only to test
        /// how a mismatch is reported); 0: the SDK's own.</summary>
        public int ProtocolOverride = 0;
    }

    /// <summary>Counters of one client across reconnects.</summary>
    public sealed class ClientStats
    {
        public long FramesReceived, BytesReceived, FramesSent, BytesSent, SnapshotParts, Snapshots, SnapshotErrors,
            AcksSent, InputsSent, InputsResent, Events, Errors, DecodeErrors, RpcCalls, Disconnects, Reconnects, Resumes;
        /// <summary>Last measured round trip in seconds (NaN before the first Pong).</summary>
        public double Rtt = double.NaN;
    }

    /// <summary>A Worldloom client for players, spectators, admins and services (RPC callers).</summary>
    public sealed class WorldloomClient : IDisposable
    {
        /// <summary>SDK version sent in Hello.version.</summary>
        public const string Version = "0.1.0";

        private const int MaxMessageBytes = 1 << 20;
        private static readonly HashSet<int> NoReconnect = new HashSet<int>
        {
            (int)Protocol.CloseCode.Normal, (int)Protocol.CloseCode.MessageTooBig, (int)Protocol.CloseCode.ProtocolViolation, (int)Protocol.CloseCode.Unauthorized,
            (int)Protocol.CloseCode.VersionMismatch, (int)Protocol.CloseCode.RateLimit, (int)Protocol.CloseCode.TooManyErrors, (int)Protocol.CloseCode.Replaced,
        };
        private static readonly HashSet<int> FatalRefusals = new HashSet<int>
        {
            (int)ErrorCode.Unauthorized, (int)ErrorCode.VersionMismatch, (int)ErrorCode.SchemaMismatch,
        };

        private readonly WorldloomClientOptions _options;
        private readonly ConcurrentQueue<Action> _callbacks = new ConcurrentQueue<Action>();
        private readonly ConcurrentDictionary<long, PendingCall> _calls = new ConcurrentDictionary<long, PendingCall>();
        private readonly ConcurrentDictionary<long, TaskCompletionSource<double>> _pings = new ConcurrentDictionary<long, TaskCompletionSource<double>>();
        private readonly SemaphoreSlim _sendLock = new SemaphoreSlim(1, 1);
        private readonly object _inputLock = new object();
        private readonly object _bufferLock = new object();
        private readonly InputLog _inputs = new InputLog();
        private readonly InterpolationBuffer _buffer = new InterpolationBuffer();
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly Random _jitter = new Random();
        private SnapshotAssembler _assembler = new SnapshotAssembler(64);
        private ClientWebSocket _ws;
        private Task _runner;
        private volatile bool _online;
        private volatile bool _closing;
        private volatile WorldView _view = new WorldView();
        private int? _byeCode;
        private long _nextCallId;
        private long _nextNonce;
        private double _clockOffset = double.NaN;
        private ConnectionLostException _lost;

        private sealed class PendingCall
        {
            public string Method;
            public TaskCompletionSource<object> Result;
        }

        public WorldloomClient(WorldloomClientOptions options)
        {
            _options = options ?? throw new ArgumentNullException("options");
        }

        // ------------------------------------------------------------ events (raised from Poll)
        /// <summary>A Welcome was accepted (first connect and every reconnect; check Resumed).</summary>
        public event Action<Welcome> Welcomed;
        /// <summary>A snapshot tick completed and was acknowledged: (tick, view).</summary>
        public event Action<long, WorldView> SnapshotApplied;
        /// <summary>An entity appeared in view: (kind, id, position in metres as x, y, z).</summary>
        public event Action<string, long, double[]> EntitySpawned;
        /// <summary>An entity left the view (despawned or out of the area of interest): (kind, id).</summary>
        public event Action<string, long> EntityDespawned;
        /// <summary>A world event (quests, director beats, player.joined, ...). Ignore kinds you do not know.</summary>
        public event Action<Event> EventReceived;
        /// <summary>An Error the server sent (a refused message or a notice).</summary>
        public event Action<Error> ErrorReceived;
        /// <summary>The connection dropped: (close code or null for a network loss, whether it will reconnect).</summary>
        public event Action<int?, bool> Disconnected;

        // ------------------------------------------------------------ state
        /// <summary>True while a socket is open and welcomed (false while reconnecting).</summary>
        public bool IsConnected { get { return _online; } }
        /// <summary>The newest Welcome.</summary>
        public Welcome Welcome { get; private set; }
        /// <summary>The avatar's entity id (0 for roles without one).</summary>
        public long Entity { get; private set; }
        /// <summary>The newest completed snapshot tick.</summary>
        public long Tick { get; private set; }
        /// <summary>The newest completed world view (quantized; metres = q * Welcome.Quantum).</summary>
        public WorldView View { get { return _view; } }
        /// <summary>The newest input seq the server reported as applied.</summary>
        public long InputAck { get { lock (_inputLock) return _inputs.Acked; } }
        /// <summary>The close code that ended the client for good (null while alive or after a network loss).</summary>
        public int? CloseCode { get; private set; }
        public readonly ClientStats Stats = new ClientStats();

        /// <summary>Seconds on this client's monotonic clock.</summary>
        public double Now() { return _clock.Elapsed.TotalSeconds; }

        /// <summary>Estimated current server clock (seconds) from snapshot times; 0 before any snapshot.</summary>
        public double ServerTime()
        {
            double offset = _clockOffset;
            return double.IsNaN(offset) ? 0.0 : Now() + offset;
        }

        /// <summary>Smoothed positions (metres) per kind at the estimated server time minus the interpolation delay.</summary>
        public Dictionary<string, SampledKind> Interpolated()
        {
            lock (_bufferLock) return _buffer.Sample(ServerTime());
        }

        /// <summary>Position in metres of <paramref name="id"/> in the newest view; false when not in view.</summary>
        public bool TryGetPosition(long id, out double x, out double y, out double z)
        {
            var view = _view;
            string kind;
            int row;
            x = y = z = 0;
            if (!view.TryFind(id, out kind, out row)) return false;
            double quantum = Welcome != null ? Welcome.Quantum : ProtocolConstants.PositionQuantum;
            var q = view[kind].Q;
            x = q[3 * row] * quantum;
            y = q[3 * row + 1] * quantum;
            z = q[3 * row + 2] * quantum;
            return true;
        }

        // ------------------------------------------------------------ public API
        /// <summary>Open the socket, say Hello, wait for Welcome, then start the background receive task.</summary>
        /// <exception cref="HandshakeRefusedException">the server refused (e.g. version or schema mismatch: the
        /// message names both sides).</exception>
        /// <exception cref="ConnectFailedException">no socket or no Welcome in time.</exception>
        public async Task<Welcome> ConnectAsync()
        {
            if (_runner != null) throw new WorldloomException("ConnectAsync was already called on this client");
            var hs = await HandshakeAsync("").ConfigureAwait(false);
            await AdoptAsync(hs, false).ConfigureAwait(false);
            _runner = Task.Run(RunAsync);
            return hs.Welcome;
        }

        /// <summary>Run the queued callbacks (events) on this thread; returns how many ran. Call it every frame.</summary>
        public int Poll(int max = int.MaxValue)
        {
            int ran = 0;
            Action callback;
            while (ran < max && _callbacks.TryDequeue(out callback))
            {
                callback();
                ran++;
            }
            return ran;
        }

        /// <summary>Send one input (axes clamped to [-1, 1]); returns its seq. While reconnecting it is only
        /// logged and sent after the resume.</summary>
        /// <exception cref="ConnectionLostException">the client is closed for good.</exception>
        public long SendInput(double moveX, double moveY, long buttons = 0)
        {
            if (_lost != null) throw _lost;
            Input input;
            lock (_inputLock) input = _inputs.Record(moveX, moveY, buttons, Tick);
            var frame = MessageCodec.Encode(input);
            SendFrameAsync(frame).ContinueWith(t =>
            {
                if (t.Status == TaskStatus.RanToCompletion && t.Result) Interlocked.Increment(ref Stats.InputsSent);
            });
            return input.Seq;
        }

        /// <summary>Call an RPC method (built-in such as "room.info", or provided by a service) and return its result.</summary>
        /// <exception cref="RpcException">an error answer, or none within <paramref name="timeoutSeconds"/> (RPC_TIMEOUT).</exception>
        /// <exception cref="ConnectionLostException">the client is closed for good.</exception>
        public async Task<object> CallAsync(string method, object parameters = null, double timeoutSeconds = 5.0)
        {
            if (_lost != null) throw _lost;
            long id = Interlocked.Increment(ref _nextCallId);
            var call = new PendingCall { Method = method, Result = new TaskCompletionSource<object>(TaskCreationOptions.RunContinuationsAsynchronously) };
            _calls[id] = call;
            var request = new RpcRequest
            {
                Id = id, Method = method, Params = parameters,
                DeadlineMs = Math.Min(600000, Math.Max(1, (long)(timeoutSeconds * 1000))),
            };
            byte[] frame;
            try
            {
                frame = MessageCodec.Encode(request);
            }
            catch (ArgumentException e)
            {
                _calls.TryRemove(id, out call);
                throw new RpcException(method, (int)ErrorCode.Invalid, "params are not serializable (" + e.Message + ")");
            }
            Interlocked.Increment(ref Stats.RpcCalls);
            using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(timeoutSeconds)))
            using (timeout.Token.Register(() => call.Result.TrySetException(
                       new RpcException(method, (int)ErrorCode.RpcTimeout, "no answer within " + timeoutSeconds + " s"))))
            {
                try
                {
                    while (!await SendFrameAsync(frame).ConfigureAwait(false))
                    {
                        if (_lost != null) throw _lost;
                        if (call.Result.Task.IsCompleted) break;
                        await Task.Delay(20).ConfigureAwait(false); // reconnecting: send once back online
                    }
                    return await call.Result.Task.ConfigureAwait(false);
                }
                finally
                {
                    _calls.TryRemove(id, out call);
                }
            }
        }

        /// <summary>Measure one round trip (seconds; also stored in Stats.Rtt).</summary>
        public async Task<double> PingAsync(double timeoutSeconds = 5.0)
        {
            if (_lost != null) throw _lost;
            long nonce = Interlocked.Increment(ref _nextNonce);
            var tcs = new TaskCompletionSource<double>(TaskCreationOptions.RunContinuationsAsynchronously);
            _pings[nonce] = tcs;
            try
            {
                await SendFrameAsync(MessageCodec.Encode(new Ping { Nonce = nonce, Time = Now() })).ConfigureAwait(false);
                var done = await Task.WhenAny(tcs.Task, Task.Delay(TimeSpan.FromSeconds(timeoutSeconds))).ConfigureAwait(false);
                if (done != tcs.Task) throw new TimeoutException("no pong within " + timeoutSeconds + " s");
                return await tcs.Task.ConfigureAwait(false);
            }
            finally
            {
                _pings.TryRemove(nonce, out tcs);
            }
        }

        /// <summary>Abort the TCP connection without Bye (to test resume); the client reconnects if enabled.</summary>
        public void DropConnection()
        {
            var ws = _ws;
            if (ws != null) ws.Abort();
        }

        /// <summary>Say Bye, close the socket (1000) and stop the background task. Safe to call twice.</summary>
        public async Task CloseAsync()
        {
            if (_closing)
            {
                if (_runner != null) await Task.WhenAny(_runner, Task.Delay(1000)).ConfigureAwait(false);
                return;
            }
            _closing = true;
            var ws = _ws;
            if (ws != null && ws.State == WebSocketState.Open)
            {
                await SendFrameAsync(MessageCodec.Encode(new Bye { Code = (long)Protocol.CloseCode.Normal, Reason = "client closing" })).ConfigureAwait(false);
                try
                {
                    using (var cts = new CancellationTokenSource(1000))
                        await ws.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", cts.Token).ConfigureAwait(false);
                }
                catch (Exception)
                {
                    ws.Abort();
                }
            }
            if (_runner != null && await Task.WhenAny(_runner, Task.Delay(2000)).ConfigureAwait(false) != _runner && ws != null)
                ws.Abort();
            if (ws != null && ws.CloseStatus.HasValue) CloseCode = (int)ws.CloseStatus.Value;
            Shutdown(new ConnectionLostException("client closed", CloseCode));
        }

        public void Dispose()
        {
            if (!_closing) CloseAsync().Wait(3000);
            var ws = _ws;
            if (ws != null) ws.Dispose();
        }

        // ------------------------------------------------------------ connection lifecycle
        private sealed class Handshake
        {
            public ClientWebSocket Socket;
            public Welcome Welcome;
            public List<IMessage> Early;
        }

        private string Describe()
        {
            int protocol = _options.ProtocolOverride > 0 ? _options.ProtocolOverride : ProtocolConstants.ProtocolVersion;
            return _options.ClientName + " " + Version + ", protocol " + protocol + ", schema " + ProtocolConstants.SchemaHash;
        }

        private async Task<Handshake> HandshakeAsync(string resume)
        {
            var ws = new ClientWebSocket();
            ws.Options.KeepAliveInterval = TimeSpan.Zero; // the server pings us; we answer automatically
            using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(_options.HandshakeTimeout)))
            {
                try
                {
                    await ws.ConnectAsync(new Uri(_options.Url), cts.Token).ConfigureAwait(false);
                }
                catch (Exception e)
                {
                    ws.Dispose();
                    throw new ConnectFailedException("cannot open " + _options.Url + ": " + e.GetBaseException().Message, e);
                }
                var hello = new Hello
                {
                    Protocol = _options.ProtocolOverride > 0 ? _options.ProtocolOverride : ProtocolConstants.ProtocolVersion, Schema = ProtocolConstants.SchemaHash,
                    Client = _options.ClientName, Version = Version, Role = _options.Role, Token = _options.Token ?? "",
                    Resume = resume ?? "", Name = _options.Name ?? "",
                };
                var early = new List<IMessage>();
                Error refusal = null;
                var buffer = new byte[65536];
                var frame = new MemoryStream();
                try
                {
                    await RawSendAsync(ws, MessageCodec.Encode(hello)).ConfigureAwait(false);
                    while (true)
                    {
                        byte[] data = await ReceiveFrameAsync(ws, buffer, frame, cts.Token).ConfigureAwait(false);
                        if (data == null) break; // closed
                        IMessage message;
                        try
                        {
                            message = ServerMessages.Decode(data);
                        }
                        catch (ProtocolDecodeException e)
                        {
                            ws.Abort();
                            throw new HandshakeRefusedException(e.Code, "server sent an invalid frame: " + e.Message, null, Describe());
                        }
                        var welcome = message as Welcome;
                        if (welcome != null) return new Handshake { Socket = ws, Welcome = welcome, Early = early };
                        var error = message as Error;
                        var bye = message as Bye;
                        if (error != null)
                        {
                            OnError(error);
                            refusal = error;
                        }
                        else if (bye != null)
                        {
                            refusal = refusal ?? new Error { Code = (long)ErrorCode.ShuttingDown, Message = bye.Reason };
                        }
                        else early.Add(message);
                    }
                }
                catch (OperationCanceledException)
                {
                    ws.Abort();
                    throw new ConnectFailedException("no welcome from " + _options.Url + " within " + _options.HandshakeTimeout + " s");
                }
                catch (WebSocketException)
                {
                    // closed under us: reported below with the refusal, if any
                }
                int? close = ws.CloseStatus.HasValue ? (int?)(int)ws.CloseStatus.Value : null;
                ws.Dispose();
                if (refusal != null) throw new HandshakeRefusedException((int)refusal.Code, refusal.Message, close, Describe());
                throw new HandshakeRefusedException(0, "connection closed before Welcome", close, Describe());
            }
        }

        private async Task AdoptAsync(Handshake hs, bool reconnect)
        {
            var welcome = hs.Welcome;
            _ws = hs.Socket;
            _byeCode = null;
            Welcome = welcome;
            Entity = welcome.Entity;
            lock (_bufferLock)
            {
                _buffer.Quantum = welcome.Quantum > 0 ? welcome.Quantum : ProtocolConstants.PositionQuantum;
                _buffer.Delay = !double.IsNaN(_options.InterpolationDelay) ? _options.InterpolationDelay
                    : welcome.TickRate > 0 ? 3.0 / welcome.TickRate : 0.15;
            }
            if (reconnect)
            {
                Stats.Reconnects++;
                if (welcome.Resumed) Stats.Resumes++;
                else
                {
                    // a new session: the server knows none of our ticks or inputs
                    _assembler = new SnapshotAssembler(64);
                    lock (_inputLock) _inputs.Clear();
                    lock (_bufferLock) _buffer.Clear();
                }
            }
            _online = true;
            _callbacks.Enqueue(() => { var h = Welcomed; if (h != null) h(welcome); });
            foreach (var message in hs.Early) await HandleAsync(message).ConfigureAwait(false);
            if (reconnect && welcome.Resumed)
            {
                List<Input> resend;
                lock (_inputLock) resend = _inputs.Unacknowledged(welcome.LastInput);
                foreach (var input in resend)
                    if (await SendFrameAsync(MessageCodec.Encode(input)).ConfigureAwait(false)) Stats.InputsResent++;
            }
        }

        private async Task RunAsync()
        {
            var buffer = new byte[65536];
            var frame = new MemoryStream();
            while (true)
            {
                var ws = _ws;
                try
                {
                    while (true)
                    {
                        byte[] data = await ReceiveFrameAsync(ws, buffer, frame, CancellationToken.None).ConfigureAwait(false);
                        if (data == null) break;
                        IMessage message;
                        try
                        {
                            message = ServerMessages.Decode(data);
                        }
                        catch (ProtocolDecodeException)
                        {
                            Stats.DecodeErrors++;
                            continue;
                        }
                        await HandleAsync(message).ConfigureAwait(false);
                    }
                }
                catch (Exception)
                {
                    // network loss or abort: handled below like a close without code
                }
                _online = false;
                if (_closing) return;
                int? code = _byeCode ?? (ws.CloseStatus.HasValue ? (int?)(int)ws.CloseStatus.Value : null);
                ws.Dispose();
                if (!_options.AutoReconnect || (code.HasValue && NoReconnect.Contains(code.Value)))
                {
                    CloseCode = code;
                    _callbacks.Enqueue(() => { var h = Disconnected; if (h != null) h(code, false); });
                    Shutdown(new ConnectionLostException("server closed the connection", code));
                    return;
                }
                Stats.Disconnects++;
                _callbacks.Enqueue(() => { var h = Disconnected; if (h != null) h(code, true); });
                if (!await ReconnectAsync(code).ConfigureAwait(false)) return;
            }
        }

        private async Task<bool> ReconnectAsync(int? code)
        {
            double delay = _options.ReconnectDelay;
            string resume = Welcome != null ? Welcome.Resume : "";
            Exception last = null;
            for (int attempt = 0; attempt < _options.ReconnectAttempts; attempt++)
            {
                if (_closing) return false;
                try
                {
                    var hs = await HandshakeAsync(resume).ConfigureAwait(false);
                    if (_closing)
                    {
                        await RawSendAsync(hs.Socket, MessageCodec.Encode(new Bye { Code = 1000, Reason = "client closing" })).ConfigureAwait(false);
                        hs.Socket.Abort();
                        return false;
                    }
                    await AdoptAsync(hs, true).ConfigureAwait(false);
                    return true;
                }
                catch (HandshakeRefusedException e)
                {
                    last = e;
                    if (FatalRefusals.Contains(e.Code)) break;
                }
                catch (ConnectFailedException e)
                {
                    last = e;
                }
                double wait;
                lock (_jitter) wait = delay * (0.5 + _jitter.NextDouble());
                await Task.Delay(TimeSpan.FromSeconds(wait)).ConfigureAwait(false);
                delay = Math.Min(delay * 2.0, 2.0);
            }
            CloseCode = code;
            Shutdown(new ConnectionLostException("connection lost and not re-established (" + (last != null ? last.Message : "closing") + ")", code));
            return false;
        }

        private void Shutdown(ConnectionLostException error)
        {
            _online = false;
            if (_lost == null) _lost = error;
            foreach (var pair in _calls) pair.Value.Result.TrySetException(_lost);
            foreach (var pair in _pings) pair.Value.TrySetException(_lost);
        }

        // ------------------------------------------------------------ bytes
        /// <summary>One whole binary message, or null when the socket closed. Text frames are skipped.</summary>
        private async Task<byte[]> ReceiveFrameAsync(ClientWebSocket ws, byte[] buffer, MemoryStream frame, CancellationToken ct)
        {
            frame.SetLength(0);
            while (true)
            {
                var result = await ws.ReceiveAsync(new ArraySegment<byte>(buffer), ct).ConfigureAwait(false);
                if (result.MessageType == WebSocketMessageType.Close) return null;
                frame.Write(buffer, 0, result.Count);
                if (frame.Length > MaxMessageBytes)
                {
                    ws.Abort();
                    throw new WebSocketException("server message larger than " + MaxMessageBytes + " bytes");
                }
                if (!result.EndOfMessage) continue;
                Stats.FramesReceived++;
                Stats.BytesReceived += frame.Length;
                if (result.MessageType != WebSocketMessageType.Binary)
                {
                    frame.SetLength(0);
                    continue;
                }
                return frame.ToArray();
            }
        }

        private async Task RawSendAsync(ClientWebSocket ws, byte[] frame)
        {
            await _sendLock.WaitAsync().ConfigureAwait(false);
            try
            {
                await ws.SendAsync(new ArraySegment<byte>(frame), WebSocketMessageType.Binary, true, CancellationToken.None).ConfigureAwait(false);
                Interlocked.Increment(ref Stats.FramesSent);
                Interlocked.Add(ref Stats.BytesSent, frame.Length);
            }
            finally
            {
                _sendLock.Release();
            }
        }

        /// <summary>Write one frame on the live connection; false (not thrown) when there is none.</summary>
        private async Task<bool> SendFrameAsync(byte[] frame)
        {
            var ws = _ws;
            if (ws == null || !_online || ws.State != WebSocketState.Open) return false;
            try
            {
                await RawSendAsync(ws, frame).ConfigureAwait(false);
                return true;
            }
            catch (Exception)
            {
                return false;
            }
        }

        // ------------------------------------------------------------ receiving (background task)
        private async Task HandleAsync(IMessage message)
        {
            var snap = message as Snapshot;
            if (snap != null) { await OnSnapshotAsync(snap).ConfigureAwait(false); return; }
            var ev = message as Event;
            if (ev != null)
            {
                Stats.Events++;
                _callbacks.Enqueue(() => { var h = EventReceived; if (h != null) h(ev); });
                return;
            }
            var response = message as RpcResponse;
            if (response != null)
            {
                PendingCall call;
                if (_calls.TryGetValue(response.Id, out call))
                {
                    if (response.Code == 0) call.Result.TrySetResult(response.Result);
                    else call.Result.TrySetException(new RpcException(call.Method, (int)response.Code, response.Message));
                }
                return;
            }
            var pong = message as Pong;
            if (pong != null)
            {
                double rtt = Now() - pong.Time;
                Stats.Rtt = rtt;
                TaskCompletionSource<double> tcs;
                if (_pings.TryGetValue(pong.Nonce, out tcs)) tcs.TrySetResult(rtt);
                return;
            }
            var error = message as Error;
            if (error != null) { OnError(error); return; }
            var bye = message as Bye;
            if (bye != null) { _byeCode = (int)bye.Code; return; }
            var request = message as RpcRequest;
            if (request != null)
            {
                // This SDK provides no methods (Hello.methods is empty); answer so the caller is not left waiting.
                await SendFrameAsync(MessageCodec.Encode(new RpcResponse
                {
                    Id = request.Id, Code = (long)ErrorCode.NoSuchMethod, Message = "this client provides no methods",
                })).ConfigureAwait(false);
            }
        }

        private void OnError(Error error)
        {
            Stats.Errors++;
            _callbacks.Enqueue(() => { var h = ErrorReceived; if (h != null) h(error); });
        }

        private async Task OnSnapshotAsync(Snapshot snap)
        {
            Stats.SnapshotParts++;
            lock (_inputLock)
                if (snap.InputAck > _inputs.Acked) _inputs.Acknowledge(snap.InputAck);
            WorldView view;
            try
            {
                view = _assembler.Feed(snap);
            }
            catch (SnapshotException)
            {
                Stats.SnapshotErrors++; // no ack: the server falls back to a full snapshot
                return;
            }
            if (view == null) return;
            var previous = _view;
            long tick = snap.Tick;
            Tick = tick;
            _view = view;
            Stats.Snapshots++;
            lock (_bufferLock) _buffer.Push(snap.Time, view);
            double offset = snap.Time - Now();
            _clockOffset = double.IsNaN(_clockOffset) ? offset : _clockOffset + 0.1 * (offset - _clockOffset);
            if (await SendFrameAsync(MessageCodec.Encode(new Ack { Tick = tick })).ConfigureAwait(false)) Stats.AcksSent++;
            QueueMembershipChanges(previous, view);
            _callbacks.Enqueue(() => { var h = SnapshotApplied; if (h != null) h(tick, view); });
        }

        /// <summary>Queue EntitySpawned/EntityDespawned for ids that entered or left between two views.</summary>
        private void QueueMembershipChanges(WorldView before, WorldView after)
        {
            double quantum = Welcome != null ? Welcome.Quantum : ProtocolConstants.PositionQuantum;
            foreach (var pair in after)
            {
                KindView old;
                if (!before.TryGetValue(pair.Key, out old)) old = KindView.Empty;
                Diff(pair.Key, old, pair.Value, quantum);
            }
            foreach (var pair in before)
                if (!after.ContainsKey(pair.Key)) Diff(pair.Key, pair.Value, KindView.Empty, quantum);
        }

        private void Diff(string kind, KindView old, KindView now, double quantum)
        {
            int i = 0, j = 0;
            while (i < old.Ids.Length || j < now.Ids.Length)
            {
                if (j >= now.Ids.Length || (i < old.Ids.Length && old.Ids[i] < now.Ids[j]))
                {
                    long gone = old.Ids[i++];
                    _callbacks.Enqueue(() => { var h = EntityDespawned; if (h != null) h(kind, gone); });
                }
                else if (i >= old.Ids.Length || now.Ids[j] < old.Ids[i])
                {
                    long id = now.Ids[j];
                    var pos = new[] { now.Q[3 * j] * quantum, now.Q[3 * j + 1] * quantum, now.Q[3 * j + 2] * quantum };
                    j++;
                    _callbacks.Enqueue(() => { var h = EntitySpawned; if (h != null) h(kind, id, pos); });
                }
                else
                {
                    i++;
                    j++;
                }
            }
        }
    }
}
