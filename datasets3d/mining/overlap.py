"""MIMIC's pair test, vectorised: SIFT features once per frame, kNN ratio matching, a RANSAC
homography, and patch correspondences by warping sampled pixels and voting.

The rule is MIMIC's (``RAIVNLab/MIMIC/datasets/utils.py`` and ``syn_utils.py::overlap``), decision for
decision:

1. SIFT on the grey frame; brute-force kNN (k = 2, L2); keep a match when ``d1 < ratio * d2``;
   the pair needs more than ``min_matches`` good matches.
2. ``cv2.findHomography(src, dst, RANSAC, ransac_reproj_px)``.
3. For every patch of image 0, warp ``samples_per_patch`` pixels with H (pixels at integer
   coordinates, warped as ``cv2.perspectiveTransform`` does: float64 arithmetic, float32 result);
   a warped pixel outside ``[0, W) x [0, H)`` votes "outside", else for the patch it lands in. The
   majority wins; on a tie the label that reached the top count first (in sample order) wins, as
   MIMIC's ``find_majority`` does. Walking the patches in order, a patch keeps its target unless the
   target is "outside" or was taken by an earlier patch (one-to-one).
4. The same from image 1 with H^-1; keep the direction with fewer correspondences (image 0 -> 1 on a
   strict "fewer", else the inverse of 1 -> 0).
5. Keep the pair when ``overlap_min < correspondences / patches < overlap_max``.

MIMIC draws fresh random pixels for every patch of every pair; here one table of pixel offsets is
drawn from ``seed`` and used for every pair, so a run is reproducible.

For frames with depth and camera poses (recorded RGB-D sequences), :func:`pose_correspondences`
replaces step 1-3's homography by geometry: the same sampled pixels are unprojected with their depth,
moved by the relative pose, projected and kept where the other frame's depth agrees (occlusion test);
steps 3-5 (majority vote, one-to-one, both directions, the range check) are the same.
"""

from __future__ import annotations

import time
from collections.abc import MutableMapping
from dataclasses import dataclass

import numpy as np

from datasets3d.mining.config import MiningConfig

__all__ = [
    "OUTCOMES",
    "FrameFeatures",
    "PairTest",
    "OverlapTester",
    "to_gray",
    "laplacian_var",
    "sample_pixels",
    "warp_points",
    "vote_patches",
    "one_to_one",
    "patch_correspondences",
    "majority_labels",
    "pose_labels",
    "pose_correspondences",
    "overlap_outcome",
    "correspondence_dict",
]

OUTCOMES = ("kept", "blurry", "few_matches", "no_homography", "epipolar", "overlap_low", "overlap_high")
"""Outcomes of one pair test; everything but "kept" is a reason to drop the pair."""

_FLT_EPSILON = float(np.finfo(np.float32).eps)


@dataclass(frozen=True)
class FrameFeatures:
    """SIFT features of one frame.

    Attributes:
        keypoints_px: (N, 2) float32 keypoint positions (x, y).
        descriptors: (N, 128) float32 SIFT descriptors (N may be 0).
        sharpness: variance of the Laplacian of the grey frame (float64).
    """

    keypoints_px: np.ndarray
    descriptors: np.ndarray
    sharpness: float


@dataclass(frozen=True)
class PairTest:
    """The result of testing one pair.

    Attributes:
        outcome: one of :data:`OUTCOMES`.
        overlap: corresponding patches / all patches, when a homography was found, else None.
        n_matches: good (ratio-test) matches.
        n_inliers: RANSAC homography inliers (0 without a homography).
        homography: (3, 3) float64 mapping image 0 pixels to image 1, or None.
        correspondences: (K, 2) int16 rows (patch in image 0, patch in image 1), sorted by the first
            column, or None without a homography.
    """

    outcome: str
    overlap: float | None = None
    n_matches: int = 0
    n_inliers: int = 0
    homography: np.ndarray | None = None
    correspondences: np.ndarray | None = None

    @property
    def kept(self) -> bool:
        return self.outcome == "kept"


