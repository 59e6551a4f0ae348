"""Reading scene mesh files (glTF / GLB, PLY, OBJ) with trimesh into flat arrays: every triangle geometry
of the file's scene graph with its node's world transform applied, its UVs and texture image, its vertex
colours or its flat colour, and which textures could not be read (one warning naming them). The frame
conversion to the toolkit's (Z up) is :func:`to_world`. Used by :mod:`sims.raycast.scan` (the scene)
and :mod:`sims.raycast.scan_semantics` (HM3D's semantic meshes)."""

from __future__ import annotations

import json
import os
import struct
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import numpy as np

from embodied.errors import ConfigError

__all__ = ["SCAN_SUFFIXES", "is_scan_path", "scene_name", "read_mesh", "flatten_mesh", "warn_untextured",
           "resolve_up_axis", "to_world"]

SCAN_SUFFIXES = (".glb", ".gltf", ".ply", ".obj")

_GREY = np.array([180, 180, 180], np.uint8)


def is_scan_path(path: str | os.PathLike) -> bool:
    """True when ``path`` names a mesh file (case-insensitive suffix; "x.basis.glb" counts)."""
    return str(path).lower().endswith(SCAN_SUFFIXES)


def scene_name(path: str | os.PathLike) -> str:
    """The scene's name: the file name without its extensions ("TEEsavR23oF.basis.glb" -> "TEEsavR23oF")."""
    return Path(path).name.split(".")[0]


# ------------------------------------------------------------------------------------------ reading
def read_mesh(path: Path) -> Any:
    """The file as a ``trimesh.Scene`` (unprocessed); ConfigError naming the file when it cannot be."""
    import trimesh

    if path.is_dir():
        raise ConfigError(f"{path} is a directory; pass the mesh file in it ({', '.join(SCAN_SUFFIXES)})")
    if not path.is_file():
        raise ConfigError(f"scene mesh not found: {path}; check the path")
    if not is_scan_path(path):
        raise ConfigError(f"{path}: not a scene mesh; the built-in simulator reads {', '.join(SCAN_SUFFIXES)} files")
    try:
        return trimesh.load(str(path), force="scene", process=False)
    except Exception as exc:  # noqa: BLE001 - trimesh raises many kinds on a bad file
        raise ConfigError(f"cannot read scene mesh {path}: {type(exc).__name__}: {exc} (is it a valid "
                          f"{path.suffix[1:].upper()} file?)") from exc


def _image_rgb(img: Any) -> np.ndarray | None:
    """(h, w, 3) uint8 of a PIL image (alpha dropped, 16-bit scaled), or None when it cannot be decoded."""
    try:
        if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
            a = np.asarray(img, np.float64)
            a = a / 257.0 if a.max(initial=0) > 255 else a
            return np.ascontiguousarray(np.repeat(np.clip(a, 0, 255).astype(np.uint8)[..., None], 3, -1))
        return np.ascontiguousarray(np.asarray(img.convert("RGB")), np.uint8)
    except Exception:  # noqa: BLE001 - PIL decodes lazily: a truncated or unknown image fails here
        return None


def _u8(colour: Any) -> np.ndarray:
    """(3,) uint8 of a trimesh colour (uint8 0-255, or float 0-1)."""
    c = np.asarray(colour).reshape(-1)[:3]
    if c.dtype.kind == "f":
        c = np.clip(np.rint(c * 255.0 if c.max(initial=0) <= 1.0 else c), 0, 255)
    return c.astype(np.uint8)


def _flat_colour(visual: Any, n_faces: int) -> np.ndarray:
    """(F, 3) uint8 flat colour of a geometry without texture or vertex colours."""
    material = getattr(visual, "material", None)
    for attr in ("baseColorFactor", "diffuse"):
        c = getattr(material, attr, None)
        if c is not None:
            return np.broadcast_to(_u8(c), (n_faces, 3))
    if getattr(visual, "kind", None) == "face":
        return np.asarray(visual.face_colors, np.uint8)[:, :3]
    return np.broadcast_to(_GREY, (n_faces, 3))


def _vertex_colours(visual: Any, n_vertices: int) -> np.ndarray | None:
    """(V, 3) float64 in [0, 1] vertex colours (ColorVisuals, or glTF COLOR_0 kept beside a material)."""
    from trimesh.visual.color import ColorVisuals

    if isinstance(visual, ColorVisuals):
        if visual.kind != "vertex":
            return None
        c = np.asarray(visual.vertex_colors)[:, :3]
    else:
        attrs = getattr(visual, "vertex_attributes", None)
        if attrs is None or "color" not in attrs:
            return None
        c = np.asarray(attrs["color"])
        if c.ndim != 2 or c.shape[1] < 3:
            return None
        c = c[:, :3]
    if len(c) != n_vertices:
        return None
    if c.dtype.kind == "f":
        return np.clip(np.nan_to_num(c.astype(np.float64)), 0.0, 1.0)
    return c.astype(np.float64) / (65535.0 if c.dtype.itemsize == 2 else 255.0)


