"""Zero-shot object localization: (rgb, goal text) -> relevance map in [0, 1] + found / not found.

Localizers (CoW's, plus a dense one):
* ``oracle``: the simulator's instance masks (ablations and upper bounds).
* ``patch`` (CLIP-Patch): the frame cut into a k x k grid; all patches and the full frame are
  encoded in one batched forward; a softmax over the patches of CLIP's logits for the goal
  prompt; patches whose probability exceeds the threshold are relevant. With a ``vocabulary``
  (the task's object categories; background words are added), each patch is instead classified
  over goal + vocabulary and is relevant when the goal's probability exceeds the
  ``patch_vocab`` threshold: "is this patch the goal rather than anything else we know of",
  which fires far less on frames without the goal than the softmax over patches does.
  ``proposals="segments"`` replaces the grid by class-agnostic depth segments
  (:func:`depth_segments`: depth edges, with floor, walls and ceilings taken out by
  :func:`structure_mask`): each is cut out (:func:`segment_crop`) and classified over goal +
  vocabulary, so a patch is an object-shaped region instead of a ninth of the frame (the
  ConceptGraphs idea of classifying proposals, with depth geometry as the proposer). CoW's
  default when it knows the task's vocabulary.
* ``ref`` (CLIP-Ref, CoW's "lang"): nine directional captions ("{goal} in the top left", ...,
  :func:`ref_captions`), each embedded through the prompt-template ensemble; a softmax over the nine
  of CLIP's logits for the full frame; every region whose probability exceeds the threshold is
  relevant (row-major 3 x 3 over the square the model sees).
* ``grad`` (CLIP-Grad, after Chefer et al. 2021, as CoW runs it): the ViT's blocks are re-run with
  explicit attention so the attention probabilities A_b keep gradients; CLIP's logit for the goal
  (logit scale x cosine) is back-propagated, and relevance accumulates as
  R <- R + mean_heads(clamp(dS/dA_b * A_b, 0)) @ R from R = I over the blocks from ``start_block``
  on (CoW: only those after index 10); the class token's row over the patches, upsampled
  bilinearly and multiplied by 10, is thresholded in absolute terms (no normalisation), so a frame
  can give nothing.
* ``dense``: per-patch ViT features (ClipBackbone.patch_features) against the goal text; no
  gradients; a softmax over patches with CLIP's temperature, thresholded.
* ``owl`` (OWL-ViT / OWLv2 through ``transformers``, extra ``hf``; embodied.owl): the boxes scored
  above the threshold for the query "a photo of a {goal}." are relevant, filled with their score.
Thresholds are data (``THRESHOLDS`` below, per model id or architecture), not code; CoW's published
ones are ``COW_THRESHOLDS`` (:func:`cow_threshold`). Goal text goes
through a prompt ensemble (``templates``). ``center=True`` collapses a mask to its centroid pixel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from embodied.errors import ConfigError
from embodied.types import Observation

__all__ = ["Localization", "Localizer", "LOCALIZERS", "THRESHOLDS", "COW_THRESHOLDS", "cow_threshold",
           "BACKGROUND_WORDS", "REF_REGIONS", "ref_captions", "depth_segments", "structure_mask", "segment_crop",
           "OracleLocalizer", "ClipPatchLocalizer", "ClipRefLocalizer", "ClipGradLocalizer", "DenseClipLocalizer", "OwlVitLocalizer",
           "make_localizer", "collapse_to_center", "vit_attention_forward"]

THRESHOLDS: dict[str, dict[str, float]] = {
    # CoW's published range for patch/ref thresholds is 0.75-0.91 depending on model and simulator.
    # CLIP-Grad is thresholded on CoW's absolute scale (10 x relevance of the last block): CoW's habitat
    # value for B/32 (hparams/habitat.json "grad-b32-openai") until a model of ours is calibrated
    "default": {"patch": 0.80, "ref": 0.80, "grad": 0.375, "dense": 0.50, "patch_vocab": 0.50, "patch_segments": 0.50},
    "ViT-B-32": {"patch": 0.80, "ref": 0.80, "grad": 0.375, "dense": 0.50},
    "embodied-tiny": {"patch": 0.60, "ref": 0.60, "dense": 0.30},
    # the sim-trained model, from `embodied clip eval` on 20 held-out houses: patch 0.70 is the
    # balanced-accuracy cut; patch_vocab 0.5 gives TPR 0.30 at FPR 0.034 per frame
    "embodied-sim": {"patch": 0.70, "ref": 0.80, "patch_vocab": 0.50},
}
BACKGROUND_WORDS = ("wall", "floor", "room", "kitchen", "bedroom", "living room", "bathroom")
"""Added to a patch localizer's vocabulary so that patches of bare room are not forced onto an object."""

