"""The navigation oracle of the built-in simulator: a navigable grid, geodesic distances by fast
marching (scikit-fmm), shortest paths, and ObjectNav goal view points.

Grid convention: cell (row, col) covers x in [x0 + col * r, x0 + (col + 1) * r) and
y in [y0 + row * r, y0 + (row + 1) * r), r = ``resolution_m``; rows grow with +y.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from embodied.errors import ConfigError
from embodied.mapping.grid import GridFrame
from embodied.mapping.planning import descend, geodesic_field
from sims.raycast.layout import WALL_THICKNESS_M
from sims.raycast.scene import Scene, SceneObject, decode_bool_grid, encode_bool_grid

__all__ = ["NavGrid", "build_navgrid", "object_footprints", "object_view_mask", "object_sight_points",
           "visible_view_mask"]

_STEP_HEIGHT_M = 0.05  # anything lower than this on the floor can be driven over


@dataclass
class NavGrid:
    """Navigable cells of a floor for an agent of radius ``agent_radius_m``.

    Attributes:
        navigable: (H, W) bool.
        origin_xy_m: world (x, y) of the corner of cell (0, 0).
    """

    navigable: np.ndarray
    origin_xy_m: tuple[float, float]
    resolution_m: float
    agent_radius_m: float
    _fields: dict[bytes, np.ndarray] = field(default_factory=dict, repr=False)

    @classmethod
    def covering(cls, scene: Scene, resolution_m: float, agent_radius_m: float, pad_m: float = 0.25) -> NavGrid:
        """An all-blocked grid over ``scene``'s XY bounds grown by ``pad_m``."""
        x0, y0, x1, y1 = scene.bounds_xy_m
        W = int(math.ceil((x1 - x0 + 2 * pad_m) / resolution_m))
        H = int(math.ceil((y1 - y0 + 2 * pad_m) / resolution_m))
        return cls(np.zeros((H, W), bool), (x0 - pad_m, y0 - pad_m), resolution_m, agent_radius_m)

    def set_free(self, free: np.ndarray) -> None:
        """Navigable = the ``free`` (H, W) cells at least ``agent_radius_m`` from any other cell (a
        Euclidean distance transform; a cell's clearance is measured from its edge)."""
        from scipy import ndimage

        clearance = ndimage.distance_transform_edt(free) * self.resolution_m - self.resolution_m / 2
        self.navigable = free & (clearance >= self.agent_radius_m)

    @property
    def shape(self) -> tuple[int, int]:
        return self.navigable.shape

    @property
    def frame(self) -> GridFrame:
        """The grid's geometry (the same convention as the agents' maps)."""
        return GridFrame(self.origin_xy_m, self.resolution_m, self.shape)

    def to_cell(self, xy_m: np.ndarray) -> tuple[int, int]:
        """(row, col) of a world point (may be outside the grid)."""
        return self.frame.to_cell(xy_m)

    def cell_center(self, row: int, col: int) -> np.ndarray:
        return self.frame.cell_center(row, col)

    def cell_centers(self) -> tuple[np.ndarray, np.ndarray]:
        """(X, Y) (H, W) world coordinates of all cell centres."""
        H, W = self.shape
        r = self.resolution_m
        xs = self.origin_xy_m[0] + (np.arange(W) + 0.5) * r
        ys = self.origin_xy_m[1] + (np.arange(H) + 0.5) * r
        return np.meshgrid(xs, ys)

    def is_navigable(self, xy_m: np.ndarray) -> bool:
        row, col = self.to_cell(xy_m)
        H, W = self.shape
        return 0 <= row < H and 0 <= col < W and bool(self.navigable[row, col])

    def segment_is_free(self, a_xy: np.ndarray, b_xy: np.ndarray) -> bool:
        """True when every cell along the straight segment a -> b is navigable."""
        n = max(2, int(math.ceil(np.linalg.norm(np.subtract(b_xy, a_xy)) / (self.resolution_m / 2))) + 1)
        return all(self.is_navigable(p) for p in np.linspace(a_xy, b_xy, n))

    def distance_field(self, goal: np.ndarray) -> np.ndarray:
        """Geodesic distance (metres) from every cell to the nearest goal cell; inf where unreachable.

        Args:
            goal: (H, W) bool goal cells (only navigable ones count).
        Returns:
            (H, W) float64; 0 on goal cells. Cached per goal mask.
        """
        key = np.packbits(goal & self.navigable).tobytes()
        cached = self._fields.get(key)
        if cached is None:
            if len(self._fields) > 64:
                self._fields.clear()
            cached = self._fields[key] = geodesic_field(self.navigable, goal, self.resolution_m)
        return cached

    def geodesic_distance(self, a_xy: np.ndarray, b_xy: np.ndarray) -> float:
        """Shortest walkable distance between two points (inf if either is off the grid or unreachable)."""
        if not (self.is_navigable(a_xy) and self.is_navigable(b_xy)):
            return math.inf
        goal = np.zeros(self.shape, bool)
        goal[self.to_cell(b_xy)] = True
        return float(self.distance_field(goal)[self.to_cell(a_xy)])

    def shortest_path(self, a_xy: np.ndarray, goal: np.ndarray) -> np.ndarray:
        """Waypoints (N, 2) from ``a_xy`` down the distance field of ``goal`` ((H, W) bool).

        Returns an empty (0, 2) array when no path exists.
        """
        cells = descend(self.distance_field(goal), self.to_cell(a_xy))
        return np.array([self.cell_center(r, c) for r, c in cells]) if cells else np.zeros((0, 2))

    def largest_component(self) -> np.ndarray:
        """(H, W) bool: the largest 8-connected navigable region."""
        from scipy import ndimage

        lab, n = ndimage.label(self.navigable, structure=np.ones((3, 3)))
        if n == 0:
            return np.zeros(self.shape, bool)
        sizes = np.bincount(lab.ravel())[1:]
        return lab == (1 + int(np.argmax(sizes)))

    def to_json(self) -> dict[str, Any]:
        return {"origin_xy_m": list(self.origin_xy_m), "resolution_m": self.resolution_m,
                "agent_radius_m": self.agent_radius_m, "shape": list(self.shape),
                "navigable": encode_bool_grid(self.navigable)}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> NavGrid:
        shape = tuple(d["shape"])
        return cls(decode_bool_grid(d["navigable"], shape), tuple(d["origin_xy_m"]), float(d["resolution_m"]),
                   float(d["agent_radius_m"]))


