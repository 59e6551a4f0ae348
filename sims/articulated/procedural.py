"""Procedural articulated objects from a seed: cabinets, chests of drawers, boxes with lids, microwaves, fridges.

Object frame (= world frame; the object stands on z = 0): the front faces +X, width runs along Y,
height along Z. Every part is built from boxes, so the collision geometry *is* the visual geometry
(hollow carcasses and drawers stay hollow; no convex hulls involved). Joint conventions:

* drawers: prismatic along +X (out of the front), from 0 (closed) to most of their depth;
* side-hinged doors open outward: a hinge on the left edge (y min) turns about -Z, one on the
  right edge (y max) about +Z; a flap hinged at its top edge turns about -Y, a lid hinged at the
  back edge of a box about -Y too (it lifts its front);
* every part starts closed (joint position 0), the canonical state.

The same seed gives the same object (``numpy.random.default_rng(seed)`` drives every choice).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from embodied.errors import ConfigError
from sims.articulated.model import ArticulatedModel, Geom, Joint, Link, box_mesh

__all__ = ["KINDS", "ObjectConfig", "generate_object", "object_seeds"]

KINDS = ("cabinet", "drawers", "box", "microwave", "fridge")
_T = 0.018  # panel thickness, m
_GAP = 0.004  # clearance around fronts, m
_DENSITY = 500.0  # kg / m^3 (wood)


@dataclass(frozen=True)
class ObjectConfig:
    """What :func:`generate_object` may build.

    Attributes:
        kinds: the object kinds to draw from (uniformly).
        max_parts: at most this many movable parts per object.
    """

    kinds: tuple[str, ...] = KINDS
    max_parts: int = 4

    def __post_init__(self) -> None:
        bad = [k for k in self.kinds if k not in KINDS]
        if bad or not self.kinds:
            raise ConfigError(f"unknown object kinds {bad}; choose from {KINDS}")
        if self.max_parts < 1:
            raise ConfigError("max_parts must be >= 1")


def object_seeds(split: str, n: int, seed: int = 0) -> list[int]:
    """``n`` object seeds of a split; train, val and test never share a seed."""
    offsets = {"train": 0, "val": 1_000_000, "test": 2_000_000}
    if split not in offsets:
        raise ConfigError(f"unknown split '{split}'; choose from {sorted(offsets)}")
    rng = np.random.default_rng([seed, offsets[split]])
    return [offsets[split] + int(s) for s in rng.choice(1_000_000, size=n, replace=False)]


class _Builder:
    """Collects links and joints; boxes are added in link coordinates."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.links: list[Link] = []
        self.joints: list[Joint] = []
        self.colors = self._palette()

    def _palette(self) -> dict[str, tuple[int, int, int]]:
        base = np.array([(196, 160, 118), (236, 234, 228), (120, 124, 130), (92, 64, 44), (170, 190, 200)][
            self.rng.integers(5)], np.float64)
        shade = np.clip(base * self.rng.uniform(0.85, 1.1, 3), 0, 255)
        front = np.clip(shade * self.rng.uniform(0.85, 1.15), 0, 255)
        handle = (60, 60, 64) if self.rng.random() < 0.5 else (200, 200, 205)
        return {"body": tuple(int(c) for c in shade), "front": tuple(int(c) for c in front), "handle": handle,
                "inside": tuple(int(c * 0.8) for c in shade)}

    def link(self, name: str) -> Link:
        lk = Link(name)
        self.links.append(lk)
        return lk

    @staticmethod
    def box(lk: Link, lo: tuple[float, float, float], hi: tuple[float, float, float], color) -> None:
        lo_a, hi_a = np.asarray(lo, np.float64), np.asarray(hi, np.float64)
        T = np.eye(4)
        T[:3, 3] = (lo_a + hi_a) / 2
        size = hi_a - lo_a
        lk.visuals.append(box_mesh(size, T, color))
        lk.collisions.append(Geom("box", T, size_m=size))
        lk.mass_kg = (lk.mass_kg or 0.0) + float(np.prod(size)) * _DENSITY

    def joint(self, name: str, type_: str, child: str, origin: np.ndarray, axis, upper: float) -> None:
        T = np.eye(4)
        T[:3, 3] = origin
        self.joints.append(Joint(name, type_, "body", child, T, np.asarray(axis, np.float64), 0.0, float(upper)))


