"""Rigid bodies that matter to play (projectiles, props, collapsing walls) on pybullet, exactly resumable.

The only module of the project that imports pybullet. Each ``PhysicsWorld`` owns its own DIRECT client, so
several may live in one process. z is up, lengths in metres, masses in kg, times in seconds, impulses N*s.
A tick is ``substeps`` fixed pybullet steps of ``dt / substeps``.

Design: exact continuation after a save
---------------------------------------
Bullet keeps state between steps that the body arrays do not show: persistent contact manifolds (cached
contact points and the impulses that warm-start the solver), the broadphase's unique proxy ids (which, with
``deterministicOverlappingPairs``, fix the order in which pairs and manifolds are processed) and the order
of bodies in its arrays. A load that re-creates the bodies and resets positions and velocities starts with
empty manifolds and cold impulses and drifts apart from the original run within a few ticks of contact.

What we do instead, checked by ``tests/test_physics.py`` in fresh processes:

1. Every body is a *multibody* without links (pybullet's default, not ``useMaximalCoordinates``): its base
   orientation is stored as a quaternion and can be read and written bit for bit. Sleeping stays off
   (pybullet's default for created multibodies), so no hidden deactivation timers exist.
2. ``to_bytes`` stores pybullet's own serialized world (``saveBullet``, a .bullet file that carries the
   multibody states *and the contact manifolds*, including the applied impulses used for warm starting).
3. ``from_bytes`` re-creates the bodies by replaying the structural log -- every add and remove since the
   world was last (re)built, in order -- so that broadphase ids and body array order are those of the
   original, and then calls ``restoreState`` on that file, which restores the multibody states by index
   and re-attaches the saved manifolds by matching broadphase ids.
4. The log cannot grow without bound: once more bodies have been removed since the last build than are
   alive (and at least ``rebuild_after_removals``, default 512), ``step`` rebuilds the world from the body
   arrays. A rebuild drops the contact caches (one cold solver step for resting contacts), but it happens at the
   same tick with the same arrays in every run, original or resumed, so it is as deterministic as the rest.

Rejected: (a) re-create bodies and reset their state on load -- diverges whenever something touches;
(b) make each tick independent of cached state by rebuilding the world every tick -- measured at tens of
ms for 2000 bodies, and every tick would lose warm starting, so stacks creep; (c) maximal-coordinate rigid
bodies -- about 1.6x faster, but ``restoreState`` does not restore them and their rotation is kept as a
matrix, so a quaternion written back is not bit-exact; (d) replaying every command since tick 0 on load --
exact, but saves and load time grow with the age of the world.

The world hash (``state_bytes``) covers the body columns, the contact points Bullet has cached (as
``getContactPoints`` reports them, canonically sorted), the contact-report state and the structural log.
The .bullet bytes themselves hold memory addresses, so ``to_bytes`` is exact but not canonical.

Removals: bodies whose centre leaves ``bounds`` (x/y) or falls below ``kill_z``, or whose state becomes
non-finite, are removed at the end of ``step``; ``removed_last_step()`` lists their handles.
Contacts: ``step`` returns one ``Contact`` per pair whose normal impulse summed over the tick's substeps
reaches ``contact_threshold`` while it did not the tick before (a rising edge, so a resting stack reports
once, not every tick). The terrain (or ground plane) is body ``-1`` and is always ``b``.
"""

from __future__ import annotations

import os
import struct
import tempfile
import weakref
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from ..errors import CorruptStateError, InputError
from .arguments import (
    TERRAIN,
    Contact,
    check_terrain,
    finite_vector,
    positive_number,
    terrain_digest,
)
from .snapshot import ADD, REMOVE, BodySpec, SaveRecord, decode_record, encode_record


