"""Recorded RGB-D sequences as a mining source: discovery, the pose overlap test (depth + relative
pose, occlusion test), and the SIFT homography fallback for sequences without poses.

The sequence is rendered here: 8 frames of built-in house 1 at 96 x 96 px (HFOV 90 degrees) while the
camera turns left in place by 10 degrees per frame, written in the plain-folder format."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from datasets3d.mining import MiningConfig, Sequence, discover, mine_sequence
from datasets3d.mining.overlap import patch_correspondences, pose_correspondences, sample_pixels, warp_points
from datasets3d.mining.sources import prepare_depth, prepare_intrinsics
from datasets3d.sequences import open_sequence, write_folder_sequence
from embodied.errors import ConfigError

from .conftest import pan_frames, write_frames

SIZE_PX, PATCH_PX, GRID, TURN_DEG, N_FRAMES, HOUSE = 96, 8, 12, 10.0, 8, 1
# 10 degrees apart 101/144 patches overlap, 20 degrees 84/144: with overlap_max 0.65 every pair is widened once
CFG = MiningConfig(image_size_px=SIZE_PX, patch_size_px=PATCH_PX, gap_frames=1, overlap_max=0.65)


@pytest.fixture(scope="module")
def turn_observations():
    from embodied.types import Action
    from sims.raycast.simulator import RaycastSimulator, SimConfig

    with RaycastSimulator(SimConfig(width=SIZE_PX, height=SIZE_PX, turn_deg=TURN_DEG)) as sim:
        obs = [sim.reset(seed=HOUSE)]
        obs += [sim.step(Action.TURN_LEFT).observation for _ in range(N_FRAMES - 1)]
    return obs


@pytest.fixture(scope="module")
def recordings(tmp_path_factory, turn_observations) -> Path:
    """recordings/turn: the RGB-D sequence (with poses.json)."""
    root = tmp_path_factory.mktemp("rgbd") / "recordings"
    write_folder_sequence(root / "turn", turn_observations)
    return root


@pytest.fixture(scope="module")
def no_poses(tmp_path_factory, recordings) -> Path:
    """The same sequence without poses.json."""
    root = tmp_path_factory.mktemp("rgbd_no_poses") / "recordings"
    shutil.copytree(recordings / "turn", root / "turn")
    (root / "turn" / "poses.json").unlink()
    return root


def _frames(path: Path):
    seq = open_sequence(path)
    out = []
    for obs in (seq.frame(0), seq.frame(1)):
        K = prepare_intrinsics(obs.intrinsics, SIZE_PX, "stretch").K
        out.append((prepare_depth(obs.depth, SIZE_PX, "stretch"), K, obs.T_world_cam))
    return out


def test_discover_finds_the_sequence_once(tmp_path, recordings):
    root = tmp_path / "data"
    shutil.copytree(recordings / "turn", root / "turn")
    write_frames(root / "plain", pan_frames(2))
    seqs = discover([root])
    assert [(s.kind, s.source, s.name) for s in seqs] == [("frames", "data", "plain"), ("rgbd", "data", "turn")]
    assert seqs[1].path == str((root / "turn").resolve())
    only = discover([recordings])  # its rgb/ and depth/ folders are not also folders of frames
    assert only == [Sequence("rgbd", "recordings", "turn", str((recordings / "turn").resolve()))]
    assert discover([recordings / "turn"])[0].unit_id == "turn/turn"
    assert discover([recordings / "turn" / "rgb"])[0].kind == "frames"  # asked for explicitly: just images


def test_mining_with_poses_uses_the_pose_test(recordings):
    """Pure rotation: 10 degrees apart 101/144 (too high), widened to 20 degrees 84/144 (kept)."""
    seq = discover([recordings])[0]
    res = mine_sequence(seq, CFG)
    assert res.status == "ok" and res.error is None and res.frames == N_FRAMES
    assert [(p.meta["frame0"], p.meta["frame1"]) for p in res.pairs] == [("000000", "000002"), ("000002", "000004"),
                                                                         ("000004", "000006")]
    assert dict(res.outcomes) == {"overlap_high": 4, "kept": 3}  # the last anchor (6, 7) cannot widen
    poses = open_sequence(recordings / "turn")
    samples = sample_pixels(GRID, PATCH_PX, CFG.samples_per_patch, CFG.seed)
    for p in res.pairs:
        m = p.meta
        assert m["overlap_method"] == "pose" and m["homography"] is None and m["n_matches"] == 0
        assert m["overlap"] == pytest.approx(84 / 144) and m["gap_frames"] == 2 and m["fps"] == 30.0
        assert m["file0"] == f"{m['frame0']}.png" and m["timestamp0_s"] is None  # the plain folder has no times
        i, j = int(m["frame0"]), int(m["frame1"])
        T0, T1 = poses.frame(i).T_world_cam, poses.frame(j).T_world_cam
        assert np.allclose(m["T_world_cam0"], T0) and np.allclose(m["T_world_cam1"], T1)
        # a pure rotation: the true correspondences are those of the homography K R K^-1
        K = poses.intrinsics.K
        H = K @ (np.linalg.inv(T1) @ T0)[:3, :3] @ np.linalg.inv(K)
        true = {tuple(r) for r in patch_correspondences(H / H[2, 2], samples, SIZE_PX, PATCH_PX).tolist()}
        got = p.correspondences.astype(int)
        assert len({tuple(r) for r in got.tolist()} & true) >= 0.95 * len(true)
        centres = np.stack([got[:, 0] % GRID, got[:, 0] // GRID], 1) * PATCH_PX + (PATCH_PX - 1) / 2
        landed = warp_points(H / H[2, 2], centres) // PATCH_PX
        assert np.abs(landed - np.stack([got[:, 1] % GRID, got[:, 1] // GRID], 1)).max() <= 1
    again = mine_sequence(seq, CFG)
    assert [p.sha256 for p in again.pairs] == [p.sha256 for p in res.pairs]  # same seed, same bytes


def test_pose_correspondences_of_a_pure_rotation(recordings):
    (d0, K0, T0), (d1, K1, T1) = _frames(recordings / "turn")
    T_cam1_cam0 = np.linalg.inv(T1) @ T0
    R = T_cam1_cam0[:3, :3]
    assert np.allclose(T_cam1_cam0[:3, 3], 0, atol=1e-9)
    assert math.degrees(math.acos((np.trace(R) - 1) / 2)) == pytest.approx(TURN_DEG)
    samples = sample_pixels(GRID, PATCH_PX, 100, 0)
    corr = dict(pose_correspondences(d0, d1, K0, K1, T_cam1_cam0, samples, SIZE_PX, PATCH_PX).tolist())
    # the centre patch (row 5, col 5: pixels 40..47) turned left by 10 degrees lands to the right: its
    # centre (43.5, 43.5) is 4 px left of the principal point (47.5, f = 48 px), at atan(-4/48) = -4.8
    # degrees; +10 degrees puts it at 47.5 + 48 tan(5.2 deg) = 51.9 px -> column 6, same row
    centre = 5 * GRID + 5
    ray = np.linalg.inv(K0) @ np.array([43.5, 43.5, 1.0])
    u, v, w = K1 @ R @ ray
    expected = int(v / w) // PATCH_PX * GRID + int(u / w) // PATCH_PX
    assert expected == 5 * GRID + 6 and corr[centre] == expected
    assert 47.5 + 48 * math.tan(math.radians(TURN_DEG) - math.atan(4 / 48)) == pytest.approx(u / w)

    same = pose_correspondences(d0, d0, K0, K0, np.eye(4), samples, SIZE_PX, PATCH_PX)
    assert len(same) / GRID**2 == 1.0 and np.array_equal(same[:, 0], same[:, 1])
    # without valid depth every sample votes "outside"; where frame 1 sees something nearer the
    # point is occluded (depth disagrees by more than max(5 cm, 5 %))
    assert len(pose_correspondences(np.zeros_like(d0), d1, K0, K1, T_cam1_cam0, samples, SIZE_PX, PATCH_PX)) == 0
    assert len(pose_correspondences(d0, 0.8 * d1, K0, K1, T_cam1_cam0, samples, SIZE_PX, PATCH_PX)) == 0
    near = d1.copy()
    near[:, SIZE_PX // 2:] *= 0.8  # an occluder in front of the right half of frame 1
    part = pose_correspondences(d0, near, K0, K1, T_cam1_cam0, samples, SIZE_PX, PATCH_PX)
    assert 0 < len(part) < len(corr) and np.all(part[:, 1] % GRID < GRID // 2)


def test_prepared_depth_and_intrinsics_follow_the_frame():
    from embodied.types import CameraIntrinsics

    K = CameraIntrinsics.from_hfov(160, 120, 90.0)
    crop = prepare_intrinsics(K, 60, "crop")  # 120 x 120 centre square, then halved
    assert (crop.fx, crop.cx, crop.cy) == pytest.approx((40.0, 29.5, 29.5))
    stretch = prepare_intrinsics(K, 80, "stretch")
    assert (stretch.fx, stretch.fy, stretch.cx, stretch.cy) == pytest.approx((40.0, 80 / 1.5, 39.5, 39.5))
    depth = np.arange(120 * 160, dtype=np.float32).reshape(120, 160)
    d = prepare_depth(depth, 60, "crop")
    assert d.shape == (60, 60) and d[0, 0] == depth[1, 21] and d[59, 59] == depth[119, 20 + 119]
    assert prepare_depth(depth, 80, "stretch")[10, 10] == depth[15, 21]  # nearest, no blending


def test_without_poses_falls_back_to_the_homography(no_poses):
    assert not open_sequence(no_poses / "turn").has_poses
    res = mine_sequence(discover([no_poses])[0], MiningConfig(image_size_px=SIZE_PX, patch_size_px=PATCH_PX,
                                                                gap_frames=1))
    assert res.status == "ok" and res.pairs
    for p in res.pairs:
        m = p.meta
        assert m["overlap_method"] == "homography" and m["homography"] is not None and m["n_matches"] > 10
        assert "T_world_cam0" not in m and 0.5 < m["overlap"] < 0.75


def test_rgbd_overlap_switch(recordings):
    cfg = MiningConfig(image_size_px=SIZE_PX, patch_size_px=PATCH_PX, gap_frames=1, rgbd_overlap="homography")
    res = mine_sequence(discover([recordings])[0], cfg)
    assert res.status == "ok" and {p.meta["overlap_method"] for p in res.pairs} == {"homography"}
    with pytest.raises(ConfigError, match="rgbd_overlap must be one of"):
        MiningConfig(rgbd_overlap="depth")
