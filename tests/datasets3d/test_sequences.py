"""datasets3d.sequences on tiny sequences rendered here: a camera moving in a box room (32x24 px)."""

import json
import math

import numpy as np
import pytest

from datasets3d.sequences import (SEQUENCE_FORMATS, RGBDSequence, SequenceError, open_sequence, sequence_format,
                                  write_folder_sequence)
from embodied import geometry
from embodied.errors import ConfigError
from embodied.rgbd import observation_from_rgbd
from embodied.types import NO_DEPTH, CameraIntrinsics, Observation

cv2 = pytest.importorskip("cv2")
Rotation = pytest.importorskip("scipy.spatial.transform").Rotation

K = CameraIntrinsics(32, 24, 20.0, 20.0, 15.5, 11.5)
ROOM_MIN, ROOM_MAX = np.array([-2.0, -1.5, 0.0]), np.array([2.0, 1.5, 2.5])
FLOOR = 4  # surface id of z = ROOM_MIN (axis 2, low side)
CAMERA_HEIGHT_M = 1.2


def render_room(T_world_cam: np.ndarray, K: CameraIntrinsics = K):
    """Ray-cast the inside of the box room: rgb (H, W, 3) uint8, z-depth (H, W) float32 metres and
    surface (H, W) int (2 * axis + 1 for the high wall of that axis, + 0 for the low one)."""
    u, v = np.meshgrid(np.arange(K.width), np.arange(K.height))
    rays = np.stack([(u - K.cx) / K.fx, (v - K.cy) / K.fy, np.ones(u.shape)], -1) @ T_world_cam[:3, :3].T
    c = T_world_cam[:3, 3]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(rays > 0, (ROOM_MAX - c) / rays, (ROOM_MIN - c) / rays)
    t[~np.isfinite(t) | (t <= 0)] = np.inf
    axis = t.argmin(-1)
    depth = t.min(-1)  # the camera-frame ray has z = 1, so the ray parameter is the z-depth
    high = np.take_along_axis(rays, axis[..., None], -1)[..., 0] > 0
    surface = 2 * axis + high
    hit = c + rays * depth[..., None]
    checker = (np.floor(hit * 2).sum(-1) % 2).astype(np.uint8)
    palette = np.array([[200, 40, 40], [40, 200, 40], [40, 40, 200], [200, 200, 40], [120, 120, 120],
                        [230, 230, 230]], np.uint8)
    rgb = (palette[surface] * (0.6 + 0.4 * checker[..., None])).astype(np.uint8)
    return rgb, depth.astype(np.float32), surface


def room_poses(n: int = 5) -> list[np.ndarray]:
    """T_world_cam (Z-up room frame) of ``n`` cameras at 1.2 m looking 25 deg down, turning."""
    return [geometry.camera_pose(np.array([-1.0 + 0.5 * k, 0.3 * math.sin(k), CAMERA_HEIGHT_M]), 0.6 * k - 1.0,
                                 tilt_rad=-math.radians(25)) for k in range(n)]


def room_observations(n: int = 5) -> list[Observation]:
    out = []
    for k, T in enumerate(room_poses(n)):
        rgb, depth, _ = render_room(T)
        out.append(observation_from_rgbd(rgb, depth, K, T, step=k))
    return out


def T_mocap_room() -> np.ndarray:
    """A Y-up, tilted (3 deg), offset motion-capture frame, as TUM's (room z -> mocap y)."""
    z_to_y = np.array([[1.0, 0, 0], [0, 0, 1], [0, -1, 0]])
    tilt = Rotation.from_rotvec(np.radians(3.0) * np.array([0.6, 0.0, 0.8])).as_matrix()
    return geometry.make_transform(tilt @ z_to_y, [0.7, -1.1, 2.3])


def write_png16(path, raw):
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), np.asarray(raw, np.uint16))


def write_rgb(path, rgb):
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), np.ascontiguousarray(rgb[..., ::-1]))


