"""Primitives and palette of the procedural objects (:mod:`sims.raycast.objects` holds the recipes).

Units are metres, Z up, the front facing +X. Every primitive returns one trimesh whose faces all carry the
flat RGBA colour of its :class:`Paint` (kept in ``mesh.metadata["paint"]`` so that :func:`finish` can name
the object's colour and material by area). ``finish`` joins the parts of one object into a
:class:`ProceduralObject`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple, TypeVar

import numpy as np
import trimesh

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
PALETTES: dict[str, tuple[str | None, tuple[tuple[str, RGB], ...]]] = {
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
SCREEN = Paint("black", (16, 18, 24))
DARK = Paint("black", (34, 34, 36))
CHROME = Paint("silver", (206, 209, 214), "metal")
SOIL = Paint("dark brown", (62, 44, 32))
WATER = Paint("light blue", (176, 198, 210))
TRUNK = Paint("brown", (100, 70, 45), "wood")
_UNIT_BOX = trimesh.creation.box()  # extents 1, centred on the origin
_AXES = {"z": np.eye(4), "x": trimesh.transformations.rotation_matrix(math.pi / 2, [0, 1, 0]),
         "y": trimesh.transformations.rotation_matrix(-math.pi / 2, [1, 0, 0])}


# ---------------------------------------------------------------------------------------- helpers
def choice(rng: np.random.Generator, seq: Sequence[_T]) -> _T:
    """One element of ``seq``, drawn uniformly."""
    return seq[int(rng.integers(len(seq)))]


def pick(rng: np.random.Generator, palette: str) -> Paint:
    """A colour of ``palette`` with a little brightness and hue jitter (the name stays right)."""
    material, entries = PALETTES[palette]
    name, rgb = choice(rng, entries)
    rgb = np.clip(np.asarray(rgb) * rng.uniform(0.93, 1.06) + rng.integers(-6, 7, 3), 0, 255)
    return Paint(name, tuple(int(c) for c in rgb), material)


def tint(paint: Paint, factor: float) -> Paint:
    """``paint`` made darker (factor < 1) or lighter; same name and material."""
    return paint._replace(rgb=tuple(int(min(255, round(c * factor))) for c in paint.rgb))


def part(mesh: trimesh.Trimesh, colour: Paint) -> trimesh.Trimesh:
    """Give every face of ``mesh`` the flat RGBA colour of ``colour``; returns ``mesh``."""
    mesh.visual.face_colors = np.tile(np.array([*colour.rgb, 255], np.uint8), (len(mesh.faces), 1))
    mesh.metadata["paint"] = colour
    return mesh


def moved(mesh: trimesh.Trimesh, at: Vec = (0, 0, 0), axis: str = "z", scale: Vec = (1, 1, 1)) -> trimesh.Trimesh:
    """Scale ``mesh`` by ``scale`` (local x, y, z), turn its local +Z onto ``axis``, move its origin to ``at``."""
    m = _AXES[axis] @ np.diag([*scale, 1.0])
    m[:3, 3] += np.asarray(at, float)
    return mesh.apply_transform(m)


def span(c: Paint, lo: Vec, hi: Vec) -> trimesh.Trimesh:
    """Axis-aligned box from corner ``lo`` to corner ``hi`` (x, y, z metres)."""
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    return part(trimesh.Trimesh(_UNIT_BOX.vertices * (hi - lo) + (lo + hi) / 2, _UNIT_BOX.faces, process=False), c)


def cyl(c: Paint, r: float, h: float, at: Vec, axis: str = "z", n: int = 16,
         scale: Vec = (1, 1, 1)) -> trimesh.Trimesh:
    """Cylinder of radius ``r`` and height ``h`` centred on ``at`` along ``axis``; ``scale`` makes it elliptic."""
    return part(moved(trimesh.creation.cylinder(radius=r, height=h, sections=n), at, axis, scale), c)


def rod(c: Paint, r: float, p0: Vec, p1: Vec, n: int = 12) -> trimesh.Trimesh:
    """Cylinder of radius ``r`` from point ``p0`` to point ``p1``."""
    return part(trimesh.creation.cylinder(radius=r, segment=np.array([p0, p1], float), sections=n), c)


def ring(c: Paint, r_in: float, r_out: float, h: float, at: Vec, axis: str = "z", n: int = 20,
          scale: Vec = (1, 1, 1)) -> trimesh.Trimesh:
    """Annulus (a tube with a wall) of height ``h`` centred on ``at`` along ``axis``."""
    return part(moved(trimesh.creation.annulus(r_in, r_out, height=h, sections=n), at, axis, scale), c)


def blob(c: Paint, radii: Vec, at: Vec, subdiv: int = 1) -> trimesh.Trimesh:
    """Ellipsoid with semi-axes ``radii`` (x, y, z) centred on ``at``."""
    return part(moved(trimesh.creation.icosphere(subdivisions=subdiv), at, scale=radii), c)


def cone(c: Paint, r: float, h: float, base: Vec, direction: Vec = (0, 0, 1), n: int = 12,
          flat: float = 1.0) -> trimesh.Trimesh:
    """Cone with base centre ``base`` pointing along ``direction``; ``flat`` < 1 squashes it into a blade."""
    mesh = moved(trimesh.creation.cone(r, h, sections=n), scale=(1, flat, 1))
    m = trimesh.geometry.align_vectors([0, 0, 1], np.asarray(direction, float))
    m[:3, 3] = base
    return part(mesh.apply_transform(m), c)


def frustum(c: Paint, r_bot: float, r_top: float, h: float, base: Vec, n: int = 16,
             scale: Vec = (1, 1, 1)) -> trimesh.Trimesh:
    """Truncated cone standing on ``base`` (bottom radius ``r_bot``, top radius ``r_top``, height ``h``)."""
    mesh = trimesh.creation.cylinder(radius=r_bot, height=h, sections=n)
    v = mesh.vertices.copy()
    v[v[:, 2] > 0, :2] *= r_top / r_bot
    mesh.vertices = v
    return part(moved(mesh, (base[0], base[1], base[2] + h / 2), scale=scale), c)


def lathe(c: Paint, profile: Sequence[tuple[float, float]], base: Vec, n: int = 18,
           scale: Vec = (1, 1, 1)) -> trimesh.Trimesh:
    """Surface of revolution of ``profile`` ((radius, height) pairs, metres) about +Z, standing on ``base``."""
    return part(moved(trimesh.creation.revolve(np.asarray(profile, float), sections=n), base, scale=scale), c)


def bowl(c: Paint, r: float, depth: float, wall: float, base: Vec, n: int = 20, scale: Vec = (1, 1, 1),
          upside_down: bool = False) -> trimesh.Trimesh:
    """Open bowl (a thin shell: outer wall, rim, inner wall) of top radius ``r`` and ``depth``, on ``base``."""
    prof = [(0, 0), (0.72 * r, 0), (r, depth), (r - wall, depth), (0.72 * r - wall, wall), (0, wall)]
    if upside_down:  # a dome opening downwards; reversed so that the normals still point outwards
        prof = [(x, depth - z) for x, z in reversed(prof)]
    return lathe(c, prof, base, n, scale)


def open_box(floor: Paint, walls: Paint, lo: Vec, hi: Vec, wall: float) -> list[trimesh.Trimesh]:
    """A box from ``lo`` to ``hi`` without its top: a floor and four walls ``wall`` thick (a basin, a tub)."""
    (x0, y0, z0), (x1, y1, z1) = lo, hi
    return [span(floor, (x0, y0, z0), (x1, y1, z0 + wall)),
            span(walls, (x0, y0, z0), (x0 + wall, y1, z1)), span(walls, (x1 - wall, y0, z0), (x1, y1, z1)),
            span(walls, (x0 + wall, y0, z0), (x1 - wall, y0 + wall, z1)),
            span(walls, (x0 + wall, y1 - wall, z0), (x1 - wall, y1, z1))]


def radial(c: Paint, theta: float, r0: float, r1: float, width: float, x: float) -> trimesh.Trimesh:
    """A flat bar in the plane x = ``x``, radii ``r0``..``r1``, at clock angle ``theta`` (0 up, pi/2 towards +Y)."""
    box = trimesh.creation.box(extents=(0.002, width, r1 - r0))
    box.apply_translation((x, 0, (r0 + r1) / 2))
    return part(box.apply_transform(trimesh.transformations.rotation_matrix(-theta, [1, 0, 0])), c)


def size_word(t: float) -> str:
    """"small" / "medium" / "large" for the lower / middle / upper third of a size range."""
    return "small" if t < 1 / 3 else "medium" if t < 2 / 3 else "large"


def finish(category: str, parts: list[trimesh.Trimesh], size_t: float, *, colour: Paint | None = None,
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
                  "size": size_word(size_t)}
    height, extent = (None, None) if support is None else (float(support[0] - shift[2]), support[1])
    extent = None if extent is None else (float(extent[0]), float(extent[1]))
    return ProceduralObject(category, mesh, attributes, height, extent)


def faucet(c: Paint, base: Vec, height: float, reach: float, r: float = 0.012) -> list[trimesh.Trimesh]:
    """A tap at ``base``: a riser, a spout reaching ``reach`` towards +X, a short nozzle and two knobs."""
    x, y, z = base
    top = z + height
    return [rod(c, r, (x, y, z), (x, y, top)), rod(c, r * 0.8, (x, y, top), (x + reach, y, top)),
            rod(c, r * 0.8, (x + reach, y, top), (x + reach, y, top - 0.03)),
            cyl(c, 0.015, 0.03, (x, y - 0.07, z + 0.015), n=12), cyl(c, 0.015, 0.03, (x, y + 0.07, z + 0.015), n=12)]


def handle(c: Paint, x: float, p0: Vec, p1: Vec, proud: float = 0.03, w: float = 0.014) -> trimesh.Trimesh:
    """A bar handle on a front at depth ``x`` from (y, z) ``p0`` to (y, z) ``p1``, standing ``proud`` off it."""
    (y0, z0), (y1, z1) = p0, p1
    lo = (x, min(y0, y1) - w / 2, min(z0, z1) - w / 2)
    return span(c, lo, (x + proud, max(y0, y1) + w / 2, max(z0, z1) + w / 2))
