// The Unity surface of the SDK: a MonoBehaviour that owns a WorldloomClient, pumps its callbacks on the
// main thread every frame (Update -> Poll), sends input from the Horizontal/Vertical axes at the tick
// rate, and re-raises the client's C# events with Unity positions. Compiled only inside Unity (this folder
// is the only one that uses UnityEngine; everything else compiles with plain Mono/.NET).
//
// Coordinates: the server's world is z-up with (x, y) the horizontal plane; Unity is y-up. ToUnity maps
// server (x, y, z) to Unity (x, z, y); input Horizontal drives server x and Vertical server y.
using System;
using System.Collections.Generic;
using System.Threading.Tasks;
using UnityEngine;
using Worldloom.Protocol;

namespace Worldloom.Unity
{
    /// <summary>Connects to a Worldloom server and exposes the world to Unity code.</summary>
    [AddComponentMenu("Worldloom/Worldloom Client")]
    [DisallowMultipleComponent]
    public sealed class WorldloomBehaviour : MonoBehaviour
    {
        [Tooltip("ws://host:port/ws of the Worldloom server")]
        public string url = "ws://127.0.0.1:8765/ws";
        [Tooltip("player, spectator or admin")]
        public string role = "player";
        [Tooltip("Access token (empty for open play)")]
        public string token = "";
        [Tooltip("Display name sent in Hello")]
        public string playerName = "unity-player";
        public bool connectOnStart = true;
        [Tooltip("Send the Horizontal/Vertical axes as movement input (players only)")]
        public bool sendAxesAsInput = true;

        /// <summary>The underlying client (null before Connect).</summary>
        public WorldloomClient Client { get; private set; }

        /// <summary>Welcome accepted (also after a resume): (avatar entity id, resumed).</summary>
        public event Action<long, bool> Connected;
        /// <summary>An entity entered the view: (kind, id, Unity position).</summary>
        public event Action<string, long, Vector3> EntitySpawned;
        /// <summary>An entity left the view: (kind, id).</summary>
        public event Action<string, long> EntityDespawned;
        /// <summary>A world event (quests, director beats, player.joined, ...).</summary>
        public event Action<Protocol.Event> WorldEvent;
        /// <summary>The connection dropped: (close code or null, will reconnect).</summary>
        public event Action<int?, bool> Disconnected;

        private float _nextInputAt;

        /// <summary>Server metres (x, y, z; z up) to a Unity position (y up).</summary>
        public static Vector3 ToUnity(double x, double y, double z)
        {
            return new Vector3((float)x, (float)z, (float)y);
        }

        private async void Start()
        {
            if (connectOnStart) await Connect();
        }

        /// <summary>Open the connection; errors (refusals, version/schema mismatch naming both sides) are logged.</summary>
        public async Task Connect()
        {
            if (Client != null) return;
            Client = new WorldloomClient(new WorldloomClientOptions
            {
                Url = url, Role = role, Token = token, Name = playerName, ClientName = "worldloom-unity",
            });
            Client.Welcomed += w => { var h = Connected; if (h != null) h(w.Entity, w.Resumed); };
            Client.EntitySpawned += (kind, id, p) => { var h = EntitySpawned; if (h != null) h(kind, id, ToUnity(p[0], p[1], p[2])); };
            Client.EntityDespawned += (kind, id) => { var h = EntityDespawned; if (h != null) h(kind, id); };
            Client.EventReceived += e => { var h = WorldEvent; if (h != null) h(e); };
            Client.Disconnected += (code, retry) =>
            {
                if (!retry) Debug.LogWarning("Worldloom: connection closed (code " + code + ")");
                var h = Disconnected;
                if (h != null) h(code, retry);
            };
            Client.ErrorReceived += e => Debug.LogWarning("Worldloom server error " + e.Code + ": " + e.Message);
            try
            {
                await Client.ConnectAsync();
            }
            catch (WorldloomException e)
            {
                Debug.LogError("Worldloom: " + e.Message);
                Client = null;
            }
        }

        private void Update()
        {
            var client = Client;
            if (client == null) return;
            client.Poll();
            if (!sendAxesAsInput || !client.IsConnected || client.Entity == 0 || client.Welcome == null) return;
            if (Time.unscaledTime < _nextInputAt) return;
            _nextInputAt = Time.unscaledTime + 1f / Mathf.Max(1, (int)client.Welcome.TickRate);
            client.SendInput(UnityEngine.Input.GetAxis("Horizontal"), UnityEngine.Input.GetAxis("Vertical"));
        }

        /// <summary>Smoothed Unity positions of every entity in view (about three send intervals behind).</summary>
        public Dictionary<long, Vector3> InterpolatedPositions()
        {
            var result = new Dictionary<long, Vector3>();
            if (Client == null) return result;
            foreach (var pair in Client.Interpolated())
            {
                SampledKind kind = pair.Value;
                for (int i = 0; i < kind.Count; i++)
                    result[kind.Ids[i]] = ToUnity(kind.Positions[3 * i], kind.Positions[3 * i + 1], kind.Positions[3 * i + 2]);
            }
            return result;
        }

        /// <summary>Call an RPC (e.g. "room.info", "assets.generate_level") with a timeout in seconds.</summary>
        public Task<object> Call(string method, object parameters = null, double timeoutSeconds = 5.0)
        {
            if (Client == null) throw new WorldloomException("not connected: call Connect() first");
            return Client.CallAsync(method, parameters, timeoutSeconds);
        }

        private void OnDestroy()
        {
            var client = Client;
            Client = null;
            if (client != null) client.CloseAsync(); // says Bye; completes in the background
        }
    }
}
