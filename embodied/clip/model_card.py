"""Model cards: a JSON file next to each trained CLIP checkpoint saying what it is.

``sim-trained.safetensors`` gets ``sim-trained.card.json`` with the architecture, where the weights
started from, the data (scenes, counts, index fingerprint), the training settings (steps, seed, wall
time, loss curve) and evaluation results. Cards are written atomically.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from embodied.errors import CheckpointError

__all__ = ["CARD_FORMAT", "SIM_TRAINED_NOTE", "card_path", "write_model_card", "read_model_card",
           "update_model_card", "weights_note"]

CARD_FORMAT = "embodied-clip-model-card/1"
SIM_TRAINED_NOTE = "sim-trained (not zero-shot)"
"""How results of a model trained only on simulator renders are labelled everywhere."""


def card_path(checkpoint: str | os.PathLike) -> Path:
    """``dir/name.safetensors`` -> ``dir/name.card.json``."""
    p = Path(checkpoint)
    return p.with_name(p.name.rsplit(".", 1)[0] + ".card.json")


def write_model_card(checkpoint: str | os.PathLike, card: dict[str, Any]) -> Path:
    """Write the card of ``checkpoint`` atomically; returns its path."""
    from embodied.files import atomic_write

    return atomic_write(card_path(checkpoint), json.dumps({"format": CARD_FORMAT, **card}, indent=1).encode())


def read_model_card(checkpoint: str | os.PathLike) -> dict[str, Any] | None:
    """The card of ``checkpoint``, or None when it has none.

    Raises:
        CheckpointError: the card exists but is not valid JSON or not a model card.
    """
    path = card_path(checkpoint)
    if not path.is_file():
        return None
    try:
        card = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"model card {path} is not valid JSON ({exc}); delete it or train again") from exc
    if not isinstance(card, dict) or card.get("format") != CARD_FORMAT:
        raise CheckpointError(f"{path} is not an embodied model card (format {CARD_FORMAT})")
    return card


def update_model_card(checkpoint: str | os.PathLike, **sections: Any) -> Path:
    """Merge ``sections`` (e.g. ``evaluation={...}``) into the card of ``checkpoint`` (created if absent)."""
    card = read_model_card(checkpoint) or {}
    card.pop("format", None)
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(card.get(key), dict):
            card[key] = {**card[key], **value}
        else:
            card[key] = value
    return write_model_card(checkpoint, card)


def weights_note(provenance: Any) -> str | None:
    """The note that must accompany results of these weights (``SIM_TRAINED_NOTE`` for weights
    trained only on simulator renders), read from the checkpoint's card; None otherwise.

    Args:
        provenance: a :class:`embodied.clip.Provenance`.
    """
    if getattr(provenance, "source", None) != "checkpoint" or not getattr(provenance, "path", None):
        return None
    try:
        card = read_model_card(provenance.path)
    except CheckpointError:
        return None
    return card.get("note") if card else None