def _carcass(b: _Builder, W: float, D: float, H: float, z0: float = 0.0, open_top: bool = False) -> Link:
    """The hollow body: sides, bottom, back (and top unless ``open_top``); open at the front (+X)."""
    body = b.link("body")
    c = b.colors["body"]
    x0, x1, y0, y1 = -D / 2, D / 2, -W / 2, W / 2
    b.box(body, (x0, y0, z0), (x1, y0 + _T, H), c)
    b.box(body, (x0, y1 - _T, z0), (x1, y1, H), c)
    b.box(body, (x0, y0 + _T, z0), (x1, y1 - _T, z0 + _T), c)
    b.box(body, (x0, y0 + _T, z0 + _T), (x0 + _T, y1 - _T, H - (0 if open_top else _T)), b.colors["inside"])
    if not open_top:
        b.box(body, (x0, y0 + _T, H - _T), (x1, y1 - _T, H), c)
    return body


def _handle(b: _Builder, lk: Link, x_front: float, center_yz: tuple[float, float], along: str, length: float) -> None:
    """A bar handle (1.5 x 2 cm) standing 3.5 cm proud of the front face at ``x_front``, along "y" or "z"."""
    cy, cz = center_yz
    h, w = 0.015, 0.02
    stand = 0.035
    if along == "y":
        b.box(lk, (x_front + stand - h, cy - length / 2, cz - w / 2), (x_front + stand, cy + length / 2, cz + w / 2),
              b.colors["handle"])
        for s in (-1, 1):
            y = cy + s * (length / 2 - 0.01)
            b.box(lk, (x_front, y - 0.006, cz - 0.006), (x_front + stand - h, y + 0.006, cz + 0.006), b.colors["handle"])
    else:
        b.box(lk, (x_front + stand - h, cy - w / 2, cz - length / 2), (x_front + stand, cy + w / 2, cz + length / 2),
              b.colors["handle"])
        for s in (-1, 1):
            z = cz + s * (length / 2 - 0.01)
            b.box(lk, (x_front, cy - 0.006, z - 0.006), (x_front + stand - h, cy + 0.006, z + 0.006), b.colors["handle"])


def _drawer(b: _Builder, name: str, D: float, y0: float, y1: float, z0: float, z1: float) -> None:
    """A drawer filling the opening [y0, y1] x [z0, z1]; its link origin sits at its closed front face."""
    lk = b.link(name)
    xf = D / 2
    depth = (D - 2 * _T) * b.rng.uniform(0.75, 0.92)
    ya, yb, za, zb = y0 + _GAP, y1 - _GAP, z0 + _GAP, z1 - _GAP
    wall_h = (zb - za) * b.rng.uniform(0.55, 0.8)
    c, ci = b.colors["front"], b.colors["inside"]
    o = np.array([xf, 0.0, 0.0])

    def box(lo, hi, col):
        b.box(lk, tuple(np.subtract(lo, o)), tuple(np.subtract(hi, o)), col)

    box((xf, ya, za), (xf + _T, yb, zb), c)  # front panel, proud of the carcass
    box((xf - depth, ya + 0.01, za), (xf, yb - 0.01, za + 0.012), ci)  # bottom
    for yy in (ya + 0.01, yb - 0.022):
        box((xf - depth, yy, za), (xf, yy + 0.012, za + wall_h), ci)  # sides
    box((xf - depth, ya + 0.01, za), (xf - depth + 0.012, yb - 0.01, za + wall_h), ci)  # back
    hl = min(0.35, (yb - ya) * b.rng.uniform(0.3, 0.6))
    _handle_rel(b, lk, o, xf + _T, ((ya + yb) / 2, za + (zb - za) * b.rng.uniform(0.5, 0.75)), "y", hl)
    b.joint(f"{name}_slide", "prismatic", name, o, (1.0, 0.0, 0.0), depth * b.rng.uniform(0.75, 0.9))


