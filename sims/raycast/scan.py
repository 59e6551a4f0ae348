"""Scanned scene meshes as :class:`~sims.raycast.scene.Scene` s of the built-in simulator.

A mesh file (glTF / GLB, PLY, OBJ; metres) is read with trimesh, its scene graph flattened (each
node's world transform applied), turned into the toolkit's frame (right-handed, Z up) and kept with
its appearance.

* **Up axis**: "y" is habitat's and glTF's convention (Y up, -Z forward) and is converted exactly as
  habitat-sim places HM3D / glTF scenes and as habitat episode files are converted
  (:func:`sims.habitat.frames.habitat_to_world`, ``(x, y, z) -> (-z, -x, y)``), so the episodes' poses
  land on the mesh; "z" keeps the coordinates. "auto": y for .glb / .gltf (glTF is Y-up by spec),
  z for .ply / .obj (ScanNet's and Replica's PLYs are Z-up).
* **Appearance**, per face (``Scene.face_*``):

  - textured geometry (UVs and a PBR ``baseColorTexture`` or an OBJ ``map_Kd`` image): ``face_uv``
    in trimesh's convention (origin at the image's bottom-left; trimesh already flips glTF's V) and
    ``face_texture`` into ``textures`` (each image once, RGB uint8, alpha dropped). A
    ``baseColorFactor`` is not applied to textured faces (scans use white). ``face_albedo`` of a
    textured face is the mean colour of its image.
  - vertex colours (PLY scans; glTF ``COLOR_0``, also beside a material): ``face_corner_rgb``.
  - otherwise a flat colour: the material's base colour (glTF ``baseColorFactor``, OBJ ``Kd``) or
    face colours, else grey (180, 180, 180).

  Shown colours are taken as stored (8-bit values: glTF's linear ``baseColorFactor`` and ``COLOR_0``
  are not converted to sRGB). A texture image that is
  missing or cannot be decoded (a KTX2 / Basis Universal texture of a ``.basis.glb``, say) renders
  its faces untextured, with one warning that names the mesh and the image.
* **Semantics** (instance id per face, category per instance) are looked up beside the mesh, or
  read from ``semantics=``:

  - HM3D: ``<name>.semantic.glb`` + ``<name>.semantic.txt`` beside ``<name>.basis.glb`` or
    ``<name>.glb``. The txt starts with the line ``HM3D Semantic Annotations``, then one object per
    line, ``id,HEXCOLOR,"category",region``, e.g. ``12,3E8B2A,"chair",3``
    (facebookresearch/habitat-sim ``src/esp/scene/HM3DSemanticScene.cpp``, ``loadHM3DHouse`` /
    ``buildHM3DHouse``). The semantic mesh paints each object in its colour, as **vertex colours**:
    habitat-sim requires them (``src/esp/assets/GenericSemanticMeshData.cpp``,
    ``buildSemanticMeshData``: "all semantic meshes must have vertex colors"; UVs are filtered out in
    ``src/esp/assets/ResourceManager.cpp``, ``loadAndFlattenImportedMeshData``) and, for a non-PLY
    file, converts the linear glTF colour to sRGB (``src/esp/assets/BaseMesh.cpp``,
    ``convertMeshColors`` with ``convertToSRGB``) before looking its hex code up in the txt. Here a
    face's colour is read that way (the majority of its corners), raw, or, for a mesh without vertex
    colours, from its (flat-coloured) texture at the face's UV centroid; per part, the reading that
    matches most faces to the txt wins. Colours not
    in the txt are no object. Instances move to the render mesh's faces by the nearest semantic face
    centroid, within 5 cm or half the render face's longest edge, whichever is larger (farther:
    structure). Passing the semantic mesh itself as the scene uses its own faces.
  - By hand, for your own meshes (exported from Blender and the like): ``<name>.semantic.json``
    or ``<name>.semantic.csv`` beside ``<name>.glb``. JSON: an object of node name -> category
    (or the same under an ``"instances"`` key)::

        {"Chair": "chair", "sofa_left": "sofa", "Plant.002": "potted plant"}

    CSV: rows ``name,category`` with an optional header row (``name,category``)::

        name,category
        Chair,chair
        sofa_left,sofa

    A name is a node of the file's scene graph (a Blender object keeps its name in glTF) or a
    geometry (mesh) name; it takes every geometry at or below that node (an object's children and the
    parts of a multi-material mesh), the nearest named ancestor winning. Each entry is one instance,
    ids 1, 2, ... in file order; faces of unnamed nodes are structure (-1). Names that match nothing
    give one warning.

  Raw category names are lower-cased, mapped by ``category_map`` (a dict, or a JSON / CSV file of
  raw -> ours in the format above) and then by habitat's table
  (:func:`sims.habitat.frames.habitat_category`). The names in :data:`STRUCTURE_CATEGORIES` (walls,
  floors, ceilings, unlabelled, ...) stay structure (-1, no SceneObject). Each other instance with
  faces is one :class:`~sims.raycast.scene.SceneObject` (its axis-aligned box; position = the box's
  bottom centre; ``attributes["raw_category"]``; for HM3D ``attributes["region"]``).

Errors (:class:`~embodied.errors.ConfigError`) name the file and the fix.
"""

