"""habitat-sim adapter tests, against the test stand-in ``tests/fakes/habitat_sim`` (built-in houses in
habitat's frame), plus checks that run only where the real habitat-sim is installed."""

from __future__ import annotations

import gzip
import importlib
import json
import math
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from embodied import geometry
from embodied.optional import is_available
from embodied.errors import ConfigError, MissingDependencyError
from embodied.tasks import EpisodeFileError, ObjectNavEpisode
from embodied.types import Action, GeodesicOracle, Simulator
from sims.habitat import (
    R_WORLD_HABITAT,
    HabitatConfig,
    HabitatSimulator,
    clip_depth_m,
    habitat_camera_pose,
    habitat_category,
    habitat_lab_depth,
    habitat_quat_to_yaw,
    habitat_scene_name,
    habitat_to_world,
    make_configuration,
    navmesh_settings,
    quat_to_matrix,
    quat_wxyz,
    read_habitat_objectnav_episodes,
    sensor_tilt,
    world_to_habitat,
    yaw_to_habitat_quat,
)
from sims.raycast.simulator import RaycastSimulator, SimConfig

ROOT = Path(__file__).resolve().parents[2]
FAKES = ROOT / "tests" / "fakes"
W, H = 64, 48
REAL_HABITAT = is_available("habitat_sim")  # checked before the stand-in is ever importable
needs_real_habitat = pytest.mark.skipif(
    not REAL_HABITAT, reason="habitat-sim is not installed (conda install habitat-sim -c conda-forge -c aihabitat)"
)


# --- fixtures: the stand-in is imported once, and visible as `habitat_sim` only inside tests using `hs` ------


@pytest.fixture(scope="session")
def _stand_in_modules() -> dict:
    saved = {k: sys.modules.pop(k) for k in list(sys.modules) if k == "habitat_sim" or k.startswith("habitat_sim.")}
    sys.path.insert(0, str(FAKES))
    importlib.invalidate_caches()
    try:
        importlib.import_module("habitat_sim")
        mods = {k: m for k, m in sys.modules.items() if k == "habitat_sim" or k.startswith("habitat_sim.")}
    finally:
        sys.path.remove(str(FAKES))
        for k in [k for k in sys.modules if k == "habitat_sim" or k.startswith("habitat_sim.")]:
            del sys.modules[k]
        sys.modules.update(saved)
    assert mods["habitat_sim"].IS_TEST_STAND_IN
    return mods


@pytest.fixture
def hs(_stand_in_modules, monkeypatch):
    """The stand-in module, importable as ``habitat_sim`` for the duration of one test."""
    for name, mod in _stand_in_modules.items():
        monkeypatch.setitem(sys.modules, name, mod)
    return _stand_in_modules["habitat_sim"]


@pytest.fixture(scope="session")
def scene_dir(tmp_path_factory) -> Path:
    """Empty placeholder scene files and their navmeshes (the stand-in loads built-in houses by file name, and
    a scene's ``.navmesh`` as one built with habitat-sim's default settings: radius 0.1 m, height 1.5 m)."""
    d = tmp_path_factory.mktemp("habitat_scenes")
    for seed in (11, 12):
        (d / f"house-{seed:06d}.glb").write_bytes(b"")
        (d / f"house-{seed:06d}.navmesh").write_bytes(b"")
    return d


def navgrid(hs, seed: int, radius: float = 0.18, height: float = 0.88):
    """The stand-in's navmesh grid of house ``seed`` for an agent (5 cm cells)."""
    return hs._navgrid(seed, 0.05, radius, height)


def small_config(scene_dir: Path, **kw) -> HabitatConfig:
    return HabitatConfig(scene=str(scene_dir / "house-000011.glb"), width=W, height=H, **kw)


@pytest.fixture
def fake(hs, scene_dir):
    return hs.Simulator(make_configuration(hs, small_config(scene_dir)))


@pytest.fixture
def sim(fake, scene_dir) -> HabitatSimulator:
    s = HabitatSimulator(small_config(scene_dir), sim=fake)
    s.reset(seed=5)
    fake.calls.clear()
    return s


@pytest.fixture(scope="module")
def ref_sim(_stand_in_modules) -> RaycastSimulator:
    """The built-in simulator on the same house with the same camera and agent."""
    house = _stand_in_modules["habitat_sim"]._house(11)
    cfg = SimConfig(width=W, height=H, hfov_deg=79.0, camera_height_m=0.88, agent_radius_m=0.18,
                    agent_height_m=0.88, tilt_step_deg=30.0, tilt_limit_deg=60.0)
    with RaycastSimulator(cfg, scene=house) as s:
        yield s


def open_cell(nav) -> np.ndarray:
    """World (x, y) of the navigable cell farthest from any obstacle."""
    from scipy import ndimage

    clearance = ndimage.distance_transform_edt(nav.navigable & nav.largest_component())
    r, c = np.unravel_index(int(np.argmax(clearance)), nav.shape)
    return nav.cell_center(int(r), int(c))


def q_about(axis: int, angle: float) -> tuple[float, float, float, float]:
    """(w, x, y, z) of a rotation about a habitat axis (0 = x, 1 = y, 2 = z)."""
    v = [0.0, 0.0, 0.0]
    v[axis] = math.sin(angle / 2)
    return (math.cos(angle / 2), *v)


def qmul(a, b):
    aw, ax, ay, az = a
    bw, bx, by, bz = b
    return (aw * bw - ax * bx - ay * by - az * bz, aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx, aw * bz + ax * by - ay * bx + az * bw)


def as_np_quaternion(q):
    """numpy-quaternion look-alike (what habitat's get_state returns)."""
    return SimpleNamespace(w=q[0], x=q[1], y=q[2], z=q[3])


# --- config ------------------------------------------------------------------------------------------------


def test_config_defaults():
    c = HabitatConfig(scene="data/scene_datasets/hm3d/val/00800-TEEsavR23oF/TEEsavR23oF.basis.glb")
    assert (c.width, c.height, c.hfov_deg, c.sensor_height_m) == (224, 224, 79.0, 0.88)
    assert (c.agent_radius_m, c.agent_height_m, c.forward_m, c.turn_deg, c.tilt_deg) == (0.18, 0.88, 0.25, 30.0, 30.0)
    assert (c.agent_max_climb_m, c.agent_max_slope_deg) == (0.2, 45.0)  # habitat-lab AgentConfig
    assert (c.recompute_navmesh, c.allow_sliding, c.depth_clip_m) == (True, False, None)  # objectnav_hm3d.yaml
    assert (c.scene_dataset_config, c.seed, c.max_steps, c.semantic) == (None, 0, 500, True)
    assert c.intrinsics.hfov_deg == pytest.approx(79.0)
    with pytest.raises(Exception):
        c.width = 3  # frozen


def test_objectnav_challenge_preset():
    c = HabitatConfig.objectnav_challenge("x/y.basis.glb")
    assert (c.width, c.height, c.hfov_deg, c.sensor_height_m, c.depth_clip_m) == (640, 480, 79.0, 0.88, (0.5, 5.0))
    assert (c.agent_radius_m, c.agent_height_m, c.recompute_navmesh, c.allow_sliding) == (0.18, 0.88, True, False)
    assert (c.forward_m, c.turn_deg, c.tilt_deg, c.tilt_limit_deg, c.max_steps) == (0.25, 30.0, 30.0, None, 500)
    assert c.intrinsics.width == 640 and c.intrinsics.fx == pytest.approx(320 / math.tan(math.radians(39.5)))
    d = HabitatConfig.objectnav_challenge("x/y.basis.glb", width=64, height=48, depth_clip_m=[0.1, 3.0], semantic=False)
    assert (d.width, d.height, d.depth_clip_m, d.semantic, d.turn_deg) == (64, 48, (0.1, 3.0), False, 30.0)
    with pytest.raises(ConfigError, match="widht"):
        HabitatConfig.objectnav_challenge("x/y.basis.glb", widht=3)
    with pytest.raises(ConfigError):
        HabitatConfig.objectnav_challenge("scene.json")


