"""Settings of :class:`~sims.thor.ThorSimulator` (:class:`ThorConfig`), its checks and its
``ai2thor.controller.Controller`` keyword arguments."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from types import MappingProxyType
from typing import Any

from embodied.errors import ConfigError
from embodied.types import CameraIntrinsics
from sims.thor.frames import vertical_fov_deg

DEFAULT_AGENT_CENTRE_HEIGHT_M = 0.9009995
"""Height (metres) of THOR's reported agent position above the floor for the standing default agent."""

PLATFORMS = ("CloudRendering", "Linux64", "OSXIntel64")
"""Values accepted for ``ThorConfig.platform`` (names of ``ai2thor.platform`` classes)."""

# CoW's RoboTHOR setup, read from real-stanford/cow ``config_cow.yaml`` (the controller settings its
# ``robothor_challenge.py`` starts THOR with): ``initialize: {rotateStepDegrees: 30, visibilityDistance: 1.0,
# gridSize: 0.25, agentMode: locobot, fieldOfView: 90, snapToGrid: False, ...}``, ``width: 672``,
# ``height: 672``, ``max_steps: 250``; ``src/simulation/constants.py`` agrees (IMAGE_WIDTH = IMAGE_HEIGHT = 672,
# FOV = 90, ROTATION_DEG = 30, FORWARD_M = 0.25). CoW's agents send plain ``LookUp`` / ``LookDown``, i.e.
# THOR's default 30 degrees, and its ``robothor_challenge.py`` teleports every start with ``horizon: 0``
# (overriding the episode's ``initial_horizon``), as ThorSimulator does. Not carried over: ``agentType:
# stochastic`` and ``continuousMode: True`` (ai2thor 5 ignores ``continuousMode``; ThorConfig has no agentType).
# The scene is only the default one (episodes name their own): RoboTHOR's first val scene, where CoW was scored.
THOR_PRESETS: Mapping[str, Mapping[str, Any]] = MappingProxyType({
    "robothor-cow": MappingProxyType(dict(
        scene="FloorPlan_Val1_1",
        width=672,
        height=672,
        hfov_deg=90.0,  # square images: THOR's vertical fieldOfView 90 is also the horizontal one
        forward_m=0.25,
        turn_deg=30.0,
        tilt_deg=30.0,
        agent_mode="locobot",
        visibility_distance_m=1.0,
        snap_to_grid=False,
        max_steps=250,
    )),
})
"""Named :class:`ThorConfig` settings (:meth:`ThorConfig.preset`): preset name -> field values."""


