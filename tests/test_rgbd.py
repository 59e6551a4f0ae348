"""embodied.rgbd: depth units, undistortion, the floor plane, gravity alignment, observation_from_rgbd."""

import math
import sys

import numpy as np
import pytest

from embodied import geometry
from embodied.errors import ConfigError, ObservationError
from embodied.rgbd import (Distortion, depth_to_metres, estimate_floor_plane, gravity_alignment,
                           observation_from_rgbd, undistort_rgbd)
from embodied.types import NO_DEPTH, AgentPose, CameraIntrinsics

cv2 = pytest.importorskip("cv2")

# TUM freiburg1 colour camera (strong radial distortion)
FR1 = CameraIntrinsics(640, 480, 517.3, 516.5, 318.6, 255.3)
FR1_DIST = Distortion(0.2624, -0.9531, -0.0054, 0.0026, 1.1633)


# --------------------------------------------------------------------------- depth units
def test_depth_to_metres_tum_scale_and_invalid_values():
    raw = np.array([[0, 5000, 65535], [10000, 2500, 1]], np.uint16)
    d = depth_to_metres(raw, scale=5000, invalid_values=(0, 65535))
    assert d.dtype == np.float32 and d.shape == (2, 3)
    np.testing.assert_allclose(d, [[0, 1.0, 0], [2.0, 0.5, 0.0002]], atol=1e-7)
    d = depth_to_metres(raw, scale=5000, invalid_values=(0, 65535), max_depth_m=1.5)
    np.testing.assert_allclose(d, [[0, 1.0, 0], [0, 0.5, 0.0002]], atol=1e-7)


def test_depth_to_metres_millimetres_and_bad_floats():
    assert depth_to_metres(np.array([[1234, 0]], np.uint16), scale=1000)[0].tolist() == pytest.approx([1.234, 0])
    raw = np.array([[np.nan, np.inf, -np.inf, -1.0, 2.5]], np.float32)
    assert depth_to_metres(raw).tolist() == [[NO_DEPTH, NO_DEPTH, NO_DEPTH, NO_DEPTH, 2.5]]
    assert depth_to_metres(np.array([[0.0, 3.0]]), invalid_values=()).tolist() == [[0.0, 3.0]]


def test_depth_to_metres_rejects_bad_arguments():
    with pytest.raises(ConfigError, match="scale"):
        depth_to_metres(np.ones((2, 2)), scale=0)
    with pytest.raises(ObservationError, match=r"\(H, W\)"):
        depth_to_metres(np.ones((2, 2, 1)))


# --------------------------------------------------------------------------- undistortion
def test_distortion_coeffs():
    assert Distortion().is_zero and not FR1_DIST.is_zero
    np.testing.assert_array_equal(FR1_DIST.coeffs, [0.2624, -0.9531, -0.0054, 0.0026, 1.1633])
    with pytest.raises(ConfigError, match="finite"):
        Distortion(k1=float("nan"))


def test_zero_distortion_returns_the_inputs():
    rgb, depth = np.zeros((480, 640, 3), np.uint8), np.ones((480, 640), np.float32)
    out = undistort_rgbd(rgb, depth, FR1, Distortion())
    assert out[0] is rgb and out[1] is depth and out[2] is FR1


SQUARE_M, NX, NY, BOARD_Z_M = 0.1, 11, 8, 1.0  # 11 x 8 squares of 10 cm, 1 m in front of the camera


def _distorted_checkerboard(ss: int = 3) -> np.ndarray:
    """(480, 640, 3) uint8 image of a fronto-parallel checkerboard seen through FR1 + FR1_DIST,
    ``ss`` x ``ss`` supersampled: each sample is undistorted to the board plane and shaded there."""
    o = (np.arange(ss) + 0.5) / ss - 0.5
    u = (np.arange(FR1.width)[:, None] + o).reshape(-1)
    v = (np.arange(FR1.height)[:, None] + o).reshape(-1)
    uu, vv = np.meshgrid(u, v)
    pix = np.stack([uu.ravel(), vv.ravel()], -1)[:, None]
    xy = cv2.undistortPoints(pix, FR1.K, FR1_DIST.coeffs).reshape(-1, 2) * BOARD_Z_M
    bx, by = xy[:, 0] / SQUARE_M + NX / 2, xy[:, 1] / SQUARE_M + NY / 2
    inside = (bx >= 0) & (bx < NX) & (by >= 0) & (by < NY)
    val = np.where(inside, ((np.floor(bx) + np.floor(by)) % 2) * 255.0, 255.0)
    img = val.reshape(FR1.height, ss, FR1.width, ss).mean(axis=(1, 3)).round().astype(np.uint8)
    return np.repeat(img[..., None], 3, axis=-1)


