"""The built-in CPU simulator: procedural houses rendered by ray casting (no GPU, no display).

The names commands and users need, imported on first use (``import sims.raycast`` stays light):

>>> from sims.raycast import RaycastSimulator, SimConfig, generate_house, panel
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "SimConfig": "sims.raycast.simulator", "RaycastSimulator": "sims.raycast.simulator",
    "HouseConfig": "sims.raycast.house", "generate_house": "sims.raycast.house",
    "generate_episodes": "sims.raycast.episodes", "split_house_seeds": "sims.raycast.episodes",
    "CATEGORIES": "sims.raycast.categories", "OBJECTNAV_GOALS": "sims.raycast.categories",
    "Scene": "sims.raycast.scene", "load_scene": "sims.raycast.scene",
    "panel": "sims.raycast.viz", "top_down_map": "sims.raycast.viz", "PICKUPABLE": "sims.raycast.categories",
    "RearrangeConfig": "sims.raycast.rearrange", "RearrangeSimulator": "sims.raycast.rearrange",
    "generate_rearrange_episodes": "sims.raycast.rearrange",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'sims.raycast' has no attribute '{name}'")
