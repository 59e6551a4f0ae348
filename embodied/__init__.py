"""embodied: contracts and shared machinery of the embodied-AI toolkit.

Imports nothing from ``sims``, ``agents`` or ``datasets3d``; heavy modules (torch, open_clip) load
only when ``embodied.clip`` is used.
"""

from embodied.errors import (
    CheckpointError,
    ConfigError,
    EmbodiedError,
    MissingDependencyError,
    ObservationError,
    WeightsUnavailableError,
)
from embodied.types import (
    NO_DEPTH,
    NO_INSTANCE,
    Action,
    Agent,
    AgentPose,
    CameraIntrinsics,
    GeodesicOracle,
    Observation,
    Simulator,
    StepResult,
)

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "NO_DEPTH",
    "NO_INSTANCE",
    "Action",
    "Agent",
    "AgentPose",
    "CameraIntrinsics",
    "GeodesicOracle",
    "Observation",
    "Simulator",
    "StepResult",
    "CheckpointError",
    "ConfigError",
    "EmbodiedError",
    "MissingDependencyError",
    "ObservationError",
    "WeightsUnavailableError",
]
