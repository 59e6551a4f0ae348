"""Scanned scene meshes as :class:`~sims.raycast.scene.Scene` s of the built-in simulator.

A mesh file (glTF/GLB, PLY, OBJ; metres) is read with trimesh, its scene graph flattened (each
node's transform applied), turned into the toolkit's frame (Z up) and kept with its appearance:
per-corner UVs into its texture images, per-corner vertex colours, or a flat colour.

* **Up axis**: "y" is habitat's and glTF's convention (Y up, -Z forward) and is converted exactly as
  habitat episode files are (:func:`sims.habitat.frames.habitat_to_world`), so the episodes' poses
  land on the mesh; "z" keeps the coordinates. "auto": y for .glb / .gltf, z for .ply / .obj
  (ScanNet's and Replica's PLYs are Z-up).
* **Semantics** (instance id per face, category per instance), looked up beside the mesh:

  - HM3D: ``<name>.semantic.glb`` + ``<name>.semantic.txt``. The txt starts with the line
    "HM3D Semantic Annotations", then one object per line, ``id,HEXCOLOR,"category",region``
    (habitat-sim ``src/esp/scene/HM3DSemanticScene.cpp``, ``loadHM3DHouse``); the semantic mesh paints
    each object in its colour (vertex colours, or a flat-coloured texture sampled at the face's UV
    centroid). Instances move to the render mesh's faces by nearest face centroid (within 5 cm).
  - By hand, for your own meshes: ``<name>.semantic.json``, ``{"<node name>": "<category>", ...}``
    (or ``{"instances": {...}}``), or ``<name>.semantic.csv`` with rows ``node,category``; each named
    node of the mesh's scene graph (a Blender object exported to glTF keeps its name) is one
    instance, ids 1, 2, ... in file order; other nodes are structure. Example::

        {"chair_01": "chair", "sofa": "sofa", "Plant.002": "potted plant"}

  Raw category names are lower-cased, mapped by ``category_map`` (a dict, or a JSON / CSV file of raw
  -> ours) and then by habitat's table (:func:`sims.habitat.frames.habitat_category`). Walls, floors,
  ceilings and the like (:data:`STRUCTURE_CATEGORIES`) stay structure (instance -1).

Errors name the file and the fix; a texture image that is missing renders its faces untextured with
one warning.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from embodied.errors import ConfigError
from sims.raycast.scene import Scene, SceneObject

__all__ = ["SCAN_SUFFIXES", "STRUCTURE_CATEGORIES", "is_scan_path", "load_scan", "scene_name"]

log = logging.getLogger(__name__)

SCAN_SUFFIXES = (".glb", ".gltf", ".ply", ".obj")
STRUCTURE_CATEGORIES = frozenset({"wall", "floor", "ceiling", "door frame", "window frame", "window", "beam",
                                  "column", "stairs", "unknown", "", "void", "misc", "unlabeled", "unlabelled",
                                  "object", "remove"})
"""Raw categories that are part of the building, not objects (kept as structure, instance -1)."""

_GREY = np.array([180, 180, 180], np.uint8)
_HM3D_HEADER = "HM3D Semantic Annotations"


def is_scan_path(path: str | os.PathLike) -> bool:
    """True when ``path`` names a mesh file (case-insensitive suffix; "x.basis.glb" counts)."""
    return str(path).lower().endswith(SCAN_SUFFIXES)


def scene_name(path: str | os.PathLike) -> str:
    """The scene's name: the file name without its extensions ("TEEsavR23oF.basis.glb" -> "TEEsavR23oF")."""
    return Path(path).name.split(".")[0]


# ------------------------------------------------------------------------------------------ reading
def _read(path: Path) -> Any:
    import trimesh

    if not path.is_file():
        raise ConfigError(f"scene mesh not found: {path}")
    if not is_scan_path(path):
        raise ConfigError(f"{path}: not a scene mesh; the built-in simulator reads {', '.join(SCAN_SUFFIXES)}")
    try:
        return trimesh.load(str(path), force="scene", process=False)
    except Exception as exc:  # noqa: BLE001 - trimesh raises many kinds on a bad file
        raise ConfigError(f"cannot read scene mesh {path}: {type(exc).__name__}: {exc} (is it a valid "
                          f"{path.suffix[1:].upper()} file?)") from exc


