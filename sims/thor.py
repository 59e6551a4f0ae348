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
``LookUp/LookDown(degrees)``, ``TeleportFull(position, rotation, horizon[, standing])`` and
``GetShortestPathToPoint(position, target)`` (Vector3 dicts; ``actionReturn["corners"]``).
"""

from __future__ import annotations

import importlib
import logging
import math
import os
import platform
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from embodied import geometry
from embodied.optional import require
from embodied.errors import ConfigError, EmbodiedError, ObservationError
from embodied.tasks import ObjectNavEpisode
from embodied.types import NO_DEPTH, NO_INSTANCE, Action, AgentPose, CameraIntrinsics, Observation, StepResult

__all__ = [
    "ThorConfig",
    "ThorSimulator",
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

logger = logging.getLogger(__name__)

DEFAULT_AGENT_CENTRE_HEIGHT_M = 0.9009995
"""Height (metres) of THOR's reported agent position above the floor for the standing default agent."""

PLATFORMS = ("CloudRendering", "Linux64", "OSXIntel64")
"""Values accepted for ``ThorConfig.platform`` (names of ``ai2thor.platform`` classes)."""

THOR_CATEGORY_MAP: dict[str, str] = {
    "Television": "tv",
    "HousePlant": "potted plant",
    "Sofa": "sofa",
    "Chair": "chair",
    "ArmChair": "chair",
    "Bed": "bed",
    "Toilet": "toilet",
    "Fridge": "refrigerator",
    "Laptop": "laptop",
    "Mug": "mug",
    "Vase": "vase",
    "Sink": "sink",
    "SinkBasin": "sink",
    "Bathtub": "bathtub",
    "BathtubBasin": "bathtub",
    "FloorLamp": "lamp",
    "DeskLamp": "lamp",
    "ShelvingUnit": "bookshelf",
    "Cabinet": "cabinet",
    "DiningTable": "table",
    "CoffeeTable": "table",
    "SideTable": "table",
    "Desk": "table",
    "Oven": "oven",
    "Stove": "oven",
    "Clock": "clock",
}
"""THOR ``objectType`` -> our category name, where they correspond. Other types: see :func:`thor_category`.

``Shelf`` (one board inside a cabinet or shelving unit) and ``StoveBurner`` are parts, not furniture,
so they keep their own names ("shelf", "stove burner").
"""

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


class ThorBuildUnavailableError(EmbodiedError, RuntimeError):
    """AI2-THOR's Unity build is neither cached locally nor downloadable, or cannot run on this machine."""


