"""The reader-independent part of recorded RGB-D sequences: :class:`RGBDSequence` (lazy frames as
Observations), the camera file schema, image and pose checks, and the floor alignment."""

from __future__ import annotations

import difflib
import json
import logging
import math
import re
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from embodied import geometry
from embodied.errors import ConfigError, ObservationError
from embodied.rgbd import (Distortion, depth_to_metres, estimate_floor_plane, gravity_alignment,
                           observation_from_rgbd, undistort_rgbd)
from embodied.types import CameraIntrinsics, Observation

log = logging.getLogger(__name__)

ALIGN_FRAMES = 10
"""Frames (evenly spread) whose depth is used to find the floor."""
ALIGN_POINTS_PER_FRAME = 5000


class SequenceError(ConfigError):
    """A recorded sequence is missing, malformed or unreadable; the message names the file and the fix."""


@dataclass(frozen=True, slots=True)
class SequenceFrame:
    """One frame on disk. ``T_world_cam`` is the (4, 4) camera-to-world pose as stored in the
    files (before gravity alignment), or None for sequences without poses."""

    rgb_path: Path
    depth_path: Path
    timestamp_s: float | None = None
    T_world_cam: np.ndarray | None = None


@dataclass(frozen=True, slots=True)
class CameraSpec:
    """The contents of a ``camera.json``: intrinsics of the (distorted) images and depth encoding."""

    intrinsics: CameraIntrinsics
    distortion: Distortion = Distortion()
    depth_scale: float = 1000.0
    depth_invalid: tuple[float, ...] = (0,)
    max_depth_m: float | None = None
    z_up: bool | None = None
    """Whether the stored poses are Z-up with the floor at z = 0; None = not stated (the format decides)."""


_CAMERA_KEYS = ("width", "height", "fx", "fy", "cx", "cy", "distortion", "depth_scale", "depth_invalid",
                "max_depth_m", "z_up")


def read_camera_json(path: Path, *, default_depth_scale: float = 1000.0) -> CameraSpec:
    """Parse a camera file: {"width", "height", "fx", "fy", "cx", "cy", optional "distortion":
    [k1, k2, p1, p2, k3], "depth_scale" (raw units per metre), "depth_invalid" (raw values),
    "max_depth_m", "z_up"}."""
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SequenceError(f"cannot read camera file {path}: {exc}") from None
    if not isinstance(data, dict):
        raise SequenceError(f"camera file {path} must hold a JSON object with width, height, fx, fy, cx, cy")
    for key in data:
        if key not in _CAMERA_KEYS:
            close = difflib.get_close_matches(key, _CAMERA_KEYS, n=1)
            hint = f"; did you mean '{close[0]}'" if close else f"; known keys: {', '.join(_CAMERA_KEYS)}"
            raise SequenceError(f"unknown key '{key}' in camera file {path}{hint}")
    missing = [k for k in _CAMERA_KEYS[:6] if k not in data]
    if missing:
        raise SequenceError(f"camera file {path} lacks {', '.join(missing)} (pinhole intrinsics in pixels)")
    try:
        K = CameraIntrinsics(int(data["width"]), int(data["height"]),
                             *(float(data[k]) for k in ("fx", "fy", "cx", "cy")))
        if data.get("z_up") is not None and not isinstance(data["z_up"], bool):
            raise ValueError(f"z_up must be true or false, got {data['z_up']!r}")
        coeffs = [float(v) for v in data.get("distortion") or []]
        if len(coeffs) not in (0, 4, 5):
            raise ValueError(f"distortion must be [k1, k2, p1, p2, k3] (4 or 5 numbers), got {len(coeffs)}")
        spec = CameraSpec(
            intrinsics=K,
            distortion=Distortion(*coeffs),
            depth_scale=float(data.get("depth_scale", default_depth_scale)),
            depth_invalid=tuple(float(v) for v in data.get("depth_invalid", (0,))),
            max_depth_m=None if data.get("max_depth_m") is None else float(data["max_depth_m"]),
            z_up=None if data.get("z_up") is None else bool(data["z_up"]),
        )
    except (TypeError, ValueError) as exc:
        raise SequenceError(f"invalid camera file {path}: {exc}") from None
    if spec.max_depth_m is not None and not spec.max_depth_m > 0:
        raise SequenceError(f"camera file {path}: max_depth_m must be > 0 metres, got {spec.max_depth_m}")
    if not (math.isfinite(spec.depth_scale) and spec.depth_scale > 0):
        raise SequenceError(f"camera file {path}: depth_scale must be > 0 (raw units per metre), "
                            f"got {spec.depth_scale}")
    return spec


