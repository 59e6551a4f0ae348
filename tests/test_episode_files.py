"""One reader for every episode file format: ours (JSONL), habitat-lab ObjectNav and RoboTHOR."""

from __future__ import annotations

import gzip
import json

import pytest

from embodied.tasks import EpisodeFileError, ObjectNavEpisode, write_episodes
from sims.episode_files import episode_file_format, read_episode_file


def test_each_format_is_recognised_and_read(tmp_path):
    ours = write_episodes(tmp_path / "eps.jsonl", [ObjectNavEpisode(
        episode_id="a", scene_id="house-000800", start_position_m=(1, 2, 0), start_yaw_rad=0.5, goal_category="bed")])
    habitat = tmp_path / "val.json.gz"
    with gzip.open(habitat, "wt") as f:  # habitat frame: Y up, -Z forward; our (x, y, z) = (-z, -x, y)
        json.dump({"episodes": [{"episode_id": "7", "scene_id": "data/scene_datasets/hm3d/a/abc.basis.glb",
                                 "start_position": [1.0, 0.0, -2.0], "start_rotation": [0, 0, 0, 1],
                                 "object_category": "chair", "info": {"geodesic_distance": 3.5}}]}, f)
    robo = tmp_path / "robothor" / "FloorPlan_Val1_1.json.gz"
    robo.parent.mkdir()
    with gzip.open(robo, "wt") as f:  # Unity: our (X, Y, Z) = (z, -x, y - 0.9009995)
        json.dump([{"id": "FloorPlan_Val1_1_Apple_0", "scene": "FloorPlan_Val1_1", "object_type": "Apple",
                    "initial_position": {"x": 2.0, "y": 0.9009995, "z": -1.0}, "initial_orientation": 90,
                    "initial_horizon": 30, "shortest_path_length": 2.25}], f)
    assert [episode_file_format(p) for p in (ours, habitat, robo, robo.parent)] == ["jsonl", "habitat", "robothor",
                                                                                    "robothor"]
    (a,), problems = read_episode_file(ours)
    assert a.episode_id == "a" and problems == []
    (h,), _ = read_episode_file(habitat, scene_dir="/scenes", split="val")
    assert h.episode_id == "abc:7" and h.scene_id == "/scenes/hm3d/a/abc.basis.glb" and h.split == "val"
    assert h.start_position_m == pytest.approx((2.0, -1.0, 0.0)) and h.geodesic_distance_m == 3.5
    for path in (robo, robo.parent):
        (r,), _ = read_episode_file(path, split="val")
        assert r.scene_id == "FloorPlan_Val1_1" and r.goal_category == "apple" and r.geodesic_distance_m == 2.25
        assert r.start_position_m == pytest.approx((-1.0, -2.0, 0.0), abs=1e-9)


def test_unknown_or_missing_files_are_named(tmp_path):
    with pytest.raises(EpisodeFileError, match="not found"):
        episode_file_format(tmp_path / "nope.json")
    junk = tmp_path / "junk.json"
    junk.write_text(json.dumps({"scenes": []}))
    with pytest.raises(EpisodeFileError, match="neither a habitat-lab ObjectNav dataset"):
        read_episode_file(junk)
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(EpisodeFileError, match="not JSON"):
        read_episode_file(broken)
