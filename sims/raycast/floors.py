"""Navigability of scanned scenes from their geometry alone: storeys from a height histogram of the
upward-facing surface, and a navigable grid per storey for a cylindrical agent.

* **Storeys** (:func:`detect_floors`): faces whose normal is within ``max_floor_tilt_deg`` of +Z,
  binned by height and weighted by area; each storey is a peak holding at least ``min_area_m2`` and a
  share of the largest peak, with peaks closer than ``min_storey_gap_m`` to a larger one dropped
  (tables, beds and counters are upward-facing too, but small, and low), and walls must rise above it
  (vertical surface between 0.5 and 1.5 m over the peak's footprint of at least ``min_wall_ratio`` of
  its area: a roof, the tops of walls or an upward-facing ceiling are no storey). Ceilings face down in
  a scan seen from inside. Ramps and stairs join no storeys: each storey is a grid.
* **Navigable grid** (:func:`build_scan_navgrid`): the triangles are sampled densely (points no
  farther apart than half a cell, so a zero-thickness wall leaves an unbroken line of cells); a cell
  is floor where a walkable face (slope <= ``max_slope_deg``) lies within ``max_climb_m`` of the
  storey's height, and blocked where any surface lies between the floor + ``max_climb_m`` and the
  agent's height above it. Free cells (floor, not blocked, small scan holes closed) at least
  ``agent_radius_m`` from anything else are navigable: the same rule as the procedural houses'
  grid, and habitat-sim's navmesh defaults for the climb (``NavMeshSettings.agent_max_climb`` 0.2 m,
  ``agent_max_slope`` 45 deg; facebookresearch/habitat-sim ``src/esp/nav/PathFinder.h``).

Heights are world z (Z up, metres). Everything is vectorised numpy; a 1M-triangle scan takes a few
seconds per storey.
"""

from __future__ import annotations

import math

import numpy as np

from embodied.errors import ConfigError
from sims.raycast.navigation import NavGrid
from sims.raycast.render import face_normals
from sims.raycast.scene import Scene

__all__ = ["detect_floors", "storey_of", "build_scan_navgrid", "surface_samples", "iter_surface_samples"]

MAX_CLIMB_M = 0.2
"""habitat-sim's ``NavMeshSettings.agent_max_climb`` default: steps up to this height are walked over."""
MAX_SLOPE_DEG = 45.0
"""habitat-sim's ``NavMeshSettings.agent_max_slope`` default."""


def _face_areas(tri: np.ndarray) -> np.ndarray:
    return 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)


