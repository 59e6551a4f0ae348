"""An object-level scene graph built online from detections: nodes with fused CLIP features and point clouds.

A :class:`Detection` is one object proposal of one frame: its CLIP embedding, its world-frame points
(metres, see :mod:`embodied.geometry`) and a confidence. :meth:`SceneGraph.update` matches a frame's
detections to the nodes (:mod:`embodied.scene_graph.association`), fuses matched ones (confidence-
weighted running mean of the embedding, union of the points, voxel-downsampled with Open3D), adds
the rest as new nodes, and every ``merge_every`` frames merges nodes that converged. Above
``max_nodes`` the most similar pairs are merged until the cap holds, so a long run cannot explode.
The same detections in the same order give the same graph.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from embodied.errors import ConfigError
from embodied.scene_graph.association import (
    association_scores,
    assign,
    box_iou,
    cosine_matrix,
    merge_pairs,
    point_overlap,
)

__all__ = ["SceneGraphConfig", "Detection", "ObjectNode", "Edge", "SceneGraph", "voxel_downsample", "fuse_embedding"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SceneGraphConfig:
    """Thresholds of association and merging (ConceptGraphs' values; see association.py for the sources)."""

    overlap_radius_m: float = 0.025  # points closer than this overlap
    spatial: str = "overlap"  # "overlap" (ConceptGraphs' point overlap) or "overlap+iou" (the larger of it and box IoU)
    match_threshold: float = 1.2  # spatial + visual score (of 2) above which a detection joins a node
    phys_bias: float = 0.0  # weight shift between the spatial (+) and visual (-) terms
    voxel_m: float = 0.025  # node point clouds are downsampled to this voxel size
    min_points: int = 16  # detections with fewer valid points are skipped (counted)
    merge_every: int = 20  # frames between merge passes (0: never)
    merge_overlap: float = 0.7
    merge_visual: float = 0.7
    max_nodes: int = 2000
    edge_max_gap_m: float = 1.0  # two objects seen together this close (box gap) get an edge
    max_pose_jump_m: float = 1.0  # a camera moving further between consecutive steps: the frame is skipped (counted)

    def __post_init__(self) -> None:
        if self.overlap_radius_m <= 0 or self.voxel_m <= 0:
            raise ConfigError("SceneGraphConfig: overlap_radius_m and voxel_m must be > 0 (metres)")
        if not -1.0 <= self.phys_bias <= 1.0:
            raise ConfigError(f"SceneGraphConfig: phys_bias must be in [-1, 1], got {self.phys_bias}")
        if self.spatial not in ("overlap", "overlap+iou"):
            raise ConfigError(f"SceneGraphConfig: spatial must be 'overlap' or 'overlap+iou', got {self.spatial!r}")
        if self.min_points < 1 or self.max_nodes < 1 or self.merge_every < 0:
            raise ConfigError("SceneGraphConfig: min_points and max_nodes must be >= 1, merge_every >= 0")


@dataclass
class Detection:
    """One object proposal of a frame. ``embedding`` (D,), ``points_m`` (P, 3) world frame, ``confidence`` > 0."""

    embedding: np.ndarray
    points_m: np.ndarray
    confidence: float = 1.0
    mask: np.ndarray | None = None  # (H, W) bool pixels of the proposal, for edge crops


@dataclass
class ObjectNode:
    """A tracked object: fused unit ``embedding`` (D,) with total ``weight``, ``points_m`` (P, 3) float32."""

    node_id: int
    embedding: np.ndarray
    weight: float
    points_m: np.ndarray
    n_obs: int
    first_step: int
    last_step: int

    @property
    def box_m(self) -> tuple[np.ndarray, np.ndarray]:
        """Axis-aligned box (min (3,), max (3,)) of the points."""
        return self.points_m.min(axis=0), self.points_m.max(axis=0)

    @property
    def center_m(self) -> np.ndarray:
        lo, hi = self.box_m
        return (lo + hi) / 2


@dataclass
class Edge:
    """A relation between nodes ``a`` < ``b``: fused unit CLIP ``embedding`` (D,) of the crops showing both.

    Its geometry (offset, distance, on / under / inside / next to) is not stored: it is computed from the
    nodes' current boxes (:func:`embodied.scene_graph.relations.relation`), so it follows their updates.
    """

    a: int
    b: int
    embedding: np.ndarray
    weight: float
    n_obs: int
    last_step: int


def voxel_downsample(points_m: np.ndarray, voxel_m: float) -> np.ndarray:
    """(P, 3) -> (Q, 3) float32, one point (the mean) per occupied voxel (Open3D ``voxel_down_sample``)."""
    import open3d as o3d

    if len(points_m) == 0:
        return np.zeros((0, 3), np.float32)
    pcd = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(np.asarray(points_m, np.float64)))
    return np.asarray(pcd.voxel_down_sample(voxel_m).points, np.float32)


