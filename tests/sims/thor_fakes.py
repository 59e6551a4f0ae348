"""Offline stand-ins for AI2-THOR: real ``ai2thor.server.Event`` objects without Unity.

Events are made by ai2thor's own ``Server.create_event`` (the code path ``Controller.step`` uses on
every reply from Unity), fed with metadata shaped like THOR's and raw image buffers in Unity's byte
layout: rows bottom-to-top, RGBA32 colour, float32 depth in metres, RGBA32 instance-id colours.

Object metadata is recomputed for every event as THOR does: ``distance`` is the distance (metres) from
the agent's camera to the object's centre, and ``visible`` is True only for objects in the camera frame
and unobstructed (here: listed in ``FakeController.in_view``) that lie within ``visibilityDistance`` of
the agent's vertical axis (AI2-THOR docs, "Concepts"). ``GetReachablePositions`` returns the positions in
``FakeController.reachable`` (Unity agent-centre points) in ``metadata["actionReturn"]``.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from ai2thor.server import DepthFormat, Event, Server

W, H = 8, 6
CAMERA_ABOVE_CENTRE_M = 0.675  # default agent: camera this far above the reported agent position
SPAWN = {"x": 1.0, "y": 0.9009995, "z": 2.0}

TV_ID = "Television|+01.00|+01.20|+03.00"
PLANT_ID = "HousePlant|+02.00|+00.00|+03.50"
FRIDGE_ID = "Fridge|-01.00|+00.00|+01.00"
WALL_NAME = "wall|2|0.00|0.00|3.00|0.00"  # structure: has a colour, is not in metadata["objects"]
FLOOR_NAME = "room|3"

COLORS: dict[str, tuple[int, int, int]] = {
    TV_ID: (200, 10, 10),
    PLANT_ID: (10, 200, 10),
    FRIDGE_ID: (10, 10, 200),
    WALL_NAME: (90, 90, 90),
    FLOOR_NAME: (30, 60, 90),
}
OBJECTS: list[dict[str, Any]] = [
    {"objectId": TV_ID, "objectType": "Television", "position": {"x": 1.0, "y": 1.2, "z": 3.0}, "visible": True},
    {"objectId": PLANT_ID, "objectType": "HousePlant", "position": {"x": 2.0, "y": 0.0, "z": 3.5}, "visible": True},
    {"objectId": FRIDGE_ID, "objectType": "Fridge", "position": {"x": -1.0, "y": 0.0, "z": 1.0}, "visible": False},
]
UNKNOWN_COLOR = (1, 2, 3)  # a colour THOR did not list in metadata["colors"]


def lattice(xs: Any, zs: Any, y: float = SPAWN["y"]) -> list[dict[str, float]]:
    """Unity positions ``{"x", "y", "z"}`` on the grid ``xs`` x ``zs`` (metres), as GetReachablePositions lists them."""
    return [{"x": float(x), "y": float(y), "z": float(z)} for x in xs for z in zs]


DEFAULT_REACHABLE = lattice(np.round(np.arange(-1.0, 2.001, 0.25), 2), np.round(np.arange(0.0, 3.001, 0.25), 2))
"""13 x 13 lattice, x in [-1, 2], z in [0, 3], 0.25 m apart: holds SPAWN, the TV's and the fridge's feet."""

def default_segmentation() -> np.ndarray:
    """(H, W, 3) uint8 instance colours, row 0 = top: wall | tv (top) | plant (bottom) | floor."""
    seg = np.empty((H, W, 3), dtype=np.uint8)
    seg[:] = COLORS[FLOOR_NAME]
    seg[:, 0:2] = COLORS[WALL_NAME]
    seg[0:3, 2:5] = COLORS[TV_ID]
    seg[3:6, 5:8] = COLORS[PLANT_ID]
    seg[5, 2] = UNKNOWN_COLOR
    return seg


def default_rgb() -> np.ndarray:
    """(H, W, 3) uint8 with a distinct value in every pixel (so flips would show)."""
    v = np.arange(H * W * 3, dtype=np.uint16).reshape(H, W, 3)
    return (v * 5 % 256).astype(np.uint8)


def default_depth() -> np.ndarray:
    """(H, W) float32 metres, row 0 = top, with one NaN, one inf, one beyond-far-plane and one negative pixel."""
    d = (0.5 + 0.0371 * np.arange(H * W, dtype=np.float64)).reshape(H, W).astype(np.float32)
    d[0, 7] = np.nan
    d[1, 7] = np.inf
    d[2, 7] = 25.0  # beyond THOR's default far plane (20 m)
    d[3, 7] = -1.0
    return d


@dataclass
class Frames:
    """What Unity would render: rgb (H, W, 3) uint8, depth (H, W) float32 m, seg (H, W, 3) uint8, row 0 top."""

    rgb: np.ndarray = field(default_factory=default_rgb)
    depth: np.ndarray = field(default_factory=default_depth)
    seg: np.ndarray = field(default_factory=default_segmentation)

    @classmethod
    def blank(cls, width: int, height: int) -> Frames:
        """Grey image, 1 m depth everywhere, all floor: for sizes other than the default W x H."""
        seg = np.empty((height, width, 3), dtype=np.uint8)
        seg[:] = COLORS[FLOOR_NAME]
        return cls(np.full((height, width, 3), 128, np.uint8), np.ones((height, width), np.float32), seg)


def unity_bytes(image: np.ndarray, alpha: bool) -> bytes:
    """Raw buffer as Unity sends it: rows bottom-to-top, optionally RGBA with alpha 255."""
    img = np.asarray(image)
    if alpha:
        a = np.full(img.shape[:2] + (1,), 255, dtype=np.uint8)
        img = np.concatenate([img, a], axis=2)
    return np.ascontiguousarray(np.flipud(img)).tobytes()


class OfflineServer(Server):
    """ai2thor's ``Server`` with the Unity transport stubbed out; ``create_event`` is the real one."""

    server_type = "OFFLINE"

    def __init__(self, width: int = W, height: int = H) -> None:
        super().__init__(width, height, timeout=None, depth_format=DepthFormat.Meters)

    def start(self) -> None:
        self.started = True

    def stop(self) -> None:
        self.started = False

    def send(self, action: Any) -> None:  # pragma: no cover - never used offline
        raise NotImplementedError

    def receive(self, timeout: float | None = None) -> Any:  # pragma: no cover - never used offline
        raise NotImplementedError


