"""Task definitions shared by simulators, agents and runners: ObjectNav and two-phase rearrangement
episodes, and their JSONL files."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from embodied.errors import ConfigError

__all__ = ["ObjectNavEpisode", "ObjectMove", "RearrangeEpisode", "EpisodeFileError", "write_episodes", "read_episodes"]


def _finite_pose(what: str, position_m: Any, yaw_rad: float) -> tuple[float, float, float]:
    """``position_m`` as three floats, or a ConfigError when it or ``yaw_rad`` is not finite."""
    pos = tuple(float(v) for v in position_m)
    if len(pos) != 3 or not all(math.isfinite(v) for v in (*pos, float(yaw_rad))):
        raise ConfigError(f"{what} pose must be a finite (x, y, z) and yaw, got {position_m}, {yaw_rad}")
    return pos


class EpisodeFileError(ConfigError):
    """An episode file has a line that is not a valid episode (the message names file and line)."""


@dataclass(frozen=True, kw_only=True)
class ObjectNavEpisode:
    """One ObjectNav episode: start pose in the world frame (Z up, metres) and a goal category.

    Attributes:
        episode_id: unique within its file.
        scene_id: simulator-specific scene name (built-in: "house-<seed>"; THOR: "FloorPlan1"; habitat: a path).
        start_position_m: base position on the floor (x, y, z).
        start_yaw_rad: heading about +Z from +X.
        goal_category: the category to find, e.g. "chair".
        geodesic_distance_m: shortest walkable path from the start to the nearest goal view point.
        split: "train" / "val" / "test" or "".
        extras: simulator-private data (JSON-serialisable).
    """

    episode_id: str
    scene_id: str
    start_position_m: tuple[float, float, float]
    start_yaw_rad: float
    goal_category: str
    geodesic_distance_m: float | None = None
    split: str = ""
    extras: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        pos = _finite_pose(f"episode {self.episode_id}: start", self.start_position_m, self.start_yaw_rad)
        if not self.goal_category:
            raise ConfigError(f"episode {self.episode_id}: empty goal_category")
        object.__setattr__(self, "start_position_m", pos)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["start_position_m"] = list(self.start_position_m)
        d["extras"] = dict(self.extras)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ObjectNavEpisode:
        from embodied.config import config_from_dict

        return config_from_dict(cls, d)


@dataclass(frozen=True)
class ObjectMove:
    """Where the shuffle puts one object: its base position (x, y, z) and heading about +Z."""

    object_id: str
    position_m: tuple[float, float, float]
    yaw_rad: float

    def __post_init__(self) -> None:
        pos = _finite_pose(f"move of object {self.object_id}:", self.position_m, self.yaw_rad)
        object.__setattr__(self, "position_m", pos)
        object.__setattr__(self, "object_id", str(self.object_id))


@dataclass(frozen=True, kw_only=True)
class RearrangeEpisode:
    """A two-phase rearrangement episode (AI2-THOR Rearrangement, RoomR): the walkthrough shows the
    room as it should be; the unshuffle phase starts from the same pose with ``moves`` applied, and
    the agent must put the moved objects back.

    Attributes:
        episode_id, scene_id, start_position_m, start_yaw_rad, split, extras: as ObjectNavEpisode.
        moves: the shuffle, one ObjectMove per changed object (1 to 5 in RoomR).
    """

    episode_id: str
    scene_id: str
    start_position_m: tuple[float, float, float]
    start_yaw_rad: float
    moves: tuple[ObjectMove, ...]
    split: str = ""
    extras: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        pos = _finite_pose(f"episode {self.episode_id}: start", self.start_position_m, self.start_yaw_rad)
        moves = tuple(m if isinstance(m, ObjectMove) else ObjectMove(**m) for m in self.moves)
        if not moves:
            raise ConfigError(f"episode {self.episode_id}: a rearrangement episode moves at least one object")
        ids = [m.object_id for m in moves]
        if len(set(ids)) != len(ids):
            raise ConfigError(f"episode {self.episode_id}: an object is moved twice ({ids})")
        object.__setattr__(self, "start_position_m", pos)
        object.__setattr__(self, "moves", moves)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["start_position_m"] = list(self.start_position_m)
        d["moves"] = [{**m, "position_m": list(m["position_m"])} for m in d["moves"]]
        d["extras"] = dict(self.extras)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RearrangeEpisode:
        d = dict(d)
        if not isinstance(d.get("moves"), list):
            raise ConfigError("a rearrangement episode needs a 'moves' list")
        moves = tuple(ObjectMove(**m) for m in d.pop("moves"))
        from embodied.config import config_from_dict

        return config_from_dict(cls, d | {"moves": moves})


def write_episodes(path: str | os.PathLike, episodes: Iterable[ObjectNavEpisode | RearrangeEpisode]) -> Path:
    """Write episodes as JSON lines, atomically (temp file + rename)."""
    from embodied.files import atomic_write

    return atomic_write(path, "".join(json.dumps(ep.to_dict(), sort_keys=True) + "\n" for ep in episodes).encode())


def read_episodes(path: str | os.PathLike, *, skip_bad: bool = False,
                  episode_type: type = ObjectNavEpisode) -> tuple[list[Any], list[str]]:
    """Read a JSONL episode file of ``episode_type`` (ObjectNavEpisode or RearrangeEpisode).

    Returns:
        (episodes, problems): with ``skip_bad`` a bad line is recorded in ``problems`` as
        "file:line: reason" and skipped; without it, it raises EpisodeFileError.
    """
    p = Path(path)
    if not p.is_file():
        raise EpisodeFileError(f"episode file not found: {p}")
    episodes, problems = [], []
    with open(p) as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                episodes.append(episode_type.from_dict(json.loads(line)))
            except (json.JSONDecodeError, ConfigError, TypeError, ValueError) as exc:
                msg = f"{p}:{n}: {exc}"
                if not skip_bad:
                    raise EpisodeFileError(msg + " (fix the line, or skip bad lines)") from exc
                problems.append(msg)
    return episodes, problems
