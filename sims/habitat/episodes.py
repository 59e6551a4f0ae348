"""habitat-lab ObjectNav dataset files (``.json`` / ``.json.gz``) read as our :class:`ObjectNavEpisode` s."""

from __future__ import annotations

import gzip
import json
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from embodied.tasks import EpisodeFileError, ObjectNavEpisode
from sims.habitat.frames import habitat_category, habitat_quat_to_yaw, habitat_to_world

logger = logging.getLogger(__name__)

DEFAULT_SCENE_PATH_PREFIX = "data/scene_datasets/"
"""habitat-lab's prefix of ``scene_id`` in dataset files, replaced by ``scenes_dir`` when one is given."""


# ---------------------------------------------------------------------------------------------------
# ObjectNav dataset files
# ---------------------------------------------------------------------------------------------------


def _load_json(path: Path) -> Any:
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise EpisodeFileError(f"habitat episode file not found: {path}") from None
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise EpisodeFileError(f"{path}: not a JSON (or gzipped JSON) habitat dataset file: {exc}") from exc


def _scene_path(scene_id: str, scenes_dir: str | os.PathLike | None) -> str:
    """habitat-lab's rule: with ``scenes_dir``, drop the "data/scene_datasets/" prefix and join."""
    if scenes_dir is None:
        return scene_id
    if scene_id.startswith(DEFAULT_SCENE_PATH_PREFIX):
        scene_id = scene_id[len(DEFAULT_SCENE_PATH_PREFIX):]
    return os.path.join(os.fspath(scenes_dir), scene_id)


def _view_points_m(goals: Sequence[Mapping[str, Any]]) -> list[list[float]]:
    """Our-frame (x, y, z) of every view point of ``goals`` (habitat ObjectGoal dicts)."""
    pts = [vp["agent_state"]["position"] for g in goals for vp in g.get("view_points") or []]
    if not pts:
        return []
    return habitat_to_world(np.asarray(pts, dtype=np.float64).reshape(-1, 3)).tolist()


def _convert_episode(ep: Mapping[str, Any], index: int, goals_by_category: Mapping[str, Any],
                     scenes_dir: str | os.PathLike | None, split: str,
                     view_point_cache: dict[str, list[list[float]]]) -> ObjectNavEpisode:
    scene_id = str(ep["scene_id"])
    category = ep.get("object_category") or (ep.get("goals") or [{}])[0].get("object_category")
    if not category:
        raise KeyError("object_category")
    goals_key = f"{os.path.basename(scene_id)}_{category}"
    if goals_key not in view_point_cache:
        view_point_cache[goals_key] = _view_points_m(goals_by_category.get(goals_key) or ep.get("goals") or [])
    position = habitat_to_world(np.asarray(ep["start_position"], dtype=np.float64).reshape(3))
    rotation = [float(v) for v in ep["start_rotation"]]  # [x, y, z, w]
    geodesic = (ep.get("info") or {}).get("geodesic_distance")
    extras: dict[str, Any] = {
        "habitat_scene_id": scene_id,
        "habitat_object_category": category,
        "habitat_start_position": [float(v) for v in ep["start_position"]],
        "habitat_start_rotation_xyzw": rotation,
        "goal_view_points_m": view_point_cache[goals_key],
    }
    if ep.get("scene_dataset_config"):
        extras["scene_dataset_config"] = ep["scene_dataset_config"]
    return ObjectNavEpisode(
        episode_id=str(ep.get("episode_id", index)),
        scene_id=_scene_path(scene_id, scenes_dir),
        start_position_m=tuple(float(v) for v in position),
        start_yaw_rad=habitat_quat_to_yaw(rotation),
        goal_category=habitat_category(category),
        geodesic_distance_m=None if geodesic is None else float(geodesic),
        split=split,
        extras=extras,
    )


def read_habitat_objectnav_episodes(path: str | os.PathLike, *, scenes_dir: str | os.PathLike | None = None,
                                    split: str = "") -> list[ObjectNavEpisode]:
    """Read a habitat-lab ObjectNav dataset file (``.json`` or ``.json.gz``) as our episodes.

    The file holds ``{"episodes": [{"episode_id", "scene_id", "start_position": [x, y, z],
    "start_rotation": [x, y, z, w], "object_category", "info": {"geodesic_distance"}}, ...],
    "goals_by_category": {"<scene basename>_<category>": [{"view_points": [{"agent_state":
    {"position"}}]}]}}`` in habitat coordinates (older files keep the goals in each episode's "goals").

    Returns:
        Episodes in our frame: start position and yaw converted, the goal category mapped by
        :func:`habitat_category`, ``geodesic_distance_m`` from ``info``. ``extras`` keeps the habitat
        originals and ``goal_view_points_m`` (our-frame view points of the goal category in that scene,
        one list shared by the episodes of a goal), which :class:`HabitatSimulator` uses for
        ``distance_to_goal``. With ``scenes_dir``, scene paths are resolved as habitat-lab does.

    Raises:
        EpisodeFileError: the file is missing, not JSON, or an episode lacks a field (names file and episode).
    """
    p = Path(path)
    data = _load_json(p)
    if not isinstance(data, Mapping) or not isinstance(data.get("episodes"), list):
        raise EpisodeFileError(f"{p}: not a habitat ObjectNav dataset (no 'episodes' list)")
    goals_by_category = data.get("goals_by_category") or {}
    cache: dict[str, list[list[float]]] = {}
    episodes = []
    for i, ep in enumerate(data["episodes"]):
        try:
            episodes.append(_convert_episode(ep, i, goals_by_category, scenes_dir, split, cache))
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            name = ep.get("episode_id", "?") if isinstance(ep, Mapping) else repr(ep)
            raise EpisodeFileError(f"{p}: episode #{i} ({name}) is not a valid ObjectNav episode: "
                                   f"{type(exc).__name__}: {exc}") from exc
    logger.info("read %d habitat ObjectNav episodes from %s", len(episodes), p)
    return episodes
