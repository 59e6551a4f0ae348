"""Interaction policies for Structure from Action: where to act, which way, and when to stop.

Both policies see only the agent's own model (:class:`embodied.articulation.ArticulationEstimator`:
the fused cloud of the current state and the parts found so far) and the outcome of their own
interactions.

:class:`SfaAgent` scores candidate contact points on the current cloud:

* **handles**: a point standing 1.2-6 cm proud of a panel facing the same way that surrounds it (the
  bar of a handle, a knob) is where parts are meant to be moved from; where no handle stands out (small
  knobs on scanned or PartNet-Mobility meshes), flat front surfaces facing the cameras, since the probe
  can grasp a door or drawer front anywhere;
* **lower first**: an opened drawer hides the handles below it from cameras that look down;
* **not yet explained**: points on or near a found part, and points near an earlier interaction
  that tried the same direction, are skipped;
* **directions** are tried in order of how often furniture opens that way: pull along the outward
  normal (drawers, side doors), pull up (lids, flaps), pull sideways (sliding doors), push in.

When an interaction reveals a new part, the next ones continue that part's motion along its estimated
joint (the tangent of the arc for a revolute part, the axis for a prismatic one), which reveals more of
its range and of its inside (a drawer's interior) and refines the joint. A handle that does not give is
retried upwards and sideways. The agent stops after ``budget`` interactions or ``patience`` exploratory
interactions in a row that found nothing.

:class:`RandomInteractionAgent` is the baseline: a random visible point, push or pull, along the normal,
against it, or in a random direction.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.spatial import cKDTree

from embodied.articulation.estimator import ArticulationEstimator, UpdateReport
from embodied.articulation.fusion import voxel_downsample
from embodied.articulation.types import Interaction
from embodied.errors import ConfigError

__all__ = ["SfaAgentConfig", "SfaAgent", "RandomInteractionAgent", "handle_scores"]

_DIRECTIONS = (("pull", "normal", 1.0), ("pull", "up", 0.6), ("pull", "side+", 0.45), ("pull", "side-", 0.45),
               ("push", "in", 0.3))


@dataclass(frozen=True)
class SfaAgentConfig:
    """Settings of :class:`SfaAgent` (metres).

    Attributes:
        budget: most interactions per object; patience: stop after this many in a row that moved nothing.
        distance_m: how far each push or pull goes.
        extend, extend_revolute: interactions that continue a newly found prismatic / revolute part along
            its joint, each ``extend_distance_m`` (a door must swing further than a drawer slides before
            its inside shows).
        candidate_voxel_m: spacing of candidate contact points.
        handle_radius_m: neighbourhood of the handle test; tried_radius_m: an earlier attempt this close
            with the same direction rules a candidate out; part_margin_m: so does the bounding box of a found part (in its frame) grown by this.
        low_first: how much lower candidates are preferred (0: not at all; 0.4: the top scores 40 % less),
            since an opened part hides the places below it from cameras looking down.
        facing_weight: weight of flat, camera-facing surfaces (the cue where no handle stands out, as on
            scanned or PartNet meshes with small knobs).
        retry_handle: an exploratory pull at a point with at least this handle score (or, before any part is
            found, this much flat camera-facing surface) that moves nothing is retried there in the next two
            directions.
        seed: breaks ties between equal candidates.
    """

    budget: int = 10
    patience: int = 4
    distance_m: float = 0.15
    extend: int = 1
    extend_revolute: int = 2
    extend_distance_m: float = 0.25
    candidate_voxel_m: float = 0.012
    handle_radius_m: float = 0.05
    tried_radius_m: float = 0.08
    part_margin_m: float = 0.04
    low_first: float = 0.4
    retry_handle: float = 0.15
    facing_weight: float = 0.15
    seed: int = 0

    def __post_init__(self) -> None:
        if self.budget < 1 or self.patience < 1 or min(self.extend, self.extend_revolute) < 0:
            raise ConfigError("budget and patience must be >= 1, extend and extend_revolute >= 0")
        if not 0 < self.distance_m <= 1:
            raise ConfigError("distance_m must be in (0, 1]")


def handle_scores(points: np.ndarray, normals: np.ndarray, cloud_pts: np.ndarray, cloud_normals: np.ndarray,
                  radius_m: float = 0.05) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Handle-likeness, surface normal and flatness of each candidate point (N, 3), in one pass over its
    neighbours in the cloud (within ``radius_m``).

    Returns (score (N,), normal (N, 3), flat (N,)):
    - score: the fraction of neighbours lying 1.2-6 cm behind the point on a surface facing the same way,
      times how evenly that surface surrounds it (near 1 on the bar of a handle; 0 on a flat panel; low on
      an edge, which has the surface behind it on one side only);
    - normal: the mean normal of those neighbours when there are any (the panel a handle sits on, which is
      the direction it opens along), else the point's own;
    - flat: the fraction of neighbours whose normal is within 25 degrees of that normal (1 inside a face,
      about half on an edge).
    """
    tree = cKDTree(cloud_pts)
    score = np.zeros(len(points))
    flat = np.zeros(len(points))
    smooth = normals.copy()
    for i, nb in enumerate(tree.query_ball_point(points, radius_m)):
        if len(nb) < 5:
            continue
        nb = np.asarray(nb)
        cos = cloud_normals[nb] @ normals[i]
        depth = (points[i] - cloud_pts[nb]) @ normals[i]
        behind = (cos > 0.95) & (depth > 0.012) & (depth < 0.06)
        if behind.any():
            off = cloud_pts[nb[behind]] - points[i]
            off -= np.outer(off @ normals[i], normals[i])
            surround = 1.0 - min(1.0, float(np.linalg.norm(off.mean(0))) / (0.5 * radius_m))
            score[i] = np.mean(behind) * surround
            n = cloud_normals[nb[behind]].mean(0)
            smooth[i] = n / np.linalg.norm(n)
        flat[i] = float(np.mean(cloud_normals[nb] @ smooth[i] > 0.9))
    return score, smooth, flat


