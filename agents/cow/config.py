"""Configuration of the CLIP-on-Wheels agent."""

from __future__ import annotations

from dataclasses import dataclass

from embodied.errors import ConfigError

__all__ = ["CowConfig"]


@dataclass(frozen=True, kw_only=True)
class CowConfig:
    """CoW settings. Step sizes must match the simulator's (the runner copies them).

    Attributes:
        localizer: "oracle", "patch", "ref", "grad", "dense" or "owl" (see embodied.localization).
        frontier: "nearest" (CoW) or "value" (VLFM-style, ranks frontiers by the semantic value map).
        pose_source: "observation" (GPS+compass from the robot) or "odometry" (dead reckoning from
            the agent's own actions, with failed-move detection from depth).
        spin: start with a turn in place: ``spin_turns`` turns of ``turn_deg`` (None: a full 360
            degrees; CoW turns (360 - FOV) / turn_deg = 9 times).
        owl_checkpoint: the OWL-ViT / OWLv2 checkpoint (hub id or local folder) of ``localizer="owl"``.
        stop_distance_m: STOP once a goal cell is this close (CoW/VLFM use about 0.9-1.0 m).
        goal_hit_logodds, goal_miss_logodds, goal_threshold_logodds: goal evidence is voted per map
            cell (OccupancyMap.vote_goal): a cell seen with the goal detected on it gains the hit
            log-odds, seen without it the miss log-odds; it is a goal cell above the threshold. The
            defaults suit a CLIP localizer with a per-frame TPR near 0.3 and FPR near 0.04 (one
            detection marks a goal to approach, about three views without one erase it). The miss
            default is 0 for the oracle localizer, which never detects wrongly.
        goal_stop_logodds: STOP needs a goal cell within reach at least this sure; short of it the
            agent keeps looking at it (turning to and fro, one vote a step). Default: the goal
            threshold for the oracle, 3.0 (two net detections) for CLIP localizers.
        verify_steps: looks at a goal within reach that may pass without it becoming sure enough to
            STOP (or being refuted); then its cells are forgotten and the agent moves on.
        vocabulary: object categories known to the task; CLIP-Patch then classifies each patch over
            goal + vocabulary (embodied.localization) instead of CoW's softmax over patches.
        refine: with a vocabulary, CLIP-Patch checks a firing patch by classifying a crop of the
            depth segment under it, and marks that segment (not the whole patch) as the goal.
        proposals: CLIP-Patch's patches with a vocabulary: "segments" (every depth segment of the
            frame is cut out and classified; the default) or "grid" (the 3 x 3 cells, with ``refine``).
        reuse_localizer_score: with ``frontier="value"``, take the frame's image-text score for the
            value map from the CLIP localizer's forward (same model, same prompts) instead of a second
            forward of the frame (False: the second forward, as before issue 19; the numbers agree to float noise).
        stop_localizing_when_sure: once a goal cell is sure enough to STOP at, stop localizing (and
            scoring frames for the value map) until the goal is reached or forgotten: no CLIP forward
            on the approach, but no miss votes either, so a sure false detection is never refuted.
            Off by default: on 100 val episodes it cost Success (README, "The CLIP path").
    """

    localizer: str = "oracle"
    frontier: str = "nearest"
    pose_source: str = "observation"
    spin: bool = True
    spin_turns: int | None = None
    owl_checkpoint: str = "google/owlvit-base-patch32"
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
    goal_hit_logodds: float = 2.0
    goal_miss_logodds: float | None = None  # None: 0 for the oracle localizer, -0.35 for CLIP ones
    goal_threshold_logodds: float = 1.0
    goal_stop_logodds: float | None = None  # None: goal_threshold_logodds for the oracle, 3.0 for CLIP ones
    verify_steps: int = 8
    vocabulary: tuple[str, ...] = ()
    refine: bool = True  # CLIP-Patch with a vocabulary: classify the depth segment under a firing patch
    proposals: str = "segments"
    stop_localizing_when_sure: bool = False
    reuse_localizer_score: bool = True
    min_frontier_cells: int = 15
    frontier_reach_m: float = 1.0
    lookahead_m: float = 0.5
    replan_every: int = 4
    stuck_limit: int = 3
    localizer_threshold: float | None = None
    templates: str = "short"
    center: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.vocabulary, str) or not all(isinstance(w, str) for w in self.vocabulary):
            raise ConfigError(f"CowConfig.vocabulary must be a list of category names, got {self.vocabulary!r}")
        object.__setattr__(self, "vocabulary", tuple(self.vocabulary))
        choices = {"localizer": ("oracle", "patch", "ref", "grad", "dense", "owl"), "frontier": ("nearest", "value"),
                   "pose_source": ("observation", "odometry"), "proposals": ("grid", "segments")}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ConfigError(f"CowConfig.{name} must be one of {allowed}, got '{getattr(self, name)}'")
        if not (self.goal_hit_logodds > self.goal_threshold_logodds > 0 and (self.goal_miss_logodds or 0.0) <= 0):
            raise ConfigError("CowConfig: need goal_hit_logodds > goal_threshold_logodds > 0 >= goal_miss_logodds, got "
                              f"{self.goal_hit_logodds}, {self.goal_threshold_logodds}, {self.goal_miss_logodds}")
        if self.spin_turns is not None and self.spin_turns < 0:
            raise ConfigError(f"CowConfig.spin_turns must be None or >= 0, got {self.spin_turns}")
        if self.forward_m <= 0 or self.turn_deg <= 0 or self.stop_distance_m <= 0 or self.replan_every < 1 \
                or self.verify_steps < 1:
            raise ConfigError("CowConfig: step sizes, stop_distance_m, replan_every and verify_steps must be positive")
        if not (0 < self.squeeze_m <= self.agent_radius_m < self.clearance_m and 0 < self.min_speed <= 1):
            raise ConfigError("CowConfig: need 0 < squeeze_m <= agent_radius_m < clearance_m and 0 < min_speed <= 1, "
                              f"got {self.squeeze_m}, {self.agent_radius_m}, {self.clearance_m}, {self.min_speed}")

    @property
    def miss_logodds(self) -> float:
        """``goal_miss_logodds`` with its per-localizer default resolved."""
        if self.goal_miss_logodds is not None:
            return self.goal_miss_logodds
        return 0.0 if self.localizer == "oracle" else -0.35

    @property
    def stop_logodds(self) -> float:
        """``goal_stop_logodds`` with its per-localizer default resolved."""
        if self.goal_stop_logodds is not None:
            return self.goal_stop_logodds
        return self.goal_threshold_logodds if self.localizer == "oracle" else 3.0
