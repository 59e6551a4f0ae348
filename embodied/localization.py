"""Zero-shot object localization: (rgb, goal text) -> relevance map in [0, 1] + found / not found.

Localizers (CoW's, plus a dense one):
* ``oracle``: the simulator's instance masks (ablations and upper bounds).
* ``patch`` (CLIP-Patch): the frame cut into a k x k grid; all patches and the full frame are
  encoded in one batched forward; a softmax over the patches of CLIP's logits for the goal
  prompt; patches whose probability exceeds the threshold are relevant.
* ``ref`` (CLIP-Ref): nine referring prompts ("a {goal} in the top left of the image", ...); a
  softmax over the prompts of the full frame's logits; the best region is relevant when above
  the threshold.
* ``dense``: per-patch ViT features (ClipBackbone.patch_features) against the goal text; no
  gradients; a softmax over patches with CLIP's temperature, thresholded.
Thresholds are data (``THRESHOLDS`` below, per model id or architecture), not code. Goal text goes
through a prompt ensemble (``templates``). ``center=True`` collapses a mask to its centroid pixel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from embodied.errors import ConfigError
from embodied.types import Observation

__all__ = ["Localization", "Localizer", "LOCALIZERS", "THRESHOLDS", "OracleLocalizer", "ClipPatchLocalizer",
           "ClipRefLocalizer", "DenseClipLocalizer", "make_localizer", "collapse_to_center"]

THRESHOLDS: dict[str, dict[str, float]] = {
    # CoW's published range for patch/ref thresholds is 0.75-0.91 depending on model and simulator.
    "default": {"patch": 0.80, "ref": 0.80, "dense": 0.50},
    "ViT-B-32": {"patch": 0.80, "ref": 0.80, "dense": 0.50},
    "embodied-tiny": {"patch": 0.60, "ref": 0.60, "dense": 0.30},
}
_REGIONS = (("top left", 0, 0), ("top", 0, 1), ("top right", 0, 2), ("left", 1, 0), ("center", 1, 1),
            ("right", 1, 2), ("bottom left", 2, 0), ("bottom", 2, 1), ("bottom right", 2, 2))


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
    """CLIP-Patch with a ``grid`` x ``grid`` split (default 3 x 3)."""

    kind = "patch"

    def __init__(self, clip: Any, grid: int = 3, **kw: Any) -> None:
        if grid < 1:
            raise ConfigError(f"grid must be >= 1, got {grid}")
        super().__init__(clip, **kw)
        self.grid = grid

    def __call__(self, observation: Observation, goal: str) -> Localization:
        rgb = observation.rgb
        H, W = rgb.shape[:2]
        ys = np.linspace(0, H, self.grid + 1).astype(int)
        xs = np.linspace(0, W, self.grid + 1).astype(int)
        crops = [rgb[ys[i]:ys[i + 1], xs[j]:xs[j + 1]] for i in range(self.grid) for j in range(self.grid)]
        emb = self.clip.encode_images(crops + [rgb])  # one batched forward
        txt = self._text(goal)
        cos = emb @ txt
        probs = _softmax(self.clip.logit_scale * cos[:-1])
        rel = np.zeros((H, W), np.float32)
        for k, p in enumerate(probs):
            if p > self.threshold:
                i, j = divmod(k, self.grid)
                rel[ys[i]:ys[i + 1], xs[j]:xs[j + 1]] = p
        return self._finish(rel, bool((probs > self.threshold).any()), float(cos[-1]))


class ClipRefLocalizer(_ClipLocalizer):
    """CLIP-Ref: referring prompts per image region (3 x 3)."""

    kind = "ref"

    def __call__(self, observation: Observation, goal: str) -> Localization:
        rgb = observation.rgb
        H, W = rgb.shape[:2]
        img = self.clip.encode_images(rgb[None])[0]
        prompts = [f"a {goal} in the {name} of the image." for name, _, _ in _REGIONS]
        cos = self.clip.encode_texts(prompts) @ img
        probs = _softmax(self.clip.logit_scale * cos)
        k = int(np.argmax(probs))
        rel = np.zeros((H, W), np.float32)
        found = bool(probs[k] > self.threshold)
        if found:
            _, i, j = _REGIONS[k]
            rel[i * H // 3:(i + 1) * H // 3, j * W // 3:(j + 1) * W // 3] = probs[k]
        return self._finish(rel, found, float(img @ self._text(goal)))


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


LOCALIZERS = {"oracle": OracleLocalizer, "patch": ClipPatchLocalizer, "ref": ClipRefLocalizer,
              "dense": DenseClipLocalizer}


def make_localizer(name: str, clip: Any = None, **kw: Any) -> Localizer:
    """Build localizer ``name``; the CLIP ones need a ClipBackbone."""
    if name not in LOCALIZERS:
        raise ConfigError(f"unknown localizer '{name}'; choose from {sorted(LOCALIZERS)}")
    if name == "oracle":
        return OracleLocalizer(**kw)
    if clip is None:
        raise ConfigError(f"localizer '{name}' needs a CLIP backbone")
    return LOCALIZERS[name](clip, **kw)