@pytest.mark.parametrize("bad", [
    dict(scene=""), dict(scene="scene.json"), dict(scene=3), dict(width=0), dict(height=2.5), dict(hfov_deg=180.0),
    dict(sensor_height_m=0.0), dict(agent_radius_m=-0.1), dict(forward_m=math.nan), dict(turn_deg=0),
    dict(tilt_limit_deg=120.0), dict(seed=True), dict(max_steps=0), dict(semantic="yes"),
    dict(recompute_navmesh=1), dict(allow_sliding="no"), dict(depth_clip_m=(5.0, 0.5)), dict(depth_clip_m=(0.5,)),
    dict(depth_clip_m=(-1.0, 2.0)), dict(depth_clip_m=(0.5, math.inf)), dict(depth_clip_m="0.5,5"),
    dict(agent_max_climb_m=-0.1), dict(agent_max_slope_deg=90.0),
])
def test_config_rejects_bad_values(bad):
    kw = {"scene": "a.glb", **bad}
    with pytest.raises(ConfigError):
        HabitatConfig(**kw)


def test_config_scene_handle_needs_dataset_config():
    assert HabitatConfig(scene="TEEsavR23oF", scene_dataset_config="hm3d.scene_dataset_config.json").scene
    assert HabitatConfig(scene="x/y.basis.glb", tilt_limit_deg=None).tilt_limit_deg is None
    with pytest.raises(TypeError):
        HabitatConfig("a.glb")  # keyword-only


def test_make_configuration_uses_habitat_names(hs, scene_dir):
    cfg = small_config(scene_dir, forward_m=0.1, turn_deg=15.0, tilt_deg=20.0, seed=7)
    c = make_configuration(hs, cfg)
    assert c.sim_cfg.scene_id == cfg.scene and c.sim_cfg.random_seed == 7 and c.sim_cfg.enable_physics is False
    assert c.sim_cfg.allow_sliding is False  # objectnav_hm3d.yaml; habitat-sim's own default is True
    assert make_configuration(hs, small_config(scene_dir, allow_sliding=True)).sim_cfg.allow_sliding is True
    agent = c.agents[0]
    assert (agent.height, agent.radius) == (0.88, 0.18)
    specs = {s.uuid: s for s in agent.sensor_specifications}
    assert {u: s.sensor_type for u, s in specs.items()} == {
        "rgb": hs.SensorType.COLOR, "depth": hs.SensorType.DEPTH, "semantic": hs.SensorType.SEMANTIC}
    for s in specs.values():
        assert list(s.resolution) == [H, W] and list(s.position) == [0.0, 0.88, 0.0] and s.hfov == 79.0
    amounts = {k: (a.name, a.actuation.amount, a.actuation.constraint) for k, a in agent.action_space.items()}
    assert amounts == {"move_forward": ("move_forward", 0.1, None), "turn_left": ("turn_left", 15.0, None),
                       "turn_right": ("turn_right", 15.0, None), "look_up": ("look_up", 20.0, 60.0),
                       "look_down": ("look_down", 20.0, 60.0)}
    no_sem = make_configuration(hs, small_config(scene_dir, semantic=False))
    assert [s.uuid for s in no_sem.agents[0].sensor_specifications] == ["rgb", "depth"]


# --- frames ------------------------------------------------------------------------------------------------


def test_frame_mapping_is_a_proper_rotation():
    M = R_WORLD_HABITAT
    np.testing.assert_allclose(M @ M.T, np.eye(3))
    assert np.linalg.det(M) == pytest.approx(1.0)  # right-handed -> right-handed
    np.testing.assert_array_equal(np.stack([habitat_to_world(e) for e in np.eye(3)], axis=1), M)
    np.testing.assert_array_equal(habitat_to_world([0.0, 0.0, -1.0]), [1.0, 0.0, 0.0])  # forward -> +X
    np.testing.assert_array_equal(habitat_to_world([1.0, 0.0, 0.0]), [0.0, -1.0, 0.0])  # right -> -Y
    np.testing.assert_array_equal(habitat_to_world([0.0, 1.0, 0.0]), [0.0, 0.0, 1.0])  # up -> +Z


def test_points_hand_cases():
    np.testing.assert_array_equal(habitat_to_world([1.0, 2.0, 3.0]), [-3.0, -1.0, 2.0])
    np.testing.assert_array_equal(habitat_to_world([[-0.5, 0.1, 4.0], [0, 0, 0]]), [[-4.0, 0.5, 0.1], [0, 0, 0]])
    np.testing.assert_array_equal(world_to_habitat([-3.0, -1.0, 2.0]), [1.0, 2.0, 3.0])


@pytest.mark.parametrize("theta,yaw", [
    (0.0, 0.0), (math.pi / 2, math.pi / 2), (-math.pi / 2, -math.pi / 2), (math.pi / 6, math.pi / 6),
    (math.pi, math.pi), (3 * math.pi / 2, -math.pi / 2),
])
def test_quaternion_to_yaw_hand_cases(theta, yaw):
    q = q_about(1, theta)
    got = habitat_quat_to_yaw(as_np_quaternion(q))
    assert math.remainder(got - yaw, 2 * math.pi) == pytest.approx(0.0, abs=1e-12)
    # the rotated habitat forward axis points along our heading yaw
    forward = habitat_to_world(quat_to_matrix(as_np_quaternion(q)) @ [0.0, 0.0, -1.0])
    np.testing.assert_allclose(forward, [math.cos(yaw), math.sin(yaw), 0.0], atol=1e-12)


def test_habitat_point_and_quaternion_to_our_pose():
    # agent at habitat (1.5, 0.1, -2) turned 90 deg left (about +Y): stands at our (2, -1.5, 0.1) facing +Y
    q = as_np_quaternion(q_about(1, math.pi / 2))
    np.testing.assert_allclose(habitat_to_world([1.5, 0.1, -2.0]), [2.0, -1.5, 0.1])
    assert habitat_quat_to_yaw(q) == pytest.approx(math.pi / 2)
    T = habitat_camera_pose(q, [1.5, 0.98, -2.0], q)
    np.testing.assert_allclose(T[:3, 3], [2.0, -1.5, 0.98], atol=1e-12)
    np.testing.assert_allclose(T[:3, 2], [0.0, 1.0, 0.0], atol=1e-12)  # optical axis +Y
    np.testing.assert_allclose(T[:3, 0], [1.0, 0.0, 0.0], atol=1e-12)  # image right = +X (facing +Y)


def test_quat_wxyz_reads_every_habitat_form():
    q = q_about(1, 0.7)
    magnum_like = SimpleNamespace(scalar=q[0], vector=SimpleNamespace(x=q[1], y=q[2], z=q[3]))
    for form in (as_np_quaternion(q), magnum_like, [q[1], q[2], q[3], q[0]], np.array([q[1], q[2], q[3], q[0]])):
        np.testing.assert_allclose(quat_wxyz(form), q, atol=1e-15)
    np.testing.assert_allclose(quat_wxyz([0.0, 0.0, 0.0, 2.0]), (1.0, 0.0, 0.0, 0.0))  # normalised
    for bad in ([0, 0, 0, 0], [1, 2, 3], "abcd", [math.nan, 0, 0, 1]):
        with pytest.raises(ConfigError):
            quat_wxyz(bad)


