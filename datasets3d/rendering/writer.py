"""Per-object output folders (written to a temporary folder, then renamed into place) and contact sheets.

Layout of ``<out>/objects/<uid>/`` for N views (``NNN`` = 000, 001, ...):

=====================  ======================================================================
``NNN.png``            RGBA, 8-bit sRGB, alpha 0 off the object
``NNN_depth.png``      uint16 z-depth in units of 1/10000 of the normalized object's unit (0.1 mm
                       if the unit cube is read as 1 m); 0 = no hit
``NNN_normal.png``     RGB, unit normals in the OpenCV camera frame encoded ``(n + 1) / 2 * 255``
                       (facing the camera); (0, 0, 0) off the object
``NNN_mask.png``       8-bit, 255 on the object
``NNN.npy``            (3, 4) float64 OpenCV world-to-camera ``[R | t]`` (``x_cam = R x + t``);
                       Zero123 / Blender matrix: ``diag(1, -1, -1) @ it`` (also in metadata.json)
``metadata.json``      counts, bounding boxes, sha256, file identifier, missing textures, the
                       normalization, K, every view's matrices, the config and backend
``contact.png``        all views on a checkerboard, numbered
=====================  ======================================================================
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from embodied.types import CameraIntrinsics

from datasets3d.rendering.cameras import opencv_to_blender_w2c, world_to_camera
from datasets3d.rendering.config import DEPTH_UNITS_PER_M
from datasets3d.rendering.raycast import View

__all__ = ["encode_depth", "decode_depth", "encode_normal", "decode_normal", "contact_sheet", "write_object",
           "view_files", "TMP_PREFIX", "camera_metadata"]

TMP_PREFIX = ".tmp-"
_PNG = {"compress_level": 1}  # fast; PNG stays lossless


def encode_depth(depth: np.ndarray) -> np.ndarray:
    """(H, W) float32 z-depth -> (H, W) uint16 in 1/DEPTH_UNITS_PER_M units (0 stays 0 = no hit)."""
    d = np.round(np.asarray(depth, np.float64) * DEPTH_UNITS_PER_M)
    return np.clip(d, 0, 65535).astype(np.uint16)


def decode_depth(png: np.ndarray) -> np.ndarray:
    """(H, W) uint16 depth PNG -> (H, W) float32 z-depth (0 = no hit)."""
    return (np.asarray(png).astype(np.float32) / np.float32(DEPTH_UNITS_PER_M)).astype(np.float32)


def encode_normal(normal: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(H, W, 3) unit normals -> (H, W, 3) uint8 ``round((n + 1) / 2 * 255)``, zero off the mask."""
    out = np.round((np.clip(normal, -1.0, 1.0) + 1.0) * 127.5).astype(np.uint8)
    out[~mask] = 0
    return out


def decode_normal(png: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 normal PNG -> (H, W, 3) float32 unit vectors (renormalized after quantization)."""
    n = np.asarray(png).astype(np.float32) / np.float32(127.5) - 1.0
    norm = np.linalg.norm(n, axis=-1, keepdims=True)
    return np.where(norm > 0, n / np.where(norm > 0, norm, 1.0), 0.0).astype(np.float32)


def view_files(index: int) -> dict[str, str]:
    """File names of view ``index``."""
    return {"rgba": f"{index:03d}.png", "depth": f"{index:03d}_depth.png", "normal": f"{index:03d}_normal.png",
            "mask": f"{index:03d}_mask.png", "w2c": f"{index:03d}.npy"}


def contact_sheet(images: list[np.ndarray], cols: int | None = None, tile_px: int = 16) -> np.ndarray:
    """(H', W', 3) uint8 grid of RGBA views over a grey checkerboard, each numbered in its corner."""
    from PIL import Image, ImageDraw

    n = len(images)
    cols = cols or int(np.ceil(np.sqrt(n * 4 / 3)))
    rows = int(np.ceil(n / cols))
    H, W = images[0].shape[:2]
    yy, xx = np.mgrid[0:H, 0:W]
    board = np.where(((yy // tile_px + xx // tile_px) % 2)[..., None] == 0, 235, 205).astype(np.float32)
    sheet = np.full((rows * H, cols * W, 3), 255, np.uint8)
    for i, img in enumerate(images):
        a = img[..., 3:4].astype(np.float32) / 255.0
        tile = img[..., :3].astype(np.float32) * a + board * (1.0 - a)
        r, c = divmod(i, cols)
        sheet[r * H:(r + 1) * H, c * W:(c + 1) * W] = np.round(tile).astype(np.uint8)
    im = Image.fromarray(sheet)
    draw = ImageDraw.Draw(im)
    for i in range(n):
        r, c = divmod(i, cols)
        draw.text((c * W + 4, r * H + 2), f"{i:03d}", fill=(40, 40, 40))
    return np.asarray(im)


def camera_metadata(poses: np.ndarray, K: CameraIntrinsics) -> list[dict[str, Any]]:
    """Per view: index, the OpenCV and Blender world-to-camera matrices, the pose and its spherical
    coordinates (radius, azimuth from +X about +Z, elevation above the XY plane)."""
    out = []
    for i, T in enumerate(poses):
        w2c = world_to_camera(T)
        p = T[:3, 3]
        r = float(np.linalg.norm(p))
        out.append({"index": i, "files": view_files(i), "w2c_opencv": w2c.tolist(),
                    "w2c_blender": opencv_to_blender_w2c(w2c).tolist(), "T_world_cam": T.tolist(),
                    "radius": r, "azimuth_deg": float(np.degrees(np.arctan2(p[1], p[0]))),
                    "elevation_deg": float(np.degrees(np.arcsin(np.clip(p[2] / r, -1.0, 1.0))))})
    return out


def write_object(objects_dir: Path, uid: str, views: list[View], poses: np.ndarray, metadata: dict[str, Any],
                 *, contact: bool = True) -> Path:
    """Write one object's views, matrices, metadata.json and contact sheet, atomically.

    Everything goes to ``objects_dir/.tmp-<uid>-<pid>`` first, which is then renamed to
    ``objects_dir/<uid>``, so a folder named by its uid is always complete. If that folder already
    exists (an earlier run finished it), the new copy is discarded.
    """
    from PIL import Image

    objects_dir = Path(objects_dir)
    final = objects_dir / uid
    tmp = objects_dir / f"{TMP_PREFIX}{uid}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    try:
        for i, (v, T) in enumerate(zip(views, poses)):
            f = view_files(i)
            Image.fromarray(v.rgba, "RGBA").save(tmp / f["rgba"], **_PNG)
            Image.fromarray(encode_depth(v.depth)).save(tmp / f["depth"], **_PNG)
            Image.fromarray(encode_normal(v.normal, v.mask), "RGB").save(tmp / f["normal"], **_PNG)
            Image.fromarray(v.mask.astype(np.uint8) * 255, "L").save(tmp / f["mask"], **_PNG)
            np.save(tmp / f["w2c"], world_to_camera(T))
        if contact:
            Image.fromarray(contact_sheet([v.rgba for v in views])).save(tmp / "contact.png", **_PNG)
        (tmp / "metadata.json").write_text(json.dumps(metadata, indent=1, sort_keys=True))
        try:
            os.rename(tmp, final)
        except OSError:
            if not (final / "metadata.json").is_file():
                raise
            shutil.rmtree(tmp)  # already complete from an earlier run
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final
