"""Load a mesh file into flat triangle arrays with per-part materials, and normalize it into the unit
cube at the origin (as the Objaverse-XL / Zero123 renderer does).

An :class:`Asset` is what both render backends consume: triangles, a material part per face, and per
part one of: a texture image sampled at interpolated UVs, per-vertex colours, per-face colours, or a
flat colour. Loading uses trimesh (GLB/glTF, OBJ+MTL, PLY, STL, OFF, ...); files it cannot read raise
:class:`AssetError` naming the file and what to do.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from embodied.errors import EmbodiedError

__all__ = ["AssetError", "Asset", "load_asset", "find_missing_textures", "normalization_transform",
           "up_axis_rotation", "Y_UP_TYPES", "PART_FLAT", "PART_TEXTURE", "PART_VERTEX", "PART_FACE"]

PART_FLAT, PART_TEXTURE, PART_VERTEX, PART_FACE = 0, 1, 2, 3
Y_UP_TYPES = frozenset({"glb", "gltf", "obj"})
"""File types Blender's importers treat as Y-up (and turn Z-up); the rest are read as Z-up."""
_R_ZUP_FROM_YUP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
_DEFAULT_RGBA = (204, 204, 204, 255)


class AssetError(EmbodiedError, ValueError):
    """A mesh file cannot be loaded or has nothing to render; the message names the file and the fix."""


@dataclass
class Asset:
    """One object as flat arrays (all in the same frame; :func:`load_asset` returns it normalized).

    vertices (V, 3) float64 · faces (F, 3) int32 · face_part (F,) int32 index into the part lists ·
    part_kind (P,) uint8 (PART_*) · part_rgba (P, 4) uint8 flat colour / texture factor ·
    textures: part index -> (H, W, 3) uint8 sRGB image (texture alpha is ignored) · uv (V, 2) float32 or None ·
    vertex_rgba (V, 4) uint8 sRGB or None · face_rgba (F, 4) uint8 sRGB or None.
    ``info`` holds what metadata.json reports (counts, bbox, missing textures, normalization).
    """

    vertices: np.ndarray
    faces: np.ndarray
    face_part: np.ndarray
    part_kind: np.ndarray
    part_rgba: np.ndarray
    textures: dict[int, np.ndarray] = field(default_factory=dict)
    uv: np.ndarray | None = None
    vertex_rgba: np.ndarray | None = None
    face_rgba: np.ndarray | None = None
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def triangles(self) -> np.ndarray:
        """(F, 3, 3) float32 triangle corners."""
        return self.vertices[self.faces].astype(np.float32)


def up_axis_rotation(file_type: str, up_axis: str = "auto") -> np.ndarray:
    """(3, 3) rotation taking the file's frame into the Z-up world (identity for Z-up files)."""
    y_up = up_axis == "y" or (up_axis == "auto" and file_type.lower() in Y_UP_TYPES)
    return _R_ZUP_FROM_YUP.copy() if y_up else np.eye(3)


def normalization_transform(vertices: np.ndarray) -> np.ndarray:
    """(4, 4) similarity ``T`` that scales the bounding box's largest side to 1 and centres it at the
    origin: ``normalized = T[:3, :3] @ p + T[:3, 3]``."""
    lo, hi = vertices.min(axis=0), vertices.max(axis=0)
    extent = float((hi - lo).max())
    if not math.isfinite(extent) or extent <= 0.0:
        raise AssetError(f"the mesh has zero size (bounding box {lo.tolist()} .. {hi.tolist()})")
    s = 1.0 / extent
    T = np.eye(4)
    T[:3, :3] *= s
    T[:3, 3] = -s * (lo + hi) / 2.0
    return T


_MAP_RE = re.compile(r"^\s*(map_kd|map_ka|map_ks|map_ns|map_d|map_bump|bump|norm|disp|map_pr|map_pm)\s+(.+)$", re.I)


def find_missing_textures(path: str | os.PathLike) -> list[str]:
    """Texture (and material library) files an OBJ or glTF references that do not exist.

    Blender's renderer (and the Objaverse-XL script) report these as ``missing_textures``; the faces
    then render with the material's flat colour. Embedded GLB images can never be missing.
    """
    p = Path(path)
    missing: list[str] = []
    ext = p.suffix.lower()
    try:
        if ext == ".obj":
            libs = []
            with open(p, "rb") as f:
                for raw in f:
                    if raw[:6].lower() == b"mtllib":
                        libs.append(raw[6:].decode("utf-8", "replace").strip())
            for lib in libs:
                mtl = p.parent / lib
                if not mtl.is_file():
                    missing.append(lib)
                    continue
                for line in mtl.read_text(errors="replace").splitlines():
                    m = _MAP_RE.match(line)
                    if m:
                        name = m.group(2).split()[-1]  # options such as -bm 1.0 precede the file name
                        if not (mtl.parent / name).is_file() and name not in missing:
                            missing.append(name)
        elif ext == ".gltf":
            doc = json.loads(p.read_text())
            for entry in doc.get("images", []) + doc.get("buffers", []):
                uri = entry.get("uri")
                if uri and not uri.startswith("data:") and not (p.parent / uri).is_file():
                    missing.append(uri)
    except (OSError, ValueError):
        return missing  # unreadable text: the loader reports the real problem
    return missing


