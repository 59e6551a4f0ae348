"""A metric 2D grid over the world's x/y plane (rows along +y, columns along +x)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["GridFrame"]


@dataclass(frozen=True, slots=True)
class GridFrame:
    """Cell (row, col) covers x in [x0 + col * r, x0 + (col + 1) * r), y likewise with rows."""

    origin_xy_m: tuple[float, float]
    resolution_m: float
    shape: tuple[int, int]

    @classmethod
    def centered(cls, center_xy_m: np.ndarray, size_m: float, resolution_m: float) -> GridFrame:
        n = int(math.ceil(size_m / resolution_m))
        return cls((float(center_xy_m[0]) - n * resolution_m / 2, float(center_xy_m[1]) - n * resolution_m / 2),
                   resolution_m, (n, n))

    def to_cells(self, xy_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(rows, cols) int64 of (..., 2) world points (may fall outside the grid)."""
        xy = np.asarray(xy_m)
        cols = np.floor((xy[..., 0] - self.origin_xy_m[0]) / self.resolution_m).astype(np.int64)
        rows = np.floor((xy[..., 1] - self.origin_xy_m[1]) / self.resolution_m).astype(np.int64)
        return rows, cols

    def to_cell(self, xy_m: np.ndarray) -> tuple[int, int]:
        r, c = self.to_cells(np.asarray(xy_m, dtype=np.float64)[:2])
        return int(r), int(c)

    def inside(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        return (rows >= 0) & (rows < self.shape[0]) & (cols >= 0) & (cols < self.shape[1])

    def cell_center(self, row: int, col: int) -> np.ndarray:
        r = self.resolution_m
        return np.array([self.origin_xy_m[0] + (col + 0.5) * r, self.origin_xy_m[1] + (row + 0.5) * r])

    def cell_centers(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """(N, 2) world centres of the given cells."""
        r = self.resolution_m
        return np.stack([self.origin_xy_m[0] + (np.asarray(cols) + 0.5) * r,
                         self.origin_xy_m[1] + (np.asarray(rows) + 0.5) * r], axis=-1)
