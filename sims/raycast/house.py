"""Procedural houses: a floor plan, materials and lights per room, and furniture placed where it
belongs. ``generate_house(seed)`` is a pure function of the seed (same seed, same bytes).

Placement rules: floor objects never overlap each other, walls or the space in front of doors
(checked on a 5 cm raster of each room); "against_wall" furniture backs onto a wall and faces the
room; "surface" objects stand on the top of a table or cabinet; "wall" objects (clocks) hang on a
wall. With probability ``misplace_prob`` an optional object goes to a room type it does not
usually belong to (real homes are messy).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from embodied.errors import ConfigError
from sims.raycast.categories import CATEGORIES, PICKUPABLE
from sims.raycast.layout import WALL_THICKNESS_M, FloorPlan, Rect, generate_floor_plan
from sims.raycast.scene import RoomInfo, Scene, SceneBuilder, SceneObject

__all__ = ["HouseConfig", "generate_house", "scene_from_plan", "house_scene_id", "seed_from_scene_id", "PlacedMesh"]

GENERATOR_VERSION = 1
_RASTER_M = 0.05

FLOORS = {  # name: (rgb, pattern)
    "oak planks": ((176, 132, 88), "planks"), "walnut planks": ((112, 78, 52), "planks"),
    "pale planks": ((205, 180, 140), "planks"), "grey tiles": ((150, 150, 152), "tiles"),
    "white tiles": ((222, 222, 216), "tiles"), "terracotta tiles": ((178, 96, 66), "tiles"),
    "beige carpet": ((196, 178, 150), "carpet"), "blue carpet": ((84, 98, 140), "carpet"),
    "green carpet": ((96, 124, 92), "carpet"),
}
WALLS = {
    "white paint": ((232, 230, 224), "plain"), "cream paint": ((236, 222, 190), "plain"),
    "sage paint": ((176, 192, 160), "plain"), "sky paint": ((170, 196, 220), "plain"),
    "grey paint": ((170, 170, 172), "plain"), "peach paint": ((236, 190, 160), "plain"),
    "striped wallpaper": ((214, 200, 176), "stripes"), "blue wallpaper": ((150, 170, 200), "stripes"),
}
_FLOOR_BY_ROOM = {"bathroom": ("grey tiles", "white tiles"), "kitchen": ("terracotta tiles", "grey tiles", "white tiles"),
                  "bedroom": ("beige carpet", "blue carpet", "oak planks", "pale planks"),
                  "living_room": ("oak planks", "walnut planks", "pale planks", "green carpet"),
                  "dining_room": ("oak planks", "walnut planks", "terracotta tiles"),
                  "office": ("beige carpet", "oak planks", "grey tiles")}
_LIGHTS = ((1.0, 0.93, 0.82), (1.0, 1.0, 1.0), (0.9, 0.95, 1.0), (1.0, 0.88, 0.75))
_ROOM_ORDER = ("living_room", "kitchen", "bedroom", "bathroom", "dining_room", "bedroom", "office", "bedroom",
               "bathroom", "office")
# required objects per room type, then optional ones with a probability each
_REQUIRED = {"living_room": ("sofa", "table", "cabinet", "tv", "potted plant"), "bedroom": ("bed", "cabinet"),
             "kitchen": ("refrigerator", "oven", "sink", "table"), "bathroom": ("toilet", "sink"),
             "dining_room": ("table", "chair", "chair"), "office": ("table", "chair", "laptop")}
_OPTIONAL = {"living_room": ("chair", "lamp", "bookshelf", "vase", "clock", "potted plant", "chair", "laptop", "mug"),
             "bedroom": ("lamp", "potted plant", "chair", "tv", "clock", "bookshelf", "vase", "laptop"),
             "kitchen": ("chair", "chair", "mug", "clock", "cabinet", "mug", "potted plant"),
             "bathroom": ("bathtub", "potted plant", "cabinet"),
             "dining_room": ("chair", "chair", "potted plant", "vase", "mug", "clock", "cabinet"),
             "office": ("bookshelf", "lamp", "potted plant", "mug", "clock", "cabinet")}


@dataclass(frozen=True, kw_only=True)
class HouseConfig:
    """Knobs of the generator (the defaults give HM3D-like homes)."""

    n_rooms: int | None = None
    area_m2: float | None = None
    optional_prob: float = 0.55
    misplace_prob: float = 0.08
    surface_clutter: int = 0  # extra pickupable objects per room, on its tables and cabinets (rearrangement)


@dataclass(frozen=True)
class PlacedMesh:
    """An object mesh to place: vertices (V, 3) with base at z=0 centred at the origin, front +X."""

    category: str
    vertices: np.ndarray
    faces: np.ndarray
    face_rgb: np.ndarray
    attributes: dict
    support_height_m: float | None = None
    support_extent_m: tuple[float, float] | None = None
    source: str = "procedural"


def house_scene_id(seed: int) -> str:
    return f"house-{int(seed):06d}"


def seed_from_scene_id(scene_id: str) -> int:
    """Inverse of :func:`house_scene_id` ("house-000042" -> 42)."""
    try:
        prefix, num = scene_id.rsplit("-", 1)
        if prefix != "house":
            raise ValueError
        return int(num)
    except ValueError:
        raise ConfigError(f"'{scene_id}' is not a built-in scene id (expected 'house-<seed>')") from None


def _procedural(category: str, rng: np.random.Generator) -> PlacedMesh:
    from sims.raycast.objects import make_object

    o = make_object(category, rng)
    return PlacedMesh(category, np.asarray(o.mesh.vertices, np.float64), np.asarray(o.mesh.faces),
                      np.asarray(o.mesh.visual.face_colors)[:, :3].astype(np.uint8), dict(o.attributes),
                      o.support_height_m, o.support_extent_m)


def _box(center, extents) -> tuple[np.ndarray, np.ndarray]:
    import trimesh

    m = trimesh.creation.box(extents=extents)
    return np.asarray(m.vertices) + np.asarray(center), np.asarray(m.faces)


class _Room:
    """Free-space raster of one room's floor (True = free), with helpers to stamp footprints."""

    def __init__(self, rect: Rect) -> None:
        self.rect = rect
        self.inner = Rect(rect.x0 + WALL_THICKNESS_M / 2, rect.y0 + WALL_THICKNESS_M / 2,
                          rect.x1 - WALL_THICKNESS_M / 2, rect.y1 - WALL_THICKNESS_M / 2)
        nx = int(math.ceil(self.inner.width / _RASTER_M))
        ny = int(math.ceil(self.inner.depth / _RASTER_M))
        xs = self.inner.x0 + (np.arange(nx) + 0.5) * _RASTER_M
        ys = self.inner.y0 + (np.arange(ny) + 0.5) * _RASTER_M
        self.X, self.Y = np.meshgrid(xs, ys)
        self.free = np.ones((ny, nx), bool)

    def mask(self, cx: float, cy: float, yaw: float, hx: float, hy: float, pad: float = 0.0) -> np.ndarray:
        dx, dy = self.X - cx, self.Y - cy
        c, s = math.cos(yaw), math.sin(yaw)
        lx, ly = c * dx + s * dy, -s * dx + c * dy
        return (np.abs(lx) <= hx + pad) & (np.abs(ly) <= hy + pad)

    def fits(self, cx, cy, yaw, hx, hy) -> bool:
        corners = _footprint(cx, cy, yaw, hx, hy)
        inside = self.inner.contains(corners[:, 0], corners[:, 1], margin=-1e-6).all()
        return bool(inside and self.free[self.mask(cx, cy, yaw, hx, hy)].all())


