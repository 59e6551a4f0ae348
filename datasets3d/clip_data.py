"""Image-caption pairs for CLIP, rendered from built-in houses, written as WebDataset shards.

Per house, for every object category present: views from navigable points 0.5-3.5 m away at about the
agent's camera height, looking at an instance (the same kind of view the agent gets), and

* ``crop`` samples: a square crop around the instance's mask, captioned from what the generator knows
  about it: category, colour, material, size and room, through varied templates
  ("a photo of a small red fabric chair in a bedroom.", "a chair.");
* ``frame`` samples: whole frames captioned with the room and the largest visible objects (with
  ``keep_masks`` they carry their instance masks, for localization benchmarks);
* ``cell`` samples: cells of the frame's 3 x 3 grid (what CLIP-Patch looks at), captioned by the
  object that dominates the cell, or by the room when none does;
* ``segment`` samples: the depth segments of a view (:func:`embodied.localization.depth_segments`),
  cut as :func:`embodied.localization.segment_crop` cuts them for CLIP-Patch over segments, captioned
  by the instance covering most of the segment, or by the room for what is left of the room's
  structure (door frames, wall ends; walls and ceilings themselves are no segments).

Houses come from a split of :data:`sims.raycast.episodes.SPLITS`; the index records their seeds, so
training and evaluation data can be checked for overlap
(:func:`embodied.clip.shards.check_held_out`). Same settings, same
bytes.

>>> index = write_clip_dataset("outputs/clip-data/train", ClipDataConfig(split="train", houses=100))
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from embodied import geometry
from embodied.clip.shards import ClipSample
from embodied.errors import ConfigError
from embodied.types import CameraIntrinsics
from sims.raycast.categories import CATEGORIES
from sims.raycast.episodes import SPLITS, split_house_seeds
from sims.raycast.house import GENERATOR_VERSION, generate_house, house_scene_id
from sims.raycast.navigation import build_navgrid
from sims.raycast.render import Renderer
from sims.raycast.scene import Scene, SceneObject

__all__ = ["CLIP_DATA_VERSION", "ClipDataConfig", "caption_object", "caption_frame",
           "caption_room", "house_samples", "write_clip_dataset", "MATERIAL_WORDS"]

CLIP_DATA_VERSION = 3  # 3: depth segments leave walls and ceilings out (structure_mask)

MATERIAL_WORDS = {"wood": "wooden", "metal": "metal", "fabric": "fabric", "leather": "leather",
                  "plastic": "plastic", "ceramic": "ceramic", "glass": "glass", "stone": "stone"}
"""Material attribute -> the adjective used in captions."""

_OBJECT_TEMPLATES = (  # {ad}: article + description, {aroom}: article + room
    "a photo of {ad}.", "a photo of the {d}.", "{ad}.", "the {d}.", "{d}", "a photo of {ad} in {aroom}.",
    "{ad} in {aroom}.", "{ad} in the {room}.", "a photo of {ad} in a room.", "{ad} in a house.",
    "a rendering of {ad}.", "a close-up photo of {ad}.", "a blurry photo of {ad}.", "a cropped photo of {ad}.",
    "a low resolution photo of {ad}.", "a bright photo of {ad}.", "a dark photo of {ad}.",
)
_FRAME_TEMPLATES = ("a photo of {aroom} with {objs}.", "{aroom} with {objs}.", "{objs} in {aroom}.",
                    "a view of {aroom} with {objs}.", "a photo of {objs}.")
_ROOM_TEMPLATES = ("a photo of {aroom}.", "part of {aroom}.", "a photo of part of {aroom}.",
                   "an empty corner of {aroom}.", "a wall of {aroom}.", "{aroom}.")
_ROOM_WORDS = {"living_room": "living room", "dining_room": "dining room"}


@dataclass(frozen=True, kw_only=True)
class ClipDataConfig:
    """What to render.

    Attributes:
        split: house split ("train", "val", "test"; see sims.raycast.episodes.SPLITS).
        houses: how many houses of the split, taken in order from ``first_house``.
        first_house: index of the first house within the split.
        crops_per_category: crop views per category present in a house, spread over its instances
            (every instance gets at least one when there are more instances than this).
        frames_per_house: object-facing frames kept whole (and split into cells) per house.
        cells_per_frame: captioned 3 x 3 cells kept per frame (plus one room cell when there is one).
        segments_per_view: depth segments kept per crop view (the viewed object's first, then others;
            at most one without an object: room structure the proposer left in).
        min_segment_px: pixels a depth segment needs to be kept.
        frame_px: rendered frame size (square, ``hfov_deg`` wide), the agent's default.
        crop_px: stored size of crops and cells (square).
        min_object_px: visible pixels an instance needs in a frame for a crop.
        keep_masks: store instance masks with frames (for localization benchmarks).
        workers: processes rendering houses in parallel (1 = in this process).
        seed: seed of views, crops and captions.
    """

    split: str = "train"
    houses: int = 100
    first_house: int = 0
    crops_per_category: int = 4
    frames_per_house: int = 6
    cells_per_frame: int = 3
    segments_per_view: int = 2
    min_segment_px: int = 80
    frame_px: int = 224
    crop_px: int = 96
    hfov_deg: float = 90.0
    min_object_px: int = 100
    keep_masks: bool = False
    jpeg_quality: int = 92
    workers: int = 1
    seed: int = 0

    def __post_init__(self) -> None:
        seeds = split_house_seeds(self.split)  # unknown split -> ConfigError
        checks = [
            (self.houses >= 1, f"houses must be >= 1, got {self.houses}"),
            (0 <= self.first_house and self.first_house + self.houses <= len(seeds),
             f"split '{self.split}' has {len(seeds)} houses; first_house {self.first_house} + houses "
             f"{self.houses} does not fit"),
            (min(self.crops_per_category, self.frames_per_house, self.cells_per_frame, self.segments_per_view) >= 0,
             "crops_per_category, frames_per_house, cells_per_frame and segments_per_view must be >= 0"),
            (self.min_segment_px >= 1, "min_segment_px must be >= 1"),
            (self.crops_per_category + self.frames_per_house > 0, "nothing to render: crops and frames are both 0"),
            (32 <= self.frame_px <= 1024 and 16 <= self.crop_px <= 512, "frame_px must be in [32, 1024], crop_px in [16, 512]"),
            (0 < self.hfov_deg < 180, "hfov_deg must be in (0, 180)"),
            (self.min_object_px >= 1 and self.workers >= 1, "min_object_px and workers must be >= 1"),
            (1 <= self.jpeg_quality <= 100, "jpeg_quality must be in [1, 100]"),
        ]
        for ok, msg in checks:
            if not ok:
                raise ConfigError(f"invalid ClipDataConfig: {msg}")

    @property
    def house_seeds(self) -> list[int]:
        seeds = split_house_seeds(self.split)
        return list(seeds[self.first_house:self.first_house + self.houses])


# ---------------------------------------------------------------------------- captions
def _room_word(room_type: str) -> str:
    return _ROOM_WORDS.get(room_type, room_type.replace("_", " "))


def _article(phrase: str, rng: np.random.Generator | None = None) -> str:
    """"a"/"an" + phrase; with ``rng``, one time in five plain "a" (as in fixed zero-shot templates
    like "a photo of a {}.", which say "a oven")."""
    plain = rng is not None and rng.random() < 0.2
    return ("an " if phrase[:1].lower() in "aeiou" and not plain else "a ") + phrase


def caption_object(category: str, attributes: dict[str, str], room_type: str | None, rng: np.random.Generator) -> str:
    """A caption for one object: a random template over a random subset of its attributes.

    About a third of the captions name the bare category, so "a photo of a {category}." keeps working
    as a zero-shot prompt.
    """
    colour, material, size = attributes.get("colour"), attributes.get("material"), attributes.get("size")
    mat = MATERIAL_WORDS.get(material or "")
    options = [[category]]
    if colour:
        options += [[colour, category], [colour, category]]
    if mat:
        options.append([mat, category])
    if size:
        options.append([size, category])
    if size and colour:
        options.append([size, colour, category])
    if colour and mat:
        options.append([colour, mat, category])
    words = options[int(rng.integers(len(options)))] if rng.random() > 0.33 else [category]
    d = " ".join(words)
    if mat and material and mat not in words and rng.random() < 0.1:
        return f"{_article(d, rng)} made of {material}."
    templates = _OBJECT_TEMPLATES if room_type else tuple(t for t in _OBJECT_TEMPLATES if "room}" not in t)
    t = templates[int(rng.integers(len(templates)))]
    room = _room_word(room_type or "")
    return t.format(d=d, ad=_article(d, rng), room=room, aroom=_article(room))


def caption_frame(categories: list[str], room_type: str | None, rng: np.random.Generator) -> str:
    """A caption for a whole frame: its room and up to three visible categories, largest first."""
    if not categories:
        return caption_room(room_type, rng)
    room = _room_word(room_type) if room_type else "room"
    names = [_article(c, rng) for c in categories[:3]]
    objs = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    t = _FRAME_TEMPLATES[int(rng.integers(len(_FRAME_TEMPLATES)))]
    return t.format(objs=objs, aroom=_article(room))


def caption_room(room_type: str | None, rng: np.random.Generator) -> str:
    """A caption for a view with no dominant object."""
    room = _room_word(room_type) if room_type else "room"
    t = _ROOM_TEMPLATES[int(rng.integers(len(_ROOM_TEMPLATES)))]
    return t.format(aroom=_article(room))


# ---------------------------------------------------------------------------- rendering
def _room_of(scene: Scene, xy: np.ndarray) -> str | None:
    for r in scene.rooms:
        x0, y0, x1, y1 = r.bounds_m
        if x0 <= xy[0] <= x1 and y0 <= xy[1] <= y1:
            return r.room_type
    return None


def _object_room(scene: Scene, obj: SceneObject) -> str | None:
    rooms = {r.room_id: r.room_type for r in scene.rooms}
    return rooms.get(obj.room_id) if obj.room_id is not None else _room_of(scene, np.array(obj.position_m[:2]))


def _square_crop(image: np.ndarray, rows: slice, cols: slice, out_px: int) -> np.ndarray:
    from PIL import Image

    im = Image.fromarray(np.ascontiguousarray(image[rows, cols]))
    return np.asarray(im.resize((out_px, out_px), Image.BICUBIC, reducing_gap=2.0 if im.width > 2 * out_px else None))


def _shrink(image: np.ndarray, short_px: int) -> np.ndarray:
    """``image`` scaled (aspect kept) so its short side is at most ``short_px``: the model's eval
    transform centre-crops it later, as it does a segment crop at run time."""
    from PIL import Image

    h, w = image.shape[:2]
    if min(h, w) <= short_px:
        return np.ascontiguousarray(image)
    k = short_px / min(h, w)
    return np.asarray(Image.fromarray(np.ascontiguousarray(image)).resize((max(1, round(w * k)), max(1, round(h * k))), Image.BICUBIC))


class _HouseRenderer:
    """Views of one house's objects (navigable camera positions, looking at the object)."""

    def __init__(self, seed: int, cfg: ClipDataConfig) -> None:
        self.cfg = cfg
        self.scene = generate_house(seed)
        nav = build_navgrid(self.scene, 0.18, 1.5, 0.05)
        comp = nav.largest_component()
        X, Y = nav.cell_centers()
        self.cells_xy = np.stack([X[comp], Y[comp]], axis=1)
        self.rooms = {r.room_id: r.bounds_m for r in self.scene.rooms}
        self.renderer = Renderer(self.scene, "embree", 20.0, threads=1)
        self.K = CameraIntrinsics.from_hfov(cfg.frame_px, cfg.frame_px, cfg.hfov_deg)
        probe_px = max(32, cfg.frame_px // 2)
        self.K_probe = CameraIntrinsics.from_hfov(probe_px, probe_px, cfg.hfov_deg)
        self.probe_scale = (cfg.frame_px / probe_px) ** 2

    def close(self) -> None:
        self.renderer.close()

    def _candidates(self, obj: SceneObject) -> np.ndarray:
        """Navigable camera positions, those in the object's own room when there are any (walls
        between camera and object waste renders)."""
        bounds = self.rooms.get(obj.room_id) if obj.room_id is not None else None
        if bounds is None:
            return self.cells_xy
        x0, y0, x1, y1 = bounds
        xy = self.cells_xy
        inside = (xy[:, 0] > x0) & (xy[:, 0] < x1) & (xy[:, 1] > y0) & (xy[:, 1] < y1)
        return xy[inside] if inside.sum() >= 10 else xy

    def _score(self, frame, obj: SceneObject) -> int:
        """Visible pixels of ``obj`` in ``frame``; 0 when occluded or not the main object around it."""
        mask = frame.instance == obj.instance_id
        n = int(mask.sum())
        if n and (_occluded(frame, mask) or not _dominant(frame.instance, mask, obj.instance_id)):
            return 0
        return n

    def view(self, obj: SceneObject, rng: np.random.Generator, tries: int = 4):
        """The best of ``tries`` random views of ``obj`` (probed at half resolution, the winner rendered
        in full): (frame, camera xy, visible pixels, T_world_cam) or None when no view shows it well."""
        lo, hi = np.asarray(obj.bbox_min_m), np.asarray(obj.bbox_max_m)
        centre = (lo + hi) / 2
        size = float(np.max(hi - lo))
        cells = self._candidates(obj)
        dist = np.linalg.norm(cells - centre[:2], axis=1)
        best = None
        for _ in range(tries):
            want = float(np.clip(rng.uniform(1.0, 2.6) * size + rng.uniform(0.2, 0.6), 0.5, 3.5))
            near = np.flatnonzero(np.abs(dist - want) < 0.2)
            if len(near) == 0:
                near = np.argsort(np.abs(dist - want))[:20]
            xy = cells[int(near[rng.integers(len(near))])]
            h = rng.uniform(0.72, 1.1)
            dx, dy = centre[0] - xy[0], centre[1] - xy[1]
            yaw = math.atan2(dy, dx) + rng.uniform(-0.3, 0.3)
            tilt = math.atan2(centre[2] - h, math.hypot(dx, dy)) + rng.uniform(-0.15, 0.15)
            T = geometry.camera_pose(np.array([xy[0], xy[1], h]), yaw, float(np.clip(tilt, -1.0, 1.0)))
            n = self._score(self.renderer.render(T, self.K_probe), obj) * self.probe_scale
            if best is None or n > best[2]:
                best = (T, xy, n)
            if n >= self.cfg.min_object_px * 3:
                break
        if best is None or best[2] < self.cfg.min_object_px:
            return None
        frame = self.renderer.render(best[0], self.K)
        n = self._score(frame, obj)
        return (frame, best[1], n, best[0]) if n >= self.cfg.min_object_px else None

    def crop(self, frame, obj: SceneObject, rng: np.random.Generator) -> tuple[np.ndarray, list[int]]:
        """A square crop around the instance's pixels (1.1-1.5 x the mask's box, jittered)."""
        ys, xs = np.nonzero(frame.instance == obj.instance_id)
        y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
        H, W = frame.instance.shape
        side = int(np.clip(max(y1 - y0, x1 - x0) * rng.uniform(1.1, 1.5) + 4, 24, min(H, W)))
        cy = (y0 + y1) / 2 + rng.uniform(-0.08, 0.08) * side
        cx = (x0 + x1) / 2 + rng.uniform(-0.08, 0.08) * side
        top = int(np.clip(round(cy - side / 2), 0, H - side))
        left = int(np.clip(round(cx - side / 2), 0, W - side))
        box = [left, top, left + side, top + side]
        return _square_crop(frame.rgb, slice(top, top + side), slice(left, left + side), self.cfg.crop_px), box


def _occluded(frame, mask: np.ndarray) -> bool:
    """True when other objects in front of the instance cover more of its box than it shows itself."""
    ys, xs = np.nonzero(mask)
    box = (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1))
    depth_m = float(np.median(frame.depth[mask]))
    inst, depth = frame.instance[box], frame.depth[box]
    front = (inst >= 0) & ~mask[box] & (depth > 0) & (depth < depth_m)
    return int(front.sum()) > 0.5 * len(ys)


