"""Evaluate CLIP weights on held-out image data: zero-shot classification of object crops, pointing
accuracy of the zero-shot localizers on whole frames, drift between two models, and a PNG plot of the
accuracy / drift trade-off of a WiSE-FT sweep.

Everything works on arrays and :class:`embodied.clip.shards.ClipSample` lists, so any simulator's
shards can be evaluated (``crop`` samples with ``meta["category"]``; ``frame`` samples with an
instance mask ``seg`` and ``meta["labels"]``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from embodied.clip.shards import ClipSample, ShardError
from embodied.errors import ConfigError

__all__ = ["zero_shot_accuracy", "pointing_accuracy", "text_drift", "evaluate_samples", "plot_tradeoff",
           "GENERIC_CAPTIONS", "POINTING_LOCALIZERS"]

POINTING_LOCALIZERS = ("patch", "dense", "grad", "ref")

GENERIC_CAPTIONS: tuple[str, ...] = tuple(f"a photo of {w}." for w in (
    "a dog", "a cat", "a horse", "a bird", "a car", "a bicycle", "an airplane", "a boat", "a train", "a bus",
    "a person", "a child", "a tree", "a flower", "a mountain", "a beach", "a city street", "a bridge",
    "a pizza", "a banana", "an apple", "a sandwich", "a cake", "a bottle", "a cup of coffee", "a guitar",
    "a piano", "a football", "a tennis racket", "a skateboard", "an umbrella", "a backpack", "a handbag",
    "a phone", "a keyboard", "a computer mouse", "a remote control", "a book", "a pair of scissors",
    "a teddy bear", "a toothbrush", "a hair drier", "a microwave", "a toaster", "a fire hydrant",
    "a stop sign", "a parking meter", "a bench", "an elephant", "a giraffe", "a zebra", "a cow", "a sheep",
))
"""Captions outside the built-in simulator's world: how far a blend drifts from the zero-shot model."""


def zero_shot_accuracy(clip: Any, images: Sequence[np.ndarray], labels: Sequence[str], classnames: Sequence[str],
                       templates: str | Sequence[str] = "short", topk: tuple[int, ...] = (1, 5)) -> dict[str, Any]:
    """Zero-shot classification with a prompt-ensemble text classifier.

    Args:
        clip: a ClipBackbone.
        images: N (H, W, 3) uint8 images.
        labels: N true class names, each in ``classnames``.
        classnames: the C candidate classes.
        templates: prompt templates (see ClipBackbone.text_classifier).
    Returns:
        {"n", "top1", "top5", "mean_class_top1", "per_class": {class: {"n", "top1"}}, "confusions": top 5
        (true, predicted, count)}, accuracies in [0, 1].
    """
    classnames = list(classnames)
    if not images:
        raise ShardError("no images to classify; the evaluation data holds no object crops")
    unknown = sorted(set(labels) - set(classnames))
    if unknown:
        raise ConfigError(f"labels {unknown[:3]} are not among the {len(classnames)} class names")
    emb = clip.encode_images(list(images))
    clf = clip.text_classifier(classnames, templates)
    logits = emb @ clf.T
    truth = np.array([classnames.index(c) for c in labels])
    ranks = np.argsort(-logits, axis=1)
    out: dict[str, Any] = {"n": len(labels), "classes": len(classnames)}
    for k in topk:
        out[f"top{k}"] = round(float(np.mean((ranks[:, :k] == truth[:, None]).any(axis=1))), 4)
    pred = ranks[:, 0]
    per = {}
    for i, c in enumerate(classnames):
        m = truth == i
        if m.any():
            per[c] = {"n": int(m.sum()), "top1": round(float(np.mean(pred[m] == i)), 4)}
    out["mean_class_top1"] = round(float(np.mean([v["top1"] for v in per.values()])), 4)
    out["per_class"] = per
    pairs: dict[tuple[str, str], int] = {}
    for t, p in zip(truth, pred):
        if t != p:
            pairs[(classnames[t], classnames[p])] = pairs.get((classnames[t], classnames[p]), 0) + 1
    out["confusions"] = [[a, b, n] for (a, b), n in sorted(pairs.items(), key=lambda kv: -kv[1])[:5]]
    return out


