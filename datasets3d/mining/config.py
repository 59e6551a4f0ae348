"""Settings of MIMIC pair mining: frame sampling, the overlap test, synthetic panoramas and outputs.

Defaults are MIMIC's (Marathe et al., CVPR 2023; github RAIVNLab/MIMIC, ``datasets/constants.py``,
``utils.py`` and ``hm3d_multipro.py``) unless a comment says otherwise. Degrees in configs, metres
for lengths, pixels for image measures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

from embodied.errors import ConfigError

__all__ = ["MiningConfig", "RESIZE_MODES", "OUTPUT_FORMATS", "RGBD_OVERLAP_METHODS"]

RESIZE_MODES = ("stretch", "crop")
OUTPUT_FORMATS = ("mimic", "wds", "both")
RGBD_OVERLAP_METHODS = ("pose", "homography")


@dataclass(frozen=True, kw_only=True)
class MiningConfig:
    """Everything that decides which pairs are mined (and how they are written).

    Frames:
        image_size_px: frames are resized to a square of this size (MIMIC: 224).
        patch_size_px: patch side; the grid is ``image_size_px // patch_size_px`` squared (MIMIC: 16 -> 14 x 14).
        resize: "stretch" (MIMIC's ``cv2.resize`` to 224 x 224, aspect not kept) or "crop" (centre square crop,
            then resize).
        gap_s: frame gap of video pairs in seconds (MIMIC: 1 s, the default when neither gap is set).
        gap_frames: frame gap in frames instead (set at most one of ``gap_s`` and ``gap_frames``).
        max_widen: when a pair overlaps too much, retry with the gap doubled, tripled, ... this many times
            (MIMIC: once, 2 s).
        frames_fps: frame rate assumed for folders of frames (turns ``gap_s`` into frames).
        min_laplacian_var: frames whose variance of the Laplacian (grey, after resizing) is below this are
            blurry or texture-less and not paired. MIMIC used 1000 on habitat renders and no filter on videos;
            the default 100 keeps every frame of the benchmark video (162 to 303) and drops the blank-wall
            views of the built-in houses (their median is about 270).

    Overlap test (MIMIC's, exactly):
        ratio: Lowe's ratio of the brute-force kNN (k = 2) SIFT matches.
        min_matches: a pair needs more than this many good matches.
        ransac_reproj_px: RANSAC reprojection threshold of ``cv2.findHomography``.
        samples_per_patch: pixels sampled per patch and warped by the homography for the majority vote.
        overlap_min, overlap_max: keep a pair when ``overlap_min < overlap < overlap_max`` (fractions of the grid).
        epipolar: also require a fundamental matrix (RANSAC) that explains ``epipolar_min_inlier_ratio`` of the
            good matches within ``epipolar_threshold_px`` (not in MIMIC).
        rgbd_overlap: how recorded RGB-D sequences with camera poses are tested: "pose" (patch
            correspondences from depth + relative pose with an occlusion test, no SIFT; not in MIMIC) or
            "homography" (MIMIC's SIFT test, as for videos). Sequences without poses always use "homography".

    Synthetic panoramas (MIMIC's procedure on ``hm3d_multipro.py``):
        samples_per_scene: panorama triplets per scene (MIMIC: 3000); each gives at most one pair.
        sensor_height_min_m, sensor_height_max_m: camera height range (MIMIC: 1.2 to 1.8 m).
        pano_views: views per panorama (MIMIC: 8, 45 degree turns).
        pano_render_px, pano_hfov_deg: render size and field of view; frames are the centre
            ``image_size_px`` crop (MIMIC: 256 px renders, habitat's 90 degrees).
        move_min_m, move_max_m: move between panoramas (MIMIC: 0.5 to 1 m).
        turns_b_deg, turns_c_deg: turn choices before the 2nd and 3rd panorama (MIMIC: 180 is excluded, and
            0 is allowed only before the 3rd).

    Output:
        format: "mimic" (folders), "wds" (WebDataset shards + parquet index) or "both".
        shard_max_pairs: pairs per tar shard.
        jpeg_quality: of 0000.jpg / 0001.jpg (MIMIC: OpenCV's default 95).
        contact_sheet_pairs: kept pairs drawn in contact_sheet.png (0 = none).
        seed: pixel sampling of the vote and everything random in the synthetic sources.
    """

    image_size_px: int = 224
    patch_size_px: int = 16
    resize: str = "stretch"
    gap_s: float | None = None
    gap_frames: int | None = None
    max_widen: int = 1
    frames_fps: float = 30.0
    min_laplacian_var: float = 100.0

    ratio: float = 0.7
    min_matches: int = 10
    ransac_reproj_px: float = 5.0
    samples_per_patch: int = 100
    overlap_min: float = 0.5
    overlap_max: float = 0.75
    epipolar: bool = False
    epipolar_threshold_px: float = 1.0
    epipolar_min_inlier_ratio: float = 0.5
    rgbd_overlap: str = "pose"

    samples_per_scene: int = 20
    sensor_height_min_m: float = 1.2
    sensor_height_max_m: float = 1.8
    pano_views: int = 8
    pano_render_px: int = 256
    pano_hfov_deg: float = 90.0
    move_min_m: float = 0.5
    move_max_m: float = 1.0
    turns_b_deg: tuple[float, ...] = (60.0, 120.0, 240.0, 300.0)
    turns_c_deg: tuple[float, ...] = (0.0, 60.0, 120.0, 240.0, 300.0)

    format: str = "both"
    shard_max_pairs: int = 1000
    jpeg_quality: int = 95
    contact_sheet_pairs: int = 6
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "turns_b_deg", tuple(float(t) for t in self.turns_b_deg))
        object.__setattr__(self, "turns_c_deg", tuple(float(t) for t in self.turns_c_deg))
        checks = [
            (self.image_size_px >= 16 and self.patch_size_px >= 1, "image_size_px must be >= 16 and patch_size_px >= 1"),
            (self.image_size_px % self.patch_size_px == 0,
             f"image_size_px ({self.image_size_px}) must be a multiple of patch_size_px ({self.patch_size_px})"),
            (self.resize in RESIZE_MODES, f"resize must be one of {RESIZE_MODES}, got '{self.resize}'"),
            (self.gap_s is None or self.gap_frames is None, "set at most one of gap_s and gap_frames"),
            (self.gap_s is None or (math.isfinite(self.gap_s) and self.gap_s > 0), "gap_s must be > 0"),
            (self.gap_frames is None or self.gap_frames >= 1, "gap_frames must be >= 1"),
            (self.max_widen >= 0, "max_widen must be >= 0"),
            (self.frames_fps > 0, "frames_fps must be > 0"),
            (self.min_laplacian_var >= 0, "min_laplacian_var must be >= 0"),
            (0 < self.ratio <= 1, "ratio must be in (0, 1]"),
            (self.min_matches >= 4, "min_matches must be >= 4 (a homography needs 4 matches)"),
            (self.ransac_reproj_px > 0, "ransac_reproj_px must be > 0"),
            (self.samples_per_patch >= 1, "samples_per_patch must be >= 1"),
            (0 <= self.overlap_min < self.overlap_max <= 1, "need 0 <= overlap_min < overlap_max <= 1"),
            (self.epipolar_threshold_px > 0 and 0 <= self.epipolar_min_inlier_ratio <= 1,
             "epipolar_threshold_px must be > 0 and epipolar_min_inlier_ratio in [0, 1]"),
            (self.rgbd_overlap in RGBD_OVERLAP_METHODS,
             f"rgbd_overlap must be one of {RGBD_OVERLAP_METHODS}, got '{self.rgbd_overlap}'"),
            (self.samples_per_scene >= 1, "samples_per_scene must be >= 1"),
            (0 < self.sensor_height_min_m <= self.sensor_height_max_m, "need 0 < sensor_height_min_m <= sensor_height_max_m"),
            (self.pano_views >= 2, "pano_views must be >= 2"),
            (self.pano_render_px >= self.image_size_px,
             f"pano_render_px ({self.pano_render_px}) must be >= image_size_px ({self.image_size_px})"),
            (0 < self.pano_hfov_deg < 180, "pano_hfov_deg must be in (0, 180)"),
            (0 <= self.move_min_m <= self.move_max_m, "need 0 <= move_min_m <= move_max_m"),
            (len(self.turns_b_deg) > 0 and len(self.turns_c_deg) > 0, "turns_b_deg and turns_c_deg must not be empty"),
            (self.format in OUTPUT_FORMATS, f"format must be one of {OUTPUT_FORMATS}, got '{self.format}'"),
            (self.shard_max_pairs >= 1, "shard_max_pairs must be >= 1"),
            (1 <= self.jpeg_quality <= 100, "jpeg_quality must be in [1, 100]"),
            (self.contact_sheet_pairs >= 0, "contact_sheet_pairs must be >= 0"),
        ]
        for ok, msg in checks:
            if not ok:
                raise ConfigError(f"invalid MiningConfig: {msg}")

    @property
    def grid(self) -> int:
        """Patches per side (14 for MIMIC)."""
        return self.image_size_px // self.patch_size_px

    @property
    def n_patches(self) -> int:
        """Patches per image (196 for MIMIC)."""
        return self.grid * self.grid

    def gap_in_frames(self, fps: float) -> int:
        """The pair gap in frames for a sequence at ``fps`` frames per second (at least 1)."""
        if self.gap_frames is not None:
            return int(self.gap_frames)
        return max(1, int(round((1.0 if self.gap_s is None else self.gap_s) * fps)))

    def with_overrides(self, overrides: dict[str, Any]) -> MiningConfig:
        """A copy with ``overrides`` applied; unknown keys raise ConfigError with the closest field."""
        from embodied.config import config_from_dict, config_to_dict

        if not overrides:
            return self
        names = {f.name for f in fields(self)}
        bad = [k for k in overrides if k not in names]
        if bad:
            config_from_dict(MiningConfig, {bad[0]: None})  # raises with a suggestion
        merged = {**config_to_dict(self), **overrides}
        if overrides.get("gap_frames") is not None and "gap_s" not in overrides:
            merged["gap_s"] = None  # giving one gap unit replaces the other
        if overrides.get("gap_s") is not None and "gap_frames" not in overrides:
            merged["gap_frames"] = None
        return config_from_dict(MiningConfig, merged)
