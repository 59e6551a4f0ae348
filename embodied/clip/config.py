"""How to build a CLIP backbone (:class:`ClipConfig`) and which weights it holds (:class:`Provenance`).

Plain data, importable without torch: commands read their option defaults from here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from embodied.clip import registry
from embodied.errors import ConfigError

__all__ = ["ClipConfig", "Provenance", "PRECISIONS"]

PRECISIONS = ("auto", "fp32", "fp16", "bf16")


@dataclass(frozen=True, kw_only=True)
class ClipConfig:
    """How to build the backbone.

    Attributes:
        model: open_clip architecture name (``open_clip.list_models()``, plus ``embodied-tiny``).
        pretrained: open_clip pretrained tag; None = the architecture's default tag. Together with
            ``checkpoint`` it says "this file holds that tag's weights": the tag then only supplies
            its settings (QuickGELU, preprocessing), and nothing is downloaded.
        checkpoint: path of a local state dict (.safetensors / .pt / .pth / .bin).
        random_init: explicitly ask for random weights (tests, training from scratch).
        seed: seed of the random init.
        device: "auto" (cuda > mps > cpu) or a torch device string.
        precision: "auto" (bf16/fp16 autocast on CUDA, fp32 elsewhere), "fp32", "fp16", "bf16".
        batch_size: images (and texts x4) per forward pass.
        text_cache_size: entries of the LRU text-embedding cache.
        cache_dir: weights cache directory; None = Hugging Face's hub cache (or ~/.cache/clip).
        offline_timeout_s: how long to wait for the hub before declaring the machine offline.
    """

    model: str = registry.DEFAULT_MODEL
    pretrained: str | None = None
    checkpoint: str | None = None
    random_init: bool = False
    seed: int = 0
    device: str = "auto"
    precision: str = "auto"
    batch_size: int = 32
    text_cache_size: int = 4096
    cache_dir: str | None = None
    offline_timeout_s: float = 3.0

    def __post_init__(self) -> None:
        if self.random_init and (self.pretrained or self.checkpoint):
            other = "pretrained" if self.pretrained else "checkpoint"
            raise ConfigError(f"give one weights source: random_init=True excludes {other}")
        if self.precision not in PRECISIONS:
            raise ConfigError(f"precision must be one of {PRECISIONS}, got '{self.precision}'")
        if self.batch_size < 1 or self.text_cache_size < 0:
            raise ConfigError("batch_size must be >= 1 and text_cache_size >= 0")
        if not self.offline_timeout_s > 0:
            raise ConfigError(f"offline_timeout_s must be > 0, got {self.offline_timeout_s}")


@dataclass(frozen=True)
class Provenance:
    """Which weights produced an output. ``source`` is "pretrained", "checkpoint" or "random"."""

    architecture: str
    source: str
    tag: str | None = None
    remote: str | None = None
    path: str | None = None
    sha256: str | None = None
    seed: int | None = None

    @property
    def model_id(self) -> str:
        """Short unique id of the weights (used as a cache key)."""
        if self.source == "pretrained":
            return f"{self.architecture}@{self.tag}"
        if self.source == "checkpoint":
            return f"{self.architecture}@sha256:{self.sha256}"
        return f"{self.architecture}@random:{self.seed}"

    @property
    def label(self) -> str:
        """One human-readable line for report headers."""
        if self.source == "pretrained":
            return f"{self.architecture} pretrained '{self.tag}'"
        if self.source == "checkpoint":
            return f"{self.architecture} checkpoint {self.path} (sha256 {str(self.sha256)[:12]})"
        return f"{self.architecture} RANDOM INIT (seed {self.seed}; not pretrained, outputs are not meaningful)"

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}