def test_left_turn_increases_yaw():
    before = habitat_quat_to_yaw(as_np_quaternion(q_about(1, 0.3)))
    after = habitat_quat_to_yaw(as_np_quaternion(qmul(q_about(1, 0.3), q_about(1, math.radians(30)))))  # turn_left
    assert after - before == pytest.approx(math.radians(30))


def test_identity_agent_camera_looks_along_our_plus_x():
    ident = as_np_quaternion((1.0, 0.0, 0.0, 0.0))
    T = habitat_camera_pose(ident, [1.0, 0.88, 2.0], ident)
    np.testing.assert_allclose(T[:3, 3], [-2.0, -1.0, 0.88], atol=1e-12)
    np.testing.assert_allclose(T[:3, 2], [1.0, 0.0, 0.0], atol=1e-12)  # optical axis
    np.testing.assert_allclose(T[:3, 1], [0.0, 0.0, -1.0], atol=1e-12)  # image down = world down
    np.testing.assert_allclose(T[:3, 0], [0.0, -1.0, 0.0], atol=1e-12)  # image right = world -Y


@pytest.mark.parametrize("yaw,tilt", [(0.0, math.pi / 6), (2.0, -math.pi / 3), (-2.9, 0.4), (1.1, 0.0)])
def test_camera_pose_equals_the_full_sensor_rotation(yaw, tilt):
    body = q_about(1, yaw)
    sensor = qmul(body, q_about(0, tilt))  # look_up rotates the sensor about its local +X
    assert sensor_tilt(as_np_quaternion(body), as_np_quaternion(sensor)) == pytest.approx(tilt)
    T = habitat_camera_pose(as_np_quaternion(body), [0.3, 0.88, -1.2], as_np_quaternion(sensor))
    # OpenCV camera axes = the habitat camera's (x right, y up, z back) times diag(1, -1, -1), mapped to ours
    R = R_WORLD_HABITAT @ quat_to_matrix(as_np_quaternion(sensor)) @ np.diag([1.0, -1.0, -1.0])
    np.testing.assert_allclose(T[:3, :3], R, atol=1e-12)
    assert geometry.is_rigid_transform(T)


def test_pose_round_trip_ours_habitat_ours():
    rng = np.random.default_rng(0)
    for _ in range(200):
        p = rng.uniform(-50, 50, 3)
        yaw = rng.uniform(-math.pi, math.pi)
        np.testing.assert_allclose(habitat_to_world(world_to_habitat(p)), p, atol=1e-9, rtol=0)
        w, x, y, z = yaw_to_habitat_quat(yaw)
        for q in ([x, y, z, w], [-x, -y, -z, -w], as_np_quaternion((w, x, y, z))):  # q and -q: same rotation
            assert math.remainder(habitat_quat_to_yaw(q) - yaw, 2 * math.pi) == pytest.approx(0.0, abs=1e-9)


def test_category_mapping():
    assert habitat_category("tv_monitor") == "tv" and habitat_category("plant") == "potted plant"
    assert habitat_category("couch") == habitat_category("Sofa") == "sofa"
    assert [habitat_category(c) for c in ("chair", "bed", "toilet")] == ["chair", "bed", "toilet"]
    assert habitat_category("chest_of_drawers") == "chest of drawers"
    assert habitat_category(" Kitchen_Cabinet ") == "cabinet"


# --- protocol, actions ----------------------------------------------------------------------------------------


def test_protocols(sim):
    assert isinstance(sim, Simulator) and isinstance(sim, GeodesicOracle)


@pytest.mark.parametrize("action,name", [
    (Action.MOVE_FORWARD, "move_forward"), (Action.TURN_LEFT, "turn_left"), (Action.TURN_RIGHT, "turn_right"),
    (Action.LOOK_UP, "look_up"), (Action.LOOK_DOWN, "look_down"),
])
def test_action_mapping(sim, fake, action, name):
    res = sim.step(action)
    assert fake.calls == [("step", name)]
    assert res.info["habitat_action"] == name and not res.done and res.observation.step == 1


def test_stop_makes_no_call_and_ends_episode(sim, fake):
    before = sim.step(Action.TURN_LEFT).observation
    fake.calls.clear()
    res = sim.step(Action.STOP)
    assert fake.calls == []
    assert res.done and not res.collided and res.observation.step == 2
    np.testing.assert_array_equal(res.observation.rgb, before.rgb)
    assert res.observation.agent_pose == before.agent_pose
    with pytest.raises(RuntimeError, match="reset"):
        sim.step(Action.MOVE_FORWARD)


def test_step_before_reset_and_max_steps(fake, scene_dir):
    s = HabitatSimulator(small_config(scene_dir, max_steps=2), sim=fake)
    with pytest.raises(RuntimeError, match="reset"):
        s.step(Action.TURN_LEFT)
    s.reset()
    assert not s.step(Action.TURN_LEFT).done and s.step(Action.TURN_LEFT).done


def test_turns_and_looks_follow_habitat_semantics(sim):
    obs0 = sim.reset(seed=1)
    obs = sim.step(Action.TURN_LEFT).observation
    assert math.remainder(obs.agent_pose.yaw_rad - obs0.agent_pose.yaw_rad, 2 * math.pi) == pytest.approx(math.pi / 6)
    obs = sim.step(Action.LOOK_UP).observation
    assert obs.extras["tilt_rad"] == pytest.approx(math.pi / 6)
    assert obs.T_world_cam[2, 2] == pytest.approx(math.sin(math.pi / 6))  # optical axis points up
    for _ in range(3):
        obs = sim.step(Action.LOOK_DOWN).observation
    assert obs.extras["tilt_rad"] == pytest.approx(-math.pi / 3)  # clamped at tilt_limit_deg = 60


