"""Semantics of scanned scenes: instance ids per face and a category per instance, from HM3D's
``.semantic.glb`` + ``.semantic.txt`` or a hand-written JSON / CSV of node names (the formats and the
habitat-sim code they follow are in :mod:`sims.raycast.scan`), raw category names mapped to ours, and
one :class:`~sims.raycast.scene.SceneObject` per labelled instance."""

from __future__ import annotations

import csv
import difflib
import json
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from embodied.errors import ConfigError
from sims.raycast.mesh_files import flatten_mesh, is_scan_path, read_mesh, scene_name, to_world
from sims.raycast.scene import SceneObject

__all__ = ["STRUCTURE_CATEGORIES", "SEMANTIC_MATCH_M", "category_table", "map_category", "read_mapping",
           "find_semantics", "mapping_instances", "read_hm3d_txt", "face_colour_ints", "ids_of_colours",
           "semantic_faces", "transfer_instances", "scene_objects"]

STRUCTURE_CATEGORIES = frozenset({"", "unknown", "void", "unlabeled", "unlabelled", "no label", "misc", "wall",
                                  "floor", "ceiling", "door frame", "window frame", "window", "beam", "column",
                                  "stairs"})
"""Raw categories (lower case) that are part of the building or no object at all: kept as structure (-1)."""

SEMANTIC_MATCH_M = 0.05
"""Farthest a render face's centroid may be from its semantic face's (metres; at least half its longest edge)."""

_HM3D_HEADER = "HM3D Semantic Annotations"
_MAPPING_HEADERS = (["name", "category"], ["node", "category"], ["raw", "category"], ["instance", "category"])


# ------------------------------------------------------------------------------------------ category names
def read_mapping(path: Path, what: str) -> dict[str, str]:
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


def category_table(category_map: Mapping[str, str] | str | os.PathLike | None) -> dict[str, str]:
    """Lower-case raw name -> ours from a dict or a JSON / CSV file (empty for None)."""
    if category_map is None:
        return {}
    if isinstance(category_map, Mapping):
        return {str(k).strip().lower(): str(v) for k, v in category_map.items()}
    return {k.strip().lower(): v for k, v in read_mapping(Path(category_map), "category map").items()}


def map_category(raw: str, table: dict[str, str]) -> str | None:
    """Our category of a raw name, or None for structure."""
    from sims.habitat.frames import habitat_category

    name = str(raw).strip().lower()
    name = table.get(name, name)
    if name.strip().lower() in STRUCTURE_CATEGORIES:
        return None
    mapped = habitat_category(name)
    return None if mapped.lower() in STRUCTURE_CATEGORIES else mapped


# ------------------------------------------------------------------------------------------ HM3D semantics
def read_hm3d_txt(path: Path) -> dict[int, tuple[int, str, str]]:
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


def face_colour_ints(parts: list[dict[str, Any]], textures: list[np.ndarray], keys: np.ndarray,
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


def ids_of_colours(colours: np.ndarray, table: dict[int, tuple[int, str, str]]) -> np.ndarray:
    """(F,) int32 instance id of each 0xRRGGBB colour, -1 where the txt has no such colour."""
    if not table:
        return np.full(len(colours), -1, np.int32)
    keys = np.array(sorted(table), np.int64)
    ids = np.array([table[int(k)][0] for k in keys], np.int64)
    at = np.clip(np.searchsorted(keys, colours), 0, len(keys) - 1)
    return np.where(keys[at] == colours, ids[at], -1).astype(np.int32)


def semantic_faces(sem_mesh: Path, up: str, table: dict[int, tuple[int, str, str]]) -> tuple[np.ndarray, np.ndarray]:
    """(face centroids (F, 3) in our frame, instance id (F,)) of an HM3D semantic mesh."""
    flat = flatten_mesh(read_mesh(sem_mesh), sem_mesh)
    if not flat["parts"]:
        raise ConfigError(f"{sem_mesh}: the semantic mesh has no triangles")
    keys = np.array(sorted(table), np.int64)
    colours = face_colour_ints(flat["parts"], flat["textures"], keys, sem_mesh.suffix.lower() != ".ply")
    cents = np.concatenate([to_world(p["vertices"], up)[p["faces"]].mean(1) for p in flat["parts"]])
    return cents, ids_of_colours(colours, table)


def transfer_instances(sem_centroids: np.ndarray, sem_ids: np.ndarray, tri: np.ndarray) -> np.ndarray:
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


def find_semantics(path: Path, semantics: str | os.PathLike | None) -> tuple[str, Path, Path | None] | None:
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


def mapping_instances(mapping: dict[str, str], parts: list[dict[str, Any]], source: Path,
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


def scene_objects(V: np.ndarray, instance: np.ndarray, labels: dict[int, str | None], raw: dict[int, str],
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
