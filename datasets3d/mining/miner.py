"""Mining one sequence: candidate pairs, the blur filter, the overlap test, and the kept pairs.

* Videos and frame folders (MIMIC's ``*_multipro.py`` for videos): anchors every ``gap`` frames; the
  pair (i, i + gap) is tested; when it overlaps too much the gap is widened (i + 2 gap, ...) up to
  ``max_widen`` times. After a kept pair the next anchor is its second frame, else i + gap. Frames are
  decoded once, and their SIFT features are computed once and reused by every pair they are in.
* Recorded RGB-D sequences (TUM, ScanNet, plain folders): the same anchors, gaps and widening as
  videos (the gap in seconds uses the frame rate of the recorded timestamps). With camera poses (and
  ``rgbd_overlap="pose"``) the overlap test is geometric: the sampled pixels of every patch are
  unprojected with their depth, moved by the relative pose, projected into the other frame and kept
  where its depth agrees (an occlusion test); then MIMIC's vote, one-to-one rule, both directions and
  range check (:func:`datasets3d.mining.overlap.pose_correspondences`); no SIFT matching. Without poses
  it is the SIFT homography test of videos. Each pair's ``overlap_method`` says which was used.
* Synthetic scenes (MIMIC's ``hm3d_multipro.py``): per sample, a panorama A at a random navigable
  point, a turn and a 0.5 to 1 m move, panorama B, another turn and move, panorama C; every sharp
  view of A is tested against every sharp view of B and C and the pair with the lowest overlap in
  range is kept (at most one pair per sample).

:func:`mine_sequence` returns a :class:`UnitResult` with the kept pairs already JPEG-encoded and
the count of every tested pair by outcome. It never raises for bad input: the error is in the result.
"""

from __future__ import annotations

import hashlib
import io
import logging
import time
import traceback
import zlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from datasets3d.mining.config import MiningConfig
from datasets3d.mining.overlap import (
    FrameFeatures,
    OverlapTester,
    PairTest,
    correspondence_dict,
    laplacian_var,
    overlap_outcome,
    pose_correspondences,
    to_gray,
)
from datasets3d.mining.sources import (
    Sequence,
    SourceError,
    open_rgbd,
    open_rig,
    open_stream,
    prepare_depth,
    prepare_frame,
    prepare_intrinsics,
)
from embodied.errors import EmbodiedError
from embodied.images import encode_jpeg

__all__ = ["DROP_REASONS", "MinedPair", "UnitResult", "mine_sequence", "pair_key", "corresponding_npy"]

log = logging.getLogger(__name__)

DROP_REASONS = ("blurry", "unreadable", "few_matches", "no_homography", "epipolar", "overlap_low", "overlap_high",
                "not_lowest")
"""Why a tested pair was not kept. "not_lowest": in range, but a panorama sample keeps only its lowest overlap."""


@dataclass
class MinedPair:
    """A kept pair, ready to write.

    Attributes:
        index: the pair's number within its sequence (0, 1, ...; the MIMIC folder name).
        meta: JSON-able facts: source, sequence, frame ids, overlap, matches, inliers, ...
        jpg0, jpg1: the two frames as JPEG bytes.
        correspondences: (K, 2) int16 (patch in frame 0, patch in frame 1).
    """

    index: int
    meta: dict[str, Any]
    jpg0: bytes
    jpg1: bytes
    correspondences: np.ndarray

    @property
    def sha256(self) -> str:
        h = hashlib.sha256()
        for part in (self.jpg0, self.jpg1, np.ascontiguousarray(self.correspondences, np.int16).tobytes()):
            h.update(part)
        return h.hexdigest()


@dataclass
class UnitResult:
    """What mining one sequence produced.

    ``status`` is "ok", "partial" (mined what could be read; ``error`` says what could not) or "error"
    (nothing mined; ``error`` says why).
    """

    sequence: Sequence
    status: str = "ok"
    error: str | None = None
    pairs: list[MinedPair] = field(default_factory=list)
    outcomes: Counter = field(default_factory=Counter)
    frames: int = 0
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)


