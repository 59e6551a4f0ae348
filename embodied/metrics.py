"""Navigation metrics exactly as habitat-lab defines them.

* Success: the agent called STOP with ``distance_to_goal < success_distance_m`` (habitat-lab
  ``habitat/tasks/nav/nav.py`` Success: ``distance_to_target < success_distance``), or by a
  simulator's own rule (RoboTHOR: the target visible at STOP) when the caller gives ``success``.
* SPL = Success * l / max(p, l), with l the shortest geodesic path length from the start to the
  goal (habitat-lab: DistanceToGoal measured at reset, not the episode file's value) and p the
  length of the 3-D path the agent walked.
* SoftSPL = max(0, 1 - d_T / d_0) * l / max(p, l), with d_T the final and d_0 the initial
  geodesic distance to the goal (habitat-lab's SoftSPL uses d_0 as the shortest length l).
* DistanceToGoal = d_T.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["EpisodeMetrics", "path_length", "spl", "soft_spl", "episode_metrics", "summarize"]


def path_length(positions_m: np.ndarray | Sequence[Sequence[float]]) -> float:
    """Sum of segment lengths of a (N, 2) or (N, 3) polyline (0 for fewer than 2 points)."""
    p = np.asarray(positions_m, dtype=np.float64)
    if len(p) < 2:
        return 0.0
    return float(np.linalg.norm(np.diff(p, axis=0), axis=1).sum())


def spl(success: bool, shortest_m: float, path_m: float) -> float:
    """Success weighted by (normalized inverse) Path Length."""
    if not success:
        return 0.0
    denom = max(path_m, shortest_m)
    return 1.0 if denom <= 0 else shortest_m / denom


def soft_spl(distance_to_goal_m: float, start_distance_m: float, path_m: float) -> float:
    """habitat-lab's SoftSPL: progress towards the goal times path efficiency."""
    if not (math.isfinite(distance_to_goal_m) and math.isfinite(start_distance_m)) or start_distance_m <= 0:
        return 0.0
    progress = max(0.0, 1.0 - distance_to_goal_m / start_distance_m)
    return progress * start_distance_m / max(start_distance_m, path_m)


@dataclass(frozen=True)
class EpisodeMetrics:
    success: float
    spl: float
    soft_spl: float
    distance_to_goal_m: float
    path_length_m: float
    shortest_path_m: float
    steps: int
    collisions: int

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def episode_metrics(*, called_stop: bool, distance_to_goal_m: float, start_distance_m: float,
                    positions_m: np.ndarray | Sequence[Sequence[float]], steps: int, collisions: int = 0,
                    success_distance_m: float = 0.1, shortest_path_m: float | None = None,
                    success: bool | None = None) -> EpisodeMetrics:
    """All metrics of one finished episode.

    Args:
        called_stop: the agent ended with STOP (running out of steps is not a success).
        distance_to_goal_m: final geodesic distance to the goal (d_T).
        start_distance_m: initial geodesic distance to the goal (d_0).
        positions_m: the agent's positions (N, 2|3), start included.
        shortest_path_m: l; defaults to ``start_distance_m`` as in habitat-lab.
        success: the simulator's own verdict at STOP (e.g. RoboTHOR's visibility rule); None = by
            distance, ``called_stop and distance_to_goal_m < success_distance_m``.
    """
    shortest = start_distance_m if shortest_path_m is None else shortest_path_m
    p = path_length(positions_m)
    if success is None:
        success = called_stop and distance_to_goal_m < success_distance_m
    success = bool(called_stop and success)
    return EpisodeMetrics(
        success=float(success), spl=spl(success, shortest, p), soft_spl=soft_spl(distance_to_goal_m, start_distance_m, p),
        distance_to_goal_m=float(distance_to_goal_m), path_length_m=p, shortest_path_m=float(shortest),
        steps=int(steps), collisions=int(collisions),
    )


def summarize(results: Iterable[Mapping[str, float] | EpisodeMetrics]) -> dict[str, float]:
    """Mean of every metric over episodes (plus ``episodes``, the count)."""
    rows = [r.to_dict() if isinstance(r, EpisodeMetrics) else dict(r) for r in results]
    if not rows:
        return {"episodes": 0}
    keys = [k for k in EpisodeMetrics.__dataclass_fields__ if all(k in r for r in rows)]
    out = {k: float(np.mean([r[k] for r in rows])) for k in keys}
    out["episodes"] = len(rows)
    return out
