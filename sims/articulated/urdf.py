"""Load a URDF file (PartNet-Mobility, ReplicaCAD / habitat, hand-written) into an :class:`ArticulatedModel`.

Supported, with our own ``xml.etree`` parser:

* ``<link>`` with any number of ``<visual>`` and ``<collision>`` elements, each with an optional
  ``<origin xyz rpy>`` (rpy: fixed-axis roll-pitch-yaw, ``R = Rz(yaw) @ Ry(pitch) @ Rx(roll)``) and one
  geometry: ``<mesh filename scale>`` (``scale`` as ``"sx sy sz"`` or ``"sx, sy, sz"``), ``<box size>``,
  ``<cylinder radius length>`` (along the local Z) or ``<sphere radius>``; ``<inertial><mass value>``
  becomes :attr:`Link.mass_kg` (the inertia tensor is ignored).
* Visuals become :class:`Mesh` es in the link frame with one colour per face: a mesh's texture sampled at
  each face's UV centroid (nearest texel, repeat wrap), else its material's main colour, else its
  vertex / face colours, else grey; a primitive takes the visual's ``<material><color rgba>`` (inline
  or a named ``<robot><material>``), else grey.
* Collisions become :class:`Geom` s: a box stays a box; a mesh, cylinder or sphere becomes the convex
  hull of its (scaled) vertices.
* ``<joint>`` of type fixed, revolute, continuous or prismatic with ``<origin>``, ``<axis xyz>``
  (default 1 0 0), ``<limit lower upper>`` (missing: 0), ``<dynamics damping friction>`` (missing: the
  model's defaults), ``<parent link>``, ``<child link>``.
* Mesh files that trimesh reads: OBJ with MTL colours (``Kd``) and textures (``map_Kd``), GLB / glTF
  (node transforms applied), STL, PLY, ... Paths are relative to the URDF's folder (a leading
  ``package://<pkg>/`` is stripped) and must stay inside it, as must the files a mesh references.
* ``up_axis``: ``"z"`` keeps the file's frame; ``"y"`` (habitat / ReplicaCAD files are Y-up) sets
  ``T_world_root`` to ``Rx(+90 deg)``, which maps the file's +Y onto the world's +Z; ``"auto"`` picks
  ``"y"`` when any mesh is GLB / glTF, else ``"z"``.

Not supported: floating and planar joints, mimic joints, ``<transmission>``, ``<gazebo>`` extensions.
Lengths are metres, angles radians. Nothing is cached on disk; within one call each mesh file and
texture is read once.
"""

from __future__ import annotations

import re
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import trimesh
import trimesh.resolvers

from embodied.errors import ConfigError
from sims.articulated.model import JOINT_TYPES, ArticulatedModel, Geom, Joint, Link, Mesh

__all__ = ["UP_AXES", "GREY", "load_urdf", "find_urdfs", "rpy_matrix"]

UP_AXES = ("auto", "y", "z")
GREY = (180, 180, 180)
_Y_UP_TO_Z_UP = np.array([[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, -1.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]])
_GLTF = (".glb", ".gltf")
_PACKAGE = re.compile(r"^package://[^/]+/")


def load_urdf(path: str | Path, *, up_axis: str = "auto") -> ArticulatedModel:
    """Parse the URDF at ``path`` into an :class:`ArticulatedModel` (see the module docstring).

    ``up_axis`` is "z", "y" or "auto"; the choice made is stored in ``model.meta["up_axis"]``.
    Raises :class:`ConfigError` naming the file on any problem (missing file or mesh, bad XML, ...).
    """
    path = Path(path)
    if up_axis not in UP_AXES:
        raise ConfigError(f"{path}: up_axis={up_axis!r} is not supported; use one of {UP_AXES}")
    robot = _parse_robot(path)
    if up_axis == "auto":
        names = [m.get("filename", "").lower() for m in robot.iter("mesh")]
        up_axis = "y" if any(n.endswith(_GLTF) for n in names) else "z"
    reader = _Reader(path, robot)
    links = [reader.link(el) for el in robot.findall("link")]
    joints = [reader.joint(el) for el in robot.findall("joint")]
    return ArticulatedModel(name=robot.get("name") or path.stem, links=links, joints=joints,
                            T_world_root=_Y_UP_TO_Z_UP.copy() if up_axis == "y" else np.eye(4),
                            source=str(path), meta={"urdf": str(path), "up_axis": up_axis})


