"""Graph quality against ground truth: exact on hand-built cases, and near-perfect for oracle masks."""

from __future__ import annotations

import numpy as np
import pytest

from embodied.scene_graph import Detection, SceneGraph, SceneGraphConfig, observe
from embodied.scene_graph.quality import GroundTruth, graph_quality
from tests.scene_graph.test_graph import box_points, emb
from tests.scene_graph.test_proposals import _walk


class Texts:
    VOCAB = {"a mug": 0, "a table": 1, "a laptop": 2, "the table": 1, "the laptop": 2, "the mug": 0}

    def encode_texts(self, texts):
        return np.stack([emb(self.VOCAB[t]) for t in texts])


def hand_case():
    """Three true objects: a table (id 10), a mug on it (11), a laptop far away (12)."""
    table, mug, laptop = box_points((0, 0, 0.35), 0.7), box_points((0, 0, 0.76), 0.1, 0.01), box_points((4, 0, 0.1), 0.2)
    gt = GroundTruth()
    for iid, pts, cat in ((10, table, "table"), (11, mug, "mug"), (12, laptop, "laptop")):
        gt.points_m[iid], gt.category[iid], gt.max_pixels[iid] = pts.astype(np.float32), cat, 500
    return gt, table, mug, laptop


def test_hand_built_graph_scores_exactly():
    gt, table, mug, laptop = hand_case()
    g = SceneGraph(SceneGraphConfig(merge_every=0))
    half = laptop[laptop[:, 0] < 4.0]
    g.update([Detection(emb(1), table), Detection(emb(0), mug), Detection(emb(2), half),
              Detection(emb(2), laptop[laptop[:, 0] > 4.02]),  # the laptop's other half: a duplicate node
              Detection(emb(5), box_points((9, 9, 9), 0.2))])  # a node on nothing
    q = graph_quality(g, gt, Texts())
    assert q["nodes"] == 5 and q["objects_seen"] == 3
    assert q["node_precision"] == pytest.approx(4 / 5)
    assert q["object_recall"] == 1.0 and q["duplicate_rate"] == pytest.approx(1 / 3)
    assert q["retrieval_top1"] == 1.0 and q["retrieval_top5"] == 1.0 and q["retrieval_queries"] == 3
    # the true pairs with a relation and a unique answer: "a mug on the table", "a table under the mug"
    assert q["relational_queries"] == 2 and q["relational_top1"] == 1.0
    assert 0.0 <= q["center_error_cm"] < 6.0  # whole objects ~0, the laptop's halves ~5 cm off its centre


def test_wrong_embeddings_lower_retrieval():
    gt, table, mug, laptop = hand_case()
    g = SceneGraph(SceneGraphConfig(merge_every=0))
    g.update([Detection(emb(2), table), Detection(emb(0), mug), Detection(emb(1), laptop)])  # table and laptop swapped
    q = graph_quality(g, gt, Texts())
    assert q["retrieval_top1"] == pytest.approx(1 / 3) and q["retrieval_top5"] == 1.0
    assert q["node_precision"] == 1.0 and q["duplicate_rate"] == 0.0
    assert q["center_error_cm"] < 1.5
    # relations still pick the right nodes: "a table under the mug" scores the table node 0 + 1 (under the
    # mug) against the laptop node's 1 - 1 (under nothing)
    assert q["relational_top1"] == 1.0


def test_oracle_masks_on_a_walk_give_a_clean_graph(tiny_clip):
    gt, g = GroundTruth(), SceneGraph()
    for obs in _walk():
        gt.add(obs)
        observe(g, obs, tiny_clip, "oracle")
    q = graph_quality(g, gt, tiny_clip)
    assert q["objects_seen"] >= 3
    assert q["node_precision"] == 1.0 and q["object_recall"] == 1.0 and q["duplicate_rate"] == 0.0
    assert q["center_error_cm"] < 3.0
    assert 0.0 <= q["retrieval_top1"] <= q["retrieval_top5"] <= 1.0  # a random CLIP: only the range is known
