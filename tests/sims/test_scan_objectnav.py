"""ObjectNav on a scanned scene in the built-in simulator: a generated Y-up GLB room (habitat's frame)
with a hand-written semantics file, and a habitat-lab episode file for it; frame conversion, the
success rule and the commands, on hand-computed cases."""

import gzip
import json
import math

import numpy as np
import pytest
from click.testing import CliRunner

from embodied.cli.main import cli
from embodied.errors import ConfigError
from sims.episode_files import read_episode_file
from sims.habitat.frames import world_to_habitat
from sims.raycast.simulator import RaycastSimulator, SimConfig

trimesh = pytest.importorskip("trimesh")

CHAIR_MIN, CHAIR_MAX = (4.8, 1.8, 0.0), (5.2, 2.2, 0.9)
START, VIEW_POINT = (1.0, 2.0, 0.0), (4.3, 2.0, 0.0)


def _box_faces(lo, hi, inward=False):
    m = trimesh.creation.box(bounds=np.array([lo, hi]))
    if inward:
        m.invert()
    return np.asarray(m.vertices), np.asarray(m.faces)


def _to_glb_frame(v):
    return world_to_habitat(np.asarray(v, float))


def write_room(folder):
    """room.glb (Y-up, habitat's frame: our (x, y, z) is its (-y, z, -x)): a 6 x 4 x 2.5 m room seen from
    inside and a chair box node "chair_01"; room.semantic.json maps the node to "chair"."""
    folder.mkdir(parents=True, exist_ok=True)
    rv, rf = _box_faces((0, 0, 0), (6, 4, 2.5), inward=True)  # normals into the room: the floor faces up
    cv, cf = _box_faces(CHAIR_MIN, CHAIR_MAX)
    scene = trimesh.Scene()
    room = trimesh.Trimesh(_to_glb_frame(rv), rf, process=False)
    room.visual.vertex_colors = np.tile([200, 190, 170, 255], (len(rv), 1)).astype(np.uint8)
    scene.add_geometry(room, node_name="room", geom_name="room")
    scene.add_geometry(trimesh.Trimesh(_to_glb_frame(cv), cf, process=False), node_name="chair_01",
                       geom_name="chair_01")
    path = folder / "room.glb"
    path.write_bytes(scene.export(file_type="glb"))
    (folder / "room.semantic.json").write_text(json.dumps({"chair_01": "chair"}))
    return path


def habitat_quat_y(theta):
    """habitat [x, y, z, w] of a rotation by ``theta`` about habitat's +Y (up)."""
    return [0.0, math.sin(theta / 2), 0.0, math.cos(theta / 2)]


def write_episodes(folder, yaw=0.0):
    """A habitat-lab ObjectNav file with one episode in data/scene_datasets/test/room.glb."""
    eps = {"episodes": [{"episode_id": "7", "scene_id": "data/scene_datasets/test/room.glb",
                         "start_position": _to_glb_frame(START).tolist(), "start_rotation": habitat_quat_y(yaw),
                         "object_category": "chair", "info": {"geodesic_distance": 3.3}}],
           "goals_by_category": {"room.glb_chair": [{"object_category": "chair", "view_points": [
               {"agent_state": {"position": _to_glb_frame(VIEW_POINT).tolist()}}]}]}}
    path = folder / "val.json.gz"
    with gzip.open(path, "wt") as f:
        json.dump(eps, f)
    return path


@pytest.fixture(scope="module")
def scan(tmp_path_factory):
    root = tmp_path_factory.mktemp("scenes")
    glb = write_room(root / "test")
    return root, glb, write_episodes(root)


def sim_config(**kw):
    return SimConfig(width=32, height=24, **kw)


def test_scan_lands_in_our_frame_with_its_semantics(scan):
    _, glb, _ = scan
    with RaycastSimulator(sim_config(scene=str(glb))) as sim:
        sim.reset(seed=0)
        chair = sim.scene.objects_of("chair")
        assert len(chair) == 1
        np.testing.assert_allclose(chair[0].bbox_min_m, CHAIR_MIN, atol=1e-5)
        np.testing.assert_allclose(chair[0].bbox_max_m, CHAIR_MAX, atol=1e-5)
        np.testing.assert_allclose(sim.floors_m, [0.0], atol=1e-6)


