"""CoW's own setups (``embodied nav --preset cow-habitat | cow-robothor``): the agent, sensor and
budget of the paper's code, so its ablation table can be rerun; the toolkit's stronger defaults
stay the default and every summary says which one ran.

Sources (real-stanford/cow): ``src/simulation/constants.py`` (672 x 672 images, FOV 90, 0.125 m
voxels, 30 deg turns, 0.25 m steps, obstacles up to 1.9 m, "target found" within 1.0 m),
``src/models/agent_fbe.py`` (a spin of (360 - FOV) / turn = 9 left turns, then nearest-frontier
exploration; the goal is approached as soon as it is localized, with no re-verification),
``habitat_mp3d_runner.py`` / ``robothor_challenge.py`` (250 steps, thresholds from
``hparams/habitat.json`` / ``hparams/robo.json``, the ImageNet prompt ensemble by default), and the
failed-move depth heuristic (``fail_stop``) on dead-reckoned poses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from embodied.errors import ConfigError

__all__ = ["CowPreset", "COW_PRESETS", "cow_preset", "preset_threshold"]


@dataclass(frozen=True)
class CowPreset:
    """One of CoW's setups.

    Attributes:
        name: "cow-habitat" or "cow-robothor".
        thresholds: which of CoW's hparams tables the localizer threshold comes from ("habitat" /
            "robothor", see :func:`embodied.localization.cow_threshold`).
        agent: CowConfig fields.
        sensor: simulator sensor fields (width, height, hfov_deg) where the simulator has them.
        simulator: per-simulator config fields (e.g. THOR's locobot agent), applied when that one runs.
        max_steps: the episode budget.
    """

    name: str
    thresholds: str
    agent: dict[str, Any]
    sensor: dict[str, Any]
    max_steps: int
    simulator: dict[str, dict[str, Any]] = field(default_factory=dict)


_COW_AGENT = {
    "localizer": "patch", "frontier": "nearest", "vocabulary": (), "proposals": "grid", "refine": False,
    "pose_source": "odometry", "spin": True, "spin_turns": 9, "stop_distance_m": 1.0, "map_resolution_m": 0.125,
    "max_obstacle_height_m": 1.9, "goal_miss_logodds": 0.0, "goal_stop_logodds": 1.0, "templates": "imagenet",
}
_COW_SENSOR = {"width": 672, "height": 672, "hfov_deg": 90.0}

COW_PRESETS: dict[str, CowPreset] = {
    "cow-habitat": CowPreset("cow-habitat", "habitat", _COW_AGENT, _COW_SENSOR, 250),
    "cow-robothor": CowPreset("cow-robothor", "robothor", _COW_AGENT, _COW_SENSOR, 250,
                              simulator={"thor": {"agent_mode": "locobot", "visibility_distance_m": 1.0}}),
}


def cow_preset(name: str) -> CowPreset:
    """The preset called ``name`` (ConfigError naming the choices otherwise)."""
    if name not in COW_PRESETS:
        raise ConfigError(f"unknown preset '{name}'; choose from {', '.join(COW_PRESETS)}")
    return COW_PRESETS[name]


def preset_threshold(preset: CowPreset, config: Any, clip: Any = None) -> tuple[float | None, str]:
    """CoW's threshold for ``config``'s localizer under ``preset``, or None where CoW's does not apply,
    with a note for the summary saying which one it is and why.

    CoW's hparams hold for CoW's rules and weights only: OpenAI's CLIP (``clip.pretrained ==
    "openai"``, no checkpoint, not random), CLIP-Patch as CoW's softmax over the 3 x 3 cells (no
    vocabulary), CLIP-Ref, CLIP-Grad, OWL-ViT by checkpoint. Anything else keeps the toolkit's.

    Args:
        config: a CowConfig; clip: its ClipConfig (None when no CLIP model runs).
    """
    from embodied.localization import cow_threshold

    kind = config.localizer
    if kind == "oracle":
        return None, "none (oracle localizer)"
    if kind == "dense" or (kind == "patch" and config.vocabulary):
        what = "a dense localizer" if kind == "dense" else "CLIP-Patch over a vocabulary (P(goal | patch))"
        return None, f"the toolkit's: CoW has no threshold for {what}"
    if kind == "owl":
        model = config.owl_checkpoint
    elif clip is None or clip.checkpoint or clip.random_init or clip.pretrained != "openai":
        import os

        weights = "no CLIP" if clip is None else os.path.basename(str(clip.checkpoint)) if clip.checkpoint else \
            "random weights" if clip.random_init else f"{clip.model} {clip.pretrained or 'default tag'}"
        return None, f"the toolkit's for {weights}: CoW's are for OpenAI's weights (--clip-pretrained openai)"
    else:
        model = clip.model
    try:
        t = cow_threshold(preset.thresholds, model, kind)
    except ConfigError as exc:
        return None, f"the toolkit's (CoW publishes none: {exc})"
    return t, f"{t} (CoW's hparams, {preset.thresholds})"
