"""The contracts between simulators and agents: cameras, poses, observations, actions, protocols.

Numpy only. Frames, units and pixel conventions are those of :mod:`embodied.geometry`
(world right-handed Z-up metres, camera OpenCV, depth = z-depth with 0 = no return).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol, runtime_checkable

import numpy as np

from embodied import geometry
from embodied.errors import ObservationError

__all__ = [
    "NO_DEPTH",
    "NO_INSTANCE",
    "CameraIntrinsics",
    "AgentPose",
    "Action",
    "NAVIGATION_ACTIONS",
    "ActionAt",
    "navigation_action",
    "Observation",
    "StepResult",
    "Simulator",
    "GeodesicOracle",
    "Agent",
]

NO_DEPTH: float = 0.0
"""Depth value of a pixel with no return (sky, beyond max range, invalid)."""
NO_INSTANCE: int = -1
"""Instance id of a pixel that shows no labelled object."""


@dataclass(frozen=True, slots=True)
class CameraIntrinsics:
    """Pinhole intrinsics of an image of ``width`` x ``height`` pixels (pixel centres at integers)."""

    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float

    def __post_init__(self) -> None:
        if self.width <= 0 or self.height <= 0:
            raise ValueError(f"image size must be positive, got {self.width}x{self.height}")
        if not all(math.isfinite(v) for v in (self.cx, self.cy)):
            raise ValueError(f"principal point must be finite, got cx={self.cx} cy={self.cy}")
        if not all(math.isfinite(v) for v in (self.fx, self.fy)) or self.fx <= 0 or self.fy <= 0:
            raise ValueError(f"focal lengths must be finite and > 0, got fx={self.fx} fy={self.fy}")

    @classmethod
    def from_hfov(cls, width: int, height: int, hfov_deg: float) -> CameraIntrinsics:
        """Square pixels, principal point at the image centre, horizontal field of view in degrees."""
        if not 0.0 < hfov_deg < 180.0:
            raise ValueError(f"hfov_deg must be in (0, 180), got {hfov_deg}")
        f = (width / 2.0) / math.tan(math.radians(hfov_deg) / 2.0)
        return cls(width, height, f, f, (width - 1) / 2.0, (height - 1) / 2.0)

    @property
    def K(self) -> np.ndarray:
        """(3, 3) float64 pinhole matrix."""
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    @property
    def hfov_deg(self) -> float:
        return math.degrees(2.0 * math.atan((self.width / 2.0) / self.fx))

    @property
    def vfov_deg(self) -> float:
        return math.degrees(2.0 * math.atan((self.height / 2.0) / self.fy))


@dataclass(frozen=True, slots=True)
class AgentPose:
    """Pose of the agent's base on the floor: position (metres, world frame) and heading about +Z."""

    position_m: tuple[float, float, float]
    yaw_rad: float

    @property
    def T_world_base(self) -> np.ndarray:
        """(4, 4) float64 transform of the base frame (x forward, y left, z up)."""
        return geometry.transform_from_position_yaw(np.asarray(self.position_m), self.yaw_rad)


class Action(str, Enum):
    """Discrete actions. Step sizes (metres, degrees) live in each simulator's config."""

    STOP = "stop"
    MOVE_FORWARD = "move_forward"
    TURN_LEFT = "turn_left"
    TURN_RIGHT = "turn_right"
    LOOK_UP = "look_up"
    LOOK_DOWN = "look_down"
    PICK_UP = "pick_up"
    PUT_DOWN = "put_down"


NAVIGATION_ACTIONS: tuple[Action, ...] = (Action.STOP, Action.MOVE_FORWARD, Action.TURN_LEFT, Action.TURN_RIGHT,
                                          Action.LOOK_UP, Action.LOOK_DOWN)
"""The ObjectNav action set (habitat-lab's six); every simulator takes these. PICK_UP / PUT_DOWN are
for simulators that manipulate (sims.raycast.RearrangeSimulator)."""


@dataclass(frozen=True, slots=True)
class ActionAt:
    """An interaction aimed at a point of the last frame, as AI2-THOR's ``PickupObject(x=, y=)``:
    ``x`` from the left edge and ``y`` from the top edge, as fractions of the width and height in
    [0, 1]. A bare ``Action.PICK_UP`` / ``Action.PUT_DOWN`` aims at the image centre (0.5, 0.5)."""

    action: Action
    x: float = 0.5
    y: float = 0.5

    def __post_init__(self) -> None:
        object.__setattr__(self, "action", Action(self.action))
        if self.action not in (Action.PICK_UP, Action.PUT_DOWN):
            raise ValueError(f"ActionAt is for pick_up / put_down, got {self.action.value}")
        if not (0.0 <= self.x <= 1.0 and 0.0 <= self.y <= 1.0):
            raise ValueError(f"ActionAt x, y are fractions of the image in [0, 1], got ({self.x}, {self.y})")


