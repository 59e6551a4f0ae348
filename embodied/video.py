"""Writing frame sequences as videos (walks through a scene, episode recordings, overlays of long
recordings), frame by frame so a long video never sits in memory."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

__all__ = ["save_video", "VideoWriter"]


class VideoWriter:
    """Append (H, W, 3) uint8 frames to a .mp4 (streamed to disk; frames cropped to even sizes, as
    H.264 needs) or a .gif (kept until :meth:`close`; gifs are short). The file appears complete at
    ``path`` on close (written under a temporary name first)."""

    def __init__(self, path: str | Path, fps: int = 8) -> None:
        import imageio.v2 as imageio

        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fps = fps
        self.frames = 0
        self._gif: list[np.ndarray] | None = [] if self.path.suffix.lower() == ".gif" else None
        self._tmp = self.path.with_name(f".{self.path.stem}.partial{self.path.suffix}")
        self._writer = None if self._gif is not None else imageio.get_writer(self._tmp, fps=fps, macro_block_size=1)

    def append(self, frame: np.ndarray) -> None:
        if self._gif is not None:
            self._gif.append(frame)
        else:
            self._writer.append_data(frame[: frame.shape[0] // 2 * 2, : frame.shape[1] // 2 * 2])
        self.frames += 1

    def close(self) -> Path:
        if self._gif is not None:
            import imageio.v2 as imageio

            imageio.mimsave(self._tmp, self._gif, duration=1000 / self.fps, loop=0)
            self._gif = []
        elif self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._tmp.exists():
            os.replace(self._tmp, self.path)
        return self.path

    def abort(self) -> None:
        """Drop what was written (a run that failed leaves no half video)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self._gif = []
        self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def save_video(frames: Iterable[np.ndarray], path: str | Path, fps: int = 8) -> Path:
    """Write (H, W, 3) uint8 frames as .gif or .mp4 (by the suffix) with imageio (see :class:`VideoWriter`)."""
    with VideoWriter(path, fps) as w:
        for f in frames:
            w.append(f)
    return w.path
