"""Simulators by name, as "module:Class" strings, so listing them imports nothing heavy."""

from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass
from typing import Any

from embodied._optional import is_available
from embodied.errors import ConfigError

__all__ = ["SimulatorEntry", "SIMULATORS", "list_simulators", "simulator_entry", "make_simulator"]


@dataclass(frozen=True)
class SimulatorEntry:
    name: str
    simulator: str
    config: str
    requires: tuple[str, ...]
    description: str

    @property
    def available(self) -> bool:
        return all(is_available(m) for m in self.requires)


SIMULATORS: dict[str, SimulatorEntry] = {e.name: e for e in (
    SimulatorEntry("builtin", "sims.raycast.simulator:RaycastSimulator", "sims.raycast.simulator:SimConfig",
                   ("trimesh", "embreex"), "procedural houses, CPU ray casting (default)"),
    SimulatorEntry("habitat", "sims.habitat:HabitatSimulator", "sims.habitat:HabitatConfig", ("habitat_sim",),
                   "habitat-sim scenes (HM3D, MP3D, ...)"),
    SimulatorEntry("thor", "sims.thor:ThorSimulator", "sims.thor:ThorConfig", ("ai2thor",),
                   "AI2-THOR / RoboTHOR / ProcTHOR"),
)}


def list_simulators() -> list[str]:
    return list(SIMULATORS)


def simulator_entry(name: str) -> SimulatorEntry:
    if name not in SIMULATORS:
        close = difflib.get_close_matches(name, list(SIMULATORS), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise ConfigError(f"unknown simulator '{name}'{hint} Choose from: {', '.join(SIMULATORS)}")
    return SIMULATORS[name]


def _resolve(path: str) -> Any:
    module, attr = path.split(":")
    return getattr(importlib.import_module(module), attr)


def make_simulator(name: str = "builtin", config: dict[str, Any] | None = None) -> Any:
    """Build simulator ``name`` from a plain config dict (unknown keys rejected with a suggestion)."""
    from embodied.config import config_from_dict

    entry = simulator_entry(name)
    cfg = config_from_dict(_resolve(entry.config), config or {})
    return _resolve(entry.simulator)(cfg)