from __future__ import annotations

import csv
import difflib
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
from sims.raycast.scene import Scene, SceneObject

__all__ = ["SCAN_SUFFIXES", "STRUCTURE_CATEGORIES", "is_scan_path", "load_scan", "scene_name"]

SCAN_SUFFIXES = (".glb", ".gltf", ".ply", ".obj")
STRUCTURE_CATEGORIES = frozenset({"", "unknown", "void", "unlabeled", "unlabelled", "no label", "misc", "wall",
                                  "floor", "ceiling", "door frame", "window frame", "window", "beam", "column",
                                  "stairs"})
"""Raw categories (lower case) that are part of the building or no object at all: kept as structure (-1)."""

SEMANTIC_MATCH_M = 0.05
"""Farthest a render face's centroid may be from its semantic face's (metres; at least half its longest edge)."""

_GREY = np.array([180, 180, 180], np.uint8)
_HM3D_HEADER = "HM3D Semantic Annotations"
_MAPPING_HEADERS = (["name", "category"], ["node", "category"], ["raw", "category"], ["instance", "category"])


def is_scan_path(path: str | os.PathLike) -> bool:
    """True when ``path`` names a mesh file (case-insensitive suffix; "x.basis.glb" counts)."""
    return str(path).lower().endswith(SCAN_SUFFIXES)


def scene_name(path: str | os.PathLike) -> str:
    """The scene's name: the file name without its extensions ("TEEsavR23oF.basis.glb" -> "TEEsavR23oF")."""
    return Path(path).name.split(".")[0]


# ------------------------------------------------------------------------------------------ reading
def _read(path: Path) -> Any:
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


def _flatten(scene: Any, path: Path) -> dict[str, Any]:
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


def _warn_untextured(path: Path, flat: dict[str, Any]) -> None:
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


