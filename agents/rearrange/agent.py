"""The scene-graph rearrangement agent (CSR-style, zero-shot): it sees Observations and returns actions.

Walkthrough: explore (CoW's frontier exploration, no goal) and build a scene graph of the room.
Unshuffle: explore again into a second graph, diff the two (:func:`embodied.scene_graph.diff_graphs`:
Hungarian matching on CLIP similarity, a matched pair further apart than ``move_tol_m`` has moved),
keep the moved nodes small enough to carry, and for each: navigate to where it is now, pick it up
(aimed at its pixels in the current frame), navigate to where it was, put it down (aimed at the
surface under its walkthrough centre), nearest first. ``mode="detect"`` stops after the diff
(change detection only, for evaluation).

Robot contract: rgb, metric depth, intrinsics, T_world_cam and agent_pose every frame, ``holding``
after a pick-up / put-down (the gripper state); ``semantic`` only with ``proposals="oracle"``. The
phase is given by ``reset("walkthrough")`` / ``reset("unshuffle")``; the unshuffle reset keeps the
walkthrough graph.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from agents.cow import CowAgent, CowConfig
from embodied import geometry
from embodied.errors import ConfigError
from embodied.localization import Localization
from embodied.scene_graph import Moved, SceneGraph, SceneGraphConfig, diff_graphs, observe
from embodied.scene_graph.graph import ObjectNode
from embodied.types import Action, ActionAt, Observation

__all__ = ["RearrangeAgentConfig", "RearrangeAgent"]

PHASES = ("walkthrough", "unshuffle")


@dataclass(frozen=True, kw_only=True)
class RearrangeAgentConfig:
    """Settings of the rearrangement agent.

    Attributes:
        mode: "fix" (put moved objects back) or "detect" (change detection only: STOP after the diff).
        proposals: scene-graph object proposals, "oracle" (instance masks) or "segments" (depth segments).
        min_pixels: smaller proposals are left out of the graphs.
        walkthrough_steps: the walkthrough's step budget (RoomR: 250); the agent STOPs there at the latest.
        unshuffle_explore_steps: steps of the unshuffle phase spent exploring before the diff (the
            exploration may end sooner, when nothing is left to see).
        survey: after exploring, visit each furniture-like node (a table or cabinet top, from geometry)
            and look down at it from ``survey_distance_m``, so small objects on it are seen well.
        cow.stop_distance_m: how close the agent goes to an object it picks up or puts down (the
            reach is 1.5 m from the camera).
        move_tol_m, min_similarity: the diff's thresholds (embodied.scene_graph.diff_graphs).
        max_object_size_m: only nodes whose box is at most this long on every side are candidates to
            carry (furniture never moves; a big node that "moved" is a mismatch).
        steps_per_target: a pick-up or put-down target not reached in this many steps is given up.
        tries: attempts at one pick-up or put-down (re-aimed each time) before giving up.
        cow: the exploring / navigating CoW (its localizer is replaced by one that never fires).
        graph: scene-graph thresholds.
    """

    mode: str = "fix"
    proposals: str = "oracle"
    min_pixels: int = 50
    walkthrough_steps: int = 250
    unshuffle_explore_steps: int = 250
    survey: bool = True
    survey_distance_m: float = 0.8
    move_tol_m: float = 0.2
    min_similarity: float = 0.5
    max_object_size_m: float = 0.6
    steps_per_target: int = 100
    tries: int = 3
    cow: CowConfig = field(default_factory=lambda: CowConfig(localizer="oracle", spin=True, stop_distance_m=1.1))
    graph: SceneGraphConfig = field(default_factory=SceneGraphConfig)

    def __post_init__(self) -> None:
        from embodied.config import config_from_dict

        if isinstance(self.cow, dict):
            object.__setattr__(self, "cow", config_from_dict(CowConfig, self.cow))
        if isinstance(self.graph, dict):
            object.__setattr__(self, "graph", config_from_dict(SceneGraphConfig, self.graph))
        if self.mode not in ("fix", "detect"):
            raise ConfigError(f"RearrangeAgentConfig.mode must be 'fix' or 'detect', got {self.mode!r}")
        if self.proposals not in ("oracle", "segments"):
            raise ConfigError(f"RearrangeAgentConfig.proposals must be 'oracle' or 'segments', got {self.proposals!r}")
        if self.cow.pose_source != "observation":
            raise ConfigError("RearrangeAgentConfig: cow.pose_source must be 'observation' (the agent turns and "
                              "looks around without CoW, so CoW's own odometry would drift)")
        if self.unshuffle_explore_steps < 1 or self.steps_per_target < 1 or self.tries < 1:
            raise ConfigError("RearrangeAgentConfig: step counts and tries must be >= 1")


def _never(observation: Observation, goal: Any) -> Localization:
    """A localizer that finds nothing: CoW then only explores, or heads for the points it is given."""
    return Localization(np.zeros(observation.rgb.shape[:2], np.float32), False)


@dataclass
class _Target:
    move: Moved
    stage: str = "pick"  # "pick" -> "place" (-> "return": put it down where it was picked up)
    steps: int = 0
    tries: int = 0
    pending: bool = False  # an interaction was sent; the next frame tells whether it worked
    avoid: list = field(default_factory=list)  # (2,) places where an interaction failed: approach from elsewhere
    swapped: bool = False  # its goal was exchanged with another target's (look-alikes the diff may have swapped)


class RearrangeAgent:
    """Walkthrough graph, unshuffle graph, diff, then navigate / pick / navigate / place (module docstring).

    Args:
        config: agent settings.
        clip: a ClipBackbone (anything with ``encode_images``) for the node embeddings.

    After the unshuffle diff, ``predicted_moves`` holds the (from (3,), to (3,)) centres of the
    objects it believes moved, and ``walkthrough_graph`` / ``unshuffle_graph`` the two graphs.
    """

    def __init__(self, config: RearrangeAgentConfig, clip: Any) -> None:
        self.config, self.clip = config, clip
        self.walkthrough_graph: SceneGraph | None = None
        self.unshuffle_graph: SceneGraph | None = None
        self.predicted_moves: list[tuple[tuple[float, ...], tuple[float, ...]]] = []
        self.log: list[str] = []
        self.phase: str | None = None

    def reset(self, goal: str) -> None:
        """Start a phase: "walkthrough" (forgets everything) or "unshuffle" (keeps the walkthrough graph)."""
        if goal not in PHASES:
            raise ConfigError(f"RearrangeAgent.reset takes a phase, one of {PHASES}, got {goal!r}")
        if goal == "unshuffle" and self.walkthrough_graph is None:
            raise ConfigError("reset('unshuffle') before a walkthrough: the agent has no graph of the goal state")
        c = self.config
        self.phase = goal
        graph = SceneGraph(dataclasses.replace(c.graph))
        if goal == "walkthrough":
            self.walkthrough_graph, self.unshuffle_graph = graph, None
            self.predicted_moves, self.log = [], []
        else:
            self.unshuffle_graph = graph
        self._cow = CowAgent(c.cow, _never)
        self._cow.reset(None)
        self._steps = 0
        self._exploring = True
        self._surveying = False
        self._views: list[np.ndarray] = []
        self._view_steps = 0
        self._looks = 0
        self._targets: list[_Target] = []

    # ------------------------------------------------------------------ acting
    def act(self, observation: Observation) -> Action | ActionAt:
        if self.phase is None:
            raise ConfigError("RearrangeAgent.act before reset('walkthrough')")
        obs = observation
        self._steps += 1
        c = self.config
        graph = self.walkthrough_graph if self.phase == "walkthrough" else self.unshuffle_graph
        if self._exploring:
            observe(graph, obs, self.clip, c.proposals, c.min_pixels)
            budget = c.walkthrough_steps if self.phase == "walkthrough" else c.unshuffle_explore_steps
            action = self._survey(obs) if self._surveying else self._cow.act(obs)
            if action is Action.STOP and not self._surveying and c.survey:
                self._surveying, self._views = True, self._survey_points(graph)
                action = self._survey(obs)
            if action is not Action.STOP and self._steps < budget:
                return action
            if self.phase == "walkthrough":
                return Action.STOP  # nothing left to see: the walkthrough ends
            self._exploring = False
            self._plan(np.asarray(obs.agent_pose.position_m[:2], float))
            if c.mode == "detect" or not self._targets:
                return Action.STOP
            if action is not Action.STOP:  # the exploration budget ran out mid-way: finish this step
                return action
        return self._fix(obs)

    def _survey_points(self, graph: SceneGraph) -> list[np.ndarray]:
        """Centres (2,) of the furniture-like nodes (a top between 0.4 and 1.2 m, at least 0.4 m across)
        whose tops small objects stand on: each is looked at from close by, camera tilted down."""
        pts = []
        for n in graph.nodes:
            lo, hi = n.box_m
            if 0.4 <= hi[2] <= 1.2 and (hi[:2] - lo[:2]).max() >= 0.4:
                pts.append(n.center_m[:2].copy())
        return pts

    def _survey(self, obs: Observation) -> Action:
        """One step of the survey: go to the next furniture node, look down at its top, look up again."""
        while self._views:
            if self._view_steps == 0:
                self._cow.navigate_to(self._views[0][None], stop_distance_m=self.config.survey_distance_m)
            self._view_steps += 1
            action = self._cow.act(obs) if self._view_steps < self.config.steps_per_target else Action.STOP
            if action is not Action.STOP:
                return action
            self._looks += 1
            if self._looks == 1:
                return Action.LOOK_DOWN
            if self._looks == 2:
                return Action.LOOK_UP
            self._looks, self._view_steps = 0, 0
            self._views.pop(0)
        return Action.STOP

    def _plan(self, xy: np.ndarray) -> None:
        """Diff the graphs; the moved nodes small enough to carry become targets, in a greedy tour from
        ``xy`` (the nearest object to pick up next, from where the last one was put down)."""
        c = self.config
        report = diff_graphs(self.walkthrough_graph, self.unshuffle_graph, c.move_tol_m, c.min_similarity)
        before, after = self.walkthrough_graph, self.unshuffle_graph

        def small(node: ObjectNode) -> bool:
            lo, hi = node.box_m
            return bool((hi - lo).max() <= c.max_object_size_m)

        moves = [m for m in report.moved if small(before.node(m.before_id)) and small(after.node(m.after_id))]
        self.predicted_moves = [(m.from_m, m.to_m) for m in moves]
        self.log.append(f"diff: {len(report.moved)} moved ({len(moves)} small enough to carry), "
                        f"{len(report.appeared)} appeared, {len(report.disappeared)} disappeared")
        order, here = [], xy
        while moves:
            k = int(np.argmin([np.linalg.norm(np.asarray(m.to_m[:2]) - here) for m in moves]))
            order.append(moves.pop(k))
            here = np.asarray(order[-1].from_m[:2])
        self._targets = [_Target(m) for m in order]

    def _fix(self, obs: Observation) -> Action | ActionAt:
        c = self.config
        while self._targets:
            t = self._targets[0]
            if t.pending:  # the frame after a pick-up / put-down: did it work?
                t.pending = False
                if t.stage == "pick" and obs.holding:
                    t.stage, t.steps, t.tries, t.avoid = "place", 0, 0, []
                elif t.stage in ("place", "return") and not obs.holding:
                    self.log.append(f"put back node {t.move.before_id}" if t.stage == "place"
                                    else f"left node {t.move.after_id} where it was")
                    self._targets.pop(0)
                    continue
                else:  # it did not work from here: try from another spot
                    t.avoid.append(np.asarray(obs.agent_pose.position_m[:2], float))
                    self._cow.navigate_to(self._goal_xy(t)[None], avoid_xy_m=np.array(t.avoid))
            if t.tries >= c.tries or t.steps >= c.steps_per_target:
                others = [o for o in self._targets[1:] if o.stage == "pick" and not o.swapped
                          and self._alike(t.move.after_id, o.move.after_id)]
                if t.stage == "place" and not t.swapped and others and t.tries >= c.tries:  # put-downs refused
                    # the goal would not take it: perhaps the diff swapped two look-alikes (two equal
                    # mugs); try the goal of the look-alike target whose goal is nearest
                    here = np.asarray(obs.agent_pose.position_m[:2], float)
                    o = min(others, key=lambda o: float(np.linalg.norm(np.asarray(o.move.from_m[:2]) - here)))
                    t.move, o.move = (dataclasses.replace(t.move, before_id=o.move.before_id, from_m=o.move.from_m),
                                      dataclasses.replace(o.move, before_id=t.move.before_id, from_m=t.move.from_m))
                    t.swapped = o.swapped = True
                    t.steps, t.tries, t.avoid = 0, 0, []
                    self.log.append(f"could not place it at node {o.move.before_id}; trying node {t.move.before_id}")
                    continue
                if t.stage == "place":  # not where it was: take it back to where it was picked up
                    self.log.append(f"could not place node {t.move.before_id}; taking it back")
                    t.stage, t.steps, t.tries, t.avoid = "return", 0, 0, []
                    continue
                if t.stage == "return":  # cannot let go of it anywhere: nothing else can be carried
                    self.log.append(f"could not put node {t.move.after_id} down anywhere; stopping")
                    self._targets = []
                    return Action.STOP
                self.log.append(f"gave up picking node {t.move.after_id}")
                self._targets.pop(0)
                continue
            goal_xy = self._goal_xy(t)
            if t.steps == 0:
                self._cow.navigate_to(goal_xy[None])
            t.steps += 1
            action = self._cow.act(obs)
            if action is not Action.STOP:
                return action
            if t.stage == "pick":
                aim = self._aim_pick(obs, self.unshuffle_graph.node(t.move.after_id))
            elif t.stage == "place":
                aim = self._aim_place(obs, np.asarray(t.move.from_m), self.walkthrough_graph.node(t.move.before_id))
            else:
                aim = self._aim_place(obs, np.asarray(t.move.to_m), self.unshuffle_graph.node(t.move.after_id))
            t.tries += 1
            if aim is None:  # not in view from here: approach it from another spot
                t.avoid.append(np.asarray(obs.agent_pose.position_m[:2], float))
                self._cow.navigate_to(goal_xy[None], avoid_xy_m=np.array(t.avoid))
                return Action.TURN_LEFT  # CoW has acted on this frame; it plans the new approach on the next
            t.pending = True
            return ActionAt(Action.PICK_UP if t.stage == "pick" else Action.PUT_DOWN, *aim)
        return Action.STOP

    def _alike(self, a: int, b: int) -> bool:
        """Whether two unshuffle nodes look alike (embedding cosine above the graph's merge threshold)."""
        g = self.unshuffle_graph
        return float(g.node(a).embedding @ g.node(b).embedding) > g.config.merge_visual

    @staticmethod
    def _goal_xy(t: _Target) -> np.ndarray:
        return np.asarray(t.move.from_m if t.stage == "place" else t.move.to_m, float)[:2]

    # ------------------------------------------------------------------ aiming
    @staticmethod
    def _project(obs: Observation, points_m: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Pixel columns, rows and depths of world points (only those in front of the camera and in the image)."""
        K = obs.intrinsics
        uv, z = geometry.project_points(points_m, K.K, obs.T_world_cam)
        front = z > 0.05
        u, v, z = np.round(uv[front, 0]).astype(int), np.round(uv[front, 1]).astype(int), z[front]
        ok = (u >= 0) & (u < K.width) & (v >= 0) & (v < K.height)
        return u[ok], v[ok], z[ok]

    def _aim_pick(self, obs: Observation, node: ObjectNode | None) -> tuple[float, float] | None:
        """(x, y) image fractions of a pixel showing ``node`` now (its points whose depth matches), the
        one nearest their median; None when fewer than 3 of its points are visible."""
        if node is None or obs.depth is None:
            return None
        u, v, z = self._project(obs, node.points_m)
        seen = np.abs(obs.depth[v, u] - z) < 0.03
        if seen.sum() < 3:
            return None
        u, v = u[seen], v[seen]
        k = int(np.argmin((u - np.median(u)) ** 2 + (v - np.median(v)) ** 2))
        K = obs.intrinsics
        return (u[k] + 0.5) / K.width, (v[k] + 0.5) / K.height

    def _aim_place(self, obs: Observation, center_m: np.ndarray, node: ObjectNode | None) -> tuple[float, float] | None:
        """(x, y) image fractions of the surface point under the walkthrough centre (the bottom of the
        node's box); None when it is out of the image."""
        p = center_m.copy()
        if node is not None:
            p[2] = float(node.box_m[0][2])
        u, v, _ = self._project(obs, p[None])
        if not len(u):
            return None
        K = obs.intrinsics
        return (u[0] + 0.5) / K.width, (v[0] + 0.5) / K.height
