""":class:`ThorSimulator`: AI2-THOR behind our ``Simulator`` and ``GeodesicOracle`` protocols, and
:class:`ReachableGraph`, the lattice of THOR's reachable positions that scores ObjectNav episodes."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from embodied import geometry
from embodied.errors import ConfigError, ObservationError
from embodied.tasks import ObjectNavEpisode
from embodied.types import NO_DEPTH, NO_INSTANCE, Action, AgentPose, Observation, StepResult, navigation_action
from sims.thor.config import ThorConfig, _is_real
from sims.thor.controller import make_controller
from sims.thor.frames import (horizon_to_tilt, thor_category, unity_to_world, unity_yaw_to_world,
                              vertical_fov_deg, world_to_unity, world_yaw_to_unity)

logger = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------------
# The graph of reachable positions
# ---------------------------------------------------------------------------------------------------


class ReachableGraph:
    """Lattice graph over THOR's reachable agent positions, for geodesic distances to goal objects.

    Nodes are the positions ``GetReachablePositions`` returns; an edge joins two positions one
    ``grid_size_m`` apart along Unity x or along Unity z (4-neighbour), weighted by their horizontal
    distance. This is allenact's navigation graph (allenai/allenact
    ``allenact_plugins/ithor_plugin/ithor_environment.py``: ``_add_from_to_edge`` / ``possible_neighbor_offsets``
    add a MoveAhead edge only between positions exactly ``gridSize`` apart along the x or z axis, compared
    with a 0.001 tolerance after rounding to centimetres). Path lengths are therefore Manhattan-like:
    longer than THOR's NavMesh paths (``GetShortestPath``) wherever the shortest path runs diagonally.

    A point off the lattice is snapped to the horizontally nearest position (allenact
    ``ithor_environment.py`` ``closest_reachable_point_to_position``), and the snap offset is added to the
    distance, as allenact ``robothor_environment.py`` ``distance_from_point_to_object_type`` adds the
    offset between the query point and the start of THOR's path.

    Args:
        positions: Unity ``{"x", "y", "z"}`` dicts (``event.metadata["actionReturn"]`` of
            ``GetReachablePositions``) or an (N, 3) array of Unity points, metres.
        grid_size_m: THOR's ``gridSize`` (metres), the lattice spacing.

    Attributes:
        points: (N, 3) float64 Unity positions (agent-centre height), sorted by (x, z) so that the node
            order does not depend on the order THOR listed them in.
        grid_size_m: the lattice spacing (metres).
    """

    def __init__(self, positions: Sequence[Mapping[str, float]] | np.ndarray, grid_size_m: float) -> None:
        if not _is_real(grid_size_m) or not grid_size_m > 0:
            raise ConfigError(f"grid_size_m must be > 0, got {grid_size_m!r}")
        pts = _unity_points(positions)
        if pts.shape[0] == 0:
            raise ObservationError("THOR reported no reachable positions")
        if not np.isfinite(pts).all():
            raise ObservationError("THOR reported non-finite reachable positions")
        self.points = pts[np.lexsort((pts[:, 2], pts[:, 0]))]
        self.grid_size_m = float(grid_size_m)
        self._xz = np.ascontiguousarray(self.points[:, [0, 2]])
        self._tol = max(1e-3, 0.02 * self.grid_size_m)
        self._tree: Any = None
        self._adjacency: Any = None
        self._fields: dict[tuple[int, ...], np.ndarray] = {}

    def __len__(self) -> int:
        return int(self.points.shape[0])

    @property
    def edges(self) -> np.ndarray:
        """(E, 2) int64 node index pairs (i < j) joined by an edge."""
        adj = self._graph().tocoo()
        keep = adj.row < adj.col
        return np.stack([adj.row[keep], adj.col[keep]], axis=1).astype(np.int64)

    def nearest(self, xz: Sequence[float] | np.ndarray) -> tuple[int, float]:
        """Index of the position horizontally nearest to Unity ``(x, z)`` (metres) and its distance (metres)."""
        d, i = self._kdtree().query(np.asarray(xz, dtype=np.float64).reshape(2))
        return int(i), float(d)

    def nearest_to_objects(self, xz: np.ndarray) -> np.ndarray:
        """Goal nodes of objects at Unity ``(x, z)`` points ((M, 2), metres): for each object, the
        reachable positions horizontally nearest to it (ties within the lattice tolerance all count).
        Returns a sorted int64 array of node indices."""
        obj = np.asarray(xz, dtype=np.float64).reshape(-1, 2)
        if obj.shape[0] == 0:
            return np.zeros(0, dtype=np.int64)
        d = np.linalg.norm(self._xz[:, None, :] - obj[None, :, :], axis=2)  # (N, M)
        near = d <= d.min(axis=0, keepdims=True) + self._tol
        return np.flatnonzero(near.any(axis=1)).astype(np.int64)

    def distances_to(self, targets: Sequence[int] | np.ndarray) -> np.ndarray:
        """(N,) float64 geodesic distance (metres) from every node to the nearest of ``targets``
        (inf where none is connected); cached per target set."""
        key = tuple(sorted({int(t) for t in np.asarray(targets, dtype=np.int64).reshape(-1)}))
        if not key:
            return np.full(len(self), math.inf)
        if key not in self._fields:
            from scipy.sparse.csgraph import dijkstra

            self._fields[key] = np.asarray(
                dijkstra(self._graph(), directed=False, indices=list(key), min_only=True), dtype=np.float64
            )
        return self._fields[key]

    def distance(self, xz: Sequence[float] | np.ndarray, targets: Sequence[int] | np.ndarray) -> float:
        """Geodesic distance (metres) from Unity ``(x, z)`` (snapped, offset added) to the nearest target node."""
        start, offset = self.nearest(xz)
        d = float(self.distances_to(targets)[start])
        return d + offset if math.isfinite(d) else math.inf

    def _kdtree(self) -> Any:
        if self._tree is None:
            from scipy.spatial import cKDTree

            self._tree = cKDTree(self._xz)
        return self._tree

    def _graph(self) -> Any:
        if self._adjacency is None:
            from scipy.sparse import coo_matrix

            n = len(self)
            pairs = self._kdtree().query_pairs(self.grid_size_m + self._tol, output_type="ndarray")
            pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
            delta = np.abs(self._xz[pairs[:, 1]] - self._xz[pairs[:, 0]])
            length = np.linalg.norm(delta, axis=1)
            axis_aligned = (delta.min(axis=1) <= self._tol) & (np.abs(length - self.grid_size_m) <= self._tol)
            pairs, length = pairs[axis_aligned], length[axis_aligned]
            self._adjacency = coo_matrix((length, (pairs[:, 0], pairs[:, 1])), shape=(n, n)).tocsr()
        return self._adjacency


def _unity_points(positions: Sequence[Mapping[str, float]] | np.ndarray) -> np.ndarray:
    """(N, 3) float64 Unity points from ``{"x", "y", "z"}`` dicts or an (N, 3) array."""
    if isinstance(positions, np.ndarray):
        return np.asarray(positions, dtype=np.float64).reshape(-1, 3)
    try:
        return np.array([[float(p["x"]), float(p["y"]), float(p["z"])] for p in positions],
                        dtype=np.float64).reshape(-1, 3)
    except (KeyError, TypeError, ValueError) as exc:
        raise ObservationError(f"reachable positions must be {{'x', 'y', 'z'}} dicts: {exc!r}") from exc


# ---------------------------------------------------------------------------------------------------
# The simulator
# ---------------------------------------------------------------------------------------------------


class ThorSimulator:
    """AI2-THOR behind the toolkit's :class:`~embodied.types.Simulator` and ``GeodesicOracle`` protocols.

    ObjectNav episodes are scored the RoboTHOR / CoW way: :meth:`goal_success` (the goal visible at
    STOP) decides Success, :meth:`distance_to_goal` (lattice geodesic) gives DistanceToGoal and SPL's
    shortest path.

    Args:
        config: the settings.
        controller: an already started ``ai2thor.controller.Controller`` (or anything with its
            ``step(action=..., **kwargs)``, ``reset(scene)`` and ``stop()``); when None, one is started
            from ``config`` (ai2thor is imported only then).
    """

    def __init__(self, config: ThorConfig | None = None, controller: Any = None) -> None:
        self.config = config if config is not None else ThorConfig()
        self._intrinsics = self.config.intrinsics
        self._owns_controller = controller is None
        self._controller = make_controller(self.config) if controller is None else controller
        # A controller we just started has already loaded config.scene; the first reset reuses it.
        self._fresh_scene = self._owns_controller
        self._object_ids: dict[str, int] = {}
        self._categories: dict[int, str] = {}
        self._event: Any = None
        self._graph: ReachableGraph | None = None
        self._scene: str | Mapping[str, Any] | None = None
        self._goal: str | None = None
        self._steps = 0
        self._done = True
        self._closed = False
        self.seed: int | None = None

    # -- protocol ------------------------------------------------------------------------------------

    def reset(self, episode: Any = None, *, seed: int | None = None) -> Observation:
        """Load the episode's scene (or ``config.scene``) and, for an ObjectNav episode, teleport to its start.

        ``seed`` is only stored (``self.seed``): objects are never randomised.
        """
        self._check_open()
        if episode is not None and not isinstance(episode, ObjectNavEpisode):
            raise ConfigError(f"ThorSimulator.reset takes an ObjectNavEpisode or None, got {type(episode).__name__}")
        self.seed = seed
        scene = episode.scene_id if episode is not None else self.config.scene
        event = self._load_scene(scene)
        if episode is not None:
            event = self._teleport_to_start(episode)
        self._goal = episode.goal_category if episode is not None else None
        self._steps = 0
        self._done = False
        self._event = event
        return self._observation(event)

    def step(self, action: Action) -> StepResult:
        """Apply one discrete action; STOP ends the episode without calling THOR."""
        self._check_open()
        if self._event is None:
            raise RuntimeError("ThorSimulator.step called before reset()")
        if self._done:
            raise RuntimeError("the episode is over (STOP or max_steps); call reset() to start another")
        action = navigation_action(action, "ThorSimulator")
        self._steps += 1
        if action is Action.STOP:
            self._done = True
            return StepResult(self._observation(self._event), done=True, info={"action": action.value})
        name, kwargs = self._thor_action(action)
        event = self._controller.step(action=name, **kwargs)
        self._event = event
        success = bool(event.metadata["lastActionSuccess"])
        info: dict[str, Any] = {"action": action.value, "thor_action": name, "success": success}
        if not success:
            info["error"] = event.metadata.get("errorMessage") or f"{name} failed"
        self._done = self._steps >= self.config.max_steps
        collided = action is Action.MOVE_FORWARD and not success
        return StepResult(self._observation(event), collided=collided, done=self._done, info=info)

    def close(self) -> None:
        """Stop the controller (once); later calls do nothing."""
        if self._closed:
            return
        self._closed = True
        stop = getattr(self._controller, "stop", None)
        if stop is not None:
            stop()

    def __enter__(self) -> ThorSimulator:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- GeodesicOracle ------------------------------------------------------------------------------

    def geodesic_distance(self, start_m: np.ndarray, goal_m: np.ndarray) -> float:
        """Shortest walkable path length (metres, horizontal) between two floor-level points of our frame.

        Uses THOR's NavMesh (``GetShortestPathToPoint``). Points are converted like base poses (the
        agent-centre height is added back), because THOR finds the floor by casting a ray down from each
        point. Returns ``math.inf`` when THOR finds no path.
        """
        self._check_open()
        event = self._controller.step(
            action="GetShortestPathToPoint",
            position=self._base_to_unity(start_m),
            target=self._base_to_unity(goal_m),
        )
        if not event.metadata["lastActionSuccess"]:
            logger.debug("no THOR path: %s", event.metadata.get("errorMessage"))
            return math.inf
        corners = (event.metadata.get("actionReturn") or {}).get("corners") or []
        return _horizontal_path_length(corners)

    # -- ObjectNav scoring ---------------------------------------------------------------------------

    def distance_to_goal(self, category: str, position_m: Sequence[float] | np.ndarray | None = None) -> float:
        """Geodesic distance (metres) from the agent, or from the floor point ``position_m`` of our frame
        ((x, y) or (x, y, z); only x and y count), to the nearest object of ``category``.

        Measured on the :class:`ReachableGraph` of the scene (``GetReachablePositions``, asked once per
        scene load): from the lattice position nearest the start (plus the snap offset) to the goal
        nodes, the reachable positions nearest each ``category`` object of the current event, horizontally.
        That mirrors THOR's ``GetShortestPath(objectType)``, with which allenact
        (``allenact_plugins/robothor_plugin/robothor_environment.py`` ``distance_to_object_type``) and CoW
        (real-stanford/cow ``robothor_challenge.py`` ``distance_from_point_to_object_type``) measure
        RoboTHOR distances: a path to the walkable point nearest the object, not to the object (the
        RoboTHOR episodes' ``shortest_path`` ends 0.77 m from ``target_position`` in the
        allenai/robothor-challenge README example). Unlike THOR's NavMesh paths, lattice paths take no
        diagonals (see :class:`ReachableGraph`), so they can be longer than ``shortest_path_length``.
        Multi-source Dijkstra (``scipy.sparse.csgraph.dijkstra``), cached per goal node set.

        ``category`` is one of our names (:func:`~sims.thor.thor_category`) or a THOR ``objectType``.

        Returns:
            metres; ``math.inf`` when no goal node is connected to the start.

        Raises:
            ConfigError: the scene has no object of ``category``.
            ObservationError: THOR's ``GetReachablePositions`` failed or returned nothing.
        """
        self._check_open()
        event = self._require_event("distance_to_goal")
        graph = self.reachable_graph()
        objects = [o for o in event.metadata.get("objects") or [] if _is_category(o, category)]
        if not objects:
            raise ConfigError(f"no '{category}' in THOR scene {self._scene_name()}; its categories: "
                              f"{', '.join(self._scene_categories(event)) or 'none'}")
        goals = np.array([[float(o["position"]["x"]), float(o["position"]["z"])] for o in objects])
        targets = graph.nearest_to_objects(goals)
        if position_m is None:
            agent = event.metadata["agent"]["position"]
            xz = (float(agent["x"]), float(agent["z"]))
        else:
            p = np.asarray(position_m, dtype=np.float64).reshape(-1)
            if p.shape[0] not in (2, 3) or not np.isfinite(p[:2]).all():
                raise ConfigError(f"position_m must be a finite (x, y) or (x, y, z) point, got {position_m!r}")
            u = world_to_unity((p[0], p[1], 0.0))
            xz = (u["x"], u["z"])
        return graph.distance(xz, targets)

    def goal_success(self, category: str, *, max_distance_m: float | None = None) -> bool:
        """RoboTHOR's ObjectNav success test, for the moment the agent calls STOP: some object of
        ``category`` in the current event's ``metadata["objects"]`` is ``visible``.

        THOR reports ``visible`` only for objects in the frame, unobstructed and within
        ``visibilityDistance`` of the agent's vertical axis (AI2-THOR docs, "Concepts": visibility), so
        the distance is part of the rule already: ``ThorConfig.visibility_distance_m`` (1.0 m in the
        RoboTHOR challenge and in CoW). This is CoW's rule (real-stanford/cow ``robothor_challenge.py``:
        ``success = stopped and target_obj["visible"]``, no separate distance check; the same in
        allenai/robothor-challenge ``robothor_challenge/challenge.py``), over every object of the
        category as allenact's ``ObjectNavTask._is_goal_in_range`` does
        (``allenact_plugins/robothor_plugin/robothor_tasks.py``: any visible object of the type).

        Args:
            category: one of our names (:func:`~sims.thor.thor_category`) or a THOR ``objectType``.
            max_distance_m: when given, the object's ``metadata["distance"]`` (metres, from the agent's
                camera to the object's centre) must also be at most this. Stricter than CoW: large
                objects can be visible with their centre beyond ``visibilityDistance``.
        """
        self._check_open()
        event = self._require_event("goal_success")
        for o in event.metadata.get("objects") or []:
            if not _is_category(o, category) or not o.get("visible"):
                continue
            if max_distance_m is None:
                return True
            distance = o.get("distance")
            if _is_real(distance) and float(distance) <= max_distance_m:
                return True
        return False

    def reachable_graph(self) -> ReachableGraph:
        """The :class:`ReachableGraph` of the loaded scene (one ``GetReachablePositions`` per scene load).

        ``GetReachablePositions`` is sent without arguments, so THOR uses the controller's ``gridSize``
        (``ThorConfig.forward_m``), as allenact's ``currently_reachable_points`` does
        (``allenact_plugins/robothor_plugin/robothor_environment.py``). Its event is not an observation:
        what the agent sees does not change.

        Raises:
            ObservationError: the action failed or returned no positions.
        """
        self._check_open()
        self._require_event("reachable_graph")
        if self._graph is None:
            event = self._controller.step(action="GetReachablePositions")
            if not event.metadata.get("lastActionSuccess"):
                raise ObservationError(f"THOR GetReachablePositions failed in {self._scene_name()}: "
                                       f"{event.metadata.get('errorMessage')}")
            positions = event.metadata.get("actionReturn")
            if not isinstance(positions, list) or not positions:
                raise ObservationError(f"THOR GetReachablePositions returned no positions in {self._scene_name()} "
                                       f"(actionReturn={positions!r})")
            self._graph = ReachableGraph(positions, self.config.forward_m)
        return self._graph

    def reachable_positions_m(self) -> np.ndarray:
        """(N, 3) float64 floor points (our frame, metres) of the scene's reachable positions, in the
        :class:`ReachableGraph` node order (the agent-centre height taken off, as for base poses)."""
        pts = self.reachable_graph().points
        out = np.stack([pts[:, 2], -pts[:, 0], pts[:, 1] - self.config.agent_centre_height_m], axis=1)
        return out + 0.0  # no -0.0

    def load_scene(self, scene: str | Mapping[str, Any]) -> None:
        """Load ``scene`` (a THOR scene name or a ProcTHOR house) without starting an episode, e.g. to
        sample episodes in it (:func:`~sims.thor.sample_thor_episodes`); ``reset`` starts the next one."""
        self._check_open()
        self._event = self._load_scene(scene)
        self._goal = None
        self._steps = 0
        self._done = True

    # -- helpers for agents and oracles --------------------------------------------------------------

    def goal_instance_ids(self, category: str) -> list[int]:
        """Instance ids (as in ``Observation.semantic``) of the current scene's objects of ``category``."""
        if self._event is None:
            return []
        self._register_objects(self._event.metadata.get("objects") or [])
        return sorted(i for i, c in self._categories.items() if c == category)

    @property
    def controller(self) -> Any:
        """The underlying ``ai2thor.controller.Controller`` (for THOR-specific actions)."""
        return self._controller

    # -- internals -----------------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("ThorSimulator is closed")

    def _require_event(self, what: str) -> Any:
        if self._event is None:
            raise RuntimeError(f"ThorSimulator.{what} called before reset()")
        return self._event

    def _scene_name(self) -> str:
        return self._scene if isinstance(self._scene, str) else "the ProcTHOR house"

    @staticmethod
    def _scene_categories(event: Any) -> list[str]:
        return sorted({thor_category(_object_type(o)) for o in event.metadata.get("objects") or []})

    def _thor_action(self, action: Action) -> tuple[str, dict[str, float]]:
        cfg = self.config
        table = {
            Action.MOVE_FORWARD: ("MoveAhead", {"moveMagnitude": cfg.forward_m}),
            Action.TURN_LEFT: ("RotateLeft", {"degrees": cfg.turn_deg}),
            Action.TURN_RIGHT: ("RotateRight", {"degrees": cfg.turn_deg}),
            Action.LOOK_UP: ("LookUp", {"degrees": cfg.tilt_deg}),
            Action.LOOK_DOWN: ("LookDown", {"degrees": cfg.tilt_deg}),
        }
        return table[action]

    def _load_scene(self, scene: str | Mapping[str, Any]) -> Any:
        """Reset the controller to ``scene`` and rebuild the instance-id table."""
        if self._fresh_scene and scene == self.config.scene and getattr(self._controller, "last_event", None):
            event = self._controller.last_event
        else:
            event = self._controller.reset(scene)
        self._fresh_scene = False
        self._scene = scene
        self._graph = None  # reachable positions are asked for again, once, in the new scene
        self._object_ids = {}
        self._categories = {}
        self._register_objects(event.metadata.get("objects") or [])
        self._check_fov(event.metadata)
        return event

    def _register_objects(self, objects: Sequence[Mapping[str, Any]]) -> None:
        """Give every new objectId the next id, in sorted objectId order."""
        new = sorted((o["objectId"], o.get("objectType", "")) for o in objects if o["objectId"] not in self._object_ids)
        for object_id, object_type in new:
            idx = len(self._object_ids)
            self._object_ids[object_id] = idx
            self._categories[idx] = thor_category(object_type or object_id.split("|")[0])

    def _check_fov(self, metadata: Mapping[str, Any]) -> None:
        fov = metadata.get("fov")
        expected = vertical_fov_deg(self.config.width, self.config.height, self.config.hfov_deg)
        if fov is not None and abs(float(fov) - expected) > 0.5:
            logger.warning(
                "THOR camera fieldOfView is %.2f deg (vertical) but the config implies %.2f deg; "
                "intrinsics will not match the images", float(fov), expected,
            )

    def _teleport_to_start(self, episode: ObjectNavEpisode) -> Any:
        kwargs: dict[str, Any] = dict(
            position=self._base_to_unity(episode.start_position_m),
            rotation={"x": 0.0, "y": world_yaw_to_unity(episode.start_yaw_rad), "z": 0.0},
            horizon=0.0,
        )
        if self.config.agent_mode.lower() == "default":
            kwargs["standing"] = True  # only the default agent can crouch; other agents reject the argument
        event = self._controller.step(action="TeleportFull", **kwargs)
        if not event.metadata["lastActionSuccess"]:
            raise ConfigError(
                f"episode {episode.episode_id}: THOR could not teleport the agent to the start pose "
                f"{episode.start_position_m} (Unity {kwargs['position']}) in {episode.scene_id}: "
                f"{event.metadata.get('errorMessage')}"
            )
        return event

    def _base_to_unity(self, position_m: Sequence[float] | np.ndarray) -> dict[str, float]:
        """Floor-level point of our frame -> Unity agent position (centre height added back)."""
        p = world_to_unity(position_m)
        p["y"] += self.config.agent_centre_height_m
        return p

    def _agent_pose(self, metadata: Mapping[str, Any]) -> AgentPose:
        agent = metadata["agent"]
        x, y, z = unity_to_world(agent["position"])
        floor = z - self.config.agent_centre_height_m
        return AgentPose((float(x), float(y), float(floor)), unity_yaw_to_world(agent["rotation"]["y"]))

    def _camera_pose(self, metadata: Mapping[str, Any]) -> np.ndarray:
        agent = metadata["agent"]
        cam = metadata.get("cameraPosition") or agent["position"]
        return geometry.camera_pose(
            unity_to_world(cam), unity_yaw_to_world(agent["rotation"]["y"]), horizon_to_tilt(agent["cameraHorizon"])
        )

    def _observation(self, event: Any) -> Observation:
        metadata = event.metadata
        rgb = self._rgb(event)
        semantic, labels = self._semantic(event)
        extras = {
            "thor_scene": metadata.get("sceneName"),
            "thor_last_action": metadata.get("lastAction"),
            "thor_last_action_success": metadata.get("lastActionSuccess"),
            "thor_event": event,
        }
        return Observation(
            rgb=rgb,
            depth=self._depth(event),
            intrinsics=self._intrinsics,
            T_world_cam=self._camera_pose(metadata),
            agent_pose=self._agent_pose(metadata),
            step=self._steps,
            goal=self._goal,
            semantic=semantic,
            labels=labels,
            extras=extras,
        ).validate()

    def _rgb(self, event: Any) -> np.ndarray:
        """(H, W, 3) uint8 copy of ``event.frame``; checks the size against the config."""
        if event.frame is None:
            raise ObservationError("THOR returned no RGB frame (was the controller started with renderImage off?)")
        rgb = np.array(event.frame[..., :3], dtype=np.uint8, copy=True)
        if rgb.shape[:2] != (self.config.height, self.config.width):
            raise ConfigError(
                f"THOR frames are {rgb.shape[1]}x{rgb.shape[0]} but ThorConfig asks for "
                f"{self.config.width}x{self.config.height}; start the controller with the config's size"
            )
        return rgb

    def _depth(self, event: Any) -> np.ndarray | None:
        """(H, W) float32 z-depth in metres from ``event.depth_frame``; invalid or far-plane pixels -> 0."""
        if event.depth_frame is None:
            return None
        depth = np.array(event.depth_frame, dtype=np.float32, copy=True)
        bad = ~np.isfinite(depth) | (depth <= 0)
        far = getattr(getattr(self._controller, "server", None), "camera_far_plane", None)
        if _is_real(far) and far > 0:
            bad |= depth >= np.float32(far) * np.float32(0.9999)
        depth[bad] = NO_DEPTH
        return depth

    def _semantic(self, event: Any) -> tuple[np.ndarray | None, dict[int, str]]:
        """(H, W) int32 instance ids from ``event.instance_segmentation_frame`` and their labels."""
        seg = event.instance_segmentation_frame
        if seg is None:
            return None, {}
        self._register_objects(event.metadata.get("objects") or [])
        present = {o["objectId"] for o in event.metadata.get("objects") or []}
        seg = np.asarray(seg)[..., :3].astype(np.uint32)
        keys = (seg[..., 0] << 16) | (seg[..., 1] << 8) | seg[..., 2]
        unique, inverse = np.unique(keys.reshape(-1), return_inverse=True)
        lut = np.full(unique.shape[0], NO_INSTANCE, dtype=np.int32)
        color_to_object_id = event.color_to_object_id or {}
        for i, key in enumerate(unique.tolist()):
            object_id = color_to_object_id.get(((key >> 16) & 255, (key >> 8) & 255, key & 255))
            if object_id in present:
                lut[i] = self._object_ids[object_id]
        semantic = lut[inverse].reshape(keys.shape)
        labels = {int(i): self._categories[int(i)] for i in lut.tolist() if i != NO_INSTANCE}
        return semantic, labels


def _object_type(obj: Mapping[str, Any]) -> str:
    """THOR ``objectType`` of an object's metadata (from its ``objectId`` when the field is missing)."""
    return obj.get("objectType") or str(obj.get("objectId", "")).split("|")[0]


def _is_category(obj: Mapping[str, Any], category: str) -> bool:
    """Whether ``obj`` (THOR object metadata) is of ``category`` (our name, or a THOR objectType)."""
    object_type = _object_type(obj)
    return category == object_type or category == thor_category(object_type)


def _horizontal_path_length(corners: Sequence[Mapping[str, float]]) -> float:
    """Sum of corner-to-corner distances in THOR's horizontal (x, z) plane; inf for an empty path."""
    if not corners:
        return math.inf
    pts = np.array([[float(c["x"]), float(c["z"])] for c in corners], dtype=np.float64)
    return float(np.linalg.norm(np.diff(pts, axis=0), axis=1).sum())