def _handle_rel(b: _Builder, lk: Link, origin: np.ndarray, x_front: float, yz, along: str, length: float) -> None:
    """:func:`_handle` for a link whose origin is ``origin`` (the handle is given in object coordinates)."""
    n0 = len(lk.visuals)
    _handle(b, lk, x_front, yz, along, length)
    T = np.eye(4)
    T[:3, 3] = -origin
    for i in range(n0, len(lk.visuals)):
        lk.visuals[i] = lk.visuals[i].transformed(T)
        lk.collisions[i].T_link_geom = T @ lk.collisions[i].T_link_geom


def _door(b: _Builder, name: str, D: float, y0: float, y1: float, z0: float, z1: float, hinge: str) -> None:
    """A door covering [y0, y1] x [z0, z1] hinged on its "left", "right" or "top" edge (link origin: the hinge)."""
    lk = b.link(name)
    xf = D / 2
    ya, yb, za, zb = y0 + _GAP, y1 - _GAP, z0 + _GAP, z1 - _GAP
    if hinge == "left":
        o, axis = np.array([xf, ya, 0.0]), (0.0, 0.0, -1.0)
        yz, along, hl = (yb - 0.06, za + (zb - za) * b.rng.uniform(0.35, 0.65)), "z", min(0.4, (zb - za) * 0.35)
    elif hinge == "right":
        o, axis = np.array([xf, yb, 0.0]), (0.0, 0.0, 1.0)
        yz, along, hl = (ya + 0.06, za + (zb - za) * b.rng.uniform(0.35, 0.65)), "z", min(0.4, (zb - za) * 0.35)
    else:
        o, axis = np.array([xf, 0.0, zb]), (0.0, -1.0, 0.0)
        yz, along, hl = ((ya + yb) / 2, za + 0.05), "y", min(0.35, (yb - ya) * 0.4)
    T = np.eye(4)
    T[:3, 3] = -o
    b.box(lk, tuple(np.array([xf, ya, za]) - o), tuple(np.array([xf + _T, yb, zb]) - o), b.colors["front"])
    _handle_rel(b, lk, o, xf + _T, yz, along, hl)
    upper = b.rng.uniform(1.4, 2.0) if hinge != "top" else b.rng.uniform(1.2, 1.6)
    b.joint(f"{name}_hinge", "revolute", name, o, axis, upper)


def _lid(b: _Builder, W: float, D: float, H: float) -> None:
    """A lid over an open-top box, hinged on the back top edge, with a front lip carrying the handle."""
    lk = b.link("lid")
    o = np.array([-D / 2, 0.0, H])
    lip = min(0.05, H * 0.2)
    b.box(lk, (0.0, -W / 2, 0.0), (D + _T, W / 2, _T), b.colors["front"])
    b.box(lk, (D, -W / 2, -lip), (D + _T, W / 2, 0.0), b.colors["front"])  # a lip over the front wall
    _handle_rel(b, lk, o, D / 2 + _T, (0.0, H - lip / 2), "y", min(0.3, W * 0.4))
    b.joint("lid_hinge", "revolute", "lid", o, (0.0, -1.0, 0.0), b.rng.uniform(1.3, 1.8))