def _corners(img: np.ndarray) -> np.ndarray:
    gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    ok, c = cv2.findChessboardCorners(gray, (NX - 1, NY - 1))
    assert ok
    crit = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 50, 1e-3)
    return cv2.cornerSubPix(gray, c, (5, 5), (-1, -1), crit).reshape(-1, 2)


def _max_error_px(found: np.ndarray, expected: np.ndarray) -> float:
    return float(np.linalg.norm(found[:, None] - expected.reshape(-1, 2)[None], axis=-1).min(axis=1).max())


def test_undistort_puts_checkerboard_corners_where_the_pinhole_projects_them():
    corners_cam = np.array([[(i - NX / 2 + 1) * SQUARE_M, (j - NY / 2 + 1) * SQUARE_M, BOARD_Z_M]
                            for j in range(NY - 1) for i in range(NX - 1)])
    distorted_px, _ = cv2.projectPoints(corners_cam, np.zeros(3), np.zeros(3), FR1.K, FR1_DIST.coeffs)
    pinhole_px, _ = cv2.projectPoints(corners_cam, np.zeros(3), np.zeros(3), FR1.K, np.zeros(5))
    img = _distorted_checkerboard()
    assert _max_error_px(_corners(img), distorted_px) < 0.5  # the synthetic image is right
    rgb, depth, K = undistort_rgbd(img, None, FR1, FR1_DIST)
    assert depth is None and K == FR1 and rgb.shape == img.shape and rgb.dtype == np.uint8
    found = _corners(rgb)
    assert _max_error_px(found, pinhole_px) < 0.5
    assert _max_error_px(found, distorted_px) > 3.0  # and the distortion was large enough to matter


def test_undistort_depth_is_nearest_and_outside_is_no_depth():
    depth = np.full((480, 640), 1.0, np.float32)
    depth[:, 320:] = 4.0  # a sharp edge
    depth[100:140, 100:140] = 2.5
    depth[300:310] = NO_DEPTH
    white = np.full((480, 640, 3), 255, np.uint8)
    rgb, out, K = undistort_rgbd(white, depth, FR1, FR1_DIST)
    assert out.dtype == np.float32 and out.shape == depth.shape
    assert set(np.unique(out).tolist()) <= {NO_DEPTH, 1.0, 2.5, 4.0}  # nothing blended across the edge
    outside = (rgb == 0).all(axis=-1)
    assert outside.sum() > 1000 and (out[outside] == NO_DEPTH).all()
    rgb2, out2, _ = undistort_rgbd(white, depth, FR1, FR1_DIST)  # cached maps give the same result
    np.testing.assert_array_equal(out2, out)
    np.testing.assert_array_equal(rgb2, rgb)


def test_undistort_to_new_intrinsics():
    small = CameraIntrinsics(320, 240, FR1.fx / 2, FR1.fy / 2, FR1.cx / 2, FR1.cy / 2)
    rgb, depth, K = undistort_rgbd(np.zeros((480, 640, 3), np.uint8), np.ones((480, 640), np.float32), FR1,
                                   FR1_DIST, new_intrinsics=small)
    assert K == small and rgb.shape == (240, 320, 3) and depth.shape == (240, 320)
    with pytest.raises(ObservationError, match="do not match"):
        undistort_rgbd(np.zeros((10, 10, 3), np.uint8), None, FR1, FR1_DIST)


# --------------------------------------------------------------------------- floor and gravity
TILT = np.radians(10.0) * np.array([1.0, 0.5, 0.0]) / np.linalg.norm([1.0, 0.5, 0.0])
FLOOR_HEIGHT_M = 0.4  # of the tilted floor along its normal