def _dominant(instance: np.ndarray, mask: np.ndarray, instance_id: int) -> bool:
    """True when, in a square 1.3 x the instance's box, no other object shows more than 1.4 x its pixels
    (so a crop of a bedside cabinet is not mostly bed)."""
    ys, xs = np.nonzero(mask)
    side = max(ys.max() - ys.min(), xs.max() - xs.min()) * 1.3 + 4
    cy, cx = (ys.min() + ys.max()) / 2, (xs.min() + xs.max()) / 2
    win = instance[max(0, int(cy - side / 2)):int(cy + side / 2) + 1, max(0, int(cx - side / 2)):int(cx + side / 2) + 1]
    ids, counts = np.unique(win[(win >= 0) & (win != instance_id)], return_counts=True)
    return not len(counts) or counts.max() <= 1.4 * len(ys)


def _visible(instance: np.ndarray, labels: dict[int, str], min_px: int) -> list[tuple[int, str, int]]:
    """[(instance id, category, pixels)] of instances with >= min_px pixels, largest first."""
    ids, counts = np.unique(instance[instance >= 0], return_counts=True)
    out = [(int(i), labels[int(i)], int(n)) for i, n in zip(ids, counts) if n >= min_px and int(i) in labels]
    return sorted(out, key=lambda t: (-t[2], t[0]))