def _image_of(material: Any) -> Any:
    for attr in ("baseColorTexture", "image"):
        img = getattr(material, attr, None)
        if img is not None:
            return img
    return None


def _base_colour(visual: Any, n_faces: int) -> np.ndarray:
    """(F, 3) uint8 flat colour of a geometry without texture or vertex colours."""
    material = getattr(visual, "material", None)
    for attr in ("baseColorFactor", "diffuse", "main_color"):
        c = getattr(material, attr, None)
        if c is not None:
            c = np.asarray(c, np.float64).reshape(-1)[:3]
            if c.max(initial=0) <= 1.0 and attr == "baseColorFactor" and c.dtype.kind == "f":
                c = c * 255.0
            return np.broadcast_to(np.clip(c, 0, 255).astype(np.uint8), (n_faces, 3))
    if getattr(visual, "kind", None) == "face":
        return np.asarray(visual.face_colors, np.uint8)[:, :3]
    return np.broadcast_to(_GREY, (n_faces, 3))


def _missing_images(path: Path) -> list[str]:
    """Texture files an OBJ's .mtl names that are not there."""
    out = []
    for mtl in path.parent.glob("*.mtl"):
        for line in mtl.read_text(errors="replace").splitlines():
            parts = line.strip().split()
            if parts and parts[0].lower().startswith("map_kd") and len(parts) > 1:
                if not (mtl.parent / parts[-1]).is_file():
                    out.append(parts[-1])
    return out


def _flatten(scene: Any, path: Path) -> dict[str, Any]:
    """Every triangle geometry of the trimesh scene in world coordinates (file frame), with appearance."""
    from trimesh.visual.color import ColorVisuals
    from trimesh.visual.texture import TextureVisuals

    parts: list[dict[str, Any]] = []
    textures: list[np.ndarray] = []
    tex_ids: dict[int, int] = {}
    untextured: list[str] = []
    for node in scene.graph.nodes_geometry:
        T, geom_name = scene.graph[node]
        g = scene.geometry[geom_name]
        if not hasattr(g, "faces") or len(getattr(g, "faces", ())) == 0:
            continue  # point clouds, paths
        v = np.asarray(g.vertices, np.float64)
        v = v @ np.asarray(T)[:3, :3].T + np.asarray(T)[:3, 3]
        f = np.asarray(g.faces, np.int64)
        part: dict[str, Any] = {"node": str(node), "geometry": str(geom_name), "vertices": v, "faces": f}
        visual = g.visual
        if isinstance(visual, TextureVisuals) and visual.uv is not None and len(visual.uv) == len(v):
            img = _image_of(visual.material)
            if img is not None:
                key = id(img)
                if key not in tex_ids:
                    tex_ids[key] = len(textures)
                    textures.append(np.ascontiguousarray(np.asarray(img.convert("RGB")), np.uint8))
                part["uv"] = np.asarray(visual.uv, np.float32)[f]
                part["texture"] = tex_ids[key]
                part["albedo"] = np.broadcast_to(textures[tex_ids[key]].reshape(-1, 3)[::97].mean(0).astype(np.uint8),
                                                 (len(f), 3))
            else:
                untextured.append(str(node))
                part["albedo"] = _base_colour(visual, len(f))
        elif isinstance(visual, ColorVisuals) and visual.kind == "vertex":
            vc = np.asarray(visual.vertex_colors, np.uint8)[:, :3]
            part["corners"] = vc[f]
            part["albedo"] = part["corners"].mean(1).astype(np.uint8)
        else:
            part["albedo"] = _base_colour(visual, len(f))
        parts.append(part)
    if untextured:
        missing = _missing_images(path) if path.suffix.lower() == ".obj" else []
        what = f" (missing: {', '.join(sorted(set(missing)))})" if missing else ""
        warnings.warn(f"{path}: {len(untextured)} textured part(s) have no readable texture image{what}; they are "
                      "rendered untextured. Put the image files beside the mesh to fix it.", stacklevel=3)
    return {"parts": parts, "textures": textures}


