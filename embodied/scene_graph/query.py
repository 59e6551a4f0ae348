"""Open-vocabulary queries on a scene graph: "a mug", and relational ones, "a mug next to the laptop".

A query without a relation word ranks nodes by the cosine of their embedding with the text's CLIP
embedding. A relational query "<subject> <relation> <anchor>" (relations: on, under, inside / in,
next to / near / beside) scores a node ``sim(node, subject) + max sim(other, anchor)`` over the other
nodes it stands in that relation to (:mod:`embodied.scene_graph.relations`); a node with no such
neighbour gets ``sim(node, subject) - 1``, below every node that has one.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from embodied.errors import ConfigError
from embodied.scene_graph.association import cosine_matrix
from embodied.scene_graph.graph import SceneGraph
from embodied.scene_graph.relations import relation

__all__ = ["parse_query", "rank_nodes", "query_graph", "guess_categories"]

_WORDS = {"on": "on", "on top of": "on", "under": "under", "below": "under", "beneath": "under", "inside": "inside",
          "in": "inside", "next to": "next to", "near": "next to", "beside": "next to"}
_PATTERN = re.compile(r"^(?P<subject>.+?)\s+(?P<rel>" + "|".join(sorted(map(re.escape, _WORDS), key=len, reverse=True))
                      + r")\s+(?P<anchor>.+)$", re.IGNORECASE)


def parse_query(text: str) -> tuple[str, str | None, str | None]:
    """``(subject, relation, anchor)``; relation and anchor are None for a plain query."""
    text = " ".join(text.split())
    if not text:
        raise ConfigError("empty query: give an object, e.g. 'a mug' or 'a mug next to the laptop'")
    m = _PATTERN.match(text)
    if not m:
        return text, None, None
    return m["subject"], _WORDS[m["rel"].lower()], m["anchor"]


def rank_nodes(graph: SceneGraph, text_embedding: np.ndarray) -> list[tuple[int, float]]:
    """Nodes by cosine similarity to a text embedding (D,), best first: [(node id, score), ...]."""
    if not graph.nodes:
        return []
    sims = cosine_matrix(np.stack([n.embedding for n in graph.nodes]), np.asarray(text_embedding)[None])[:, 0]
    order = np.argsort(-sims, kind="stable")
    return [(graph.nodes[k].node_id, float(sims[k])) for k in order]


def query_graph(graph: SceneGraph, text: str, clip: Any, top_k: int | None = None) -> list[tuple[int, float]]:
    """Nodes ranked for ``text``, best first: [(node id, score), ...] (``clip.encode_texts`` embeds the text)."""
    subject, rel, anchor = parse_query(text)
    if not graph.nodes:
        return []
    if rel is None:
        return rank_nodes(graph, np.asarray(clip.encode_texts([subject]))[0])[:top_k]
    sims = cosine_matrix(np.stack([n.embedding for n in graph.nodes]), np.asarray(clip.encode_texts([subject, anchor])))
    score = sims[:, 0].copy()
    boxes = [n.box_m for n in graph.nodes]
    for i in range(len(graph.nodes)):
        best = [sims[j, 1] for j in range(len(graph.nodes)) if j != i and rel in relation(boxes[i], boxes[j]).predicates]
        score[i] += max(best) if best else -1.0
    order = np.argsort(-score, kind="stable")[:top_k]
    return [(graph.nodes[k].node_id, float(score[k])) for k in order]


def guess_categories(graph: SceneGraph, class_embeddings: np.ndarray, vocabulary: list[str]) -> dict[int, tuple[str, float]]:
    """Each node's most similar vocabulary entry: {node id: (category, cosine)}.

    ``class_embeddings``: (C, D) text embeddings of ``vocabulary`` (e.g. ``clip.text_classifier(vocabulary)``).
    """
    if len(vocabulary) == 0:
        raise ConfigError("empty vocabulary: give at least one category to label nodes with")
    if len(class_embeddings) != len(vocabulary):
        raise ConfigError(f"{len(class_embeddings)} class embeddings for {len(vocabulary)} categories")
    if not graph.nodes:
        return {}
    sims = cosine_matrix(np.stack([n.embedding for n in graph.nodes]), np.asarray(class_embeddings))
    best = sims.argmax(axis=1)
    return {n.node_id: (vocabulary[int(k)], float(sims[i, k])) for i, (n, k) in enumerate(zip(graph.nodes, best))}