def _stamp_rect(grid: np.ndarray, X: np.ndarray, Y: np.ndarray, cx: float, cy: float, yaw: float,
                hx: float, hy: float) -> None:
    """Set cells whose centres fall in an oriented rectangle (vectorised over a local window)."""
    rad = math.hypot(hx, hy)
    r0, r1 = np.searchsorted(Y[:, 0], [cy - rad, cy + rad])
    c0, c1 = np.searchsorted(X[0], [cx - rad, cx + rad])
    if r1 <= r0 or c1 <= c0:
        return
    dx, dy = X[r0:r1, c0:c1] - cx, Y[r0:r1, c0:c1] - cy
    c, s = math.cos(yaw), math.sin(yaw)
    inside = (np.abs(c * dx + s * dy) <= hx) & (np.abs(-s * dx + c * dy) <= hy)
    grid[r0:r1, c0:c1] |= inside


def object_footprints(scene: Scene, z_lo_m: float = _STEP_HEIGHT_M, z_hi_m: float = math.inf) -> dict[int, np.ndarray]:
    """Instance id -> (K, 2) convex hull (counter-clockwise, metres) of the object's faces that
    reach into the height band (z_lo_m, z_hi_m): what a body moving through that band touches. A
    round plant pot gets a round footprint, not its (larger) oriented bounding rectangle."""
    from scipy.spatial import ConvexHull, QhullError

    tri_z = scene.vertices[scene.faces][..., 2]
    keep = (scene.face_instance >= 0) & (tri_z.max(1) > z_lo_m) & (tri_z.min(1) < z_hi_m)
    inst = scene.face_instance[keep]
    order = np.argsort(inst, kind="stable")
    inst, faces = inst[order], scene.faces[keep][order]
    ids, starts = np.unique(inst, return_index=True)
    out: dict[int, np.ndarray] = {}
    for i, lo, hi in zip(ids, starts, np.r_[starts[1:], len(inst)]):
        xy = scene.vertices[np.unique(faces[lo:hi])][:, :2].astype(np.float64)
        try:
            out[int(i)] = xy[ConvexHull(xy).vertices]
        except (QhullError, ValueError):  # flat or degenerate: a sliver, use its points as they are
            out[int(i)] = xy
    return out


