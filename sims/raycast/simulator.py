"""The built-in simulator: procedural houses or scanned scene meshes, ray-cast RGB-D + instances,
discrete actions with collisions against the navigable grid, and a geodesic oracle. CPU only, no display.

A scene is picked by the episode's ``scene_id`` (or ``SimConfig.scene`` for random starts): "house-<seed>"
(a procedural house), a saved scene ``.json``, or a mesh file (``.glb`` / ``.gltf`` / ``.ply`` / ``.obj``:
a scan, read by :mod:`sims.raycast.scan`, its storeys and navigable grids found from its geometry by
:mod:`sims.raycast.floors`; the agent is on the storey of its start position's height). Episodes read from
habitat-lab files carry their goal's view points (``extras["goal_view_points_m"]``): those are then the
success region (habitat's rule: STOP within ``success_distance_m``, geodesic, of one of them), snapped
onto this simulator's grid within ``snap_m``; other episodes use the view points of the scene's own
instances (``goal_view_rule``).

>>> with RaycastSimulator(SimConfig()) as sim:
...     obs = sim.reset(episode)              # an ObjectNavEpisode, or None for a random start
...     res = sim.step(Action.MOVE_FORWARD)   # StepResult(observation, collided, done)
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np

from embodied import geometry
from embodied.errors import ConfigError
from embodied.tasks import ObjectNavEpisode
from embodied.types import Action, AgentPose, CameraIntrinsics, Observation, StepResult, navigation_action
from sims.raycast.floors import MAX_CLIMB_M, build_scan_navgrid, detect_floors, storey_of
from sims.raycast.house import HouseConfig, generate_house, seed_from_scene_id
from sims.raycast.navigation import NavGrid, build_navgrid, object_footprints, object_view_mask, visible_view_mask
from sims.raycast.render import BACKENDS, Renderer
from sims.raycast.scan import is_scan_path, load_scan
from sims.raycast.scene import Scene, load_scene

__all__ = ["SimConfig", "RaycastSimulator", "GOAL_VIEW_RULES"]


GOAL_VIEW_RULES = ("visible", "radius")
"""How ObjectNav view points (the success region) are chosen: "visible" (habitat's rule: navigable
cells within ``goal_view_radius_m`` of the object from which it is in line of sight at camera
height) or "radius" (every navigable cell within the radius, walls or not; the only rule before issue 19)."""


@dataclass(frozen=True, kw_only=True)
class SimConfig:
    """Sensor, agent and oracle settings of the built-in simulator (degrees in configs, radians in code).

    ``goal_view_rule`` picks the ObjectNav success region (:data:`GOAL_VIEW_RULES`). ``scene`` is the
    scene of random starts (``reset(None)``): "house-<seed>", a saved scene .json or a mesh file.
    Scanned scenes: ``scan_up_axis`` ("auto": y for glTF, z for PLY/OBJ), ``category_map`` (a JSON/CSV
    file of raw category -> ours), ``max_climb_m`` (steps walked over; habitat-sim's default 0.2 m).
    ``episode_view_points``: use an episode's own view points (habitat-lab files) as its success region.
    ``snap_m``: starts and view points off this simulator's grid move to the nearest navigable cell
    within this distance (our navigability is not habitat's navmesh).
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
    scene: str | None = None
    scan_up_axis: str = "auto"
    category_map: str | None = None
    max_climb_m: float = MAX_CLIMB_M
    episode_view_points: bool = True
    snap_m: float = 0.25

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
            (self.scan_up_axis in ("auto", "y", "z"), "scan_up_axis must be auto, y or z"),
            (0 <= self.max_climb_m < self.agent_height_m, "max_climb_m must be in [0, agent_height_m)"),
            (self.snap_m >= 0, "snap_m must be >= 0"),
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
        scene: a Scene to use; otherwise each episode's ``scene_id`` ("house-<seed>", the path of a
            saved scene .json, or a scan mesh file) picks the scene.
        house_config: generator settings for "house-<seed>" scenes.
    """

    def __init__(self, config: SimConfig = SimConfig(), scene: Scene | None = None,
                 house_config: HouseConfig = HouseConfig()) -> None:
        self.config = config
        self.house_config = house_config
        self.intrinsics = config.intrinsics
        self._scene: Scene | None = None
        self._scene_key: str | None = None
        self._navs: dict[int, NavGrid] = {}
        self._floors: list[float] = [0.0]
        self._storey = 0
        self._episode_goal: tuple[str, np.ndarray] | None = None
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
        """The navigable grid of the agent's storey."""
        self.scene  # noqa: B018 - raises when nothing is loaded
        return self._navs[self._storey]

    @property
    def floors_m(self) -> list[float]:
        """Floor heights (m) of the scene's storeys ([0.0] for procedural houses)."""
        return list(self._floors)

    @property
    def floor_z_m(self) -> float:
        """Floor height of the agent's storey."""
        return self._floors[self._storey]

    def load_scene(self, scene: Scene, nav: NavGrid | None = None) -> None:
        """Make ``scene`` current (builds its renderer and, unless given, its navigable grid; a scanned
        scene's storeys are found here, the agent put on the lowest one with navigable floor, and the
        others' grids built when first needed; ``nav`` is then that storey's grid). Nothing changes when
        this raises."""
        c = self.config
        navs: dict[int, NavGrid] = {}
        if scene.scanned:
            floors = detect_floors(scene)
            problems = []
            for i, z in enumerate(floors):  # the first storey whose grid builds (a crawl space has none)
                try:
                    navs[i] = nav if nav is not None else build_scan_navgrid(
                        scene, z, c.agent_radius_m, c.agent_height_m, c.nav_resolution_m, c.max_climb_m)
                    break
                except ConfigError as exc:
                    problems.append(str(exc))
            if not navs:
                raise ConfigError("; ".join(problems))
        else:
            floors = [0.0]
            navs[0] = nav if nav is not None else build_navgrid(scene, c.agent_radius_m, c.agent_height_m,
                                                                c.nav_resolution_m)
        renderer = Renderer(scene, c.backend, c.max_depth_m, c.threads, native=c.native)
        if self._renderer is not None:
            self._renderer.close()
        self._renderer = renderer
        self._scene, self._scene_key = scene, _scene_key(scene)
        self._floors, self._navs = floors, navs
        self._goal_masks = {}
        self._footprints = None
        self._caster = None
        self._episode_goal = None
        self.select_storey(min(navs))
        if scene.scanned:
            _release_freed_memory()  # a scan's transient arrays (reading, floors, grid) are hundreds of MB

    def select_storey(self, storey: int) -> None:
        """Put the agent on storey ``storey`` (an index into :attr:`floors_m`; builds its navigable grid
        on first use). The agent's position is not checked: reset or teleport next."""
        if not 0 <= storey < len(self._floors):
            raise ConfigError(f"storey {storey}: {self.scene.scene_id} has {len(self._floors)} storey(s) (floors at "
                              f"{', '.join(f'{z:.2f}' for z in self._floors)} m)")
        if storey not in self._navs:
            c = self.config
            self._navs[storey] = build_scan_navgrid(self.scene, self._floors[storey], c.agent_radius_m,
                                                    c.agent_height_m, c.nav_resolution_m, c.max_climb_m)
        self._storey = storey

    def _ensure_scene(self, scene_id: str) -> None:
        if is_scan_path(scene_id):
            scene_id = os.path.realpath(scene_id)
        if self._scene is not None and self._scene_key == scene_id:
            return
        if scene_id.endswith(".json"):
            scene, nav = load_scene(scene_id)
            self.load_scene(scene, NavGrid.from_json(nav) if nav else None)
        elif is_scan_path(scene_id):
            c = self.config
            self.load_scene(load_scan(scene_id, up_axis=c.scan_up_axis, category_map=c.category_map))
        else:
            self.load_scene(generate_house(seed_from_scene_id(scene_id), self.house_config))
        self._scene_key = scene_id

    def _snap(self, xy: np.ndarray) -> np.ndarray | None:
        """``xy`` when navigable; on a scanned scene else the nearest navigable cell centre within
        ``snap_m``; otherwise None."""
        xy = np.asarray(xy, float)[:2]
        if self.nav.is_navigable(xy):
            return xy
        if not self.scene.scanned:
            return None
        n = int(math.ceil(self.config.snap_m / self.nav.resolution_m)) + 1
        r, c = self.nav.to_cell(xy)
        r0, c0 = max(r - n, 0), max(c - n, 0)
        cells = np.argwhere(self.nav.navigable[r0:r + n + 1, c0:c + n + 1]) + (r0, c0)
        if len(cells) == 0:
            return None
        centres = np.asarray(self.nav.origin_xy_m) + (cells[:, ::-1] + 0.5) * self.nav.resolution_m
        d = np.linalg.norm(centres - xy, axis=1)
        k = int(np.argmin(d))
        return centres[k] if d[k] <= self.config.snap_m + 1e-9 else None

    def view_point_mask(self, points_m: np.ndarray) -> np.ndarray:
        """(H, W) bool cells of view points ``points_m`` (N, 3) on the agent's storey, each snapped onto
        the navigable grid within ``snap_m`` (points farther off are left out)."""
        mask = np.zeros(self.nav.shape, bool)
        for p in np.asarray(points_m, float).reshape(-1, 3):
            if abs(p[2] - self.floor_z_m) > 0.5:
                continue  # another storey's
            q = self._snap(p[:2])
            if q is not None:
                mask[self.nav.to_cell(q)] = True
        return mask

    def goal_mask(self, category: str) -> np.ndarray:
        """(H, W) bool view-point cells of all instances of ``category`` (the success region, by
        ``config.goal_view_rule``)."""
        mask = self._goal_masks.get((self._storey, category))
        if mask is None:
            objs = self.scene.objects_of(category)
            if not objs:
                has = ", ".join(self.scene.categories) or ("nothing: the scan has no semantics (see sims/raycast/scan.py)"
                                                           if self.scene.scanned else "nothing")
                raise ConfigError(f"scene {self.scene.scene_id} has no '{category}'; it has: {has}")
            if self.scene.scanned:  # the instances of the agent's storey: from its floor to the next one's
                z0 = self.floor_z_m
                above = [z for z in self._floors if z > z0 + 0.5]
                z1 = min(above) - 0.3 if above else math.inf
                objs = [o for o in objs if o.bbox_max_m[2] >= z0 - 0.3 and o.bbox_min_m[2] <= z1]
            if self._footprints is None:
                self._footprints = object_footprints(self.scene, -math.inf, math.inf)
            c = self.config
            if c.goal_view_rule == "visible":
                if self._caster is None:
                    from sims.raycast.render import ray_caster

                    self._caster = ray_caster(self.scene)
                mask = visible_view_mask(self.nav, self.scene, objs, c.goal_view_radius_m,
                                         self.floor_z_m + c.camera_height_m, self._footprints, self._caster)
            else:
                mask = object_view_mask(self.nav, objs, c.goal_view_radius_m, self._footprints)
            self._goal_masks[(self._storey, category)] = mask
        return mask

    # ------------------------------------------------------------------ oracle
    def geodesic_distance(self, start_m: np.ndarray, goal_m: np.ndarray) -> float:
        """Shortest walkable distance between two world points (x, y[, z]); inf if unreachable."""
        return self.nav.geodesic_distance(np.asarray(start_m)[:2], np.asarray(goal_m)[:2])

    def distance_to_goal(self, category: str, position_m: np.ndarray | None = None) -> float:
        """Geodesic distance from ``position_m`` (default: the agent) to the nearest view point of
        any ``category`` instance (habitat-lab's ObjectNav DistanceToGoal), or of the episode's own view
        points (episodes from habitat-lab files); inf if unreachable."""
        pos = self._pos if position_m is None else np.asarray(position_m)[:2]
        goal = self._episode_goal[1] if self._episode_goal and self._episode_goal[0] == category else None
        field = self.nav.distance_field(self.goal_mask(category) if goal is None else goal)
        r, c = self.nav.to_cell(pos)
        H, W = self.nav.shape
        return float(field[r, c]) if 0 <= r < H and 0 <= c < W else math.inf

    # ------------------------------------------------------------------ episode
    @property
    def agent_position_m(self) -> np.ndarray:
        return np.array([self._pos[0], self._pos[1], self.floor_z_m])

    @property
    def agent_yaw_rad(self) -> float:
        return self._yaw

    def reset(self, episode: ObjectNavEpisode | None = None, *, seed: int | None = None) -> Observation:
        """Start an episode (or, with None, a random navigable pose in the current/first house, on the
        current storey of a scan: :meth:`select_storey` picks another)."""
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self._episode_goal = None
        if episode is not None:
            self._ensure_scene(episode.scene_id)
            if self.scene.scanned:
                self.select_storey(storey_of(self._floors, episode.start_position_m[2]))
            pos = self._snap(np.asarray(episode.start_position_m[:2], float))
            if pos is None:
                raise ConfigError(
                    f"episode {episode.episode_id}: start {tuple(round(v, 3) for v in episode.start_position_m)} "
                    f"is not navigable in {episode.scene_id} (inside a wall or object, or outside the house; "
                    f"nothing navigable within snap_m={self.config.snap_m} m)")
            points = episode.extras.get("goal_view_points_m") if self.config.episode_view_points else None
            if points:
                mask = self.view_point_mask(np.asarray(points, float))
                if not mask.any():
                    raise ConfigError(f"episode {episode.episode_id}: none of its {len(points)} goal view points is on "
                                      f"this simulator's navigable grid of {episode.scene_id} (within snap_m="
                                      f"{self.config.snap_m} m)")
                self._episode_goal = (episode.goal_category, mask)
            else:
                self.goal_mask(episode.goal_category)  # unknown category -> clear error
            if not np.isfinite(self.distance_to_goal(episode.goal_category, pos)):
                raise ConfigError(f"episode {episode.episode_id}: no '{episode.goal_category}' is reachable "
                                  f"from the start in {episode.scene_id}")
            self._pos, self._yaw, self._goal = pos, float(episode.start_yaw_rad), episode.goal_category
        else:
            if self._scene is None:
                if self.config.scene:
                    self._ensure_scene(self.config.scene)
                else:
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
        given = np.asarray(position_m, float)
        if len(given) > 2 and self.scene.scanned:  # z picks the storey
            self.select_storey(storey_of(self._floors, float(given[2])))
        pos = given[:2]
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
        z0 = self.floor_z_m
        T = geometry.camera_pose(np.array([self._pos[0], self._pos[1], z0 + c.camera_height_m]), self._yaw, self._tilt)
        frame = self._renderer.render(T, self.intrinsics)
        return Observation(
            rgb=frame.rgb, depth=frame.depth, intrinsics=self.intrinsics, T_world_cam=T,
            agent_pose=AgentPose((float(self._pos[0]), float(self._pos[1]), z0), self._yaw),
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


def _release_freed_memory() -> None:
    """Hand freed heap pages back to the OS (glibc keeps them otherwise, and RSS stays at the peak)."""
    import ctypes
    import sys

    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):  # musl or another libc: nothing to do
            pass


def _scene_key(scene: Scene) -> str:
    """What ``_ensure_scene`` compares scene ids with: a scan's real file path, a house's id."""
    return os.path.realpath(scene.source_path) if scene.scanned else scene.scene_id
