"""Recorded or live RGB-D frames as :class:`~embodied.types.Observation`: depth units, lens
undistortion, the floor plane and gravity alignment.

Pure functions on numpy arrays; OpenCV, SciPy and Open3D are imported inside the functions that use
them. Frames and units are those of :mod:`embodied.geometry` (world right-handed Z-up metres, camera
OpenCV x right / y down / z forward, depth = z-depth in metres with ``NO_DEPTH`` = 0 for no return).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from embodied import geometry
from embodied.errors import ConfigError, ObservationError
from embodied.optional import is_available
from embodied.types import NO_DEPTH, AgentPose, CameraIntrinsics, Observation

__all__ = [
    "depth_to_metres",
    "Distortion",
    "undistort_rgbd",
    "estimate_floor_plane",
    "gravity_alignment",
    "observation_from_rgbd",
]

_MAX_FLOOR_TILT_DEG = 30.0
_MIN_PLANE_FRACTION = 0.02  # planes holding fewer of the points are clutter, not floor
_MAX_PLANE_POINTS = 100_000


def depth_to_metres(
    raw: np.ndarray,
    *,
    scale: float = 1.0,
    invalid_values: Sequence[float] = (0,),
    max_depth_m: float | None = None,
) -> np.ndarray:
    """Convert a raw depth image to metres.

    ``metres = raw / scale``. Conventions of the common formats: TUM RGB-D PNGs use ``scale=5000``
    (1 unit = 0.2 mm), ScanNet and most 16-bit PNG exports ``scale=1000`` (millimetres), float images
    already in metres ``scale=1``. Pixels that are NaN, inf, negative, equal to one of
    ``invalid_values`` (compared in raw units, e.g. 0 or 65535) or farther than ``max_depth_m``
    become ``NO_DEPTH`` (0).

    Args:
        raw: (H, W) depth of any integer or float dtype.
        scale: raw units per metre (> 0).
        invalid_values: raw values that mean "no return".
        max_depth_m: optional range limit in metres.
    Returns:
        (H, W) float32 z-depth in metres.
    """
    arr = np.asarray(raw)
    if arr.ndim != 2:
        raise ObservationError(f"raw depth must be (H, W), got shape {arr.shape}")
    if not (math.isfinite(scale) and scale > 0):
        raise ConfigError(f"depth scale must be a finite number > 0 (raw units per metre), got {scale}")
    if max_depth_m is not None and not max_depth_m > 0:
        raise ConfigError(f"max_depth_m must be > 0 or None, got {max_depth_m}")
    metres = arr.astype(np.float64) / float(scale)
    bad = ~np.isfinite(metres) | (metres < 0)
    if len(invalid_values):
        bad |= np.isin(arr, np.asarray(invalid_values))
    if max_depth_m is not None:
        with np.errstate(invalid="ignore"):
            bad |= metres > max_depth_m
    metres[bad] = NO_DEPTH
    return metres.astype(np.float32)


@dataclass(frozen=True, slots=True)
class Distortion:
    """Lens distortion in OpenCV's model (radial k1, k2, k3; tangential p1, p2), as in
    ``cv2.projectPoints``: coefficients in the order ``(k1, k2, p1, p2, k3)``."""

    k1: float = 0.0
    k2: float = 0.0
    p1: float = 0.0
    p2: float = 0.0
    k3: float = 0.0

    def __post_init__(self) -> None:
        if not all(math.isfinite(v) for v in (self.k1, self.k2, self.p1, self.p2, self.k3)):
            raise ConfigError(f"distortion coefficients must be finite, got {tuple(self.coeffs)}")

    @property
    def coeffs(self) -> np.ndarray:
        """(5,) float64 ``[k1, k2, p1, p2, k3]``."""
        return np.array([self.k1, self.k2, self.p1, self.p2, self.k3], dtype=np.float64)

    @property
    def is_zero(self) -> bool:
        return not np.any(self.coeffs)


@functools.lru_cache(maxsize=8)
def _undistort_maps(src: CameraIntrinsics, distortion: Distortion, dst: CameraIntrinsics):
    import cv2

    mx, my = cv2.initUndistortRectifyMap(src.K, distortion.coeffs, None, dst.K, (dst.width, dst.height),
                                         cv2.CV_32FC1)
    mx.setflags(write=False)
    my.setflags(write=False)
    return mx, my


def undistort_rgbd(
    rgb: np.ndarray,
    depth_m: np.ndarray | None,
    intrinsics: CameraIntrinsics,
    distortion: Distortion,
    *,
    new_intrinsics: CameraIntrinsics | None = None,
) -> tuple[np.ndarray, np.ndarray | None, CameraIntrinsics]:
    """Remove lens distortion from a colour image and its registered depth image.

    Uses OpenCV ``initUndistortRectifyMap`` + ``remap`` (maps cached per camera): bilinear for RGB,
    nearest-neighbour for depth, so no depth value is blended across an object edge. Output pixels
    whose source lies outside the input are black in RGB and ``NO_DEPTH`` in depth. Zero distortion
    (and no new intrinsics) returns the inputs unchanged.

    Args:
        rgb: (H, W, 3) uint8 distorted image.
        depth_m: (H, W) float32 metres registered to ``rgb``, or None.
        intrinsics: the pinhole part of the distorted camera (H, W from it).
        distortion: its lens distortion.
        new_intrinsics: the pinhole camera of the output; default ``intrinsics`` (same K and size).
    Returns:
        (rgb (H', W', 3) uint8, depth (H', W') float32 or None, intrinsics of the output).
    """
    import cv2

    dst = intrinsics if new_intrinsics is None else new_intrinsics
    if distortion.is_zero and dst == intrinsics:
        return rgb, depth_m, intrinsics
    shape = (intrinsics.height, intrinsics.width)
    if rgb.shape[:2] != shape or (depth_m is not None and depth_m.shape != shape):
        raise ObservationError(f"undistort_rgbd: rgb {rgb.shape} / depth {None if depth_m is None else depth_m.shape}"
                               f" do not match the intrinsics' {intrinsics.height}x{intrinsics.width}")
    mx, my = _undistort_maps(intrinsics, distortion, dst)
    rgb_out = cv2.remap(np.ascontiguousarray(rgb), mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                        borderValue=0)
    depth_out = None
    if depth_m is not None:
        depth_out = cv2.remap(np.ascontiguousarray(depth_m, dtype=np.float32), mx, my, cv2.INTER_NEAREST,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=NO_DEPTH)
    return rgb_out, depth_out, dst


# --------------------------------------------------------------------------- floor and gravity
def _fit_plane(points: np.ndarray) -> tuple[np.ndarray, float]:
    """Least-squares plane (unit normal n, offset d with n . p + d = 0) through (N, 3) points."""
    centre = points.mean(axis=0)
    _, _, vt = np.linalg.svd(points - centre, full_matrices=False)
    n = vt[2]
    return n, float(-n @ centre)


def _ransac_plane(points: np.ndarray, distance_m: float, iterations: int, rng: np.random.Generator):
    """Dominant plane (n, d) of (N, 3) points: Open3D's ``segment_plane`` when importable, else numpy."""
    o3d = None
    if is_available("open3d"):
        try:
            import open3d as o3d
        except (ImportError, OSError):  # e.g. a missing libusb: fall back to numpy
            o3d = None
    if o3d is not None:
        o3d.utility.random.seed(int(rng.integers(0, 2**31 - 1)))
        pcd = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(points))
        (a, b, c, d), _ = pcd.segment_plane(distance_threshold=distance_m, ransac_n=3, num_iterations=iterations)
        n = np.array([a, b, c])
        norm = np.linalg.norm(n)
        return n / norm, float(d / norm)
    best, best_count = (np.array([0.0, 0.0, 1.0]), 0.0), -1
    sample = rng.integers(0, len(points), size=(iterations, 3))
    for start in range(0, iterations, 64):
        tri = points[sample[start:start + 64]]  # (B, 3, 3)
        n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
        norm = np.linalg.norm(n, axis=1)
        keep = norm > 1e-12
        n = n[keep] / norm[keep, None]
        d = -np.einsum("bi,bi->b", n, tri[keep, 0])
        counts = (np.abs(points @ n.T + d) < distance_m).sum(axis=0)
        if len(counts) and counts.max() > best_count:
            k = int(counts.argmax())
            best, best_count = (n[k], float(d[k])), int(counts[k])
    return best