# ---------------------------------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ThorConfig:
    """Settings of :class:`ThorSimulator`.

    Attributes:
        scene: an iTHOR / RoboTHOR scene name ("FloorPlan1", "FloorPlan_Train1_1") or a ProcTHOR house dict.
        width, height: image size in pixels.
        hfov_deg: horizontal field of view in degrees, in (0, 180).
        forward_m: MOVE_FORWARD distance in metres; also THOR's ``gridSize``.
        turn_deg: TURN_LEFT / TURN_RIGHT angle in degrees; also THOR's ``rotateStepDegrees``.
        tilt_deg: LOOK_UP / LOOK_DOWN angle in degrees (THOR clamps the horizon to [-30, 60]).
        agent_mode: THOR ``agentMode`` ("default", "locobot", "stretch", ...).
        visibility_distance_m: THOR ``visibilityDistance`` (metres).
        local_executable_path: path to an already downloaded Unity build executable; skips the download.
            ai2thor launches such a build as Linux64 (X server) whatever ``platform`` says; for a
            CloudRendering build, unpack it into ``~/.ai2thor/releases`` instead.
        platform: None (ai2thor picks Linux64 on Linux, which needs an X server) or "CloudRendering"
            (headless, Vulkan GPU), "Linux64", "OSXIntel64".
        snap_to_grid: THOR ``snapToGrid`` (needs ``turn_deg`` to be a multiple of 90).
        max_steps: an episode is done after this many steps.
        agent_centre_height_m: height of THOR's reported agent position above the floor (see module docs).
    """

    scene: str | Mapping[str, Any] = "FloorPlan1"
    width: int = 224
    height: int = 224
    hfov_deg: float = 90.0
    forward_m: float = 0.25
    turn_deg: float = 30.0
    tilt_deg: float = 30.0
    agent_mode: str = "default"
    visibility_distance_m: float = 1.5
    local_executable_path: str | None = None
    platform: str | None = None
    snap_to_grid: bool = False
    max_steps: int = 500
    agent_centre_height_m: float = DEFAULT_AGENT_CENTRE_HEIGHT_M

    def __post_init__(self) -> None:
        _check_scene(self.scene)
        for name in ("width", "height", "max_steps"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ConfigError(f"ThorConfig.{name} must be a positive integer, got {value!r}")
        for name in ("forward_m", "turn_deg", "tilt_deg", "visibility_distance_m"):
            value = getattr(self, name)
            if not _is_real(value) or not math.isfinite(value) or value <= 0:
                raise ConfigError(f"ThorConfig.{name} must be a finite number > 0, got {value!r}")
        if not _is_real(self.hfov_deg) or not 0.0 < self.hfov_deg < 180.0:
            raise ConfigError(f"ThorConfig.hfov_deg must be in (0, 180), got {self.hfov_deg!r}")
        if not _is_real(self.agent_centre_height_m) or not math.isfinite(self.agent_centre_height_m):
            raise ConfigError(f"ThorConfig.agent_centre_height_m must be finite, got {self.agent_centre_height_m!r}")
        if not isinstance(self.agent_mode, str) or not self.agent_mode.strip():
            raise ConfigError(f"ThorConfig.agent_mode must be a non-empty string, got {self.agent_mode!r}")
        if self.platform is not None and self.platform not in PLATFORMS:
            raise ConfigError(f"ThorConfig.platform must be None or one of {PLATFORMS}, got {self.platform!r}")
        if self.snap_to_grid and self.turn_deg % 90.0 != 0.0:
            raise ConfigError(
                f"ThorConfig.snap_to_grid=True needs turn_deg to be a multiple of 90 (THOR refuses other "
                f"rotateStepDegrees on the grid), got {self.turn_deg}"
            )

    @property
    def intrinsics(self) -> CameraIntrinsics:
        """Pinhole intrinsics of the agent camera (square pixels, centred principal point)."""
        return CameraIntrinsics.from_hfov(self.width, self.height, self.hfov_deg)

    def controller_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``ai2thor.controller.Controller`` (platform still as a name)."""
        kwargs: dict[str, Any] = dict(
            scene=self.scene,
            width=self.width,
            height=self.height,
            fieldOfView=vertical_fov_deg(self.width, self.height, self.hfov_deg),
            gridSize=self.forward_m,
            rotateStepDegrees=self.turn_deg,
            visibilityDistance=self.visibility_distance_m,
            agentMode=self.agent_mode,
            snapToGrid=self.snap_to_grid,
            renderDepthImage=True,
            renderInstanceSegmentation=True,
        )
        if self.local_executable_path:
            kwargs["local_executable_path"] = os.fspath(self.local_executable_path)
        if self.platform:
            kwargs["platform"] = self.platform
        return kwargs


def _is_real(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_scene(scene: Any) -> None:
    if isinstance(scene, str):
        if not scene.strip():
            raise ConfigError("ThorConfig.scene must be a scene name or a ProcTHOR house dict, got ''")
    elif not isinstance(scene, Mapping):
        raise ConfigError(
            f"ThorConfig.scene must be a scene name or a ProcTHOR house dict, got {type(scene).__name__}"
        )


# ---------------------------------------------------------------------------------------------------
# Frame conversion (pure functions)
# ---------------------------------------------------------------------------------------------------


def _xyz(p: Mapping[str, float] | Sequence[float] | np.ndarray) -> tuple[float, float, float]:
    if isinstance(p, Mapping):
        return float(p["x"]), float(p["y"]), float(p["z"])
    x, y, z = (float(v) for v in np.asarray(p, dtype=np.float64).reshape(3))
    return x, y, z


def unity_to_world(p: Mapping[str, float] | Sequence[float] | np.ndarray) -> np.ndarray:
    """Unity point ``{"x", "y", "z"}`` (or an (x, y, z) sequence) -> our (3,) float64 point ``(z, -x, y)``."""
    x, y, z = _xyz(p)
    return np.array([z, -x, y], dtype=np.float64)


def world_to_unity(p: Sequence[float] | np.ndarray) -> dict[str, float]:
    """Our (3,) point (X, Y, Z) -> a Unity position dict ``{"x": -Y, "y": Z, "z": X}`` (inverse of the above)."""
    X, Y, Z = _xyz(p)
    return {"x": -Y + 0.0, "y": Z, "z": X}


def unity_yaw_to_world(rotation_y_deg: float) -> float:
    """THOR ``rotation.y`` (degrees, clockwise from above, 0 = Unity +z) -> our yaw in (-pi, pi]."""
    yaw = -math.radians(float(rotation_y_deg))
    yaw = math.atan2(math.sin(yaw), math.cos(yaw))
    return math.pi if math.isclose(yaw, -math.pi) else yaw


def world_yaw_to_unity(yaw_rad: float) -> float:
    """Our yaw (radians, about +Z from +X) -> THOR ``rotation.y`` in degrees, in [0, 360)."""
    deg = (-math.degrees(float(yaw_rad))) % 360.0
    return 0.0 if math.isclose(deg, 360.0) else deg + 0.0


def horizon_to_tilt(horizon_deg: float) -> float:
    """THOR ``cameraHorizon`` (degrees, positive = looking down) -> our tilt (radians, positive = up)."""
    return -math.radians(float(horizon_deg))


def vertical_fov_deg(width: int, height: int, hfov_deg: float) -> float:
    """Vertical field of view (degrees) of a ``width`` x ``height`` pinhole image with horizontal ``hfov_deg``."""
    return math.degrees(2.0 * math.atan(math.tan(math.radians(hfov_deg) / 2.0) * height / width))


def thor_category(object_type: str) -> str:
    """Our category name for a THOR ``objectType``.

    Known correspondences come from :data:`THOR_CATEGORY_MAP`; any other type becomes its lower-cased,
    space-separated words ("CoffeeMachine" -> "coffee machine", "TVStand" -> "tv stand").
    """
    mapped = THOR_CATEGORY_MAP.get(object_type)
    if mapped is not None:
        return mapped
    return _CAMEL_BOUNDARY.sub(" ", object_type).replace("_", " ").lower().strip()


# ---------------------------------------------------------------------------------------------------
# Controller construction and the missing-build error
# ---------------------------------------------------------------------------------------------------

# What ai2thor 5.0 raises when it cannot find, fetch or run a build (it uses bare Exception/ValueError):
#   find_build, default commit_id:  ValueError("Invalid commit_id: <sha> - no build exists for arch=... platforms=...")
#     (offline, Build.exists() swallows the DNS/connection error, so this is what a user sees)
#   find_build, branch/local:       Exception("No build exists for arch=... platforms=... and commits: ...")
#   branch lookup offline:          Exception("Unable to get commit history for branch ...")
#   build found, platform invalid:  Exception("The following builds were found, but had missing dependencies. ...")
#   CloudRendering without Vulkan:  Exception("Unity process has exited - ... Confirm that Vulkan ...")
#   download:                       requests.exceptions.RequestException, Exception("Digest mismatch for url ...")
_BUILD_FAILURES = re.compile(
    r"no build exists|unable to get commit history|missing dependencies|unity process has exited"
    r"|digest mismatch",
    re.IGNORECASE,
)
_COMMIT_IN_MESSAGE = re.compile(r"commit_id: ([0-9a-f]{7,40})|commits: ([0-9a-f]{7,40})", re.IGNORECASE)


def _is_build_failure(exc: BaseException) -> bool:
    """True when ``exc`` is one of ai2thor's "no usable Unity build" failures (see the table above)."""
    try:
        import requests

        if isinstance(exc, requests.exceptions.RequestException):
            return True
    except ImportError:  # pragma: no cover - requests is an ai2thor dependency
        pass
    return type(exc) in (Exception, ValueError, RuntimeError) and bool(_BUILD_FAILURES.search(str(exc)))


def _releases_dir() -> str:
    """Where ai2thor caches downloaded builds (``Controller.releases_dir``)."""
    return os.path.join(os.path.expanduser("~"), ".ai2thor", "releases")


def _default_platform_name(config: ThorConfig) -> str:
    """The ai2thor platform whose build ``config`` asks for (ai2thor's own choice when None)."""
    if config.platform:
        return config.platform
    return "OSXIntel64" if platform.system() == "Darwin" else "Linux64"


def _build_unavailable_error(exc: BaseException, config: ThorConfig) -> ThorBuildUnavailableError:
    """An actionable :class:`ThorBuildUnavailableError` for ai2thor's build failure ``exc``."""
    match = _COMMIT_IN_MESSAGE.search(str(exc))
    commit = (match.group(1) or match.group(2)) if match else None
    if commit is None:
        try:
            commit = importlib.import_module("ai2thor.build").COMMIT_ID
        except ImportError:  # pragma: no cover - only reached with a broken ai2thor install
            commit = None
    platform_name = _default_platform_name(config)
    build = f"thor-{platform_name}-{commit or '<commit>'}"
    releases = _releases_dir()
    url = f"http://s3-us-west-2.amazonaws.com/ai2-thor-public/builds/{build}.zip"
    parts = [
        f"AI2-THOR could not start: its Unity build {build} (commit {commit or 'unknown'}) is not in the "
        "local cache and could not be downloaded, or cannot run on this machine.",
    ]
    if "no build exists" in str(exc).lower():
        parts.append(
            "ai2thor words this as 'no build exists', but the usual cause is that the download server "
            "(s3-us-west-2.amazonaws.com) could not be reached: check DNS and internet access."
        )
    parts += [
        f"ai2thor caches builds under {releases} (~/.ai2thor/releases/{build}/).",
        f"To run offline, fetch {url} on a machine with internet access and unzip it into "
        f"{releases}/{build}/ (or there run: python -c \"import os, ai2thor.build as b, ai2thor.platform as p; "
        f"b.Build(p.{platform_name}, '{commit or '<commit>'}', False, "
        "os.path.expanduser('~/.ai2thor/releases')).download()\" and copy the folder over), or set "
        f"ThorConfig(local_executable_path=...) to the executable inside it ({releases}/{build}/{build} on Linux; "
        "ai2thor runs such a build as Linux64, with an X server).",
        "Headless machines need platform='CloudRendering' (a Vulkan-capable GPU with libvulkan1) or a "
        "running X server (e.g. `sudo ai2thor-xorg start`).",
        f"ai2thor said: {type(exc).__name__}: {exc}",
    ]
    return ThorBuildUnavailableError(" ".join(parts))


def _resolve_platform(name: str) -> Any:
    """The ``ai2thor.platform`` class for ``name``.

    ai2thor 5.0's ``Controller(platform=...)`` needs the class: a string is accepted by ``Build`` but
    crashes ``find_build``'s error path with ``AttributeError: 'str' object has no attribute 'name'``.
    """
    platforms = importlib.import_module("ai2thor.platform")
    return getattr(platforms, name)


def make_controller(config: ThorConfig) -> Any:
    """Start ``ai2thor.controller.Controller`` for ``config`` (downloads the Unity build if needed).

    Raises:
        MissingDependencyError: ai2thor is not installed.
        ThorBuildUnavailableError: the build is not cached and cannot be downloaded, or cannot run here.
    """
    require("ai2thor", extra="thor", purpose="the AI2-THOR simulator adapter")
    controller_module = importlib.import_module("ai2thor.controller")
    kwargs = config.controller_kwargs()
    if "platform" in kwargs:
        if "local_executable_path" in kwargs and config.platform != "Linux64":
            logger.warning(
                "ai2thor ignores platform=%r for a local_executable_path build and launches it as Linux64 "
                "(needs an X server); unpack the build into %s to use %s", config.platform, _releases_dir(),
                config.platform,
            )
        kwargs["platform"] = _resolve_platform(kwargs["platform"])
    logger.info("starting AI2-THOR: %s", {k: v for k, v in kwargs.items() if k != "scene"})
    try:
        return controller_module.Controller(**kwargs)
    except Exception as exc:
        if _is_build_failure(exc):
            raise _build_unavailable_error(exc, config) from exc
        raise


# ---------------------------------------------------------------------------------------------------
# The simulator
# ---------------------------------------------------------------------------------------------------


class ThorSimulator:
    """AI2-THOR behind the toolkit's :class:`~embodied.types.Simulator` and ``GeodesicOracle`` protocols.

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
        action = Action(action)
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


def _horizontal_path_length(corners: Sequence[Mapping[str, float]]) -> float:
    """Sum of corner-to-corner distances in THOR's horizontal (x, z) plane; inf for an empty path."""
    if not corners:
        return math.inf
    pts = np.array([[float(c["x"]), float(c["z"])] for c in corners], dtype=np.float64)
    return float(np.linalg.norm(np.diff(pts, axis=0), axis=1).sum())