def agent_metadata(
    *,
    position: dict[str, float] | None = None,
    rotation_y: float = 0.0,
    horizon: float = 0.0,
    objects: list[dict[str, Any]] | None = None,
    colors: dict[str, tuple[int, int, int]] | None = None,
    last_action: str = "Initialize",
    success: bool = True,
    error: str = "",
    action_return: Any = None,
    scene: str = "FloorPlan1_physics",
    width: int = W,
    height: int = H,
    fov: float = 90.0,
) -> dict[str, Any]:
    """One agent's metadata dict, with the keys THOR sends (a subset of them)."""
    pos = dict(position or SPAWN)
    colors = COLORS if colors is None else colors
    return {
        "agent": {
            "name": "agent",
            "position": pos,
            "rotation": {"x": 0.0, "y": rotation_y, "z": 0.0},
            "cameraHorizon": horizon,
            "isStanding": True,
            "inHighFrictionArea": False,
        },
        "cameraPosition": {"x": pos["x"], "y": pos["y"] + CAMERA_ABOVE_CENTRE_M, "z": pos["z"]},
        "objects": copy.deepcopy(OBJECTS if objects is None else objects),
        "colors": [{"name": n, "color": list(c)} for n, c in colors.items()],
        "lastAction": last_action,
        "lastActionSuccess": success,
        "errorMessage": error,
        "errorCode": "" if success else "ActionFailed",
        "actionReturn": action_return,
        "sceneName": scene,
        "fov": fov,
        "screenWidth": width,
        "screenHeight": height,
        "depthFormat": "Meters",
        "thirdPartyCameras": None,
    }


def make_event(metadata: dict[str, Any], frames: Frames | None = None, server: OfflineServer | None = None) -> Event:
    """A real ``ai2thor.server.Event`` built by ``Server.create_event`` from metadata and raw buffers."""
    frames = frames or Frames()
    server = server or OfflineServer(metadata["screenWidth"], metadata["screenHeight"])
    files = {
        "image": [unity_bytes(frames.rgb, alpha=True)],  # CloudRendering sends RGBA
        "image_depth": [np.ascontiguousarray(np.flipud(frames.depth.astype(np.float32))).tobytes()],
        "image_ids": [unity_bytes(frames.seg, alpha=True)],  # ImageSynthesis sends RGBA32
    }
    return server.create_event({"sequenceId": server.sequence_id, "agents": [metadata], "activeAgentId": 0}, files)