# ------------------------------------------------------------------------------------------ category names
def _read_mapping(path: Path, what: str) -> dict[str, str]:
    """A hand-written name -> category table: JSON object (or {"instances": {...}}) or CSV rows name,category."""
    if not path.is_file():
        raise ConfigError(f"{what} file not found: {path}")
    suffix = path.suffix.lower()
    if suffix not in (".json", ".csv"):
        raise ConfigError(f"{path}: a {what} file is .json ({{\"name\": \"category\"}}) or .csv (rows name,category)")
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read it: {exc}") from exc
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}: not valid JSON ({exc}); write {{\"name\": \"category\", ...}}") from exc
        if isinstance(data, dict) and isinstance(data.get("instances"), dict):
            data = data["instances"]
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise ConfigError(f"{path}: expected a JSON object of name -> category strings, e.g. "
                              "{\"Chair\": \"chair\"} (or the same under \"instances\")")
        return {str(k): v for k, v in data.items()}
    rows = [(i, r) for i, r in enumerate(csv.reader(text.splitlines()), 1) if r and any(c.strip() for c in r)]
    if rows and [c.strip().lower() for c in rows[0][1][:2]] in _MAPPING_HEADERS:
        rows = rows[1:]
    out: dict[str, str] = {}
    for i, r in rows:
        if len(r) < 2 or not r[0].strip():
            raise ConfigError(f"{path}: line {i} ({','.join(r)!r}) is not 'name,category'")
        out[r[0].strip()] = r[1].strip()
    return out


def _category_table(category_map: Mapping[str, str] | str | os.PathLike | None) -> dict[str, str]:
    if category_map is None:
        return {}
    if isinstance(category_map, Mapping):
        return {str(k).strip().lower(): str(v) for k, v in category_map.items()}
    return {k.strip().lower(): v for k, v in _read_mapping(Path(category_map), "category map").items()}


def _map_category(raw: str, table: dict[str, str]) -> str | None:
    """Our category of a raw name, or None for structure."""
    from sims.habitat.frames import habitat_category

    name = str(raw).strip().lower()
    name = table.get(name, name)
    if name.strip().lower() in STRUCTURE_CATEGORIES:
        return None
    mapped = habitat_category(name)
    return None if mapped.lower() in STRUCTURE_CATEGORIES else mapped


# ------------------------------------------------------------------------------------------ HM3D semantics
def _read_hm3d_txt(path: Path) -> dict[int, tuple[int, str, str]]:
    """colour 0xRRGGBB -> (instance id, raw category, region) of an HM3D ``.semantic.txt``."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it: {exc}") from exc
    if not lines or lines[0].strip().lstrip("\ufeff") != _HM3D_HEADER:
        raise ConfigError(f"{path}: not an HM3D semantics file (the first line must be '{_HM3D_HEADER}')")
    out: dict[int, tuple[int, str, str]] = {}
    for i, line in enumerate(lines[1:], 2):
        if not line.strip():
            continue
        row = next(csv.reader([line]))
        try:
            oid, hexcode, name = int(row[0]), row[1].strip().lstrip("#"), row[2].strip()
            if len(hexcode) != 6:
                raise ValueError(hexcode)
            colour = int(hexcode, 16)
        except (ValueError, IndexError):
            raise ConfigError(f"{path}: line {i} ({line!r}) is not 'id,HEXCOLOR,\"category\",region' "
                              "(e.g. 12,3E8B2A,\"chair\",3)") from None
        out[colour] = (oid, name, row[3].strip() if len(row) > 3 else "")
    return out


def _srgb_u8(linear: np.ndarray) -> np.ndarray:
    """Linear [0, 1] -> 8-bit sRGB, as Magnum's ``Color3::toSrgb<UnsignedByte>()``."""
    s = np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * np.power(linear, 1.0 / 2.4) - 0.055)
    return np.clip(np.rint(s * 255.0), 0, 255).astype(np.int64)


def _rgb_int(c: np.ndarray) -> np.ndarray:
    c = np.asarray(c, np.int64)
    return (c[..., 0] << 16) | (c[..., 1] << 8) | c[..., 2]


def _face_colour_ints(parts: list[dict[str, Any]], textures: list[np.ndarray], keys: np.ndarray,
                      linear_vertex_colours: bool) -> np.ndarray:
    """(F,) int64 0xRRGGBB of each face of a semantic mesh: per part, the reading of its colours (vertex colours
    as sRGB of linear or raw, the texture at the UV centroid, face / flat colours) that matches most faces to
    ``keys`` (sorted table colours)."""
    out = []
    for p in parts:
        f = p["faces"]
        cands = []
        if p["vc"] is not None:
            srgb, raw = _rgb_int(_srgb_u8(p["vc"])), _rgb_int(np.rint(p["vc"] * 255.0))
            for per_vertex in ((srgb, raw) if linear_vertex_colours else (raw, srgb)):
                c = per_vertex[f]  # majority of the corners
                cands.append(np.where(c[:, 1] == c[:, 2], c[:, 1], c[:, 0]))
        if "uv" in p:
            img = textures[p["texture"]]
            h, w = img.shape[:2]
            uv = p["uv"].mean(1).astype(np.float64)
            col = np.clip((np.mod(uv[:, 0], 1.0) * w).astype(np.int64), 0, w - 1)
            row = np.clip(((1.0 - np.mod(uv[:, 1], 1.0)) * h).astype(np.int64), 0, h - 1)
            cands.append(_rgb_int(img[row, col]))
        if "face_rgb" in p:
            cands.append(_rgb_int(p["face_rgb"]))
        cands.append(_rgb_int(np.broadcast_to(p["albedo"], (len(f), 3))))
        hits = [np.count_nonzero(np.isin(c, keys)) for c in cands]
        out.append(cands[int(np.argmax(hits))])
    return np.concatenate(out) if out else np.zeros(0, np.int64)


def _ids_of_colours(colours: np.ndarray, table: dict[int, tuple[int, str, str]]) -> np.ndarray:
    """(F,) int32 instance id of each 0xRRGGBB colour, -1 where the txt has no such colour."""
    if not table:
        return np.full(len(colours), -1, np.int32)
    keys = np.array(sorted(table), np.int64)
    ids = np.array([table[int(k)][0] for k in keys], np.int64)
    at = np.clip(np.searchsorted(keys, colours), 0, len(keys) - 1)
    return np.where(keys[at] == colours, ids[at], -1).astype(np.int32)


