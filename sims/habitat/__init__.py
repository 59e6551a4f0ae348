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
  values become 0 as well. With ``HabitatConfig.depth_clip_m = (min, max)`` (the ObjectNav challenge sensor:
  (0.5, 5.0)) the frame is what habitat-lab's ``HabitatSimDepthSensor`` shows its agents, which clips to
  [min, max] so that "nearer than min or no return" reads min and "beyond max" reads max: those saturated
  pixels become 0 (no return) here and the rest keeps its metres (:func:`clip_depth_m`;
  :func:`habitat_lab_depth` gives habitat-lab's own clipped / normalised frame).
* **Navmesh, sliding**: the navmesh is recomputed for the configured agent after every scene load (radius
  0.18 m, height 0.88 m by default; ``HabitatConfig.recompute_navmesh``, :func:`navmesh_settings`), and a
  blocked move stops (``allow_sliding`` False) as in habitat's ObjectNav benchmark.
* **Instances**: a pixel's instance id is the habitat semantic id of the object it shows (``obj.semantic_id``
  of ``sim.semantic_scene.objects``), which is fixed for the loaded scene. Semantic id 0 (unannotated),
  ids of no listed object and objects without a category become -1. Labels are our lower-case category
  names (:func:`habitat_category`, e.g. MP3D/HM3D "tv_monitor" -> "tv", "plant" -> "potted plant").
* **Collisions**: ``habitat_sim.Simulator.step`` reports them as ``observations["collided"]``; habitat-lab's
  wrapper exposes the same as ``previous_step_collided``, which is read when the key is missing.

habitat-sim API used: ``SimulatorConfiguration`` (scene_id, scene_dataset_config_file, enable_physics, random_seed,
gpu_device_id, allow_sliding), ``nav.NavMeshSettings`` (set_defaults, agent_radius, agent_height, agent_max_climb,
agent_max_slope, include_static_objects), ``agent.AgentConfiguration`` (height, radius, sensor_specifications,
action_space of ``agent.ActionSpec(name, agent.ActuationSpec(amount, constraint))``), ``CameraSensorSpec`` (uuid,
sensor_type, sensor_subtype, resolution [H, W], position, hfov), ``Configuration(sim_cfg, [agent])``,
``Simulator(cfg)`` with ``step(name)``, ``get_sensor_observations()``, ``initialize_agent(0, AgentState)``,
``get_agent(0).get_state()``, ``seed``, ``reconfigure``, ``close``, ``recompute_navmesh(pathfinder, settings)``,
``pathfinder`` (``find_path`` with ``ShortestPath`` / ``MultiGoalShortestPath``, ``is_navigable``, ``snap_point``,
``get_random_navigable_point``, ``is_loaded``, ``nav_mesh_settings``) and ``semantic_scene.objects`` (``aabb.center``
an attribute before habitat-sim 0.3.3, a method from then on).
"""

from __future__ import annotations

from sims.habitat.config import (  # noqa: F401 - the constants: re-exported
    OBJECTNAV_CHALLENGE,
    SCENE_SUFFIXES,
    HabitatConfig,
)
from sims.habitat.episodes import (  # noqa: F401 - the constants: re-exported
    DEFAULT_CONTENT_SCENES_PATH,
    DEFAULT_SCENE_PATH_PREFIX,
    habitat_scene_name,
    read_habitat_objectnav_episodes,
)
from sims.habitat.frames import (
    HABITAT_CATEGORY_MAP,
    R_WORLD_HABITAT,
    clip_depth_m,
    habitat_camera_pose,
    habitat_category,
    habitat_lab_depth,
    habitat_quat_to_yaw,
    habitat_to_world,
    quat_to_matrix,
    quat_wxyz,
    sensor_tilt,
    world_to_habitat,
    yaw_to_habitat_quat,
)
from sims.habitat.simulator import (  # noqa: F401 - the sensor uuids: re-exported
    DEPTH_UUID,
    RGB_UUID,
    SEMANTIC_UUID,
    HabitatSimulator,
    make_configuration,
    make_habitat_simulator,
    navmesh_settings,
)

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
    "navmesh_settings",
    "clip_depth_m",
    "habitat_lab_depth",
    "read_habitat_objectnav_episodes",
    "habitat_scene_name",
]
