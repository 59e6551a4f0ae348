"""Rigid transforms and pinhole geometry as pure, vectorised numpy functions.

Conventions (the only ones in the toolkit; adapters convert at the edge):

* **World frame**: right-handed, Z up, metres. An agent's yaw is the angle about +Z from +X
  (yaw 0 faces +X, yaw +pi/2 faces +Y).
* **Camera frame**: OpenCV: x right, y down, z forward (optical axis), metres.
* **Pixels**: ``(u, v)`` = (column, row); pixel centres sit at integer coordinates, so an image of
  width W spans u in [-0.5, W - 0.5].
* ``T_a_b`` is a (4, 4) float64 homogeneous transform mapping points in frame b into frame a:
  ``p_a = T_a_b @ p_b``. Composition reads left to right: ``T_a_c = T_a_b @ T_b_c``.
* Depth is z-depth (distance along the optical axis, not along the ray), metres, float32; 0 means
  "no return".
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "make_transform",
    "invert_transform",
    "compose",
    "rotation_z",
    "transform_from_position_yaw",
    "camera_pose",
    "yaw_of",
    "is_rigid_transform",
    "transform_points",
    "unproject_depth",
    "depth_to_world_points",
    "project_points",
]

# Camera axes expressed in a yaw=0, tilt=0 body frame (x forward, y left, z up):
# camera x (right) = -body y, camera y (down) = -body z, camera z (forward) = +body x.
_R_BODY_CAM = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])


def make_transform(R: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Stack a (3, 3) rotation and a (3,) translation into a (4, 4) float64 transform."""
    T = np.eye(4)
    T[:3, :3] = R
    T[:3, 3] = t
    return T


def invert_transform(T: np.ndarray) -> np.ndarray:
    """Inverse of a rigid (4, 4) transform (uses R^T, exact for rigid motions)."""
    R, t = T[:3, :3], T[:3, 3]
    return make_transform(R.T, -R.T @ t)


def compose(*Ts: np.ndarray) -> np.ndarray:
    """Product ``Ts[0] @ Ts[1] @ ...`` of (4, 4) transforms."""
    out = np.eye(4)
    for T in Ts:
        out = out @ T
    return out


def rotation_z(angle_rad: float) -> np.ndarray:
    """(3, 3) rotation about +Z by ``angle_rad`` (counter-clockwise seen from above)."""
    c, s = np.cos(angle_rad), np.sin(angle_rad)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def _rotation_y(angle_rad: float) -> np.ndarray:
    c, s = np.cos(angle_rad), np.sin(angle_rad)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def transform_from_position_yaw(position_m: np.ndarray, yaw_rad: float) -> np.ndarray:
    """T_world_base of a body at ``position_m`` (3,) facing ``yaw_rad`` (x forward, y left, z up)."""
    return make_transform(rotation_z(yaw_rad), np.asarray(position_m, dtype=np.float64))


def camera_pose(position_m: np.ndarray, yaw_rad: float, tilt_rad: float = 0.0) -> np.ndarray:
    """T_world_cam of an OpenCV camera at ``position_m`` looking along ``yaw_rad``.

    ``tilt_rad`` > 0 looks up. With yaw 0 and tilt 0 the optical axis is world +X and image "down"
    is world -Z.
    """
    # Pitch about the body's y (left) axis: a positive angle about +y tips +x towards -z, so negate.
    R = rotation_z(yaw_rad) @ _rotation_y(-tilt_rad) @ _R_BODY_CAM
    return make_transform(R, np.asarray(position_m, dtype=np.float64))


def yaw_of(T_world_x: np.ndarray) -> float:
    """Heading (radians, about +Z from +X) of the forward axis of a body (4, 4) transform."""
    return float(np.arctan2(T_world_x[1, 0], T_world_x[0, 0]))


