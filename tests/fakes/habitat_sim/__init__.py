"""TEST STAND-IN for habitat-sim. This is NOT habitat-sim and must never be installed.

It implements only what :mod:`sims.habitat` touches, with habitat-sim's names and conventions, so the
adapter can be tested where the real (conda-only) package is missing. Tests put ``tests/fakes`` on
``sys.path`` temporarily to import it as ``habitat_sim``; ``IS_TEST_STAND_IN`` tells it apart.

How it models habitat:

* Scenes are the built-in procedural houses: a scene path whose file name contains ``house-<seed>``
  (e.g. ``/tmp/house-000011.glb``) loads ``sims.raycast.house.generate_house(seed)``. Frames come from the
  built-in ray caster (``RaycastSimulator._renderer``), navigation from a ``NavGrid`` (``nav.PathFinder``).
* Navmesh, as habitat-sim 0.3 loads it: a file ``<scene without extension>.navmesh`` next to the scene
  (``os.path.splitext(scene_id)[0] + ".navmesh"``, habitat-sim's rule) is the scene's navmesh, built with
  habitat-sim's default ``NavMeshSettings`` (agent radius 0.1 m, height 1.5 m) whatever agent is configured;
  without such a file ``pathfinder.is_loaded`` is False (no collision checking, every path query fails).
  ``SimulatorConfiguration.navmesh_settings``, when set, is applied at load ("recompute if unloaded or the
  settings differ", habitat-sim ``src/esp/sim/Simulator.cpp``). ``recompute_navmesh(pathfinder, settings)``
  rebuilds the grid for ``settings`` (``cell_size``, ``agent_radius``, ``agent_height``) and is recorded in
  ``calls`` as ``("recompute_navmesh", settings)``.
* Moves go through ``step_filter`` as in habitat-sim's ``Simulator.step_filter``: ``pathfinder.try_step``
  (slides along the obstacle) with ``sim_cfg.allow_sliding`` (habitat-sim's default True), else
  ``try_step_no_sliding`` (stops at the last free point); a move that ended short reports a collision; with
  no navmesh the agent moves freely.
* The agent's pose is kept in habitat's frame (Y up; an identity rotation faces -Z). Controls follow
  ``habitat_sim/agent/controls/default_controls.py``: ``move_forward`` moves along the body's local -Z,
  ``turn_left``/``turn_right`` rotate the body by +/-amount degrees about its local +Y, ``look_up``/
  ``look_down`` rotate the sensors by +/-amount about their local +X (clamped to +-``constraint``).
* Rendering converts habitat to the built-in world (Z up) with ``(x, y, z) -> (-z, -x, y)``, here written
  independently of the adapter: a habitat camera looks along its local -Z with +X right and +Y up, so the
  OpenCV camera axes are the sensor's rotation times ``diag(1, -1, -1)``.
* ``step`` returns ``{"rgb": (H, W, 4) uint8, "depth": (H, W) float32, "semantic": (H, W) uint32,
  "collided": bool}``; semantic ids are built-in instance ids + 1 (0 = nothing), as listed by
  ``semantic_scene.objects`` with habitat-style category names ("tv_monitor", "plant", "couch", "fridge").
  ``SemanticObject.aabb`` is a magnum ``Range3D`` look-alike as in habitat-sim >= 0.3.3: ``center()`` and
  ``size()`` are methods returning a ``Vector3`` (before 0.3.3 ``center`` / ``sizes`` were array attributes).
* Every call the adapter makes on the simulator is appended to ``Simulator.calls``.
"""

from __future__ import annotations

import enum
import functools
import math
import os
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import agent, nav
from .agent import ActionSpec, ActuationSpec, AgentConfiguration, AgentState, Quaternion, SixDOFPose
from .nav import MultiGoalShortestPath, NavMeshSettings, PathFinder, ShortestPath

__all__ = [
    "agent",
    "nav",
    "NavMeshSettings",
    "PathFinder",
    "ActionSpec",
    "ActuationSpec",
    "AgentConfiguration",
    "AgentState",
    "SixDOFPose",
    "SensorType",
    "SensorSubType",
    "SimulatorConfiguration",
    "CameraSensorSpec",
    "Configuration",
    "ShortestPath",
    "MultiGoalShortestPath",
    "Simulator",
]

