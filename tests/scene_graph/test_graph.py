"""SceneGraph.update on synthetic detections: tracking, fusion, merging, the node cap, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from embodied.errors import ConfigError
from embodied.scene_graph import Detection, SceneGraph, SceneGraphConfig, fuse_embedding, voxel_downsample

D = 8


def box_points(center, size=0.3, step=0.02, rng=None, noise=0.0):
    """Points on a solid box of edge ``size`` centred on ``center``, ``step`` apart (plus optional noise)."""
    xs = np.arange(-size / 2, size / 2 + 1e-9, step)
    g = np.stack(np.meshgrid(xs, xs, xs), axis=-1).reshape(-1, 3) + np.asarray(center, float)
    if noise:
        g = g + rng.normal(0, noise, g.shape)
    return g


def emb(k, rng=None, noise=0.0):
    v = np.zeros(D)
    v[k] = 1.0
    if noise:
        v = v + rng.normal(0, noise, D)
    return v


def test_fuse_embedding_is_a_weighted_mean_of_unit_vectors():
    out = fuse_embedding(np.array([1.0, 0.0]), 3.0, np.array([0.0, 1.0]), 1.0)
    np.testing.assert_allclose(out, np.array([3.0, 1.0]) / np.sqrt(10), atol=1e-7)


def test_voxel_downsample_keeps_one_mean_point_per_voxel():
    pts = np.array([[0.001, 0.001, 0.001], [0.009, 0.009, 0.009], [0.051, 0.0, 0.0]])
    out = voxel_downsample(pts, 0.02)
    assert out.shape == (2, 3)
    np.testing.assert_allclose(sorted(out[:, 0]), [0.005, 0.051], atol=1e-6)


def test_tracks_objects_over_frames_and_adds_new_ones():
    rng = np.random.default_rng(0)
    g = SceneGraph()
    centers = [(0, 0, 0.5), (2, 0, 0.5), (0, 3, 0.5)]
    for step in range(5):
        dets = [Detection(emb(k, rng, 0.05), box_points(c, rng=rng, noise=0.003), 0.8) for k, c in enumerate(centers[:2])]
        if step >= 3:  # a third object comes into view
            dets.append(Detection(emb(2, rng, 0.05), box_points(centers[2], rng=rng, noise=0.003)))
        ids = g.update(dets, step=step)
        assert ids[:2] == [0, 1]
    assert [n.node_id for n in g.nodes] == [0, 1, 2]
    assert [n.n_obs for n in g.nodes] == [5, 5, 2]
    assert (g.nodes[2].first_step, g.nodes[2].last_step) == (3, 4)
    assert g.nodes[0].weight == pytest.approx(4.0)
    for node, c in zip(g.nodes, centers):
        assert np.linalg.norm(node.center_m - c) < 0.01  # within 1 cm
        assert np.argmax(node.embedding) == node.node_id and np.linalg.norm(node.embedding) == pytest.approx(1.0)


def test_one_frame_two_detections_of_look_alikes_stay_apart():
    """Two identical-looking objects side by side: the spatial term keeps them apart (the cosine alone, 1.0,
    is not above 1.2, so without it both would become new nodes; with it each joins its own node)."""
    g = SceneGraph()
    a, b = box_points((0, 0, 0)), box_points((0.5, 0, 0))
    g.update([Detection(emb(0), a), Detection(emb(0), b)])
    ids = g.update([Detection(emb(0), a), Detection(emb(0), b)])
    assert ids == [0, 1] and len(g.nodes) == 2


def test_a_visually_different_object_in_the_same_place_is_a_new_node():
    g = SceneGraph()
    pts = box_points((0, 0, 0))
    g.update([Detection(emb(0), pts)])
    # overlap 1.0 + cosine 0.0 = 1.0 <= 1.2: not the same object
    assert g.update([Detection(emb(1), pts)]) == [1]


def test_merge_pass_joins_halves_that_converged():
    """Two views each see half an object (no overlap: two nodes); a full view joins one of them, whose
    points then cover the other one's, and the merge pass joins them."""
    full = box_points((0, 0, 0), size=0.4)
    left, right = full[full[:, 0] < -0.01], full[full[:, 0] > 0.01]
    g = SceneGraph(SceneGraphConfig(merge_every=3))
    g.update([Detection(emb(0), left)])
    g.update([Detection(emb(0), right)])
    assert len(g.nodes) == 2
    g.update([Detection(emb(0), full)])  # frame 3: update, then the merge pass
    assert len(g.nodes) == 1
    node = g.nodes[0]
    assert node.n_obs == 3 and node.weight == pytest.approx(3.0)
    np.testing.assert_allclose(node.center_m, [0, 0, 0], atol=0.02)


