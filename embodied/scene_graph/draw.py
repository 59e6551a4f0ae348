"""A top-down picture of a scene graph: node footprints, labels and edges (PIL, no plotting library)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from embodied.scene_graph.graph import SceneGraph
from embodied.scene_graph.relations import relation

__all__ = ["draw_graph", "EDGE_COLOURS"]

EDGE_COLOURS = {"on": (220, 120, 0), "under": (220, 120, 0), "inside": (150, 60, 200), "next to": (40, 140, 220),
                None: (170, 170, 170)}
_NODE = (30, 150, 60)


def draw_graph(graph: SceneGraph, labels: Mapping[int, str] | None = None, px_per_m: float = 60.0,
               margin_px: int = 40, max_px: int = 2000) -> np.ndarray:
    """(H, W, 3) uint8 top-down view (world x to the right, y up): each node's box footprint and centre with
    its id and label, each edge a line between centres coloured by its first relation (grey for none)."""
    from PIL import Image, ImageDraw

    if not graph.nodes:
        img = Image.new("RGB", (320, 80), "white")
        ImageDraw.Draw(img).text((10, 30), "empty scene graph", fill=(0, 0, 0))
        return np.asarray(img)
    boxes = {n.node_id: n.box_m for n in graph.nodes}
    lo = np.min([b[0][:2] for b in boxes.values()], axis=0)
    hi = np.max([b[1][:2] for b in boxes.values()], axis=0)
    scale = min(px_per_m, (max_px - 2 * margin_px) / max(float(np.max(hi - lo)), 1e-3))
    W, H = (int(np.ceil((hi - lo)[k] * scale)) + 2 * margin_px for k in (0, 1))

    def to_px(xy) -> tuple[float, float]:
        return margin_px + (xy[0] - lo[0]) * scale, H - margin_px - (xy[1] - lo[1]) * scale

    img = Image.new("RGB", (W, H), "white")
    d = ImageDraw.Draw(img)
    for (a, b) in graph.edges:
        if a in boxes and b in boxes:
            preds = sorted(relation(boxes[a], boxes[b]).predicates)
            ca, cb = ((boxes[k][0] + boxes[k][1]) / 2 for k in (a, b))
            d.line([to_px(ca), to_px(cb)], fill=EDGE_COLOURS[preds[0] if preds else None], width=2)
    for n in graph.nodes:
        (x0, y0), (x1, y1) = to_px(n.box_m[0]), to_px(n.box_m[1])
        d.rectangle([x0, y1, x1, y0], outline=_NODE, width=2)
        cx, cy = to_px(n.center_m)
        d.ellipse([cx - 3, cy - 3, cx + 3, cy + 3], fill=_NODE)
        text = f"{n.node_id}" + (f" {labels[n.node_id]}" if labels and n.node_id in labels else "")
        d.text((cx + 5, cy - 6), text, fill=(0, 0, 0))
    return np.asarray(img)
