"""Agents by name: build one from plain settings (the runner and robot code use this)."""

from __future__ import annotations

from typing import Any

from embodied.errors import ConfigError

__all__ = ["AGENTS", "make_agent"]

AGENTS = {
    "cow": "CLIP on Wheels: CLIP (or oracle) localization + frontier exploration",
    "frontier": "frontier exploration (nearest frontier, no initial spin) with oracle localization",
    "random": "random walk (never stops)",
}


def make_agent(name: str, cow: dict[str, Any] | None = None, clip: Any = None, seed: int = 0) -> Any:
    """Build agent ``name``. ``cow``: CowConfig fields; ``clip``: a ClipBackbone for CLIP
    localizers and value-weighted frontiers."""
    from embodied.config import config_from_dict

    if name not in AGENTS:
        raise ConfigError(f"unknown agent '{name}'; choose from {sorted(AGENTS)}")
    if name == "random":
        from agents.baselines import RandomAgent

        return RandomAgent(seed)
    from agents.cow import CowAgent, CowConfig
    from embodied.localization import make_localizer

    settings = dict(cow or {})
    if name == "frontier":
        settings.update(localizer="oracle", frontier="nearest", spin=False)
    cfg = config_from_dict(CowConfig, settings)
    loc_kw: dict[str, Any] = {"center": cfg.center}
    if cfg.localizer != "oracle":
        loc_kw.update(threshold=cfg.localizer_threshold, templates=cfg.templates)
        if cfg.localizer == "patch" and cfg.vocabulary:
            loc_kw.update(vocabulary=cfg.vocabulary, refine=cfg.refine, proposals=cfg.proposals)
    localizer = make_localizer(cfg.localizer, clip, **loc_kw)
    scorer = None
    if cfg.frontier == "value":
        if clip is None:
            raise ConfigError("frontier='value' needs CLIP weights for the value map (see --model/--checkpoint)")

        def scorer(rgb, goal, _clip=clip, _templates=cfg.templates):
            return float(_clip.encode_images(rgb[None])[0] @ _clip.text_classifier([goal], _templates)[0])

    return CowAgent(cfg, localizer, scorer)