def _chain(parents: Mapping[str, str], base_frame: str, node: str, geometry: str) -> tuple[str, ...]:
    """Names a hand-written mapping may use for a geometry node: itself, its geometry, then its ancestors."""
    out, seen = [str(node), str(geometry)], {node}
    p = parents.get(node)
    while p is not None and p != base_frame and p not in seen:
        out.append(str(p))
        seen.add(p)
        p = parents.get(p)
    return tuple(out)


def flatten_mesh(scene: Any, path: Path) -> dict[str, Any]:
    """Every triangle geometry of the trimesh scene in the file's frame (node transforms applied), with its
    appearance. Returns {"parts": [...], "textures": [...], "undecoded": [...], "no_image": [...]}: the node
    names whose texture image trimesh read but could not decode, and those with UVs but no image (an image
    trimesh dropped, or a material that has none)."""
    from trimesh.visual.texture import TextureVisuals

    parts: list[dict[str, Any]] = []
    textures: list[np.ndarray] = []
    tex_ids: dict[int, int] = {}
    undecoded: list[str] = []
    no_image: list[str] = []
    parents = dict(scene.graph.transforms.parents)
    for node in scene.graph.nodes_geometry:
        T, geom_name = scene.graph[node]
        g = scene.geometry[geom_name]
        faces = getattr(g, "faces", None)
        if faces is None or len(faces) == 0:
            continue  # point clouds, paths
        v = np.asarray(g.vertices, np.float64)
        T = np.asarray(T, np.float64)
        if not np.allclose(T, np.eye(4)):
            v = v @ T[:3, :3].T + T[:3, 3]
        f = np.asarray(faces, np.int64)
        if f.min(initial=0) < 0 or f.max(initial=0) >= len(v):
            raise ConfigError(f"{path}: geometry {geom_name!r} has face indices outside its {len(v)} vertices; "
                              "repair the mesh and try again")
        visual = g.visual
        part: dict[str, Any] = {"node": str(node), "chain": _chain(parents, scene.graph.base_frame, node, geom_name),
                                "vertices": v, "faces": f,
                                "vc": _vertex_colours(visual, len(v))}
        if getattr(visual, "kind", None) == "face":
            part["face_rgb"] = np.asarray(visual.face_colors, np.uint8)[:, :3]
        uv = getattr(visual, "uv", None) if isinstance(visual, TextureVisuals) else None
        if uv is not None and len(uv) == len(v):
            img = None
            for attr in ("baseColorTexture", "image"):
                img = getattr(visual.material, attr, None)
                if img is not None:
                    break
            key = id(img)
            if img is not None and key not in tex_ids:
                rgb = _image_rgb(img)
                tex_ids[key] = -1 if rgb is None else len(textures)
                if rgb is not None:
                    textures.append(rgb)
            if img is not None and tex_ids[key] >= 0:
                k = tex_ids[key]
                part["uv"] = np.asarray(uv, np.float32)[f]
                part["texture"] = k
                sample = textures[k].reshape(-1, 3)
                mean = sample[:: max(1, len(sample) // 4096)].mean(0)
                part["albedo"] = np.broadcast_to(np.rint(mean).astype(np.uint8), (len(f), 3))
            elif part["vc"] is None:
                (undecoded if img is not None else no_image).append(str(node))
        if "albedo" not in part:
            if part["vc"] is not None:
                part["corners"] = np.rint(part["vc"] * 255.0).astype(np.uint8)[f]
                part["albedo"] = np.rint(part["corners"].mean(1)).astype(np.uint8)
            else:
                part["albedo"] = _flat_colour(visual, len(f))
        parts.append(part)
    return {"parts": parts, "textures": textures, "undecoded": undecoded, "no_image": no_image}


# ------------------------------------------------------------------------------------------ missing images
def _gltf_json(path: Path) -> dict[str, Any]:
    if path.suffix.lower() == ".gltf":
        return json.loads(path.read_text(errors="replace"))
    with path.open("rb") as fh:
        head = fh.read(20)
        if len(head) < 20 or head[:4] != b"glTF" or head[16:20] != b"JSON":
            return {}
        (n,) = struct.unpack("<I", head[12:16])
        return json.loads(fh.read(n))


def _file_problem(image: Path) -> str | None:
    """Why an image file beside a mesh cannot be used, or None (only its header is parsed)."""
    if not image.is_file():
        return "missing"
    try:
        from PIL import Image

        with Image.open(image):
            return None
    except Exception:  # noqa: BLE001 - PIL raises several kinds for files it cannot identify
        return "not an image PIL can read"


_BASIS = "KTX2 / Basis Universal compressed, which trimesh cannot decode"


def _image_problems(path: Path) -> dict[str, list[str]]:
    """Texture images the mesh file refers to that are missing or that trimesh cannot decode: reason -> names."""
    out: dict[str, list[str]] = {}

    def add(why: str, name: str) -> None:
        if name not in out.setdefault(why, []):
            out[why].append(name)

    def check(name: str, image: Path) -> None:
        why = _file_problem(image)
        if why:
            add(why, name)

    suffix = path.suffix.lower()
    try:
        if suffix in (".glb", ".gltf"):
            header = _gltf_json(path)
            basisu = {t.get("extensions", {}).get("KHR_texture_basisu", {}).get("source")
                      for t in header.get("textures", [])} - {None}
            for i, img in enumerate(header.get("images", [])):
                uri = str(img.get("uri", ""))
                label = uri if uri and not uri.startswith("data:") else str(img.get("name") or f"image #{i}")
                if img.get("mimeType") == "image/ktx2" or i in basisu or uri.lower().endswith((".ktx2", ".basis")):
                    add(_BASIS, label)
                elif uri and not uri.startswith("data:"):
                    check(label, path.parent / unquote(uri))
        elif suffix == ".obj":
            libs = []
            with path.open(errors="replace") as fh:
                for line in fh:
                    if line.startswith("mtllib"):
                        libs += line.split()[1:]
            for lib in libs:
                mtl = path.parent / lib
                if not mtl.is_file():
                    add("missing material library", lib)
                    continue
                for line in mtl.read_text(errors="replace").splitlines():
                    tok = line.strip().split()
                    if len(tok) > 1 and tok[0].lower() == "map_kd":
                        check(tok[-1], mtl.parent / tok[-1])
        elif suffix == ".ply":
            with path.open("rb") as fh:
                for raw in fh:
                    line = raw.decode("latin-1").strip()
                    if line == "end_header":
                        break
                    tok = line.split()
                    if len(tok) > 2 and tok[0] == "comment" and tok[1].lower() == "texturefile":
                        check(tok[2], path.parent / tok[2])
    except (OSError, ValueError, UnicodeDecodeError):
        pass
    return out


def warn_untextured(path: Path, flat: dict[str, Any]) -> None:
    """One warning when textured parts lost their image (a UV-mapped part without one is only untextured when the
    file names an image that is missing or undecodable: Blender exports UVs with plain materials too)."""
    problems = _image_problems(path) if flat["no_image"] or flat["undecoded"] else []
    nodes = flat["undecoded"] + (flat["no_image"] if problems else [])
    if not nodes:
        return
    what = "; ".join(f"{why}: {', '.join(names)}" for why, names in problems.items()) or "not decodable"
    fix = ("re-export the mesh with PNG / JPEG textures (for HM3D, use the 'glb' download, not the '.basis.glb' one)"
           if _BASIS in problems else "put the image files beside the mesh")
    warnings.warn(f"{path}: {len(nodes)} textured part(s) ({', '.join(nodes[:3])}{', ...' if len(nodes) > 3 else ''}) "
                  f"have no readable texture image ({what}). They are rendered untextured; to fix it, {fix}.",
                  UserWarning, stacklevel=3)


# ------------------------------------------------------------------------------------------ frame
def resolve_up_axis(path: Path, up_axis: str) -> str:
    """"y" or "z": ``up_axis`` itself, or for "auto" y for glTF (Y-up by spec) and z for PLY / OBJ."""
    up = up_axis.strip().lower() if isinstance(up_axis, str) else None
    if up not in ("auto", "y", "z"):
        raise ConfigError(f"up_axis must be 'auto', 'y' or 'z' (the file's up axis), got {up_axis!r}")
    if up != "auto":
        return up
    return "y" if path.suffix.lower() in (".glb", ".gltf") else "z"


def to_world(v: np.ndarray, up: str) -> np.ndarray:
    """(N, 3) float64 file-frame points in the toolkit's frame (Y-up files: habitat's conversion)."""
    if up == "y":
        from sims.habitat.frames import habitat_to_world

        return habitat_to_world(v)
    return np.asarray(v, np.float64)
