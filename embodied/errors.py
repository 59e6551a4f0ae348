"""Exceptions raised by the toolkit.

Every error a user can cause derives from :class:`EmbodiedError`; the ``embodied`` command line turns
any of them into one readable line and exit code 2. Each also derives from the builtin it refines
(``ValueError``, ``ImportError``, ...) so generic handlers keep working.
"""

from __future__ import annotations

__all__ = [
    "EmbodiedError",
    "ConfigError",
    "ObservationError",
    "MissingDependencyError",
    "WeightsUnavailableError",
    "CheckpointError",
]


class EmbodiedError(Exception):
    """Base class of the toolkit's user-facing errors."""


class ConfigError(EmbodiedError, ValueError):
    """A configuration value is invalid (unknown key, out-of-range value, bad combination)."""


class ObservationError(EmbodiedError, ValueError):
    """An :class:`~embodied.types.Observation` breaks the contract (shape, dtype, NaN, bad pose)."""


class MissingDependencyError(EmbodiedError, ImportError):
    """An optional package is not installed; the message names the pip extra or install command."""


class WeightsUnavailableError(EmbodiedError, RuntimeError):
    """Pretrained weights are neither in the local cache nor reachable over the network."""


class CheckpointError(EmbodiedError, ValueError):
    """A checkpoint file is missing, corrupt, or does not match the requested architecture."""
