"""Cameras around a normalized object: intrinsics from a lens, look-at poses, Zero123-style sampling,
and the conversion between the toolkit's OpenCV matrices and Blender's (Zero123's) matrices.

Conventions (those of :mod:`embodied.geometry`): world right-handed, Z up; camera frame OpenCV
(x right, y down, z forward); ``T_world_cam`` maps camera points into the world. A *world-to-camera*
3x4 matrix is ``T_cam_world[:3]``. Blender's camera looks down its local -Z with +Y up, so
``w2c_blender = diag(1, -1, -1) @ w2c_opencv`` (and the same matrix converts back). Zero123 and the
Objaverse-XL renderer save ``w2c_blender`` (``get_3x4_RT_matrix_from_blender``).
"""

from __future__ import annotations

import math
import zlib

import numpy as np

from embodied.geometry import invert_transform, make_transform
from embodied.types import CameraIntrinsics

from datasets3d.rendering.config import RenderConfig

__all__ = [
    "intrinsics_from_lens",
    "look_at",
    "sample_cameras",
    "object_rng",
    "world_to_camera",
    "opencv_to_blender_w2c",
    "blender_to_opencv_w2c",
    "blender_camera_matrix_world",
    "CV_FROM_BLENDER",
]

CV_FROM_BLENDER = np.diag([1.0, -1.0, -1.0])
"""(3, 3) rotation between a Blender camera frame (x right, y up, z back) and OpenCV's (its own inverse)."""


def intrinsics_from_lens(width: int, height: int, lens_mm: float = 35.0, sensor_mm: float = 32.0) -> CameraIntrinsics:
    """Pinhole intrinsics of a ``lens_mm`` lens on a ``sensor_mm`` sensor that spans the larger image
    side (Blender's ``sensor_fit='AUTO'``), square pixels, principal point at the image centre."""
    f_px = lens_mm / sensor_mm * max(width, height)
    return CameraIntrinsics(width, height, f_px, f_px, (width - 1) / 2.0, (height - 1) / 2.0)


def look_at(position: np.ndarray, target: np.ndarray | None = None, up: np.ndarray | None = None) -> np.ndarray:
    """(4, 4) float64 T_world_cam of an OpenCV camera at ``position`` looking at ``target`` (origin).

    Image "up" follows world ``up`` (+Z); straight above or below the target, where up is parallel
    to the optical axis, world +Y is used instead.
    """
    p = np.asarray(position, dtype=np.float64)
    t = np.zeros(3) if target is None else np.asarray(target, dtype=np.float64)
    u = np.array([0.0, 0.0, 1.0]) if up is None else np.asarray(up, dtype=np.float64)
    z = t - p
    n = np.linalg.norm(z)
    if n < 1e-12:
        raise ValueError("camera position coincides with its target")
    z /= n
    x = np.cross(z, u)
    if np.linalg.norm(x) < 1e-9:
        x = np.cross(z, np.array([0.0, 1.0, 0.0]))
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    return make_transform(np.stack([x, y, z], axis=1), p)


def object_rng(seed: int, key: str) -> np.random.Generator:
    """A generator that depends only on the run seed and the object (not on order or worker)."""
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, zlib.crc32(key.encode())])


def _unit_vectors(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.normal(size=(n, 3))
    norm = np.linalg.norm(v, axis=1, keepdims=True)
    bad = norm[:, 0] < 1e-9
    v[bad], norm[bad] = (0.0, 0.0, 1.0), 1.0
    return v / norm


def sample_cameras(config: RenderConfig, rng: np.random.Generator) -> np.ndarray:
    """(views, 4, 4) float64 T_world_cam poses looking at the origin, per ``config.cameras``."""
    n = config.views
    if config.cameras == "ring":
        az = 2.0 * np.pi * np.arange(n) / n
        el = math.radians(config.ring_elevation_deg)
        pos = config.ring_radius_m * np.stack([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az),
                                               np.full(n, np.sin(el))], axis=1)
    else:
        dirs = _unit_vectors(rng, n)
        radius = rng.uniform(config.radius_min_m, config.radius_max_m, size=n)
        pos = dirs * radius[:, None]
        if config.cameras == "hemisphere":
            pos[:, 2] = np.abs(pos[:, 2])
    return np.stack([look_at(p) for p in pos])


def world_to_camera(T_world_cam: np.ndarray) -> np.ndarray:
    """(3, 4) float64 OpenCV world-to-camera matrix ``[R | t]`` (``x_cam = R @ x_world + t``)."""
    return invert_transform(np.asarray(T_world_cam, dtype=np.float64))[:3].copy()


def opencv_to_blender_w2c(w2c: np.ndarray) -> np.ndarray:
    """(3, 4) OpenCV world-to-camera -> Blender/Zero123 world-to-camera (flips the camera's y and z)."""
    return CV_FROM_BLENDER @ np.asarray(w2c, dtype=np.float64)


def blender_to_opencv_w2c(w2c_blender: np.ndarray) -> np.ndarray:
    """(3, 4) Blender/Zero123 world-to-camera -> OpenCV world-to-camera (the same flip)."""
    return CV_FROM_BLENDER @ np.asarray(w2c_blender, dtype=np.float64)


def blender_camera_matrix_world(T_world_cam: np.ndarray) -> np.ndarray:
    """(4, 4) ``matrix_world`` of a Blender camera with the pose of OpenCV camera ``T_world_cam``."""
    M = np.array(T_world_cam, dtype=np.float64)
    M[:3, :3] = M[:3, :3] @ CV_FROM_BLENDER
    return M
