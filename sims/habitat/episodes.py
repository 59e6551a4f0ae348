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

DEFAULT_CONTENT_SCENES_PATH = "{data_path}/content/{scene}.json.gz"
"""habitat-lab's ``PointNavDatasetV1.content_scenes_path`` (also ObjectNav's): the per-scene files of a split."""

CONTENT_SCENES_PATH_FIELD = "content_scenes_path"
ALL_SCENES_MASK = "*"
_SCENE_EXTENSIONS = frozenset({".glb", ".gltf", ".ply", ".obj", ".basis", ".navmesh", ".house", ".json"})


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


def habitat_scene_name(scene_id: str) -> str:
    """The scene's name in our episode ids: the file name of ``scene_id`` without its extensions
    ("hm3d/val/00800-TEEsavR23oF/TEEsavR23oF.basis.glb" -> "TEEsavR23oF"), as habitat's per-scene files
    ``content/<scene>.json.gz`` name it."""
    name = os.path.basename(str(scene_id).rstrip("/\\"))
    while True:
        root, ext = os.path.splitext(name)
        if not root or ext.lower() not in _SCENE_EXTENSIONS:
            return name
        name = root


def _convert_episode(ep: Mapping[str, Any], index: int, goals_by_category: Mapping[str, Any],
                     scenes_dir: str | os.PathLike | None, split: str,
                     view_point_cache: dict[str, list[list[float]]], source: str) -> ObjectNavEpisode:
    scene_id = str(ep["scene_id"])
    category = ep.get("object_category") or (ep.get("goals") or [{}])[0].get("object_category")
    if not category:
        raise KeyError("object_category")
    # habitat-lab ObjectGoalNavEpisode.goals_key: "<basename of scene_id>_<object_category>"
    # (facebookresearch/habitat-lab habitat-lab/habitat/tasks/nav/object_nav_task.py)
    goals_key = f"{os.path.basename(scene_id)}_{category}"
    if goals_key not in view_point_cache:
        view_point_cache[goals_key] = _view_points_m(goals_by_category.get(goals_key) or ep.get("goals") or [])
    position = habitat_to_world(np.asarray(ep["start_position"], dtype=np.float64).reshape(3))
    rotation = [float(v) for v in ep["start_rotation"]]  # [x, y, z, w]
    geodesic = (ep.get("info") or {}).get("geodesic_distance")
    habitat_id = str(ep.get("episode_id", index))
    extras: dict[str, Any] = {
        "habitat_episode_id": habitat_id,
        # habitat-lab's ObjectNavDatasetV1.from_json renames each episode to str(its index in the file it
        # was read from) (facebookresearch/habitat-lab habitat-lab/habitat/datasets/object_nav/object_nav_dataset.py)
        "habitat_episode_index": index,
        "habitat_episode_file": source,
        "habitat_scene_id": scene_id,
        "habitat_object_category": category,
        "habitat_start_position": [float(v) for v in ep["start_position"]],
        "habitat_start_rotation_xyzw": rotation,
        "goal_view_points_m": view_point_cache[goals_key],
    }
    if ep.get("scene_dataset_config"):  # "./data/scene_datasets/..." like scene ids: rebased on scenes_dir too
        config_path = str(ep["scene_dataset_config"])
        config_path = config_path[2:] if config_path.startswith("./") else config_path
        extras["scene_dataset_config"] = _scene_path(config_path, scenes_dir) if \
            config_path.startswith(DEFAULT_SCENE_PATH_PREFIX) else ep["scene_dataset_config"]
    return ObjectNavEpisode(
        episode_id=f"{habitat_scene_name(scene_id)}:{habitat_id}",
        scene_id=_scene_path(scene_id, scenes_dir),
        start_position_m=tuple(float(v) for v in position),
        start_yaw_rad=habitat_quat_to_yaw(rotation),
        goal_category=habitat_category(category),
        geodesic_distance_m=None if geodesic is None else float(geodesic),
        split=split,
        extras=extras,
    )


