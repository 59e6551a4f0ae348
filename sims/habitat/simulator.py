"""The habitat-sim configuration (:func:`make_configuration`, :func:`make_habitat_simulator`) and
:class:`HabitatSimulator`, habitat-sim behind our ``Simulator`` and ``GeodesicOracle`` protocols."""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping
from dataclasses import replace
from types import MappingProxyType, ModuleType
from typing import Any

import numpy as np

from embodied.optional import require
from embodied.errors import ConfigError, ObservationError
from embodied.tasks import ObjectNavEpisode
from embodied.types import NO_DEPTH, NO_INSTANCE, Action, AgentPose, Observation, StepResult, navigation_action
from sims.habitat.config import HabitatConfig, _check_scene_exists, _same_scene
from sims.habitat.frames import (_NO_CATEGORY, _xyz, clip_depth_m, habitat_camera_pose, habitat_category,
                                 habitat_quat_to_yaw, habitat_to_world, quat_wxyz, sensor_tilt, world_to_habitat,
                                 yaw_to_habitat_quat)

logger = logging.getLogger(__name__)

RGB_UUID, DEPTH_UUID, SEMANTIC_UUID = "rgb", "depth", "semantic"
"""Sensor uuids (and observation keys) of the agent's camera."""


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

    ``sim_cfg.allow_sliding`` is ``config.allow_sliding``: habitat-lab copies its
    ``habitat_sim_v0.allow_sliding`` onto the ``SimulatorConfiguration`` (facebookresearch/habitat-lab
    ``habitat/sims/habitat_simulator/habitat_simulator.py``, ``create_sim_config`` / ``overwrite_config``),
    and habitat-sim's ``Simulator.step_filter`` then moves with ``pathfinder.try_step`` (sliding) or
    ``try_step_no_sliding`` (facebookresearch/habitat-sim ``src_python/habitat_sim/simulator.py``). The
    navmesh is not part of this configuration: :class:`HabitatSimulator` recomputes it after the scene
    loaded (:func:`navmesh_settings`), which works with every habitat-sim version.

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
    sim_cfg.allow_sliding = config.allow_sliding
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