def _tangent(normal: np.ndarray) -> np.ndarray:
    t = np.cross([0.0, 0.0, 1.0], normal)
    if np.linalg.norm(t) < 1e-6:
        t = np.array([0.0, 1.0, 0.0])
    return t / np.linalg.norm(t)


def _direction(name: str, normal: np.ndarray) -> np.ndarray:
    if name == "normal":
        return normal
    if name == "in":
        return -normal
    if name == "up":
        return np.array([0.0, 0.0, 1.0])
    t = _tangent(normal)
    return t if name == "side+" else -t


@dataclass
class _State:
    steps: int = 0
    misses: int = 0
    tried: list[tuple[np.ndarray, str]] = field(default_factory=list)
    queue: list[tuple[str, Interaction]] = field(default_factory=list)  # (why, interaction)
    extended: dict[int, int] = field(default_factory=dict)
    last: tuple[str, float] = ("explore", 0.0)  # why the last interaction was chosen, its handle score


class SfaAgent:
    """The Structure-from-Action interaction policy (see the module docstring)."""

    def __init__(self, config: SfaAgentConfig = SfaAgentConfig()) -> None:
        self.config = config
        self.reset()

    def reset(self) -> None:
        self._s = _State()
        self._rng = np.random.default_rng(self.config.seed)

    @property
    def done(self) -> bool:
        return self._s.steps >= self.config.budget or self._s.misses >= self.config.patience

    def act(self, est: ArticulationEstimator) -> Interaction | None:
        """The next interaction, or None to stop."""
        if self.done:
            return None
        if self._s.queue:
            why, inter = self._s.queue.pop(0)
            self._s.last = (why, self._s.last[1])
            if why == "retry":  # the place may have shifted a little: probe the surface that is there now
                d, i = cKDTree(est.cloud.points).query(inter.point_m)
                if d < 0.03:
                    inter = Interaction(inter.kind, est.cloud.points[i], inter.direction, inter.normal,
                                        inter.distance_m)
            return inter
        cfg = self.config
        cloud = est.cloud
        keep = voxel_downsample(cloud.points, cfg.candidate_voxel_m)
        pts, nrm = cloud.points[keep], cloud.normals[keep]
        ok = nrm[:, 2] > -0.5  # the probe comes from the cameras' side, not from below
        for part in est.parts:  # skip what is explained: the box of each found part, in its own frame
            if len(part.points):
                T_inv = np.linalg.inv(part.T_current)
                local = pts @ T_inv[:3, :3].T + T_inv[:3, 3]
                lo, hi = part.points.min(0) - cfg.part_margin_m, part.points.max(0) + cfg.part_margin_m
                ok &= ~np.all((local >= lo) & (local <= hi), axis=1)
        if not ok.any():
            return None
        pts, nrm = pts[ok], nrm[ok]
        handle, nrm_panel, flat = handle_scores(pts, nrm, cloud.points, cloud.normals, cfg.handle_radius_m)
        # without handles to go by: flat faces that look at the cameras (a door or drawer front can be
        # grasped anywhere), not edges or sides
        eyes = np.array([v.T_world_cam[:3, 3] for v in est.last_views.views])
        to_eye = eyes.mean(0) - pts
        to_eye /= np.linalg.norm(to_eye, axis=1, keepdims=True)
        dist = np.linalg.norm(eyes.mean(0) - pts, axis=1)
        near = 1.0 - (dist - dist.min()) / max(float(np.ptp(dist)), 1e-6)  # the front, not an inside seen through
        facing = np.clip(np.einsum("ij,ij->i", nrm_panel, to_eye), 0.0, 1.0) * near * flat
        nrm = nrm_panel
        best, best_score, best_name, best_handle = None, -np.inf, "", 0.0
        jitter = self._rng.random(len(pts)) * 1e-3
        # lower places first: an opened drawer hides the handles below it from cameras looking down
        z = pts[:, 2]
        low = 1.0 - cfg.low_first * (z - z.min()) / max(float(np.ptp(z)), 1e-6)
        for kind, dname, prior in _DIRECTIONS:
            usable = np.abs(nrm[:, 2]) < 0.7 if dname == "up" else np.ones(len(pts), bool)
            for p, d in self._s.tried:
                if d == dname:
                    usable &= np.linalg.norm(pts - p, axis=1) > cfg.tried_radius_m
            if not usable.any():
                continue
            score = np.where(usable, prior * (0.1 + handle + cfg.facing_weight * facing) * low + jitter, -np.inf)
            i = int(np.argmax(score))
            if score[i] > best_score:
                best_score, best_name = score[i], dname
                best_handle = max(float(handle[i]), float(facing[i]) if not est.parts else 0.0)
                best = Interaction(kind, pts[i], _direction(dname, nrm[i]), nrm[i], cfg.distance_m)
        if best is None:
            return None
        self._s.tried.append((best.point_m, best_name))
        self._s.last = ("explore", best_handle)
        return best

    def feedback(self, interaction: Interaction, touched: bool, report: UpdateReport,
                 est: ArticulationEstimator) -> None:
        """Learn from the outcome.

        A part that moved is continued along its joint (``extend`` times). An exploratory pull at a
        handle, or one that stirred something, that revealed no part is retried at the same place in the
        next two directions (a lid's handle opens upwards, a sliding door's sideways). Misses (nothing
        found) count towards ``patience``; a continuation that no longer moves its part (a limit) does not.
        """
        self._s.steps += 1
        why, handle = self._s.last
        if report.moved and report.part is not None:
            self._s.misses = 0
            n = 0 if report.new_part else self._s.extended.get(report.part, 0) + 1
            self._s.extended[report.part] = n
            part = est.parts[report.part]
            limit = self.config.extend_revolute if part.joint is not None and part.joint.type == "revolute" \
                else self.config.extend
            nxt = self._continue(part, interaction) if n < limit else None
            self._s.queue = [("continue", nxt)] if nxt is not None else []
            return
        if why == "continue":
            return
        self._s.misses += 1
        stirred = report.reason not in ("nothing moved", "only scattered changes", "")
        if why == "explore" and touched and (stirred or handle >= self.config.retry_handle):
            n = interaction.normal
            names = [d for _, d, _ in _DIRECTIONS[1:4] if d != "up" or abs(n[2]) < 0.7][:2]
            self._s.queue = [("retry", Interaction("pull", interaction.point_m, _direction(d, n), n,
                                                   interaction.distance_m)) for d in names]
            self._s.tried += [(interaction.point_m, d) for d in names]

    def _continue(self, part, interaction: Interaction) -> Interaction | None:
        j = part.joint
        if j is None:
            return None
        prev = part.motions[-2] if len(part.motions) > 1 else np.eye(4)
        T = part.T_current @ np.linalg.inv(prev)  # what the last interaction did to the part
        p = T[:3, :3] @ interaction.point_m + T[:3, 3]
        moved = p - interaction.point_m
        if j.type == "prismatic":
            d = j.axis * (1.0 if moved @ j.axis >= 0 else -1.0)
        else:
            d = np.cross(j.axis, p - j.pivot_m)
            if np.linalg.norm(d) < 1e-6:
                return None
            d = d / np.linalg.norm(d) * (1.0 if d @ moved >= 0 else -1.0)
        n = T[:3, :3] @ interaction.normal
        return Interaction("pull" if interaction.kind == "pull" else "push", p, d, n, self.config.extend_distance_m)


class RandomInteractionAgent:
    """Baseline: a random point of the current cloud, push or pull, along the normal, against it or anywhere."""

    def __init__(self, config: SfaAgentConfig = SfaAgentConfig()) -> None:
        self.config = config
        self.reset()

    def reset(self) -> None:
        self._rng = np.random.default_rng(self.config.seed)
        self._steps = 0

    def act(self, est: ArticulationEstimator) -> Interaction | None:
        if self._steps >= self.config.budget:
            return None
        cloud = est.cloud
        i = int(self._rng.integers(len(cloud)))
        n = cloud.normals[i]
        choice = int(self._rng.integers(3))
        d = n if choice == 0 else -n if choice == 1 else self._rng.normal(size=3)
        kind = "pull" if self._rng.random() < 0.5 else "push"
        return Interaction(kind, cloud.points[i], d, n, self.config.distance_m)

    def feedback(self, interaction: Interaction, touched: bool, report: UpdateReport,
                 est: ArticulationEstimator) -> None:
        self._steps += 1