def natural_key(name: str) -> list:
    """Sort key putting "frame2" before "frame10"."""
    return [(0, int(tok), "") if tok.isdigit() else (1, 0, tok.lower()) for tok in re.split(r"(\d+)", name) if tok]


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from a PNG header, without decoding the image."""
    try:
        with open(path, "rb") as f:
            head = f.read(24)
    except OSError as exc:
        raise SequenceError(f"cannot read {path}: {exc}") from None
    if len(head) < 24 or head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        raise SequenceError(f"{path} is not a PNG image (corrupt or wrong format); re-export it as a 16-bit PNG")
    return struct.unpack(">II", head[16:24])


def read_depth_png(path: Path, shape: tuple[int, int]) -> np.ndarray:
    """(H, W) uint16 raw depth of a 16-bit single-channel PNG, checked against ``shape`` (H, W)."""
    import cv2

    if not path.is_file():
        raise SequenceError(f"missing depth image {path}")
    raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if raw is None:
        raise SequenceError(f"cannot decode depth image {path} (corrupt or not a PNG); re-export it")
    if raw.dtype != np.uint16 or raw.ndim != 2:
        kind = f"{raw.dtype} with {1 if raw.ndim == 2 else raw.shape[2]} channel(s)"
        raise SequenceError(f"depth image {path} is {kind}; depth must be a single-channel 16-bit PNG "
                            "(raw units of 1/depth_scale metres)")
    if raw.shape != shape:
        raise SequenceError(f"depth image {path} is {raw.shape[1]}x{raw.shape[0]}, but the camera is "
                            f"{shape[1]}x{shape[0]}; fix the intrinsics (camera.json) or the image")
    return raw


def read_rgb(path: Path) -> np.ndarray:
    """(H, W, 3) uint8 RGB of a PNG / JPEG file."""
    import cv2

    if not path.is_file():
        raise SequenceError(f"missing colour image {path}")
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise SequenceError(f"cannot decode colour image {path} (corrupt or not a PNG / JPEG); re-export it")
    return np.ascontiguousarray(bgr[..., ::-1])


def check_pose(T: np.ndarray, where: str) -> np.ndarray:
    """``T`` as a (4, 4) float64 rigid transform, or a SequenceError naming ``where``."""
    T = np.asarray(T, dtype=np.float64)
    if T.shape != (4, 4):
        raise SequenceError(f"pose {where} must be a 4x4 matrix, got shape {T.shape}")
    if np.isnan(T).any():
        raise SequenceError(f"NaN in pose {where}; drop that frame or fix the trajectory file")
    if not geometry.is_rigid_transform(T, atol=1e-4):
        raise SequenceError(f"pose {where} is not a rigid camera-to-world transform (rotation not orthonormal, "
                            "or last row not 0 0 0 1)")
    return T


def pose_from_tum(values: Sequence[float], where: str) -> np.ndarray:
    """(4, 4) camera-to-world from TUM's ``tx ty tz qx qy qz qw`` (quaternion x, y, z, w)."""
    from scipy.spatial.transform import Rotation

    v = np.asarray(values, dtype=np.float64)
    if np.isnan(v).any():
        raise SequenceError(f"NaN in pose {where}; drop that line or fix the trajectory file")
    if not np.isfinite(v).all() or np.linalg.norm(v[3:]) < 1e-9:
        raise SequenceError(f"pose {where} has an infinite value or a zero quaternion")
    return geometry.make_transform(Rotation.from_quat(v[3:]).as_matrix(), v[:3])


