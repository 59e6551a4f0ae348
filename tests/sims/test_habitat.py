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
    habitat_camera_pose,
    habitat_category,
    habitat_quat_to_yaw,
    habitat_to_world,
    make_configuration,
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
    """Empty placeholder scene files (the stand-in loads built-in houses by file name)."""
    d = tmp_path_factory.mktemp("habitat_scenes")
    for seed in (11, 12):
        (d / f"house-{seed:06d}.glb").write_bytes(b"")
    return d


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
    assert (c.scene_dataset_config, c.seed, c.max_steps, c.semantic) == (None, 0, 500, True)
    assert c.intrinsics.hfov_deg == pytest.approx(79.0)
    with pytest.raises(Exception):
        c.width = 3  # frozen


@pytest.mark.parametrize("bad", [
    dict(scene=""), dict(scene="scene.json"), dict(scene=3), dict(width=0), dict(height=2.5), dict(hfov_deg=180.0),
    dict(sensor_height_m=0.0), dict(agent_radius_m=-0.1), dict(forward_m=math.nan), dict(turn_deg=0),
    dict(tilt_limit_deg=120.0), dict(seed=True), dict(max_steps=0), dict(semantic="yes"),
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
    snapped = [habitat_to_world(fake.pathfinder.snap_point(o.aabb.center)) for o in tvs]
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
    assert (a.episode_id, a.scene_id, a.goal_category, a.split) == ("7", scene, "tv", "val")
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
