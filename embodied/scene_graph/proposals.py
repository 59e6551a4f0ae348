"""Object proposals of one Observation, turned into scene-graph :class:`Detection` s.

Two sources (``proposals``):

* ``"oracle"``: the simulator's instance masks (``Observation.semantic``); ground truth, for measuring
  the rest of the pipeline.
* ``"segments"``: training-free depth segments (:func:`embodied.localization.depth_segments`: floor,
  walls and ceilings taken out, cut along depth edges), so the graph runs where no ground truth exists
  (a real robot's RGB-D).

Every mask with at least ``min_pixels`` pixels with depth is cut out (:func:`embodied.localization.segment_crop`,
the crop the sim-trained CLIP was trained on), all crops of the frame go through the CLIP backbone in
one ``encode_images`` call, and the mask's depth pixels are unprojected to world points
(:func:`embodied.geometry.depth_to_world_points`).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from embodied.errors import ConfigError, ObservationError
from embodied.geometry import depth_to_world_points
from embodied.localization import depth_segments, segment_crop
from embodied.scene_graph.graph import Detection, SceneGraph
from embodied.scene_graph.relations import box_gap_m
from embodied.types import NO_INSTANCE, Observation

log = logging.getLogger(__name__)

__all__ = ["PROPOSALS", "proposal_masks", "detections_from_observation", "edge_observations", "observe"]

PROPOSALS = ("oracle", "segments")


def proposal_masks(obs: Observation, proposals: str = "oracle", min_pixels: int = 50) -> list[np.ndarray]:
    """(H, W) bool masks of the frame's object proposals with at least ``min_pixels`` depth pixels.

    Oracle masks come in increasing instance id order, segments in label order.
    """
    if proposals not in PROPOSALS:
        raise ConfigError(f"unknown proposals {proposals!r}; choose one of {', '.join(PROPOSALS)}")
    if obs.depth is None:
        raise ObservationError("the scene graph needs depth: this Observation has none (depth=None)")
    has_depth = np.isfinite(obs.depth) & (obs.depth > 0)
    if proposals == "oracle":
        if obs.semantic is None:
            raise ConfigError("proposals='oracle' needs instance masks (Observation.semantic), which this "
                              "source does not give; use proposals='segments'")
        labels = np.where(has_depth, obs.semantic, NO_INSTANCE)
        ids = [i for i in np.unique(labels) if i != NO_INSTANCE]
    else:
        labels = depth_segments(obs.depth, obs.intrinsics.K, obs.T_world_cam)
        ids = [i for i in np.unique(labels) if i != 0]
    masks = [labels == i for i in ids]
    return [m for m in masks if int(m.sum()) >= min_pixels]


def detections_from_observation(obs: Observation, clip: Any, proposals: str = "oracle",
                                min_pixels: int = 50) -> list[Detection]:
    """The frame's proposals as Detections: CLIP embedding of each crop (one batched forward), world points.

    Args:
        obs: a frame with depth (and ``semantic`` for ``"oracle"``).
        clip: anything with ``encode_images(list of (h, w, 3) uint8) -> (N, D)`` (a ClipBackbone).
        proposals: ``"oracle"`` or ``"segments"``.
        min_pixels: smaller proposals are left out.

    Returns:
        One Detection per proposal, confidence 1; an empty list when the frame has none.
    """
    masks = proposal_masks(obs, proposals, min_pixels)
    if not masks:
        return []
    embeddings = np.asarray(clip.encode_images([segment_crop(obs.rgb, m) for m in masks]), np.float32)
    K = obs.intrinsics.K
    return [Detection(e, depth_to_world_points(obs.depth, K, obs.T_world_cam, m)[0], 1.0, m)
            for e, m in zip(embeddings, masks)]


def edge_observations(obs: Observation, detections: list[Detection], node_ids: list[int], clip: Any,
                      max_gap_m: float = 1.0) -> list[tuple[int, int, np.ndarray]]:
    """Edge embeddings of one frame: for each pair of detections that went to two different nodes and
    whose point boxes are less than ``max_gap_m`` apart, the CLIP embedding of the crop around both
    masks (all pairs in one batched forward). Returns ``(node id, node id, (D,) embedding)``."""
    boxes = [(d.points_m.min(axis=0), d.points_m.max(axis=0)) if len(d.points_m) else None for d in detections]
    pairs = []
    for i in range(len(detections)):
        for j in range(i + 1, len(detections)):
            a, b = node_ids[i], node_ids[j]
            if a < 0 or b < 0 or a == b or boxes[i] is None or boxes[j] is None:
                continue
            if detections[i].mask is None or detections[j].mask is None:
                continue
            if box_gap_m(*boxes[i], *boxes[j]) < max_gap_m:
                pairs.append((i, j))
    if not pairs:
        return []
    crops = [segment_crop(obs.rgb, detections[i].mask | detections[j].mask) for i, j in pairs]
    embeddings = np.asarray(clip.encode_images(crops), np.float32)
    return [(node_ids[i], node_ids[j], e) for (i, j), e in zip(pairs, embeddings)]


def observe(graph: SceneGraph, obs: Observation, clip: Any, proposals: str = "oracle", min_pixels: int = 50) -> list[int]:
    """One frame into ``graph``: detections (one CLIP forward), node update, then edges (a second forward).
    Returns the node id of each proposal (-1: skipped).

    A frame is skipped (logged, counted in ``graph.skipped``) when it has no valid depth pixel, or when
    its camera is more than ``config.max_pose_jump_m`` from the previous step's (a relocalization or
    odometry glitch would smear every object it sees into the wrong place)."""
    if obs.depth is None:
        raise ObservationError("the scene graph needs depth: this Observation has none (depth=None)")
    position = np.asarray(obs.T_world_cam, float)[:3, 3]
    last, graph._last_camera = graph._last_camera, (obs.step, position)
    if not (np.isfinite(obs.depth) & (obs.depth > 0)).any():
        log.warning("step %d: frame without valid depth, left out of the scene graph", obs.step)
        graph.count_skip("frame without valid depth")
        return []
    if last is not None and obs.step == last[0] + 1:
        jump = float(np.linalg.norm(position - last[1]))
        if jump > graph.config.max_pose_jump_m:
            log.warning("step %d: the camera jumped %.2f m since the last step (limit %.2f m); frame left out",
                        obs.step, jump, graph.config.max_pose_jump_m)
            graph.count_skip("pose jump")
            return []
    detections = detections_from_observation(obs, clip, proposals, min_pixels)
    ids = graph.update(detections, step=obs.step)
    graph.update_edges(edge_observations(obs, detections, ids, clip, graph.config.edge_max_gap_m), obs.step)
    return ids