def pair_key(source: str, sequence: str, index: int) -> str:
    """The WebDataset key of a pair (no dots, unique in a run)."""
    return f"{source}__{sequence}__{index:06d}"


def corresponding_npy(correspondences: np.ndarray) -> bytes:
    """MIMIC's ``corresponding.npy``: ``np.save`` of the dict {patch in 0000.jpg: patch in 0001.jpg}
    (read it with ``np.load(path, allow_pickle=True).item()``)."""
    buf = io.BytesIO()
    np.save(buf, correspondence_dict(correspondences), allow_pickle=True)
    return buf.getvalue()


def _unit_rng(config: MiningConfig, seq: Sequence) -> np.random.Generator:
    return np.random.default_rng([config.seed & 0xFFFFFFFF, zlib.crc32(seq.unit_id.encode())])


def mine_sequence(seq: Sequence, config: MiningConfig, tester: OverlapTester | None = None) -> UnitResult:
    """Mine one sequence (see the module docstring); errors are returned, never raised."""
    res = UnitResult(seq)
    tester = tester or OverlapTester(config)
    before = dict(tester.timings)
    t0 = time.perf_counter()
    try:
        if seq.kind in ("video", "frames"):
            _mine_stream(seq, config, tester, res)
        elif seq.kind == "rgbd":
            _mine_rgbd(seq, config, tester, res)
        else:
            _mine_panoramas(seq, config, tester, res)
    except SourceError as exc:
        res.status, res.error, res.pairs = "error", str(exc), []
    except Exception as exc:  # noqa: BLE001 - recorded with the traceback in the log, the run goes on
        log.error("sequence %s failed:\n%s", seq.unit_id, traceback.format_exc())
        res.status, res.error, res.pairs = "error", f"{type(exc).__name__}: {exc}", []
    res.seconds = time.perf_counter() - t0
    res.timings = {k: tester.timings[k] - before.get(k, 0.0) for k in tester.timings}
    return res


def _keep(res: UnitResult, config: MiningConfig, rgb0: np.ndarray, rgb1: np.ndarray, test: PairTest,
          meta: dict[str, Any]) -> None:
    seq = res.sequence
    index = len(res.pairs)
    pair = MinedPair(index, {}, encode_jpeg(rgb0, config.jpeg_quality), encode_jpeg(rgb1, config.jpeg_quality),
                     test.correspondences)
    pair.meta = {"key": pair_key(seq.source, seq.name, index), "source": seq.source, "sequence": seq.name,
                 "pair": index, **meta, "overlap": round(float(test.overlap), 6),
                 "n_corresponding": int(len(test.correspondences)), "n_matches": test.n_matches,
                 "n_inliers": test.n_inliers,
                 "homography": None if test.homography is None else np.asarray(test.homography).round(9).tolist(),
                 "sha256": pair.sha256}
    res.pairs.append(pair)