def _semantic_faces(sem_mesh: Path, up: str, table: dict[int, tuple[int, str, str]]) -> tuple[np.ndarray, np.ndarray]:
    """(face centroids (F, 3) in our frame, instance id (F,)) of an HM3D semantic mesh."""
    flat = _flatten(_read(sem_mesh), sem_mesh)
    if not flat["parts"]:
        raise ConfigError(f"{sem_mesh}: the semantic mesh has no triangles")
    keys = np.array(sorted(table), np.int64)
    colours = _face_colour_ints(flat["parts"], flat["textures"], keys, sem_mesh.suffix.lower() != ".ply")
    cents = np.concatenate([_to_world(p["vertices"], up)[p["faces"]].mean(1) for p in flat["parts"]])
    return cents, _ids_of_colours(colours, table)


def _transfer(sem_centroids: np.ndarray, sem_ids: np.ndarray, tri: np.ndarray) -> np.ndarray:
    """Instance id per render face (F, 3, 3): that of the nearest semantic face centroid, -1 beyond the cap."""
    from scipy.spatial import cKDTree

    edge = np.linalg.norm(tri - np.roll(tri, 1, axis=1), axis=2).max(1)
    cap = np.maximum(SEMANTIC_MATCH_M, 0.5 * edge)
    dist, nearest = cKDTree(sem_centroids).query(tri.mean(1), k=1, distance_upper_bound=float(cap.max()) + 1e-9,
                                                 workers=-1)
    ok = np.isfinite(dist) & (dist <= cap)
    return np.where(ok, sem_ids[np.minimum(nearest, len(sem_ids) - 1)], -1).astype(np.int32)


# ------------------------------------------------------------------------------------------ finding semantics
def _stems(path: Path) -> list[str]:
    """Names the semantics files of a mesh may start with: "X.basis.glb" -> ["X.basis", "X"]."""
    base = path.name[: -len(path.suffix)] if path.suffix else path.name
    out = [base]
    if base.lower().endswith(".basis"):
        out.append(base[: -len(".basis")])
    out.append(scene_name(path))
    return list(dict.fromkeys(s for s in out if s))


def _find_semantics(path: Path, semantics: str | os.PathLike | None) -> tuple[str, Path, Path | None] | None:
    """("hm3d", semantic mesh, txt) | ("self", the mesh, txt) | ("mapping", file, None) | None."""
    if semantics is not None:
        s = Path(semantics)
        if not s.is_file():
            raise ConfigError(f"semantics file not found: {s}")
        low = s.name.lower()
        if low.endswith(".txt"):
            base = s.name[: -len(".txt")]
            for ext in (".glb", ".ply"):
                mesh = s.with_name(base + ext)
                if mesh.is_file():
                    return ("self" if mesh.resolve() == path.resolve() else "hm3d"), mesh, s
            raise ConfigError(f"{s}: HM3D semantics need their mesh {s.with_name(base + '.glb')} beside them")
        if is_scan_path(s):
            txt = s.with_name(s.name[: -len(s.suffix)] + ".txt")
            if not txt.is_file():
                raise ConfigError(f"{s}: a semantic mesh needs its annotations {txt} beside it")
            return ("self" if s.resolve() == path.resolve() else "hm3d"), s, txt
        if low.endswith((".json", ".csv")):
            return "mapping", s, None
        raise ConfigError(f"{s}: semantics are an HM3D .semantic.txt (its .semantic.glb beside it), or a .json / "
                          ".csv name -> category file (see sims/raycast/scan.py)")
    stems = _stems(path)
    if stems[0].lower().endswith(".semantic"):
        txt = path.with_name(stems[0] + ".txt")
        if txt.is_file():
            return "self", path, txt
    for stem in stems:
        txt, mesh = path.with_name(f"{stem}.semantic.txt"), path.with_name(f"{stem}.semantic.glb")
        if txt.is_file() and mesh.is_file() and mesh.resolve() != path.resolve():
            return "hm3d", mesh, txt
        if txt.is_file():
            warnings.warn(f"{txt} has no {mesh.name} beside it; {path} is read without semantics", UserWarning,
                          stacklevel=3)
    for stem in stems:
        for ext in (".json", ".csv"):
            f = path.with_name(f"{stem}.semantic{ext}")
            if f.is_file():
                return "mapping", f, None
    return None