def house_samples(seed: int, cfg: ClipDataConfig) -> list[ClipSample]:
    """All samples of house ``seed`` (deterministic for ``cfg.seed``)."""
    rng = np.random.default_rng([CLIP_DATA_VERSION, cfg.seed, int(seed)])
    hr = _HouseRenderer(seed, cfg)
    scene = hr.scene
    sid = scene.scene_id
    labels = scene.labels
    out: list[ClipSample] = []
    frames = []  # (frame, camera xy, key stem)
    try:
        by_cat: dict[str, list[SceneObject]] = {}
        for o in scene.objects:
            by_cat.setdefault(o.category, []).append(o)
        for cat in sorted(by_cat):
            objs = list(by_cat[cat])
            rng.shuffle(objs)
            n_views = max(cfg.crops_per_category, len(objs)) if cfg.crops_per_category else 0
            for v in range(n_views):
                obj = objs[v % len(objs)]
                got = hr.view(obj, rng)
                if got is None:
                    continue
                frame, xy, n_px, T = got
                room = _object_room(scene, obj)
                crop, box = hr.crop(frame, obj, rng)
                key = f"{sid}-o{obj.instance_id:04d}-v{v:02d}"
                meta = {"kind": "crop", "scene": sid, "house": int(seed), "split": cfg.split, "category": cat,
                        "instance_id": obj.instance_id, "attributes": dict(obj.attributes), "room": room,
                        "visible_px": n_px, "box_px": box}
                out.append(ClipSample(key, crop, caption_object(cat, obj.attributes, room, rng), meta))
                out += _segment_samples(frame, T, hr.K.K, obj, key, scene, cfg, rng, int(seed))
                frames.append((frame, xy, key))
        if cfg.frames_per_house and not frames:  # crops disabled: render frames facing random objects
            objs = sorted(scene.objects, key=lambda o: o.instance_id)
            for v in range(cfg.frames_per_house * 2):
                obj = objs[int(rng.integers(len(objs)))]
                got = hr.view(obj, rng)
                if got is not None:
                    frames.append((got[0], got[1], f"{sid}-o{obj.instance_id:04d}-f{v:02d}"))
        pick = rng.permutation(len(frames))[:cfg.frames_per_house]
        for i in sorted(pick.tolist()):
            out += _frame_samples(*frames[i], scene, labels, cfg, rng, int(seed))
    finally:
        hr.close()
    return out