class FakeController:
    """Stand-in for ``ai2thor.controller.Controller``: records calls, keeps a pose, returns real Events.

    Pose semantics follow THOR's documentation: ``MoveAhead`` moves along (sin r, 0, cos r) for
    rotation r, ``RotateRight`` increases rotation.y, ``LookDown`` increases the horizon (clamped to
    [-30, 60], beyond which the action fails), ``TeleportFull`` sets the pose. Objects' ``visible`` and
    ``distance`` are recomputed per event (module docs) with ``visibility_distance`` (THOR's
    ``visibilityDistance``, default 1.5 m as in THOR).
    """

    def __init__(self, width: int = W, height: int = H, *, visibility_distance: float = 1.5) -> None:
        self.width, self.height = width, height
        self.visibility_distance = visibility_distance
        self.reachable: list[dict[str, float]] = copy.deepcopy(DEFAULT_REACHABLE)  # GetReachablePositions
        # objects in the camera frame and unobstructed: THOR's other two visibility conditions
        self.in_view: set[str] = {o["objectId"] for o in OBJECTS if o.get("visible")}
        self.server = OfflineServer(width, height)
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.fail: dict[str, str] = {}  # THOR action name -> error message for its calls
        self.path_corners: list[dict[str, float]] | None = None  # None -> GetShortestPathToPoint fails
        self.objects: list[dict[str, Any]] = copy.deepcopy(OBJECTS)  # metadata["objects"] of every event
        self.frames = Frames() if (width, height) == (W, H) else Frames.blank(width, height)
        self.stop_count = 0
        self.last_event: Event | None = None
        self._set_pose(SPAWN, 0.0, 0.0)
        self.scene = "FloorPlan1"

    def _set_pose(self, position: dict[str, float], rotation_y: float, horizon: float) -> None:
        self.position = dict(position)
        self.rotation_y = rotation_y % 360.0
        self.horizon = horizon

    def _objects_metadata(self) -> list[dict[str, Any]]:
        """``self.objects`` with ``visible`` and ``distance`` as THOR would report them at the current pose."""
        camera = np.array([self.position["x"], self.position["y"] + CAMERA_ABOVE_CENTRE_M, self.position["z"]])
        out = []
        for o in copy.deepcopy(self.objects):
            p = o["position"]
            centre = np.array([p["x"], p["y"], p["z"]], dtype=np.float64)
            axis = math.hypot(p["x"] - self.position["x"], p["z"] - self.position["z"])
            o["distance"] = float(np.linalg.norm(centre - camera))
            o["visible"] = o["objectId"] in self.in_view and axis <= self.visibility_distance
            out.append(o)
        return out

    def _event(self, action: str, success: bool = True, error: str = "", action_return: Any = None) -> Event:
        meta = agent_metadata(
            position=self.position, rotation_y=self.rotation_y, horizon=self.horizon,
            objects=self._objects_metadata(), last_action=action, success=success, error=error,
            action_return=action_return, scene=f"{self.scene}_physics", width=self.width, height=self.height,
        )
        self.last_event = make_event(meta, self.frames, self.server)
        return self.last_event

    def reset(self, scene: Any = None, **init_params: Any) -> Event:
        self.calls.append(("reset", {"scene": scene, **init_params}))
        self.scene = scene if isinstance(scene, str) else "Procedural"
        self._set_pose(SPAWN, 0.0, 0.0)
        return self._event("Initialize")

    def step(self, action: str | None = None, **kwargs: Any) -> Event:
        self.calls.append((action, dict(kwargs)))
        if action in self.fail:
            return self._event(action, success=False, error=self.fail[action])
        handler = getattr(self, f"_do_{action}", None)
        if handler is None:
            return self._event(action, success=False, error=f"Invalid action: {action}")
        return handler(**kwargs)

    def stop(self) -> None:
        self.stop_count += 1

    # THOR actions ------------------------------------------------------------------------------------

    def _do_MoveAhead(self, moveMagnitude: float) -> Event:
        r = math.radians(self.rotation_y)
        self.position["x"] += moveMagnitude * math.sin(r)
        self.position["z"] += moveMagnitude * math.cos(r)
        return self._event("MoveAhead")

    def _do_RotateLeft(self, degrees: float) -> Event:
        self.rotation_y = (self.rotation_y - degrees) % 360.0
        return self._event("RotateLeft")

    def _do_RotateRight(self, degrees: float) -> Event:
        self.rotation_y = (self.rotation_y + degrees) % 360.0
        return self._event("RotateRight")

    def _look(self, action: str, new_horizon: float) -> Event:
        if not -30.0 <= new_horizon <= 60.0:
            return self._event(action, success=False, error="can't look beyond the horizon limits")
        self.horizon = new_horizon
        return self._event(action)

    def _do_LookUp(self, degrees: float) -> Event:
        return self._look("LookUp", self.horizon - degrees)

    def _do_LookDown(self, degrees: float) -> Event:
        return self._look("LookDown", self.horizon + degrees)

    def _do_TeleportFull(self, position: dict, rotation: dict, horizon: float, standing: bool = True) -> Event:
        self._set_pose(position, rotation["y"], horizon)
        return self._event("TeleportFull")

    def _do_GetShortestPathToPoint(self, position: dict, target: dict) -> Event:
        if self.path_corners is None:
            return self._event(
                "GetShortestPathToPoint", success=False,
                error=f"Could not find path between {position} and {target} using the NavMesh.",
            )
        path = {"corners": self.path_corners, "status": "PathComplete"}
        return self._event("GetShortestPathToPoint", action_return=path)

    def _do_GetReachablePositions(self, **kwargs: Any) -> Event:
        return self._event("GetReachablePositions", action_return=copy.deepcopy(self.reachable))