def _observation(rgb: np.ndarray, seg: np.ndarray | None, labels: dict[int, str]):
    from embodied.types import CameraIntrinsics, Observation

    H, W = rgb.shape[:2]
    return Observation(rgb=rgb, intrinsics=CameraIntrinsics.from_hfov(W, H, 90.0), T_world_cam=np.eye(4),
                       semantic=seg, labels=labels)


def pointing_accuracy(clip: Any, frames: Sequence[ClipSample], localizers: Sequence[str] = POINTING_LOCALIZERS,
                      classnames: Sequence[str] | None = None, min_goal_px: int = 200, max_queries: int = 300,
                      seed: int = 0) -> dict[str, Any]:
    """How well each CLIP localizer points at the goal on frames with instance masks.

    For every frame and category visible with at least ``min_goal_px`` pixels (a positive query), the
    localizer runs with threshold 0 (no cut-off); it *points* correctly when the pixels at its
    relevance peak overlap an instance of the goal. ``chance`` is the expected hit rate of picking one
    of the localizer's regions (a 3 x 3 cell for patch/ref, a patch token for dense/grad) at random.
    Negative queries (a category absent from the frame) measure how often ``found`` fires wrongly at
    the localizer's default threshold; ``found_tpr`` is the same on positives. For patch and ref, the
    threshold that best separates positives from negatives (balanced accuracy) is reported too.

    Args:
        frames: samples with ``seg`` (H, W) instance ids and ``meta["labels"]`` {id: category}.
        classnames: candidate goals for negative queries (default: all categories in the labels).
        max_queries: at most this many positive (and as many negative) queries, drawn with ``seed``.
    Returns:
        {localizer: {"pointing", "chance", "n", "found_tpr", "found_fpr", "threshold", "best_threshold"}}; a
        localizer the model cannot run (dense and grad need a ViT) gets {"skipped": reason}.
    """
    from embodied.localization import LOCALIZERS, make_localizer

    bad = [n for n in localizers if n not in LOCALIZERS or n == "oracle"]
    if bad:
        raise ConfigError(f"unknown CLIP localizers {bad}; choose from {[n for n in LOCALIZERS if n != 'oracle']}")
    usable = [f for f in frames if f.seg is not None and f.meta.get("labels")]
    if not usable:
        raise ShardError("no frames with instance masks to point at; write the evaluation data with --masks")
    rng = np.random.default_rng(seed)
    all_cats = sorted({c for f in usable for c in f.meta["labels"].values()})
    classnames = list(classnames or all_cats)
    pos, neg = [], []
    for fi, f in enumerate(usable):
        labels = {int(k): v for k, v in f.meta["labels"].items()}
        ids, counts = np.unique(f.seg[f.seg >= 0], return_counts=True)
        px: dict[str, int] = {}
        for i, n in zip(ids.tolist(), counts.tolist()):
            if i in labels:
                px[labels[i]] = px.get(labels[i], 0) + n
        present = {c for c, n in px.items() if n > 0}
        pos += [(fi, c) for c, n in sorted(px.items()) if n >= min_goal_px and c in classnames]
        absent = [c for c in classnames if c not in present]
        if absent:
            neg.append((fi, absent[int(rng.integers(len(absent)))]))
    if not pos:
        raise ShardError(f"no frame shows a goal with >= {min_goal_px} pixels; render bigger frames or more houses")
    pos = [pos[i] for i in sorted(rng.permutation(len(pos))[:max_queries])]
    neg = [neg[i] for i in sorted(rng.permutation(len(neg))[:max_queries])]
    out: dict[str, Any] = {"positives": len(pos), "negatives": len(neg), "min_goal_px": min_goal_px}
    for name in localizers:
        peak_loc = make_localizer(name, clip, threshold=0.0)
        default = make_localizer(name, clip)
        try:
            peak_loc(_observation(usable[0].image, None, {}), "chair")
        except ConfigError as exc:  # e.g. dense / grad need a ViT image tower
            out[name] = {"skipped": str(exc)}
            continue
        hits, chance, tp, peaks_pos = [], [], [], []
        for fi, goal in pos:
            f = usable[fi]
            labels = {int(k): v for k, v in f.meta["labels"].items()}
            obs = _observation(f.image, f.seg, labels)
            goal_mask = np.isin(f.seg, [i for i, c in labels.items() if c == goal])
            rel = peak_loc(obs, goal).relevance
            peak = rel >= rel.max() - 1e-7 if rel.max() > 0 else np.zeros_like(goal_mask)
            hits.append(bool((peak & goal_mask).any()))
            chance.append(_chance(name, clip, goal_mask))
            peaks_pos.append(float(rel.max()))
            tp.append(default(obs, goal).found)
        fp, peaks_neg = [], []
        for fi, goal in neg:
            f = usable[fi]
            labels = {int(k): v for k, v in f.meta["labels"].items()}
            obs = _observation(f.image, f.seg, labels)
            fp.append(default(obs, goal).found)
            peaks_neg.append(float(peak_loc(obs, goal).relevance.max()))
        row = {"pointing": round(float(np.mean(hits)), 4), "chance": round(float(np.mean(chance)), 4),
               "n": len(hits), "found_tpr": round(float(np.mean(tp)), 4),
               "found_fpr": round(float(np.mean(fp)), 4) if fp else None, "threshold": default.threshold}
        if name in ("patch", "ref") and peaks_neg:
            row["best_threshold"] = _best_threshold(np.array(peaks_pos), np.array(peaks_neg))
        out[name] = row
    return out


