"""Configuration of the CLIP-on-Wheels agent."""

from __future__ import annotations

from dataclasses import dataclass

from embodied.errors import ConfigError

__all__ = ["CowConfig"]


@dataclass(frozen=True, kw_only=True)
class CowConfig:
    """CoW settings. Step sizes must match the simulator's (the runner copies them).

    Attributes:
        localizer: "oracle", "patch", "ref", "grad" or "dense" (see embodied.localization).
        frontier: "nearest" (CoW) or "value" (VLFM-style, ranks frontiers by the semantic value map).
        pose_source: "observation" (GPS+compass from the robot) or "odometry" (dead reckoning from
            the agent's own actions, with failed-move detection from depth).
        spin: start with a 360 degree turn in place.
        stop_distance_m: STOP once a goal cell is this close (CoW/VLFM use about 0.9-1.0 m).
    """

    localizer: str = "oracle"
    frontier: str = "nearest"
    pose_source: str = "observation"
    spin: bool = True
    forward_m: float = 0.25
    turn_deg: float = 30.0
    camera_height_m: float = 0.88
    map_resolution_m: float = 0.05
    map_size_m: float = 40.0
    max_range_m: float = 5.0
    min_obstacle_height_m: float = 0.1
    max_obstacle_height_m: float = 1.6
    agent_radius_m: float = 0.2  # hard obstacle inflation: body radius 0.18 m + one 2 cm margin
    clearance_m: float = 0.4  # paths slow down (cost more) closer than this to an obstacle
    min_speed: float = 0.35  # the relative speed at agent_radius_m from an obstacle
    squeeze_m: float = 0.1  # paths may pass this close to obstacles (at a 20x cost) when there is no other way
    stop_distance_m: float = 0.9
    goal_min_cells: int = 3
    min_frontier_cells: int = 15
    frontier_reach_m: float = 1.0
    lookahead_m: float = 0.5
    replan_every: int = 4
    stuck_limit: int = 3
    localizer_threshold: float | None = None
    templates: str = "short"
    center: bool = False

    def __post_init__(self) -> None:
        choices = {"localizer": ("oracle", "patch", "ref", "grad", "dense"), "frontier": ("nearest", "value"),
                   "pose_source": ("observation", "odometry")}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ConfigError(f"CowConfig.{name} must be one of {allowed}, got '{getattr(self, name)}'")
        if self.forward_m <= 0 or self.turn_deg <= 0 or self.stop_distance_m <= 0 or self.replan_every < 1:
            raise ConfigError("CowConfig: step sizes, stop_distance_m and replan_every must be positive")
        if not (0 < self.squeeze_m <= self.agent_radius_m < self.clearance_m and 0 < self.min_speed <= 1):
            raise ConfigError("CowConfig: need 0 < squeeze_m <= agent_radius_m < clearance_m and 0 < min_speed <= 1, "
                              f"got {self.squeeze_m}, {self.agent_radius_m}, {self.clearance_m}, {self.min_speed}")
