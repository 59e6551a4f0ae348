"""CLIP on Wheels: zero-shot object navigation = CLIP localization + classical frontier exploration."""

from agents.cow.agent import CowAgent
from agents.cow.config import CowConfig

__all__ = ["CowAgent", "CowConfig"]
