"""Association rules of the scene graph, on hand-made point sets and scores."""

from __future__ import annotations

import numpy as np
import pytest

from embodied.scene_graph import assign, association_scores, cosine_matrix, merge_pairs, point_overlap


def grid(n: int, spacing: float, origin=(0.0, 0.0, 0.0)) -> np.ndarray:
    """n x n x 1 points in the z=origin plane, ``spacing`` apart."""
    xs = np.arange(n) * spacing
    x, y = np.meshgrid(xs, xs)
    return np.stack([x.ravel(), y.ravel(), np.zeros(x.size)], axis=1) + np.asarray(origin)


def test_point_overlap_counts_the_share_of_detection_points_within_the_radius():
    node = grid(10, 0.01)  # 10 cm square, 1 cm spacing
    near = node[:50] + [0, 0, 0.02]  # 2 cm above: within 2.5 cm
    far = node[50:] + [0, 0, 0.03]  # 3 cm above: outside
    det = np.vstack([near, far])
    ov = point_overlap([node], [det, det[:50], grid(3, 0.01, (5, 5, 5))], radius_m=0.025)
    assert ov.shape == (1, 3)
    np.testing.assert_allclose(ov[0], [0.5, 1.0, 0.0], atol=1e-12)


def test_point_overlap_is_directional_and_empty_sets_give_empty_matrices():
    small = grid(2, 0.01)
    big = grid(10, 0.01)
    ov = point_overlap([big, small], [small, big])
    assert ov[0, 0] == 1.0  # all of the small set lies on the big one
    # big points (x, y) in cm within 2.5 cm of the 2 x 2 square {0, 1}^2: all of {0..3}^2 except (3, 3)
    # (2.83 cm from (1, 1)); (3, 2) is 2.24 cm away: 15 of 100
    assert ov[1, 1] == pytest.approx(15 / 100)
    assert point_overlap([], [big]).shape == (0, 1) and point_overlap([big], []).shape == (1, 0)


def test_cosine_and_sim_sum():
    a = np.array([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]])
    b = np.array([[3.0, 4.0]])
    np.testing.assert_allclose(cosine_matrix(a, b)[:, 0], [0.6, 0.8, 0.0])
    np.testing.assert_allclose(association_scores(np.array([0.5]), np.array([0.9])), [1.4])
    np.testing.assert_allclose(association_scores(np.array([0.5]), np.array([0.9]), phys_bias=0.5), [0.75 + 0.45])


def test_assign_is_one_to_one_and_maximises_the_total():
    # greedy per detection would put both detections on node 0 (1.9 and 1.85); the best one-to-one
    # assignment is det0 -> node1, det1 -> node0 (1.8 + 1.85 = 3.65 > 1.9 + nothing)
    scores = np.array([[1.9, 1.8], [1.85, 0.1]])
    assert assign(scores, 1.2) == [1, 0]
    # a pair at the threshold is not kept, and cannot push a valid pair out of the optimum
    assert assign(np.array([[1.2, 1.3], [1.25, 0.0]]), 1.2) == [1, 0]
    assert assign(np.array([[1.0, 0.5]]), 1.2) == [None]
    assert assign(np.zeros((2, 0)), 1.2) == [None, None]


def test_merge_pairs_in_order_of_overlap_and_each_node_once():
    overlap = np.array([[0.0, 0.9, 0.8],
                        [0.95, 0.0, 0.0],
                        [0.75, 0.0, 0.0]])
    visual = np.full((3, 3), 0.9)
    # (1, 0) has the highest overlap: node 0 goes into node 1; (0, 1) and (0, 2) then involve a merged node;
    # (2, 0) too
    assert merge_pairs(overlap, visual) == [(1, 0)]
    visual[1, 0] = 0.5  # not similar enough: the next pairs in order are taken
    assert merge_pairs(overlap, visual) == [(0, 1), (0, 2)]


def test_box_iou_of_hand_placed_boxes():
    from embodied.scene_graph import box_iou

    lo_a, hi_a = np.array([[0.0, 0, 0]]), np.array([[2.0, 1, 1]])
    lo_b, hi_b = np.array([[1.0, 0, 0], [5, 5, 5]]), np.array([[3.0, 1, 1], [6, 6, 6]])
    np.testing.assert_allclose(box_iou(lo_a, hi_a, lo_b, hi_b), [[1 / 3, 0.0]])  # 1 m^3 shared of 3 m^3
