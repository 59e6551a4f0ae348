"""Saving and loading graphs, text ranking, and change detection between two visits."""

from __future__ import annotations

import json

import numpy as np
import pytest

from embodied.errors import ConfigError
from embodied.scene_graph import (
    Detection,
    SceneGraph,
    SceneGraphConfig,
    diff_graphs,
    load_graph,
    rank_nodes,
    save_graph,
)
from tests.scene_graph.test_graph import D, box_points, emb


def room(positions: dict[int, tuple[float, float, float]]) -> SceneGraph:
    """One node per (embedding axis -> box centre)."""
    g = SceneGraph(SceneGraphConfig(merge_every=0))
    g.update([Detection(emb(k), box_points(c)) for k, c in positions.items()])
    return g


def test_save_load_round_trip_is_exact(tmp_path):
    g = room({0: (0, 0, 0), 1: (2, 0, 0)})
    g.update([Detection(emb(0), box_points((0.01, 0, 0)), 0.5)], step=7)
    g.skipped["too few valid points"] = 2
    path = save_graph(g, tmp_path / "g" / "graph")
    assert path.name == "graph.json" and (tmp_path / "g" / "graph.npz").exists()
    h = load_graph(tmp_path / "g" / "graph.json")
    assert h.config == g.config and h.frames == g.frames and h.skipped == g.skipped
    for a, b in zip(g.nodes, h.nodes):
        assert (a.node_id, a.weight, a.n_obs, a.first_step, a.last_step) == (b.node_id, b.weight, b.n_obs,
                                                                              b.first_step, b.last_step)
        assert np.array_equal(a.points_m, b.points_m) and np.array_equal(a.embedding, b.embedding)
    assert h.update([Detection(emb(5), box_points((9, 9, 9)))]) == [2]  # ids go on where they stopped


def test_other_versions_and_corrupt_files_are_refused(tmp_path):
    path = save_graph(room({0: (0, 0, 0)}), tmp_path / "graph.json")
    meta = json.loads(path.read_text())
    meta["version"] = 99
    path.write_text(json.dumps(meta))
    with pytest.raises(ConfigError, match="format version 99; this toolkit reads version 1"):
        load_graph(path)
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="corrupt JSON"):
        load_graph(path)
    save_graph(room({0: (0, 0, 0)}), tmp_path / "graph.json")
    (tmp_path / "graph.npz").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(ConfigError, match="missing or corrupt"):
        load_graph(tmp_path / "graph.json")
    with pytest.raises(ConfigError, match="no scene graph"):
        load_graph(tmp_path / "nothing.json")


def test_rank_nodes_by_text_similarity():
    g = room({0: (0, 0, 0), 1: (2, 0, 0), 2: (4, 0, 0)})
    ranked = rank_nodes(g, emb(1) + 0.5 * emb(2))
    assert [i for i, _ in ranked] == [1, 2, 0]
    np.testing.assert_allclose([s for _, s in ranked], [1 / np.sqrt(1.25), 0.5 / np.sqrt(1.25), 0.0], atol=1e-6)
    assert rank_nodes(SceneGraph(), emb(0)) == []


def test_diff_reports_moved_appeared_and_disappeared():
    before = room({0: (0, 0, 0), 1: (2, 0, 0), 2: (4, 0, 0)})
    after = room({0: (0.05, 0, 0), 1: (2, 1.5, 0), 3: (6, 0, 0)})  # 0 nudged 5 cm, 1 moved, 2 gone, 3 new
    rep = diff_graphs(before, after, move_tol_m=0.2)
    assert rep.unchanged == [(0, 0)]
    assert len(rep.moved) == 1
    m = rep.moved[0]
    assert (m.before_id, m.after_id) == (1, 1) and m.distance_m == pytest.approx(1.5, abs=1e-6)
    np.testing.assert_allclose(m.from_m, (2, 0, 0), atol=1e-6)
    np.testing.assert_allclose(m.to_m, (2, 1.5, 0), atol=1e-6)
    assert rep.disappeared == [(2, pytest.approx(1.0))] and rep.appeared == [(2, pytest.approx(1.0))]


def test_diff_pairs_look_alikes_with_their_nearer_twin():
    """Two equal-looking chairs; one moved a little, the other stayed: no swap, one move of 0.5 m."""
    before = SceneGraph(SceneGraphConfig(merge_every=0))
    before.update([Detection(emb(0), box_points((0, 0, 0))), Detection(emb(0), box_points((3, 0, 0)))])
    after = SceneGraph(SceneGraphConfig(merge_every=0))
    after.update([Detection(emb(0), box_points((3, 0, 0))), Detection(emb(0), box_points((0.5, 0, 0)))])
    rep = diff_graphs(before, after)
    assert sorted(rep.unchanged) == [(1, 0)]
    assert [(m.before_id, m.after_id, round(m.distance_m, 6)) for m in rep.moved] == [(0, 1, 0.5)]
    assert diff_graphs(before, SceneGraph()).disappeared == [(0, 1.0), (1, 1.0)]


def test_diff_matches_what_stayed_first_and_ignores_duplicates_of_stayers():
    """Two mugs; mug 0 stays at the origin but is seen from another side (cosine 0.6 with its first
    view, 1.0 with mug 1's), mug 1 moves from (2, 0, 0) to (4, 0, 0). One assignment over all pairs
    (CSR) prefers the swap (1.0 + 1.0 > 0.6 + 0.6) and reports both mugs moved; matching what stayed
    first reports only mug 1. A second node inside the stayer's box (a duplicate) is no change."""
    u0, u1 = np.array([1.0, 0, 0]), np.array([0.6, 0.8, 0])
    before = SceneGraph(SceneGraphConfig(merge_every=0))
    before.update([Detection(np.r_[u0, np.zeros(D - 3)], box_points((0, 0, 0))),
                   Detection(np.r_[u1, np.zeros(D - 3)], box_points((2, 0, 0)))])
    after = SceneGraph(SceneGraphConfig(merge_every=0))
    after.update([Detection(np.r_[u1, np.zeros(D - 3)], box_points((0, 0, 0))),
                  Detection(np.r_[u0, np.zeros(D - 3)], box_points((4, 0, 0))),
                  Detection(np.r_[u0, np.zeros(D - 3)], box_points((0.02, 0, 0.1), size=0.1))])  # duplicate
    assert len(after.nodes) == 3
    rep = diff_graphs(before, after)
    assert rep.unchanged == [(0, 0)]
    assert [(m.before_id, m.after_id, round(m.distance_m, 6)) for m in rep.moved] == [(1, 1, 2.0)]
    assert rep.appeared == [] and rep.disappeared == []