def generate_object(seed: int, config: ObjectConfig = ObjectConfig(), kind: str | None = None) -> ArticulatedModel:
    """The articulated object of ``seed`` (same seed, same object). ``kind`` forces one of :data:`KINDS`."""
    rng = np.random.default_rng(seed)
    kind = kind or config.kinds[int(rng.integers(len(config.kinds)))]
    if kind not in KINDS:
        raise ConfigError(f"unknown object kind '{kind}'; choose from {KINDS}")
    b = _Builder(rng)
    mp = config.max_parts
    if kind == "box":
        W, D, H = rng.uniform(0.3, 0.7), rng.uniform(0.25, 0.5), rng.uniform(0.18, 0.4)
        _carcass(b, W, D, H, open_top=True)
        b.box(b.links[0], (D / 2 - _T, -W / 2 + _T, _T), (D / 2, W / 2 - _T, H), b.colors["body"])  # front wall
        _lid(b, W, D, H)
    elif kind == "microwave":
        W, D, H = rng.uniform(0.45, 0.65), rng.uniform(0.34, 0.45), rng.uniform(0.27, 0.38)
        _carcass(b, W, D, H)
        split = -W / 2 + W * rng.uniform(0.68, 0.78)
        b.box(b.links[0], (D / 2 - _T, split, _T), (D / 2, W / 2 - _T, H - _T), b.colors["body"])  # control panel
        _door(b, "door", D, -W / 2, split, 0.0, H, "left")
    elif kind == "fridge":
        W, D, H = rng.uniform(0.55, 0.8), rng.uniform(0.55, 0.75), rng.uniform(1.3, 1.85)
        _carcass(b, W, D, H)
        hinge = "left" if rng.random() < 0.5 else "right"
        if rng.random() < 0.6 and mp >= 2:
            zs = H * rng.uniform(0.6, 0.72)
            b.box(b.links[0], (-D / 2 + _T, -W / 2 + _T, zs - _T / 2), (D / 2, W / 2 - _T, zs + _T / 2), b.colors["body"])
            _door(b, "door_lower", D, -W / 2, W / 2, 0.0, zs, hinge)
            _door(b, "door_upper", D, -W / 2, W / 2, zs, H, hinge)
        else:
            _door(b, "door", D, -W / 2, W / 2, 0.0, H, hinge)
    else:
        if kind == "drawers":
            W, D, H = rng.uniform(0.4, 1.0), rng.uniform(0.35, 0.55), rng.uniform(0.4, 1.1)
            n_dr, doors = int(rng.integers(1, min(4, mp) + 1)), 0
        else:
            W, D, H = rng.uniform(0.4, 1.0), rng.uniform(0.35, 0.6), rng.uniform(0.45, 1.2)
            n_dr = int(rng.integers(0, min(2, mp - 1) + 1))
            doors = int(rng.integers(1, min(2, mp - n_dr) + 1))
        _carcass(b, W, D, H)
        top = H - _T
        door_zone = H * rng.uniform(0.45, 0.7) if (n_dr and doors) else 0.0
        if doors == 0:
            door_zone = _T
        rows = np.linspace(door_zone if doors else _T, top, n_dr + 1) if n_dr else [door_zone]
        for i in range(n_dr):
            z0, z1 = rows[i], rows[i + 1]
            if i > 0 or doors:
                b.box(b.links[0], (-D / 2 + _T, -W / 2 + _T, z0 - _T / 2), (D / 2, W / 2 - _T, z0 + _T / 2),
                      b.colors["body"])
            _drawer(b, f"drawer_{i}", D, -W / 2 + _T, W / 2 - _T, z0 + (_T / 2 if (i > 0 or doors) else 0), z1)
        if doors:
            zd1 = door_zone if n_dr else H
            if doors == 1:
                hinge = ["left", "right", "top"][int(rng.integers(3))] if zd1 < 0.7 else ["left", "right"][
                    int(rng.integers(2))]
                _door(b, "door", D, -W / 2, W / 2, 0.0, zd1, hinge)
            else:
                b.box(b.links[0], (-D / 2 + _T, -_T / 2, _T), (D / 2, _T / 2, zd1 - _T), b.colors["body"])
                _door(b, "door_left", D, -W / 2, 0.0, 0.0, zd1, "left")
                _door(b, "door_right", D, 0.0, W / 2, 0.0, zd1, "right")
    return ArticulatedModel(f"{kind}-{seed}", b.links, b.joints, source=f"procedural:{kind}:{seed}",
                            meta={"kind": kind, "seed": int(seed), "size_m": [float(W), float(D), float(H)],
                                  "front_yaw_rad": 0.0})