def estimate_floor_plane(
    points_world: np.ndarray,
    *,
    up: np.ndarray | None = None,
    distance_m: float = 0.03,
    iterations: int = 1000,
    seed: int = 0,
) -> tuple[np.ndarray, float, float]:
    """The floor: the lowest large plane whose normal is within 30 deg of ``up``.

    Planes are peeled off one after another by RANSAC (Open3D ``segment_plane`` when importable,
    else numpy; deterministic for a ``seed``, which also seeds Open3D's global generator) and
    refined by least squares on their inliers. Among the near-horizontal ones holding at least a
    quarter of the points of the largest, the lowest along ``up`` is the floor (a table top is
    smaller or higher, a ceiling higher). At most 100 000 points (a seeded random subset) are used.

    Args:
        points_world: (N, 3) points in metres (non-finite rows are ignored).
        up: (3,) the most likely up direction (e.g. minus the mean image-down axis of the cameras);
            default world +Z.
        distance_m: inlier distance to the plane in metres.
        iterations: RANSAC iterations per plane.
        seed: random seed.
    Returns:
        (normal (3,) float64 unit vector with ``normal . up > 0``, offset d in metres such that
        ``normal . p + d = 0`` on the floor, inlier fraction in [0, 1] of the finite points).
        A point's height above the floor is ``normal . p + d``.
    Raises:
        ObservationError: fewer than 3 finite points, or no near-horizontal plane holds 2 % of them.
    """
    pts = np.asarray(points_world, dtype=np.float64).reshape(-1, 3)
    pts = pts[np.isfinite(pts).all(axis=1)]
    up_vec = np.array([0.0, 0.0, 1.0]) if up is None else np.asarray(up, dtype=np.float64).reshape(3)
    if not (np.isfinite(up_vec).all() and np.linalg.norm(up_vec) > 0):
        raise ConfigError(f"up must be a finite non-zero (3,) vector, got {up}")
    up_vec = up_vec / np.linalg.norm(up_vec)
    if not (distance_m > 0 and iterations >= 1):
        raise ConfigError(f"distance_m must be > 0 and iterations >= 1, got {distance_m}, {iterations}")
    if len(pts) < 3:
        raise ObservationError(f"estimate_floor_plane needs at least 3 finite points, got {len(pts)}")
    rng = np.random.default_rng(seed)
    if len(pts) > _MAX_PLANE_POINTS:
        pts = pts[rng.choice(len(pts), _MAX_PLANE_POINTS, replace=False)]
    total, remaining = len(pts), pts
    cos_max = math.cos(math.radians(_MAX_FLOOR_TILT_DEG))
    candidates = []  # (normal, d, inlier count)
    for _ in range(6):
        if len(remaining) < max(3, _MIN_PLANE_FRACTION * total):
            break
        n, d = _ransac_plane(remaining, distance_m, iterations, rng)
        for _refine in range(2):
            inliers = np.abs(remaining @ n + d) < distance_m
            if inliers.sum() < 3:
                break
            n, d = _fit_plane(remaining[inliers])
        if inliers.sum() < max(3, _MIN_PLANE_FRACTION * total):
            break
        if n @ up_vec < 0:
            n, d = -n, -d
        if n @ up_vec >= cos_max:
            candidates.append((n, d, int((np.abs(pts @ n + d) < distance_m).sum())))
        remaining = remaining[~inliers]
    if not candidates:
        raise ObservationError(f"no plane within {_MAX_FLOOR_TILT_DEG:.0f} deg of up {np.round(up_vec, 3).tolist()} "
                               f"holds {_MIN_PLANE_FRACTION:.0%} of the {total} points; is the floor in view?")
    largest = max(c[2] for c in candidates)
    n, d, count = max((c for c in candidates if c[2] >= 0.25 * largest), key=lambda c: c[1])  # lowest: largest d
    return n, float(d), count / total