def _mapping_instances(mapping: dict[str, str], parts: list[dict[str, Any]], source: Path,
                       mesh: Path) -> tuple[np.ndarray, dict[int, str]]:
    """Instance id per part (the nearest named node of its chain) and raw category per id (1.. in file order)."""
    ids = {name: k for k, name in enumerate(mapping, 1)}
    part_ids = np.full(len(parts), -1, np.int32)
    used: set[str] = set()
    for i, p in enumerate(parts):
        for name in p["chain"]:
            if name in ids:
                part_ids[i] = ids[name]
                used.add(name)
                break
    unused = [n for n in mapping if n not in used]
    if unused:
        known = sorted({n for p in parts for n in p["chain"]})
        hints = []
        for n in unused[:5]:
            close = difflib.get_close_matches(n, known, n=1)
            hints.append(f"{n!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        warnings.warn(f"{source}: {len(unused)} name(s) match no node or geometry of {mesh}: {', '.join(hints)}"
                      f"{', ...' if len(unused) > 5 else ''}", UserWarning, stacklevel=3)
    return part_ids, {k: mapping[name] for name, k in ids.items()}


# ------------------------------------------------------------------------------------------ frame
def _resolve_up(path: Path, up_axis: str) -> str:
    up = up_axis.strip().lower() if isinstance(up_axis, str) else None
    if up not in ("auto", "y", "z"):
        raise ConfigError(f"up_axis must be 'auto', 'y' or 'z' (the file's up axis), got {up_axis!r}")
    if up != "auto":
        return up
    return "y" if path.suffix.lower() in (".glb", ".gltf") else "z"


def _to_world(v: np.ndarray, up: str) -> np.ndarray:
    if up == "y":
        from sims.habitat.frames import habitat_to_world

        return habitat_to_world(v)
    return np.asarray(v, np.float64)


