"""Continuous scene graphs (CSR / ConceptGraphs style), built online from any Observation stream.

This subpackage imports no simulator. :mod:`~embodied.scene_graph.association` holds the matching rules
(point overlap, CLIP cosine, Hungarian assignment, merging) as pure functions; :mod:`~embodied.scene_graph.graph`
the :class:`SceneGraph` that applies them frame by frame.
"""

from embodied.scene_graph.association import assign, association_scores, cosine_matrix, merge_pairs, point_overlap
from embodied.scene_graph.graph import (
    Detection,
    ObjectNode,
    SceneGraph,
    SceneGraphConfig,
    fuse_embedding,
    voxel_downsample,
)

__all__ = ["SceneGraphConfig", "SceneGraph", "Detection", "ObjectNode", "fuse_embedding", "voxel_downsample",
           "point_overlap", "cosine_matrix", "association_scores", "assign", "merge_pairs"]