def write_tum(root, *, rgb_times, depth_times, poses_world, gt_times=None, T_mocap_world=None, intrinsics=True,
              K=K):
    """A TUM-layout sequence: frame k rendered from poses_world[k], stored under rgb_times[k] /
    depth_times[k]; groundtruth (in T_mocap_world's frame) at gt_times[k] when given."""
    root.mkdir(parents=True, exist_ok=True)
    T_mw = np.eye(4) if T_mocap_world is None else T_mocap_world
    rgb_lines, depth_lines, gt_lines = ["# colour images"], ["# depth maps"], ["# timestamp tx ty tz qx qy qz qw"]
    for k, T in enumerate(poses_world):
        rgb, depth, _ = render_room(T, K)
        write_rgb(root / "rgb" / f"{rgb_times[k]:.6f}.png", rgb)
        write_png16(root / "depth" / f"{depth_times[k]:.6f}.png", np.round(depth * 5000))
        rgb_lines.append(f"{rgb_times[k]:.6f} rgb/{rgb_times[k]:.6f}.png")
        depth_lines.append(f"{depth_times[k]:.6f} depth/{depth_times[k]:.6f}.png")
        if gt_times is not None:
            T_m = T_mw @ T
            q = Rotation.from_matrix(T_m[:3, :3]).as_quat()  # x y z w
            gt_lines.append(f"{gt_times[k]:.4f} " + " ".join(f"{v:.9f}" for v in (*T_m[:3, 3], *q)))
    (root / "rgb.txt").write_text("\n".join(rgb_lines) + "\n")
    (root / "depth.txt").write_text("\n".join(depth_lines) + "\n")
    if gt_times is not None:
        (root / "groundtruth.txt").write_text("\n".join(gt_lines) + "\n")
    if intrinsics:
        (root / "intrinsics.json").write_text(json.dumps(
            {"width": K.width, "height": K.height, "fx": K.fx, "fy": K.fy, "cx": K.cx, "cy": K.cy}))
    return root


TIMES = [0.0, 1 / 30, 2 / 30, 3 / 30, 4 / 30]


# --------------------------------------------------------------------------- folder format
def test_folder_round_trip(tmp_path):
    obs = room_observations()
    out = write_folder_sequence(tmp_path / "seq", obs)
    assert out == tmp_path / "seq" and sorted(p.name for p in out.iterdir()) == ["camera.json", "depth", "poses.json",
                                                                                  "rgb"]
    seq = open_sequence(out)
    assert isinstance(seq, RGBDSequence) and (seq.format, seq.name, seq.path, len(seq)) == ("folder", "seq", out, 5)
    assert seq.intrinsics == K and seq.has_poses and np.array_equal(seq.T_align, np.eye(4))
    for a, b in zip(obs, seq):
        b.validate()
        assert np.abs(b.depth - a.depth).max() < 1e-3 and b.depth.dtype == np.float32
        np.testing.assert_array_equal(b.rgb, a.rgb)
        np.testing.assert_allclose(b.T_world_cam, a.T_world_cam, atol=1e-6)
        assert b.agent_pose.yaw_rad == pytest.approx(a.agent_pose.yaw_rad)
        assert b.step == a.step and b.extras == {"timestamp_s": None, "frame": f"{a.step:06d}.png", "source": "folder"}
    assert seq.frame(-1).step == 4 and seq.frame(-1).extras["frame"] == "000004.png"
    with pytest.raises(IndexError, match="out of range"):
        seq.frame(5)


def test_folder_stride_max_frames_and_max_depth(tmp_path):
    write_folder_sequence(tmp_path / "seq", room_observations())
    seq = open_sequence(tmp_path / "seq", stride=2, max_frames=2, max_depth_m=2.0)
    assert [o.extras["frame"] for o in seq] == ["000000.png", "000002.png"] and [o.step for o in seq] == [0, 1]
    depth = seq.frame(1).depth
    assert depth.max() <= 2.0 and (depth == NO_DEPTH).any()
    with pytest.raises(SequenceError, match="stride"):
        open_sequence(tmp_path / "seq", stride=0)


