"""The fixed studio lighting both backends use: directional (sun) lights plus a uniform grey world.

Radiance of a diffuse surface with albedo rho and unit normal n (no shadows, one bounce):
``rho * (AMBIENT + sum(strength * max(0, n . to_light) / pi))``. This is what Cycles computes for
Blender sun lamps of these strengths (W/m2) under a world background of colour AMBIENT, so the two
backends are exposed alike (Cycles adds shadows and interreflections).
"""

from __future__ import annotations

import numpy as np

__all__ = ["LIGHTS", "AMBIENT", "srgb_to_linear", "linear_to_srgb"]


def _unit(v: tuple[float, float, float]) -> tuple[float, float, float]:
    a = np.asarray(v, dtype=np.float64)
    return tuple((a / np.linalg.norm(a)).tolist())


LIGHTS: tuple[tuple[str, tuple[float, float, float], float], ...] = (
    ("key", _unit((-0.5, -0.5, 0.707)), 2.4),
    ("fill", _unit((0.5, 0.5, 0.707)), 1.2),
    ("rim", _unit((0.6, -0.6, 0.3)), 0.8),
    ("bottom", (0.0, 0.0, -1.0), 0.6),
)
"""(name, unit vector pointing *towards* the light in the world frame, strength W/m2)."""

AMBIENT = 0.3
"""Radiance of the uniform world background (linear), lighting every surface from all sides."""


def srgb_to_linear(c: np.ndarray) -> np.ndarray:
    """sRGB-encoded values in [0, 1] -> linear (float32)."""
    c = np.asarray(c, dtype=np.float32)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4).astype(np.float32)


def linear_to_srgb(c: np.ndarray) -> np.ndarray:
    """Linear values -> sRGB-encoded in [0, 1] (clipped; float32), Blender's "Standard" view transform."""
    c = np.clip(np.asarray(c, dtype=np.float32), 0.0, 1.0)
    return np.where(c <= 0.0031308, c * 12.92, 1.055 * c ** (1.0 / 2.4) - 0.055).astype(np.float32)
