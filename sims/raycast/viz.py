"""Pictures of the built-in simulator: a panel RGB | depth | instances | top-down map, and walks."""

from __future__ import annotations

import math

import numpy as np

from embodied.types import Observation
from sims.raycast.navigation import NavGrid
from sims.raycast.scene import Scene

__all__ = ["colorize_depth", "colorize_instances", "top_down_map", "panel", "rearrange_map"]

_ROOM_RGB = {"living_room": (244, 226, 198), "bedroom": (214, 226, 244), "kitchen": (232, 244, 208),
             "bathroom": (208, 240, 240), "dining_room": (244, 214, 214), "office": (230, 220, 244)}


def colorize_depth(depth_m: np.ndarray, max_m: float = 10.0) -> np.ndarray:
    """(H, W) metres -> (H, W, 3) uint8 (near = bright yellow, far = dark purple, no return = black)."""
    x = np.clip(depth_m / max_m, 0.0, 1.0)
    rgb = np.stack([0.95 - 0.7 * x, 0.9 * (1 - x) ** 1.5, 0.25 + 0.35 * x], -1)
    rgb[depth_m <= 0] = 0.0
    return (rgb * 255).astype(np.uint8)


def _id_colour(ids: np.ndarray) -> np.ndarray:
    """Stable distinct colours for integer ids, (..., 3) uint8."""
    h = (ids.astype(np.int64) * 2654435761) % (2**32)
    return np.stack([(h >> 8) & 255, (h >> 16) & 255, (h >> 24) & 255], -1).astype(np.uint8) // 2 + 100


def colorize_instances(instance: np.ndarray) -> np.ndarray:
    """(H, W) int32 ids -> (H, W, 3) uint8; -1 (structure) is dark grey."""
    rgb = _id_colour(instance)
    rgb[instance < 0] = 40
    return rgb


_BACKGROUNDS: dict[tuple, np.ndarray] = {}


def _map_frame(scene: Scene, px_per_m: float):
    x0, y0, x1, y1 = scene.bounds_xy_m
    pad = 0.5
    W, H = int((x1 - x0 + 2 * pad) * px_per_m), int((y1 - y0 + 2 * pad) * px_per_m)

    def px(x: float, y: float) -> tuple[float, float]:  # world -> image (y up in the world = up in the image)
        return ((x - x0 + pad) * px_per_m, H - (y - y0 + pad) * px_per_m)

    return W, H, px


def top_down_map(scene: Scene, nav: NavGrid, agent_xy_yaw: tuple[float, float, float] | None = None,
                 px_per_m: float = 24.0, path_xy: np.ndarray | None = None, goal: str | None = None) -> np.ndarray:
    """(H, W, 3) uint8 map: rooms tinted by type, navigable area, walls, objects (labelled), agent arrow.

    The static part is drawn once per (scene, grid, scale, goal) and cached."""
    from PIL import Image, ImageDraw

    key = (id(scene), id(nav), px_per_m, goal)
    if key not in _BACKGROUNDS:
        if len(_BACKGROUNDS) > 8:
            _BACKGROUNDS.clear()
        _BACKGROUNDS[key] = _background(scene, nav, px_per_m, goal)
    img = Image.fromarray(_BACKGROUNDS[key])
    d = ImageDraw.Draw(img)
    _, _, px = _map_frame(scene, px_per_m)
    if path_xy is not None and len(path_xy) > 1:
        d.line([px(*p) for p in path_xy], fill=(30, 90, 220), width=2)
    if agent_xy_yaw is not None:
        ax, ay, yaw = agent_xy_yaw
        tip = px(ax + 0.45 * math.cos(yaw), ay + 0.45 * math.sin(yaw))
        left = px(ax + 0.2 * math.cos(yaw + 2.5), ay + 0.2 * math.sin(yaw + 2.5))
        right = px(ax + 0.2 * math.cos(yaw - 2.5), ay + 0.2 * math.sin(yaw - 2.5))
        d.polygon([tip, left, right], fill=(230, 40, 40), outline=(0, 0, 0))
    return np.asarray(img)


