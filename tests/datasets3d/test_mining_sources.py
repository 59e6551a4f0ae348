"""Sources and per-sequence mining: videos, frame folders, bad input, built-in panoramas, habitat
(through the adapter and the test stand-in) and a rendered sequence with known camera rotations."""

from __future__ import annotations

import importlib
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from datasets3d.mining import MiningConfig, Sequence, builtin_sequences, discover, habitat_sequences, mine_sequence
from datasets3d.mining.overlap import patch_correspondences, sample_pixels, warp_points
from embodied.errors import ConfigError

from .conftest import pan_frames, write_frames, write_video

STEP = MiningConfig(gap_frames=1)  # the pan fixtures move 33 px per frame
SMALL = dict(image_size_px=112, patch_size_px=8, pano_render_px=128, samples_per_scene=2)


def video_seq(path: Path) -> Sequence:
    return discover([path])[0]


def test_discover_videos_and_frame_folders(tmp_path, pan_video):
    root = tmp_path / "data"
    (root / "clips").mkdir(parents=True)
    (root / "clips" / "a.mp4").write_bytes(pan_video.read_bytes())
    write_frames(root / "scan 1", pan_frames(2))
    (root / "notes.txt").write_text("ignored")
    seqs = discover([root])
    assert [(s.kind, s.source, s.name) for s in seqs] == [("video", "data", "clips_a"), ("frames", "data", "scan_1")]
    assert discover([pan_video])[0].unit_id == f"{pan_video.parent.name}/pan"
    assert discover([root], source="mine")[0].unit_id == "mine/clips_a"
    with pytest.raises(ConfigError, match="does not exist"):
        discover([tmp_path / "nope"])
    with pytest.raises(ConfigError, match="same sequence"):
        discover([pan_video, pan_video])
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="no videos"):
        discover([tmp_path / "empty"])
    assert [s.unit_id for s in builtin_sequences([3, 12])] == ["builtin/house-000003", "builtin/house-000012"]
    assert habitat_sequences(["/x/00800-TEEsavR23oF.basis.glb"])[0].unit_id == "habitat/00800-TEEsavR23oF"


def test_video_pairs_widen_when_overlap_is_too_high(pan_video):
    """1 frame apart overlaps 86% (too high) -> widened to 2 frames (71%, kept); next anchor = frame 2."""
    res = mine_sequence(video_seq(pan_video), STEP)
    assert res.status == "ok" and res.error is None and res.frames == 7
    assert [(p.meta["frame0"], p.meta["frame1"]) for p in res.pairs] == [("000000", "000002"), ("000002", "000004"),
                                                                         ("000004", "000006")]
    assert dict(res.outcomes) == {"overlap_high": 3, "kept": 3}
    for p in res.pairs:
        assert p.meta["gap_frames"] == 2 and p.meta["overlap"] == pytest.approx(140 / 196)
        assert np.all(p.correspondences[:, 0] - p.correspondences[:, 1] == 4)  # 66 px: 4 patches left
    # without widening the same video gives nothing; seconds convert with the video's 10 fps
    assert len(mine_sequence(video_seq(pan_video), STEP.with_overrides({"max_widen": 0})).pairs) == 0
    assert [p.meta["frame1"] for p in mine_sequence(video_seq(pan_video), MiningConfig(gap_s=0.2)).pairs] == [
        "000002", "000004", "000006"]


def test_imageio_fallback_decodes_like_opencv(pan_video):
    from dataclasses import replace

    from datasets3d.mining.sources import open_stream

    cv = open_stream(video_seq(pan_video), 224, "stretch", 30.0)
    ff = replace(cv, _backend="imageio", problems=[])
    a, b = list(cv.frames(2)), list(ff.frames(2))
    assert [i for i, _, _ in a] == [i for i, _, _ in b] == [0, 2, 4, 6] and cv.fps == 10.0
    assert all(np.abs(x.astype(int) - y.astype(int)).mean() < 2.0 for (_, x, _), (_, y, _) in zip(a, b))
    assert not cv.problems and not ff.problems and ff.n_decoded == 7


