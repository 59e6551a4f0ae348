"""Put an agent on a robot: the robot's RGB-D + pose in, velocity commands out.

An agent only sees :class:`~embodied.types.Observation` s and returns discrete actions (move 0.25 m,
turn 30 deg, ...). On a robot, :func:`run_on_robot` closes the loop: every cycle it reads the sensors
(your function; :func:`embodied.rgbd.observation_from_rgbd` turns raw RGB, depth, intrinsics and the
camera pose into an Observation), asks the agent, and sends the action as a velocity command held
for a duration (:func:`action_to_velocity`) to your actuator function (a ROS ``cmd_vel`` publisher, a
vendor SDK call). The agent's own action model (``forward_m``, ``turn_deg``) and the command's
distance must agree: give :class:`RobotConfig` the agent's values.

>>> from agents.registry import make_agent
>>> from agents.robot import RobotConfig, run_on_robot
>>> agent = make_agent("frontier")
>>> log = run_on_robot(agent, "chair", read_sensors=my_camera, send=my_base.drive, config=RobotConfig())

Frames (the toolkit's): the base moves along its +x (forward) and turns about +Z (counter-clockwise,
to the left, is positive), as ROS REP 103's ``base_link`` and ``geometry_msgs/Twist``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from embodied.errors import ConfigError
from embodied.types import Action, ActionAt, Observation

__all__ = ["RobotConfig", "VelocityCommand", "action_to_velocity", "run_on_robot"]


@dataclass(frozen=True, kw_only=True)
class RobotConfig:
    """How discrete actions become motion (match ``forward_m`` / ``turn_deg`` / ``tilt_deg`` to the
    agent's config) and how fast the base may go."""

    forward_m: float = 0.25
    turn_deg: float = 30.0
    tilt_deg: float = 30.0
    linear_mps: float = 0.25
    angular_radps: float = 0.8

    def __post_init__(self) -> None:
        if min(self.forward_m, self.turn_deg, self.tilt_deg, self.linear_mps, self.angular_radps) <= 0:
            raise ConfigError(f"RobotConfig values must be > 0, got {self}")


@dataclass(frozen=True)
class VelocityCommand:
    """Hold ``linear_mps`` (base +x) and ``angular_radps`` (about +Z, left positive) for ``duration_s``,
    then stop; ``tilt_rad``: turn the camera up (+) or down (-) by this much; ``stop``: the episode ends
    (the agent called STOP: it believes it has reached the goal)."""

    linear_mps: float
    angular_radps: float
    duration_s: float
    tilt_rad: float = 0.0
    stop: bool = False
    action: str = ""


def action_to_velocity(action: Action | ActionAt | str, config: RobotConfig = RobotConfig()) -> VelocityCommand:
    """The velocity command that carries out one discrete action.

    Raises:
        ConfigError: a manipulation action (pick / place / open at a pixel): a base cannot do it.
    """
    if isinstance(action, ActionAt):
        raise ConfigError(f"{action.action.value} at a pixel needs a manipulator; this loop drives a base only")
    a = Action(action)
    c = config
    turn_s = math.radians(c.turn_deg) / c.angular_radps
    table = {
        Action.MOVE_FORWARD: VelocityCommand(c.linear_mps, 0.0, c.forward_m / c.linear_mps),
        Action.TURN_LEFT: VelocityCommand(0.0, c.angular_radps, turn_s),
        Action.TURN_RIGHT: VelocityCommand(0.0, -c.angular_radps, turn_s),
        Action.LOOK_UP: VelocityCommand(0.0, 0.0, 0.0, tilt_rad=math.radians(c.tilt_deg)),
        Action.LOOK_DOWN: VelocityCommand(0.0, 0.0, 0.0, tilt_rad=-math.radians(c.tilt_deg)),
        Action.STOP: VelocityCommand(0.0, 0.0, 0.0, stop=True),
    }
    if a not in table:
        raise ConfigError(f"{a.value} is not a base action; the robot loop knows {', '.join(x.value for x in table)}")
    return replace(table[a], action=a.value)


def run_on_robot(agent: Any, goal: str, read_sensors: Callable[[], Observation], send: Callable[[VelocityCommand], Any],
                 *, config: RobotConfig = RobotConfig(), max_steps: int = 500,
                 on_step: Callable[[Observation, VelocityCommand], Any] | None = None,
                 clock: Callable[[], float] = time.perf_counter) -> list[dict[str, Any]]:
    """Run ``agent`` towards ``goal`` on a robot until it calls STOP or ``max_steps`` pass.

    Args:
        read_sensors: returns the current :class:`Observation` (called once per cycle, after the
            previous command finished). Its ``step`` and ``goal`` are set here.
        send: carries out one :class:`VelocityCommand` and returns when it is done (or not: the next
            read then sees the robot still moving, which is the robot's business).
        on_step: called with each observation and the command sent for it (logging, visualisation).
        clock: the time source of the log's ``agent_s`` (the agent's think time per step).
    Returns:
        One dict per step: ``step``, ``action``, ``linear_mps``, ``angular_radps``, ``duration_s``,
        ``tilt_rad``, ``agent_s``, ``pose`` (x, y, yaw of the observation, or None).
    Raises:
        ObservationError: a sensor reading that is not a valid Observation (bad shapes, NaN depth).
    """
    agent.reset(goal)
    log: list[dict[str, Any]] = []
    for step in range(max_steps):
        obs = replace(read_sensors(), step=step, goal=goal).validate()
        t0 = clock()
        action = agent.act(obs)
        think = clock() - t0
        cmd = action_to_velocity(action, config)
        send(cmd)
        if on_step is not None:
            on_step(obs, cmd)
        pose = obs.agent_pose
        log.append({"step": step, "action": cmd.action, "linear_mps": cmd.linear_mps, "angular_radps": cmd.angular_radps,
                    "duration_s": cmd.duration_s, "tilt_rad": cmd.tilt_rad, "agent_s": think,
                    "pose": None if pose is None else [pose.position_m[0], pose.position_m[1], pose.yaw_rad]})
        if cmd.stop:
            break
    return log
