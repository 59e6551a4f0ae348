"""Frontiers: known-free cells next to unknown space, clustered and filtered by size."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Frontier", "detect_frontiers"]


@dataclass(frozen=True)
class Frontier:
    """A cluster of frontier cells. ``target`` is the member cell nearest the cluster centroid."""

    cells: np.ndarray  # (K, 2) int rows, cols
    target: tuple[int, int]

    @property
    def size(self) -> int:
        return len(self.cells)


def detect_frontiers(explored: np.ndarray, free: np.ndarray, navigable: np.ndarray, min_size_cells: int = 5,
                     reach_cells: int = 20) -> list[Frontier]:
    """Frontier clusters of a map.

    Args:
        explored: (N, N) bool cells that have been seen.
        free: (N, N) bool explored cells without an obstacle.
        navigable: (N, N) bool free cells the agent can stand on (obstacles inflated by its radius).
        min_size_cells: clusters smaller than this are dropped (noise, gaps under furniture).
        reach_cells: a cluster's target is the navigable cell nearest its centroid within this many
            cells of the cluster (frontiers often lie in the inflated band along walls and furniture);
            clusters with none are dropped.
    Returns:
        Frontiers sorted by decreasing size (ties: by target cell, so the order is deterministic).
    """
    from scipy import ndimage

    if not explored.any():
        return []
    rows, cols = np.nonzero(explored)
    r0, r1 = max(rows.min() - 1, 0), min(rows.max() + 2, explored.shape[0])
    c0, c1 = max(cols.min() - 1, 0), min(cols.max() + 2, explored.shape[1])
    unknown = ~explored[r0:r1, c0:c1]
    near_unknown = ndimage.binary_dilation(unknown, structure=ndimage.generate_binary_structure(2, 1))
    front = free[r0:r1, c0:c1] & near_unknown
    nav = navigable[r0:r1, c0:c1]
    labels, n = ndimage.label(front, structure=np.ones((3, 3), bool))
    nav_cells = np.argwhere(nav)
    out = []
    for k in range(1, n + 1):
        cells = np.argwhere(labels == k)
        if len(cells) < min_size_cells or len(nav_cells) == 0:
            continue
        lo, hi = cells.min(0) - reach_cells, cells.max(0) + reach_cells
        near = nav_cells[((nav_cells >= lo) & (nav_cells <= hi)).all(1)]
        if len(near) == 0:
            continue
        d_cluster = np.min(((near[:, None, :] - cells[None, ::max(1, len(cells) // 64), :]) ** 2).sum(-1), axis=1)
        near = near[d_cluster <= reach_cells**2]
        if len(near) == 0:
            continue
        centroid = cells.mean(axis=0)
        t = near[np.argmin(((near - centroid) ** 2).sum(1))]
        out.append(Frontier(cells + (r0, c0), (int(t[0] + r0), int(t[1] + c0))))
    return sorted(out, key=lambda f: (-f.size, f.target))