def test_folder_poses_txt_and_natural_order(tmp_path):
    root = tmp_path / "mine"
    poses = room_poses(3)
    lines = []
    for stem, T in zip(["frame10", "frame2", "frame1"], poses):
        rgb, depth, _ = render_room(T)
        write_rgb(root / "rgb" / f"{stem}.jpg", rgb)
        write_png16(root / "depth" / f"{stem}.png", np.round(depth * 1000))
        q = Rotation.from_matrix(T[:3, :3]).as_quat()
        lines.append(f"{stem} " + " ".join(f"{v:.10f}" for v in (*T[:3, 3], *q)))
    (root / "poses.txt").write_text("# name tx ty tz qx qy qz qw\n" + "\n".join(lines) + "\n")
    (root / "camera.json").write_text(json.dumps({"width": 32, "height": 24, "fx": 20, "fy": 20, "cx": 15.5,
                                                  "cy": 11.5, "depth_invalid": [0, 65535]}))
    seq = open_sequence(root)
    assert [o.extras["frame"] for o in seq] == ["frame1.jpg", "frame2.jpg", "frame10.jpg"]
    np.testing.assert_allclose(seq.frame(0).T_world_cam, poses[2], atol=1e-6)
    np.testing.assert_allclose(seq.frame(2).T_world_cam, poses[0], atol=1e-6)


def test_folder_distortion_is_undistorted_on_read(tmp_path):
    write_folder_sequence(tmp_path / "seq", room_observations(2))
    cam = json.loads((tmp_path / "seq" / "camera.json").read_text())
    (tmp_path / "seq" / "camera.json").write_text(json.dumps({**cam, "distortion": [0.2, -0.1, 0, 0, 0]}))
    plain = open_sequence(tmp_path / "seq").frame(0)
    assert plain.intrinsics == K
    values = set(np.unique(plain.depth).tolist())
    cam["distortion"] = [0.0] * 5
    (tmp_path / "seq" / "camera.json").write_text(json.dumps(cam))
    raw = open_sequence(tmp_path / "seq").frame(0)
    assert values <= set(np.unique(raw.depth).tolist()) | {NO_DEPTH}  # nearest: no new depth values
    assert not np.array_equal(plain.depth, raw.depth)


# --------------------------------------------------------------------------- TUM
def test_tum_association_drops_frames_without_depth(tmp_path, caplog):
    depth_times = [t + 0.004 for t in TIMES]
    depth_times[2] = TIMES[2] + 0.025  # no depth within 0.02 s of the third colour frame
    gt_times = [t - 0.006 for t in TIMES]
    root = write_tum(tmp_path / "tum_seq", rgb_times=TIMES, depth_times=depth_times, poses_world=room_poses(),
                     gt_times=gt_times)
    seq = open_sequence(root, align_floor=False)
    assert seq.format == "tum" and len(seq) == 4 and seq.has_poses
    assert [o.extras["timestamp_s"] for o in seq] == pytest.approx([TIMES[k] for k in (0, 1, 3, 4)], abs=1e-6)
    assert [o.extras["frame"] for o in seq] == [f"{TIMES[k]:.6f}.png" for k in (0, 1, 3, 4)]
    assert "1 of 5 colour frames have no depth" in caplog.text
    np.testing.assert_allclose(seq.frame(2).T_world_cam, room_poses()[3], atol=1e-6)


def test_tum_pose_association_and_no_groundtruth(tmp_path):
    gt_times = [TIMES[0], TIMES[1] + 0.03, TIMES[2], TIMES[3], TIMES[4]]  # frame 1 has no pose nearby
    root = write_tum(tmp_path / "a", rgb_times=TIMES, depth_times=TIMES, poses_world=room_poses(), gt_times=gt_times)
    assert len(open_sequence(root, align_floor=False)) == 4
    (root / "groundtruth.txt").unlink()
    seq = open_sequence(root)
    assert len(seq) == 5 and not seq.has_poses and np.array_equal(seq.T_align, np.eye(4))
    assert seq.frame(0).agent_pose is None
    with pytest.raises(SequenceError, match="needs camera poses"):
        open_sequence(root, align_floor=True)


