"""Frame conversion between Unity / THOR (left-handed, Y up) and ours (right-handed, Z up): points,
heading, camera pitch and field of view, and category names (pure functions; the conventions are in
:mod:`sims.thor`)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

import numpy as np

THOR_CATEGORY_MAP: dict[str, str] = {
    "Television": "tv",
    "HousePlant": "potted plant",
    "Sofa": "sofa",
    "Chair": "chair",
    "ArmChair": "chair",
    "Bed": "bed",
    "Toilet": "toilet",
    "Fridge": "refrigerator",
    "Laptop": "laptop",
    "Mug": "mug",
    "Vase": "vase",
    "Sink": "sink",
    "SinkBasin": "sink",
    "Bathtub": "bathtub",
    "BathtubBasin": "bathtub",
    "FloorLamp": "lamp",
    "DeskLamp": "lamp",
    "ShelvingUnit": "bookshelf",
    "Cabinet": "cabinet",
    "DiningTable": "table",
    "CoffeeTable": "table",
    "SideTable": "table",
    "Desk": "table",
    "Oven": "oven",
    "Stove": "oven",
    "Clock": "clock",
}
"""THOR ``objectType`` -> our category name, where they correspond. Other types: see :func:`thor_category`.

``Shelf`` (one board inside a cabinet or shelving unit) and ``StoveBurner`` are parts, not furniture,
so they keep their own names ("shelf", "stove burner").
"""


_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


# ---------------------------------------------------------------------------------------------------
# Frame conversion (pure functions)
# ---------------------------------------------------------------------------------------------------


def _xyz(p: Mapping[str, float] | Sequence[float] | np.ndarray) -> tuple[float, float, float]:
    if isinstance(p, Mapping):
        return float(p["x"]), float(p["y"]), float(p["z"])
    x, y, z = (float(v) for v in np.asarray(p, dtype=np.float64).reshape(3))
    return x, y, z


def unity_to_world(p: Mapping[str, float] | Sequence[float] | np.ndarray) -> np.ndarray:
    """Unity point ``{"x", "y", "z"}`` (or an (x, y, z) sequence) -> our (3,) float64 point ``(z, -x, y)``."""
    x, y, z = _xyz(p)
    return np.array([z, -x, y], dtype=np.float64)


def world_to_unity(p: Sequence[float] | np.ndarray) -> dict[str, float]:
    """Our (3,) point (X, Y, Z) -> a Unity position dict ``{"x": -Y, "y": Z, "z": X}`` (inverse of the above)."""
    X, Y, Z = _xyz(p)
    return {"x": -Y + 0.0, "y": Z, "z": X}


def unity_yaw_to_world(rotation_y_deg: float) -> float:
    """THOR ``rotation.y`` (degrees, clockwise from above, 0 = Unity +z) -> our yaw in (-pi, pi]."""
    yaw = -math.radians(float(rotation_y_deg))
    yaw = math.atan2(math.sin(yaw), math.cos(yaw))
    return math.pi if math.isclose(yaw, -math.pi) else yaw


def world_yaw_to_unity(yaw_rad: float) -> float:
    """Our yaw (radians, about +Z from +X) -> THOR ``rotation.y`` in degrees, in [0, 360)."""
    deg = (-math.degrees(float(yaw_rad))) % 360.0
    return 0.0 if math.isclose(deg, 360.0) else deg + 0.0


def horizon_to_tilt(horizon_deg: float) -> float:
    """THOR ``cameraHorizon`` (degrees, positive = looking down) -> our tilt (radians, positive = up)."""
    return -math.radians(float(horizon_deg))


def vertical_fov_deg(width: int, height: int, hfov_deg: float) -> float:
    """Vertical field of view (degrees) of a ``width`` x ``height`` pinhole image with horizontal ``hfov_deg``."""
    return math.degrees(2.0 * math.atan(math.tan(math.radians(hfov_deg) / 2.0) * height / width))


def thor_category(object_type: str) -> str:
    """Our category name for a THOR ``objectType``.

    Known correspondences come from :data:`THOR_CATEGORY_MAP`; any other type becomes its lower-cased,
    space-separated words ("CoffeeMachine" -> "coffee machine", "TVStand" -> "tv stand").
    """
    mapped = THOR_CATEGORY_MAP.get(object_type)
    if mapped is not None:
        return mapped
    return _CAMEL_BOUNDARY.sub(" ", object_type).replace("_", " ").lower().strip()
