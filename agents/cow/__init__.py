"""CLIP on Wheels: zero-shot object navigation = CLIP localization + classical frontier exploration."""

from agents.cow.agent import CowAgent
from agents.cow.config import CowConfig
from agents.cow.presets import COW_PRESETS, CowPreset, cow_preset, preset_threshold

__all__ = ["CowAgent", "CowConfig", "CowPreset", "COW_PRESETS", "cow_preset", "preset_threshold"]
