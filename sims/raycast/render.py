"""Ray-cast rendering of a Scene: RGB, z-depth and instance ids, on the CPU with no display.

One primary ray per pixel through the pixel centre (OpenCV camera, directions with z = 1, so the
hit distance *is* the z-depth). Backends: Embree through ``embreex`` (default) and Open3D's
``RaycastingScene``; both return identical hits (tests check depth to 1e-4 m).

Shading is computed once per face, since lights do not move: ambient + Lambert from the room's
ceiling light (with distance fall-off and the room's colour) + a sky term, times the face albedo.
Per pixel only a gather and the procedural texture of floors and walls remain.

Scanned scenes (:mod:`sims.raycast.scan`) show their baked appearance: per pixel, the hit's
barycentric coordinates interpolate the face's UVs for a bilinear, REPEAT-wrapped lookup in its
texture image (:func:`sample_texture`), or its corner (vertex) colours; faces with neither get their
flat colour under a fixed sky light. Nothing of a scan is relit. Textures are mipmapped
(:func:`mip_levels`): a pixel reads the level whose texels match its footprint on the face (z-depth
/ fx, against the face's texel density, :func:`texel_density`, :func:`mip_level`), which removes the aliasing of a
2-4K texture seen from metres away and keeps the lookups in cache.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from embodied.errors import ConfigError
from embodied.types import CameraIntrinsics
from sims.raycast.scene import PATTERNS, Scene

__all__ = ["BACKENDS", "Frame", "Renderer", "face_normals", "shade_faces", "ray_caster", "sample_texture",
           "interpolate_corners", "mip_levels", "mip_level", "texel_density"]

BACKENDS = ("embree", "open3d")


@dataclass(frozen=True, slots=True)
class Frame:
    """rgb (H, W, 3) uint8, depth (H, W) float32 metres (0 = no hit), instance (H, W) int32 (-1 = none)."""

    rgb: np.ndarray
    depth: np.ndarray
    instance: np.ndarray


def face_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(F, 3) float32 unit normals (zero for degenerate faces)."""
    tri = vertices[faces].astype(np.float64)
    n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    norm = np.linalg.norm(n, axis=1, keepdims=True)
    return (n / np.where(norm > 0, norm, 1.0)).astype(np.float32)


def shade_faces(scene: Scene) -> np.ndarray:
    """(F, 3) float32 linear colour in [0, 1] of each face under its room's light (scanned scenes,
    which have no rooms: the flat colour under a fixed sky light, so untextured walls and floors
    differ; their textured and vertex-coloured faces are drawn unlit, see :class:`Renderer`)."""
    normals = face_normals(scene.vertices, scene.faces)
    if not scene.rooms:
        shade = 0.62 + 0.23 * np.abs(normals[:, 2]) + 0.15 * np.abs(normals @ np.array([0.6, 0.8, 0.0], np.float32))
        rgb = scene.face_albedo.astype(np.float32) / 255.0 * shade[:, None]
        return np.clip(rgb, 0.0, 1.0).astype(np.float32)
    centroids = scene.vertices[scene.faces].mean(axis=1).astype(np.float64)
    light_pos = np.zeros_like(centroids)
    light_rgb = np.ones_like(centroids)
    intensity = np.full(len(centroids), 1.0)
    for r in scene.rooms:  # faces take the light of the room their centroid lies in
        x0, y0, x1, y1 = r.bounds_m
        inside = (centroids[:, 0] >= x0 - 0.06) & (centroids[:, 0] <= x1 + 0.06) & \
                 (centroids[:, 1] >= y0 - 0.06) & (centroids[:, 1] <= y1 + 0.06)
        light_pos[inside] = ((x0 + x1) / 2, (y0 + y1) / 2, scene.wall_height_m - 0.3)
        light_rgb[inside] = r.light_rgb
        intensity[inside] = r.light_intensity
    to_light = light_pos - centroids
    dist = np.linalg.norm(to_light, axis=1)
    lambert = np.clip((normals * to_light).sum(1) / np.maximum(dist, 1e-6), 0.0, 1.0)
    falloff = 1.0 / (1.0 + 0.04 * dist**2)
    sky = 0.5 + 0.5 * normals[:, 2]
    shade = 0.42 + 0.5 * intensity * lambert * falloff + 0.12 * sky
    rgb = scene.face_albedo.astype(np.float32) / 255.0 * light_rgb.astype(np.float32)
    return np.clip(rgb * shade[:, None].astype(np.float32), 0.0, 1.0).astype(np.float32)


