"""Contrastive CLIP training on image-caption shards: from scratch (a small model, minutes on a CPU)
or fine-tuning a pretrained checkpoint, plus WiSE-FT / PAINT blends of the result.

open_clip builds the model and computes the loss (``open_clip.loss.ClipLoss``); the loop is AdamW with
a linear warm-up and a cosine decay, on the CPU or a GPU. All data is decoded into memory once (small
sim datasets), batches are drawn and augmented (random scale, shift and mirror) with one seeded
generator, so on the CPU the same seed, data and thread count give the same weights, byte for byte.

>>> result = train_clip("outputs/clip-data/train", "outputs/clip/sim.safetensors",
...                     TrainConfig(steps=600), init=ClipConfig(model="embodied-sim", random_init=True))
>>> result.card["training"]["final_loss"]
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from embodied.clip.backbone import ClipBackbone, ClipConfig, resolve_device
from embodied.clip.checkpoints import (
    ARCH_KEY,
    PREPROCESS_KEY,
    PROVENANCE_KEY,
    QUICK_GELU_KEY,
    file_sha256,
    interpolate_state_dicts,
    save_state_dict,
)
from embodied.clip.model_card import SIM_TRAINED_NOTE, write_model_card
from embodied.clip.shards import ClipSample, ShardError, iter_samples, read_index
from embodied.errors import CheckpointError, ConfigError

__all__ = ["TrainConfig", "TrainResult", "train_clip", "BatchSampler", "blend_path", "check_alphas", "prepare_images",
           "model_provenance_meta"]


@dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """Optimisation settings.

    Attributes:
        steps: optimiser steps.
        batch_size: image-caption pairs per step (the contrastive batch).
        lr: peak learning rate (AdamW); fine-tuning a pretrained model wants about 1e-5.
        weight_decay: AdamW decay of weight matrices (not of gains, biases or the temperature).
        warmup_steps: linear warm-up before the cosine decay.
        grad_clip_norm: clip the global gradient norm (None = off).
        kinds: which sample kinds of the shards to train on (crop, cell, frame, segment).
        augment: random scale (0.8-1 of the side), shift and mirror.
        sampler: "balanced" (default): 85 % of every batch shows single objects, the same number per
            category (rare categories repeat more often), the rest frames and room views.
            "random": uniform batches without replacement.
        patch_init: "pca" initialises a from-scratch ViT's patch embedding with whitened principal
            components of training patches (much faster learning); "random" keeps open_clip's init.
        seed: batch order, augmentation and (from scratch) the initial weights.
        threads: torch CPU threads (None = torch's default).
        device: "auto" (cuda > mps > cpu) or a torch device string.
        log_every: steps between loss-curve points in the model card.
        label_aware: captions of the same object category count as positives of each other in the
            contrastive loss (UniCL, Yang et al. 2022), so large random batches hold no false negatives.
        class_weight: weight of a second loss that uses the text tower as the classifier: each image
            against the prompts "a photo of a {category}." of every category in the data (0 = off).
        crop_share: (balanced sampler) the share of a category's places in a batch given to its
            ``crop`` samples when it also has other kinds (depth segments, cells); None = by count.
    """

    steps: int = 1500
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 0.1
    warmup_steps: int = 50
    grad_clip_norm: float | None = 1.0
    kinds: tuple[str, ...] = ("crop", "cell", "frame", "segment")
    augment: bool = True
    sampler: str = "balanced"
    patch_init: str = "pca"
    seed: int = 0
    threads: int | None = None
    device: str = "auto"
    log_every: int = 10
    label_aware: bool = True
    class_weight: float = 1.0
    crop_share: float | None = None

    def __post_init__(self) -> None:
        checks = [
            (self.class_weight >= 0, "class_weight must be >= 0"),
            (self.crop_share is None or 0 <= self.crop_share <= 1, "crop_share must be in [0, 1] or None"),
            (self.crop_share is None or self.sampler == "balanced", "crop_share needs sampler='balanced'"),
            (self.steps >= 1 and self.batch_size >= 2, "steps must be >= 1 and batch_size >= 2 (contrastive pairs)"),
            (self.lr > 0 and self.weight_decay >= 0, "lr must be > 0 and weight_decay >= 0"),
            (0 <= self.warmup_steps, "warmup_steps must be >= 0"),
            (self.grad_clip_norm is None or self.grad_clip_norm > 0, "grad_clip_norm must be > 0 or None"),
            (bool(self.kinds) and set(self.kinds) <= {"crop", "cell", "frame", "segment"}, "kinds must be a non-empty subset "
             "of crop, cell, frame, segment"),
            (self.threads is None or self.threads >= 1, "threads must be >= 1"),
            (self.sampler in ("balanced", "random"), f"sampler must be 'balanced' or 'random', got '{self.sampler}'"),
            (self.patch_init in ("pca", "random"), f"patch_init must be 'pca' or 'random', got '{self.patch_init}'"),
            (self.log_every >= 1, "log_every must be >= 1"),
        ]
        for ok, msg in checks:
            if not ok:
                raise ConfigError(f"invalid TrainConfig: {msg}")


@dataclass
class TrainResult:
    """What :func:`train_clip` wrote: the checkpoint, its card (also as a dict), loss per step and blends."""

    checkpoint: Path
    card_path: Path
    card: dict[str, Any]
    losses: list[float]
    blends: list[Path] = field(default_factory=list)


def check_alphas(alphas: Sequence[float]) -> list[float]:
    """Validate WiSE-FT / PAINT blend weights (each in [0, 1]); sorted, without duplicates."""
    out = []
    for a in alphas:
        a = float(a)
        if not (0.0 <= a <= 1.0) or math.isnan(a):
            raise ConfigError(f"interpolation alpha must be in [0, 1] (0 = zero-shot, 1 = fine-tuned), got {a}")
        out.append(a)
    return sorted(set(out))


def blend_path(checkpoint: str | os.PathLike, alpha: float) -> Path:
    """Where the blend of ``checkpoint`` with weight ``alpha`` goes: ``name-wise0.50.safetensors``."""
    p = Path(checkpoint)
    stem, _, suffix = p.name.partition(".")
    return p.with_name(f"{stem}-wise{alpha:.2f}.{suffix or 'safetensors'}")


def prepare_images(samples: Sequence[ClipSample], size_px: int) -> torch.Tensor:
    """Resize each image like open_clip's eval transform (shortest side -> ``size_px`` with bicubic
    PIL, centre crop): (N, 3, size_px, size_px) uint8."""
    from PIL import Image

    out = torch.empty((len(samples), 3, size_px, size_px), dtype=torch.uint8)
    for i, s in enumerate(samples):
        im = Image.fromarray(s.image)
        w, h = im.size
        k = size_px / min(w, h)
        nw, nh = max(size_px, round(w * k)), max(size_px, round(h * k))
        if (nw, nh) != (w, h):
            im = im.resize((nw, nh), Image.BICUBIC)
        left, top = (nw - size_px) // 2, (nh - size_px) // 2
        arr = np.asarray(im)[top:top + size_px, left:left + size_px]
        out[i] = torch.from_numpy(arr.copy()).permute(2, 0, 1)
    return out


def _augment(x: torch.Tensor, out_px: int, gen: torch.Generator, augment: bool) -> torch.Tensor:
    """(B, 3, P, P) float in [0, 1] -> (B, 3, out_px, out_px): a random square window of 0.8-1 of
    the side, anywhere inside the image, mirrored half the time (one batched grid_sample)."""
    B = len(x)
    if not augment:
        return F.interpolate(x, size=(out_px, out_px), mode="bilinear", align_corners=False, antialias=True)
    scale = torch.empty(B).uniform_(0.8, 1.0, generator=gen)
    tx = (torch.rand(B, generator=gen) * 2 - 1) * (1 - scale)
    ty = (torch.rand(B, generator=gen) * 2 - 1) * (1 - scale)
    flip = torch.where(torch.rand(B, generator=gen) < 0.5, -1.0, 1.0)
    theta = torch.zeros(B, 2, 3)
    theta[:, 0, 0], theta[:, 0, 2] = scale * flip, tx
    theta[:, 1, 1], theta[:, 1, 2] = scale, ty
    grid = F.affine_grid(theta, [B, 3, out_px, out_px], align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


class BatchSampler:
    """Seeded batch indices over ``samples`` (``mode``: see TrainConfig.sampler; ``crop_share``: see
    TrainConfig.crop_share); ``next()`` gives the (batch,) int64 indices of the next batch."""

    def __init__(self, samples: Sequence[ClipSample], batch: int, mode: str, gen: torch.Generator,
                 crop_share: float | None = None) -> None:
        self.gen, self.batch, self.mode, self.n, self.crop_share = gen, batch, mode, len(samples), crop_share
        groups: dict[tuple[str, bool], list[int]] = {}
        other: list[int] = []
        for i, s in enumerate(samples):
            cat = s.meta.get("category")
            crop = crop_share is not None and s.meta.get("kind") == "crop"
            (groups.setdefault((cat, crop), []) if cat else other).append(i)
        self.names = sorted({c for c, _ in groups})
        keys = sorted(groups)
        self.groups = [torch.tensor(groups[k]) for k in keys] + ([torch.tensor(other)] if other else [])
        # per category: (its crop group or None, its other group or None)
        self.parts = [tuple(keys.index((c, crop)) if (c, crop) in groups else None for crop in (True, False))
                      for c in self.names]
        self.queues = [self._perm(g) for g in self.groups]
        self.pos = [0] * len(self.groups)
        self.order, self.at = self._perm(torch.arange(self.n)), 0
        self.n_other = min(len(other), round(batch * _OTHER_SHARE)) if other else 0

    def _perm(self, idx: torch.Tensor) -> torch.Tensor:
        return idx[torch.randperm(len(idx), generator=self.gen)]

    def _take(self, g: int, k: int) -> list[int]:
        out: list[int] = []
        while len(out) < k:
            if self.pos[g] >= len(self.queues[g]):
                self.queues[g], self.pos[g] = self._perm(self.groups[g]), 0
            take = min(k - len(out), len(self.queues[g]) - self.pos[g])
            out += self.queues[g][self.pos[g]:self.pos[g] + take].tolist()
            self.pos[g] += take
        return out

    def next(self) -> torch.Tensor:
        if self.mode == "random" or not self.names:
            if self.at + self.batch > self.n:
                self.order, self.at = self._perm(torch.arange(self.n)), 0
            self.at += self.batch
            return self.order[self.at - self.batch:self.at]
        n_cat, n_obj = len(self.names), self.batch - self.n_other
        per, extra = divmod(n_obj, n_cat)
        lucky = set(torch.randperm(n_cat, generator=self.gen)[:extra].tolist())
        idx = []
        for c, (crops, rest) in enumerate(self.parts):
            k = per + (c in lucky)
            if crops is None or rest is None:
                idx += self._take(rest if crops is None else crops, k)
            else:
                n_crop = int((torch.rand(k, generator=self.gen) < self.crop_share).sum())
                idx += self._take(crops, n_crop) + self._take(rest, k - n_crop)
        if self.n_other:
            idx += self._take(len(self.groups) - 1, self.n_other)
        return torch.tensor(idx)


def _pca_patch_init(model: torch.nn.Module, images: torch.Tensor, size_px: int, mean: torch.Tensor,
                    std: torch.Tensor, gen: torch.Generator, max_patches: int = 20000) -> bool:
    """Initialise a ViT's patch embedding with the whitened principal components of training patches
    (data-dependent init; from-scratch ViTs learn much faster from it). False when not a ViT."""
    conv = getattr(getattr(model, "visual", None), "conv1", None)
    if not isinstance(conv, torch.nn.Conv2d) or conv.stride != conv.kernel_size:
        return False
    k, width = conv.kernel_size[0], conv.out_channels
    pick = torch.randperm(len(images), generator=gen)[:max(1, max_patches * k * k // (size_px * size_px) + 1)]
    x = F.interpolate(images[pick].float() / 255.0, size=(size_px, size_px), mode="bilinear", antialias=True,
                      align_corners=False)
    x = (x - mean.cpu()) / std.cpu()
    p = F.unfold(x, k, stride=k).transpose(1, 2).reshape(-1, 3 * k * k)[:max_patches].double()
    p = p - p.mean(0)
    _, S, V = torch.linalg.svd(p, full_matrices=False)
    n = min(width, V.shape[0])
    w = torch.zeros(width, 3 * k * k, dtype=torch.float64)
    w[:n] = V[:n] / (S[:n, None] / math.sqrt(len(p)) + 1e-2) * 0.5
    with torch.no_grad():
        conv.weight.copy_(w.reshape(conv.weight.shape).float())
    return True


_OTHER_SHARE = 0.15  # share of a balanced batch given to frames and room views


CLASS_TEMPLATES = ("a photo of a {}.", "a {}.", "a photo of the {}.", "a rendering of a {}.", "itap of a {}.",
                   "a low resolution photo of a {}.", "a good photo of a {}.", "a close-up photo of a {}.")
"""Prompts of the class loss (a subset of CLIP's ImageNet templates; one drawn per step)."""


def _label_aware_loss(img: torch.Tensor, txt: torch.Tensor, scale: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Symmetric contrastive loss whose targets spread over all pairs of the same category (-1 = a
    sample of its own, positive only with its own caption)."""
    n = len(labels)
    same = (labels[:, None] == labels[None, :]) & (labels[:, None] >= 0)
    target = (same | torch.eye(n, dtype=torch.bool, device=labels.device)).float()
    target = target / target.sum(1, keepdim=True)
    logits = scale * img @ txt.T
    return 0.5 * (torch.sum(-target * logits.log_softmax(1), 1).mean()
                  + torch.sum(-target * logits.T.log_softmax(1), 1).mean())


def _lr_at(step: int, cfg: TrainConfig) -> float:
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    t = (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps)
    return 0.5 * cfg.lr * (1 + math.cos(math.pi * min(1.0, t)))


def _param_groups(model: torch.nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """open_clip's rule: no decay for gains, biases, norms and the temperature."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        exclude = p.ndim < 2 or "bn" in name or "ln" in name or "bias" in name or "logit_scale" in name
        (no_decay if exclude else decay).append(p)
    return [{"params": no_decay, "weight_decay": 0.0}, {"params": decay, "weight_decay": weight_decay}]


def model_provenance_meta(kind: str, note: str | None, **extra: Any) -> str:
    """The JSON kept in a trained checkpoint's ``embodied.provenance`` header field."""
    return json.dumps({"source": kind, **({"note": note} if note else {}), **extra}, sort_keys=True)


def _checkpoint_meta(backbone: ClipBackbone, provenance: str) -> dict[str, str]:
    return {ARCH_KEY: backbone.config.model, PREPROCESS_KEY: json.dumps(backbone.preprocess_cfg, sort_keys=True),
            QUICK_GELU_KEY: json.dumps(bool(backbone.quick_gelu)), PROVENANCE_KEY: provenance}


def _load_training_data(data_dir: Path, cfg: TrainConfig, size_px: int, tokenizer, progress: bool):
    from tqdm.auto import tqdm

    index = read_index(data_dir)
    samples = list(tqdm(iter_samples(data_dir, kinds=cfg.kinds, with_seg=False), total=index["total"],
                        desc="load shards", unit="sample", disable=not progress, leave=False))
    if len(samples) < 2:
        raise ShardError(f"{data_dir} holds {len(samples)} samples of kinds {', '.join(cfg.kinds)}; contrastive "
                         "training needs at least 2 (write a bigger dataset)")
    pad = size_px + size_px // 8  # room for the random window
    images = prepare_images(samples, pad)
    tokens = tokenizer([s.caption for s in samples])
    return index, samples, images, tokens


def train_clip(
    data_dir: str | os.PathLike,
    out_path: str | os.PathLike,
    config: TrainConfig = TrainConfig(),
    init: ClipConfig | None = None,
    *,
    evaluate: Callable[[ClipBackbone], dict[str, Any]] | None = None,
    interpolate: Sequence[float] = (),
    note: str | None = None,
    progress: bool = True,
    extra_card: dict[str, Any] | None = None,
) -> TrainResult:
    """Train CLIP contrastively on the shards in ``data_dir`` and write ``out_path`` (+ model card).

    Args:
        data_dir: a dataset folder (see :mod:`embodied.clip.shards`).
        out_path: checkpoint file to write (.safetensors recommended).
        config: optimisation settings.
        init: where the weights start: ``ClipConfig(model=..., random_init=True)`` (from scratch; the
            default, with ``embodied-sim``), a pretrained tag or a checkpoint (fine-tuning).
        evaluate: called with the trained backbone; its dict goes into the card's "evaluation".
        interpolate: WiSE-FT / PAINT weights alpha in [0, 1]; for each, ``(1 - alpha) * initial +
            alpha * trained`` is written next to the checkpoint (:func:`blend_path`), with a card.
        note: label for the card and checkpoint header (default: "sim-trained (not zero-shot)" when
            training from scratch, none when fine-tuning).
        progress: show progress bars (loss in the postfix).
        extra_card: more card sections (e.g. how the data was made).
    Returns:
        TrainResult (paths, card, per-step losses).
    Raises:
        ConfigError: bad settings or alpha outside [0, 1]; ShardError: missing or empty data;
        CheckpointError: an ``init`` checkpoint that does not match its architecture.
    """
    from open_clip.loss import ClipLoss
    from tqdm.auto import tqdm

    alphas = check_alphas(interpolate)
    out_path = Path(out_path)
    if out_path.suffix.lower() not in (".safetensors", ".pt", ".pth", ".bin"):
        raise ConfigError(f"checkpoint path {out_path} must end in .safetensors (or .pt)")
    init = init or ClipConfig(model="embodied-sim", random_init=True, seed=config.seed, device=config.device)
    if init.random_init and init.seed != config.seed:
        init = ClipConfig(**{**asdict(init), "seed": config.seed})
    from_scratch = init.random_init
    if note is None and from_scratch:
        note = SIM_TRAINED_NOTE
    device = resolve_device(config.device)
    if config.threads:
        torch.set_num_threads(config.threads)
    threads = torch.get_num_threads()
    t_start, cpu_start = time.perf_counter(), time.process_time()

    backbone = ClipBackbone(ClipConfig(**{**asdict(init), "device": "cpu"}))
    model = backbone.model
    size = backbone.preprocess_cfg["size"]
    size_px = int(size if isinstance(size, int) else size[0])
    data_dir = Path(data_dir)
    index, samples, images, tokens = _load_training_data(data_dir, config, size_px, backbone.tokenizer, progress)
    classnames = list(index.get("categories") or sorted({s.meta["category"] for s in samples if s.meta.get("category")}))
    labels = torch.tensor([classnames.index(s.meta["category"]) if s.meta.get("category") in classnames else -1
                           for s in samples])
    class_tokens = torch.stack([backbone.tokenizer([t.format(c) for c in classnames]) for t in CLASS_TEMPLATES]) \
        if classnames else None
    initial = {k: v.detach().clone() for k, v in model.state_dict().items()} if alphas else None

    gen = torch.Generator().manual_seed(config.seed)
    model.to(device).train()
    mean = torch.tensor(backbone.preprocess_cfg["mean"], device=device).view(1, 3, 1, 1)
    std = torch.tensor(backbone.preprocess_cfg["std"], device=device).view(1, 3, 1, 1)
    if from_scratch and config.patch_init == "pca":
        _pca_patch_init(model, images, size_px, mean, std, gen)
    opt = torch.optim.AdamW(_param_groups(model, config.weight_decay), lr=config.lr, betas=(0.9, 0.98), eps=1e-6)
    loss_fn = ClipLoss()
    batches = BatchSampler(samples, min(config.batch_size, len(samples)), config.sampler, gen, config.crop_share)
    losses: list[float] = []
    max_logit_scale = math.log(100.0)
    bar = tqdm(range(config.steps), desc="train CLIP", unit="step", disable=not progress)
    ema = None
    for step in bar:
        idx = batches.next()
        for g in opt.param_groups:
            g["lr"] = _lr_at(step, config)
        x = _augment(images[idx].float().div_(255.0), size_px, gen, config.augment).to(device)
        x = (x - mean) / std
        t = tokens[idx].to(device)
        img = model.encode_image(x, normalize=True)
        txt = model.encode_text(t, normalize=True)
        scale = model.logit_scale.exp()
        if config.label_aware:
            loss = _label_aware_loss(img, txt, scale, labels[idx].to(device))
        else:
            loss = loss_fn(img, txt, scale)
        if config.class_weight > 0 and class_tokens is not None:
            prompts = class_tokens[int(torch.randint(len(class_tokens), (1,), generator=gen))].to(device)
            cls = model.encode_text(prompts, normalize=True)
            has = labels[idx] >= 0
            if bool(has.any()):
                logits = scale * img[has.to(device)] @ cls.T
                loss = loss + config.class_weight * torch.nn.functional.cross_entropy(logits, labels[idx][has].to(device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if config.grad_clip_norm:
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip_norm)
        opt.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, max_logit_scale)
        value = float(loss.detach())
        if not math.isfinite(value):
            raise ConfigError(f"training diverged at step {step} (loss {value}); lower --lr")
        losses.append(value)
        ema = value if ema is None else 0.9 * ema + 0.1 * value
        bar.set_postfix(loss=f"{ema:.3f}", lr=f"{_lr_at(step, config):.1e}")
    bar.close()
    model.eval().to("cpu")
    train_s = time.perf_counter() - t_start
    cpu_s = time.process_time() - cpu_start

    kind = "sim-trained" if from_scratch else "fine-tuned"
    prov = model_provenance_meta(kind, note, data=index["fingerprint"])  # no file names: same run, same bytes
    save_state_dict(out_path, model.state_dict(), _checkpoint_meta(backbone, prov))
    sha = file_sha256(out_path)
    import open_clip

    card: dict[str, Any] = {
        "kind": kind,
        "note": note,
        "architecture": init.model,
        "model_config": open_clip.get_model_config(init.model),
        "init": backbone.provenance.to_dict(),
        "checkpoint": {"file": out_path.name, "sha256": sha},
        "data": {"dir": str(data_dir.resolve()), "fingerprint": index["fingerprint"], "total": index["total"],
                 "trained_on": {k: sum(1 for s in samples if s.meta.get("kind") == k) for k in config.kinds},
                 "split": index.get("split"), "scenes": index.get("scenes", []),
                 "source": index.get("source"), "generator": index.get("generator")},
        "training": {**asdict(config), "kinds": list(config.kinds), "threads": threads, "device": str(device),
                     "seconds": round(train_s, 2), "cpu_seconds": round(cpu_s, 2),
                     "initial_loss": round(float(np.mean(losses[:5])), 4),
                     "final_loss": round(float(np.mean(losses[-max(1, min(20, len(losses) // 5)):])), 4),
                     "loss_curve": [[i, round(float(np.mean(losses[i:i + config.log_every])), 4)]
                                    for i in range(0, len(losses), config.log_every)]},
        **(extra_card or {}),
    }
    if evaluate is not None:
        trained = ClipBackbone(ClipConfig(model=init.model, checkpoint=str(out_path), device=config.device))
        card["evaluation"] = evaluate(trained)
    cpath = write_model_card(out_path, card)
    result = TrainResult(out_path, cpath, card, losses)
    for a in alphas:
        result.blends.append(_write_blend(initial, model.state_dict(), a, out_path, backbone, card, evaluate))
    return result


def _write_blend(initial: dict[str, torch.Tensor], trained: dict[str, torch.Tensor], alpha: float, out_path: Path,
                 backbone: ClipBackbone, card: dict[str, Any], evaluate) -> Path:
    """Write the WiSE-FT blend ``(1 - alpha) * initial + alpha * trained`` and its card."""
    path = blend_path(out_path, alpha)
    try:
        mix = interpolate_state_dicts(initial, trained, alpha)
    except CheckpointError as exc:  # cannot happen for one model, but keep the message if it does
        raise CheckpointError(f"cannot blend {out_path}: {exc}") from exc
    note = card.get("note")
    prov = model_provenance_meta("interpolation", note, alpha=alpha, finetuned=card["checkpoint"]["sha256"],
                                 zeroshot=backbone.provenance.model_id)
    save_state_dict(path, mix, _checkpoint_meta(backbone, prov))
    bcard = {k: v for k, v in card.items() if k not in ("checkpoint", "evaluation")}
    bcard.update(kind="interpolation", checkpoint={"file": path.name, "sha256": file_sha256(path)},
                 interpolation={"alpha": alpha, "zeroshot": backbone.provenance.to_dict(),
                                "finetuned": card["checkpoint"]})
    if evaluate is not None:
        bcard["evaluation"] = evaluate(ClipBackbone(ClipConfig(model=backbone.config.model, checkpoint=str(path),
                                                               device="cpu")))
    write_model_card(path, bcard)
    return path
