"""Settings of :class:`~sims.habitat.HabitatSimulator` (:class:`HabitatConfig`) and their checks."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

from embodied.errors import ConfigError
from embodied.types import CameraIntrinsics

SCENE_SUFFIXES = (".glb", ".gltf", ".ply", ".obj")
"""File endings accepted for ``HabitatConfig.scene`` without a scene dataset config (".basis.glb" ends in ".glb")."""


# ---------------------------------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class HabitatConfig:
    """Settings of :class:`HabitatSimulator` (defaults: habitat-lab's HM3D ObjectNav agent).

    Attributes:
        scene: path of a scene file (.glb, .basis.glb, .gltf, .ply, .obj), or a scene handle when
            ``scene_dataset_config`` is given.
        scene_dataset_config: path of a ``*.scene_dataset_config.json`` (HM3D semantics need it), or None.
        width, height: image size in pixels.
        hfov_deg: horizontal field of view in degrees, in (0, 180) (79 = habitat ObjectNav).
        sensor_height_m: camera height above the agent's base (metres).
        agent_radius_m, agent_height_m: the agent cylinder (navmesh settings), metres.
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
        if not _is_real(self.hfov_deg) or not 0.0 < self.hfov_deg < 180.0:
            raise ConfigError(f"HabitatConfig.hfov_deg must be in (0, 180), got {self.hfov_deg!r}")
        if self.tilt_limit_deg is not None and (not _is_real(self.tilt_limit_deg) or not 0 < self.tilt_limit_deg <= 90):
            raise ConfigError(f"HabitatConfig.tilt_limit_deg must be None or in (0, 90], got {self.tilt_limit_deg!r}")
        if not isinstance(self.semantic, bool):
            raise ConfigError(f"HabitatConfig.semantic must be True or False, got {self.semantic!r}")

    @property
    def intrinsics(self) -> CameraIntrinsics:
        """Pinhole intrinsics of the agent camera (square pixels, centred principal point)."""
        return CameraIntrinsics.from_hfov(self.width, self.height, self.hfov_deg)


def _is_real(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


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