def _chance(name: str, clip: Any, goal_mask: np.ndarray) -> float:
    """Hit rate of a uniformly random region of the localizer's grid."""
    H, W = goal_mask.shape
    if name in ("patch", "ref"):
        gh = gw = 3
    else:
        gh, gw = clip.model.visual.grid_size
    ys = np.linspace(0, H, gh + 1).astype(int) if name in ("patch", "ref") else np.minimum(
        np.arange(gh + 1) * -(-H // gh), H)
    xs = np.linspace(0, W, gw + 1).astype(int) if name in ("patch", "ref") else np.minimum(
        np.arange(gw + 1) * -(-W // gw), W)
    hit = [goal_mask[ys[i]:ys[i + 1], xs[j]:xs[j + 1]].any() for i in range(gh) for j in range(gw)
           if ys[i + 1] > ys[i] and xs[j + 1] > xs[j]]
    return float(np.mean(hit)) if hit else 0.0


def _best_threshold(pos: np.ndarray, neg: np.ndarray) -> dict[str, float]:
    """The cut on the peak probability with the best balanced accuracy (TPR + TNR) / 2."""
    cands = np.unique(np.concatenate([pos, neg]))
    best = (-1.0, 0.5, 0.0, 0.0)
    for t in cands:
        tpr, tnr = float(np.mean(pos > t)), float(np.mean(neg <= t))
        if (tpr + tnr) / 2 > best[0]:
            best = ((tpr + tnr) / 2, float(t), tpr, 1 - tnr)
    return {"threshold": round(best[1], 4), "balanced_accuracy": round(best[0], 4), "tpr": round(best[2], 4),
            "fpr": round(best[3], 4)}


def text_drift(clip: Any, reference: Any, texts: Sequence[str] = GENERIC_CAPTIONS) -> dict[str, float]:
    """How far ``clip``'s text embeddings moved from ``reference``'s (same architecture): mean cosine
    of each text's two embeddings, and the agreement of their text-to-text nearest neighbours."""
    a, b = clip.encode_texts(list(texts)), reference.encode_texts(list(texts))
    if a.shape != b.shape:
        raise ConfigError(f"cannot compare embeddings of width {a.shape[1]} and {b.shape[1]} (different architectures)")
    cos = float(np.mean(np.sum(a * b, axis=1)))
    sa, sb = a @ a.T, b @ b.T
    np.fill_diagonal(sa, -np.inf)
    np.fill_diagonal(sb, -np.inf)
    agree = float(np.mean(sa.argmax(1) == sb.argmax(1)))
    return {"text_cosine": round(cos, 4), "drift": round(1.0 - cos, 4), "neighbour_agreement": round(agree, 4)}


def evaluate_samples(clip: Any, samples: Sequence[ClipSample], classnames: Sequence[str], *,
                     templates: str | Sequence[str] = "short", localizers: Sequence[str] = POINTING_LOCALIZERS,
                     max_queries: int = 300, seed: int = 0) -> dict[str, Any]:
    """Classification on the ``crop`` samples and pointing on the ``frame`` samples (when they carry
    masks) of an evaluation dataset."""
    crops = [s for s in samples if s.meta.get("kind") == "crop" and s.meta.get("category") in classnames]
    out: dict[str, Any] = {"classification": zero_shot_accuracy(clip, [s.image for s in crops],
                                                                 [s.meta["category"] for s in crops], classnames,
                                                                 templates)}
    frames = [s for s in samples if s.meta.get("kind") == "frame" and s.seg is not None]
    if frames and localizers:
        out["pointing"] = pointing_accuracy(clip, frames, localizers, classnames, max_queries=max_queries, seed=seed)
    return out


def plot_tradeoff(rows: Sequence[dict[str, Any]], path: str | Path, *, x_key: str = "drift",
                  y_key: str = "top1", title: str = "WiSE-FT sweep: sim accuracy vs drift from zero-shot") -> Path:
    """A PNG scatter-line plot of ``y_key`` against ``x_key`` over the rows, each point labelled with
    its ``alpha`` (drawn with PIL; no plotting library needed)."""
    from PIL import Image, ImageDraw

    pts = [(float(r[x_key]), float(r[y_key]), r.get("alpha")) for r in rows]
    if not pts:
        raise ConfigError("nothing to plot: the sweep has no rows")
    W, H, m = 640, 440, 60
    img = Image.new("RGB", (W, H), "white")
    d = ImageDraw.Draw(img)
    xs = [p[0] for p in pts]
    x0, x1 = min(0.0, min(xs)), max(xs) if max(xs) > min(0.0, min(xs)) else min(0.0, min(xs)) + 1.0
    y0, y1 = 0.0, 1.0

    def to_px(x: float, y: float) -> tuple[float, float]:
        return m + (x - x0) / (x1 - x0) * (W - 2 * m), H - m - (y - y0) / (y1 - y0) * (H - 2 * m)

    d.rectangle([m, m, W - m, H - m], outline="black")
    for k in range(6):  # ticks
        yv = y0 + k * (y1 - y0) / 5
        _, py = to_px(x0, yv)
        d.line([m - 4, py, m, py], fill="black")
        d.text((8, py - 6), f"{yv:.1f}", fill="black")
        xv = x0 + k * (x1 - x0) / 5
        px, _ = to_px(xv, y0)
        d.line([px, H - m, px, H - m + 4], fill="black")
        d.text((px - 14, H - m + 8), f"{xv:.3f}", fill="black")
    d.text((W / 2 - 110, H - 22), f"{x_key} (1 - text cosine to zero-shot)" if x_key == "drift" else x_key, fill="black")
    d.text((8, m - 24), f"{y_key} on held-out sim crops", fill="black")
    d.text((m, 12), title, fill="black")
    order = sorted(range(len(pts)), key=lambda i: (pts[i][2] if pts[i][2] is not None else math.inf))
    line = [to_px(pts[i][0], pts[i][1]) for i in order]
    if len(line) > 1:
        d.line(line, fill=(40, 90, 180), width=2)
    for i in order:
        px, py = to_px(pts[i][0], pts[i][1])
        d.ellipse([px - 4, py - 4, px + 4, py + 4], fill=(200, 50, 40))
        if pts[i][2] is not None:
            d.text((px + 6, py - 14), f"a={pts[i][2]:.2f}", fill="black")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)
    return path
