"""Tiny inputs for the mining tests: a textured strip panned by a known number of pixels per frame,
as PNG frames or an H.264 video."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

PAN_PX = 33  # per frame: 1 frame apart 168/196 patches overlap (too high), 2 frames apart 140/196 (kept)
SIZE = 224


def textured_strip(width: int, height: int = SIZE, seed: int = 0) -> np.ndarray:
    """(height, width, 3) uint8: multi-scale noise with random shapes (plenty of SIFT corners)."""
    import cv2

    rng = np.random.default_rng(seed)
    img = np.zeros((height, width, 3), np.float32)
    for sigma, weight in ((12, 0.5), (4, 0.3), (1.5, 0.2)):
        img += weight * cv2.GaussianBlur(rng.random((height, width, 3), np.float32), (0, 0), sigma)
    img = (img - img.min()) / (np.ptp(img) + 1e-6) * 255
    out = np.ascontiguousarray(img.astype(np.uint8))
    for _ in range(width * height // 900):
        c = tuple(int(v) for v in rng.integers(0, 256, 3))
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        if rng.random() < 0.5:
            cv2.circle(out, (x, y), int(rng.integers(3, 12)), c, -1)
        else:
            cv2.rectangle(out, (x, y), (x + int(rng.integers(4, 18)), y + int(rng.integers(4, 18))), c, -1)
    return out


def pan_frames(n: int, step_px: int = PAN_PX, seed: int = 0) -> list[np.ndarray]:
    """``n`` SIZE x SIZE crops of a strip, frame k starting ``k * step_px`` px to the right: frame j
    is frame i moved left by ``(j - i) * step_px`` (homography [[1, 0, -d], [0, 1, 0], [0, 0, 1]])."""
    strip = textured_strip(SIZE + step_px * (n - 1), seed=seed)
    return [np.ascontiguousarray(strip[:, k * step_px:k * step_px + SIZE]) for k in range(n)]


def write_video(path: Path, frames: list[np.ndarray], fps: float = 10.0) -> Path:
    import imageio.v2 as imageio

    with imageio.get_writer(path, fps=fps, codec="libx264", quality=9, macro_block_size=16,
                            ffmpeg_params=["-movflags", "+faststart"], ffmpeg_log_level="error") as w:
        for f in frames:
            w.append_data(f)
    return path


def write_frames(folder: Path, frames: list[np.ndarray]) -> Path:
    import cv2

    folder.mkdir(parents=True, exist_ok=True)
    for k, f in enumerate(frames):
        cv2.imwrite(str(folder / f"frame{k}.png"), f[..., ::-1])
    return folder


@pytest.fixture(scope="session")
def pan_video(tmp_path_factory) -> Path:
    """7 frames at 10 fps, panned PAN_PX px per frame."""
    return write_video(tmp_path_factory.mktemp("videos") / "pan.mp4", pan_frames(7))

