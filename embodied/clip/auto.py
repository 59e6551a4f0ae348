"""``--clip auto``: the best CLIP weights this machine can have, without ever a silent random model.

1. The pretrained default (``ViT-B-32`` / its preferred tag) when its weights are in the local cache or
   the hub answers within ``timeout_s`` (then they are downloaded once).
2. Else the project's sim-trained model, cached at ``<cache>/sim-trained-v<N>.safetensors`` with its
   model card (``<cache>`` = ``$EMBODIED_CACHE_DIR`` or ``~/.cache/embodied``, plus ``/clip``).
3. Else, when a ``prepare`` callback is given, it is called once to make that model (the CLI injects
   one that renders training data from the built-in simulator and trains, a few minutes on a CPU),
   under a file lock so concurrent processes train it only once.
4. Else :class:`WeightsUnavailableError` says how to get either.

Results of the sim-trained model are labelled "sim-trained (not zero-shot)" (:func:`weights_label`).

>>> choice = resolve_auto(prepare=my_prepare)      # AutoWeights
>>> clip = get_backbone(choice.config)
>>> print(choice.label)
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from embodied.clip.model_card import SIM_TRAINED_NOTE, card_path, read_model_card, weights_note
from embodied.errors import CheckpointError, ConfigError, WeightsUnavailableError
from embodied.files import file_lock

__all__ = ["AUTO", "SIM_MODEL", "SIM_TRAINED_VERSION", "AutoWeights", "sim_cache_dir", "sim_trained_path",
           "sim_trained_recipe", "cached_sim_trained", "resolve_auto", "weights_label"]

log = logging.getLogger(__name__)

AUTO = "auto"
"""The model name that asks for :func:`resolve_auto`."""
SIM_MODEL = "embodied-sim"
"""Architecture of the sim-trained model (``embodied/clip/model_configs/embodied-sim.json``)."""
SIM_TRAINED_VERSION = 3
"""Bump when the recipe or data of the sim-trained model change: the cached file name changes with it."""


@dataclass(frozen=True)
class AutoWeights:
    """The outcome of :func:`resolve_auto`.

    Attributes:
        config: a ClipConfig for :func:`embodied.clip.get_backbone` (plain data: picklable, JSON-able).
        source: "pretrained" or "sim-trained".
        label: one line naming the weights, for report headers ("... sim-trained (not zero-shot)").
        reason: why the pretrained model was not used (None when it was).
        card: the sim-trained model's card (None for pretrained weights).
    """

    config: Any
    source: str
    label: str
    reason: str | None = None
    card: dict[str, Any] | None = None


def sim_trained_recipe(device: str = "auto"):
    """The TrainConfig of the sim-trained model (from scratch, ``SIM_MODEL``)."""
    from embodied.clip.train import TrainConfig

    # crop_share: the data holds about twice as many depth-segment crops as object crops; by count the
    # object crops were seen too rarely (held-out top-1 0.756 -> 0.810 with 0.6, same steps)
    return TrainConfig(steps=1500, batch_size=64, lr=2e-3, warmup_steps=50, seed=0, device=device, crop_share=0.6)


def sim_cache_dir() -> Path:
    """``$EMBODIED_CACHE_DIR/clip``, else ``$XDG_CACHE_HOME/embodied/clip``, else ``~/.cache/embodied/clip``."""
    root = os.environ.get("EMBODIED_CACHE_DIR")
    if not root:
        xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        root = os.path.join(xdg, "embodied")
    return Path(root) / "clip"


def sim_trained_path(cache_dir: str | os.PathLike | None = None) -> Path:
    """Where the sim-trained checkpoint lives (its card is next to it)."""
    return Path(cache_dir or sim_cache_dir()) / f"sim-trained-v{SIM_TRAINED_VERSION}.safetensors"


def cached_sim_trained(cache_dir: str | os.PathLike | None = None) -> tuple[Path, dict[str, Any]] | None:
    """(checkpoint, card) of a complete sim-trained model in the cache, else None.

    A checkpoint without its card, or with a card of another architecture or version, does not count
    (an interrupted or stale run), so it is trained again.
    """
    path = sim_trained_path(cache_dir)
    if not path.is_file():
        return None
    try:
        card = read_model_card(path)
    except CheckpointError as exc:
        log.warning("ignoring the cached sim-trained model: %s", exc)
        return None
    if not card or card.get("architecture") != SIM_MODEL or card.get("sim_trained_version") != SIM_TRAINED_VERSION:
        return None
    return path, card


def _sim_choice(path: Path, card: dict[str, Any], reason: str | None, device: str, precision: str,
                batch_size: int):
    from embodied.clip.config import ClipConfig

    cfg = ClipConfig(model=SIM_MODEL, checkpoint=str(path), device=device, precision=precision, batch_size=batch_size)
    ev = (card.get("evaluation") or {}).get("classification") or {}
    acc = f", held-out top-1 {ev['top1']:.2f}" if "top1" in ev else ""
    label = f"{SIM_MODEL} {SIM_TRAINED_NOTE} ({path}{acc})"
    return AutoWeights(cfg, "sim-trained", label, reason, card)


def resolve_auto(
    *,
    model: str | None = None,
    pretrained: str | None = None,
    cache_dir: str | None = None,
    sim_cache: str | os.PathLike | None = None,
    timeout_s: float = 3.0,
    device: str = "auto",
    precision: str = "auto",
    batch_size: int = 32,
    prepare: Callable[[Path], Any] | None = None,
    echo: Callable[[str], None] | None = None,
) -> AutoWeights:
    """Pick CLIP weights: pretrained if available, else the (cached or freshly trained) sim-trained model.

    Args:
        model, pretrained: the pretrained architecture and tag to try (default: ViT-B-32 and its tag).
        cache_dir: the pretrained weights cache (default: Hugging Face's hub cache).
        sim_cache: folder of the sim-trained model (default: :func:`sim_cache_dir`).
        timeout_s: how long to wait for the hub before deciding the machine is offline.
        device, precision, batch_size: passed on to the ClipConfig.
        prepare: ``prepare(checkpoint_path)`` trains the sim-trained model into that path (with its
            card). Without it a missing model raises instead of training.
        echo: where the one-line "training on first use" message goes (default: the log).
    Returns:
        AutoWeights.
    Raises:
        WeightsUnavailableError: no pretrained weights, no cached sim-trained model and no ``prepare``.
    """
    from embodied.clip import registry
    from embodied.clip.config import ClipConfig

    model = model or registry.DEFAULT_MODEL
    if model in (AUTO, SIM_MODEL):
        raise ConfigError(f"resolve_auto tries a pretrained architecture first; '{model}' is not one")
    say = echo or log.warning
    tag = pretrained or registry.default_tag(model)
    try:
        src = registry.weights_source(model, tag, cache_dir)
        registry.resolve_pretrained(src, timeout_s)
        cfg = ClipConfig(model=model, pretrained=tag, cache_dir=cache_dir, device=device, precision=precision,
                         batch_size=batch_size, offline_timeout_s=timeout_s)
        return AutoWeights(cfg, "pretrained", f"{model} pretrained '{tag}'")
    except WeightsUnavailableError as exc:
        reason = str(exc)
    found = cached_sim_trained(sim_cache)
    if found is not None:
        return _sim_choice(*found, reason, device, precision, batch_size)
    path = sim_trained_path(sim_cache)
    if prepare is None:
        raise WeightsUnavailableError(
            f"no pretrained CLIP weights ({model} '{tag}' is neither cached nor downloadable here) and no "
            f"sim-trained model is cached at {path}. Train it once with `embodied clip prepare` (a few minutes "
            "on a CPU), or get the pretrained weights (see `embodied info`).")
    with file_lock(path.with_name(path.name + ".lock")):
        found = cached_sim_trained(sim_cache)  # another process may have trained it meanwhile
        if found is None:
            say(f"No pretrained CLIP weights available offline ({model} '{tag}'); training the sim-trained "
                f"model (about 5 min on a 2-core CPU, once) -> {path}")
            prepare(path)
            found = cached_sim_trained(sim_cache)
            if found is None:
                raise CheckpointError(f"preparing the sim-trained model did not leave a checkpoint with a card "
                                      f"at {path} and {card_path(path)}")
    return _sim_choice(*found, reason, device, precision, batch_size)


def weights_label(provenance: Any) -> str:
    """``provenance.label`` plus the note its checkpoint's card demands (e.g. "sim-trained (not
    zero-shot)"): the line every output should name its weights with."""
    note = weights_note(provenance)
    label = provenance.label
    return f"{label} - {note}" if note and note not in label else label