def test_habitat_episode_frame_and_success_rule(scan):
    root, _, episodes_file = scan
    (ep,), problems = read_episode_file(episodes_file, scene_dir=root)
    assert not problems and ep.episode_id == "room:7"
    np.testing.assert_allclose(ep.start_position_m, START, atol=1e-9)
    with RaycastSimulator(sim_config()) as sim:
        obs = sim.reset(ep)
        np.testing.assert_allclose(obs.agent_pose.position_m, START, atol=1e-9)
        assert obs.agent_pose.yaw_rad == pytest.approx(0.0, abs=1e-9)  # habitat's -Z forward is our +X
        # our geodesic from the start to the file's view point: the straight 3.3 m (fast marching, 5 cm cells)
        assert sim.distance_to_goal("chair") == pytest.approx(3.3, abs=0.06)
        sim.teleport(np.array([4.27, 2.0]), 0.0)
        assert sim.distance_to_goal("chair") < 0.1  # habitat's rule: STOP within 0.1 m of a view point
        sim.teleport(np.array([4.0, 2.0]), 0.0)
        assert sim.distance_to_goal("chair") == pytest.approx(0.3, abs=0.06)
    # a quarter turn about habitat's up axis is a quarter turn to the left in ours
    (root / "turned").mkdir(exist_ok=True)
    (ep90,), _ = read_episode_file(write_episodes(root / "turned", yaw=math.pi / 2), scene_dir=root)
    with RaycastSimulator(sim_config()) as sim:
        assert sim.reset(ep90).agent_pose.yaw_rad == pytest.approx(math.pi / 2, abs=1e-9)


def test_view_points_off_our_grid_are_refused_clearly(scan, tmp_path):
    root, _, _ = scan
    data = json.loads(gzip.open(write_episodes(tmp_path)).read())
    data["goals_by_category"]["room.glb_chair"][0]["view_points"][0]["agent_state"]["position"] = \
        _to_glb_frame((5.0, 2.0, 0.0)).tolist()  # inside the chair
    bad = tmp_path / "bad.json.gz"
    with gzip.open(bad, "wt") as f:
        json.dump(data, f)
    (ep,), _ = read_episode_file(bad, scene_dir=root)
    with RaycastSimulator(sim_config()) as sim, pytest.raises(ConfigError, match="none of its 1 goal view points"):
        sim.reset(ep)


def test_nav_command_on_a_habitat_file_reports_both_geodesics(scan, tmp_path):
    root, _, episodes_file = scan
    out = tmp_path / "run"
    res = CliRunner().invoke(cli, ["nav", "--sim", "builtin", "--episodes-file", str(episodes_file), "--scene-dir",
                                   str(root), "--agent", "frontier", "--workers", "1", "--max-steps", "60",
                                   "--width", "32", "--height", "24", "--out", str(out)])
    assert res.exit_code == 0, res.output
    row = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()][-1]
    assert row["status"] == "ok" and row["episode_id"] == "room:7"
    assert row["file_geodesic_m"] == 3.3 and row["start_distance_m"] == pytest.approx(3.3, abs=0.06)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["geodesic_vs_file"]["episodes"] == 1
    assert summary["geodesic_vs_file"]["mean_abs_diff_m"] < 0.06
    assert "this simulator vs the episode file's" in (out / "summary.md").read_text()


def test_sim_episodes_and_view_on_a_scan(scan, tmp_path):
    _, glb, _ = scan
    runner = CliRunner()
    outs = []
    for name in ("a.jsonl", "b.jsonl"):
        res = runner.invoke(cli, ["sim", "episodes", "--scene", str(glb), "-n", "4", "--out", str(tmp_path / name)])
        assert res.exit_code == 0, res.output
        outs.append((tmp_path / name).read_text())
    assert outs[0] == outs[1]  # same seed, same episodes
    eps = [json.loads(line) for line in outs[0].splitlines()]
    assert len(eps) == 4 and {e["goal_category"] for e in eps} == {"chair"}
    assert all(e["start_position_m"][2] == 0.0 and e["geodesic_distance_m"] >= 1.0 for e in eps)
    res = runner.invoke(cli, ["nav", "--episodes-file", str(tmp_path / "a.jsonl"), "--agent", "frontier", "-n", "2",
                              "--workers", "1", "--max-steps", "30", "--width", "32", "--height", "24",
                              "--out", str(tmp_path / "run")])
    assert res.exit_code == 0, res.output
    res = runner.invoke(cli, ["sim", "view", "--scene", str(glb), "--width", "48", "--height", "32",
                              "--out", str(tmp_path / "view")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "view" / "room.png").is_file() and "storeys at 0.00 m" in res.output
    res = runner.invoke(cli, ["sim", "episodes", "--scene", str(glb), "--goals", "bed", "-n", "1",
                              "--out", str(tmp_path / "c.jsonl")])
    assert res.exit_code == 2 and "the scene has: chair" in res.output