def _tilted_room(seed: int = 1):
    """Points (N, 3) of a floor tilted 10 deg, a larger wall, a table top at 0.7 m and clutter, plus
    the rotation R (floor normal = R[:, 2], floor at FLOOR_HEIGHT_M along it) and the noise-free floor."""
    from scipy.spatial.transform import Rotation

    rng = np.random.default_rng(seed)
    R = Rotation.from_rotvec(TILT).as_matrix()
    flat = np.c_[rng.uniform(-2, 2, (5000, 2)), np.zeros(5000)]
    floor = flat + np.c_[np.zeros((5000, 2)), rng.normal(0, 0.005, 5000)]
    wall = np.c_[rng.uniform(-2, 2, 6000), 2.0 + rng.normal(0, 0.005, 6000), rng.uniform(0, 2.5, 6000)]
    table = np.c_[rng.uniform(0, 1, (1500, 2)), 0.7 + rng.normal(0, 0.005, 1500)]
    clutter = rng.uniform([-2, -2, 0.05], [2, 2, 2.5], (2000, 3))

    def place(p):
        return p @ R.T + R[:, 2] * FLOOR_HEIGHT_M

    return place(np.concatenate([floor, wall, table, clutter])), R, place(flat)


def _angle_deg(a, b):
    return math.degrees(math.acos(np.clip(a @ b / np.linalg.norm(a) / np.linalg.norm(b), -1, 1)))


def test_floor_plane_on_tilted_floor_with_clutter():
    pts, R, _ = _tilted_room()
    normal, d, fraction = estimate_floor_plane(pts)
    assert _angle_deg(normal, R[:, 2]) < 1.0  # not the (larger) wall, not the table top
    assert abs(-d - FLOOR_HEIGHT_M) < 0.01
    assert 0.3 < fraction < 0.4  # 5000 of 14500 points, plus a few clutter points near the floor
    again = estimate_floor_plane(pts)
    np.testing.assert_array_equal(again[0], normal)
    assert again[1:] == (d, fraction)


def test_floor_plane_without_open3d(monkeypatch):
    monkeypatch.setitem(sys.modules, "open3d", None)  # makes `import open3d` fail: the numpy RANSAC
    pts, R, _ = _tilted_room()
    normal, d, _ = estimate_floor_plane(pts, seed=3)
    assert _angle_deg(normal, R[:, 2]) < 1.0 and abs(-d - FLOOR_HEIGHT_M) < 0.01
    assert np.array_equal(estimate_floor_plane(pts, seed=3)[0], normal)


def test_floor_plane_normal_follows_up():
    pts, R, _ = _tilted_room()
    y_up = np.array([[1.0, 0, 0], [0, 0, 1], [0, -1, 0]])  # Z-up world -> a Y-up frame (z -> y)
    normal, d, _ = estimate_floor_plane(pts @ y_up.T, up=np.array([0.0, 1.0, 0.0]))
    assert _angle_deg(normal, y_up @ R[:, 2]) < 1.0 and abs(-d - FLOOR_HEIGHT_M) < 0.01
    with pytest.raises(ObservationError, match="no plane within 30 deg"):  # only walls when Y is up
        estimate_floor_plane(pts[5000:11000])
    with pytest.raises(ObservationError, match="at least 3"):
        estimate_floor_plane(np.full((5, 3), np.nan))


def test_gravity_alignment_puts_the_floor_at_z0():
    pts, R, floor = _tilted_room()
    normal, d, _ = estimate_floor_plane(pts)
    T = gravity_alignment(normal, d)
    assert geometry.is_rigid_transform(T)
    np.testing.assert_allclose(T[:3, :3] @ normal, [0, 0, 1], atol=1e-12)
    exact = gravity_alignment(R[:, 2], -FLOOR_HEIGHT_M)
    assert np.abs(geometry.transform_points(exact, floor)[:, 2]).max() < 1e-6
    assert np.abs(geometry.transform_points(T, floor)[:, 2]).max() < 0.01  # the estimated floor
    above = floor[0] + 1.25 * R[:, 2]
    assert geometry.transform_points(exact, above)[2] == pytest.approx(1.25, abs=1e-9)