def _footprint(cx: float, cy: float, yaw: float, hx: float, hy: float) -> np.ndarray:
    """(4, 2) corners of an oriented rectangle."""
    c, s = math.cos(yaw), math.sin(yaw)
    local = np.array([[hx, hy], [-hx, hy], [-hx, -hy], [hx, -hy]])
    return local @ np.array([[c, s], [-s, c]]) + (cx, cy)


def _transform(vertices: np.ndarray, x: float, y: float, z: float, yaw: float) -> np.ndarray:
    c, s = math.cos(yaw), math.sin(yaw)
    R = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    return vertices @ R.T + (x, y, z)


class _Furnisher:
    def __init__(self, rng: np.random.Generator, plan: FloorPlan, room_types: list[str], builder: SceneBuilder) -> None:
        self.rng, self.plan, self.room_types, self.b = rng, plan, room_types, builder
        self.rooms = [_Room(r) for r in plan.rooms]
        self.objects: list[SceneObject] = []
        self.supports: list[tuple[SceneObject, PlacedMesh, list[np.ndarray]]] = []
        for d in plan.doors:  # keep a 0.9 m deep clearance on both sides of every door
            cx, cy = d.center
            half_w = (d.hi - d.lo) / 2 + 0.1
            hx, hy = (0.9, half_w) if d.axis == "x" else (half_w, 0.9)
            for room in self.rooms:
                room.free &= ~room.mask(cx, cy, 0.0, hx, hy)

    def _add(self, pm: PlacedMesh, room_id: int | None, x: float, y: float, z: float, yaw: float) -> SceneObject:
        inst = len(self.objects)
        v = _transform(pm.vertices, x, y, z, yaw)
        self.b.add(v, pm.faces, pm.face_rgb, instance=inst)
        lo, hi = v.min(0), v.max(0)
        ext = pm.vertices.max(0) - pm.vertices.min(0)
        obj = SceneObject(inst, pm.category, (round(x, 4), round(y, 4), round(z, 4)), round(yaw, 6),
                          tuple(round(float(a), 4) for a in lo), tuple(round(float(a), 4) for a in hi),
                          tuple(tuple(round(float(a), 4) for a in p) for p in _footprint(x, y, yaw, ext[0] / 2, ext[1] / 2)),
                          room_id, pm.attributes, pm.source)
        self.objects.append(obj)
        return obj

    def place_floor(self, pm: PlacedMesh, room_id: int, against_wall: bool) -> SceneObject | None:
        room = self.rooms[room_id]
        hx, hy = (pm.vertices[:, 0].max() - pm.vertices[:, 0].min()) / 2, (pm.vertices[:, 1].max() - pm.vertices[:, 1].min()) / 2
        for _ in range(40):
            if against_wall:  # back (-X of the object) against one of the four walls, facing in
                side = int(self.rng.integers(4))
                yaw = (0.0, math.pi / 2, math.pi, -math.pi / 2)[side]
                inner = room.inner
                if side in (0, 2):  # facing +x (back on the x0 wall) or -x (back on the x1 wall)
                    x = inner.x0 + hx + 0.02 if side == 0 else inner.x1 - hx - 0.02
                    y = self.rng.uniform(inner.y0 + hy, max(inner.y0 + hy, inner.y1 - hy))
                else:  # facing +y (back on the y0 wall) or -y (back on the y1 wall)
                    y = inner.y0 + hx + 0.02 if side == 1 else inner.y1 - hx - 0.02
                    x = self.rng.uniform(inner.x0 + hy, max(inner.x0 + hy, inner.x1 - hy))
            else:
                yaw = float(self.rng.uniform(-math.pi, math.pi))
                x = self.rng.uniform(room.inner.x0 + 0.3, room.inner.x1 - 0.3)
                y = self.rng.uniform(room.inner.y0 + 0.3, room.inner.y1 - 0.3)
            if room.fits(x, y, yaw, hx, hy):
                room.free &= ~room.mask(x, y, yaw, hx, hy, pad=0.05)
                obj = self._add(pm, room_id, float(x), float(y), 0.0, yaw)
                if pm.support_height_m is not None and pm.support_extent_m is not None:
                    self.supports.append((obj, pm, []))
                return obj
        return None

    def place_surface(self, pm: PlacedMesh, room_id: int) -> SceneObject | None:
        cands = [s for s in self.supports if s[0].room_id == room_id]
        self.rng.shuffle(cands)
        ext = pm.vertices.max(0) - pm.vertices.min(0)
        for sup, spm, taken in cands:
            sx, sy = spm.support_extent_m
            for _ in range(12):
                lx = self.rng.uniform(-(sx - ext[0]) / 2, (sx - ext[0]) / 2) if sx > ext[0] else None
                ly = self.rng.uniform(-(sy - ext[1]) / 2, (sy - ext[1]) / 2) if sy > ext[1] else None
                if lx is None or ly is None:
                    break
                box = np.array([lx - ext[0] / 2, ly - ext[1] / 2, lx + ext[0] / 2, ly + ext[1] / 2])
                if any(not (box[2] < t[0] or box[0] > t[2] or box[3] < t[1] or box[1] > t[3]) for t in taken):
                    continue
                taken.append(box)
                c, s = math.cos(sup.yaw_rad), math.sin(sup.yaw_rad)
                x = sup.position_m[0] + c * lx - s * ly
                y = sup.position_m[1] + s * lx + c * ly
                return self._add(pm, room_id, x, y, spm.support_height_m + 0.001, sup.yaw_rad)
        return None

    def place_wall(self, pm: PlacedMesh, room_id: int, height: tuple[float, float]) -> SceneObject | None:
        inner = self.rooms[room_id].inner
        half = (pm.vertices[:, 1].max() - pm.vertices[:, 1].min()) / 2
        depth = pm.vertices[:, 0].max() - pm.vertices[:, 0].min()
        for _ in range(20):
            side = int(self.rng.integers(4))
            yaw = (0.0, math.pi / 2, math.pi, -math.pi / 2)[side]
            z = float(self.rng.uniform(*height))
            if side in (0, 2):
                x = inner.x0 + depth / 2 + 0.01 if side == 0 else inner.x1 - depth / 2 - 0.01
                y = float(self.rng.uniform(inner.y0 + half + 0.2, inner.y1 - half - 0.2))
            else:
                y = inner.y0 + depth / 2 + 0.01 if side == 1 else inner.y1 - depth / 2 - 0.01
                x = float(self.rng.uniform(inner.x0 + half + 0.2, inner.x1 - half - 0.2))
            near_door = any(math.hypot(x - d.center[0], y - d.center[1]) < 1.0 for d in self.plan.doors)
            if not near_door:
                return self._add(pm, room_id, float(x), float(y), z, yaw)
        return None

    def place(self, pm: PlacedMesh, room_id: int) -> SceneObject | None:
        spec = CATEGORIES.get(pm.category)
        if spec is None or spec.placement == "floor":
            return self.place_floor(pm, room_id, bool(spec and spec.against_wall))
        if spec.placement == "surface":
            return self.place_surface(pm, room_id)
        return self.place_wall(pm, room_id, spec.wall_height_m or (1.6, 2.0))


