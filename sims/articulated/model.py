"""The articulated-object description every engine and loader shares: links, joints, meshes.

A model is a tree of links joined as URDF joins them: the child link's frame is
``T_parent_child(q) = T_parent_joint @ motion(axis, q)``, with the axis in the joint frame (which is
the child frame at q = 0). Lengths are metres, angles radians, the world frame the toolkit's (Z up).
Procedural objects (:mod:`sims.articulated.procedural`) and URDF files (:mod:`sims.articulated.urdf`)
both produce an :class:`ArticulatedModel`; :mod:`sims.articulated.mjcf` turns one into MuJoCo's MJCF.

Ground truth for evaluation (:meth:`ArticulatedModel.parts_truth`) groups each movable joint's child
with every link fixed to it, so a PartNet-Mobility ``*_helper`` link or a handle link moves with its
part.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from embodied.errors import ConfigError

__all__ = ["JOINT_TYPES", "MOVABLE", "Mesh", "Geom", "Link", "Joint", "PartTruth", "ArticulatedModel",
           "axis_angle_matrix", "box_mesh"]

JOINT_TYPES = ("fixed", "revolute", "continuous", "prismatic")
MOVABLE = ("revolute", "continuous", "prismatic")


def axis_angle_matrix(axis: np.ndarray, angle_rad: float) -> np.ndarray:
    """(3, 3) rotation by ``angle_rad`` about the unit ``axis`` (Rodrigues)."""
    a = np.asarray(axis, np.float64)
    a = a / np.linalg.norm(a)
    K = np.array([[0.0, -a[2], a[1]], [a[2], 0.0, -a[0]], [-a[1], a[0], 0.0]])
    return np.eye(3) + np.sin(angle_rad) * K + (1.0 - np.cos(angle_rad)) * (K @ K)


@dataclass
class Mesh:
    """A triangle mesh in its link's frame: vertices (V, 3) float32 m, faces (F, 3) int32, face_rgb (F, 3) uint8."""

    vertices: np.ndarray
    faces: np.ndarray
    face_rgb: np.ndarray

    def transformed(self, T: np.ndarray) -> Mesh:
        v = self.vertices.astype(np.float64) @ T[:3, :3].T + T[:3, 3]
        return Mesh(v.astype(np.float32), self.faces, self.face_rgb)


