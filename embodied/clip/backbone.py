"""The shared CLIP backbone: one loaded open_clip model per process, batched encoders, cached texts.

>>> clip = get_backbone(ClipConfig(model="ViT-B-32"))          # pretrained (default tag)
>>> img = clip.encode_images(frames)                            # (N, D) float32, unit norm
>>> txt = clip.encode_texts(["a chair", "a bed"])               # (2, D), cached per text
>>> clf = clip.text_classifier(["chair", "bed"], "imagenet")    # (2, D) prompt ensemble
>>> clip.provenance.label                                       # which weights made these numbers

Weights come from exactly one source: an open_clip pretrained tag (cache or download; fails fast
offline), a local state-dict file, or an explicit ``random_init=True``.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections import OrderedDict
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from embodied.clip.checkpoints import ARCH_KEY, PREPROCESS_KEY, PROVENANCE_KEY, QUICK_GELU_KEY, save_state_dict
from embodied.clip.config import ClipConfig, Provenance
from embodied.clip.loading import build_model, build_tokenizer
from embodied.clip.prompts import TEMPLATE_SETS, format_prompts
from embodied.errors import ConfigError

__all__ = ["ClipConfig", "Provenance", "ClipBackbone", "get_backbone", "resolve_device"]

log = logging.getLogger(__name__)

def resolve_device(device: str) -> torch.device:
    """"auto" -> cuda if available, else mps, else cpu; anything else is parsed by torch."""
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except RuntimeError as exc:
        raise ConfigError(f"invalid device '{device}': {exc}") from exc
    if dev.type == "cuda":
        n = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if n == 0 or (dev.index or 0) >= n:
            raise ConfigError(f"device '{device}' requested but this machine has {n} CUDA device(s); "
                              "use --device auto or cpu")
    elif dev.type == "mps":
        if not (getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()):
            raise ConfigError(f"device '{device}' requested but MPS is not available; use --device auto or cpu")
    elif dev.type != "cpu":
        raise ConfigError(f"unsupported device '{device}'; use auto, cpu, cuda[:N] or mps")
    return dev


class ClipBackbone:
    """A loaded open_clip model with batched, cached encoders. Build it once per process with
    :func:`get_backbone`; every module shares that instance.

    Counters ``image_forwards`` and ``text_forwards`` count model forward passes.
    """

    def __init__(self, config: ClipConfig | None = None) -> None:
        import open_clip

        self.config = config or ClipConfig()
        self.device = resolve_device(self.config.device)
        self.autocast_dtype = self._pick_autocast_dtype()
        self.tokenizer = build_tokenizer(self.config)
        self.model, self.provenance, self.quick_gelu = build_model(self.config)
        self.model.eval().to(self.device)
        self.preprocess_cfg: dict[str, Any] = dict(open_clip.get_model_preprocess_cfg(self.model))
        self.embed_dim: int = int(open_clip.get_model_config(self.config.model)["embed_dim"])
        self._pil_transform = None
        self.resize_on_device = self.device.type != "cpu"
        self._text_cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self.image_forwards = 0
        self.text_forwards = 0
        log.info("CLIP backbone: %s on %s", self.provenance.label, self.device)

    @classmethod
    def from_config(cls, config: ClipConfig) -> ClipBackbone:
        return cls(config)

    # ------------------------------------------------------------------ properties
    @property
    def logit_scale(self) -> float:
        """CLIP's learned temperature exp(t), used to turn cosines into softmax logits."""
        return float(self.model.logit_scale.detach().exp().cpu())

    # ------------------------------------------------------------------ preprocessing
    def preprocess(self, images: np.ndarray) -> torch.Tensor:
        """Same-size uint8 images (N, H, W, 3) -> normalised model input (N, 3, S, S) on the device.

        Matches open_clip's eval transform (resize, centre crop, mean/std). On the CPU frames are
        resized by PIL in a thread pool (what open_clip does, so results are identical); on a GPU
        they are uploaded as uint8 and resized there in one batched call. Uncommon modes fall back
        to open_clip's own transform.
        """
        arr = _check_images(images)
        cfg = self.preprocess_cfg
        size = cfg["size"]
        S = size if isinstance(size, int) else (size[0] if size[0] == size[1] else None)
        mode = cfg.get("resize_mode", "shortest")
        if S is None or mode not in ("shortest", "squash"):
            return self._preprocess_pil(arr)
        bicubic = cfg.get("interpolation", "bicubic") != "bilinear"
        H, W = arr.shape[1:3]
        if mode == "squash":
            new_hw = (S, S)
        elif H <= W:  # torchvision Resize(int) rule: short side -> S, long side truncated
            new_hw = (S, int(S * W / H))
        else:
            new_hw = (int(S * H / W), S)
        top, left = int(round((new_hw[0] - S) / 2.0)), int(round((new_hw[1] - S) / 2.0))
        if self.resize_on_device:
            from torchvision.transforms import InterpolationMode
            from torchvision.transforms import functional as TF

            x = torch.from_numpy(np.ascontiguousarray(arr)).to(self.device).permute(0, 3, 1, 2).float()
            if new_hw != (H, W):
                interp = InterpolationMode.BICUBIC if bicubic else InterpolationMode.BILINEAR
                # round and clamp like PIL, which resizes in uint8
                x = TF.resize(x, list(new_hw), interpolation=interp, antialias=True).clamp_(0, 255).round_()
            x = x[:, :, top:top + S, left:left + S]
        else:
            x = torch.from_numpy(_pil_resize_crop(arr, new_hw, (top, left), S, bicubic)).permute(0, 3, 1, 2)
            x = x.to(self.device).float()
        mean = torch.tensor(cfg["mean"], device=self.device).view(1, 3, 1, 1)
        std = torch.tensor(cfg["std"], device=self.device).view(1, 3, 1, 1)
        return (x / 255.0 - mean) / std

    def _preprocess_pil(self, arr: np.ndarray) -> torch.Tensor:
        from open_clip.transform import PreprocessCfg, image_transform_v2
        from PIL import Image

        if self._pil_transform is None:
            self._pil_transform = image_transform_v2(
                PreprocessCfg(**self.preprocess_cfg), is_train=False
            )
        return torch.stack([self._pil_transform(Image.fromarray(a)) for a in arr]).to(self.device)

    # ------------------------------------------------------------------ encoders
    def encode_images(self, images: np.ndarray | Sequence[np.ndarray], *, progress: bool | None = None) -> np.ndarray:
        """Embed images.

        Args:
            images: (N, H, W, 3) uint8 array, or a sequence of (H_i, W_i, 3) uint8 arrays of any sizes.
            progress: show a progress bar (default: when more than 8 batches).
        Returns:
            (N, D) float32, unit L2 norm.
        """
        return self._encode_batched(images, _image_forward, progress, desc="encode images")

    def patch_features(self, images: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
        """Dense per-patch embeddings of a ViT: final tokens through ln_post and the projection.

        Returns:
            (N, gh, gw, D) float32, unit L2 norm per patch, in the joint image-text space.
        Raises:
            ConfigError: the architecture is not a plain open_clip VisionTransformer.
        """
        from open_clip.transformer import VisionTransformer

        visual = self.model.visual
        if not isinstance(visual, VisionTransformer) or visual.attn_pool is not None:
            raise ConfigError(
                f"patch features need a ViT CLIP model without attention pooling; {self.config.model} "
                f"has a {type(visual).__name__} image tower"
            )
        gh, gw = visual.grid_size
        flat = self._encode_batched(images, _patch_forward, None, desc="patch features")
        return flat.reshape(len(flat), gh, gw, self.embed_dim)

    def encode_texts(self, texts: str | Sequence[str]) -> np.ndarray:
        """Embed texts, reusing cached embeddings (LRU keyed by weights id and text).

        Returns:
            (N, D) float32, unit L2 norm.
        """
        texts = [texts] if isinstance(texts, str) else list(texts)
        prefix = self.provenance.model_id + "\x00"
        found: dict[str, np.ndarray] = {}
        for t in texts:
            hit = self._text_cache.get(prefix + t)
            if hit is not None:
                self._text_cache.move_to_end(prefix + t)
                found[t] = hit
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        step = self.config.batch_size * 4
        for i in range(0, len(missing), step):
            chunk = missing[i:i + step]
            tokens = self.tokenizer(chunk).to(self.device)
            with torch.inference_mode(), self.autocast():
                emb = self.model.encode_text(tokens)
            self.text_forwards += 1
            emb = F.normalize(emb.float(), dim=-1).cpu().numpy()
            for t, e in zip(chunk, emb):
                e = e.copy()  # a view would keep the whole batch alive in the cache
                found[t] = e
                if self.config.text_cache_size:
                    self._text_cache[prefix + t] = e
                    if len(self._text_cache) > self.config.text_cache_size:
                        self._text_cache.popitem(last=False)
        if not texts:
            return np.zeros((0, self.embed_dim), np.float32)
        return np.stack([found[t] for t in texts]).astype(np.float32, copy=False)

    def text_classifier(
        self, classnames: Sequence[str], templates: str | Sequence[str] = "imagenet"
    ) -> np.ndarray:
        """Prompt-ensemble class embeddings: per class, the mean of its templated prompts, renormalised.

        Args:
            classnames: C class names.
            templates: a name in ``TEMPLATE_SETS`` ("imagenet" = the 80 CLIP templates, "short",
                "none") or a sequence of templates with one ``{}`` each.
        Returns:
            (C, D) float32, unit L2 norm.
        """
        if isinstance(templates, str):
            if templates not in TEMPLATE_SETS:
                raise ConfigError(f"unknown template set '{templates}'; choose from {sorted(TEMPLATE_SETS)}")
            templates = TEMPLATE_SETS[templates]
        templates = list(templates)
        if not templates:
            raise ConfigError("text_classifier needs at least one template")
        if not classnames:
            return np.zeros((0, self.embed_dim), np.float32)
        prompts = [p for c in classnames for p in format_prompts(c, templates)]
        emb = self.encode_texts(prompts).reshape(len(classnames), len(templates), -1).mean(axis=1)
        return (emb / np.linalg.norm(emb, axis=-1, keepdims=True)).astype(np.float32)

    def similarity(self, image_emb: np.ndarray, text_emb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Cosine similarities (N, M) and softmax over texts of logit_scale * cosine (N, M)."""
        cos = image_emb @ text_emb.T
        if cos.size == 0:
            return cos, cos.copy()
        logits = self.logit_scale * cos
        probs = np.exp(logits - logits.max(axis=1, keepdims=True))
        return cos, probs / probs.sum(axis=1, keepdims=True)

    # ------------------------------------------------------------------ saving
    def save(self, path: str | Path) -> Path:
        """Write the weights (safetensors keeps architecture and preprocessing in its header)."""
        meta = {ARCH_KEY: self.config.model, PREPROCESS_KEY: json.dumps(self.preprocess_cfg),
                QUICK_GELU_KEY: json.dumps(self.quick_gelu), PROVENANCE_KEY: json.dumps(self.provenance.to_dict())}
        return save_state_dict(path, self.model.state_dict(), meta)

    # ------------------------------------------------------------------ internals
    def _pick_autocast_dtype(self) -> torch.dtype | None:
        p, dev = self.config.precision, self.device.type
        if p == "fp32" or (p == "auto" and dev != "cuda"):
            return None
        if p == "auto":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        if p == "fp16" and dev == "cpu":
            raise ConfigError("precision fp16 needs a GPU; use fp32 or bf16 on the CPU")
        return torch.float16 if p == "fp16" else torch.bfloat16

    def autocast(self) -> contextlib.AbstractContextManager:
        """The mixed-precision context of this backbone's forward passes (``autocast_dtype``: bf16/fp16
        with ``precision="auto"`` on CUDA, None = fp32), for code that calls ``self.model`` directly."""
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.autocast_dtype)

    def _encode_batched(self, images, forward, progress: bool | None, desc: str) -> np.ndarray:
        """Preprocess per image size, forward full batches across sizes, write rows in input order."""
        groups = _group_by_shape(images)
        n = sum(len(idx) for idx, _ in groups)
        bs = self.config.batch_size
        width = forward.out_dim(self)
        out = np.zeros((n, width), np.float32)
        pending: list[tuple[np.ndarray, torch.Tensor]] = []
        from tqdm.auto import tqdm

        show = -(-n // bs) > 8 if progress is None else progress
        with tqdm(total=n, desc=desc, unit="img", disable=not show) as bar:

            def flush() -> None:
                idx = np.concatenate([i for i, _ in pending])
                x = torch.cat([t for _, t in pending])
                pending.clear()
                with torch.inference_mode(), self.autocast():
                    feats = forward(self, x)
                feats = F.normalize(feats.float().reshape(len(x), -1, self.embed_dim), dim=-1)
                out[idx] = feats.reshape(len(x), -1).cpu().numpy()
                bar.update(len(x))

            for idx, arr in groups:
                s = 0
                while s < len(idx):
                    take = min(bs - sum(len(i) for i, _ in pending), len(idx) - s)
                    pending.append((idx[s:s + take], self.preprocess(arr[s:s + take])))
                    s += take
                    if sum(len(i) for i, _ in pending) == bs:
                        flush()
            if pending:
                flush()
        return out


def _image_forward(clip: ClipBackbone, x: torch.Tensor) -> torch.Tensor:
    """(N, 3, S, S) -> (N, D) pooled image embeddings (not normalised)."""
    clip.image_forwards += 1
    return clip.model.encode_image(x)


_image_forward.out_dim = lambda clip: clip.embed_dim


def _patch_forward(clip: ClipBackbone, x: torch.Tensor) -> torch.Tensor:
    """(N, 3, S, S) -> (N, gh * gw * D): final ViT tokens through ln_post and the projection."""
    visual = clip.model.visual
    clip.image_forwards += 1
    tokens = visual.ln_post(visual.transformer(visual._embeds(x))[:, 1:])
    if visual.proj is not None:
        tokens = tokens @ visual.proj
    return tokens.reshape(len(tokens), -1)


_patch_forward.out_dim = lambda clip: clip.model.visual.grid_size[0] * clip.model.visual.grid_size[1] * clip.embed_dim


def _pil_resize_crop(arr: np.ndarray, new_hw: tuple[int, int], top_left: tuple[int, int], S: int,
                     bicubic: bool) -> np.ndarray:
    """Resize each (H, W, 3) uint8 image to ``new_hw`` with PIL and crop S x S: (N, S, S, 3) uint8.

    PIL releases the GIL while resampling, so a small thread pool scales across cores.
    """
    from PIL import Image

    resample = Image.BICUBIC if bicubic else Image.BILINEAR
    (h, w), (top, left) = new_hw, top_left
    out = np.empty((len(arr), S, S, 3), np.uint8)

    def one(i: int) -> None:
        im = Image.fromarray(arr[i])
        if im.size != (w, h):
            im = im.resize((w, h), resample)
        out[i] = np.asarray(im)[top:top + S, left:left + S]

    if len(arr) == 1:
        one(0)
    else:
        list(_resize_pool().map(one, range(len(arr))))
    return out


@lru_cache(maxsize=1)
def _resize_pool():
    """One process-wide thread pool for PIL resizing (created on first use)."""
    from concurrent.futures import ThreadPoolExecutor

    return ThreadPoolExecutor(max_workers=max(1, min(torch.get_num_threads(), 8)), thread_name_prefix="clip-resize")


def _check_images(images: Any) -> np.ndarray:
    arr = np.asarray(images)
    if arr.dtype != np.uint8 or arr.ndim != 4 or arr.shape[-1] != 3:
        raise ValueError(f"images must be uint8 (N, H, W, 3), got {arr.dtype} {arr.shape}")
    return arr


def _group_by_shape(images: np.ndarray | Sequence[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
    """[(indices, (n, H, W, 3) uint8 stack)] for each distinct image size, in first-seen order."""
    if isinstance(images, np.ndarray) and images.ndim == 4:
        return [(np.arange(len(images)), _check_images(images))]
    if isinstance(images, np.ndarray) and images.ndim == 3 and images.shape[-1] == 3:
        raise ValueError("got a single (H, W, 3) image; pass a batch (1, H, W, 3) or a list of images")
    if isinstance(images, np.ndarray) and images.ndim != 4:
        raise ValueError(f"images must be uint8 (N, H, W, 3) RGB, got shape {images.shape}")
    by_shape: dict[tuple[int, ...], list[int]] = {}
    items = list(images)
    for i, im in enumerate(items):
        a = np.asarray(im)
        if a.dtype != np.uint8 or a.ndim != 3 or a.shape[-1] != 3:
            raise ValueError(f"image {i} must be uint8 (H, W, 3), got {a.dtype} {a.shape}")
        by_shape.setdefault(a.shape, []).append(i)
    return [(np.array(idx), np.stack([items[i] for i in idx])) for idx in by_shape.values()]


_BACKBONES: dict[ClipConfig, ClipBackbone] = {}


def get_backbone(config: ClipConfig | None = None) -> ClipBackbone:
    """The process-wide backbone for ``config`` (built on first call, then shared)."""
    config = config or ClipConfig()
    if config not in _BACKBONES:
        _BACKBONES[config] = ClipBackbone(config)
    return _BACKBONES[config]
