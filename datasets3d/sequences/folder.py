"""The plain-folder format, for users' own recordings and conversions:

```
camera.json   {"width", "height", "fx", "fy", "cx", "cy", optional "distortion": [k1, k2, p1, p2, k3],
               "depth_scale" (raw units per metre, default 1000), "depth_invalid" (default [0]),
               "max_depth_m", "z_up" (default true: poses are Z-up with the floor at z = 0)}
rgb/<stem>.png | .jpg     colour, any 8-bit PNG / JPEG
depth/<stem>.png          16-bit single-channel raw depth, registered to the colour image
poses.json (optional)     {"<stem>": 4x4 camera-to-world rows, ...} or a list in frame order
poses.txt  (optional)     "<stem> tx ty tz qx qy qz qw" lines (TUM-style, '#' comments)
```
Frames pair by file stem and are ordered naturally (frame2 before frame10).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from datasets3d.sequences.base import (SequenceError, SequenceFrame, build_sequence, check_pose, natural_key,
                                       pose_from_tum, read_camera_json)
from embodied.types import Observation

log = logging.getLogger(__name__)

REQUIRES = "camera.json, rgb/<stem>.png|jpg and depth/<stem>.png (16-bit); optional poses.json or poses.txt"
_RGB_SUFFIXES = (".png", ".jpg", ".jpeg")


def looks_like(path: Path) -> bool:
    return (path / "camera.json").is_file() and (path / "rgb").is_dir() and (path / "depth").is_dir()


def _read_poses(path: Path, stems: list[str]) -> list[np.ndarray] | None:
    """One (4, 4) camera-to-world per stem from poses.json / poses.txt, or None when neither exists."""
    if (path / "poses.json").is_file():
        src = path / "poses.json"
        try:
            data = json.loads(src.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise SequenceError(f"cannot read {src}: {exc}") from None
        if isinstance(data, list):
            if len(data) != len(stems):
                raise SequenceError(f"{src} lists {len(data)} poses for {len(stems)} frames; give one 4x4 per "
                                    "frame in order, or a {\"<stem>\": 4x4} object")
            data = dict(zip(stems, data))
        elif not isinstance(data, dict):
            raise SequenceError(f"{src} must be a {{\"<frame stem>\": 4x4}} object or a list of 4x4 matrices")
        out = []
        for stem in stems:
            if stem not in data:
                raise SequenceError(f"{src} has no pose for frame '{stem}'; add it or remove the frame")
            try:
                M = np.array(data[stem], dtype=np.float64)
            except (TypeError, ValueError):
                raise SequenceError(f"pose of frame '{stem}' in {src} is not a 4x4 list of numbers") from None
            out.append(check_pose(M, f"of frame '{stem}' in {src}"))
        return out
    if (path / "poses.txt").is_file():
        src = path / "poses.txt"
        table = {}
        for lineno, line in enumerate(src.read_text().splitlines(), 1):
            fields = line.split()
            if not fields or fields[0].startswith("#"):
                continue
            try:
                if len(fields) != 8:
                    raise ValueError(f"expected 'name tx ty tz qx qy qz qw', got {len(fields)} fields")
                values = [float(v) for v in fields[1:]]
            except ValueError as exc:
                raise SequenceError(f"{src}:{lineno}: {exc}") from None
            table[Path(fields[0]).stem] = pose_from_tum(values, f"{src}:{lineno}")
        missing = [s for s in stems if s not in table]
        if missing:
            raise SequenceError(f"{src} has no pose for frame '{missing[0]}' ({len(missing)} missing)")
        return [table[s] for s in stems]
    return None


def read(path: Path, *, stride: int, max_frames: int | None, max_depth_m: float | None, align_floor: bool | str):
    if not (path / "camera.json").is_file():
        raise SequenceError(f"missing {path / 'camera.json'} (the folder format needs {REQUIRES})")
    camera = read_camera_json(path / "camera.json")
    for d in ("rgb", "depth"):
        if not (path / d).is_dir():
            raise SequenceError(f"missing folder {path / d} (the folder format needs {REQUIRES})")
    rgbs: dict[str, Path] = {}
    for p in (path / "rgb").iterdir():
        if p.suffix.lower() in _RGB_SUFFIXES:
            if p.stem in rgbs:
                raise SequenceError(f"two colour images for frame '{p.stem}': {rgbs[p.stem].name} and {p.name}")
            rgbs[p.stem] = p
    stems = sorted(rgbs, key=natural_key)
    for stem in stems:
        if not (path / "depth" / f"{stem}.png").is_file():
            raise SequenceError(f"missing depth image {path / 'depth' / f'{stem}.png'} for colour frame "
                                f"{rgbs[stem].name}")
    poses = _read_poses(path, stems) if stems else None
    frames = [SequenceFrame(rgb_path=rgbs[s], depth_path=path / "depth" / f"{s}.png",
                            T_world_cam=None if poses is None else poses[k]) for k, s in enumerate(stems)]
    z_up = True if camera.z_up is None else camera.z_up
    return build_sequence(name=path.name, format="folder", path=path, frames=frames, camera=camera, stride=stride,
                          max_frames=max_frames, max_depth_m=max_depth_m, align_floor=align_floor, poses_z_up=z_up,
                          what_frames=f"no colour image (.png / .jpg) in {path / 'rgb'}")


def write_folder_sequence(out_dir: str | os.PathLike, observations: Iterable[Observation], *,
                          depth_scale: float = 1000.0) -> Path:
    """Write Observations as a plain-folder sequence that :func:`open_sequence` reads back.

    Frames are ``rgb/<i>.png`` (lossless), ``depth/<i>.png`` (uint16 ``round(depth * depth_scale)``,
    0 = no depth; depths beyond 65535 / depth_scale m are written as no depth, with a warning),
    ``camera.json`` (the first frame's intrinsics; all frames must share them) and ``poses.json``
    (``T_world_cam`` of each frame, ``"z_up": true``). Everything is written into a temporary folder
    beside ``out_dir`` that is renamed onto it at the end, so a killed run leaves no half sequence.
    ``out_dir`` must not exist or be empty. Returns ``out_dir``.
    """
    import cv2

    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise SequenceError(f"{out} already exists and is not an empty folder; choose a new folder or delete it")
    if not (np.isfinite(depth_scale) and depth_scale > 0):
        raise SequenceError(f"depth_scale must be > 0 (raw units per metre), got {depth_scale}")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        (tmp / "rgb").mkdir(parents=True)
        (tmp / "depth").mkdir()
        intrinsics, poses, clipped = None, {}, 0
        for k, obs in enumerate(observations):
            if not isinstance(obs, Observation):
                raise SequenceError(f"item {k} is a {type(obs).__name__}, not an embodied.types.Observation")
            if obs.depth is None:
                raise SequenceError(f"observation {k} has no depth; the folder format needs depth for every frame")
            if intrinsics is None:
                intrinsics = obs.intrinsics
            elif obs.intrinsics != intrinsics:
                raise SequenceError(f"observation {k} has intrinsics {obs.intrinsics}, frame 0 had {intrinsics}; "
                                    "a folder sequence has one camera")
            stem = f"{k:06d}"
            raw = np.round(np.nan_to_num(obs.depth.astype(np.float64), nan=0.0, posinf=0.0) * depth_scale)
            over = raw > np.iinfo(np.uint16).max
            clipped += int(over.sum())
            raw[over | (raw < 0)] = 0
            if not cv2.imwrite(str(tmp / "depth" / f"{stem}.png"), raw.astype(np.uint16)):
                raise SequenceError(f"cannot write {tmp / 'depth' / f'{stem}.png'}")
            if not cv2.imwrite(str(tmp / "rgb" / f"{stem}.png"), np.ascontiguousarray(obs.rgb[..., ::-1])):
                raise SequenceError(f"cannot write {tmp / 'rgb' / f'{stem}.png'}")
            poses[stem] = np.asarray(obs.T_world_cam, dtype=np.float64).tolist()
        if intrinsics is None:
            raise SequenceError(f"no observations to write to {out}")
        if clipped:
            log.warning("%s: %d depth pixels beyond %.1f m written as no depth (lower depth_scale to keep them)",
                        out, clipped, np.iinfo(np.uint16).max / depth_scale)
        K = intrinsics
        camera = {"width": K.width, "height": K.height, "fx": K.fx, "fy": K.fy, "cx": K.cx, "cy": K.cy,
                  "depth_scale": float(depth_scale), "depth_invalid": [0], "z_up": True}
        (tmp / "camera.json").write_text(json.dumps(camera, indent=1) + "\n")
        (tmp / "poses.json").write_text(json.dumps(poses) + "\n")
        if out.exists():
            out.rmdir()
        os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out
