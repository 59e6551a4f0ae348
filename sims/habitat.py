"""habitat-sim adapter: ``habitat_sim.Simulator`` behind :class:`embodied.types.Simulator` and ``GeodesicOracle``.

habitat-sim is conda-only (``conda install habitat-sim -c conda-forge -c aihabitat``); it is imported
lazily, only when no simulator is injected, so importing this module never imports ``habitat_sim``.

Frames (all conversion happens here, at the edge; see :mod:`embodied.geometry` for ours):

* **habitat world**: right-handed, Y up, metres. An agent with identity rotation faces -Z with +X on its
  right; cameras look along their local -Z with +X right and +Y up (OpenGL convention).
  **Ours**: right-handed, Z up, metres, yaw about +Z from +X.
* **Points**: habitat ``(x, y, z)`` maps to ours as ``(X, Y, Z) = (-z, -x, y)``
  (:func:`habitat_to_world`, matrix :data:`R_WORLD_HABITAT`; inverse :func:`world_to_habitat`,
  ``(x, y, z) = (-Y, Z, -X)``). The matrix ``[[0, 0, -1], [-1, 0, 0], [0, 1, 0]]`` has determinant +1: a
  proper rotation, as it must be between two right-handed frames. habitat's forward -Z becomes our +X,
  its right +X becomes our -Y (our right when facing +X), its up +Y becomes our +Z.
* **Heading**: habitat agents turn about +Y only. A rotation by ``theta`` about +Y maps habitat's forward
  (0, 0, -1) to (-sin theta, 0, -cos theta), which is (cos theta, sin theta, 0) in our frame, so
  ``yaw = theta`` (:func:`habitat_quat_to_yaw`; inverse :func:`yaw_to_habitat_quat`). habitat's
  ``turn_left`` rotates the body by +amount about +Y (``rotate_y_local``), so a left turn increases
  ``theta`` and therefore our yaw (counter-clockwise seen from above), as in every simulator here.
* **Pitch**: ``look_up`` rotates each sensor by +amount about its local +X, which tips the camera's -Z
  up. Our tilt is the sensor's pitch relative to the body, positive looking up:
  ``tilt = atan2(f_y, -f_z)`` for the body-frame forward vector ``f`` of the sensor
  (:func:`sensor_tilt`, the same angle habitat's look constraint uses).
* **Camera**: ``T_world_cam = geometry.camera_pose(habitat_to_world(sensor_states["rgb"].position), yaw,
  tilt)`` (OpenCV camera frame; :func:`habitat_camera_pose`). habitat's pinhole camera has square pixels,
  a centred principal point and a horizontal field of view ``hfov``, which is exactly
  :meth:`CameraIntrinsics.from_hfov`. habitat-sim already flips its images to row 0 = top.
* **Quaternions** are handled as ``(w, x, y, z)`` float tuples in this module. :func:`quat_wxyz` reads
  numpy-quaternion (``.w .x .y .z``), magnum (``.scalar``, ``.vector``) and plain 4-sequences, which
  habitat stores as *coefficients* ``[x, y, z, w]`` (``habitat_sim.utils.common.quat_from_coeffs``, the
  ``start_rotation`` of dataset files, and the list form ``Agent.set_state`` accepts).
* **Base**: habitat agent positions lie on the navmesh (the floor), like our
  :class:`~embodied.types.AgentPose`; the camera sits ``sensor_height_m`` above it.
* **Depth**: the depth sensor gives float32 z-depth in metres with 0 for no return; NaN, inf and negative
  values become 0 as well.
* **Instances**: a pixel's instance id is the habitat semantic id of the object it shows (``obj.semantic_id``
  of ``sim.semantic_scene.objects``), which is fixed for the loaded scene. Semantic id 0 (unannotated),
  ids of no listed object and objects without a category become -1. Labels are our lower-case category
  names (:func:`habitat_category`, e.g. MP3D/HM3D "tv_monitor" -> "tv", "plant" -> "potted plant").
* **Collisions**: ``habitat_sim.Simulator.step`` reports them as ``observations["collided"]``; habitat-lab's
  wrapper exposes the same as ``previous_step_collided``, which is read when the key is missing.

habitat-sim API used: ``SimulatorConfiguration`` (scene_id, scene_dataset_config_file, enable_physics,
random_seed, gpu_device_id), ``agent.AgentConfiguration`` (height, radius, sensor_specifications,
action_space of ``agent.ActionSpec(name, agent.ActuationSpec(amount, constraint))``), ``CameraSensorSpec``
(uuid, sensor_type, sensor_subtype, resolution [H, W], position, hfov), ``Configuration(sim_cfg, [agent])``,
``Simulator(cfg)`` with ``step(name)``, ``get_sensor_observations()``, ``initialize_agent(0, AgentState)``,
``get_agent(0).get_state()``, ``seed``, ``reconfigure``, ``close``, ``pathfinder`` (``find_path`` with
``ShortestPath`` / ``MultiGoalShortestPath``, ``is_navigable``, ``snap_point``,
``get_random_navigable_point``, ``is_loaded``) and ``semantic_scene.objects``.
"""

