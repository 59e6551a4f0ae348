"""The robot loop: a recorded RGB-D sequence as the robot's sensors, a fake actuator, and the agent."""

import math

import numpy as np
import pytest

from agents.registry import make_agent
from agents.robot import RobotConfig, VelocityCommand, action_to_velocity, run_on_robot
from embodied.errors import ConfigError
from embodied.types import Action, ActionAt
from sims.raycast.simulator import RaycastSimulator, SimConfig


def test_actions_become_velocity_commands():
    cfg = RobotConfig(forward_m=0.25, turn_deg=30.0, linear_mps=0.5, angular_radps=math.pi / 6)
    fwd = action_to_velocity(Action.MOVE_FORWARD, cfg)
    assert (fwd.linear_mps, fwd.angular_radps, fwd.duration_s) == (0.5, 0.0, 0.5)  # 0.25 m at 0.5 m/s
    left, right = action_to_velocity("turn_left", cfg), action_to_velocity(Action.TURN_RIGHT, cfg)
    assert left.angular_radps == pytest.approx(math.pi / 6) and left.duration_s == pytest.approx(1.0)  # 30 deg
    assert right.angular_radps == pytest.approx(-math.pi / 6) and left.angular_radps * left.duration_s == \
        pytest.approx(math.radians(30))
    assert action_to_velocity(Action.LOOK_DOWN, cfg).tilt_rad == pytest.approx(-math.radians(30))
    assert action_to_velocity(Action.STOP, cfg).stop
    with pytest.raises(ConfigError, match="manipulator"):
        action_to_velocity(ActionAt(Action.PICK_UP), cfg)
    with pytest.raises(ConfigError, match="not a base action"):
        action_to_velocity(Action.PUT_DOWN, cfg)
    with pytest.raises(ConfigError):
        RobotConfig(linear_mps=0.0)


class FakeBase:
    """Integrates the commands it is sent (unicycle model), as a robot base would move."""

    def __init__(self):
        self.x = self.y = self.yaw = 0.0
        self.sent: list[VelocityCommand] = []

    def drive(self, cmd: VelocityCommand) -> None:
        self.sent.append(cmd)
        if cmd.angular_radps:
            self.yaw += cmd.angular_radps * cmd.duration_s
        self.x += math.cos(self.yaw) * cmd.linear_mps * cmd.duration_s
        self.y += math.sin(self.yaw) * cmd.linear_mps * cmd.duration_s


def recording(tmp_path, n=12):
    """A recorded RGB-D sequence, read back from disk: frames of a built-in house along a fixed walk
    (what a robot's camera logs), written in the plain-folder format, each turned back into an
    Observation by embodied.rgbd.observation_from_rgbd as a robot driver would."""
    from datasets3d.sequences import open_sequence, write_folder_sequence
    from embodied.rgbd import observation_from_rgbd

    with RaycastSimulator(SimConfig(width=48, height=36)) as sim:
        frames = [sim.reset(seed=3)]
        for a in [Action.TURN_LEFT, Action.MOVE_FORWARD] * (n // 2):
            frames.append(sim.step(a).observation)
    seq = open_sequence(write_folder_sequence(tmp_path / "walk", frames[:n]))
    return [observation_from_rgbd(o.rgb, o.depth, o.intrinsics, o.T_world_cam) for o in seq]


def test_agent_runs_on_a_recorded_sequence_through_the_loop(tmp_path, tiny_clip):
    frames = recording(tmp_path)  # no instance masks on a robot: CoW with a CLIP localizer
    it = iter(frames)
    base = FakeBase()
    seen = []
    cfg = RobotConfig(linear_mps=0.25, angular_radps=math.radians(30))
    agent = make_agent("cow", {"localizer": "dense", "camera_height_m": 0.88}, clip=tiny_clip)
    log = run_on_robot(agent, "chair", read_sensors=lambda: next(it), send=base.drive, config=cfg,
                       max_steps=len(frames), on_step=lambda obs, cmd: seen.append((obs.step, obs.goal, cmd.action)))
    assert len(log) == len(base.sent) == len(seen) and 1 <= len(log) <= len(frames)
    assert [s[0] for s in seen] == list(range(len(log))) and {s[1] for s in seen} == {"chair"}
    # every command is exactly one discrete action of the agent's action model
    for row, cmd in zip(log, base.sent):
        assert row["action"] == cmd.action
        if cmd.action == "move_forward":
            assert cmd.linear_mps * cmd.duration_s == pytest.approx(0.25)
        elif cmd.action in ("turn_left", "turn_right"):
            assert abs(cmd.angular_radps) * cmd.duration_s == pytest.approx(math.radians(30))
    # the log keeps the pose of every frame it acted on
    np.testing.assert_allclose(log[0]["pose"][:2], frames[0].agent_pose.position_m[:2])
    moved = sum(c.linear_mps * c.duration_s for c in base.sent)
    assert moved == pytest.approx(0.25 * sum(c.action == "move_forward" for c in base.sent))


def test_a_bad_sensor_reading_is_named(tmp_path):
    frame = recording(tmp_path, 2)[0]
    bad = frame.depth.copy()
    bad[0, 0] = np.nan
    from dataclasses import replace

    from embodied.errors import ObservationError

    with pytest.raises(ObservationError, match="NaN"):
        run_on_robot(make_agent("frontier"), "chair", read_sensors=lambda: replace(frame, depth=bad),
                     send=lambda cmd: None, max_steps=1)


def test_the_documented_example_runs_on_a_recording(tmp_path, capsys):
    import importlib.util
    from pathlib import Path

    from datasets3d.sequences import write_folder_sequence

    with RaycastSimulator(SimConfig(width=48, height=36)) as sim:
        frames = [sim.reset(seed=3)] + [sim.step(Action.TURN_LEFT).observation for _ in range(3)]
    path = write_folder_sequence(tmp_path / "rec", frames)
    spec = importlib.util.spec_from_file_location("robot_loop", Path(__file__).parents[2] / "examples" / "robot_loop.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    log = module.main([str(path), "--goal", "chair", "--model", "embodied-tiny", "--random-init"])
    assert 1 <= len(log) <= 4 and "steps; the agent" in capsys.readouterr().out
