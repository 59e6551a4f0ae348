"""Write a discovered articulated model as URDF (with part meshes) and a JSON summary.

Part meshes come from the aggregated points: occupied voxels (``voxel_m``) grown by one voxel, then
marching cubes (scikit-image), so every part is a closed surface a physics engine can use. The URDF
has a ``base`` link and one link per part, each joined to the base by the estimated joint: a revolute
joint's origin is its pivot, a prismatic joint's the part's centroid; the limits are the range the
agent observed. Link frames are world-aligned (canonical state), so the axis needs no rotation.
Every link carries an inertial (1 kg, its box's inertia) so MuJoCo and pybullet accept moving links,
and a ``<mujoco><compiler discardvisual="false"/></mujoco>`` block keeps visuals when MuJoCo loads it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

import numpy as np

from embodied.articulation.joints import JointEstimate
from embodied.errors import ConfigError

__all__ = ["points_to_mesh", "export_urdf", "ExportedPart"]

ExportedPart = tuple[np.ndarray, JointEstimate]
"""(canonical points (N, 3), joint) of one part."""


def points_to_mesh(points: np.ndarray, voxel_m: float = 0.01) -> tuple[np.ndarray, np.ndarray]:
    """A closed triangle mesh around ``points`` (N, 3): (vertices (V, 3) float64, faces (F, 3) int64)."""
    from scipy.ndimage import binary_dilation
    from skimage.measure import marching_cubes

    if len(points) == 0:
        raise ConfigError("cannot mesh an empty point set")
    lo = points.min(0) - 3 * voxel_m
    idx = np.floor((points - lo) / voxel_m).astype(np.int64)
    shape = idx.max(0) + 4
    grid = np.zeros(shape, bool)
    grid[idx[:, 0], idx[:, 1], idx[:, 2]] = True
    grid = binary_dilation(grid, iterations=1)
    verts, faces, _, _ = marching_cubes(grid.astype(np.float32), level=0.5)
    return lo + verts * voxel_m + 0.5 * voxel_m, faces.astype(np.int64)


def _write_obj(path: Path, v: np.ndarray, f: np.ndarray) -> None:
    lines = [f"v {a:.6f} {b:.6f} {c:.6f}" for a, b, c in v] + [f"f {a + 1} {b + 1} {c + 1}" for a, b, c in f]
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n")
    os.replace(tmp, path)


def _inertial(v: np.ndarray) -> str:
    size = np.maximum(np.ptp(v, axis=0), 0.01)
    c = (v.max(0) + v.min(0)) / 2
    I = 1.0 / 12.0 * np.array([size[1] ** 2 + size[2] ** 2, size[0] ** 2 + size[2] ** 2, size[0] ** 2 + size[1] ** 2])
    return (f'    <inertial><origin xyz="{c[0]:.6f} {c[1]:.6f} {c[2]:.6f}"/><mass value="1.0"/>'
            f'<inertia ixx="{I[0]:.6g}" ixy="0" ixz="0" iyy="{I[1]:.6g}" iyz="0" izz="{I[2]:.6g}"/></inertial>')


def _link(name: str, mesh_file: str, v_local: np.ndarray) -> list[str]:
    geom = f'<geometry><mesh filename={quoteattr(mesh_file)}/></geometry>'
    return [f"  <link name={quoteattr(name)}>", _inertial(v_local),
            f"    <visual>{geom}</visual>", f"    <collision>{geom}</collision>", "  </link>"]


def export_urdf(folder: str | os.PathLike, name: str, base_points: np.ndarray, parts: list[ExportedPart],
                summary: dict[str, Any] | None = None, voxel_m: float = 0.01) -> Path:
    """Write ``<folder>/<name>.urdf``, ``meshes/*.obj`` and ``<name>.json``; returns the URDF path.

    Args:
        base_points: (N, 3) canonical points of the base.
        parts: (canonical points, joint) per part; parts without a joint are skipped.
        summary: extra JSON content (the estimator's summary, metrics, ...).
    """
    folder = Path(folder)
    (folder / "meshes").mkdir(parents=True, exist_ok=True)
    lines = ['<?xml version="1.0"?>', f"<robot name={quoteattr(name)}>",
             '  <mujoco><compiler discardvisual="false" meshdir="." strippath="false"/></mujoco>']
    v, f = points_to_mesh(base_points, voxel_m)
    _write_obj(folder / "meshes" / "base.obj", v, f)
    lines += _link("base", "meshes/base.obj", v)
    joints_json = []
    for k, (pts, joint) in enumerate(parts):
        if joint is None or not len(pts):
            continue
        origin = np.asarray(joint.pivot_m, np.float64)
        v, f = points_to_mesh(pts, voxel_m)
        _write_obj(folder / "meshes" / f"part_{k}.obj", v - origin, f)
        lines += _link(f"part_{k}", f"meshes/part_{k}.obj", v - origin)
        lo, hi = (float(joint.lower), float(joint.upper))
        ax = joint.axis
        lines += [f'  <joint name="joint_{k}" type="{joint.type}">',
                  f'    <origin xyz="{origin[0]:.6f} {origin[1]:.6f} {origin[2]:.6f}" rpy="0 0 0"/>',
                  '    <parent link="base"/>', f'    <child link="part_{k}"/>',
                  f'    <axis xyz="{ax[0]:.9f} {ax[1]:.9f} {ax[2]:.9f}"/>',
                  f'    <limit lower="{lo:.6f}" upper="{hi:.6f}" effort="100" velocity="1"/>',
                  '    <dynamics damping="2.0" friction="0.5"/>', "  </joint>"]
        joints_json.append({"name": f"joint_{k}", "child": f"part_{k}", **joint.to_dict()})
    lines.append("</robot>")
    path = folder / f"{name}.urdf"
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n")
    os.replace(tmp, path)
    doc = {"name": name, "urdf": path.name, "joints": joints_json, **(summary or {})}
    tmp = folder / f"{name}.json.tmp"
    tmp.write_text(json.dumps(doc, indent=2, default=float))
    os.replace(tmp, folder / f"{name}.json")
    return path