def test_tum_depth_scale_5000(tmp_path):
    root = write_tum(tmp_path / "s", rgb_times=TIMES[:2], depth_times=TIMES[:2], poses_world=room_poses(2))
    _, depth, _ = render_room(room_poses(2)[0])
    raw = np.round(depth * 5000)
    raw[0, 0], raw[0, 1] = 12345, 0
    write_png16(root / "depth" / f"{TIMES[0]:.6f}.png", raw)
    got = open_sequence(root).frame(0).depth
    assert got[0, 0] == pytest.approx(2.469) and got[0, 1] == NO_DEPTH
    assert np.abs(got[1:] - depth[1:]).max() <= 0.5 / 5000 + 1e-6


@pytest.mark.parametrize("fmt", ["tum", "folder"])
def test_floor_alignment_of_a_y_up_tilted_trajectory(tmp_path, fmt):
    T_mw = T_mocap_room()
    poses = room_poses()
    if fmt == "tum":
        root = write_tum(tmp_path / "t", rgb_times=TIMES, depth_times=TIMES, poses_world=poses, gt_times=TIMES,
                         T_mocap_world=T_mw)
    else:
        obs = [observation_from_rgbd(o.rgb, o.depth, K, T_mw @ o.T_world_cam) for o in room_observations()]
        root = write_folder_sequence(tmp_path / "f", obs)
        cam = json.loads((root / "camera.json").read_text())
        (root / "camera.json").write_text(json.dumps({**cam, "z_up": False}))
    seq = open_sequence(root)
    assert geometry.is_rigid_transform(seq.T_align) and not np.allclose(seq.T_align, np.eye(4), atol=0.1)
    for k, o in enumerate(seq):
        floor = render_room(poses[k])[2] == FLOOR
        pts, idx = geometry.depth_to_world_points(o.depth, K.K, o.T_world_cam)
        on_floor = floor.reshape(-1)[idx]
        assert on_floor.sum() > 50 and np.abs(pts[on_floor, 2]).max() < 0.01
        assert o.T_world_cam[2, 3] == pytest.approx(CAMERA_HEIGHT_M, abs=0.01)
        assert o.agent_pose.position_m[2] == 0.0
    unaligned = open_sequence(root, align_floor=False)
    np.testing.assert_allclose(unaligned.frame(0).T_world_cam, T_mw @ poses[0], atol=1e-6)


def test_tum_default_intrinsics_from_folder_name(tmp_path):
    big = CameraIntrinsics(640, 480, 517.3, 516.5, 318.6, 255.3)
    pose = [geometry.camera_pose(np.array([0.0, 0.0, 1.2]), 0.3, tilt_rad=-0.4)]
    root = write_tum(tmp_path / "rgbd_dataset_freiburg1_xyz", rgb_times=[0.0], depth_times=[0.0], poses_world=pose,
                     intrinsics=False, K=big)
    seq = open_sequence(root)
    assert seq.intrinsics == big
    obs = seq.frame(0)  # undistorted with freiburg1's coefficients
    assert obs.rgb.shape == (480, 640, 3) and obs.depth.shape == (480, 640)
    raw_values = set(np.unique(np.round(render_room(pose[0], big)[1] * 5000) / 5000).astype(np.float32).tolist())
    assert set(np.unique(obs.depth).tolist()) <= raw_values | {NO_DEPTH}
    (tmp_path / "rgbd_dataset_freiburg1_xyz").rename(tmp_path / "rgbd_dataset_freiburg3_long_office")
    K3 = open_sequence(tmp_path / "rgbd_dataset_freiburg3_long_office").intrinsics
    assert (K3.fx, K3.fy, K3.cx, K3.cy) == (535.4, 539.2, 320.1, 247.6)
    (tmp_path / "rgbd_dataset_freiburg3_long_office").rename(tmp_path / "my_recording")
    Kd = open_sequence(tmp_path / "my_recording").intrinsics
    assert (Kd.width, Kd.height, Kd.fx, Kd.fy, Kd.cx, Kd.cy) == (640, 480, 525.0, 525.0, 319.5, 239.5)