def test_node_cap_merges_the_most_similar_nodes():
    g = SceneGraph(SceneGraphConfig(max_nodes=2, merge_every=0))
    g.update([Detection(emb(0), box_points((0, 0, 0))), Detection(emb(1), box_points((3, 0, 0))),
              Detection(emb(1) + 0.1 * emb(2), box_points((6, 0, 0)))])
    assert len(g.nodes) == 2 and g.skipped == {"merged by the node cap": 1}
    assert sorted(n.n_obs for n in g.nodes) == [1, 2]  # the two look-alikes (cosine 0.995) became one


def test_same_detections_give_the_same_graph():
    def build():
        rng = np.random.default_rng(3)
        g = SceneGraph(SceneGraphConfig(merge_every=2))
        for step in range(6):
            g.update([Detection(emb(k, rng, 0.1), box_points((k, 0, 0), rng=rng, noise=0.005)) for k in range(3)])
        return g

    a, b = build(), build()
    assert [n.node_id for n in a.nodes] == [n.node_id for n in b.nodes]
    for x, y in zip(a.nodes, b.nodes):
        assert np.array_equal(x.points_m, y.points_m) and np.array_equal(x.embedding, y.embedding)


def test_bad_detections_are_skipped_and_counted():
    g = SceneGraph()
    pts = box_points((0, 0, 0))
    nan_pts = pts.copy()
    nan_pts[:] = np.nan
    few = pts[:5]
    ids = g.update([Detection(emb(0), nan_pts), Detection(emb(0), few), Detection(np.full(D, np.nan), pts),
                    Detection(emb(0), pts, confidence=0.0), Detection(emb(0), pts)])
    assert ids == [-1, -1, -1, -1, 0]
    assert g.skipped == {"too few valid points": 2, "bad embedding": 1, "bad confidence": 1}
    with pytest.raises(ConfigError, match="one CLIP model"):
        g.update([Detection(np.ones(D + 1), pts)])


def test_bad_config_is_refused():
    with pytest.raises(ConfigError, match="phys_bias"):
        SceneGraphConfig(phys_bias=2.0)
    with pytest.raises(ConfigError, match="metres"):
        SceneGraphConfig(voxel_m=0.0)


def test_box_iou_spatial_term_joins_views_of_two_sides():
    """Two views of one box that share half its extent but (sampled apart) no points: with point overlap
    alone and a cosine of 0.9 the second view becomes a node of its own; with "overlap+iou" the boxes'
    IoU (about 0.5) joins them."""
    full = box_points((0, 0, 0), size=0.4)
    shifted = box_points((0.01, 0.01, 0.01), size=0.4)  # the same box sampled on a lattice half a step off
    front, back = full[full[:, 0] < 0.1], shifted[shifted[:, 0] > -0.1]
    look = emb(0)
    other = 0.9 * emb(0) + np.sqrt(1 - 0.81) * emb(1)
    plain = SceneGraph(SceneGraphConfig(merge_every=0, overlap_radius_m=0.002))
    plain.update([Detection(look, front)])
    assert plain.update([Detection(other, back)]) == [1]
    iou = SceneGraph(SceneGraphConfig(merge_every=0, overlap_radius_m=0.002, spatial="overlap+iou"))
    iou.update([Detection(look, front)])
    assert iou.update([Detection(other, back)]) == [0]
    with pytest.raises(ConfigError, match="spatial"):
        SceneGraphConfig(spatial="giou")


def test_ids_of_a_frame_follow_its_merges():
    full = box_points((0, 0, 0), size=0.4)
    left, right = full[full[:, 0] < -0.01], full[full[:, 0] > 0.01]
    g = SceneGraph(SceneGraphConfig(merge_every=2))
    g.update([Detection(emb(0), left)])
    assert g.update([Detection(emb(0), right), Detection(emb(0), full)]) == [0, 0]  # node 1 merged into 0
    g.update_edges([(1, 0, emb(1))], 1)  # an id merged away resolves to its node: a self pair, ignored
    assert g.edges == {} and [n.node_id for n in g.nodes] == [0]
