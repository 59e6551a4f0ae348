"""The CLIP-on-Wheels agent: simulator-agnostic, it sees Observations and returns Actions.

Phases: look around (a 360 degree spin) -> explore frontiers -> when the goal is localized in
the map, navigate to it -> within ``stop_distance_m`` of it, face it and STOP.

Robot contract: every call to ``act`` needs ``rgb`` (H, W, 3) uint8, metric ``depth`` (H, W)
float32 (0 = no return), ``intrinsics``, and, with ``pose_source="observation"``, the camera pose
``T_world_cam`` and ``agent_pose`` in one consistent world frame (Z up, metres). The oracle
localizer also needs ``semantic`` + ``labels``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from agents.cow.config import CowConfig
from embodied import geometry
from embodied.errors import ObservationError
from embodied.localization import Localization, Localizer
from embodied.mapping.frontiers import Frontier, detect_frontiers
from embodied.mapping.occupancy import MapConfig, OccupancyMap
from embodied.mapping.planning import descend, geodesic_field, path_to_action
from embodied.mapping.value_map import ValueMap
from embodied.types import Action, Observation

__all__ = ["CowAgent"]


class CowAgent:
    """CoW with a pluggable localizer and frontier strategy.

    Args:
        config: agent settings.
        localizer: turns (observation, goal) into a relevance map (embodied.localization).
        scorer: optional ``(rgb (H, W, 3), goal) -> float`` image-text similarity for the value
            map; needed by ``frontier="value"`` (e.g. a ClipBackbone-based scorer).
        reuse_localizer_score: the localizer's ``Localization.score`` is the same similarity (same
            model, same prompts): use it when finite and run ``scorer`` only when it is not.
    """

    def __init__(self, config: CowConfig, localizer: Localizer, scorer: Any = None,
                 reuse_localizer_score: bool = False) -> None:
        if config.frontier == "value" and scorer is None:
            from embodied.errors import ConfigError

            raise ConfigError("frontier='value' needs a scorer (image-text similarity), e.g. a CLIP backbone")
        self.config, self.localizer, self.scorer = config, localizer, scorer
        self.reuse_localizer_score = reuse_localizer_score
        self.goal: str | None = None
        self.reset("")

    # ------------------------------------------------------------------ episode
    def reset(self, goal: str) -> None:
        self.goal = goal
        self.map: OccupancyMap | None = None
        self.values: ValueMap | None = None
        self._t = 0
        self._phase = "spin" if self.config.spin else "explore"
        self._spun = 0
        self._path: list[tuple[int, int]] = []
        self._target: tuple[int, int] | None = None
        self._since_plan = 0
        self._stuck = 0
        self._failed: set[tuple[int, int]] = set()
        self._last_action: Action | None = None
        self._last_xy: np.ndarray | None = None
        self._odom = np.zeros(3)  # x, y, yaw for pose_source="odometry"
        self._odom_tilt = 0.0
        self._last_depth: np.ndarray | None = None
        self._recovery: list[Action] = []
        self._recovery_turn: Action | None = None
        self._idle_turns = 0  # consecutive turns made because there was nothing to go to
        self._look_at: np.ndarray | None = None  # (2,) world point of the frontier being explored
        self.last_localization = None
        self._goal_cache: tuple[int, np.ndarray] | None = None
        self._verify = 0  # looks taken at the goal within reach without becoming sure of it
        self._stop_m = self.config.stop_distance_m
        self._avoid = np.zeros((0, 2))  # navigate_to's places not to stop at

    def navigate_to(self, points_xy_m: np.ndarray, radius_m: float = 0.1, stop_distance_m: float | None = None,
                    avoid_xy_m: np.ndarray | None = None) -> None:
        """Head for world points (N, 2) instead of a category (a rearrangement agent's targets): the
        map is kept, earlier goal evidence is cleared, cells within ``radius_m`` of the points become
        sure goal cells, and the agent goes on as when it localized a goal: it approaches to within
        ``stop_distance_m`` (default: the config's), faces the nearest point and STOPs. Call after the
        first ``act`` (the map exists then). Use a localizer that never fires, so nothing else becomes a
        goal; ``reset`` ends the override. ``avoid_xy_m`` (M, 2): places to approach from elsewhere
        than (where an interaction already failed); they and 15 cm around them are not stopped at."""
        if self.map is None:
            raise ObservationError("navigate_to needs the agent's map: call act() on an observation first")
        m, c = self.map, self.config
        m.goal_logodds[:] = 0.0
        pts = np.asarray(points_xy_m, float).reshape(-1, 2)
        k = max(1, int(math.ceil(radius_m / m.frame.resolution_m)))
        sure = max(c.goal_threshold_logodds, c.stop_logodds) + 1.0
        H, W = m.frame.shape
        for p in pts:
            r, cc = m.frame.to_cell(p)
            r0, c0 = max(r - k, 0), max(cc - k, 0)
            yy, xx = np.ogrid[r0:min(r + k + 1, H), c0:min(cc + k + 1, W)]
            disk = (yy - r) ** 2 + (xx - cc) ** 2 <= k * k
            m.goal_logodds[r0:r0 + disk.shape[0], c0:c0 + disk.shape[1]][disk] = sure
            m.grow_window(np.array([r0, r0 + disk.shape[0] - 1]), np.array([c0, c0 + disk.shape[1] - 1]))
        self._goal_cache, self._verify, self._path, self._target = None, 0, [], None
        self._failed, self._recovery, self._idle_turns = set(), [], 0
        self._avoid = np.asarray(avoid_xy_m if avoid_xy_m is not None else np.zeros((0, 2)), float).reshape(-1, 2)
        for p in self._avoid:
            self._failed.add(tuple(int(v) for v in m.frame.to_cell(p)))
        self._phase = "navigate"
        self._stop_m = self.config.stop_distance_m if stop_distance_m is None else float(stop_distance_m)

    def debug(self) -> dict[str, Any]:
        """Map layers, frontiers, goal cells and the current plan (for videos and maps)."""
        m = self.map
        path = m.frame.cell_centers(*np.array(self._path).T) if (m is not None and self._path) else np.zeros((0, 2))
        return {"phase": self._phase, "map": m, "values": self.values, "path_xy": path, "target": self._target,
                "frontiers": self._frontiers() if m is not None else [], "step": self._t}

    # ------------------------------------------------------------------ acting
    def act(self, observation: Observation) -> Action:
        obs = observation
        if obs.depth is None:
            raise ObservationError("CoW needs metric depth (observation.depth)")
        xy, yaw, T = self._pose(obs)
        c = self.config
        if self.map is None:
            self.map = OccupancyMap(MapConfig(resolution_m=c.map_resolution_m, size_m=c.map_size_m,
                                              min_obstacle_height_m=c.min_obstacle_height_m,
                                              max_obstacle_height_m=c.max_obstacle_height_m,
                                              max_range_m=c.max_range_m, agent_radius_m=c.agent_radius_m), xy)
            self.values = ValueMap(self.map.frame)
            self._visited = np.zeros(self.map.frame.shape, bool)
            self._dead = np.zeros(self.map.frame.shape, bool)  # frontier cells that looking at did not clear
        floor_z = obs.agent_pose.position_m[2] if (c.pose_source == "observation" and obs.agent_pose) else 0.0
        self.map.update(obs.depth, obs.intrinsics, T, floor_z)
        sure = c.stop_localizing_when_sure and self._sure_of_goal()
        if sure:  # a goal is confirmed: no more looking for it (nor ranking frontiers) until it is reached
            loc = self.last_localization = Localization(np.zeros(obs.depth.shape, np.float32), False)
        else:
            loc = self.last_localization = self.localizer(obs, self.goal)
        if not sure and (loc.found or c.miss_logodds < 0):  # with no miss penalty a miss changes nothing
            self.map.vote_goal(loc.relevance if loc.found else np.zeros_like(loc.relevance), obs.depth, obs.intrinsics,
                               T, floor_z, c.goal_hit_logodds, c.miss_logodds)
        if self.scorer is not None and not sure:
            # a CLIP localizer already embedded the frame against the goal text (the same prompts): reuse
            # its score instead of a second forward; the oracle has none (NaN) and the scorer runs
            score = loc.score if self.reuse_localizer_score and math.isfinite(loc.score) else \
                float(self.scorer(obs.rgb, self.goal))
            self.values.update(self.map.last_visible, T[:2, 3], yaw, math.radians(obs.intrinsics.hfov_deg), score)
        self._mark_visited(xy)
        self._track_stuck(xy, yaw)
        action = self._recovery.pop(0) if self._recovery and not self._goal_in_reach(xy) else self._decide(xy, yaw)
        self._t += 1
        self._last_action, self._last_xy = action, xy.copy()
        if c.pose_source == "odometry":
            self._last_depth = obs.depth
            self._integrate(action)
        return action

    def _pose(self, obs: Observation) -> tuple[np.ndarray, float, np.ndarray]:
        """(xy (2,), yaw, T_world_cam) from the observation or from odometry."""
        c = self.config
        if c.pose_source == "observation":
            if obs.agent_pose is None:
                raise ObservationError("pose_source='observation' needs observation.agent_pose (GPS+compass)")
            p = obs.agent_pose
            return np.array(p.position_m[:2], float), float(p.yaw_rad), obs.T_world_cam
        if self._last_action is Action.MOVE_FORWARD and self._last_depth is not None and self._move_failed(obs.depth):
            self._odom[:2] -= c.forward_m * np.array([math.cos(self._odom[2]), math.sin(self._odom[2])])
        T = geometry.camera_pose(np.array([self._odom[0], self._odom[1], c.camera_height_m]), self._odom[2],
                                 self._odom_tilt)
        return self._odom[:2].copy(), float(self._odom[2]), T

    def _move_failed(self, depth: np.ndarray) -> bool:
        """A forward move that left the depth image nearly unchanged did not happen."""
        prev = self._last_depth
        both = (depth > 0) & (prev > 0)
        return bool(both.any() and np.abs(depth[both] - prev[both]).mean() < 0.02)

    def _integrate(self, action: Action) -> None:
        c = self.config
        if action is Action.MOVE_FORWARD:
            self._odom[:2] += c.forward_m * np.array([math.cos(self._odom[2]), math.sin(self._odom[2])])
        elif action in (Action.TURN_LEFT, Action.TURN_RIGHT):
            turn = math.radians(c.turn_deg) * (1 if action is Action.TURN_LEFT else -1)
            self._odom[2] = (self._odom[2] + turn + math.pi) % (2 * math.pi) - math.pi

    def _mark_visited(self, xy: np.ndarray) -> None:
        """Cells the agent's centre has passed through are traversable, whatever the map says
        later: the way back out of a tight spot always exists."""
        from skimage.draw import line

        frame = self.map.frame
        r1, c1 = frame.to_cell(xy)
        r0, c0 = frame.to_cell(self._last_xy) if self._last_xy is not None else (r1, c1)
        rr, cc = line(r0, c0, r1, c1)
        rr, cc = np.r_[rr, rr + 1, rr], np.r_[cc, cc, cc + 1]  # 4-connected, as fast marching needs
        ok = frame.inside(rr, cc)
        self._visited[rr[ok], cc[ok]] = True

    def _track_stuck(self, xy: np.ndarray, yaw: float) -> None:
        """A forward move that did not move us hit something the map lacks: map it in front of the
        agent and replan; after ``stuck_limit`` such moves, give up on the current target."""
        if self._last_action is not Action.MOVE_FORWARD or self._last_xy is None:
            return
        c = self.config
        if float(np.linalg.norm(xy - self._last_xy)) >= 0.25 * c.forward_m:
            self._stuck, self._recovery_turn = 0, None
            return
        self._stuck += 1
        fwd = np.array([math.cos(yaw), math.sin(yaw)])
        side = np.array([-fwd[1], fwd[0]])
        # recovery: turn towards the side with more free space (chosen once per stuck spell, so
        # the agent sweeps round instead of swinging back and forth), step, then replan
        if self._recovery_turn is None:
            free = self.map.explored & ~self.map.inflated
            scores = []
            for sgn in (1.0, -1.0):
                r, cc = self.map.frame.to_cell(xy + 0.5 * (fwd * 0.5 + sgn * side))
                scores.append(free[max(r - 4, 0):r + 5, max(cc - 4, 0):cc + 5].sum())
            self._recovery_turn = Action.TURN_LEFT if scores[0] >= scores[1] else Action.TURN_RIGHT
        turn = self._recovery_turn
        self._recovery = [turn, Action.MOVE_FORWARD] if self._stuck < c.stuck_limit else [turn, turn, Action.MOVE_FORWARD]
        # the contact point is somewhere on the front half of the body; mark a short stub straight
        # ahead (a full body-wide wall would seal off gaps the agent can pass at another angle)
        res = self.map.frame.resolution_m
        lateral = np.linspace(-res, res, 5)
        self.map.add_obstacles(xy + fwd * (c.agent_radius_m + res) + np.outer(lateral, side))
        self._path = []
        if self._stuck >= c.stuck_limit:
            if self._target is not None:
                self._failed.add(self._target)
            self._target, self._stuck = None, 0

    # ------------------------------------------------------------------ deciding
    def _goal_cells(self) -> np.ndarray:
        """(N, N) bool goal-evidence cells (empty until ``goal_min_cells`` exist); cached per step."""
        if self._goal_cache is not None and self._goal_cache[0] == self._t:
            return self._goal_cache[1]
        m = self.map
        r0, r1, c0, c1 = m.crop()
        g = np.zeros(m.frame.shape, bool)
        win = m.goal_logodds[r0:r1, c0:c1] > self.config.goal_threshold_logodds
        if win.sum() >= self.config.goal_min_cells:
            g[r0:r1, c0:c1] = win
        self._goal_cache = (self._t, g)
        return g

    def _sure_of_goal(self) -> bool:
        """Some goal cell is already sure enough to STOP at (``stop_logodds``), among at least
        ``goal_min_cells`` goal cells: localizing again cannot add to that."""
        m, c = self.map, self.config
        r0, r1, c0, c1 = m.crop()
        win = m.goal_logodds[r0:r1, c0:c1]
        return bool(win.size and win.max() >= c.stop_logodds and (win > c.goal_threshold_logodds).sum() >= c.goal_min_cells)

    def _goal_in_reach(self, xy: np.ndarray) -> bool:
        goal = self._goal_cells()
        if not goal.any():
            return False
        pts = self.map.frame.cell_centers(*np.nonzero(goal))
        return bool(np.linalg.norm(pts - xy, axis=1).min() <= self._stop_m)

    def _frontiers(self) -> list[Frontier]:
        m = self.map
        r0, r1, c0, c1 = m.crop(pad=2)
        win = (slice(r0, r1), slice(c0, c1))
        fr = detect_frontiers(m.explored[win], m.explored[win] & ~m.obstacles[win] & ~self._dead[win],
                              m.navigable[win], self.config.min_frontier_cells)
        fr = [type(f)(f.cells + (r0, c0), (f.target[0] + r0, f.target[1] + c0)) for f in fr]
        return [f for f in fr if f.target not in self._failed]

    def _decide(self, xy: np.ndarray, yaw: float) -> Action:
        c = self.config
        turn = math.radians(c.turn_deg)
        goal = self._goal_cells()
        if goal.any():
            self._phase = "navigate"
            rows, cols = np.nonzero(goal)
            pts = self.map.frame.cell_centers(rows, cols)
            d = np.linalg.norm(pts - xy, axis=1)
            k = int(np.argmin(d))
            avoided = len(self._avoid) and np.linalg.norm(self._avoid - xy, axis=1).min() < 0.15
            if d[k] <= self._stop_m and not avoided:  # face it, then stop once sure of it
                a = path_to_action(xy, yaw, pts[k], turn)
                if a is not Action.MOVE_FORWARD:
                    return a
                near = d <= self._stop_m
                if self.map.goal_logodds[rows[near], cols[near]].max() >= c.stop_logodds:
                    return Action.STOP
                self._verify += 1
                if self._verify <= c.verify_steps:
                    self._phase = "verify"
                    return Action.TURN_LEFT  # another look (it stays in view); the next step faces it again
                # looking again and again neither confirmed nor refuted it (its cells may be out of
                # view from here): forget it (goal cells less than 0.3 m apart are one object) and the
                # spot it was approached from; it comes back only on two new detections
                from scipy import ndimage

                gap = max(1, int(round(0.15 / self.map.frame.resolution_m)))
                blobs, _ = ndimage.label(ndimage.binary_dilation(goal, iterations=gap), structure=np.ones((3, 3)))
                forget = goal & np.isin(blobs, np.unique(blobs[rows[near], cols[near]]))
                self.map.goal_logodds[forget] = -c.goal_hit_logodds
                if self._target is not None:
                    self._failed.add(self._target)
                self._goal_cache, self._verify, self._path = None, 0, []
                goal = self._goal_cells()
            else:
                self._verify = 0
        else:
            self._verify = 0
            if self._phase == "spin":
                if self._spun < (int(round(360 / c.turn_deg)) if c.spin_turns is None else c.spin_turns):
                    self._spun += 1
                    return Action.TURN_LEFT
                self._phase = "explore"
            elif self._phase in ("navigate", "verify"):  # its goal was refuted or forgotten
                self._phase = "explore"
        self._since_plan += 1
        if not self._path or self._since_plan >= c.replan_every or self._path_blocked():
            self._plan(xy, goal)
        for _ in range(3):
            if not self._path:
                # nothing to go to from here: look around once more (new views may open frontiers);
                # after a full turn with still nothing, the house is explored and the goal not in it
                self._idle_turns += 1
                if self._idle_turns > int(round(360 / c.turn_deg)):
                    self._phase = "done"
                    return Action.STOP
                return Action.TURN_LEFT
            self._idle_turns = 0
            action = self._follow(xy, yaw)
            if action is not None:
                return action
            self._plan(xy, goal)  # arrived at the target: choose the next one now
        return Action.TURN_LEFT

    def _path_blocked(self) -> bool:
        return any(self.map.inflated[r, cc] for r, cc in self._path[1:])

    def _plan(self, xy: np.ndarray, goal: np.ndarray) -> None:
        """One fast-marching field from the agent; choose the target; the path is its descent."""
        c = self.config
        m = self.map
        self._since_plan = 0
        r0, r1, c0, c1 = m.crop(pad=3)
        # Traversal cost: navigable cells (``agent_radius_m`` clear of obstacles) at full speed from
        # ``clearance_m`` out and ``min_speed`` at the inflation radius; tighter gaps (down to
        # ``squeeze_m``) at a twentieth of full speed, so a path squeezes through only when there is
        # no other way (the map's inflation is coarser than the body); cells the agent has been on
        # are always traversable, so it can leave any spot it reached.
        from scipy import ndimage

        nav = m.navigable[r0:r1, c0:c1]
        ar, ac = m.frame.to_cell(xy)
        ar, ac = ar - r0, ac - c0
        if not (0 <= ar < nav.shape[0] and 0 <= ac < nav.shape[1]):
            self._path = []
            return
        clear_m = ndimage.distance_transform_edt(~m.obstacles[r0:r1, c0:c1]) * m.frame.resolution_m
        visited = self._visited[r0:r1, c0:c1]
        trav = nav | visited | (m.explored[r0:r1, c0:c1] & (clear_m >= c.squeeze_m))
        trav[ar, ac] = True
        soft = np.clip((clear_m - c.agent_radius_m) / max(c.clearance_m - c.agent_radius_m, 1e-6), 0.0, 1.0)
        speed = np.where(nav, c.min_speed + (1.0 - c.min_speed) * soft, np.where(visited, 0.3, 0.05))
        start = np.zeros_like(trav)
        start[ar, ac] = True
        field = geodesic_field(trav, start, m.frame.resolution_m, speed)
        target = None
        self._look_at = None
        if goal.any():
            near = ndimage.distance_transform_edt(~goal[r0:r1, c0:c1]) * m.frame.resolution_m <= self._stop_m - 0.1
            cand = near & np.isfinite(field) & trav
            for fr, fc in self._failed:  # approach cells that already failed (and their surroundings)
                cand[max(fr - r0 - 3, 0):max(fr - r0 + 4, 0), max(fc - c0 - 3, 0):max(fc - c0 + 4, 0)] = False
            if cand.any():
                cells = np.argwhere(cand)
                target = tuple(cells[np.argmin(field[cand])])
        if target is None:
            target = self._frontier_target(field, nav, (r0, c0))
        if target is None:
            self._path, self._target = [], None
            return
        self._target = (int(target[0] + r0), int(target[1] + c0))
        back = descend(field, target)
        self._path = [(r + r0, cc + c0) for r, cc in reversed(back)]

    def _frontier_target(self, field: np.ndarray, nav: np.ndarray, offset: tuple[int, int]) -> tuple[int, int] | None:
        """The cell to go to for the chosen frontier: its own viewpoint (the navigable cell nearest
        its centroid) when reachable, else the cheapest reachable navigable cell within
        ``frontier_reach_m`` of it (one distance transform with indices assigns cells to their
        nearest frontier). Frontiers are ranked by that cost (nearest) or by semantic value (value).
        Sets ``_look_at`` to the chosen frontier's centroid."""
        from scipy import ndimage

        c, m = self.config, self.map
        r0, c0 = offset
        frontiers = self._frontiers()
        if not frontiers:
            return None
        label = np.zeros(field.shape, np.int32)
        for i, f in enumerate(frontiers, 1):
            rr, cc = f.cells[:, 0] - r0, f.cells[:, 1] - c0
            ok = (rr >= 0) & (rr < field.shape[0]) & (cc >= 0) & (cc < field.shape[1])
            label[rr[ok], cc[ok]] = i
        dist, (ir, ic) = ndimage.distance_transform_edt(label == 0, return_indices=True)
        cand = (dist * m.frame.resolution_m <= c.frontier_reach_m) & np.isfinite(field) & nav
        for fr, fc in self._failed:
            cand[max(fr - r0 - 3, 0):max(fr - r0 + 4, 0), max(fc - c0 - 3, 0):max(fc - c0 + 4, 0)] = False
        rows, cols = np.nonzero(cand)
        owner = label[ir[rows, cols], ic[rows, cols]]
        cost = field[rows, cols]
        best = None
        for i, f in enumerate(frontiers, 1):
            tr, tc = f.target[0] - r0, f.target[1] - c0
            if 0 <= tr < field.shape[0] and 0 <= tc < field.shape[1] and np.isfinite(field[tr, tc]):
                cell, cell_cost = (tr, tc), float(field[tr, tc])  # the frontier's own viewpoint
            else:  # not reachable: the cheapest reachable cell near the frontier, if any
                k = np.flatnonzero(owner == i)
                if len(k) == 0:
                    continue
                j = k[np.argmin(cost[k])]
                cell, cell_cost = (int(rows[j]), int(cols[j])), float(cost[j])
            if c.frontier == "value":
                key = (-float(self.values.value[f.target]), cell_cost)
            else:
                key = (cell_cost, -f.size)
            if best is None or key < best[0]:
                best = (key, cell, f)
        if best is None:
            return None
        self._look_at = m.frame.cell_centers(*best[2].cells.T).mean(axis=0)
        return best[1]

    def _follow(self, xy: np.ndarray, yaw: float) -> Action | None:
        """The next action along the path; None on arrival (after facing the frontier being explored)."""
        m = self.map
        cells = np.array(self._path)
        pts = m.frame.cell_centers(cells[:, 0], cells[:, 1])
        d = np.linalg.norm(pts - xy, axis=1)
        k = int(np.argmin(d))
        self._path = self._path[k:]
        pts = pts[k:]
        dist = np.linalg.norm(pts - xy, axis=1)
        ahead = np.nonzero(dist >= self.config.lookahead_m)[0]
        if len(ahead):
            waypoint = pts[ahead[0]]
        elif dist[-1] > self.config.forward_m / 2:  # the last stretch, shorter than the lookahead
            waypoint = pts[-1]
        else:  # arrived: face the frontier, then it is used up; a goal target failed to satisfy STOP
            if self._look_at is not None:
                if np.linalg.norm(self._look_at - xy) > m.frame.resolution_m:
                    a = path_to_action(xy, yaw, self._look_at, math.radians(self.config.turn_deg))
                    if a is not Action.MOVE_FORWARD:
                        return a
                # still a frontier after looking at it from here: what is left near the agent
                # cannot be seen from here (occluded, below the camera's view); drop it
                r, cc = m.frame.to_cell(xy)
                k = int(self.config.frontier_reach_m / m.frame.resolution_m)
                (H, W), r0, c0 = m.frame.shape, max(r - k, 0), max(cc - k, 0)
                yy, xx = np.ogrid[r0:min(r + k + 1, H), c0:min(cc + k + 1, W)]
                self._dead[r0:r0 + yy.shape[0], c0:c0 + xx.shape[1]] |= (yy - r) ** 2 + (xx - cc) ** 2 <= k * k
            self._failed.add(self._path[-1])
            self._path = []
            return None
        return path_to_action(xy, yaw, waypoint, math.radians(self.config.turn_deg))