def to_gray(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> (H, W) uint8 grey (OpenCV's weights, as MIMIC)."""
    import cv2

    return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)


def laplacian_var(gray: np.ndarray) -> float:
    """Variance of the Laplacian of a (H, W) uint8 image: low means blurry or texture-less."""
    import cv2

    return float(cv2.Laplacian(gray, cv2.CV_64F).var())


def sample_pixels(grid: int, patch_px: int, samples_per_patch: int, seed: int) -> np.ndarray:
    """(grid * grid, samples_per_patch, 2) int32 pixel (x, y) samples, uniform with replacement inside
    each patch (row-major patch order, as MIMIC's ``get_random_pixels_from_patch``), fixed by ``seed``."""
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 0x5A3D])
    n = grid * grid
    flat = rng.integers(0, patch_px * patch_px, size=(n, samples_per_patch))
    pid = np.arange(n)[:, None]
    x = (pid % grid) * patch_px + flat % patch_px
    y = (pid // grid) * patch_px + flat // patch_px
    return np.stack([x, y], -1).astype(np.int32)


def warp_points(H: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Apply homography ``H`` (3, 3) to (..., 2) points exactly as ``cv2.perspectiveTransform`` does for
    float32 points: float64 arithmetic, a float32 result, and (0, 0) where ``|w| <= FLT_EPSILON``."""
    m = np.asarray(H, np.float64).ravel()
    x = xy[..., 0].astype(np.float32).astype(np.float64)
    y = xy[..., 1].astype(np.float32).astype(np.float64)
    w = x * m[6] + y * m[7] + m[8]
    ok = np.abs(w) > _FLT_EPSILON
    inv = np.divide(1.0, w, out=np.zeros_like(w), where=ok)
    out = np.empty(xy.shape, np.float32)
    out[..., 0] = np.where(ok, (x * m[0] + y * m[1] + m[2]) * inv, 0.0)
    out[..., 1] = np.where(ok, (x * m[3] + y * m[4] + m[5]) * inv, 0.0)
    return out


def vote_patches(H: np.ndarray, samples: np.ndarray, image_size_px: int, patch_px: int) -> np.ndarray:
    """The majority target patch of every patch under ``H``: (P,) int64, ``P`` (= number of patches)
    for "outside".

    Args:
        samples: (P, S, 2) int pixel samples from :func:`sample_pixels`.
    """
    P, S, _ = samples.shape
    grid = image_size_px // patch_px
    dst = warp_points(H, samples)
    dx, dy = dst[..., 0], dst[..., 1]
    inside = (dx >= 0) & (dy >= 0) & (dx < image_size_px) & (dy < image_size_px)
    col = np.where(inside, dx, 0).astype(np.int64) // patch_px  # int() truncation == floor for x >= 0
    row = np.where(inside, dy, 0).astype(np.int64) // patch_px
    labels = np.where(inside, row * grid + col, P)  # (P, S), P = outside
    keys = (np.arange(P)[:, None] * (P + 1) + labels).ravel()
    counts = np.bincount(keys, minlength=P * (P + 1)).reshape(P, P + 1)
    top = counts.max(1)
    winners = counts.argmax(1)
    tied = np.flatnonzero((counts == top[:, None]).sum(1) > 1)
    if len(tied):  # MIMIC: the label that first reaches the top count (in sample order) wins
        sub = labels[tied]  # (T, S)
        onehot = np.zeros((len(tied), S, P + 1), np.int32)
        np.put_along_axis(onehot, sub[..., None], 1, axis=2)
        running = np.take_along_axis(onehot.cumsum(1), sub[..., None], axis=2)[..., 0]  # (T, S)
        first = np.argmax(running == top[tied, None], axis=1)
        winners[tied] = sub[np.arange(len(tied)), first]
    return winners


def one_to_one(winners: np.ndarray, n_patches: int) -> np.ndarray:
    """(K, 2) int64 (source patch, target patch): walking the patches in order, each keeps its target
    unless it is "outside" (``n_patches``) or an earlier patch already took it."""
    src = np.flatnonzero(winners != n_patches)
    tgt, first = np.unique(winners[src], return_index=True)
    keep = np.sort(src[first])
    return np.stack([keep, winners[keep]], 1)


def patch_correspondences(H: np.ndarray, samples: np.ndarray, image_size_px: int, patch_px: int) -> np.ndarray:
    """MIMIC's patch correspondences of a pair with homography ``H`` (image 0 -> image 1).

    Both directions are computed (H and its inverse); the one with fewer correspondences is kept
    (0 -> 1 when strictly fewer, else the inverse of 1 -> 0).

    Returns:
        (K, 2) int16 rows (patch in image 0, patch in image 1), sorted by the first column.
    """
    n = samples.shape[0]
    fwd = one_to_one(vote_patches(H, samples, image_size_px, patch_px), n)
    bwd = one_to_one(vote_patches(np.linalg.inv(H), samples, image_size_px, patch_px), n)
    pairs = fwd if len(fwd) < len(bwd) else bwd[:, ::-1]
    return pairs[np.argsort(pairs[:, 0], kind="stable")].astype(np.int16)


def majority_labels(labels: np.ndarray, n_patches: int) -> np.ndarray:
    """The majority label of every row of ``labels``: (P,) int64.

    The vote of :func:`vote_patches` on labels computed elsewhere: on a tie the label that first
    reaches the top count (in sample order) wins, as MIMIC's ``find_majority``.

    Args:
        labels: (P, S) int target patch of each sample, ``n_patches`` for "outside".
        n_patches: the number of patches (the "outside" label).
    """
    labels = np.asarray(labels, np.int64)
    P, S = labels.shape
    L = n_patches + 1
    keys = (np.arange(P)[:, None] * L + labels).ravel()
    counts = np.bincount(keys, minlength=P * L).reshape(P, L)
    top = counts.max(1)
    winners = counts.argmax(1)
    tied = np.flatnonzero((counts == top[:, None]).sum(1) > 1)
    if len(tied):
        sub = labels[tied]  # (T, S)
        onehot = np.zeros((len(tied), S, L), np.int32)
        np.put_along_axis(onehot, sub[..., None], 1, axis=2)
        running = np.take_along_axis(onehot.cumsum(1), sub[..., None], axis=2)[..., 0]  # (T, S)
        first = np.argmax(running == top[tied, None], axis=1)
        winners[tied] = sub[np.arange(len(tied)), first]
    return winners


def pose_labels(depth0_m: np.ndarray, depth1_m: np.ndarray, K0: np.ndarray, K1: np.ndarray, T_cam1_cam0: np.ndarray,
                samples: np.ndarray, image_size_px: int, patch_px: int, *, min_depth_tol_m: float = 0.05,
                rel_depth_tol: float = 0.05) -> np.ndarray:
    """The patch of image 1 that each sampled pixel of image 0 lands in, by depth and relative pose.

    A sample ``(x, y)`` with depth ``z = depth0_m[y, x] > 0`` is unprojected with ``K0``, moved by
    ``T_cam1_cam0`` and projected with ``K1`` (float64 arithmetic, a float32 result, as
    :func:`warp_points`). It votes "outside" when it has no depth, lands behind camera 1 or outside
    ``[0, S) x [0, S)``, or fails the occlusion test: the depth of image 1 at the nearest pixel must be
    valid and within ``max(min_depth_tol_m, rel_depth_tol * depth1)`` of the projected depth.

    Args:
        depth0_m, depth1_m: (S, S) float z-depth in metres of the two (prepared) frames, 0 = invalid.
        K0, K1: (3, 3) pinhole matrices of the prepared frames (pixel centres at integers).
        T_cam1_cam0: (4, 4) maps camera-0 points into camera 1 (``inv(T_world_cam1) @ T_world_cam0``).
        samples: (P, S', 2) int pixel (x, y) samples from :func:`sample_pixels`.

    Returns:
        (P, S') int64 target patch ids, ``P`` for "outside".
    """
    P = samples.shape[0]
    grid = image_size_px // patch_px
    d0 = np.asarray(depth0_m, np.float64)
    d1 = np.asarray(depth1_m, np.float64)
    x = samples[..., 0].astype(np.int64)
    y = samples[..., 1].astype(np.int64)
    z = d0[y, x]
    has_depth = np.isfinite(z) & (z > 0)
    z = np.where(has_depth, z, 0.0)
    pts = np.stack([(x - K0[0, 2]) / K0[0, 0] * z, (y - K0[1, 2]) / K0[1, 1] * z, z], -1)  # (P, S', 3) camera 0
    T = np.asarray(T_cam1_cam0, np.float64)
    cam1 = pts @ T[:3, :3].T + T[:3, 3]
    zp = cam1[..., 2]
    front = has_depth & (zp > 1e-6)
    inv = np.divide(1.0, zp, out=np.zeros_like(zp), where=front)
    u = (K1[0, 0] * cam1[..., 0] * inv + K1[0, 2]).astype(np.float32)
    v = (K1[1, 1] * cam1[..., 1] * inv + K1[1, 2]).astype(np.float32)
    inside = front & (u >= 0) & (v >= 0) & (u < image_size_px) & (v < image_size_px)
    iu = np.clip(np.rint(np.where(inside, u, 0)), 0, d1.shape[1] - 1).astype(np.int64)
    iv = np.clip(np.rint(np.where(inside, v, 0)), 0, d1.shape[0] - 1).astype(np.int64)
    seen = d1[iv, iu]
    agree = inside & np.isfinite(seen) & (seen > 0) & (np.abs(zp - seen) < np.maximum(min_depth_tol_m,
                                                                                      rel_depth_tol * seen))
    col = np.where(agree, u, 0).astype(np.int64) // patch_px
    row = np.where(agree, v, 0).astype(np.int64) // patch_px
    return np.where(agree, row * grid + col, P)


def pose_correspondences(depth0_m: np.ndarray, depth1_m: np.ndarray, K0: np.ndarray, K1: np.ndarray,
                         T_cam1_cam0: np.ndarray, samples: np.ndarray, image_size_px: int, patch_px: int, *,
                         min_depth_tol_m: float = 0.05, rel_depth_tol: float = 0.05) -> np.ndarray:
    """Patch correspondences of two frames with depth and known relative pose (image 0 -> image 1).

    :func:`patch_correspondences` with the homography replaced by :func:`pose_labels`: per patch of
    image 0 the majority target of its samples (:func:`majority_labels`), one-to-one; the same from
    image 1 with ``inv(T_cam1_cam0)``; the direction with fewer correspondences is kept (0 -> 1 when
    strictly fewer, else the inverse of 1 -> 0).

    Args:
        depth0_m, depth1_m: (S, S) float z-depth in metres, 0 = invalid.
        K0, K1: (3, 3) pinhole matrices of the two frames at size S.
        T_cam1_cam0: (4, 4) float camera 0 -> camera 1 transform.
        samples: (P, S', 2) int pixel samples from :func:`sample_pixels`.
        min_depth_tol_m, rel_depth_tol: occlusion test tolerance ``max(min_depth_tol_m, rel_depth_tol * depth)``.

    Returns:
        (K, 2) int16 rows (patch in image 0, patch in image 1), sorted by the first column.
    """
    n = samples.shape[0]
    T = np.asarray(T_cam1_cam0, np.float64)
    T_inv = np.eye(4)
    T_inv[:3, :3] = T[:3, :3].T
    T_inv[:3, 3] = -T[:3, :3].T @ T[:3, 3]
    tol = dict(min_depth_tol_m=min_depth_tol_m, rel_depth_tol=rel_depth_tol)
    fwd = one_to_one(majority_labels(pose_labels(depth0_m, depth1_m, K0, K1, T, samples, image_size_px, patch_px,
                                                 **tol), n), n)
    bwd = one_to_one(majority_labels(pose_labels(depth1_m, depth0_m, K1, K0, T_inv, samples, image_size_px, patch_px,
                                                 **tol), n), n)
    pairs = fwd if len(fwd) < len(bwd) else bwd[:, ::-1]
    return pairs[np.argsort(pairs[:, 0], kind="stable")].astype(np.int16)


def overlap_outcome(n_corresponding: int, n_patches: int, overlap_min: float, overlap_max: float) -> str:
    """"kept" when ``overlap_min < n_corresponding / n_patches < overlap_max``, else "overlap_low" /
    "overlap_high" (a pair exactly at a bound is dropped, as in MIMIC)."""
    frac = n_corresponding / n_patches
    if frac <= overlap_min:
        return "overlap_low"
    if frac >= overlap_max:
        return "overlap_high"
    return "kept"


def correspondence_dict(correspondences: np.ndarray) -> dict[int, int]:
    """MIMIC's ``corresponding.npy`` content: {patch in image 0: patch in image 1} with Python ints."""
    return {int(a): int(b) for a, b in np.asarray(correspondences)}


class OverlapTester:
    """The pair test of :class:`MiningConfig`, with SIFT features computed once per frame.

    ``timings`` accumulates seconds per stage ("features", "matching", "ransac", "voting") and
    ``counts`` the number of frames and pairs, for the benchmark and the run summary.

    >>> t = OverlapTester(MiningConfig())
    >>> f0, f1 = t.features(rgb0), t.features(rgb1)
    >>> res = t.test(f0, f1)            # PairTest; res.correspondences maps patches 0 -> 1
    """

    def __init__(self, config: MiningConfig) -> None:
        import cv2

        self.config = config
        self._cv2 = cv2
        self._sift = cv2.SIFT_create()
        self._matcher = cv2.BFMatcher(cv2.NORM_L2)
        self.samples = sample_pixels(config.grid, config.patch_size_px, config.samples_per_patch, config.seed)
        self.timings: MutableMapping[str, float] = {"features": 0.0, "matching": 0.0, "ransac": 0.0, "voting": 0.0}
        self.counts: MutableMapping[str, int] = {"frames": 0, "pairs": 0}

    def features(self, rgb: np.ndarray) -> FrameFeatures:
        """SIFT keypoints + descriptors and sharpness of one (S, S, 3) uint8 frame."""
        t0 = time.perf_counter()
        gray = to_gray(rgb)
        kps, des = self._sift.detectAndCompute(gray, None)
        pts = np.array([k.pt for k in kps], np.float32).reshape(-1, 2)
        des = np.zeros((0, 128), np.float32) if des is None else des
        feats = FrameFeatures(pts, des, laplacian_var(gray))
        self.timings["features"] += time.perf_counter() - t0
        self.counts["frames"] += 1
        return feats

    def match(self, f0: FrameFeatures, f1: FrameFeatures) -> tuple[np.ndarray, np.ndarray]:
        """Good matches of the ratio test: (M, 2) float32 points in image 0 and in image 1."""
        t0 = time.perf_counter()
        src, dst = [], []
        if len(f0.descriptors) and len(f1.descriptors):
            for pair in self._matcher.knnMatch(f0.descriptors, f1.descriptors, k=2):
                if len(pair) == 2 and pair[0].distance < self.config.ratio * pair[1].distance:
                    src.append(pair[0].queryIdx)
                    dst.append(pair[0].trainIdx)
        out = f0.keypoints_px[np.array(src, np.int64)], f1.keypoints_px[np.array(dst, np.int64)]
        self.timings["matching"] += time.perf_counter() - t0
        return out

    def test(self, f0: FrameFeatures, f1: FrameFeatures) -> PairTest:
        """MIMIC's test of the pair (image 0, image 1) (see the module docstring)."""
        cv2, c = self._cv2, self.config
        self.counts["pairs"] += 1
        src, dst = self.match(f0, f1)
        n = len(src)
        if n <= c.min_matches:
            return PairTest("few_matches", n_matches=n)
        t0 = time.perf_counter()
        H, mask = cv2.findHomography(src.reshape(-1, 1, 2), dst.reshape(-1, 1, 2), cv2.RANSAC, c.ransac_reproj_px)
        inliers = int(mask.sum()) if mask is not None else 0
        ok = H is not None and H.shape == (3, 3) and np.all(np.isfinite(H)) and abs(np.linalg.det(H)) > 1e-12
        if ok and c.epipolar:
            F, fmask = cv2.findFundamentalMat(src, dst, cv2.FM_RANSAC, c.epipolar_threshold_px, 0.99)
            if F is None or fmask is None or fmask.sum() < c.epipolar_min_inlier_ratio * n:
                self.timings["ransac"] += time.perf_counter() - t0
                return PairTest("epipolar", n_matches=n, n_inliers=inliers, homography=H)
        self.timings["ransac"] += time.perf_counter() - t0
        if not ok:
            return PairTest("no_homography", n_matches=n, n_inliers=inliers)
        t0 = time.perf_counter()
        corr = patch_correspondences(H, self.samples, c.image_size_px, c.patch_size_px)
        self.timings["voting"] += time.perf_counter() - t0
        outcome = overlap_outcome(len(corr), c.n_patches, c.overlap_min, c.overlap_max)
        return PairTest(outcome, overlap=len(corr) / c.n_patches, n_matches=n, n_inliers=inliers, homography=H,
                        correspondences=corr)
