"""Structure from Action's inference loop: what moved, how it moved, which part it is, what joint it has.

:class:`ArticulationEstimator` keeps the discovered model: the base's points and, per part, its points in
the canonical (initial) frame, its motion history and its joint. ``update(before, after, interaction)``
takes the views before and after one interaction:

1. **Change**: the cameras do not move, so a pixel whose depth changed by more than ``change_tau_m`` in
   its own view marks a candidate. A candidate that some view of the other moment still sees in place
   is static and dropped; one that some view of the other moment sees *past* (free space where it was)
   has moved (before) or arrived (after); one that every view of the other moment sees something nearer
   than is occluded there (before: a static surface the part now hides; after: a surface the motion
   revealed). Moved before-points cluster (``cluster_radius_m``); the clusters near the probe point are
   the part's old surface, the arrived after-points its new surface.
2. **Motion**: Open3D point-to-plane ICP from the old surface onto the new one, started from the
   centroid alignment under a fan of rotations about the world axes (parts of furniture turn about
   axis-aligned hinges; ICP refines any other axis), coarse to fine; the best fitness wins.
3. **Part**: the old surface is matched against the known parts at their current poses; a match
   extends that part's history (its motion from the canonical state composes), otherwise a new part
   starts. Points are carried back to the canonical frame and aggregated (voxel-deduplicated), so a
   drawer's inside, seen only once it is open, joins the drawer. Revealed points inside the convex hull
   of the part's new surface join the part; other revealed points join the base.
4. **Joint**: :func:`embodied.articulation.joints.fit_joint` over every motion of the part.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.spatial import cKDTree

from embodied.articulation.fusion import Cloud, fuse_views, voxel_downsample
from embodied.articulation.joints import JointEstimate, fit_joint, rotation_angle_deg
from embodied.articulation.types import Interaction, MultiView
from embodied.errors import ConfigError
from embodied.geometry import invert_transform, project_points

log = logging.getLogger(__name__)

__all__ = ["EstimatorConfig", "DiscoveredPart", "UpdateReport", "ArticulationEstimator", "register_rigid",
           "changed_candidates", "view_evidence"]


@dataclass(frozen=True)
class EstimatorConfig:
    """Thresholds of :class:`ArticulationEstimator` (metres, degrees)."""

    voxel_m: float = 0.006
    change_tau_m: float = 0.012
    cluster_radius_m: float = 0.02
    min_part_points: int = 40
    fit_tau_m: float = 0.012
    min_fitness: float = 0.55
    min_angle_deg: float = 3.0
    match_fraction: float = 0.3
    part_reach_m: float = 0.3
    init_angles_deg: tuple[float, ...] = (10.0, 20.0, 35.0, 50.0, 70.0, 90.0)

    def __post_init__(self) -> None:
        if min(self.voxel_m, self.change_tau_m, self.cluster_radius_m, self.fit_tau_m) <= 0:
            raise ConfigError("EstimatorConfig lengths must be > 0")
        if not 0 < self.min_fitness <= 1 or not 0 < self.match_fraction <= 1:
            raise ConfigError("min_fitness and match_fraction must be in (0, 1]")


@dataclass
class DiscoveredPart:
    """One moving part: canonical points (N, 3), its motions from the canonical state, its joint."""

    index: int
    points: np.ndarray
    motions: list[np.ndarray] = field(default_factory=list)
    joint: JointEstimate | None = None
    interactions: list[int] = field(default_factory=list)

    @property
    def T_current(self) -> np.ndarray:
        """(4, 4) the part's pose now relative to the canonical state."""
        return self.motions[-1] if self.motions else np.eye(4)


@dataclass
class UpdateReport:
    """What one interaction revealed."""

    moved: bool
    part: int | None = None
    new_part: bool = False
    n_changed: int = 0
    fitness: float = 0.0
    rmse_m: float = 0.0
    angle_deg: float = 0.0
    translation_m: float = 0.0
    seconds: dict[str, float] = field(default_factory=dict)
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}


