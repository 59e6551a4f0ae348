"""Saving and loading scene graphs: ``<stem>.json`` (format version, config, node metadata) + ``<stem>.npz``
(embeddings, points). Both are written atomically; the JSON is written last, so a graph whose JSON
exists is complete."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np

from embodied.errors import ConfigError
from embodied.files import atomic_write
from embodied.scene_graph.graph import Edge, ObjectNode, SceneGraph, SceneGraphConfig

__all__ = ["GRAPH_FORMAT_VERSION", "save_graph", "load_graph", "to_networkx"]

GRAPH_FORMAT_VERSION = 1


def _paths(path: str | os.PathLike) -> tuple[Path, Path]:
    p = Path(path)
    stem = p.with_suffix("") if p.suffix in (".json", ".npz") else p
    return stem.with_suffix(".json"), stem.with_suffix(".npz")


def save_graph(graph: SceneGraph, path: str | os.PathLike) -> Path:
    """Write ``graph`` to ``path`` (.json; the arrays go beside it as .npz). Returns the JSON path."""
    jpath, npath = _paths(path)
    jpath.parent.mkdir(parents=True, exist_ok=True)
    nodes = graph.nodes
    counts = np.array([len(n.points_m) for n in nodes], np.int64)
    dim = nodes[0].embedding.size if nodes else 0
    buf = io.BytesIO()
    np.savez_compressed(buf, embeddings=np.stack([n.embedding for n in nodes]).astype(np.float32) if nodes
                        else np.zeros((0, dim), np.float32),
                        points_m=np.vstack([n.points_m for n in nodes]).astype(np.float32) if nodes
                        else np.zeros((0, 3), np.float32), point_counts=counts,
                        edge_embeddings=np.stack([e.embedding for e in graph.edges.values()]).astype(np.float32)
                        if graph.edges else np.zeros((0, dim), np.float32))
    atomic_write(npath, buf.getvalue())
    meta = {"format": "embodied-scene-graph", "version": GRAPH_FORMAT_VERSION, "arrays": npath.name,
            "config": dataclasses.asdict(graph.config), "frames": graph.frames, "next_id": graph._next_id,
            "skipped": graph.skipped,
            "nodes": [{"node_id": n.node_id, "weight": n.weight, "n_obs": n.n_obs, "first_step": n.first_step,
                       "last_step": n.last_step} for n in nodes],
            "edges": [{"a": e.a, "b": e.b, "weight": e.weight, "n_obs": e.n_obs, "last_step": e.last_step}
                      for e in graph.edges.values()]}
    atomic_write(jpath, (json.dumps(meta, indent=1) + "\n").encode())
    return jpath


def load_graph(path: str | os.PathLike) -> SceneGraph:
    """Read a graph written by :func:`save_graph`; ConfigError for a missing, corrupt or other-version file."""
    jpath, npath = _paths(path)
    try:
        meta = json.loads(jpath.read_text())
    except FileNotFoundError:
        raise ConfigError(f"no scene graph at {jpath}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{jpath} is not a scene graph file (corrupt JSON: {exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != "embodied-scene-graph":
        raise ConfigError(f"{jpath} is not an embodied scene graph file")
    if meta.get("version") != GRAPH_FORMAT_VERSION:
        raise ConfigError(f"{jpath} has scene-graph format version {meta.get('version')}; this toolkit reads "
                          f"version {GRAPH_FORMAT_VERSION}: rebuild the graph with this version")
    try:
        with np.load(jpath.parent / meta["arrays"]) as z:
            emb, pts, counts, edge_emb = z["embeddings"], z["points_m"], z["point_counts"], z["edge_embeddings"]
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise ConfigError(f"the arrays of {jpath} ({meta.get('arrays')}) are missing or corrupt: {exc}") from None
    if len(emb) != len(meta["nodes"]) or int(counts.sum()) != len(pts) or len(edge_emb) != len(meta["edges"]):
        raise ConfigError(f"{jpath} and its arrays do not match (another save overwrote one of them?)")
    offsets = np.concatenate([[0], np.cumsum(counts)])
    nodes = [ObjectNode(m["node_id"], emb[k], float(m["weight"]), pts[offsets[k]:offsets[k + 1]], int(m["n_obs"]),
                        int(m["first_step"]), int(m["last_step"])) for k, m in enumerate(meta["nodes"])]
    edges = {(int(m["a"]), int(m["b"])): Edge(int(m["a"]), int(m["b"]), edge_emb[k], float(m["weight"]), int(m["n_obs"]),
                                             int(m["last_step"])) for k, m in enumerate(meta["edges"])}
    graph = SceneGraph(SceneGraphConfig(**meta["config"]), nodes, edges, dict(meta["skipped"]), int(meta["frames"]))
    graph._next_id = int(meta["next_id"])
    return graph


def to_networkx(graph: SceneGraph):
    """A ``networkx.Graph``: nodes by id with ``center_m``, ``box_m``, ``n_obs``, ``embedding``; edges with
    ``embedding``, ``n_obs`` and the geometry from a to b (``offset_m``, ``distance_m``, ``predicates``)."""
    import networkx as nx

    from embodied.scene_graph.relations import relation

    g = nx.Graph()
    for n in graph.nodes:
        lo, hi = n.box_m
        g.add_node(n.node_id, center_m=n.center_m.tolist(), box_m=(lo.tolist(), hi.tolist()), n_obs=n.n_obs,
                   first_step=n.first_step, last_step=n.last_step, embedding=n.embedding)
    for (a, b), e in graph.edges.items():
        if a in g and b in g:
            rel = relation(graph.node(a).box_m, graph.node(b).box_m)
            g.add_edge(a, b, embedding=e.embedding, n_obs=e.n_obs, offset_m=rel.offset_m, distance_m=rel.distance_m,
                       predicates=sorted(rel.predicates))
    return g
