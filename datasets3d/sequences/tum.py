"""TUM RGB-D benchmark sequences (``rgbd_dataset_freiburg*``).

File formats, intrinsics and depth factor as documented on the benchmark page,
https://cvg.cit.tum.de/data/datasets/rgbd-dataset/file_formats : ``rgb.txt`` / ``depth.txt``
("timestamp filename" lines, '#' comments), ``groundtruth.txt`` ("timestamp tx ty tz qx qy qz qw",
the RGB optical frame to the motion-capture world), 16-bit depth PNGs with 5000 units per metre and
0 = no depth. The depth images are registered to the colour camera, so both share its intrinsics and
are undistorted with its coefficients (depth by nearest neighbour). The mocap world is not Z-up:
by default the floor is found and the poses are gravity-aligned (see ``build_sequence``).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np

from datasets3d.sequences.base import (CameraSpec, SequenceError, SequenceFrame, build_sequence, pose_from_tum,
                                       read_camera_json)
from embodied.rgbd import Distortion
from embodied.types import CameraIntrinsics

log = logging.getLogger(__name__)

DEPTH_SCALE = 5000.0
MAX_DIFFERENCE_S = 0.02
"""As TUM's associate.py ``--max_difference``."""
REQUIRES = "rgb.txt and depth.txt (timestamp filename lines); optional groundtruth.txt, intrinsics.json/camera.json"

# Calibrated colour cameras of the benchmark (fx, fy, cx, cy), (d0..d4); others get the ROS default.
_FREIBURG = {
    "1": ((517.3, 516.5, 318.6, 255.3), (0.2624, -0.9531, -0.0054, 0.0026, 1.1633)),
    "2": ((520.9, 521.0, 325.1, 249.7), (0.2312, -0.7849, -0.0033, -0.0001, 0.9172)),
    "3": ((535.4, 539.2, 320.1, 247.6), (0.0, 0.0, 0.0, 0.0, 0.0)),
}
_ROS_DEFAULT = ((525.0, 525.0, 319.5, 239.5), (0.0, 0.0, 0.0, 0.0, 0.0))


def looks_like(path: Path) -> bool:
    return (path / "rgb.txt").is_file() and (path / "depth.txt").is_file()


def default_camera(name: str) -> CameraSpec:
    """640x480 camera of a sequence folder named ``name`` ("freiburg1" / "2" / "3" in it, else ROS default)."""
    m = re.search(r"freiburg([123])", name.lower())
    (fx, fy, cx, cy), d = _FREIBURG[m.group(1)] if m else _ROS_DEFAULT
    return CameraSpec(intrinsics=CameraIntrinsics(640, 480, fx, fy, cx, cy), distortion=Distortion(*d),
                      depth_scale=DEPTH_SCALE, z_up=False)


def _read_table(path: Path, columns: int) -> list[tuple[float, list[str]]]:
    """(timestamp, other fields) of each data line, sorted by time."""
    if not path.is_file():
        raise SequenceError(f"missing {path} (TUM sequences need rgb.txt and depth.txt)")
    rows = []
    for lineno, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.replace(",", " ").split()
        try:
            if len(fields) != columns:
                raise ValueError(f"expected {columns} fields, got {len(fields)}")
            rows.append((float(fields[0]), fields[1:]))
        except ValueError as exc:
            raise SequenceError(f"{path}:{lineno}: cannot parse {line!r}: {exc}") from None
    return sorted(rows, key=lambda r: r[0])


def associate(first_s: np.ndarray, second_s: np.ndarray,
              max_difference_s: float = MAX_DIFFERENCE_S) -> list[tuple[int, int]]:
    """One-to-one pairs (i, j) of timestamps closer than ``max_difference_s``, closest first, as
    TUM's associate.py does; sorted by i."""
    second_s = np.asarray(second_s)
    order = np.argsort(second_s)
    s = second_s[order]
    candidates = []
    for i, t in enumerate(np.asarray(first_s)):
        lo, hi = np.searchsorted(s, t - max_difference_s), np.searchsorted(s, t + max_difference_s, side="right")
        candidates += [(abs(t - s[k]), i, int(order[k])) for k in range(lo, hi) if abs(t - s[k]) < max_difference_s]
    used_i, used_j, pairs = set(), set(), []
    for _, i, j in sorted(candidates):
        if i not in used_i and j not in used_j:
            used_i.add(i)
            used_j.add(j)
            pairs.append((i, j))
    return sorted(pairs)


def read(path: Path, *, stride: int, max_frames: int | None, max_depth_m: float | None, align_floor: bool | str):
    camera = default_camera(path.name)
    for fname in ("intrinsics.json", "camera.json"):
        if (path / fname).is_file():
            camera = read_camera_json(path / fname, default_depth_scale=DEPTH_SCALE)
            break
    rgb = _read_table(path / "rgb.txt", 2)
    depth = _read_table(path / "depth.txt", 2)
    pairs = associate(np.array([t for t, _ in rgb]), np.array([t for t, _ in depth]))
    if len(pairs) < len(rgb):
        log.warning("%s: %d of %d colour frames have no depth within %.2f s; dropped", path, len(rgb) - len(pairs),
                    len(rgb), MAX_DIFFERENCE_S)
    gt_path = path / "groundtruth.txt"
    poses = None
    if gt_path.is_file():
        gt = _read_table(gt_path, 8)
        gt_t = np.array([t for t, _ in gt])
        poses = (gt_t, gt)
    frames = []
    for i, j in pairs:
        t, (rgb_name,) = rgb[i]
        T = None
        if poses is not None:
            gt_t, gt = poses
            k = int(np.searchsorted(gt_t, t))
            near = [c for c in (k - 1, k) if 0 <= c < len(gt_t)]
            best = min(near, key=lambda c: abs(gt_t[c] - t), default=None)
            if best is None or abs(gt_t[best] - t) >= MAX_DIFFERENCE_S:
                continue
            T = pose_from_tum([float(v) for v in gt[best][1]], f"{gt_path} at t={gt_t[best]:.6f}")
        frames.append(SequenceFrame(rgb_path=path / rgb_name, depth_path=path / depth[j][1][0], timestamp_s=t,
                                    T_world_cam=T))
    if poses is not None and len(frames) < len(pairs):
        log.warning("%s: %d of %d frames have no pose in groundtruth.txt within %.2f s; dropped", path,
                    len(pairs) - len(frames), len(pairs), MAX_DIFFERENCE_S)
    return build_sequence(name=path.name, format="tum", path=path, frames=frames, camera=camera, stride=stride,
                          max_frames=max_frames, max_depth_m=max_depth_m, align_floor=align_floor,
                          poses_z_up=bool(camera.z_up),
                          what_frames="no colour frame of rgb.txt has a depth frame of depth.txt (and a pose of "
                          "groundtruth.txt, when present) within 0.02 s")