def view_evidence(points: np.ndarray, mv: MultiView, tau_m: float) -> tuple[np.ndarray, np.ndarray]:
    """What the views of ``mv`` say about each point (N, 3): (consistent (N,), seen_through (N,)).

    consistent: some view sees a surface within ``tau_m`` of the point's depth (it is there).
    seen_through: some view sees past it (a farther surface, or nothing) along its ray (it is not there).
    A point neither consistent nor seen through is occluded in every view: nothing is known of it.
    """
    here = np.zeros(len(points), bool)
    past = np.zeros(len(points), bool)
    for v in mv.views:
        uv, z = project_points(points, v.intrinsics.K, v.T_world_cam)
        H, W = v.depth.shape
        with np.errstate(invalid="ignore"):
            u = np.round(uv[:, 0])
            r = np.round(uv[:, 1])
            inside = (z > 0) & (u >= 0) & (u < W) & (r >= 0) & (r < H)
        idx = np.flatnonzero(inside)
        d = v.depth[r[idx].astype(int), u[idx].astype(int)]
        here[idx] |= (d > 0) & (np.abs(d - z[idx]) < tau_m)
        past[idx] |= (d == 0) | (d > z[idx] + tau_m)
    return here, past


def changed_candidates(cloud: Cloud, own: MultiView, other: MultiView, tau_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Points of ``cloud`` (fused from ``own``) that the other moment contradicts.

    Returns (gone (N,), hidden (N,)) bool masks over points whose pixel changed in ``other`` and that
    no view of ``other`` still sees in place: ``gone`` when some view of ``other`` sees past the point
    (space is free where it was: it moved, or, for the later moment, it arrived), ``hidden`` when every
    view of ``other`` sees something nearer (it was occluded there: for the earlier moment an occluded
    static surface; for the later one, a surface the motion revealed).
    """
    changed = np.zeros(len(cloud), bool)
    for i, (a, b) in enumerate(zip(own.views, other.views)):
        sel = np.flatnonzero(cloud.view == i)
        da = a.depth.reshape(-1)[cloud.pixel[sel]]
        db = b.depth.reshape(-1)[cloud.pixel[sel]]
        changed[sel] = (db == 0) | (np.abs(db - da) > tau_m)
    idx = np.flatnonzero(changed)
    here, past = view_evidence(cloud.points[idx], other, tau_m)
    gone = np.zeros(len(cloud), bool)
    hidden = np.zeros(len(cloud), bool)
    gone[idx] = ~here & past
    hidden[idx] = ~here & ~past
    return gone, hidden


def _clusters(points: np.ndarray, radius_m: float) -> np.ndarray:
    """(N,) connected-component labels of points linked within ``radius_m``."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if len(points) == 0:
        return np.zeros(0, int)
    pairs = cKDTree(points).query_pairs(radius_m, output_type="ndarray")
    g = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(len(points), len(points)))
    return connected_components(g, directed=False)[1]


def _axis_rotation(axis: int, deg: float) -> np.ndarray:
    from scipy.spatial.transform import Rotation

    v = np.zeros(3)
    v[axis] = np.radians(deg)
    return Rotation.from_rotvec(v).as_matrix()