COW_THRESHOLDS: dict[str, dict[str, dict[str, float]]] = {
    # real-stanford/cow hparams/habitat.json, read by habitat_mp3d_runner.py as hparams[f"{loc}-{arch}-openai"]:
    # "patch-b32-openai" 0.91, "grad-b32-openai" 0.375, "owl-b32-openai" 0.2, "mdetr-enb3-standard" 0.95. It has
    # no CLIP-Ref ("lang") entry and no B/16 entries.
    "habitat": {
        "ViT-B-32": {"patch": 0.91, "grad": 0.375, "owl": 0.2},
        "EfficientNet-B3": {"mdetr": 0.95},
    },
    # real-stanford/cow hparams/robo.json, read by pasture_runner.py (RoboTHOR / Pasture): "patch-b32-openai"
    # 0.875, "lang-b32-openai" 0.25, "grad-b32-openai" 0.625, "owl-b32-openai" 0.125, and for B/16 patch 0.75,
    # lang 0.125, grad 0.375, owl 0.125; "mdetrseg-enb3-openai" 0.95. Its "-photo" keys repeat these values.
    # NB: both runners map --arch B16 to clip_model_name 'ViT-B/32' (so the "-b16" values were, as published,
    # run with B/32 weights); they are kept here under ViT-B-16 as the files name them.
    "robothor": {
        "ViT-B-32": {"patch": 0.875, "ref": 0.25, "grad": 0.625, "owl": 0.125},
        "ViT-B-16": {"patch": 0.75, "ref": 0.125, "grad": 0.375, "owl": 0.125},
        "EfficientNet-B3": {"mdetr": 0.95},
    },
}
"""CoW's published localizer thresholds: ``COW_THRESHOLDS[sim][backbone][localizer]`` with sim "habitat" or
"robothor", backbone an open_clip architecture name (MDETR: "EfficientNet-B3") and localizer one of "patch",
"ref" (CoW's "lang"), "grad", "owl", "mdetr". They apply to CoW's own rules: the softmax over the 3 x 3
patches (``patch`` without a vocabulary), the softmax over the 9 captions, 10 x the CLIP-Grad relevance and
the OWL-ViT box score. The toolkit's own defaults are ``THRESHOLDS``."""

_COW_ALIASES = {"ViT-B/32": "ViT-B-32", "ViT-B/16": "ViT-B-16", "google/owlvit-base-patch32": "ViT-B-32",
                "google/owlvit-base-patch16": "ViT-B-16", "lang": "ref", "mdetrseg": "mdetr"}


def cow_threshold(sim: str, model: str, localizer: str) -> float:
    """CoW's threshold for ``localizer`` on backbone ``model`` in simulator ``sim`` (``COW_THRESHOLDS``).

    Args:
        sim: "habitat" (hparams/habitat.json) or "robothor" (hparams/robo.json).
        model: "ViT-B-32", "ViT-B-16" (OpenAI spellings "ViT-B/32" and OWL-ViT hub ids are accepted) or
            "EfficientNet-B3" (MDETR).
        localizer: "patch", "ref" (or CoW's "lang"), "grad", "owl" or "mdetr".
    Raises:
        ConfigError: CoW published no threshold for that combination; the message lists what it has.
    """
    if sim not in COW_THRESHOLDS:
        raise ConfigError(f"unknown CoW simulator '{sim}'; choose from {sorted(COW_THRESHOLDS)}")
    table = COW_THRESHOLDS[sim]
    arch = _COW_ALIASES.get(model, model)
    if arch not in table:
        raise ConfigError(f"CoW published no {sim} thresholds for backbone '{model}'; it has {sorted(table)}")
    kind = _COW_ALIASES.get(localizer, localizer)
    if kind not in table[arch]:
        raise ConfigError(f"CoW published no {sim} threshold for localizer '{localizer}' on {arch}; it has "
                          f"{sorted(table[arch])}")
    return table[arch][kind]


REF_REGIONS = ("top left", "top center", "top right", "center left", "center", "center right",
               "bottom left", "bottom center", "bottom right")
"""CLIP-Ref's nine regions, row-major over the 3 x 3 grid (real-stanford/cow,
src/models/localization/clip_lang.py: the captions' order is that of ``probs.reshape(3, 3)``)."""


def ref_captions(goal: str) -> list[str]:
    """CoW's nine CLIP-Ref captions for ``goal``, in :data:`REF_REGIONS` order: "{goal} in the top left", ...
    (real-stanford/cow, src/models/localization/clip_lang.py); each goes through the prompt templates, so
    "a photo of a {}." makes "a photo of a chair in the top left."."""
    return [f"{goal} in the {region}" for region in REF_REGIONS]


@dataclass(frozen=True)
class Localization:
    """relevance (H, W) float32 in [0, 1]; found: the goal is judged visible; score: image-text
    similarity of the whole frame (for value maps; NaN when the localizer has none)."""

    relevance: np.ndarray
    found: bool
    score: float = float("nan")


class Localizer(Protocol):
    def __call__(self, observation: Observation, goal: str) -> Localization: ...


def collapse_to_center(mask: np.ndarray) -> np.ndarray:
    """A mask with only the pixel nearest the centroid of ``mask`` kept (CoW's "center" option)."""
    ys, xs = np.nonzero(mask > 0)
    out = np.zeros_like(mask)
    if len(ys):
        k = np.argmin((ys - ys.mean()) ** 2 + (xs - xs.mean()) ** 2)
        out[ys[k], xs[k]] = mask[ys[k], xs[k]]
    return out