# --------------------------------------------------------------------------------------------- streams
def _mine_stream(seq: Sequence, config: MiningConfig, tester: OverlapTester, res: UnitResult) -> None:
    stream = open_stream(seq, config.image_size_px, config.resize, config.frames_fps)
    gap = config.gap_in_frames(stream.fps)
    frames = stream.frames(gap)
    slots: dict[int, tuple[int, np.ndarray | None, str | None]] = {}  # k -> the (k * gap)-th frame
    feats: dict[int, FrameFeatures] = {}
    n_read = 0

    def slot(k: int):
        nonlocal n_read
        while n_read <= k:
            nxt = next(frames, None)
            if nxt is None:
                return None
            slots[n_read] = nxt
            n_read += 1
        return slots[k]

    def features(k: int) -> FrameFeatures:
        if k not in feats:
            feats[k] = tester.features(slots[k][1])
        return feats[k]

    k = 0
    while slot(k) is not None and slot(k + 1) is not None:
        for old in [i for i in slots if i < k]:  # keep memory flat on long videos
            slots.pop(old)
            feats.pop(old, None)
        j, test, outcome = k + 1, None, None
        for widen in range(config.max_widen + 1):
            if widen and slot(k + 1 + widen) is None:
                break
            j = k + 1 + widen
            if slots[k][1] is None or slots[j][1] is None:
                outcome = "unreadable"
            elif min(features(k).sharpness, features(j).sharpness) < config.min_laplacian_var:
                outcome = "blurry"
            else:
                test = tester.test(features(k), features(j))
                outcome = test.outcome
            res.outcomes[outcome] += 1
            if outcome != "overlap_high":
                break
        if outcome == "kept":
            (fa, a, _), (fb, b, _) = slots[k], slots[j]
            _keep(res, config, a, b, test, {"frame0": f"{fa:06d}", "frame1": f"{fb:06d}", "gap_frames": fb - fa,
                                             "fps": round(stream.fps, 6)})
            k = j
        else:
            k += 1
    for _ in frames:  # read to the end, so truncation is noticed
        pass
    res.frames = stream.n_decoded
    if n_read < 2:
        have = f"{stream.n_decoded} frame{'s' if stream.n_decoded != 1 else ''}"
        why = (f"has {have}; at least 2 are needed" if stream.n_decoded < 2 else
               f"has {have}, fewer than 2 at a gap of {gap} frames ({gap / stream.fps:.2f} s at {stream.fps:g} fps); "
               "use a smaller gap (--gap / --gap-frames)"
               + (f"; folders of frames are taken as {stream.fps:g} fps (--set frames_fps=N)"
                  if seq.kind == "frames" and config.gap_frames is None else ""))
        raise SourceError(f"{seq.kind} {seq.path} {why}" + (f"; {'; '.join(stream.problems)}" if stream.problems else ""))
    if stream.problems:
        res.status = "partial"
        shown = stream.problems[:5] + ([f"... {len(stream.problems) - 5} more"] if len(stream.problems) > 5 else [])
        res.error = "; ".join(shown)


# --------------------------------------------------------------------------------------------- RGB-D sequences
@dataclass
class _RGBDFrame:
    """One prepared frame of an RGB-D sequence: (S, S, 3) uint8 rgb, (S, S) float32 depth (m, 0 = invalid),
    (3, 3) K of the prepared frame, (4, 4) T_world_cam, the recorded timestamp (s) and sharpness."""

    index: int
    file: str | None
    rgb: np.ndarray
    depth: np.ndarray | None
    K: np.ndarray
    T_world_cam: np.ndarray | None
    timestamp_s: float | None
    sharpness: float
    features: FrameFeatures | None = None


def _sequence_fps(rgbd: Any, default: float, probe_frames: int = 5) -> float:
    """Frames per second of the recorded timestamps (median step of the first ``probe_frames``
    frames; TUM records them), else ``default`` (``frames_fps``)."""
    stamps = []
    for i in range(min(len(rgbd), probe_frames)):
        try:
            t = rgbd.frame(i).extras.get("timestamp_s")
        except (EmbodiedError, OSError, ValueError):
            continue  # an unreadable frame is reported when it is mined
        if t is None:
            return float(default)
        stamps.append(float(t))
    steps = np.diff(np.asarray(stamps, np.float64))
    steps = steps[np.isfinite(steps) & (steps > 0)]
    return float(1.0 / np.median(steps)) if len(steps) else float(default)


def _pose_test(g0: _RGBDFrame, g1: _RGBDFrame, config: MiningConfig, tester: OverlapTester) -> PairTest:
    """The overlap test by depth and relative pose (see the module docstring)."""
    t0 = time.perf_counter()
    tester.counts["pairs"] += 1
    T_cam1_cam0 = np.linalg.inv(g1.T_world_cam) @ g0.T_world_cam
    corr = pose_correspondences(g0.depth, g1.depth, g0.K, g1.K, T_cam1_cam0, tester.samples, config.image_size_px,
                                config.patch_size_px)
    tester.timings["voting"] += time.perf_counter() - t0
    outcome = overlap_outcome(len(corr), config.n_patches, config.overlap_min, config.overlap_max)
    return PairTest(outcome, overlap=len(corr) / config.n_patches, correspondences=corr)


