"""Joint estimation from rigid motions, and the joint metrics, on hand-computed cases."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from embodied.articulation import axis_angle_error_deg, fit_joint, joint_from_motion, line_distance_m


def _revolute(axis, pivot, angle_rad):
    R = Rotation.from_rotvec(np.asarray(axis, float) / np.linalg.norm(axis) * angle_rad).as_matrix()
    return R, (np.eye(3) - R) @ np.asarray(pivot, float)


@pytest.fixture
def door_points():
    rng = np.random.default_rng(0)
    return rng.uniform([0.3, -0.4, 0.0], [0.32, 0.0, 0.8], (400, 3))  # a door panel beside its hinge


@pytest.mark.parametrize("axis", [[0, 0, 1], [0, 0, -1], [0, 1, 0], [0.3, -0.2, 0.93]])
def test_revolute_axis_and_pivot_from_one_motion(axis, door_points):
    pivot = np.array([0.3, -0.4, 0.5])
    R, t = _revolute(axis, pivot, np.radians(25))
    j = joint_from_motion(R, t, door_points)
    assert j.type == "revolute"
    assert axis_angle_error_deg(j.axis, axis) < 0.1
    assert line_distance_m(j.pivot_m, j.axis, pivot, np.asarray(axis, float)) < 1e-6
    assert max(abs(j.lower), abs(j.upper)) == pytest.approx(np.radians(25), abs=1e-9)


def test_prismatic_axis_from_one_motion(door_points):
    axis = np.array([1.0, 0.2, 0.0]) / np.linalg.norm([1.0, 0.2, 0.0])
    j = joint_from_motion(np.eye(3), 0.17 * axis, door_points)
    assert j.type == "prismatic"
    assert axis_angle_error_deg(j.axis, axis) < 0.1
    assert (j.lower, j.upper) == pytest.approx((0.0, 0.17), abs=1e-9)


def test_type_is_decided_by_the_evidence(door_points):
    # a drawer's registration wobble (0.5 deg) stays prismatic; a small door turn (6 deg) is revolute
    R_noise = Rotation.from_rotvec([0, 0, np.radians(0.5)]).as_matrix()
    assert joint_from_motion(R_noise, np.array([0.15, 0, 0]), door_points).type == "prismatic"
    R, t = _revolute([0, 0, 1], [0.3, -0.4, 0], np.radians(6))
    assert joint_from_motion(R, t, door_points).type == "revolute"


def test_several_motions_refine_one_joint(door_points):
    axis, pivot = np.array([0.0, -1.0, 0.0]), np.array([-0.2, 0.0, 0.9])
    motions = [_revolute(axis, pivot, np.radians(a)) for a in (10, 35, 60)]
    j = fit_joint([m[0] for m in motions], [m[1] for m in motions], door_points)
    assert j.type == "revolute" and axis_angle_error_deg(j.axis, axis) < 0.1
    assert line_distance_m(j.pivot_m, j.axis, pivot, axis) < 1e-6
    assert j.upper - j.lower == pytest.approx(np.radians(60), abs=1e-9)
    # the joint reproduces each motion
    for (R, t), q in zip(motions, np.radians([10, 35, 60])):
        T = j.transform(q * (1 if j.axis @ axis > 0 else -1))
        assert np.allclose(T[:3, :3], R, atol=1e-9) and np.allclose(T[:3, 3], t, atol=1e-9)


def test_axis_angle_ignores_sign():
    assert axis_angle_error_deg([0, 0, 1], [0, 0, -1]) == pytest.approx(0.0, abs=1e-6)
    assert axis_angle_error_deg([1, 0, 0], [1, 1, 0]) == pytest.approx(45.0)
    assert axis_angle_error_deg([1, 0, 0], [0, -1, 0]) == pytest.approx(90.0)


def test_line_distance_hand_computed():
    # skew lines: the x axis and the line through (0, 0, 2) along y are 2 apart
    assert line_distance_m([0, 0, 0], [1, 0, 0], [5, 7, 2], [0, 1, 0]) == pytest.approx(2.0)
    # parallel lines 3 apart (PARIS would return 0 here)
    assert line_distance_m([0, 0, 0], [0, 0, 1], [0, 3, 9], [0, 0, -1]) == pytest.approx(3.0)
    # intersecting lines
    assert line_distance_m([1, 1, 1], [1, 0, 0], [1, 1, 1], [0, 1, 1]) == pytest.approx(0.0, abs=1e-12)
