"""A semantic value map (after VLFM): each frame's image-text similarity spread over the cells the
camera sees, weighted by a confidence that falls off from the optical axis, fused over frames.

Per visible cell with angle phi from the optical axis and half field of view h:
    c_new = cos(pi/2 * phi / h) ** 2
    v    <- (c * v + c_new * s) / (c + c_new)
    c    <- (c ** 2 + c_new ** 2) / (c + c_new)
"""

from __future__ import annotations

import math

import numpy as np

from embodied.mapping.grid import GridFrame

__all__ = ["ValueMap"]


class ValueMap:
    """``value`` and ``confidence``: (N, N) float32 layers over ``frame``."""

    def __init__(self, frame: GridFrame) -> None:
        self.frame = frame
        self.value = np.zeros(frame.shape, np.float32)
        self.confidence = np.zeros(frame.shape, np.float32)

    def update(self, visible: tuple[np.ndarray, np.ndarray], camera_xy_m: np.ndarray, yaw_rad: float,
               hfov_rad: float, score: float) -> None:
        """Fuse one frame's similarity ``score`` into the visible cells (rows, cols) (e.g.
        ``OccupancyMap.last_visible``)."""
        rows, cols = visible
        if len(rows) == 0:
            return
        xy = self.frame.cell_centers(rows, cols)
        phi = np.arctan2(xy[:, 1] - camera_xy_m[1], xy[:, 0] - camera_xy_m[0]) - yaw_rad
        phi = (phi + math.pi) % (2 * math.pi) - math.pi
        c_new = np.cos(np.clip(np.abs(phi) / (hfov_rad / 2), 0.0, 1.0) * math.pi / 2).astype(np.float32) ** 2
        c_old, v_old = self.confidence[rows, cols], self.value[rows, cols]
        total = c_old + c_new
        safe = np.where(total > 0, total, 1.0)
        self.value[rows, cols] = np.where(total > 0, (c_old * v_old + c_new * np.float32(score)) / safe, v_old)
        self.confidence[rows, cols] = np.where(total > 0, (c_old**2 + c_new**2) / safe, 0.0)
