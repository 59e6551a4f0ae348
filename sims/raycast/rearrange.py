"""Two-phase rearrangement in the built-in simulator (AI2-THOR Rearrangement, "RoomR", on our houses).

An episode (:class:`embodied.tasks.RearrangeEpisode`) is a house, a start pose and a shuffle: K small
objects (``PICKUPABLE``: mugs, laptops, vases) moved to other free spots on the tables and cabinets.

- ``reset(episode)`` starts the **walkthrough**: the room as it should be, ``walkthrough_steps`` actions
  (RoomR: 250), navigation only.
- ``begin_unshuffle()`` starts the **unshuffle** phase: the same start pose with the shuffle applied,
  ``unshuffle_steps`` actions (RoomR: 500), navigation plus ``PICK_UP`` and ``PUT_DOWN``, each aimed at
  a point of the last frame (:class:`embodied.types.ActionAt`, as AI2-THOR's ``PickupObject(x, y)``).
- ``metrics()`` scores the current state against the walkthrough (embodied.rearrangement, RoomR's rules).

Interaction rules (AI2-THOR's where it has one):
- Reach: the aimed surface point must be within ``reach_m`` (straight-line distance) of the camera
  (1.5 m, AI2-THOR's default ``visibilityDistance``, the distance within which objects are interactable).
- Pick-up: the aimed pixel shows a pickupable object and the hand is empty. The held object moves with
  the agent (its pose is 0.35 m ahead of the base, 0.6 m up) and is not drawn (it is carried out of view).
- Put-down: with ``snap`` (RoomR's default ``RearrangeMode.SNAP``, ``drop_held_object_with_snap`` in
  allenai/ai2thor-rearrangement ``rearrange/environment.py``) the object returns exactly to its
  walkthrough pose when the agent is within ``reach_m`` of that pose, sees it (its centre in the
  image and not occluded) and no other object stands there. Otherwise (or without ``snap``) it is
  placed with its box centre over the aimed point, keeping its heading, if that point is the top of a
  table or cabinet with room for it (inside the top, overlapping no other object on it). If neither
  works the action fails and the object stays in hand.
- Objects can be shuffled and placed only on furniture tops, so the navigable grid never changes.
- STOP ends a phase (RoomR's "done").

Where RoomR differs: it picks up by type (``pickup_<type>``: the nearest visible object of that type)
where we aim at a pixel (AI2-THOR's own ``PickupObject(x, y)``); its snap needs the agent on one of a
cached set of "interactable" positions, rotations and horizons for the goal pose, where we test reach
and visibility directly; when snap fails it tries ``PutObject`` on a visible receptacle and then drops
the object on the floor, where ours fails and keeps the object in hand (never a state the task cannot
score); and it has openable objects (cabinets, fridges) whose openness changes, which the built-in
houses do not have yet.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from embodied import geometry
from embodied.errors import ConfigError
from embodied.rearrangement import ObjectPose, RearrangeMetrics, box_iou_3d, pose_energy, rearrangement_metrics
from embodied.tasks import ObjectMove, RearrangeEpisode
from embodied.types import NAVIGATION_ACTIONS, Action, ActionAt, Observation, StepResult
from sims.raycast.categories import CATEGORIES, PICKUPABLE
from sims.raycast.episodes import split_house_seeds, SPLITS
from sims.raycast.house import HouseConfig, generate_house, house_scene_id, seed_from_scene_id
from sims.raycast.navigation import build_navgrid
from sims.raycast.render import Renderer
from sims.raycast.scene import Scene, SceneObject
from sims.raycast.simulator import RaycastSimulator, SimConfig

__all__ = ["RearrangeConfig", "RearrangeSimulator", "generate_rearrange_episodes", "PHASES", "ObjectShape",
           "object_shape", "object_pose", "footprint_outline", "support_top", "move_object"]

PHASES = ("walkthrough", "unshuffle")
_HELD_OFFSET_M = (0.35, 0.0, 0.6)  # where a carried object is, in the base frame


@dataclass(frozen=True, kw_only=True)
class RearrangeConfig:
    """Budgets, interaction rules and the houses of the rearrangement task.

    Attributes:
        walkthrough_steps, unshuffle_steps: action budgets of the two phases (RoomR: 250 and 500).
        reach_m: interaction distance from the camera (AI2-THOR's visibilityDistance, 1.5 m).
        snap: RoomR's snap-to-goal put-down (see the module docstring).
        house: the generator settings of rearrangement houses: one room of about 30 m2 (RoomR's
            iTHOR rooms are single rooms), with four extra small objects on its furniture.
        min_move_m: a shuffled object lands at least this far from its walkthrough spot, not
            overlapping it (so it starts misplaced).
    """

    walkthrough_steps: int = 250
    unshuffle_steps: int = 500
    reach_m: float = 1.5
    snap: bool = True
    house: HouseConfig = HouseConfig(n_rooms=1, area_m2=30.0, surface_clutter=4)
    min_move_m: float = 0.3

    def __post_init__(self) -> None:
        if isinstance(self.house, dict):
            from embodied.config import config_from_dict

            object.__setattr__(self, "house", config_from_dict(HouseConfig, self.house))
        if self.walkthrough_steps < 1 or self.unshuffle_steps < 1:
            raise ConfigError("invalid RearrangeConfig: step budgets must be >= 1")
        if not (0.3 <= self.reach_m <= 5.0) or self.min_move_m < 0:
            raise ConfigError("invalid RearrangeConfig: reach_m must be in [0.3, 5] m and min_move_m >= 0")


# ---------------------------------------------------------------------------------------------- geometry
def _rot2(yaw: float) -> np.ndarray:
    c, s = math.cos(yaw), math.sin(yaw)
    return np.array([[c, -s], [s, c]])


def _rect_corners(center_xy: np.ndarray, half_xy: np.ndarray, yaw: float) -> np.ndarray:
    """(4, 2) corners of a rectangle of half extents ``half_xy`` turned by ``yaw`` about its centre."""
    signs = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], float)
    return center_xy + (signs * half_xy) @ _rot2(yaw).T


def _convex_overlap(a: np.ndarray, b: np.ndarray, margin: float = 0.0) -> bool:
    """Whether two convex polygons (N, 2) overlap by more than ``margin`` (separating axis test)."""
    for poly in (a, b):
        edges = np.roll(poly, -1, axis=0) - poly
        for nx, ny in np.stack([-edges[:, 1], edges[:, 0]], 1):
            n = np.array([nx, ny]) / max(math.hypot(nx, ny), 1e-12)
            pa, pb = a @ n, b @ n
            if pa.max() <= pb.min() + margin or pb.max() <= pa.min() + margin:
                return False
    return True


def _inside(points: np.ndarray, poly: np.ndarray) -> bool:
    """Whether all ``points`` (N, 2) lie inside the convex counter-clockwise polygon ``poly``."""
    edges = np.roll(poly, -1, axis=0) - poly
    rel = points[:, None, :] - poly[None]
    cross = edges[None, :, 0] * rel[..., 1] - edges[None, :, 1] * rel[..., 0]
    return bool((cross >= 0).all())


@dataclass(frozen=True)
class ObjectShape:
    """An object's box in its own frame: centre offset from its base position, and size (both (3,))."""

    center_local_m: np.ndarray
    size_m: np.ndarray


def object_shape(scene: Scene, obj: SceneObject) -> ObjectShape:
    """``obj``'s box in its own frame, from its triangles in ``scene`` (rotated back by its heading)."""
    v = scene.vertices[scene.faces[scene.face_instance == obj.instance_id]].reshape(-1, 3).astype(np.float64)
    local = v - np.asarray(obj.position_m)
    local[:, :2] = local[:, :2] @ _rot2(obj.yaw_rad)  # rotate by -yaw: row vectors times R
    lo, hi = local.min(0), local.max(0)
    return ObjectShape((lo + hi) / 2, hi - lo)


def support_top(scene: Scene, obj: SceneObject) -> tuple[float, np.ndarray]:
    """(top height, (N, 2) counter-clockwise outline of the top, 2 cm in from its edge) of a table or
    cabinet: the convex hull of its vertices within 5 mm of its highest point (a round table's disc,
    not its square footprint)."""
    from scipy.spatial import ConvexHull

    v = scene.vertices[scene.faces[scene.face_instance == obj.instance_id]].reshape(-1, 3).astype(np.float64)
    top_z = float(v[:, 2].max())
    xy = v[v[:, 2] >= top_z - 0.005, :2]
    hull = xy[ConvexHull(xy).vertices]  # counter-clockwise in 2D
    c = hull.mean(0)
    r = np.linalg.norm(hull - c, axis=1, keepdims=True)
    return top_z, c + (hull - c) * np.maximum(r - 0.02, 0.0) / np.maximum(r, 1e-9)


def move_object(scene: Scene, obj: SceneObject, position_m: np.ndarray, yaw_rad: float) -> Scene:
    """A copy of ``scene`` with ``obj``'s triangles and annotations moved to (position, yaw)."""
    idx = np.flatnonzero(scene.face_instance == obj.instance_id)
    vid = scene.faces[idx].ravel()
    v = scene.vertices.copy()
    local = v[vid].astype(np.float64) - np.asarray(obj.position_m)
    d = yaw_rad - obj.yaw_rad
    local[:, :2] = local[:, :2] @ _rot2(d).T
    moved = local + np.asarray(position_m, float)
    v[vid] = moved.astype(np.float32)
    fp = (np.asarray(obj.footprint_xy_m, float) - np.asarray(obj.position_m)[:2]) @ _rot2(d).T + np.asarray(position_m)[:2]
    new = dataclasses.replace(
        obj, position_m=tuple(round(float(a), 4) for a in position_m), yaw_rad=round(float(_wrap(yaw_rad)), 6),
        bbox_min_m=tuple(round(float(a), 4) for a in moved.min(0)), bbox_max_m=tuple(round(float(a), 4) for a in moved.max(0)),
        footprint_xy_m=tuple(tuple(round(float(a), 4) for a in p) for p in fp))
    objects = [new if o.instance_id == obj.instance_id else o for o in scene.objects]
    return dataclasses.replace(scene, vertices=v, objects=objects)


def _without(scene: Scene, instance_id: int) -> Scene:
    """``scene`` with one instance's triangles removed (what the camera sees while it is carried)."""
    keep = scene.face_instance != instance_id
    tri = scene.vertices[scene.faces[keep]].reshape(-1, 3)
    return dataclasses.replace(scene, vertices=np.ascontiguousarray(tri),
                               faces=np.arange(len(tri), dtype=np.int32).reshape(-1, 3),
                               face_albedo=scene.face_albedo[keep], face_pattern=scene.face_pattern[keep],
                               face_instance=scene.face_instance[keep])


def _wrap(a: float) -> float:
    return float((a + math.pi) % (2 * math.pi) - math.pi)


def _free_spot(scene: Scene, shapes: dict[int, ObjectShape], obj: SceneObject, supports: list[SceneObject],
               rng: np.random.Generator, avoid: list[np.ndarray], tries: int = 60) -> tuple[np.ndarray, float] | None:
    """A random base position and heading for ``obj`` on one of ``supports`` whose footprint lies on the
    top and overlaps no outline in ``avoid``; None when none was found in ``tries`` draws."""
    shape = shapes[obj.instance_id]
    for _ in range(tries):
        sup = supports[int(rng.integers(len(supports)))]
        top_z, top = support_top(scene, sup)
        lo, hi = top.min(0), top.max(0)
        c = rng.uniform(lo, hi)
        yaw = _wrap(sup.yaw_rad + float(rng.choice([0.0, math.pi / 2, math.pi, -math.pi / 2])))
        fp = _rect_corners(c, shape.size_m[:2] / 2, yaw)
        if not _inside(fp, top) or any(_convex_overlap(fp, a, 0.005) for a in avoid):
            continue
        base_xy = c - _rot2(yaw) @ shape.center_local_m[:2]
        return np.array([base_xy[0], base_xy[1], top_z + 0.001]), yaw
    return None


def footprint_outline(obj: SceneObject, shape: ObjectShape) -> np.ndarray:
    """(4, 2) oriented footprint of ``obj``'s box."""
    c = np.asarray(obj.position_m[:2]) + _rot2(obj.yaw_rad) @ shape.center_local_m[:2]
    return _rect_corners(c, shape.size_m[:2] / 2, obj.yaw_rad)


def object_pose(obj: SceneObject, shape: ObjectShape) -> ObjectPose:
    """The scoring pose (box centre, size, heading) of ``obj`` placed where its annotations say."""
    c = np.asarray(obj.position_m, float).copy()
    c[:2] += _rot2(obj.yaw_rad) @ shape.center_local_m[:2]
    c[2] += shape.center_local_m[2]
    return ObjectPose(str(obj.instance_id), obj.category, tuple(float(a) for a in c),
                      tuple(float(a) for a in shape.size_m), float(obj.yaw_rad))


# ---------------------------------------------------------------------------------------------- episodes
def generate_rearrange_episodes(split: str, n_episodes: int, *, seed: int = 0, n_moved: int | tuple[int, int] = (1, 5),
                                config: RearrangeConfig = RearrangeConfig(), sim_config: SimConfig = SimConfig(),
                                episodes_per_house: int = 1, progress: bool = False) -> list[RearrangeEpisode]:
    """Deterministic rearrangement episodes of ``split`` (the ObjectNav house splits; same arguments,
    same episodes).

    Args:
        n_moved: objects moved per episode, fixed (3) or drawn from an inclusive range ((1, 5), RoomR's).
        episodes_per_house: episodes drawn per house before the next.
    Only objects and furniture tops that can be reached are used (a navigable cell of the house's main
    component within ``reach_m`` - 0.3 of them); a house with fewer than K such objects, or with no
    free spot for them, is skipped; the number skipped so far is in each episode's
    ``extras["houses_skipped"]``.
    """
    lo, hi = (n_moved, n_moved) if isinstance(n_moved, int) else n_moved
    if not 1 <= lo <= hi:
        raise ConfigError(f"n_moved must be >= 1 (a count or an inclusive range), got {n_moved}")
    houses = split_house_seeds(split)
    rng = np.random.default_rng([seed, sorted(SPLITS).index(split), 7])
    episodes: list[RearrangeEpisode] = []
    skipped = 0
    h = 0
    c = sim_config
    bar = tqdm(total=n_episodes, desc=f"{split} rearrangement episodes", disable=not progress)
    while len(episodes) < n_episodes:
        if h >= len(houses):
            raise ConfigError(f"split '{split}' ran out of houses after {len(episodes)} episodes "
                              f"({skipped} houses had too few reachable pickupable objects)")
        house = houses[h]
        h += 1
        scene = generate_house(house, config.house)
        nav = build_navgrid(scene, c.agent_radius_m, c.agent_height_m, c.nav_resolution_m)
        comp = nav.largest_component()
        cells = np.argwhere(comp)
        X, Y = nav.cell_centers()
        pts = np.column_stack([X[comp], Y[comp]])  # same (row-major) order as ``cells``
        shapes = {o.instance_id: object_shape(scene, o) for o in scene.objects}

        def reachable(xy: np.ndarray) -> bool:
            return bool((np.linalg.norm(pts - xy, axis=1) <= config.reach_m - 0.3).any())

        small = [o for o in scene.objects if o.category in PICKUPABLE
                 and reachable(footprint_outline(o, shapes[o.instance_id]).mean(0))]
        supports = [o for o in scene.objects if CATEGORIES[o.category].supports
                    and reachable(support_top(scene, o)[1].mean(0))]
        for _ in range(episodes_per_house):
            if len(episodes) >= n_episodes:
                break
            k = int(rng.integers(lo, hi + 1))
            if len(small) < k or not supports:
                skipped += 1
                break
            # every object's walkthrough spot stays free, and new spots do not overlap each other
            avoid = [footprint_outline(o, shapes[o.instance_id]) for o in scene.objects
                     if CATEGORIES[o.category].placement == "surface"]
            moves = []
            for i in rng.permutation(len(small)):  # objects in random order; one without a free spot is passed over
                if len(moves) == k:
                    break
                obj, shape = small[int(i)], shapes[small[int(i)].instance_id]
                for _ in range(5):
                    spot = _free_spot(scene, shapes, obj, supports, rng, avoid)
                    if spot is None:
                        break
                    moved = dataclasses.replace(obj, position_m=tuple(spot[0]), yaw_rad=spot[1])
                    far = np.linalg.norm(spot[0][:2] - np.asarray(obj.position_m[:2])) >= config.min_move_m
                    if far and box_iou_3d(object_pose(obj, shape), object_pose(moved, shape)) == 0:
                        avoid.append(footprint_outline(moved, shape))
                        moves.append(ObjectMove(str(obj.instance_id), tuple(round(float(a), 4) for a in spot[0]),
                                                round(float(spot[1]), 6)))
                        break
            moves.sort(key=lambda m: int(m.object_id))
            if len(moves) < k:
                skipped += 1
                break
            r, cc = cells[int(rng.integers(len(cells)))]
            x, y = nav.cell_center(int(r), int(cc))
            episodes.append(RearrangeEpisode(
                episode_id=f"{split}-{len(episodes):05d}", scene_id=house_scene_id(house),
                start_position_m=(round(float(x), 4), round(float(y), 4), 0.0),
                start_yaw_rad=round(float(rng.uniform(-math.pi, math.pi)), 6), moves=tuple(moves), split=split,
                extras={"house_seed": int(house), "house": dataclasses.asdict(config.house),
                        "houses_skipped": skipped}))
            bar.update(1)
    bar.close()
    return episodes


# ---------------------------------------------------------------------------------------------- simulator
class RearrangeSimulator(RaycastSimulator):
    """The built-in simulator with the two rearrangement phases, pick-up and put-down (module docstring).

    >>> sim = RearrangeSimulator(SimConfig(), RearrangeConfig())
    >>> obs = sim.reset(episode)            # walkthrough
    >>> obs = sim.begin_unshuffle()         # unshuffle
    >>> sim.step(ActionAt(Action.PICK_UP, 0.5, 0.6)).info["success"]
    >>> sim.metrics().prop_fixed_strict
    """

    def __init__(self, config: SimConfig = SimConfig(), rearrange: RearrangeConfig = RearrangeConfig()) -> None:
        super().__init__(config, house_config=rearrange.house)
        self.rearrange = rearrange
        self.phase: str | None = None
        self.held: int | None = None
        self._episode: RearrangeEpisode | None = None
        self._goal_scene: Scene | None = None
        self._shapes: dict[int, ObjectShape] = {}
        self._phase_steps = 0
        self._last_frame: Observation | None = None
        self.history: list[dict[str, Any]] = []  # the unshuffle phase's interactions

    # ------------------------------------------------------------------ phases
    def reset(self, episode: RearrangeEpisode | None = None, *, seed: int | None = None) -> Observation:
        """Start ``episode``'s walkthrough phase (the room as it should be). ``seed`` seeds the motion
        noise (SimConfig forward / turn noise), as in RaycastSimulator.reset."""
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        if not isinstance(episode, RearrangeEpisode):
            raise ConfigError("RearrangeSimulator.reset needs a RearrangeEpisode "
                              "(sims.raycast.generate_rearrange_episodes, or read_episodes(..., episode_type=RearrangeEpisode))")
        want = episode.extras.get("house")
        if want is not None and want != dataclasses.asdict(self.rearrange.house):
            raise ConfigError(f"episode {episode.episode_id} was made for houses {want}, this simulator builds "
                              f"{dataclasses.asdict(self.rearrange.house)}; use the RearrangeConfig it was made with")
        c = self.config
        scene = generate_house(seed_from_scene_id(episode.scene_id), self.rearrange.house)
        ids = {str(o.instance_id): o for o in scene.objects}
        for m in episode.moves:
            if m.object_id not in ids or ids[m.object_id].category not in PICKUPABLE:
                raise ConfigError(f"episode {episode.episode_id} moves object {m.object_id}, which is not a "
                                  f"pickupable object of {episode.scene_id}")
        nav = build_navgrid(scene, c.agent_radius_m, c.agent_height_m, c.nav_resolution_m)
        pos = np.asarray(episode.start_position_m[:2], float)
        if not nav.is_navigable(pos):
            raise ConfigError(f"episode {episode.episode_id}: start {episode.start_position_m} is not navigable "
                              f"in {episode.scene_id}")
        self._episode, self._goal_scene, self.held = episode, scene, None
        self._shapes = {o.instance_id: object_shape(scene, o) for o in scene.objects}
        self.history = []
        self.load_scene(scene, nav)
        return self._start_phase("walkthrough")

    def begin_unshuffle(self) -> Observation:
        """Start the unshuffle phase: the shuffle applied, the agent back at the start pose."""
        if self._episode is None:
            raise ConfigError("begin_unshuffle() before reset(episode)")
        scene = self._goal_scene
        for m in self._episode.moves:
            obj = next(o for o in scene.objects if str(o.instance_id) == m.object_id)
            scene = move_object(scene, obj, np.asarray(m.position_m), m.yaw_rad)
        self.held = None
        self.load_scene(scene, self.nav)
        self._start = self.object_poses()
        goal = {p.object_id: p for p in self.goal_poses()}
        still = [p.object_id for p in self._start if p.object_id in {m.object_id for m in self._episode.moves}
                 and pose_energy(goal[p.object_id], p) == 0.0]
        if still:
            raise ConfigError(f"episode {self._episode.episode_id}: the moves of objects {still} leave them at "
                              "their walkthrough pose (box IoU >= 0.5); a move must misplace its object")
        self.history = []
        return self._start_phase("unshuffle")

    def _start_phase(self, phase: str) -> Observation:
        ep = self._episode
        self.phase, self._phase_steps, self._stopped = phase, 0, False
        self._goal = phase  # Observation.goal names the phase
        self._pos, self._yaw = np.asarray(ep.start_position_m[:2], float), float(ep.start_yaw_rad)
        self._tilt, self._step = 0.0, 0
        obs = self._last_frame = self._observe()
        return obs

    @property
    def budget(self) -> int:
        return self.rearrange.walkthrough_steps if self.phase == "walkthrough" else self.rearrange.unshuffle_steps

    # ------------------------------------------------------------------ acting
    def step(self, action: Action | ActionAt | str) -> StepResult:
        if self.phase is None:
            raise ConfigError("step() before reset(episode)")
        if self._phase_steps >= self.budget or self._stopped:
            why = "STOP was called" if self._stopped else f"{self.budget} steps"
            raise ConfigError(f"the {self.phase} phase is over ({why}); "
                              + ("call begin_unshuffle()" if self.phase == "walkthrough" else "score it with metrics()"))
        aim = action if isinstance(action, ActionAt) else None
        act = aim.action if aim else Action(action)
        if act in NAVIGATION_ACTIONS:
            res = super().step(act)
            self._phase_steps += 1
            self._stopped = act is Action.STOP  # RoomR's "done": the phase ends
            self._last_frame = res.observation
            done = res.done or self._phase_steps >= self.budget
            return dataclasses.replace(res, done=done, info={**res.info, "phase": self.phase, "success": not res.collided})
        x, y = (aim.x, aim.y) if aim else (0.5, 0.5)
        if self.phase != "unshuffle":
            ok, why = False, "objects can be picked up and put down only in the unshuffle phase"
        elif act is Action.PICK_UP:
            ok, why = self._pick_up(x, y)
        else:
            ok, why = self._put_down(x, y)
        self._step += 1
        self._phase_steps += 1
        obs = self._last_frame = self._observe()
        info = {"phase": self.phase, "success": ok, "held": None if self.held is None else str(self.held)}
        if why:
            info["error"] = why
        self.history.append({"step": self._phase_steps, "action": act.value, "x": x, "y": y, "success": ok,
                             "error": why})
        return StepResult(obs, done=self._phase_steps >= self.budget, info=info)

    def _pixel(self, x: float, y: float) -> tuple[int, int, float, np.ndarray]:
        """(row, col, depth, world point) of the last frame at image fractions (x, y)."""
        f = self._last_frame
        K = f.intrinsics
        col = min(int(x * K.width), K.width - 1)
        row = min(int(y * K.height), K.height - 1)
        d = float(f.depth[row, col])
        p_cam = np.array([(col - K.cx) / K.fx * d, (row - K.cy) / K.fy * d, d])
        return row, col, d, geometry.transform_points(f.T_world_cam, p_cam)

    def _pick_up(self, x: float, y: float) -> tuple[bool, str]:
        if self.held is not None:
            return False, "the hand is not empty"
        row, col, d, hit = self._pixel(x, y)
        d = float(np.linalg.norm(hit - self._last_frame.T_world_cam[:3, 3])) if d > 0 else 0.0
        inst = int(self._last_frame.semantic[row, col])
        obj = next((o for o in self.scene.objects if o.instance_id == inst), None)
        if obj is None or obj.category not in PICKUPABLE:
            return False, f"no pickupable object at ({x:.2f}, {y:.2f})" + (f" (it shows a {obj.category})" if obj else "")
        if d > self.rearrange.reach_m:
            return False, f"the {obj.category} is {d:.2f} m away (reach {self.rearrange.reach_m} m)"
        self.held = inst
        self._render_current()
        return True, ""

    def _put_down(self, x: float, y: float) -> tuple[bool, str]:
        if self.held is None:
            return False, "nothing in hand"
        obj = self._object(self.held)
        shape = self._shapes[obj.instance_id]
        goal = self._goal_object(obj.instance_id)
        if self.rearrange.snap and self._sees(object_pose(goal, shape)) and not self._occupied(footprint_outline(goal, shape), obj):
            self._place(obj, np.asarray(goal.position_m), goal.yaw_rad)
            return True, ""
        row, col, d, hit = self._pixel(x, y)
        d = float(np.linalg.norm(hit - self._last_frame.T_world_cam[:3, 3])) if d > 0 else 0.0
        if d <= 0 or d > self.rearrange.reach_m:
            return False, f"the aimed point is {'out of range' if d <= 0 else f'{d:.2f} m away'} (reach {self.rearrange.reach_m} m)"
        sup = next((o for o in self.scene.objects if o.instance_id == int(self._last_frame.semantic[row, col])), None)
        if sup is None or not CATEGORIES[sup.category].supports:
            return False, "objects go on tables and cabinets; the aimed point is not one"
        top_z, top = support_top(self.scene, sup)
        if abs(hit[2] - top_z) > 0.01:  # a side face seen from below the top is not the top
            return False, f"the aimed point is not on the top of the {sup.category}"
        fp = _rect_corners(hit[:2], shape.size_m[:2] / 2, obj.yaw_rad)
        if not _inside(fp, top) or self._occupied(fp, obj, top_z):
            return False, f"no room for the {obj.category} there"
        base = hit[:2] - _rot2(obj.yaw_rad) @ shape.center_local_m[:2]
        self._place(obj, np.array([base[0], base[1], top_z + 0.001]), obj.yaw_rad)
        return True, ""

    def _occupied(self, outline: np.ndarray, obj: SceneObject, top_z: float | None = None) -> bool:
        """Whether another small object on a furniture top (on the one at ``top_z`` if given) overlaps
        ``outline`` (4, 2) by more than 5 mm."""
        for o in self.scene.objects:
            if o.instance_id == obj.instance_id or o.instance_id == self.held or CATEGORIES[o.category].placement != "surface":
                continue
            if top_z is not None and abs(o.bbox_min_m[2] - top_z) >= 0.05:
                continue
            if _convex_overlap(outline, footprint_outline(o, self._shapes[o.instance_id]), 0.005):
                return True
        return False

    def _sees(self, pose: ObjectPose) -> bool:
        """Whether the camera sees ``pose``'s centre within reach (in the image and not occluded)."""
        f = self._last_frame
        c = np.asarray(pose.center_m)
        uv, z = geometry.project_points(c, f.intrinsics.K, f.T_world_cam)
        if z[0] <= 0.05 or np.linalg.norm(c - f.T_world_cam[:3, 3]) > self.rearrange.reach_m:
            return False
        col, row = (int(v) for v in np.round(uv[0]))
        if not (0 <= row < f.intrinsics.height and 0 <= col < f.intrinsics.width):
            return False
        d = float(f.depth[row, col])
        return d == 0 or d >= z[0] - float(np.max(pose.size_m)) / 2 - 0.05

    def _place(self, obj: SceneObject, position_m: np.ndarray, yaw_rad: float) -> None:
        self._scene = move_object(self.scene, obj, position_m, yaw_rad)
        self.held = None
        self._render_current()

    def _render_current(self) -> None:
        """Rebuild the renderer for the current scene (without the carried object)."""
        c = self.config
        self._renderer.close()
        shown = self.scene if self.held is None else _without(self.scene, self.held)
        self._renderer = Renderer(shown, c.backend, c.max_depth_m, c.threads, native=c.native)

    def teleport(self, position_m: np.ndarray, yaw_rad: float, tilt_rad: float = 0.0) -> Observation:
        obs = self._last_frame = super().teleport(position_m, yaw_rad, tilt_rad)
        return obs

    def _holding(self) -> bool:
        return self.held is not None

    def _extras(self) -> dict:
        return {"phase": self.phase, "held": None if self.held is None else str(self.held)}

    # ------------------------------------------------------------------ scoring
    def _object(self, instance_id: int) -> SceneObject:
        return next(o for o in self.scene.objects if o.instance_id == instance_id)

    def _goal_object(self, instance_id: int) -> SceneObject:
        return next(o for o in self._goal_scene.objects if o.instance_id == instance_id)

    def object_poses(self) -> list[ObjectPose]:
        """Current poses of the pickupable objects (a carried one where the hand is)."""
        out = []
        for o in self.scene.objects:
            if o.category not in PICKUPABLE:
                continue
            if o.instance_id == self.held:
                off = np.asarray(_HELD_OFFSET_M)
                xy = self._pos + _rot2(self._yaw) @ off[:2]
                o = dataclasses.replace(o, position_m=(float(xy[0]), float(xy[1]), float(off[2])), yaw_rad=self._yaw)
            out.append(object_pose(o, self._shapes[o.instance_id]))
        return out

    def goal_poses(self) -> list[ObjectPose]:
        """Walkthrough (goal) poses of the pickupable objects."""
        return [object_pose(o, self._shapes[o.instance_id]) for o in self._goal_scene.objects if o.category in PICKUPABLE]

    def start_poses(self) -> list[ObjectPose]:
        """Poses at the start of the unshuffle phase."""
        if self.phase != "unshuffle":
            raise ConfigError("start_poses() needs the unshuffle phase (begin_unshuffle())")
        return list(self._start)

    def metrics(self) -> RearrangeMetrics:
        """RoomR's metrics of the current state (embodied.rearrangement.rearrangement_metrics)."""
        return rearrangement_metrics(self.goal_poses(), self.start_poses(), self.object_poses())

    def object_outline(self, object_id: str, which: str = "current") -> np.ndarray:
        """(4, 2) footprint of a pickupable object: "current" or "goal" (for top-down pictures)."""
        scene = self.scene if which == "current" else self._goal_scene
        o = next(o for o in scene.objects if str(o.instance_id) == object_id)
        return footprint_outline(o, self._shapes[o.instance_id])