def _stamp_polygon(grid: np.ndarray, X: np.ndarray, Y: np.ndarray, poly: np.ndarray) -> None:
    """Set cells whose centres fall inside polygon ``poly`` (K, 2) (vectorised over its bounding window)."""
    from skimage.measure import points_in_poly

    (x0, y0), (x1, y1) = poly.min(0), poly.max(0)
    r0, r1 = np.searchsorted(Y[:, 0], [y0, y1 + 1e-9])
    c0, c1 = np.searchsorted(X[0], [x0, x1 + 1e-9])
    if r1 <= r0 or c1 <= c0 or len(poly) < 3:
        return
    pts = np.stack([X[r0:r1, c0:c1].ravel(), Y[r0:r1, c0:c1].ravel()], 1)
    grid[r0:r1, c0:c1] |= points_in_poly(pts, poly).reshape(r1 - r0, c1 - c0)


def _footprint_params(o: SceneObject) -> tuple[float, float, float, float, float]:
    """(cx, cy, yaw, hx, hy) of an object's oriented footprint."""
    fp = np.asarray(o.footprint_xy_m)
    cx, cy = fp.mean(0)
    hx = np.linalg.norm(fp[0] - fp[1]) / 2
    hy = np.linalg.norm(fp[1] - fp[2]) / 2
    return float(cx), float(cy), o.yaw_rad, float(hx), float(hy)


def build_navgrid(scene: Scene, agent_radius_m: float = 0.18, agent_height_m: float = 1.5,
                  resolution_m: float = 0.05) -> NavGrid:
    """Rasterise floors, walls and object footprints, then keep cells at least ``agent_radius_m``
    from any obstacle (an Euclidean distance transform)."""
    if not (0 < resolution_m <= 0.5 and agent_radius_m >= 0 and agent_height_m > 0):
        raise ConfigError("need 0 < resolution_m <= 0.5, agent_radius_m >= 0 and agent_height_m > 0")
    grid = NavGrid.covering(scene, resolution_m, agent_radius_m)
    X, Y = grid.cell_centers()
    floor = np.zeros(grid.shape, bool)
    for r in scene.rooms:
        rx0, ry0, rx1, ry1 = r.bounds_m
        floor |= (X >= rx0) & (X <= rx1) & (Y >= ry0) & (Y <= ry1)
    blocked = np.zeros(grid.shape, bool)
    T = WALL_THICKNESS_M
    for w in scene.walls:
        if w["z0"] >= agent_height_m:
            continue  # a lintel above the agent's head
        mid, half = (w["lo"] + w["hi"]) / 2, (w["hi"] - w["lo"]) / 2 + T / 2
        if w["axis"] == "x":
            _stamp_rect(blocked, X, Y, w["coord"], mid, 0.0, T / 2, half)
        else:
            _stamp_rect(blocked, X, Y, mid, w["coord"], 0.0, half, T / 2)
    for poly in object_footprints(scene, _STEP_HEIGHT_M, agent_height_m).values():
        _stamp_polygon(blocked, X, Y, poly)
    grid.set_free(floor & ~blocked)
    return grid


def object_view_mask(grid: NavGrid, objects: list[SceneObject], radius_m: float = 1.0,
                     footprints: dict[int, np.ndarray] | None = None) -> np.ndarray:
    """(H, W) bool navigable cells within ``radius_m`` of any of the objects' footprints
    (habitat-lab's ObjectNav view points: success = stopping at one of them). Footprints are the
    objects' oriented rectangles, or their exact hulls when ``footprints`` (from
    :func:`object_footprints`) is given."""
    from scipy import ndimage

    if not objects:  # no object: no view point (a transform of an all-empty grid would say "everywhere")
        return np.zeros(grid.shape, bool)
    X, Y = grid.cell_centers()
    inside = np.zeros(grid.shape, bool)
    for o in objects:
        poly = footprints.get(o.instance_id) if footprints else None
        if poly is None:
            cx, cy, yaw, hx, hy = _footprint_params(o)
            c, s = math.cos(yaw), math.sin(yaw)
            poly = np.array([[cx + c * a - s * b, cy + s * a + c * b] for a, b in ((hx, hy), (-hx, hy), (-hx, -hy), (hx, -hy))])
        _stamp_polygon(inside, X, Y, poly)
        cx, cy = poly.mean(0)  # objects thinner than a cell: at least their centre's cell
        r, c_ = grid.to_cell(np.array([cx, cy]))
        if 0 <= r < grid.shape[0] and 0 <= c_ < grid.shape[1]:
            inside[r, c_] = True
    dist = ndimage.distance_transform_edt(~inside) * grid.resolution_m
    return (dist <= radius_m) & grid.navigable