def _rgba(c: Any, default: tuple[int, int, int, int] = _DEFAULT_RGBA) -> np.ndarray:
    if c is None:
        return np.array(default, np.uint8)
    a = np.asarray(c, dtype=np.float64).reshape(-1)
    if a.size == 3:
        a = np.append(a, 255.0 if a.max() > 1.0 else 1.0)
    if a.size != 4 or not np.all(np.isfinite(a)):
        return np.array(default, np.uint8)
    if a.max() <= 1.0 and not np.issubdtype(np.asarray(c).dtype, np.integer):
        a = a * 255.0
    return np.clip(np.round(a), 0, 255).astype(np.uint8)


def _image_rgb(img: Any, cache: dict[int, np.ndarray | None], max_px: int | None) -> np.ndarray | None:
    """(H, W, 3) uint8 of a PIL image (converted once per image object, since parts share maps), at
    most ``max_px`` on a side: JPEGs are decoded at a reduced DCT scale, others box-reduced by an
    integer factor (a cheap mip level: nearest texel lookups then alias less)."""
    if img is None:
        return None
    if id(img) not in cache:
        try:
            if max_px and max(img.size) > max_px:
                img.draft(img.mode, (max_px, max_px))  # JPEG: decode smaller (no-op for other formats)
                if max(img.size) > max_px:
                    img = img.reduce(math.ceil(max(img.size) / max_px))
            arr = np.asarray(img if img.mode == "RGB" else img.convert("RGB"))  # texture alpha is not used
            cache[id(img)] = arr if arr.ndim == 3 and arr.shape[0] > 0 and arr.shape[1] > 0 else None
        except Exception:  # noqa: BLE001 - an unreadable embedded image renders flat, like a missing one
            cache[id(img)] = None
    return cache[id(img)]


def _part_of(mesh: Any, image_cache: dict[int, np.ndarray | None], max_texture_px: int | None) -> dict[str, Any]:
    """Material of one trimesh mesh as {kind, rgba, texture, uv, vertex_rgba, face_rgba, material_key}."""
    vis = mesh.visual
    nv, nf = len(mesh.vertices), len(mesh.faces)
    out: dict[str, Any] = {"kind": PART_FLAT, "rgba": np.array(_DEFAULT_RGBA, np.uint8), "material_key": None}
    kind = getattr(vis, "kind", None)
    if kind == "texture":
        mat = getattr(vis, "material", None)
        out["material_key"] = (getattr(mat, "name", None) or id(mat)) if mat is not None else None
        if hasattr(mat, "baseColorFactor"):  # PBR (glTF): texture times factor
            img = getattr(mat, "baseColorTexture", None)
            factor = flat = _rgba(mat.baseColorFactor, (255, 255, 255, 255))
        else:  # SimpleMaterial (OBJ): the map replaces Kd, as in Blender's importer
            img = getattr(mat, "image", None)
            factor, flat = np.array((255, 255, 255, 255), np.uint8), _rgba(getattr(mat, "diffuse", None))
        tex = _image_rgb(img, image_cache, max_texture_px)
        uv = getattr(vis, "uv", None)
        if tex is not None and uv is not None and len(uv) == nv and np.all(np.isfinite(uv)):
            out.update(kind=PART_TEXTURE, texture=tex, uv=np.asarray(uv, np.float32), rgba=factor)
        else:  # no image, an unreadable one, or no UVs: the material's flat colour
            out["rgba"] = flat
    elif kind == "vertex":
        vc = np.asarray(vis.vertex_colors)
        if vc.shape == (nv, 4):
            out.update(kind=PART_VERTEX, vertex_rgba=vc.astype(np.uint8))
    elif kind == "face":
        fc = np.asarray(vis.face_colors)
        if fc.shape == (nf, 4):
            if len(np.unique(fc.view(np.uint32))) == 1:
                out["rgba"] = fc[0].astype(np.uint8)
            else:
                out.update(kind=PART_FACE, face_rgba=fc.astype(np.uint8))
    return out


