"""TEST STAND-IN for ``habitat_sim.nav`` (not the real habitat-sim): ``NavMeshSettings``, the path requests
and ``PathFinder``, answered by the built-in ``NavGrid`` of ``sims.raycast``.

Modelled on habitat-sim 0.3 (``habitat_sim.nav``; the settings are ``esp::nav::NavMeshSettings``): the
settings compare by value, ``set_defaults()`` restores habitat-sim's defaults, ``PathFinder.is_loaded`` is False
until a navmesh was loaded or recomputed, and without one every query fails the way habitat-sim's do
(``find_path`` False, NaN points, nothing navigable).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

__all__ = ["NavMeshSettings", "ShortestPath", "MultiGoalShortestPath", "PathFinder"]

# habitat (x, y, z) -> built-in world (-z, -x, y)
_M = np.array([[0.0, 0.0, -1.0], [-1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])


def _to_ours(p: Any) -> np.ndarray:
    return _M @ np.asarray(p, dtype=np.float64).reshape(3)


def _to_habitat(p: Any) -> np.ndarray:
    return _M.T @ np.asarray(p, dtype=np.float64).reshape(3)


@dataclass(slots=True, eq=True)
class NavMeshSettings:
    """habitat-sim's navmesh build settings with its defaults (metres, degrees); ``==`` compares every field.

    Slotted: setting a field the real class lacks raises AttributeError, as on the real pybind class.
    The stand-in builds its grid from ``cell_size`` (resolution), ``agent_radius`` and ``agent_height``.
    """

    cell_size: float = 0.05
    cell_height: float = 0.2
    agent_height: float = 1.5
    agent_radius: float = 0.1
    agent_max_climb: float = 0.2
    agent_max_slope: float = 45.0
    filter_low_hanging_obstacles: bool = True
    filter_ledge_spans: bool = True
    filter_walkable_low_height_spans: bool = True
    region_min_size: float = 20.0
    region_merge_size: float = 20.0
    edge_max_len: float = 12.0
    edge_max_error: float = 1.3
    verts_per_poly: float = 6.0
    detail_sample_dist: float = 6.0
    detail_sample_max_error: float = 1.0
    include_static_objects: bool = False

    def set_defaults(self) -> None:
        for f in fields(self):
            setattr(self, f.name, f.default)

    def copy(self) -> NavMeshSettings:
        return NavMeshSettings(**{f.name: getattr(self, f.name) for f in fields(self)})


@dataclass(slots=True)
class ShortestPath:
    requested_start: Any = None
    requested_end: Any = None
    geodesic_distance: float = math.inf
    points: list[np.ndarray] = field(default_factory=list)


@dataclass(slots=True)
class MultiGoalShortestPath:
    requested_start: Any = None
    requested_ends: Any = None
    geodesic_distance: float = math.inf
    points: list[np.ndarray] = field(default_factory=list)


class PathFinder:
    """Navmesh queries (habitat points in, habitat points out) on a built-in ``NavGrid``, or on nothing."""

    def __init__(self, seed: int = 0) -> None:
        self._nav: Any = None
        self._settings: NavMeshSettings | None = None
        self._rng = np.random.default_rng(seed)

    # --- what the stand-in's Simulator uses -----------------------------------------------------------

    def _load(self, nav: Any, settings: NavMeshSettings) -> None:
        self._nav = nav
        self._settings = settings.copy()

    # --- the real API ---------------------------------------------------------------------------------

    @property
    def is_loaded(self) -> bool:
        return self._nav is not None

    @property
    def nav_mesh_settings(self) -> NavMeshSettings:
        """The settings the loaded navmesh was built with (habitat-sim's defaults when none is loaded)."""
        return self._settings.copy() if self._settings is not None else NavMeshSettings()

    def seed(self, new_seed: int) -> None:
        self._rng = np.random.default_rng(new_seed)

    def is_navigable(self, pt: Any, max_y_delta: float = 0.5) -> bool:
        if self._nav is None:
            return False
        p = _to_ours(pt)
        return abs(p[2]) <= max_y_delta and self._nav.is_navigable(p[:2])

    def get_random_navigable_point(self) -> np.ndarray:
        if self._nav is None:
            return np.full(3, np.nan, np.float32)
        cells = np.argwhere(self._nav.largest_component())
        r, c = cells[int(self._rng.integers(len(cells)))]
        x, y = self._nav.cell_center(int(r), int(c))
        return _to_habitat([x, y, 0.0]).astype(np.float32)

    def snap_point(self, pt: Any) -> np.ndarray:
        """Nearest navigable cell centre on the floor (NaN when there is none)."""
        if self._nav is None:
            return np.full(3, np.nan, np.float32)
        p = _to_ours(pt)
        cells = np.argwhere(self._nav.navigable)
        if len(cells) == 0:
            return np.full(3, np.nan, np.float32)
        X, Y = self._nav.cell_centers()
        d = np.hypot(X[cells[:, 0], cells[:, 1]] - p[0], Y[cells[:, 0], cells[:, 1]] - p[1])
        r, c = cells[int(np.argmin(d))]
        x, y = self._nav.cell_center(int(r), int(c))
        return _to_habitat([x, y, 0.0]).astype(np.float32)

    def find_path(self, path: ShortestPath | MultiGoalShortestPath) -> bool:
        path.geodesic_distance, path.points = math.inf, []
        if self._nav is None:
            return False
        ends = [path.requested_end] if isinstance(path, ShortestPath) else list(np.asarray(path.requested_ends))
        start = _to_ours(path.requested_start)[:2]
        goal = np.zeros(self._nav.shape, bool)
        for e in ends:
            xy = _to_ours(e)[:2]
            if self._nav.is_navigable(xy):
                goal[self._nav.to_cell(xy)] = True
        if not self._nav.is_navigable(start) or not goal.any():
            return False
        d = float(self._nav.distance_field(goal)[self._nav.to_cell(start)])
        path.geodesic_distance = d
        if math.isfinite(d):
            path.points = [np.asarray(path.requested_start, np.float32)]
        return math.isfinite(d)

    def try_step_no_sliding(self, start: Any, end: Any) -> np.ndarray:
        """The last free point on the straight segment start -> end (habitat points)."""
        start = np.asarray(start, dtype=np.float64).reshape(3)
        end = np.asarray(end, dtype=np.float64).reshape(3)
        if self._nav is None:
            return end
        a, b = _to_ours(start)[:2], _to_ours(end)[:2]
        if self._nav.segment_is_free(a, b):
            return end
        n = max(2, int(math.ceil(np.linalg.norm(b - a) / (self._nav.resolution_m / 4))) + 1)
        last = start
        for t in np.linspace(0.0, 1.0, n)[1:]:
            p = start + t * (end - start)
            if not self._nav.is_navigable(_to_ours(p)[:2]):
                break
            last = p
        return last

    def try_step(self, start: Any, end: Any) -> np.ndarray:
        """Move towards ``end`` and slide along what blocks it: after stopping, the rest of the motion is
        tried along each floor axis (the built-in houses' walls are axis-aligned) and the farther free one
        kept, a stand-in for Detour's moveAlongSurface."""
        start = np.asarray(start, dtype=np.float64).reshape(3)
        end = np.asarray(end, dtype=np.float64).reshape(3)
        hit = self.try_step_no_sliding(start, end)
        if self._nav is None or np.allclose(hit, end):
            return hit
        rest = end - hit
        best = hit
        for axis in (0, 2):  # habitat x and z: the floor plane
            along = np.zeros(3)
            along[axis] = rest[axis]
            cand = self.try_step_no_sliding(hit, hit + along)
            if np.linalg.norm(cand - hit) > np.linalg.norm(best - hit):
                best = cand
        return best