class RGBDSequence:
    """A recorded RGB-D sequence whose frames are decoded on access, as Observations.

    Build one with :func:`datasets3d.sequences.open_sequence`. Attributes: ``name``, ``format``
    ("tum" | "scannet" | "folder"), ``path``, ``intrinsics`` (of the undistorted images),
    ``has_poses``, ``T_align`` ((4, 4) float64 gravity alignment applied to the stored poses:
    ``T_world_cam = T_align @ stored pose``; identity when none was needed or found).
    """

    def __init__(self, *, name: str, format: str, path: Path, frames: Sequence[SequenceFrame], camera: CameraSpec,
                 resize_rgb: bool = False) -> None:
        self.name = name
        self.format = format
        self.path = Path(path)
        self._frames = tuple(frames)
        self._camera = camera
        self._resize_rgb = resize_rgb
        self.intrinsics = camera.intrinsics  # undistortion keeps the pinhole K and size
        self.has_poses = bool(self._frames) and all(f.T_world_cam is not None for f in self._frames)
        self._T_align = np.eye(4)

    def __len__(self) -> int:
        return len(self._frames)

    def __iter__(self) -> Iterator[Observation]:
        return (self.frame(i) for i in range(len(self)))

    def __repr__(self) -> str:
        K = self.intrinsics
        return (f"RGBDSequence({self.name!r}, format={self.format!r}, frames={len(self)}, {K.width}x{K.height}, "
                f"poses={self.has_poses})")

    def _index(self, i: int) -> int:
        n = len(self._frames)
        if not -n <= i < n:
            raise IndexError(f"frame {i} out of range for a sequence of {n} frames")
        return i % n

    @property
    def T_align(self) -> np.ndarray:
        """(4, 4) float64 gravity alignment applied to the stored poses (a copy)."""
        return self._T_align.copy()

    def _metres(self, i: int) -> np.ndarray:
        """(H, W) float32 metres of frame ``i`` as stored (still distorted)."""
        cam = self._camera
        raw = read_depth_png(self._frames[i].depth_path, (cam.intrinsics.height, cam.intrinsics.width))
        return depth_to_metres(raw, scale=cam.depth_scale, invalid_values=cam.depth_invalid,
                               max_depth_m=cam.max_depth_m)

    def _depth_m(self, i: int) -> np.ndarray:
        """(H, W) float32 metres of frame ``i``, undistorted (nearest neighbour; no colour decode)."""
        cam, depth = self._camera, self._metres(i)
        if cam.distortion.is_zero:
            return depth
        return undistort_rgbd(np.zeros((*depth.shape, 3), np.uint8), depth, cam.intrinsics, cam.distortion)[1]

    def frame(self, i: int) -> Observation:
        """Observation of frame ``i`` (negative counts from the end); ``step`` is its index.

        ``rgb`` (H, W, 3) uint8, ``depth`` (H, W) float32 metres with NO_DEPTH for invalid pixels,
        ``T_world_cam`` in the toolkit's Z-up frame (None pose -> see observation_from_rgbd),
        ``extras`` {"timestamp_s": float | None, "frame": rgb file name, "source": format}.
        """
        import cv2

        i = self._index(i)
        cam, rec = self._camera, self._frames[i]
        K = cam.intrinsics
        depth = self._metres(i)
        rgb = read_rgb(rec.rgb_path)
        if rgb.shape[:2] != (K.height, K.width):
            if not self._resize_rgb:
                raise SequenceError(f"colour image {rec.rgb_path} is {rgb.shape[1]}x{rgb.shape[0]}, but the camera "
                                    f"is {K.width}x{K.height}; fix the intrinsics or the image")
            rgb = cv2.resize(rgb, (K.width, K.height), interpolation=cv2.INTER_AREA)
        rgb, depth, K = undistort_rgbd(rgb, depth, K, cam.distortion)
        T = None if rec.T_world_cam is None else self._T_align @ rec.T_world_cam
        extras = {"timestamp_s": rec.timestamp_s, "frame": rec.rgb_path.name, "source": self.format}
        try:
            return observation_from_rgbd(rgb, depth, K, T, step=i, extras=extras)
        except ObservationError as exc:
            raise SequenceError(f"frame {rec.rgb_path}: {exc}") from None