def _background(scene: Scene, nav: NavGrid, px_per_m: float, goal: str | None) -> np.ndarray:
    from PIL import Image, ImageDraw

    x0, y0, _, _ = scene.bounds_xy_m
    pad = 0.5
    W, H, px = _map_frame(scene, px_per_m)
    img = Image.new("RGB", (W, H), (255, 255, 255))
    if scene.scanned:  # no rooms or walls to draw: the scan itself, seen from above
        img = Image.fromarray(_scan_from_above(scene, W, H, px_per_m, x0 - pad, y0 - pad))
    d = ImageDraw.Draw(img)
    for r in scene.rooms:
        a, b = px(r.bounds_m[0], r.bounds_m[3]), px(r.bounds_m[2], r.bounds_m[1])
        d.rectangle([a, b], fill=_ROOM_RGB.get(r.room_type, (230, 230, 230)))
    # navigable cells, lightly shaded: look every map pixel up in the grid
    u, v = np.meshgrid(np.arange(W), np.arange(H))
    wx, wy = (u + 0.5) / px_per_m + x0 - pad, (H - v - 0.5) / px_per_m + y0 - pad
    col = np.floor((wx - nav.origin_xy_m[0]) / nav.resolution_m).astype(int)
    row = np.floor((wy - nav.origin_xy_m[1]) / nav.resolution_m).astype(int)
    inside = (row >= 0) & (row < nav.shape[0]) & (col >= 0) & (col < nav.shape[1])
    free = np.zeros((H, W), bool)
    free[inside] = nav.navigable[row[inside], col[inside]]
    overlay = np.array(img)
    overlay[free] = (overlay[free] * 0.6 + np.array([120, 190, 120]) * 0.4).astype(np.uint8)
    img = Image.fromarray(overlay)
    d = ImageDraw.Draw(img)
    for w in scene.walls:
        if w["z0"] > 0:
            continue
        a, b = (px(w["coord"], w["lo"]), px(w["coord"], w["hi"])) if w["axis"] == "x" else \
            (px(w["lo"], w["coord"]), px(w["hi"], w["coord"]))
        d.line([a, b], fill=(60, 60, 60), width=max(2, int(0.1 * px_per_m)))
    for o in scene.objects:
        poly = [px(*p) for p in o.footprint_xy_m]
        col = tuple(int(v) for v in _id_colour(np.array(o.instance_id)))
        outline = (220, 0, 0) if goal and o.category == goal else (30, 30, 30)
        d.polygon(poly, fill=col, outline=outline)
        cx, cy = np.mean(o.footprint_xy_m, axis=0)
        d.text(px(cx, cy), o.category, fill=(0, 0, 0), anchor="mm")
    for r in scene.rooms:
        cx, cy = (r.bounds_m[0] + r.bounds_m[2]) / 2, r.bounds_m[3] - 0.3
        d.text(px(cx, cy), r.room_type.replace("_", " "), fill=(90, 90, 90), anchor="mm")
    return np.asarray(img)


def _scan_from_above(scene: Scene, W: int, H: int, px_per_m: float, ox: float, oy: float) -> np.ndarray:
    """(H, W, 3) uint8 orthographic view of a scan from above with the ceiling left out: one ray down per
    map pixel from 0.3 m under the scan's top; a face looking up shows its colour (brighter the higher
    it is), anything else it meets (the inside of a wall, an underside) is dark grey, a miss white."""
    from sims.raycast.render import face_normals, ray_caster

    u, v = np.meshgrid(np.arange(W), np.arange(H))
    wx, wy = (u + 0.5) / px_per_m + ox, (H - v - 0.5) / px_per_m + oy
    zmax = float(scene.vertices[:, 2].max())
    floors = scene.vertices[:, 2].min()
    top = zmax - 0.3 if zmax - floors > 1.5 else zmax + 0.1
    origins = np.stack([wx.ravel(), wy.ravel(), np.full(wx.size, top)], 1).astype(np.float32)
    dirs = np.tile(np.array([[0, 0, -1]], np.float32), (len(origins), 1))
    t, face = ray_caster(scene)(origins, dirs)
    out = np.full((H * W, 3), 255, np.uint8)
    hit = face >= 0
    up = np.zeros(len(face), bool)
    up[hit] = face_normals(scene.vertices, scene.faces[face[hit]])[:, 2] > 0.3 if hit.any() else False
    col = scene.face_albedo[face[up]].astype(np.float32)
    z = top - t[up]
    shade = 0.75 + 0.25 * np.clip((z - floors) / 2.0, 0, 1)
    out[hit & ~up] = (70, 70, 70)
    out[up] = np.clip(col * shade[:, None], 0, 255).astype(np.uint8)
    return out.reshape(H, W, 3)


