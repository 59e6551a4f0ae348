"""Pictures of mined pairs: each pair side by side with some of its corresponding patches boxed and
joined (one colour per patch pair)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["draw_pair", "contact_sheet"]


def _colour(i: int) -> tuple[int, int, int]:
    hue = (i * 0.61803398875) % 1.0
    import colorsys

    r, g, b = colorsys.hsv_to_rgb(hue, 0.85, 1.0)
    return int(r * 255), int(g * 255), int(b * 255)


def draw_pair(rgb0: np.ndarray, rgb1: np.ndarray, correspondences: np.ndarray, patch_px: int,
              title: str = "", max_links: int = 12) -> np.ndarray:
    """(H, 2W + gap, 3) uint8: the two frames, ``max_links`` evenly chosen patch pairs boxed and joined,
    and ``title`` in a band on top."""
    import cv2

    h, w = rgb0.shape[:2]
    gap, band = 8, 22
    canvas = np.full((h + band, 2 * w + gap, 3), 255, np.uint8)
    canvas[band:, :w] = rgb0
    canvas[band:, w + gap:] = rgb1
    grid = w // patch_px
    corr = np.asarray(correspondences)
    if len(corr):
        pick = corr[np.linspace(0, len(corr) - 1, min(max_links, len(corr))).round().astype(int)]
        for i, (a, b) in enumerate(pick):
            col = _colour(i)
            (ra, ca), (rb, cb) = divmod(int(a), grid), divmod(int(b), grid)
            pa = (ca * patch_px, band + ra * patch_px)
            pb = (w + gap + cb * patch_px, band + rb * patch_px)
            cv2.rectangle(canvas, pa, (pa[0] + patch_px - 1, pa[1] + patch_px - 1), col, 2)
            cv2.rectangle(canvas, pb, (pb[0] + patch_px - 1, pb[1] + patch_px - 1), col, 2)
            half = patch_px // 2
            cv2.line(canvas, (pa[0] + half, pa[1] + half), (pb[0] + half, pb[1] + half), col, 1, cv2.LINE_AA)
    if title:
        cv2.putText(canvas, title, (4, band - 7), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (0, 0, 0), 1, cv2.LINE_AA)
    return canvas


def contact_sheet(panels: Sequence[np.ndarray], columns: int = 2) -> np.ndarray:
    """Tile equally sized (H, W, 3) panels into a grid with white margins."""
    if not panels:
        raise ValueError("no panels to tile")
    h, w = panels[0].shape[:2]
    rows = (len(panels) + columns - 1) // columns
    m = 10
    sheet = np.full((rows * (h + m) + m, columns * (w + m) + m, 3), 255, np.uint8)
    for i, p in enumerate(panels):
        r, c = divmod(i, columns)
        sheet[m + r * (h + m): m + r * (h + m) + h, m + c * (w + m): m + c * (w + m) + w] = p
    return sheet
