"""Procedural meshes for the object categories of the built-in simulator.

Every object is a few flat-coloured trimesh primitives (boxes, cylinders, cones, ellipsoids, annuli, a
torus, surfaces of revolution) joined into one mesh: metres, Z up, the front facing +X (the back, -X,
goes against a wall), centred on the origin in x/y, standing on z=0 (a clock is centred at z=0 so it
can be hung). ``make_object(category, rng)`` draws the shape parameters, colours and materials from
``rng``: the same generator state gives the same mesh, byte for byte. Objects stay under 3,000 faces.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import trimesh

from sims.raycast.categories import CATEGORIES, category_spec
from sims.raycast.parts import (  # noqa: F401 - MAX_FACES: re-exported
    MAX_FACES, ProceduralObject, Paint, choice, pick, tint, part, moved, span, cyl, rod, ring, blob, cone,
    frustum, lathe, bowl, open_box, radial, finish, faucet, handle, SCREEN, DARK, CHROME, SOIL, WATER, TRUNK,
)

__all__ = ["ProceduralObject", "make_object", "list_categories"]


# -------------------------------------------------------------------------------------- categories
def _chair(rng: np.random.Generator) -> ProceduralObject:
    """Chair: seat 0.43-0.48 m high on 4 legs, panel/slat/ladder back up to 0.8-1.0 m (at -X), maybe arms."""
    t = rng.random()
    w, d = 0.40 + 0.12 * t, rng.uniform(0.40, 0.50)
    seat_h, seat_t, back_h = rng.uniform(0.43, 0.48), rng.uniform(0.03, 0.06), rng.uniform(0.36, 0.50)
    frame = pick(rng, choice(rng, ("wood", "wood", "metal")))
    seat = choice(rng, (frame, frame, pick(rng, "fabric"), pick(rng, "plastic")))
    metal = frame.material == "metal"
    leg = rng.uniform(0.014, 0.022) if metal else rng.uniform(0.028, 0.045)
    round_legs = metal or rng.random() < 0.4
    z0, top = seat_h - seat_t, seat_h + back_h
    parts = []
    for sx in (-1, 1):
        for sy in (-1, 1):
            x, y, z1 = sx * (d / 2 - leg / 2), sy * (w / 2 - leg / 2), (top if sx < 0 else z0)
            parts.append(rod(frame, leg / 2, (x, y, 0), (x, y, z1)) if round_legs
                         else span(frame, (x - leg / 2, y - leg / 2, 0), (x + leg / 2, y + leg / 2, z1)))
    parts.append(span(seat, (-d / 2, -w / 2, z0), (d / 2, w / 2, seat_h)))
    xb, yi = -d / 2 + leg / 2, w / 2 - leg
    style = 0 if seat is not frame else int(rng.integers(3))
    if style == 0:  # solid (or upholstered) back panel
        parts.append(span(seat, (xb - 0.015, -yi, seat_h + rng.uniform(0.06, 0.16)), (xb + 0.015, yi, top - 0.01)))
    elif style == 1:  # top rail and vertical slats
        rail = rng.uniform(0.06, 0.10)
        parts.append(span(frame, (xb - 0.012, -yi, top - rail), (xb + 0.012, yi, top)))
        n = int(rng.integers(3, 6))
        for y in np.linspace(-yi, yi, n + 2)[1:-1]:
            parts.append(span(frame, (xb - 0.01, y - 0.015, seat_h), (xb + 0.01, y + 0.015, top - rail)))
    else:  # ladder back: horizontal rails
        for z in np.linspace(seat_h + 0.12, top - 0.03, int(rng.integers(2, 5))):
            parts.append(span(frame, (xb - 0.012, -yi, z - 0.025), (xb + 0.012, yi, z + 0.025)))
    if rng.random() < 0.25:  # armrests on front posts
        for sy in (-1, 1):
            y = sy * (w / 2 - leg / 2)
            parts.append(span(frame, (xb, y - 0.025, seat_h + 0.2), (d / 2, y + 0.025, seat_h + 0.225)))
            parts.append(rod(frame, leg / 2, (d / 2 - leg / 2, y, seat_h), (d / 2 - leg / 2, y, seat_h + 0.2)))
    return finish("chair", parts, t)


def _bed(rng: np.random.Generator) -> ProceduralObject:
    """Bed 1.95-2.15 m long (X) x 1.4-1.8 m wide: base, mattress, blanket, pillows, headboard at -X."""
    t = rng.random()
    L, W = rng.uniform(1.95, 2.15), 1.4 + 0.4 * t
    frame = pick(rng, choice(rng, ("wood", "wood", "fabric", "metal")))
    sheet, blanket = pick(rng, "linen"), pick(rng, "fabric")
    base_top = rng.uniform(0.28, 0.38)
    mt = base_top + rng.uniform(0.18, 0.26)
    parts = [span(sheet, (-L / 2 + 0.02, -W / 2, base_top), (L / 2 - 0.02, W / 2, mt))]
    if rng.random() < 0.5:  # divan base
        parts.append(span(tint(frame, 0.9), (-L / 2, -W / 2 - 0.02, 0), (L / 2, W / 2 + 0.02, base_top)))
    else:  # side rails on legs
        leg_h = rng.uniform(0.08, 0.22)
        parts.append(span(frame, (-L / 2, -W / 2 - 0.03, leg_h), (L / 2, W / 2 + 0.03, base_top)))
        for x in (-L / 2 + 0.04, L / 2 - 0.04):
            for y in (-W / 2 + 0.02, W / 2 - 0.02):
                parts.append(span(tint(frame, 0.7), (x - 0.03, y - 0.03, 0), (x + 0.03, y + 0.03, leg_h)))
    x0 = -L / 2 + rng.uniform(0.6, 0.85)  # blanket covers the foot end and drapes over the sides
    parts.append(span(blanket, (x0, -W / 2 - 0.025, mt - rng.uniform(0.14, 0.22)), (L / 2, W / 2 + 0.025, mt + 0.03)))
    parts.append(span(sheet, (x0 - 0.005, -W / 2 - 0.03, mt + 0.01), (x0 + 0.16, W / 2 + 0.03, mt + 0.045)))
    n = 1 if W < 1.5 else int(rng.integers(2, 4)) if W > 1.7 else 2
    pw = W / n
    for i in range(n):
        parts.append(blob(choice(rng, (sheet, tint(sheet, 1.05), pick(rng, "linen"))),
                           (0.2, pw * 0.42, 0.075), (-L / 2 + 0.3, -W / 2 + pw * (i + 0.5), mt + 0.05)))
    hb_h, hb_t = rng.uniform(0.9, 1.3), rng.uniform(0.04, 0.08)
    if frame.material == "metal":  # posts, rails and rods
        for y in (-W / 2 - 0.02, W / 2 + 0.02):
            parts.append(rod(frame, 0.02, (-L / 2, y, 0), (-L / 2, y, hb_h)))
        for z in (base_top + 0.05, hb_h - 0.04):
            parts.append(rod(frame, 0.015, (-L / 2, -W / 2 - 0.02, z), (-L / 2, W / 2 + 0.02, z)))
        for y in np.linspace(-W / 2, W / 2, int(rng.integers(6, 11)))[1:-1]:
            parts.append(rod(frame, 0.008, (-L / 2, y, base_top + 0.05), (-L / 2, y, hb_h - 0.04), n=8))
    else:
        parts.append(span(frame, (-L / 2 - hb_t, -W / 2 - 0.04, 0), (-L / 2, W / 2 + 0.04, hb_h)))
        if frame.material == "fabric":  # rounded upholstered top
            parts.append(cyl(frame, hb_t * 0.75, W + 0.08, (-L / 2 - hb_t / 2, 0, hb_h), axis="y", n=16))
    if rng.random() < 0.35:  # footboard
        parts.append(span(frame, (L / 2, -W / 2 - 0.04, 0), (L / 2 + hb_t, W / 2 + 0.04, mt + rng.uniform(0.05, 0.2))))
    return finish("bed", parts, t, colour=blanket)


def _potted_plant(rng: np.random.Generator) -> ProceduralObject:
    """Pot (radius 0.1-0.2 m) with soil and a green crown: bush of blobs, fan of blades or a small tree."""
    t = rng.random()
    pot = pick(rng, choice(rng, ("ceramic", "ceramic", "plastic")))
    pr = 0.10 + 0.10 * t
    ph = pr * rng.uniform(1.2, 1.9)
    H = rng.uniform(0.35, 0.6) + 0.7 * t  # height of the foliage above the pot
    leaf = pick(rng, "leaf")
    parts = [frustum(pot, pr * rng.uniform(0.68, 0.85), pr, ph, (0, 0, 0), n=20),
             ring(tint(pot, 0.9), pr * 0.9, pr * 1.07, 0.03, (0, 0, ph - 0.015), n=20),
             cyl(SOIL, pr * 0.92, 0.01, (0, 0, ph - 0.02), n=20)]
    style = int(rng.integers(3))
    if style == 0:  # leafy bush of overlapping blobs
        n = int(rng.integers(7, 12))
        for i in range(n):
            a, rad = 2 * math.pi * i / n + rng.uniform(-0.3, 0.3), rng.uniform(0.2, 1.0) * pr * 1.3
            rb = rng.uniform(0.35, 0.5) * max(pr * 1.6, H * 0.4)
            z = ph + rb * 0.6 + rng.uniform(0.0, 1.0) * max(H - 1.6 * rb, 0.01)
            at = (rad * math.cos(a), rad * math.sin(a), z)
            parts.append(blob(tint(leaf, rng.uniform(0.8, 1.15)), (rb, rb, rb * 0.9), at))
    elif style == 1:  # long blade leaves fanning out of the soil (snake plant, palm)
        n = int(rng.integers(9, 16))
        for i in range(n):
            a, s = 2 * math.pi * i / n + rng.uniform(-0.2, 0.2), rng.uniform(0.1, 0.6)
            base = (0.3 * pr * math.cos(a), 0.3 * pr * math.sin(a), ph - 0.02)
            parts.append(cone(tint(leaf, rng.uniform(0.8, 1.15)), rng.uniform(0.035, 0.06), H * rng.uniform(0.6, 1.0),
                               base, (s * math.cos(a), s * math.sin(a), 1.0), n=8, flat=0.3))
    else:  # little tree: trunk and a crown of blobs
        crown = max(0.22, H * 0.35)
        parts.append(rod(TRUNK, rng.uniform(0.015, 0.03), (0, 0, ph - 0.02), (0, 0, ph + H - crown)))
        for _ in range(int(rng.integers(5, 9))):
            off = rng.uniform(-1, 1, 3) * crown * np.array([0.6, 0.6, 0.35])
            rb = crown * rng.uniform(0.45, 0.65)
            at = (off[0], off[1], ph + H - crown + off[2])
            parts.append(blob(tint(leaf, rng.uniform(0.8, 1.15)), (rb, rb, rb * 0.85), at))
    return finish("potted plant", parts, t)


def _toilet(rng: np.random.Generator) -> ProceduralObject:
    """Toilet: tank at the back (-X), bowl with seat ring and lid (down or up), seat at 0.38-0.42 m."""
    t = rng.random()
    body = choice(rng, (Paint("white", (242, 242, 240), "ceramic"),) * 3 + (pick(rng, "ceramic"),))
    seat_c = choice(rng, (body, body, tint(body, 0.94), pick(rng, "plastic"), pick(rng, "wood")))
    tw, td, th = 0.36 + 0.1 * t, rng.uniform(0.15, 0.2), rng.uniform(0.3, 0.4)
    bh, bl, bw = rng.uniform(0.38, 0.42), rng.uniform(0.42, 0.52), rng.uniform(0.34, 0.39)
    bx = td + bl / 2 - 0.06  # bowl centre (the tank's back is at x=0)
    tz = bh - 0.02
    parts = [span(body, (0, -tw / 2, tz), (td, tw / 2, tz + th)),
             span(tint(body, 0.96), (-0.01, -tw / 2 - 0.01, tz + th), (td + 0.01, tw / 2 + 0.01, tz + th + 0.025)),
             span(body, (td - 0.02, -0.1, 0.1), (td + 0.12, 0.1, bh)),  # neck under the tank
             frustum(body, 1.0, 0.8, bh - 0.2, (bx - 0.04, 0, 0), n=20, scale=(bl * 0.3, bw * 0.33, 1)),
             frustum(body, 0.72, 1.0, 0.22, (bx, 0, bh - 0.22), n=20, scale=(bl / 2, bw / 2, 1)),
             ring(seat_c, 0.62, 1.0, 0.025, (bx, 0, bh + 0.0125), n=20, scale=(bl / 2 + 0.01, bw / 2 + 0.01, 1)),
             cyl(WATER, 0.61, 0.004, (bx + 0.01, 0, bh + 0.002), n=20, scale=(bl / 2, bw / 2, 1))]
    if rng.random() < 0.6:  # lid down
        parts.append(cyl(seat_c, 1.0, 0.018, (bx, 0, bh + 0.034), n=20, scale=(bl / 2 + 0.01, bw / 2 + 0.01, 1)))
    else:  # lid up, leaning on the tank
        parts.append(cyl(seat_c, 1.0, 0.018, (td + 0.02, 0, bh + 0.025 + bl / 2), axis="x", n=20,
                          scale=(bl / 2, bw / 2 + 0.01, 1)))
    if rng.random() < 0.5:  # push button on the lid, else a lever on the front
        parts.append(cyl(CHROME, 0.02, 0.012, (td / 2, 0, tz + th + 0.03), n=12))
    else:
        parts.append(span(CHROME, (td, tw / 2 - 0.1, tz + th - 0.06), (td + 0.02, tw / 2 - 0.03, tz + th - 0.045)))
    return finish("toilet", parts, t, colour=body)


def _tv(rng: np.random.Generator) -> ProceduralObject:
    """Flat TV 0.40-0.50 m wide (Y), dark screen facing +X in a bezel, on a pedestal or two feet."""
    t = rng.random()
    W = 0.40 + 0.10 * t
    H, T, bz = W * rng.uniform(0.55, 0.6), rng.uniform(0.02, 0.04), rng.uniform(0.008, 0.02)
    body = pick(rng, "electronics")
    zb = rng.uniform(0.05, 0.1)
    sd = rng.uniform(0.14, 0.2)  # stand depth
    parts = [span(body, (-T / 2, -W / 2, zb), (T / 2, W / 2, zb + H)),
             span(SCREEN, (T / 2, -W / 2 + bz, zb + bz * 1.5), (T / 2 + 0.003, W / 2 - bz, zb + H - bz)),
             span(tint(body, 0.9), (-T / 2 - rng.uniform(0.01, 0.03), -W * 0.3, zb + H * 0.15),
                   (-T / 2, W * 0.3, zb + H * 0.7))]
    if rng.random() < 0.6:  # central pedestal
        parts.append(span(body, (-0.02, -0.025, 0.01), (0.0, 0.025, zb + 0.06)))
        if rng.random() < 0.5:
            parts.append(span(body, (-sd / 2, -W * 0.25, 0), (sd / 2, W * 0.25, 0.015)))
        else:
            parts.append(cyl(body, sd / 2, 0.015, (0, 0, 0.0075), n=20, scale=(1, 1.4, 1)))
    else:  # two feet near the ends
        for sy in (-1, 1):
            y = sy * W * 0.38
            parts.append(span(body, (-sd / 2, y - 0.015, 0), (sd / 2, y + 0.015, 0.012)))
            parts.append(span(body, (-0.012, y - 0.012, 0.01), (0.0, y + 0.012, zb + 0.04)))
    return finish("tv", parts, t, colour=body)


def _sofa(rng: np.random.Generator) -> ProceduralObject:
    """Sofa 1.5-2.4 m wide (Y), 0.8-1.0 m deep: base, 1-4 seat and back cushions, arms, legs or plinth."""
    t = rng.random()
    W, D = 1.5 + 0.9 * t, rng.uniform(0.8, 1.0)
    seat_h, back_top = rng.uniform(0.40, 0.46), rng.uniform(0.75, 0.95)
    arm_h, arm_w = rng.uniform(0.55, 0.68), rng.uniform(0.10, 0.24)
    leg_h = choice(rng, (0.0, rng.uniform(0.04, 0.15)))
    cover = pick(rng, choice(rng, ("fabric", "fabric", "fabric", "leather")))
    back_t, bc_t, cush_t = rng.uniform(0.12, 0.2), rng.uniform(0.12, 0.18), rng.uniform(0.10, 0.16)
    yi, xb = W / 2 - arm_w, -D / 2 + back_t
    parts = [span(tint(cover, 0.88), (xb, -yi, max(leg_h, 0.0)), (D / 2 - 0.02, yi, seat_h - cush_t)),
             span(tint(cover, 0.9), (-D / 2, -W / 2, leg_h), (xb, W / 2, back_top))]
    n = max(1, min(4, round(2 * yi / 0.65)))
    for i, y in enumerate(np.linspace(-yi, yi, n + 1)[:-1]):  # seat and back cushions
        y0, y1, c = y + 0.005, y + 2 * yi / n - 0.005, tint(cover, 1.0 + 0.04 * (i % 2))
        parts.append(span(c, (xb + bc_t, y0, seat_h - cush_t), (D / 2, y1, seat_h)))
        parts.append(span(tint(c, 0.97), (xb, y0, seat_h), (xb + bc_t, y1, back_top - 0.03)))
    for sy in (-1, 1):
        y0, y1 = sorted((sy * yi, sy * W / 2))
        parts.append(span(tint(cover, 0.95), (-D / 2, y0, leg_h), (D / 2, y1, arm_h)))
        if rng.random() < 0.4:  # rolled arm
            parts.append(cyl(tint(cover, 0.95), (y1 - y0) * 0.6, D, (0, (y0 + y1) / 2, arm_h), axis="x", n=16))
    if leg_h > 0:
        legc = pick(rng, choice(rng, ("wood", "metal")))
        for x in (-D / 2 + 0.06, D / 2 - 0.06):
            for y in (-W / 2 + 0.06, W / 2 - 0.06) + ((0.0,) if W > 2.0 else ()):
                parts.append(frustum(legc, 0.02, 0.03, leg_h, (x, y, 0), n=12))
    if rng.random() < 0.5:  # throw pillows
        pc = pick(rng, "fabric")
        for sy in (-1, 1):
            parts.append(blob(pc, (0.07, 0.2, 0.19), (xb + bc_t + 0.06, sy * (yi - 0.22), seat_h + 0.18)))
    return finish("sofa", parts, t, colour=cover)


def _table(rng: np.random.Generator) -> ProceduralObject:
    """Table with its top at 0.72-0.78 m: rectangular, square or round; four legs, pedestal or trestles."""
    t = rng.random()
    h, top_t = rng.uniform(0.72, 0.78), rng.uniform(0.025, 0.05)
    shape = choice(rng, ("rect", "rect", "square", "round"))
    if shape == "rect":
        lx, ly = 1.0 + 0.8 * t, rng.uniform(0.7, 1.0)
    elif shape == "square":
        lx = ly = 0.7 + 0.3 * t
    else:
        lx = ly = 0.8 + 0.4 * t
    top_mat = choice(rng, ("wood", "wood", "wood", "glass", "plastic", "stone"))
    top = pick(rng, top_mat)
    legc = top if top_mat in ("wood", "plastic") and rng.random() < 0.7 else pick(rng, choice(rng, ("metal", "wood")))
    z0 = h - top_t
    parts = []
    if shape == "round":
        parts.append(cyl(top, lx / 2, top_t, (0, 0, h - top_t / 2), n=24))
    else:
        parts.append(span(top, (-lx / 2, -ly / 2, z0), (lx / 2, ly / 2, h)))
    leg = rng.uniform(0.035, 0.06)
    if shape == "round" and rng.random() < 0.5:  # pedestal
        parts.append(cyl(legc, rng.uniform(0.04, 0.07), z0 - 0.02, (0, 0, z0 / 2 + 0.01), n=16))
        parts.append(frustum(legc, lx * rng.uniform(0.25, 0.32), 0.06, 0.04, (0, 0, 0), n=20))
        parts.append(cyl(legc, 0.12, 0.03, (0, 0, z0 - 0.015), n=16))
    elif shape == "rect" and rng.random() < 0.3:  # trestles: post, foot and head bar at each end, a stretcher
        fy = ly / 2 - 0.08
        for sx in (-1, 1):
            x = sx * (lx / 2 - rng.uniform(0.12, 0.2))
            parts += [span(legc, (x - 0.03, -0.06, 0.05), (x + 0.03, 0.06, z0 - 0.05)),
                      span(legc, (x - 0.035, -fy, 0.0), (x + 0.035, fy, 0.05)),
                      span(legc, (x - 0.03, -fy, z0 - 0.05), (x + 0.03, fy, z0))]
        parts.append(span(legc, (-lx / 2 + 0.15, -0.025, 0.25), (lx / 2 - 0.15, 0.025, 0.33)))
    else:
        inset = rng.uniform(0.04, 0.1)
        k = 0.71 if shape == "round" else 1.0
        ax, ay = (lx / 2 - inset) * k, (ly / 2 - inset) * k
        for sx in (-1, 1):
            for sy in (-1, 1):
                x, y = sx * ax, sy * ay
                if legc.material == "metal" or rng.random() < 0.3:
                    parts.append(rod(legc, leg / 2.5, (x, y, 0), (x, y, z0)))
                else:
                    parts.append(span(legc, (x - leg / 2, y - leg / 2, 0), (x + leg / 2, y + leg / 2, z0)))
        if shape != "round" and rng.random() < 0.5:  # apron under the top
            parts.append(span(legc, (-ax, -ay, z0 - 0.08), (ax, ay, z0)))
    extent = (lx / math.sqrt(2), ly / math.sqrt(2)) if shape == "round" else (lx, ly)
    return finish("table", parts, t, colour=top, support=(h, extent))


def _cabinet(rng: np.random.Generator) -> ProceduralObject:
    """Cabinet 0.6-1.4 m wide (Y), 0.55-0.95 m high: carcass, top slab, doors and/or drawers with handles."""
    t = rng.random()
    W, D, H = 0.6 + 0.8 * t, rng.uniform(0.38, 0.58), rng.uniform(0.55, 0.95)
    front = pick(rng, choice(rng, ("wood", "wood", "plastic")))
    top = front if rng.random() < 0.7 else pick(rng, "stone")
    knob = pick(rng, "metal")
    top_t, pt = rng.uniform(0.02, 0.04), 0.018
    base_h = rng.uniform(0.06, 0.16)
    xf = D / 2  # front face of the carcass
    parts = [span(tint(front, 0.72), (-D / 2, -W / 2, base_h), (xf, W / 2, H - top_t)),
             span(top, (-D / 2, -W / 2 - 0.01, H - top_t), (xf + pt + 0.04, W / 2 + 0.01, H))]
    if rng.random() < 0.5:  # recessed plinth
        parts.append(span(tint(front, 0.5), (-D / 2, -W / 2 + 0.02, 0), (xf - 0.04, W / 2 - 0.02, base_h)))
    else:
        for x in (-D / 2 + 0.04, xf - 0.04):
            for y in (-W / 2 + 0.04, W / 2 - 0.04):
                parts.append(frustum(tint(front, 0.8), 0.015, 0.022, base_h, (x, y, 0), n=12))
    style = choice(rng, ("doors", "drawers", "mixed"))
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
            parts.append(span(front, (xf, y0, z0 + g), (xf + pt, y1, z1 - g)))
            if drawer:
                yc, half = (y0 + y1) / 2, min(0.1, (y1 - y0) * 0.25)
                zc = (z0 + z1) / 2 if z1 - z0 < 0.25 else z1 - 0.08
                parts.append(handle(knob, xf + pt, (yc - half, zc), (yc + half, zc), proud=0.025))
            else:  # vertical handle next to the door's free edge
                ye = y1 - 0.04 if i % 2 == 0 and nc > 1 else y0 + 0.04
                zc = z1 - 0.12 if z1 - z0 > 0.3 else (z0 + z1) / 2
                parts.append(handle(knob, xf + pt, (ye, zc - 0.06), (ye, zc + 0.06), proud=0.025))
    return finish("cabinet", parts, t, colour=front, support=(H, (D + pt + 0.04, W + 0.02)))


def _sink(rng: np.random.Generator) -> ProceduralObject:
    """Sink: a pedestal basin, or a bathroom vanity / kitchen cabinet with a recessed basin and a tap."""
    t = rng.random()
    style = choice(rng, ("pedestal", "vanity", "kitchen"))
    basin = Paint("white", (242, 242, 240), "ceramic") if rng.random() < 0.7 else pick(rng, "ceramic")
    parts = []
    if style == "pedestal":
        bw, bd, zt = 0.48 + 0.14 * t, rng.uniform(0.38, 0.46), rng.uniform(0.8, 0.88)
        parts.append(frustum(basin, 0.12, 0.08, zt - 0.15, (-bd * 0.15, 0, 0), n=16, scale=(1, 1.2, 1)))
        parts.append(bowl(basin, 1.0, 0.18, 0.1, (0, 0, zt - 0.18), n=24, scale=(bd / 2, bw / 2, 1)))
        parts.append(span(basin, (-bd / 2 - 0.02, -bw * 0.3, zt - 0.06), (-bd / 2 + 0.07, bw * 0.3, zt)))
        parts += faucet(CHROME, (-bd / 2 + 0.035, 0, zt), 0.1, 0.09)
        return finish("sink", parts, t, colour=basin)
    kitchen = style == "kitchen"
    W, D = (0.8 + 0.4 * t, rng.uniform(0.58, 0.64)) if kitchen else (0.5 + 0.5 * t, rng.uniform(0.45, 0.55))
    H = rng.uniform(0.88, 0.92) if kitchen else rng.uniform(0.8, 0.86)
    wood, counter = pick(rng, choice(rng, ("wood", "plastic"))), pick(rng, choice(rng, ("stone", "stone", "wood")))
    knob, ct = pick(rng, "metal"), 0.03
    parts += [span(tint(wood, 0.75), (-D / 2, -W / 2, 0.08), (D / 2, W / 2, H - ct - 0.2)),
              span(tint(wood, 0.5), (-D / 2, -W / 2 + 0.02, 0), (D / 2 - 0.05, W / 2 - 0.02, 0.08))]
    for y0 in (-W / 2, W / 2 - 0.02):  # carcass walls around the basin space
        parts.append(span(tint(wood, 0.75), (-D / 2, y0, H - ct - 0.2), (D / 2, y0 + 0.02, H - ct)))
    parts.append(span(tint(wood, 0.75), (-D / 2, -W / 2, H - ct - 0.2), (-D / 2 + 0.02, W / 2, H - ct)))
    for i, (y0, y1) in enumerate(((-W / 2 + 0.01, -0.003), (0.003, W / 2 - 0.01))):
        parts.append(span(wood, (D / 2, y0, 0.09), (D / 2 + 0.018, y1, H - ct - 0.01)))
        ye = y1 - 0.04 if i == 0 else y0 + 0.04
        parts.append(handle(knob, D / 2 + 0.018, (ye, H - 0.2), (ye, H - 0.08), proud=0.02))
    # countertop with a rectangular hole over an open basin (a real recess)
    hx, hy, depth = D * 0.3, W * (0.32 if kitchen else 0.3), rng.uniform(0.14, 0.2)
    xc, z0 = 0.03, H - ct
    bcol = Paint("silver", (196, 200, 204), "metal") if kitchen else basin
    parts += [span(counter, (-D / 2, -W / 2, z0), (xc - hx, W / 2, H)),
              span(counter, (xc + hx, -W / 2, z0), (D / 2 + 0.04, W / 2, H)),
              span(counter, (xc - hx, -W / 2, z0), (xc + hx, -hy, H)),
              span(counter, (xc - hx, hy, z0), (xc + hx, W / 2, H)),
              *open_box(bcol, tint(bcol, 0.92), (xc - hx - 0.01, -hy - 0.01, z0 - depth),
                         (xc + hx + 0.01, hy + 0.01, H), 0.01),
              cyl(DARK, 0.025, 0.003, (xc, 0, z0 - depth + 0.0115), n=12),
              span(bcol, (xc - hx - 0.03, -hy - 0.03, H), (xc + hx + 0.03, -hy, H + 0.005)),  # lip around the hole
              span(bcol, (xc - hx - 0.03, hy, H), (xc + hx + 0.03, hy + 0.03, H + 0.005)),
              span(bcol, (xc - hx - 0.03, -hy, H), (xc - hx, hy, H + 0.005)),
              span(bcol, (xc + hx, -hy, H), (xc + hx + 0.03, hy, H + 0.005))]
    parts += faucet(CHROME, (xc - hx - 0.05, 0, H), 0.32 if kitchen else 0.12, hx + 0.02 if kitchen else 0.1)
    return finish("sink", parts, t, colour=bcol)


def _bathtub(rng: np.random.Generator) -> ProceduralObject:
    """Bathtub 1.5-1.8 m long (Y), 0.5-0.6 m high: built-in open box or freestanding oval tub on feet."""
    t = rng.random()
    L, W, H = 1.5 + 0.3 * t, rng.uniform(0.7, 0.85), rng.uniform(0.5, 0.6)
    tub = Paint("white", (242, 242, 240), "ceramic") if rng.random() < 0.75 else pick(rng, "ceramic")
    parts = []
    if rng.random() < 0.5:  # built-in alcove tub: open box with a front apron
        wall = rng.uniform(0.06, 0.1)
        parts += open_box(tint(tub, 0.93), tub, (-W / 2, -L / 2, 0), (W / 2, L / 2, H), wall)
        parts += faucet(CHROME, (-W / 2 + wall / 2, L / 2 - wall - 0.15, H), 0.08, 0.12)
    else:  # freestanding oval tub on feet
        feet = pick(rng, "metal")
        parts.append(bowl(tub, 1.0, H - 0.08, 0.1, (0, 0, 0.08), n=24, scale=(W / 2, L / 2, 1)))
        for sx in (-1, 1):
            for sy in (-1, 1):
                parts.append(blob(feet, (0.04, 0.04, 0.045), (sx * W * 0.2, sy * L * 0.3, 0.045)))
        parts.append(rod(CHROME, 0.015, (-W / 2 - 0.05, 0, 0), (-W / 2 - 0.05, 0, H + 0.2)))
        parts.append(rod(CHROME, 0.012, (-W / 2 - 0.05, 0, H + 0.2), (-W / 2 + 0.12, 0, H + 0.2)))
    return finish("bathtub", parts, t, colour=tub)


def _lamp(rng: np.random.Generator) -> ProceduralObject:
    """Floor lamp 1.3-1.8 m tall: disc base and pole, tripod, or an arc with a hanging dome shade."""
    t = rng.random()
    Ht = 1.3 + 0.5 * t
    metal, shade = pick(rng, "metal"), pick(rng, "shade")
    rb, sh = rng.uniform(0.17, 0.25), rng.uniform(0.24, 0.36)
    rt = rb * rng.uniform(0.6, 0.95)
    style = choice(rng, ("pole", "pole", "tripod", "arc"))
    parts = []
    if style == "arc":  # heavy base at the back, arched pole, dome shade hanging in front
        reach = rng.uniform(0.6, 0.9)
        parts.append(cyl(metal, 0.16, 0.05, (-0.3, 0, 0.025), n=20))
        pts = [(-0.3 + reach * (1 - math.cos(a)), 0, 0.05 + (Ht - 0.05) * math.sin(a))
               for a in np.linspace(0, math.pi * 0.55, 8)]
        for p0, p1 in zip(pts[:-1], pts[1:]):
            parts.append(rod(metal, 0.015, p0, p1))
        x, z = pts[-1][0], pts[-1][2]
        parts.append(rod(metal, 0.008, (x, 0, z), (x, 0, z - 0.08)))
        parts.append(bowl(shade, rb, rb * 0.8, 0.012, (x, 0, z - 0.08 - rb * 0.8), n=20, upside_down=True))
        return finish("lamp", parts, t, colour=shade)
    if style == "tripod":
        legs = pick(rng, choice(rng, ("wood", "metal")))
        zj, R = Ht * 0.55, rng.uniform(0.25, 0.35)
        for i in range(3):
            a = 2 * math.pi * i / 3 + math.pi / 3
            parts.append(rod(legs, 0.015, (R * math.cos(a), R * math.sin(a), 0), (0, 0, zj)))
        parts.append(rod(legs, 0.013, (0, 0, zj), (0, 0, Ht - sh * 0.5)))
    else:
        parts.append(cyl(metal, rng.uniform(0.13, 0.18), 0.03, (0, 0, 0.015), n=20))
        parts.append(rod(metal, rng.uniform(0.011, 0.018), (0, 0, 0.03), (0, 0, Ht - sh * 0.5)))
    parts.append(frustum(shade, rb, rt, sh, (0, 0, Ht - sh), n=20))
    parts.append(cyl(Paint("light yellow", (255, 244, 200)), rb * 0.96, 0.004, (0, 0, Ht - sh - 0.002), n=20))
    return finish("lamp", parts, t, colour=shade)


def _bookshelf(rng: np.random.Generator) -> ProceduralObject:
    """Bookshelf 1.0-2.0 m tall: sides, back, 3-6 shelves filled with coloured books, open at +X."""
    t = rng.random()
    H, W, D = 1.0 + 1.0 * t, rng.uniform(0.6, 1.2), rng.uniform(0.26, 0.38)
    th, base_h = rng.uniform(0.018, 0.03), rng.uniform(0.04, 0.09)
    frame = pick(rng, choice(rng, ("wood", "wood", "wood", "metal")))
    n = max(3, min(6, round(H / 0.34)))
    gap = (H - base_h - th) / n
    parts = [span(tint(frame, 0.8), (-D / 2, -W / 2, 0), (-D / 2 + 0.01, W / 2, H)),
             span(frame, (-D / 2, -W / 2, 0), (D / 2, -W / 2 + th, H)),
             span(frame, (-D / 2, W / 2 - th, 0), (D / 2, W / 2, H)),
             span(tint(frame, 0.85), (-D / 2, -W / 2 + th, 0), (D / 2 - 0.01, W / 2 - th, base_h))]
    books = 0
    for k in range(n + 1):
        z = base_h + k * gap
        parts.append(span(frame, (-D / 2 + 0.01, -W / 2 + th, z), (D / 2, W / 2 - th, z + th)))
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
                    parts.append(span(pick(rng, "book"), (D / 2 - 0.01 - bd, y, zb), (D / 2 - 0.01, y + bw, zb + bh)))
                    books += 1
            else:
                bw, bd = rng.uniform(0.018, 0.05), D * rng.uniform(0.6, 0.85)
                if y + bw > y_end:
                    break
                bh = min(clear - 0.01, rng.uniform(0.18, 0.3), clear * rng.uniform(0.65, 0.95))
                zb = z + th
                parts.append(span(pick(rng, "book"), (D / 2 - 0.01 - bd, y, zb), (D / 2 - 0.01, y + bw, zb + bh)))
                books += 1
            y += bw + 0.002
    return finish("bookshelf", parts, t, colour=frame)


def _refrigerator(rng: np.random.Generator) -> ProceduralObject:
    """Refrigerator 1.7-1.9 m tall: body, doors split by gaps (top/bottom freezer, side by side, french), handles."""
    t = rng.random()
    H, W, D = 1.7 + 0.2 * t, rng.uniform(0.6, 0.9), rng.uniform(0.62, 0.75)
    body = pick(rng, "appliance")
    bar = choice(rng, (CHROME, tint(body, 0.85), DARK))
    xf, pt, g = D / 2 - 0.05, 0.05, 0.006
    parts = [span(tint(body, 0.6), (-D / 2, -W / 2, 0), (xf, W / 2, H)),
             span(DARK, (xf, -W / 2 + 0.02, 0.01), (xf + 0.02, W / 2 - 0.02, 0.08))]
    style = choice(rng, ("top", "bottom") + (("side", "french") if W > 0.76 else ()))
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
        parts.append(span(body, (xf, y0, z0), (xf + pt, y1, z1)))
        zc, lh = ((z0 + z1) / 2, min(0.35, (z1 - z0) * 0.6)) if z1 - z0 < 0.8 else (z0 + 0.5, 0.5)
        if kind == "h":
            parts.append(handle(bar, xf + pt, (y0 + 0.1, z1 - 0.06), (y1 - 0.1, z1 - 0.06), proud=0.04, w=0.02))
        else:
            ye = y1 - 0.04 if kind == "v-right" else y0 + 0.04
            parts.append(handle(bar, xf + pt, (ye, zc - lh / 2), (ye, zc + lh / 2), proud=0.04, w=0.02))
    if style == "side" and rng.random() < 0.7:  # water dispenser
        parts.append(span(DARK, (xf + pt, -W * 0.42, H * 0.55), (xf + pt + 0.005, -W * 0.18, H * 0.72)))
    return finish("refrigerator", parts, t, colour=body)


def _laptop(rng: np.random.Generator) -> ProceduralObject:
    """Open laptop 0.30-0.38 m wide: base with keyboard and touchpad, lid tilted back at the -X hinge."""
    t = rng.random()
    W = 0.30 + 0.08 * t
    Dp, bt, lt = W * rng.uniform(0.66, 0.72), rng.uniform(0.014, 0.022), rng.uniform(0.005, 0.009)
    body = pick(rng, "electronics")
    a = math.radians(rng.uniform(100, 122))  # lid angle from the +X base plane
    d, nrm = np.array([math.cos(a), 0, math.sin(a)]), np.array([math.sin(a), 0, -math.cos(a)])
    hinge, kx = np.array([-Dp / 2, 0, bt]), -Dp / 2 + 0.02
    parts = [span(body, (-Dp / 2, -W / 2, 0), (Dp / 2, W / 2, bt)),
             span(tint(DARK, 1.2), (kx, -W / 2 + 0.02, bt), (kx + Dp * 0.45, W / 2 - 0.02, bt + 0.001)),  # keys
             span(tint(body, 0.85), (Dp * 0.2 - 0.015, -W * 0.16, bt), (Dp / 2 - 0.015, W * 0.16, bt + 0.001))]
    screen = choice(rng, (SCREEN, SCREEN, Paint("blue", (60, 110, 190))))
    frame = np.eye(4)
    frame[:3, :3] = np.column_stack([nrm, [0, 1, 0], d])
    for size, off, paint in (((lt, W, Dp), -lt / 2, body),
                             ((0.001, W - 0.03, Dp - 0.035), 0.0005, screen)):
        frame[:3, 3] = hinge + d * (Dp / 2 + (0.004 if off > 0 else 0)) + nrm * off
        parts.append(part(trimesh.creation.box(extents=size, transform=frame.copy()), paint))
    return finish("laptop", parts, t, colour=body)


def _mug(rng: np.random.Generator) -> ProceduralObject:
    """Mug: hollow cylinder (radius 35-50 mm, 80-115 mm high) with a torus handle at +Y, maybe coffee."""
    t = rng.random()
    r, h, wall = 0.035 + 0.015 * t, rng.uniform(0.08, 0.105) + 0.01 * t, 0.005
    c = pick(rng, choice(rng, ("ceramic", "ceramic", "ceramic", "glass", "plastic")))
    parts = [ring(c, r - wall, r, h, (0, 0, h / 2), n=20), cyl(tint(c, 0.9), r - wall, 0.008, (0, 0, 0.004), n=20)]
    if rng.random() < 0.4:  # coffee
        parts.append(cyl(Paint("dark brown", (70, 44, 28)), r - wall - 0.0005, 0.002, (0, 0, h * 0.75), n=20))
    if rng.random() < 0.3:  # coloured band
        parts.append(ring(pick(rng, "ceramic"), r, r + 0.0015, h * 0.2, (0, 0, h * 0.6), n=20))
    R = h * 0.3
    torus = trimesh.creation.torus(R, rng.uniform(0.005, 0.008), major_sections=16, minor_sections=8)
    parts.append(part(moved(torus, (0, r + R * 0.55, h * 0.52), axis="x"), c))
    return finish("mug", parts, t, colour=c)


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
    c = pick(rng, choice(rng, ("ceramic", "ceramic", "glass", "metal")))
    outer = [(R * r, H * z) for r, z in choice(rng, _VASE_PROFILES)]
    r_top, wall, depth = outer[-1][0], min(0.006, outer[-1][0] * 0.2), min(0.06, H * 0.3)
    prof = [(0.0, 0.0)] + outer + [(r_top - wall, H), (r_top - wall, H - depth), (0.0, H - depth)]
    parts = [lathe(c, prof, (0, 0, 0), n=20),
             cyl(tint(c, 0.4), r_top - wall - 0.0005, 0.001, (0, 0, H - depth + 0.0006), n=20)]
    if rng.random() < 0.45:  # flowers
        for _ in range(int(rng.integers(3, 7))):
            a, s = rng.uniform(0, 2 * math.pi), rng.uniform(0.3, 1.0) * min(R * 1.1, 0.17)
            tip = (s * math.cos(a), s * math.sin(a), H + rng.uniform(0.08, 0.22))
            parts.append(rod(Paint("green", (50, 110, 50)), 0.003, (0, 0, H - depth), tip, n=6))
            parts.append(blob(pick(rng, "flower"), (0.025,) * 3, tip))
    return finish("vase", parts, t, colour=c)


def _clock(rng: np.random.Generator) -> ProceduralObject:
    """Wall clock, radius 0.12-0.22 m: frame, dial facing +X with 12 ticks and hands, back at -X."""
    t = rng.random()
    R, T = 0.12 + 0.1 * t, rng.uniform(0.03, 0.05)
    frame = pick(rng, choice(rng, ("wood", "metal", "plastic")))
    dial = choice(rng, (
        Paint("white", (244, 244, 240)), Paint("cream", (238, 230, 206)), Paint("black", (30, 30, 32))))
    ink = Paint("white", (240, 240, 240)) if dial.name == "black" else DARK
    xf = T / 2 - 0.008  # dial surface, recessed behind the rim
    if rng.random() < 0.8:
        parts = [ring(frame, R * 0.9, R, T, (0, 0, 0), axis="x", n=32),
                 cyl(dial, R * 0.9, xf + T / 2, ((xf - T / 2) / 2, 0, 0), axis="x", n=32)]
    else:  # square frame: dial panel and four bars
        r = R * 0.9
        parts = [span(dial, (-T / 2, -r, -r), (xf, r, r)),
                 span(frame, (-T / 2, -R, r), (T / 2, R, R)), span(frame, (-T / 2, -R, -R), (T / 2, R, -r)),
                 span(frame, (-T / 2, r, -r), (T / 2, R, r)), span(frame, (-T / 2, -R, -r), (T / 2, -r, r))]
    for k in range(12):
        r0 = R * (0.7 if k % 3 == 0 else 0.76)
        parts.append(radial(ink, 2 * math.pi * k / 12, r0, R * 0.84, R * 0.035, xf + 0.001))
    hour, minute = rng.uniform(0, 12), rng.uniform(0, 60)
    parts.append(radial(ink, 2 * math.pi * hour / 12, -R * 0.1, R * 0.5, R * 0.06, xf + 0.003))
    parts.append(radial(ink, 2 * math.pi * minute / 60, -R * 0.12, R * 0.76, R * 0.04, xf + 0.005))
    if rng.random() < 0.5:
        red = Paint("red", (200, 30, 30))
        parts.append(radial(red, rng.uniform(0, 2 * math.pi), -R * 0.15, R * 0.8, R * 0.015, xf + 0.007))
    parts.append(cyl(ink, R * 0.05, 0.01, (xf + 0.005, 0, 0), axis="x", n=12))
    return finish("clock", parts, t, colour=frame)


def _oven(rng: np.random.Generator) -> ProceduralObject:
    """Kitchen range 0.5-0.9 m wide, 0.85-0.92 m high: door with dark window, handle, knobs, 4-5 burners."""
    t = rng.random()
    W, D, H = 0.5 + 0.4 * t, rng.uniform(0.58, 0.66), rng.uniform(0.85, 0.92)
    body = pick(rng, "appliance")
    bar = choice(rng, (CHROME, tint(body, 0.8), DARK))
    xf = D / 2
    zd0, zd1 = 0.17, H - 0.13
    parts = [span(body, (-D / 2, -W / 2, 0), (xf, W / 2, H)),
             span(tint(body, 0.92), (xf, -W / 2 + 0.01, 0.02), (xf + 0.01, W / 2 - 0.01, 0.15)),
             span(tint(body, 1.04), (xf, -W / 2 + 0.01, zd0), (xf + 0.02, W / 2 - 0.01, zd1)),
             span(SCREEN, (xf + 0.02, -W / 2 + 0.07, zd0 + 0.08), (xf + 0.021, W / 2 - 0.07, zd1 - 0.1)),  # window
             handle(bar, xf + 0.02, (-W / 2 + 0.06, zd1 - 0.045), (W / 2 - 0.06, zd1 - 0.045), proud=0.035, w=0.018),
             handle(bar, xf + 0.01, (-W * 0.2, 0.12), (W * 0.2, 0.12), proud=0.02, w=0.012)]
    nk = int(rng.integers(4, 7))
    if rng.random() < 0.5:  # knobs on the front strip
        for y in np.linspace(-W / 2 + 0.06, W / 2 - 0.06, nk):
            parts.append(cyl(DARK, 0.018, 0.02, (xf + 0.01, y, H - 0.065), axis="x", n=12))
    else:  # backguard with knobs
        parts.append(span(tint(body, 0.9), (-D / 2, -W / 2, H), (-D / 2 + 0.07, W / 2, H + rng.uniform(0.08, 0.14))))
        for y in np.linspace(-W / 2 + 0.06, W / 2 - 0.06, nk):
            parts.append(cyl(DARK, 0.016, 0.02, (-D / 2 + 0.08, y, H + 0.04), axis="x", n=12))
    gas = rng.random() < 0.55
    if not gas:
        parts.append(span(SCREEN, (-D / 2 + 0.08, -W / 2 + 0.01, H), (xf - 0.01, W / 2 - 0.01, H + 0.006)))
    spots = [(sx * D * 0.17 + 0.02, sy * W * 0.24) for sx in (-1, 1) for sy in (-1, 1)]
    spots += [(0.02, 0.0)] if W > 0.78 else []
    for i, (x, y) in enumerate(spots):
        r = (0.05 if i % 3 == 0 else 0.04) * min(1.0, W / 0.6)
        if gas:
            parts.append(cyl(DARK, r, 0.02, (x, y, H + 0.01), n=16))
            parts.append(cyl(Paint("dark grey", (70, 70, 74)), r * 0.45, 0.012, (x, y, H + 0.026), n=12))
            parts.append(span(DARK, (x - r * 1.3, y - 0.006, H + 0.02), (x + r * 1.3, y + 0.006, H + 0.03)))
            parts.append(span(DARK, (x - 0.006, y - r * 1.3, H + 0.02), (x + 0.006, y + r * 1.3, H + 0.03)))
        else:
            parts.append(ring(Paint("dark grey", (88, 88, 92)), r * 0.9, r, 0.002, (x, y, H + 0.007), n=20))
    return finish("oven", parts, t, colour=body)


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
