"""RoboTHOR ObjectNav episodes: the challenge's episode files read as our :class:`ObjectNavEpisode` s
(:func:`read_robothor_episodes`) and episodes sampled in scenes that have no file
(:func:`sample_thor_episodes`)."""

from __future__ import annotations

import gzip
import json
import logging
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from embodied.errors import ConfigError
from embodied.tasks import EpisodeFileError, ObjectNavEpisode
from sims.thor.config import DEFAULT_AGENT_CENTRE_HEIGHT_M, ThorConfig
from sims.thor.frames import thor_category, unity_to_world, unity_yaw_to_world
from sims.thor.simulator import ThorSimulator

logger = logging.getLogger(__name__)

ROBOTHOR_OBJECT_TYPES: tuple[str, ...] = (
    "AlarmClock", "Apple", "BaseballBat", "BasketBall", "Bowl", "GarbageCan", "HousePlant", "Laptop", "Mug",
    "SprayBottle", "Television", "Vase",
)
"""THOR ``objectType`` s of RoboTHOR ObjectNav targets: CoW's ``THOR_OBJECT_TYPES`` (real-stanford/cow
``src/simulation/constants.py``), the target types listed in allenai/robothor-challenge's README plus Bowl."""

ROBOTHOR_GOALS: tuple[str, ...] = tuple(thor_category(t) for t in ROBOTHOR_OBJECT_TYPES)
"""Our category names of :data:`ROBOTHOR_OBJECT_TYPES` (the default goals of :func:`sample_thor_episodes`)."""


# ---------------------------------------------------------------------------------------------------
# RoboTHOR episode files
# ---------------------------------------------------------------------------------------------------

# The format, as allenai/robothor-challenge ships it (dataset/{split}/episodes/{scene}.json.gz, read by
# robothor_challenge/challenge.py ``load_split``: gzip, one JSON list per file) and documents it in its
# README: each episode is {"id", "scene", "object_type", "initial_position": {x, y, z} (Unity, agent
# centre: y = 0.9009997 on floors at y = 0), "initial_orientation" (rotation.y, degrees),
# "initial_horizon" (degrees; 30 in the files), "shortest_path": [{x, y, z}, ...] (floor level),
# "shortest_path_length" (metres), and in older files "difficulty", "object_id", "target_position"}.
# Test-split files leave out shortest_path and shortest_path_length.
_REQUIRED = ("id", "scene", "object_type", "initial_position", "initial_orientation")


def _episode_files(path: Path) -> list[Path]:
    """The files ``path`` names: itself, or the sorted ``*.json.gz`` / ``*.json`` in it (or in its ``episodes/``)."""
    if path.is_file():
        return [path]
    if path.is_dir():
        for folder in (path, path / "episodes"):
            files = sorted(p for p in folder.glob("*.json*") if p.name.endswith((".json", ".json.gz")))
            if files:
                return files
        raise EpisodeFileError(f"no RoboTHOR episode files (*.json.gz, *.json) in {path} or {path / 'episodes'}")
    raise EpisodeFileError(f"RoboTHOR episode file not found: {path}")


def _load_list(path: Path) -> list[Any]:
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, EOFError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise EpisodeFileError(f"{path}: not a JSON (or gzipped JSON) RoboTHOR episode file: {exc}") from exc
    if not isinstance(data, list):
        raise EpisodeFileError(f"{path}: a RoboTHOR episode file holds a JSON list of episodes, got "
                               f"{type(data).__name__}")
    return data