def _hash2(i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Deterministic pseudo-random values in [0, 1) for integer lattice points."""
    v = np.sin(i * 12.9898 + j * 78.233) * 43758.5453
    return v - np.floor(v)


_TILE_RES = 256
_TILE_PERIOD_M = {"plain": (1.0, 1.0), "planks": (2.4, 2.16), "tiles": (1.6, 1.6), "carpet": (0.96, 0.96),
                  "stripes": (0.24, 0.24)}


def _tile(name: str, A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Brightness multiplier of pattern ``name`` over one period, at surface coordinates (A, B) m."""
    if name == "planks":  # boards 0.18 m wide along A, 1.2 m long, staggered, with dark seams
        row = np.floor(B / 0.18)
        shifted = (A + 0.4 * row) / 1.2
        seam = ((B / 0.18 - row) < 0.06) | ((shifted - np.floor(shifted)) < 0.01)
        v = 0.82 + 0.28 * _hash2(row, np.floor(shifted) % 2) + 0.05 * np.sin(A * 2 * np.pi / 0.24 + row)
        return np.where(seam, 0.55, v)
    if name == "tiles":  # 0.4 m tiles with light grout
        fa, fb = A / 0.4 - np.floor(A / 0.4), B / 0.4 - np.floor(B / 0.4)
        grout = (fa < 0.04) | (fb < 0.04)
        return np.where(grout, 1.25, 0.92 + 0.1 * _hash2(np.floor(A / 0.4), np.floor(B / 0.4)))
    if name == "carpet":
        return 0.88 + 0.16 * _hash2(np.floor(A / 0.015), np.floor(B / 0.015))
    if name == "stripes":  # wallpaper
        return np.where((np.floor(A / 0.12) % 2) == 0, 1.0, 0.88)
    return np.ones_like(A)


def _texture_tiles() -> tuple[np.ndarray, np.ndarray]:
    """(P, R, R) float32 periodic tiles and (P, 2) float32 texels-per-metre, for PATTERNS."""
    tiles, scale = [], []
    for name in PATTERNS:
        pa, pb = _TILE_PERIOD_M[name]
        A, B = np.meshgrid((np.arange(_TILE_RES) + 0.5) / _TILE_RES * pa, (np.arange(_TILE_RES) + 0.5) / _TILE_RES * pb)
        tiles.append(_tile(name, A, B).astype(np.float32))
        scale.append((_TILE_RES / pa, _TILE_RES / pb))
    return np.stack(tiles), np.array(scale, np.float32)


_TILES, _TILE_SCALE = _texture_tiles()
_TILES_FLAT = _TILES.ravel()


def _texture(pattern: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Brightness multiplier per pixel for PATTERNS ids at surface coordinates (a, b) in metres."""
    sc = _TILE_SCALE[pattern]
    mask = _TILE_RES - 1  # power of two: & wraps negatives correctly in two's complement
    ia = np.floor(a * sc[:, 0]).astype(np.int32) & mask
    ib = np.floor(b * sc[:, 1]).astype(np.int32) & mask
    return _TILES_FLAT[(pattern.astype(np.int32) * _TILE_RES + ib) * _TILE_RES + ia]


def sample_texture(image: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """Bilinear lookup of ``image`` (h, w, 3) uint8 at texture coordinates ``uv`` (N, 2) float32
    (origin at the image's bottom-left, v up, as trimesh keeps glTF/OBJ UVs; texel centres at
    ((i + 0.5) / w, 1 - (j + 0.5) / h); REPEAT wrapping, glTF's default sampler).

    Returns:
        (N, 3) float32 colour in [0, 255]. The native renderer does the same float32 arithmetic.
    """
    h, w = image.shape[:2]
    s, t = uv[:, 0].astype(np.float32), uv[:, 1].astype(np.float32)
    bad = ~(np.isfinite(s) & np.isfinite(t))
    if bad.any():
        s, t = np.where(bad, np.float32(0), s), np.where(bad, np.float32(0), t)
    x = s * np.float32(w) - np.float32(0.5)
    y = (np.float32(1) - t) * np.float32(h) - np.float32(0.5)
    xf, yf = np.floor(x), np.floor(y)
    ax, ay = (x - xf)[:, None], (y - yf)[:, None]
    x0, y0 = np.fmod(xf, w).astype(np.int64), np.fmod(yf, h).astype(np.int64)
    x0, y0 = np.where(x0 < 0, x0 + w, x0), np.where(y0 < 0, y0 + h, y0)
    x1, y1 = np.where(x0 + 1 == w, 0, x0 + 1), np.where(y0 + 1 == h, 0, y0 + 1)
    p00, p01 = image[y0, x0].astype(np.float32), image[y0, x1].astype(np.float32)
    p10, p11 = image[y1, x0].astype(np.float32), image[y1, x1].astype(np.float32)
    top = p00 + ax * (p01 - p00)
    bot = p10 + ax * (p11 - p10)
    return top + ay * (bot - top)


def interpolate_corners(corners: np.ndarray, bary: np.ndarray) -> np.ndarray:
    """(N, 3) float32 per-pixel values from per-corner ones ``corners`` (N, 3, C) and Embree's
    barycentric ``bary`` (N, 2) = (u, v): ``(1 - u - v) * c0 + u * c1 + v * c2``. Returns (N, C)."""
    u, v = bary[:, 0:1].astype(np.float32), bary[:, 1:2].astype(np.float32)
    w = np.float32(1) - u - v
    c = corners.astype(np.float32)
    return w * c[:, 0] + u * c[:, 1] + v * c[:, 2]


def mip_levels(image: np.ndarray) -> list[np.ndarray]:
    """[image, half, quarter, ...] down to 1 px on the short side: each level the area average of the
    one before (OpenCV INTER_AREA), (h, w, 3) uint8 C-contiguous."""
    import cv2

    levels = [np.ascontiguousarray(image[..., :3], np.uint8)]
    while min(levels[-1].shape[:2]) > 1:
        h, w = levels[-1].shape[:2]
        levels.append(np.ascontiguousarray(cv2.resize(levels[-1], (max(1, w // 2), max(1, h // 2)),
                                                      interpolation=cv2.INTER_AREA)))
    return levels


def texel_density(vertices: np.ndarray, faces: np.ndarray, face_uv: np.ndarray, sizes_wh: np.ndarray) -> np.ndarray:
    """(F,) float32 level-0 texels per metre of each face: sqrt(UV area x w x h / world area), with
    ``sizes_wh`` (F, 2) the (w, h) of each face's texture; 0 for degenerate faces (always level 0)."""
    tri = vertices[faces].astype(np.float64)
    world = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    uv = face_uv.astype(np.float64)
    e1, e2 = uv[:, 1] - uv[:, 0], uv[:, 2] - uv[:, 0]
    texels = 0.5 * np.abs(e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]) * sizes_wh[:, 0] * sizes_wh[:, 1]
    ok = (world > 1e-12) & (texels > 0)
    out = np.zeros(len(faces))
    out[ok] = np.sqrt(texels[ok] / world[ok])
    return out.astype(np.float32)


def mip_level(texels_per_pixel: np.ndarray, n_levels: int) -> np.ndarray:
    """(N,) int64 mip level for pixels covering ``texels_per_pixel`` (N,) float32 level-0 texels:
    floor(log2(x * sqrt 2)) (the nearest power of two), clipped to [0, n_levels - 1]; read off the
    float's exponent, as the native renderer does, so both pick the same level."""
    x = np.asarray(texels_per_pixel, np.float32) * np.float32(1.41421356)
    ok = np.isfinite(x) & (x > 1)
    _, e = np.frexp(np.where(ok, x, np.float32(1)))
    return np.clip(np.where(ok, e.astype(np.int64) - 1, 0), 0, n_levels - 1)


def _to_u8(x: np.ndarray) -> np.ndarray:
    return np.clip(x + np.float32(0.5), 0.0, 255.0).astype(np.uint8)


class _EmbreeBackend:
    """Embree via embreex; its ``run`` releases the GIL, so row chunks cast in parallel threads."""

    parallel = True

    def __init__(self, triangles: np.ndarray) -> None:
        from embreex import rtcore_scene as rtcs
        from embreex.mesh_construction import TriangleMesh

        self._scene = rtcs.EmbreeScene()
        self._mesh = TriangleMesh(self._scene, triangles)

    def cast(self, origins: np.ndarray, dirs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(t (N,) float32, inf on a miss; prim (N,) int64, -1 on a miss; barycentric (u, v) (N, 2))."""
        out = self._scene.run(origins, dirs, output=1)
        prim = out["primID"].astype(np.int64)
        return out["tfar"], prim, np.stack([out["u"], out["v"]], 1)


class _Open3DBackend:
    """Open3D's RaycastingScene (multi-threaded inside one call)."""

    parallel = False

    def __init__(self, vertices: np.ndarray, faces: np.ndarray) -> None:
        import open3d as o3d

        self._o3d = o3d
        self._scene = o3d.t.geometry.RaycastingScene()
        self._scene.add_triangles(o3d.core.Tensor(vertices.astype(np.float32)), o3d.core.Tensor(faces.astype(np.uint32)))

    def cast(self, origins: np.ndarray, dirs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        rays = self._o3d.core.Tensor(np.concatenate([origins, dirs], axis=1))
        r = self._scene.cast_rays(rays)
        t = r["t_hit"].numpy()
        prim = r["primitive_ids"].numpy().astype(np.int64)
        prim[~np.isfinite(t)] = -1
        return t, prim, r["primitive_uvs"].numpy()


def ray_caster(scene: Scene):
    """A ray caster over ``scene``'s faces: ``cast(origins (N, 3) float32, dirs (N, 3) float32 unit)
    -> (t (N,) float32 metres, inf on a miss; face index (N,) int64, -1 on a miss)`` (Embree, else Open3D)."""
    tri = np.ascontiguousarray(scene.vertices[scene.faces].astype(np.float32))
    try:
        backend = _EmbreeBackend(tri)
    except ImportError:
        backend = _Open3DBackend(scene.vertices, scene.faces)

    def cast(origins: np.ndarray, dirs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        t, prim, _ = backend.cast(np.ascontiguousarray(origins, np.float32), np.ascontiguousarray(dirs, np.float32))
        prim = prim.copy()
        prim[~np.isfinite(t)] = -1
        return t, prim

    return cast


class Renderer:
    """Renders frames of one Scene.

    Args:
        scene: the geometry.
        backend: "embree" (default) or "open3d".
        max_depth_m: hits beyond this read as no return (depth 0).
        threads: worker threads for the embree backend (row chunks); default: all cores, at most 8.
    """

    def __init__(self, scene: Scene, backend: str = "embree", max_depth_m: float = 20.0,
                 threads: int | None = None, native: bool | None = None) -> None:
        import os

        if backend not in BACKENDS:
            raise ConfigError(f"unknown render backend '{backend}'; choose from {BACKENDS}")
        self.scene = scene
        self.backend = backend
        self.max_depth_m = float(max_depth_m)
        tri = np.ascontiguousarray(scene.vertices[scene.faces].astype(np.float32))
        self._native, self._cscene = None, None
        if backend == "embree" and native is not False:
            from sims.raycast.native import load_native

            self._native = load_native()
            if self._native is None and native:
                raise ConfigError("the native renderer was requested but could not be built (see the log)")
        if self._native is not None:
            self._cscene = self._native.fc_build(tri.ctypes.data, len(tri), 1)
            self._caster = None
        elif backend == "embree":
            self._caster = _EmbreeBackend(tri)
        else:
            self._caster = _Open3DBackend(scene.vertices, scene.faces)
        parallel = self._native is not None or self._caster.parallel
        self.threads = max(1, min(8, threads or os.cpu_count() or 1)) if parallel else 1
        self._pool = None
        # lookup tables with one extra "miss" row at index F: black, no texture, no instance
        rgb = shade_faces(scene)
        rgba = np.zeros((len(rgb) + 1, 4), np.uint8)
        rgba[:-1, :3] = (rgb * 255.0 + 0.5).astype(np.uint8)
        self._rgb_u32 = rgba.view(np.uint32).ravel()  # one 4-byte gather per pixel instead of three
        self._pattern = np.concatenate([scene.face_pattern, [0]]).astype(np.uint8)
        self._instance = np.concatenate([scene.face_instance, [-1]]).astype(np.int32)
        self._horizontal = np.concatenate([np.abs(face_normals(scene.vertices, scene.faces)[:, 2]) > 0.5, [True]])
        self._miss = len(scene.faces)
        self._horizontal_u8 = self._horizontal.astype(np.uint8)
        self._set_appearance(scene)
        self._ray_cache: dict[CameraIntrinsics, np.ndarray] = {}
        self._origin_bufs: dict[int, np.ndarray] = {}

    def _set_appearance(self, scene: Scene) -> None:
        """Per-face appearance of scanned scenes (all None for procedural houses): ``_mode`` (F + 1,)
        uint8 (0 = flat colour + pattern, 1 = texture, 2 = corner colours), UVs, texture ids, image
        pointers and sizes, corner colours."""
        F = len(scene.faces)
        self._mode = None
        tex = scene.face_texture if scene.face_texture is not None and len(scene.textures) else None
        if tex is None and scene.face_corner_rgb is None:
            return
        mode = np.zeros(F + 1, np.uint8)
        if scene.face_corner_rgb is not None:
            mode[:F] = 2
            self._corner = np.ascontiguousarray(scene.face_corner_rgb, np.uint8).reshape(F, 9)
        else:
            self._corner = np.zeros((1, 9), np.uint8)
        if tex is not None:
            tex = np.asarray(tex, np.int32)
            if tex.max(initial=-1) >= len(scene.textures):
                raise ConfigError(f"scene {scene.scene_id}: face_texture points past its {len(scene.textures)} textures")
            mode[:F][tex >= 0] = 1
            self._levels = [mip_levels(im) for im in scene.textures]
            wh0 = np.array([lv[0].shape[1::-1] for lv in self._levels], np.float64)
            # one 32-byte row per face (one cache line, not three): corner UVs, texel density, texture id
            self._tex8 = np.zeros((F, 8), np.float32)
            self._tex8[:, :6] = np.asarray(scene.face_uv, np.float32).reshape(F, 6)
            self._tex8[:, 6] = texel_density(scene.vertices, scene.faces, self._tex8[:, :6].reshape(F, 3, 2),
                                                  wh0[np.clip(tex, 0, None)])
            self._tex8[:, 7] = np.clip(tex, 0, None)
        else:
            self._tex8 = np.zeros((1, 8), np.float32)
            self._levels = [[np.zeros((1, 1, 3), np.uint8)]]
        flat = [im for lv in self._levels for im in lv]
        self._tex_ptr = np.array([im.ctypes.data for im in flat], np.uint64)
        self._tex_wh = np.array([(im.shape[1], im.shape[0]) for im in flat], np.int32).ravel()
        self._tex_nlev = np.array([len(lv) for lv in self._levels], np.int32)
        self._tex_base = np.concatenate([[0], np.cumsum(self._tex_nlev)[:-1]]).astype(np.int32)
        self._mode = mode

    def _shade_baked(self, prim: np.ndarray, bary: np.ndarray, t: np.ndarray, fx: float, px: np.ndarray) -> None:
        """Overwrite ``px`` (N, 4) uint8 where the hit face has a texture or corner colours (``t``: (N,)
        z-depths, ``fx``: the focal length, for the mip level)."""
        mode = self._mode[prim]
        idx = np.flatnonzero(mode == 2)
        if len(idx):
            f = prim[idx]
            px[idx, :3] = _to_u8(interpolate_corners(self._corner[f].reshape(-1, 3, 3), bary[idx]))
        idx = np.flatnonzero(mode == 1)
        if len(idx):
            ft = self._tex8[prim[idx]]
            uv = interpolate_corners(ft[:, :6].reshape(-1, 3, 2), bary[idx])
            tex_of = ft[:, 7].astype(np.int64)
            texels = t[idx].astype(np.float32) * np.float32(1.0 / fx) * ft[:, 6]
            for ti in np.unique(tex_of):
                sel = tex_of == ti
                lev = mip_level(texels[sel], len(self._levels[ti]))
                for k in np.unique(lev):
                    s = np.flatnonzero(sel)[lev == k]
                    px[idx[s], :3] = _to_u8(sample_texture(self._levels[ti][k], uv[s]))

    def _camera_rays(self, K: CameraIntrinsics) -> np.ndarray:
        """(H*W, 3) float32 camera-frame directions with z = 1, row-major."""
        rays = self._ray_cache.get(K)
        if rays is None:
            u, v = np.meshgrid(np.arange(K.width, dtype=np.float64), np.arange(K.height, dtype=np.float64))
            rays = np.stack([(u - K.cx) / K.fx, (v - K.cy) / K.fy, np.ones_like(u)], -1).reshape(-1, 3)
            rays = rays.astype(np.float32)
            self._ray_cache[K] = rays
        return rays

    def _render_rows(self, sl: slice, origin: np.ndarray, dirs: np.ndarray, rgb: np.ndarray,
                     depth: np.ndarray, inst: np.ndarray, fx: float) -> None:
        d = dirs[sl]  # row slices of a C-contiguous (N, 3) array are contiguous
        o = self._origin_bufs.get(len(d))
        if o is None:
            o = self._origin_bufs[len(d)] = np.empty((len(d), 3), np.float32)
        o[:] = origin
        t, prim, bary = self._caster.cast(o, d)
        miss = (prim < 0) | (t > self.max_depth_m)
        prim[miss] = self._miss
        depth[sl] = t
        depth[sl][miss] = 0.0
        inst[sl] = self._instance[prim]
        px = self._rgb_u32[prim].view(np.uint8).reshape(-1, 4)
        pat = self._pattern[prim]
        idx = np.flatnonzero(pat)
        if len(idx):
            pts = origin + t[idx, None] * d[idx]
            horiz = self._horizontal[prim[idx]]
            a = np.where(horiz, pts[:, 0], pts[:, 0] + pts[:, 1])
            b = np.where(horiz, pts[:, 1], pts[:, 2])
            tex = _texture(pat[idx], a, b)[:, None]
            px[idx, :3] = np.minimum(px[idx, :3] * tex + 0.5, 255.0).astype(np.uint8)
        if self._mode is not None:
            self._shade_baked(prim, bary, t, fx, px)
        rgb[sl] = px[:, :3]

    @property
    def native(self) -> bool:
        """True when frames come from the compiled renderer (sims/raycast/native.py)."""
        return self._native is not None

    def _render_native(self, T_world_cam: np.ndarray, K: CameraIntrinsics) -> Frame:
        H, W = K.height, K.width
        o = np.ascontiguousarray(T_world_cam[:3, 3], dtype=np.float64)
        R = np.ascontiguousarray(T_world_cam[:3, :3], dtype=np.float64)
        rgb = np.empty((H, W, 3), np.uint8)
        depth = np.empty((H, W), np.float32)
        inst = np.empty((H, W), np.int32)

        def rows(r0: int, r1: int) -> None:
            self._native.fc_render(
                self._cscene, o.ctypes.data, R.ctypes.data, K.fx, K.fy, K.cx, K.cy, W, H, r0, r1, self.max_depth_m,
                self._rgb_u32.ctypes.data, self._pattern.ctypes.data, self._instance.ctypes.data,
                self._horizontal_u8.ctypes.data, self._miss, _TILES_FLAT.ctypes.data, _TILE_SCALE.ctypes.data,
                _TILE_RES, *baked, rgb.ctypes.data, depth.ctypes.data, inst.ctypes.data)

        baked = (None,) * 7 if self._mode is None else (
            self._mode.ctypes.data, self._tex8.ctypes.data, self._tex_ptr.ctypes.data, self._tex_wh.ctypes.data,
            self._tex_base.ctypes.data, self._tex_nlev.ctypes.data, self._corner.ctypes.data)

        # bands start on even rows (the C loop casts 2-row packets); the last band ends at H
        bounds = [min(2 * (H * i // (2 * self.threads)), H) for i in range(self.threads)] + [H]
        bands = [(a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
        if len(bands) == 1:
            rows(*bands[0])
        else:
            if self._pool is None:
                from concurrent.futures import ThreadPoolExecutor

                self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="raycast")
            for j in [self._pool.submit(rows, a, b) for a, b in bands]:
                j.result()
        return Frame(rgb, depth, inst)

    def render(self, T_world_cam: np.ndarray, intrinsics: CameraIntrinsics) -> Frame:
        """Render one frame from camera pose ``T_world_cam`` (4, 4)."""
        if self._native is not None:
            return self._render_native(T_world_cam, intrinsics)
        H, W = intrinsics.height, intrinsics.width
        n = H * W
        dirs = self._camera_rays(intrinsics) @ T_world_cam[:3, :3].T.astype(np.float32)
        origin = T_world_cam[:3, 3].astype(np.float32)
        rgb = np.empty((n, 3), np.uint8)
        depth = np.empty(n, np.float32)
        inst = np.empty(n, np.int32)
        if self.threads == 1:
            self._render_rows(slice(0, n), origin, dirs, rgb, depth, inst, intrinsics.fx)
        else:
            if self._pool is None:
                from concurrent.futures import ThreadPoolExecutor

                self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="raycast")
            bounds = np.linspace(0, H, self.threads + 1).astype(int) * W
            jobs = [self._pool.submit(self._render_rows, slice(a, b), origin, dirs, rgb, depth, inst, intrinsics.fx)
                    for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
            for j in jobs:
                j.result()
        return Frame(rgb.reshape(H, W, 3), depth.reshape(H, W), inst.reshape(H, W))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False)
            self._pool = None
        if self._cscene is not None:
            self._native.fc_release(self._cscene)
            self._cscene = None

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass
