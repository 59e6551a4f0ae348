"""The built-in simulator: procedural houses, ray-cast RGB-D + instances, discrete actions with
collisions against the navigable grid, and a geodesic oracle. CPU only, no display.

>>> with RaycastSimulator(SimConfig()) as sim:
...     obs = sim.reset(episode)              # an ObjectNavEpisode, or None for a random start
...     res = sim.step(Action.MOVE_FORWARD)   # StepResult(observation, collided, done)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from embodied import geometry
from embodied.errors import ConfigError
from embodied.tasks import ObjectNavEpisode
from embodied.types import Action, AgentPose, CameraIntrinsics, Observation, StepResult, navigation_action
from sims.raycast.house import HouseConfig, generate_house, seed_from_scene_id
from sims.raycast.navigation import NavGrid, build_navgrid, object_footprints, object_view_mask, visible_view_mask
from sims.raycast.render import BACKENDS, Renderer
from sims.raycast.scene import Scene, load_scene

__all__ = ["SimConfig", "RaycastSimulator", "GOAL_VIEW_RULES"]


GOAL_VIEW_RULES = ("visible", "radius")
"""How ObjectNav view points (the success region) are chosen: "visible" (habitat's rule: navigable
cells within ``goal_view_radius_m`` of the object from which it is in line of sight at camera
height) or "radius" (every navigable cell within the radius, walls or not; the only rule before issue 19)."""


@dataclass(frozen=True, kw_only=True)
class SimConfig:
    """Sensor, agent and oracle settings of the built-in simulator (degrees in configs, radians in code).

    ``goal_view_rule`` picks the ObjectNav success region (:data:`GOAL_VIEW_RULES`).
    """

    width: int = 224
    height: int = 224
    hfov_deg: float = 90.0
    camera_height_m: float = 0.88
    forward_m: float = 0.25
    turn_deg: float = 30.0
    tilt_step_deg: float = 30.0
    tilt_limit_deg: float = 60.0
    agent_radius_m: float = 0.18
    agent_height_m: float = 1.5
    forward_noise_m: float = 0.0
    turn_noise_deg: float = 0.0
    nav_resolution_m: float = 0.05
    goal_view_radius_m: float = 1.0
    goal_view_rule: str = "visible"
    max_depth_m: float = 20.0
    backend: str = "embree"
    threads: int | None = None
    native: bool | None = None  # embree only: None = the compiled renderer when it builds here, else numpy

    def __post_init__(self) -> None:
        checks = [
            (self.width > 0 and self.height > 0, "width and height must be > 0"),
            (0 < self.hfov_deg < 180, "hfov_deg must be in (0, 180)"),
            (0 < self.camera_height_m < self.agent_height_m + 1.0, "camera_height_m must be > 0 and near the agent"),
            (self.forward_m > 0 and self.turn_deg > 0 and self.tilt_step_deg > 0, "step sizes must be > 0"),
            (0 <= self.tilt_limit_deg <= 89, "tilt_limit_deg must be in [0, 89]"),
            (self.agent_radius_m >= 0 and self.agent_height_m > 0, "agent size must be non-negative"),
            (self.forward_noise_m >= 0 and self.turn_noise_deg >= 0, "noise std must be >= 0"),
            (0 < self.nav_resolution_m <= 0.25, "nav_resolution_m must be in (0, 0.25]"),
            (self.goal_view_radius_m > 0 and self.max_depth_m > 0, "radii must be > 0"),
            (self.backend in BACKENDS, f"backend must be one of {BACKENDS}"),
            (self.goal_view_rule in GOAL_VIEW_RULES, f"goal_view_rule must be one of {GOAL_VIEW_RULES}"),
        ]
        for ok, msg in checks:
            if not ok:
                raise ConfigError(f"invalid SimConfig: {msg}")

    @property
    def intrinsics(self) -> CameraIntrinsics:
        return CameraIntrinsics.from_hfov(self.width, self.height, self.hfov_deg)


class RaycastSimulator:
    """The built-in simulator (implements ``Simulator`` and ``GeodesicOracle``).

    Args:
        config: sensor/agent settings.
        scene: a Scene to use; otherwise each episode's ``scene_id`` ("house-<seed>", or the path of
            a saved scene .json) picks the house.
        house_config: generator settings for "house-<seed>" scenes.
    """

    def __init__(self, config: SimConfig = SimConfig(), scene: Scene | None = None,
                 house_config: HouseConfig = HouseConfig()) -> None:
        self.config = config
        self.house_config = house_config
        self.intrinsics = config.intrinsics
        self._scene: Scene | None = None
        self._nav: NavGrid | None = None
        self._renderer: Renderer | None = None
        self._goal_masks: dict[str, np.ndarray] = {}
        self._footprints: dict[int, np.ndarray] | None = None
        self._caster = None
        self._rng = np.random.default_rng(0)
        self._pos = np.zeros(2)
        self._yaw = 0.0
        self._tilt = 0.0
        self._step = 0
        self._goal: str | None = None
        if scene is not None:
            self.load_scene(scene)

    # ------------------------------------------------------------------ scene
    @property
    def scene(self) -> Scene:
        if self._scene is None:
            raise ConfigError("no scene loaded: call reset(episode) or load_scene(scene) first")
        return self._scene

    @property
    def nav(self) -> NavGrid:
        self.scene  # noqa: B018 - raises when nothing is loaded
        return self._nav

    def load_scene(self, scene: Scene, nav: NavGrid | None = None) -> None:
        """Make ``scene`` current (builds its renderer and, unless given, its navigable grid)."""
        if self._renderer is not None:
            self._renderer.close()
        c = self.config
        self._scene = scene
        self._nav = nav if nav is not None else build_navgrid(scene, c.agent_radius_m, c.agent_height_m,
                                                              c.nav_resolution_m)
        self._renderer = Renderer(scene, c.backend, c.max_depth_m, c.threads, native=c.native)
        self._goal_masks = {}
        self._footprints = None
        self._caster = None

    def _ensure_scene(self, scene_id: str) -> None:
        if self._scene is not None and self._scene.scene_id == scene_id:
            return
        if scene_id.endswith(".json"):
            scene, nav = load_scene(scene_id)
            self.load_scene(scene, NavGrid.from_json(nav) if nav else None)
            return
        self.load_scene(generate_house(seed_from_scene_id(scene_id), self.house_config))

    def goal_mask(self, category: str) -> np.ndarray:
        """(H, W) bool view-point cells of all instances of ``category`` (the success region, by
        ``config.goal_view_rule``)."""
        mask = self._goal_masks.get(category)
        if mask is None:
            objs = self.scene.objects_of(category)
            if not objs:
                raise ConfigError(f"scene {self.scene.scene_id} has no '{category}'; it has: "
                                  f"{', '.join(self.scene.categories)}")
            if self._footprints is None:
                self._footprints = object_footprints(self.scene, -math.inf, math.inf)
            c = self.config
            if c.goal_view_rule == "visible":
                if self._caster is None:
                    from sims.raycast.render import ray_caster

                    self._caster = ray_caster(self.scene)
                mask = visible_view_mask(self.nav, self.scene, objs, c.goal_view_radius_m, c.camera_height_m,
                                         self._footprints, self._caster)
            else:
                mask = object_view_mask(self.nav, objs, c.goal_view_radius_m, self._footprints)
            self._goal_masks[category] = mask
        return mask

    # ------------------------------------------------------------------ oracle
    def geodesic_distance(self, start_m: np.ndarray, goal_m: np.ndarray) -> float:
        """Shortest walkable distance between two world points (x, y[, z]); inf if unreachable."""
        return self.nav.geodesic_distance(np.asarray(start_m)[:2], np.asarray(goal_m)[:2])

    def distance_to_goal(self, category: str, position_m: np.ndarray | None = None) -> float:
        """Geodesic distance from ``position_m`` (default: the agent) to the nearest view point of
        any ``category`` instance (habitat-lab's ObjectNav DistanceToGoal); inf if unreachable."""
        pos = self._pos if position_m is None else np.asarray(position_m)[:2]
        field = self.nav.distance_field(self.goal_mask(category))
        r, c = self.nav.to_cell(pos)
        H, W = self.nav.shape
        return float(field[r, c]) if 0 <= r < H and 0 <= c < W else math.inf

    # ------------------------------------------------------------------ episode
    @property
    def agent_position_m(self) -> np.ndarray:
        return np.array([self._pos[0], self._pos[1], 0.0])

    @property
    def agent_yaw_rad(self) -> float:
        return self._yaw

    def reset(self, episode: ObjectNavEpisode | None = None, *, seed: int | None = None) -> Observation:
        """Start an episode (or, with None, a random navigable pose in the current/first house)."""
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        if episode is not None:
            self._ensure_scene(episode.scene_id)
            pos = np.asarray(episode.start_position_m[:2], float)
            if not self.nav.is_navigable(pos):
                raise ConfigError(
                    f"episode {episode.episode_id}: start {tuple(round(v, 3) for v in episode.start_position_m)} "
                    f"is not navigable in {episode.scene_id} (inside a wall or object, or outside the house)")
            self.goal_mask(episode.goal_category)  # unknown category -> clear error
            if not np.isfinite(self.distance_to_goal(episode.goal_category, pos)):
                raise ConfigError(f"episode {episode.episode_id}: no '{episode.goal_category}' is reachable "
                                  f"from the start in {episode.scene_id}")
            self._pos, self._yaw, self._goal = pos, float(episode.start_yaw_rad), episode.goal_category
        else:
            if self._scene is None:
                self.load_scene(generate_house(seed or 0, self.house_config))
            cells = np.argwhere(self.nav.largest_component())
            r, c = cells[int(self._rng.integers(len(cells)))]
            self._pos = self.nav.cell_center(int(r), int(c))
            self._yaw, self._goal = float(self._rng.uniform(-math.pi, math.pi)), None
        self._tilt, self._step = 0.0, 0
        return self._observe()

    def teleport(self, position_m: np.ndarray, yaw_rad: float, tilt_rad: float = 0.0) -> Observation:
        """Put the agent at a navigable ``position_m`` (x, y[, z]) with heading and camera tilt, as
        habitat-sim's ``set_agent_state`` / AI2-THOR's ``Teleport`` (for experts and tests; the step
        count does not change). Raises ConfigError where the agent cannot stand."""
        pos = np.asarray(position_m, float)[:2]
        if not self.nav.is_navigable(pos):
            raise ConfigError(f"cannot teleport to {tuple(np.round(pos, 3))}: not navigable in {self.scene.scene_id}")
        lim = math.radians(self.config.tilt_limit_deg)
        self._pos, self._yaw, self._tilt = pos, _wrap(float(yaw_rad)), float(np.clip(tilt_rad, -lim, lim))
        return self._observe()

    def step(self, action: Action | str) -> StepResult:
        action = navigation_action(action, type(self).__name__)
        c = self.config
        collided = False
        if action is Action.MOVE_FORWARD:
            dist = c.forward_m + (self._rng.normal(0.0, c.forward_noise_m) if c.forward_noise_m else 0.0)
            collided = self._move(max(dist, 0.0))
        elif action in (Action.TURN_LEFT, Action.TURN_RIGHT):
            turn = math.radians(c.turn_deg + (self._rng.normal(0.0, c.turn_noise_deg) if c.turn_noise_deg else 0.0))
            self._yaw = _wrap(self._yaw + (turn if action is Action.TURN_LEFT else -turn))
        elif action in (Action.LOOK_UP, Action.LOOK_DOWN):
            step = math.radians(c.tilt_step_deg) * (1 if action is Action.LOOK_UP else -1)
            lim = math.radians(c.tilt_limit_deg)
            self._tilt = float(np.clip(self._tilt + step, -lim, lim))
        self._step += 1
        obs = self._observe()
        info = {"position_m": self.agent_position_m.tolist(), "yaw_rad": self._yaw, "collided": collided}
        return StepResult(obs, collided=collided, done=action is Action.STOP, info=info)

    def _move(self, dist: float) -> bool:
        """Move forward by ``dist`` along the heading; stop at the last free point. True = collided."""
        direction = np.array([math.cos(self._yaw), math.sin(self._yaw)])
        target = self._pos + dist * direction
        if self.nav.segment_is_free(self._pos, target):
            self._pos = target
            return False
        n = max(2, int(math.ceil(dist / (self.nav.resolution_m / 4))) + 1)
        last = self._pos
        for p in np.linspace(self._pos, target, n)[1:]:
            if not self.nav.is_navigable(p):
                break
            last = p
        self._pos = last
        return True

    def _observe(self) -> Observation:
        c = self.config
        T = geometry.camera_pose(np.array([self._pos[0], self._pos[1], c.camera_height_m]), self._yaw, self._tilt)
        frame = self._renderer.render(T, self.intrinsics)
        return Observation(
            rgb=frame.rgb, depth=frame.depth, intrinsics=self.intrinsics, T_world_cam=T,
            agent_pose=AgentPose((float(self._pos[0]), float(self._pos[1]), 0.0), self._yaw),
            step=self._step, goal=self._goal, semantic=frame.instance, labels=self.scene.labels,
            holding=self._holding(), extras={"scene_id": self.scene.scene_id, "tilt_rad": self._tilt, **self._extras()},
        )

    def _holding(self) -> bool:
        """Whether the agent holds an object (never here; the rearrangement simulator overrides it)."""
        return False

    def _extras(self) -> dict:
        """More simulator-private fields for ``Observation.extras`` (subclasses add theirs)."""
        return {}

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()

    def __enter__(self) -> RaycastSimulator:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _wrap(angle: float) -> float:
    return float((angle + math.pi) % (2 * math.pi) - math.pi)
