"""AI2-THOR simulator adapter: ``ai2thor.controller.Controller`` behind :class:`embodied.types.Simulator`.

Frames (all conversion happens here, at the edge; see :mod:`embodied.geometry` for ours):

* **Unity / THOR world**: left-handed, Y up: x right, y up, z forward, metres.
  **Ours**: right-handed, Z up, metres. A Unity point ``(x, y, z)`` maps to ours as
  ``(X, Y, Z) = (z, -x, y)`` (:func:`unity_to_world`; inverse :func:`world_to_unity`). The matrix has
  determinant -1, as it must between a left- and a right-handed frame.
* **Heading**: THOR's ``agent.rotation.y`` is in degrees, clockwise seen from above, 0 = facing Unity
  +z. Unity +z is our +X and clockwise is our negative yaw, so ``yaw_rad = -radians(rotation_y)``
  (wrapped to (-pi, pi]). ``RotateRight`` therefore lowers our yaw.
* **Pitch**: THOR's ``agent.cameraHorizon`` is in degrees, positive = looking down. Our camera tilt
  is positive looking up, so ``tilt_rad = -radians(horizon)``.
* **Camera**: ``T_world_cam = geometry.camera_pose(unity_to_world(metadata["cameraPosition"]), yaw,
  tilt)`` (OpenCV camera frame). THOR's RGB, depth and segmentation images are already flipped to
  row 0 = top by ``ai2thor.server.read_buffer_image``; nothing is flipped again here.
* **Base**: THOR reports the agent's position as the centre of its capsule, not its feet. Our
  :class:`~embodied.types.AgentPose` stands on the floor: ``(z, -x, y - agent_centre_height_m)`` with
  ``agent_centre_height_m`` = 0.9009995 m by default (the height of THOR's reported agent position
  above the floor for the standing default agent, e.g. every ``GetReachablePositions`` y in scenes whose
  floor is at y = 0). It is added back when teleporting to an episode start, so start poses
  round-trip exactly, and for ``geodesic_distance`` (whose points are floor-level, like base poses).
* **Field of view**: ``ThorConfig.hfov_deg`` is horizontal (like :meth:`CameraIntrinsics.from_hfov`), but
  THOR's ``fieldOfView`` is Unity's ``Camera.fieldOfView``, which is *vertical*. The adapter passes
  ``2 * atan(tan(hfov / 2) * H / W)``; for square images the two are equal.
* **Depth**: ``event.depth_frame`` is Unity z-depth in metres (float32); NaN, inf, values <= 0 and
  values at or beyond the camera's far plane (when the controller reports one) become 0 = no return.
* **Instances**: every ``objectId`` in ``metadata["objects"]`` gets a small int id (0, 1, ...) that stays
  fixed while the scene is loaded (ids are given in sorted ``objectId`` order at reset; objects that
  appear later get the next free id). Pixels of walls, floors, ceilings and anything else that is not
  in ``metadata["objects"]`` are -1. Labels are our lower-case category names (:func:`thor_category`).

THOR actions used: ``MoveAhead(moveMagnitude)``, ``RotateLeft/RotateRight(degrees)``,
``LookUp/LookDown(degrees)``, ``TeleportFull(position, rotation, horizon[, standing])``,
``GetShortestPathToPoint(position, target)`` (Vector3 dicts; ``actionReturn["corners"]``) and
``GetReachablePositions`` (``actionReturn``: a list of Unity ``{"x", "y", "z"}`` agent positions).

**Scoring ObjectNav** (RoboTHOR / CoW): ``ThorSimulator.goal_success(category)`` is RoboTHOR's success
rule at STOP (an object of the category is ``visible``, which THOR reports only within
``visibilityDistance``); ``ThorSimulator.distance_to_goal(category)`` is the geodesic distance on the
4-neighbour lattice of reachable positions (:class:`ReachableGraph`) for DistanceToGoal, SPL and SoftSPL.
``ThorConfig.preset("robothor-cow")`` is CoW's RoboTHOR setup; :func:`read_robothor_episodes` reads the
RoboTHOR challenge's episode files and :func:`sample_thor_episodes` draws episodes in scenes without them.
"""

from __future__ import annotations

from sims.thor.config import (  # noqa: F401 - DEFAULT_AGENT_CENTRE_HEIGHT_M, PLATFORMS: re-exported
    DEFAULT_AGENT_CENTRE_HEIGHT_M,
    PLATFORMS,
    THOR_PRESETS,
    ThorConfig,
)
from sims.thor.controller import ThorBuildUnavailableError, make_controller
from sims.thor.episodes import (ROBOTHOR_GOALS, ROBOTHOR_OBJECT_TYPES, ROBOTHOR_SCENES, generate_thor_episodes,
                                read_robothor_episodes, sample_thor_episodes)
from sims.thor.frames import (
    THOR_CATEGORY_MAP,
    horizon_to_tilt,
    thor_category,
    unity_to_world,
    unity_yaw_to_world,
    vertical_fov_deg,
    world_to_unity,
    world_yaw_to_unity,
)
from sims.thor.simulator import ReachableGraph, ThorSimulator

__all__ = [
    "ThorConfig",
    "THOR_PRESETS",
    "ThorSimulator",
    "ReachableGraph",
    "read_robothor_episodes",
    "sample_thor_episodes",
    "generate_thor_episodes",
    "ROBOTHOR_SCENES",
    "ROBOTHOR_OBJECT_TYPES",
    "ROBOTHOR_GOALS",
    "ThorBuildUnavailableError",
    "THOR_CATEGORY_MAP",
    "thor_category",
    "unity_to_world",
    "world_to_unity",
    "unity_yaw_to_world",
    "world_yaw_to_unity",
    "horizon_to_tilt",
    "vertical_fov_deg",
    "make_controller",
]
