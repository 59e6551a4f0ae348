"""TEST STAND-IN for ``habitat_sim.agent`` (not the real habitat-sim): agent configuration and state holders.

Slotted dataclasses, so setting an attribute the real classes lack raises AttributeError, as it does on the
real ``attrs`` (slots=True) classes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["ActuationSpec", "ActionSpec", "AgentConfiguration", "AgentState", "SixDOFPose", "Quaternion"]


@dataclass(frozen=True, slots=True)
class Quaternion:
    """numpy-quaternion look-alike: ``.w .x .y .z`` (what real ``get_state()`` returns in habitat-sim 0.2/0.3)."""

    w: float
    x: float
    y: float
    z: float


@dataclass(slots=True)
class ActuationSpec:
    """``amount``: metres (moves) or degrees (turns, looks); ``constraint``: look limit in degrees or None."""

    amount: float
    constraint: float | None = None


@dataclass(slots=True)
class ActionSpec:
    name: str
    actuation: ActuationSpec | None = None


def _default_action_space() -> dict[str, ActionSpec]:
    return {
        "move_forward": ActionSpec("move_forward", ActuationSpec(amount=0.25)),
        "turn_left": ActionSpec("turn_left", ActuationSpec(amount=10.0)),
        "turn_right": ActionSpec("turn_right", ActuationSpec(amount=10.0)),
    }


@dataclass(slots=True)
class AgentConfiguration:
    height: float = 1.5
    radius: float = 0.1
    sensor_specifications: list[Any] = field(default_factory=list)
    action_space: dict[Any, ActionSpec] = field(default_factory=_default_action_space)
    body_type: str = "cylinder"


@dataclass(slots=True)
class SixDOFPose:
    """World position (3,) and world rotation of a sensor (habitat frame)."""

    position: np.ndarray = field(default_factory=lambda: np.zeros(3))
    rotation: Any = field(default_factory=lambda: Quaternion(1.0, 0.0, 0.0, 0.0))


@dataclass(slots=True)
class AgentState:
    """``position`` (3,) habitat metres; ``rotation``: a quaternion object, or a list/array of
    coefficients ``[x, y, z, w]`` (read as such by ``set_state``, like the real ``quat_from_coeffs``)."""

    position: Any = field(default_factory=lambda: np.zeros(3))
    rotation: Any = field(default_factory=lambda: Quaternion(1.0, 0.0, 0.0, 0.0))
    sensor_states: dict[str, SixDOFPose] = field(default_factory=dict)