def navmesh_settings(hs: ModuleType, config: HabitatConfig) -> Any:
    """The ``habitat_sim.nav.NavMeshSettings`` of ``config``'s agent (what the navmesh is recomputed with).

    habitat-lab's rule (facebookresearch/habitat-lab ``habitat/sims/habitat_simulator/habitat_simulator.py``,
    ``create_sim_config`` with ``default_agent_navmesh``): habitat-sim's defaults (``set_defaults()``, e.g.
    5 cm cells), then the agent's radius and height, ``AgentConfig.max_climb`` / ``max_slope`` and
    ``navmesh_include_static_objects`` (False). ``include_static_objects`` is set only where the class
    has it (habitat-sim >= 0.3).

    Args:
        hs: the ``habitat_sim`` module.
        config: the settings (``agent_radius_m``, ``agent_height_m``, ``agent_max_climb_m``,
            ``agent_max_slope_deg``; metres and degrees).
    """
    settings = hs.nav.NavMeshSettings()
    settings.set_defaults()
    settings.agent_radius = float(config.agent_radius_m)
    settings.agent_height = float(config.agent_height_m)
    settings.agent_max_climb = float(config.agent_max_climb_m)
    settings.agent_max_slope = float(config.agent_max_slope_deg)
    if hasattr(settings, "include_static_objects"):
        settings.include_static_objects = False
    return settings


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

    Navmesh: with ``config.recompute_navmesh`` (the default) the navmesh is rebuilt for the agent
    (:func:`navmesh_settings`: radius 0.18 m, height 0.88 m, climb 0.2 m, slope 45 deg by default) with
    ``sim.recompute_navmesh(sim.pathfinder, settings)`` whenever a scene was loaded (here, and after every
    scene switch) unless the loaded navmesh already has exactly these settings; a scene without a
    ``.navmesh`` (``pathfinder.is_loaded`` False) gets one too. habitat-lab does the same through
    ``SimulatorConfiguration.navmesh_settings`` (facebookresearch/habitat-lab
    ``habitat/sims/habitat_simulator/habitat_simulator.py``), which habitat-sim >= 0.3 applies at load
    ("recompute if unloaded or the settings differ", habitat-sim ``src/esp/sim/Simulator.cpp``); older
    habitat-sim recomputed in Python for the agent's radius and height only (habitat-sim
    ``src_python/habitat_sim/simulator.py``, ``_config_pathfinder``). Episode start poses and view points
    of habitat's ObjectNav datasets lie on that navmesh.
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
        self._ensure_navmesh()
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
        action = navigation_action(action, "HabitatSimulator")
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
        """Reconfigure habitat when the episode's scene, or the scene dataset config it names (HM3D's
        semantics live there), differs from the loaded one."""
        wanted = (episode.extras or {}).get("scene_dataset_config")
        same_dataset = wanted is None or (self._dataset_config is not None
                                          and _same_scene(wanted, self._dataset_config))
        if _same_scene(episode.scene_id, self._scene) and same_dataset:
            return
        dataset = wanted or self._dataset_config
        try:
            new = replace(self.config, scene=episode.scene_id, scene_dataset_config=dataset)
        except ConfigError as exc:
            raise ConfigError(f"episode {episode.episode_id}: bad habitat scene {episode.scene_id!r}: {exc}") from exc
        _check_scene_exists(new.scene, new.scene_dataset_config)
        logger.info("habitat: switching scene %s -> %s", self._scene, new.scene)
        self._sim.reconfigure(make_configuration(self._habitat, new))
        self._scene, self._dataset_config = new.scene, new.scene_dataset_config
        self._ensure_navmesh()  # the new scene came with its own navmesh (or none)
        self._load_semantic_labels()

    def _ensure_navmesh(self) -> None:
        """Recompute the loaded scene's navmesh for the configured agent (see the class docstring)."""
        pf = self._sim.pathfinder
        if not self.config.recompute_navmesh:
            if not getattr(pf, "is_loaded", True):
                logger.warning("habitat scene %s has no navmesh and recompute_navmesh is off: no collision "
                               "checking, no geodesic distances", self._scene)
            return
        settings = navmesh_settings(self._habitat, self.config)
        if getattr(pf, "is_loaded", False):
            try:
                if pf.nav_mesh_settings == settings:
                    return  # already built for this agent (habitat-sim >= 0.3 with navmesh_settings)
            except (AttributeError, TypeError):  # older habitat-sim: no nav_mesh_settings / no __eq__
                pass
        logger.info("habitat: recomputing the navmesh of %s for agent radius %.3f m, height %.3f m", self._scene,
                    settings.agent_radius, settings.agent_height)
        ok = self._sim.recompute_navmesh(pf, settings)
        if ok is False or not getattr(pf, "is_loaded", True):
            logger.warning("habitat could not compute a navmesh for %s: no collision checking, no geodesic "
                           "distances", self._scene)

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
        centres = [np.asarray(_aabb_center(obj)) for obj in (getattr(scene, "objects", None) or [])
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
        """(H, W) float32 z-depth in metres; NaN, inf and negative values -> 0 (no return); with
        ``config.depth_clip_m`` also everything outside the sensor range (:func:`clip_depth_m`)."""
        if DEPTH_UUID not in raw:
            return None
        depth = np.array(raw[DEPTH_UUID], dtype=np.float32, copy=True)
        if depth.ndim == 3 and depth.shape[-1] == 1:
            depth = depth[..., 0]
        self._check_size(DEPTH_UUID, depth)
        with np.errstate(invalid="ignore"):
            depth[~np.isfinite(depth) | (depth < 0)] = NO_DEPTH
        if self.config.depth_clip_m is not None:
            depth = clip_depth_m(depth, *self.config.depth_clip_m)
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


def _aabb_center(obj: Any) -> tuple[float, float, float]:
    """Habitat (x, y, z) of a ``SemanticObject``'s box centre: ``obj.aabb.center`` is an array attribute in
    habitat-sim < 0.3.3 and a method of a magnum ``Range3D`` from 0.3.3 on (reported in hovsg/HOV-SG issue
    #25, "habitat-sim=0.3.3 ... obj.aabb.center ... no longer numpy arrays"); both are read."""
    centre = obj.aabb.center
    return _xyz(centre() if callable(centre) else centre)


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