def _segment_samples(frame, T_world_cam: np.ndarray, K: np.ndarray, obj: SceneObject, stem: str, scene: Scene,
                     cfg: ClipDataConfig, rng: np.random.Generator, seed: int) -> list[ClipSample]:
    """Depth segments of one view of ``obj``: the one most covered by ``obj`` first, then random others
    (at most one without an object), each captioned by the instance covering >= 60 % of it."""
    from embodied.localization import depth_segments, segment_crop

    if not cfg.segments_per_view:
        return []
    segs = depth_segments(frame.depth, K, T_world_cam, 0.0)
    on = segs > 0  # (segment, instance) pixel counts in one pass
    m = int(frame.instance.max()) + 2
    codes, pair_n = np.unique(segs[on].astype(np.int64) * m + frame.instance[on] + 1, return_counts=True)
    pairs = np.stack([codes // m, codes % m - 1], 1)
    counts = np.bincount(segs[on])
    ids = np.flatnonzero(counts)
    counts = counts[ids]
    objects = {o.instance_id: o for o in scene.objects}
    named, bare, own = [], [], None
    for i, n in zip(ids.tolist(), counts.tolist()):
        if n < cfg.min_segment_px:
            continue
        rows = pairs[:, 0] == i
        top = int(np.argmax(pair_n[rows]))
        inst, cnt = int(pairs[rows][top, 1]), int(pair_n[rows][top])
        if inst in objects and cnt >= 0.6 * n:
            o = objects[inst]
            if o.instance_id == obj.instance_id and (own is None or n > own[2]):
                own = (i, o, n)
            else:
                named.append((i, o, n))
        elif inst < 0 and cnt >= 0.9 * n:
            bare.append((i, None, n))
    rng.shuffle(named)
    others = named + ([bare[int(rng.integers(len(bare)))]] if bare else [])
    rng.shuffle(others)
    chosen = ([own] if own else []) + others
    base = {"scene": scene.scene_id, "house": seed, "split": cfg.split, "kind": "segment"}
    out = []
    for i, o, n in chosen[:cfg.segments_per_view]:
        crop = segment_crop(frame.rgb, segs == i)
        img = _shrink(crop, cfg.crop_px)
        if o is None:
            room = _room_of(scene, T_world_cam[:2, 3])
            cap, meta = caption_room(room, rng), {**base, "room": room, "category": None, "segment_px": n}
        else:
            room = _object_room(scene, o)
            cap = caption_object(o.category, o.attributes, room, rng)
            meta = {**base, "room": room, "category": o.category, "instance_id": o.instance_id,
                    "attributes": dict(o.attributes), "segment_px": n}
        out.append(ClipSample(f"{stem}-seg{i:03d}", img, cap, meta))
    return out


def _frame_samples(frame, xy, stem: str, scene: Scene, labels: dict[int, str], cfg: ClipDataConfig,
                   rng: np.random.Generator, seed: int) -> list[ClipSample]:
    H, W = frame.instance.shape
    room = _room_of(scene, xy)
    vis = _visible(frame.instance, labels, max(cfg.min_object_px, H * W // 400))
    cats = list(dict.fromkeys(c for _, c, _ in vis))
    base = {"scene": scene.scene_id, "house": seed, "split": cfg.split, "room": room}
    meta = {**base, "kind": "frame", "categories": cats, "visible": [[i, c, n] for i, c, n in vis],
            "labels": {str(i): c for i, c in sorted(labels.items())} if cfg.keep_masks else {}}
    out = [ClipSample(f"{stem}-frame", frame.rgb, caption_frame(cats, room, rng), meta,
                          frame.instance if cfg.keep_masks else None)]
    if not cfg.cells_per_frame:
        return out
    total = {i: n for i, _, n in _visible(frame.instance, labels, 1)}
    ys = np.linspace(0, H, 4).astype(int)
    xs = np.linspace(0, W, 4).astype(int)
    named, empty = [], []
    for k in range(9):
        r, c = divmod(k, 3)
        cell = frame.instance[ys[r]:ys[r + 1], xs[c]:xs[c + 1]]
        area = cell.size
        ids, counts = np.unique(cell[cell >= 0], return_counts=True)
        best = None
        for i, n in sorted(zip(ids.tolist(), counts.tolist()), key=lambda t: -t[1]):
            if i in labels and (n >= 0.15 * area or (n >= 0.6 * total.get(i, 1) and n >= 40)):
                best = (i, n)
                break
        if best is not None:
            named.append((k, best))
        elif counts.sum() < 0.05 * area if len(counts) else True:
            empty.append(k)
    rng.shuffle(named)
    chosen = named[:cfg.cells_per_frame]
    if empty:
        chosen.append((empty[int(rng.integers(len(empty)))], None))
    objects = {o.instance_id: o for o in scene.objects}
    for k, best in sorted(chosen, key=lambda t: t[0]):
        r, c = divmod(k, 3)
        img = _square_crop(frame.rgb, slice(ys[r], ys[r + 1]), slice(xs[c], xs[c + 1]), cfg.crop_px)
        if best is None:
            cap = caption_room(room, rng)
            meta = {**base, "kind": "cell", "cell": k, "category": None}
        else:
            o = objects[best[0]]
            cap = caption_object(o.category, o.attributes, room, rng)
            meta = {**base, "kind": "cell", "cell": k, "category": o.category, "instance_id": o.instance_id,
                    "attributes": dict(o.attributes), "cell_px": best[1]}
        out.append(ClipSample(f"{stem}-cell{k}", img, cap, meta))
    return out


def _house_job(args: tuple[int, ClipDataConfig]) -> list[ClipSample]:
    return house_samples(*args)


def _iter_houses(cfg: ClipDataConfig, progress: bool) -> Iterator[tuple[int, list[ClipSample]]]:
    from tqdm.auto import tqdm

    seeds = cfg.house_seeds
    bar = tqdm(total=len(seeds), desc=f"render {cfg.split} houses", unit="house", disable=not progress)
    try:
        if cfg.workers == 1 or len(seeds) == 1:
            for s in seeds:
                yield s, house_samples(s, cfg)
                bar.update(1)
        else:
            import multiprocessing as mp

            ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
            with ctx.Pool(min(cfg.workers, len(seeds))) as pool:
                for s, samples in zip(seeds, pool.imap(_house_job, [(s, cfg) for s in seeds])):
                    yield s, samples
                    bar.update(1)
    finally:
        bar.close()


def write_clip_dataset(out_dir: str | os.PathLike, cfg: ClipDataConfig = ClipDataConfig(), *,
                       progress: bool = True, overwrite: bool = False) -> Path:
    """Render the houses of ``cfg`` into WebDataset shards under ``out_dir``; returns the index path.

    Raises:
        ConfigError: ``out_dir`` already holds a dataset (pass ``overwrite=True``).
        ShardError: nothing could be rendered (every view failed).
    """
    from embodied.clip.shards import INDEX_NAME, ClipShardWriter, write_index

    out = Path(out_dir)
    if (out / INDEX_NAME).exists() and not overwrite:
        raise ConfigError(f"{out} already holds a CLIP dataset; pass --overwrite (overwrite=True) or another --out")
    if out.exists() and overwrite:
        for old in list(out.glob("*.tar")) + [out / INDEX_NAME]:
            old.unlink(missing_ok=True)
    t0 = time.perf_counter()
    kinds: dict[str, int] = {}
    per_cat: dict[str, int] = {}
    with ClipShardWriter(out, prefix=cfg.split, max_count=2000, jpeg_quality=cfg.jpeg_quality) as w:
        for _, samples in _iter_houses(cfg, progress):
            for s in samples:
                w.write(s.key, s.image, s.caption, s.meta, s.seg)
                kinds[s.meta["kind"]] = kinds.get(s.meta["kind"], 0) + 1
                if s.meta["kind"] == "crop":
                    per_cat[s.meta["category"]] = per_cat.get(s.meta["category"], 0) + 1
    seconds = time.perf_counter() - t0
    seeds = cfg.house_seeds
    info = {
        "source": "embodied built-in simulator (sims.raycast)",
        "split": cfg.split,
        "houses": seeds,
        "scenes": [house_scene_id(s) for s in seeds],
        "split_houses": [SPLITS[cfg.split].start, SPLITS[cfg.split].stop - 1],
        "categories": list(CATEGORIES),
        "counts": dict(sorted(kinds.items())),
        "crops_per_category": dict(sorted(per_cat.items())),
        "generator": {"clip_data_version": CLIP_DATA_VERSION, "house_generator_version": GENERATOR_VERSION,
                      "config": asdict(cfg)},
        "render_seconds": round(seconds, 2),
    }
    return write_index(out, w.shards, info)

