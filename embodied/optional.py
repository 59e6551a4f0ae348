"""The one place where optional packages are checked.

``require("ai2thor", extra="thor")`` returns the imported module or raises
:class:`~embodied.errors.MissingDependencyError` with the install line. ``FEATURES`` lists what each
feature needs, for ``embodied info``. Nothing here imports an optional package at module import.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from types import ModuleType

from embodied.errors import MissingDependencyError

__all__ = ["DIST_NAME", "Feature", "FEATURES", "is_available", "require", "feature_status"]

DIST_NAME = "embodied-zeroshot"


@dataclass(frozen=True, slots=True)
class Feature:
    """An optional capability: the modules it imports and how a user gets them."""

    name: str
    modules: tuple[str, ...]
    install: str
    description: str


FEATURES: tuple[Feature, ...] = (
    Feature("raycast", ("trimesh", "embreex"), f"pip install {DIST_NAME}", "built-in CPU ray caster (embree)"),
    Feature("open3d", ("open3d",), f"pip install {DIST_NAME}  (and apt-get install libusb-1.0-0)",
            "Open3D ray casting, ICP, point clouds"),
    Feature("habitat", ("habitat_sim",), "conda install habitat-sim -c conda-forge -c aihabitat",
            "habitat-sim simulator adapter"),
    Feature("thor", ("ai2thor",), f"pip install '{DIST_NAME}[thor]'", "AI2-THOR simulator adapter"),
    Feature("gym", ("gymnasium",), f"pip install '{DIST_NAME}[gym]'", "Gymnasium environments"),
    Feature("ray", ("ray",), f"pip install '{DIST_NAME}[ray]'", "Ray cluster scale-out"),
    Feature("viz", ("rerun",), f"pip install '{DIST_NAME}[viz]'", "rerun.io visualisation"),
    Feature("blender", ("bpy",), f"pip install '{DIST_NAME}[blender]'", "Blender Cycles rendering"),
    Feature("objaverse", ("objaverse",), f"pip install '{DIST_NAME}[objaverse]'", "Objaverse(-XL) ingestion"),
    Feature("hf", ("transformers",), f"pip install '{DIST_NAME}[hf]'", "HF text-tower CLIPs; OWL-ViT localizer"),
)
_INSTALL = {m: f.install for f in FEATURES for m in f.modules}


def is_available(module: str) -> bool:
    """True when ``module`` can be imported (checked without importing it)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def require(module: str, *, extra: str | None = None, purpose: str | None = None) -> ModuleType:
    """Import and return ``module``, or raise MissingDependencyError naming how to install it.

    Args:
        module: importable module name, e.g. ``"ai2thor"``.
        extra: the pip extra of this distribution that provides it (overrides the table).
        purpose: what the caller wanted it for, quoted in the message.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        how = f"pip install '{DIST_NAME}[{extra}]'" if extra else _INSTALL.get(module, f"pip install {module}")
        why = f" (needed for {purpose})" if purpose else ""
        raise MissingDependencyError(
            f"optional package '{module}' is not installed{why}: {exc}. Install it with: {how}"
        ) from exc


def feature_status() -> list[tuple[Feature, bool, list[str]]]:
    """For each feature: (feature, usable, missing modules)."""
    out = []
    for feat in FEATURES:
        missing = [m for m in feat.modules if not is_available(m)]
        out.append((feat, not missing, missing))
    return out