def floor_alignment(seq: RGBDSequence, *, seed: int = 0) -> np.ndarray | None:
    """T_align making the floor z = 0 with Z up, from the depth of up to ALIGN_FRAMES frames in the
    stored pose frame; None (with a warning) when no floor is found."""
    n = len(seq)
    idx = np.unique(np.linspace(0, n - 1, min(ALIGN_FRAMES, n)).round().astype(int))
    rng = np.random.default_rng(seed)
    points, downs, centres = [], [], []
    for i in idx:
        T = seq._frames[i].T_world_cam
        pts, _ = geometry.depth_to_world_points(seq._depth_m(int(i)), seq.intrinsics.K, T)
        if len(pts) > ALIGN_POINTS_PER_FRAME:
            pts = pts[rng.choice(len(pts), ALIGN_POINTS_PER_FRAME, replace=False)]
        points.append(pts)
        downs.append(T[:3, 1])  # image-down axis of the camera in the stored frame
        centres.append(T[:3, 3])
    up = -np.mean(downs, axis=0)
    if np.linalg.norm(up) < 1e-6:
        up = np.array([0.0, 0.0, 1.0])
    try:
        normal, d, fraction = estimate_floor_plane(np.concatenate(points), up=up, seed=seed)
    except ObservationError as exc:
        log.warning("%s: no floor plane found, poses kept as stored (not Z-up): %s", seq.path, exc)
        return None
    heights = np.asarray(centres) @ normal + d
    if np.median(heights) <= 0:
        log.warning("%s: the plane found lies above most cameras (a ceiling?); poses kept as stored", seq.path)
        return None
    log.info("%s: floor plane holds %.0f%% of the sampled points; cameras %.2f m above it", seq.path,
             100 * fraction, float(np.median(heights)))
    return gravity_alignment(normal, d)


def build_sequence(*, name: str, format: str, path: Path, frames: list[SequenceFrame], camera: CameraSpec,
                   stride: int, max_frames: int | None, max_depth_m: float | None, align_floor: bool | str,
                   poses_z_up: bool, resize_rgb: bool = False, what_frames: str = "frames") -> RGBDSequence:
    """Apply stride / max_frames / max_depth_m (overrides the camera's), check there are frames, and
    gravity-align when asked. ``align_floor``: True always (needs poses), False never, "auto" when
    ``poses_z_up`` is False. ``what_frames`` says, for the "no frames" error, what a frame needs.
    """
    if not isinstance(stride, int) or stride < 1:
        raise SequenceError(f"stride must be an integer >= 1, got {stride!r}")
    if max_frames is not None and (not isinstance(max_frames, int) or max_frames < 1):
        raise SequenceError(f"max_frames must be an integer >= 1 or None, got {max_frames!r}")
    if align_floor not in (True, False, "auto"):
        raise SequenceError(f"align_floor must be True, False or 'auto', got {align_floor!r}")
    if max_depth_m is not None:
        if not (isinstance(max_depth_m, (int, float)) and max_depth_m > 0):
            raise SequenceError(f"max_depth_m must be > 0 or None, got {max_depth_m!r}")
        camera = replace(camera, max_depth_m=float(max_depth_m))
    if not frames:
        raise SequenceError(f"no frames in {path}: {what_frames}")
    frames = frames[::stride][:max_frames]
    seq = RGBDSequence(name=name, format=format, path=path, frames=frames, camera=camera, resize_rgb=resize_rgb)
    want = align_floor is True or (align_floor == "auto" and not poses_z_up)
    if want and not seq.has_poses:
        if align_floor is True:
            raise SequenceError(f"align_floor=True needs camera poses, and {path} has none")
        return seq
    if want:
        T = floor_alignment(seq)
        if T is not None:
            seq._T_align = T
    return seq
