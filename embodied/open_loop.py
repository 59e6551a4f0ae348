"""Open-loop evaluation on recorded observations: a localizer over every frame, fused into the 2.5D map.

A recording cannot follow a policy, so nothing acts: each frame is localized (``found``, relevance
map), and where the frame has depth and a pose it is integrated into an :class:`OccupancyMap` with
its relevance projected into the goal layer, exactly as the CoW agent's map would be. Out come one
:class:`FrameDetection` per frame and the map.

>>> dets, m = localize_sequence(observations, make_localizer("dense", clip), "chair")
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass

import numpy as np

from embodied import geometry
from embodied.localization import Localization, Localizer
from embodied.mapping.occupancy import MapConfig, OccupancyMap
from embodied.types import Observation

__all__ = ["FrameDetection", "localize_sequence", "overlay"]


@dataclass(frozen=True)
class FrameDetection:
    """What the localizer said about one frame.

    ``box_px``: (u0, v0, u1, v1) of the relevant pixels (None when none); ``goal_xyz_m``: world
    point of the median depth of the relevant pixels (None without depth or pose);
    ``relevant_fraction``: share of relevant pixels; ``score``: the localizer's full-frame score
    (NaN when it has none)."""

    step: int
    found: bool
    score: float
    max_relevance: float
    relevant_fraction: float
    box_px: tuple[int, int, int, int] | None
    goal_xyz_m: tuple[float, float, float] | None
    frame: str = ""
    timestamp_s: float | None = None

    def to_dict(self) -> dict:
        d = asdict(self)
        d["score"] = None if not np.isfinite(self.score) else float(self.score)
        return d


def _detection(obs: Observation, loc: Localization, threshold: float) -> FrameDetection:
    rel = loc.relevance
    sel = rel > threshold
    box, xyz = None, None
    if sel.any():
        vs, us = np.nonzero(sel)
        box = (int(us.min()), int(vs.min()), int(us.max()) + 1, int(vs.max()) + 1)
        if obs.depth is not None:
            d = obs.depth[sel]
            d = d[d > 0]
            if len(d):
                med = float(np.median(d))
                v, u = float(np.median(vs)), float(np.median(us))
                K = obs.intrinsics
                p_cam = np.array([(u - K.cx) / K.fx * med, (v - K.cy) / K.fy * med, med])
                xyz = tuple(float(x) for x in geometry.transform_points(obs.T_world_cam, p_cam[None])[0])
    return FrameDetection(step=obs.step, found=bool(loc.found), score=float(loc.score),
                          max_relevance=float(rel.max()) if rel.size else 0.0,
                          relevant_fraction=float(sel.mean()) if rel.size else 0.0, box_px=box, goal_xyz_m=xyz,
                          frame=str(obs.extras.get("frame", "")), timestamp_s=obs.extras.get("timestamp_s"))


def localize_sequence(observations: Iterable[Observation], localizer: Localizer, goal: str, *,
                      map_config: MapConfig | None = MapConfig(), threshold: float = 0.5,
                      on_frame: Callable[[Observation, Localization, FrameDetection], None] | None = None,
                      ) -> tuple[list[FrameDetection], OccupancyMap | None]:
    """Run ``localizer`` for ``goal`` over every observation and build the map.

    Args:
        map_config: the map's settings; None builds no map. The map is centred on the first pose;
            the floor under each frame is its ``agent_pose`` height (0 without one).
        threshold: relevance above which a pixel counts (box, goal point, goal layer).
        on_frame: called after each frame (videos, progress).
    Returns:
        (one detection per frame, the map or None when no frame had depth and a pose).
    """
    dets: list[FrameDetection] = []
    m: OccupancyMap | None = None
    for obs in observations:
        loc = localizer(obs, goal)
        det = _detection(obs, loc, threshold)
        dets.append(det)
        posed = obs.depth is not None and obs.agent_pose is not None
        if map_config is not None and posed:
            if m is None:
                m = OccupancyMap(map_config, np.asarray(obs.T_world_cam[:2, 3]))
            floor = obs.agent_pose.position_m[2]
            m.update(obs.depth, obs.intrinsics, obs.T_world_cam, floor)
            m.add_goal_evidence(loc.relevance, obs.depth, obs.intrinsics, obs.T_world_cam, threshold, floor)
        if on_frame is not None:
            on_frame(obs, loc, det)
    return dets, m


def overlay(rgb: np.ndarray, loc: Localization, det: FrameDetection, threshold: float = 0.5) -> np.ndarray:
    """(H, W, 3) uint8: the frame with relevant pixels tinted red and their box outlined (green when
    the localizer says found, yellow when not)."""
    out = rgb.astype(np.float32)
    w = (np.clip(loc.relevance, 0, 1) * (loc.relevance > threshold))[..., None] * 0.5
    out = out * (1 - w) + np.array([255, 0, 0], np.float32) * w
    img = np.clip(out, 0, 255).astype(np.uint8)
    if det.box_px is not None:
        u0, v0, u1, v1 = det.box_px
        colour = np.array([0, 220, 0] if det.found else [240, 220, 0], np.uint8)
        img[v0, u0:u1] = colour
        img[v1 - 1, u0:u1] = colour
        img[v0:v1, u0] = colour
        img[v0:v1, u1 - 1] = colour
    return img