def _mine_rgbd(seq: Sequence, config: MiningConfig, tester: OverlapTester, res: UnitResult) -> None:
    rgbd = open_rgbd(seq)
    n = len(rgbd)
    fps = _sequence_fps(rgbd, config.frames_fps)
    gap = config.gap_in_frames(fps)
    method = "pose" if rgbd.has_poses and config.rgbd_overlap == "pose" else "homography"
    size, mode = config.image_size_px, config.resize
    slots: dict[int, _RGBDFrame | None] = {}  # k -> the (k * gap)-th frame, None when unreadable
    problems: list[str] = []

    def slot(k: int) -> _RGBDFrame | None:
        if k not in slots:
            i = k * gap
            try:
                obs = rgbd.frame(i)
            except (EmbodiedError, OSError, ValueError) as exc:
                problems.append(f"unreadable frame {i}: {exc}")
                slots[k] = None
            else:
                rgb = prepare_frame(obs.rgb, size, mode)
                depth = None if obs.depth is None else prepare_depth(obs.depth, size, mode)
                stamp = obs.extras.get("timestamp_s")
                slots[k] = _RGBDFrame(i, obs.extras.get("frame"), rgb, depth,
                                      prepare_intrinsics(obs.intrinsics, size, mode).K,
                                      np.asarray(obs.T_world_cam, np.float64), None if stamp is None else float(stamp),
                                      laplacian_var(to_gray(rgb)))
        return slots[k]

    def features(f: _RGBDFrame) -> FrameFeatures:
        if f.features is None:
            f.features = tester.features(f.rgb)
        return f.features

    k = 0
    while (k + 1) * gap < n:
        for old in [i for i in slots if i < k]:  # keep memory flat on long sequences
            slots.pop(old)
        j, test, outcome, used = k + 1, None, None, method
        for widen in range(config.max_widen + 1):
            if widen and (k + 1 + widen) * gap >= n:
                break
            j = k + 1 + widen
            a, b = slot(k), slot(j)
            if a is None or b is None:
                outcome = "unreadable"
            elif min(a.sharpness, b.sharpness) < config.min_laplacian_var:
                outcome = "blurry"
            else:
                used = "pose" if method == "pose" and a.depth is not None and b.depth is not None else "homography"
                test = _pose_test(a, b, config, tester) if used == "pose" else tester.test(features(a), features(b))
                outcome = test.outcome
            res.outcomes[outcome] += 1
            if outcome != "overlap_high":
                break
        if outcome == "kept":
            a, b = slots[k], slots[j]
            meta: dict[str, Any] = {"frame0": f"{a.index:06d}", "frame1": f"{b.index:06d}",
                                    "gap_frames": b.index - a.index, "fps": round(fps, 6),
                                    "file0": a.file, "file1": b.file,
                                    "timestamp0_s": a.timestamp_s, "timestamp1_s": b.timestamp_s,
                                    "overlap_method": used}
            if rgbd.has_poses:
                meta["T_world_cam0"] = np.round(a.T_world_cam, 9).tolist()
                meta["T_world_cam1"] = np.round(b.T_world_cam, 9).tolist()
            _keep(res, config, a.rgb, b.rgb, test, meta)
            k = j
        else:
            k += 1
    res.frames = n
    if n < 2 or gap >= n:
        have = f"{n} frame{'s' if n != 1 else ''}"
        why = (f"has {have}; at least 2 are needed" if n < 2 else
               f"has {have}, fewer than 2 at a gap of {gap} frames ({gap / fps:.2f} s at {fps:g} fps); "
               "use a smaller gap (--gap / --gap-frames)")
        raise SourceError(f"RGB-D sequence {seq.path} {why}" + (f"; {'; '.join(problems)}" if problems else ""))
    if problems:
        res.status = "partial"
        shown = problems[:5] + ([f"... {len(problems) - 5} more"] if len(problems) > 5 else [])
        res.error = "; ".join(shown)