def is_rigid_transform(T: np.ndarray, atol: float = 1e-5) -> bool:
    """True for a finite (4, 4) matrix with an orthonormal, det +1 rotation and last row 0 0 0 1."""
    T = np.asarray(T)
    if T.shape != (4, 4) or not np.all(np.isfinite(T)):
        return False
    R = T[:3, :3]
    return (
        np.allclose(T[3], [0.0, 0.0, 0.0, 1.0], atol=atol)
        and np.allclose(R.T @ R, np.eye(3), atol=atol)
        and abs(np.linalg.det(R) - 1.0) < atol
    )


def transform_points(T_a_b: np.ndarray, points_b: np.ndarray) -> np.ndarray:
    """Map (..., 3) points from frame b to frame a. Returns (..., 3) in the input's float dtype."""
    pts = np.asarray(points_b)
    dtype = pts.dtype if np.issubdtype(pts.dtype, np.floating) else np.float64
    out = pts @ T_a_b[:3, :3].T.astype(dtype) + T_a_b[:3, 3].astype(dtype)
    return out.astype(dtype, copy=False)


def unproject_depth(depth_m: np.ndarray, K: np.ndarray, dtype: type = np.float32) -> np.ndarray:
    """Back-project a z-depth image to camera-frame points.

    Args:
        depth_m: (H, W) z-depth in metres (0 = no return; such pixels give the point (0, 0, 0)).
        K: (3, 3) pinhole matrix.
        dtype: float32 (maps; fast) or float64 (sub-1e-5-pixel round trips at any image size).
    Returns:
        (H, W, 3) points of ``dtype`` in the OpenCV camera frame.
    """
    depth = np.asarray(depth_m, dtype=dtype)
    H, W = depth.shape
    fx, fy, cx, cy = (dtype(v) for v in (K[0, 0], K[1, 1], K[0, 2], K[1, 2]))
    x = ((np.arange(W, dtype=dtype) - cx) / fx)[None, :] * depth
    y = ((np.arange(H, dtype=dtype) - cy) / fy)[:, None] * depth
    return np.stack([x, y, depth], axis=-1)


def depth_to_world_points(
    depth_m: np.ndarray, K: np.ndarray, T_world_cam: np.ndarray, mask: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """World points of the valid pixels of a depth image.

    Args:
        depth_m: (H, W) z-depth in metres, 0 = no return.
        K: (3, 3) pinhole matrix.
        T_world_cam: (4, 4) camera pose.
        mask: optional (H, W) bool; pixels outside it are dropped as well.
    Returns:
        points (N, 3) float64 world points and pixel_index (N,) int64 flat indices ``v * W + u``.
    """
    depth = np.asarray(depth_m, dtype=np.float64)
    valid = (depth > 0) & np.isfinite(depth)
    if mask is not None:
        valid &= np.asarray(mask, dtype=bool)
    idx = np.flatnonzero(valid)
    v, u = np.divmod(idx, depth.shape[1])
    z = depth.reshape(-1)[idx]
    cam = np.stack([(u - K[0, 2]) / K[0, 0] * z, (v - K[1, 2]) / K[1, 1] * z, z], axis=-1)
    return transform_points(T_world_cam, cam), idx


def project_points(
    points_world: np.ndarray, K: np.ndarray, T_world_cam: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Project world points into an image.

    Args:
        points_world: (N, 3) world points (a single (3,) point is treated as N = 1).
        K: (3, 3) pinhole matrix.
        T_world_cam: (4, 4) camera pose.
    Returns:
        uv (N, 2) float64 pixel coordinates and z (N,) float64 depths along the optical axis.
        Points with z <= 0 are behind the camera; their uv is NaN.
    """
    pts = np.asarray(points_world, dtype=np.float64).reshape(-1, 3)
    cam = transform_points(invert_transform(T_world_cam), pts)
    z = cam[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        uv = (cam[:, :2] / z[:, None]) * np.array([K[0, 0], K[1, 1]]) + np.array([K[0, 2], K[1, 2]])
    uv[z <= 0] = np.nan
    return uv, z
