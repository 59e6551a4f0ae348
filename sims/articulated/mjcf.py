"""ArticulatedModel -> MuJoCo MJCF, written by us rather than by MuJoCo's URDF importer.

MuJoCo can load a URDF itself, but its importer discards visual geoms (``discardvisual``), strips
mesh folders (``meshdir``), reads only the first object of a multi-object OBJ, ignores MTL, and
refuses massless moving bodies. Writing MJCF from the parsed model sidesteps all of it:

* only collision geometry goes to MuJoCo (the toolkit renders the visual meshes itself, see
  :mod:`sims.articulated.simulator`); boxes stay boxes, meshes become convex-hull assets (flat
  hulls become thin boxes so MuJoCo never sees a zero-volume mesh);
* only the probe collides with the object (object geoms: ``contype=0 conaffinity=1``; the probe:
  ``contype=1 conaffinity=0``), so parts never jam on each other and a hollow part turned solid by
  its convex hull cannot block a neighbour; each part is bounded by its joint limits instead;
* every moving body gets an explicit inertial (its mass, or 500 kg/m^3 of its bounding box; the
  box's inertia), so nothing is massless;
* one inactive ``connect`` equality per body lets the probe grasp any body at run time.

``load_mujoco`` caches the compiled XML and mesh assets under ``$EMBODIED_CACHE/mjcf/<hash>/`` so a
second load of the same object skips the conversion.
"""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np
from scipy.spatial.transform import Rotation

from sims.articulated.model import ArticulatedModel, Geom, Link

__all__ = ["PROBE", "to_mjcf", "write_mjcf", "load_mujoco", "grasp_name", "cache_folder"]

PROBE = "__probe__"
_DENSITY = 500.0


def grasp_name(body: str) -> str:
    """The name of the connect equality that attaches the probe to ``body``."""
    return f"grasp:{body}"


def cache_folder() -> Path:
    """Where converted models live: next to the native renderer's cache ($EMBODIED_CACHE/mjcf)."""
    from sims.raycast.native import cache_dir

    return cache_dir().parent / "mjcf"


def _f(v) -> str:
    return " ".join(f"{float(x):.9g}" for x in np.ravel(v))


def _pose_attrs(T: np.ndarray) -> str:
    q = Rotation.from_matrix(T[:3, :3]).as_quat()  # x y z w
    return f'pos="{_f(T[:3, 3])}" quat="{_f([q[3], q[0], q[1], q[2]])}"'


def _geom_points(lk: Link) -> np.ndarray | None:
    pts = []
    for g in lk.collisions:
        if g.kind == "box":
            h = np.asarray(g.size_m) / 2
            c = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)]) * h
            pts.append(c @ g.T_link_geom[:3, :3].T + g.T_link_geom[:3, 3])
        else:
            pts.append(np.asarray(g.vertices, np.float64) @ g.T_link_geom[:3, :3].T + g.T_link_geom[:3, 3])
    if not pts:
        vm = lk.visual_mesh()
        return None if vm is None else vm.vertices.astype(np.float64)
    return np.concatenate(pts)


def _inertial(lk: Link) -> str:
    pts = _geom_points(lk)
    if pts is None:
        return '<inertial pos="0 0 0" mass="0.01" diaginertia="1e-5 1e-5 1e-5"/>'
    lo, hi = pts.min(0), pts.max(0)
    size = np.maximum(hi - lo, 0.01)
    mass = lk.mass_kg if lk.mass_kg and lk.mass_kg > 0 else max(0.05, float(np.prod(size)) * _DENSITY * 0.2)
    I = mass / 12.0 * np.array([size[1] ** 2 + size[2] ** 2, size[0] ** 2 + size[2] ** 2, size[0] ** 2 + size[1] ** 2])
    return f'<inertial pos="{_f((lo + hi) / 2)}" mass="{mass:.6g}" diaginertia="{_f(np.maximum(I, 1e-6))}"/>'


def _mesh_geom(g: Geom, name: str, assets: dict[str, bytes]) -> str:
    """A convex mesh geom, or an oriented thin box when the hull is flat."""
    import trimesh

    v = np.asarray(g.vertices, np.float64)
    hull = trimesh.Trimesh(v, np.asarray(g.faces), process=False).convex_hull if len(v) >= 4 else None
    with np.errstate(invalid="ignore", divide="ignore"):  # a flat hull's centre of mass divides by 0
        flat = hull is None or not hull.volume >= 1e-8
    if flat:
        c = v.mean(0)
        _, _, vt = np.linalg.svd(v - c, full_matrices=False)
        if np.linalg.det(vt) < 0:
            vt[2] *= -1
        local = (v - c) @ vt.T
        lo, hi = local.min(0), local.max(0)
        T = np.eye(4)
        T[:3, :3] = vt.T
        T[:3, 3] = c + vt.T @ ((lo + hi) / 2)
        size = np.maximum(hi - lo, 0.005) / 2
        return f'<geom type="box" size="{_f(size)}" {_pose_attrs(g.T_link_geom @ T)} contype="0" conaffinity="1"/>'
    buf = io.BytesIO()
    hull.export(buf, file_type="stl")
    assets[f"{name}.stl"] = buf.getvalue()
    return (f'<geom type="mesh" mesh={quoteattr(name)} {_pose_attrs(g.T_link_geom)} '
            f'contype="0" conaffinity="1"/>')