# ------------------------------------------------------------------------------------------ the scene
def load_scan(path: str | os.PathLike, *, up_axis: str = "auto", semantics: str | os.PathLike | None = None,
              category_map: Mapping[str, str] | str | os.PathLike | None = None) -> Scene:
    """Read a scanned scene mesh (formats, frames, appearance and semantics: see the module docstring).

    Args:
        path: a .glb / .gltf / .ply / .obj file (metres).
        up_axis: the file's up axis: "auto" (y for glTF, z for PLY / OBJ), "y" or "z".
        semantics: an HM3D ``.semantic.txt`` (its ``.semantic.glb`` beside it) or ``.semantic.glb``, or a
            JSON / CSV node name -> category file; default: found beside the mesh, or none.
        category_map: raw category -> ours (a dict, or a JSON / CSV file), applied before habitat's table.
    Returns:
        A Scene with ``source_path`` set (``scanned``): unmerged vertices (V = 3 F, float32, Z up), no rooms,
        walls or doors, one SceneObject per labelled instance, and ``generator`` = {"source": "scan",
        "up_axis", "semantics" (the file or None), "triangles", "textures"}.
    Raises:
        ConfigError: a missing, unreadable, empty or non-finite mesh, an unknown suffix, a bad up axis, a bad
            semantics or category map file.
    """
    p = Path(path)
    up = _resolve_up(p, up_axis)
    flat = _flatten(_read(p), p)
    parts = flat["parts"]
    if not parts:
        raise ConfigError(f"{p}: the mesh is empty (no triangles); is it a point cloud or a scene without geometry?")
    n_bad = 0
    for q in parts:
        bad = ~np.isfinite(q["vertices"]).all(1)
        if bad.any():
            used = np.zeros(len(bad), bool)
            used[q["faces"].ravel()] = True
            n_bad += int(np.count_nonzero(bad & used))
    if n_bad:
        raise ConfigError(f"{p}: {n_bad} vertex positions are NaN or infinite; repair the mesh (e.g. in Blender, or "
                          "with trimesh's remove_infinite_values) and try again")
    _warn_untextured(p, flat)

    # unmerged triangles (3 vertices per face), in our frame
    V = _to_world(np.concatenate([q["vertices"][q["faces"]].reshape(-1, 3) for q in parts]), up).astype(np.float32)
    F = len(V) // 3
    tri = V.reshape(F, 3, 3).astype(np.float64)
    area2 = np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    keep = np.flatnonzero(area2 > 2e-12)
    if not len(keep):
        raise ConfigError(f"{p}: all {F} triangles have zero area; the mesh has no surface to render")
    owner = np.concatenate([np.full(len(q["faces"]), i, np.int32) for i, q in enumerate(parts)])

    # semantics
    instance = np.full(F, -1, np.int32)
    raw: dict[int, str] = {}
    region: dict[int, str] = {}
    table = _category_table(category_map)
    found = _find_semantics(p, semantics)
    if found is not None:
        kind, src, txt = found
        if kind == "mapping":
            part_ids, raw = _mapping_instances(_read_mapping(src, "semantics"), parts, src, p)
            instance = part_ids[owner]
        else:
            annotations = _read_hm3d_txt(txt)
            raw = {oid: name for oid, name, _ in annotations.values()}
            region = {oid: reg for oid, _, reg in annotations.values()}
            if kind == "self":
                keys = np.array(sorted(annotations), np.int64)
                colours = _face_colour_ints(parts, flat["textures"], keys, p.suffix.lower() != ".ply")
                instance = _ids_of_colours(colours, annotations)
            else:
                sem_c, sem_ids = _semantic_faces(src, up, annotations)
                instance[keep] = _transfer(sem_c, sem_ids, tri[keep])
    labels = {i: _map_category(name, table) for i, name in raw.items()}
    labelled = np.array(sorted(i for i, c in labels.items() if c), np.int64)
    instance = np.where(np.isin(instance, labelled), instance, -1).astype(np.int32)

    # appearance
    any_tex = any("uv" in q for q in parts)
    any_col = any("corners" in q for q in parts)
    albedo = np.concatenate([np.asarray(q["albedo"], np.uint8) for q in parts])
    face_uv = face_tex = corners = None
    if any_tex:
        face_uv = np.concatenate([q["uv"] if "uv" in q else np.zeros((len(q["faces"]), 3, 2), np.float32)
                                  for q in parts])[keep]
        face_tex = np.concatenate([np.full(len(q["faces"]), q.get("texture", -1), np.int32) for q in parts])[keep]
    if any_col:
        corners = np.concatenate([q["corners"] if "corners" in q else
                                  np.repeat(np.asarray(q["albedo"], np.uint8)[:, None], 3, 1) for q in parts])[keep]

    V = np.ascontiguousarray(V.reshape(F, 3, 3)[keep].reshape(-1, 3))
    instance = np.ascontiguousarray(instance[keep])
    semantics_file = None if found is None else str(found[2] or found[1])
    return Scene(
        scene_id=scene_name(p), vertices=V, faces=np.arange(len(V), dtype=np.int32).reshape(-1, 3),
        face_albedo=np.ascontiguousarray(albedo[keep]), face_pattern=np.zeros(len(keep), np.uint8),
        face_instance=instance, objects=_objects(V, instance, labels, raw, region), rooms=[], walls=[], doors=[],
        wall_height_m=float(np.ptp(V[:, 2])),
        generator={"source": "scan", "up_axis": up, "semantics": semantics_file, "triangles": int(len(keep)),
                   "textures": len(flat["textures"])},
        face_uv=face_uv, face_texture=face_tex, textures=flat["textures"], face_corner_rgb=corners,
        source_path=str(p))


def _objects(V: np.ndarray, instance: np.ndarray, labels: dict[int, str | None], raw: dict[int, str],
             region: dict[int, str]) -> list[SceneObject]:
    """One SceneObject per labelled instance with faces: its axis-aligned box, bottom centre, footprint."""
    sel = np.flatnonzero(instance >= 0)
    if not len(sel):
        return []
    order = sel[np.argsort(instance[sel], kind="stable")]
    ids = instance[order]
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    tri = V.reshape(-1, 3, 3)[order].astype(np.float64)
    lo_all = np.minimum.reduceat(tri.min(1), starts, axis=0)
    hi_all = np.maximum.reduceat(tri.max(1), starts, axis=0)
    out = []
    for i, lo, hi in zip(ids[starts].tolist(), lo_all.tolist(), hi_all.tolist()):
        attributes = {"raw_category": raw.get(i, "")}
        if region.get(i):
            attributes["region"] = region[i]
        cx, cy = (lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2
        out.append(SceneObject(
            instance_id=int(i), category=str(labels[i]), position_m=(cx, cy, lo[2]), yaw_rad=0.0,
            bbox_min_m=(lo[0], lo[1], lo[2]), bbox_max_m=(hi[0], hi[1], hi[2]),
            footprint_xy_m=((lo[0], lo[1]), (hi[0], lo[1]), (hi[0], hi[1]), (lo[0], hi[1])), room_id=None,
            attributes=attributes, source="scan"))
    return out
