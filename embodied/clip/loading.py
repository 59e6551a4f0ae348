"""Loading CLIP weights into open_clip models: tokenizers, pretrained tags, local state dicts and
random init, with open_clip's state-dict fix-ups and a readable mismatch report."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import torch

from embodied.optional import require
from embodied.clip import registry
from embodied.clip.checkpoints import ARCH_KEY, PREPROCESS_KEY, QUICK_GELU_KEY, load_state_dict
from embodied.files import file_sha256
from embodied.clip.config import ClipConfig, Provenance
from embodied.errors import CheckpointError, WeightsUnavailableError

__all__ = ["build_tokenizer", "build_model"]


def build_tokenizer(cfg: ClipConfig):
    """open_clip's tokenizer for the architecture; Hugging Face tokenizers need ``transformers``."""
    import open_clip

    registry.check_architecture(cfg.model)
    hf_name = (open_clip.get_model_config(cfg.model) or {}).get("text_cfg", {}).get("hf_tokenizer_name")
    if hf_name:
        require("transformers", extra="hf", purpose=f"the {cfg.model} tokenizer ({hf_name})")
        try:
            return open_clip.get_tokenizer(cfg.model)
        except Exception as exc:  # typically offline with no cached tokenizer
            raise WeightsUnavailableError(
                f"could not load the Hugging Face tokenizer '{hf_name}' of {cfg.model}: {exc}. Connect to the "
                "internet once so it is cached, or use an architecture with the built-in CLIP tokenizer."
            ) from exc
    return open_clip.get_tokenizer(cfg.model)


class _NoRandomInitWarning(logging.Filter):
    """open_clip warns "Model initialized randomly" on every create_model(pretrained=None); where we
    load weights right after, that line is false and alarming."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "initialized randomly" not in record.getMessage()


def _create_for_weights(name: str, **kw: Any) -> torch.nn.Module:
    """open_clip.create_model for a model whose weights are loaded next (without its false warning)."""
    import open_clip

    root, quiet = logging.getLogger(), _NoRandomInitWarning()
    root.addFilter(quiet)
    try:
        return open_clip.create_model(name, pretrained=None, **kw)
    finally:
        root.removeFilter(quiet)


def build_model(cfg: ClipConfig) -> tuple[torch.nn.Module, Provenance, bool]:
    """(model on the CPU, provenance, whether it uses QuickGELU)."""
    import open_clip

    model_cfg = open_clip.get_model_config(cfg.model)
    common = dict(precision="fp32", device="cpu", pretrained_text=False, pretrained_image=False)
    if cfg.random_init:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.seed)
            model = open_clip.create_model(cfg.model, pretrained=None, **common)
        return model, Provenance(cfg.model, "random", seed=cfg.seed), bool(model_cfg.get("quick_gelu", False))
    if cfg.checkpoint:
        path = Path(cfg.checkpoint).expanduser().resolve()
        sd, meta = load_state_dict(path)
        arch = meta.get(ARCH_KEY)
        if arch and arch != cfg.model:
            raise CheckpointError(f"{path} holds a '{arch}' model, not '{cfg.model}'; pass --model {arch}")
        if cfg.pretrained:  # the file holds this tag's weights: take the tag's settings
            pcfg = registry.weights_source(cfg.model, cfg.pretrained, cfg.cache_dir).pretrained_cfg
            quick, pp = bool(pcfg.get("quick_gelu", False)), _tag_preprocess(pcfg)
        else:
            try:
                quick = json.loads(meta.get(QUICK_GELU_KEY, "false"))
                pp = json.loads(meta[PREPROCESS_KEY]) if PREPROCESS_KEY in meta else None
            except json.JSONDecodeError as exc:
                raise CheckpointError(f"{path} has corrupt embodied metadata: {exc}") from exc
        model = _create_for_weights(cfg.model, force_quick_gelu=quick, force_preprocess_cfg=pp, **common)
        _load_strict(model, sd, path, cfg.model)
        prov = Provenance(cfg.model, "checkpoint", tag=cfg.pretrained, path=str(path), sha256=file_sha256(path))
        return model, prov, quick or bool(model_cfg.get("quick_gelu", False))
    tag = cfg.pretrained or registry.default_tag(cfg.model)
    src = registry.weights_source(cfg.model, tag, cfg.cache_dir)
    path = registry.resolve_pretrained(src, cfg.offline_timeout_s)
    quick = bool(src.pretrained_cfg.get("quick_gelu", False))
    model = _create_for_weights(cfg.model, force_quick_gelu=quick, force_preprocess_cfg=_tag_preprocess(src.pretrained_cfg),
                                **common)
    sd, _ = load_state_dict(path)
    _load_strict(model, sd, Path(path), cfg.model)
    prov = Provenance(cfg.model, "pretrained", tag=tag, remote=src.remote, path=str(path))
    return model, prov, quick or bool(model_cfg.get("quick_gelu", False))


def _tag_preprocess(pretrained_cfg: dict) -> dict | None:
    pp = {k: pretrained_cfg[k] for k in ("mean", "std", "interpolation", "resize_mode") if k in pretrained_cfg}
    return pp or None


def _load_strict(model: torch.nn.Module, sd: dict[str, torch.Tensor], path: Path, arch: str) -> None:
    """Apply open_clip's own state-dict fix-ups (third-party layouts, old text towers, resized
    position embeddings), then load strictly with a readable mismatch report."""
    from open_clip.convert import convert_state_dict
    from open_clip.model import convert_to_custom_text_state_dict, resize_pos_embed, resize_text_pos_embed

    sd = convert_state_dict(model, sd)
    if "positional_embedding" in sd and not hasattr(model, "positional_embedding"):
        sd = convert_to_custom_text_state_dict(sd)
    for key in ("logit_scale", "logit_bias"):
        own = getattr(model, key, None)
        if key in sd and own is not None and own.ndim != sd[key].ndim:
            sd[key] = sd[key].reshape(own.shape)
    sd.pop("text.transformer.embeddings.position_ids", None)
    resize_pos_embed(sd, model)
    resize_text_pos_embed(sd, model)
    own = model.state_dict()
    missing = sorted(set(own) - set(sd))
    unexpected = sorted(set(sd) - set(own))
    wrong = sorted(k for k in set(own) & set(sd) if own[k].shape != sd[k].shape)
    if missing or unexpected or wrong:
        raise CheckpointError(
            f"{path} does not match architecture '{arch}': {len(missing)} missing keys {missing[:3]}, "
            f"{len(unexpected)} unexpected keys {unexpected[:3]}, {len(wrong)} shape mismatches {wrong[:3]}. "
            "Pass the --model the checkpoint was trained with."
        )
    model.load_state_dict(sd, strict=True)
