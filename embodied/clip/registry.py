"""Where CLIP weights come from: open_clip's architecture and tag registries, our own model configs,
and a weights resolver that answers from the local cache or fails fast when offline.

Our architectures live as open_clip JSON configs in ``model_configs/`` (``embodied-tiny``: a ~7 MB
ViT for tests) and are registered with open_clip on first use.
"""

from __future__ import annotations

import logging
import os
import urllib.parse
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from embodied import net
from embodied.errors import ConfigError, WeightsUnavailableError

__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_TAGS",
    "register_model_configs",
    "list_architectures",
    "list_tags",
    "default_tag",
    "check_architecture",
    "WeightsSource",
    "weights_source",
    "cached_weights",
    "resolve_pretrained",
]

log = logging.getLogger(__name__)

DEFAULT_MODEL = "ViT-B-32"
DEFAULT_TAGS = {"ViT-B-32": "laion2b_s34b_b79k", "ViT-B-16": "laion2b_s34b_b88k", "ViT-L-14": "laion2b_s32b_b82k"}
"""Preferred tag per architecture; any other architecture defaults to its first listed tag."""

_CONFIG_DIR = Path(__file__).parent / "model_configs"
_HF_ENDPOINT_DEFAULT = "https://huggingface.co"


@cache
def register_model_configs() -> None:
    """Add ``embodied/clip/model_configs/*.json`` to open_clip's architecture registry (once)."""
    import open_clip

    open_clip.add_model_config(_CONFIG_DIR)


def list_architectures() -> list[str]:
    """All open_clip architectures, ours included."""
    import open_clip

    register_model_configs()
    return open_clip.list_models()


def list_tags(architecture: str) -> list[str]:
    """Pretrained tags open_clip knows for ``architecture`` (empty for our own architectures)."""
    import open_clip

    return list(open_clip.list_pretrained_tags_by_model(architecture))


def check_architecture(architecture: str) -> None:
    """Raise ConfigError (with close matches) when open_clip does not know ``architecture``."""
    archs = list_architectures()
    if architecture not in archs:
        import difflib

        close = difflib.get_close_matches(architecture, archs, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise ConfigError(f"unknown CLIP architecture '{architecture}'.{hint} See open_clip.list_models().")


def default_tag(architecture: str) -> str:
    """The tag used when none is given: DEFAULT_TAGS, else the first tag open_clip lists."""
    if architecture in DEFAULT_TAGS:
        return DEFAULT_TAGS[architecture]
    tags = list_tags(architecture)
    if not tags:
        raise ConfigError(
            f"architecture '{architecture}' has no pretrained tags; pass a checkpoint file "
            "(--checkpoint / ClipConfig.checkpoint) or random_init=True"
        )
    return tags[0]


@dataclass(frozen=True, slots=True)
class WeightsSource:
    """Where a pretrained tag's weights live: a Hugging Face file or a URL, and the local cache."""

    architecture: str
    tag: str
    hf_repo: str | None
    hf_filenames: tuple[str, ...]
    url: str | None
    cache_dir: str
    pretrained_cfg: dict

    @property
    def remote(self) -> str:
        if self.hf_repo:
            return f"{_hf_endpoint()}/{self.hf_repo} ({' or '.join(self.hf_filenames)})"
        return str(self.url)

    @property
    def probe_url(self) -> str:
        return _hf_endpoint() if self.hf_repo else str(self.url)


def _hf_endpoint() -> str:
    return os.environ.get("HF_ENDPOINT", _HF_ENDPOINT_DEFAULT).rstrip("/")


def weights_source(architecture: str, tag: str, cache_dir: str | None = None) -> WeightsSource:
    """Look up ``tag`` for ``architecture`` in open_clip's pretrained registry (no network)."""
    import open_clip
    from open_clip.constants import HF_SAFE_WEIGHTS_NAME, HF_WEIGHTS_NAME

    cfg = open_clip.get_pretrained_cfg(architecture, tag)
    if not cfg:
        tags = list_tags(architecture)
        raise ConfigError(
            f"unknown pretrained tag '{tag}' for {architecture}; known tags: {', '.join(tags) or 'none'}"
        )
    hf_hub = cfg.get("hf_hub") or ""
    if hf_hub:
        from huggingface_hub import constants as hf_constants

        repo, filename = os.path.split(hf_hub)  # open_clip's rule: "org/name/" means the default file
        filename = filename or HF_WEIGHTS_NAME
        names = [filename]
        if filename == HF_WEIGHTS_NAME:
            names.insert(0, HF_SAFE_WEIGHTS_NAME)
        elif filename.endswith((".bin", ".pth")):
            names.insert(0, filename[:-4] + ".safetensors")
        return WeightsSource(
            architecture, tag, repo, tuple(names), None,
            cache_dir or hf_constants.HF_HUB_CACHE, dict(cfg),
        )
    url = cfg.get("url") or None
    return WeightsSource(
        architecture, tag, None, (), url, cache_dir or os.path.expanduser("~/.cache/clip"), dict(cfg)
    )


def cached_weights(src: WeightsSource) -> str | None:
    """Local path of the weights of ``src`` if they are already cached, else None (no network)."""
    if src.hf_repo:
        from huggingface_hub import try_to_load_from_cache

        for name in src.hf_filenames:
            path = try_to_load_from_cache(src.hf_repo, name, cache_dir=src.cache_dir)
            if isinstance(path, str) and os.path.isfile(path):
                return path
        return None
    path = os.path.join(src.cache_dir, os.path.basename(urllib.parse.urlparse(str(src.url)).path))
    return path if os.path.isfile(path) else None


def resolve_pretrained(src: WeightsSource, timeout_s: float = 3.0) -> str:
    """Local path of the weights of ``src``: from the cache, else downloaded.

    Raises:
        WeightsUnavailableError: within about ``timeout_s`` when the file is not cached and the
            host cannot be reached. The message names the architecture, tag, cache directory,
            the remote file and how to pass a local file instead.
    """
    path = cached_weights(src)
    if path:
        log.info("using cached weights %s", path)
        return path
    ok, why = net.reachable(src.probe_url, timeout_s)
    if not ok:
        raise WeightsUnavailableError(
            f"pretrained weights for {src.architecture} '{src.tag}' are not in the cache directory "
            f"{src.cache_dir} and {src.probe_url} is unreachable ({why}). Either connect to the internet "
            f"once to download {src.remote}, or download that file yourself and pass it with "
            f"--checkpoint FILE --pretrained {src.tag} (ClipConfig(checkpoint=..., pretrained=...)), or point "
            "--cache-dir (HF_HUB_CACHE) at a Hugging Face hub cache that holds it."
        )
    import open_clip

    log.info("downloading %s weights '%s' from %s", src.architecture, src.tag, src.remote)
    try:
        return open_clip.download_pretrained(src.pretrained_cfg, cache_dir=src.cache_dir)
    except Exception as exc:
        raise WeightsUnavailableError(
            f"downloading {src.architecture} '{src.tag}' from {src.remote} failed: {exc}"
        ) from exc
