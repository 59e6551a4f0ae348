"""What changed between two graphs of the same room: moved, appeared and disappeared objects.

Objects are matched across the two visits one-to-one (Hungarian) on visual similarity, as CSR does
(allenai/CSR ``src/simulation/module_relation_tracking.py``: a Hungarian assignment on embedding cosine,
accepted above ``cos_sim_match_threshold``, 0.5 per the paper's setting), in two stages:

1. *unchanged first*: pairs within ``stay_tol_m`` of each other that look alike (cosine above the
   threshold) are matched (Hungarian on cosine among them) and are unchanged;
2. the rest are matched on cosine plus a small bonus for being close (so look-alikes pair with the
   nearer twin); a pair further apart than ``move_tol_m`` has moved. A leftover node mostly inside
   the box of a node of its own graph matched in stage 1 (a duplicate node of an object that stayed)
   takes no part: it has not moved, appeared or disappeared.

CSR's single assignment lets a look-alike that stayed (one of several mugs) be paired with a moved one
across the room when that raises the total similarity; matching what stayed first rules that out.
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
                proximity_bonus: float = 0.1, proximity_scale_m: float = 1.0, stay_tol_m: float = 0.08) -> ChangeReport:
    """Changes from ``before`` to ``after``.

    Args:
        move_tol_m: centres further apart than this have moved.
        stay_tol_m: look-alikes this close are matched first, as unchanged (smaller than ``move_tol_m``:
            a moved object may land next to a look-alike that stayed).
        min_similarity: pairs with a lower embedding cosine are not the same object (CSR: 0.5).
        proximity_bonus, proximity_scale_m: the assignment maximises
            ``cosine + proximity_bonus * exp(-distance / proximity_scale_m)``.
    """
    report = ChangeReport()
    a, b = before.nodes, after.nodes
    pairs: list[tuple[int, int]] = []
    if a and b:
        vis = cosine_matrix(np.stack([n.embedding for n in a]), np.stack([n.embedding for n in b]))
        ca, cb = np.stack([n.center_m for n in a]), np.stack([n.center_m for n in b])
        dist = np.linalg.norm(ca[:, None] - cb[None], axis=2)
        alike = vis > min_similarity
        near = alike & (dist <= min(stay_tol_m, move_tol_m))
        rows, cols = linear_sum_assignment(np.where(near, vis, 0.0), maximize=True)
        pairs = [(int(r), int(c)) for r, c in zip(rows, cols) if near[r, c]]
        skip_a = _duplicates(a, {r for r, _ in pairs})
        skip_b = _duplicates(b, {c for _, c in pairs})
        left_a = [i for i in range(len(a)) if i not in {r for r, _ in pairs} | skip_a]
        left_b = [j for j in range(len(b)) if j not in {c for _, c in pairs} | skip_b]
        if left_a and left_b:
            sub = np.ix_(left_a, left_b)
            gain = np.where(alike[sub], vis[sub] + proximity_bonus * np.exp(-dist[sub] / proximity_scale_m), 0.0)
            rows, cols = linear_sum_assignment(gain, maximize=True)
            pairs += [(left_a[r], left_b[c]) for r, c in zip(rows, cols) if alike[left_a[r], left_b[c]]]
    else:
        vis, dist, skip_a, skip_b = np.zeros((len(a), len(b))), np.zeros((len(a), len(b))), set(), set()
    for r, c in pairs:
        if dist[r, c] > move_tol_m:
            report.moved.append(Moved(a[r].node_id, b[c].node_id, tuple(float(x) for x in a[r].center_m),
                                      tuple(float(x) for x in b[c].center_m), float(dist[r, c]), float(vis[r, c])))
        else:
            report.unchanged.append((a[r].node_id, b[c].node_id))
    matched_a, matched_b = {r for r, _ in pairs}, {c for _, c in pairs}
    report.disappeared = [(n.node_id, float(1 - (vis[k].max() if len(b) else 0.0)))
                          for k, n in enumerate(a) if k not in matched_a and k not in skip_a]
    report.appeared = [(n.node_id, float(1 - (vis[:, k].max() if len(a) else 0.0)))
                       for k, n in enumerate(b) if k not in matched_b and k not in skip_b]
    return report



def _duplicates(nodes: list, matched: set[int], inside: float = 0.5) -> set[int]:
    """Indices of unmatched nodes whose box lies mostly (share of its volume > ``inside``) within the
    box of a matched node of the same graph."""
    if not matched:
        return set()
    boxes = [n.box_m for n in nodes]
    out = set()
    for i, (lo, hi) in enumerate(boxes):
        if i in matched:
            continue
        vol = float(np.prod(np.maximum(hi - lo, 1e-3)))
        for j in matched:
            mlo, mhi = boxes[j]
            inter = float(np.prod(np.clip(np.minimum(hi, mhi) - np.maximum(lo, mlo), 0.0, None)))
            if inter / vol > inside:
                out.add(i)
                break
    return out
