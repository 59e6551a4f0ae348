"""Agents by name: build one from plain settings (the runner and robot code use this)."""

from __future__ import annotations

from typing import Any

from embodied.errors import ConfigError

__all__ = ["AGENTS", "agent_config", "make_agent"]

AGENTS = {
    "cow": "CLIP on Wheels: CLIP (or oracle) localization + frontier exploration",
    "frontier": "frontier exploration (nearest frontier, no initial spin) with oracle localization",
    "random": "random walk (never stops)",
}


def agent_config(name: str, config: Any = None) -> Any:
    """The typed config agent ``name`` runs with: a CowConfig from a dict of its fields (unknown keys
    rejected with a suggestion) for "cow" and "frontier" (which pins oracle localization, nearest
    frontiers and no initial spin), None for "random" (it has no settings)."""
    import dataclasses

    from embodied.config import config_from_dict

    if name not in AGENTS:
        raise ConfigError(f"unknown agent '{name}'; choose from {sorted(AGENTS)}")
    if name == "random":
        return None
    from agents.cow import CowConfig

    cfg = config if isinstance(config, CowConfig) else config_from_dict(CowConfig, config or {})
    if name == "frontier":
        cfg = dataclasses.replace(cfg, localizer="oracle", frontier="nearest", spin=False)
    return cfg


def make_agent(name: str, config: Any = None, clip: Any = None, seed: int = 0) -> Any:
    """Build agent ``name`` from its typed config (or a dict of its fields, see :func:`agent_config`).
    ``clip``: a ClipBackbone for CLIP localizers and value-weighted frontiers; ``seed``: the agent's
    random stream (the random walker)."""
    cfg = agent_config(name, config)
    if name == "random":
        from agents.baselines import RandomAgent

        return RandomAgent(seed)
    from agents.cow import CowAgent
    from embodied.localization import make_localizer

    loc_kw: dict[str, Any] = {"center": cfg.center}
    if cfg.localizer == "owl":
        loc_kw.update(checkpoint=cfg.owl_checkpoint, threshold=cfg.localizer_threshold)
    elif cfg.localizer != "oracle":
        loc_kw.update(threshold=cfg.localizer_threshold, templates=cfg.templates)
        if cfg.localizer == "patch" and cfg.vocabulary:
            loc_kw.update(vocabulary=cfg.vocabulary, refine=cfg.refine, proposals=cfg.proposals)
    localizer = make_localizer(cfg.localizer, clip, **loc_kw)
    if cfg.frontier != "value":
        return CowAgent(cfg, localizer, None)
    if clip is None:
        raise ConfigError("frontier='value' needs CLIP weights for the value map (see --model/--checkpoint)")

    def scorer(rgb, goal, _clip=clip, _templates=cfg.templates):
        return float(_clip.encode_images(rgb[None])[0] @ _clip.text_classifier([goal], _templates)[0])

    # the CLIP localizers score the full frame against the goal with these same prompts (one forward less)
    return CowAgent(cfg, localizer, scorer,
                    reuse_localizer_score=cfg.reuse_localizer_score and cfg.localizer not in ("oracle", "owl"))
