"""The built-in CPU renderer: one Embree ray per pixel (via embreex), no display, no Blender.

Per view it gives RGBA, z-depth, camera-frame normals and the object mask. Rays pass through pixel
centres (pixel centres at integer coordinates, :mod:`embodied.geometry`); their camera-frame
directions have z = 1, so Embree's hit distance *is* the z-depth. The face hit and Embree's
barycentrics (u, v) give the albedo: a texture sampled at the interpolated UV (nearest texel,
repeat wrap, times the material factor), interpolated vertex colours, a face colour, or the part's
flat colour. As in Blender, material colours (MTL Kd, glTF baseColorFactor) are linear while
texture, vertex and face colours are sRGB. Shading is Lambert under :mod:`datasets3d.rendering.lighting`
(faces are two-sided: normals are flipped towards the camera), in linear space, stored as sRGB.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from embodied.types import CameraIntrinsics

from datasets3d.rendering.asset import PART_FACE, PART_TEXTURE, PART_VERTEX, Asset
from datasets3d.rendering.config import RenderConfig
from datasets3d.rendering.lighting import AMBIENT, LIGHTS, linear_to_srgb, srgb_to_linear

__all__ = ["View", "RaycastRenderer", "RaycastBackend"]


@dataclass(frozen=True, slots=True)
class View:
    """One rendered view. rgba (H, W, 4) uint8 sRGB, alpha 0 off the object · depth (H, W) float32
    z-depth in normalized-object units (0 = no hit) · normal (H, W, 3) float32 unit normals in the
    OpenCV camera frame, facing the camera (0 off the object) · mask (H, W) bool."""

    rgba: np.ndarray
    depth: np.ndarray
    normal: np.ndarray
    mask: np.ndarray


def _face_normals(tri: np.ndarray) -> np.ndarray:
    n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    norm = np.linalg.norm(n, axis=1, keepdims=True)
    return (n / np.where(norm > 0, norm, 1.0)).astype(np.float32)


class RaycastRenderer:
    """Renders views of one :class:`Asset` (the Embree scene is built once)."""

    def __init__(self, asset: Asset) -> None:
        from embreex import rtcore_scene as rtcs
        from embreex.mesh_construction import TriangleMesh

        self.asset = asset
        tri = np.ascontiguousarray(asset.triangles, dtype=np.float32)
        self._scene = rtcs.EmbreeScene()
        self._mesh = TriangleMesh(self._scene, tri)
        self._normals = _face_normals(asset.vertices[asset.faces])  # float64 corners, float32 normals
        self._rays: dict[CameraIntrinsics, np.ndarray] = {}
        self._lights = np.array([d for _, d, _ in LIGHTS], np.float32)  # (L, 3) towards the lights
        self._strength = np.array([s for _, _, s in LIGHTS], np.float32) / np.float32(np.pi)
        self._part_linear = asset.part_rgba[:, :3].astype(np.float32) / np.float32(255.0)  # material colours are linear

    def _camera_rays(self, K: CameraIntrinsics) -> np.ndarray:
        rays = self._rays.get(K)
        if rays is None:
            u, v = np.meshgrid(np.arange(K.width, dtype=np.float64), np.arange(K.height, dtype=np.float64))
            rays = np.stack([(u - K.cx) / K.fx, (v - K.cy) / K.fy, np.ones_like(u)], -1).reshape(-1, 3)
            rays = self._rays[K] = rays.astype(np.float32)
        return rays

    def cast(self, origins: np.ndarray, dirs: np.ndarray) -> dict[str, np.ndarray]:
        """Embree hits of rays (N, 3): ``tfar`` (inf on a miss), ``primID`` (-1 on a miss), ``u``, ``v``."""
        return self._scene.run(np.ascontiguousarray(origins, np.float32), np.ascontiguousarray(dirs, np.float32),
                               output=1)

    def _albedo(self, prim: np.ndarray, bu: np.ndarray, bv: np.ndarray) -> np.ndarray:
        """(N, 3) float32 linear albedo of hits on faces ``prim`` at barycentrics (bu, bv)."""
        a = self.asset
        part = a.face_part[prim]
        kind = a.part_kind[part]
        out = self._part_linear[part].copy()
        w = np.stack([1.0 - bu - bv, bu, bv], axis=1).astype(np.float32)  # weights of corners 0, 1, 2
        if (kind == PART_TEXTURE).any():
            for p in np.unique(part[kind == PART_TEXTURE]):
                sel = np.flatnonzero(part == p)
                corners = a.faces[prim[sel]]
                uv = np.einsum("nk,nkj->nj", w[sel], a.uv[corners])  # (u, v) of each hit
                img = a.textures[int(p)]
                H, W = img.shape[:2]
                col = np.floor(uv[:, 0] * W).astype(np.int64) % W
                row = np.floor((1.0 - uv[:, 1]) * H).astype(np.int64) % H  # UV origin is the bottom left
                out[sel] = srgb_to_linear(img[row, col, :3] / np.float32(255.0)) * self._part_linear[p]
        if (kind == PART_VERTEX).any():
            sel = np.flatnonzero(kind == PART_VERTEX)
            cols = a.vertex_rgba[a.faces[prim[sel]], :3].astype(np.float32) / 255.0
            out[sel] = srgb_to_linear(np.einsum("nk,nkj->nj", w[sel], cols))
        if (kind == PART_FACE).any():
            sel = np.flatnonzero(kind == PART_FACE)
            out[sel] = srgb_to_linear(a.face_rgba[prim[sel], :3] / 255.0)
        return out

    def render(self, T_world_cam: np.ndarray, K: CameraIntrinsics) -> View:
        """Render one view from OpenCV camera pose ``T_world_cam`` (4, 4) with intrinsics ``K``."""
        H, W = K.height, K.width
        R = np.asarray(T_world_cam[:3, :3], dtype=np.float32)
        origin = np.asarray(T_world_cam[:3, 3], dtype=np.float32)
        # small (N, 3) x (3, 3) products: einsum, since BLAS matmul is slow at this shape
        dirs = np.einsum("nj,kj->nk", self._camera_rays(K), R)
        origins = np.empty_like(dirs)
        origins[:] = origin
        hits = self.cast(origins, dirs)
        prim = hits["primID"].astype(np.int64)
        idx = np.flatnonzero(prim >= 0)
        prim = prim[idx]
        depth = np.zeros(H * W, np.float32)
        depth[idx] = hits["tfar"][idx]
        n_world = self._normals[prim]
        flip = np.einsum("nj,nj->n", n_world, dirs[idx]) > 0  # facing away from the camera: two-sided
        n_world[flip] *= -1.0
        lambert = np.einsum("nl,l->n", np.clip(np.einsum("nj,lj->nl", n_world, self._lights), 0.0, None),
                            self._strength)
        albedo = self._albedo(prim, hits["u"][idx], hits["v"][idx])
        srgb = linear_to_srgb(albedo * (AMBIENT + lambert)[:, None])
        rgba = np.zeros((H * W, 4), np.uint8)
        rgba[idx, :3] = np.round(srgb * 255.0).astype(np.uint8)
        rgba[idx, 3] = 255
        normal = np.zeros((H * W, 3), np.float32)
        normal[idx] = np.einsum("nj,jk->nk", n_world, R)  # world -> camera: R^T n
        mask = np.zeros(H * W, bool)
        mask[idx] = True
        return View(rgba.reshape(H, W, 4), depth.reshape(H, W), normal.reshape(H, W, 3), mask.reshape(H, W))


class RaycastBackend:
    """The default backend: :class:`RaycastRenderer` per object, single-threaded (scale out with workers)."""

    name = "raycast"

    def __init__(self, config: RenderConfig) -> None:
        self.config = config

    def describe(self) -> dict[str, Any]:
        import embreex

        return {"name": self.name, "engine": "embree (embreex " + getattr(embreex, "__version__", "?") + ")",
                "shading": "lambert, 4 sun lights + ambient, no shadows", "samples_per_pixel": 1}

    def render(self, asset: Asset, poses: np.ndarray, K: CameraIntrinsics) -> list[View]:
        """Views of ``asset`` from each (4, 4) OpenCV pose in ``poses``."""
        renderer = RaycastRenderer(asset)
        return [renderer.render(T, K) for T in poses]

    def close(self) -> None:
        pass
