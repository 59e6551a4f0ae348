import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from embodied import geometry
from embodied.types import CameraIntrinsics

finite = dict(allow_nan=False, allow_infinity=False)


@st.composite
def poses(draw):
    pos = np.array(draw(st.lists(st.floats(-50, 50, **finite), min_size=3, max_size=3)))
    yaw = draw(st.floats(-math.pi, math.pi, **finite))
    tilt = draw(st.floats(-1.2, 1.2, **finite))
    return geometry.camera_pose(pos, yaw, tilt)


@st.composite
def intrinsics(draw):
    w = draw(st.integers(4, 64))
    h = draw(st.integers(4, 64))
    return CameraIntrinsics.from_hfov(w, h, draw(st.floats(30.0, 120.0, **finite)))


@settings(max_examples=60, deadline=None)
@given(K=intrinsics(), T=poses(), seed=st.integers(0, 2**31 - 1))
def test_depth_to_world_to_pixels_round_trip(K, T, seed):
    rng = np.random.default_rng(seed)
    depth = rng.uniform(0.1, 20.0, (K.height, K.width)).astype(np.float32)
    depth[rng.random(depth.shape) < 0.1] = 0.0  # some "no return" pixels
    pts, idx = geometry.depth_to_world_points(depth, K.K, T)
    assert len(pts) == int((depth > 0).sum())
    uv, z = geometry.project_points(pts, K.K, T)
    v, u = np.divmod(idx, K.width)
    np.testing.assert_allclose(uv[:, 0], u, atol=1e-5, rtol=0)
    np.testing.assert_allclose(uv[:, 1], v, atol=1e-5, rtol=0)
    np.testing.assert_allclose(z, depth.reshape(-1)[idx], rtol=1e-6)


@pytest.mark.parametrize("wh", [(640, 480), (1920, 1080), (4096, 3072)])
def test_round_trip_at_real_image_sizes(wh):
    K = CameraIntrinsics.from_hfov(*wh, 79.0)
    T = geometry.camera_pose(np.array([12.3, -45.6, 1.25]), 2.1, -0.4)
    depth = np.random.default_rng(0).uniform(0.05, 30.0, (wh[1], wh[0])).astype(np.float32)
    pts, idx = geometry.depth_to_world_points(depth, K.K, T)
    uv, z = geometry.project_points(pts, K.K, T)
    v, u = np.divmod(idx, K.width)
    assert np.abs(uv[:, 0] - u).max() < 1e-5 and np.abs(uv[:, 1] - v).max() < 1e-5
    np.testing.assert_allclose(z, depth.reshape(-1), rtol=1e-9)
    # the float32 map path agrees with the float64 one to float32 precision
    cam32 = geometry.unproject_depth(depth, K.K).reshape(-1, 3)
    np.testing.assert_allclose(geometry.transform_points(T, cam32.astype(np.float64)), pts, atol=1e-4)


@settings(max_examples=100, deadline=None)
@given(A=poses(), B=poses(), p=st.lists(st.floats(-10, 10, **finite), min_size=3, max_size=3))
def test_inverse_and_composition(A, B, p):
    p = np.array(p)
    assert geometry.is_rigid_transform(A)
    np.testing.assert_allclose(geometry.compose(A, geometry.invert_transform(A)), np.eye(4), atol=1e-9)
    AB = geometry.compose(A, B)
    np.testing.assert_allclose(geometry.transform_points(AB, p),
                               geometry.transform_points(A, geometry.transform_points(B, p)), atol=1e-9)
    back = geometry.transform_points(geometry.invert_transform(A), geometry.transform_points(A, p))
    np.testing.assert_allclose(back, p, atol=1e-9)


def test_camera_pose_axes_match_the_documented_frames():
    T = geometry.camera_pose(np.array([1.0, 2.0, 1.5]), yaw_rad=0.0)
    R = T[:3, :3]
    np.testing.assert_allclose(R[:, 2], [1, 0, 0], atol=1e-12)   # optical axis -> world +X
    np.testing.assert_allclose(R[:, 0], [0, -1, 0], atol=1e-12)  # image right -> world -Y
    np.testing.assert_allclose(R[:, 1], [0, 0, -1], atol=1e-12)  # image down -> world -Z
    up = geometry.camera_pose(np.zeros(3), yaw_rad=math.pi / 2, tilt_rad=math.radians(30))
    np.testing.assert_allclose(up[:3, 2], [0, math.cos(math.radians(30)), 0.5], atol=1e-12)
    assert geometry.yaw_of(geometry.transform_from_position_yaw(np.zeros(3), 0.7)) == np.float64(0.7)


def test_wall_at_known_distance_hand_computed():
    # Camera at height 1.5 m facing +X; a wall at x = 4 m fills the image with depth 3 m.
    K = CameraIntrinsics.from_hfov(5, 3, 90.0)  # fx = 2.5, cx = 2, cy = 1
    T = geometry.camera_pose(np.array([1.0, 0.0, 1.5]), 0.0)
    depth = np.full((3, 5), 3.0, np.float32)
    pts, _ = geometry.depth_to_world_points(depth, K.K, T)
    np.testing.assert_allclose(pts[:, 0], 4.0, atol=1e-6)
    # top-left pixel (u=0, v=0): x_cam = (0 - 2) / 2.5 * 3 = -2.4 (left -> +Y), y_cam = -1.2 (up -> +Z)
    np.testing.assert_allclose(pts[0], [4.0, 2.4, 1.5 + 1.2], atol=1e-6)


def test_points_behind_camera_project_to_nan():
    K = CameraIntrinsics.from_hfov(10, 10, 90.0)
    uv, z = geometry.project_points(np.array([[-1.0, 0.0, 0.0], [1.0, 0.0, 0.0]]), K.K, geometry.camera_pose(np.zeros(3), 0.0))
    assert np.isnan(uv[0]).all() and z[0] < 0
    np.testing.assert_allclose(uv[1], [4.5, 4.5])


def test_mask_selects_pixels():
    K = CameraIntrinsics.from_hfov(4, 4, 90.0)
    mask = np.zeros((4, 4), bool)
    mask[1, 2] = True
    pts, idx = geometry.depth_to_world_points(np.ones((4, 4), np.float32), K.K, np.eye(4), mask=mask)
    assert idx.tolist() == [6] and pts.shape == (1, 3)
    _, idx = geometry.depth_to_world_points(np.ones((4, 4), np.float32), K.K, np.eye(4), mask=mask.astype(np.uint8))
    assert idx.tolist() == [6]
    uv, z = geometry.project_points(np.array([0.0, 0.0, 2.0]), K.K, np.eye(4))  # a single point
    assert uv.shape == (1, 2) and z.tolist() == [2.0]
