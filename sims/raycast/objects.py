"""Procedural meshes for the object categories of the built-in simulator.

Every object is a few flat-coloured trimesh primitives (boxes, cylinders, cones, ellipsoids, annuli, a
torus, surfaces of revolution) joined into one mesh: metres, Z up, the front facing +X (the back, -X,
goes against a wall), centred on the origin in x/y, standing on z=0 (a clock is centred at z=0 so it
can be hung). ``make_object(category, rng)`` draws the shape parameters, colours and materials from
``rng``: the same generator state gives the same mesh, byte for byte. Objects stay under 3,000 faces.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple, TypeVar

import numpy as np
import trimesh

from sims.raycast.categories import CATEGORIES, category_spec

__all__ = ["ProceduralObject", "make_object", "list_categories"]

MAX_FACES = 3000
Vec = Sequence[float]
RGB = tuple[int, int, int]
_T = TypeVar("_T")


@dataclass(frozen=True)
class ProceduralObject:
    """One generated object instance, ready to be placed: rotate about Z and translate its origin."""

    category: str
    mesh: trimesh.Trimesh  # metres, front +X, face_colors RGBA uint8 on every face
    attributes: dict[str, str]  # "colour", "material", "size" ("small" | "medium" | "large")
    support_height_m: float | None  # top of the usable surface (table, cabinet), else None
    support_extent_m: tuple[float, float] | None  # usable top size (x, y) in metres, else None


class Paint(NamedTuple):
    """A flat colour: a plain English ``name``, ``rgb`` (0-255) and the ``material`` it stands for."""

    name: str
    rgb: RGB
    material: str | None = None  # None: an accent (screen, leaves, books) that never names the material


# palette -> (material, ((colour name, rgb), ...))
_PALETTES: dict[str, tuple[str | None, tuple[tuple[str, RGB], ...]]] = {
    "wood": ("wood", (("light brown", (190, 150, 105)), ("brown", (135, 90, 58)), ("dark brown", (85, 56, 38)),
                      ("reddish brown", (130, 62, 42)), ("beige", (212, 188, 150)), ("white", (232, 230, 224)),
                      ("black", (42, 38, 36)))),
    "metal": ("metal", (("silver", (190, 193, 198)), ("grey", (125, 128, 133)), ("dark grey", (72, 74, 78)),
                        ("black", (40, 40, 42)), ("gold", (196, 160, 84)))),
    "fabric": ("fabric", (("red", (165, 42, 42)), ("blue", (52, 82, 150)), ("navy blue", (34, 44, 84)),
                          ("grey", (128, 128, 130)), ("dark grey", (70, 70, 74)), ("beige", (208, 190, 160)),
                          ("green", (70, 118, 72)), ("yellow", (212, 172, 52)), ("orange", (205, 110, 45)),
                          ("teal", (40, 118, 120)), ("purple", (100, 62, 122)), ("brown", (118, 80, 52)))),
    "leather": ("leather", (("black", (36, 34, 34)), ("brown", (112, 66, 38)), ("dark brown", (70, 44, 30)),
                            ("tan", (172, 112, 64)), ("white", (226, 222, 214)))),
    "plastic": ("plastic", (("white", (236, 236, 234)), ("black", (36, 36, 38)), ("red", (190, 40, 36)),
                            ("blue", (40, 90, 180)), ("yellow", (228, 190, 40)), ("green", (60, 150, 80)),
                            ("grey", (140, 142, 146)), ("orange", (230, 120, 30)))),
    "ceramic": ("ceramic", (("white", (240, 240, 236)), ("cream", (236, 226, 200)), ("light grey", (196, 198, 200)),
                            ("blue", (60, 100, 170)), ("black", (40, 40, 44)), ("terracotta", (182, 92, 58)),
                            ("green", (96, 140, 100)))),
    "glass": ("glass", (("light blue", (168, 204, 220)), ("green", (70, 140, 100)), ("blue", (50, 90, 170)),
                        ("amber", (190, 120, 40)), ("purple", (120, 80, 150)))),
    "stone": ("stone", (("white", (226, 224, 218)), ("grey", (140, 140, 138)), ("black", (44, 44, 46)),
                        ("beige", (200, 184, 158)))),
    "appliance": ("metal", (("white", (238, 238, 236)), ("silver", (192, 195, 200)), ("black", (38, 38, 40)),
                            ("dark grey", (84, 86, 90)), ("cream", (234, 224, 196)))),
    "electronics": ("plastic", (("black", (30, 30, 32)), ("dark grey", (66, 68, 72)), ("silver", (186, 188, 192)),
                                ("white", (232, 232, 230)))),
    "linen": ("fabric", (("white", (240, 240, 236)), ("cream", (236, 228, 206)), ("light grey", (200, 202, 206)),
                         ("light blue", (184, 204, 226)))),
    "shade": ("fabric", (("white", (240, 238, 230)), ("cream", (236, 224, 190)), ("beige", (210, 190, 150)),
                         ("light grey", (200, 200, 200)), ("black", (40, 40, 40)), ("red", (170, 50, 45)))),
    "book": (None, (("red", (160, 40, 40)), ("blue", (40, 70, 150)), ("green", (50, 110, 60)),
                    ("yellow", (220, 180, 60)), ("white", (230, 228, 220)), ("black", (36, 36, 40)),
                    ("orange", (210, 110, 40)), ("brown", (120, 76, 50)), ("teal", (40, 120, 130)))),
    "leaf": (None, (("green", (62, 132, 56)), ("dark green", (36, 92, 42)), ("light green", (112, 164, 72)))),
    "flower": (None, (("red", (200, 40, 50)), ("yellow", (240, 200, 40)), ("white", (245, 245, 240)),
                      ("pink", (236, 130, 170)), ("purple", (130, 70, 170)))),
}
_SCREEN = Paint("black", (16, 18, 24))
_DARK = Paint("black", (34, 34, 36))
_CHROME = Paint("silver", (206, 209, 214), "metal")
_SOIL = Paint("dark brown", (62, 44, 32))
_WATER = Paint("light blue", (176, 198, 210))
_TRUNK = Paint("brown", (100, 70, 45), "wood")
_UNIT_BOX = trimesh.creation.box()  # extents 1, centred on the origin
_AXES = {"z": np.eye(4), "x": trimesh.transformations.rotation_matrix(math.pi / 2, [0, 1, 0]),
         "y": trimesh.transformations.rotation_matrix(-math.pi / 2, [1, 0, 0])}


# ---------------------------------------------------------------------------------------- helpers
def _choice(rng: np.random.Generator, seq: Sequence[_T]) -> _T:
    """One element of ``seq``, drawn uniformly."""
    return seq[int(rng.integers(len(seq)))]


def _pick(rng: np.random.Generator, palette: str) -> Paint:
    """A colour of ``palette`` with a little brightness and hue jitter (the name stays right)."""
    material, entries = _PALETTES[palette]
    name, rgb = _choice(rng, entries)
    rgb = np.clip(np.asarray(rgb) * rng.uniform(0.93, 1.06) + rng.integers(-6, 7, 3), 0, 255)
    return Paint(name, tuple(int(c) for c in rgb), material)


def _tint(paint: Paint, factor: float) -> Paint:
    """``paint`` made darker (factor < 1) or lighter; same name and material."""
    return paint._replace(rgb=tuple(int(min(255, round(c * factor))) for c in paint.rgb))


def _part(mesh: trimesh.Trimesh, colour: Paint) -> trimesh.Trimesh:
    """Give every face of ``mesh`` the flat RGBA colour of ``colour``; returns ``mesh``."""
    mesh.visual.face_colors = np.tile(np.array([*colour.rgb, 255], np.uint8), (len(mesh.faces), 1))
    mesh.metadata["paint"] = colour
    return mesh


def _moved(mesh: trimesh.Trimesh, at: Vec = (0, 0, 0), axis: str = "z", scale: Vec = (1, 1, 1)) -> trimesh.Trimesh:
    """Scale ``mesh`` by ``scale`` (local x, y, z), turn its local +Z onto ``axis``, move its origin to ``at``."""
    m = _AXES[axis] @ np.diag([*scale, 1.0])
    m[:3, 3] += np.asarray(at, float)
    return mesh.apply_transform(m)


def _span(c: Paint, lo: Vec, hi: Vec) -> trimesh.Trimesh:
    """Axis-aligned box from corner ``lo`` to corner ``hi`` (x, y, z metres)."""
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    return _part(trimesh.Trimesh(_UNIT_BOX.vertices * (hi - lo) + (lo + hi) / 2, _UNIT_BOX.faces, process=False), c)


def _cyl(c: Paint, r: float, h: float, at: Vec, axis: str = "z", n: int = 16,
         scale: Vec = (1, 1, 1)) -> trimesh.Trimesh:
    """Cylinder of radius ``r`` and height ``h`` centred on ``at`` along ``axis``; ``scale`` makes it elliptic."""
    return _part(_moved(trimesh.creation.cylinder(radius=r, height=h, sections=n), at, axis, scale), c)


def _rod(c: Paint, r: float, p0: Vec, p1: Vec, n: int = 12) -> trimesh.Trimesh:
    """Cylinder of radius ``r`` from point ``p0`` to point ``p1``."""
    return _part(trimesh.creation.cylinder(radius=r, segment=np.array([p0, p1], float), sections=n), c)


def _ring(c: Paint, r_in: float, r_out: float, h: float, at: Vec, axis: str = "z", n: int = 20,
          scale: Vec = (1, 1, 1)) -> trimesh.Trimesh:
    """Annulus (a tube with a wall) of height ``h`` centred on ``at`` along ``axis``."""
    return _part(_moved(trimesh.creation.annulus(r_in, r_out, height=h, sections=n), at, axis, scale), c)


def _blob(c: Paint, radii: Vec, at: Vec, subdiv: int = 1) -> trimesh.Trimesh:
    """Ellipsoid with semi-axes ``radii`` (x, y, z) centred on ``at``."""
    return _part(_moved(trimesh.creation.icosphere(subdivisions=subdiv), at, scale=radii), c)


def _cone(c: Paint, r: float, h: float, base: Vec, direction: Vec = (0, 0, 1), n: int = 12,
          flat: float = 1.0) -> trimesh.Trimesh:
    """Cone with base centre ``base`` pointing along ``direction``; ``flat`` < 1 squashes it into a blade."""
    mesh = _moved(trimesh.creation.cone(r, h, sections=n), scale=(1, flat, 1))
    m = trimesh.geometry.align_vectors([0, 0, 1], np.asarray(direction, float))
    m[:3, 3] = base
    return _part(mesh.apply_transform(m), c)


def _frustum(c: Paint, r_bot: float, r_top: float, h: float, base: Vec, n: int = 16,
             scale: Vec = (1, 1, 1)) -> trimesh.Trimesh:
    """Truncated cone standing on ``base`` (bottom radius ``r_bot``, top radius ``r_top``, height ``h``)."""
    mesh = trimesh.creation.cylinder(radius=r_bot, height=h, sections=n)
    v = mesh.vertices.copy()
    v[v[:, 2] > 0, :2] *= r_top / r_bot
    mesh.vertices = v
    return _part(_moved(mesh, (base[0], base[1], base[2] + h / 2), scale=scale), c)


def _lathe(c: Paint, profile: Sequence[tuple[float, float]], base: Vec, n: int = 18,
           scale: Vec = (1, 1, 1)) -> trimesh.Trimesh:
    """Surface of revolution of ``profile`` ((radius, height) pairs, metres) about +Z, standing on ``base``."""
    return _part(_moved(trimesh.creation.revolve(np.asarray(profile, float), sections=n), base, scale=scale), c)


def _bowl(c: Paint, r: float, depth: float, wall: float, base: Vec, n: int = 20, scale: Vec = (1, 1, 1),
          upside_down: bool = False) -> trimesh.Trimesh:
    """Open bowl (a thin shell: outer wall, rim, inner wall) of top radius ``r`` and ``depth``, on ``base``."""
    prof = [(0, 0), (0.72 * r, 0), (r, depth), (r - wall, depth), (0.72 * r - wall, wall), (0, wall)]
    if upside_down:  # a dome opening downwards; reversed so that the normals still point outwards
        prof = [(x, depth - z) for x, z in reversed(prof)]
    return _lathe(c, prof, base, n, scale)


def _open_box(floor: Paint, walls: Paint, lo: Vec, hi: Vec, wall: float) -> list[trimesh.Trimesh]:
    """A box from ``lo`` to ``hi`` without its top: a floor and four walls ``wall`` thick (a basin, a tub)."""
    (x0, y0, z0), (x1, y1, z1) = lo, hi
    return [_span(floor, (x0, y0, z0), (x1, y1, z0 + wall)),
            _span(walls, (x0, y0, z0), (x0 + wall, y1, z1)), _span(walls, (x1 - wall, y0, z0), (x1, y1, z1)),
            _span(walls, (x0 + wall, y0, z0), (x1 - wall, y0 + wall, z1)),
            _span(walls, (x0 + wall, y1 - wall, z0), (x1 - wall, y1, z1))]


def _radial(c: Paint, theta: float, r0: float, r1: float, width: float, x: float) -> trimesh.Trimesh:
    """A flat bar in the plane x = ``x``, radii ``r0``..``r1``, at clock angle ``theta`` (0 up, pi/2 towards +Y)."""
    box = trimesh.creation.box(extents=(0.002, width, r1 - r0))
    box.apply_translation((x, 0, (r0 + r1) / 2))
    return _part(box.apply_transform(trimesh.transformations.rotation_matrix(-theta, [1, 0, 0])), c)


def _size_word(t: float) -> str:
    """"small" / "medium" / "large" for the lower / middle / upper third of a size range."""
    return "small" if t < 1 / 3 else "medium" if t < 2 / 3 else "large"


def _finish(category: str, parts: list[trimesh.Trimesh], size_t: float, *, colour: Paint | None = None,
            support: tuple[float, tuple[float, float]] | None = None) -> ProceduralObject:
    """Join ``parts``, drop degenerate faces, centre in x/y, put the base on z=0 (a clock: centre on z=0).

    ``size_t`` in [0, 1] is where the instance lies in its category's size range. The colour and material
    attributes come from ``colour`` when given, else from the paint covering the most area. ``support``:
    (top height, (x, y) extent) in the parts' frame.
    """
    verts, faces, cols, names, mats = [], [], [], {}, {}
    offset = 0
    for p in parts:
        tri = p.vertices[p.faces]
        area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
        ok = area > 1e-9
        verts.append(p.vertices)
        faces.append(p.faces[ok] + offset)
        cols.append(p.visual.face_colors[ok])
        offset += len(p.vertices)
        paint: Paint = p.metadata["paint"]
        names[paint.name] = names.get(paint.name, 0.0) + float(area[ok].sum())
        if paint.material:
            mats[paint.material] = mats.get(paint.material, 0.0) + float(area[ok].sum())
    used, inverse = np.unique(np.vstack(faces).ravel(), return_inverse=True)
    v, f = np.vstack(verts)[used], inverse.reshape(-1, 3)
    if len(f) > MAX_FACES:
        raise RuntimeError(f"{category}: {len(f)} faces exceeds the budget of {MAX_FACES}")
    lo, hi = v.min(axis=0), v.max(axis=0)
    shift = np.array([(lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, (lo[2] + hi[2]) / 2 if category == "clock" else lo[2]])
    mesh = trimesh.Trimesh(vertices=v - shift, faces=f, face_colors=np.vstack(cols), process=False)
    attributes = {"colour": colour.name if colour else max(names, key=names.get),
                  "material": (colour.material if colour and colour.material else max(mats, key=mats.get)),
                  "size": _size_word(size_t)}
    height, extent = (None, None) if support is None else (float(support[0] - shift[2]), support[1])
    extent = None if extent is None else (float(extent[0]), float(extent[1]))
    return ProceduralObject(category, mesh, attributes, height, extent)


def _faucet(c: Paint, base: Vec, height: float, reach: float, r: float = 0.012) -> list[trimesh.Trimesh]:
    """A tap at ``base``: a riser, a spout reaching ``reach`` towards +X, a short nozzle and two knobs."""
    x, y, z = base
    top = z + height
    return [_rod(c, r, (x, y, z), (x, y, top)), _rod(c, r * 0.8, (x, y, top), (x + reach, y, top)),
            _rod(c, r * 0.8, (x + reach, y, top), (x + reach, y, top - 0.03)),
            _cyl(c, 0.015, 0.03, (x, y - 0.07, z + 0.015), n=12), _cyl(c, 0.015, 0.03, (x, y + 0.07, z + 0.015), n=12)]


def _handle(c: Paint, x: float, p0: Vec, p1: Vec, proud: float = 0.03, w: float = 0.014) -> trimesh.Trimesh:
    """A bar handle on a front at depth ``x`` from (y, z) ``p0`` to (y, z) ``p1``, standing ``proud`` off it."""
    (y0, z0), (y1, z1) = p0, p1
    lo = (x, min(y0, y1) - w / 2, min(z0, z1) - w / 2)
    return _span(c, lo, (x + proud, max(y0, y1) + w / 2, max(z0, z1) + w / 2))


# -------------------------------------------------------------------------------------- categories
def _chair(rng: np.random.Generator) -> ProceduralObject:
    """Chair: seat 0.43-0.48 m high on 4 legs, panel/slat/ladder back up to 0.8-1.0 m (at -X), maybe arms."""
    t = rng.random()
    w, d = 0.40 + 0.12 * t, rng.uniform(0.40, 0.50)
    seat_h, seat_t, back_h = rng.uniform(0.43, 0.48), rng.uniform(0.03, 0.06), rng.uniform(0.36, 0.50)
    frame = _pick(rng, _choice(rng, ("wood", "wood", "metal")))
    seat = _choice(rng, (frame, frame, _pick(rng, "fabric"), _pick(rng, "plastic")))
    metal = frame.material == "metal"
    leg = rng.uniform(0.014, 0.022) if metal else rng.uniform(0.028, 0.045)
    round_legs = metal or rng.random() < 0.4
    z0, top = seat_h - seat_t, seat_h + back_h
    parts = []
    for sx in (-1, 1):
        for sy in (-1, 1):
            x, y, z1 = sx * (d / 2 - leg / 2), sy * (w / 2 - leg / 2), (top if sx < 0 else z0)
            parts.append(_rod(frame, leg / 2, (x, y, 0), (x, y, z1)) if round_legs
                         else _span(frame, (x - leg / 2, y - leg / 2, 0), (x + leg / 2, y + leg / 2, z1)))
    parts.append(_span(seat, (-d / 2, -w / 2, z0), (d / 2, w / 2, seat_h)))
    xb, yi = -d / 2 + leg / 2, w / 2 - leg
    style = 0 if seat is not frame else int(rng.integers(3))
    if style == 0:  # solid (or upholstered) back panel
        parts.append(_span(seat, (xb - 0.015, -yi, seat_h + rng.uniform(0.06, 0.16)), (xb + 0.015, yi, top - 0.01)))
    elif style == 1:  # top rail and vertical slats
        rail = rng.uniform(0.06, 0.10)
        parts.append(_span(frame, (xb - 0.012, -yi, top - rail), (xb + 0.012, yi, top)))
        n = int(rng.integers(3, 6))
        for y in np.linspace(-yi, yi, n + 2)[1:-1]:
            parts.append(_span(frame, (xb - 0.01, y - 0.015, seat_h), (xb + 0.01, y + 0.015, top - rail)))
    else:  # ladder back: horizontal rails
        for z in np.linspace(seat_h + 0.12, top - 0.03, int(rng.integers(2, 5))):
            parts.append(_span(frame, (xb - 0.012, -yi, z - 0.025), (xb + 0.012, yi, z + 0.025)))
    if rng.random() < 0.25:  # armrests on front posts
        for sy in (-1, 1):
            y = sy * (w / 2 - leg / 2)
            parts.append(_span(frame, (xb, y - 0.025, seat_h + 0.2), (d / 2, y + 0.025, seat_h + 0.225)))
            parts.append(_rod(frame, leg / 2, (d / 2 - leg / 2, y, seat_h), (d / 2 - leg / 2, y, seat_h + 0.2)))
    return _finish("chair", parts, t)


def _bed(rng: np.random.Generator) -> ProceduralObject:
    """Bed 1.95-2.15 m long (X) x 1.4-1.8 m wide: base, mattress, blanket, pillows, headboard at -X."""
    t = rng.random()
    L, W = rng.uniform(1.95, 2.15), 1.4 + 0.4 * t
    frame = _pick(rng, _choice(rng, ("wood", "wood", "fabric", "metal")))
    sheet, blanket = _pick(rng, "linen"), _pick(rng, "fabric")
    base_top = rng.uniform(0.28, 0.38)
    mt = base_top + rng.uniform(0.18, 0.26)
    parts = [_span(sheet, (-L / 2 + 0.02, -W / 2, base_top), (L / 2 - 0.02, W / 2, mt))]
    if rng.random() < 0.5:  # divan base
        parts.append(_span(_tint(frame, 0.9), (-L / 2, -W / 2 - 0.02, 0), (L / 2, W / 2 + 0.02, base_top)))
    else:  # side rails on legs
        leg_h = rng.uniform(0.08, 0.22)
        parts.append(_span(frame, (-L / 2, -W / 2 - 0.03, leg_h), (L / 2, W / 2 + 0.03, base_top)))
        for x in (-L / 2 + 0.04, L / 2 - 0.04):
            for y in (-W / 2 + 0.02, W / 2 - 0.02):
                parts.append(_span(_tint(frame, 0.7), (x - 0.03, y - 0.03, 0), (x + 0.03, y + 0.03, leg_h)))
    x0 = -L / 2 + rng.uniform(0.6, 0.85)  # blanket covers the foot end and drapes over the sides
    parts.append(_span(blanket, (x0, -W / 2 - 0.025, mt - rng.uniform(0.14, 0.22)), (L / 2, W / 2 + 0.025, mt + 0.03)))
    parts.append(_span(sheet, (x0 - 0.005, -W / 2 - 0.03, mt + 0.01), (x0 + 0.16, W / 2 + 0.03, mt + 0.045)))
    n = 1 if W < 1.5 else int(rng.integers(2, 4)) if W > 1.7 else 2
    pw = W / n
    for i in range(n):
        parts.append(_blob(_choice(rng, (sheet, _tint(sheet, 1.05), _pick(rng, "linen"))),
                           (0.2, pw * 0.42, 0.075), (-L / 2 + 0.3, -W / 2 + pw * (i + 0.5), mt + 0.05)))
    hb_h, hb_t = rng.uniform(0.9, 1.3), rng.uniform(0.04, 0.08)
    if frame.material == "metal":  # posts, rails and rods
        for y in (-W / 2 - 0.02, W / 2 + 0.02):
            parts.append(_rod(frame, 0.02, (-L / 2, y, 0), (-L / 2, y, hb_h)))
        for z in (base_top + 0.05, hb_h - 0.04):
            parts.append(_rod(frame, 0.015, (-L / 2, -W / 2 - 0.02, z), (-L / 2, W / 2 + 0.02, z)))
        for y in np.linspace(-W / 2, W / 2, int(rng.integers(6, 11)))[1:-1]:
            parts.append(_rod(frame, 0.008, (-L / 2, y, base_top + 0.05), (-L / 2, y, hb_h - 0.04), n=8))
    else:
        parts.append(_span(frame, (-L / 2 - hb_t, -W / 2 - 0.04, 0), (-L / 2, W / 2 + 0.04, hb_h)))
        if frame.material == "fabric":  # rounded upholstered top
            parts.append(_cyl(frame, hb_t * 0.75, W + 0.08, (-L / 2 - hb_t / 2, 0, hb_h), axis="y", n=16))
    if rng.random() < 0.35:  # footboard
        parts.append(_span(frame, (L / 2, -W / 2 - 0.04, 0), (L / 2 + hb_t, W / 2 + 0.04, mt + rng.uniform(0.05, 0.2))))
    return _finish("bed", parts, t, colour=blanket)


def _potted_plant(rng: np.random.Generator) -> ProceduralObject:
    """Pot (radius 0.1-0.2 m) with soil and a green crown: bush of blobs, fan of blades or a small tree."""
    t = rng.random()
    pot = _pick(rng, _choice(rng, ("ceramic", "ceramic", "plastic")))
    pr = 0.10 + 0.10 * t
    ph = pr * rng.uniform(1.2, 1.9)
    H = rng.uniform(0.35, 0.6) + 0.7 * t  # height of the foliage above the pot
    leaf = _pick(rng, "leaf")
    parts = [_frustum(pot, pr * rng.uniform(0.68, 0.85), pr, ph, (0, 0, 0), n=20),
             _ring(_tint(pot, 0.9), pr * 0.9, pr * 1.07, 0.03, (0, 0, ph - 0.015), n=20),
             _cyl(_SOIL, pr * 0.92, 0.01, (0, 0, ph - 0.02), n=20)]
    style = int(rng.integers(3))
    if style == 0:  # leafy bush of overlapping blobs
        n = int(rng.integers(7, 12))
        for i in range(n):
            a, rad = 2 * math.pi * i / n + rng.uniform(-0.3, 0.3), rng.uniform(0.2, 1.0) * pr * 1.3
            rb = rng.uniform(0.35, 0.5) * max(pr * 1.6, H * 0.4)
            z = ph + rb * 0.6 + rng.uniform(0.0, 1.0) * max(H - 1.6 * rb, 0.01)
            at = (rad * math.cos(a), rad * math.sin(a), z)
            parts.append(_blob(_tint(leaf, rng.uniform(0.8, 1.15)), (rb, rb, rb * 0.9), at))
    elif style == 1:  # long blade leaves fanning out of the soil (snake plant, palm)
        n = int(rng.integers(9, 16))
        for i in range(n):
            a, s = 2 * math.pi * i / n + rng.uniform(-0.2, 0.2), rng.uniform(0.1, 0.6)
            base = (0.3 * pr * math.cos(a), 0.3 * pr * math.sin(a), ph - 0.02)
            parts.append(_cone(_tint(leaf, rng.uniform(0.8, 1.15)), rng.uniform(0.035, 0.06), H * rng.uniform(0.6, 1.0),
                               base, (s * math.cos(a), s * math.sin(a), 1.0), n=8, flat=0.3))
    else:  # little tree: trunk and a crown of blobs
        crown = max(0.22, H * 0.35)
        parts.append(_rod(_TRUNK, rng.uniform(0.015, 0.03), (0, 0, ph - 0.02), (0, 0, ph + H - crown)))
        for _ in range(int(rng.integers(5, 9))):
            off = rng.uniform(-1, 1, 3) * crown * np.array([0.6, 0.6, 0.35])
            rb = crown * rng.uniform(0.45, 0.65)
            at = (off[0], off[1], ph + H - crown + off[2])
            parts.append(_blob(_tint(leaf, rng.uniform(0.8, 1.15)), (rb, rb, rb * 0.85), at))
    return _finish("potted plant", parts, t)


def _toilet(rng: np.random.Generator) -> ProceduralObject:
    """Toilet: tank at the back (-X), bowl with seat ring and lid (down or up), seat at 0.38-0.42 m."""
    t = rng.random()
    body = _choice(rng, (Paint("white", (242, 242, 240), "ceramic"),) * 3 + (_pick(rng, "ceramic"),))
    seat_c = _choice(rng, (body, body, _tint(body, 0.94), _pick(rng, "plastic"), _pick(rng, "wood")))
    tw, td, th = 0.36 + 0.1 * t, rng.uniform(0.15, 0.2), rng.uniform(0.3, 0.4)
    bh, bl, bw = rng.uniform(0.38, 0.42), rng.uniform(0.42, 0.52), rng.uniform(0.34, 0.39)
    bx = td + bl / 2 - 0.06  # bowl centre (the tank's back is at x=0)
    tz = bh - 0.02
    parts = [_span(body, (0, -tw / 2, tz), (td, tw / 2, tz + th)),
             _span(_tint(body, 0.96), (-0.01, -tw / 2 - 0.01, tz + th), (td + 0.01, tw / 2 + 0.01, tz + th + 0.025)),
             _span(body, (td - 0.02, -0.1, 0.1), (td + 0.12, 0.1, bh)),  # neck under the tank
             _frustum(body, 1.0, 0.8, bh - 0.2, (bx - 0.04, 0, 0), n=20, scale=(bl * 0.3, bw * 0.33, 1)),
             _frustum(body, 0.72, 1.0, 0.22, (bx, 0, bh - 0.22), n=20, scale=(bl / 2, bw / 2, 1)),
             _ring(seat_c, 0.62, 1.0, 0.025, (bx, 0, bh + 0.0125), n=20, scale=(bl / 2 + 0.01, bw / 2 + 0.01, 1)),
             _cyl(_WATER, 0.61, 0.004, (bx + 0.01, 0, bh + 0.002), n=20, scale=(bl / 2, bw / 2, 1))]
    if rng.random() < 0.6:  # lid down
        parts.append(_cyl(seat_c, 1.0, 0.018, (bx, 0, bh + 0.034), n=20, scale=(bl / 2 + 0.01, bw / 2 + 0.01, 1)))
    else:  # lid up, leaning on the tank
        parts.append(_cyl(seat_c, 1.0, 0.018, (td + 0.02, 0, bh + 0.025 + bl / 2), axis="x", n=20,
                          scale=(bl / 2, bw / 2 + 0.01, 1)))
    if rng.random() < 0.5:  # push button on the lid, else a lever on the front
        parts.append(_cyl(_CHROME, 0.02, 0.012, (td / 2, 0, tz + th + 0.03), n=12))
    else:
        parts.append(_span(_CHROME, (td, tw / 2 - 0.1, tz + th - 0.06), (td + 0.02, tw / 2 - 0.03, tz + th - 0.045)))
    return _finish("toilet", parts, t, colour=body)


def _tv(rng: np.random.Generator) -> ProceduralObject:
    """Flat TV 0.40-0.50 m wide (Y), dark screen facing +X in a bezel, on a pedestal or two feet."""
    t = rng.random()
    W = 0.40 + 0.10 * t
    H, T, bz = W * rng.uniform(0.55, 0.6), rng.uniform(0.02, 0.04), rng.uniform(0.008, 0.02)
    body = _pick(rng, "electronics")
    zb = rng.uniform(0.05, 0.1)
    sd = rng.uniform(0.14, 0.2)  # stand depth
    parts = [_span(body, (-T / 2, -W / 2, zb), (T / 2, W / 2, zb + H)),
             _span(_SCREEN, (T / 2, -W / 2 + bz, zb + bz * 1.5), (T / 2 + 0.003, W / 2 - bz, zb + H - bz)),
             _span(_tint(body, 0.9), (-T / 2 - rng.uniform(0.01, 0.03), -W * 0.3, zb + H * 0.15),
                   (-T / 2, W * 0.3, zb + H * 0.7))]
    if rng.random() < 0.6:  # central pedestal
        parts.append(_span(body, (-0.02, -0.025, 0.01), (0.0, 0.025, zb + 0.06)))
        if rng.random() < 0.5:
            parts.append(_span(body, (-sd / 2, -W * 0.25, 0), (sd / 2, W * 0.25, 0.015)))
        else:
            parts.append(_cyl(body, sd / 2, 0.015, (0, 0, 0.0075), n=20, scale=(1, 1.4, 1)))
    else:  # two feet near the ends
        for sy in (-1, 1):
            y = sy * W * 0.38
            parts.append(_span(body, (-sd / 2, y - 0.015, 0), (sd / 2, y + 0.015, 0.012)))
            parts.append(_span(body, (-0.012, y - 0.012, 0.01), (0.0, y + 0.012, zb + 0.04)))
    return _finish("tv", parts, t, colour=body)


def _sofa(rng: np.random.Generator) -> ProceduralObject:
    """Sofa 1.5-2.4 m wide (Y), 0.8-1.0 m deep: base, 1-4 seat and back cushions, arms, legs or plinth."""
    t = rng.random()
    W, D = 1.5 + 0.9 * t, rng.uniform(0.8, 1.0)
    seat_h, back_top = rng.uniform(0.40, 0.46), rng.uniform(0.75, 0.95)
    arm_h, arm_w = rng.uniform(0.55, 0.68), rng.uniform(0.10, 0.24)
    leg_h = _choice(rng, (0.0, rng.uniform(0.04, 0.15)))
    cover = _pick(rng, _choice(rng, ("fabric", "fabric", "fabric", "leather")))
    back_t, bc_t, cush_t = rng.uniform(0.12, 0.2), rng.uniform(0.12, 0.18), rng.uniform(0.10, 0.16)
    yi, xb = W / 2 - arm_w, -D / 2 + back_t
    parts = [_span(_tint(cover, 0.88), (xb, -yi, max(leg_h, 0.0)), (D / 2 - 0.02, yi, seat_h - cush_t)),
             _span(_tint(cover, 0.9), (-D / 2, -W / 2, leg_h), (xb, W / 2, back_top))]
    n = max(1, min(4, round(2 * yi / 0.65)))
    for i, y in enumerate(np.linspace(-yi, yi, n + 1)[:-1]):  # seat and back cushions
        y0, y1, c = y + 0.005, y + 2 * yi / n - 0.005, _tint(cover, 1.0 + 0.04 * (i % 2))
        parts.append(_span(c, (xb + bc_t, y0, seat_h - cush_t), (D / 2, y1, seat_h)))
        parts.append(_span(_tint(c, 0.97), (xb, y0, seat_h), (xb + bc_t, y1, back_top - 0.03)))
    for sy in (-1, 1):
        y0, y1 = sorted((sy * yi, sy * W / 2))
        parts.append(_span(_tint(cover, 0.95), (-D / 2, y0, leg_h), (D / 2, y1, arm_h)))
        if rng.random() < 0.4:  # rolled arm
            parts.append(_cyl(_tint(cover, 0.95), (y1 - y0) * 0.6, D, (0, (y0 + y1) / 2, arm_h), axis="x", n=16))
    if leg_h > 0:
        legc = _pick(rng, _choice(rng, ("wood", "metal")))
        for x in (-D / 2 + 0.06, D / 2 - 0.06):
            for y in (-W / 2 + 0.06, W / 2 - 0.06) + ((0.0,) if W > 2.0 else ()):
                parts.append(_frustum(legc, 0.02, 0.03, leg_h, (x, y, 0), n=12))
    if rng.random() < 0.5:  # throw pillows
        pc = _pick(rng, "fabric")
        for sy in (-1, 1):
            parts.append(_blob(pc, (0.07, 0.2, 0.19), (xb + bc_t + 0.06, sy * (yi - 0.22), seat_h + 0.18)))
    return _finish("sofa", parts, t, colour=cover)


def _table(rng: np.random.Generator) -> ProceduralObject:
    """Table with its top at 0.72-0.78 m: rectangular, square or round; four legs, pedestal or trestles."""
    t = rng.random()
    h, top_t = rng.uniform(0.72, 0.78), rng.uniform(0.025, 0.05)
    shape = _choice(rng, ("rect", "rect", "square", "round"))
    if shape == "rect":
        lx, ly = 1.0 + 0.8 * t, rng.uniform(0.7, 1.0)
    elif shape == "square":
        lx = ly = 0.7 + 0.3 * t
    else:
        lx = ly = 0.8 + 0.4 * t
    top_mat = _choice(rng, ("wood", "wood", "wood", "glass", "plastic", "stone"))
    top = _pick(rng, top_mat)
    legc = top if top_mat in ("wood", "plastic") and rng.random() < 0.7 else _pick(rng, _choice(rng, ("metal", "wood")))
    z0 = h - top_t
    parts = []
    if shape == "round":
        parts.append(_cyl(top, lx / 2, top_t, (0, 0, h - top_t / 2), n=24))
    else:
        parts.append(_span(top, (-lx / 2, -ly / 2, z0), (lx / 2, ly / 2, h)))
    leg = rng.uniform(0.035, 0.06)
    if shape == "round" and rng.random() < 0.5:  # pedestal
        parts.append(_cyl(legc, rng.uniform(0.04, 0.07), z0 - 0.02, (0, 0, z0 / 2 + 0.01), n=16))
        parts.append(_frustum(legc, lx * rng.uniform(0.25, 0.32), 0.06, 0.04, (0, 0, 0), n=20))
        parts.append(_cyl(legc, 0.12, 0.03, (0, 0, z0 - 0.015), n=16))
    elif shape == "rect" and rng.random() < 0.3:  # trestles: post, foot and head bar at each end, a stretcher
        fy = ly / 2 - 0.08
        for sx in (-1, 1):
            x = sx * (lx / 2 - rng.uniform(0.12, 0.2))
            parts += [_span(legc, (x - 0.03, -0.06, 0.05), (x + 0.03, 0.06, z0 - 0.05)),
                      _span(legc, (x - 0.035, -fy, 0.0), (x + 0.035, fy, 0.05)),
                      _span(legc, (x - 0.03, -fy, z0 - 0.05), (x + 0.03, fy, z0))]
        parts.append(_span(legc, (-lx / 2 + 0.15, -0.025, 0.25), (lx / 2 - 0.15, 0.025, 0.33)))
    else:
        inset = rng.uniform(0.04, 0.1)
        k = 0.71 if shape == "round" else 1.0
        ax, ay = (lx / 2 - inset) * k, (ly / 2 - inset) * k
        for sx in (-1, 1):
            for sy in (-1, 1):
                x, y = sx * ax, sy * ay
                if legc.material == "metal" or rng.random() < 0.3:
                    parts.append(_rod(legc, leg / 2.5, (x, y, 0), (x, y, z0)))
                else:
                    parts.append(_span(legc, (x - leg / 2, y - leg / 2, 0), (x + leg / 2, y + leg / 2, z0)))
        if shape != "round" and rng.random() < 0.5:  # apron under the top
            parts.append(_span(legc, (-ax, -ay, z0 - 0.08), (ax, ay, z0)))
    extent = (lx / math.sqrt(2), ly / math.sqrt(2)) if shape == "round" else (lx, ly)
    return _finish("table", parts, t, colour=top, support=(h, extent))


def _cabinet(rng: np.random.Generator) -> ProceduralObject:
    """Cabinet 0.6-1.4 m wide (Y), 0.55-0.95 m high: carcass, top slab, doors and/or drawers with handles."""
    t = rng.random()
    W, D, H = 0.6 + 0.8 * t, rng.uniform(0.38, 0.58), rng.uniform(0.55, 0.95)
    front = _pick(rng, _choice(rng, ("wood", "wood", "plastic")))
    top = front if rng.random() < 0.7 else _pick(rng, "stone")
    knob = _pick(rng, "metal")
    top_t, pt = rng.uniform(0.02, 0.04), 0.018
    base_h = rng.uniform(0.06, 0.16)
    xf = D / 2  # front face of the carcass
    parts = [_span(_tint(front, 0.72), (-D / 2, -W / 2, base_h), (xf, W / 2, H - top_t)),
             _span(top, (-D / 2, -W / 2 - 0.01, H - top_t), (xf + pt + 0.04, W / 2 + 0.01, H))]
    if rng.random() < 0.5:  # recessed plinth
        parts.append(_span(_tint(front, 0.5), (-D / 2, -W / 2 + 0.02, 0), (xf - 0.04, W / 2 - 0.02, base_h)))
    else:
        for x in (-D / 2 + 0.04, xf - 0.04):
            for y in (-W / 2 + 0.04, W / 2 - 0.04):
                parts.append(_frustum(_tint(front, 0.8), 0.015, 0.022, base_h, (x, y, 0), n=12))
    style = _choice(rng, ("doors", "drawers", "mixed"))
    z_lo, z_hi, g = base_h + 0.01, H - top_t - 0.01, 0.005
    rows = []  # (z0, z1, columns, is_drawer)
    ncol = 1 if W < 0.8 else 2 if W < 1.15 else 3
    if style == "drawers":
        nd = int(rng.integers(3, 6))
        zs = np.linspace(z_lo, z_hi, nd + 1)
        rows += [(zs[i], zs[i + 1], 1 if W < 0.9 else 2, True) for i in range(nd)]
    elif style == "mixed":
        zd = z_hi - rng.uniform(0.14, 0.2)
        rows += [(zd, z_hi, ncol, True), (z_lo, zd, max(2, ncol), False)]
    else:
        rows.append((z_lo, z_hi, max(2, ncol), False))
    for z0, z1, nc, drawer in rows:
        ys = np.linspace(-W / 2 + 0.01, W / 2 - 0.01, nc + 1)
        for i in range(nc):
            y0, y1 = ys[i] + g, ys[i + 1] - g
            parts.append(_span(front, (xf, y0, z0 + g), (xf + pt, y1, z1 - g)))
            if drawer:
                yc, half = (y0 + y1) / 2, min(0.1, (y1 - y0) * 0.25)
                zc = (z0 + z1) / 2 if z1 - z0 < 0.25 else z1 - 0.08
                parts.append(_handle(knob, xf + pt, (yc - half, zc), (yc + half, zc), proud=0.025))
            else:  # vertical handle next to the door's free edge
                ye = y1 - 0.04 if i % 2 == 0 and nc > 1 else y0 + 0.04
                zc = z1 - 0.12 if z1 - z0 > 0.3 else (z0 + z1) / 2
                parts.append(_handle(knob, xf + pt, (ye, zc - 0.06), (ye, zc + 0.06), proud=0.025))
    return _finish("cabinet", parts, t, colour=front, support=(H, (D + pt + 0.04, W + 0.02)))


def _sink(rng: np.random.Generator) -> ProceduralObject:
    """Sink: a pedestal basin, or a bathroom vanity / kitchen cabinet with a recessed basin and a tap."""
    t = rng.random()
    style = _choice(rng, ("pedestal", "vanity", "kitchen"))
    basin = Paint("white", (242, 242, 240), "ceramic") if rng.random() < 0.7 else _pick(rng, "ceramic")
    parts = []
    if style == "pedestal":
        bw, bd, zt = 0.48 + 0.14 * t, rng.uniform(0.38, 0.46), rng.uniform(0.8, 0.88)
        parts.append(_frustum(basin, 0.12, 0.08, zt - 0.15, (-bd * 0.15, 0, 0), n=16, scale=(1, 1.2, 1)))
        parts.append(_bowl(basin, 1.0, 0.18, 0.1, (0, 0, zt - 0.18), n=24, scale=(bd / 2, bw / 2, 1)))
        parts.append(_span(basin, (-bd / 2 - 0.02, -bw * 0.3, zt - 0.06), (-bd / 2 + 0.07, bw * 0.3, zt)))
        parts += _faucet(_CHROME, (-bd / 2 + 0.035, 0, zt), 0.1, 0.09)
        return _finish("sink", parts, t, colour=basin)
    kitchen = style == "kitchen"
    W, D = (0.8 + 0.4 * t, rng.uniform(0.58, 0.64)) if kitchen else (0.5 + 0.5 * t, rng.uniform(0.45, 0.55))
    H = rng.uniform(0.88, 0.92) if kitchen else rng.uniform(0.8, 0.86)
    wood, counter = _pick(rng, _choice(rng, ("wood", "plastic"))), _pick(rng, _choice(rng, ("stone", "stone", "wood")))
    knob, ct = _pick(rng, "metal"), 0.03
    parts += [_span(_tint(wood, 0.75), (-D / 2, -W / 2, 0.08), (D / 2, W / 2, H - ct - 0.2)),
              _span(_tint(wood, 0.5), (-D / 2, -W / 2 + 0.02, 0), (D / 2 - 0.05, W / 2 - 0.02, 0.08))]
    for y0 in (-W / 2, W / 2 - 0.02):  # carcass walls around the basin space
        parts.append(_span(_tint(wood, 0.75), (-D / 2, y0, H - ct - 0.2), (D / 2, y0 + 0.02, H - ct)))
    parts.append(_span(_tint(wood, 0.75), (-D / 2, -W / 2, H - ct - 0.2), (-D / 2 + 0.02, W / 2, H - ct)))
    for i, (y0, y1) in enumerate(((-W / 2 + 0.01, -0.003), (0.003, W / 2 - 0.01))):
        parts.append(_span(wood, (D / 2, y0, 0.09), (D / 2 + 0.018, y1, H - ct - 0.01)))
        ye = y1 - 0.04 if i == 0 else y0 + 0.04
        parts.append(_handle(knob, D / 2 + 0.018, (ye, H - 0.2), (ye, H - 0.08), proud=0.02))
    # countertop with a rectangular hole over an open basin (a real recess)
    hx, hy, depth = D * 0.3, W * (0.32 if kitchen else 0.3), rng.uniform(0.14, 0.2)
    xc, z0 = 0.03, H - ct
    bcol = Paint("silver", (196, 200, 204), "metal") if kitchen else basin
    parts += [_span(counter, (-D / 2, -W / 2, z0), (xc - hx, W / 2, H)),
              _span(counter, (xc + hx, -W / 2, z0), (D / 2 + 0.04, W / 2, H)),
              _span(counter, (xc - hx, -W / 2, z0), (xc + hx, -hy, H)),
              _span(counter, (xc - hx, hy, z0), (xc + hx, W / 2, H)),
              *_open_box(bcol, _tint(bcol, 0.92), (xc - hx - 0.01, -hy - 0.01, z0 - depth),
                         (xc + hx + 0.01, hy + 0.01, H), 0.01),
              _cyl(_DARK, 0.025, 0.003, (xc, 0, z0 - depth + 0.0115), n=12),
              _span(bcol, (xc - hx - 0.03, -hy - 0.03, H), (xc + hx + 0.03, -hy, H + 0.005)),  # lip around the hole
              _span(bcol, (xc - hx - 0.03, hy, H), (xc + hx + 0.03, hy + 0.03, H + 0.005)),
              _span(bcol, (xc - hx - 0.03, -hy, H), (xc - hx, hy, H + 0.005)),
              _span(bcol, (xc + hx, -hy, H), (xc + hx + 0.03, hy, H + 0.005))]
    parts += _faucet(_CHROME, (xc - hx - 0.05, 0, H), 0.32 if kitchen else 0.12, hx + 0.02 if kitchen else 0.1)
    return _finish("sink", parts, t, colour=bcol)


def _bathtub(rng: np.random.Generator) -> ProceduralObject:
    """Bathtub 1.5-1.8 m long (Y), 0.5-0.6 m high: built-in open box or freestanding oval tub on feet."""
    t = rng.random()
    L, W, H = 1.5 + 0.3 * t, rng.uniform(0.7, 0.85), rng.uniform(0.5, 0.6)
    tub = Paint("white", (242, 242, 240), "ceramic") if rng.random() < 0.75 else _pick(rng, "ceramic")
    parts = []
    if rng.random() < 0.5:  # built-in alcove tub: open box with a front apron
        wall = rng.uniform(0.06, 0.1)
        parts += _open_box(_tint(tub, 0.93), tub, (-W / 2, -L / 2, 0), (W / 2, L / 2, H), wall)
        parts += _faucet(_CHROME, (-W / 2 + wall / 2, L / 2 - wall - 0.15, H), 0.08, 0.12)
    else:  # freestanding oval tub on feet
        feet = _pick(rng, "metal")
        parts.append(_bowl(tub, 1.0, H - 0.08, 0.1, (0, 0, 0.08), n=24, scale=(W / 2, L / 2, 1)))
        for sx in (-1, 1):
            for sy in (-1, 1):
                parts.append(_blob(feet, (0.04, 0.04, 0.045), (sx * W * 0.2, sy * L * 0.3, 0.045)))
        parts.append(_rod(_CHROME, 0.015, (-W / 2 - 0.05, 0, 0), (-W / 2 - 0.05, 0, H + 0.2)))
        parts.append(_rod(_CHROME, 0.012, (-W / 2 - 0.05, 0, H + 0.2), (-W / 2 + 0.12, 0, H + 0.2)))
    return _finish("bathtub", parts, t, colour=tub)


def _lamp(rng: np.random.Generator) -> ProceduralObject:
    """Floor lamp 1.3-1.8 m tall: disc base and pole, tripod, or an arc with a hanging dome shade."""
    t = rng.random()
    Ht = 1.3 + 0.5 * t
    metal, shade = _pick(rng, "metal"), _pick(rng, "shade")
    rb, sh = rng.uniform(0.17, 0.25), rng.uniform(0.24, 0.36)
    rt = rb * rng.uniform(0.6, 0.95)
    style = _choice(rng, ("pole", "pole", "tripod", "arc"))
    parts = []
    if style == "arc":  # heavy base at the back, arched pole, dome shade hanging in front
        reach = rng.uniform(0.6, 0.9)
        parts.append(_cyl(metal, 0.16, 0.05, (-0.3, 0, 0.025), n=20))
        pts = [(-0.3 + reach * (1 - math.cos(a)), 0, 0.05 + (Ht - 0.05) * math.sin(a))
               for a in np.linspace(0, math.pi * 0.55, 8)]
        for p0, p1 in zip(pts[:-1], pts[1:]):
            parts.append(_rod(metal, 0.015, p0, p1))
        x, z = pts[-1][0], pts[-1][2]
        parts.append(_rod(metal, 0.008, (x, 0, z), (x, 0, z - 0.08)))
        parts.append(_bowl(shade, rb, rb * 0.8, 0.012, (x, 0, z - 0.08 - rb * 0.8), n=20, upside_down=True))
        return _finish("lamp", parts, t, colour=shade)
    if style == "tripod":
        legs = _pick(rng, _choice(rng, ("wood", "metal")))
        zj, R = Ht * 0.55, rng.uniform(0.25, 0.35)
        for i in range(3):
            a = 2 * math.pi * i / 3 + math.pi / 3
            parts.append(_rod(legs, 0.015, (R * math.cos(a), R * math.sin(a), 0), (0, 0, zj)))
        parts.append(_rod(legs, 0.013, (0, 0, zj), (0, 0, Ht - sh * 0.5)))
    else:
        parts.append(_cyl(metal, rng.uniform(0.13, 0.18), 0.03, (0, 0, 0.015), n=20))
        parts.append(_rod(metal, rng.uniform(0.011, 0.018), (0, 0, 0.03), (0, 0, Ht - sh * 0.5)))
    parts.append(_frustum(shade, rb, rt, sh, (0, 0, Ht - sh), n=20))
    parts.append(_cyl(Paint("light yellow", (255, 244, 200)), rb * 0.96, 0.004, (0, 0, Ht - sh - 0.002), n=20))
    return _finish("lamp", parts, t, colour=shade)


def _bookshelf(rng: np.random.Generator) -> ProceduralObject:
    """Bookshelf 1.0-2.0 m tall: sides, back, 3-6 shelves filled with coloured books, open at +X."""
    t = rng.random()
    H, W, D = 1.0 + 1.0 * t, rng.uniform(0.6, 1.2), rng.uniform(0.26, 0.38)
    th, base_h = rng.uniform(0.018, 0.03), rng.uniform(0.04, 0.09)
    frame = _pick(rng, _choice(rng, ("wood", "wood", "wood", "metal")))
    n = max(3, min(6, round(H / 0.34)))
    gap = (H - base_h - th) / n
    parts = [_span(_tint(frame, 0.8), (-D / 2, -W / 2, 0), (-D / 2 + 0.01, W / 2, H)),
             _span(frame, (-D / 2, -W / 2, 0), (D / 2, -W / 2 + th, H)),
             _span(frame, (-D / 2, W / 2 - th, 0), (D / 2, W / 2, H)),
             _span(_tint(frame, 0.85), (-D / 2, -W / 2 + th, 0), (D / 2 - 0.01, W / 2 - th, base_h))]
    books = 0
    for k in range(n + 1):
        z = base_h + k * gap
        parts.append(_span(frame, (-D / 2 + 0.01, -W / 2 + th, z), (D / 2, W / 2 - th, z + th)))
        if k == n:
            break
        y, y_end = -W / 2 + th + 0.005, W / 2 - th - rng.uniform(0.0, 0.35) * (W - 2 * th)
        clear = gap - th
        while books < 170:
            if rng.random() < 0.08:  # a short stack of books lying flat
                bw, bh = rng.uniform(0.15, 0.25), rng.uniform(0.025, 0.04)
                if y + bw > y_end:
                    break
                for j in range(int(rng.integers(2, 5))):
                    bd = D * rng.uniform(0.6, 0.8)
                    zb = z + th + j * bh
                    parts.append(_span(_pick(rng, "book"), (D / 2 - 0.01 - bd, y, zb), (D / 2 - 0.01, y + bw, zb + bh)))
                    books += 1
            else:
                bw, bd = rng.uniform(0.018, 0.05), D * rng.uniform(0.6, 0.85)
                if y + bw > y_end:
                    break
                bh = min(clear - 0.01, rng.uniform(0.18, 0.3), clear * rng.uniform(0.65, 0.95))
                zb = z + th
                parts.append(_span(_pick(rng, "book"), (D / 2 - 0.01 - bd, y, zb), (D / 2 - 0.01, y + bw, zb + bh)))
                books += 1
            y += bw + 0.002
    return _finish("bookshelf", parts, t, colour=frame)


def _refrigerator(rng: np.random.Generator) -> ProceduralObject:
    """Refrigerator 1.7-1.9 m tall: body, doors split by gaps (top/bottom freezer, side by side, french), handles."""
    t = rng.random()
    H, W, D = 1.7 + 0.2 * t, rng.uniform(0.6, 0.9), rng.uniform(0.62, 0.75)
    body = _pick(rng, "appliance")
    bar = _choice(rng, (_CHROME, _tint(body, 0.85), _DARK))
    xf, pt, g = D / 2 - 0.05, 0.05, 0.006
    parts = [_span(_tint(body, 0.6), (-D / 2, -W / 2, 0), (xf, W / 2, H)),
             _span(_DARK, (xf, -W / 2 + 0.02, 0.01), (xf + 0.02, W / 2 - 0.02, 0.08))]
    style = _choice(rng, ("top", "bottom") + (("side", "french") if W > 0.76 else ()))
    zs = H * (rng.uniform(0.68, 0.75) if style == "top" else rng.uniform(0.3, 0.4))
    doors = []  # (y0, y1, z0, z1, handle: "v-left" | "v-right" | "h")
    if style == "top":
        doors += [(-W / 2, W / 2, 0.09, zs, "v-right"), (-W / 2, W / 2, zs, H, "v-right")]
    elif style == "bottom":
        doors += [(-W / 2, W / 2, 0.09, zs, "h"), (-W / 2, W / 2, zs, H, "v-right")]
    elif style == "side":
        doors += [(-W / 2, -W * 0.1, 0.09, H, "v-right"), (-W * 0.1, W / 2, 0.09, H, "v-left")]
    else:
        doors += [(-W / 2, W / 2, 0.09, zs, "h"), (-W / 2, 0, zs, H, "v-right"), (0, W / 2, zs, H, "v-left")]
    for y0, y1, z0, z1, kind in doors:
        y0, y1, z0, z1 = y0 + g, y1 - g, z0 + g, z1 - g
        parts.append(_span(body, (xf, y0, z0), (xf + pt, y1, z1)))
        zc, lh = ((z0 + z1) / 2, min(0.35, (z1 - z0) * 0.6)) if z1 - z0 < 0.8 else (z0 + 0.5, 0.5)
        if kind == "h":
            parts.append(_handle(bar, xf + pt, (y0 + 0.1, z1 - 0.06), (y1 - 0.1, z1 - 0.06), proud=0.04, w=0.02))
        else:
            ye = y1 - 0.04 if kind == "v-right" else y0 + 0.04
            parts.append(_handle(bar, xf + pt, (ye, zc - lh / 2), (ye, zc + lh / 2), proud=0.04, w=0.02))
    if style == "side" and rng.random() < 0.7:  # water dispenser
        parts.append(_span(_DARK, (xf + pt, -W * 0.42, H * 0.55), (xf + pt + 0.005, -W * 0.18, H * 0.72)))
    return _finish("refrigerator", parts, t, colour=body)


def _laptop(rng: np.random.Generator) -> ProceduralObject:
    """Open laptop 0.30-0.38 m wide: base with keyboard and touchpad, lid tilted back at the -X hinge."""
    t = rng.random()
    W = 0.30 + 0.08 * t
    Dp, bt, lt = W * rng.uniform(0.66, 0.72), rng.uniform(0.014, 0.022), rng.uniform(0.005, 0.009)
    body = _pick(rng, "electronics")
    a = math.radians(rng.uniform(100, 122))  # lid angle from the +X base plane
    d, nrm = np.array([math.cos(a), 0, math.sin(a)]), np.array([math.sin(a), 0, -math.cos(a)])
    hinge, kx = np.array([-Dp / 2, 0, bt]), -Dp / 2 + 0.02
    parts = [_span(body, (-Dp / 2, -W / 2, 0), (Dp / 2, W / 2, bt)),
             _span(_tint(_DARK, 1.2), (kx, -W / 2 + 0.02, bt), (kx + Dp * 0.45, W / 2 - 0.02, bt + 0.001)),  # keys
             _span(_tint(body, 0.85), (Dp * 0.2 - 0.015, -W * 0.16, bt), (Dp / 2 - 0.015, W * 0.16, bt + 0.001))]
    screen = _choice(rng, (_SCREEN, _SCREEN, Paint("blue", (60, 110, 190))))
    frame = np.eye(4)
    frame[:3, :3] = np.column_stack([nrm, [0, 1, 0], d])
    for size, off, paint in (((lt, W, Dp), -lt / 2, body),
                             ((0.001, W - 0.03, Dp - 0.035), 0.0005, screen)):
        frame[:3, 3] = hinge + d * (Dp / 2 + (0.004 if off > 0 else 0)) + nrm * off
        parts.append(_part(trimesh.creation.box(extents=size, transform=frame.copy()), paint))
    return _finish("laptop", parts, t, colour=body)


def _mug(rng: np.random.Generator) -> ProceduralObject:
    """Mug: hollow cylinder (radius 35-50 mm, 80-115 mm high) with a torus handle at +Y, maybe coffee."""
    t = rng.random()
    r, h, wall = 0.035 + 0.015 * t, rng.uniform(0.08, 0.105) + 0.01 * t, 0.005
    c = _pick(rng, _choice(rng, ("ceramic", "ceramic", "ceramic", "glass", "plastic")))
    parts = [_ring(c, r - wall, r, h, (0, 0, h / 2), n=20), _cyl(_tint(c, 0.9), r - wall, 0.008, (0, 0, 0.004), n=20)]
    if rng.random() < 0.4:  # coffee
        parts.append(_cyl(Paint("dark brown", (70, 44, 28)), r - wall - 0.0005, 0.002, (0, 0, h * 0.75), n=20))
    if rng.random() < 0.3:  # coloured band
        parts.append(_ring(_pick(rng, "ceramic"), r, r + 0.0015, h * 0.2, (0, 0, h * 0.6), n=20))
    R = h * 0.3
    torus = trimesh.creation.torus(R, rng.uniform(0.005, 0.008), major_sections=16, minor_sections=8)
    parts.append(_part(_moved(torus, (0, r + R * 0.55, h * 0.52), axis="x"), c))
    return _finish("mug", parts, t, colour=c)


_VASE_PROFILES = (((0.55, 0), (0.9, 0.15), (1, 0.35), (0.8, 0.6), (0.4, 0.8), (0.35, 0.92), (0.45, 1)),
                  ((0.8, 0), (0.85, 0.05), (0.85, 0.9), (0.95, 1)),
                  ((0.45, 0), (0.7, 0.2), (1.0, 0.5), (0.7, 0.75), (0.45, 0.85), (0.6, 1)),
                  ((0.7, 0), (1, 0.1), (1, 0.55), (0.35, 0.75), (0.25, 0.9), (0.3, 1)),
                  ((0.45, 0), (0.5, 0.15), (0.6, 0.45), (1, 1)))


def _vase(rng: np.random.Generator) -> ProceduralObject:
    """Vase 0.2-0.45 m high: one of five lathe profiles with a dark opening, sometimes with flowers."""
    t = rng.random()
    H = 0.2 + 0.25 * t
    R = H * rng.uniform(0.22, 0.38)
    c = _pick(rng, _choice(rng, ("ceramic", "ceramic", "glass", "metal")))
    outer = [(R * r, H * z) for r, z in _choice(rng, _VASE_PROFILES)]
    r_top, wall, depth = outer[-1][0], min(0.006, outer[-1][0] * 0.2), min(0.06, H * 0.3)
    prof = [(0.0, 0.0)] + outer + [(r_top - wall, H), (r_top - wall, H - depth), (0.0, H - depth)]
    parts = [_lathe(c, prof, (0, 0, 0), n=20),
             _cyl(_tint(c, 0.4), r_top - wall - 0.0005, 0.001, (0, 0, H - depth + 0.0006), n=20)]
    if rng.random() < 0.45:  # flowers
        for _ in range(int(rng.integers(3, 7))):
            a, s = rng.uniform(0, 2 * math.pi), rng.uniform(0.3, 1.0) * min(R * 1.1, 0.17)
            tip = (s * math.cos(a), s * math.sin(a), H + rng.uniform(0.08, 0.22))
            parts.append(_rod(Paint("green", (50, 110, 50)), 0.003, (0, 0, H - depth), tip, n=6))
            parts.append(_blob(_pick(rng, "flower"), (0.025,) * 3, tip))
    return _finish("vase", parts, t, colour=c)


def _clock(rng: np.random.Generator) -> ProceduralObject:
    """Wall clock, radius 0.12-0.22 m: frame, dial facing +X with 12 ticks and hands, back at -X."""
    t = rng.random()
    R, T = 0.12 + 0.1 * t, rng.uniform(0.03, 0.05)
    frame = _pick(rng, _choice(rng, ("wood", "metal", "plastic")))
    dial = _choice(rng, (
        Paint("white", (244, 244, 240)), Paint("cream", (238, 230, 206)), Paint("black", (30, 30, 32))))
    ink = Paint("white", (240, 240, 240)) if dial.name == "black" else _DARK
    xf = T / 2 - 0.008  # dial surface, recessed behind the rim
    if rng.random() < 0.8:
        parts = [_ring(frame, R * 0.9, R, T, (0, 0, 0), axis="x", n=32),
                 _cyl(dial, R * 0.9, xf + T / 2, ((xf - T / 2) / 2, 0, 0), axis="x", n=32)]
    else:  # square frame: dial panel and four bars
        r = R * 0.9
        parts = [_span(dial, (-T / 2, -r, -r), (xf, r, r)),
                 _span(frame, (-T / 2, -R, r), (T / 2, R, R)), _span(frame, (-T / 2, -R, -R), (T / 2, R, -r)),
                 _span(frame, (-T / 2, r, -r), (T / 2, R, r)), _span(frame, (-T / 2, -R, -r), (T / 2, -r, r))]
    for k in range(12):
        r0 = R * (0.7 if k % 3 == 0 else 0.76)
        parts.append(_radial(ink, 2 * math.pi * k / 12, r0, R * 0.84, R * 0.035, xf + 0.001))
    hour, minute = rng.uniform(0, 12), rng.uniform(0, 60)
    parts.append(_radial(ink, 2 * math.pi * hour / 12, -R * 0.1, R * 0.5, R * 0.06, xf + 0.003))
    parts.append(_radial(ink, 2 * math.pi * minute / 60, -R * 0.12, R * 0.76, R * 0.04, xf + 0.005))
    if rng.random() < 0.5:
        red = Paint("red", (200, 30, 30))
        parts.append(_radial(red, rng.uniform(0, 2 * math.pi), -R * 0.15, R * 0.8, R * 0.015, xf + 0.007))
    parts.append(_cyl(ink, R * 0.05, 0.01, (xf + 0.005, 0, 0), axis="x", n=12))
    return _finish("clock", parts, t, colour=frame)


def _oven(rng: np.random.Generator) -> ProceduralObject:
    """Kitchen range 0.5-0.9 m wide, 0.85-0.92 m high: door with dark window, handle, knobs, 4-5 burners."""
    t = rng.random()
    W, D, H = 0.5 + 0.4 * t, rng.uniform(0.58, 0.66), rng.uniform(0.85, 0.92)
    body = _pick(rng, "appliance")
    bar = _choice(rng, (_CHROME, _tint(body, 0.8), _DARK))
    xf = D / 2
    zd0, zd1 = 0.17, H - 0.13
    parts = [_span(body, (-D / 2, -W / 2, 0), (xf, W / 2, H)),
             _span(_tint(body, 0.92), (xf, -W / 2 + 0.01, 0.02), (xf + 0.01, W / 2 - 0.01, 0.15)),
             _span(_tint(body, 1.04), (xf, -W / 2 + 0.01, zd0), (xf + 0.02, W / 2 - 0.01, zd1)),
             _span(_SCREEN, (xf + 0.02, -W / 2 + 0.07, zd0 + 0.08), (xf + 0.021, W / 2 - 0.07, zd1 - 0.1)),  # window
             _handle(bar, xf + 0.02, (-W / 2 + 0.06, zd1 - 0.045), (W / 2 - 0.06, zd1 - 0.045), proud=0.035, w=0.018),
             _handle(bar, xf + 0.01, (-W * 0.2, 0.12), (W * 0.2, 0.12), proud=0.02, w=0.012)]
    nk = int(rng.integers(4, 7))
    if rng.random() < 0.5:  # knobs on the front strip
        for y in np.linspace(-W / 2 + 0.06, W / 2 - 0.06, nk):
            parts.append(_cyl(_DARK, 0.018, 0.02, (xf + 0.01, y, H - 0.065), axis="x", n=12))
    else:  # backguard with knobs
        parts.append(_span(_tint(body, 0.9), (-D / 2, -W / 2, H), (-D / 2 + 0.07, W / 2, H + rng.uniform(0.08, 0.14))))
        for y in np.linspace(-W / 2 + 0.06, W / 2 - 0.06, nk):
            parts.append(_cyl(_DARK, 0.016, 0.02, (-D / 2 + 0.08, y, H + 0.04), axis="x", n=12))
    gas = rng.random() < 0.55
    if not gas:
        parts.append(_span(_SCREEN, (-D / 2 + 0.08, -W / 2 + 0.01, H), (xf - 0.01, W / 2 - 0.01, H + 0.006)))
    spots = [(sx * D * 0.17 + 0.02, sy * W * 0.24) for sx in (-1, 1) for sy in (-1, 1)]
    spots += [(0.02, 0.0)] if W > 0.78 else []
    for i, (x, y) in enumerate(spots):
        r = (0.05 if i % 3 == 0 else 0.04) * min(1.0, W / 0.6)
        if gas:
            parts.append(_cyl(_DARK, r, 0.02, (x, y, H + 0.01), n=16))
            parts.append(_cyl(Paint("dark grey", (70, 70, 74)), r * 0.45, 0.012, (x, y, H + 0.026), n=12))
            parts.append(_span(_DARK, (x - r * 1.3, y - 0.006, H + 0.02), (x + r * 1.3, y + 0.006, H + 0.03)))
            parts.append(_span(_DARK, (x - 0.006, y - r * 1.3, H + 0.02), (x + 0.006, y + r * 1.3, H + 0.03)))
        else:
            parts.append(_ring(Paint("dark grey", (88, 88, 92)), r * 0.9, r, 0.002, (x, y, H + 0.007), n=20))
    return _finish("oven", parts, t, colour=body)


_BUILDERS: dict[str, Callable[[np.random.Generator], ProceduralObject]] = {
    "chair": _chair, "bed": _bed, "potted plant": _potted_plant, "toilet": _toilet, "tv": _tv, "sofa": _sofa,
    "table": _table, "cabinet": _cabinet, "sink": _sink, "bathtub": _bathtub, "lamp": _lamp,
    "bookshelf": _bookshelf, "refrigerator": _refrigerator, "laptop": _laptop, "mug": _mug, "vase": _vase,
    "clock": _clock, "oven": _oven,
}


def list_categories() -> tuple[str, ...]:
    """The category names, in ``CATEGORIES`` order."""
    return tuple(CATEGORIES)


def make_object(category: str, rng: np.random.Generator) -> ProceduralObject:
    """A new random instance of ``category`` drawn from ``rng``; unknown names raise ConfigError."""
    category_spec(category)
    return _BUILDERS[category](rng)