# --------------------------------------------------------------------------- ScanNet
def write_scannet(root, poses, *, lost=()):
    for d in ("color", "depth", "pose", "intrinsic"):
        (root / d).mkdir(parents=True, exist_ok=True)
    K4 = np.eye(4)
    K4[:3, :3] = K.K
    np.savetxt(root / "intrinsic" / "intrinsic_depth.txt", K4)
    np.savetxt(root / "intrinsic" / "intrinsic_color.txt", np.diag([2.0, 2.0, 1.0, 1.0]) @ K4)
    for k, T in enumerate(poses):
        big = CameraIntrinsics(64, 48, 2 * K.fx, 2 * K.fy, 2 * K.cx + 0.5, 2 * K.cy + 0.5)
        rgb = render_room(T, big)[0]
        assert cv2.imwrite(str(root / "color" / f"{k}.jpg"), np.ascontiguousarray(rgb[..., ::-1]))
        write_png16(root / "depth" / f"{k}.png", np.round(render_room(T)[1] * 1000))
        np.savetxt(root / "pose" / f"{k}.txt", np.full((4, 4), -np.inf) if k in lost else T)
    return root


def test_scannet_layout(tmp_path, caplog):
    poses = room_poses(5)
    root = write_scannet(tmp_path / "scene0000_00", poses, lost=(1,))
    seq = open_sequence(root)
    assert seq.format == "scannet" and len(seq) == 4 and seq.intrinsics == K
    assert "1 of 5 frames have an invalid (-inf) pose" in caplog.text
    assert np.array_equal(seq.T_align, np.eye(4))  # ScanNet is Z-up already
    obs = list(seq)
    assert [o.extras["frame"] for o in obs] == ["0.jpg", "2.jpg", "3.jpg", "4.jpg"]
    assert obs[1].rgb.shape == (24, 32, 3)  # 64x48 colour resized to the depth size
    np.testing.assert_allclose(obs[1].T_world_cam, poses[2], atol=1e-6)
    assert np.abs(obs[1].depth - render_room(poses[2])[1]).max() <= 0.0005 + 1e-6


# --------------------------------------------------------------------------- detection and errors
def test_format_detection(tmp_path):
    write_folder_sequence(tmp_path / "f", room_observations(1))
    write_tum(tmp_path / "t", rgb_times=[0.0], depth_times=[0.0], poses_world=room_poses(1))
    write_scannet(tmp_path / "s", room_poses(1))
    assert [sequence_format(tmp_path / n) for n in "fts"] == ["folder", "tum", "scannet"]
    assert list(SEQUENCE_FORMATS) == ["tum", "scannet", "folder"]
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("hi")
    with pytest.raises(SequenceError, match="not a known RGB-D sequence") as err:
        sequence_format(tmp_path / "empty")
    assert all(s in str(err.value) for s in ("notes.txt", "rgb.txt", "intrinsic_depth.txt", "camera.json"))
    with pytest.raises(SequenceError, match="does not exist"):
        open_sequence(tmp_path / "nowhere")
    with pytest.raises(SequenceError, match="unknown sequence format 'kitti'"):
        open_sequence(tmp_path / "f", format="kitti")
    assert issubclass(SequenceError, ConfigError)


@pytest.fixture
def folder_seq(tmp_path):
    return write_folder_sequence(tmp_path / "seq", room_observations(3))


