"""What changed between two graphs of the same room: moved, appeared and disappeared objects.

Objects are matched across the two visits one-to-one (Hungarian) on visual similarity, as CSR does
(allenai/CSR ``src/simulation/module_relation_tracking.py``: a Hungarian assignment on embedding cosine,
accepted above ``cos_sim_match_threshold``, 0.5 per the paper's setting), with a small bonus for being
close so that look-alikes (two equal chairs) pair with their nearer twin. A matched pair whose centres
are more than ``move_tol_m`` apart has moved.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from embodied.scene_graph.association import cosine_matrix
from embodied.scene_graph.graph import SceneGraph

__all__ = ["Moved", "ChangeReport", "diff_graphs"]


@dataclass(frozen=True)
class Moved:
    """A node of the first graph (``before_id``) found at another place in the second (``after_id``)."""

    before_id: int
    after_id: int
    from_m: tuple[float, float, float]
    to_m: tuple[float, float, float]
    distance_m: float
    score: float  # visual similarity of the pair


@dataclass
class ChangeReport:
    """``moved``; ``appeared`` / ``disappeared``: (node id, score = 1 - best similarity on the other side)."""

    moved: list[Moved] = field(default_factory=list)
    appeared: list[tuple[int, float]] = field(default_factory=list)
    disappeared: list[tuple[int, float]] = field(default_factory=list)
    unchanged: list[tuple[int, int]] = field(default_factory=list)


def diff_graphs(before: SceneGraph, after: SceneGraph, move_tol_m: float = 0.2, min_similarity: float = 0.5,
                proximity_bonus: float = 0.1, proximity_scale_m: float = 1.0) -> ChangeReport:
    """Changes from ``before`` to ``after``.

    Args:
        move_tol_m: centres further apart than this have moved.
        min_similarity: pairs with a lower embedding cosine are not the same object (CSR: 0.5).
        proximity_bonus, proximity_scale_m: the assignment maximises
            ``cosine + proximity_bonus * exp(-distance / proximity_scale_m)``.
    """
    report = ChangeReport()
    a, b = before.nodes, after.nodes
    if a and b:
        vis = cosine_matrix(np.stack([n.embedding for n in a]), np.stack([n.embedding for n in b]))
        ca, cb = np.stack([n.center_m for n in a]), np.stack([n.center_m for n in b])
        dist = np.linalg.norm(ca[:, None] - cb[None], axis=2)
        gain = np.where(vis > min_similarity, vis + proximity_bonus * np.exp(-dist / proximity_scale_m), 0.0)
        rows, cols = linear_sum_assignment(gain, maximize=True)
        pairs = [(int(r), int(c)) for r, c in zip(rows, cols) if vis[r, c] > min_similarity]
    else:
        vis, dist, pairs = np.zeros((len(a), len(b))), np.zeros((len(a), len(b))), []
    for r, c in pairs:
        if dist[r, c] > move_tol_m:
            report.moved.append(Moved(a[r].node_id, b[c].node_id, tuple(float(x) for x in a[r].center_m),
                                      tuple(float(x) for x in b[c].center_m), float(dist[r, c]), float(vis[r, c])))
        else:
            report.unchanged.append((a[r].node_id, b[c].node_id))
    matched_a, matched_b = {r for r, _ in pairs}, {c for _, c in pairs}
    report.disappeared = [(n.node_id, float(1 - (vis[k].max() if len(b) else 0.0)))
                          for k, n in enumerate(a) if k not in matched_a]
    report.appeared = [(n.node_id, float(1 - (vis[:, k].max() if len(a) else 0.0)))
                       for k, n in enumerate(b) if k not in matched_b]
    return report

