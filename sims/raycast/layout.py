"""Floor plans of procedural houses: rooms from a seeded binary partition, doors, and wall segments.

Pure geometry on axis-aligned rectangles (world frame, metres, Z up); no meshes here. Coordinates
are snapped to 5 cm so walls of neighbouring rooms meet exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Rect", "Door", "WallSegment", "FloorPlan", "generate_floor_plan", "plan_from_rooms", "WALL_THICKNESS_M"]

WALL_THICKNESS_M = 0.10
_SNAP_M = 0.05
_MIN_ROOM_SIDE_M = 2.4
_DOOR_HEIGHT_M = 2.05


def _snap(v: float) -> float:
    return round(round(v / _SNAP_M) * _SNAP_M, 4)


@dataclass(frozen=True, slots=True)
class Rect:
    """Axis-aligned rectangle [x0, x1] x [y0, y1] in metres."""

    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def depth(self) -> float:
        return self.y1 - self.y0

    @property
    def area(self) -> float:
        return self.width * self.depth

    @property
    def center(self) -> tuple[float, float]:
        return ((self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2)

    def contains(self, x: np.ndarray, y: np.ndarray, margin: float = 0.0) -> np.ndarray:
        return (x >= self.x0 + margin) & (x <= self.x1 - margin) & (y >= self.y0 + margin) & (y <= self.y1 - margin)


@dataclass(frozen=True, slots=True)
class Door:
    """An opening in the wall between rooms ``a`` and ``b``: on the line ``axis`` = ``coord``
    ("x": a vertical wall at x = coord; "y": a horizontal wall at y = coord), spanning [lo, hi]."""

    a: int
    b: int
    axis: str
    coord: float
    lo: float
    hi: float
    height_m: float = _DOOR_HEIGHT_M

    @property
    def center(self) -> tuple[float, float]:
        mid = (self.lo + self.hi) / 2
        return (self.coord, mid) if self.axis == "x" else (mid, self.coord)


@dataclass(frozen=True, slots=True)
class WallSegment:
    """A straight wall piece on line ``axis`` = ``coord`` from ``lo`` to ``hi``, between z0 and z1."""

    axis: str
    coord: float
    lo: float
    hi: float
    z0: float
    z1: float
    exterior: bool


@dataclass(frozen=True)
class FloorPlan:
    footprint: Rect
    rooms: tuple[Rect, ...]
    doors: tuple[Door, ...]
    walls: tuple[WallSegment, ...]
    wall_height_m: float

    def room_at(self, x: float, y: float) -> int | None:
        """Index of the room containing (x, y), or None."""
        for i, r in enumerate(self.rooms):
            if r.x0 <= x <= r.x1 and r.y0 <= y <= r.y1:
                return i
        return None


def _partition(rng: np.random.Generator, footprint: Rect, n_rooms: int) -> list[Rect]:
    rooms = [footprint]
    while len(rooms) < n_rooms:
        order = sorted(range(len(rooms)), key=lambda i: -rooms[i].area)
        for i in order:  # split the largest room that can still be split
            r = rooms[i]
            vertical = r.width >= r.depth if abs(r.width - r.depth) > 0.5 else bool(rng.random() < 0.5)
            side = r.width if vertical else r.depth
            if side < 2 * _MIN_ROOM_SIDE_M:
                vertical = not vertical
                side = r.width if vertical else r.depth
                if side < 2 * _MIN_ROOM_SIDE_M:
                    continue
            lo_f = _MIN_ROOM_SIDE_M / side
            f = rng.uniform(max(0.35, lo_f), min(0.65, 1 - lo_f))
            if vertical:
                cut = _snap(r.x0 + f * r.width)
                parts = [Rect(r.x0, r.y0, cut, r.y1), Rect(cut, r.y0, r.x1, r.y1)]
            else:
                cut = _snap(r.y0 + f * r.depth)
                parts = [Rect(r.x0, r.y0, r.x1, cut), Rect(r.x0, cut, r.x1, r.y1)]
            rooms[i:i + 1] = parts
            break
        else:
            break  # nothing splittable left
    return rooms


def _shared_edge(a: Rect, b: Rect) -> tuple[str, float, float, float] | None:
    """(axis, coord, lo, hi) of the wall two rooms share, if any."""
    for axis, (a_hi, b_lo, a_lo2, b_hi2) in (("x", (a.x1, b.x0, a.x0, b.x1)), ("y", (a.y1, b.y0, a.y0, b.y1))):
        for ca, cb in ((a_hi, b_lo), (a_lo2, b_hi2)):
            if abs(ca - cb) < 1e-6:
                lo = max(a.y0, b.y0) if axis == "x" else max(a.x0, b.x0)
                hi = min(a.y1, b.y1) if axis == "x" else min(a.x1, b.x1)
                if hi - lo > 1e-6:
                    return axis, ca, lo, hi
    return None


def _doors(rng: np.random.Generator, rooms: list[Rect]) -> list[Door] | None:
    """Doors on a random spanning tree of the room adjacency graph plus a few loops; None when the
    rooms cannot all be connected through walls long enough for a door."""
    edges = []
    for i in range(len(rooms)):
        for j in range(i + 1, len(rooms)):
            e = _shared_edge(rooms[i], rooms[j])
            if e and e[3] - e[2] >= 1.3:
                edges.append((i, j, *e))
    rng.shuffle(edges)
    # a random spanning tree (union-find) keeps every room reachable; a few extra doors make loops
    parent = list(range(len(rooms)))

    def find(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    chosen = []
    for e in edges:
        ra, rb = find(e[0]), find(e[1])
        if ra != rb:
            parent[ra] = rb
            chosen.append(e)
        elif rng.random() < 0.25:
            chosen.append(e)
    if len({find(k) for k in range(len(rooms))}) > 1:
        return None
    doors = []
    for i, j, axis, coord, lo, hi in chosen:
        margin = min(0.3, (hi - lo - 0.9) / 2)
        width = np.floor(min(rng.uniform(0.9, 1.1), hi - lo - 2 * margin) / _SNAP_M + 1e-9) * _SNAP_M
        start = np.floor(rng.uniform(lo + margin, max(lo + margin, hi - margin - width)) / _SNAP_M + 1e-9) * _SNAP_M
        start, width = round(float(max(start, lo)), 4), round(float(width), 4)
        doors.append(Door(i, j, axis, coord, start, round(start + width, 4)))
    return doors


def _merge(intervals: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[list[float]] = []
    for lo, hi in sorted(intervals):
        if out and lo <= out[-1][1] + 1e-9:
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    return [(a, b) for a, b in out]


def _walls(rooms: list[Rect], doors: list[Door], footprint: Rect, height: float) -> list[WallSegment]:
    lines: dict[tuple[str, float], list[tuple[float, float]]] = {}
    for r in rooms:
        lines.setdefault(("x", r.x0), []).append((r.y0, r.y1))
        lines.setdefault(("x", r.x1), []).append((r.y0, r.y1))
        lines.setdefault(("y", r.y0), []).append((r.x0, r.x1))
        lines.setdefault(("y", r.y1), []).append((r.x0, r.x1))
    segs = []
    for (axis, coord), ivs in sorted(lines.items()):
        exterior = coord in ((footprint.x0, footprint.x1) if axis == "x" else (footprint.y0, footprint.y1))
        holes = sorted((d.lo, d.hi, d.height_m) for d in doors if d.axis == axis and abs(d.coord - coord) < 1e-6)
        for lo, hi in _merge(ivs):
            cursor = lo
            for hlo, hhi, dh in holes:
                if hhi <= lo or hlo >= hi:
                    continue
                if hlo > cursor:
                    segs.append(WallSegment(axis, coord, cursor, hlo, 0.0, height, exterior))
                segs.append(WallSegment(axis, coord, hlo, hhi, dh, height, exterior))  # lintel
                cursor = hhi
            if hi > cursor:
                segs.append(WallSegment(axis, coord, cursor, hi, 0.0, height, exterior))
    return segs


def generate_floor_plan(rng: np.random.Generator, n_rooms: int | None = None,
                        area_m2: float | None = None) -> FloorPlan:
    """A connected floor plan of 3 to 10 rooms and 50 to 250 m2 of floor (HM3D-like scale).

    Args:
        rng: the only source of randomness (same state, same plan).
        n_rooms: number of rooms (default: drawn from 3..10).
        area_m2: total floor area (default: about 14 to 25 m2 per room, clipped to [50, 250]).
    """
    n = int(n_rooms if n_rooms is not None else rng.integers(3, 11))
    if not 1 <= n <= 16:
        from embodied.errors import ConfigError

        raise ConfigError(f"n_rooms must be in [1, 16], got {n}")
    area = float(area_m2 if area_m2 is not None else np.clip(n * rng.uniform(14.0, 25.0), 52.0, 245.0))
    aspect = rng.uniform(1.0, 1.7)
    w = _snap(np.sqrt(area * aspect))
    d = _snap(area / w)
    footprint = Rect(0.0, 0.0, w, d)
    for _ in range(20):  # deterministic retries: the same rng state gives the same sequence
        rooms = _partition(rng, footprint, n)
        doors = _doors(rng, rooms)
        if doors is not None:
            break
    else:
        raise RuntimeError(f"could not connect {n} rooms in a {w} x {d} m footprint")
    height = _snap(rng.uniform(2.5, 2.8))
    return FloorPlan(footprint, tuple(rooms), tuple(doors), tuple(_walls(rooms, doors, footprint, height)), height)


def plan_from_rooms(rooms: list[Rect], doors: list[Door], wall_height_m: float = 2.6) -> FloorPlan:
    """A floor plan from hand-made rooms and doors (walls derived as for generated plans)."""
    fp = Rect(min(r.x0 for r in rooms), min(r.y0 for r in rooms), max(r.x1 for r in rooms), max(r.y1 for r in rooms))
    return FloorPlan(fp, tuple(rooms), tuple(doors), tuple(_walls(list(rooms), list(doors), fp, wall_height_m)),
                     wall_height_m)
