"""Mesh files (GLB/GLTF/OBJ/PLY/STL via trimesh) as placeable, labelled objects."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from embodied.errors import ConfigError
from sims.raycast.house import PlacedMesh

__all__ = ["load_mesh_object"]


def load_mesh_object(path: str | os.PathLike, category: str, *, height_m: float | None = None,
                     up: str = "z", attributes: dict | None = None) -> PlacedMesh:
    """Load a mesh file as an object of ``category``: centred in x/y, base on z = 0, front +X.

    Args:
        path: any format trimesh reads; textures and materials are baked to per-face colours.
        category: the label instances of it get (any string).
        height_m: scale uniformly to this height (default: keep the file's units, read as metres).
        up: the file's up axis, "z" or "y" (glTF and most OBJ exports are Y-up).
    Raises:
        ConfigError: missing, unreadable, empty or non-finite meshes, or a bad argument.
    """
    import trimesh

    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"mesh file not found: {p}")
    if up not in ("y", "z"):
        raise ConfigError(f"up must be 'y' or 'z', got '{up}'")
    try:
        loaded = trimesh.load(str(p), force="mesh", process=False)
    except Exception as exc:
        raise ConfigError(f"cannot read mesh {p}: {exc}") from exc
    if not isinstance(loaded, trimesh.Trimesh) or len(loaded.faces) == 0:
        raise ConfigError(f"mesh {p} has no triangles (empty or not a surface mesh)")
    v = np.asarray(loaded.vertices, np.float64)
    if not np.isfinite(v).all():
        raise ConfigError(f"mesh {p} has NaN/inf vertex coordinates")
    if up == "y":
        v = v @ np.array([[1.0, 0, 0], [0, 0, -1.0], [0, 1.0, 0]]).T  # (x, y, z) -> (x, -z, y)
    try:  # textures and materials -> per-vertex colours -> per-face mean
        vc = np.asarray(loaded.visual.to_color().vertex_colors, np.float64)[:, :3]
        colours = vc[np.asarray(loaded.faces)].mean(axis=1).round()
    except Exception:  # noqa: BLE001 - untextured or odd visuals: neutral grey
        colours = np.full((len(loaded.faces), 3), 180.0)
    lo, hi = v.min(0), v.max(0)
    size = hi - lo
    if size[2] <= 0 or max(size[0], size[1]) <= 0:
        raise ConfigError(f"mesh {p} is flat (bounding box {size.round(4).tolist()} m)")
    v = v - [(lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, lo[2]]
    if height_m is not None:
        if not height_m > 0:
            raise ConfigError(f"height_m must be > 0, got {height_m}")
        v *= height_m / size[2]
    return PlacedMesh(category, v, np.asarray(loaded.faces), colours.astype(np.uint8),
                      dict(attributes or {}), source=str(p))