def to_mjcf(model: ArticulatedModel, *, timestep_s: float = 0.002, gravity: bool = False,
            probe_radius_m: float = 0.01, min_damping: float = 2.0, min_friction: float = 0.5
            ) -> tuple[str, dict[str, bytes]]:
    """(MJCF XML, {mesh file name: STL bytes}) of ``model`` plus the probe (a mocap sphere).

    Joint damping and dry friction are raised to at least ``min_damping`` / ``min_friction`` (URDFs
    such as ReplicaCAD's ship 0.01), so a part comes to rest where the probe leaves it.
    """
    assets: dict[str, bytes] = {}
    children: dict[str, list] = {}
    for j in model.joints:
        children.setdefault(j.parent, []).append(j)
    mesh_decl: list[str] = []

    def geoms(lk: Link) -> list[str]:
        out = []
        for i, g in enumerate(lk.collisions):
            if g.kind == "box":
                out.append(f'<geom type="box" size="{_f(np.asarray(g.size_m) / 2)}" {_pose_attrs(g.T_link_geom)} '
                           f'contype="0" conaffinity="1"/>')
            else:
                name = f"m{len(mesh_decl)}_{i}"
                xml = _mesh_geom(g, name, assets)
                if 'type="mesh"' in xml:
                    mesh_decl.append(f'<mesh name={quoteattr(name)} file={quoteattr(name + ".stl")}/>')
                out.append(xml)
        return out

    def body(lk: Link, T: np.ndarray, joint, depth: int) -> list[str]:
        pad = "  " * depth
        lines = [f"{pad}<body name={quoteattr(lk.name)} {_pose_attrs(T)}>"]
        if joint is not None and joint.type != "fixed":
            kind = "slide" if joint.type == "prismatic" else "hinge"
            limited = np.isfinite(joint.lower) and np.isfinite(joint.upper)
            rng = f' range="{joint.lower:.9g} {joint.upper:.9g}"' if limited else ""
            damping, friction = max(joint.damping, min_damping), max(joint.friction, min_friction)
            lines.append(f'{pad}  <joint name={quoteattr(joint.name)} type="{kind}" axis="{_f(joint.axis)}" '
                         f'limited="{"true" if limited else "false"}"{rng} damping="{damping:.6g}" '
                         f'frictionloss="{friction:.6g}" armature="0.01" solreflimit="0.004 1"/>')
        if depth > 1:
            lines.append(f"{pad}  {_inertial(lk)}")
        lines += [f"{pad}  {g}" for g in geoms(lk)]
        for j in children.get(lk.name, []):
            lines += body(model.link(j.child), j.T_parent_joint, j, depth + 1)
        lines.append(f"{pad}</body>")
        return lines

    world = body(model.links[0], model.T_world_root, None, 1)
    eqs = [f'  <connect name={quoteattr(grasp_name(lk.name))} body1={quoteattr(lk.name)} body2="{PROBE}" '
           f'anchor="0 0 0" active="false" solref="0.03 1"/>' for lk in model.links[1:]]
    g = "0 0 -9.81" if gravity else "0 0 0"
    xml = "\n".join([
        f"<mujoco model={quoteattr(model.name)}>",
        '  <compiler angle="radian" inertiafromgeom="false" boundmass="0.01" boundinertia="1e-6"/>',
        f'  <option timestep="{timestep_s:.6g}" gravity="{g}" integrator="implicitfast"/>',
        "  <asset>", *[f"    {m}" for m in mesh_decl], "  </asset>",
        "  <worldbody>", *world,
        f'    <body name="{PROBE}" mocap="true" pos="0 0 -10">',
        f'      <geom type="sphere" size="{probe_radius_m:.6g}" contype="1" conaffinity="0" rgba="1 0 0 1"/>',
        "    </body>",
        "  </worldbody>",
        "  <equality>", *eqs, "  </equality>",
        "</mujoco>", ""])
    return xml, assets


def write_mjcf(model: ArticulatedModel, folder: str | os.PathLike, **kw) -> Path:
    """Write ``model.xml`` and its mesh assets into ``folder``; returns the XML path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    xml, assets = to_mjcf(model, **kw)
    for name, data in assets.items():
        (folder / name).write_bytes(data)
    tmp = folder / "model.xml.tmp"
    tmp.write_text(xml)
    os.replace(tmp, folder / "model.xml")
    return folder / "model.xml"


def _model_key(model: ArticulatedModel, kw: dict) -> str:
    h = hashlib.sha256(repr(sorted(kw.items())).encode())
    h.update(np.asarray(model.T_world_root, np.float64).tobytes())
    for lk in model.links:
        h.update(lk.name.encode() + repr(lk.mass_kg).encode())
        for g in lk.collisions:
            h.update(g.kind.encode() + np.asarray(g.T_link_geom, np.float64).tobytes())
            for a in (g.size_m, g.vertices, g.faces):
                if a is not None:
                    h.update(np.ascontiguousarray(a).tobytes())
    for j in model.joints:
        h.update(repr((j.name, j.type, j.parent, j.child, j.lower, j.upper, j.damping, j.friction)).encode())
        h.update(np.asarray(j.T_parent_joint, np.float64).tobytes() + np.asarray(j.axis, np.float64).tobytes())
    return h.hexdigest()[:20]


def load_mujoco(model: ArticulatedModel, *, cache: bool = True, **kw):
    """A compiled ``mujoco.MjModel`` of ``model`` (the MJCF cached on disk when ``cache``)."""
    import mujoco

    if not cache:
        xml, assets = to_mjcf(model, **kw)
        return mujoco.MjModel.from_xml_string(xml, assets)
    folder = cache_folder() / _model_key(model, kw)
    path = folder / "model.xml"
    if not path.exists():
        write_mjcf(model, folder, **kw)
    return mujoco.MjModel.from_xml_path(str(path))