def register_rigid(src: np.ndarray, tgt: np.ndarray, tgt_normals: np.ndarray, tau_m: float,
                   init_angles_deg: tuple[float, ...] = (10.0, 20.0, 35.0, 50.0, 70.0, 90.0),
                   inits: list[np.ndarray] | None = None, probe: tuple[np.ndarray, np.ndarray] | None = None,
                   probe_tol_m: float = 0.08, max_points: int = 3000, seed: int = 0
                   ) -> tuple[np.ndarray, float, float]:
    """Rigid (4, 4) T with T @ src ~ tgt: point-to-plane ICP (Open3D) from several starts, coarse to fine.

    Starts: the centroid alignment under no rotation and under rotations of ``init_angles_deg`` (both
    signs) about each world axis, plus any given ``inits``; coarse ICP runs on at most ``max_points / 3``
    points of each cloud, the four best starts are refined on at most ``max_points``. Among refined
    results within 0.05 of the best fitness, those moving the probe's grasp point ``probe[0]`` to within
    ``probe_tol_m`` of where the probe let go (``probe[1]``) are preferred, then the smallest rotation
    (a sliding drawer's front matches itself under many turns; its true motion has none).
    Returns (T, fitness, inlier RMSE m).
    """
    import open3d as o3d

    reg = o3d.pipelines.registration
    rng = np.random.default_rng(seed)

    def cloud(p, n=None, k=max_points):
        idx = rng.choice(len(p), k, replace=False) if len(p) > k else slice(None)
        pc = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(p[idx]))
        if n is not None:
            pc.normals = o3d.utility.Vector3dVector(n[idx])
        return pc

    s, t = cloud(src), cloud(tgt, tgt_normals)
    s_c, t_c = cloud(src, k=max_points // 3), cloud(tgt, tgt_normals, k=max_points // 3)
    cs, ct = src.mean(0), tgt.mean(0)
    starts = []
    for R in [np.eye(3)] + [_axis_rotation(a, sgn * d) for a in range(3) for d in init_angles_deg for sgn in (1, -1)]:
        T = np.eye(4)
        T[:3, :3] = R
        T[:3, 3] = ct - R @ cs
        starts.append(T)
    starts += list(inits or [])
    if probe is not None:  # the probe's own displacement, as a pure translation
        T = np.eye(4)
        T[:3, 3] = probe[1] - probe[0]
        starts.append(T)

    def agrees(T) -> bool:
        return probe is None or bool(np.linalg.norm(_transform(T, probe[0]) - probe[1]) <= probe_tol_m)

    est = reg.TransformationEstimationPointToPlane()
    coarse = []
    for T0 in starts:
        r = reg.registration_icp(s_c, t_c, 4 * tau_m, T0, est, reg.ICPConvergenceCriteria(max_iteration=15))
        T = np.asarray(r.transformation)
        coarse.append((agrees(T), r.fitness, -r.inlier_rmse, T))
    coarse.sort(key=lambda x: x[:3], reverse=True)
    refined = []
    for *_, T0 in coarse[:4]:
        T1 = reg.registration_icp(s, t, 2 * tau_m, T0, est, reg.ICPConvergenceCriteria(max_iteration=30)).transformation
        r = reg.registration_icp(s, t, tau_m, T1, est, reg.ICPConvergenceCriteria(max_iteration=30))
        refined.append((np.asarray(r.transformation), float(r.fitness), float(r.inlier_rmse)))
    top = max(f for _, f, _ in refined)
    good = [x for x in refined if x[1] >= top - 0.05]
    good = [x for x in good if agrees(x[0])] or good
    return min(good, key=lambda x: (round(rotation_angle_deg(x[0][:3, :3]) / 2.0), -x[1]))


def _transform(T: np.ndarray, p: np.ndarray) -> np.ndarray:
    return p @ T[:3, :3].T + T[:3, 3]


def _inside_hull(points: np.ndarray, hull_points: np.ndarray, margin_m: float) -> np.ndarray:
    """(N,) bool: points inside the convex hull of ``hull_points`` grown by ``margin_m`` (approximately)."""
    from scipy.spatial import Delaunay, QhullError

    if len(hull_points) < 5 or len(points) == 0:
        return np.zeros(len(points), bool)
    c = hull_points.mean(0)
    grown = c + (hull_points - c) * (1.0 + margin_m / max(np.linalg.norm(hull_points - c, axis=1).max(), 1e-6))
    try:
        return Delaunay(grown).find_simplex(points) >= 0
    except QhullError:  # flat hull
        return np.zeros(len(points), bool)


class ArticulationEstimator:
    """The discovered articulated model, updated one interaction at a time (see the module docstring).

    Args:
        first: the views of the canonical state.
        config: thresholds.
    """

    def __init__(self, first: MultiView, config: EstimatorConfig = EstimatorConfig()) -> None:
        self.config = config
        self._last_views = first
        self._last_cloud = fuse_views(first, config.voxel_m)
        self.canonical_cloud0 = self._last_cloud
        self.base_points = self._last_cloud.points.copy()
        self.parts: list[DiscoveredPart] = []
        self.history: list[UpdateReport] = []

    @property
    def cloud(self) -> Cloud:
        """The fused cloud of the latest state."""
        return self._last_cloud

    @property
    def last_views(self) -> MultiView:
        """The views of the latest state."""
        return self._last_views

    def update(self, after: MultiView, interaction: Interaction | None = None, before: MultiView | None = None,
               travel_m: float | None = None) -> UpdateReport:
        """Account for one interaction, given the views after it (``before``: default, the last views).

        ``travel_m``: how far the probe went while it held on (its proprioception); by default the
        interaction's distance. A pull's grasp point should end near where the probe stopped.
        """
        cfg = self.config
        t0 = time.perf_counter()
        if before is None:
            before, b_cloud = self._last_views, self._last_cloud
        else:
            b_cloud = fuse_views(before, cfg.voxel_m)
        a_cloud = fuse_views(after, cfg.voxel_m)
        self._last_views, self._last_cloud = after, a_cloud
        t1 = time.perf_counter()
        gone, hidden = changed_candidates(b_cloud, before, after, cfg.change_tau_m)
        arrived, revealed_mask = changed_candidates(a_cloud, after, before, cfg.change_tau_m)
        ca = np.flatnonzero(arrived)  # the new surface, where space was free before
        rep = UpdateReport(False, n_changed=int(gone.sum() + hidden.sum() + len(ca)))
        t2 = time.perf_counter()
        rep.seconds = {"fusion": t1 - t0, "change": t2 - t1}
        self.history.append(rep)
        if (gone | hidden).sum() < cfg.min_part_points or len(ca) < cfg.min_part_points:
            rep.reason = "nothing moved"
            return rep
        probe = None
        if interaction is not None and interaction.kind == "pull":
            went = interaction.distance_m if travel_m is None else travel_m
            probe = (interaction.point_m, interaction.point_m + interaction.direction * went)
        tgt, tgt_n = a_cloud.points[ca], a_cloud.normals[ca]
        # the old surface: where space is free now; failing that, also where it is hidden now (a part
        # that swung towards the cameras hides its own old place; a static surface it hides does not move)
        solved = None
        for cand in ([gone, gone | hidden] if gone.sum() >= cfg.min_part_points else [gone | hidden]):
            sol = self._register_changes(b_cloud.points[cand], tgt, tgt_n, interaction, probe)
            if sol is not None and (solved is None or sol[1] > solved[1]):
                solved = sol
            if solved is not None and solved[1] >= cfg.min_fitness:
                break
        if solved is None:
            rep.reason = "only scattered changes"
            return rep
        T_rel, fit, rmse, src = solved
        part = None
        if fit < cfg.min_fitness and interaction is not None:  # a known part, moved along its joint?
            tracked = self._track(interaction, a_cloud, probe)
            if tracked is not None:
                part, T_rel, fit, rmse, src = tracked
        rep.seconds["registration"] = time.perf_counter() - t2
        rep.fitness, rep.rmse_m = fit, rmse
        rep.angle_deg = rotation_angle_deg(T_rel[:3, :3])
        rep.translation_m = float(np.linalg.norm(_transform(T_rel, src).mean(0) - src.mean(0)))
        if fit < cfg.min_fitness:
            rep.reason = f"motion not explained (ICP fitness {fit:.2f})"
            return rep
        if rep.translation_m < 2 * cfg.fit_tau_m and rep.angle_deg < cfg.min_angle_deg:
            rep.reason = "moved too little to tell"
            return rep
        if part is None:
            part = self._match(src, None if interaction is None else interaction.point_m)
        T_before = part.T_current if part is not None else np.eye(4)
        new = part is None
        if new:
            part = DiscoveredPart(len(self.parts), np.zeros((0, 3)))
            self.parts.append(part)
        T_now = T_rel @ T_before
        if not new:  # the whole known part, edges and handle included, pins its new pose better
            T_now = self._refine_pose(part, T_now, a_cloud)
            T_rel = T_now @ invert_transform(T_before)
        # old surface -> canonical; new surface: what the motion explains, plus what it revealed
        # only the old-surface points the motion explains join the part (occlusion artefacts next to
        # the part, such as a neighbour's edge it now hides, are candidates too but do not follow it)
        inl = cKDTree(tgt).query(_transform(T_rel, src), distance_upper_bound=cfg.fit_tau_m)[0] < np.inf
        src = src[inl]  # onto the new surface, not merely onto anything nearby
        back = _transform(invert_transform(T_rel), tgt)  # explained: seen before, on the part's old surface
        explained = cKDTree(src).query(back, distance_upper_bound=cfg.fit_tau_m)[0] < np.inf
        moved_new = tgt[explained]
        revealed = np.concatenate([tgt[~explained], a_cloud.points[revealed_mask]])
        hull_pts = np.concatenate([src, moved_new, _transform(T_rel, src)])  # the volume the part swept
        inside = _inside_hull(revealed, hull_pts[:: max(1, len(hull_pts) // 1500)], 0.01)
        canon = np.concatenate([_transform(invert_transform(T_before), src),
                                _transform(invert_transform(T_now), moved_new),
                                _transform(invert_transform(T_now), revealed[inside])])
        allp = np.concatenate([part.points, canon])
        part.points = allp[voxel_downsample(allp, cfg.voxel_m)]
        part.motions.append(T_now)
        part.interactions.append(len(self.history) - 1)
        part.joint = fit_joint([M[:3, :3] for M in part.motions], [M[:3, 3] for M in part.motions],
                               part.points[:: max(1, len(part.points) // 500)], min_angle_deg=cfg.min_angle_deg)
        if new or len(revealed[~inside]):
            self._absorb_static(revealed[~inside])
        self._drop_part_points_from_base(part)
        rep.moved, rep.part, rep.new_part = True, part.index, new
        rep.seconds["total"] = time.perf_counter() - t0
        return rep

    def _refine_pose(self, part: DiscoveredPart, T_guess: np.ndarray, a_cloud: Cloud) -> np.ndarray:
        """The part's pose (from canonical) that best lays all its points on the new cloud, from ``T_guess``
        (point-to-plane ICP, 2 then 1 tolerance); ``T_guess`` when that fits no better."""
        import open3d as o3d

        reg = o3d.pipelines.registration
        pts = part.points[:: max(1, len(part.points) // 4000)]
        s = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(pts))
        t = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(a_cloud.points))
        t.normals = o3d.utility.Vector3dVector(a_cloud.normals)
        est = reg.TransformationEstimationPointToPlane()
        tau = self.config.fit_tau_m
        before = reg.evaluate_registration(s, t, tau, T_guess)
        T1 = reg.registration_icp(s, t, 2 * tau, T_guess, est, reg.ICPConvergenceCriteria(max_iteration=20)).transformation
        r = reg.registration_icp(s, t, tau, T1, est, reg.ICPConvergenceCriteria(max_iteration=20))
        return np.asarray(r.transformation) if r.fitness >= before.fitness else T_guess

    def _register_changes(self, pts_b: np.ndarray, tgt: np.ndarray, tgt_n: np.ndarray,
                          interaction: Interaction | None, probe) -> tuple | None:
        """Cluster the old-surface candidates and register the ones near the probe onto the new surface:
        (T_rel, fitness, rmse, the old-surface points used), or None when no cluster is big enough."""
        cfg = self.config
        labels = _clusters(pts_b, cfg.cluster_radius_m)
        sizes = np.bincount(labels)
        ok = np.flatnonzero(sizes >= cfg.min_part_points)
        if not len(ok):
            return None
        tree_t = cKDTree(tgt)
        if interaction is not None:  # clusters near where the probe acted, nearest first
            d = np.linalg.norm(pts_b - interaction.point_m, axis=1)
            near = np.array([d[labels == k].min() for k in ok])
            order = ok[np.argsort(near)]
            groups = [[order[0]], [k for k, dk in zip(ok, near) if dk < cfg.part_reach_m] or [order[0]]]
        else:
            groups = [[ok[np.argmax(sizes[ok])]], list(ok)]

        def solve(chosen: list[int]):
            T, f, e = register_rigid(pts_b[np.isin(labels, chosen)], tgt, tgt_n, cfg.fit_tau_m, cfg.init_angles_deg,
                                     probe=probe)
            # keep the clusters that move with this motion (a part's old surface can fall apart into
            # pieces where its changed pixels are not contiguous), and solve again if that changed them
            agree = [k for k in ok if np.mean(tree_t.query(_transform(T, pts_b[labels == k]),
                                                            distance_upper_bound=cfg.fit_tau_m)[0] < np.inf) >= 0.6]
            agree = agree or chosen
            if sorted(agree) != sorted(chosen):
                T, f, e = register_rigid(pts_b[np.isin(labels, agree)], tgt, tgt_n, cfg.fit_tau_m,
                                         cfg.init_angles_deg, inits=[T], probe=probe)
            return T, f, e, pts_b[np.isin(labels, agree)]

        return max((solve(g) for g in groups), key=lambda r: (r[1], -r[2]))

    def _track(self, interaction: Interaction, a_cloud: Cloud, probe) -> tuple | None:
        """Register the known part the probe touched, whole, onto the new cloud, starting from motions along
        its estimated joint: (part, T_rel, fitness, rmse, part points before) when it moved, else None.

        This explains motions whose changed points alone are too few or too ambiguous to register (a
        drawer pulled further: its sliding bottom leaves no changed pixels, its front is a plane).
        """
        cfg = self.config
        near = [(float(cKDTree(_transform(p.T_current, p.points)).query(interaction.point_m)[0]), p.index)
                for p in self.parts if len(p.points) and p.joint is not None]
        near = [x for x in near if x[0] < 0.05]
        if not near:
            return None
        part = self.parts[min(near)[1]]
        src = _transform(part.T_current, part.points)
        steps = (0.03, 0.06, 0.1, 0.15, 0.2) if part.joint.type == "prismatic" else np.radians((5, 10, 20, 30, 45))
        inits = [part.joint.transform(sgn * q) for q in steps for sgn in (1, -1)]
        T, fit, rmse = register_rigid(src, a_cloud.points, a_cloud.normals, cfg.fit_tau_m, init_angles_deg=(),
                                      inits=inits, probe=probe)
        still = float(np.mean(cKDTree(a_cloud.points).query(src, distance_upper_bound=cfg.fit_tau_m)[0] < np.inf))
        if fit < cfg.min_fitness or fit < still + 0.05:
            return None
        # the part can only have moved along its joint, and its grasp point to where the probe let go
        j = part.joint
        if j.type == "prismatic":
            off_axis = T[:3, 3] - (T[:3, 3] @ j.axis) * j.axis
            if rotation_angle_deg(T[:3, :3]) > 5.0 or np.linalg.norm(off_axis) > 0.02:
                return None
        else:
            from scipy.spatial.transform import Rotation

            rv = Rotation.from_matrix(T[:3, :3]).as_rotvec()
            if np.linalg.norm(rv) > 1e-6 and abs(rv @ j.axis) / np.linalg.norm(rv) < np.cos(np.radians(10)):
                return None
        if probe is not None and np.linalg.norm(_transform(T, probe[0]) - probe[1]) > 0.08:
            return None
        return part, T, fit, rmse, src

    def _match(self, src: np.ndarray, probe_point: np.ndarray | None) -> DiscoveredPart | None:
        """The known part the moved points belong to: enough of them lie on its current surface; among
        several, the one the probe touched (nearest to the probe point), else the best overlap; with
        none, the part whose estimated surface the probe point is nearest to (within 8 cm), if any."""
        scored = []
        for p in self.parts:
            if not len(p.points):
                continue
            tree = cKDTree(_transform(p.T_current, p.points))
            frac = float(np.mean(tree.query(src, distance_upper_bound=2 * self.config.fit_tau_m)[0] < np.inf))
            if frac >= self.config.match_fraction:
                gap = float(tree.query(probe_point)[0]) if probe_point is not None else np.inf
                scored.append((gap if gap < 0.05 else np.inf, -frac, p.index))
        if scored:
            return self.parts[min(scored)[2]]
        if probe_point is not None:  # the part the probe held, even if its pose estimate has drifted
            gaps = [(float(cKDTree(_transform(p.T_current, p.points)).query(probe_point)[0]), p.index)
                    for p in self.parts if len(p.points)]
            if gaps and min(gaps)[0] < 0.08:
                return self.parts[min(gaps)[1]]
        return None

    def _absorb_static(self, pts: np.ndarray) -> None:
        """Revealed static surfaces (a carcass's inside) join the base, within the base's first extent
        (what a moving part reveals outside it, such as a drawer side it failed to claim, does not)."""
        lo, hi = self.canonical_cloud0.points.min(0), self.canonical_cloud0.points.max(0)
        pts = pts[np.all((pts >= lo) & (pts <= hi), axis=1)] if len(pts) else pts
        if len(pts):
            allp = np.concatenate([self.base_points, pts])
            self.base_points = allp[voxel_downsample(allp, self.config.voxel_m)]

    def _drop_part_points_from_base(self, part: DiscoveredPart) -> None:
        d = cKDTree(part.points).query(self.base_points, distance_upper_bound=self.config.fit_tau_m)[0]
        self.base_points = self.base_points[~(d < np.inf)]

    def segmentation(self) -> tuple[np.ndarray, np.ndarray]:
        """The canonical-frame cloud: points (N, 3) and labels (N,) (-1 base, k part k)."""
        pts = [self.base_points] + [p.points for p in self.parts]
        lab = [np.full(len(self.base_points), -1)] + [np.full(len(p.points), p.index) for p in self.parts]
        return np.concatenate(pts), np.concatenate(lab).astype(np.int32)

    def summary(self) -> dict[str, Any]:
        return {"parts": [{"index": p.index, "points": int(len(p.points)), "interactions": p.interactions,
                           "joint": p.joint.to_dict() if p.joint else None} for p in self.parts],
                "base_points": int(len(self.base_points))}
