"""Pictures of a discovered articulated model: the segmented canonical cloud with its joint axes."""

from __future__ import annotations

import numpy as np

from embodied.articulation.joints import JointEstimate
from embodied.geometry import project_points
from embodied.types import CameraIntrinsics

__all__ = ["PART_COLORS", "draw_segmentation"]

PART_COLORS = np.array([(230, 25, 75), (60, 180, 75), (0, 130, 200), (245, 130, 48), (145, 30, 180),
                        (70, 240, 240), (240, 50, 230), (210, 245, 60)], np.uint8)
_BASE = np.array([150, 150, 150], np.uint8)


def draw_segmentation(points: np.ndarray, labels: np.ndarray, joints: list[JointEstimate | None],
                      T_world_cam: np.ndarray, intrinsics: CameraIntrinsics, title: str = "",
                      axis_length_m: float = 0.35) -> np.ndarray:
    """(H, W, 3) uint8 picture: points (N, 3) coloured by label (-1 base grey, k part k), drawn far to near
    from the camera, with each part's joint axis (revolute: a line through the pivot; prismatic: an arrow
    from the part's centroid) in the part's colour."""
    import cv2

    H, W = intrinsics.height, intrinsics.width
    img = np.full((H, W, 3), 255, np.uint8)
    uv, z = project_points(points, intrinsics.K, T_world_cam)
    ok = np.isfinite(uv).all(1) & (z > 0)
    order = np.flatnonzero(ok)[np.argsort(-z[ok])]
    u = np.clip(np.round(uv[order, 0]).astype(int), 0, W - 1)
    v = np.clip(np.round(uv[order, 1]).astype(int), 0, H - 1)
    col = np.where(labels[order, None] < 0, _BASE, PART_COLORS[np.maximum(labels[order], 0) % len(PART_COLORS)])
    for du in (0, 1):
        for dv in (0, 1):
            img[np.clip(v + dv, 0, H - 1), np.clip(u + du, 0, W - 1)] = col
    for k, j in enumerate(joints):
        if j is None:
            continue
        c = tuple(int(x) for x in PART_COLORS[k % len(PART_COLORS)])
        if j.type == "revolute":
            a, b = j.pivot_m - j.axis * axis_length_m / 2, j.pivot_m + j.axis * axis_length_m / 2
        else:
            pts = points[labels == k]
            a = pts.mean(0) if len(pts) else j.pivot_m
            b = a + j.axis * axis_length_m / 2
        (pa, pb), zz = project_points(np.stack([a, b]), intrinsics.K, T_world_cam)
        if (zz > 0).all():
            pa, pb = tuple(int(x) for x in np.round(pa)), tuple(int(x) for x in np.round(pb))
            cv2.line(img, pa, pb, (0, 0, 0), 5, cv2.LINE_AA)
            if j.type == "prismatic":
                cv2.arrowedLine(img, pa, pb, c, 3, cv2.LINE_AA, tipLength=0.25)
            else:
                cv2.line(img, pa, pb, c, 3, cv2.LINE_AA)
    if title:
        cv2.putText(img, title, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    return img
