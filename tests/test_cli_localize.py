"""`embodied localize` and `embodied graph build --sequence` on a recorded sequence written by the tests."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from datasets3d.sequences import open_sequence, write_folder_sequence
from embodied.cli.main import cli
from embodied.types import Action
from sims.raycast.simulator import RaycastSimulator, SimConfig

TINY = ["--model", "embodied-tiny", "--random-init", "--device", "cpu"]


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    """8 frames of a slow turn in a built-in house, written as a plain-folder RGB-D sequence."""
    with RaycastSimulator(SimConfig(width=64, height=48, turn_deg=15.0)) as sim:
        frames = [sim.reset(seed=5)] + [sim.step(Action.TURN_LEFT).observation for _ in range(7)]
    path = write_folder_sequence(tmp_path_factory.mktemp("rec") / "turn", frames)
    return path, frames


def test_the_sequence_reads_back(recording):
    path, frames = recording
    seq = open_sequence(path)
    assert len(seq) == len(frames) and seq.has_poses
    back = seq.frame(3)
    np.testing.assert_allclose(back.depth, frames[3].depth, atol=1e-3)
    np.testing.assert_allclose(back.T_world_cam, frames[3].T_world_cam, atol=1e-6)


def test_localize_writes_detections_video_and_map(recording, tmp_path):
    path, frames = recording
    out = tmp_path / "loc"
    res = CliRunner().invoke(cli, ["localize", str(path), "--goal", "chair", "--localizer", "dense", "--stride", "2",
                                   "--out", str(out), *TINY])
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in (out / "detections.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [0, 1, 2, 3]  # every second of 8 frames
    assert all(set(r) >= {"found", "score", "box_px", "goal_xyz_m", "frame"} for r in rows)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["frames"] == 4 and summary["mapped"] and summary["poses"] and summary["format"] == "folder"
    assert (out / "map.png").is_file() and (out / "overlay.mp4").stat().st_size > 0


def test_localize_errors(tmp_path):
    res = CliRunner().invoke(cli, ["localize", str(tmp_path), "--goal", "chair", *TINY])
    assert res.exit_code == 2 and str(tmp_path) in res.output


def test_graph_of_a_sequence(recording, tmp_path):
    path, _ = recording
    out = tmp_path / "graph"
    res = CliRunner().invoke(cli, ["graph", "build", "--sequence", str(path), "--out", str(out), "--no-progress", *TINY])
    assert res.exit_code == 0, res.output
    info = json.loads((out / "info.json").read_text())
    assert info["frames"] == 8 and info["nodes"] >= 1
    assert (out / "graph.json").is_file() and (out / "graph.png").is_file()
