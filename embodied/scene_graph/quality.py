"""How good a scene graph is, against the instance masks of a simulator (what no reference reports
automatically).

:class:`GroundTruth` collects, frame by frame, the world points of every true instance (from
``Observation.semantic`` and depth) and its category. :func:`graph_quality` then gives each node the
true instance most of its points lie on (nearest ground-truth point within ``match_radius_m``) and reports:

* ``node_precision``: share of nodes whose points lie mostly (> ``purity_min``) on one true object;
* ``object_recall``: share of true objects seen with at least ``min_pixels`` pixels in some frame that
  are the main object of some node;
* ``duplicate_rate``: share of recalled objects that are the main object of more than one node;
* ``center_error_cm``: median distance between a node's box centre and its object's (over nodes with one);
* ``retrieval_top1`` / ``retrieval_top5``: for each category seen, the query "a <category>": is a node
  of that category ranked first / among the first five;
* ``relational_top1``: for queries "<category> <relation> <category>" built from true pairs with a
  unique answer, is the first node on the right object.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from embodied.geometry import depth_to_world_points
from embodied.scene_graph.graph import SceneGraph, voxel_downsample
from embodied.scene_graph.query import query_graph
from embodied.scene_graph.relations import RELATIONS, relation
from embodied.types import NO_INSTANCE, Observation

__all__ = ["GroundTruth", "graph_quality"]


@dataclass
class GroundTruth:
    """World points (voxel-downsampled) and category of each true instance, and its largest pixel count."""

    voxel_m: float = 0.025
    points_m: dict[int, np.ndarray] = field(default_factory=dict)
    category: dict[int, str] = field(default_factory=dict)
    max_pixels: dict[int, int] = field(default_factory=dict)

    def add(self, obs: Observation) -> None:
        if obs.semantic is None or obs.depth is None:
            return
        pts, idx = depth_to_world_points(obs.depth, obs.intrinsics.K, obs.T_world_cam)
        ids = obs.semantic.reshape(-1)[idx]
        for iid in np.unique(ids):
            if iid == NO_INSTANCE or int(iid) not in obs.labels:
                continue
            iid = int(iid)
            sel = pts[ids == iid]
            old = self.points_m.get(iid)
            self.points_m[iid] = voxel_downsample(sel if old is None else np.vstack([old, sel]), self.voxel_m)
            self.category[iid] = obs.labels[iid]
            self.max_pixels[iid] = max(self.max_pixels.get(iid, 0), int(np.count_nonzero(obs.semantic == iid)))

    def box_m(self, iid: int) -> tuple[np.ndarray, np.ndarray]:
        p = self.points_m[iid]
        return p.min(axis=0), p.max(axis=0)


def _node_owners(graph: SceneGraph, gt: GroundTruth, match_radius_m: float) -> list[tuple[int | None, float]]:
    """Per node: (main true instance or None, share of its points on it)."""
    from scipy.spatial import cKDTree

    if not gt.points_m:
        return [(None, 0.0)] * len(graph.nodes)
    ids = np.concatenate([np.full(len(p), i) for i, p in gt.points_m.items()])
    tree = cKDTree(np.vstack(list(gt.points_m.values())))
    out = []
    for n in graph.nodes:
        d, k = tree.query(n.points_m, k=1, distance_upper_bound=match_radius_m)
        hit = ids[k[np.isfinite(d)]]
        if len(hit) == 0:
            out.append((None, 0.0))
            continue
        iid, count = Counter(hit.tolist()).most_common(1)[0]
        out.append((int(iid), count / len(n.points_m)))
    return out


def graph_quality(graph: SceneGraph, gt: GroundTruth, clip: Any = None, min_pixels: int = 50,
                  purity_min: float = 0.5, match_radius_m: float = 0.05) -> dict[str, Any]:
    """The figures described in the module docstring (retrieval ones only when ``clip`` can embed texts)."""
    owners = _node_owners(graph, gt, match_radius_m)
    pure = [iid for iid, share in owners if iid is not None and share > purity_min]
    seen = {i for i, px in gt.max_pixels.items() if px >= min_pixels}
    per_object = Counter(pure)
    recalled = seen & set(per_object)
    errors = []
    for node, (iid, share) in zip(graph.nodes, owners):
        if iid is not None and share > purity_min:
            lo, hi = gt.box_m(iid)
            errors.append(float(np.linalg.norm(node.center_m - (lo + hi) / 2)) * 100)
    report: dict[str, Any] = {
        "nodes": len(graph.nodes), "objects_seen": len(seen),
        "node_precision": len(pure) / len(graph.nodes) if graph.nodes else 0.0,
        "object_recall": len(recalled) / len(seen) if seen else 0.0,
        "duplicate_rate": sum(per_object[i] > 1 for i in recalled) / len(recalled) if recalled else 0.0,
        "center_error_cm": float(np.median(errors)) if errors else None,
    }
    if clip is None or not graph.nodes:
        return report
    node_owner = [iid if iid is not None and share > purity_min else None for iid, share in owners]
    node_cat = [None if iid is None else gt.category[iid] for iid in node_owner]
    position = {n.node_id: k for k, n in enumerate(graph.nodes)}
    cats = sorted({gt.category[i] for i in seen})
    top1 = top5 = 0
    for c in cats:
        ranked = [position[i] for i, _ in query_graph(graph, f"a {c}", clip, top_k=5)]
        top1 += node_cat[ranked[0]] == c
        top5 += any(node_cat[k] == c for k in ranked)
    report.update(retrieval_queries=len(cats), retrieval_top1=top1 / len(cats) if cats else 0.0,
                  retrieval_top5=top5 / len(cats) if cats else 0.0)
    # relational queries with a unique answer among the seen objects
    rel_hits, rel_n = 0, 0
    objs = sorted(seen)
    preds = {(i, j): relation(gt.box_m(i), gt.box_m(j)).predicates for i in objs for j in objs if i != j}
    for i in objs:
        for j in objs:
            if i == j or gt.category[i] == gt.category[j]:
                continue
            for r in sorted(preds[i, j] & set(RELATIONS)):
                answers = [k for (k, m), p in preds.items() if r in p and gt.category[k] == gt.category[i]
                           and gt.category[m] == gt.category[j]]
                if set(answers) != {i}:
                    continue
                rel_n += 1
                best = query_graph(graph, f"a {gt.category[i]} {r} the {gt.category[j]}", clip, top_k=1)
                rel_hits += bool(best) and node_owner[position[best[0][0]]] == i
    report.update(relational_queries=rel_n, relational_top1=rel_hits / rel_n if rel_n else None)
    return report
