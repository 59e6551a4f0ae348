"""A built-in scene: triangles with per-face albedo / texture pattern / instance id, plus the objects,
rooms, walls and doors they came from. Saved as ``<name>.glb`` (geometry, one node per part, viewable
in any glTF viewer) and ``<name>.json`` (everything else, including the navigable grid).

World frame: right-handed, Z up, metres; the floor is z = 0.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from embodied.errors import ConfigError
from embodied.files import atomic_write

__all__ = ["PATTERNS", "SceneObject", "RoomInfo", "Scene", "SceneBuilder", "load_scene", "SCENE_FORMAT_VERSION"]

SCENE_FORMAT_VERSION = 1
PATTERNS: tuple[str, ...] = ("plain", "planks", "tiles", "carpet", "stripes")
"""Procedural textures, applied per pixel from the hit point (see render.py)."""


@dataclass(frozen=True)
class SceneObject:
    """One object instance. ``footprint_xy_m`` is its oriented floor footprint (4, 2) as a list."""

    instance_id: int
    category: str
    position_m: tuple[float, float, float]
    yaw_rad: float
    bbox_min_m: tuple[float, float, float]
    bbox_max_m: tuple[float, float, float]
    footprint_xy_m: tuple[tuple[float, float], ...]
    room_id: int | None
    attributes: dict[str, str] = field(default_factory=dict)
    source: str = "procedural"


@dataclass(frozen=True)
class RoomInfo:
    room_id: int
    room_type: str
    bounds_m: tuple[float, float, float, float]
    floor_material: str
    wall_material: str
    light_rgb: tuple[float, float, float]
    light_intensity: float


@dataclass
class Scene:
    """Geometry and annotations of one house.

    Attributes:
        vertices: (V, 3) float32 world coordinates.
        faces: (F, 3) int32 vertex indices.
        face_albedo: (F, 3) uint8 base colour.
        face_pattern: (F,) uint8 index into PATTERNS.
        face_instance: (F,) int32 object instance id, -1 for structure (walls, floors, ceilings).
        face_uv: (F, 3, 2) float32 texture coordinates of each face's corners (trimesh's convention:
            origin at the image's bottom-left, v up; REPEAT wrapping), or None.
        face_texture: (F,) int32 index into ``textures`` (-1 = not textured), or None.
        textures: (h, w, 3) uint8 images that ``face_texture`` points into.
        face_corner_rgb: (F, 3, 3) uint8 colour of each face's corners (vertex colours, interpolated
            across the face), used on faces without a texture; or None.
        source_path: the mesh file a scanned scene was read from (None for procedural houses).

    A scanned scene (:mod:`sims.raycast.scan`) has no rooms, walls or doors: its appearance is baked
    (textures and vertex colours are shown as they are, not relit) and its floors come from geometry
    (:mod:`sims.raycast.floors`).
    """

    scene_id: str
    vertices: np.ndarray
    faces: np.ndarray
    face_albedo: np.ndarray
    face_pattern: np.ndarray
    face_instance: np.ndarray
    objects: list[SceneObject]
    rooms: list[RoomInfo]
    walls: list[dict[str, Any]]
    doors: list[dict[str, Any]]
    wall_height_m: float
    seed: int | None = None
    generator: dict[str, Any] = field(default_factory=dict)
    face_uv: np.ndarray | None = None
    face_texture: np.ndarray | None = None
    textures: list[np.ndarray] = field(default_factory=list)
    face_corner_rgb: np.ndarray | None = None
    source_path: str | None = None

    @property
    def scanned(self) -> bool:
        """True for a scene read from a mesh file (baked appearance, floors from geometry)."""
        return self.source_path is not None

    @property
    def labels(self) -> dict[int, str]:
        """Instance id -> category."""
        return {o.instance_id: o.category for o in self.objects}

    @property
    def categories(self) -> list[str]:
        return sorted({o.category for o in self.objects})

    def objects_of(self, category: str) -> list[SceneObject]:
        return [o for o in self.objects if o.category == category]

    @property
    def bounds_xy_m(self) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) of the rooms (of the vertices when there are none: scanned scenes)."""
        if not self.rooms:
            lo, hi = self.vertices[:, :2].min(0), self.vertices[:, :2].max(0)
            return float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])
        b = np.array([r.bounds_m for r in self.rooms])
        return float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 2].max()), float(b[:, 3].max())

    def fingerprint(self) -> str:
        """sha256 of the geometry and annotations (for determinism checks and caches)."""
        h = hashlib.sha256()
        for a in (self.vertices, self.faces, self.face_albedo, self.face_pattern, self.face_instance,
                  self.face_uv, self.face_texture, self.face_corner_rgb, *self.textures):
            if a is not None:
                h.update(np.ascontiguousarray(a).tobytes())
        h.update(json.dumps(self._meta(), sort_keys=True).encode())
        return h.hexdigest()

    # ------------------------------------------------------------------ persistence
    def _meta(self) -> dict[str, Any]:
        return {
            "format_version": SCENE_FORMAT_VERSION,
            "scene_id": self.scene_id,
            "seed": self.seed,
            "generator": self.generator,
            "wall_height_m": self.wall_height_m,
            "rooms": [asdict(r) for r in self.rooms],
            "objects": [asdict(o) for o in self.objects],
            "walls": self.walls,
            "doors": self.doors,
        }

    def _parts(self) -> list[tuple[int, int, np.ndarray]]:
        """[(instance, pattern, face indices)] in a deterministic order."""
        key = self.face_instance.astype(np.int64) * 256 + self.face_pattern
        out = []
        for k in np.unique(key):
            out.append((int(k // 256), int(k % 256), np.flatnonzero(key == k)))
        return out

    def save(self, directory: str | os.PathLike, name: str | None = None,
             nav: dict[str, Any] | None = None) -> tuple[Path, Path]:
        """Write ``<name>.glb`` and ``<name>.json`` atomically. ``nav`` (a NavGrid.to_json()) is embedded.

        Returns:
            (glb path, json path).
        """
        import trimesh

        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        name = name or self.scene_id
        glb_scene = trimesh.Scene()
        parts = []
        for i, (inst, pat, idx) in enumerate(self._parts()):
            tri = self.vertices[self.faces[idx]].reshape(-1, 3)  # unmerged: exact per-face colours
            m = trimesh.Trimesh(tri, np.arange(len(tri)).reshape(-1, 3), process=False)
            m.visual.vertex_colors = np.repeat(
                np.concatenate([self.face_albedo[idx], np.full((len(idx), 1), 255, np.uint8)], 1), 3, axis=0)
            part = f"part{i:04d}"
            glb_scene.add_geometry(m, node_name=part, geom_name=part)
            parts.append({"name": part, "instance": inst, "pattern": PATTERNS[pat], "faces": len(idx)})
        meta = self._meta() | {"parts": parts, "navgrid": nav}
        glb_bytes = glb_scene.export(file_type="glb")
        return (atomic_write(d / f"{name}.glb", glb_bytes),
                atomic_write(d / f"{name}.json", json.dumps(meta, indent=1, sort_keys=True).encode()))


class SceneBuilder:
    """Accumulates coloured parts into one Scene (pure bookkeeping, no randomness)."""

    def __init__(self) -> None:
        self._v: list[np.ndarray] = []
        self._f: list[np.ndarray] = []
        self._albedo: list[np.ndarray] = []
        self._pattern: list[np.ndarray] = []
        self._instance: list[np.ndarray] = []
        self._nv = 0

    def add(self, vertices: np.ndarray, faces: np.ndarray, albedo: np.ndarray, *, pattern: str = "plain",
            instance: int = -1) -> None:
        """Add triangles. ``albedo`` is (3,) or (F, 3) uint8."""
        faces = np.asarray(faces, np.int64)
        albedo = np.broadcast_to(np.asarray(albedo, np.uint8)[..., :3], (len(faces), 3))
        self._v.append(np.asarray(vertices, np.float32))
        self._f.append((faces + self._nv).astype(np.int32))
        self._albedo.append(np.ascontiguousarray(albedo))
        self._pattern.append(np.full(len(faces), PATTERNS.index(pattern), np.uint8))
        self._instance.append(np.full(len(faces), instance, np.int32))
        self._nv += len(vertices)

    def build(self, **annotations: Any) -> Scene:
        """The Scene in canonical form: faces grouped by part (instance, pattern), stable within a
        part, and vertices unmerged (3 per face), which is exactly what the GLB stores, so a saved
        and reloaded scene has identical arrays."""
        v, f = np.concatenate(self._v), np.concatenate(self._f)
        instance, pattern = np.concatenate(self._instance), np.concatenate(self._pattern)
        order = np.argsort(instance.astype(np.int64) * 256 + pattern, kind="stable")
        return Scene(
            vertices=np.ascontiguousarray(v[f[order]].reshape(-1, 3)),
            faces=np.arange(3 * len(order), dtype=np.int32).reshape(-1, 3),
            face_albedo=np.concatenate(self._albedo)[order], face_pattern=pattern[order],
            face_instance=instance[order], **annotations,
        )


def load_scene(json_path: str | os.PathLike) -> tuple[Scene, dict[str, Any] | None]:
    """Read a scene written by :meth:`Scene.save` (the .glb beside the .json).

    Returns:
        (scene, navgrid JSON or None).
    Raises:
        ConfigError: missing/corrupt files or an unknown format version.
    """
    import trimesh

    jp = Path(json_path)
    gp = jp.with_suffix(".glb")
    if not jp.is_file() or not gp.is_file():
        raise ConfigError(f"scene files not found: need both {jp} and {gp}")
    try:
        meta = json.loads(jp.read_text())
        if meta.get("format_version") != SCENE_FORMAT_VERSION:
            raise ConfigError(f"{jp}: scene format {meta.get('format_version')} is not {SCENE_FORMAT_VERSION}")
        glb = trimesh.load(str(gp), file_type="glb", process=False, force="scene")
    except ConfigError:
        raise
    except Exception as exc:
        raise ConfigError(f"cannot read scene {jp}: {exc}") from exc
    b = SceneBuilder()
    for part in meta["parts"]:
        if part["name"] not in glb.geometry:
            raise ConfigError(f"{gp} lacks part {part['name']} listed in {jp}; the files do not belong together")
        m = glb.geometry[part["name"]]
        colours = np.asarray(m.visual.vertex_colors)[np.asarray(m.faces)[:, 0], :3]
        b.add(np.asarray(m.vertices, np.float32), np.asarray(m.faces), colours, pattern=part["pattern"],
              instance=part["instance"])
    rooms = [RoomInfo(**{**r, "bounds_m": tuple(r["bounds_m"]), "light_rgb": tuple(r["light_rgb"])}) for r in meta["rooms"]]
    objects = [SceneObject(**{**o, "position_m": tuple(o["position_m"]), "bbox_min_m": tuple(o["bbox_min_m"]),
                              "bbox_max_m": tuple(o["bbox_max_m"]),
                              "footprint_xy_m": tuple(tuple(p) for p in o["footprint_xy_m"])}) for o in meta["objects"]]
    scene = b.build(scene_id=meta["scene_id"], objects=objects, rooms=rooms, walls=meta["walls"], doors=meta["doors"],
                    wall_height_m=meta["wall_height_m"], seed=meta["seed"], generator=meta["generator"])
    return scene, meta.get("navgrid")


def encode_bool_grid(grid: np.ndarray) -> str:
    """Base64 of a packed bool array (for JSON)."""
    return base64.b64encode(np.packbits(grid.astype(bool), axis=None).tobytes()).decode()


def decode_bool_grid(data: str, shape: tuple[int, int]) -> np.ndarray:
    bits = np.unpackbits(np.frombuffer(base64.b64decode(data), np.uint8))[: shape[0] * shape[1]]
    return bits.reshape(shape).astype(bool)
