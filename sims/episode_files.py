"""Episode files of every format the toolkit reads, behind one function: the toolkit's JSONL, habitat-lab
ObjectNav datasets (``{split}.json.gz``, with per-scene ``content/`` files) and RoboTHOR ObjectNav
files. Any simulator that can place the agent at the file's poses runs them (``embodied nav
--episodes-file``)."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import Any

from embodied.tasks import EpisodeFileError, read_episodes

__all__ = ["episode_file_format", "read_episode_file"]


def episode_file_format(path: str | os.PathLike) -> str:
    """"jsonl" (ours), "habitat" (a JSON object with "episodes" or "content_scenes_path") or "robothor" (a
    JSON list of episodes with "initial_position", or a folder of such files), from the file's contents.

    Raises:
        EpisodeFileError: missing, unreadable, or none of these.
    """
    p = Path(path)
    if p.is_dir():  # the RoboTHOR challenge's dataset/{split}/episodes/ folder of per-scene files
        return "robothor"
    if not p.is_file():
        raise EpisodeFileError(f"episode file not found: {p}")
    if p.name.endswith(".jsonl"):
        return "jsonl"
    opener = gzip.open if p.name.endswith(".gz") else open
    try:
        with opener(p, "rt", encoding="utf-8") as f:
            data: Any = json.load(f)
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        if p.suffix == ".json":
            raise EpisodeFileError(f"{p}: not JSON ({exc})") from exc
        return "jsonl"  # one JSON object per line, whatever its name
    if isinstance(data, dict) and ("episodes" in data or "content_scenes_path" in data):
        return "habitat"
    if isinstance(data, list) and (not data or isinstance(data[0], dict) and "initial_position" in data[0]):
        return "robothor"
    raise EpisodeFileError(f"{p}: neither a habitat-lab ObjectNav dataset (an object with 'episodes') nor a RoboTHOR "
                           "episode list (objects with 'initial_position') nor JSONL episodes")


def read_episode_file(path: str | os.PathLike, *, scene_dir: str | os.PathLike | None = None,
                      split: str = "") -> tuple[list[Any], list[str]]:
    """Read ObjectNav episodes of any supported format.

    Args:
        scene_dir: habitat-lab's SCENES_DIR, prefixed to the file's scene paths (habitat files).
        split: recorded on the episodes of files that do not name it.
    Returns:
        (episodes, problems): JSONL lines that are no episode are skipped and named in ``problems``
        (the runner records them as failed episodes); the JSON formats are all-or-nothing.
    """
    fmt = episode_file_format(path)
    if fmt == "jsonl":
        return read_episodes(path, skip_bad=True)
    if fmt == "habitat":
        from sims.habitat.episodes import read_habitat_objectnav_episodes

        return read_habitat_objectnav_episodes(path, scenes_dir=scene_dir, split=split), []
    from sims.thor.episodes import read_robothor_episodes

    return read_robothor_episodes(path, split=split), []
