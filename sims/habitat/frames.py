"""Frame conversion between habitat (Y up, -Z forward) and ours (Z up): points, quaternions, heading,
camera tilt and pose, category names, and habitat-lab's depth clipping (pure functions; the conventions are
in :mod:`sims.habitat`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from embodied import geometry
from embodied.errors import ConfigError
from embodied.types import NO_DEPTH

R_WORLD_HABITAT = np.array([[0.0, 0.0, -1.0], [-1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
"""(3, 3) rotation taking habitat coordinates (Y up, -Z forward) to ours (Z up): ``p_ours = R @ p_habitat``."""


HABITAT_CATEGORY_MAP: dict[str, str] = {
    "tv_monitor": "tv",
    "tv": "tv",
    "television": "tv",
    "plant": "potted plant",
    "potted plant": "potted plant",
    "houseplant": "potted plant",
    "couch": "sofa",
    "sofa": "sofa",
    "chair": "chair",
    "armchair": "chair",
    "office chair": "chair",
    "bed": "bed",
    "toilet": "toilet",
    "table": "table",
    "dining table": "table",
    "coffee table": "table",
    "side table": "table",
    "desk": "table",
    "cabinet": "cabinet",
    "kitchen cabinet": "cabinet",
    "fridge": "refrigerator",
    "refrigerator": "refrigerator",
    "sink": "sink",
    "bathtub": "bathtub",
    "tub": "bathtub",
    "lamp": "lamp",
    "floor lamp": "lamp",
    "table lamp": "lamp",
    "bookshelf": "bookshelf",
    "bookcase": "bookshelf",
    "oven": "oven",
    "stove": "oven",
    "clock": "clock",
    "laptop": "laptop",
    "mug": "mug",
    "vase": "vase",
}
"""Lower-case habitat category names (MP3D mpcat40, HM3D ObjectNav and raw HM3D names) -> ours, where they differ
or to pin them. Other names: see :func:`habitat_category`."""


_NO_CATEGORY = frozenset({"", "void", "unknown", "unlabeled", "unlabelled", "no label"})


# ---------------------------------------------------------------------------------------------------
# Frame conversion (pure functions)
# ---------------------------------------------------------------------------------------------------


def habitat_to_world(points: Sequence[float] | np.ndarray) -> np.ndarray:
    """Habitat points (..., 3) (Y up, -Z forward) -> ours (..., 3) float64: ``(x, y, z) -> (-z, -x, y)``."""
    p = np.asarray(points, dtype=np.float64)
    return np.stack([-p[..., 2], -p[..., 0], p[..., 1]], axis=-1)


def world_to_habitat(points: Sequence[float] | np.ndarray) -> np.ndarray:
    """Our points (..., 3) (Z up) -> habitat (..., 3) float64: ``(X, Y, Z) -> (-Y, Z, -X)``."""
    p = np.asarray(points, dtype=np.float64)
    return np.stack([-p[..., 1], p[..., 2], -p[..., 0]], axis=-1)


def _xyz(v: Any) -> tuple[float, float, float]:
    if all(hasattr(v, a) for a in ("x", "y", "z")):
        return float(v.x), float(v.y), float(v.z)
    return float(v[0]), float(v[1]), float(v[2])


def quat_wxyz(q: Any) -> tuple[float, float, float, float]:
    """A rotation from habitat as a unit ``(w, x, y, z)`` tuple.

    Accepts numpy-quaternion (``.w .x .y .z``), magnum ``Quaternion`` (``.scalar``, ``.vector``) and
    4-sequences, which are habitat *coefficients* ``[x, y, z, w]`` (as in dataset files and
    ``habitat_sim.utils.common.quat_from_coeffs``). Raises ConfigError for anything else or a zero quaternion.
    """
    if all(hasattr(q, a) for a in ("w", "x", "y", "z")):
        w, x, y, z = float(q.w), float(q.x), float(q.y), float(q.z)
    elif hasattr(q, "scalar") and hasattr(q, "vector"):
        w = float(q.scalar)
        x, y, z = _xyz(q.vector)
    else:
        try:
            coeffs = np.asarray(q, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            raise ConfigError(f"not a quaternion: {q!r}") from None
        if coeffs.shape != (4,):
            raise ConfigError(f"a quaternion sequence needs 4 coefficients [x, y, z, w], got {q!r}")
        x, y, z, w = (float(c) for c in coeffs)
    norm = math.sqrt(w * w + x * x + y * y + z * z)
    if not math.isfinite(norm) or norm < 1e-9:
        raise ConfigError(f"not a rotation quaternion (norm {norm}): {q!r}")
    return w / norm, x / norm, y / norm, z / norm


def quat_to_matrix(q: Any) -> np.ndarray:
    """(3, 3) float64 rotation matrix of a quaternion (anything :func:`quat_wxyz` reads)."""
    w, x, y, z = quat_wxyz(q)
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
        [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
        [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
    ])


def habitat_quat_to_yaw(q: Any) -> float:
    """Our yaw (radians, about +Z from +X, in (-pi, pi]) of a habitat body rotation.

    For a rotation by ``theta`` about habitat +Y this is ``theta`` (wrapped). For any rotation it is the
    heading of the rotated forward axis (habitat -Z) projected on the floor.
    """
    R = quat_to_matrix(q)
    # forward f = -R[:, 2] (habitat); ours: X = -f_z = R[2, 2], Y = -f_x = R[0, 2]
    return float(math.atan2(R[0, 2], R[2, 2]))


def yaw_to_habitat_quat(yaw_rad: float) -> tuple[float, float, float, float]:
    """``(w, x, y, z)`` of the habitat rotation about +Y facing our heading ``yaw_rad``."""
    half = 0.5 * float(yaw_rad)
    return math.cos(half), 0.0, math.sin(half), 0.0


def sensor_tilt(agent_rotation: Any, sensor_rotation: Any) -> float:
    """Camera pitch (radians, positive up) of a sensor relative to its agent's body.

    Args:
        agent_rotation: the body rotation (``AgentState.rotation``).
        sensor_rotation: the sensor's world rotation (``AgentState.sensor_states[uuid].rotation``).
    """
    R_rel = quat_to_matrix(agent_rotation).T @ quat_to_matrix(sensor_rotation)
    # body-frame forward f = -R_rel[:, 2]; habitat's look angle atan2(f_y, -f_z)
    return float(math.atan2(-R_rel[1, 2], R_rel[2, 2]))


def habitat_camera_pose(agent_rotation: Any, sensor_position: Sequence[float], sensor_rotation: Any) -> np.ndarray:
    """(4, 4) float64 T_world_cam (OpenCV camera, our frame) of a habitat camera sensor."""
    return geometry.camera_pose(
        habitat_to_world(sensor_position), habitat_quat_to_yaw(agent_rotation),
        sensor_tilt(agent_rotation, sensor_rotation),
    )


def habitat_category(name: str) -> str:
    """Our category name for a habitat (MP3D / HM3D) category name.

    Known names go through :data:`HABITAT_CATEGORY_MAP`; others are lower-cased with "_" and "-" read as
    spaces (e.g. "chest_of_drawers" -> "chest of drawers").
    """
    key = str(name).strip().lower()
    if key in HABITAT_CATEGORY_MAP:
        return HABITAT_CATEGORY_MAP[key]
    key = " ".join(key.replace("_", " ").replace("-", " ").split())
    return HABITAT_CATEGORY_MAP.get(key, key)


# ---------------------------------------------------------------------------------------------------
# Depth: habitat-lab's sensor range and our "0 = no return"
# ---------------------------------------------------------------------------------------------------


def habitat_lab_depth(depth: np.ndarray, min_depth_m: float, max_depth_m: float,
                      normalize_depth: bool = True) -> np.ndarray:
    """What habitat-lab's depth sensor gives a habitat-lab agent for a raw habitat-sim depth frame.

    facebookresearch/habitat-lab ``habitat/sims/habitat_simulator/habitat_simulator.py``,
    ``HabitatSimDepthSensor.get_observation``: the frame is clipped to ``[min_depth, max_depth]`` (so a
    pixel with no return, raw 0, reads ``min_depth``; one beyond the range reads ``max_depth``), given a
    trailing channel, and with ``normalize_depth`` (habitat-lab's default) mapped to
    ``(d - min_depth) / (max_depth - min_depth)`` in [0, 1].

    Args:
        depth: (H, W) or (H, W, 1) raw z-depth in metres (0 = no return).
        min_depth_m, max_depth_m: the sensor range, metres.
        normalize_depth: scale to [0, 1] as habitat-lab does by default.

    Returns:
        (H, W, 1) float32: metres in [min, max], or [0, 1] when normalised.
    """
    d = np.asarray(depth, dtype=np.float32)
    if d.ndim == 3 and d.shape[-1] == 1:
        d = d[..., 0]
    out = np.clip(d, np.float32(min_depth_m), np.float32(max_depth_m))[..., None]
    if normalize_depth:
        out = (out - np.float32(min_depth_m)) / np.float32(max_depth_m - min_depth_m)
    return out.astype(np.float32, copy=False)


def clip_depth_m(depth: np.ndarray, min_depth_m: float, max_depth_m: float) -> np.ndarray:
    """A raw habitat-sim depth frame seen through habitat-lab's depth range, in our convention.

    habitat-lab clips to ``[min_depth, max_depth]`` (:func:`habitat_lab_depth`): pixels nearer than
    ``min_depth`` or with no return come out as ``min_depth`` and pixels beyond ``max_depth`` as
    ``max_depth``, values that carry no range any more. Here they become :data:`~embodied.types.NO_DEPTH`
    (0, "no return", the toolkit's convention), so an agent gets the same information as a habitat-lab
    agent and no phantom obstacle at the range limits: raw ``d`` in ``[min, max]`` stays ``d`` (metres);
    raw ``d < min`` (0 included), ``d > max``, NaN and inf become 0.

    Args:
        depth: (H, W) or (H, W, 1) raw z-depth in metres.
        min_depth_m, max_depth_m: the sensor range, metres.

    Returns:
        (H, W) float32 metres, 0 outside the range.
    """
    d = np.array(depth, dtype=np.float32, copy=True)
    if d.ndim == 3 and d.shape[-1] == 1:
        d = d[..., 0]
    with np.errstate(invalid="ignore"):
        keep = np.isfinite(d) & (d >= np.float32(min_depth_m)) & (d <= np.float32(max_depth_m))
    d[~keep] = NO_DEPTH
    return d
