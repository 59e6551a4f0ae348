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


def detect_frontiers(explored: np.ndarray, navigable: np.ndarray, min_size_cells: int = 5) -> list[Frontier]:
    """Frontier clusters of a map.

    Args:
        explored: (N, N) bool cells that have been seen.
        navigable: (N, N) bool explored cells the agent can stand on.
        min_size_cells: clusters smaller than this are dropped (noise, gaps under furniture).
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
    front = navigable[r0:r1, c0:c1] & near_unknown
    labels, n = ndimage.label(front, structure=np.ones((3, 3), bool))
    out = []
    for k in range(1, n + 1):
        cells = np.argwhere(labels == k)
        if len(cells) < min_size_cells:
            continue
        centroid = cells.mean(axis=0)
        t = cells[np.argmin(((cells - centroid) ** 2).sum(1))]
        out.append(Frontier(cells + (r0, c0), (int(t[0] + r0), int(t[1] + c0))))
    return sorted(out, key=lambda f: (-f.size, f.target))
