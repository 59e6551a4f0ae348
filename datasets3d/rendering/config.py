"""``RenderConfig``: everything that decides what a multi-view render of one object looks like."""

from __future__ import annotations

import math
from dataclasses import dataclass

from embodied.errors import ConfigError

__all__ = ["RenderConfig", "BACKENDS", "CAMERA_MODES", "UP_AXES", "DEPTH_UNITS_PER_M", "texture_limit_px"]


BACKENDS: dict[str, str] = {
    "raycast": "datasets3d.rendering.raycast:RaycastBackend",
    "blender": "datasets3d.rendering.blender:BlenderBackend",
}
"""Render backends by name -> "module:Class" (nothing is imported to list them)."""

CAMERA_MODES = ("zero123", "ring", "hemisphere")
UP_AXES = ("auto", "y", "z")
DEPTH_UNITS_PER_M = 10_000
"""Depth PNGs are uint16 in units of 0.1 mm (0 = no hit), so they hold z-depths up to 6.5535 m."""


@dataclass(frozen=True, kw_only=True)
class RenderConfig:
    """How to render one object (the run's other settings, such as workers, are CLI options).

    Cameras (``cameras``):
      * ``zero123``: directions uniform on the sphere, radius uniform in [radius_min_m, radius_max_m],
        looking at the origin (Objaverse-XL / Zero123 sampling).
      * ``hemisphere``: the same, with the camera height made non-negative (Objaverse-XL's
        ``only_northern_hemisphere``, for scans with holes underneath).
      * ``ring``: ``views`` cameras evenly spaced in azimuth at ``ring_elevation_deg`` and ``ring_radius_m``.
    Intrinsics come from a ``lens_mm`` lens on a ``sensor_mm`` sensor spanning the larger image side
    (Blender's sensor fit AUTO); 35 mm on 32 mm is a 49.1 degree field of view.

    ``up_axis``: ``auto`` follows Blender's importers (glTF/GLB and OBJ are Y-up and turned Z-up;
    STL, PLY, OFF are taken as Z-up); ``y``/``z`` force one.
    ``max_texture_px``: textures are reduced to at most this many pixels on a side (0: four times the
    larger image side, which keeps every texel a render can resolve and makes nearest lookups alias
    less; JPEGs are then also decoded faster).
    ``samples``/``denoise``/``threads`` only matter to the Blender backend (threads 0 = all cores).
    """

    backend: str = "raycast"
    views: int = 12
    width: int = 512
    height: int = 512
    cameras: str = "zero123"
    radius_min_m: float = 1.5
    radius_max_m: float = 2.2
    ring_radius_m: float = 2.0
    ring_elevation_deg: float = 20.0
    lens_mm: float = 35.0
    sensor_mm: float = 32.0
    up_axis: str = "auto"
    seed: int = 0
    max_texture_px: int = 0
    samples: int = 32
    denoise: bool = False
    threads: int = 0
    contact_sheet: bool = True

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ConfigError(f"unknown render backend '{self.backend}'; choose from {', '.join(BACKENDS)}")
        if self.cameras not in CAMERA_MODES:
            raise ConfigError(f"unknown camera mode '{self.cameras}'; choose from {', '.join(CAMERA_MODES)}")
        if self.up_axis not in UP_AXES:
            raise ConfigError(f"unknown up_axis '{self.up_axis}'; choose from {', '.join(UP_AXES)}")
        if self.views < 1:
            raise ConfigError(f"views must be >= 1, got {self.views}")
        if self.width < 8 or self.height < 8:
            raise ConfigError(f"image size must be at least 8x8, got {self.width}x{self.height}")
        if not (0 < self.radius_min_m <= self.radius_max_m) or not math.isfinite(self.radius_max_m):
            raise ConfigError(f"need 0 < radius_min_m <= radius_max_m, got {self.radius_min_m}, {self.radius_max_m}")
        if self.radius_min_m <= 0.87 or self.ring_radius_m <= 0.87:
            raise ConfigError("camera radii must exceed 0.87 (the normalized object fills the unit cube); "
                              f"got radius_min_m={self.radius_min_m}, ring_radius_m={self.ring_radius_m}")
        if not -90.0 < self.ring_elevation_deg < 90.0:
            raise ConfigError(f"ring_elevation_deg must be in (-90, 90), got {self.ring_elevation_deg}")
        if self.lens_mm <= 0 or self.sensor_mm <= 0:
            raise ConfigError(f"lens_mm and sensor_mm must be > 0, got {self.lens_mm}, {self.sensor_mm}")
        if self.max_texture_px < 0:
            raise ConfigError(f"max_texture_px must be >= 0 (0 = automatic), got {self.max_texture_px}")
        if self.samples < 1 or self.threads < 0:
            raise ConfigError(f"samples must be >= 1 and threads >= 0, got {self.samples}, {self.threads}")
        max_depth_m = max(self.radius_max_m, self.ring_radius_m) + 0.87
        if max_depth_m * DEPTH_UNITS_PER_M > 65535:
            raise ConfigError(f"camera radius too large for uint16 depth PNGs (max z-depth {max_depth_m:.2f} > 6.5)")


def texture_limit_px(config: RenderConfig) -> int:
    """The texture size limit in pixels that ``config`` asks for (resolving 0 = automatic)."""
    return config.max_texture_px or 4 * max(config.width, config.height)
