"""What passes between an articulated-object simulator, the inference and the interaction policy.

A simulator hands out :class:`MultiView` observations (calibrated RGB-D views; per-pixel link ids
only for evaluation) and executes :class:`Interaction` s; the inference (:mod:`embodied.articulation`)
sees nothing else. Frames are the toolkit's: world Z up, OpenCV cameras, metres.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from embodied.errors import ConfigError
from embodied.types import CameraIntrinsics

__all__ = ["RGBDView", "MultiView", "Interaction", "InteractionResult", "INTERACTION_KINDS"]

INTERACTION_KINDS = ("push", "pull")


@dataclass(frozen=True)
class RGBDView:
    """One calibrated RGB-D view.

    Attributes:
        rgb: (H, W, 3) uint8; depth: (H, W) float32 z-depth in metres, 0 = no return.
        intrinsics: the pinhole camera; T_world_cam: (4, 4) OpenCV camera pose.
        link_id: (H, W) int32 index of the link each pixel sees, -1 none; evaluation only (None on real data).
    """

    rgb: np.ndarray
    depth: np.ndarray
    intrinsics: CameraIntrinsics
    T_world_cam: np.ndarray
    link_id: np.ndarray | None = None


@dataclass(frozen=True)
class MultiView:
    """The views of one moment (same object state)."""

    views: tuple[RGBDView, ...]

    def __post_init__(self) -> None:
        if not self.views:
            raise ConfigError("a MultiView needs at least one view")


@dataclass(frozen=True)
class Interaction:
    """Probe the surface at ``point_m`` and move ``distance_m`` along ``direction``.

    ``push``: the probe approaches along ``-normal`` until it touches, then pushes. ``pull``: it grasps
    the surface at the point (a contact constraint) and drags it. ``normal`` is the outward surface
    normal the agent estimated there; every vector is in world coordinates (3,), directions unit length.
    """

    kind: str
    point_m: np.ndarray
    direction: np.ndarray
    normal: np.ndarray
    distance_m: float = 0.15

    def __post_init__(self) -> None:
        if self.kind not in INTERACTION_KINDS:
            raise ConfigError(f"unknown interaction '{self.kind}'; choose from {INTERACTION_KINDS}")
        for name in ("point_m", "direction", "normal"):
            v = np.asarray(getattr(self, name), np.float64)
            if v.shape != (3,) or not np.isfinite(v).all():
                raise ConfigError(f"Interaction.{name} must be 3 finite numbers, got {v!r}")
            if name != "point_m":
                n = float(np.linalg.norm(v))
                if n < 1e-9:
                    raise ConfigError(f"Interaction.{name} is zero")
                v = v / n
            object.__setattr__(self, name, v)
        if not 0.0 < self.distance_m <= 1.0:
            raise ConfigError(f"Interaction.distance_m must be in (0, 1] m, got {self.distance_m}")

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "point_m": self.point_m.tolist(), "direction": self.direction.tolist(),
                "normal": self.normal.tolist(), "distance_m": float(self.distance_m)}


@dataclass(frozen=True)
class InteractionResult:
    """What the probe itself can tell (proprioception): whether it touched a surface, and how far it
    travelled along the direction before it stopped (a push meeting a part at its limit) or its grasp
    slipped (``travel_m``; None when unknown).

    ``info`` carries simulator-side facts for evaluation and logs only (which link, joint deltas);
    the inference never reads it.
    """

    touched: bool
    travel_m: float | None = None
    info: dict[str, Any] = field(default_factory=dict)