def find_urdfs(paths: str | Path | Iterable[str | Path]) -> list[Path]:
    """Expand files and folders into URDF files, in argument order, without duplicates.

    A ``.urdf`` file is kept; a folder holding ``mobility.urdf`` (PartNet-Mobility) gives that file;
    any other folder gives ``sorted(rglob("*.urdf"))``, keeping only ``mobility.urdf`` in a folder that
    has it next to others (``mobility_cvx.urdf``, ...). Raises :class:`ConfigError` for a path that does
    not exist, a file that is not a URDF, or a folder without URDFs.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    out: list[Path] = []
    for p in map(Path, paths):
        for urdf in _expand(p):
            if urdf not in out:
                out.append(urdf)
    return out


def _expand(p: Path) -> list[Path]:
    """The URDFs one argument of :func:`find_urdfs` stands for."""
    if not p.exists():
        raise ConfigError(f"{p}: no such file or folder; pass a .urdf file or a folder holding URDFs")
    if p.is_file():
        if p.suffix.lower() != ".urdf":
            raise ConfigError(f"{p}: not a .urdf file; pass a URDF or the folder holding one")
        return [p]
    if (p / "mobility.urdf").is_file():
        return [p / "mobility.urdf"]
    found = sorted(p.rglob("*.urdf"))
    if not found:
        raise ConfigError(f"{p}: the folder holds no .urdf file; pass a folder with URDFs in it")
    return [u for u in found if u.name == "mobility.urdf" or not (u.parent / "mobility.urdf").is_file()]


def _parse_robot(path: Path) -> ET.Element:
    """The ``<robot>`` root of the URDF at ``path``."""
    if not path.is_file():
        raise ConfigError(f"{path}: no such URDF file; pass the path of an existing .urdf file")
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        raise ConfigError(f"{path}: not valid XML ({e}); fix the file or re-export the URDF") from e
    if root.tag != "robot":
        raise ConfigError(f"{path}: the root element is <{root.tag}>, not <robot>; pass a URDF file")
    return root


def rpy_matrix(rpy: np.ndarray) -> np.ndarray:
    """(3, 3) rotation of URDF fixed-axis roll-pitch-yaw ``rpy`` (3,) rad: ``Rz(y) @ Ry(p) @ Rx(r)``."""
    (cr, cp, cy), (sr, sp, sy) = np.cos(rpy), np.sin(rpy)
    Rx = np.array([[1.0, 0.0, 0.0], [0.0, cr, -sr], [0.0, sr, cr]])
    Ry = np.array([[cp, 0.0, sp], [0.0, 1.0, 0.0], [-sp, 0.0, cp]])
    Rz = np.array([[cy, -sy, 0.0], [sy, cy, 0.0], [0.0, 0.0, 1.0]])
    return Rz @ Ry @ Rx


def _place(mesh: Mesh, T: np.ndarray) -> Mesh:
    """``mesh`` moved by the affine ``T`` (4, 4); faces re-wound when ``T`` mirrors, so normals stay outward."""
    out = mesh.transformed(T)
    if np.linalg.det(T[:3, :3]) < 0:
        out.faces = np.ascontiguousarray(out.faces[:, ::-1])
    return out


def _merge(parts: list[Mesh]) -> Mesh:
    """One mesh holding all ``parts`` (the concatenation :meth:`Link.visual_mesh` does)."""
    return Link("merged", visuals=parts).visual_mesh()


def _scaled(scale: np.ndarray) -> np.ndarray:
    """(4, 4) affine scaling by ``scale`` (3,)."""
    return np.diag([*scale, 1.0])


def _convex_hull(points: np.ndarray) -> trimesh.Trimesh:
    """Convex hull of ``points`` (N, 3) m; flat input (a PartNet panel) gives a flat, zero-volume hull."""
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        return trimesh.convex.convex_hull(np.asarray(points, np.float64))


def _primitive(kind: str, dims: dict[str, np.ndarray]) -> trimesh.Trimesh:
    """Triangle mesh of a URDF box (size), cylinder (radius, length; along Z) or sphere (radius), centred."""
    if kind == "box":
        return trimesh.creation.box(extents=dims["size"])
    if kind == "cylinder":
        return trimesh.creation.cylinder(radius=float(dims["radius"][0]), height=float(dims["length"][0]), sections=32)
    return trimesh.creation.icosphere(subdivisions=2, radius=float(dims["radius"][0]))


def _solid(mesh: trimesh.Trimesh, rgb: tuple[int, int, int]) -> Mesh:
    return Mesh(np.asarray(mesh.vertices, np.float32), np.asarray(mesh.faces, np.int32),
                np.tile(np.asarray(rgb, np.uint8), (len(mesh.faces), 1)))


def _sample_texture(image: np.ndarray, uv: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(F, 3) uint8 texel of ``image`` (H, W, 3) at each face's UV centroid; uv (0, 0) is the bottom-left."""
    c = uv[faces].mean(axis=1) % 1.0
    h, w = image.shape[:2]
    cols = np.clip((c[:, 0] * w).astype(np.int64), 0, w - 1)
    rows = np.clip(((1.0 - c[:, 1]) * h).astype(np.int64), 0, h - 1)
    return image[rows, cols]


