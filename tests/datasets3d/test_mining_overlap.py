"""MIMIC's overlap test: exact patch mapping under known homographies, the keep rule at its bounds,
agreement with the per-pixel reference procedure, and the config."""

from __future__ import annotations

import io

import numpy as np
import pytest

from datasets3d.mining import MiningConfig, OverlapTester, overlap_outcome, patch_correspondences, sample_pixels
from datasets3d.mining.miner import corresponding_npy
from datasets3d.mining.overlap import laplacian_var, to_gray, vote_patches, warp_points
from datasets3d.mining.reference import ReferenceTester, table_sampler
from embodied.errors import ConfigError

from .conftest import pan_frames, textured_strip

CFG = MiningConfig()
SAMPLES = sample_pixels(14, 16, 100, seed=0)


def shift(dx: float, dy: float = 0.0) -> np.ndarray:
    """Homography moving image content by (dx, dy) pixels."""
    return np.array([[1.0, 0.0, dx], [0.0, 1.0, dy], [0.0, 0.0, 1.0]])


def test_sample_pixels_are_seeded_and_inside_their_patch():
    a, b = sample_pixels(14, 16, 100, seed=3), sample_pixels(14, 16, 100, seed=3)
    assert a.shape == (196, 100, 2) and a.dtype == np.int32
    assert np.array_equal(a, b) and not np.array_equal(a, sample_pixels(14, 16, 100, seed=4))
    pid = np.arange(196)[:, None]
    assert np.all(a[..., 0] // 16 == pid % 14) and np.all(a[..., 1] // 16 == pid // 14)


def test_warp_matches_cv2_perspective_transform():
    import cv2

    rng = np.random.default_rng(1)
    H = np.array([[0.9, 0.05, 12.3], [-0.04, 1.1, -7.7], [1e-4, -2e-4, 1.0]])
    pts = rng.integers(0, 224, (500, 2)).astype(np.float32)
    ref = cv2.perspectiveTransform(pts.reshape(-1, 1, 2), H).reshape(-1, 2)
    assert np.array_equal(warp_points(H, pts), ref)


@pytest.mark.parametrize("k, expected_n", [(3, 154), (4, 140), (6, 112), (7, 98)])
def test_whole_patch_shift_maps_every_patch_exactly(k, expected_n):
    """Content moved k patches left: patch (r, c) of image 0 is patch (r, c - k) of image 1."""
    corr = patch_correspondences(shift(-16 * k), SAMPLES, 224, 16)
    expected = [[r * 14 + c, r * 14 + c - k] for r in range(14) for c in range(k, 14)]
    assert corr.tolist() == expected and len(corr) == expected_n


def test_sub_patch_shift_majority_vote():
    """53 px = 3 patches + 5 px: 11 of a patch's 16 columns land one patch over, so the majority goes to
    c - 3 in one direction and c + 3 in the other; 11 columns survive in both (154 patches)."""
    fwd = vote_patches(shift(-53), SAMPLES, 224, 16)
    cols = np.arange(196) % 14
    assert np.array_equal(fwd, np.where(cols >= 3, np.arange(196) - 3, 196))
    bwd = vote_patches(shift(53), SAMPLES, 224, 16)
    assert np.array_equal(bwd, np.where(cols <= 10, np.arange(196) + 3, 196))
    corr = patch_correspondences(shift(-53), SAMPLES, 224, 16)
    assert len(corr) == 154 and np.all(corr[:, 0] - corr[:, 1] == 3)


def test_zoom_is_one_to_one():
    """Zooming out 2x maps patches 2m and 2m + 1 of a row into patch m: 49 pairs survive, each target
    once, and every pair is consistent with the zoom."""
    corr = patch_correspondences(np.diag([0.5, 0.5, 1.0]), SAMPLES, 224, 16)
    assert len(corr) == 49
    assert len(set(corr[:, 0].tolist())) == 49 and len(set(corr[:, 1].tolist())) == 49
    (ra, ca), (rb, cb) = np.divmod(corr[:, 0], 14), np.divmod(corr[:, 1], 14)
    assert np.array_equal(ra // 2, rb) and np.array_equal(ca // 2, cb)
    fwd = vote_patches(np.diag([0.5, 0.5, 1.0]), SAMPLES, 224, 16)  # zooming out: every sample agrees
    r, c = np.divmod(np.arange(196), 14)
    assert np.array_equal(fwd, (r // 2) * 14 + c // 2)


@pytest.mark.parametrize("n, outcome", [(97, "overlap_low"), (98, "overlap_low"), (99, "kept"), (146, "kept"),
                                        (147, "overlap_high"), (148, "overlap_high")])
def test_keep_rule_bounds_are_exclusive(n, outcome):
    assert overlap_outcome(n, 196, 0.5, 0.75) == outcome


def test_keep_rule_on_real_homographies():
    """Exactly 50% (7 patches shifted) is dropped; 57% and 71% are kept; 79% is too high."""
    got = {k: overlap_outcome(len(patch_correspondences(shift(-16 * k), SAMPLES, 224, 16)), 196, 0.5, 0.75)
           for k in (3, 4, 6, 7)}
    assert got == {3: "overlap_high", 4: "kept", 6: "kept", 7: "overlap_low"}


def _tied_patches(H: np.ndarray, samples: np.ndarray) -> int:
    """Patches whose vote has two or more labels with the top count."""
    dst = warp_points(H, samples)
    inside = (dst >= 0).all(-1) & (dst < 224).all(-1)
    labels = np.where(inside, (dst[..., 1] // 16).astype(int) * 14 + (dst[..., 0] // 16).astype(int), 196)
    counts = np.stack([np.bincount(row, minlength=197) for row in labels])
    return int(np.sum((counts == counts.max(1, keepdims=True)).sum(1) > 1))


def test_vectorised_vote_equals_per_pixel_reference_including_ties():
    """Random perspective homographies and a half-patch shift (many tied votes): identical patch dicts."""
    ref = ReferenceTester(CFG, table_sampler(CFG))
    samples = sample_pixels(14, 16, 100, CFG.seed)
    rng = np.random.default_rng(7)
    hs = [shift(-8.0, -8.0)]
    for _ in range(3):
        hs.append(np.array([[1 + rng.normal(0, 0.08), rng.normal(0, 0.08), rng.normal(0, 40)],
                            [rng.normal(0, 0.08), 1 + rng.normal(0, 0.08), rng.normal(0, 40)],
                            [rng.normal(0, 4e-4), rng.normal(0, 4e-4), 1.0]]))
    for H in hs:
        ours = patch_correspondences(H, samples, 224, 16)
        d1, d2 = ref._patch_dict(H, 0), ref._patch_dict(np.linalg.inv(H), 1)
        want = d1 if len(d1) < len(d2) else {v: k for k, v in d2.items()}
        assert {int(a): int(b) for a, b in ours} == want
    assert _tied_patches(hs[0], samples) >= 5  # the tie rule was exercised


def test_tester_recovers_a_known_shift_and_keeps_the_pair():
    frames = pan_frames(3, step_px=33)
    t = OverlapTester(CFG)
    f0, f2 = t.features(frames[0]), t.features(frames[2])
    res = t.test(f0, f2)
    assert res.kept and res.n_matches > 50 and res.n_inliers > 40
    corners = np.array([[0, 0], [223, 0], [0, 223], [223, 223]], np.float32)
    assert np.abs(warp_points(res.homography, corners) - (corners - [66, 0])).max() < 1.0
    # 66 px = 4 patches + 2 px: 14 of 16 sample columns land 4 patches over, 10 columns survive
    assert np.array_equal(res.correspondences, patch_correspondences(shift(-66), t.samples, 224, 16))
    assert res.overlap == pytest.approx(140 / 196)
    assert t.counts == {"frames": 2, "pairs": 1} and all(v >= 0 for v in t.timings.values())
    assert t.test(f0, t.features(frames[1])).outcome == "overlap_high"  # 33 px: 12 of 14 columns


def test_flat_frames_have_no_matches_and_no_sharpness():
    flat = np.full((224, 224, 3), 128, np.uint8)
    t = OverlapTester(CFG)
    f = t.features(flat)
    assert f.sharpness == 0.0 and len(f.descriptors) == 0
    assert t.test(f, t.features(textured_strip(224))).outcome == "few_matches"
    assert laplacian_var(to_gray(textured_strip(224))) > 100


def test_epipolar_check_drops_inconsistent_matches():
    """Two unrelated textures: whatever few matches survive the ratio test cannot be explained."""
    t = OverlapTester(CFG.with_overrides({"epipolar": True, "min_matches": 4}))
    frames = pan_frames(3, step_px=33)
    assert t.test(t.features(frames[0]), t.features(frames[2])).kept  # a true pair passes
    r = t.test(t.features(textured_strip(224, seed=1)), t.features(textured_strip(224, seed=2)))
    assert not r.kept


def test_corresponding_npy_is_mimics_dict():
    corr = np.array([[3, 0], [4, 1], [17, 14]], np.int16)
    d = np.load(io.BytesIO(corresponding_npy(corr)), allow_pickle=True).item()
    assert d == {3: 0, 4: 1, 17: 14} and all(type(k) is int and type(v) is int for k, v in d.items())


def test_config_validation_and_overrides():
    with pytest.raises(ConfigError, match="at most one of gap_s and gap_frames"):
        MiningConfig(gap_s=1.0, gap_frames=5)
    with pytest.raises(ConfigError, match="overlap_min < overlap_max"):
        MiningConfig(overlap_min=0.8)
    with pytest.raises(ConfigError, match="multiple of patch_size_px"):
        MiningConfig(image_size_px=100)
    with pytest.raises(ConfigError, match="did you mean 'overlap_max'"):
        CFG.with_overrides({"overlap_mx": 0.7})
    c = MiningConfig(gap_s=2.0).with_overrides({"gap_frames": 5})
    assert c.gap_s is None and c.gap_in_frames(30.0) == 5
    assert CFG.gap_in_frames(29.97) == 30 and CFG.with_overrides({"gap_s": 0.01}).gap_in_frames(10) == 1
    assert MiningConfig(image_size_px=112, patch_size_px=8).n_patches == 196
