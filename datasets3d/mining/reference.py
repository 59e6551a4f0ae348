"""A faithful re-implementation of MIMIC's reference pair test, for agreement checks and the benchmark.

It does what ``RAIVNLab/MIMIC/datasets/utils.py`` + ``syn_utils.py::overlap`` do, step by step and at
their speed: SIFT is recomputed for both frames of every pair, every sampled pixel is warped with its
own ``cv2.perspectiveTransform`` call, votes are counted with a dict, and the one-to-one check scans a
list. Only the source of the sampled pixels is pluggable (``sampler``), so the same pixels as the
vectorised test can be used, or fresh Python ``random`` draws per patch as MIMIC does.

Not for mining: use :class:`datasets3d.mining.overlap.OverlapTester` (same decisions, about 30 to 100
times faster; see ``benchmarks/mining.py``).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, MutableMapping

import numpy as np

from datasets3d.mining.config import MiningConfig
from datasets3d.mining.overlap import sample_pixels

__all__ = ["ReferenceTester", "table_sampler", "random_sampler"]

Sampler = Callable[[int, int], tuple[np.ndarray, np.ndarray]]
"""(patch id, direction 0 or 1) -> (xs, ys) integer pixel coordinates of the samples."""


def table_sampler(config: MiningConfig) -> Sampler:
    """The vectorised test's pixels: one table from ``config.seed``, the same for both directions."""
    table = sample_pixels(config.grid, config.patch_size_px, config.samples_per_patch, config.seed)

    def sample(patch_id: int, direction: int) -> tuple[np.ndarray, np.ndarray]:
        return table[patch_id, :, 0], table[patch_id, :, 1]

    return sample


def random_sampler(config: MiningConfig, seed: int = 0) -> Sampler:
    """MIMIC's ``get_random_pixels_from_patch``: fresh ``random.choices`` draws on every call."""
    rng = random.Random(seed)
    p, grid, k = config.patch_size_px, config.grid, config.samples_per_patch
    population = list(range(p * p))

    def sample(patch_id: int, direction: int) -> tuple[np.ndarray, np.ndarray]:
        r = np.array(rng.choices(population, k=k))
        x0, y0 = (patch_id % grid) * p, (patch_id // grid) * p
        return r % p + x0, r // p + y0

    return sample


class ReferenceTester:
    """MIMIC's per-pair procedure. ``test(rgb0, rgb1)`` returns (kept, overlap or None, patch dict).

    ``timings`` accumulates seconds per stage like :class:`~datasets3d.mining.overlap.OverlapTester`.
    """

    def __init__(self, config: MiningConfig, sampler: Sampler | None = None) -> None:
        import cv2

        self.config = config
        self._cv2 = cv2
        self.sampler = sampler or table_sampler(config)
        self.timings: MutableMapping[str, float] = {"features": 0.0, "matching": 0.0, "ransac": 0.0, "voting": 0.0}

    def _homography(self, img1: np.ndarray, img2: np.ndarray):
        cv2, c = self._cv2, self.config
        t0 = time.perf_counter()
        g1 = cv2.cvtColor(img1, cv2.COLOR_RGB2GRAY)
        g2 = cv2.cvtColor(img2, cv2.COLOR_RGB2GRAY)
        sift = cv2.SIFT_create()
        kp1, des1 = sift.detectAndCompute(g1, None)
        kp2, des2 = sift.detectAndCompute(g2, None)
        t1 = time.perf_counter()
        self.timings["features"] += t1 - t0
        if des1 is None or des2 is None:
            return None
        good = []
        for pair in cv2.BFMatcher().knnMatch(des1, des2, k=2):
            if len(pair) == 2 and pair[0].distance < c.ratio * pair[1].distance:
                good.append(pair[0])
        t2 = time.perf_counter()
        self.timings["matching"] += t2 - t1
        if len(good) <= c.min_matches:
            return None
        src = np.float32([kp1[m.queryIdx].pt for m in good]).reshape(-1, 1, 2)
        dst = np.float32([kp2[m.trainIdx].pt for m in good]).reshape(-1, 1, 2)
        H, _ = cv2.findHomography(src, dst, cv2.RANSAC, c.ransac_reproj_px)
        self.timings["ransac"] += time.perf_counter() - t2
        return H

    def _corresponding_patch(self, patch_id: int, H: np.ndarray, direction: int):
        cv2, c = self._cv2, self.config
        size, p, grid = c.image_size_px, c.patch_size_px, c.grid
        xs, ys = self.sampler(patch_id, direction)
        counts: dict = {}
        best = ("", 0)
        for x, y in zip(xs, ys):
            dst = cv2.perspectiveTransform(np.float32([[x, y]]).reshape(-1, 1, 2), H)
            dx, dy = dst[0, 0, 0], dst[0, 0, 1]
            label = "out" if dx < 0 or dy < 0 or dx >= size or dy >= size else (int(dy) // p) * grid + int(dx) // p
            counts[label] = counts.get(label, 0) + 1
            if counts[label] > best[1]:
                best = (label, counts[label])
        return best[0]

    def _patch_dict(self, H: np.ndarray, direction: int) -> dict:
        out: dict = {}
        for patch_id in range(self.config.n_patches):
            target = self._corresponding_patch(patch_id, H, direction)
            if target != "out" and target not in list(out.values()):
                out[patch_id] = target
        return out

    def test(self, img1: np.ndarray, img2: np.ndarray) -> tuple[bool, float | None, dict | None]:
        """(kept, overlap fraction or None, {patch in img1: patch in img2} or None)."""
        c = self.config
        H = self._homography(img1, img2)
        if H is None:
            return False, None, None
        t0 = time.perf_counter()
        d1 = self._patch_dict(H, 0)
        d2 = self._patch_dict(np.linalg.inv(H), 1)
        patchdict = d1 if len(d1) < len(d2) else {v: k for k, v in d2.items()}
        self.timings["voting"] += time.perf_counter() - t0
        frac = len(patchdict) / c.n_patches
        return c.overlap_min < frac < c.overlap_max, frac, patchdict