# ------------------------------------------------------------------------------------------ semantics
def _read_category_map(category_map: Mapping[str, str] | str | os.PathLike | None) -> dict[str, str]:
    if category_map is None:
        return {}
    if isinstance(category_map, Mapping):
        return {str(k).lower(): str(v) for k, v in category_map.items()}
    return {k.lower(): v for k, v in _read_mapping(Path(category_map)).items()}


def _read_mapping(path: Path) -> dict[str, str]:
    """A hand-written name -> category table: JSON object (or {"instances": {...}}) or CSV rows name,category."""
    if not path.is_file():
        raise ConfigError(f"semantics / category map file not found: {path}")
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(path.read_text())
            data = data.get("instances", data) if isinstance(data, dict) else data
            if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
                raise ConfigError(f"{path}: expected a JSON object of name -> category strings")
            return {str(k): v for k, v in data.items()}
        rows = [r for r in csv.reader(path.read_text().splitlines()) if r and any(c.strip() for c in r)]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read it: {exc}") from exc
    if rows and [c.strip().lower() for c in rows[0][:2]] in (["name", "category"], ["node", "category"],
                                                             ["instance", "category"], ["raw", "category"]):
        rows = rows[1:]
    out = {}
    for i, r in enumerate(rows, 1):
        if len(r) < 2 or not r[0].strip():
            raise ConfigError(f"{path}: row {i} ({','.join(r)!r}) is not 'name,category'")
        out[r[0].strip()] = r[1].strip()
    return out


def _map_category(raw: str, table: dict[str, str]) -> str | None:
    """Our category of a raw name, or None for structure."""
    from sims.habitat.frames import habitat_category

    name = raw.strip().lower()
    if name in STRUCTURE_CATEGORIES:
        return None
    name = table.get(name, name)
    mapped = habitat_category(name)
    return None if not mapped or mapped.lower() in STRUCTURE_CATEGORIES else mapped


def _read_hm3d_txt(path: Path) -> dict[int, tuple[int, str]]:
    """colour (0xRRGGBB) -> (instance id, raw category) of an HM3D ``.semantic.txt``."""
    lines = path.read_text(errors="replace").splitlines()
    if not lines or _HM3D_HEADER not in lines[0]:
        raise ConfigError(f"{path}: not an HM3D semantics file (the first line must be '{_HM3D_HEADER}')")
    out: dict[int, tuple[int, str]] = {}
    for i, line in enumerate(lines[1:], 2):
        if not line.strip():
            continue
        row = next(csv.reader([line]))
        try:
            oid, colour, name = int(row[0]), int(row[1], 16), row[2]
        except (ValueError, IndexError):
            raise ConfigError(f"{path}: line {i} ({line!r}) is not 'id,HEXCOLOR,\"category\",region'") from None
        out[colour] = (oid, name)
    return out


def _semantic_mesh_colours(path: Path, up_axis: str) -> tuple[np.ndarray, np.ndarray]:
    """(face centroids (F, 3) in our frame, face colour (F,) 0xRRGGBB) of an HM3D semantic mesh."""
    flat = _flatten(_read(path), path)
    cents, colours = [], []
    for p in flat["parts"]:
        tri = _to_world(p["vertices"], up_axis)[p["faces"]]
        cents.append(tri.mean(1))
        if "corners" in p:
            c = p["corners"][:, 0].astype(np.int64)
        elif "uv" in p:  # a flat-coloured texture: its colour at the face's UV centroid
            img = flat["textures"][p["texture"]]
            h, w = img.shape[:2]
            uv = p["uv"].mean(1)
            col = np.clip((uv[:, 0] % 1.0 * w).astype(np.int64), 0, w - 1)
            row = np.clip(((1.0 - uv[:, 1] % 1.0) * h).astype(np.int64), 0, h - 1)
            c = img[row, col].astype(np.int64)
        else:
            c = np.asarray(p["albedo"], np.int64)
        colours.append((c[:, 0] << 16) | (c[:, 1] << 8) | c[:, 2])
    return np.concatenate(cents), np.concatenate(colours)