# --------------------------------------------------------------------------------------------- panoramas
def _mine_panoramas(seq: Sequence, config: MiningConfig, tester: OverlapTester, res: UnitResult) -> None:
    rng = _unit_rng(config, seq)
    rig = open_rig(seq, config.pano_render_px, config.pano_hfov_deg,
                   (config.sensor_height_min_m, config.sensor_height_max_m), rng)
    step_deg = 360.0 / config.pano_views
    try:
        for sample in range(config.samples_per_scene):
            rig.place_random(rng)
            height = rig.height_m
            pano_a = _panorama(rig, config, step_deg)
            rig.turn_right(float(rng.choice(config.turns_b_deg)))
            rig.forward(float(rng.uniform(config.move_min_m, config.move_max_m)))
            pano_b = _panorama(rig, config, step_deg)
            rig.turn_right(float(rng.choice(config.turns_c_deg)))
            rig.forward(float(rng.uniform(config.move_min_m, config.move_max_m)))
            pano_c = _panorama(rig, config, step_deg)
            res.frames += 3 * config.pano_views
            _best_pair(res, config, tester, sample, height, {"A": pano_a, "B": pano_b, "C": pano_c})
    finally:
        rig.close()


def _panorama(rig, config: MiningConfig, step_deg: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """``pano_views`` views turning right, rotated so view 0 faces the starting heading (as MIMIC)."""
    views = []
    for _ in range(config.pano_views):
        rig.turn_right(step_deg)
        rgb, T = rig.view()
        views.append((_centre_crop(rgb, config.image_size_px), np.asarray(T, np.float64)))
    return [views[-1]] + views[:-1]


def _centre_crop(rgb: np.ndarray, size: int) -> np.ndarray:
    h, w = rgb.shape[:2]
    if h < size or w < size:
        return prepare_frame(rgb, size, "crop")
    y0, x0 = (h - size) // 2, (w - size) // 2
    return np.ascontiguousarray(rgb[y0:y0 + size, x0:x0 + size])


def _best_pair(res: UnitResult, config: MiningConfig, tester: OverlapTester, sample: int, height_m: float,
               panos: dict[str, list[tuple[np.ndarray, np.ndarray]]]) -> None:
    sharp = {name: [laplacian_var(to_gray(rgb)) >= config.min_laplacian_var for rgb, _ in views]
             for name, views in panos.items()}
    feats: dict[tuple[str, int], FrameFeatures] = {}

    def features(name: str, i: int) -> FrameFeatures:
        if (name, i) not in feats:
            feats[(name, i)] = tester.features(panos[name][i][0])
        return feats[(name, i)]

    best: tuple[float, str, int, str, int, PairTest] | None = None
    in_range = 0
    for ia in range(len(panos["A"])):
        for other in ("B", "C"):
            for ib in range(len(panos[other])):
                if not (sharp["A"][ia] and sharp[other][ib]):
                    res.outcomes["blurry"] += 1
                    continue
                test = tester.test(features("A", ia), features(other, ib))
                if not test.kept:
                    res.outcomes[test.outcome] += 1
                    continue
                in_range += 1
                if best is None or test.overlap < best[0]:
                    best = (test.overlap, "A", ia, other, ib, test)
    if best is None:
        return
    res.outcomes["kept"] += 1
    if in_range > 1:
        res.outcomes["not_lowest"] += in_range - 1
    _, na, ia, nb, ib, test = best
    (rgb0, T0), (rgb1, T1) = panos[na][ia], panos[nb][ib]
    _keep(res, config, rgb0, rgb1, test, {
        "frame0": f"s{sample:05d}-{na}{ia}", "frame1": f"s{sample:05d}-{nb}{ib}", "sample": sample,
        "sensor_height_m": round(float(height_m), 6),
        "T_world_cam0": np.round(T0, 9).tolist(), "T_world_cam1": np.round(T1, 9).tolist()})