def _episodes_of_file(p: Path, data: Any, scenes_dir: str | os.PathLike | None, split: str) -> list[ObjectNavEpisode]:
    """The episodes one habitat dataset file lists, with that file's own ``goals_by_category``."""
    if not isinstance(data, Mapping) or not isinstance(data.get("episodes"), list):
        raise EpisodeFileError(f"{p}: not a habitat ObjectNav dataset (no 'episodes' list)")
    goals_by_category = data.get("goals_by_category") or {}
    cache: dict[str, list[list[float]]] = {}
    episodes = []
    for i, ep in enumerate(data["episodes"]):
        try:
            episodes.append(_convert_episode(ep, i, goals_by_category, scenes_dir, split, cache, os.fspath(p)))
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            name = ep.get("episode_id", "?") if isinstance(ep, Mapping) else repr(ep)
            raise EpisodeFileError(f"{p}: episode #{i} ({name}) is not a valid ObjectNav episode: "
                                   f"{type(exc).__name__}: {exc}") from exc
    return episodes


def _content_files(p: Path, data: Mapping[str, Any], content_scenes: Sequence[str]) -> list[Path] | None:
    """The per-scene files a split file stands for, or None when it holds its episodes itself.

    habitat-lab's rule (facebookresearch/habitat-lab habitat-lab/habitat/datasets/pointnav/pointnav_dataset.py,
    ``PointNavDatasetV1.__init__`` and ``_get_scenes_from_folder``): ``{data_path}`` is the folder of the split
    file and ``content_scenes_path`` (default "{data_path}/content/{scene}.json.gz") names one file per scene;
    when the folder before ``{scene}`` exists, the episodes are those of the per-scene files of
    ``content_scenes`` ("*": every file in that folder ending like the pattern, sorted by name) and the
    split file's own list is not read; otherwise the split file's episodes are used.
    """
    pattern = str(data.get(CONTENT_SCENES_PATH_FIELD) or DEFAULT_CONTENT_SCENES_PATH)
    if "{scene}" not in pattern:
        raise EpisodeFileError(f"{p}: content_scenes_path {pattern!r} has no '{{scene}}'")
    head, tail = pattern.split("{scene}", 1)
    data_path = os.fspath(p.parent)
    try:
        content_dir = Path(head.format(data_path=data_path))
    except (KeyError, IndexError, ValueError) as exc:
        raise EpisodeFileError(f"{p}: cannot read content_scenes_path {pattern!r}: {exc}") from exc
    if not content_dir.is_dir():
        if data.get(CONTENT_SCENES_PATH_FIELD) and not data.get("episodes"):
            where = pattern.replace("{data_path}", data_path)
            raise EpisodeFileError(f"{p}: the split file lists no episodes and its per-scene files ({where}) are "
                                   f"missing: no folder {content_dir}")
        return None
    scenes = list(content_scenes)
    if ALL_SCENES_MASK in scenes:
        scenes = sorted(f.name[:len(f.name) - len(tail)] for f in content_dir.iterdir()
                        if f.is_file() and f.name.endswith(tail) and len(f.name) > len(tail))
    files = [Path(pattern.format(data_path=data_path, scene=scene)) for scene in scenes]
    if not files:
        raise EpisodeFileError(f"{p}: no per-scene episode files match {pattern.replace('{data_path}', data_path)}")
    if data.get("episodes"):
        logger.warning("%s: %d episodes of the split file itself are ignored: habitat-lab reads the per-scene "
                       "files in %s instead", p, len(data["episodes"]), content_dir)
    return files