def _hm3d_instances(sem_glb: Path, txt: Path, centroids: np.ndarray, up_axis: str) -> tuple[np.ndarray, dict[int, str]]:
    """Instance id per render face (by nearest semantic face within 5 cm) and raw category per id."""
    from scipy.spatial import cKDTree

    table = _read_hm3d_txt(txt)
    sem_c, sem_col = _semantic_mesh_colours(sem_glb, up_axis)
    ids = np.array([table.get(int(c), (-1, ""))[0] for c in sem_col], np.int64)
    dist, nearest = cKDTree(sem_c).query(centroids, k=1, distance_upper_bound=0.05, workers=-1)
    inst = np.where(np.isfinite(dist), ids[np.clip(nearest, 0, len(ids) - 1)], -1)
    return inst.astype(np.int32), {oid: name for oid, name in table.values()}


def _find_semantics(path: Path, semantics: str | os.PathLike | None) -> tuple[str, Path, Path | None] | None:
    """("hm3d", semantic.glb, semantic.txt) or ("mapping", file, None) or None."""
    if semantics is not None:
        s = Path(semantics)
        if not s.is_file():
            raise ConfigError(f"semantics file not found: {s}")
        if s.suffix.lower() == ".txt":
            glb = s.with_name(s.name[:-len(".txt")] + ".glb")
            if not glb.is_file():
                raise ConfigError(f"{s}: HM3D semantics need their mesh {glb} beside them")
            return "hm3d", glb, s
        return "mapping", s, None
    stem = path.parent / scene_name(path)
    if Path(f"{stem}.semantic.txt").is_file() and Path(f"{stem}.semantic.glb").is_file():
        return "hm3d", Path(f"{stem}.semantic.glb"), Path(f"{stem}.semantic.txt")
    for ext in (".json", ".csv"):
        if Path(f"{stem}.semantic{ext}").is_file():
            return "mapping", Path(f"{stem}.semantic{ext}"), None
    return None


# ------------------------------------------------------------------------------------------ frame
def _resolve_up(path: Path, up_axis: str) -> str:
    if up_axis not in ("auto", "y", "z"):
        raise ConfigError(f"up_axis must be auto, y or z, got {up_axis!r}")
    if up_axis != "auto":
        return up_axis
    return "y" if path.suffix.lower() in (".glb", ".gltf") else "z"


def _to_world(v: np.ndarray, up: str) -> np.ndarray:
    if up == "y":
        from sims.habitat.frames import habitat_to_world

        return habitat_to_world(v)
    return np.asarray(v, np.float64)


