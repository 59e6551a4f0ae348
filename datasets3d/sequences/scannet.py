"""ScanNet scans as exported by its SensReader: ``color/<i>.jpg``, ``depth/<i>.png`` (16-bit
millimetres, 0 = no depth), ``pose/<i>.txt`` (4x4 camera-to-world, rows; ``-inf`` where tracking was
lost), ``intrinsic/intrinsic_depth.txt`` (4x4). Colour (1296x968) and depth (640x480) differ in size:
colour is resized to the depth size and the depth intrinsics are used. Poses are in the scan's
Z-up frame, so no gravity alignment is needed."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from datasets3d.sequences.base import (CameraSpec, SequenceError, SequenceFrame, build_sequence, check_pose,
                                       natural_key, png_size)
from embodied.types import CameraIntrinsics

log = logging.getLogger(__name__)

DEPTH_SCALE = 1000.0
REQUIRES = "color/<i>.jpg, depth/<i>.png, pose/<i>.txt and intrinsic/intrinsic_depth.txt (SensReader export)"


def looks_like(path: Path) -> bool:
    return all((path / d).is_dir() for d in ("color", "depth", "pose")) and \
        (path / "intrinsic" / "intrinsic_depth.txt").is_file()


def _matrix(path: Path) -> np.ndarray:
    if not path.is_file():
        raise SequenceError(f"missing {path} (ScanNet exports have one 4x4 pose per colour frame)")
    try:
        M = np.loadtxt(path, dtype=np.float64, ndmin=2)
    except ValueError as exc:
        raise SequenceError(f"cannot parse {path} as a 4x4 matrix: {exc}") from None
    if M.shape != (4, 4):
        raise SequenceError(f"{path} must hold a 4x4 matrix (4 rows of 4 numbers), got shape {M.shape}")
    return M


def read(path: Path, *, stride: int, max_frames: int | None, max_depth_m: float | None, align_floor: bool | str):
    for d in ("color", "depth", "pose"):
        if not (path / d).is_dir():
            raise SequenceError(f"missing folder {path / d} (ScanNet exports need {REQUIRES})")
    K = _matrix(path / "intrinsic" / "intrinsic_depth.txt")
    colours = sorted((p for p in (path / "color").iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png")),
                     key=lambda p: natural_key(p.stem))
    frames, lost = [], 0
    for rgb_path in colours:
        depth_path = path / "depth" / f"{rgb_path.stem}.png"
        if not depth_path.is_file():
            raise SequenceError(f"missing depth image {depth_path} for colour frame {rgb_path.name}")
        pose_path = path / "pose" / f"{rgb_path.stem}.txt"
        T = _matrix(pose_path)
        if np.isinf(T).any() and not np.isnan(T).any():
            lost += 1  # tracking lost: SensReader writes -inf
            continue
        frames.append(SequenceFrame(rgb_path=rgb_path, depth_path=depth_path,
                                    T_world_cam=check_pose(T, str(pose_path))))
    if lost:
        log.warning("%s: %d of %d frames have an invalid (-inf) pose (tracking lost); skipped", path, lost,
                    len(colours))
    if not frames:
        raise SequenceError(f"no frames in {path}: need colour images in color/ with finite poses in pose/ "
                            f"({lost} poses were -inf)")
    width, height = png_size(frames[0].depth_path)
    try:
        intr = CameraIntrinsics(width, height, K[0, 0], K[1, 1], K[0, 2], K[1, 2])
    except ValueError as exc:
        raise SequenceError(f"invalid intrinsics in {path / 'intrinsic' / 'intrinsic_depth.txt'}: {exc}") from None
    camera = CameraSpec(intrinsics=intr, depth_scale=DEPTH_SCALE, z_up=True)
    return build_sequence(name=path.name, format="scannet", path=path, frames=frames, camera=camera, stride=stride,
                          max_frames=max_frames, max_depth_m=max_depth_m, align_floor=align_floor, poses_z_up=True,
                          resize_rgb=True)