# ---------------------------------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ThorConfig:
    """Settings of :class:`ThorSimulator`.

    Attributes:
        scene: an iTHOR / RoboTHOR scene name ("FloorPlan1", "FloorPlan_Train1_1") or a ProcTHOR house dict.
        width, height: image size in pixels.
        hfov_deg: horizontal field of view in degrees, in (0, 180).
        forward_m: MOVE_FORWARD distance in metres; also THOR's ``gridSize``.
        turn_deg: TURN_LEFT / TURN_RIGHT angle in degrees; also THOR's ``rotateStepDegrees``.
        tilt_deg: LOOK_UP / LOOK_DOWN angle in degrees (THOR clamps the horizon to [-30, 60]).
        agent_mode: THOR ``agentMode`` ("default", "locobot", "stretch", ...).
        visibility_distance_m: THOR ``visibilityDistance`` (metres).
        local_executable_path: path to an already downloaded Unity build executable; skips the download.
            ai2thor launches such a build as Linux64 (X server) whatever ``platform`` says; for a
            CloudRendering build, unpack it into ``~/.ai2thor/releases`` instead.
        platform: None (ai2thor picks Linux64 on Linux, which needs an X server) or "CloudRendering"
            (headless, Vulkan GPU), "Linux64", "OSXIntel64".
        snap_to_grid: THOR ``snapToGrid`` (needs ``turn_deg`` to be a multiple of 90).
        max_steps: an episode is done after this many steps.
        agent_centre_height_m: height of THOR's reported agent position above the floor (see module docs).
    """

    scene: str | Mapping[str, Any] = "FloorPlan1"
    width: int = 224
    height: int = 224
    hfov_deg: float = 90.0
    forward_m: float = 0.25
    turn_deg: float = 30.0
    tilt_deg: float = 30.0
    agent_mode: str = "default"
    visibility_distance_m: float = 1.5
    local_executable_path: str | None = None
    platform: str | None = None
    snap_to_grid: bool = False
    max_steps: int = 500
    agent_centre_height_m: float = DEFAULT_AGENT_CENTRE_HEIGHT_M

    def __post_init__(self) -> None:
        _check_scene(self.scene)
        for name in ("width", "height", "max_steps"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ConfigError(f"ThorConfig.{name} must be a positive integer, got {value!r}")
        for name in ("forward_m", "turn_deg", "tilt_deg", "visibility_distance_m"):
            value = getattr(self, name)
            if not _is_real(value) or not math.isfinite(value) or value <= 0:
                raise ConfigError(f"ThorConfig.{name} must be a finite number > 0, got {value!r}")
        if not _is_real(self.hfov_deg) or not 0.0 < self.hfov_deg < 180.0:
            raise ConfigError(f"ThorConfig.hfov_deg must be in (0, 180), got {self.hfov_deg!r}")
        if not _is_real(self.agent_centre_height_m) or not math.isfinite(self.agent_centre_height_m):
            raise ConfigError(f"ThorConfig.agent_centre_height_m must be finite, got {self.agent_centre_height_m!r}")
        if not isinstance(self.agent_mode, str) or not self.agent_mode.strip():
            raise ConfigError(f"ThorConfig.agent_mode must be a non-empty string, got {self.agent_mode!r}")
        if self.platform is not None and self.platform not in PLATFORMS:
            raise ConfigError(f"ThorConfig.platform must be None or one of {PLATFORMS}, got {self.platform!r}")
        if self.snap_to_grid and self.turn_deg % 90.0 != 0.0:
            raise ConfigError(
                f"ThorConfig.snap_to_grid=True needs turn_deg to be a multiple of 90 (THOR refuses other "
                f"rotateStepDegrees on the grid), got {self.turn_deg}"
            )

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> ThorConfig:
        """The config of preset ``name`` (a key of :data:`THOR_PRESETS`), with ``overrides`` applied.

        ``ThorConfig.preset("robothor-cow")`` is CoW's RoboTHOR setup (real-stanford/cow): locobot agent,
        672 x 672 images, 90 degree field of view, 0.25 m steps, 30 degree turns and looks,
        ``visibilityDistance`` 1.0 m, 250 steps.

        Raises:
            ConfigError: unknown preset name or override field, or an invalid value.
        """
        if name not in THOR_PRESETS:
            raise ConfigError(f"unknown ThorConfig preset {name!r}; choose from: {', '.join(THOR_PRESETS)}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ConfigError(f"ThorConfig has no field(s) {unknown}; fields: {', '.join(sorted(known))}")
        return replace(cls(**THOR_PRESETS[name]), **overrides)

    @property
    def intrinsics(self) -> CameraIntrinsics:
        """Pinhole intrinsics of the agent camera (square pixels, centred principal point)."""
        return CameraIntrinsics.from_hfov(self.width, self.height, self.hfov_deg)

    def controller_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``ai2thor.controller.Controller`` (platform still as a name)."""
        kwargs: dict[str, Any] = dict(
            scene=self.scene,
            width=self.width,
            height=self.height,
            fieldOfView=vertical_fov_deg(self.width, self.height, self.hfov_deg),
            gridSize=self.forward_m,
            rotateStepDegrees=self.turn_deg,
            visibilityDistance=self.visibility_distance_m,
            agentMode=self.agent_mode,
            snapToGrid=self.snap_to_grid,
            renderDepthImage=True,
            renderInstanceSegmentation=True,
        )
        if self.local_executable_path:
            kwargs["local_executable_path"] = os.fspath(self.local_executable_path)
        if self.platform:
            kwargs["platform"] = self.platform
        return kwargs


def _is_real(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_scene(scene: Any) -> None:
    if isinstance(scene, str):
        if not scene.strip():
            raise ConfigError("ThorConfig.scene must be a scene name or a ProcTHOR house dict, got ''")
    elif not isinstance(scene, Mapping):
        raise ConfigError(
            f"ThorConfig.scene must be a scene name or a ProcTHOR house dict, got {type(scene).__name__}"
        )