def read_habitat_objectnav_episodes(path: str | os.PathLike, *, scenes_dir: str | os.PathLike | None = None,
                                    split: str = "", content_scenes: Sequence[str] = (ALL_SCENES_MASK,),
                                    ) -> list[ObjectNavEpisode]:
    """Read a habitat-lab ObjectNav dataset (``.json`` or ``.json.gz``) as our episodes.

    A file holds ``{"episodes": [{"episode_id", "scene_id", "start_position": [x, y, z],
    "start_rotation": [x, y, z, w], "object_category", "info": {"geodesic_distance"}}, ...],
    "goals_by_category": {"<scene basename>_<category>": [{"view_points": [{"agent_state":
    {"position"}}]}]}}`` in habitat coordinates (older files keep the goals in each episode's "goals").
    A split file (``{split}/{split}.json.gz``) may instead stand for per-scene files
    (``content_scenes_path``, default "{data_path}/content/{scene}.json.gz" with ``{data_path}`` the split
    file's folder): when that ``content/`` folder exists, the episodes are those of its files, each read with
    its own ``goals_by_category``, in file-name order (habitat-lab's rule, see ``PointNavDatasetV1`` in
    facebookresearch/habitat-lab habitat-lab/habitat/datasets/pointnav/pointnav_dataset.py).

    Args:
        path: the dataset file (a split file or one per-scene file).
        scenes_dir: habitat-lab's SCENES_DIR: the "data/scene_datasets/" prefix of ``scene_id`` is replaced
            by it (habitat-lab's ``from_json``); None keeps the file's paths.
        split: recorded on every episode.
        content_scenes: the scenes to read (habitat-lab's ``dataset.content_scenes``): names of per-scene
            files, or of scenes (file name of ``scene_id`` with or without extensions) in a single file;
            "*" (the default) means all.

    Returns:
        Episodes in our frame: start position and yaw converted, the goal category mapped by
        :func:`habitat_category`, ``geodesic_distance_m`` from ``info``. Habitat's episode ids are unique only
        within a scene, so ``episode_id`` is "<scene>:<habitat episode_id>" with <scene> the file name of
        ``scene_id`` without extensions (:func:`habitat_scene_name`; e.g. "TEEsavR23oF:12"), whichever file it
        came from; ``extras`` keeps ``habitat_episode_id`` (the file's), ``habitat_episode_index`` (its position in
        its file: habitat-lab's own episode id), ``habitat_episode_file``, the habitat originals and
        ``goal_view_points_m`` (our-frame view points of the goal category in that scene, one list shared by
        the episodes of a goal), which :class:`HabitatSimulator` uses for ``distance_to_goal``.

    Raises:
        EpisodeFileError: a file is missing or not JSON, an episode lacks a field (names file and episode), a
            split file lists no episodes and has no per-scene files, or two episodes get the same id.
    """
    p = Path(path)
    data = _load_json(p)
    if not isinstance(data, Mapping):
        raise EpisodeFileError(f"{p}: not a habitat ObjectNav dataset (not a JSON object)")
    if isinstance(content_scenes, str):
        content_scenes = [content_scenes]
    files = _content_files(p, data, content_scenes)
    if files is None:
        episodes = _episodes_of_file(p, data, scenes_dir, split)
        if ALL_SCENES_MASK not in content_scenes:  # habitat-lab's build_content_scenes_filter
            wanted = set(content_scenes)
            episodes = [e for e in episodes if habitat_scene_name(e.extras["habitat_scene_id"]) in wanted
                        or os.path.splitext(os.path.basename(e.extras["habitat_scene_id"]))[0] in wanted]
    else:
        episodes = []
        for f in files:
            episodes += _episodes_of_file(f, _load_json(f), scenes_dir, split)
    _check_unique_ids(episodes)
    logger.info("read %d habitat ObjectNav episodes from %s%s", len(episodes), p,
                f" ({len(files)} per-scene files)" if files else "")
    return episodes


def _check_unique_ids(episodes: Sequence[ObjectNavEpisode]) -> None:
    """Results and resume key on ``episode_id``: two scenes with one name, or an id twice in a scene, is an error."""
    seen: dict[str, ObjectNavEpisode] = {}
    for e in episodes:
        other = seen.setdefault(e.episode_id, e)
        if other is e:
            continue
        a, b = other.extras["habitat_scene_id"], e.extras["habitat_scene_id"]
        why = (f"scenes {a!r} and {b!r} have the same name" if a != b else
               f"episode_id {e.extras['habitat_episode_id']!r} occurs twice in scene {a!r}")
        raise EpisodeFileError(f"{e.extras['habitat_episode_file']}: two episodes would get the id "
                               f"{e.episode_id!r}: {why}")