class OracleLocalizer:
    """Ground truth from ``observation.semantic`` and ``labels``; needs no model."""

    def __init__(self, min_pixels: int = 20, center: bool = False) -> None:
        self.min_pixels, self.center = min_pixels, center

    def __call__(self, observation: Observation, goal: str) -> Localization:
        if observation.semantic is None:
            raise ConfigError("the oracle localizer needs instance masks (observation.semantic)")
        ids = [i for i, c in observation.labels.items() if c == goal]
        mask = np.isin(observation.semantic, ids).astype(np.float32)
        found = int(mask.sum()) >= self.min_pixels
        mask = mask if found else np.zeros_like(mask)
        return Localization(collapse_to_center(mask) if self.center else mask, found)


def structure_mask(points_world: np.ndarray, valid: np.ndarray, floor_z_m: float, wall_min_top_m: float = 2.05,
                   plane_tol_m: float = 0.02, angle_bin_deg: float = 4.0, min_top_px: int = 20,
                   min_span_m: float = 0.6, stride: int = 2) -> np.ndarray:
    """(H, W) bool: pixels of walls and ceilings, the room's structure rather than its objects.

    Ceilings (level surfaces higher than ``wall_min_top_m`` above the floor, above furniture) are
    structure, and so is every pixel, down to the floor, of a wall: a vertical plane that rises up
    there (at least ``min_top_px`` pixels above that height) and spans at least ``min_span_m`` in
    height (a clock hung high is no wall). Planes are found on every ``stride``-th pixel: normals from central
    differences of ``points_world`` (H, W, 3; ``valid`` (H, W) marks returns), vertical ones
    (|normal z| < 0.15) binned by normal azimuth (``angle_bin_deg``) and offset (``plane_tol_m``);
    neighbouring tall bins form one plane, fitted as the mean of its pixels; a pixel is on it within
    ``plane_tol_m`` and within the stretch its pixels cover (the end face of a wall must not cut
    through the room). An object standing against a wall (a toilet, a sofa; it touches the wall with
    no depth edge) so keeps its pixels, and so does a clock 4 cm proud of it.
    """
    from scipy import ndimage

    if min_top_px < 1 or stride < 1:
        raise ConfigError(f"structure_mask needs min_top_px >= 1 and stride >= 1, got {min_top_px}, {stride}")
    H, W = valid.shape
    P, V = points_world[::stride, ::stride], valid[::stride, ::stride]
    ok = V.copy()
    ok[:, 1:-1] &= V[:, 2:] & V[:, :-2]
    ok[1:-1] &= V[2:] & V[:-2]
    ok[[0, -1]] = False
    ok[:, [0, -1]] = False
    dx = P[1:-1, 2:] - P[1:-1, :-2]
    dy = P[2:, 1:-1] - P[:-2, 1:-1]
    n = np.zeros_like(P)
    n[1:-1, 1:-1] = np.cross(dx, dy)
    step = np.zeros(P.shape[:2], P.dtype)  # length of 2 * stride pixels there, in metres
    step[1:-1, 1:-1] = np.sqrt((dx * dx).sum(-1))
    norm = np.sqrt((n * n).sum(-1))
    ok &= norm > 1e-12
    # ceilings: level surfaces above the furniture (the frame border copies its neighbours' verdict)
    ceiling = ok & (np.abs(n[..., 2]) > 0.9 * norm) & (P[..., 2] - floor_z_m > wall_min_top_m)
    if min(ceiling.shape) > 2:
        ceiling = np.pad(ceiling[1:-1, 1:-1], 1, mode="edge")
    out = valid & np.repeat(np.repeat(ceiling, stride, 0), stride, 1)[:H, :W]
    idx = np.flatnonzero(ok & (np.abs(n[..., 2]) < 0.15 * np.maximum(norm, 1e-12)))
    if len(idx) == 0:
        return out
    nxy = n.reshape(-1, 3)[idx, :2]
    nxy /= np.sqrt((nxy * nxy).sum(1))[:, None]
    # a plane's normal up to sign: fold it onto the half-plane of a direction no axis-aligned wall has
    u = (math.cos(math.radians(100.0)), math.sin(math.radians(100.0)))
    nxy *= np.where(nxy[:, 0] * u[0] + nxy[:, 1] * u[1] < 0, -1.0, 1.0)[:, None].astype(nxy.dtype)
    pts = P.reshape(-1, 3)[idx]
    origin = pts[:, :2].mean(0)  # offsets from nearby: normal noise moves them less than from afar
    pxy = pts[:, :2] - origin
    d = (nxy * pxy).sum(1)
    az = (np.degrees(np.arctan2(nxy[:, 1], nxy[:, 0])) - 10.0) % 360.0  # in [0, 180]
    ai = (az // angle_bin_deg).astype(np.int64)
    di = ((d - d.min()) // plane_tol_m).astype(np.int64)
    n_d = int(di.max()) + 1
    key = ai * n_d + di
    high = pts[:, 2] - floor_z_m > wall_min_top_m
    tall = np.bincount(key, weights=high, minlength=(int(ai.max()) + 1) * n_d).reshape(-1, n_d)
    planes, k = ndimage.label(tall * stride * stride >= min_top_px, structure=np.ones((3, 3)))
    member = planes.reshape(-1)[key]  # plane of each vertical pixel (0 = none)
    X, Y = points_world[..., 0] - origin[0], points_world[..., 1] - origin[1]
    steps = step.reshape(-1)[idx]
    for j in range(1, k + 1):
        m = member == j
        if np.ptp(pts[m, 2]) < min_span_m:
            continue
        a, b = nxy[m].mean(0)
        norm_ab = math.hypot(a, b)
        a, b = a / norm_ab, b / norm_ab
        c = float((pxy[m] @ np.array([a, b], pxy.dtype)).mean())
        # along the wall, a plane ends where its pixels end (plus the frame border normals miss)
        t = pxy[m] @ np.array([-b, a], pxy.dtype)
        margin = 2 * plane_tol_m + float(steps[m].max())
        along = -X * b + Y * a
        out |= valid & (np.abs(X * a + Y * b - c) < plane_tol_m) & (along > t.min() - margin) & (along < t.max() + margin)
    return out


def depth_segments(depth_m: np.ndarray, K: np.ndarray, T_world_cam: np.ndarray, floor_z_m: float | None = None,
                   edge_rel: float = 0.05, min_height_m: float = 0.1, wall_min_top_m: float | None = 2.05) -> np.ndarray:
    """Class-agnostic object proposals from depth alone: (H, W) int32 labels (0 = none).

    Pixels with a return, standing more than ``min_height_m`` above the floor (world z; the floor
    is ``floor_z_m``, else the lowest 2 % of the frame's points) and not on walls or ceilings
    (:func:`structure_mask` with ``wall_min_top_m``; None keeps them), are cut along depth edges (a
    jump of more than ``edge_rel`` of the depth to a 4-neighbour) and labelled as connected regions.
    """
    from scipy import ndimage

    from embodied import geometry

    d = np.where(np.isfinite(depth_m), depth_m, 0.0).astype(np.float32)
    valid = d > 0
    P = geometry.unproject_depth(d, K) @ T_world_cam[:3, :3].T.astype(np.float32) + T_world_cam[:3, 3].astype(np.float32)
    z = P[..., 2]
    if floor_z_m is None:
        floor_z_m = float(np.percentile(z[valid], 2)) if valid.any() else 0.0
    keep = valid & (z - floor_z_m > min_height_m)
    if wall_min_top_m is not None:
        keep &= ~structure_mask(P, valid, floor_z_m, wall_min_top_m)
    edges = np.zeros_like(keep)
    for axis in (0, 1):
        a, b = (d[1:], d[:-1]) if axis == 0 else (d[:, 1:], d[:, :-1])
        jump = np.abs(a - b) > edge_rel * np.minimum(a, b)
        if axis == 0:
            edges[1:] |= jump
            edges[:-1] |= jump
        else:
            edges[:, 1:] |= jump
            edges[:, :-1] |= jump
    labels, _ = ndimage.label(keep & ~edges)
    return labels.astype(np.int32)


def segment_crop(rgb: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The (h, w, 3) box of ``rgb`` around the pixels of ``mask`` (H, W bool), padded by an eighth of
    its size on each side (at least 2 px): what a segment-level classifier sees. Training data of the
    sim-trained CLIP is cut the same way (datasets3d.clip_data)."""
    ys, xs = np.nonzero(mask)
    pad_y, pad_x = max(2, int(ys.max() - ys.min()) // 8), max(2, int(xs.max() - xs.min()) // 8)
    return rgb[max(ys.min() - pad_y, 0):ys.max() + pad_y + 1, max(xs.min() - pad_x, 0):xs.max() + pad_x + 1]


def _threshold(clip: Any, kind: str, value: float | None) -> float:
    if value is not None:
        return value
    for key in (clip.provenance.model_id, clip.config.model, "default"):
        if key in THRESHOLDS and kind in THRESHOLDS[key]:
            return THRESHOLDS[key][kind]
    raise ConfigError(f"no threshold for localizer '{kind}'")


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max())
    return e / e.sum()


class _ClipLocalizer:
    kind = ""

    def __init__(self, clip: Any, threshold: float | None = None, templates: str = "short", center: bool = False) -> None:
        self.clip, self.templates, self.center = clip, templates, center
        self.threshold = _threshold(clip, self.kind, threshold)

    def _text(self, goal: str) -> np.ndarray:
        return self.clip.text_classifier([goal], self.templates)[0]

    def _finish(self, relevance: np.ndarray, found: bool, score: float) -> Localization:
        if self.center:
            relevance = collapse_to_center(relevance)
        return Localization(relevance.astype(np.float32), found, score)


class ClipPatchLocalizer(_ClipLocalizer):
    """CLIP-Patch over a ``grid`` x ``grid`` split (default 3 x 3), or over depth segments.

    Args:
        vocabulary: the task's categories; patches are classified over goal + vocabulary (+
            BACKGROUND_WORDS) instead of CoW's softmax over patches.
        refine: (grid, with a vocabulary) classify the depth segment under a firing patch and mark
            that segment instead of the patch.
        proposals: "grid" or "segments" (needs a vocabulary and depth): every depth segment of at
            least ``min_segment_frac`` of the frame is a patch.
    """

    kind = "patch"

    def __init__(self, clip: Any, grid: int = 3, vocabulary: tuple[str, ...] | list[str] = (),
                 refine: bool = False, proposals: str = "grid", min_segment_frac: float = 0.0016,
                 threshold: float | None = None, **kw: Any) -> None:
        if grid < 1:
            raise ConfigError(f"grid must be >= 1, got {grid}")
        if proposals not in ("grid", "segments"):
            raise ConfigError(f"CLIP-Patch proposals must be 'grid' or 'segments', got '{proposals}'")
        if (refine or proposals == "segments") and not vocabulary:
            raise ConfigError("CLIP-Patch refine=True and proposals='segments' need a vocabulary (the crops are "
                              "classified over it)")
        if not 0 < min_segment_frac < 1:
            raise ConfigError(f"min_segment_frac must be in (0, 1), got {min_segment_frac}")
        self.kind = "patch_segments" if proposals == "segments" else "patch_vocab" if vocabulary else "patch"
        super().__init__(clip, threshold=threshold, **kw)
        self.grid, self.refine, self.proposals, self.min_segment_frac = grid, refine, proposals, min_segment_frac
        self.vocabulary = tuple(dict.fromkeys([*vocabulary, *BACKGROUND_WORDS])) if vocabulary else ()

    def _goal_probs(self, emb: np.ndarray, goal: str) -> np.ndarray:
        """(N,) P(goal | image) over goal + vocabulary for (N, D) image embeddings."""
        words = [goal] + [w for w in self.vocabulary if w != goal]
        logits = self.clip.logit_scale * (emb @ self.clip.text_classifier(words, self.templates).T)
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        return e[:, 0] / e.sum(axis=1)

    def _refine(self, observation: Observation, goal: str, patches: np.ndarray) -> tuple[np.ndarray, float]:
        """Second stage: the depth segments under the firing ``patches`` (H, W bool) are cropped
        and classified; returns (mask of the best segment, its P(goal)), or an empty mask."""
        obs = observation
        segs = depth_segments(obs.depth, obs.intrinsics.K, obs.T_world_cam,
                              obs.agent_pose.position_m[2] if obs.agent_pose is not None else None)
        H, W = segs.shape
        ids, counts = np.unique(segs[patches & (segs > 0)], return_counts=True)
        cand = [int(i) for i, n in zip(ids, counts) if n >= 0.02 * patches.sum()]
        if not cand:
            return np.zeros((H, W), bool), 0.0
        masks = [segs == i for i in cand]
        crops = [segment_crop(obs.rgb, m) for m in masks]
        probs = self._goal_probs(self.clip.encode_images(crops), goal)
        k = int(np.argmax(probs))
        return masks[k], float(probs[k])

    def _segments(self, observation: Observation, goal: str) -> Localization:
        obs = observation
        if obs.depth is None:
            raise ConfigError("CLIP-Patch with proposals='segments' needs depth (observation.depth)")
        H, W = obs.rgb.shape[:2]
        segs = depth_segments(obs.depth, obs.intrinsics.K, obs.T_world_cam,
                              obs.agent_pose.position_m[2] if obs.agent_pose is not None else None)
        counts = np.bincount(segs.ravel())
        ids = [int(i) for i in np.flatnonzero(counts >= self.min_segment_frac * H * W) if i > 0]
        masks = [segs == i for i in ids]
        emb = self.clip.encode_images([segment_crop(obs.rgb, m) for m in masks] + [obs.rgb])  # one forward
        score = float(emb[-1] @ self._text(goal))
        rel = np.zeros((H, W), np.float32)
        if not masks:
            return self._finish(rel, False, score)
        probs = self._goal_probs(emb[:-1], goal)
        for m, p in zip(masks, probs):
            if p > self.threshold:
                rel[m] = p
        return self._finish(rel, bool((probs > self.threshold).any()), score)

    def __call__(self, observation: Observation, goal: str) -> Localization:
        if self.proposals == "segments":
            return self._segments(observation, goal)
        rgb = observation.rgb
        H, W = rgb.shape[:2]
        ys = np.linspace(0, H, self.grid + 1).astype(int)
        xs = np.linspace(0, W, self.grid + 1).astype(int)
        crops = [rgb[ys[i]:ys[i + 1], xs[j]:xs[j + 1]] for i in range(self.grid) for j in range(self.grid)]
        emb = self.clip.encode_images(crops + [rgb])  # one batched forward
        txt = self._text(goal)
        cos = emb @ txt
        if self.vocabulary:  # P(goal | patch) over goal + vocabulary
            probs = self._goal_probs(emb[:-1], goal)
        else:  # CoW: a softmax over the patches
            probs = _softmax(self.clip.logit_scale * cos[:-1])
        rel = np.zeros((H, W), np.float32)
        for k, p in enumerate(probs):
            if p > self.threshold:
                i, j = divmod(k, self.grid)
                rel[ys[i]:ys[i + 1], xs[j]:xs[j + 1]] = p
        found = bool((probs > self.threshold).any())
        if found and self.refine and observation.depth is not None:
            mask, p = self._refine(observation, goal, rel > 0)
            found = p > self.threshold
            rel = np.where(mask, p, 0.0).astype(np.float32) if found else np.zeros_like(rel)
        return self._finish(rel, found, float(cos[-1]))


def _view_box(clip: Any, H: int, W: int) -> tuple[int, int, int, int]:
    """(top, left, height, width) in frame pixels of the square the model sees of an (H, W) frame
    (ClipBackbone.preprocess): the centre square for "shortest" (resize + centre crop), the whole frame
    for "squash", a square reaching past the frame for "longest" (letterboxed)."""
    mode = getattr(clip, "preprocess_cfg", {}).get("resize_mode", "shortest")
    if mode == "squash":
        return 0, 0, H, W
    side = max(H, W) if mode == "longest" else min(H, W)
    return int(round((H - side) / 2)), int(round((W - side) / 2)), side, side


def _paste(values: np.ndarray, box: tuple[int, int, int, int], H: int, W: int) -> np.ndarray:
    """An (H, W) float32 map: ``values`` (box height, box width) placed at ``box``, clipped to the frame."""
    top, left, bh, bw = box
    out = np.zeros((H, W), np.float32)
    y0, x0, y1, x1 = max(top, 0), max(left, 0), min(top + bh, H), min(left + bw, W)
    out[y0:y1, x0:x1] = values[y0 - top:y1 - top, x0 - left:x1 - left]
    return out


class ClipRefLocalizer(_ClipLocalizer):
    """CLIP-Ref as CoW runs it (real-stanford/cow, src/models/localization/clip_lang.py).

    The nine captions of :func:`ref_captions` go through the prompt-template ensemble
    (``clip.text_classifier(captions, templates)``: each caption embedded with every template and
    averaged, CoW's ``zeroshot_classifier``); a softmax over the nine of ``logit_scale`` x cosine with
    the frame (CoW: 100, OpenAI CLIP's learned scale) gives one probability per region, laid out
    row-major as 3 x 3 and upsampled nearest-neighbour (cell of pixel y: floor(3 y / side)) over the
    square the model sees of the frame; every region whose probability exceeds the threshold is
    relevant, with that probability (CoW: ``probs > threshold``, so with 0.25 up to three regions).
    """

    kind = "ref"

    def region_probs(self, rgb: np.ndarray, goal: str) -> tuple[np.ndarray, float]:
        """((3, 3) float32 softmax over the nine captions, row-major as REF_REGIONS; cosine of the frame
        and the goal's own prompt ensemble) for an (H, W, 3) uint8 frame."""
        img = self.clip.encode_images(rgb[None])[0]
        cos = self.clip.text_classifier(ref_captions(goal), self.templates) @ img
        probs = _softmax(self.clip.logit_scale * cos.astype(np.float64)).astype(np.float32)
        return probs.reshape(3, 3), float(img @ self._text(goal))

    def __call__(self, observation: Observation, goal: str) -> Localization:
        rgb = observation.rgb
        H, W = rgb.shape[:2]
        probs, score = self.region_probs(rgb, goal)
        box = _view_box(self.clip, H, W)
        rows, cols = (np.arange(box[2]) * 3) // box[2], (np.arange(box[3]) * 3) // box[3]
        cells = np.where(probs > self.threshold, probs, 0.0).astype(np.float32)
        rel = _paste(cells[rows][:, cols], box, H, W)
        return self._finish(rel, bool((probs > self.threshold).any()), score)


class DenseClipLocalizer(_ClipLocalizer):
    """Patch-token similarity to the goal text (ViT models), upsampled to the image."""

    kind = "dense"

    def __call__(self, observation: Observation, goal: str) -> Localization:
        rgb = observation.rgb
        H, W = rgb.shape[:2]
        feats = self.clip.patch_features(rgb[None])[0]  # (gh, gw, D)
        txt = self._text(goal)
        sim = feats @ txt
        probs = _softmax(self.clip.logit_scale * sim.ravel()).reshape(sim.shape)
        rel_grid = probs / max(probs.max(), 1e-12)  # 1 at the best patch
        gh, gw = sim.shape
        rel = np.repeat(np.repeat(rel_grid, -(-H // gh), axis=0), -(-W // gw), axis=1)[:H, :W]
        rel = np.where(rel > self.threshold, rel, 0.0)
        img = self.clip.encode_images(rgb[None])[0]
        return self._finish(rel, bool((rel > 0).any() and float(img @ txt) > 0), float(img @ txt))


def vit_attention_forward(clip: Any, x: Any) -> tuple[Any, list[Any]]:
    """Re-run the image tower of an open_clip ViT with explicit attention.

    Args:
        clip: a ClipBackbone with a plain VisionTransformer image tower.
        x: (N, 3, S, S) preprocessed images.
    Returns:
        (pooled image embeddings (N, D), [attention probabilities (N, heads, T, T) per block]).
        Same weights and arithmetic as ``model.encode_image`` (checked in tests).
    """
    import torch.nn.functional as F
    from open_clip.transformer import ResidualAttentionBlock, VisionTransformer

    visual = clip.model.visual
    blocks = list(getattr(getattr(visual, "transformer", None), "resblocks", []))
    if not isinstance(visual, VisionTransformer) or visual.attn_pool is not None or \
            not all(type(b) is ResidualAttentionBlock for b in blocks):
        raise ConfigError(f"CLIP-Grad needs a plain open_clip ViT; {clip.config.model} is not one")
    h = visual._embeds(x)
    attns = []
    for blk in blocks:
        a = blk.attn
        y = blk.ln_1(h)
        n, t, d = y.shape
        heads = a.num_heads
        q, k, v = F.linear(y, a.in_proj_weight, a.in_proj_bias).chunk(3, dim=-1)
        q, k, v = (z.reshape(n, t, heads, d // heads).transpose(1, 2) for z in (q, k, v))
        attn = ((q * (d // heads) ** -0.5) @ k.transpose(-2, -1)).softmax(dim=-1)
        attns.append(attn)
        o = (attn @ v).transpose(1, 2).reshape(n, t, d)
        h = h + blk.ls_1(F.linear(o, a.out_proj.weight, a.out_proj.bias))
        h = h + blk.ls_2(blk.mlp(blk.ln_2(h)))
    pooled, _ = visual._pool(h)
    if visual.proj is not None:
        pooled = pooled @ visual.proj
    return pooled, attns


class ClipGradLocalizer(_ClipLocalizer):
    """CLIP-Grad as CoW runs it (real-stanford/cow, src/models/localization/clip_grad.py, ``interpret_vit``).

    Args:
        start_block: index of the first ViT block whose attention relevance is accumulated. CoW's
            ``interpret_vit(num_layers=10)`` skips every block ``i <= 10``, so the default 11 uses only
            the last block of a 12-block ViT-B. Models with fewer blocks (the tiny test models) use at
            least their last block: the start is clipped to ``len(blocks) - 1``.
        scale: the relevance is multiplied by this before the threshold (CoW's ``gradient_scalar`` 10).

    The relevance map is R's class-token row over the patches (R = I + sum of the blocks' cams, see
    the module docs), back-propagated from CLIP's logit for the goal (``logit_scale`` x cosine; CoW:
    100 x cosine, 100 being OpenAI CLIP's learned scale), upsampled bilinearly (CoW:
    ``interpolate(..., mode='bilinear', align_corners=False)``) over the square the model sees, times
    ``scale``, and thresholded in absolute terms: pixels with ``scale * R > threshold`` are relevant
    (CoW returns that binary mask); there is no min-max normalisation, so a frame can give nothing
    (found False, all-zero relevance). Relevant pixels keep ``scale * R``, divided by the frame's
    maximum only where that exceeds 1, so that relevance stays in [0, 1] and its order is kept.
    """

    kind = "grad"

    def __init__(self, clip: Any, threshold: float | None = None, templates: str = "short", center: bool = False,
                 start_block: int = 11, scale: float = 10.0) -> None:
        super().__init__(clip, threshold=threshold, templates=templates, center=center)
        if start_block < 0 or scale <= 0:
            raise ConfigError(f"CLIP-Grad needs start_block >= 0 and scale > 0, got {start_block}, {scale}")
        self.start_block, self.scale = int(start_block), float(scale)

    def first_block(self, n_blocks: int) -> int:
        """The first block used of a ViT with ``n_blocks`` blocks: min(start_block, n_blocks - 1)."""
        return min(self.start_block, n_blocks - 1)

    def relevance(self, rgb: np.ndarray, goal: str) -> tuple[np.ndarray, float]:
        """((gh, gw) float32 raw relevance >= 0: R[cls, patches] before scaling and upsampling; cosine of
        the frame and the goal) for an (H, W, 3) uint8 frame."""
        import torch

        clip = self.clip
        txt = torch.from_numpy(self._text(goal)).to(clip.device)
        x = clip.preprocess(rgb[None])
        with torch.enable_grad():
            x.requires_grad_(True)  # keeps the graph even for a model whose weights are frozen
            pooled, attns = vit_attention_forward(clip, x)
            used = attns[self.first_block(len(attns)):]
            cos = torch.nn.functional.normalize(pooled.float(), dim=-1)[0] @ txt
            grads = torch.autograd.grad(clip.logit_scale * cos, used)  # no .grad left on the weights
        with torch.no_grad():
            t = attns[0].shape[-1]
            R = torch.eye(t, device=x.device)
            for a, g in zip(used, grads):
                cam = (g * a).clamp(min=0).mean(dim=1)[0]
                R = R + cam @ R
            gh, gw = clip.model.visual.grid_size
            rel = R[0, 1:].reshape(gh, gw).float().cpu().numpy()
        return rel.astype(np.float32), float(cos.detach())

    def relevance_grid(self, rgb: np.ndarray, goal: str) -> tuple[np.ndarray, float]:
        """((gh, gw) float32 relevance min-max normalised to [0, 1], for display; cosine of the frame and
        the goal). The localizer itself thresholds the unnormalised :meth:`relevance`."""
        rel, score = self.relevance(rgb, goal)
        span = float(rel.max() - rel.min())
        return ((rel - rel.min()) / max(span, 1e-12)).astype(np.float32), score

    def __call__(self, observation: Observation, goal: str) -> Localization:
        import torch

        rgb = observation.rgb
        H, W = rgb.shape[:2]
        grid, score = self.relevance(rgb, goal)
        box = _view_box(self.clip, H, W)
        up = torch.nn.functional.interpolate(torch.from_numpy(grid)[None, None], size=box[2:], mode="bilinear",
                                             align_corners=False)[0, 0].numpy()
        s = self.scale * up
        s = np.where(s > self.threshold, s, 0.0)
        rel = _paste((s / max(1.0, float(s.max()))).astype(np.float32), box, H, W)
        return self._finish(rel, bool(rel.any()), score)


class OwlVitLocalizer:
    """OWL-ViT (or OWLv2) as CoW's localizer (real-stanford/cow, src/models/localization/clip_owl.py).

    Args:
        checkpoint: a Hugging Face hub id or a ``save_pretrained`` folder (embodied.owl.OwlVitDetector).
        threshold: box score cut, kept when ``score >= threshold`` (CoW's rule). Default: CoW's
            Habitat value for OWL-ViT B/32, ``cow_threshold("habitat", "ViT-B-32", "owl")`` = 0.2
            (RoboTHOR: 0.125).
        device: "auto" (None), "cpu", "cuda[:N]", "mps".
        center: collapse the mask to its centroid pixel.
        query: the text query; CoW's is "a photo of a {goal}." (one prompt, no template ensemble).

    Returns per frame: relevance (H, W) float32, each kept box filled with its score (the highest
    where boxes overlap); found when any kept box covers a pixel; score = the best box score (NaN
    when the model predicts no box).
    """

    kind = "owl"

    def __init__(self, checkpoint: str | None = None, threshold: float | None = None, device: str | None = None,
                 center: bool = False, *, query: str = "a photo of a {}.", cache_dir: str | None = None) -> None:
        from embodied.owl import OWL_DEFAULT_CHECKPOINT, get_detector

        if query.count("{}") != 1:
            raise ConfigError(f"the OWL-ViT query needs exactly one '{{}}' for the goal, got '{query}'")
        self.checkpoint = checkpoint or OWL_DEFAULT_CHECKPOINT
        self.threshold = cow_threshold("habitat", "ViT-B-32", "owl") if threshold is None else float(threshold)
        self.center, self.query = center, query
        self.detector = get_detector(self.checkpoint, device=device, cache_dir=cache_dir)

    def __call__(self, observation: Observation, goal: str) -> Localization:
        rgb = observation.rgb
        H, W = rgb.shape[:2]
        boxes, scores = self.detector.detect(rgb, self.query.format(goal))
        rel = np.zeros((H, W), np.float32)
        for k in np.flatnonzero(scores >= self.threshold):
            x0, y0 = (int(math.floor(v)) for v in boxes[k, :2])
            x1, y1 = (int(math.ceil(v)) for v in boxes[k, 2:])
            region = rel[max(y0, 0):min(y1, H), max(x0, 0):min(x1, W)]
            np.maximum(region, scores[k], out=region)
        if self.center:
            rel = collapse_to_center(rel)
        return Localization(rel, bool(rel.any()), float(scores.max()) if len(scores) else float("nan"))


LOCALIZERS = {"oracle": OracleLocalizer, "patch": ClipPatchLocalizer, "ref": ClipRefLocalizer,
              "grad": ClipGradLocalizer, "dense": DenseClipLocalizer, "owl": OwlVitLocalizer}


def make_localizer(name: str, clip: Any = None, **kw: Any) -> Localizer:
    """Build localizer ``name``; the CLIP ones need a ClipBackbone. ``owl`` needs none (``clip`` is
    ignored; pass ``checkpoint=``) and takes no ``templates`` (a ``templates`` keyword is dropped: it
    queries with CoW's single prompt)."""
    if name not in LOCALIZERS:
        raise ConfigError(f"unknown localizer '{name}'; choose from {sorted(LOCALIZERS)}")
    if name == "oracle":
        return OracleLocalizer(**kw)
    if name == "owl":
        kw.pop("templates", None)
        return OwlVitLocalizer(**kw)
    if clip is None:
        raise ConfigError(f"localizer '{name}' needs a CLIP backbone")
    return LOCALIZERS[name](clip, **kw)
