"""Cameras for multi-view rendering: lens intrinsics, look-at, Zero123 sampling, Blender conversion."""

from __future__ import annotations

import math

import numpy as np
import pytest

from datasets3d.rendering.cameras import (
    blender_camera_matrix_world,
    blender_to_opencv_w2c,
    intrinsics_from_lens,
    look_at,
    object_rng,
    opencv_to_blender_w2c,
    sample_cameras,
    world_to_camera,
)
from datasets3d.rendering.config import RenderConfig
from embodied.errors import ConfigError
from embodied.geometry import is_rigid_transform, project_points


def test_intrinsics_35mm_lens_on_32mm_sensor():
    K = intrinsics_from_lens(256, 256)
    assert K.fx == K.fy == pytest.approx(280.0)  # 35 / 32 * 256
    assert (K.cx, K.cy) == (127.5, 127.5)
    assert K.hfov_deg == pytest.approx(2 * math.degrees(math.atan(16 / 35)), abs=1e-9)  # 49.13 deg
    wide = intrinsics_from_lens(320, 240)  # sensor fit AUTO: the sensor spans the larger side
    assert wide.fx == pytest.approx(350.0) and wide.cy == 119.5


def test_look_at_is_opencv_with_world_up():
    T = look_at([2.0, 0.0, 0.0])
    assert is_rigid_transform(T)
    np.testing.assert_allclose(T[:3, 2], [-1, 0, 0], atol=1e-12)  # optical axis towards the origin
    np.testing.assert_allclose(T[:3, 1], [0, 0, -1], atol=1e-12)  # image down = world down
    np.testing.assert_allclose(T[:3, 0], [0, 1, 0], atol=1e-12)  # image right = +Y seen from +X
    above = look_at([0.0, 0.0, 3.0])  # degenerate up: falls back to +Y
    assert is_rigid_transform(above)
    np.testing.assert_allclose(above[:3, 2], [0, 0, -1], atol=1e-12)


@pytest.mark.parametrize("mode", ["zero123", "hemisphere", "ring"])
def test_sampled_cameras_look_at_the_origin_from_the_shell(mode):
    cfg = RenderConfig(cameras=mode, views=24, width=64, height=64)
    poses = sample_cameras(cfg, object_rng(5, "abc"))
    K = intrinsics_from_lens(64, 64)
    assert poses.shape == (24, 4, 4) and all(is_rigid_transform(T) for T in poses)
    r = np.linalg.norm(poses[:, :3, 3], axis=1)
    for T in poses:
        uv, z = project_points(np.zeros(3), K.K, T)
        np.testing.assert_allclose(uv[0], [K.cx, K.cy], atol=1e-9)
        assert z[0] == pytest.approx(np.linalg.norm(T[:3, 3]))
    if mode == "ring":
        np.testing.assert_allclose(r, 2.0)
        np.testing.assert_allclose(poses[:, 2, 3], 2.0 * math.sin(math.radians(20.0)))
        az = np.unwrap(np.arctan2(poses[:, 1, 3], poses[:, 0, 3]))
        np.testing.assert_allclose(np.diff(az), 2 * np.pi / 24)
    else:
        assert r.min() >= 1.5 and r.max() <= 2.2
        if mode == "hemisphere":
            assert (poses[:, 2, 3] >= 0).all()
        else:
            assert (poses[:, 2, 3] < 0).any() and (poses[:, 2, 3] > 0).any()


def test_sampling_is_deterministic_per_seed_and_object():
    cfg = RenderConfig(views=12)
    a = sample_cameras(cfg, object_rng(0, "obj-1"))
    np.testing.assert_array_equal(a, sample_cameras(cfg, object_rng(0, "obj-1")))
    assert not np.allclose(a, sample_cameras(cfg, object_rng(1, "obj-1")))
    assert not np.allclose(a, sample_cameras(cfg, object_rng(0, "obj-2")))


def test_blender_convention_conversion():
    T = look_at([1.2, -1.1, 0.7])
    w2c = world_to_camera(T)
    np.testing.assert_allclose(w2c, np.linalg.inv(T)[:3], atol=1e-12)
    b = opencv_to_blender_w2c(w2c)
    np.testing.assert_allclose(blender_to_opencv_w2c(b), w2c, atol=1e-12)
    # a Blender camera with matrix_world M sees the world through inv(M): Zero123's RT
    M = blender_camera_matrix_world(T)
    np.testing.assert_allclose(np.linalg.inv(M)[:3], b, atol=1e-12)
    p = np.array([0.1, 0.2, -0.1, 1.0])  # near the origin, in front of the camera
    assert (w2c @ p)[2] > 0 and (b @ p)[2] < 0  # OpenCV looks along +z, Blender along -z
    assert (w2c @ p)[0] == pytest.approx((b @ p)[0]) and (w2c @ p)[1] == pytest.approx(-(b @ p)[1])


def test_config_rejects_bad_values_with_the_fix():
    with pytest.raises(ConfigError, match="unknown render backend 'cycles'; choose from raycast, blender"):
        RenderConfig(backend="cycles")
    with pytest.raises(ConfigError, match="camera radii must exceed 0.87"):
        RenderConfig(radius_min_m=0.5, radius_max_m=2.0)
    with pytest.raises(ConfigError, match="unknown camera mode"):
        RenderConfig(cameras="orbit")
