"""The shared CLIP backbone, its weights registry, prompt templates and checkpoint tools, plus training on
image-caption shards, evaluation, and ``--clip auto`` (pretrained weights, else the sim-trained model)."""

from embodied.clip.auto import AutoWeights, resolve_auto, weights_label
from embodied.clip.backbone import ClipBackbone, ClipConfig, Provenance, get_backbone, resolve_device
from embodied.clip.checkpoints import interpolate_checkpoints, interpolate_state_dicts, load_state_dict, save_state_dict
from embodied.clip.prompts import IMAGENET_TEMPLATES, SHORT_TEMPLATES, TEMPLATE_SETS
from embodied.clip.registry import DEFAULT_MODEL, list_architectures, list_tags
from embodied.clip.train import TrainConfig, train_clip

__all__ = [
    "ClipBackbone",
    "ClipConfig",
    "Provenance",
    "get_backbone",
    "resolve_device",
    "interpolate_checkpoints",
    "interpolate_state_dicts",
    "load_state_dict",
    "save_state_dict",
    "IMAGENET_TEMPLATES",
    "SHORT_TEMPLATES",
    "TEMPLATE_SETS",
    "DEFAULT_MODEL",
    "list_architectures",
    "list_tags",
    "AutoWeights",
    "resolve_auto",
    "weights_label",
    "TrainConfig",
    "train_clip",
]