def _structure(rng: np.random.Generator, plan: FloorPlan, room_types: list[str], b: SceneBuilder) -> list[RoomInfo]:
    rooms = []
    wall_choice = list(WALLS)
    for i, (rect, rtype) in enumerate(zip(plan.rooms, room_types)):
        floor = str(rng.choice(_FLOOR_BY_ROOM[rtype]))
        wall = str(rng.choice(wall_choice))
        light = _LIGHTS[int(rng.integers(len(_LIGHTS)))]
        rooms.append(RoomInfo(i, rtype, (rect.x0, rect.y0, rect.x1, rect.y1), floor, wall,
                              tuple(float(v) for v in light), round(float(rng.uniform(0.75, 1.15)), 3)))
        rgb, pattern = FLOORS[floor]
        v, f = _box((rect.center[0], rect.center[1], -0.025), (rect.width, rect.depth, 0.05))
        b.add(v, f, rgb, pattern=pattern)
        v, f = _box((rect.center[0], rect.center[1], plan.wall_height_m + 0.025), (rect.width, rect.depth, 0.05))
        b.add(v, f, (238, 238, 234))
    T = WALL_THICKNESS_M
    for w in plan.walls:
        full = w.z0 == 0.0
        lo, hi = (w.lo - T / 2, w.hi + T / 2) if full else (w.lo, w.hi)
        mid, length, zc, h = (lo + hi) / 2, hi - lo, (w.z0 + w.z1) / 2, w.z1 - w.z0
        center, ext = ((w.coord, mid, zc), (T, length, h)) if w.axis == "x" else ((mid, w.coord, zc), (length, T, h))
        # a wall takes the paint of the room on its +side (exterior walls: the room inside)
        px, py = (w.coord + 0.1, mid) if w.axis == "x" else (mid, w.coord + 0.1)
        rid = plan.room_at(px, py)
        if rid is None:
            rid = plan.room_at(*((w.coord - 0.1, mid) if w.axis == "x" else (mid, w.coord - 0.1)))
        rgb, pattern = WALLS[rooms[rid].wall_material] if rid is not None else ((230, 230, 230), "plain")
        v, f = _box(center, ext)
        b.add(v, f, rgb, pattern=pattern)
    return rooms