def test_gravity_alignment_special_normals():
    np.testing.assert_allclose(gravity_alignment(np.array([0, 0, 2.0]), -3.0), geometry.make_transform(
        np.eye(3), [0, 0, -1.5]), atol=1e-12)  # unnormalised plane 2z - 3 = 0 is z = 1.5
    T = gravity_alignment(np.array([0, 0, -1.0]), 0.5)  # plane z = 0.5 seen with its normal down
    assert geometry.is_rigid_transform(T)
    np.testing.assert_allclose(T[:3, :3] @ [0, 0, -1.0], [0, 0, 1], atol=1e-12)
    assert geometry.transform_points(T, np.array([3.0, 1.0, 0.5]))[2] == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ConfigError):
        gravity_alignment(np.zeros(3), 0.0)


# --------------------------------------------------------------------------- observations
SMALL = CameraIntrinsics(32, 24, 20.0, 20.0, 15.5, 11.5)


def test_observation_from_rgbd_derives_the_base_pose():
    rgb = np.zeros((24, 32, 3), np.uint8)
    T = geometry.camera_pose(np.array([1.0, 2.0, 1.5]), 0.7, tilt_rad=-0.3)
    obs = observation_from_rgbd(rgb, np.ones((24, 32)), SMALL, T, step=4, goal="chair")
    assert obs.agent_pose.position_m == pytest.approx((1.0, 2.0, 0.0))
    assert obs.agent_pose.yaw_rad == pytest.approx(0.7)
    assert obs.step == 4 and obs.goal == "chair" and obs.depth.dtype == np.float32
    # hand-made camera looking along (1, 1, 0): right (1, -1, 0)/sqrt2, down -Z
    s = 1 / math.sqrt(2)
    R = np.array([[s, 0, s], [-s, 0, s], [0, -1, 0]])
    obs = observation_from_rgbd(rgb, None, SMALL, geometry.make_transform(R, [-1.0, 0.5, 0.8]))
    assert obs.agent_pose.position_m == pytest.approx((-1.0, 0.5, 0.0))
    assert obs.agent_pose.yaw_rad == pytest.approx(math.pi / 4)
    down = geometry.camera_pose(np.array([0.0, 0.0, 2.0]), -2.5, tilt_rad=-math.pi / 2)  # looks straight down
    assert observation_from_rgbd(rgb, None, SMALL, down).agent_pose.yaw_rad == pytest.approx(-2.5)
    given = AgentPose((5.0, 5.0, 0.0), 1.0)
    assert observation_from_rgbd(rgb, None, SMALL, T, agent_pose=given).agent_pose is given


def test_observation_from_rgbd_without_pose_and_bad_depth():
    depth = np.ones((24, 32), np.float64)
    depth[0, :4] = [np.nan, np.inf, -np.inf, -2.0]
    obs = observation_from_rgbd(np.zeros((24, 32, 3), np.uint8), depth, SMALL, extras={"frame": "a.png"})
    np.testing.assert_array_equal(obs.T_world_cam, geometry.camera_pose(np.zeros(3), 0.0))
    assert obs.agent_pose is None and obs.extras == {"frame": "a.png"}
    assert obs.depth.dtype == np.float32 and obs.depth[0, :5].tolist() == [0, 0, 0, 0, 1.0]
    assert np.isnan(depth[0, 0])  # the caller's array is untouched


def test_observation_from_rgbd_errors_name_the_problem():
    rgb = np.zeros((24, 32, 3), np.uint8)
    with pytest.raises(ObservationError, match=r"rgb must be \(24, 32, 3\) uint8"):
        observation_from_rgbd(np.zeros((24, 32, 4), np.uint8), None, SMALL)
    with pytest.raises(ObservationError, match=r"rgb must be .* float32"):
        observation_from_rgbd(rgb.astype(np.float32), None, SMALL)
    with pytest.raises(ObservationError, match=r"depth must be \(24, 32\)"):
        observation_from_rgbd(rgb, np.ones((24, 31), np.float32), SMALL)
    with pytest.raises(ObservationError, match="depth_to_metres"):
        observation_from_rgbd(rgb, np.ones((24, 32), np.uint16), SMALL)
    with pytest.raises(ObservationError, match="rigid"):
        observation_from_rgbd(rgb, None, SMALL, np.diag([2.0, 1, 1, 1]))
    with pytest.raises(ObservationError, match="rigid"):
        observation_from_rgbd(rgb, None, SMALL, np.eye(3))
    with pytest.raises(ConfigError, match="CameraIntrinsics"):
        observation_from_rgbd(rgb, None, (32, 24, 20, 20, 15.5, 11.5))