def _import_pybullet():  # noqa: ANN202
    """Import pybullet without its "pybullet build time" banner (printed by C on stderr at import), which
    would garble CLI output and logs. Both standard streams are pointed at /dev/null for the import only."""
    import ctypes
    import sys

    sys.stdout.flush()
    sys.stderr.flush()
    saved = {fd: os.dup(fd) for fd in (1, 2)}
    try:
        with open(os.devnull, "w") as devnull:
            for fd in saved:
                os.dup2(devnull.fileno(), fd)
            import pybullet as module

            ctypes.CDLL(None).fflush(None)  # C's buffered streams are flushed while still pointed away
    finally:
        for fd, copy in saved.items():
            os.dup2(copy, fd)
            os.close(copy)
    return module


pybullet = _import_pybullet()

SPHERE, BOX = 0, 1
"""Shape kinds stored in the ``kind`` column; ``dims`` is (radius, 0, 0) or the box half extents."""
REBUILD_AFTER_REMOVALS = 512
"""Default: rebuild the pybullet world once this many (and more than the live count) bodies were removed."""
FRICTION, RESTITUTION, ROLLING_FRICTION = 0.6, 0.1, 0.002
_PARK = 1.0e6  # bodies replayed only to be removed again are created this far away (metres)


class PhysicsWorld:
    """A deterministic rigid-body world on its own pybullet DIRECT client.

    Args:
        dt: tick length, seconds (> 0). substeps: pybullet steps per tick (>= 1).
        gravity: downward acceleration, m/s^2. terrain: None (ground plane at z = 0) or
            (heights (H, W) metres, tile_size metres, (x0, y0)); see ``Terrain``.
        contact_threshold: minimum normal impulse per tick of a reported contact, N*s.
        kill_z: bodies below this height are removed (default: lowest ground minus 100 m).
        bounds: (xmin, ymin, xmax, ymax) outside which bodies are removed (default: the terrain's extent,
            or +-10 km around the origin for the ground plane).
        solver_iterations: constraint solver iterations per substep.
        rebuild_after_removals: removals since the last build (and more than the live count) that make
            ``step`` rebuild the pybullet world from the body columns (see the module docstring).
    Raises:
        InputError: a parameter is non-finite or out of range (the message names it).
    """

    def __init__(self, dt: float = 1 / 20, substeps: int = 4, gravity: float = 9.81, terrain: object = None,
                 contact_threshold: float = 1.0, kill_z: float | None = None,
                 bounds: Sequence[float] | None = None, solver_iterations: int = 20,
                 rebuild_after_removals: int = REBUILD_AFTER_REMOVALS) -> None:
        self._terrain = check_terrain(terrain)
        if isinstance(substeps, bool) or not isinstance(substeps, int | np.integer) or not 1 <= substeps <= 64:
            raise InputError(f"substeps must be an integer in 1..64, got {substeps!r}")
        if isinstance(solver_iterations, bool) or not isinstance(solver_iterations, int | np.integer) \
                or not 1 <= solver_iterations <= 1000:
            raise InputError(f"solver_iterations must be an integer in 1..1000, got {solver_iterations!r}")
        if isinstance(rebuild_after_removals, bool) or not isinstance(rebuild_after_removals, int | np.integer) \
                or rebuild_after_removals < 1:
            raise InputError(f"rebuild_after_removals must be an integer >= 1, got {rebuild_after_removals!r}")
        ground = 0.0 if self._terrain is None else float(self._terrain.heights.min())
        if bounds is None and self._terrain is not None:
            (x0, y0), hh, ww = self._terrain.origin, *self._terrain.heights.shape
            bounds = (x0, y0, x0 + (ww - 1) * self._terrain.tile_size, y0 + (hh - 1) * self._terrain.tile_size)
        bx0, by0, bx1, by1 = finite_vector("bounds", (-1e4, -1e4, 1e4, 1e4) if bounds is None else bounds, 4)
        bounds_t = (bx0, by0, bx1, by1)
        if not (bounds_t[0] < bounds_t[2] and bounds_t[1] < bounds_t[3]):
            raise InputError(f"bounds must be (xmin, ymin, xmax, ymax) with min < max, got {bounds!r}")
        self._params = (positive_number("dt", dt), int(substeps), finite_vector("gravity", gravity, 1)[0],
                        positive_number("contact_threshold", contact_threshold, allow_zero=True),
                        finite_vector("kill_z", ground - 100.0 if kill_z is None else kill_z, 1)[0],
                        bounds_t, int(solver_iterations), int(rebuild_after_removals))
        self.tick = 0
        self._next_handle = 0
        self._above: set[tuple[int, int]] = set()
        self._removed_last = np.zeros(0, np.int64)
        self._client = -1
        self._build()

    # ----------------------------------------------------------------- construction and structural log
    def _build(self) -> None:
        """Fresh client with parameters and ground; empty body columns and log."""
        self._client = pybullet.connect(pybullet.DIRECT)
        self._finalizer = weakref.finalize(self, _disconnect, self._client)
        dt, substeps, gravity, *_, iterations, _ = self._params
        c = self._client
        pybullet.setGravity(0, 0, -gravity, physicsClientId=c)
        pybullet.setPhysicsEngineParameter(fixedTimeStep=dt / substeps, numSubSteps=0,
                                           numSolverIterations=iterations,
                                           deterministicOverlappingPairs=1, physicsClientId=c)
        self._shapes: dict[tuple[int, tuple[float, float, float]], int] = {}
        self._ground = self._make_ground()
        self._handles = np.zeros(0, np.int64)
        self._bid = np.zeros(0, np.int64)
        self._kind = np.zeros(0, np.int8)
        self._dims = np.zeros((0, 3))
        self._mass = np.zeros(0)
        self._pos = np.zeros((0, 3))
        self._orn = np.zeros((0, 4))
        self._handle_of: dict[int, int] = {self._ground: TERRAIN}
        self._specs: dict[int, BodySpec] = {}
        self._ops: list[tuple[int, int]] = []
        self._removed_since_build = 0

    def _make_ground(self) -> int:
        c, t = self._client, self._terrain
        if t is None:
            shape = pybullet.createCollisionShape(pybullet.GEOM_PLANE, physicsClientId=c)
            return pybullet.createMultiBody(0, shape, physicsClientId=c)
        hh, ww = t.heights.shape
        shape = pybullet.createCollisionShape(
            pybullet.GEOM_HEIGHTFIELD, meshScale=[t.tile_size, t.tile_size, 1.0],
            heightfieldData=t.heights.reshape(-1).tolist(), numHeightfieldRows=ww,
            numHeightfieldColumns=hh, physicsClientId=c)
        # Bullet centres a heightfield on the middle of its bounding box.
        centre = (t.origin[0] + (ww - 1) * t.tile_size / 2, t.origin[1] + (hh - 1) * t.tile_size / 2,
                  (float(t.heights.min()) + float(t.heights.max())) / 2)
        return pybullet.createMultiBody(0, shape, basePosition=centre, physicsClientId=c)

    def _create(self, spec: BodySpec, pos: Sequence[float], orn: Sequence[float]) -> None:
        """Create the pybullet body of ``spec`` at pos/orn and append it to the columns and the log."""
        c = self._client
        key = (spec.kind, spec.dims)
        if key not in self._shapes:
            self._shapes[key] = (pybullet.createCollisionShape(pybullet.GEOM_SPHERE, radius=spec.dims[0],
                                                               physicsClientId=c)
                                 if spec.kind == SPHERE else
                                 pybullet.createCollisionShape(pybullet.GEOM_BOX, halfExtents=list(spec.dims),
                                                               physicsClientId=c))
        bid = pybullet.createMultiBody(spec.mass, self._shapes[key], basePosition=list(pos),
                                       baseOrientation=list(orn), physicsClientId=c)
        pybullet.changeDynamics(bid, -1, lateralFriction=FRICTION, restitution=RESTITUTION,
                                rollingFriction=ROLLING_FRICTION if spec.kind == SPHERE else 0.0,
                                physicsClientId=c)
        self._handle_of[bid] = spec.handle
        self._handles = np.append(self._handles, spec.handle)
        self._bid = np.append(self._bid, bid)
        self._kind = np.append(self._kind, np.int8(spec.kind))
        self._dims = np.vstack([self._dims, spec.dims])
        self._mass = np.append(self._mass, spec.mass)
        self._pos = np.vstack([self._pos, pos])
        self._orn = np.vstack([self._orn, orn])
        self._specs[spec.handle] = spec
        self._ops.append((ADD, spec.handle))

    def _destroy(self, rows: npt.NDArray[np.int64]) -> None:
        for row in rows.tolist():
            bid = int(self._bid[row])
            pybullet.removeBody(bid, physicsClientId=self._client)
            del self._handle_of[bid]
            self._ops.append((REMOVE, int(self._handles[row])))
        self._removed_since_build += len(rows)
        keep = np.ones(len(self._handles), bool)
        keep[rows] = False
        for name in ("_handles", "_bid", "_kind", "_dims", "_mass", "_pos", "_orn"):
            setattr(self, name, getattr(self, name)[keep])

    def _row(self, handle: object) -> int:
        if isinstance(handle, bool) or not isinstance(handle, int | np.integer):
            raise InputError(f"handle must be an int, got {handle!r}")
        row = int(np.searchsorted(self._handles, handle))
        if row == len(self._handles) or self._handles[row] != handle:
            raise InputError(f"handle {handle} names no live body (removed or never created)")
        return row

    # ----------------------------------------------------------------------------------- public API
    def add_sphere(self, pos: Sequence[float], radius: float, mass: float,
                   vel: Sequence[float] = (0.0, 0.0, 0.0)) -> int:
        """Add a sphere (a projectile, a thrown object). mass 0 makes it static. Returns its handle."""
        dims = (positive_number("radius", radius), 0.0, 0.0)
        return self._add(SPHERE, dims, mass, pos, vel, (0.0, 0.0, 0.0, 1.0))

    def add_box(self, pos: Sequence[float], half_extents: Sequence[float], mass: float,
                vel: Sequence[float] = (0.0, 0.0, 0.0), orn: Sequence[float] = (0.0, 0.0, 0.0, 1.0)) -> int:
        """Add a box with half extents (hx, hy, hz) metres; mass 0 makes it static. Returns its handle."""
        dims = finite_vector("half_extents", half_extents, 3)
        if min(dims) <= 0:
            raise InputError(f"half_extents must all be > 0, got {half_extents!r}")
        q = np.asarray(finite_vector("orn", orn, 4))
        norm = float(np.linalg.norm(q))
        if not 0.5 < norm < 2.0:
            raise InputError(f"orn must be a unit quaternion (x, y, z, w), got {orn!r}")
        return self._add(BOX, dims, mass, pos, vel, tuple((q / norm).tolist()))

    def add_stack(self, base_pos: Sequence[float], box_half_extents: Sequence[float], rows: int, cols: int,
                  mass: float) -> list[int]:
        """Add a wall of rows x cols touching boxes in the x-z plane (a wall or tower that can collapse).

        ``base_pos`` is the centre of the wall's bottom face; boxes are laid along +x, row by row upwards.
        Returns the handles bottom row first, each row in +x order.
        """
        x, y, z = finite_vector("base_pos", base_pos, 3)
        hx, hy, hz = finite_vector("box_half_extents", box_half_extents, 3)
        for name, n in (("rows", rows), ("cols", cols)):
            if isinstance(n, bool) or not isinstance(n, int | np.integer) or not 1 <= n <= 10_000:
                raise InputError(f"{name} must be an integer in 1..10000, got {n!r}")
        positive_number("mass", mass)
        x_first = x - (cols - 1) * hx
        return [self.add_box((x_first + 2 * hx * col, y, z + hz + 2 * hz * row), (hx, hy, hz), mass)
                for row in range(rows) for col in range(cols)]

    def _add(self, kind: int, dims: tuple[float, ...], mass: float, pos: Sequence[float],
             vel: Sequence[float], orn: tuple[float, ...]) -> int:
        spec = BodySpec(self._next_handle, kind, dims, positive_number("mass", mass, allow_zero=True))  # type: ignore[arg-type]
        p, v = finite_vector("pos", pos, 3), finite_vector("vel", vel, 3)
        self._next_handle += 1
        self._create(spec, p, orn)
        if spec.mass > 0 and any(v):
            pybullet.resetBaseVelocity(int(self._bid[-1]), v, (0, 0, 0), physicsClientId=self._client)
        return spec.handle

    def apply_impulse(self, h: int, impulse_xyz: Sequence[float]) -> None:
        """Add ``impulse_xyz`` (N*s, at the centre of mass) to body ``h``: its velocity grows by J / m."""
        row = self._row(h)
        j = np.asarray(finite_vector("impulse_xyz", impulse_xyz, 3))
        if self._mass[row] == 0:
            raise InputError(f"handle {h} is static (mass 0) and cannot take an impulse")
        bid = int(self._bid[row])
        lin, ang = pybullet.getBaseVelocity(bid, physicsClientId=self._client)
        new = np.asarray(lin) + j / self._mass[row]
        if not np.all(np.isfinite(new)):
            raise InputError(f"impulse_xyz {impulse_xyz!r} gives a non-finite velocity")
        pybullet.resetBaseVelocity(bid, new.tolist(), ang, physicsClientId=self._client)

    def remove(self, h: int) -> None:
        """Remove body ``h``. Raises InputError if ``h`` names no live body."""
        self._destroy(np.array([self._row(h)]))

    def step(self) -> list[Contact]:
        """Advance one tick (``substeps`` fixed steps). Returns the new contacts, sorted by (a, b)."""
        dt, substeps, _, threshold, kill_z, (xmin, ymin, xmax, ymax), _, rebuild_after = self._params
        c, sub_dt, handle_of = self._client, dt / substeps, self._handle_of
        total: dict[tuple[int, int], float] = {}
        best: dict[tuple[int, int], tuple[float, tuple[float, float, float]]] = {}
        for _ in range(substeps):
            pybullet.stepSimulation(physicsClientId=c)
            for pt in pybullet.getContactPoints(physicsClientId=c):
                a, b = handle_of[pt[1]], handle_of[pt[2]]
                pair = (a, b) if b == TERRAIN or (a != TERRAIN and a < b) else (b, a)
                impulse = pt[9] * sub_dt
                total[pair] = total.get(pair, 0.0) + impulse
                if impulse > best.get(pair, (-1.0,))[0]:
                    pa, pb = pt[5], pt[6]
                    best[pair] = (impulse, ((pa[0] + pb[0]) / 2, (pa[1] + pb[1]) / 2, (pa[2] + pb[2]) / 2))
        above = {pair for pair, j in total.items() if j >= threshold}
        contacts = [Contact(pair[0], pair[1], total[pair], best[pair][1])
                    for pair in sorted(above - self._above, key=_pair_key)]
        self._above = above
        self.tick += 1
        self._read_poses()
        p = self._pos
        lost = ~np.all(np.isfinite(p), axis=1) | ~np.all(np.isfinite(self._orn), axis=1)
        out = lost | (p[:, 2] < kill_z) | (p[:, 0] < xmin) | (p[:, 0] > xmax) | (p[:, 1] < ymin) | (p[:, 1] > ymax)
        rows = np.flatnonzero(out)
        self._removed_last = self._handles[rows].copy()
        if len(rows):
            self._destroy(rows)
        if self._removed_since_build >= max(rebuild_after, len(self._handles) + 1):
            self._rebuild()
        return contacts

    def removed_last_step(self) -> npt.NDArray[np.int64]:
        """Handles (ascending) that the last ``step`` removed for leaving the bounds or the kill plane."""
        return self._removed_last.copy()

    def handles(self) -> npt.NDArray[np.int64]:
        """Live handles, ascending, shape (n,)."""
        return self._handles.copy()

    def positions(self) -> npt.NDArray[np.float64]:
        """Centre positions (n, 3) metres, in handle order."""
        return self._pos.copy()

    def state_arrays(self) -> dict[str, np.ndarray]:
        """Columns in handle order: handles (n,) int64, kind (n,) int8 (0 sphere, 1 box), dims (n, 3) m,
        mass (n,) kg, pos (n, 3) m, orn (n, 4) quaternion xyzw, linvel (n, 3) m/s, angvel (n, 3) rad/s."""
        vel = np.array([sum(pybullet.getBaseVelocity(b, physicsClientId=self._client), ()) for b in
                        self._bid.tolist()], dtype=np.float64).reshape(-1, 6)
        return {"handles": self._handles.copy(), "kind": self._kind.copy(), "dims": self._dims.copy(),
                "mass": self._mass.copy(), "pos": self._pos.copy(), "orn": self._orn.copy(),
                "linvel": vel[:, :3].copy(), "angvel": vel[:, 3:].copy()}

    def state_bytes(self) -> bytes:
        """Canonical bytes of everything that determines the future: parameters, tick, body columns, Bullet's
        cached contact points, the contact-report state and the structural log since the last build."""
        dt, substeps, gravity, threshold, kill_z, bounds, iterations, rebuild_after = self._params
        parts = [struct.pack("<dqddd4dqqqqq", dt, substeps, gravity, threshold, kill_z, *bounds, iterations, rebuild_after,
                             self.tick, self._next_handle, self._removed_since_build),
                 terrain_digest(self._terrain)]
        arrays = self.state_arrays()
        for name in ("handles", "kind", "dims", "mass", "pos", "orn", "linvel", "angvel"):
            parts.append(np.ascontiguousarray(arrays[name]).astype(arrays[name].dtype.newbyteorder("<")).tobytes())
        parts.append(np.array(sorted(self._above, key=_pair_key), dtype="<i8").tobytes())
        parts.append(np.array(self._ops, dtype="<i8").tobytes())
        parts.append(self._contact_cache_bytes())
        return b"".join(struct.pack("<Q", len(p)) + p for p in parts)

    def _contact_cache_bytes(self) -> bytes:
        rows = []
        for pt in pybullet.getContactPoints(physicsClientId=self._client):
            a, b = self._handle_of[pt[1]], self._handle_of[pt[2]]
            rows.append((a, b, *pt[5], *pt[6], *pt[7], pt[8], pt[9], pt[10], *pt[11], pt[12], *pt[13]))
        rows.sort()
        return b"".join(struct.pack("<2q19d", *r) for r in rows)

    def _read_poses(self) -> None:
        c = self._client
        poses = [sum(pybullet.getBasePositionAndOrientation(b, physicsClientId=c), ()) for b in self._bid.tolist()]
        if poses:
            arr = np.array(poses, dtype=np.float64)
            self._pos, self._orn = arr[:, :3].copy(), arr[:, 3:].copy()

    # ----------------------------------------------------------------------------------------- saves
    def to_bytes(self) -> bytes:
        """A save of this world that ``from_bytes`` resumes exactly (see the module docstring)."""
        with tempfile.TemporaryDirectory(prefix="worldloom-physics-") as tmp:
            path = os.path.join(tmp, "world.bullet")
            pybullet.saveBullet(path, physicsClientId=self._client)
            with open(path, "rb") as f:
                blob = f.read()
        record = SaveRecord(self._params, self.tick, self._next_handle, self._removed_since_build,
                         terrain_digest(self._terrain), list(self._specs.values()), list(self._ops),
                         np.hstack([self._pos, self._orn]).astype("<f8").tobytes(),
                         np.array(sorted(self._above, key=_pair_key), dtype="<i8").tobytes(), blob)
        return encode_record(record)

    @classmethod
    def from_bytes(cls, data: bytes, terrain: object = None) -> PhysicsWorld:
        """Resume a world saved by ``to_bytes``; ``terrain`` must equal the one it was built with.

        Raises:
            CorruptStateError: truncated, corrupted or foreign bytes (nothing is left half-built).
            InputError: ``terrain`` differs from the saved world's terrain.
        """
        record = decode_record(bytes(data))
        checked = check_terrain(terrain)
        if terrain_digest(checked) != record.terrain_digest:
            raise InputError("terrain differs from the terrain this physics state was saved with; pass the same "
                             "heights, tile_size and origin")
        self = cls.__new__(cls)
        self._terrain, self._params = checked, record.params
        self.tick, self._next_handle = record.tick, record.next_handle
        self._removed_last = np.zeros(0, np.int64)
        self._client = -1
        try:
            self._above = {(int(a), int(b)) for a, b in np.frombuffer(record.above, "<i8").reshape(-1, 2)}
            self._replay(record)
        except CorruptStateError:
            self.close()
            raise
        except Exception as exc:  # any failure to rebuild means the bytes do not describe a valid world
            self.close()
            raise CorruptStateError(f"physics state does not rebuild: {exc}") from exc
        return self

    def _replay(self, record: SaveRecord) -> None:
        self._build()
        specs = {s.handle: s for s in record.specs}
        pose = np.frombuffer(record.live_pose, "<f8").reshape(-1, 7)
        live = sorted(set(specs) - {h for op, h in record.ops if op == REMOVE})
        if len(live) != len(pose):
            raise CorruptStateError("physics state: live body count does not match the saved poses")
        pose_of = {h: pose[i] for i, h in enumerate(live)}
        for k, (op, h) in enumerate(record.ops):
            if op == ADD:
                p = pose_of.get(h)
                at = (p[:3].tolist(), p[3:].tolist()) if p is not None else ((_PARK + 10.0 * k, _PARK, _PARK),
                                                                               (0, 0, 0, 1))
                self._create(specs[h], *at)
            elif op == REMOVE:
                self._destroy(np.array([self._row(h)]))
            else:
                raise CorruptStateError(f"physics state: unknown structural op {op}")
        self._removed_since_build = record.removed_since_build
        with tempfile.TemporaryDirectory(prefix="worldloom-physics-") as tmp:
            path = os.path.join(tmp, "world.bullet")
            with open(path, "wb") as f:
                f.write(record.bullet)
            pybullet.restoreState(fileName=path, physicsClientId=self._client)
        self._read_poses()
        if not np.array_equal(np.hstack([self._pos, self._orn]).reshape(-1, 7), pose):
            raise CorruptStateError("physics state: restored bodies do not match the saved body table")

    def _rebuild(self) -> None:
        """Recreate the pybullet world from the body columns (bounds the structural log; see docstring)."""
        arrays = self.state_arrays()
        specs = [self._specs[h] for h in arrays["handles"].tolist()]
        self._finalizer()
        self._build()
        for i, spec in enumerate(specs):
            self._create(spec, arrays["pos"][i].tolist(), arrays["orn"][i].tolist())
            if spec.mass > 0:
                pybullet.resetBaseVelocity(int(self._bid[-1]), arrays["linvel"][i].tolist(),
                                           arrays["angvel"][i].tolist(), physicsClientId=self._client)

    def close(self) -> None:
        """Disconnect the pybullet client. Idempotent."""
        if self._client >= 0:
            self._finalizer()
            self._client = -1

    def __enter__(self) -> PhysicsWorld:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()



def _pair_key(pair: tuple[int, int]) -> tuple[int, int]:
    """Sort terrain contacts (b = -1) after body pairs of the same a."""
    return (pair[0], pair[1] if pair[1] != TERRAIN else 1 << 62)


def _disconnect(client: int) -> None:
    try:
        pybullet.disconnect(physicsClientId=client)
    except pybullet.error:
        pass

