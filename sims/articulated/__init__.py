"""Articulated objects for Structure from Action: MuJoCo physics, RGB-D from the toolkit's ray caster.

Procedural cabinets, chests, boxes, microwaves and fridges from a seed, or PartNet-Mobility /
ReplicaCAD URDFs; a physical probe pushes and pulls them.

>>> from sims.articulated import ArticulatedSimulator, generate_object
>>> sim = ArticulatedSimulator(generate_object(0))
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ArticulatedModel": "sims.articulated.model", "PartTruth": "sims.articulated.model",
    "ObjectConfig": "sims.articulated.procedural", "generate_object": "sims.articulated.procedural",
    "object_seeds": "sims.articulated.procedural", "KINDS": "sims.articulated.procedural",
    "ArticulatedSimConfig": "sims.articulated.simulator", "ArticulatedSimulator": "sims.articulated.simulator",
    "load_urdf": "sims.articulated.urdf", "find_urdfs": "sims.articulated.urdf",
    "load_mujoco": "sims.articulated.mjcf", "write_mjcf": "sims.articulated.mjcf",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'sims.articulated' has no attribute '{name}'")