def panel(obs: Observation, scene: Scene, nav: NavGrid, path_xy: np.ndarray | None = None) -> np.ndarray:
    """One image: RGB | depth | instances | top-down map (the map scaled to the frame height)."""
    from PIL import Image

    h = obs.rgb.shape[0]
    tiles = [obs.rgb]
    if obs.depth is not None:
        tiles.append(colorize_depth(obs.depth))
    if obs.semantic is not None:
        tiles.append(colorize_instances(obs.semantic))
    pose = obs.agent_pose
    m = top_down_map(scene, nav, (pose.position_m[0], pose.position_m[1], pose.yaw_rad) if pose else None,
                     path_xy=path_xy, goal=obs.goal)
    scale = max(h, 360) / m.shape[0]
    m = np.asarray(Image.fromarray(m).resize((int(m.shape[1] * scale), int(m.shape[0] * scale)), Image.BILINEAR))
    H = max(h, m.shape[0])
    out = [np.pad(t, ((0, H - t.shape[0]), (0, 4), (0, 0)), constant_values=255) for t in tiles]
    return np.concatenate(out + [np.pad(m, ((0, H - m.shape[0]), (0, 0), (0, 0)), constant_values=255)], axis=1)


def rearrange_map(sim, predicted_moves=(), trail_xy: np.ndarray | None = None, px_per_m: float = 60.0) -> np.ndarray:
    """(H, W, 3) uint8 top-down picture of a rearrangement episode (a RearrangeSimulator after it).

    Each shuffled object: its walkthrough (goal) spot in green, where the shuffle put it in red, a grey
    arrow between them, and where it ended in blue (on the green spot when it was put back). The
    agent's predicted moves are orange arrows; its unshuffle path is a thin blue line."""
    from PIL import Image, ImageDraw

    base = top_down_map(sim.scene, sim.nav, px_per_m=px_per_m)
    img = Image.fromarray(base)
    d = ImageDraw.Draw(img)
    _, _, px = _map_frame(sim.scene, px_per_m)
    if trail_xy is not None and len(trail_xy) > 1:
        d.line([px(*p) for p in trail_xy], fill=(60, 110, 230), width=1)
    start = {p.object_id: np.asarray(p.center_m[:2]) for p in sim.start_poses()}
    goal = {p.object_id: np.asarray(p.center_m[:2]) for p in sim.goal_poses()}
    end = {p.object_id: np.asarray(p.center_m[:2]) for p in sim.object_poses()}
    # shuffled objects, and any other the agent moved
    moved = [i for i in goal if np.linalg.norm(goal[i] - start[i]) > 1e-6 or np.linalg.norm(goal[i] - end[i]) > 1e-6]
    for i in moved:
        d.line([px(*start[i]), px(*goal[i])], fill=(120, 120, 120), width=2)
        for which, colour in (("goal", (20, 160, 40)), ("current", (40, 80, 230))):
            d.polygon([px(*q) for q in sim.object_outline(i, which)], outline=colour, width=3)
        r = 0.06 * px_per_m
        sx, sy = px(*start[i])
        d.ellipse([sx - r, sy - r, sx + r, sy + r], outline=(220, 30, 30), width=3)
    for frm, to in predicted_moves:
        a, b = px(*frm[:2]), px(*to[:2])
        d.line([b, a], fill=(240, 140, 0), width=2)
        d.ellipse([a[0] - 3, a[1] - 3, a[0] + 3, a[1] + 3], fill=(240, 140, 0))
    d.text((6, 6), "green: goal, red: shuffled to, blue: end, orange: predicted",
           fill=(0, 0, 0))
    return np.asarray(img)
