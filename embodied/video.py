"""Writing frame sequences as videos (walks through a scene, episode recordings)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["save_video"]


def save_video(frames: Sequence[np.ndarray], path: str | Path, fps: int = 8) -> Path:
    """Write (H, W, 3) uint8 frames as .gif or .mp4 (by the suffix) with imageio; MP4 frames are
    cropped to even sizes, as H.264 needs."""
    import imageio.v2 as imageio

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    if p.suffix.lower() == ".gif":
        imageio.mimsave(p, list(frames), duration=1000 / fps, loop=0)
    else:
        even = [f[: f.shape[0] // 2 * 2, : f.shape[1] // 2 * 2] for f in frames]
        imageio.mimsave(p, even, fps=fps, macro_block_size=1)
    return p