def _wall_ahead_start(nav) -> tuple[np.ndarray, float]:
    """A navigable cell with a blocked cell less than 0.2 m ahead in +X (our frame), facing +X."""
    comp = nav.navigable & nav.largest_component()
    rows, cols = np.nonzero(comp[:, :-4] & ~nav.navigable[:, 3:-1])
    r, c = int(rows[len(rows) // 2]), int(cols[len(cols) // 2])
    return nav.cell_center(r, c), 0.0


@pytest.mark.parametrize("mode", ["observation", "previous_step_collided"])
def test_collisions(sim, fake, scene_dir, mode):
    fake.collisions_in_observations = mode == "observation"
    xy, yaw = _wall_ahead_start(fake._nav)
    ep = ObjectNavEpisode(episode_id="c", scene_id=str(scene_dir / "house-000011.glb"),
                          start_position_m=(xy[0], xy[1], 0.0), start_yaw_rad=yaw, goal_category="chair")
    sim.reset(ep)
    res = sim.step(Action.MOVE_FORWARD)
    assert res.collided and res.info["collided"]
    moved = res.observation.agent_pose.position_m[0] - xy[0]
    assert 0.0 <= moved < 0.2
    assert not sim.step(Action.TURN_LEFT).collided


def test_close_and_context_manager(fake, scene_dir):
    with HabitatSimulator(small_config(scene_dir), sim=fake) as s:
        s.reset()
    assert fake.closed and fake.calls.count(("close",)) == 1
    s.close()
    assert fake.calls.count(("close",)) == 1
    with pytest.raises(RuntimeError, match="closed"):
        s.reset()


def test_seeded_reset_is_reproducible(sim, fake):
    a = sim.reset(seed=3).agent_pose
    b = sim.reset(seed=3).agent_pose
    c = sim.reset(seed=4).agent_pose
    assert a == b and a != c
    assert ("seed", 3) in fake.calls


def test_own_simulator_is_created_from_config(hs, scene_dir):
    s = HabitatSimulator(small_config(scene_dir))
    assert s.sim.calls[0] == ("__init__", str(scene_dir / "house-000011.glb"))
    assert s.reset().rgb.shape == (H, W, 3)
    with pytest.raises(ConfigError, match="not found"):
        HabitatSimulator(HabitatConfig(scene=str(scene_dir / "missing.glb")))


# --- observations ---------------------------------------------------------------------------------------------


def test_observation_contract(sim):
    obs = sim.reset(seed=2)
    assert obs.validate() is obs
    assert obs.rgb.dtype == np.uint8 and obs.rgb.shape == (H, W, 3)
    assert obs.depth.dtype == np.float32 and obs.semantic.dtype == np.int32
    assert obs.intrinsics == HabitatConfig(scene="a.glb", width=W, height=H).intrinsics
    assert obs.step == 0 and obs.goal is None
    assert set(obs.labels.values()) >= {"tv", "potted plant", "sofa", "chair"}  # mapped from habitat names
    assert "tv_monitor" not in set(obs.labels.values()) and 0 not in obs.labels


def test_depth_and_semantic_cleanup(sim, fake, monkeypatch):
    real = fake.get_sensor_observations

    def corrupted(agent_ids=0):
        obs = real(agent_ids)
        obs["depth"][0, :4] = [np.nan, np.inf, -1.0, 2.5]
        obs["semantic"][1, :3] = [0, 999_999, 1]
        return obs

    monkeypatch.setattr(fake, "get_sensor_observations", corrupted)
    obs = sim.reset(seed=2)
    np.testing.assert_array_equal(obs.depth[0, :4], [0.0, 0.0, 0.0, 2.5])
    np.testing.assert_array_equal(obs.semantic[1, :3], [-1, -1, 1])  # none, unknown id, object 1


def test_frames_equal_the_builtin_simulator_at_the_same_pose(sim, ref_sim, scene_dir):
    """The whole chain: our episode -> habitat start pose -> habitat actions -> frames and poses back in ours."""
    xy = open_cell(ref_sim.nav)
    common = dict(episode_id="e", start_position_m=(xy[0], xy[1], 0.0), start_yaw_rad=0.4, goal_category="chair")
    ours = sim.reset(ObjectNavEpisode(scene_id=str(scene_dir / "house-000011.glb"), **common))
    ref = ref_sim.reset(ObjectNavEpisode(scene_id="house-000011", **common))
    assert (ref.depth > 0).mean() > 0.5 and len(np.unique(ref.semantic)) > 2  # a frame worth comparing
    actions = [Action.TURN_LEFT, Action.MOVE_FORWARD, Action.MOVE_FORWARD, Action.LOOK_DOWN, Action.TURN_RIGHT,
               Action.TURN_RIGHT, Action.MOVE_FORWARD, Action.LOOK_UP, Action.LOOK_UP, Action.LOOK_UP, Action.TURN_LEFT]
    for i in range(len(actions) + 1):
        if i:
            a, b = sim.step(actions[i - 1]), ref_sim.step(actions[i - 1])
            assert a.collided == b.collided, actions[i - 1]
            ours, ref = a.observation, b.observation
        np.testing.assert_allclose(ours.T_world_cam, ref.T_world_cam, atol=1e-9)
        np.testing.assert_allclose(ours.agent_pose.position_m, ref.agent_pose.position_m, atol=1e-9)
        dyaw = math.remainder(ours.agent_pose.yaw_rad - ref.agent_pose.yaw_rad, 2 * math.pi)
        assert dyaw == pytest.approx(0.0, abs=1e-9)
        np.testing.assert_allclose(ours.depth, ref.depth, atol=1e-4, rtol=0)
        np.testing.assert_array_equal(ours.rgb, ref.rgb)
        expected = np.where(ref.semantic >= 0, ref.semantic + 1, -1)  # stand-in: habitat id = built-in id + 1
        np.testing.assert_array_equal(ours.semantic, expected)
        for sid in set(np.unique(ours.semantic).tolist()) - {-1}:
            assert ours.labels[sid] == ref.labels[sid - 1]
        assert ours.extras["tilt_rad"] == pytest.approx(ref.extras["tilt_rad"], abs=1e-12)


# --- geodesics, goals -----------------------------------------------------------------------------------------


def test_geodesic_distance_equals_the_navgrid(sim, ref_sim):
    nav = ref_sim.nav
    cells = np.argwhere(nav.navigable & nav.largest_component())
    rng = np.random.default_rng(0)
    for _ in range(4):
        a, b = (nav.cell_center(*map(int, cells[int(rng.integers(len(cells)))])) for _ in range(2))
        expected = nav.geodesic_distance(a, b)
        assert math.isfinite(expected) and expected > 0
        assert sim.geodesic_distance(np.array([*a, 0.0]), np.array([*b, 0.0])) == pytest.approx(expected, rel=1e-12)
        assert sim.geodesic_distance(a, b) == pytest.approx(expected, rel=1e-12)  # (x, y) on the agent's floor
    assert sim.geodesic_distance(np.array([-100.0, 0.0, 0.0]), np.array([*a, 0.0])) == math.inf


def test_distance_to_goal_from_the_semantic_scene(sim, fake, ref_sim):
    obs = sim.reset(seed=2)
    d = sim.distance_to_goal("tv")
    tvs = [o for o in fake.semantic_scene.objects if o is not None and o.category.name() == "tv_monitor"]
    snapped = [habitat_to_world(fake.pathfinder.snap_point(o.aabb.center())) for o in tvs]  # habitat-sim >= 0.3.3
    here = np.array(obs.agent_pose.position_m)
    assert d == pytest.approx(min(sim.geodesic_distance(here, s) for s in snapped), rel=1e-12)
    assert sim.distance_to_goal("tv", snapped[0]) == 0.0
    assert sim.goal_instance_ids("tv") == sorted(o.semantic_id for o in tvs)
    with pytest.raises(ConfigError, match="no 'dragon'"):
        sim.distance_to_goal("dragon")


def test_reconfigures_when_the_episode_scene_changes(sim, fake, scene_dir, ref_sim):
    other = str(scene_dir / "house-000012.glb")
    before = dict(sim.reset(seed=1).labels)
    xy = fake.pathfinder.get_random_navigable_point()
    ep = ObjectNavEpisode(episode_id="r", scene_id=other, start_position_m=tuple(habitat_to_world(xy)),
                          start_yaw_rad=0.0, goal_category="chair")
    obs = sim.reset(ep)
    assert ("reconfigure", other) in fake.calls
    assert dict(obs.labels) != before
    fake.calls.clear()
    sim.reset(ep)
    assert not any(c[0] == "reconfigure" for c in fake.calls)  # same scene: no reload
    with pytest.raises(ConfigError, match="not found"):
        sim.reset(ObjectNavEpisode(episode_id="m", scene_id=str(scene_dir / "house-000099.glb"),
                                   start_position_m=(0, 0, 0), start_yaw_rad=0.0, goal_category="chair"))


# --- navmesh, sliding, depth clip, object centres ---------------------------------------------------------------


def _recomputes(fake) -> list:
    return [c[1] for c in fake.calls if c[0] == "recompute_navmesh"]


def test_navmesh_is_recomputed_for_the_agent(hs, scene_dir):
    fake = hs.Simulator(make_configuration(hs, small_config(scene_dir)))
    shipped = fake.pathfinder.nav_mesh_settings
    assert fake.pathfinder.is_loaded and (shipped.agent_radius, shipped.agent_height) == (0.1, 1.5)  # the .navmesh
    s = HabitatSimulator(small_config(scene_dir), sim=fake)
    (settings,) = _recomputes(fake)
    assert (settings.agent_radius, settings.agent_height) == (0.18, 0.88)
    assert (settings.agent_max_climb, settings.agent_max_slope, settings.include_static_objects) == (0.2, 45.0, False)
    assert settings.cell_size == 0.05  # habitat-sim's defaults (set_defaults) for everything else
    assert fake.pathfinder.nav_mesh_settings == settings
    # the grid the agent now walks on is the 0.18 m one, not the shipped 0.1 m one
    assert fake._nav is navgrid(hs, 11) and navgrid(hs, 11, 0.1, 1.5).navigable.sum() > fake._nav.navigable.sum()
    s.reset(seed=1)
    s.reset(seed=2)
    assert len(_recomputes(fake)) == 1  # same scene: nothing to rebuild
    other = str(scene_dir / "house-000012.glb")
    xy = navgrid(hs, 12).cell_center(*map(int, np.argwhere(navgrid(hs, 12).largest_component())[0]))
    s.reset(ObjectNavEpisode(episode_id="b", scene_id=other, start_position_m=(xy[0], xy[1], 0.0),
                             start_yaw_rad=0.0, goal_category="chair"))
    assert [c[0] for c in fake.calls if c[0] in ("reconfigure", "recompute_navmesh")] == [
        "recompute_navmesh", "reconfigure", "recompute_navmesh"]  # the new scene's .navmesh is rebuilt too
    assert fake._nav is navgrid(hs, 12) and fake.pathfinder.nav_mesh_settings == settings


def test_navmesh_recompute_off_and_scenes_without_navmesh(hs, scene_dir, tmp_path):
    fake = hs.Simulator(make_configuration(hs, small_config(scene_dir)))
    HabitatSimulator(small_config(scene_dir, recompute_navmesh=False), sim=fake)
    assert _recomputes(fake) == [] and fake.pathfinder.nav_mesh_settings.agent_radius == 0.1  # the shipped one
    bare = tmp_path / "house-000011.glb"  # no house-000011.navmesh beside it
    bare.write_bytes(b"")
    cfg = HabitatConfig(scene=str(bare), width=W, height=H)
    fake = hs.Simulator(make_configuration(hs, cfg))
    assert not fake.pathfinder.is_loaded
    s = HabitatSimulator(cfg, sim=fake)
    assert fake.pathfinder.is_loaded and fake.pathfinder.nav_mesh_settings.agent_radius == 0.18
    assert math.isfinite(s.distance_to_goal("tv", s.reset(seed=0).agent_pose.position_m))
    fake = hs.Simulator(make_configuration(hs, cfg))
    s = HabitatSimulator(replace(cfg, recompute_navmesh=False), sim=fake)
    assert not fake.pathfinder.is_loaded and _recomputes(fake) == []
    s.reset()  # habitat has no navmesh: the agent stays where habitat put it
    assert s.geodesic_distance([0.0, 0.0, 0.0], [1.0, 0.0, 0.0]) == math.inf


def test_navmesh_already_built_for_the_agent_is_kept(hs, scene_dir):
    """habitat-sim >= 0.3 applies SimulatorConfiguration.navmesh_settings at load: nothing left to recompute."""
    cfg = small_config(scene_dir)
    c = make_configuration(hs, cfg)
    c.sim_cfg.navmesh_settings = navmesh_settings(hs, cfg)
    fake = hs.Simulator(c)
    assert [x[0] for x in fake.calls] == ["__init__", "navmesh_settings"]
    HabitatSimulator(cfg, sim=fake)
    assert _recomputes(fake) == []


def _wall_on_the_right_start(nav) -> np.ndarray:
    """A navigable point with a wall 0.1-0.15 m ahead in +X (our frame) and 0.4 m free along +Y there."""
    found = []
    for r, c in np.argwhere(nav.navigable & nav.largest_component()):
        x, y = nav.cell_center(int(r), int(c))
        if not (nav.is_navigable(np.array([x + 0.05, y])) and not nav.is_navigable(np.array([x + 0.15, y]))):
            continue
        if all(nav.is_navigable(np.array([x + 0.05, y + t])) for t in np.linspace(0.0, 0.4, 9)):
            found.append((x, y))
    assert found
    return np.array(found[len(found) // 2])


@pytest.mark.parametrize("sliding", [False, True])
def test_allow_sliding(hs, scene_dir, sliding):
    cfg = small_config(scene_dir, allow_sliding=sliding)
    s = HabitatSimulator(cfg, sim=hs.Simulator(make_configuration(hs, cfg)))
    xy = _wall_on_the_right_start(navgrid(hs, 11))
    yaw = math.pi / 4  # towards the wall (+X) and along it (+Y)
    s.reset(ObjectNavEpisode(episode_id="s", scene_id=cfg.scene, start_position_m=(xy[0], xy[1], 0.0),
                             start_yaw_rad=yaw, goal_category="chair"))
    res = s.step(Action.MOVE_FORWARD)
    assert res.collided
    moved = np.subtract(res.observation.agent_pose.position_m, (xy[0], xy[1], 0.0))
    along = float(moved[0] / math.cos(yaw))  # how far it got along the heading before the wall
    assert 0.0 < along < 0.25 and moved[2] == pytest.approx(0.0)
    if sliding:  # the rest of the move's +Y part, (0.25 - along) * sin(yaw), slides along the wall
        assert moved[1] == pytest.approx(along * math.sin(yaw) + (0.25 - along) * math.sin(yaw), abs=1e-9)
    else:  # stops on the heading line
        assert moved[1] == pytest.approx(along * math.sin(yaw), abs=1e-9)


def test_depth_clip_as_habitat_lab(sim, fake, scene_dir, monkeypatch):
    raw = np.array([[0.0, 0.3, 0.5, 2.0, 5.0, 7.5, np.nan, np.inf]], dtype=np.float32)
    # habitat-lab's HabitatSimDepthSensor: clip to [0.5, 5], then (by default) normalise
    np.testing.assert_allclose(habitat_lab_depth(raw[:, :6], 0.5, 5.0, normalize_depth=False)[..., 0],
                               [[0.5, 0.5, 0.5, 2.0, 5.0, 5.0]])
    np.testing.assert_allclose(habitat_lab_depth(raw[:, :6], 0.5, 5.0)[..., 0], [[0.0, 0.0, 0.0, 1 / 3, 1.0, 1.0]],
                               atol=1e-7)
    assert habitat_lab_depth(raw[:, :6, None], 0.5, 5.0).shape == (1, 6, 1)
    # ours: what habitat-lab saturated (nearer than 0.5 or no return, beyond 5) carries no range: 0
    np.testing.assert_array_equal(clip_depth_m(raw, 0.5, 5.0), [[0.0, 0.0, 0.5, 2.0, 5.0, 0.0, 0.0, 0.0]])
    assert clip_depth_m(raw[..., None], 0.5, 5.0).shape == (1, 8)
    real = fake.get_sensor_observations

    def hand_made(agent_ids=0):
        obs = real(agent_ids)
        obs["depth"][0, :8] = raw[0]
        return obs

    monkeypatch.setattr(fake, "get_sensor_observations", hand_made)
    np.testing.assert_array_equal(sim.reset(seed=2).depth[0, :8], np.float32([0.0, 0.3, 0.5, 2.0, 5.0, 7.5, 0.0, 0.0]))
    clipped = HabitatSimulator(small_config(scene_dir, depth_clip_m=(0.5, 5.0)), sim=fake)
    depth = clipped.reset(seed=2).depth
    np.testing.assert_array_equal(depth[0, :8], [0.0, 0.0, 0.5, 2.0, 5.0, 0.0, 0.0, 0.0])
    assert depth.dtype == np.float32 and ((depth == 0) | ((depth >= 0.5) & (depth <= 5.0))).all()


@pytest.mark.parametrize("form", ["method", "attribute"])
def test_object_centres_from_aabb_center_method_or_attribute(sim, fake, monkeypatch, form):
    """habitat-sim >= 0.3.3: ``aabb.center()`` (the stand-in); before: an array attribute ``aabb.center``."""
    objects = fake.semantic_scene.objects
    if form == "attribute":
        old_style = [None if o is None else SimpleNamespace(
            id=o.id, semantic_id=o.semantic_id, category=o.category,
            aabb=SimpleNamespace(center=np.asarray(o.aabb.center(), dtype=np.float64),
                                 sizes=np.asarray(o.aabb.size(), dtype=np.float64))) for o in objects]
        monkeypatch.setattr(fake.semantic_scene, "objects", old_style)
    here = np.array(sim.reset(seed=2).agent_pose.position_m)
    tvs = [o for o in objects if o is not None and o.category.name() == "tv_monitor"]
    # by hand: the box centre ((min + max) / 2, habitat frame), snapped to the navmesh, nearest by geodesic
    centres = [(np.asarray(o.aabb.min) + np.asarray(o.aabb.max)) / 2 for o in tvs]
    snapped = [habitat_to_world(fake.pathfinder.snap_point(c)) for c in centres]
    expected = min(sim.geodesic_distance(here, p) for p in snapped)
    assert math.isfinite(expected) and sim.distance_to_goal("tv") == pytest.approx(expected, rel=1e-12)


# --- habitat ObjectNav dataset files --------------------------------------------------------------------------


def _view_point(position):
    return {"agent_state": {"position": list(position), "rotation": [0.0, 0.0, 0.0, 1.0]}, "iou": 0.5}


def _write_gz(path: Path, data: dict) -> Path:
    with gzip.open(path, "wt") as f:
        json.dump(data, f)
    return path


def test_read_habitat_objectnav_episodes(tmp_path):
    scene = "hm3d/val/00800-TEEsavR23oF/TEEsavR23oF.basis.glb"
    s45, c45 = math.sin(math.pi / 4), math.cos(math.pi / 4)
    data = {
        "episodes": [
            {"episode_id": "7", "scene_id": scene, "start_position": [1.5, 0.1, -2.0],
             "start_rotation": [0.0, s45, 0.0, c45], "object_category": "tv_monitor",
             "info": {"geodesic_distance": 4.25, "euclidean_distance": 3.0}, "goals": [],
             "scene_dataset_config": "./data/scene_datasets/hm3d/hm3d_annotated_basis.scene_dataset_config.json"},
            {"episode_id": "8", "scene_id": "data/scene_datasets/" + scene, "start_position": [-0.5, 0.0, 3.0],
             "start_rotation": [0.0, -math.sin(-1.25), 0.0, -math.cos(-1.25)],  # -q of a -2.5 rad turn
             "object_category": "plant", "info": {"geodesic_distance": 2.0}, "goals": []},
        ],
        "goals_by_category": {
            "TEEsavR23oF.basis.glb_tv_monitor": [{"object_id": 3, "object_category": "tv_monitor",
                                                  "view_points": [_view_point([1.0, 0.1, 2.0]),
                                                                  _view_point([2.0, 0.1, 2.0])]}],
            "TEEsavR23oF.basis.glb_plant": [{"object_id": 5, "view_points": [_view_point([0.0, 0.0, 0.5])]}],
        },
    }
    eps = read_habitat_objectnav_episodes(_write_gz(tmp_path / "content.json.gz", data), split="val")
    a, b = eps
    assert (a.episode_id, a.scene_id, a.goal_category, a.split) == ("TEEsavR23oF:7", scene, "tv", "val")
    assert (a.extras["habitat_episode_id"], a.extras["habitat_episode_index"]) == ("7", 0)
    assert b.episode_id == "TEEsavR23oF:8" and b.extras["habitat_episode_index"] == 1
    np.testing.assert_allclose(a.start_position_m, [2.0, -1.5, 0.1])
    assert a.start_yaw_rad == pytest.approx(math.pi / 2) and a.geodesic_distance_m == 4.25
    np.testing.assert_allclose(a.extras["goal_view_points_m"], [[-2.0, -1.0, 0.1], [-2.0, -2.0, 0.1]])
    assert a.extras["habitat_start_rotation_xyzw"] == pytest.approx([0.0, s45, 0.0, c45])
    assert a.extras["scene_dataset_config"].endswith("hm3d_annotated_basis.scene_dataset_config.json")
    assert b.goal_category == "potted plant" and b.geodesic_distance_m == 2.0
    np.testing.assert_allclose(b.start_position_m, [-3.0, 0.5, 0.0])
    assert b.start_yaw_rad == pytest.approx(-2.5)
    np.testing.assert_allclose(b.extras["goal_view_points_m"], [[-0.5, -0.0, 0.0]])
    # habitat-lab's scenes_dir rule; plain .json works too; round trip through our JSONL episodes
    (tmp_path / "plain.json").write_text(json.dumps(data))
    eps2 = read_habitat_objectnav_episodes(tmp_path / "plain.json", scenes_dir="/data/scenes")
    assert [e.scene_id for e in eps2] == [f"/data/scenes/{scene}"] * 2
    assert ObjectNavEpisode.from_dict(json.loads(json.dumps(a.to_dict()))) == a


def test_reader_old_format_and_errors(tmp_path):
    ep = {"episode_id": 0, "scene_id": "x.glb", "start_position": [0, 0, 0], "start_rotation": [0, 0, 0, 1],
          "goals": [{"object_category": "couch", "view_points": [_view_point([1.0, 0.0, 0.0])]}]}
    (tmp_path / "old.json").write_text(json.dumps({"episodes": [ep]}))
    (e,) = read_habitat_objectnav_episodes(tmp_path / "old.json")
    assert e.goal_category == "sofa" and e.geodesic_distance_m is None
    assert e.extras["goal_view_points_m"] == [[-0.0, -1.0, 0.0]]
    (tmp_path / "bad.json").write_text(json.dumps({"episodes": [{**ep, "start_rotation": [0, 0, 1]}]}))
    with pytest.raises(EpisodeFileError, match="episode #0"):
        read_habitat_objectnav_episodes(tmp_path / "bad.json")
    (tmp_path / "junk.json.gz").write_bytes(b"not gzip")
    with pytest.raises(EpisodeFileError, match="junk.json.gz"):
        read_habitat_objectnav_episodes(tmp_path / "junk.json.gz")
    with pytest.raises(EpisodeFileError, match="not found"):
        read_habitat_objectnav_episodes(tmp_path / "none.json")


def test_read_episode_runs_in_the_simulator(sim, fake, ref_sim, scene_dir, tmp_path):
    nav = ref_sim.nav
    start = open_cell(nav)
    cells = np.argwhere(nav.navigable & nav.largest_component())
    goal_xy = [nav.cell_center(*map(int, cells[i])) for i in (0, len(cells) // 3)]
    s, c = math.sin(0.6), math.cos(0.6)  # a 1.2 rad turn
    data = {"episodes": [{"episode_id": "1", "scene_id": "house-000011.glb",
                          "start_position": world_to_habitat([*start, 0.0]).tolist(),
                          "start_rotation": [0.0, s, 0.0, c], "object_category": "tv_monitor",
                          "info": {"geodesic_distance": 1.0}}],
            "goals_by_category": {"house-000011.glb_tv_monitor": [
                {"view_points": [_view_point(world_to_habitat([*g, 0.0])) for g in goal_xy]}]}}
    (ep,) = read_habitat_objectnav_episodes(_write_gz(tmp_path / "e.json.gz", data), scenes_dir=scene_dir)
    obs = sim.reset(ep)
    np.testing.assert_allclose(obs.agent_pose.position_m, [*start, 0.0], atol=1e-9)
    assert obs.agent_pose.yaw_rad == pytest.approx(1.2) and obs.goal == "tv"
    goal = np.zeros(nav.shape, bool)
    for g in goal_xy:
        goal[nav.to_cell(g)] = True
    assert sim.distance_to_goal() == pytest.approx(nav.distance_field(goal)[nav.to_cell(start)], rel=1e-12)


def _per_scene_file(path: Path, scene: str, category: str, start_xy, goal_xys, episode_id: str = "0") -> Path:
    """A habitat per-scene ObjectNav file with one episode (our-frame floor points converted to habitat)."""
    data = {"episodes": [{"episode_id": episode_id, "scene_id": scene,
                          "start_position": world_to_habitat([*start_xy, 0.0]).tolist(),
                          "start_rotation": [0.0, 0.0, 0.0, 1.0], "object_category": category,
                          "info": {"geodesic_distance": 1.0}}],
            "goals_by_category": {f"{os.path.basename(scene)}_{category}": [
                {"view_points": [_view_point(world_to_habitat([*g, 0.0])) for g in goal_xys]}]},
            "category_to_task_category_id": {category: 0}}
    path.parent.mkdir(parents=True, exist_ok=True)
    return _write_gz(path, data)


@pytest.fixture
def split_with_content(hs, tmp_path):
    """val/val.json.gz with content_scenes_path and two per-scene files (houses 11 and 12, both episode "0")."""
    root = tmp_path / "objectnav" / "val"
    root.mkdir(parents=True)
    _write_gz(root / "val.json.gz", {"episodes": [], "content_scenes_path": "{data_path}/content/{scene}.json.gz",
                                     "category_to_task_category_id": {"chair": 0, "tv_monitor": 1}})
    plan = {}
    for seed, category in ((11, "tv_monitor"), (12, "chair")):
        nav = navgrid(hs, seed)
        cells = np.argwhere(nav.navigable & nav.largest_component())
        start = open_cell(nav)
        goals = [nav.cell_center(*map(int, cells[i])) for i in (len(cells) // 5, len(cells) // 2)]
        scene = f"data/scene_datasets/test/house-{seed:06d}.glb"
        _per_scene_file(root / "content" / f"house-{seed:06d}.json.gz", scene, category, start, goals)
        goal = np.zeros(nav.shape, bool)
        for g in goals:
            goal[nav.to_cell(g)] = True
        plan[seed] = (start, float(nav.distance_field(goal)[nav.to_cell(start)]))
    return root / "val.json.gz", plan


def test_split_file_with_content_scenes(split_with_content):
    split, plan = split_with_content
    eps = read_habitat_objectnav_episodes(split, scenes_dir="/data/scenes", split="val")
    assert [e.episode_id for e in eps] == ["house-000011:0", "house-000012:0"]  # unique across scenes
    assert [e.extras["habitat_episode_id"] for e in eps] == ["0", "0"]
    assert [e.scene_id for e in eps] == ["/data/scenes/test/house-000011.glb", "/data/scenes/test/house-000012.glb"]
    assert [e.goal_category for e in eps] == ["tv", "chair"] and {e.split for e in eps} == {"val"}
    assert habitat_scene_name("hm3d/val/00800-TEEsavR23oF/TEEsavR23oF.basis.glb") == "TEEsavR23oF"
    assert habitat_scene_name("mp3d/x8F5xyUWy9e/x8F5xyUWy9e.glb") == "x8F5xyUWy9e" == habitat_scene_name("x8F5xyUWy9e")
    assert [Path(e.extras["habitat_episode_file"]).name for e in eps] == ["house-000011.json.gz",
                                                                         "house-000012.json.gz"]
    # each file's own goals_by_category: the view points of each episode are its scene's
    for e, seed in zip(eps, (11, 12)):
        np.testing.assert_allclose(e.start_position_m, [*plan[seed][0], 0.0], atol=1e-9)
    # habitat-lab's content_scenes: only some scenes
    (only,) = read_habitat_objectnav_episodes(split, content_scenes=["house-000012"])
    assert only.episode_id == "house-000012:0"
    # a per-scene file read on its own gives the same ids
    (direct,) = read_habitat_objectnav_episodes(split.parent / "content" / "house-000012.json.gz")
    assert direct.episode_id == "house-000012:0" and direct.extras == only.extras


def test_content_scene_episodes_run_in_their_scene(split_with_content, hs, tmp_path):
    split, plan = split_with_content
    scenes = tmp_path / "scene_datasets"
    (scenes / "test").mkdir(parents=True)
    for seed in (11, 12):
        (scenes / "test" / f"house-{seed:06d}.glb").write_bytes(b"")
        (scenes / "test" / f"house-{seed:06d}.navmesh").write_bytes(b"")
    a, b = read_habitat_objectnav_episodes(split, scenes_dir=scenes)
    cfg = HabitatConfig(scene=a.scene_id, width=W, height=H)
    fake = hs.Simulator(make_configuration(hs, cfg))
    s = HabitatSimulator(cfg, sim=fake)
    for ep, seed in ((b, 12), (a, 11), (b, 12)):
        fake.calls.clear()
        obs = s.reset(ep)
        assert ("reconfigure", ep.scene_id) in fake.calls  # the stand-in switched to the episode's house
        assert fake.config.sim_cfg.scene_id == ep.scene_id and obs.extras["habitat_scene"] == ep.scene_id
        np.testing.assert_allclose(obs.agent_pose.position_m, [*plan[seed][0], 0.0], atol=1e-9)
        # the runner's shortest path at reset (habitat-lab's SPL l): geodesic to this scene's view points
        assert s.distance_to_goal() == pytest.approx(plan[seed][1], rel=1e-12) and math.isfinite(plan[seed][1])
        assert set(obs.labels) <= {o.semantic_id for o in fake.semantic_scene.objects if o is not None}


def test_embodied_nav_runs_a_habitat_split_file_end_to_end(split_with_content, hs, tmp_path):
    """`embodied nav --sim habitat --episodes-file val.json.gz --scene-dir ...`: ids unique across scenes,
    each episode in its scene, habitat's sensor (HFOV 79, camera 0.88 m) not replaced by the built-in's,
    SPL's l measured at reset and the file's geodesic kept beside it."""
    from click.testing import CliRunner

    from embodied.cli.main import cli
    from embodied.runs import ResultsLog

    split, plan = split_with_content
    scenes = tmp_path / "scene_datasets"
    (scenes / "test").mkdir(parents=True)
    for seed in (11, 12):
        (scenes / "test" / f"house-{seed:06d}.glb").write_bytes(b"")
    out = tmp_path / "run"
    res = CliRunner().invoke(cli, ["nav", "--sim", "habitat", "--episodes-file", str(split), "--scene-dir", str(scenes),
                                   "--width", str(W), "--height", str(H), "--max-steps", "12", "--workers", "1",
                                   "--out", str(out)])
    assert res.exit_code == 0, res.output
    record = json.loads((out / "config.json").read_text())
    assert record["episodes"] == ["house-000011:0", "house-000012:0"]
    cfg = record["config"]["sim_config"]
    assert cfg["type"] == "HabitatConfig" and cfg["hfov_deg"] == 79.0 and cfg["sensor_height_m"] == 0.88
    assert cfg["allow_sliding"] is False and record["config"]["agent_config"]["camera_height_m"] == 0.88
    rows = {r["id"]: r for r in ResultsLog(out / "results.jsonl").rows()}
    for seed in (11, 12):
        row = rows[f"house-{seed:06d}:0"]
        assert row["status"] == "ok" and row["success_rule"] == "distance" and row["scene_id"].endswith(f"house-{seed:06d}.glb")
        assert row["shortest_path_m"] == pytest.approx(plan[seed][1], rel=1e-9) and row["file_geodesic_m"] == 1.0


def test_the_first_scene_gets_the_episodes_scene_dataset_config(hs, scene_dir, tmp_path):
    """HM3D episodes name a scene dataset config (their semantics): the scene the simulator started in is
    reconfigured with it too, and "./data/scene_datasets/..." is rebased on scenes_dir like the scenes."""
    dataset = tmp_path / "hm3d" / "hm3d_annotated_basis.scene_dataset_config.json"
    dataset.parent.mkdir()
    dataset.write_text("{}")
    data = {"episodes": [{"episode_id": "0", "scene_id": "data/scene_datasets/house-000011.glb",
                          "scene_dataset_config": "./data/scene_datasets/hm3d/hm3d_annotated_basis.scene_dataset_config.json",
                          "start_position": [0.0, 0.0, 0.0], "start_rotation": [0, 0, 0, 1],
                          "object_category": "chair"}]}
    (ep,) = read_habitat_objectnav_episodes(_write_gz(tmp_path / "val.json.gz", data), scenes_dir=tmp_path)
    assert ep.extras["scene_dataset_config"] == str(dataset)
    ep = replace(ep, scene_id=str(scene_dir / "house-000011.glb"))
    cfg = small_config(scene_dir)  # started in the same scene, without the dataset config
    fake = hs.Simulator(make_configuration(hs, cfg))
    s = HabitatSimulator(cfg, sim=fake)
    fake.calls.clear()
    s.reset(replace(ep, start_position_m=tuple(open_cell(navgrid(hs, 11)).tolist()) + (0.0,)))
    assert ("reconfigure", ep.scene_id) in fake.calls
    assert fake.config.sim_cfg.scene_dataset_config_file == str(dataset)
    fake.calls.clear()
    s.reset(replace(ep, start_position_m=tuple(open_cell(navgrid(hs, 11)).tolist()) + (0.0,)))
    assert not [c for c in fake.calls if c[0] == "reconfigure"]  # now loaded: no second reconfigure


def test_split_file_errors(tmp_path):
    root = tmp_path / "val"
    root.mkdir()
    split = _write_gz(root / "val.json.gz", {"episodes": [],
                                             "content_scenes_path": "{data_path}/content/{scene}.json.gz"})
    with pytest.raises(EpisodeFileError, match="lists no episodes.*per-scene files"):
        read_habitat_objectnav_episodes(split)
    (root / "content").mkdir()
    with pytest.raises(EpisodeFileError, match="no per-scene episode files"):
        read_habitat_objectnav_episodes(split)
    _per_scene_file(root / "content" / "house-000011.json.gz", "a/house-000011.glb", "chair", (0, 0), [(1, 0)])
    with pytest.raises(EpisodeFileError, match="house-000099"):
        read_habitat_objectnav_episodes(split, content_scenes=["house-000099"])
    # two scenes with one name, or one id twice in a scene: results and resume would mix them up
    _per_scene_file(root / "content" / "other.json.gz", "b/house-000011.glb", "chair", (0, 0), [(1, 0)])
    with pytest.raises(EpisodeFileError, match="same name"):
        read_habitat_objectnav_episodes(split)
    twice = {"episodes": [{"episode_id": "3", "scene_id": "x.glb", "start_position": [0, 0, 0],
                           "start_rotation": [0, 0, 0, 1], "object_category": "chair"}] * 2}
    (tmp_path / "twice.json").write_text(json.dumps(twice))
    with pytest.raises(EpisodeFileError, match="occurs twice"):
        read_habitat_objectnav_episodes(tmp_path / "twice.json")


# --- the optional dependency ----------------------------------------------------------------------------------


def test_missing_habitat_sim_names_conda(monkeypatch, scene_dir):
    monkeypatch.setitem(sys.modules, "habitat_sim", None)
    with pytest.raises(MissingDependencyError, match=r"conda install habitat-sim -c conda-forge -c aihabitat"):
        HabitatSimulator(small_config(scene_dir))


def test_importing_the_adapter_does_not_import_habitat_sim():
    code = "import sys, sims.habitat; assert 'habitat_sim' not in sys.modules, 'habitat_sim imported eagerly'"
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr


def test_stand_in_is_not_importable_outside_its_fixture():
    assert "habitat_sim" not in sys.modules or not getattr(sys.modules["habitat_sim"], "IS_TEST_STAND_IN", False)
    assert str(FAKES) not in sys.path


# --- the real thing (only where habitat-sim is installed) -----------------------------------------------------


@needs_real_habitat
def test_real_habitat_sim_accepts_our_configuration():
    """Builds the configuration with the real classes: catches attribute names the stand-in might get wrong."""
    hs = importlib.import_module("habitat_sim")
    assert not getattr(hs, "IS_TEST_STAND_IN", False)
    cfg = make_configuration(hs, HabitatConfig(scene="some/scene.basis.glb", width=W, height=H))
    assert cfg.sim_cfg.scene_id == "some/scene.basis.glb"
    specs = {s.uuid: s for s in cfg.agents[0].sensor_specifications}
    assert set(specs) == {"rgb", "depth", "semantic"}
    assert [int(v) for v in specs["rgb"].resolution] == [H, W]
    assert float(specs["rgb"].hfov) == pytest.approx(79.0)
    assert sorted(cfg.agents[0].action_space) == ["look_down", "look_up", "move_forward", "turn_left", "turn_right"]
    assert cfg.sim_cfg.allow_sliding is False
    settings = navmesh_settings(hs, HabitatConfig(scene="some/scene.basis.glb"))
    assert (settings.agent_radius, settings.agent_height) == pytest.approx((0.18, 0.88))
    assert (settings.agent_max_climb, settings.agent_max_slope) == pytest.approx((0.2, 45.0))
    state = hs.AgentState([0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0])
    assert list(state.rotation) == [0.0, 0.0, 0.0, 1.0]


@pytest.mark.skipif(not REAL_HABITAT or not os.environ.get("EMBODIED_HABITAT_SCENE"),
                    reason="needs habitat-sim (conda install habitat-sim -c conda-forge -c aihabitat) and "
                           "EMBODIED_HABITAT_SCENE set to a scene file")
def test_real_habitat_sim_end_to_end():
    """Runs the real renderer: headings, forward motion and tilt agree with our frame conventions."""
    cfg = HabitatConfig(scene=os.environ["EMBODIED_HABITAT_SCENE"], width=W, height=H,
                        scene_dataset_config=os.environ.get("EMBODIED_HABITAT_DATASET_CONFIG"),
                        semantic=bool(os.environ.get("EMBODIED_HABITAT_DATASET_CONFIG")))
    with HabitatSimulator(cfg) as s:
        obs = s.reset(seed=0)
        assert (obs.depth > 0).any()
        turned = s.step(Action.TURN_LEFT).observation
        dyaw = math.remainder(turned.agent_pose.yaw_rad - obs.agent_pose.yaw_rad, 2 * math.pi)
        assert dyaw == pytest.approx(math.radians(30), abs=1e-3)
        res = s.step(Action.MOVE_FORWARD)
        if not res.collided:
            step = np.subtract(res.observation.agent_pose.position_m, turned.agent_pose.position_m)
            yaw = turned.agent_pose.yaw_rad
            np.testing.assert_allclose(step[:2], [0.25 * math.cos(yaw), 0.25 * math.sin(yaw)], atol=1e-3)
        assert s.step(Action.LOOK_UP).observation.extras["tilt_rad"] == pytest.approx(math.radians(30), abs=1e-3)
        here = np.array(obs.agent_pose.position_m)
        assert s.geodesic_distance(here, here) == pytest.approx(0.0, abs=0.05)
