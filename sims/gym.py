"""A Gymnasium ObjectNav environment over any simulator (default: the built-in one).

>>> import gymnasium, sims.gym
>>> env = gymnasium.make("embodied/ObjectNav-v0")

Observations: ``rgb`` (H, W, 3) uint8, ``depth`` (H, W, 1) float32 metres, ``goal`` (index into
``goals``), ``gps`` (2,) float32 metres [forward, right] of the episode start pose and ``compass``
(1,) float32 radians, counter-clockwise positive, relative to the start heading (habitat-lab's
EpisodicGPSSensor and EpisodicCompassSensor). Actions: ``Discrete(6)`` in ``ACTIONS`` order.
Reward: decrease of the geodesic distance to the goal, plus 2.5 for a successful STOP.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from embodied.errors import ConfigError
from embodied.tasks import ObjectNavEpisode
from embodied.types import NAVIGATION_ACTIONS, Action, Observation, Simulator

__all__ = ["ACTIONS", "ObjectNavEnv", "ENV_ID", "register"]

ENV_ID = "embodied/ObjectNav-v0"
ACTIONS: tuple[Action, ...] = NAVIGATION_ACTIONS


class ObjectNavEnv(gym.Env):
    """ObjectNav as a Gymnasium environment.

    Args:
        simulator: any Simulator with ``distance_to_goal(category)`` (rewards, success; others are
            refused); its ``goal_success(category)``, when it has one, decides success instead.
        episodes: the episodes to draw from (default: 10 built-in val episodes).
        goals: category vocabulary of the ``goal`` observation.
        max_steps: truncation limit.
        success_distance_m: STOP within this geodesic distance of a goal view point succeeds.
    """

    metadata = {"render_modes": ["rgb_array"]}

    def __init__(self, simulator: Simulator | None = None, episodes: Sequence[ObjectNavEpisode] | None = None,
                 goals: Sequence[str] | None = None, max_steps: int = 500, success_distance_m: float = 0.1,
                 render_mode: str | None = None, width: int = 224, height: int = 224) -> None:
        from sims.raycast.categories import OBJECTNAV_GOALS

        if simulator is None:
            from sims.raycast.simulator import RaycastSimulator, SimConfig

            simulator = RaycastSimulator(SimConfig(width=width, height=height))
            if episodes is None:
                from sims.raycast.episodes import generate_episodes

                episodes = generate_episodes("val", 10, sim_config=simulator.config)
        if not episodes:
            raise ConfigError("ObjectNavEnv needs at least one episode")
        from embodied.evaluation import check_scorable

        check_scorable(simulator)
        self.sim, self.episodes = simulator, list(episodes)
        self.goals = tuple(goals or OBJECTNAV_GOALS)
        unknown = sorted({e.goal_category for e in self.episodes} - set(self.goals))
        if unknown:
            raise ConfigError(f"episode goals {unknown} are not in the goal vocabulary {self.goals}")
        self.max_steps, self.success_distance_m, self.render_mode = max_steps, success_distance_m, render_mode
        first = self.sim.reset(self.episodes[0])
        H, W = first.rgb.shape[:2]
        max_depth = float(getattr(getattr(self.sim, "config", None), "max_depth_m", np.finfo(np.float32).max))
        self.observation_space = spaces.Dict({
            "rgb": spaces.Box(0, 255, (H, W, 3), np.uint8),
            "depth": spaces.Box(0.0, max_depth, (H, W, 1), np.float32),
            "goal": spaces.Discrete(len(self.goals)),
            "gps": spaces.Box(-np.inf, np.inf, (2,), np.float32),
            "compass": spaces.Box(-math.pi, math.pi, (1,), np.float32),
        })
        self.action_space = spaces.Discrete(len(ACTIONS))
        self._episode: ObjectNavEpisode | None = None
        self._last: Observation | None = None
        self._steps = 0
        self._dist = math.inf

    def _convert(self, obs: Observation) -> dict[str, Any]:
        ep = self._episode
        pose = obs.agent_pose
        dx, dy = pose.position_m[0] - ep.start_position_m[0], pose.position_m[1] - ep.start_position_m[1]
        c, s = math.cos(ep.start_yaw_rad), math.sin(ep.start_yaw_rad)
        heading = (pose.yaw_rad - ep.start_yaw_rad + math.pi) % (2 * math.pi) - math.pi
        return {
            "rgb": obs.rgb,
            "depth": obs.depth[..., None].astype(np.float32),
            "goal": self.goals.index(ep.goal_category),
            # habitat-lab EpisodicGPSSensor (habitat-lab/habitat/tasks/nav/nav.py): the position in the
            # start frame as [-z, x] of habitat's (-Z forward, +X right) = [forward, right]; right is our
            # start frame's -y, hence the sign of the second component
            "gps": np.array([c * dx + s * dy, s * dx - c * dy], np.float32),
            "compass": np.array([heading], np.float32),
        }

    def _distance(self) -> float:
        return float(self.sim.distance_to_goal(self._episode.goal_category))

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        index = (options or {}).get("episode_index", int(self.np_random.integers(len(self.episodes))))
        self._episode = self.episodes[index]
        self._last = self.sim.reset(self._episode, seed=int(self.np_random.integers(2**31)))
        self._steps = 0
        self._dist = self._distance()
        return self._convert(self._last), {"episode_id": self._episode.episode_id, "distance_to_goal": self._dist}

    def step(self, action: int):
        act = ACTIONS[int(action)]
        res = self.sim.step(act)
        self._last, self._steps = res.observation, self._steps + 1
        dist = self._distance()
        reward = (self._dist - dist) if math.isfinite(dist) and math.isfinite(self._dist) else 0.0
        self._dist = dist
        own = getattr(self.sim, "goal_success", None)  # the simulator's own rule (RoboTHOR), as the runner
        success = act is Action.STOP and (bool(own(self._episode.goal_category)) if callable(own)
                                          else dist < self.success_distance_m)
        reward += 2.5 if success else 0.0
        terminated = act is Action.STOP
        truncated = not terminated and self._steps >= self.max_steps
        info = {"distance_to_goal": dist, "success": success, "collided": res.collided}
        return self._convert(self._last), float(reward), terminated, truncated, info

    def render(self):
        return None if self._last is None else self._last.rgb

    def close(self) -> None:
        self.sim.close()


def register() -> None:
    """Register ``embodied/ObjectNav-v0`` with Gymnasium (idempotent)."""
    if ENV_ID not in gym.registry:
        gym.register(id=ENV_ID, entry_point="sims.gym:ObjectNavEnv")


register()