def load_asset(path: str | os.PathLike, *, file_type: str | None = None, up_axis: str = "auto",
               normalize: bool = True, max_texture_px: int | None = None) -> Asset:
    """Load a mesh file, merge its meshes (scene-graph transforms applied), turn it Z-up and normalize it.

    Args:
        path: the file (GLB, glTF, OBJ, PLY, STL, OFF, ... anything trimesh reads).
        file_type: the format when the file name does not say it (e.g. ``"glb"``).
        up_axis: ``auto`` (per format, like Blender's importers), ``y`` or ``z``.
        normalize: scale the largest side of the bounding box to 1 and centre it at the origin.
        max_texture_px: textures larger than this (on a side) are reduced to at most this; None keeps them.
    Raises:
        AssetError: the file is missing, unreadable, of an unknown type, or holds no triangles.
    """
    import trimesh

    p = Path(path)
    ftype = (file_type or p.suffix.lstrip(".")).lower()
    if not p.is_file():
        raise AssetError(f"mesh file not found: {p}")
    try:
        loaded = trimesh.load(str(p), file_type=ftype or None, force="scene", process=False)
    except Exception as exc:  # noqa: BLE001 - every loader failure becomes one clear error
        hint = ("; convert it to GLB (e.g. with Blender) or check the file" if ftype not in trimesh.available_formats()
                else "; the file may be truncated or corrupt")
        raise AssetError(f"cannot load {p.name} as '{ftype}': {type(exc).__name__}: {exc}{hint}") from exc
    # walk the scene graph instead of Scene.dump(), which deep-copies every mesh with its texture images
    instances = []
    for node in loaded.graph.nodes_geometry:
        transform, geom_name = loaded.graph[node]
        m = loaded.geometry.get(geom_name)
        if isinstance(m, trimesh.Trimesh) and len(m.faces):
            instances.append((m, np.asarray(transform, dtype=np.float64)))
    if not instances:
        raise AssetError(f"{p.name} holds no triangles (empty scene, points or lines only)")

    verts, faces, parts, face_part, material_keys, image_cache = [], [], [], [], set(), {}
    offset = 0
    for i, (m, transform) in enumerate(instances):
        v = np.asarray(m.vertices, dtype=np.float64) @ transform[:3, :3].T + transform[:3, 3]
        f = np.asarray(m.faces, dtype=np.int64)
        part = _part_of(m, image_cache, max_texture_px)
        material_keys.add(part["material_key"] if part["material_key"] is not None else ("mesh", i))
        ok = np.all(np.isfinite(v[f]).reshape(len(f), -1), axis=1)  # drop faces with NaN/inf corners
        if not ok.all():
            f = f[ok]
            if "face_rgba" in part:
                part["face_rgba"] = part["face_rgba"][ok]
        verts.append(v)
        faces.append(f + offset)
        face_part.append(np.full(len(f), i, np.int32))
        parts.append((part, len(v), len(f)))
        offset += len(v)
    V = np.concatenate(verts)
    F = np.concatenate(faces).astype(np.int32)
    if len(F) == 0:
        raise AssetError(f"{p.name} has no triangle with finite coordinates")
    used = np.zeros(len(V), bool)
    used[F.ravel()] = True
    raw_lo, raw_hi = V[used].min(axis=0), V[used].max(axis=0)

    R = up_axis_rotation(ftype, up_axis)
    T = np.eye(4)
    T[:3, :3] = R
    Vw = V @ R.T
    if normalize:
        N = normalization_transform(Vw[used])
        T = N @ T
        Vw = Vw @ N[:3, :3].T + N[:3, 3]

    kinds = np.array([pt["kind"] for pt, _, _ in parts], np.uint8)
    rgba = np.stack([pt["rgba"] for pt, _, _ in parts]).astype(np.uint8)
    textures = {i: pt["texture"] for i, (pt, _, _) in enumerate(parts) if pt["kind"] == PART_TEXTURE}
    uv = vrgba = frgba = None
    if textures:
        uv = np.zeros((len(V), 2), np.float32)
    if (kinds == PART_VERTEX).any():
        vrgba = np.zeros((len(V), 4), np.uint8)
    if (kinds == PART_FACE).any():
        frgba = np.zeros((len(F), 4), np.uint8)
    vo = fo = 0
    for pt, nv, nf in parts:
        if pt["kind"] == PART_TEXTURE:
            uv[vo:vo + nv] = pt["uv"]
        elif pt["kind"] == PART_VERTEX:
            vrgba[vo:vo + nv] = pt["vertex_rgba"]
        elif pt["kind"] == PART_FACE:
            frgba[fo:fo + len(pt["face_rgba"])] = pt["face_rgba"]
        vo += nv
        fo += nf
    lo, hi = Vw[used].min(axis=0), Vw[used].max(axis=0)
    info = {
        "file_type": ftype,
        "mesh_count": len(instances),
        "vertex_count": int(len(V)),
        "face_count": int(len(F)),
        "material_count": len(material_keys),
        "textured_parts": len(textures),
        "bbox_file": {"min": raw_lo.tolist(), "max": raw_hi.tolist()},
        "bbox": {"min": lo.tolist(), "max": hi.tolist()},
        "up_axis": "y" if not np.allclose(R, np.eye(3)) else "z",
        "T_norm_file": T.tolist(),
        "missing_textures": find_missing_textures(p),
    }
    return Asset(Vw, F, np.concatenate(face_part), kinds, rgba, textures, uv, vrgba, frgba, info)