def _number(d: Mapping[str, Any], key: str, name: str | None = None) -> float:
    name = name or f"'{key}'"
    if key not in d:
        raise ValueError(f"{name} is missing")
    value = d[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def _position(value: Any, key: str) -> dict[str, float]:
    if not isinstance(value, Mapping):
        raise ValueError(f"'{key}' must be an {{'x', 'y', 'z'}} object, got {value!r}")
    return {axis: _number(value, axis, f"'{key}.{axis}'") for axis in ("x", "y", "z")}


def _convert(ep: Any, split: str, agent_centre_height_m: float) -> ObjectNavEpisode:
    if not isinstance(ep, Mapping):
        raise ValueError(f"an episode must be a JSON object, got {type(ep).__name__}")
    missing = [k for k in _REQUIRED if k not in ep]
    if missing:
        raise KeyError(f"missing field(s) {missing}")
    for key in ("scene", "object_type"):
        if not isinstance(ep[key], str) or not ep[key].strip():
            raise ValueError(f"'{key}' must be a non-empty string, got {ep[key]!r}")
    start = _position(ep["initial_position"], "initial_position")
    orientation = _number(ep, "initial_orientation")
    geodesic = None
    if ep.get("shortest_path_length") is not None:
        geodesic = _number(ep, "shortest_path_length")
        if geodesic < 0:
            raise ValueError(f"'shortest_path_length' must be >= 0, got {geodesic}")
    x, y, z = unity_to_world(start)  # the reported agent centre; our base stands on the floor below it
    extras: dict[str, Any] = {f"thor_{k}": v for k, v in ep.items()}
    if isinstance(ep.get("target_position"), Mapping):
        extras["goal_position_m"] = unity_to_world(_position(ep["target_position"], "target_position")).tolist()
    return ObjectNavEpisode(
        episode_id=str(ep["id"]),
        scene_id=ep["scene"],
        start_position_m=(float(x), float(y), float(z) - agent_centre_height_m),
        start_yaw_rad=unity_yaw_to_world(orientation),
        goal_category=thor_category(ep["object_type"]),
        geodesic_distance_m=geodesic,
        split=split,
        extras=extras,
    )


def read_robothor_episodes(path: str | os.PathLike, *, split: str = "",
                           agent_centre_height_m: float = DEFAULT_AGENT_CENTRE_HEIGHT_M) -> list[ObjectNavEpisode]:
    """Read RoboTHOR ObjectNav episodes (allenai/robothor-challenge format) as our episodes.

    Args:
        path: a ``.json.gz`` (or ``.json``) file holding a JSON list of episodes, or a folder of them
            (``dataset/val`` or ``dataset/val/episodes``: every ``*.json.gz`` / ``*.json`` in sorted order,
            as the challenge's ``load_split`` reads a split).
        split: stored in every episode's ``split``.
        agent_centre_height_m: height of THOR's reported agent position above the floor (metres), as
            ``ThorConfig.agent_centre_height_m``; use the same value in the simulator so starts round-trip.

    Returns:
        Episodes in our frame: ``start_position_m`` = ``unity_to_world(initial_position)`` with
        ``agent_centre_height_m`` taken off the height (the floor under the agent), ``start_yaw_rad`` from
        ``initial_orientation`` (degrees), ``goal_category`` = ``thor_category(object_type)``,
        ``geodesic_distance_m`` = ``shortest_path_length`` (None in test files). ``extras`` keeps every
        original field as ``thor_<field>`` (``thor_object_type``, ``thor_initial_horizon``,
        ``thor_shortest_path``, ...) and, when the episode has ``target_position``, ``goal_position_m``
        (our frame). ``initial_horizon`` is kept only there: :class:`ThorSimulator` starts at horizon 0,
        as CoW does (real-stanford/cow ``robothor_challenge.py`` teleports with ``horizon: 0``).

    Raises:
        EpisodeFileError: no such file, not (gzipped) JSON, not a list, an episode lacks a field or has a
            bad value (the message names the file and the episode), or two episodes share an id.
    """
    root = Path(path)
    episodes: list[ObjectNavEpisode] = []
    seen: dict[str, Path] = {}
    for file in _episode_files(root):
        for i, ep in enumerate(_load_list(file)):
            name = ep.get("id", "?") if isinstance(ep, Mapping) else "?"
            try:
                episode = _convert(ep, split, agent_centre_height_m)
            except (KeyError, TypeError, ValueError) as exc:
                reason = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
                raise EpisodeFileError(f"{file}: episode #{i} (id {name}) is not a valid RoboTHOR ObjectNav "
                                       f"episode: {reason}") from exc
            if episode.episode_id in seen:
                raise EpisodeFileError(f"{file}: episode #{i} (id {name}) repeats an id already read from "
                                       f"{seen[episode.episode_id]}")
            seen[episode.episode_id] = file
            episodes.append(episode)
    logger.info("read %d RoboTHOR episodes from %s", len(episodes), root)
    return episodes


# ---------------------------------------------------------------------------------------------------
# Sampling episodes
# ---------------------------------------------------------------------------------------------------


def sample_thor_episodes(sim_or_controller: Any, scenes: str | Iterable[str], n: int, *, seed: int,
                         goals: Sequence[str] | None = None, min_distance_m: float = 1.0,
                         config: ThorConfig | None = None, split: str = "",
                         max_tries: int = 200) -> list[ObjectNavEpisode]:
    """``n`` ObjectNav episodes in THOR ``scenes`` that have no episode file; the same for the same seed.

    The episodes are spread over ``scenes`` in order (the first ``n % len(scenes)`` scenes get one more).
    In each scene: the reachable positions (``GetReachablePositions``, as allenai/robothor-challenge's
    ``move_to_random_point`` and allenact's ``random_reachable_state`` draw starts from), then per
    episode a random reachable start and a yaw that is a multiple of ``turn_deg`` (allenact
    ``robothor_environment.py`` ``random_reachable_state`` draws ``rotation`` from
    ``arange(0, 360, rotateStepDegrees)``), and a goal among ``goals`` present in the scene whose
    :meth:`ThorSimulator.distance_to_goal` from that start is finite and above ``min_distance_m``.

    Args:
        sim_or_controller: a :class:`ThorSimulator`, or an ai2thor controller (wrapped in one made with
            ``config``). Scenes are loaded in it; ``reset`` it with an episode afterwards.
        scenes: THOR scene names (one name is one scene).
        n: number of episodes (>= 0).
        seed: seeds the draws (numpy ``default_rng``).
        goals: our category names to choose from; default :data:`ROBOTHOR_GOALS` (RoboTHOR's targets).
        min_distance_m: a goal must be farther than this (metres, geodesic) from the start.
        config: settings of the wrapping simulator when a controller is given (default ``ThorConfig()``).
        split: stored in every episode's ``split``.
        max_tries: starts drawn per episode before the scene is given up as having no valid goal.

    Returns:
        Episodes with ids ``"<scene>-<k>"`` (k counts per scene), ``geodesic_distance_m`` = the lattice
        distance at sampling, and ``extras`` ``thor_initial_position`` (Unity), ``thor_initial_orientation``
        (degrees) and ``sampler_seed``.

    Raises:
        ConfigError: bad arguments, or a scene where no start has a goal at a valid distance.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ConfigError(f"n must be an integer >= 0, got {n!r}")
    scene_list = [scenes] if isinstance(scenes, str) else list(scenes)
    if not scene_list and n:
        raise ConfigError("sample_thor_episodes needs at least one scene")
    bad = [s for s in scene_list if not isinstance(s, str) or not s.strip()]
    if bad:
        raise ConfigError(f"scenes must be THOR scene names, got {bad!r}")
    goal_list = list(ROBOTHOR_GOALS if goals is None else goals)
    if not goal_list or not all(isinstance(g, str) and g for g in goal_list):
        raise ConfigError(f"goals must be non-empty category names, got {goals!r}")
    if not math.isfinite(min_distance_m) or min_distance_m < 0 or max_tries < 1:
        raise ConfigError("min_distance_m must be finite and >= 0, and max_tries >= 1")
    sim = (sim_or_controller if isinstance(sim_or_controller, ThorSimulator)
           else ThorSimulator(config or ThorConfig(), controller=sim_or_controller))
    rng = np.random.default_rng(seed)
    turn = sim.config.turn_deg
    yaw_steps = max(1, int(math.floor(360.0 / turn + 1e-9)))
    episodes: list[ObjectNavEpisode] = []
    for s, scene in enumerate(scene_list):
        count = n // len(scene_list) + (1 if s < n % len(scene_list) else 0)
        if count == 0:
            continue
        sim.load_scene(scene)
        starts = sim.reachable_positions_m()
        unity = sim.reachable_graph().points
        present = sorted({g for g in goal_list if sim.goal_instance_ids(g)})
        if not present:
            raise ConfigError(f"THOR scene {scene} has none of the goals {goal_list}")
        for k in range(count):
            for _ in range(max_tries):
                i = int(rng.integers(len(starts)))
                distances = {g: sim.distance_to_goal(g, starts[i]) for g in present}
                valid = [g for g in present if math.isfinite(distances[g]) and distances[g] > min_distance_m]
                if valid:
                    break
            else:
                raise ConfigError(f"THOR scene {scene}: no start among {max_tries} drawn has a goal of {present} "
                                  f"reachable and farther than {min_distance_m} m")
            goal = valid[int(rng.integers(len(valid)))]
            rotation = float(int(rng.integers(yaw_steps)) * turn)
            episodes.append(ObjectNavEpisode(
                episode_id=f"{scene}-{k}",
                scene_id=scene,
                start_position_m=tuple(float(v) for v in starts[i]),
                start_yaw_rad=unity_yaw_to_world(rotation),
                goal_category=goal,
                geodesic_distance_m=float(distances[goal]),
                split=split,
                extras={
                    "thor_initial_position": {"x": float(unity[i, 0]), "y": float(unity[i, 1]),
                                              "z": float(unity[i, 2])},
                    "thor_initial_orientation": rotation,
                    "sampler_seed": seed,
                },
            ))
    logger.info("sampled %d THOR episodes in %d scene(s)", len(episodes), len(scene_list))
    return episodes


ROBOTHOR_SCENES: dict[str, tuple[str, ...]] = {
    # real-stanford/cow src/simulation/constants.py TRAIN_ROOM_IDS / VAL_ROOM_IDS / TEST_ROOM_IDS (RoboTHOR)
    "train": tuple(f"FloorPlan_Train{i}_{j}" for i in range(1, 13) for j in range(1, 6)),
    "val": tuple(f"FloorPlan_Val{i}_{j}" for i in range(1, 4) for j in range(1, 6)),
    "test": tuple(f"FloorPlan_test-challenge{i}_{j}" for i in range(1, 6) for j in range(1, 3)),
}
"""RoboTHOR's scenes per split: 60 train, 15 val, 10 test-challenge apartments."""


def generate_thor_episodes(split: str, n: int, *, seed: int = 0, sim_config: ThorConfig | None = None,
                           progress: bool = False, controller: Any = None) -> list[ObjectNavEpisode]:
    """``n`` ObjectNav episodes sampled in the RoboTHOR scenes of ``split`` (:data:`ROBOTHOR_SCENES`) by
    :func:`sample_thor_episodes`: what ``embodied nav --sim thor`` runs without an episode file.

    Args:
        controller: an already started controller; default: one started from ``sim_config`` (Unity).
    """
    if split not in ROBOTHOR_SCENES:
        raise ConfigError(f"unknown RoboTHOR split '{split}'; choose from {sorted(ROBOTHOR_SCENES)}")
    config = sim_config if sim_config is not None else ThorConfig()
    scenes = ROBOTHOR_SCENES[split][:max(1, n)]
    sim = ThorSimulator(config, controller=controller)
    try:
        return sample_thor_episodes(sim, scenes, n, seed=seed, split=split)
    finally:
        if controller is None:
            sim.close()
