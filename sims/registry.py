"""Simulators by name, as "module:attr" strings, so listing them imports nothing heavy.

What commands need of a simulator goes through here, never through its modules: its typed config
(:func:`simulator_config`), the simulator itself (:func:`make_simulator`), ObjectNav episodes where
the simulator can generate them (:func:`generate_episodes`) and the object categories it knows
(:func:`task_vocabulary`).
"""

from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass
from typing import Any

from embodied.optional import is_available
from embodied.errors import ConfigError

__all__ = ["SimulatorEntry", "SIMULATORS", "list_simulators", "simulator_entry", "simulator_class", "simulator_fields",
           "simulator_config", "make_simulator",
           "generate_episodes", "task_vocabulary"]


@dataclass(frozen=True)
class SimulatorEntry:
    name: str
    simulator: str
    config: str
    requires: tuple[str, ...]
    description: str
    episodes: str | None = None
    """``module:function(split, n, *, seed, sim_config, progress) -> list[ObjectNavEpisode]``, or None
    when episodes must come from a file."""
    vocabulary: str | None = None
    """``module:NAME`` of the object categories the simulator's scenes hold, or None (unknown)."""

    @property
    def available(self) -> bool:
        return all(is_available(m) for m in self.requires)


SIMULATORS: dict[str, SimulatorEntry] = {e.name: e for e in (
    SimulatorEntry("builtin", "sims.raycast.simulator:RaycastSimulator", "sims.raycast.simulator:SimConfig",
                   ("trimesh", "embreex"), "procedural houses or scanned scene meshes, CPU ray casting (default)",
                   episodes="sims.raycast.episodes:generate_episodes", vocabulary="sims.raycast.categories:CATEGORIES"),
    SimulatorEntry("habitat", "sims.habitat:HabitatSimulator", "sims.habitat:HabitatConfig", ("habitat_sim",),
                   "habitat-sim scenes (HM3D, MP3D, ...)"),
    SimulatorEntry("thor", "sims.thor:ThorSimulator", "sims.thor:ThorConfig", ("ai2thor",),
                   "AI2-THOR / RoboTHOR / ProcTHOR", episodes="sims.thor.episodes:generate_thor_episodes"),
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


def simulator_class(name: str) -> type:
    """The class of simulator ``name`` (imports its module, not its simulator package: the THOR and
    habitat adapters import ai2thor / habitat_sim only when started)."""
    return _resolve(simulator_entry(name).simulator)


def simulator_fields(name: str) -> set[str]:
    """The field names of simulator ``name``'s config."""
    import dataclasses

    return {f.name for f in dataclasses.fields(_resolve(simulator_entry(name).config))}


def simulator_config(name: str, config: Any = None) -> Any:
    """The typed config of simulator ``name`` from a dict of its fields (unknown keys are rejected with
    a suggestion), or ``config`` itself when it already is one."""
    from embodied.config import config_from_dict

    cls = _resolve(simulator_entry(name).config)
    if isinstance(config, cls):
        return config
    return config_from_dict(cls, config or {})


def make_simulator(name: str = "builtin", config: Any = None) -> Any:
    """Build simulator ``name`` from its typed config, or a plain dict of its fields."""
    entry = simulator_entry(name)
    return _resolve(entry.simulator)(simulator_config(name, config))


def generate_episodes(name: str, split: str, n: int, *, seed: int = 0, sim_config: Any = None,
                      progress: bool = False, **options: Any) -> list[Any]:
    """``n`` ObjectNav episodes of ``split`` for simulator ``name`` (deterministic for ``seed``);
    ``options`` go to the simulator's generator (builtin: ``episodes_per_house``, ``goals``, ...).

    Raises:
        ConfigError: the simulator has no episode generator (give an episode file instead).
    """
    entry = simulator_entry(name)
    if entry.episodes is None:
        raise ConfigError(f"simulator '{name}' cannot generate episodes; give them as a file (--episode-file, "
                          "one ObjectNavEpisode JSON per line)")
    return _resolve(entry.episodes)(split, n, seed=seed, sim_config=simulator_config(name, sim_config),
                                    progress=progress, **options)


def task_vocabulary(name: str) -> list[str] | None:
    """The object categories simulator ``name``'s scenes hold (None when it cannot say)."""
    entry = simulator_entry(name)
    return None if entry.vocabulary is None else list(_resolve(entry.vocabulary))