def _rgb_array(image) -> np.ndarray:
    """A PIL image as (H, W, 3) uint8."""
    return np.asarray(image.convert("RGB"), np.uint8)


def _flat_rgb(colour: np.ndarray, n: int) -> np.ndarray:
    return np.tile(np.asarray(colour, np.uint8)[:3], (n, 1))


class _FolderResolver(trimesh.resolvers.Resolver):
    """Serves the files a mesh references (MTL, textures, glTF buffers) from ``base``, never outside ``root``."""

    def __init__(self, base: Path, root: Path):
        self.base, self.root = base, root

    def path(self, name: str) -> Path:
        """The resolved file ``name`` refers to; FileNotFoundError when missing or outside the root."""
        p = (self.base / name.strip()).resolve()
        if not p.is_relative_to(self.root) or not p.is_file():
            raise FileNotFoundError(name)
        return p

    def get(self, name: str) -> bytes:
        return self.path(name).read_bytes()

    def write(self, name: str, data) -> None:
        raise PermissionError(f"{name}: assets are read-only")

    def namespaced(self, namespace: str) -> _FolderResolver:
        return _FolderResolver(self.base / namespace, self.root)

    def keys(self) -> Iterator[str]:
        return (str(p.relative_to(self.base)) for p in self.base.rglob("*") if p.is_file())