def gravity_alignment(normal: np.ndarray, offset: float) -> np.ndarray:
    """The rigid transform that puts the plane ``normal . p + offset = 0`` at z = 0 with ``normal``
    along +Z: ``T @ p`` has z = height above the plane (Z up). The rotation is the smallest one
    turning ``normal`` onto +Z, so headings change as little as possible.

    Args:
        normal: (3,) the floor normal pointing up (toward the cameras), any non-zero length.
        offset: d of the plane equation for that normal, metres.
    Returns:
        (4, 4) float64 ``T_aligned_world``.
    """
    n = np.asarray(normal, dtype=np.float64).reshape(3)
    norm = np.linalg.norm(n)
    if not (np.isfinite(n).all() and math.isfinite(offset) and norm > 0):
        raise ConfigError(f"gravity_alignment needs a finite non-zero normal and offset, got {normal}, {offset}")
    n, d = n / norm, offset / norm
    z = np.array([0.0, 0.0, 1.0])
    axis, c = np.cross(n, z), float(n @ z)
    s = np.linalg.norm(axis)
    if s < 1e-12:
        R = np.eye(3) if c > 0 else np.diag([1.0, -1.0, -1.0])  # already up, or upside down: 180 deg about X
    else:
        k = axis / s
        Kx = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
        R = np.eye(3) + s * Kx + (1.0 - c) * (Kx @ Kx)  # Rodrigues: rotates n onto +Z
    # (R p)_z = n . p = -d on the plane, so lift by d.
    return geometry.make_transform(R, np.array([0.0, 0.0, d]))


