"""Edges: union-crop embeddings of objects seen together, fused over frames, rewired on merges,
saved and exported."""

from __future__ import annotations

import numpy as np
import pytest

from embodied.scene_graph import (
    Detection,
    SceneGraph,
    SceneGraphConfig,
    load_graph,
    observe,
    save_graph,
    to_networkx,
)
from embodied.scene_graph.relations import box_gap_m
from tests.scene_graph.test_graph import box_points, emb
from tests.scene_graph.test_proposals import CountingClip, _walk


def test_update_edges_fuses_and_orders_keys():
    g = SceneGraph()
    g.update([Detection(emb(0), box_points((0, 0, 0))), Detection(emb(1), box_points((0.5, 0, 0)))])
    g.update_edges([(1, 0, emb(2))], step=0)
    g.update_edges([(0, 1, emb(3)), (0, 0, emb(4))], step=4)  # a self pair is ignored
    assert list(g.edges) == [(0, 1)]
    e = g.edges[(0, 1)]
    assert (e.n_obs, e.weight, e.last_step) == (2, 2.0, 4)
    np.testing.assert_allclose(e.embedding, (emb(2) + emb(3)) / np.sqrt(2), atol=1e-6)


def test_merging_a_node_moves_its_edges():
    full = box_points((0, 0, 0), size=0.4)
    left, right = full[full[:, 0] < -0.01], full[full[:, 0] > 0.01]
    g = SceneGraph(SceneGraphConfig(merge_every=3))
    g.update([Detection(emb(0), left), Detection(emb(1), box_points((1, 0, 0)))])  # nodes 0, 1
    g.update_edges([(0, 1, emb(2))], 0)
    g.update([Detection(emb(0), right)])  # node 2: the other half
    g.update_edges([(2, 1, emb(3))], 1)
    g.update([Detection(emb(0), full)])  # joins node 0; the merge pass then takes node 2 into it
    assert [n.node_id for n in g.nodes] == [0, 1]
    assert list(g.edges) == [(0, 1)] and g.edges[(0, 1)].n_obs == 2


def test_edges_from_a_walk_are_saved_and_exported(tiny_clip, tmp_path):
    clip = CountingClip(tiny_clip)
    g = SceneGraph()
    frames = _walk()
    for obs in frames:
        observe(g, obs, clip, "oracle")
    assert clip.calls <= 2 * len(frames)  # one forward for the nodes and at most one for the edges per frame
    assert g.edges, "objects seen together within 1 m should get edges"
    for (a, b), e in g.edges.items():
        lo_a, hi_a = g.node(a).box_m
        lo_b, hi_b = g.node(b).box_m
        # edges join objects seen less than 1 m apart (box gap); node boxes only grow (up to voxel rounding)
        assert box_gap_m(lo_a, hi_a, lo_b, hi_b) < 1.0 + 0.05
        assert a < b and e.n_obs >= 1 and np.linalg.norm(e.embedding) == pytest.approx(1.0, abs=1e-5)
    h = load_graph(save_graph(g, tmp_path / "walk.json"))
    assert h.edges.keys() == g.edges.keys()
    assert all(np.array_equal(h.edges[k].embedding, g.edges[k].embedding) for k in g.edges)
    nxg = to_networkx(h)
    assert nxg.number_of_nodes() == len(g.nodes) and nxg.number_of_edges() == len(g.edges)
    a, b = next(iter(g.edges))
    attrs = nxg.edges[a, b]
    assert attrs["distance_m"] == pytest.approx(np.linalg.norm(g.node(b).center_m - g.node(a).center_m), abs=1e-5)
    assert set(attrs["predicates"]) <= {"on", "under", "inside", "next to"}
