"""AI2-THOR Rearrangement (RoomR) pose comparison, pose energy and episode metrics, in pure numpy.

Faithful to the reference implementation in ``allenai/ai2thor-rearrangement``:

* ``rearrange_constants.py``: the thresholds ``IOU_THRESHOLD``, ``OPENNESS_THRESHOLD`` and
  ``POSITION_DIFF_BARRIER``.
* ``rearrange/environment.py``, ``RearrangeTHOREnvironment.compare_poses`` /
  ``pose_difference_energy`` / ``are_poses_equal``: how two poses of one object are compared.
* ``rearrange/tasks.py``, ``UnshuffleTask.metrics``: the episode metrics (success, % fixed,
  % fixed strict, % misplaced, energy remaining).
* ``rearrange/utils.py``, ``iou_box_3d``: 3D box IoU (the reference samples 13^3 points; ours is exact
  because objects in this toolkit only rotate about +Z).

Deliberate differences: our objects cannot break, so the reference's ``broken`` handling (energy 1, IoU
``None``) does not exist here; every object has a box, so the reference's "no bounding box" branch (IoU
``None``) does not exist either; and instead of asserting, bad input raises
:class:`~embodied.errors.ConfigError`.

World frame: right-handed, Z up, metres.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from embodied.errors import ConfigError

__all__ = [
    "IOU_THRESHOLD",
    "OPENNESS_THRESHOLD",
    "POSITION_DIFF_BARRIER_M",
    "ObjectPose",
    "PoseDifference",
    "RearrangeMetrics",
    "box_iou_3d",
    "ChangeDetection",
    "change_detection",
    "f1_score",
    "compare_poses",
    "pose_energy",
    "poses_equal",
    "rearrangement_metrics",
]

# ai2thor-rearrangement, rearrange_constants.py: IOU_THRESHOLD, OPENNESS_THRESHOLD, POSITION_DIFF_BARRIER.
IOU_THRESHOLD = 0.5
OPENNESS_THRESHOLD = 0.2
POSITION_DIFF_BARRIER_M = 2.0

# ai2thor-rearrangement, rearrange/environment.py, RearrangeTHOREnvironment.compare_poses: the IoU is taken
# as 1 without computing it when the centres are < 1e-2 m apart and the rotations < 10 degrees apart.
_SHORT_CIRCUIT_POSITION_M = 1e-2
_SHORT_CIRCUIT_ROTATION_DEG = 10.0


def _float_tuple(name: str, object_id: str, values: Any) -> tuple[float, float, float]:
    try:
        out = tuple(float(v) for v in values)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"object {object_id!r}: {name} must be 3 numbers, got {values!r}") from exc
    if len(out) != 3 or not all(math.isfinite(v) for v in out):
        raise ConfigError(f"object {object_id!r}: {name} must be 3 finite numbers, got {values!r}")
    return out  # type: ignore[return-value]


@dataclass(frozen=True)
class ObjectPose:
    """Pose of one object for scoring.

    Attributes:
        object_id: unique within a scene; the key that matches goal, start and end poses.
        category: object type (the reference's ``type``); compared poses must share it.
        center_m: (3,) world centre of the object's oriented 3D box.
        size_m: (3,) box extents along the object's own x, y, z axes (all > 0).
        yaw_rad: heading about +Z (the object's x axis from world +X); the only rotation objects have.
        openness: in [0, 1], or None if the object is not openable.
        pickupable: the reference's ``pickupable``; openable objects that are not pickupable are scored by
            openness only.
    """

    object_id: str
    category: str
    center_m: tuple[float, float, float]
    size_m: tuple[float, float, float]
    yaw_rad: float
    openness: float | None = None
    pickupable: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.object_id, str) or not self.object_id:
            raise ConfigError(f"object_id must be a non-empty string, got {self.object_id!r}")
        if not isinstance(self.category, str) or not self.category:
            raise ConfigError(f"object {self.object_id!r}: category must be a non-empty string")
        center = _float_tuple("center_m", self.object_id, self.center_m)
        size = _float_tuple("size_m", self.object_id, self.size_m)
        if not all(s > 0 for s in size):
            raise ConfigError(f"object {self.object_id!r}: size_m must be positive, got {size}")
        try:
            yaw = float(self.yaw_rad)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"object {self.object_id!r}: yaw_rad must be a number") from exc
        if not math.isfinite(yaw):
            raise ConfigError(f"object {self.object_id!r}: yaw_rad must be finite, got {self.yaw_rad!r}")
        openness = self.openness
        if openness is not None:
            try:
                openness = float(openness)
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"object {self.object_id!r}: openness must be a number or None") from exc
            if not (0.0 <= openness <= 1.0):  # also rejects NaN
                raise ConfigError(f"object {self.object_id!r}: openness must be in [0, 1], got {self.openness!r}")
        if not isinstance(self.pickupable, (bool, np.bool_)):
            raise ConfigError(f"object {self.object_id!r}: pickupable must be a bool, got {self.pickupable!r}")
        object.__setattr__(self, "center_m", center)
        object.__setattr__(self, "size_m", size)
        object.__setattr__(self, "yaw_rad", yaw)
        object.__setattr__(self, "openness", openness)
        object.__setattr__(self, "pickupable", bool(self.pickupable))

    def footprint_m(self) -> np.ndarray:
        """(4, 2) XY corners of the box's footprint, counter-clockwise seen from +Z."""
        hx, hy = self.size_m[0] / 2.0, self.size_m[1] / 2.0
        local = np.array([[-hx, -hy], [hx, -hy], [hx, hy], [-hx, hy]], dtype=np.float64)
        c, s = math.cos(self.yaw_rad), math.sin(self.yaw_rad)
        rot = np.array([[c, -s], [s, c]])
        return local @ rot.T + np.asarray(self.center_m[:2])

    def z_range_m(self) -> tuple[float, float]:
        """(bottom, top) heights of the box."""
        hz = self.size_m[2] / 2.0
        return self.center_m[2] - hz, self.center_m[2] + hz

    def corners_m(self) -> np.ndarray:
        """(8, 3) world corners: the 4 bottom corners counter-clockwise, then the 4 top corners above them."""
        xy = self.footprint_m()
        z0, z1 = self.z_range_m()
        return np.concatenate([np.column_stack([xy, np.full(4, z0)]), np.column_stack([xy, np.full(4, z1)])])

    def volume_m3(self) -> float:
        return float(self.size_m[0] * self.size_m[1] * self.size_m[2])

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["center_m"] = list(self.center_m)
        d["size_m"] = list(self.size_m)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ObjectPose:
        from embodied.config import config_from_dict

        return config_from_dict(cls, d)


def _cross2(o: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """z of (a - o) x (b - o); > 0 when b is left of the directed line o -> a."""
    return float((a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]))


def _clip_convex(subject: list[np.ndarray], clip: np.ndarray) -> list[np.ndarray]:
    """Sutherland-Hodgman: the part of convex polygon ``subject`` inside convex CCW polygon ``clip`` (K, 2)."""
    out = subject
    for i in range(len(clip)):
        if not out:
            break
        a, b = clip[i], clip[(i + 1) % len(clip)]
        inp, out = out, []
        for j in range(len(inp)):
            p, q = inp[j], inp[(j + 1) % len(inp)]
            dp, dq = _cross2(a, b, p), _cross2(a, b, q)
            if dp >= 0:
                out.append(p)
            if (dp >= 0) != (dq >= 0):  # the edge p -> q crosses the clip line
                t = dp / (dp - dq)
                out.append(p + t * (q - p))
    return out


def _polygon_area(poly: Sequence[np.ndarray]) -> float:
    """Shoelace area of a simple polygon (absolute value, 0 for fewer than 3 vertices)."""
    if len(poly) < 3:
        return 0.0
    p = np.asarray(poly, dtype=np.float64)
    x, y = p[:, 0], p[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2.0)


def box_iou_3d(a: ObjectPose, b: ObjectPose) -> float:
    """Intersection over union of the oriented 3D boxes of two poses, in [0, 1].

    Exact for yaw-only boxes: the XY footprints (two rotated rectangles) are intersected with a
    Sutherland-Hodgman clip, the intersection area (shoelace) is multiplied by the overlap of the two Z
    intervals, and divided by the union volume. The reference
    (ai2thor-rearrangement, rearrange/utils.py, ``iou_box_3d``) instead estimates the intersection by testing
    13^3 = 2197 points sampled on a grid inside the second box (with a 1e-3 m tolerance), which handles
    arbitrary 3D rotations but is only accurate to about 1/13 per axis.
    """
    za0, za1 = a.z_range_m()
    zb0, zb1 = b.z_range_m()
    dz = min(za1, zb1) - max(za0, zb0)
    if dz <= 0:
        return 0.0
    inter_poly = _clip_convex(list(a.footprint_m()), b.footprint_m())
    inter = _polygon_area(inter_poly) * dz
    union = a.volume_m3() + b.volume_m3() - inter
    if union <= 0:
        return 0.0
    return float(min(max(inter / union, 0.0), 1.0))


@dataclass(frozen=True)
class PoseDifference:
    """How a current pose differs from a goal pose (ai2thor-rearrangement, rearrange/environment.py,
    ``RearrangeTHOREnvironment.compare_poses``; its ``broken`` key is absent because our objects cannot break).

    Attributes:
        iou: 3D box IoU in [0, 1]; exactly 1.0 when the short circuit applies (see :func:`compare_poses`).
            ``None`` is kept in the type for parity with the reference, but every pose here has a box.
        openness_diff: |goal openness - current openness|, or None if the object is not openable.
        position_dist_m: Euclidean distance between the two box centres.
        rotation_dist_deg: smallest absolute yaw difference, in [0, 180].
    """

    iou: float | None
    openness_diff: float | None
    position_dist_m: float
    rotation_dist_deg: float


def _rotation_dist_deg(yaw_a_rad: float, yaw_b_rad: float) -> float:
    """Smallest absolute angle between two headings, in degrees, in [0, 180]. The reference uses
    allenact's ``IThorEnvironment.angle_between_rotations`` on full 3D rotations; for yaw-only poses that is
    the wrapped yaw difference."""
    return abs(math.degrees(math.remainder(yaw_a_rad - yaw_b_rad, 2.0 * math.pi)))


def compare_poses(goal: ObjectPose, cur: ObjectPose) -> PoseDifference:
    """Compare the current pose of an object with its goal pose.

    Follows ai2thor-rearrangement, rearrange/environment.py, ``RearrangeTHOREnvironment.compare_poses``:
    the position distance is between box centres, the rotation distance is the angle between the
    rotations, and the IoU is short-circuited to exactly 1.0 when ``position_dist < 0.01`` m and
    ``rotation_dist < 10`` degrees (otherwise it is :func:`box_iou_3d`).

    Raises:
        ConfigError: the categories differ (the reference asserts ``goal_pose["type"] == cur_pose["type"]``),
            or only one of the two poses has an openness.
    """
    if goal.category != cur.category:
        raise ConfigError(f"cannot compare poses of different categories: goal {goal.object_id!r} is "
                          f"{goal.category!r}, current {cur.object_id!r} is {cur.category!r}")
    position_dist = float(np.linalg.norm(np.subtract(goal.center_m, cur.center_m)))
    rotation_dist = _rotation_dist_deg(goal.yaw_rad, cur.yaw_rad)
    if position_dist < _SHORT_CIRCUIT_POSITION_M and rotation_dist < _SHORT_CIRCUIT_ROTATION_DEG:
        iou = 1.0  # reference short circuit (compare_poses)
    else:
        iou = box_iou_3d(goal, cur)
    # Reference: openness_diff is None when both are None, else abs(goal - cur) (it would crash on one None).
    if goal.openness is None and cur.openness is None:
        openness_diff = None
    elif goal.openness is None or cur.openness is None:
        raise ConfigError(f"object {goal.object_id!r}: openness is None in one pose but not the other "
                          f"(goal {goal.openness!r}, current {cur.openness!r})")
    else:
        openness_diff = abs(goal.openness - cur.openness)
    return PoseDifference(iou=iou, openness_diff=openness_diff, position_dist_m=position_dist,
                          rotation_dist_deg=rotation_dist)


def _check_thresholds(min_iou: float, open_tol: float, pos_barrier_m: float | None = None) -> None:
    if not (0.0 < min_iou <= 1.0):
        raise ConfigError(f"min_iou must be in (0, 1], got {min_iou!r}")
    if not (open_tol >= 0.0 and math.isfinite(open_tol)):
        raise ConfigError(f"open_tol must be finite and >= 0, got {open_tol!r}")
    if pos_barrier_m is not None and not (pos_barrier_m > 0.0 and math.isfinite(pos_barrier_m)):
        raise ConfigError(f"pos_barrier_m must be finite and > 0, got {pos_barrier_m!r}")


def pose_energy(goal: ObjectPose, cur: ObjectPose, min_iou: float = IOU_THRESHOLD,
                open_tol: float = OPENNESS_THRESHOLD, pos_barrier_m: float = POSITION_DIFF_BARRIER_M) -> float:
    """Energy in [0, 1] between a goal and a current pose: 0 means "in place", 1 "very different".

    ai2thor-rearrangement, rearrange/environment.py, ``RearrangeTHOREnvironment.pose_difference_energy``:

    * pickupable objects (the reference looks at the *goal* pose's ``pickupable``) and objects without
      openness: ``0.5 * max(1 - iou / min_iou, 0) + 0.5 * d``, where ``d = 0`` if ``iou > 0`` and otherwise
      ``min(smallest corner-to-corner distance over the 8 x 8 corner pairs / pos_barrier_m, 1)``.
      Openness is ignored for these, even for a pickupable openable object.
    * openable objects that are not pickupable: ``1.0`` if ``|openness diff| > open_tol`` else ``0.0``
      (position is ignored).

    The reference returns 1.0 for a broken current pose; objects cannot break here.
    """
    _check_thresholds(min_iou, open_tol, pos_barrier_m)
    diff = compare_poses(goal, cur)
    if diff.openness_diff is None or goal.pickupable:
        iou = float(diff.iou if diff.iou is not None else 0.0)
        iou_energy = max(1.0 - iou / min_iou, 0.0)
        if iou > 0:
            position_energy = 0.0
        else:
            g, c = goal.corners_m(), cur.corners_m()
            min_corner_dist = float(np.sqrt(((g[:, None, :] - c[None, :, :]) ** 2).sum(-1)).min())
            position_energy = min(min_corner_dist / pos_barrier_m, 1.0)
        return 0.5 * iou_energy + 0.5 * position_energy
    return 1.0 if diff.openness_diff > open_tol else 0.0


def poses_equal(goal: ObjectPose, cur: ObjectPose, min_iou: float = IOU_THRESHOLD,
                open_tol: float = OPENNESS_THRESHOLD) -> bool:
    """Whether the current pose matches the goal up to the allowed error.

    ai2thor-rearrangement, rearrange/environment.py, ``RearrangeTHOREnvironment.are_poses_equal``:
    ``iou > min_iou`` (strictly, although its docstring says ``>=``) and, for openable objects,
    ``openness_diff <= open_tol``. Unlike :func:`pose_energy` this checks both IoU and openness for every
    object, so it is not the same as ``pose_energy(...) == 0``: an IoU of exactly ``min_iou`` gives energy 0
    but "not equal", and a pickupable openable object whose openness changed has energy 0 but is
    "not equal".
    """
    _check_thresholds(min_iou, open_tol)
    diff = compare_poses(goal, cur)
    iou_ok = diff.iou is None or diff.iou > min_iou
    open_ok = diff.openness_diff is None or diff.openness_diff <= open_tol
    return bool(iou_ok and open_ok)


@dataclass(frozen=True)
class RearrangeMetrics:
    """Metrics of one finished unshuffle episode (ai2thor-rearrangement, rearrange/tasks.py,
    ``UnshuffleTask.metrics``).

    Attributes:
        success: 1.0 iff the end energy is exactly 0.
        prop_fixed: num_fixed / num_initially_misplaced (1.0 when nothing was initially misplaced).
        prop_fixed_strict: prop_fixed if no object was newly misplaced, else 0.0.
        prop_misplaced: num_misplaced / num_initially_misplaced (may exceed 1); NaN when nothing was
            initially misplaced (the reference leaves the key out).
        energy_prop: end_energy / start_energy; NaN when start_energy is 0 (the reference leaves it out).
        start_energy: sum of per-object energies of the start poses against the goal.
        end_energy: sum of per-object energies of the end poses against the goal.
        num_initially_misplaced: objects with start energy > 0.
        num_fixed: initially misplaced objects whose end energy is 0.
        num_newly_misplaced: objects with end energy > 0 but start energy 0.
        num_misplaced: objects with end energy > 0.
    """

    success: float
    prop_fixed: float
    prop_fixed_strict: float
    prop_misplaced: float
    energy_prop: float
    start_energy: float
    end_energy: float
    num_initially_misplaced: int
    num_fixed: int
    num_newly_misplaced: int
    num_misplaced: int

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def _by_id(name: str, poses: Sequence[ObjectPose]) -> dict[str, ObjectPose]:
    out: dict[str, ObjectPose] = {}
    for p in poses:
        if not isinstance(p, ObjectPose):
            raise ConfigError(f"{name} poses must be ObjectPose, got {type(p).__name__}")
        if p.object_id in out:
            raise ConfigError(f"{name} poses list object_id {p.object_id!r} twice")
        out[p.object_id] = p
    return out


def rearrangement_metrics(goal: Sequence[ObjectPose], start: Sequence[ObjectPose],
                          end: Sequence[ObjectPose]) -> RearrangeMetrics:
    """Episode metrics from the goal, start (after shuffling) and end (after unshuffling) poses.

    ai2thor-rearrangement, rearrange/tasks.py, ``UnshuffleTask.metrics``: per-object energies
    (:func:`pose_energy`, default thresholds) of start vs goal and end vs goal; an object is misplaced
    when its energy is > 0. The three lists are matched by ``object_id`` (the reference pairs them by
    position in its sorted pose lists).

    Args:
        goal, start, end: (N,) poses each, with the same set of object ids.

    Raises:
        ConfigError: an id is missing from one of the lists (the message names it), an id repeats, or
            the categories of one id differ.
    """
    g, s, e = _by_id("goal", goal), _by_id("start", start), _by_id("end", end)
    ids = set(g) | set(s) | set(e)
    missing = {name: sorted(ids - set(d)) for name, d in (("goal", g), ("start", s), ("end", e))}
    missing = {name: m for name, m in missing.items() if m}
    if missing:
        parts = "; ".join(f"missing from {name}: {', '.join(m)}" for name, m in missing.items())
        raise ConfigError(f"goal, start and end poses must list the same object ids ({parts})")
    order = sorted(ids)
    start_energies = np.array([pose_energy(g[i], s[i]) for i in order], dtype=np.float64)
    end_energies = np.array([pose_energy(g[i], e[i]) for i in order], dtype=np.float64)
    start_energy, end_energy = float(start_energies.sum()), float(end_energies.sum())
    start_misplaced, end_misplaced = start_energies > 0.0, end_energies > 0.0
    num_initially_misplaced = int(start_misplaced.sum())
    num_fixed = num_initially_misplaced - int((start_misplaced & end_misplaced).sum())
    num_newly_misplaced = int((end_misplaced & ~start_misplaced).sum())
    num_misplaced = int(end_misplaced.sum())
    prop_fixed = 1.0 if num_initially_misplaced == 0 else num_fixed / num_initially_misplaced
    return RearrangeMetrics(
        success=float(end_energy == 0),
        prop_fixed=float(prop_fixed),
        prop_fixed_strict=float(prop_fixed if num_newly_misplaced == 0 else 0.0),
        prop_misplaced=num_misplaced / num_initially_misplaced if num_initially_misplaced > 0 else math.nan,
        energy_prop=end_energy / start_energy if start_energy > 0 else math.nan,
        start_energy=start_energy,
        end_energy=end_energy,
        num_initially_misplaced=num_initially_misplaced,
        num_fixed=num_fixed,
        num_newly_misplaced=num_newly_misplaced,
        num_misplaced=num_misplaced,
    )


@dataclass(frozen=True)
class ChangeDetection:
    """Moved-object detection of one episode: counts and precision / recall / F1 (NaN when undefined:
    precision with no prediction, recall with nothing moved)."""

    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else math.nan

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else math.nan

    @property
    def f1(self) -> float:
        return f1_score(self.tp, self.fp, self.fn)

    def to_dict(self) -> dict[str, float | int]:
        return {"cd_tp": self.tp, "cd_fp": self.fp, "cd_fn": self.fn, "cd_precision": self.precision,
                "cd_recall": self.recall, "cd_f1": self.f1}


def f1_score(tp: int, fp: int, fn: int) -> float:
    """2 TP / (2 TP + FP + FN); NaN when all three are 0."""
    return 2 * tp / (2 * tp + fp + fn) if (tp + fp + fn) else math.nan


def change_detection(predicted: Sequence[tuple[Sequence[float], Sequence[float]]], goal: Sequence[ObjectPose],
                     start: Sequence[ObjectPose], tol_m: float = 0.3) -> ChangeDetection:
    """Score predicted moves against the objects that were really moved (start energy > 0).

    A prediction is a (from (3,), to (3,)) pair of centres: where the object was in the walkthrough and
    where it is at the unshuffle start. It matches a moved object when both ends are within ``tol_m``
    (horizontal distance) of that object's goal and start box centres; predictions and objects are
    paired one-to-one by Hungarian assignment on the larger of the two distances.
    """
    from scipy.optimize import linear_sum_assignment

    g, s = _by_id("goal", goal), _by_id("start", start)
    moved = [i for i in sorted(g) if i in s and pose_energy(g[i], s[i]) > 0.0]
    if not predicted or not moved:
        return ChangeDetection(0, len(predicted), len(moved))
    pf = np.array([p[0] for p in predicted], float)[:, :2]
    pt = np.array([p[1] for p in predicted], float)[:, :2]
    gf = np.array([g[i].center_m for i in moved])[:, :2]
    gt = np.array([s[i].center_m for i in moved])[:, :2]
    cost = np.maximum(np.linalg.norm(pf[:, None] - gf[None], axis=2), np.linalg.norm(pt[:, None] - gt[None], axis=2))
    rows, cols = linear_sum_assignment(np.where(cost <= tol_m, cost, 1e6))
    tp = int(sum(cost[r, c] <= tol_m for r, c in zip(rows, cols)))
    return ChangeDetection(tp, len(predicted) - tp, len(moved) - tp)