def test_error_corrupt_png(folder_seq):
    bad = folder_seq / "depth" / "000001.png"
    bad.write_bytes(b"\x89PNG not really")
    seq = open_sequence(folder_seq)  # reading is lazy
    with pytest.raises(SequenceError, match="cannot decode depth image") as err:
        seq.frame(1)
    assert str(bad) in str(err.value)
    (folder_seq / "rgb" / "000002.png").write_bytes(b"garbage")
    with pytest.raises(SequenceError, match="000002.png"):
        seq.frame(2)


def test_error_depth_not_16_bit_or_wrong_size(folder_seq):
    seq = open_sequence(folder_seq)
    assert cv2.imwrite(str(folder_seq / "depth" / "000000.png"), np.zeros((24, 32), np.uint8))
    with pytest.raises(SequenceError, match=r"000000\.png is uint8 .*16-bit"):
        seq.frame(0)
    write_png16(folder_seq / "depth" / "000001.png", np.zeros((12, 16)))
    with pytest.raises(SequenceError, match=r"000001\.png is 16x12, but the camera is 32x24"):
        seq.frame(1)


def test_error_missing_depth_and_no_frames(folder_seq):
    (folder_seq / "depth" / "000001.png").unlink()
    with pytest.raises(SequenceError, match=r"missing depth image .*depth/000001\.png for colour frame 000001\.png"):
        open_sequence(folder_seq)
    for p in (folder_seq / "rgb").iterdir():
        p.unlink()
    with pytest.raises(SequenceError, match=r"no frames in .*no colour image .* in .*rgb"):
        open_sequence(folder_seq)


def test_error_nan_pose(folder_seq, tmp_path):
    poses = json.loads((folder_seq / "poses.json").read_text())
    poses["000001"][0][3] = float("nan")
    (folder_seq / "poses.json").write_text(json.dumps(poses))
    with pytest.raises(SequenceError, match=r"NaN in pose of frame '000001' in .*poses\.json"):
        open_sequence(folder_seq)
    root = write_tum(tmp_path / "t", rgb_times=TIMES[:2], depth_times=TIMES[:2], poses_world=room_poses(2),
                     gt_times=TIMES[:2])
    lines = (root / "groundtruth.txt").read_text().splitlines()
    (root / "groundtruth.txt").write_text("\n".join(lines[:2] + [lines[2].rsplit(" ", 1)[0] + " nan"]) + "\n")
    with pytest.raises(SequenceError, match=r"NaN in pose .*groundtruth\.txt"):
        open_sequence(root)


def test_error_missing_files_and_bad_camera(folder_seq, tmp_path):
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "rgb.txt").write_text("0.0 rgb/0.png\n")
    with pytest.raises(SequenceError, match=r"missing .*depth\.txt"):
        open_sequence(tmp_path / "t", format="tum")
    with pytest.raises(SequenceError, match=r"missing .*intrinsic_depth\.txt"):
        open_sequence(folder_seq, format="scannet")
    cam = json.loads((folder_seq / "camera.json").read_text())
    (folder_seq / "camera.json").write_text(json.dumps({**cam, "depth_scal": 1000}))
    with pytest.raises(SequenceError, match=r"unknown key 'depth_scal' in camera file .*camera\.json; did you mean "
                                            "'depth_scale'"):
        open_sequence(folder_seq)
    del cam["fx"]
    (folder_seq / "camera.json").write_text(json.dumps(cam))
    with pytest.raises(SequenceError, match=r"camera\.json lacks fx"):
        open_sequence(folder_seq)
    with pytest.raises(SequenceError, match="not an empty folder"):
        write_folder_sequence(folder_seq, room_observations(1))
    with pytest.raises(SequenceError, match="no depth"):
        write_folder_sequence(tmp_path / "new", [observation_from_rgbd(np.zeros((24, 32, 3), np.uint8), None, K)])
    assert not (tmp_path / "new").exists() and not list(tmp_path.glob(".new.tmp-*"))