class _Reader:
    """Turns the elements of one URDF into links and joints; holds the per-file mesh and texture caches."""

    def __init__(self, path: Path, robot: ET.Element):
        self.path = path
        self.folder = path.resolve().parent
        self.materials = {m.get("name"): m for m in robot.findall("material") if m.get("name")}
        self.meshes: dict[Path, Mesh] = {}
        self.textures: dict[Path, np.ndarray] = {}

    # --- attributes -------------------------------------------------------------------------------

    def floats(self, el: ET.Element | None, attr: str, n: int, default: tuple[float, ...] | None = None,
               where: str = "") -> np.ndarray:
        """Attribute ``attr`` of ``el`` as (n,) floats (space- or comma-separated); ``default`` when absent."""
        text = el.get(attr) if el is not None else None
        if text is None:
            if default is None:
                raise ConfigError(f"{self.path}: {where} <{getattr(el, 'tag', '?')}> needs the attribute '{attr}'")
            return np.asarray(default, np.float64)
        try:
            vals = np.array([float(t) for t in text.replace(",", " ").split()], np.float64)
        except ValueError:
            vals = np.empty(0)
        if len(vals) != n or not np.isfinite(vals).all():
            raise ConfigError(f"{self.path}: {where} <{el.tag} {attr}='{text}'> must be {n} finite numbers")
        return vals

    def origin(self, el: ET.Element, where: str) -> np.ndarray:
        """(4, 4) T from the ``<origin xyz rpy>`` child of ``el`` (identity when absent)."""
        o = el.find("origin")
        T = np.eye(4)
        T[:3, :3] = rpy_matrix(self.floats(o, "rpy", 3, (0.0, 0.0, 0.0), where))
        T[:3, 3] = self.floats(o, "xyz", 3, (0.0, 0.0, 0.0), where)
        return T

    def name(self, el: ET.Element, what: str) -> str:
        name = el.get("name")
        if not name:
            raise ConfigError(f"{self.path}: a <{el.tag}> has no name; give every {what} a unique name")
        return name

    # --- links ------------------------------------------------------------------------------------

    def link(self, el: ET.Element) -> Link:
        name = self.name(el, "link")
        mass = el.find("inertial/mass")
        mass_kg = float(self.floats(mass, "value", 1, where=f"link '{name}'")[0]) if mass is not None else None
        return Link(name, visuals=[self.visual(v, f"link '{name}' visual") for v in el.findall("visual")],
                    collisions=[self.collision(c, f"link '{name}' collision") for c in el.findall("collision")],
                    mass_kg=mass_kg)

    def geometry(self, el: ET.Element, where: str) -> tuple[ET.Element, dict[str, np.ndarray]]:
        """The shape element inside ``<geometry>`` and its dimensions (m): box size (3,), radius (1,), ..."""
        container = el.find("geometry")
        shapes = list(container) if container is not None else []
        if len(shapes) != 1 or shapes[0].tag not in ("mesh", "box", "cylinder", "sphere"):
            raise ConfigError(f"{self.path}: {where} needs a <geometry> with one <mesh>, <box>, <cylinder> or "
                              f"<sphere>; found {[s.tag for s in shapes]}")
        g = shapes[0]
        attrs = {"mesh": {"scale": 3}, "box": {"size": 3}, "cylinder": {"radius": 1, "length": 1},
                 "sphere": {"radius": 1}}[g.tag]
        dims = {a: self.floats(g, a, n, (1.0, 1.0, 1.0) if a == "scale" else None, where) for a, n in attrs.items()}
        if g.tag != "mesh" and not all((d > 0).all() for d in dims.values()):
            raise ConfigError(f"{self.path}: {where} <{g.tag}> dimensions must be positive, got {g.attrib}")
        return g, dims

    def visual(self, el: ET.Element, where: str) -> Mesh:
        """One ``<visual>`` as a coloured mesh in the link frame."""
        T = self.origin(el, where)
        g, dims = self.geometry(el, where)
        if g.tag == "mesh":
            return _place(self.mesh_file(g, where), T @ _scaled(dims["scale"]))
        return _place(_solid(_primitive(g.tag, dims), self.material_rgb(el)), T)

    def collision(self, el: ET.Element, where: str) -> Geom:
        """One ``<collision>``: a box, or the convex hull of a mesh / cylinder / sphere, in the link frame."""
        T = self.origin(el, where)
        g, dims = self.geometry(el, where)
        if g.tag == "box":
            return Geom("box", T, size_m=dims["size"])
        if g.tag == "mesh":
            points = self.mesh_file(g, where).vertices.astype(np.float64) * dims["scale"]
        else:
            points = _primitive(g.tag, dims).vertices
        hull = _convex_hull(points)
        return Geom("mesh", T, vertices=np.asarray(hull.vertices, np.float32), faces=np.asarray(hull.faces, np.int32))

    def material_rgb(self, visual: ET.Element) -> tuple[int, int, int]:
        """The visual's ``<material>`` colour (inline or a named robot material) as uint8 RGB, else grey."""
        m = visual.find("material")
        if m is not None and m.find("color") is None:
            m = self.materials.get(m.get("name"))
        color = m.find("color") if m is not None else None
        if color is None:
            return GREY
        rgba = self.floats(color, "rgba", 4, where="material")
        return tuple(int(round(c)) for c in np.clip(rgba[:3], 0.0, 1.0) * 255)

    # --- mesh files -------------------------------------------------------------------------------

    def mesh_path(self, filename: str, where: str) -> Path:
        """The file a ``<mesh filename>`` names: relative to the URDF's folder and inside it."""
        p = (self.folder / _PACKAGE.sub("", filename.strip())).resolve()
        if not p.is_relative_to(self.folder):
            raise ConfigError(f"{self.path}: {where}: mesh path '{filename}' escapes the object's folder "
                              f"{self.folder}; keep meshes inside the URDF's folder and use relative paths")
        if not p.is_file():
            raise ConfigError(f"{self.path}: {where}: mesh file '{filename}' not found (looked for {p}); "
                              f"fix the filename or restore the file")
        return p

    def mesh_file(self, g: ET.Element, where: str) -> Mesh:
        """The ``<mesh>`` file's triangles in its own frame (unscaled), with per-face colours; read once."""
        p = self.mesh_path(g.get("filename", ""), where)
        if p not in self.meshes:
            self.meshes[p] = self.read_mesh(p, where)
        return self.meshes[p]

    def read_mesh(self, p: Path, where: str) -> Mesh:
        """All triangles of mesh file ``p``, scene node transforms applied, merged into one mesh."""
        resolver = _FolderResolver(p.parent, self.folder)
        try:
            scene = trimesh.load(p, force="scene", process=False, resolver=resolver)
        except Exception as e:  # trimesh raises many types on unreadable files
            raise ConfigError(f"{self.path}: {where}: cannot read mesh {p} ({type(e).__name__}: {e}); "
                              f"re-export it as OBJ or GLB") from e
        parts = []
        for node in scene.graph.nodes_geometry:
            T, geom_name = scene.graph[node]
            geom = scene.geometry[geom_name]
            if isinstance(geom, trimesh.Trimesh) and len(geom.faces):
                part = Mesh(np.asarray(geom.vertices, np.float32), np.asarray(geom.faces, np.int32),
                            self.face_rgb(geom, resolver))
                parts.append(_place(part, np.asarray(T, np.float64)))
        if not parts:
            raise ConfigError(f"{self.path}: {where}: mesh {p} holds no triangles; fix or remove the element")
        return _merge(parts)

    def face_rgb(self, geom: trimesh.Trimesh, resolver: _FolderResolver) -> np.ndarray:
        """(F, 3) uint8 colour of each face: texture, else material colour, else vertex / face colours, else grey."""
        visual, n = geom.visual, len(geom.faces)
        if visual.kind == "texture":
            material = visual.material
            image = getattr(material, "baseColorTexture", None)  # glTF (PBR)
            if image is None:
                image = getattr(material, "image", None)  # OBJ map_Kd
            uv = getattr(visual, "uv", None)
            if image is not None and uv is not None and len(uv) == len(geom.vertices):
                return _sample_texture(self.texture(image, resolver), np.asarray(uv, np.float64), geom.faces)
            colour = getattr(material, "baseColorFactor", None)
            return _flat_rgb(colour if colour is not None else material.main_color, n)
        if visual.kind == "vertex":
            vc = np.asarray(visual.vertex_colors, np.float64)[:, :3]
            return np.round(vc[geom.faces].mean(axis=1)).astype(np.uint8)
        if visual.kind == "face":
            return np.asarray(visual.face_colors, np.uint8)[:, :3]
        return _flat_rgb(GREY, n)

    def texture(self, image, resolver: _FolderResolver) -> np.ndarray:
        """(H, W, 3) uint8 pixels of a texture; a file many OBJs share (PartNet) is decoded once."""
        name = image.info.get("file_path")
        if name is None:  # embedded (GLB) or a trimesh that does not record the file
            return _rgb_array(image)
        key = resolver.path(name)
        if key not in self.textures:
            self.textures[key] = _rgb_array(image)
        return self.textures[key]

    # --- joints -----------------------------------------------------------------------------------

    def joint(self, el: ET.Element) -> Joint:
        name = self.name(el, "joint")
        where = f"joint '{name}'"
        jtype = el.get("type", "")
        if jtype not in JOINT_TYPES:
            raise ConfigError(f"{self.path}: {where} has unsupported type '{jtype}'; use one of {JOINT_TYPES}")
        ends = {}
        for end in ("parent", "child"):
            e = el.find(end)
            if e is None or not e.get("link"):
                raise ConfigError(f"{self.path}: {where} needs <{end} link='...'/>")
            ends[end] = e.get("link")
        limit, dynamics = el.find("limit"), el.find("dynamics")
        kwargs = {k: float(self.floats(dynamics, k, 1, where=where)[0])
                  for k in ("damping", "friction") if dynamics is not None and dynamics.get(k) is not None}
        try:
            return Joint(name, jtype, ends["parent"], ends["child"], self.origin(el, where),
                         axis=self.floats(el.find("axis"), "xyz", 3, (1.0, 0.0, 0.0), where),
                         lower=float(self.floats(limit, "lower", 1, (0.0,), where)[0]),
                         upper=float(self.floats(limit, "upper", 1, (0.0,), where)[0]), **kwargs)
        except ConfigError as e:  # the model's own checks (a zero axis) do not know the file
            raise ConfigError(f"{self.path}: {e}; fix the joint") from e