def detect_floors(scene: Scene, *, bin_m: float = 0.05, min_area_m2: float = 2.0, min_share: float = 0.15,
                  min_storey_gap_m: float = 1.8, max_floor_tilt_deg: float = 20.0,
                  min_wall_ratio: float = 0.1) -> list[float]:
    """Floor heights (m, ascending) of the storeys of ``scene``.

    Returns:
        One height per storey: the area-weighted median height of the upward faces of its peak.
    Raises:
        ConfigError: no upward-facing surface of ``min_area_m2`` (the mesh is not Z-up after loading,
            its normals face away from the rooms, or it is not a room-scale scene).
    """
    tri = scene.vertices[scene.faces]  # float32: millimetres are plenty here
    n = face_normals(scene.vertices, scene.faces)
    up = n[:, 2] >= math.cos(math.radians(max_floor_tilt_deg))
    area = _face_areas(tri)[up]
    z = tri[up][:, :, 2].mean(1)
    where = scene.source_path or scene.scene_id
    if area.sum() < min_area_m2:
        raise ConfigError(
            f"{where}: no floor found (only {area.sum():.2f} m2 of upward-facing surface, need {min_area_m2} m2). "
            "Is the up axis right (--sim-set scan_up_axis=y|z) and do the faces' normals point into the rooms?")
    lo = z.min()
    bins = np.floor((z - lo) / bin_m).astype(np.int64)
    hist = np.bincount(bins, weights=area)
    smooth = np.convolve(np.pad(hist, 1), np.ones(3), mode="valid")  # a floor split across two bins is one peak
    peaks = [i for i in range(len(smooth)) if smooth[i] > 0
             and smooth[i] >= (smooth[i - 1] if i > 0 else 0) and smooth[i] > (smooth[i + 1] if i + 1 < len(smooth) else 0)]
    peaks.sort(key=lambda i: -smooth[i])
    vertical = np.abs(n[:, 2]) < 0.3
    v_area, v_tri = _face_areas(tri[vertical]), tri[vertical]
    v_zlo, v_zhi, v_xy = v_tri[:, :, 2].min(1), v_tri[:, :, 2].max(1), v_tri[:, :, :2].mean(1)
    up_lo, up_hi = tri[up][:, :, :2].min(1), tri[up][:, :, :2].max(1)

    def walled(i: int) -> bool:  # walls rise over the peak's footprint
        sel = np.abs(bins - i) <= 1
        if not sel.any():
            return False
        h = lo + (i + 0.5) * bin_m
        (x0, y0), (x1, y1) = up_lo[sel].min(0), up_hi[sel].max(0)
        band = (v_zhi > h + 0.5) & (v_zlo < h + 1.5) & (v_xy[:, 0] >= x0 - 0.2) & (v_xy[:, 0] <= x1 + 0.2) & \
            (v_xy[:, 1] >= y0 - 0.2) & (v_xy[:, 1] <= y1 + 0.2)
        return v_area[band].sum() >= min_wall_ratio * area[sel].sum()

    peaks = [i for i in peaks if smooth[i] >= min_area_m2 and walled(i)]
    if not peaks:
        raise ConfigError(f"{where}: no floor found: no upward-facing surface of {min_area_m2} m2 has walls above it. "
                          "Is the up axis right (--sim-set scan_up_axis=y|z)?")
    top = smooth[peaks[0]]
    chosen: list[int] = []
    for i in peaks:
        if smooth[i] < max(min_area_m2, min_share * top):
            break
        if all(abs(i - j) * bin_m >= min_storey_gap_m for j in chosen):
            chosen.append(i)
    floors = []
    for i in sorted(chosen):
        sel = np.abs(bins - i) <= 2
        order = np.argsort(z[sel])
        cum = np.cumsum(area[sel][order])
        floors.append(float(z[sel][order][np.searchsorted(cum, cum[-1] / 2)]))
    return floors


def storey_of(floors: list[float], z_m: float, tolerance_m: float = 0.5) -> int:
    """Index of the storey whose floor is nearest ``z_m`` (a base position's height).

    Raises:
        ConfigError: no floor within ``tolerance_m`` of ``z_m``.
    """
    d = np.abs(np.asarray(floors) - z_m)
    i = int(np.argmin(d))
    if d[i] > tolerance_m:
        raise ConfigError(f"height {z_m:.2f} m is on no storey: the floors found are at "
                          f"{', '.join(f'{f:.2f}' for f in floors)} m")
    return i