def navigation_action(action: Any, simulator: str) -> Action:
    """``action`` as one of NAVIGATION_ACTIONS, or a ConfigError naming what ``simulator`` accepts."""
    from embodied.errors import ConfigError

    try:
        act = Action(action.action if isinstance(action, ActionAt) else action)
    except ValueError:
        raise ConfigError(f"unknown action {action!r}; choose from {[a.value for a in Action]}") from None
    if act not in NAVIGATION_ACTIONS:
        raise ConfigError(f"{simulator} has no '{act.value}' action (it navigates only: "
                          f"{[a.value for a in NAVIGATION_ACTIONS]}); pick-up and put-down need the "
                          "built-in rearrangement simulator (sims.raycast.RearrangeSimulator)")
    return act


@dataclass(frozen=True, slots=True, kw_only=True)
class Observation:
    """One sensor frame as every agent sees it.

    Attributes:
        rgb: (H, W, 3) uint8.
        depth: (H, W) float32 z-depth in metres; ``NO_DEPTH`` (0) = no return; None when absent.
        intrinsics: camera intrinsics matching (H, W).
        T_world_cam: (4, 4) float64 camera pose (OpenCV camera frame -> world).
        agent_pose: the base pose, or None when the robot does not provide one.
        step: index of this frame in the episode (0 after reset).
        goal: the goal text (e.g. "chair"), or None.
        semantic: (H, W) int32 instance ids, ``NO_INSTANCE`` (-1) = none; None when absent.
        labels: instance id -> category name for the ids in ``semantic``.
        holding: the agent holds an object (manipulating simulators; a robot's gripper state).
        extras: simulator-private data; core code never reads it.
    """

    rgb: np.ndarray
    intrinsics: CameraIntrinsics
    T_world_cam: np.ndarray
    depth: np.ndarray | None = None
    agent_pose: AgentPose | None = None
    step: int = 0
    goal: str | None = None
    semantic: np.ndarray | None = None
    labels: Mapping[int, str] = field(default_factory=dict)
    holding: bool = False
    extras: Mapping[str, Any] = field(default_factory=dict)

    def validate(self) -> Observation:
        """Check shapes, dtypes, finiteness and the pose; raise ObservationError naming the problem.

        Returns ``self`` so it can be chained.
        """
        W, H = self.intrinsics.width, self.intrinsics.height
        _check_array("rgb", self.rgb, (H, W, 3), np.uint8)
        if self.depth is not None:
            _check_array("depth", self.depth, (H, W), np.float32)
            bad = ~np.isfinite(self.depth)
            if bad.any():
                raise ObservationError(
                    f"depth has {int(bad.sum())} NaN/inf pixels; mark pixels with no return as "
                    f"{NO_DEPTH} (embodied.types.NO_DEPTH) instead"
                )
            if (self.depth < 0).any():
                raise ObservationError(f"depth has negative values (min {float(self.depth.min()):.3f} m)")
        if self.semantic is not None:
            _check_array("semantic", self.semantic, (H, W), np.int32)
            ids = set(np.unique(self.semantic).tolist()) - {NO_INSTANCE}
            unlabelled = sorted(ids - set(self.labels))
            if unlabelled:
                raise ObservationError(
                    f"semantic has instance ids without a label: {unlabelled[:10]}; add them to labels"
                )
        T = np.asarray(self.T_world_cam)
        if T.shape != (4, 4) or T.dtype != np.float64:
            raise ObservationError(f"T_world_cam must be (4, 4) float64, got {T.shape} {T.dtype}")
        if not geometry.is_rigid_transform(T):
            raise ObservationError("T_world_cam is not a rigid transform (non-finite, or R not orthonormal)")
        if self.agent_pose is not None:
            p = (*self.agent_pose.position_m, self.agent_pose.yaw_rad)
            if len(p) != 4 or not all(math.isfinite(v) for v in p):
                raise ObservationError(f"agent_pose must be a finite (x, y, z) and yaw, got {self.agent_pose}")
        if self.step < 0:
            raise ObservationError(f"step must be >= 0, got {self.step}")
        return self


def _check_array(name: str, arr: Any, shape: tuple[int, ...], dtype: type) -> None:
    if not isinstance(arr, np.ndarray):
        raise ObservationError(f"{name} must be a numpy array, got {type(arr).__name__}")
    if arr.shape != shape:
        raise ObservationError(f"{name} must have shape {shape} (from the intrinsics), got {arr.shape}")
    if arr.dtype != dtype:
        raise ObservationError(f"{name} must be {np.dtype(dtype).name}, got {arr.dtype}")


@dataclass(frozen=True, slots=True)
class StepResult:
    """What a simulator returns for one action."""

    observation: Observation
    collided: bool = False
    done: bool = False
    info: Mapping[str, Any] = field(default_factory=dict)


@runtime_checkable
class Simulator(Protocol):
    """A simulator that turns Actions into Observations. Extra abilities are separate protocols."""

    def reset(self, episode: Any = None, *, seed: int | None = None) -> Observation: ...

    def step(self, action: Action) -> StepResult: ...

    def close(self) -> None: ...


@runtime_checkable
class GeodesicOracle(Protocol):
    """A simulator that knows shortest walkable path lengths (for metrics and oracles)."""

    def geodesic_distance(self, start_m: np.ndarray, goal_m: np.ndarray) -> float: ...


@runtime_checkable
class Agent(Protocol):
    """A policy that only sees Observations and returns Actions."""

    def reset(self, goal: str) -> None: ...

    def act(self, observation: Observation) -> Action | ActionAt: ...
