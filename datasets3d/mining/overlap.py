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
