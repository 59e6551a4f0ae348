"""Shortest paths on 2D grids: fast-marching geodesic fields (scikit-fmm) and path extraction,
plus turning a path into discrete actions. Pure functions on arrays; grids are (H, W) with rows
along +y and columns along +x of the world frame.
"""

from __future__ import annotations

import math

import numpy as np

from embodied.types import Action

__all__ = ["geodesic_field", "descend", "path_to_action"]

_OFFSETS = ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1))


def geodesic_field(traversable: np.ndarray, goal: np.ndarray, resolution_m: float,
                   speed: np.ndarray | None = None) -> np.ndarray:
    """Geodesic distance (metres) from every cell to the nearest goal cell through traversable cells.

    Args:
        traversable: (H, W) bool.
        goal: (H, W) bool; only traversable goal cells count.
        resolution_m: cell size.
        speed: optional (H, W) float in (0, 1] on traversable cells; the field is then a travel
            time in "metres at full speed" (slow cells, e.g. close to obstacles, cost more).
    Returns:
        (H, W) float64: 0 on goal cells, inf where unreachable or not traversable.
    """
    import skfmm

    goal = goal & traversable
    out = np.full(traversable.shape, np.inf)
    if not goal.any():
        return out
    phi = np.ma.MaskedArray(np.where(goal, -1.0, 1.0), mask=~traversable)
    try:
        if speed is None:
            d = skfmm.distance(phi, dx=resolution_m)
        else:
            d = skfmm.travel_time(phi, np.ma.MaskedArray(np.where(traversable, speed, 1.0), mask=~traversable),
                                  dx=resolution_m)
    except ValueError:  # no zero contour reachable (e.g. the goal fills its component)
        out[goal] = 0.0
        return out
    valid = ~np.ma.getmaskarray(d)
    # skfmm measures to the contour half a cell outside the goal cells; shift to cell centres
    out[valid] = np.maximum(np.asarray(d)[valid] + resolution_m / 2, 0.0)
    out[goal] = 0.0
    return out


def descend(field: np.ndarray, start: tuple[int, int], max_cells: int | None = None) -> list[tuple[int, int]]:
    """Cells from ``start`` down ``field`` (8-connected steepest descent) to a 0 cell.

    Returns [] when the start is unreachable (inf) or outside the grid.
    """
    H, W = field.shape
    r, c = start
    if not (0 <= r < H and 0 <= c < W) or not np.isfinite(field[r, c]):
        return []
    path = [(r, c)]
    for _ in range(max_cells or H * W):
        if field[r, c] == 0.0:
            break
        best = min(((field[r + dr, c + dc], r + dr, c + dc) for dr, dc in _OFFSETS
                    if 0 <= r + dr < H and 0 <= c + dc < W), key=lambda t: t[0])
        if best[0] >= field[r, c]:
            break
        r, c = best[1], best[2]
        path.append((r, c))
    return path


def path_to_action(position_xy_m: np.ndarray, yaw_rad: float, waypoint_xy_m: np.ndarray, turn_rad: float) -> Action:
    """The discrete action that follows a path: turn towards ``waypoint`` until the heading error
    is within half a turn step, then move forward."""
    dx, dy = waypoint_xy_m[0] - position_xy_m[0], waypoint_xy_m[1] - position_xy_m[1]
    err = (math.atan2(dy, dx) - yaw_rad + math.pi) % (2 * math.pi) - math.pi
    if abs(err) <= turn_rad / 2 + 1e-9:
        return Action.MOVE_FORWARD
    return Action.TURN_LEFT if err > 0 else Action.TURN_RIGHT
