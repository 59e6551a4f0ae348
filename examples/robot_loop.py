"""Put the agent on your robot: the loop, run here against a recorded RGB-D sequence with a fake base.

On a real robot, replace ``read_sensors`` with your camera + localisation (anything that gives RGB,
metric depth, intrinsics and the camera pose) and ``FakeBase.drive`` with your base's velocity
interface (a ROS ``cmd_vel`` publisher: ``linear.x = cmd.linear_mps``, ``angular.z = cmd.angular_radps``
for ``cmd.duration_s`` seconds). A recording cannot follow the agent's actions, so here the frames
simply play in order: this checks the plumbing, not the policy.

    python examples/robot_loop.py data/rgbd_dataset_freiburg1_room --goal chair --steps 50
    python examples/robot_loop.py outputs/rec --goal chair --model embodied-tiny --random-init   # no weights needed
"""

from __future__ import annotations

import argparse
import math

from agents.registry import make_agent
from agents.robot import RobotConfig, VelocityCommand, run_on_robot
from datasets3d.sequences import open_sequence
from embodied.clip import ClipConfig, get_backbone
from embodied.rgbd import observation_from_rgbd


class FakeBase:
    """Integrates the commands (unicycle model) and prints them, as a robot base would carry them out."""

    def __init__(self) -> None:
        self.x = self.y = self.yaw = 0.0

    def drive(self, cmd: VelocityCommand) -> None:
        self.yaw += cmd.angular_radps * cmd.duration_s
        self.x += math.cos(self.yaw) * cmd.linear_mps * cmd.duration_s
        self.y += math.sin(self.yaw) * cmd.linear_mps * cmd.duration_s
        print(f"{cmd.action:<13} v={cmd.linear_mps:.2f} m/s w={cmd.angular_radps:+.2f} rad/s for {cmd.duration_s:.2f} s"
              f" -> base at ({self.x:.2f}, {self.y:.2f}) m, {math.degrees(self.yaw):.0f} deg")


def main(argv: list[str] | None = None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("sequence", help="a TUM / ScanNet / plain-folder RGB-D recording")
    p.add_argument("--goal", default="chair")
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--model", default="auto", help="CLIP model (auto: pretrained weights, else the sim-trained model)")
    p.add_argument("--random-init", action="store_true", help="random CLIP weights (plumbing checks only)")
    args = p.parse_args(argv)

    seq = open_sequence(args.sequence, max_frames=args.steps)
    frames = iter(seq)

    def read_sensors():  # your robot: rgb (H, W, 3) uint8, depth (H, W) metres, intrinsics, T_world_cam (4, 4)
        o = next(frames)
        return observation_from_rgbd(o.rgb, o.depth, o.intrinsics, o.T_world_cam)

    clip = get_backbone(ClipConfig(model=args.model, random_init=args.random_init, device="cpu")
                        if args.random_init else ClipConfig(model=args.model))
    agent = make_agent("cow", {"localizer": "patch"}, clip=clip)
    log = run_on_robot(agent, args.goal, read_sensors=read_sensors, send=FakeBase().drive, config=RobotConfig(),
                       max_steps=len(seq))
    print(f"{len(log)} steps; the agent {'stopped' if log and log[-1]['action'] == 'stop' else 'did not stop'}")
    return log


if __name__ == "__main__":
    main()
