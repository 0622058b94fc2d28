// Minimal sample: renders every entity of the world as a primitive and follows your avatar.
//
// Use: create an empty scene, add an empty GameObject, add this component (it adds WorldloomBehaviour),
// set the server URL, press Play. Move with the arrow keys / WASD (the Horizontal and Vertical axes).
using System.Collections.Generic;
using UnityEngine;
using Worldloom.Unity;

namespace Worldloom.Samples
{
    [RequireComponent(typeof(WorldloomBehaviour))]
    public sealed class WorldViewer : MonoBehaviour
    {
        public Color playerColor = new Color(0.2f, 0.6f, 1f);
        public Color npcColor = new Color(1f, 0.7f, 0.2f);
        public Color selfColor = Color.green;
        public Camera followCamera;
        public Vector3 cameraOffset = new Vector3(0f, 25f, -20f);

        private readonly Dictionary<long, GameObject> _views = new Dictionary<long, GameObject>();
        private WorldloomBehaviour _world;
        private long _self;

        private void Awake()
        {
            _world = GetComponent<WorldloomBehaviour>();
            _world.Connected += (entity, resumed) => _self = entity;
            _world.EntitySpawned += Spawn;
            _world.EntityDespawned += (kind, id) =>
            {
                GameObject view;
                if (_views.TryGetValue(id, out view))
                {
                    Destroy(view);
                    _views.Remove(id);
                }
            };
            _world.WorldEvent += e => Debug.Log("Worldloom event " + e.Kind + " (entity " + e.Entity + ") at tick " + e.Tick);
        }

        private void Spawn(string kind, long id, Vector3 at)
        {
            if (_views.ContainsKey(id)) return;
            var view = GameObject.CreatePrimitive(kind == "player" ? PrimitiveType.Capsule : PrimitiveType.Sphere);
            view.name = kind + " " + id;
            view.transform.SetParent(transform, false);
            view.transform.position = at;
            view.GetComponent<Renderer>().material.color = id == _self ? selfColor : kind == "player" ? playerColor : npcColor;
            _views[id] = view;
        }

        private void LateUpdate()
        {
            foreach (var pair in _world.InterpolatedPositions())
            {
                GameObject view;
                if (_views.TryGetValue(pair.Key, out view)) view.transform.position = pair.Value;
            }
            GameObject me;
            if (followCamera != null && _views.TryGetValue(_self, out me))
                followCamera.transform.position = me.transform.position + cameraOffset;
        }
    }
}