def scene_from_plan(plan: FloorPlan, room_types: list[str], seed: int = 0, scene_id: str = "plan") -> Scene:
    """An unfurnished scene (floors, ceilings, walls, doors) of a hand-made or generated floor plan."""
    rng = np.random.default_rng(seed)
    b = SceneBuilder()
    rooms = _structure(rng, plan, room_types, b)
    return b.build(scene_id=scene_id, objects=[], rooms=rooms, walls=_wall_dicts(plan), doors=_door_dicts(plan),
                   wall_height_m=plan.wall_height_m, seed=seed, generator={"name": "plan"})


def _wall_dicts(plan: FloorPlan) -> list[dict]:
    return [{"axis": w.axis, "coord": w.coord, "lo": w.lo, "hi": w.hi, "z0": w.z0, "z1": w.z1,
             "exterior": w.exterior} for w in plan.walls]


def _door_dicts(plan: FloorPlan) -> list[dict]:
    return [{"rooms": [d.a, d.b], "axis": d.axis, "coord": d.coord, "lo": d.lo, "hi": d.hi} for d in plan.doors]


def generate_house(seed: int, config: HouseConfig = HouseConfig(), extra_objects: list[PlacedMesh] = ()) -> Scene:
    """Generate the house of ``seed``: rooms, walls, doors, materials, lights and furniture.

    Args:
        seed: any int; the same seed and config give byte-identical scenes.
        config: generator knobs.
        extra_objects: meshes (e.g. from :func:`sims.raycast.assets.load_mesh_object`) placed on the
            floor of a random room each, labelled with their category.
    """
    if int(seed) < 0:
        raise ConfigError(f"house seeds are non-negative integers, got {seed}")
    rng = np.random.default_rng([GENERATOR_VERSION, int(seed)])
    plan = generate_floor_plan(rng, config.n_rooms, config.area_m2)
    order = sorted(range(len(plan.rooms)), key=lambda i: (-plan.rooms[i].area, i))
    room_types = [""] * len(plan.rooms)
    for k, i in enumerate(order):
        room_types[i] = _ROOM_ORDER[k % len(_ROOM_ORDER)]
    b = SceneBuilder()
    rooms = _structure(rng, plan, room_types, b)
    f = _Furnisher(rng, plan, room_types, b)
    for stage in ("required", "optional"):
        for rid in order:
            rtype = room_types[rid]
            if stage == "required":
                wanted = list(_REQUIRED[rtype])
            else:
                wanted = [c for c in _OPTIONAL[rtype] if rng.random() < config.optional_prob]
                if rng.random() < config.misplace_prob:  # a category that usually lives elsewhere
                    elsewhere = [c for c, s in CATEGORIES.items() if rtype not in s.rooms and s.placement != "wall"
                                 and c not in ("bed", "toilet", "bathtub", "refrigerator", "oven")]
                    wanted.append(str(rng.choice(sorted(elsewhere))))
            # supports first, so surface objects find a table or cabinet
            wanted.sort(key=lambda c: (CATEGORIES[c].placement != "floor", not CATEGORIES[c].supports))
            for cat in wanted:
                f.place(_procedural(cat, rng), rid)
    for rid in order if config.surface_clutter > 0 else ():  # no draws otherwise: default houses stay the same
        rtype = room_types[rid]
        small = [c for c in PICKUPABLE if rtype in CATEGORIES[c].rooms]
        for _ in range(config.surface_clutter if small else 0):
            f.place(_procedural(str(rng.choice(small)), rng), rid)
    for pm in extra_objects:
        rid = int(rng.integers(len(plan.rooms)))
        if f.place_floor(pm, rid, against_wall=False) is None:
            raise ConfigError(f"could not find floor space for the '{pm.category}' mesh {pm.source} in house {seed}")
    return b.build(scene_id=house_scene_id(seed), objects=f.objects, rooms=rooms, walls=_wall_dicts(plan),
                   doors=_door_dicts(plan),
                   wall_height_m=plan.wall_height_m, seed=int(seed),
                   generator={"name": "embodied-house", "version": GENERATOR_VERSION,
                              "n_rooms": config.n_rooms, "area_m2": config.area_m2,
                              "optional_prob": config.optional_prob, "misplace_prob": config.misplace_prob}
                   | ({"surface_clutter": config.surface_clutter} if config.surface_clutter else {}))