def fuse_embedding(embedding: np.ndarray, weight: float, new: np.ndarray, confidence: float) -> np.ndarray:
    """Confidence-weighted running mean of unit vectors, renormalised: (D,), (D,) -> (D,) float32."""
    v = np.asarray(embedding, np.float64) * weight + np.asarray(new, np.float64) * confidence
    n = np.linalg.norm(v)
    return (v / n if n > 0 else v).astype(np.float32)


def _unit(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, np.float64).ravel()
    n = np.linalg.norm(v)
    return (v / n if n > 0 else v).astype(np.float32)


@dataclass
class SceneGraph:
    """Nodes built online from detections. ``skipped`` counts detections left out and why."""

    config: SceneGraphConfig = field(default_factory=SceneGraphConfig)
    nodes: list[ObjectNode] = field(default_factory=list)
    edges: dict[tuple[int, int], Edge] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    frames: int = 0
    _next_id: int = 0
    _index: dict[int, tuple] = field(default_factory=dict, repr=False)  # node id -> (kd-tree, box min, box max)
    _alias: dict[int, int] = field(default_factory=dict, repr=False)  # merged node id -> the node it is in now
    _last_camera: tuple[int, np.ndarray] | None = field(default=None, repr=False)  # (step, camera position) of the last frame

    def count_skip(self, reason: str) -> None:
        """Count one thing left out of the graph under ``reason`` (in ``skipped``)."""
        self.skipped[reason] = self.skipped.get(reason, 0) + 1

    # ------------------------------------------------------------------ update
    def update(self, detections: Sequence[Detection], step: int | None = None) -> list[int]:
        """Add one frame's detections; returns the node id each detection went to (-1: skipped), after this
        frame's merges (a detection whose node was merged reports the node it went into)."""
        step = self.frames if step is None else int(step)
        self.frames += 1
        kept, ids = [], [-1] * len(detections)
        for k, det in enumerate(detections):
            det = self._clean(det)
            if det is not None:
                kept.append((k, det))
        if kept:
            embs = np.stack([d.embedding for _, d in kept])
            index = self._node_index()
            spatial = point_overlap([n.points_m for n in self.nodes], [d.points_m for _, d in kept],
                                    self.config.overlap_radius_m, **index).T
            if self.config.spatial == "overlap+iou" and self.nodes:
                dlo = np.stack([d.points_m.min(axis=0) for _, d in kept])
                dhi = np.stack([d.points_m.max(axis=0) for _, d in kept])
                spatial = np.maximum(spatial, box_iou(dlo, dhi, *index["node_boxes"]))
            visual = cosine_matrix(embs, np.stack([n.embedding for n in self.nodes])) if self.nodes else spatial
            matches = assign(association_scores(spatial, visual, self.config.phys_bias), self.config.match_threshold)
            for (k, det), node_index in zip(kept, matches):
                ids[k] = self._add(det, step) if node_index is None else self._fuse(self.nodes[node_index], det, step)
        if self.config.merge_every and self.frames % self.config.merge_every == 0:
            self.merge()
        if len(self.nodes) > self.config.max_nodes:
            self._enforce_cap()
        return [self._alias.get(i, i) for i in ids]

    def _clean(self, det: Detection) -> Detection | None:
        pts = np.asarray(det.points_m, np.float64).reshape(-1, 3)
        pts = pts[np.isfinite(pts).all(axis=1)]
        emb = np.asarray(det.embedding, np.float64).ravel()
        if self.nodes and emb.shape != self.nodes[0].embedding.shape:
            raise ConfigError(f"detection embedding has {emb.size} dims, the graph's nodes {self.nodes[0].embedding.size}: "
                              "one graph takes features of one CLIP model")
        reason = None
        if not np.isfinite(emb).all() or not np.any(emb):
            reason = "bad embedding"
        elif not np.isfinite(det.confidence) or det.confidence <= 0:
            reason = "bad confidence"
        elif len(pts) < self.config.min_points:
            reason = "too few valid points"
        if reason:
            self.count_skip(reason)
            return None
        return Detection(_unit(emb), voxel_downsample(pts, self.config.voxel_m), float(det.confidence), det.mask)

    def _add(self, det: Detection, step: int) -> int:
        node = ObjectNode(self._next_id, det.embedding, det.confidence, det.points_m, 1, step, step)
        self._next_id += 1
        self.nodes.append(node)
        return node.node_id

    def _fuse(self, node: ObjectNode, det: Detection, step: int) -> int:
        node.embedding = fuse_embedding(node.embedding, node.weight, det.embedding, det.confidence)
        node.weight += det.confidence
        node.points_m = voxel_downsample(np.vstack([node.points_m, det.points_m]), self.config.voxel_m)
        node.n_obs += 1
        node.last_step = max(node.last_step, step)
        self._index.pop(node.node_id, None)
        return node.node_id

    def _node_index(self) -> dict:
        """Keyword arguments for :func:`point_overlap` with the nodes' cached kd-trees and boxes."""
        from scipy.spatial import cKDTree

        for n in self.nodes:
            if n.node_id not in self._index:
                self._index[n.node_id] = (cKDTree(n.points_m), n.points_m.min(axis=0), n.points_m.max(axis=0))
        entries = [self._index[n.node_id] for n in self.nodes]
        boxes = (np.array([e[1] for e in entries]).reshape(-1, 3), np.array([e[2] for e in entries]).reshape(-1, 3))
        return {"trees": [e[0] for e in entries], "node_boxes": boxes}

    def node(self, node_id: int) -> ObjectNode:
        for n in self.nodes:
            if n.node_id == node_id:
                return n
        raise KeyError(f"no node {node_id} in the graph")

    # ------------------------------------------------------------------ edges
    def update_edges(self, observed: Sequence[tuple[int, int, np.ndarray]], step: int) -> None:
        """Fuse edge embeddings seen in one frame: ``(node id, node id, (D,) embedding)`` each."""
        for i, j, e in observed:
            i, j = self._alias.get(i, i), self._alias.get(j, j)
            if i == j:
                continue
            key = (min(i, j), max(i, j))
            e = _unit(e)
            edge = self.edges.get(key)
            if edge is None:
                self.edges[key] = Edge(key[0], key[1], e, 1.0, 1, step)
            else:
                edge.embedding = fuse_embedding(edge.embedding, edge.weight, e, 1.0)
                edge.weight += 1.0
                edge.n_obs += 1
                edge.last_step = max(edge.last_step, step)

    def _rewire(self, into: int, gone: int) -> None:
        """Edges of a merged node move to the node it went into (fused where both had one)."""
        for key in [k for k in self.edges if gone in k]:
            edge = self.edges.pop(key)
            other = key[0] if key[1] == gone else key[1]
            if other == into:
                continue
            new = (min(into, other), max(into, other))
            if new in self.edges:
                kept = self.edges[new]
                kept.embedding = fuse_embedding(kept.embedding, kept.weight, edge.embedding, edge.weight)
                kept.weight += edge.weight
                kept.n_obs += edge.n_obs
                kept.last_step = max(kept.last_step, edge.last_step)
            else:
                self.edges[new] = Edge(new[0], new[1], edge.embedding, edge.weight, edge.n_obs, edge.last_step)

    # ------------------------------------------------------------------ merging
    def _absorb(self, into: ObjectNode, other: ObjectNode) -> None:
        into.embedding = fuse_embedding(into.embedding, into.weight, other.embedding, other.weight)
        into.weight += other.weight
        into.points_m = voxel_downsample(np.vstack([into.points_m, other.points_m]), self.config.voxel_m)
        into.n_obs += other.n_obs
        into.first_step, into.last_step = min(into.first_step, other.first_step), max(into.last_step, other.last_step)
        self._index.pop(into.node_id, None)
        self._index.pop(other.node_id, None)
        self._rewire(into.node_id, other.node_id)
        self._alias[other.node_id] = into.node_id
        for k, v in self._alias.items():  # ids merged into ``other`` earlier now live in ``into``
            if v == other.node_id:
                self._alias[k] = into.node_id

    def merge(self) -> int:
        """One merge pass over all nodes (overlap and visual similarity above the config's); returns merges."""
        if len(self.nodes) < 2:
            return 0
        pts = [n.points_m for n in self.nodes]
        overlap = point_overlap(pts, pts, self.config.overlap_radius_m, **self._node_index())
        visual = cosine_matrix(np.stack([n.embedding for n in self.nodes]), np.stack([n.embedding for n in self.nodes]))
        pairs = merge_pairs(overlap, visual, self.config.merge_overlap, self.config.merge_visual)
        for i, j in pairs:
            self._absorb(self.nodes[i], self.nodes[j])
        gone = {j for _, j in pairs}
        self.nodes = [n for k, n in enumerate(self.nodes) if k not in gone]
        return len(pairs)

    def _enforce_cap(self) -> None:
        """Merge the pairs with the highest spatial + visual score until at most ``max_nodes`` remain."""
        while len(self.nodes) > self.config.max_nodes:
            pts = [n.points_m for n in self.nodes]
            emb = np.stack([n.embedding for n in self.nodes])
            score = association_scores(point_overlap(pts, pts, self.config.overlap_radius_m, **self._node_index()),
                                       cosine_matrix(emb, emb), self.config.phys_bias)
            np.fill_diagonal(score, -np.inf)
            i, j = np.unravel_index(int(np.argmax(score)), score.shape)
            i, j = min(i, j), max(i, j)
            self._absorb(self.nodes[i], self.nodes[j])
            del self.nodes[j]
            self.count_skip("merged by the node cap")