# ------------------------------------------------------------------------------------------ the scene
def load_scan(path: str | os.PathLike, *, up_axis: str = "auto", semantics: str | os.PathLike | None = None,
              category_map: Mapping[str, str] | str | os.PathLike | None = None) -> Scene:
    """Read a scanned scene mesh (see the module docstring).

    Args:
        up_axis: "auto", "y" or "z" (the file's up axis).
        semantics: an HM3D ``.semantic.txt`` (its ``.semantic.glb`` beside it) or a JSON / CSV node ->
            category file; default: found beside the mesh, or none.
        category_map: raw category -> ours, applied before habitat's table.
    Returns:
        A Scene with ``source_path`` set (``scanned``), no rooms / walls / doors, and one SceneObject per
        labelled instance.
    Raises:
        ConfigError: a missing, unreadable, empty or non-finite mesh, a bad up axis, a bad semantics file.
    """
    p = Path(path)
    up = _resolve_up(p, up_axis)
    flat = _flatten(_read(p), p)
    parts = flat["parts"]
    if not parts or sum(len(q["faces"]) for q in parts) == 0:
        raise ConfigError(f"{p}: the mesh is empty (no triangles); is it a point cloud or a scene without geometry?")
    V = np.concatenate([q["vertices"][q["faces"]].reshape(-1, 3) for q in parts])  # unmerged: 3 per face
    bad = ~np.isfinite(V).all(1)
    if bad.any():
        raise ConfigError(f"{p}: {int(bad.sum())} vertex positions are NaN or infinite; repair the mesh (e.g. "
                          "in Blender or with trimesh's remove_infinite_values) and try again")
    V = _to_world(V, up).astype(np.float32)
    F = len(V) // 3
    tri = V.reshape(F, 3, 3).astype(np.float64)
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    keep = area > 1e-12
    owner = np.concatenate([np.full(len(q["faces"]), i) for i, q in enumerate(parts)])
    albedo = np.concatenate([np.asarray(q["albedo"], np.uint8) for q in parts])
    any_tex = any("uv" in q for q in parts)
    any_col = any("corners" in q for q in parts)
    face_uv = np.concatenate([q["uv"] if "uv" in q else np.zeros((len(q["faces"]), 3, 2), np.float32)
                              for q in parts]) if any_tex else None
    face_tex = np.concatenate([np.full(len(q["faces"]), q.get("texture", -1), np.int32) for q in parts]) if any_tex else None
    corners = np.concatenate([q["corners"] if "corners" in q else np.repeat(np.asarray(q["albedo"], np.uint8)[:, None], 3, 1)
                              for q in parts]) if any_col else None
    instance = np.full(F, -1, np.int32)
    raw: dict[int, str] = {}
    found = _find_semantics(p, semantics)
    table = _read_category_map(category_map)
    if found and found[0] == "hm3d":
        instance, raw = _hm3d_instances(found[1], found[2], tri.mean(1), up)
    elif found:
        mapping = _read_mapping(found[1])
        names = [q["node"] for q in parts]
        geoms = [q["geometry"] for q in parts]
        for k, (name, category) in enumerate(mapping.items(), 1):
            hit = [i for i in range(len(parts)) if names[i] == name or geoms[i] == name]
            if not hit:
                log.warning("%s: no node named %r in %s", found[1], name, p)
                continue
            instance[np.isin(owner, hit)] = k
            raw[k] = category
    labels = {i: _map_category(name, table) for i, name in raw.items()}
    instance = np.where(np.isin(instance, [i for i, c in labels.items() if c]), instance, -1).astype(np.int32)
    sel = np.flatnonzero(keep)
    V = np.ascontiguousarray(V.reshape(F, 3, 3)[sel].reshape(-1, 3))
    instance, albedo = instance[sel], np.ascontiguousarray(albedo[sel])
    objects = _objects(V, instance, labels, raw)
    return Scene(
        scene_id=scene_name(p), vertices=V, faces=np.arange(len(V), dtype=np.int32).reshape(-1, 3),
        face_albedo=albedo, face_pattern=np.zeros(len(sel), np.uint8), face_instance=np.ascontiguousarray(instance),
        objects=objects, rooms=[], walls=[], doors=[], wall_height_m=float(np.ptp(V[:, 2])) if len(V) else 0.0,
        generator={"source": "scan", "up_axis": up, "semantics": str(found[1]) if found else None,
                   "triangles": int(len(sel)), "textures": len(flat["textures"])},
        face_uv=None if face_uv is None else np.ascontiguousarray(face_uv[sel]),
        face_texture=None if face_tex is None else np.ascontiguousarray(face_tex[sel]),
        textures=flat["textures"], face_corner_rgb=None if corners is None else np.ascontiguousarray(corners[sel]),
        source_path=str(p))


def _objects(V: np.ndarray, instance: np.ndarray, labels: dict[int, str | None], raw: dict[int, str]) -> list[SceneObject]:
    """One SceneObject per labelled instance with faces: its axis-aligned box, bottom centre, footprint."""
    out = []
    tri = V.reshape(-1, 3, 3)
    for i in sorted(int(x) for x in np.unique(instance) if x >= 0):
        pts = tri[instance == i].reshape(-1, 3)
        lo, hi = pts.min(0).astype(float), pts.max(0).astype(float)
        out.append(SceneObject(
            instance_id=i, category=labels[i], position_m=(float((lo[0] + hi[0]) / 2), float((lo[1] + hi[1]) / 2),
                                                            float(lo[2])),
            yaw_rad=0.0, bbox_min_m=tuple(lo.tolist()), bbox_max_m=tuple(hi.tolist()),
            footprint_xy_m=((lo[0], lo[1]), (hi[0], lo[1]), (hi[0], hi[1]), (lo[0], hi[1])), room_id=None,
            attributes={"raw_category": raw.get(i, "")}, source="scan"))
    return out
