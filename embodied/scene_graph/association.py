"""Matching detections to scene-graph nodes: point overlap, visual similarity, Hungarian assignment.

Pure functions on arrays. Points are world-frame metres (see :mod:`embodied.geometry`), embeddings
are L2-normalised CLIP image features.

The scores follow ConceptGraphs (concept-graphs/concept-graphs, ``conceptgraph/slam/utils.py``
``compute_overlap_matrix_general`` and ``conceptgraph/slam/mapping.py`` ``aggregate_similarities``):
the spatial term is the share of a detection's points that lie within 2.5 cm of a node's points
(pairs whose boxes do not touch score 0 without a search), the visual term the cosine of the CLIP
features, summed as ``(1 + phys_bias) * spatial + (1 - phys_bias) * visual`` and accepted above 1.2
(their ``sim_threshold``). Where ConceptGraphs assigns each detection greedily to its best node (so two
detections of one frame can land on one node), we solve one assignment per frame with the Hungarian
method (scipy ``linear_sum_assignment``), as CSR's tracker does (allenai/CSR,
``src/simulation/module_relation_tracking.py``, ``RelationTrackingModule``), so a frame's detections stay apart.
The merge rule is ConceptGraphs' ``merge_overlap_objects``: pairs by decreasing overlap, merged when
overlap > 0.7 and visual similarity > 0.7.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.spatial import cKDTree

__all__ = ["point_overlap", "box_iou", "cosine_matrix", "association_scores", "assign", "merge_pairs"]


def _boxes(clouds: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    lo = np.array([c.min(axis=0) if len(c) else np.full(3, np.inf) for c in clouds]).reshape(-1, 3)
    hi = np.array([c.max(axis=0) if len(c) else np.full(3, -np.inf) for c in clouds]).reshape(-1, 3)
    return lo, hi


def point_overlap(node_points: Sequence[np.ndarray], det_points: Sequence[np.ndarray],
                  radius_m: float = 0.025, trees: Sequence[cKDTree] | None = None,
                  node_boxes: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Share of each detection's points within ``radius_m`` of some point of each node.

    Args:
        node_points: N arrays (Pi, 3), world metres.
        det_points: M arrays (Qj, 3).
        radius_m: the distance under which two points overlap (ConceptGraphs: 0.025 m).
        trees: optional prebuilt ``cKDTree`` per node (the graph keeps them between frames).
        node_boxes: optional (N, 3) mins and (N, 3) maxes of the node points (kept by the graph too).

    Returns:
        (N, M) float64 in [0, 1]; 0 where the boxes, grown by ``radius_m``, do not touch.
    """
    n, m = len(node_points), len(det_points)
    out = np.zeros((n, m))
    if n == 0 or m == 0:
        return out
    nlo, nhi = _boxes(node_points) if node_boxes is None else node_boxes
    dlo, dhi = _boxes(det_points)
    touch = np.all((nlo[:, None] - radius_m <= dhi[None]) & (dlo[None] <= nhi[:, None] + radius_m), axis=2)
    for i, j in zip(*np.nonzero(touch)):
        tree = trees[i] if trees is not None else cKDTree(node_points[i])
        d, _ = tree.query(det_points[j], k=1, distance_upper_bound=radius_m)
        out[i, j] = float(np.count_nonzero(d < radius_m)) / len(det_points[j])
    return out


def box_iou(lo_a: np.ndarray, hi_a: np.ndarray, lo_b: np.ndarray, hi_b: np.ndarray) -> np.ndarray:
    """(N, 3) and (M, 3) box corners -> (N, M) IoU of axis-aligned 3D boxes (ConceptGraphs' ``iou`` spatial
    similarity)."""
    inter = np.clip(np.minimum(hi_a[:, None], hi_b[None]) - np.maximum(lo_a[:, None], lo_b[None]), 0, None).prod(axis=2)
    va, vb = np.prod(hi_a - lo_a, axis=1), np.prod(hi_b - lo_b, axis=1)
    union = va[:, None] + vb[None] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def cosine_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, D) x (M, D) -> (N, M) cosine similarities (rows need not be normalised; zero rows give 0)."""
    a = np.asarray(a, np.float64).reshape(len(a), -1)
    b = np.asarray(b, np.float64).reshape(len(b), -1)
    na = np.linalg.norm(a, axis=1, keepdims=True)
    nb = np.linalg.norm(b, axis=1, keepdims=True)
    return (a / np.where(na > 0, na, 1.0)) @ (b / np.where(nb > 0, nb, 1.0)).T


def association_scores(spatial: np.ndarray, visual: np.ndarray, phys_bias: float = 0.0) -> np.ndarray:
    """ConceptGraphs' ``sim_sum``: ``(1 + phys_bias) * spatial + (1 - phys_bias) * visual`` (same shapes)."""
    return (1.0 + phys_bias) * np.asarray(spatial) + (1.0 - phys_bias) * np.asarray(visual)


def assign(scores: np.ndarray, threshold: float) -> list[int | None]:
    """One-to-one matching of detections (rows) to nodes (columns) maximising the total score.

    Args:
        scores: (M detections, N nodes).
        threshold: a pair is kept only when its score is strictly above this.

    Returns:
        For each detection, the node index it matched, or None (it becomes a new node).
    """
    scores = np.asarray(scores, np.float64)
    out: list[int | None] = [None] * scores.shape[0]
    if scores.size == 0:
        return out
    # pairs at or below the threshold can never be kept: let them cost nothing so they cannot displace a
    # valid pair in the optimum
    gain = np.where(scores > threshold, scores, 0.0)
    rows, cols = linear_sum_assignment(gain, maximize=True)
    for r, c in zip(rows, cols):
        if scores[r, c] > threshold:
            out[int(r)] = int(c)
    return out


def merge_pairs(overlap: np.ndarray, visual: np.ndarray, overlap_min: float = 0.7,
                visual_min: float = 0.7) -> list[tuple[int, int]]:
    """Which nodes to merge: ``(into, merged)`` pairs, by decreasing overlap.

    Args:
        overlap: (N, N), ``overlap[i, j]`` the share of node j's points near node i's (diagonal ignored).
        visual: (N, N) cosine similarity of the node embeddings.

    A pair is merged when its overlap is above ``overlap_min`` and its visual similarity above
    ``visual_min``; ``merged`` goes into ``into``; a node already merged away takes no part in a later pair.
    """
    ov = np.array(overlap, np.float64)
    np.fill_diagonal(ov, 0.0)
    ii, jj = np.nonzero(ov > overlap_min)
    order = np.argsort(-ov[ii, jj], kind="stable")
    gone: set[int] = set()
    pairs = []
    for i, j in zip(ii[order], jj[order]):
        i, j = int(i), int(j)
        if i in gone or j in gone or visual[i, j] <= visual_min:
            continue
        pairs.append((i, j))
        gone.add(j)
    return pairs
