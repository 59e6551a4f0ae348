"""Settings of :class:`~sims.habitat.HabitatSimulator` (:class:`HabitatConfig`) and their checks."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, fields
from typing import Any

from embodied.errors import ConfigError
from embodied.types import CameraIntrinsics

SCENE_SUFFIXES = (".glb", ".gltf", ".ply", ".obj")
"""File endings accepted for ``HabitatConfig.scene`` without a scene dataset config (".basis.glb" ends in ".glb")."""

OBJECTNAV_CHALLENGE: dict[str, Any] = {
    "width": 640, "height": 480, "hfov_deg": 79.0, "sensor_height_m": 0.88, "depth_clip_m": (0.5, 5.0),
    "agent_radius_m": 0.18, "agent_height_m": 0.88, "recompute_navmesh": True, "allow_sliding": False,
    "forward_m": 0.25, "turn_deg": 30.0, "tilt_deg": 30.0, "tilt_limit_deg": None, "max_steps": 500,
}
"""The settings :meth:`HabitatConfig.objectnav_challenge` applies (sources in its docstring)."""


# ---------------------------------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class HabitatConfig:
    """Settings of :class:`HabitatSimulator` (defaults: habitat-lab's HM3D ObjectNav agent).

    The defaults follow facebookresearch/habitat-lab ``habitat-lab/habitat/config/benchmark/nav/objectnav/
    objectnav_hm3d.yaml`` (agent radius 0.18 m / height 0.88 m, camera 0.88 m, HFOV 79, turn 30,
    ``habitat_sim_v0.allow_sliding: False``, 500 steps) and, for what it leaves unset, habitat-lab's
    ``habitat/config/default_structured_configs.py`` (``AgentConfig.max_climb`` 0.2 m, ``max_slope`` 45 deg,
    ``forward_step_size`` 0.25 m, ``default_agent_navmesh: True``). Image size (224 x 224) and tilt (30
    deg, limited to +-60) are this toolkit's; :meth:`objectnav_challenge` gives the challenge sensor.

    Attributes:
        scene: path of a scene file (.glb, .basis.glb, .gltf, .ply, .obj), or a scene handle when
            ``scene_dataset_config`` is given.
        scene_dataset_config: path of a ``*.scene_dataset_config.json`` (HM3D semantics need it), or None.
        width, height: image size in pixels.
        hfov_deg: horizontal field of view in degrees, in (0, 180) (79 = habitat ObjectNav).
        sensor_height_m: camera height above the agent's base (metres).
        agent_radius_m, agent_height_m: the agent cylinder (navmesh settings), metres.
        agent_max_climb_m: highest step the navmesh lets the agent climb (``NavMeshSettings.agent_max_climb``),
            metres.
        agent_max_slope_deg: steepest walkable floor (``NavMeshSettings.agent_max_slope``), degrees in (0, 90).
        recompute_navmesh: rebuild the scene's navmesh for this agent (radius, height, climb, slope) after
            every scene load, as habitat-lab's ``default_agent_navmesh`` does; also builds one when the scene
            ships none. False: use the scene's own ``.navmesh`` as it is (none: no collision checking).
        allow_sliding: ``SimulatorConfiguration.allow_sliding``: a blocked MOVE_FORWARD slides along the
            obstacle (True, habitat-sim's default) or stops where it hit (False, habitat ObjectNav).
        depth_clip_m: ``(min_depth, max_depth)`` in metres, habitat-lab's depth sensor range (the ObjectNav
            challenge sensor: (0.5, 5.0)); depth outside it becomes 0 (no return, see
            :func:`~sims.habitat.clip_depth_m`). None: the raw depth.
        forward_m: MOVE_FORWARD distance in metres.
        turn_deg: TURN_LEFT / TURN_RIGHT angle in degrees.
        tilt_deg: LOOK_UP / LOOK_DOWN angle in degrees.
        tilt_limit_deg: the camera pitch is kept within +-this (habitat's look constraint); None = no limit.
        semantic: add the semantic sensor (needs a scene with semantic annotations).
        seed: ``SimulatorConfiguration.random_seed`` (and the random starts of ``reset()``).
        gpu_device_id: the CUDA / EGL device habitat renders on.
        max_steps: an episode is done after this many steps.
    """

    scene: str
    scene_dataset_config: str | None = None
    width: int = 224
    height: int = 224
    hfov_deg: float = 79.0
    sensor_height_m: float = 0.88
    agent_radius_m: float = 0.18
    agent_height_m: float = 0.88
    agent_max_climb_m: float = 0.2
    agent_max_slope_deg: float = 45.0
    recompute_navmesh: bool = True
    allow_sliding: bool = False
    depth_clip_m: tuple[float, float] | None = None
    forward_m: float = 0.25
    turn_deg: float = 30.0
    tilt_deg: float = 30.0
    tilt_limit_deg: float | None = 60.0
    semantic: bool = True
    seed: int = 0
    gpu_device_id: int = 0
    max_steps: int = 500

    def __post_init__(self) -> None:
        _check_scene(self.scene, self.scene_dataset_config)
        for name in ("width", "height", "max_steps"):
            _check_int(name, getattr(self, name), minimum=1)
        _check_int("seed", self.seed, minimum=None)
        _check_int("gpu_device_id", self.gpu_device_id, minimum=0)
        for name in ("sensor_height_m", "agent_radius_m", "agent_height_m", "forward_m", "turn_deg", "tilt_deg"):
            value = getattr(self, name)
            if not _is_real(value) or not math.isfinite(value) or value <= 0:
                raise ConfigError(f"HabitatConfig.{name} must be a finite number > 0, got {value!r}")
        climb, slope = self.agent_max_climb_m, self.agent_max_slope_deg
        if not _is_real(climb) or not 0 <= climb < math.inf:
            raise ConfigError(f"HabitatConfig.agent_max_climb_m must be a finite number >= 0, got {climb!r}")
        if not _is_real(slope) or not 0 < slope < 90:
            raise ConfigError(f"HabitatConfig.agent_max_slope_deg must be in (0, 90), got {slope!r}")
        if not _is_real(self.hfov_deg) or not 0.0 < self.hfov_deg < 180.0:
            raise ConfigError(f"HabitatConfig.hfov_deg must be in (0, 180), got {self.hfov_deg!r}")
        if self.tilt_limit_deg is not None and (not _is_real(self.tilt_limit_deg) or not 0 < self.tilt_limit_deg <= 90):
            raise ConfigError(f"HabitatConfig.tilt_limit_deg must be None or in (0, 90], got {self.tilt_limit_deg!r}")
        for name in ("semantic", "recompute_navmesh", "allow_sliding"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"HabitatConfig.{name} must be True or False, got {getattr(self, name)!r}")
        object.__setattr__(self, "depth_clip_m", _check_depth_clip(self.depth_clip_m))

    @classmethod
    def objectnav_challenge(cls, scene: str, **overrides: Any) -> HabitatConfig:
        """The habitat ObjectNav challenge agent and sensor on ``scene``; keyword ``overrides`` win.

        640 x 480 RGB-D at HFOV 79 and 0.88 m, depth clipped to [0.5, 5.0] m, agent radius 0.18 m /
        height 0.88 m with its own navmesh, no sliding, MOVE_FORWARD 0.25 m, turns 30 deg, 500 steps
        (facebookresearch/habitat-lab ``habitat-lab/habitat/config/benchmark/nav/objectnav/objectnav_hm3d.yaml``
        and facebookresearch/habitat-challenge ``configs/challenge_objectnav2022.local.rgbd.yaml``). Looks are
        30 deg (``TILT_ANGLE: 30`` of the challenge config; objectnav_hm3d.yaml leaves habitat-lab's default
        15) without a pitch limit: habitat-lab's look actions carry no constraint (habitat-lab
        ``habitat/sims/habitat_simulator/actions.py``, ``HabitatSimV1ActionSpaceConfiguration``).

        Raises:
            ConfigError: an unknown override name or a bad value.
        """
        settings: dict[str, Any] = dict(OBJECTNAV_CHALLENGE)
        unknown = sorted(set(overrides) - {f.name for f in fields(cls)})
        if unknown:
            raise ConfigError(f"HabitatConfig.objectnav_challenge: unknown setting(s) {', '.join(unknown)}")
        settings.update(overrides)
        return cls(scene=scene, **settings)

    @property
    def intrinsics(self) -> CameraIntrinsics:
        """Pinhole intrinsics of the agent camera (square pixels, centred principal point)."""
        return CameraIntrinsics.from_hfov(self.width, self.height, self.hfov_deg)


def _is_real(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_depth_clip(value: Any) -> tuple[float, float] | None:
    """None, or ``(min_depth_m, max_depth_m)`` as floats with 0 <= min < max < inf."""
    if value is None:
        return None
    try:
        lo, hi = value
    except (TypeError, ValueError):
        lo = hi = None
    if not (_is_real(lo) and _is_real(hi) and 0 <= lo < hi < math.inf):
        raise ConfigError(f"HabitatConfig.depth_clip_m must be None or (min_depth_m, max_depth_m) with "
                          f"0 <= min < max (the challenge sensor: (0.5, 5.0)), got {value!r}")
    return float(lo), float(hi)


def _check_int(name: str, value: Any, minimum: int | None) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or (minimum is not None and value < minimum):
        bound = "an integer" if minimum is None else f"an integer >= {minimum}"
        raise ConfigError(f"HabitatConfig.{name} must be {bound}, got {value!r}")


def _check_scene(scene: Any, dataset_config: Any) -> None:
    if dataset_config is not None and (not isinstance(dataset_config, (str, os.PathLike)) or not str(dataset_config)):
        raise ConfigError(f"HabitatConfig.scene_dataset_config must be a path or None, got {dataset_config!r}")
    if not isinstance(scene, str) or not scene.strip():
        raise ConfigError(f"HabitatConfig.scene must be the path of a scene file (.glb, .basis.glb, ...), "
                          f"got {scene!r}")
    if dataset_config is None and not scene.lower().endswith(SCENE_SUFFIXES):
        raise ConfigError(
            f"HabitatConfig.scene must be a scene file ending in one of {SCENE_SUFFIXES} (e.g. "
            f"'.../TEEsavR23oF.basis.glb'), or a scene handle together with scene_dataset_config; got {scene!r}"
        )


def _is_scene_file(scene: str) -> bool:
    return scene.lower().endswith(SCENE_SUFFIXES)


def _check_scene_exists(scene: str, dataset_config: str | None) -> None:
    """Raise ConfigError when a scene (or dataset config) file named by path does not exist."""
    if _is_scene_file(scene) and not os.path.isfile(scene):
        raise ConfigError(f"habitat scene file not found: {scene} (cwd {os.getcwd()})")
    if dataset_config is not None and not os.path.isfile(dataset_config):
        raise ConfigError(f"habitat scene dataset config not found: {dataset_config} (cwd {os.getcwd()})")


def _same_scene(a: str, b: str) -> bool:
    """True when two scene paths name the same scene (normalised paths, or the same existing file)."""
    if os.path.normpath(a) == os.path.normpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False
