"""Continuous scene graphs (CSR / ConceptGraphs style), built online from any Observation stream.

This subpackage imports no simulator. :mod:`~embodied.scene_graph.association` holds the matching rules
(point overlap, CLIP cosine, Hungarian assignment, merging) as pure functions; :mod:`~embodied.scene_graph.graph`
the :class:`SceneGraph` that applies them frame by frame; :mod:`~embodied.scene_graph.proposals` turns an
Observation into detections (instance masks or depth segments, one batched CLIP forward).
"""

from embodied.scene_graph.association import (
    assign,
    association_scores,
    box_iou,
    cosine_matrix,
    merge_pairs,
    point_overlap,
)
from embodied.scene_graph.graph import (
    Detection,
    Edge,
    ObjectNode,
    SceneGraph,
    SceneGraphConfig,
    fuse_embedding,
    voxel_downsample,
)
from embodied.scene_graph.changes import ChangeReport, Moved, diff_graphs
from embodied.scene_graph.proposals import (
    PROPOSALS,
    detections_from_observation,
    edge_observations,
    observe,
    proposal_masks,
)
from embodied.scene_graph.quality import GroundTruth, graph_quality
from embodied.scene_graph.draw import draw_graph
from embodied.scene_graph.record import GraphRecording
from embodied.scene_graph.query import guess_categories, parse_query, query_graph, rank_nodes
from embodied.scene_graph.relations import RELATIONS, Relation, relation, relation_vector
from embodied.scene_graph.storage import GRAPH_FORMAT_VERSION, load_graph, save_graph, to_networkx

__all__ = ["draw_graph", "GraphRecording", "guess_categories", "GroundTruth", "graph_quality", "parse_query", "query_graph", "RELATIONS", "Relation", "relation", "relation_vector",
           "GRAPH_FORMAT_VERSION", "save_graph", "load_graph", "to_networkx", "ChangeReport", "Moved", "diff_graphs", "rank_nodes",
           "PROPOSALS", "proposal_masks", "detections_from_observation", "edge_observations", "observe",
           "SceneGraphConfig", "SceneGraph", "Detection", "ObjectNode", "Edge", "fuse_embedding", "voxel_downsample",
           "point_overlap", "box_iou", "cosine_matrix", "association_scores", "assign", "merge_pairs"]