def surface_samples(tri: np.ndarray, spacing_m: float, max_subdivisions: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """Points on triangles ``tri`` (F, 3, 3) no farther apart than ``spacing_m`` along any edge (a
    barycentric lattice of n x n sub-triangles per face, n from its longest edge).

    Returns:
        (points (P, 3) float64, face index (P,) int64 of each point).
    """
    chunks = list(iter_surface_samples(tri, spacing_m, max_subdivisions))
    if not chunks:
        return np.zeros((0, 3)), np.zeros(0, np.int64)
    return np.concatenate([c[0] for c in chunks]), np.concatenate([c[1] for c in chunks])


def iter_surface_samples(tri: np.ndarray, spacing_m: float, max_subdivisions: int = 512, chunk_points: int = 2_000_000):
    """:func:`surface_samples` in chunks of about ``chunk_points`` points: yields (points, face index)."""
    edges = np.stack([np.linalg.norm(tri[:, 1] - tri[:, 0], axis=1), np.linalg.norm(tri[:, 2] - tri[:, 1], axis=1),
                      np.linalg.norm(tri[:, 0] - tri[:, 2], axis=1)], 1).max(1)
    nsub = np.clip(np.ceil(edges / spacing_m).astype(np.int64), 1, max_subdivisions)
    for n in np.unique(nsub):
        idx = np.flatnonzero(nsub == n)
        i, j = np.meshgrid(np.arange(n + 1), np.arange(n + 1), indexing="ij")
        keep = (i + j) <= n
        a, b = i[keep] / n, j[keep] / n
        bary = np.stack([1 - a - b, a, b], 1)  # (K, 3)
        for chunk in np.array_split(idx, max(1, len(idx) * len(bary) // chunk_points + 1)):
            if len(chunk):
                yield np.einsum("kc,fcd->fkd", bary, tri[chunk]).reshape(-1, 3), np.repeat(chunk, len(bary))


def build_scan_navgrid(scene: Scene, floor_z_m: float, agent_radius_m: float = 0.18, agent_height_m: float = 1.5,
                       resolution_m: float = 0.05, max_climb_m: float = MAX_CLIMB_M,
                       max_slope_deg: float = MAX_SLOPE_DEG, hole_cells: int = 1) -> NavGrid:
    """The navigable grid of the storey at ``floor_z_m`` (see the module docstring for the rule).

    Args:
        hole_cells: scan holes in the floor up to about twice this many cells wide are closed
            (binary closing), as long as nothing stands in them.
    Returns:
        A :class:`NavGrid` over the scene's XY bounds (+ 0.25 m).
    Raises:
        ConfigError: bad sizes, or no navigable cell on this storey.
    """
    from scipy import ndimage

    if not (0 < resolution_m <= 0.5 and agent_radius_m >= 0 and agent_height_m > max_climb_m >= 0):
        raise ConfigError("need 0 < resolution_m <= 0.5, agent_radius_m >= 0 and agent_height_m > max_climb_m >= 0")
    grid = NavGrid.covering(scene, resolution_m, agent_radius_m)
    (H, W), (ox, oy) = grid.shape, grid.origin_xy_m
    tri = scene.vertices[scene.faces]
    zmin, zmax = tri[:, :, 2].min(1), tri[:, :, 2].max(1)
    lo, hi = floor_z_m - max_climb_m, floor_z_m + agent_height_m
    near = np.flatnonzero((zmax >= lo) & (zmin <= hi))  # faces of this storey's band only
    walkable = face_normals(scene.vertices, scene.faces)[near, 2] >= math.cos(math.radians(max_slope_deg))
    floor = np.zeros((H, W), bool)
    blocked = np.zeros((H, W), bool)
    for pts, owner in iter_surface_samples(tri[near], resolution_m / 2):  # in chunks: memory stays flat
        col = np.floor((pts[:, 0] - ox) / resolution_m).astype(np.int64)
        row = np.floor((pts[:, 1] - oy) / resolution_m).astype(np.int64)
        inside = (row >= 0) & (row < H) & (col >= 0) & (col < W)
        z = pts[:, 2]
        is_floor = inside & walkable[owner] & (np.abs(z - floor_z_m) <= max_climb_m)
        is_block = inside & (z > floor_z_m + max_climb_m) & (z < hi)
        floor[row[is_floor], col[is_floor]] = True
        blocked[row[is_block], col[is_block]] = True
    if hole_cells > 0:
        s = np.ones((2 * hole_cells + 1,) * 2, bool)
        floor = ndimage.binary_closing(floor, structure=s) | floor
    grid.set_free(floor & ~blocked)
    if not grid.navigable.any():
        raise ConfigError(f"{scene.source_path or scene.scene_id}: no navigable floor on the storey at "
                          f"{floor_z_m:.2f} m for an agent of radius {agent_radius_m} m and height {agent_height_m} m")
    return grid
