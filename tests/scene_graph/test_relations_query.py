"""Geometric relations between boxes, and plain and relational text queries."""

from __future__ import annotations

import numpy as np
import pytest

from embodied.errors import ConfigError
from embodied.scene_graph import Detection, SceneGraph, SceneGraphConfig
from embodied.scene_graph.query import parse_query, query_graph
from embodied.scene_graph.relations import relation, relation_vector
from tests.scene_graph.test_graph import box_points, emb


def box(lo, hi):
    return np.array(lo, float), np.array(hi, float)


def test_relations_of_hand_placed_boxes():
    table = box((0, 0, 0), (1, 1, 0.75))
    mug = box((0.4, 0.4, 0.75), (0.5, 0.5, 0.85))
    chair = box((1.2, 0, 0), (1.7, 0.5, 0.9))
    shelf = box((3, 0, 0), (3.4, 1, 2))
    book = box((3.05, 0.1, 1.0), (3.3, 0.15, 1.3))
    assert relation(mug, table).predicates == {"on"}
    assert relation(table, mug).predicates == {"under"}
    assert relation(chair, table).predicates == {"next to"}  # 0.2 m apart, shared height
    assert relation(book, shelf).predicates == {"inside"}
    assert relation(table, shelf).predicates == frozenset()  # 2 m apart
    r = relation(mug, table)
    np.testing.assert_allclose(r.offset_m, (0.05, 0.05, -0.425))
    assert r.log_volume_ratio == pytest.approx(np.log(0.001 / 0.75))
    v = relation_vector(r)
    assert v.shape == (9,) and v[5:].tolist() == [1, 0, 0, 0]


def test_parse_query():
    assert parse_query("a mug next to  the laptop") == ("a mug", "next to", "the laptop")
    assert parse_query("a book in the bookshelf") == ("a book", "inside", "the bookshelf")
    assert parse_query("a lamp on top of the table") == ("a lamp", "on", "the table")
    assert parse_query("an oven") == ("an oven", None, None)
    with pytest.raises(ConfigError, match="empty query"):
        parse_query("  ")


class TextStub:
    """Models ClipBackbone.encode_texts: texts in, (N, D) unit rows out."""

    VOCAB = {"a mug": 0, "the laptop": 1, "the table": 2, "a laptop": 1}

    def encode_texts(self, texts):
        return np.stack([emb(self.VOCAB[t]) for t in texts])


def test_relational_queries_pick_the_right_one_of_two_mugs():
    g = SceneGraph(SceneGraphConfig(merge_every=0))
    g.update([
        Detection(emb(2), box_points((0, 0, 0.35), size=0.7)),  # node 0: table, top at 0.70 (+ half a step)
        Detection(emb(0) + 0.05 * emb(3), box_points((0, 0, 0.76), size=0.1, step=0.01)),  # node 1: mug on the table
        Detection(emb(1), box_points((3, 0, 0.1), size=0.2)),  # node 2: laptop on the floor
        Detection(emb(0), box_points((3.3, 0, 0.05), size=0.1, step=0.01)),  # node 3: mug next to the laptop
    ])
    clip = TextStub()
    assert [i for i, _ in query_graph(g, "a mug", clip)][:2] == [3, 1]
    assert query_graph(g, "a mug next to the laptop", clip)[0][0] == 3
    assert query_graph(g, "a mug on the table", clip)[0][0] == 1
    top = query_graph(g, "a laptop", clip, top_k=1)
    assert top == [(2, pytest.approx(1.0))]
    assert query_graph(SceneGraph(), "a mug", clip) == []


def test_guess_categories_and_the_top_down_picture():
    from embodied.scene_graph import draw_graph, guess_categories

    g = SceneGraph(SceneGraphConfig(merge_every=0))
    g.update([Detection(emb(2), box_points((0, 0, 0.35), size=0.7)), Detection(emb(1), box_points((3, 1, 0.1), 0.2))])
    g.update_edges([(0, 1, emb(4))], 0)
    vocab = ["mug", "laptop", "table"]
    guesses = guess_categories(g, np.stack([emb(k) for k in range(3)]), vocab)
    assert guesses == {0: ("table", pytest.approx(1.0)), 1: ("laptop", pytest.approx(1.0))}
    with pytest.raises(ConfigError, match="empty vocabulary"):
        guess_categories(g, np.zeros((0, 8)), [])
    img = draw_graph(g, {k: v[0] for k, v in guesses.items()}, px_per_m=50, margin_px=40)
    # x spans -0.35..3.1 m, y -0.35..1.1 m: 3.45 x 1.45 m at 50 px/m plus margins
    assert img.shape == (int(np.ceil(1.45 * 50)) + 80, int(np.ceil(3.45 * 50)) + 80, 3) and img.dtype == np.uint8
    cx, cy = 40 + (3.0 - (-0.35)) * 50, img.shape[0] - 40 - (1.0 - (-0.35)) * 50  # laptop centre
    assert tuple(img[int(round(cy)), int(round(cx))]) == (30, 150, 60)  # its centre dot
    assert (img == 255).all(axis=2).mean() > 0.8  # mostly background
    assert draw_graph(SceneGraph()).shape == (80, 320, 3)