from __future__ import annotations

import gzip
import json
import logging
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType, ModuleType
from typing import Any

import numpy as np

from embodied import geometry
from embodied.optional import require
from embodied.errors import ConfigError, ObservationError
from embodied.tasks import EpisodeFileError, ObjectNavEpisode
from embodied.types import NO_DEPTH, NO_INSTANCE, Action, AgentPose, CameraIntrinsics, Observation, StepResult

__all__ = [
    "HabitatConfig",
    "HabitatSimulator",
    "R_WORLD_HABITAT",
    "HABITAT_CATEGORY_MAP",
    "habitat_category",
    "habitat_to_world",
    "world_to_habitat",
    "quat_wxyz",
    "quat_to_matrix",
    "habitat_quat_to_yaw",
    "yaw_to_habitat_quat",
    "sensor_tilt",
    "habitat_camera_pose",
    "make_configuration",
    "make_habitat_simulator",
    "read_habitat_objectnav_episodes",
]

logger = logging.getLogger(__name__)

R_WORLD_HABITAT = np.array([[0.0, 0.0, -1.0], [-1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
"""(3, 3) rotation taking habitat coordinates (Y up, -Z forward) to ours (Z up): ``p_ours = R @ p_habitat``."""

RGB_UUID, DEPTH_UUID, SEMANTIC_UUID = "rgb", "depth", "semantic"
"""Sensor uuids (and observation keys) of the agent's camera."""

SCENE_SUFFIXES = (".glb", ".gltf", ".ply", ".obj")
"""File endings accepted for ``HabitatConfig.scene`` without a scene dataset config (".basis.glb" ends in ".glb")."""

DEFAULT_SCENE_PATH_PREFIX = "data/scene_datasets/"
"""habitat-lab's prefix of ``scene_id`` in dataset files, replaced by ``scenes_dir`` when one is given."""

HABITAT_CATEGORY_MAP: dict[str, str] = {
    "tv_monitor": "tv",
    "tv": "tv",
    "television": "tv",
    "plant": "potted plant",
    "potted plant": "potted plant",
    "houseplant": "potted plant",
    "couch": "sofa",
    "sofa": "sofa",
    "chair": "chair",
    "armchair": "chair",
    "office chair": "chair",
    "bed": "bed",
    "toilet": "toilet",
    "table": "table",
    "dining table": "table",
    "coffee table": "table",
    "side table": "table",
    "desk": "table",
    "cabinet": "cabinet",
    "kitchen cabinet": "cabinet",
    "fridge": "refrigerator",
    "refrigerator": "refrigerator",
    "sink": "sink",
    "bathtub": "bathtub",
    "tub": "bathtub",
    "lamp": "lamp",
    "floor lamp": "lamp",
    "table lamp": "lamp",
    "bookshelf": "bookshelf",
    "bookcase": "bookshelf",
    "oven": "oven",
    "stove": "oven",
    "clock": "clock",
    "laptop": "laptop",
    "mug": "mug",
    "vase": "vase",
}
"""Lower-case habitat category names (MP3D mpcat40, HM3D ObjectNav and raw HM3D names) -> ours, where they differ
or to pin them. Other names: see :func:`habitat_category`."""

_NO_CATEGORY = frozenset({"", "void", "unknown", "unlabeled", "unlabelled", "no label"})


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


# ---------------------------------------------------------------------------------------------------
# Frame conversion (pure functions)
# ---------------------------------------------------------------------------------------------------


def habitat_to_world(points: Sequence[float] | np.ndarray) -> np.ndarray:
    """Habitat points (..., 3) (Y up, -Z forward) -> ours (..., 3) float64: ``(x, y, z) -> (-z, -x, y)``."""
    p = np.asarray(points, dtype=np.float64)
    return np.stack([-p[..., 2], -p[..., 0], p[..., 1]], axis=-1)


def world_to_habitat(points: Sequence[float] | np.ndarray) -> np.ndarray:
    """Our points (..., 3) (Z up) -> habitat (..., 3) float64: ``(X, Y, Z) -> (-Y, Z, -X)``."""
    p = np.asarray(points, dtype=np.float64)
    return np.stack([-p[..., 1], p[..., 2], -p[..., 0]], axis=-1)


def _xyz(v: Any) -> tuple[float, float, float]:
    if all(hasattr(v, a) for a in ("x", "y", "z")):
        return float(v.x), float(v.y), float(v.z)
    return float(v[0]), float(v[1]), float(v[2])


def quat_wxyz(q: Any) -> tuple[float, float, float, float]:
    """A rotation from habitat as a unit ``(w, x, y, z)`` tuple.

    Accepts numpy-quaternion (``.w .x .y .z``), magnum ``Quaternion`` (``.scalar``, ``.vector``) and
    4-sequences, which are habitat *coefficients* ``[x, y, z, w]`` (as in dataset files and
    ``habitat_sim.utils.common.quat_from_coeffs``). Raises ConfigError for anything else or a zero quaternion.
    """
    if all(hasattr(q, a) for a in ("w", "x", "y", "z")):
        w, x, y, z = float(q.w), float(q.x), float(q.y), float(q.z)
    elif hasattr(q, "scalar") and hasattr(q, "vector"):
        w = float(q.scalar)
        x, y, z = _xyz(q.vector)
    else:
        try:
            coeffs = np.asarray(q, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            raise ConfigError(f"not a quaternion: {q!r}") from None
        if coeffs.shape != (4,):
            raise ConfigError(f"a quaternion sequence needs 4 coefficients [x, y, z, w], got {q!r}")
        x, y, z, w = (float(c) for c in coeffs)
    norm = math.sqrt(w * w + x * x + y * y + z * z)
    if not math.isfinite(norm) or norm < 1e-9:
        raise ConfigError(f"not a rotation quaternion (norm {norm}): {q!r}")
    return w / norm, x / norm, y / norm, z / norm


def quat_to_matrix(q: Any) -> np.ndarray:
    """(3, 3) float64 rotation matrix of a quaternion (anything :func:`quat_wxyz` reads)."""
    w, x, y, z = quat_wxyz(q)
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
        [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
        [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
    ])


def habitat_quat_to_yaw(q: Any) -> float:
    """Our yaw (radians, about +Z from +X, in (-pi, pi]) of a habitat body rotation.

    For a rotation by ``theta`` about habitat +Y this is ``theta`` (wrapped). For any rotation it is the
    heading of the rotated forward axis (habitat -Z) projected on the floor.
    """
    R = quat_to_matrix(q)
    # forward f = -R[:, 2] (habitat); ours: X = -f_z = R[2, 2], Y = -f_x = R[0, 2]
    return float(math.atan2(R[0, 2], R[2, 2]))


def yaw_to_habitat_quat(yaw_rad: float) -> tuple[float, float, float, float]:
    """``(w, x, y, z)`` of the habitat rotation about +Y facing our heading ``yaw_rad``."""
    half = 0.5 * float(yaw_rad)
    return math.cos(half), 0.0, math.sin(half), 0.0


def sensor_tilt(agent_rotation: Any, sensor_rotation: Any) -> float:
    """Camera pitch (radians, positive up) of a sensor relative to its agent's body.

    Args:
        agent_rotation: the body rotation (``AgentState.rotation``).
        sensor_rotation: the sensor's world rotation (``AgentState.sensor_states[uuid].rotation``).
    """
    R_rel = quat_to_matrix(agent_rotation).T @ quat_to_matrix(sensor_rotation)
    # body-frame forward f = -R_rel[:, 2]; habitat's look angle atan2(f_y, -f_z)
    return float(math.atan2(-R_rel[1, 2], R_rel[2, 2]))


def habitat_camera_pose(agent_rotation: Any, sensor_position: Sequence[float], sensor_rotation: Any) -> np.ndarray:
    """(4, 4) float64 T_world_cam (OpenCV camera, our frame) of a habitat camera sensor."""
    return geometry.camera_pose(
        habitat_to_world(sensor_position), habitat_quat_to_yaw(agent_rotation),
        sensor_tilt(agent_rotation, sensor_rotation),
    )


def habitat_category(name: str) -> str:
    """Our category name for a habitat (MP3D / HM3D) category name.

    Known names go through :data:`HABITAT_CATEGORY_MAP`; others are lower-cased with "_" and "-" read as
    spaces (e.g. "chest_of_drawers" -> "chest of drawers").
    """
    key = str(name).strip().lower()
    if key in HABITAT_CATEGORY_MAP:
        return HABITAT_CATEGORY_MAP[key]
    key = " ".join(key.replace("_", " ").replace("-", " ").split())
    return HABITAT_CATEGORY_MAP.get(key, key)


# ---------------------------------------------------------------------------------------------------
# Building the habitat-sim configuration
# ---------------------------------------------------------------------------------------------------


def _camera_spec(hs: ModuleType, uuid: str, sensor_type: Any, config: HabitatConfig) -> Any:
    spec = hs.CameraSensorSpec()
    spec.uuid = uuid
    spec.sensor_type = sensor_type
    spec.sensor_subtype = hs.SensorSubType.PINHOLE
    spec.resolution = [config.height, config.width]
    spec.position = [0.0, config.sensor_height_m, 0.0]
    spec.hfov = float(config.hfov_deg)
    return spec


def _action_space(hs: ModuleType, config: HabitatConfig) -> dict[str, Any]:
    spec, amount = hs.agent.ActionSpec, hs.agent.ActuationSpec
    return {
        "move_forward": spec("move_forward", amount(amount=config.forward_m)),
        "turn_left": spec("turn_left", amount(amount=config.turn_deg)),
        "turn_right": spec("turn_right", amount(amount=config.turn_deg)),
        "look_up": spec("look_up", amount(amount=config.tilt_deg, constraint=config.tilt_limit_deg)),
        "look_down": spec("look_down", amount(amount=config.tilt_deg, constraint=config.tilt_limit_deg)),
    }


def make_configuration(hs: ModuleType, config: HabitatConfig) -> Any:
    """A ``habitat_sim.Configuration`` for ``config``: one agent with RGB, depth and (optionally) semantic cameras.

    Args:
        hs: the ``habitat_sim`` module.
        config: the settings.
    """
    sim_cfg = hs.SimulatorConfiguration()
    sim_cfg.scene_id = config.scene
    if config.scene_dataset_config is not None:
        sim_cfg.scene_dataset_config_file = os.fspath(config.scene_dataset_config)
    sim_cfg.enable_physics = False
    sim_cfg.random_seed = config.seed
    sim_cfg.gpu_device_id = config.gpu_device_id
    sensors = [_camera_spec(hs, RGB_UUID, hs.SensorType.COLOR, config),
               _camera_spec(hs, DEPTH_UUID, hs.SensorType.DEPTH, config)]
    if config.semantic:
        sensors.append(_camera_spec(hs, SEMANTIC_UUID, hs.SensorType.SEMANTIC, config))
    agent_cfg = hs.agent.AgentConfiguration()
    agent_cfg.height = config.agent_height_m
    agent_cfg.radius = config.agent_radius_m
    agent_cfg.sensor_specifications = sensors
    agent_cfg.action_space = _action_space(hs, config)
    return hs.Configuration(sim_cfg, [agent_cfg])


def make_habitat_simulator(config: HabitatConfig) -> Any:
    """Start ``habitat_sim.Simulator`` for ``config``.

    Raises:
        MissingDependencyError: habitat-sim is not installed (the message names the conda line).
        ConfigError: the scene or scene dataset config file does not exist.
    """
    hs = require("habitat_sim", purpose="the habitat-sim simulator adapter")
    _check_scene_exists(config.scene, config.scene_dataset_config)
    logger.info("starting habitat-sim %s on %s", getattr(hs, "__version__", "?"), config.scene)
    return hs.Simulator(make_configuration(hs, config))


# ---------------------------------------------------------------------------------------------------
# ObjectNav dataset files
# ---------------------------------------------------------------------------------------------------


def _load_json(path: Path) -> Any:
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise EpisodeFileError(f"habitat episode file not found: {path}") from None
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise EpisodeFileError(f"{path}: not a JSON (or gzipped JSON) habitat dataset file: {exc}") from exc


def _scene_path(scene_id: str, scenes_dir: str | os.PathLike | None) -> str:
    """habitat-lab's rule: with ``scenes_dir``, drop the "data/scene_datasets/" prefix and join."""
    if scenes_dir is None:
        return scene_id
    if scene_id.startswith(DEFAULT_SCENE_PATH_PREFIX):
        scene_id = scene_id[len(DEFAULT_SCENE_PATH_PREFIX):]
    return os.path.join(os.fspath(scenes_dir), scene_id)


def _view_points_m(goals: Sequence[Mapping[str, Any]]) -> list[list[float]]:
    """Our-frame (x, y, z) of every view point of ``goals`` (habitat ObjectGoal dicts)."""
    pts = [vp["agent_state"]["position"] for g in goals for vp in g.get("view_points") or []]
    if not pts:
        return []
    return habitat_to_world(np.asarray(pts, dtype=np.float64).reshape(-1, 3)).tolist()


def _convert_episode(ep: Mapping[str, Any], index: int, goals_by_category: Mapping[str, Any],
                     scenes_dir: str | os.PathLike | None, split: str,
                     view_point_cache: dict[str, list[list[float]]]) -> ObjectNavEpisode:
    scene_id = str(ep["scene_id"])
    category = ep.get("object_category") or (ep.get("goals") or [{}])[0].get("object_category")
    if not category:
        raise KeyError("object_category")
    goals_key = f"{os.path.basename(scene_id)}_{category}"
    if goals_key not in view_point_cache:
        view_point_cache[goals_key] = _view_points_m(goals_by_category.get(goals_key) or ep.get("goals") or [])
    position = habitat_to_world(np.asarray(ep["start_position"], dtype=np.float64).reshape(3))
    rotation = [float(v) for v in ep["start_rotation"]]  # [x, y, z, w]
    geodesic = (ep.get("info") or {}).get("geodesic_distance")
    extras: dict[str, Any] = {
        "habitat_scene_id": scene_id,
        "habitat_object_category": category,
        "habitat_start_position": [float(v) for v in ep["start_position"]],
        "habitat_start_rotation_xyzw": rotation,
        "goal_view_points_m": view_point_cache[goals_key],
    }
    if ep.get("scene_dataset_config"):
        extras["scene_dataset_config"] = ep["scene_dataset_config"]
    return ObjectNavEpisode(
        episode_id=str(ep.get("episode_id", index)),
        scene_id=_scene_path(scene_id, scenes_dir),
        start_position_m=tuple(float(v) for v in position),
        start_yaw_rad=habitat_quat_to_yaw(rotation),
        goal_category=habitat_category(category),
        geodesic_distance_m=None if geodesic is None else float(geodesic),
        split=split,
        extras=extras,
    )


def read_habitat_objectnav_episodes(path: str | os.PathLike, *, scenes_dir: str | os.PathLike | None = None,
                                    split: str = "") -> list[ObjectNavEpisode]:
    """Read a habitat-lab ObjectNav dataset file (``.json`` or ``.json.gz``) as our episodes.

    The file holds ``{"episodes": [{"episode_id", "scene_id", "start_position": [x, y, z],
    "start_rotation": [x, y, z, w], "object_category", "info": {"geodesic_distance"}}, ...],
    "goals_by_category": {"<scene basename>_<category>": [{"view_points": [{"agent_state":
    {"position"}}]}]}}`` in habitat coordinates (older files keep the goals in each episode's "goals").

    Returns:
        Episodes in our frame: start position and yaw converted, the goal category mapped by
        :func:`habitat_category`, ``geodesic_distance_m`` from ``info``. ``extras`` keeps the habitat
        originals and ``goal_view_points_m`` (our-frame view points of the goal category in that scene,
        one list shared by the episodes of a goal), which :class:`HabitatSimulator` uses for
        ``distance_to_goal``. With ``scenes_dir``, scene paths are resolved as habitat-lab does.

    Raises:
        EpisodeFileError: the file is missing, not JSON, or an episode lacks a field (names file and episode).
    """
    p = Path(path)
    data = _load_json(p)
    if not isinstance(data, Mapping) or not isinstance(data.get("episodes"), list):
        raise EpisodeFileError(f"{p}: not a habitat ObjectNav dataset (no 'episodes' list)")
    goals_by_category = data.get("goals_by_category") or {}
    cache: dict[str, list[list[float]]] = {}
    episodes = []
    for i, ep in enumerate(data["episodes"]):
        try:
            episodes.append(_convert_episode(ep, i, goals_by_category, scenes_dir, split, cache))
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            name = ep.get("episode_id", "?") if isinstance(ep, Mapping) else repr(ep)
            raise EpisodeFileError(f"{p}: episode #{i} ({name}) is not a valid ObjectNav episode: "
                                   f"{type(exc).__name__}: {exc}") from exc
    logger.info("read %d habitat ObjectNav episodes from %s", len(episodes), p)
    return episodes


# ---------------------------------------------------------------------------------------------------
# The simulator
# ---------------------------------------------------------------------------------------------------


class HabitatSimulator:
    """habitat-sim behind the toolkit's :class:`~embodied.types.Simulator` and ``GeodesicOracle`` protocols.

    Args:
        config: the settings.
        sim: an already created ``habitat_sim.Simulator`` configured like :func:`make_configuration` (sensor
            uuids "rgb", "depth", "semantic"; the action names below); when None, one is created from
            ``config`` (habitat_sim is imported only then). ``close()`` closes it either way.

    Actions: MOVE_FORWARD -> "move_forward", TURN_LEFT / TURN_RIGHT -> "turn_left" / "turn_right",
    LOOK_UP / LOOK_DOWN -> "look_up" / "look_down"; STOP ends the episode without calling habitat.
    """

    _ACTIONS = {
        Action.MOVE_FORWARD: "move_forward",
        Action.TURN_LEFT: "turn_left",
        Action.TURN_RIGHT: "turn_right",
        Action.LOOK_UP: "look_up",
        Action.LOOK_DOWN: "look_down",
    }

    def __init__(self, config: HabitatConfig, sim: Any = None) -> None:
        if not isinstance(config, HabitatConfig):
            raise ConfigError(f"HabitatSimulator needs a HabitatConfig, got {type(config).__name__}")
        self.config = config
        self._intrinsics = config.intrinsics
        self._hs: ModuleType | None = None
        if sim is None:
            self._hs = require("habitat_sim", purpose="the habitat-sim simulator adapter")
            sim = make_habitat_simulator(config)
        self._sim = sim
        self._scene = config.scene
        self._dataset_config = config.scene_dataset_config
        self._rng = np.random.default_rng(config.seed)
        self._labels: Mapping[int, str] = MappingProxyType({})
        self._load_semantic_labels()
        self._goal_points: dict[str, np.ndarray] = {}
        self._last: Observation | None = None
        self._goal: str | None = None
        self._steps = 0
        self._done = True
        self._closed = False
        self.seed: int | None = None

    # -- protocol ------------------------------------------------------------------------------------

    def reset(self, episode: Any = None, *, seed: int | None = None) -> Observation:
        """Start an episode: an ObjectNavEpisode's start pose (switching scene if needed), or with None a
        random navigable pose (seeded by ``seed``, else by the config's seed stream)."""
        self._check_open()
        if episode is not None and not isinstance(episode, ObjectNavEpisode):
            raise ConfigError(f"HabitatSimulator.reset takes an ObjectNavEpisode or None, got {type(episode).__name__}")
        self.seed = seed
        if seed is not None:
            self._sim.seed(seed)
            self._rng = np.random.default_rng(seed)
        self._goal_points = {}
        if episode is not None:
            self._ensure_scene(episode)
            self._place_agent(world_to_habitat(episode.start_position_m), episode.start_yaw_rad, episode.episode_id)
            self._goal = episode.goal_category
            points = episode.extras.get("goal_view_points_m") if episode.extras else None
            if points:
                points_m = np.asarray(points, dtype=np.float64).reshape(-1, 3)
                self._goal_points[episode.goal_category] = world_to_habitat(points_m)
        else:
            self._place_random()
            self._goal = None
        self._steps = 0
        self._done = False
        self._last = self._observation(self._sim.get_sensor_observations())
        return self._last

    def step(self, action: Action) -> StepResult:
        """Apply one discrete action; STOP ends the episode without calling habitat."""
        self._check_open()
        if self._last is None:
            raise RuntimeError("HabitatSimulator.step called before reset()")
        if self._done:
            raise RuntimeError("the episode is over (STOP or max_steps); call reset() to start another")
        try:
            action = Action(action)
        except ValueError:
            raise ConfigError(f"unknown action {action!r}; choose from {[a.value for a in Action]}") from None
        self._steps += 1
        if action is Action.STOP:
            self._done = True
            self._last = replace(self._last, step=self._steps)  # same frame; habitat is not called
            return StepResult(self._last, done=True, info={"action": action.value})
        name = self._ACTIONS[action]
        raw = self._sim.step(name)
        collided = self._collided(raw)
        self._last = self._observation(raw)
        self._done = self._steps >= self.config.max_steps
        info = {"action": action.value, "habitat_action": name, "collided": collided}
        return StepResult(self._last, collided=collided, done=self._done, info=info)

    def close(self) -> None:
        """Close the habitat simulator (once); later calls do nothing."""
        if self._closed:
            return
        self._closed = True
        close = getattr(self._sim, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> HabitatSimulator:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- GeodesicOracle ------------------------------------------------------------------------------

    def geodesic_distance(self, start_m: np.ndarray, goal_m: np.ndarray) -> float:
        """Shortest walkable path length (metres) between two floor points of our frame; inf if unreachable.

        Points are (x, y, z), or (x, y) on the agent's current floor height. Uses the navmesh
        (``pathfinder.find_path`` with a ``habitat_sim.ShortestPath``).
        """
        self._check_open()
        path = self._habitat.ShortestPath()
        path.requested_start = self._to_habitat_f32(start_m)
        path.requested_end = self._to_habitat_f32(goal_m)
        return self._path_length(path)

    # -- helpers for agents, oracles and metrics -----------------------------------------------------

    def distance_to_goal(self, category: str | None = None, position_m: np.ndarray | None = None) -> float:
        """Geodesic distance (metres) from ``position_m`` (default: the agent) to the nearest goal of ``category``.

        The goals are the episode's view points (``extras["goal_view_points_m"]``, as written by
        :func:`read_habitat_objectnav_episodes`: habitat-lab's ObjectNav DistanceToGoal) or, without them,
        the centres of the scene's ``category`` objects snapped to the navmesh (``pathfinder.snap_point``).
        Computed with ``habitat_sim.MultiGoalShortestPath``; inf when none is reachable.

        Raises:
            ConfigError: no category given and no episode goal, or the scene has no object of ``category``.
        """
        self._check_open()
        category = category or self._goal
        if not category:
            raise ConfigError("distance_to_goal needs a category (or reset with an episode)")
        ends = self._goal_points.get(category)
        if ends is None:
            ends = self._snapped_object_centres(category)
        start = self._agent_position() if position_m is None else world_to_habitat(self._as_point(position_m))
        path = self._habitat.MultiGoalShortestPath()
        path.requested_start = np.asarray(start, dtype=np.float32)
        path.requested_ends = np.asarray(ends, dtype=np.float32).reshape(-1, 3)
        return self._path_length(path)

    def goal_instance_ids(self, category: str) -> list[int]:
        """Instance ids (as in ``Observation.semantic``) of the current scene's objects of ``category``."""
        return sorted(i for i, c in self._labels.items() if c == category)

    @property
    def agent_pose(self) -> AgentPose:
        """The agent's base pose in our frame."""
        state = self._sim.get_agent(0).get_state()
        return _agent_pose(state)

    @property
    def sim(self) -> Any:
        """The underlying ``habitat_sim.Simulator`` (for habitat-specific calls)."""
        return self._sim

    # -- internals -----------------------------------------------------------------------------------

    @property
    def _habitat(self) -> ModuleType:
        """The ``habitat_sim`` module (imported on first use when a simulator was injected)."""
        if self._hs is None:
            self._hs = require("habitat_sim", purpose="the habitat-sim simulator adapter")
        return self._hs

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("HabitatSimulator is closed")

    def _ensure_scene(self, episode: ObjectNavEpisode) -> None:
        """Reconfigure habitat when the episode's scene differs from the loaded one."""
        if _same_scene(episode.scene_id, self._scene):
            return
        dataset = (episode.extras or {}).get("scene_dataset_config") or self._dataset_config
        try:
            new = replace(self.config, scene=episode.scene_id, scene_dataset_config=dataset)
        except ConfigError as exc:
            raise ConfigError(f"episode {episode.episode_id}: bad habitat scene {episode.scene_id!r}: {exc}") from exc
        _check_scene_exists(new.scene, new.scene_dataset_config)
        logger.info("habitat: switching scene %s -> %s", self._scene, new.scene)
        self._sim.reconfigure(make_configuration(self._habitat, new))
        self._scene, self._dataset_config = new.scene, new.scene_dataset_config
        self._load_semantic_labels()

    def _place_agent(self, position_h: np.ndarray, yaw_rad: float, what: str) -> None:
        """``initialize_agent(0, AgentState)`` at a habitat position facing our ``yaw_rad`` (sensors reset)."""
        pf = self._sim.pathfinder
        if getattr(pf, "is_loaded", True) and not pf.is_navigable(np.asarray(position_h, dtype=np.float32)):
            logger.warning("episode %s: start %s (habitat) is not on the navmesh", what, np.round(position_h, 3))
        w, x, y, z = yaw_to_habitat_quat(yaw_rad)
        # lists: Agent.set_state reads a list rotation as coefficients [x, y, z, w]
        state = self._habitat.AgentState([float(v) for v in position_h], [x, y, z, w])
        self._sim.initialize_agent(0, state)

    def _place_random(self) -> None:
        pf = self._sim.pathfinder
        if not getattr(pf, "is_loaded", True):
            logger.warning("habitat has no navmesh; the agent starts where habitat put it")
            return
        position = np.asarray(pf.get_random_navigable_point(), dtype=np.float64)
        self._place_agent(position, float(self._rng.uniform(-math.pi, math.pi)), "random")

    def _load_semantic_labels(self) -> None:
        """Habitat semantic id -> our category for the loaded scene (ids > 0 with a category only)."""
        labels: dict[int, str] = {}
        scene = getattr(self._sim, "semantic_scene", None)
        for obj in (getattr(scene, "objects", None) or []):
            if obj is None:
                continue
            sid = _semantic_id(obj)
            name = _category_name(obj)
            if sid is None or sid <= 0 or sid > np.iinfo(np.int32).max or name.strip().lower() in _NO_CATEGORY:
                continue
            labels[sid] = habitat_category(name)
        self._labels = MappingProxyType(labels)
        logger.debug("habitat scene %s: %d labelled objects", self._scene, len(labels))

    def _snapped_object_centres(self, category: str) -> np.ndarray:
        """(N, 3) habitat navmesh points nearest to the centres of the scene's ``category`` objects."""
        scene = getattr(self._sim, "semantic_scene", None)
        centres = [np.asarray(_xyz(obj.aabb.center)) for obj in (getattr(scene, "objects", None) or [])
                   if obj is not None and habitat_category(_category_name(obj)) == category]
        snapped = [np.asarray(self._sim.pathfinder.snap_point(np.asarray(c, np.float32)), np.float64) for c in centres]
        snapped = [s for s in snapped if np.all(np.isfinite(s))]
        if not snapped:
            raise ConfigError(f"habitat scene {self._scene} has no '{category}' object that snaps to the navmesh "
                              f"(categories: {', '.join(sorted(set(self._labels.values()))) or 'none'})")
        return np.stack(snapped)

    def _path_length(self, path: Any) -> float:
        found = self._sim.pathfinder.find_path(path)
        d = float(path.geodesic_distance)
        return d if found and math.isfinite(d) else math.inf

    def _agent_position(self) -> np.ndarray:
        return np.asarray(self._sim.get_agent(0).get_state().position, dtype=np.float64)

    def _as_point(self, p: Any) -> np.ndarray:
        """Our (x, y[, z]) -> (3,) with z = the agent's floor height when missing."""
        p = np.asarray(p, dtype=np.float64).reshape(-1)
        if p.shape == (2,):
            return np.array([p[0], p[1], habitat_to_world(self._agent_position())[2]])
        if p.shape != (3,):
            raise ConfigError(f"a point must be (x, y) or (x, y, z) in metres, got shape {p.shape}")
        return p

    def _to_habitat_f32(self, p: Any) -> np.ndarray:
        return world_to_habitat(self._as_point(p)).astype(np.float32)

    def _collided(self, raw: Mapping[str, Any]) -> bool:
        if "collided" in raw:
            return bool(raw["collided"])
        flag = getattr(self._sim, "previous_step_collided", False)
        return bool(flag() if callable(flag) else flag)

    def _observation(self, raw: Mapping[str, Any]) -> Observation:
        state = self._sim.get_agent(0).get_state()
        sensor = (getattr(state, "sensor_states", None) or {}).get(RGB_UUID)
        if sensor is None:
            raise ObservationError(f"habitat agent state has no sensor_states['{RGB_UUID}'] (sensor uuids must be "
                                   f"'{RGB_UUID}', '{DEPTH_UUID}', '{SEMANTIC_UUID}')")
        tilt = sensor_tilt(state.rotation, sensor.rotation)
        semantic, labels = self._semantic(raw)
        return Observation(
            rgb=self._rgb(raw),
            depth=self._depth(raw),
            intrinsics=self._intrinsics,
            T_world_cam=habitat_camera_pose(state.rotation, sensor.position, sensor.rotation),
            agent_pose=_agent_pose(state),
            step=self._steps,
            goal=self._goal,
            semantic=semantic,
            labels=labels,
            extras={"habitat_scene": self._scene, "tilt_rad": tilt,
                    "habitat_position": [float(v) for v in np.asarray(state.position).reshape(-1)],
                    "habitat_rotation_wxyz": quat_wxyz(state.rotation)},
        ).validate()

    def _check_size(self, name: str, arr: np.ndarray) -> None:
        if arr.shape[:2] != (self.config.height, self.config.width):
            raise ConfigError(f"habitat '{name}' frames are {arr.shape[1]}x{arr.shape[0]} but HabitatConfig asks for "
                              f"{self.config.width}x{self.config.height}; configure the sensors from the config")

    def _rgb(self, raw: Mapping[str, Any]) -> np.ndarray:
        """(H, W, 3) uint8 from habitat's (H, W, 4) RGBA."""
        if RGB_UUID not in raw:
            raise ObservationError(f"habitat returned no '{RGB_UUID}' observation (keys: {sorted(raw)})")
        img = np.asarray(raw[RGB_UUID])
        self._check_size(RGB_UUID, img)
        return np.array(img[..., :3], dtype=np.uint8, copy=True)

    def _depth(self, raw: Mapping[str, Any]) -> np.ndarray | None:
        """(H, W) float32 z-depth in metres; NaN, inf and negative values -> 0 (no return)."""
        if DEPTH_UUID not in raw:
            return None
        depth = np.array(raw[DEPTH_UUID], dtype=np.float32, copy=True)
        if depth.ndim == 3 and depth.shape[-1] == 1:
            depth = depth[..., 0]
        self._check_size(DEPTH_UUID, depth)
        depth[~np.isfinite(depth) | (depth < 0)] = NO_DEPTH
        return depth

    def _semantic(self, raw: Mapping[str, Any]) -> tuple[np.ndarray | None, Mapping[int, str]]:
        """(H, W) int32 instance ids (habitat semantic ids with a label, else -1) and the scene's labels."""
        if SEMANTIC_UUID not in raw:
            return None, {}
        sem = np.asarray(raw[SEMANTIC_UUID])
        if sem.ndim == 3 and sem.shape[-1] == 1:
            sem = sem[..., 0]
        self._check_size(SEMANTIC_UUID, sem)
        unique, inverse = np.unique(sem.astype(np.int64).reshape(-1), return_inverse=True)
        lut = np.array([u if int(u) in self._labels else NO_INSTANCE for u in unique.tolist()], dtype=np.int32)
        return lut[inverse].reshape(sem.shape), self._labels


def _agent_pose(state: Any) -> AgentPose:
    x, y, z = habitat_to_world(np.asarray(state.position, dtype=np.float64).reshape(3))
    return AgentPose((float(x), float(y), float(z)), habitat_quat_to_yaw(state.rotation))


def _semantic_id(obj: Any) -> int | None:
    """The value a habitat semantic sensor shows for ``obj``: ``obj.semantic_id``, else the trailing
    number of ``obj.id`` ("chair_12", "0_3_12" or "12")."""
    sid = getattr(obj, "semantic_id", None)
    if sid is not None:
        return int(sid)
    tail = str(getattr(obj, "id", "")).rsplit("_", 1)[-1]
    return int(tail) if tail.isdigit() else None


def _category_name(obj: Any) -> str:
    category = getattr(obj, "category", None)
    if category is None:
        return ""
    name = category.name() if callable(getattr(category, "name", None)) else getattr(category, "name", "")
    return str(name or "")