IS_TEST_STAND_IN = True
__version__ = "0.0.0+test-stand-in"

# habitat (x, y, z) -> built-in world (-z, -x, y)
_M = np.array([[0.0, 0.0, -1.0], [-1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
_GL_TO_CV = np.diag([1.0, -1.0, -1.0])
HABITAT_NAMES = {"tv": "tv_monitor", "potted plant": "plant", "sofa": "couch", "refrigerator": "fridge"}
"""Built-in category -> the habitat-style name the stand-in reports (others unchanged)."""


class SensorType(enum.Enum):
    NONE = 0
    COLOR = 1
    DEPTH = 2
    SEMANTIC = 4


class SensorSubType(enum.Enum):
    NONE = 0
    PINHOLE = 1
    ORTHOGRAPHIC = 2


@dataclass(slots=True)
class SimulatorConfiguration:
    scene_id: str = "NONE"
    scene_dataset_config_file: str = "default"
    enable_physics: bool = False
    random_seed: int = 0
    gpu_device_id: int = 0
    allow_sliding: bool = True
    navmesh_settings: NavMeshSettings | None = None


@dataclass(slots=True)
class CameraSensorSpec:
    uuid: str = ""
    sensor_type: SensorType = SensorType.COLOR
    sensor_subtype: SensorSubType = SensorSubType.PINHOLE
    resolution: Any = field(default_factory=lambda: [128, 128])  # [H, W]
    position: Any = field(default_factory=lambda: [0.0, 1.5, 0.0])
    orientation: Any = field(default_factory=lambda: [0.0, 0.0, 0.0])
    hfov: float = 90.0  # degrees, horizontal


@dataclass(slots=True)
class Configuration:
    sim_cfg: SimulatorConfiguration
    agents: list[AgentConfiguration]


# --- quaternion helpers ((w, x, y, z) tuples) ----------------------------------------------------------


def _q(obj: Any) -> tuple[float, float, float, float]:
    """(w, x, y, z) of a Quaternion, or of a list/array of coefficients [x, y, z, w] (like quat_from_coeffs)."""
    if isinstance(obj, Quaternion):
        q = (obj.w, obj.x, obj.y, obj.z)
    else:
        x, y, z, w = (float(v) for v in obj)
        q = (w, x, y, z)
    if not math.isclose(math.sqrt(sum(v * v for v in q)), 1.0, rel_tol=1e-4):
        raise ValueError(f"{obj} is not a unit quaternion")  # like the real is_unit_length validator
    return q


def _qmul(a: tuple[float, ...], b: tuple[float, ...]) -> tuple[float, float, float, float]:
    aw, ax, ay, az = a
    bw, bx, by, bz = b
    return (aw * bw - ax * bx - ay * by - az * bz, aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx, aw * bz + ax * by - ay * bx + az * bw)


def _axis_angle(axis: int, angle_rad: float) -> tuple[float, float, float, float]:
    v = [0.0, 0.0, 0.0]
    v[axis] = math.sin(angle_rad / 2)
    return (math.cos(angle_rad / 2), *v)


def _matrix(q: tuple[float, ...]) -> np.ndarray:
    w, x, y, z = q
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
                     [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
                     [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)]])


def _to_ours(p: Any) -> np.ndarray:
    return _M @ np.asarray(p, dtype=np.float64).reshape(3)


def _to_habitat(p: Any) -> np.ndarray:
    return _M.T @ np.asarray(p, dtype=np.float64).reshape(3)


# --- the world: a built-in house ----------------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def _house(seed: int) -> Any:
    from sims.raycast.house import generate_house

    return generate_house(seed)


def _seed_of(scene_id: str) -> int:
    m = re.search(r"house-(\d+)", os.path.basename(str(scene_id)))
    if m is None:
        raise RuntimeError(f"habitat_sim test stand-in: cannot load scene {scene_id!r} "
                           "(it only knows built-in houses, named like 'house-000011.glb')")
    return int(m.group(1))


@dataclass
class _Category:
    _name: str

    def name(self, mapping: str = "") -> str:
        return self._name


@dataclass(frozen=True)
class Vector3:
    """magnum ``Vector3`` look-alike: ``.x .y .z`` and a 3-sequence (so ``np.asarray`` reads it)."""

    x: float
    y: float
    z: float

    def __iter__(self):
        return iter((self.x, self.y, self.z))

    def __len__(self) -> int:
        return 3

    def __getitem__(self, i: int) -> float:
        return (self.x, self.y, self.z)[i]


@dataclass(frozen=True)
class Range3D:
    """magnum ``Range3D`` look-alike (habitat-sim >= 0.3.3 ``SemanticObject.aabb``): ``min``, ``max``,
    ``center()`` and ``size()`` (methods, not the array attributes of earlier habitat-sim)."""

    min: Vector3
    max: Vector3

    def center(self) -> Vector3:
        return Vector3(*((a + b) / 2 for a, b in zip(self.min, self.max)))

    def size(self) -> Vector3:
        return Vector3(*(b - a for a, b in zip(self.min, self.max)))


@dataclass
class SemanticObject:
    id: str
    semantic_id: int
    category: _Category
    aabb: Range3D


@dataclass
class SemanticScene:
    objects: list[SemanticObject | None]


def _semantic_scene(house: Any) -> SemanticScene:
    objects: list[SemanticObject | None] = [None]  # the adapter must skip empty entries
    for o in house.objects:
        lo, hi = _to_habitat(o.bbox_min_m), _to_habitat(o.bbox_max_m)
        name = HABITAT_NAMES.get(o.category, o.category)
        sid = o.instance_id + 1
        box = Range3D(Vector3(*map(float, np.minimum(lo, hi))), Vector3(*map(float, np.maximum(lo, hi))))
        objects.append(SemanticObject(f"{name.replace(' ', '_')}_{sid}", sid, _Category(name), box))
    return SemanticScene(objects)


@functools.lru_cache(maxsize=16)
def _navgrid(seed: int, cell_size: float, agent_radius: float, agent_height: float) -> Any:
    from sims.raycast.navigation import build_navgrid

    return build_navgrid(_house(seed), agent_radius, agent_height, cell_size)


def _navmesh_file(scene_id: str) -> str:
    """habitat-sim's navmesh next to a scene: ``os.path.splitext(scene_id)[0] + ".navmesh"``."""
    return os.path.splitext(str(scene_id))[0] + ".navmesh"


class Agent:
    """One agent: body pose (habitat frame) plus a pitch shared by its sensors."""

    def __init__(self, config: AgentConfiguration, sim: Simulator) -> None:
        self.agent_config = config
        self._sim = sim
        self.position = np.zeros(3)
        self.rotation: tuple[float, float, float, float] = (1.0, 0.0, 0.0, 0.0)
        self.sensor_rotation: tuple[float, float, float, float] = (1.0, 0.0, 0.0, 0.0)  # relative to the body
        self.initial_state: AgentState | None = None

    def get_state(self) -> AgentState:
        R = _matrix(self.rotation)
        sensors = {}
        for spec in self.agent_config.sensor_specifications:
            pos = self.position + R @ np.asarray(spec.position, dtype=np.float64)
            sensors[spec.uuid] = SixDOFPose(pos, Quaternion(*_qmul(self.rotation, self.sensor_rotation)))
        return AgentState(self.position.copy(), Quaternion(*self.rotation), sensors)

    def set_state(self, state: AgentState, reset_sensors: bool = True, infer_sensor_states: bool = True,
                  is_initial: bool = False) -> None:
        self.position = np.asarray(state.position, dtype=np.float64).reshape(3).copy()
        self.rotation = _q(state.rotation)
        if reset_sensors:
            self.sensor_rotation = (1.0, 0.0, 0.0, 0.0)
        if is_initial:
            self.initial_state = state

    def act(self, action_id: str) -> bool:
        assert action_id in self.agent_config.action_space, f"No action {action_id} in action space"
        spec = self.agent_config.action_space[action_id]
        amount = spec.actuation.amount
        if spec.name == "move_forward":
            return self._move(amount)
        if spec.name in ("turn_left", "turn_right"):
            sign = 1.0 if spec.name == "turn_left" else -1.0
            self.rotation = _qmul(self.rotation, _axis_angle(1, math.radians(sign * amount)))
        elif spec.name in ("look_up", "look_down"):
            self._look(amount if spec.name == "look_up" else -amount, spec.actuation.constraint)
        else:
            raise KeyError(f"habitat_sim test stand-in has no control {spec.name!r}")
        return False

    def _look(self, amount_deg: float, constraint_deg: float | None) -> None:
        R = _matrix(self.sensor_rotation)
        angle = math.degrees(math.atan2(-R[1, 2], R[2, 2]))  # pitch of the sensor's -Z, as habitat measures it
        new = angle + amount_deg
        if constraint_deg is not None:
            new = max(-constraint_deg, min(constraint_deg, new))
        self.sensor_rotation = _axis_angle(0, math.radians(new))

    def _move(self, distance: float) -> bool:
        """Move along the body's -Z through the simulator's ``step_filter``; True (collided) if it ended short
        (habitat-sim: the filtered move is shorter than the requested one)."""
        step = _matrix(self.rotation) @ np.array([0.0, 0.0, -distance])
        target = self.position + step
        end = np.asarray(self._sim.step_filter(self.position, target), dtype=np.float64)
        collided = bool(np.linalg.norm(end - self.position) + 1e-5 < np.linalg.norm(step))
        self.position = end
        return collided


class Simulator:
    """``habitat_sim.Simulator`` stand-in over a built-in house (see the module docstring)."""

    def __init__(self, config: Configuration) -> None:
        self.calls: list[tuple[Any, ...]] = [("__init__", config.sim_cfg.scene_id)]
        self.collisions_in_observations = True  # False: report as habitat-lab's previous_step_collided instead
        self.previous_step_collided = False
        self.closed = False
        self._setup(config)

    def _setup(self, config: Configuration) -> None:
        from sims.raycast.simulator import RaycastSimulator, SimConfig

        self.config = config
        agent_cfg = config.agents[0]
        rgb = next(s for s in agent_cfg.sensor_specifications if s.sensor_type is SensorType.COLOR)
        self._seed = _seed_of(config.sim_cfg.scene_id)
        house = _house(self._seed)
        h, w = rgb.resolution
        self._world = RaycastSimulator(
            SimConfig(width=w, height=h, hfov_deg=float(rgb.hfov), camera_height_m=float(rgb.position[1]),
                      agent_radius_m=agent_cfg.radius, agent_height_m=agent_cfg.height))
        self._world.load_scene(house, nav=_navgrid(self._seed, 0.05, 0.1, 1.5))  # the world's own grid is unused
        self.pathfinder = PathFinder(config.sim_cfg.random_seed)
        if os.path.exists(_navmesh_file(config.sim_cfg.scene_id)):  # the scene's shipped navmesh
            shipped = NavMeshSettings()
            self.pathfinder._load(self._build(shipped), shipped)
        wanted = config.sim_cfg.navmesh_settings
        if wanted is not None and (not self.pathfinder.is_loaded or self.pathfinder.nav_mesh_settings != wanted):
            self._recompute(self.pathfinder, wanted, "navmesh_settings")
        self.semantic_scene = _semantic_scene(house)
        self._rng = np.random.default_rng(config.sim_cfg.random_seed)
        self.agents = [Agent(agent_cfg, self)]
        self.initialize_agent(0)

    def _build(self, settings: NavMeshSettings) -> Any:
        return _navgrid(self._seed, float(settings.cell_size), float(settings.agent_radius),
                        float(settings.agent_height))

    def _recompute(self, pathfinder: PathFinder, settings: NavMeshSettings, why: str) -> bool:
        self.calls.append((why, settings.copy()))
        pathfinder._load(self._build(settings), settings)
        return True

    @property
    def _nav(self) -> Any:
        """The loaded navmesh's grid (None without one)."""
        return self.pathfinder._nav

    # --- API used by the adapter ---------------------------------------------------------------------

    def recompute_navmesh(self, pathfinder: PathFinder, navmesh_settings: NavMeshSettings) -> bool:
        """Rebuild ``pathfinder``'s navmesh for ``navmesh_settings`` (habitat-sim 0.3's signature)."""
        if not isinstance(navmesh_settings, NavMeshSettings):
            raise TypeError(f"recompute_navmesh needs a NavMeshSettings, got {type(navmesh_settings).__name__}")
        return self._recompute(pathfinder, navmesh_settings, "recompute_navmesh")

    def step_filter(self, start_pos: Any, end_pos: Any) -> np.ndarray:
        """habitat-sim's ``Simulator.step_filter``: the navmesh-valid end of a move (free without a navmesh)."""
        if self.pathfinder.is_loaded:
            if self.config.sim_cfg.allow_sliding:
                return self.pathfinder.try_step(start_pos, end_pos)
            return self.pathfinder.try_step_no_sliding(start_pos, end_pos)
        return np.asarray(end_pos, dtype=np.float64)

    def seed(self, new_seed: int) -> None:
        self.calls.append(("seed", new_seed))
        self._rng = np.random.default_rng(new_seed)
        self.pathfinder.seed(new_seed)

    def reconfigure(self, config: Configuration) -> None:
        self.calls.append(("reconfigure", config.sim_cfg.scene_id))
        self._setup(config)

    def get_agent(self, agent_id: int) -> Agent:
        return self.agents[agent_id]

    def initialize_agent(self, agent_id: int, initial_state: AgentState | None = None) -> Agent:
        if initial_state is None:
            yaw = float(self._rng.uniform(0.0, 2 * math.pi))
            w, _, y, _ = _axis_angle(1, yaw)
            start = self.pathfinder.get_random_navigable_point() if self.pathfinder.is_loaded else np.zeros(3)
            initial_state = AgentState(start, Quaternion(w, 0.0, y, 0.0))
        else:
            self.calls.append(("initialize_agent", agent_id, initial_state))
        agent = self.get_agent(agent_id)
        agent.set_state(initial_state, is_initial=True)
        return agent

    def step(self, action: Any, dt: float = 1.0 / 60.0) -> dict[str, Any]:
        self.calls.append(("step", action))
        collided = self.get_agent(0).act(action)
        obs = self.get_sensor_observations()
        if self.collisions_in_observations:
            obs["collided"] = collided
        else:
            self.previous_step_collided = collided
        return obs

    def get_sensor_observations(self, agent_ids: int = 0) -> dict[str, Any]:
        from embodied.types import CameraIntrinsics

        agent = self.get_agent(agent_ids)
        state = agent.get_state()
        frames: dict[tuple, Any] = {}
        obs: dict[str, Any] = {}
        for spec in agent.agent_config.sensor_specifications:
            pose = state.sensor_states[spec.uuid]
            T = np.eye(4)
            T[:3, :3] = _M @ _matrix(_q(pose.rotation)) @ _GL_TO_CV
            T[:3, 3] = _to_ours(pose.position)
            h, w = spec.resolution
            key = (T.tobytes(), h, w, float(spec.hfov))
            if key not in frames:
                frames[key] = self._world._renderer.render(T, CameraIntrinsics.from_hfov(w, h, float(spec.hfov)))
            frame = frames[key]
            if spec.sensor_type is SensorType.COLOR:
                obs[spec.uuid] = np.concatenate([frame.rgb, np.full((h, w, 1), 255, np.uint8)], axis=-1)
            elif spec.sensor_type is SensorType.DEPTH:
                obs[spec.uuid] = frame.depth.copy()
            elif spec.sensor_type is SensorType.SEMANTIC:
                obs[spec.uuid] = (frame.instance.astype(np.int64) + 1).astype(np.uint32)
        return obs

    def close(self, destroy: bool = True) -> None:
        self.calls.append(("close",))
        self.closed = True
        self._world.close()
