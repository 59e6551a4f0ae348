"""Structure from Action inference: parts and joints of an articulated object from its own interactions.

Simulator-free: it sees calibrated RGB-D views (:class:`MultiView`) and the interactions it chose,
nothing else. The names users need, imported on first use:

>>> from embodied.articulation import ArticulationEstimator, run_articulation_episode, export_urdf
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "RGBDView": "types", "MultiView": "types", "Interaction": "types", "InteractionResult": "types",
    "Cloud": "fusion", "fuse_views": "fusion",
    "ArticulationEstimator": "estimator", "EstimatorConfig": "estimator", "DiscoveredPart": "estimator",
    "UpdateReport": "estimator", "register_rigid": "estimator",
    "JointEstimate": "joints", "fit_joint": "joints", "joint_from_motion": "joints",
    "axis_angle_error_deg": "joints", "line_distance_m": "joints",
    "TruePart": "metrics", "evaluate_parts": "metrics", "summarize_articulation": "metrics", "voxel_iou": "metrics",
    "run_articulation_episode": "episode", "export_urdf": "export", "points_to_mesh": "export",
    "draw_segmentation": "draw",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"embodied.articulation.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'embodied.articulation' has no attribute '{name}'")
