"""Rigid-body physics on pybullet (the only pybullet importer of the project); see ``world.py`` for the
design that makes saves resume bit for bit.

    world.py      PhysicsWorld: bodies, the tick, contacts, removals, state bytes, saves
    arguments.py  argument checks (InputError) and the Contact / Terrain value types
    snapshot.py   framing of saved bytes (CorruptStateError)
"""

from .arguments import TERRAIN, Contact, Terrain
from .world import BOX, REBUILD_AFTER_REMOVALS, SPHERE, PhysicsWorld

__all__ = ["BOX", "REBUILD_AFTER_REMOVALS", "SPHERE", "TERRAIN", "Contact", "PhysicsWorld", "Terrain"]
