"""Scoring a discovered articulated model against ground truth: parts matched by 3D IoU, then joints.

* **Part 3D IoU**: both parts as occupied voxels of ``voxel_m`` (2 cm) in the canonical frame; the
  prediction is its aggregated points. Two references: the part's *visible surface* (what the cameras
  can see of it anywhere in its range, :meth:`sims.articulated.ArticulatedSimulator.observable_truth`;
  the headline ``iou``), and its *full* mesh surface (``iou_full``: what no camera could ever see, such
  as the outside of a drawer's back inside the carcass, counts against the prediction, as in Ditto's
  and PARIS's mesh IoU, which reconstruct complete shapes with learned or optimised priors).
* **Matching**: Hungarian assignment (scipy) on IoU; a pair with IoU below ``min_iou`` is not a match.
  A true part is *found* when it is matched.
* **Joints** of matched pairs: type accuracy, axis angle error (degrees, sign ignored), pivot error
  (cm, distance between the axis lines; revolute parts only), see :mod:`embodied.articulation.joints`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from embodied.articulation.joints import JointEstimate, axis_angle_error_deg, line_distance_m

__all__ = ["TruePart", "sample_surface", "voxel_keys", "voxel_iou", "evaluate_parts", "summarize_articulation"]


@dataclass
class TruePart:
    """A ground-truth part at the canonical state: joint type, axis (3,), pivot_m (3,), reference points (N, 3)
    for the IoU (its visible surface), and optionally its full mesh surface (M, 3) for a second IoU."""

    name: str
    type: str
    axis: np.ndarray
    pivot_m: np.ndarray
    points: np.ndarray
    full_points: np.ndarray | None = None


def sample_surface(vertices: np.ndarray, faces: np.ndarray, spacing_m: float, seed: int = 0) -> np.ndarray:
    """About one point per ``spacing_m``^2 of the mesh's area, uniformly at random (seeded), (N, 3)."""
    tri = np.asarray(vertices, np.float64)[np.asarray(faces)]
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    n = int(np.clip(area.sum() / spacing_m**2, 1, 2_000_000))
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(tri), n, p=area / area.sum()) if area.sum() > 0 else rng.integers(len(tri), size=n)
    r1, r2 = np.sqrt(rng.random(n)), rng.random(n)
    t = tri[idx]
    return (1 - r1)[:, None] * t[:, 0] + (r1 * (1 - r2))[:, None] * t[:, 1] + (r1 * r2)[:, None] * t[:, 2]


def voxel_keys(points: np.ndarray, voxel_m: float) -> set[tuple[int, int, int]]:
    """The set of occupied voxel indices."""
    if len(points) == 0:
        return set()
    return set(map(tuple, np.unique(np.floor(np.asarray(points) / voxel_m).astype(np.int64), axis=0)))


def voxel_iou(a: np.ndarray, b: np.ndarray, voxel_m: float = 0.02) -> float:
    """IoU of the voxels two point sets occupy (0 when both are empty)."""
    ka, kb = voxel_keys(a, voxel_m), voxel_keys(b, voxel_m)
    union = len(ka | kb)
    return len(ka & kb) / union if union else 0.0


def evaluate_parts(pred: list[tuple[np.ndarray, JointEstimate | None]], truth: list[TruePart],
                   voxel_m: float = 0.02, min_iou: float = 0.05) -> dict[str, Any]:
    """Match predicted parts (canonical points, joint) to true parts and score them.

    Returns a dict with per-true-part rows (``parts``: found, iou, type_correct, axis_error_deg,
    pivot_error_cm) and the object's aggregates (``n_true``, ``n_pred``, ``n_found``, ``mean_iou`` over
    true parts, unfound ones counting 0).
    """
    from scipy.optimize import linear_sum_assignment

    ious = np.array([[voxel_iou(p, t.points, voxel_m) for t in truth] for p, _ in pred]).reshape(len(pred), len(truth))
    match: dict[int, int] = {}
    if ious.size:
        rows, cols = linear_sum_assignment(-ious)
        match = {int(c): int(r) for r, c in zip(rows, cols) if ious[r, c] >= min_iou}
    parts = []
    for ti, t in enumerate(truth):
        row: dict[str, Any] = {"name": t.name, "type": t.type, "found": ti in match, "iou": 0.0}
        if t.full_points is not None:
            row["iou_full"] = 0.0
        if ti in match:
            pi = match[ti]
            j = pred[pi][1]
            row.update(pred_index=pi, iou=float(ious[pi, ti]))
            if t.full_points is not None:
                row["iou_full"] = voxel_iou(pred[pi][0], t.full_points, voxel_m)
            if j is not None:
                row.update(pred_type=j.type, type_correct=j.type == t.type,
                           axis_error_deg=axis_angle_error_deg(j.axis, t.axis))
                if t.type == "revolute" and j.type == "revolute":
                    row["pivot_error_cm"] = 100.0 * line_distance_m(j.pivot_m, j.axis, t.pivot_m, t.axis)
        parts.append(row)
    return {"parts": parts, "n_true": len(truth), "n_pred": len(pred), "n_found": len(match),
            "mean_iou": float(np.mean([r["iou"] for r in parts])) if parts else float("nan")}


def summarize_articulation(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Aggregate per-object results (rows of ``embodied articulate``'s results.jsonl).

    Failed objects (status != "ok") count with none of their parts found. Reported: joint-type accuracy
    over found parts, median axis error (deg) and median pivot error (cm, revolute) over found parts with
    a joint, mean part IoU over all true parts, found fraction, mean interactions.
    """
    ok = [r for r in rows if r.get("status") == "ok"]
    parts = [p for r in ok for p in r["eval"]["parts"]]
    found = [p for p in parts if p["found"] and "type_correct" in p]
    n_true = sum(r["eval"]["n_true"] for r in ok) + sum(int(r.get("n_true", 0)) for r in rows if r.get("status") != "ok")
    axis = [p["axis_error_deg"] for p in found]
    pivot = [p["pivot_error_cm"] for p in found if "pivot_error_cm" in p]

    def med(x):
        return float(np.median(x)) if x else float("nan")

    return {
        "objects": len(rows), "objects_ok": len(ok), "objects_failed": len(rows) - len(ok),
        "parts_true": n_true, "parts_found": sum(1 for p in parts if p["found"]),
        "found_rate": sum(1 for p in parts if p["found"]) / n_true if n_true else float("nan"),
        "joint_type_accuracy": float(np.mean([p["type_correct"] for p in found])) if found else float("nan"),
        "axis_error_deg_median": med(axis), "pivot_error_cm_median": med(pivot),
        "part_iou_mean": float(np.sum([p["iou"] for p in parts]) / n_true) if n_true else float("nan"),
        "part_iou_full_mean": float(np.sum([p.get("iou_full", 0.0) for p in parts]) / n_true) if n_true else float("nan"),
        "interactions_mean": float(np.mean([r["interactions"] for r in ok])) if ok else float("nan"),
        "inference_s_mean": float(np.mean([s for r in ok for s in r.get("inference_s", [])] or [np.nan])),
    }
