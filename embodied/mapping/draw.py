"""Pictures of an agent's map: explored space, obstacles, goal evidence, frontiers, path, pose."""

from __future__ import annotations

import math

import numpy as np

from embodied.mapping.occupancy import OccupancyMap

__all__ = ["draw_map"]


def draw_map(m: OccupancyMap, agent_xy_yaw: tuple[float, float, float] | None = None,
             trail_xy: np.ndarray | None = None, path_xy: np.ndarray | None = None,
             frontier_cells: list[np.ndarray] | None = None, scale: int = 3, margin_cells: int = 20) -> np.ndarray:
    """(H, W, 3) uint8 image of the explored part of ``m`` (north = +y up), cropped with a margin."""
    from PIL import Image, ImageDraw

    img = np.full(m.frame.shape + (3,), 255, np.uint8)
    img[m.explored] = (205, 232, 205)
    img[m.explored & m.inflated] = (238, 214, 180)
    img[m.obstacles] = (40, 40, 40)
    for cells in frontier_cells or []:
        img[cells[:, 0], cells[:, 1]] = (40, 90, 230)
    g = (m.goal > 0) | (m.goal_logodds > 0)  # projected relevance, or cells the agent currently believes
    img[g] = (230, 30, 30)
    rows, cols = np.nonzero(m.explored) if m.explored.any() else (np.array([0]), np.array([0]))
    r0, r1 = max(rows.min() - margin_cells, 0), min(rows.max() + margin_cells + 1, m.frame.shape[0])
    c0, c1 = max(cols.min() - margin_cells, 0), min(cols.max() + margin_cells + 1, m.frame.shape[1])
    crop = img[r0:r1, c0:c1][::-1]
    H = crop.shape[0]
    pil = Image.fromarray(crop).resize((crop.shape[1] * scale, H * scale), Image.NEAREST)
    d = ImageDraw.Draw(pil)

    def px(xy: np.ndarray) -> tuple[float, float]:
        col = (xy[0] - m.frame.origin_xy_m[0]) / m.frame.resolution_m - c0
        row = (xy[1] - m.frame.origin_xy_m[1]) / m.frame.resolution_m - r0
        return (col * scale, (H - row) * scale)

    for pts, colour in ((trail_xy, (120, 120, 120)), (path_xy, (30, 90, 220))):
        if pts is not None and len(pts) > 1:
            d.line([px(p) for p in pts], fill=colour, width=2)
    if agent_xy_yaw is not None:
        x, y, yaw = agent_xy_yaw
        tip = px((x + 0.4 * math.cos(yaw), y + 0.4 * math.sin(yaw)))
        left = px((x + 0.18 * math.cos(yaw + 2.5), y + 0.18 * math.sin(yaw + 2.5)))
        right = px((x + 0.18 * math.cos(yaw - 2.5), y + 0.18 * math.sin(yaw - 2.5)))
        d.polygon([tip, left, right], fill=(220, 0, 200), outline=(0, 0, 0))
    return np.asarray(pil)
