"""Pairwise 3D relations between nodes, from their axis-aligned boxes (world frame, Z up, metres).

:func:`relation` gives the geometric part of an edge: the offset between box centres, their distance,
the log ratio of their volumes and four predicates with tolerances:

* ``on`` / ``under``: a's bottom is within ``contact_m`` of b's top (or the reverse) and their footprints
  overlap (a mug on a table);
* ``inside``: a's box lies within b's grown by ``contact_m`` (a book in a shelf);
* ``next to``: their footprints are less than ``near_m`` apart, they share some height, and neither
  is on the other.

:func:`relation_vector` packs it into the fixed-length vector stored on edges.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["RELATIONS", "Relation", "relation", "relation_vector", "box_gap_m"]

RELATIONS = ("on", "under", "inside", "next to")


@dataclass(frozen=True)
class Relation:
    offset_m: tuple[float, float, float]  # centre of b minus centre of a
    distance_m: float  # between the centres
    log_volume_ratio: float  # log(volume a / volume b)
    predicates: frozenset[str]


def box_gap_m(lo_a: np.ndarray, hi_a: np.ndarray, lo_b: np.ndarray, hi_b: np.ndarray, dims=slice(0, 3)) -> float:
    """Euclidean gap between two boxes over ``dims`` (0 when they touch or overlap)."""
    gap = np.maximum(0.0, np.maximum(lo_a[dims] - hi_b[dims], lo_b[dims] - hi_a[dims]))
    return float(np.linalg.norm(gap))


def relation(box_a: tuple[np.ndarray, np.ndarray], box_b: tuple[np.ndarray, np.ndarray], contact_m: float = 0.05,
             near_m: float = 0.5) -> Relation:
    """How box a ((3,) min, (3,) max) stands to box b."""
    la, ha = (np.asarray(v, float) for v in box_a)
    lb, hb = (np.asarray(v, float) for v in box_b)
    ca, cb = (la + ha) / 2, (lb + hb) / 2
    xy = slice(0, 2)
    footprint_overlap = box_gap_m(la, ha, lb, hb, xy) == 0.0
    preds = set()
    if footprint_overlap and abs(la[2] - hb[2]) <= contact_m and ca[2] > cb[2]:
        preds.add("on")
    if footprint_overlap and abs(lb[2] - ha[2]) <= contact_m and cb[2] > ca[2]:
        preds.add("under")
    if np.all(la >= lb - contact_m) and np.all(ha <= hb + contact_m) and not np.allclose([la, ha], [lb, hb]):
        preds.add("inside")
    shares_height = min(ha[2], hb[2]) > max(la[2], lb[2])
    if shares_height and box_gap_m(la, ha, lb, hb, xy) < near_m and not preds & {"on", "under", "inside"}:
        preds.add("next to")
    vol = lambda lo, hi: float(np.prod(np.maximum(hi - lo, 1e-3)))  # noqa: E731 - flat boxes count 1 mm thick
    return Relation(tuple(float(x) for x in cb - ca), float(np.linalg.norm(cb - ca)),
                    float(np.log(vol(la, ha) / vol(lb, hb))), frozenset(preds))


def relation_vector(rel: Relation) -> np.ndarray:
    """(9,) float32: offset (3), distance, log volume ratio, then 1/0 for on, under, inside, next to."""
    return np.array([*rel.offset_m, rel.distance_m, rel.log_volume_ratio,
                     *(float(p in rel.predicates) for p in RELATIONS)], np.float32)