def object_sight_points(scene: Scene, instance_id: int, max_points: int = 48) -> np.ndarray:
    """(K, 3) float64 points on the surface of object ``instance_id`` to test lines of sight against:
    the centroids of up to ``max_points`` of its faces (evenly spread over its face list, largest
    faces first so a thin sliver does not stand for a whole side). Empty (0, 3) for no faces."""
    idx = np.flatnonzero(scene.face_instance == instance_id)
    if len(idx) == 0:
        return np.zeros((0, 3))
    tri = scene.vertices[scene.faces[idx]].astype(np.float64)
    area = np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    order = np.argsort(-area, kind="stable")
    pick = order[np.unique(np.linspace(0, len(order) - 1, min(max_points, len(order))).round().astype(int))]
    return tri[pick].mean(1)


def visible_view_mask(grid: NavGrid, scene: Scene, objects: list[SceneObject], radius_m: float = 1.0,
                      camera_height_m: float = 0.88, footprints: dict[int, np.ndarray] | None = None,
                      caster: Any = None) -> np.ndarray:
    """(H, W) bool ObjectNav view points by habitat's rule: navigable cells within ``radius_m`` of an
    object's footprint *from which the object is visible*, i.e. a straight line from the camera
    (cell centre at ``camera_height_m``) to one of its surface points (:func:`object_sight_points`)
    meets that object first.

    habitat-lab's ObjectNav datasets keep as view points the navigable poses within 1 m of the
    object's box from which the object covers part of the frame (habitat-lab
    ``habitat/datasets/object_nav/`` generator, as in naokiyokoyama/ovon
    ``ovon/dataset/objectnav_generator.py`` ``_make_object_viewpoints``: candidates on a grid within
    ``goal_vp_max_dist`` = 1.0 m, navigable, facing the object, semantic frame coverage above a
    threshold). The camera may turn and tilt there, so any line of sight counts; we need no minimum
    coverage. The plain radius rule (:func:`object_view_mask`) also accepts cells behind a wall.

    Args:
        caster: ``cast(origins (N, 3) float32, dirs (N, 3) float32) -> (t (N,), face (N,) int64, -1
            on a miss)`` over ``scene``'s faces; default: an Embree scene built here.
    """
    from sims.raycast.render import ray_caster

    caster = caster if caster is not None else ray_caster(scene)
    out = np.zeros(grid.shape, bool)
    for o in objects:
        near = object_view_mask(grid, [o], radius_m, footprints)
        cells = np.argwhere(near)
        pts = object_sight_points(scene, o.instance_id)
        if len(cells) == 0 or len(pts) == 0:
            continue
        xy = np.stack([grid.origin_xy_m[0] + (cells[:, 1] + 0.5) * grid.resolution_m,
                       grid.origin_xy_m[1] + (cells[:, 0] + 0.5) * grid.resolution_m], 1)
        eye = np.concatenate([xy, np.full((len(xy), 1), camera_height_m)], 1)
        d = pts[None, :, :] - eye[:, None, :]  # (C, K, 3)
        dist = np.linalg.norm(d, axis=-1)
        dirs = (d / np.maximum(dist, 1e-9)[..., None]).reshape(-1, 3).astype(np.float32)
        origins = np.repeat(eye, len(pts), axis=0).astype(np.float32)
        _, face = caster(origins, dirs)
        hit = np.where(face >= 0, scene.face_instance[np.clip(face, 0, None)], -1) == o.instance_id
        seen = hit.reshape(len(cells), len(pts)).any(1)
        out[cells[seen, 0], cells[seen, 1]] = True
    return out