# --------------------------------------------------------------------------- observations
def _base_pose(T_world_cam: np.ndarray) -> AgentPose:
    R = T_world_cam[:3, :3]
    forward = R[:, 2] if np.hypot(R[0, 2], R[1, 2]) > 1e-6 else -R[:, 1]  # optical axis; straight down: image up
    pos = T_world_cam[:3, 3]
    return AgentPose((float(pos[0]), float(pos[1]), 0.0), float(math.atan2(forward[1], forward[0])))


def observation_from_rgbd(
    rgb: np.ndarray,
    depth_m: np.ndarray | None,
    intrinsics: CameraIntrinsics,
    T_world_cam: np.ndarray | None = None,
    *,
    step: int = 0,
    goal: str | None = None,
    agent_pose: AgentPose | None = None,
    extras: Mapping[str, Any] | None = None,
) -> Observation:
    """Turn one RGB-D sensor frame into a validated :class:`~embodied.types.Observation`.

    Depth pixels that are NaN, inf or negative become ``NO_DEPTH``. When ``agent_pose`` is None and
    ``T_world_cam`` is given, the base pose is derived from the camera: position = the camera
    position dropped onto the floor (z = 0), yaw = heading of the optical axis projected on the XY
    plane (of the image-up axis when the camera looks straight down); this assumes a Z-up world
    with the floor at z = 0 (see :func:`gravity_alignment`). Without ``T_world_cam`` the camera sits
    at the origin looking along +X (``geometry.camera_pose(0, 0)``) and ``agent_pose`` stays None:
    such observations cannot be fused into maps.

    Args:
        rgb: (H, W, 3) uint8.
        depth_m: (H, W) float z-depth in metres, or None. Raw integer depth must go through
            :func:`depth_to_metres` first.
        intrinsics: the camera of both images (after undistortion).
        T_world_cam: (4, 4) camera-to-world (OpenCV camera, Z-up world), or None.
        step, goal, agent_pose, extras: as in ``Observation``.
    Raises:
        ObservationError: wrong shape or dtype, integer depth, non-rigid pose (the message names it).
    """
    if not isinstance(intrinsics, CameraIntrinsics):
        raise ConfigError(f"intrinsics must be an embodied.types.CameraIntrinsics, got {type(intrinsics).__name__}")
    H, W = intrinsics.height, intrinsics.width
    rgb = np.asarray(rgb)
    if rgb.shape != (H, W, 3) or rgb.dtype != np.uint8:
        raise ObservationError(f"rgb must be ({H}, {W}, 3) uint8 to match the intrinsics, got {rgb.shape} {rgb.dtype}")
    depth = None
    if depth_m is not None:
        depth = np.asarray(depth_m)
        if depth.shape != (H, W):
            raise ObservationError(f"depth must be ({H}, {W}) to match the intrinsics, got {depth.shape}")
        if not np.issubdtype(depth.dtype, np.floating):
            raise ObservationError(f"depth must be float metres, got {depth.dtype}; convert raw sensor depth "
                                   "with embodied.rgbd.depth_to_metres(raw, scale=...)")
        depth = depth.astype(np.float32, copy=True)
        depth[~np.isfinite(depth) | (depth < 0)] = NO_DEPTH
    if T_world_cam is None:
        T = geometry.camera_pose(np.zeros(3), 0.0)
    else:
        T = np.asarray(T_world_cam, dtype=np.float64)
        if not geometry.is_rigid_transform(T):
            raise ObservationError(f"T_world_cam must be a rigid (4, 4) transform, got shape {T.shape}"
                                   + ("" if T.shape != (4, 4) else f" with rotation det {np.linalg.det(T[:3, :3]):.4f}"
                                      " or non-finite values"))
        if agent_pose is None:
            agent_pose = _base_pose(T)
    return Observation(rgb=np.ascontiguousarray(rgb), depth=depth, intrinsics=intrinsics, T_world_cam=T,
                       agent_pose=agent_pose, step=step, goal=goal, extras=dict(extras or {})).validate()