def box_mesh(size_m: np.ndarray, T: np.ndarray, rgb: tuple[int, int, int]) -> Mesh:
    """The 12-triangle mesh of a box of full extents ``size_m`` (3,) placed by ``T`` (4, 4), outward normals."""
    h = np.asarray(size_m, np.float64) / 2
    corners = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], np.float64) * h
    faces = np.array([[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
                      [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]], np.int32)
    v = corners @ T[:3, :3].T + T[:3, 3]
    return Mesh(v.astype(np.float32), faces, np.tile(np.asarray(rgb, np.uint8), (12, 1)))


@dataclass
class Geom:
    """Collision geometry in its link's frame: a box (``size_m`` full extents) or a convex mesh."""

    kind: str
    T_link_geom: np.ndarray
    size_m: np.ndarray | None = None
    vertices: np.ndarray | None = None
    faces: np.ndarray | None = None


@dataclass
class Link:
    """A rigid body: visual meshes (rendered), collision geoms (probed), optional mass in kg."""

    name: str
    visuals: list[Mesh] = field(default_factory=list)
    collisions: list[Geom] = field(default_factory=list)
    mass_kg: float | None = None

    def visual_mesh(self) -> Mesh | None:
        """All visuals merged into one mesh, or None when the link has none (a URDF ``base``)."""
        if not self.visuals:
            return None
        offs = np.cumsum([0] + [len(m.vertices) for m in self.visuals])[:-1]
        return Mesh(np.concatenate([m.vertices for m in self.visuals]).astype(np.float32),
                    np.concatenate([m.faces + o for m, o in zip(self.visuals, offs)]).astype(np.int32),
                    np.concatenate([m.face_rgb for m in self.visuals]).astype(np.uint8))


@dataclass
class Joint:
    """A URDF joint. ``axis`` is a unit vector in the joint frame; limits in rad or m (inf: unlimited)."""

    name: str
    type: str
    parent: str
    child: str
    T_parent_joint: np.ndarray
    axis: np.ndarray = field(default_factory=lambda: np.array([1.0, 0.0, 0.0]))
    lower: float = 0.0
    upper: float = 0.0
    damping: float = 5.0
    friction: float = 1.0

    def __post_init__(self) -> None:
        if self.type not in JOINT_TYPES:
            raise ConfigError(f"joint '{self.name}': unknown type '{self.type}'; supported: {JOINT_TYPES}")
        n = float(np.linalg.norm(self.axis))
        if self.type != "fixed" and not n > 1e-9:
            raise ConfigError(f"joint '{self.name}': the axis is zero")
        self.axis = np.asarray(self.axis, np.float64) / (n if n > 1e-9 else 1.0)
        if self.type == "continuous":
            self.lower, self.upper = -np.inf, np.inf

    def motion(self, q: float) -> np.ndarray:
        """(4, 4) motion of the child in the joint frame at position ``q``."""
        T = np.eye(4)
        if self.type in ("revolute", "continuous"):
            T[:3, :3] = axis_angle_matrix(self.axis, q)
        elif self.type == "prismatic":
            T[:3, 3] = self.axis * q
        return T

    @property
    def rest(self) -> float:
        """The position the object starts in: 0, clamped into the limits."""
        return float(np.clip(0.0, self.lower, self.upper)) if self.type != "fixed" else 0.0


@dataclass
class PartTruth:
    """Ground truth of one movable part at the canonical (initial) state, in world coordinates.

    Attributes:
        joint: the joint's name; type: "revolute" or "prismatic" (URDF continuous counts as revolute).
        axis: (3,) unit axis; pivot_m: (3,) a point on a revolute axis (the joint origin).
        lower, upper: the joint's limits relative to the canonical state (rad or m).
        links: the links that move with this joint and with no other (fixed descendants included).
        mesh: their visual geometry at the canonical state.
    """

    joint: str
    type: str
    axis: np.ndarray
    pivot_m: np.ndarray
    lower: float
    upper: float
    links: tuple[str, ...]
    mesh: Mesh | None


@dataclass
class ArticulatedModel:
    """Links and joints of one object; ``links[0]`` is the root (fixed to the world at ``T_world_root``)."""

    name: str
    links: list[Link]
    joints: list[Joint]
    T_world_root: np.ndarray = field(default_factory=lambda: np.eye(4))
    source: str = "procedural"
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        names = [lk.name for lk in self.links]
        if len(set(names)) != len(names):
            raise ConfigError(f"{self.source}: duplicate link names")
        known, children = set(names), set()
        for j in self.joints:
            for end in (j.parent, j.child):
                if end not in known:
                    raise ConfigError(f"{self.source}: joint '{j.name}' names an unknown link '{end}'")
            if j.child in children:
                raise ConfigError(f"{self.source}: link '{j.child}' is the child of two joints")
            children.add(j.child)
        roots = [n for n in names if n not in children]
        if len(roots) != 1:
            raise ConfigError(f"{self.source}: expected one root link, found {roots or 'none (a cycle)'}")
        if roots[0] != names[0]:  # keep the root first
            i = names.index(roots[0])
            self.links.insert(0, self.links.pop(i))
        self._order = self._topological()

    def _topological(self) -> list[Joint]:
        by_parent: dict[str, list[Joint]] = {}
        for j in self.joints:
            by_parent.setdefault(j.parent, []).append(j)
        out, stack = [], [self.links[0].name]
        while stack:
            for j in by_parent.get(stack.pop(), []):
                out.append(j)
                stack.append(j.child)
        if len(out) != len(self.joints):
            raise ConfigError(f"{self.source}: the joints do not form a tree")
        return out

    def link(self, name: str) -> Link:
        return next(lk for lk in self.links if lk.name == name)

    @property
    def movable_joints(self) -> list[Joint]:
        return [j for j in self._order if j.type in MOVABLE]

    def rest_positions(self) -> dict[str, float]:
        return {j.name: j.rest for j in self.movable_joints}

    def link_poses(self, q: dict[str, float] | None = None) -> dict[str, np.ndarray]:
        """T_world_link (4, 4) of every link at joint positions ``q`` (missing joints: their rest)."""
        q = q or {}
        poses = {self.links[0].name: np.asarray(self.T_world_root, np.float64)}
        for j in self._order:
            qj = q.get(j.name, j.rest) if j.type in MOVABLE else 0.0
            poses[j.child] = poses[j.parent] @ j.T_parent_joint @ j.motion(qj)
        return poses

    def rigid_groups(self) -> dict[str, str]:
        """Link -> the name of the movable joint it moves with ('' for the base)."""
        owner = {self.links[0].name: ""}
        for j in self._order:
            owner[j.child] = j.name if j.type in MOVABLE else owner[j.parent]
        return owner

    def parts_truth(self, q: dict[str, float] | None = None) -> list[PartTruth]:
        """Ground truth of every movable part with the object at ``q`` (default: rest) as canonical state."""
        poses = self.link_poses(q)
        owner = self.rigid_groups()
        out = []
        for j in self.movable_joints:
            T_world_joint = poses[j.parent] @ j.T_parent_joint
            links = tuple(n for n, o in owner.items() if o == j.name)
            meshes = [m.transformed(poses[n]) for n in links if (m := self.link(n).visual_mesh()) is not None]
            mesh = None
            if meshes:
                offs = np.cumsum([0] + [len(m.vertices) for m in meshes])[:-1]
                mesh = Mesh(np.concatenate([m.vertices for m in meshes]),
                            np.concatenate([m.faces + o for m, o in zip(meshes, offs)]).astype(np.int32),
                            np.concatenate([m.face_rgb for m in meshes]))
            qj = (q or {}).get(j.name, j.rest)
            out.append(PartTruth(j.name, "prismatic" if j.type == "prismatic" else "revolute",
                                 T_world_joint[:3, :3] @ j.axis, T_world_joint[:3, 3].copy(),
                                 float(j.lower - qj), float(j.upper - qj), links, mesh))
        return out

    def bounds_m(self, q: dict[str, float] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(lo (3,), hi (3,)) world bounding box of the visual geometry at ``q``."""
        poses = self.link_poses(q)
        pts = [m.transformed(poses[lk.name]).vertices for lk in self.links if (m := lk.visual_mesh()) is not None]
        if not pts:
            raise ConfigError(f"{self.source}: the object has no visual geometry")
        allp = np.concatenate(pts)
        return allp.min(0).astype(np.float64), allp.max(0).astype(np.float64)
