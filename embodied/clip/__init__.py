"""The shared CLIP backbone, its weights registry, prompt templates and checkpoint tools, plus training on
image-caption shards, evaluation, and ``--clip auto`` (pretrained weights, else the sim-trained model).

Names load on first use, so ``from embodied.clip import ClipConfig`` does not import torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ClipConfig": "config", "Provenance": "config",
    "ClipBackbone": "backbone", "get_backbone": "backbone", "resolve_device": "backbone",
    "interpolate_checkpoints": "checkpoints", "interpolate_state_dicts": "checkpoints",
    "load_state_dict": "checkpoints", "save_state_dict": "checkpoints",
    "IMAGENET_TEMPLATES": "prompts", "SHORT_TEMPLATES": "prompts", "TEMPLATE_SETS": "prompts",
    "DEFAULT_MODEL": "registry", "list_architectures": "registry", "list_tags": "registry",
    "AutoWeights": "auto", "resolve_auto": "auto", "weights_label": "auto",
    "TrainConfig": "train", "train_clip": "train",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f"embodied.clip.{_EXPORTS[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'embodied.clip' has no attribute '{name}'")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