def test_frame_folder_matches_the_video(tmp_path):
    folder = write_frames(tmp_path / "seq", pan_frames(7))
    res = mine_sequence(discover([folder])[0], STEP)
    assert res.status == "ok" and [p.meta["frame1"] for p in res.pairs] == ["000002", "000004", "000006"]
    again = mine_sequence(discover([folder])[0], STEP)
    assert [p.sha256 for p in again.pairs] == [p.sha256 for p in res.pairs]  # deterministic


def test_bad_inputs_are_clear_errors(tmp_path, pan_video):
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(np.random.default_rng(0).integers(0, 256, 20000, dtype=np.uint8).tobytes())
    res = mine_sequence(video_seq(corrupt), STEP)
    assert res.status == "error" and "cannot decode video" in res.error and "corrupt" in res.error

    long_video = write_video(tmp_path / "long.mp4", pan_frames(40))
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(long_video.read_bytes()[: long_video.stat().st_size // 2])
    res = mine_sequence(video_seq(cut), STEP)
    if res.status == "partial":  # the first half decodes: its pairs are kept, the loss is recorded
        assert "truncated video: decoded" in res.error and 2 <= res.frames < 40 and len(res.pairs) >= 1
    else:
        assert res.status == "error" and "cannot decode video" in res.error

    one = write_frames(tmp_path / "one", pan_frames(1))
    res = mine_sequence(discover([one])[0], STEP)
    assert res.status == "error" and "has 1 frame; at least 2 are needed" in res.error
    res = mine_sequence(video_seq(pan_video), MiningConfig(gap_s=1.0))
    assert res.status == "error" and "fewer than 2 at a gap of 10 frames" in res.error and "--gap" in res.error

    broken = write_frames(tmp_path / "broken", pan_frames(7))
    (broken / "frame3.png").write_bytes(b"not a png")
    res = mine_sequence(discover([broken])[0], STEP)
    assert res.status == "partial" and "unreadable frame frame3.png" in res.error
    assert res.outcomes["unreadable"] == 2  # (2, 3) and (3, 4)
    assert [(p.meta["frame0"], p.meta["frame1"]) for p in res.pairs] == [("000000", "000002"), ("000004", "000006")]

    blurry = write_frames(tmp_path / "blurry", [np.full((224, 224, 3), 90, np.uint8)] * 3)
    res = mine_sequence(discover([blurry])[0], STEP)
    assert res.status == "ok" and dict(res.outcomes) == {"blurry": 2} and not res.pairs


def test_builtin_panoramas_are_deterministic_and_in_range():
    cfg = MiningConfig(**SMALL)
    seq = builtin_sequences([2])[0]
    res = mine_sequence(seq, cfg)
    assert res.status == "ok" and res.frames == 2 * 24
    assert sum(res.outcomes.values()) == 2 * 8 * 16  # every A view against every B and C view
    assert res.outcomes["kept"] == len(res.pairs) >= 1
    for p in res.pairs:
        m = p.meta
        assert 0.5 < m["overlap"] < 0.75 and m["frame0"][7] == "A" and m["frame1"][7] in "BC"
        assert 1.2 <= m["sensor_height_m"] <= 1.8
        T0, T1 = np.array(m["T_world_cam0"]), np.array(m["T_world_cam1"])
        assert abs(T0[2, 3] - m["sensor_height_m"]) < 1e-6 and np.linalg.norm(T0[:2, 3] - T1[:2, 3]) <= 2.0 + 1e-6
    again = mine_sequence(seq, cfg)
    assert [p.sha256 for p in again.pairs] == [p.sha256 for p in res.pairs]


def test_rendered_rotation_sequence_matches_the_true_homography(tmp_path):
    """Frames rendered in a built-in house while turning in place by 6 degrees: a pure rotation, so the
    true homography is K R K^-1: the mined patch pairs must agree with it.
    6 degrees overlap about 85% (too high), so pairs are widened to 12 degrees (about 67%)."""
    from embodied import geometry
    from embodied.types import CameraIntrinsics
    from sims.raycast.house import generate_house
    from sims.raycast.render import Renderer

    scene = generate_house(3)
    K = CameraIntrinsics.from_hfov(224, 224, 90.0)
    renderer = Renderer(scene, threads=1)
    pos = np.array([*_open_point(scene), 1.5])
    poses = [geometry.camera_pose(pos, 1.9 - math.radians(6 * k)) for k in range(9)]
    frames = [renderer.render(T, K).rgb for T in poses]
    renderer.close()
    cfg = MiningConfig(gap_frames=1)
    res = mine_sequence(discover([write_frames(tmp_path / "turn", frames)])[0], cfg)
    assert res.status == "ok" and len(res.pairs) >= 3 and res.outcomes["overlap_high"] >= 3
    samples = sample_pixels(14, 16, 100, cfg.seed)
    for p in res.pairs:
        i, j = int(p.meta["frame0"]), int(p.meta["frame1"])
        assert j - i == 2
        R = poses[j][:3, :3].T @ poses[i][:3, :3]  # camera i -> camera j
        H = K.K @ R @ np.linalg.inv(K.K)
        true = patch_correspondences(H / H[2, 2], samples, 224, 16)
        got = p.correspondences.astype(int)
        centres = np.stack([got[:, 0] % 14, got[:, 0] // 14], 1) * 16 + 7.5
        landed = warp_points(H / H[2, 2], centres) // 16  # (col, row) of the true target patch
        off = np.abs(landed - np.stack([got[:, 1] % 14, got[:, 1] // 14], 1)).max(1)
        assert abs(len(got) - len(true)) <= 0.05 * len(true), (i, j)
        assert off.max() <= 1, (i, j)  # every matched patch's centre truly lands in or next to its partner


def _open_point(scene) -> np.ndarray:
    from scipy import ndimage

    from sims.raycast.navigation import build_navgrid

    nav = build_navgrid(scene, 0.18, 1.5, 0.05)
    clearance = ndimage.distance_transform_edt(nav.navigable & nav.largest_component())
    r, c = np.unravel_index(int(np.argmax(clearance)), nav.shape)
    return nav.cell_center(int(r), int(c))


@pytest.fixture
def habitat_stand_in(monkeypatch):
    """tests/fakes/habitat_sim importable as habitat_sim for one test (built-in houses by file name)."""
    fakes = str(Path(__file__).resolve().parents[1] / "fakes")
    for k in [k for k in sys.modules if k == "habitat_sim" or k.startswith("habitat_sim.")]:
        monkeypatch.delitem(sys.modules, k)
    monkeypatch.syspath_prepend(fakes)
    importlib.invalidate_caches()
    hs = importlib.import_module("habitat_sim")
    assert hs.IS_TEST_STAND_IN
    yield hs
    for k in [k for k in sys.modules if k == "habitat_sim" or k.startswith("habitat_sim.")]:
        sys.modules.pop(k, None)


def test_habitat_panoramas_through_the_adapter(tmp_path, habitat_stand_in):
    scene = tmp_path / "house-000002.glb"
    scene.write_bytes(b"")
    cfg = MiningConfig(**SMALL)
    res = mine_sequence(habitat_sequences([str(scene)])[0], cfg)
    assert res.status == "ok", res.error
    assert res.frames == 2 * 24 and sum(res.outcomes.values()) == 2 * 8 * 16
    heights = {round(p.meta["sensor_height_m"], 6) for p in res.pairs}
    assert len(heights) <= 1 and all(1.2 <= h <= 1.8 for h in heights)  # one camera height per scene
    for p in res.pairs:
        assert 0.5 < p.meta["overlap"] < 0.75
