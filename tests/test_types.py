import math

import numpy as np
import pytest

from embodied import geometry
from embodied.errors import ObservationError
from embodied.types import (
    NO_DEPTH,
    Action,
    NAVIGATION_ACTIONS,
    Agent,
    AgentPose,
    CameraIntrinsics,
    GeodesicOracle,
    Observation,
    Simulator,
    StepResult,
)


def test_intrinsics_from_hfov_hand_computed():
    K = CameraIntrinsics.from_hfov(640, 480, 90.0)
    assert K.fx == pytest.approx(320.0) and K.fy == pytest.approx(320.0)
    assert (K.cx, K.cy) == (319.5, 239.5)
    assert K.hfov_deg == pytest.approx(90.0)
    assert K.vfov_deg == pytest.approx(math.degrees(2 * math.atan(240 / 320)))
    np.testing.assert_allclose(K.K, [[320, 0, 319.5], [0, 320, 239.5], [0, 0, 1]])


@pytest.mark.parametrize("kwargs", [dict(width=0, height=10, fx=1, fy=1, cx=0, cy=0),
                                    dict(width=10, height=10, fx=-1, fy=1, cx=0, cy=0),
                                    dict(width=10, height=10, fx=float("nan"), fy=1, cx=0, cy=0),
                                    dict(width=10, height=10, fx=1, fy=1, cx=float("nan"), cy=0)])
def test_intrinsics_rejects_bad_values(kwargs):
    with pytest.raises(ValueError, match="size|focal|principal"):
        CameraIntrinsics(**kwargs)
    with pytest.raises(ValueError, match="hfov"):
        CameraIntrinsics.from_hfov(10, 10, 180.0)


def _obs(**over):
    K = CameraIntrinsics.from_hfov(8, 6, 90.0)
    base = dict(
        rgb=np.zeros((6, 8, 3), np.uint8),
        depth=np.ones((6, 8), np.float32),
        intrinsics=K,
        T_world_cam=geometry.camera_pose(np.array([1.0, 2.0, 1.5]), 0.3),
        agent_pose=AgentPose((1.0, 2.0, 0.0), 0.3),
        semantic=np.full((6, 8), -1, np.int32),
        labels={},
        goal="chair",
    )
    base.update(over)
    return Observation(**base)


def test_valid_observation_passes():
    obs = _obs()
    assert obs.validate() is obs


@pytest.mark.parametrize(
    "over, message",
    [
        (dict(rgb=np.zeros((6, 8, 4), np.uint8)), r"rgb must have shape \(6, 8, 3\)"),
        (dict(rgb=np.zeros((6, 8, 3), np.float32)), "rgb must be uint8"),
        (dict(depth=np.ones((6, 8), np.float64)), "depth must be float32"),
        (dict(depth=np.full((6, 8), np.nan, np.float32)), "48 NaN/inf pixels"),
        (dict(depth=-np.ones((6, 8), np.float32)), "negative"),
        (dict(semantic=np.full((6, 8), 3, np.int32)), r"without a label: \[3\]"),
        (dict(T_world_cam=np.eye(4, dtype=np.float32)), "float64"),
        (dict(T_world_cam=np.diag([2.0, 1.0, 1.0, 1.0])), "not a rigid transform"),
        (dict(agent_pose=AgentPose((0.0, float("inf"), 0.0), 0.0)), "finite"),
        (dict(step=-1), "step must be >= 0"),
    ],
)
def test_validate_names_the_problem(over, message):
    with pytest.raises(ObservationError, match=message):
        _obs(**over).validate()


def test_no_depth_value_is_zero_and_valid():
    depth = np.ones((6, 8), np.float32)
    depth[0, 0] = NO_DEPTH
    _obs(depth=depth).validate()
    assert NO_DEPTH == 0.0


def test_action_serializes_to_json_strings():
    import json

    assert json.dumps([Action.MOVE_FORWARD, Action.STOP]) == '["move_forward", "stop"]'
    assert Action("turn_left") is Action.TURN_LEFT
    assert {a.name for a in NAVIGATION_ACTIONS} == {"STOP", "MOVE_FORWARD", "TURN_LEFT", "TURN_RIGHT", "LOOK_UP", "LOOK_DOWN"}
    assert set(Action) - set(NAVIGATION_ACTIONS) == {Action.PICK_UP, Action.PUT_DOWN}


def test_agent_pose_transform():
    T = AgentPose((1.0, 2.0, 0.0), math.pi / 2).T_world_base
    np.testing.assert_allclose(geometry.transform_points(T, np.array([1.0, 0.0, 0.0])), [1.0, 3.0, 0.0], atol=1e-12)


def test_protocols_are_structural():
    class Sim:
        def reset(self, episode=None, *, seed=None):
            return _obs()

        def step(self, action):
            return StepResult(_obs(step=1), collided=False)

        def close(self):
            pass

        def geodesic_distance(self, a, b):
            return float(np.linalg.norm(np.subtract(a, b)))

    class Walker:
        def reset(self, goal):
            self.goal = goal

        def act(self, observation):
            return Action.MOVE_FORWARD

    assert isinstance(Sim(), Simulator) and isinstance(Sim(), GeodesicOracle)
    assert isinstance(Walker(), Agent) and not isinstance(Walker(), Simulator)
    res = Sim().step(Walker().act(Sim().reset()))
    assert res.observation.validate().step == 1
