"""Multi-view RGB-D -> one point cloud with normals, pixel bookkeeping and (for evaluation) link ids."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from embodied.articulation.types import MultiView
from embodied.errors import ObservationError
from embodied.geometry import depth_to_world_points

__all__ = ["Cloud", "fuse_views", "voxel_downsample", "estimate_normals"]


@dataclass
class Cloud:
    """A fused point cloud.

    Attributes:
        points: (N, 3) float64 world metres; normals: (N, 3) unit, oriented towards the camera that saw them.
        colors: (N, 3) uint8; view: (N,) int16 index of the view; pixel: (N,) int64 flat pixel ``v * W + u``.
        link_id: (N,) int32 evaluation labels (-1 unknown) or None.
    """

    points: np.ndarray
    normals: np.ndarray
    colors: np.ndarray
    view: np.ndarray
    pixel: np.ndarray
    link_id: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.points)

    def subset(self, idx: np.ndarray) -> Cloud:
        return Cloud(self.points[idx], self.normals[idx], self.colors[idx], self.view[idx], self.pixel[idx],
                     None if self.link_id is None else self.link_id[idx])


def voxel_downsample(points: np.ndarray, voxel_m: float) -> np.ndarray:
    """Indices (M,) of one point per occupied voxel of size ``voxel_m`` (the first in input order)."""
    if voxel_m <= 0 or len(points) == 0:
        return np.arange(len(points))
    ijk = np.floor(points / voxel_m).astype(np.int64)
    ijk -= ijk.min(0)
    dims = ijk.max(0) + 1
    keys = (ijk[:, 0] * dims[1] + ijk[:, 1]) * dims[2] + ijk[:, 2]  # one integer per voxel
    _, first = np.unique(keys, return_index=True)
    return np.sort(first)


def estimate_normals(points: np.ndarray, viewpoints: np.ndarray, k: int = 16) -> np.ndarray:
    """(N, 3) unit normals by local PCA (Open3D, ``k`` neighbours), flipped to face ``viewpoints`` (N, 3)."""
    import open3d as o3d

    if len(points) < 3:
        return np.tile([0.0, 0.0, 1.0], (len(points), 1))
    pc = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(points))
    pc.estimate_normals(o3d.geometry.KDTreeSearchParamKNN(k))
    n = np.asarray(pc.normals)
    flip = np.einsum("ij,ij->i", n, viewpoints - points) < 0
    n[flip] *= -1
    return n


def fuse_views(mv: MultiView, voxel_m: float = 0.006, max_range_m: float = 20.0) -> Cloud:
    """Back-project every view's valid depth into one world cloud, one point per ``voxel_m`` voxel.

    Raises:
        ObservationError: a view's depth holds NaN or negative values, or no view has a valid pixel.
    """
    pts, cols, view, pix, lid, eyes = [], [], [], [], [], []
    for i, v in enumerate(mv.views):
        d = np.asarray(v.depth, np.float32)
        if not np.isfinite(d).all() or (d < 0).any():
            raise ObservationError(f"view {i}: depth must be finite and >= 0 (0 = no return); "
                                   "map invalid pixels to 0 before fusing")
        valid = (d > 0) & (d <= max_range_m)
        p, idx = depth_to_world_points(d, v.intrinsics.K, v.T_world_cam, mask=valid)
        pts.append(p)
        cols.append(v.rgb.reshape(-1, 3)[idx])
        view.append(np.full(len(p), i, np.int16))
        pix.append(idx)
        lid.append(v.link_id.reshape(-1)[idx].astype(np.int32) if v.link_id is not None else None)
        eyes.append(np.broadcast_to(v.T_world_cam[:3, 3], p.shape))
    points = np.concatenate(pts)
    if len(points) == 0:
        raise ObservationError("no view has a valid depth pixel: is the object in view?")
    keep = voxel_downsample(points, voxel_m)
    link = None if any(x is None for x in lid) else np.concatenate(lid)[keep]
    normals = estimate_normals(points[keep], np.concatenate(eyes)[keep])  # PCA: ICP converges faster on them
    return Cloud(points[keep], normals, np.concatenate(cols)[keep], np.concatenate(view)[keep],
                 np.concatenate(pix)[keep], link)
