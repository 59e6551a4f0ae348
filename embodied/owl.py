"""OWL-ViT / OWLv2 open-vocabulary box detection through Hugging Face ``transformers`` (optional, extra ``hf``).

>>> det = get_detector("google/owlvit-base-patch32")       # a hub id (cache, else download) or a local folder
>>> boxes, scores = det.detect(rgb, "a photo of a chair.")  # (N, 4) x0 y0 x1 y1 frame pixels, (N,) in (0, 1)

The localizer CoW builds on it is :class:`embodied.localization.OwlVitLocalizer`. Both model families
load from any checkpoint id or ``save_pretrained`` folder; the family is read from its ``config.json``
(``model_type`` "owlvit" or "owlv2"). Weights are never fetched silently from an unreachable hub:
offline and not cached, construction fails within seconds with a
:class:`~embodied.errors.WeightsUnavailableError` that names the checkpoint and the fixes (like the
CLIP weights, embodied.clip.registry.resolve_pretrained). Nothing here imports ``transformers`` or
``torch`` at module import.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from embodied import net
from embodied.errors import CheckpointError, ConfigError, WeightsUnavailableError
from embodied.optional import require

__all__ = ["OWL_DEFAULT_CHECKPOINT", "OwlVitDetector", "get_detector"]

OWL_DEFAULT_CHECKPOINT = "google/owlvit-base-patch32"
"""The OWL-ViT CoW pairs with CLIP ViT-B/32 (real-stanford/cow, src/models/localization/clip_owl.py)."""

_FAMILIES = {"owlvit": ("OwlViTForObjectDetection", "OwlViTProcessor"),
             "owlv2": ("Owlv2ForObjectDetection", "Owlv2Processor")}


def _hub_endpoint() -> str:
    return os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")


def _looks_like_path(checkpoint: str) -> bool:
    """A filesystem path rather than a hub id ("org/name" or "name")."""
    return checkpoint.startswith((".", "/", "~")) or os.path.isabs(checkpoint) or checkpoint.count("/") > 1 \
        or os.sep != "/" and os.sep in checkpoint


class OwlVitDetector:
    """A loaded OWL-ViT (or OWLv2) detector; build it once per process with :func:`get_detector`.

    Args:
        checkpoint: a Hugging Face hub id ("google/owlvit-base-patch32", "google/owlv2-base-patch16", ...)
            or a folder written by ``model.save_pretrained`` + ``processor.save_pretrained``.
        device: "auto" (None), "cpu", "cuda[:N]" or "mps".
        cache_dir: the Hugging Face hub cache to read and download into (default: HF_HUB_CACHE).
        offline_timeout_s: how long the network probe may take before an uncached id fails.
    Raises:
        MissingDependencyError: ``transformers`` is not installed (extra ``hf``).
        CheckpointError: a local folder is missing or holds no OWL-ViT model and processor.
        WeightsUnavailableError: a hub id is neither cached nor downloadable (offline).
    """

    def __init__(self, checkpoint: str = OWL_DEFAULT_CHECKPOINT, device: str | None = None,
                 cache_dir: str | None = None, offline_timeout_s: float = 3.0) -> None:
        if not isinstance(checkpoint, str) or not checkpoint.strip():
            raise ConfigError(f"OWL-ViT checkpoint must be a hub id or a folder, got {checkpoint!r}")
        self.transformers = require("transformers", extra="hf", purpose=f"the OWL-ViT detector ({checkpoint})")
        from embodied.clip.backbone import resolve_device

        self.checkpoint, self.cache_dir = checkpoint, cache_dir
        self.device = resolve_device("auto" if device is None else device)
        self.model, self.processor, self.family, self.source = self._load(offline_timeout_s)
        self.model.eval().to(self.device)

    # ------------------------------------------------------------------ loading
    def _load(self, timeout_s: float) -> tuple[Any, Any, str, str]:
        """(model, processor, family, source) with source the folder, or "cache" / "download"."""
        ckpt = self.checkpoint
        path = Path(ckpt).expanduser()
        if path.is_dir():
            try:
                return (*self._from_pretrained(str(path), local_only=True), str(path.resolve()))
            except (OSError, ValueError) as exc:
                raise CheckpointError(
                    f"the folder {path} does not hold an OWL-ViT model and processor ({type(exc).__name__}: {exc}). "
                    "Write one with model.save_pretrained(FOLDER) and processor.save_pretrained(FOLDER)."
                ) from exc
        if path.exists() or _looks_like_path(ckpt):
            raise CheckpointError(
                f"OWL-ViT checkpoint {path} not found or not a folder: pass a folder written by save_pretrained "
                f"or a Hugging Face hub id such as '{OWL_DEFAULT_CHECKPOINT}'")
        try:  # the hub cache first: no network at all
            return (*self._from_pretrained(ckpt, local_only=True), "cache")
        except (OSError, ValueError):
            pass
        import huggingface_hub.constants

        cache = self.cache_dir or huggingface_hub.constants.HF_HUB_CACHE
        endpoint = _hub_endpoint()
        ok, why = net.reachable(endpoint, timeout_s)
        if not ok:
            raise WeightsUnavailableError(
                f"OWL-ViT weights '{ckpt}' are not in the Hugging Face cache {cache} and {endpoint} is unreachable "
                f"({why}). Either connect to the internet once so that they are downloaded, or copy the model "
                f"folder here yourself (`huggingface-cli download {ckpt} --local-dir FOLDER` on a machine with "
                "network, or model/processor .save_pretrained(FOLDER)) and pass that folder as the checkpoint "
                "(OwlVitLocalizer(checkpoint=FOLDER)), or point HF_HUB_CACHE at a hub cache that holds it.")
        try:
            return (*self._from_pretrained(ckpt, local_only=False), "download")
        except (OSError, ValueError) as exc:
            raise WeightsUnavailableError(f"could not download OWL-ViT checkpoint '{ckpt}' from {endpoint}: {exc}") \
                from exc

    def _from_pretrained(self, ckpt: str, local_only: bool) -> tuple[Any, Any, str]:
        tf = self.transformers
        kw = {"local_files_only": local_only, "cache_dir": self.cache_dir}
        config = tf.AutoConfig.from_pretrained(ckpt, **kw)
        family = getattr(config, "model_type", None)
        if family not in _FAMILIES:
            raise CheckpointError(f"'{ckpt}' is a '{family}' model, not OWL-ViT (model_type 'owlvit' or 'owlv2')")
        model_cls, proc_cls = (getattr(tf, name) for name in _FAMILIES[family])
        model = model_cls.from_pretrained(ckpt, config=config, **kw)
        processor = proc_cls.from_pretrained(ckpt, **kw)
        return model, processor, family

    # ------------------------------------------------------------------ inference
    def detect(self, rgb: np.ndarray, query: str) -> tuple[np.ndarray, np.ndarray]:
        """Every predicted box of one frame for one text query.

        Args:
            rgb: (H, W, 3) uint8 frame.
            query: the text query, e.g. "a photo of a chair.".
        Returns:
            (boxes (N, 4) float32 x0, y0, x1, y1 in frame pixels, clipped to the frame; scores (N,)
            float32 in (0, 1): sigmoid of the box's query logit). N is the model's number of patches.
        """
        import torch

        rgb = np.asarray(rgb)
        if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[-1] != 3:
            raise ValueError(f"rgb must be uint8 (H, W, 3), got {rgb.dtype} {rgb.shape}")
        H, W = rgb.shape[:2]
        inputs = self.processor(text=[[query]], images=[rgb], return_tensors="pt", truncation=True)
        inputs = {k: v.to(self.device) for k, v in inputs.items()}
        with torch.inference_mode():
            out = self.model(**inputs)
        # as in CoW's post_process (real-stanford/cow, src/models/localization/clip_owl.py): the score of
        # a box is the sigmoid of its best query logit; boxes are (cx, cy, w, h) relative to the model input
        scores = torch.sigmoid(out.logits[0].float().max(dim=-1).values)
        cx, cy, w, h = out.pred_boxes[0].float().unbind(-1)
        xyxy = torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], dim=-1)
        # OWL-ViT squashes the frame to its square input; OWLv2 pads it (bottom / right) to a square first
        sx, sy = (max(H, W), max(H, W)) if self.family == "owlv2" else (W, H)
        boxes = xyxy.cpu().numpy() * np.array([sx, sy, sx, sy], np.float32)
        boxes = np.clip(boxes, 0.0, np.array([W, H, W, H], np.float32))
        return boxes.astype(np.float32), scores.cpu().numpy().astype(np.float32)


_DETECTORS: dict[tuple[str, str | None, str | None], OwlVitDetector] = {}


def get_detector(checkpoint: str = OWL_DEFAULT_CHECKPOINT, device: str | None = None,
                 cache_dir: str | None = None) -> OwlVitDetector:
    """The process-wide :class:`OwlVitDetector` for (checkpoint, device, cache_dir), built on first call."""
    key = (checkpoint, device, cache_dir)
    if key not in _DETECTORS:
        _DETECTORS[key] = OwlVitDetector(checkpoint, device=device, cache_dir=cache_dir)
    return _DETECTORS[key]
