"""AI2-THOR adapter tests: real ``ai2thor.server.Event`` objects built offline, a recording controller."""

from __future__ import annotations

import gzip
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ai2thor")

import ai2thor.build  # noqa: E402
import ai2thor.controller  # noqa: E402
import ai2thor.platform  # noqa: E402
import requests  # noqa: E402

from embodied import geometry  # noqa: E402
from embodied.errors import ConfigError, EmbodiedError, MissingDependencyError, ObservationError  # noqa: E402
from embodied.tasks import EpisodeFileError, ObjectNavEpisode  # noqa: E402
from embodied.types import Action, GeodesicOracle, Simulator  # noqa: E402
from sims.thor import (  # noqa: E402
    ROBOTHOR_GOALS,
    THOR_CATEGORY_MAP,
    THOR_PRESETS,
    ReachableGraph,
    ThorBuildUnavailableError,
    ThorConfig,
    ThorSimulator,
    horizon_to_tilt,
    ROBOTHOR_SCENES,
    generate_thor_episodes,
    read_robothor_episodes,
    sample_thor_episodes,
    thor_category,
    unity_to_world,
    unity_yaw_to_world,
    vertical_fov_deg,
    world_to_unity,
    world_yaw_to_unity,
)
from tests.sims import thor_fakes as fk  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
CENTRE = 0.9009995
OFFLINE_ERROR = (  # exactly what ai2thor 5.0.0's Controller raises offline (checked by a test below)
    f"Invalid commit_id: {ai2thor.build.COMMIT_ID} - no build exists for arch=Linux platforms=Linux64"
)


def small_config(**kw) -> ThorConfig:
    return ThorConfig(width=fk.W, height=fk.H, **kw)


@pytest.fixture
def fake() -> fk.FakeController:
    return fk.FakeController()


@pytest.fixture
def sim(fake) -> ThorSimulator:
    s = ThorSimulator(small_config(), controller=fake)
    s.reset()
    fake.calls.clear()
    return s


def project(obs, unity_point: dict) -> tuple[np.ndarray, float]:
    uv, z = geometry.project_points(unity_to_world(unity_point), obs.intrinsics.K, obs.T_world_cam)
    return uv[0], float(z[0])


# --- config -------------------------------------------------------------------------------------------


def test_config_defaults():
    c = ThorConfig()
    assert (c.scene, c.width, c.height, c.hfov_deg) == ("FloorPlan1", 224, 224, 90.0)
    assert (c.forward_m, c.turn_deg, c.tilt_deg, c.agent_mode) == (0.25, 30.0, 30.0, "default")
    assert (c.visibility_distance_m, c.local_executable_path, c.platform) == (1.5, None, None)
    assert (c.snap_to_grid, c.max_steps) == (False, 500)
    with pytest.raises(Exception):
        c.width = 3  # frozen


@pytest.mark.parametrize("bad", [
    dict(width=0), dict(height=-4), dict(width=2.5), dict(hfov_deg=0.0), dict(hfov_deg=180.0),
    dict(forward_m=0.0), dict(turn_deg=-30.0), dict(tilt_deg=math.nan), dict(visibility_distance_m=0),
    dict(max_steps=0), dict(agent_mode=""), dict(platform="cloudrendering"), dict(scene=""), dict(scene=3),
    dict(snap_to_grid=True, turn_deg=30.0),
])
def test_config_rejects_bad_values(bad):
    with pytest.raises(ConfigError):
        ThorConfig(**bad)


def test_config_accepts_procthor_house_and_grid():
    house = {"rooms": [], "walls": [], "objects": []}
    assert ThorConfig(scene=house).scene is house
    assert ThorConfig(snap_to_grid=True, turn_deg=90.0).snap_to_grid


def test_controller_kwargs(monkeypatch, caplog):
    seen = {}

    def factory(**kwargs):
        seen.update(kwargs)
        c = fk.FakeController(320, 240)
        c.reset(kwargs["scene"])
        c.calls.clear()
        return c

    monkeypatch.setattr(ai2thor.controller, "Controller", factory)
    cfg = ThorConfig(scene="FloorPlan_Train1_1", width=320, height=240, hfov_deg=90.0, forward_m=0.1, turn_deg=15.0,
                     agent_mode="locobot", visibility_distance_m=1.0, platform="CloudRendering",
                     local_executable_path="/opt/thor/thor-CloudRendering-abc")
    ThorSimulator(cfg)
    assert seen["renderDepthImage"] is True and seen["renderInstanceSegmentation"] is True
    assert (seen["width"], seen["height"], seen["scene"]) == (320, 240, "FloorPlan_Train1_1")
    # THOR's fieldOfView is Unity's vertical FOV: 2 atan(tan(45 deg) * 240 / 320) = 73.74 deg
    assert seen["fieldOfView"] == pytest.approx(73.7397953)
    assert (seen["gridSize"], seen["rotateStepDegrees"], seen["visibilityDistance"]) == (0.1, 15.0, 1.0)
    assert (seen["agentMode"], seen["snapToGrid"]) == ("locobot", False)
    assert seen["platform"] is ai2thor.platform.CloudRendering  # the class: ai2thor breaks on a string
    assert seen["local_executable_path"] == "/opt/thor/thor-CloudRendering-abc"
    assert "launches it as Linux64" in caplog.text  # ai2thor ignores platform for local builds


def test_vertical_fov():
    assert vertical_fov_deg(224, 224, 90.0) == pytest.approx(90.0)
    assert vertical_fov_deg(640, 480, 90.0) == pytest.approx(73.7397953)


def test_own_controller_first_reset_reuses_loaded_scene(monkeypatch):
    made = []

    def factory(**kwargs):
        c = fk.FakeController()
        c.reset(kwargs["scene"])  # the real Controller loads the scene in __init__
        c.calls.clear()
        made.append(c)
        return c

    monkeypatch.setattr(ai2thor.controller, "Controller", factory)
    sim = ThorSimulator(small_config())
    sim.reset()
    assert made[0].calls == []
    sim.reset()
    assert made[0].calls == [("reset", {"scene": "FloorPlan1"})]


# --- protocol, actions --------------------------------------------------------------------------------


def test_protocols(sim):
    assert isinstance(sim, Simulator) and isinstance(sim, GeodesicOracle)


def test_injected_controller_reset(fake):
    sim = ThorSimulator(small_config(scene="FloorPlan7"), controller=fake)
    obs = sim.reset(seed=123)
    assert fake.calls == [("reset", {"scene": "FloorPlan7"})]
    assert sim.seed == 123 and obs.step == 0 and obs.goal is None
    assert not any(name in ("InitialRandomSpawn", "RandomizeMaterials") for name, _ in fake.calls)


@pytest.mark.parametrize("action,name,kwargs", [
    (Action.MOVE_FORWARD, "MoveAhead", {"moveMagnitude": 0.25}),
    (Action.TURN_LEFT, "RotateLeft", {"degrees": 30.0}),
    (Action.TURN_RIGHT, "RotateRight", {"degrees": 30.0}),
    (Action.LOOK_UP, "LookUp", {"degrees": 30.0}),
    (Action.LOOK_DOWN, "LookDown", {"degrees": 30.0}),
])
def test_action_mapping(sim, fake, action, name, kwargs):
    res = sim.step(action)
    assert fake.calls == [(name, kwargs)]
    assert res.info["thor_action"] == name and res.info["success"] is True
    assert not res.collided and not res.done and res.observation.step == 1


def test_action_sizes_follow_config(fake):
    sim = ThorSimulator(small_config(forward_m=0.1, turn_deg=45.0, tilt_deg=15.0), controller=fake)
    sim.reset()
    fake.calls.clear()
    for a in (Action.MOVE_FORWARD, Action.TURN_RIGHT, Action.LOOK_DOWN):
        sim.step(a)
    assert fake.calls == [("MoveAhead", {"moveMagnitude": 0.1}), ("RotateRight", {"degrees": 45.0}),
                          ("LookDown", {"degrees": 15.0})]


def test_stop_makes_no_call_and_ends_episode(sim, fake):
    sim.step(Action.MOVE_FORWARD)
    fake.calls.clear()
    res = sim.step(Action.STOP)
    assert fake.calls == []
    assert res.done and not res.collided and res.observation.step == 2
    with pytest.raises(RuntimeError, match="reset"):
        sim.step(Action.MOVE_FORWARD)
    sim.reset()
    assert not sim.step(Action.TURN_LEFT).done


def test_step_before_reset_raises(fake):
    with pytest.raises(RuntimeError, match="reset"):
        ThorSimulator(small_config(), controller=fake).step(Action.MOVE_FORWARD)


def test_max_steps(fake):
    sim = ThorSimulator(small_config(max_steps=2), controller=fake)
    sim.reset()
    assert not sim.step(Action.TURN_LEFT).done
    assert sim.step(Action.TURN_LEFT).done
    with pytest.raises(RuntimeError):
        sim.step(Action.TURN_LEFT)


def test_failed_move_is_a_collision(sim, fake):
    msg = "CounterTop|-00.08|+01.15|00.00 is blocking Agent 0 from moving by (0.0000, 0.0000, 0.2500)."
    fake.fail["MoveAhead"] = msg
    before = sim.step(Action.TURN_LEFT).observation.agent_pose
    res = sim.step(Action.MOVE_FORWARD)
    assert res.collided and not res.done
    assert res.info["success"] is False and res.info["error"] == msg
    assert res.observation.agent_pose == before


def test_failed_look_is_not_a_collision(sim):
    sim.step(Action.LOOK_UP)  # horizon -30: THOR's upper limit
    res = sim.step(Action.LOOK_UP)
    assert not res.collided and res.info["success"] is False and "horizon" in res.info["error"]


def test_close_and_context_manager(fake):
    with ThorSimulator(small_config(), controller=fake) as sim:
        sim.reset()
    assert fake.stop_count == 1
    sim.close()
    assert fake.stop_count == 1
    with pytest.raises(RuntimeError, match="closed"):
        sim.reset()


# --- frames -------------------------------------------------------------------------------------------


def test_unity_to_world_hand_cases():
    np.testing.assert_allclose(unity_to_world({"x": 1.0, "y": 2.0, "z": 3.0}), [3.0, -1.0, 2.0])
    np.testing.assert_allclose(unity_to_world((-0.5, 0.9, 4.0)), [4.0, 0.5, 0.9])
    assert world_to_unity([3.0, -1.0, 2.0]) == {"x": 1.0, "y": 2.0, "z": 3.0}
    p = np.array([0.3, -7.1, 1.25])
    np.testing.assert_allclose(unity_to_world(world_to_unity(p)), p)
    M = np.stack([unity_to_world(e) for e in np.eye(3)], axis=1)
    assert np.linalg.det(M) == pytest.approx(-1.0)  # left-handed -> right-handed


@pytest.mark.parametrize("rotation_y,yaw", [
    (0.0, 0.0), (90.0, -math.pi / 2), (270.0, math.pi / 2), (-90.0, math.pi / 2), (180.0, math.pi),
    (30.0, -math.pi / 6),
])
def test_yaw_conversion(rotation_y, yaw):
    assert unity_yaw_to_world(rotation_y) == pytest.approx(yaw)
    assert world_yaw_to_unity(yaw) == pytest.approx(rotation_y % 360.0)


def test_tilt_sign():
    assert horizon_to_tilt(30.0) == pytest.approx(-math.pi / 6)  # THOR +30 looks down; ours + looks up
    assert horizon_to_tilt(-30.0) == pytest.approx(math.pi / 6)


def test_pose_at_rotation_zero_faces_our_plus_x(sim):
    obs = sim.reset()
    T = obs.T_world_cam
    np.testing.assert_allclose(T[:3, 3], [2.0, -1.0, CENTRE + fk.CAMERA_ABOVE_CENTRE_M], atol=1e-9)
    np.testing.assert_allclose(T[:3, 2], [1.0, 0.0, 0.0], atol=1e-12)  # optical axis = Unity +z = our +X
    np.testing.assert_allclose(T[:3, 1], [0.0, 0.0, -1.0], atol=1e-12)  # image down = world down
    assert obs.agent_pose.position_m == pytest.approx((2.0, -1.0, 0.0))  # base on the floor
    assert obs.agent_pose.yaw_rad == pytest.approx(0.0)


def test_projection_of_unity_points_at_rotation_90(sim, fake):
    # our yaw -pi/2 = THOR rotation 90: facing Unity +x (our -Y); Unity +z is then on the agent's left
    ep = ObjectNavEpisode(episode_id="p", scene_id="FloorPlan1", start_position_m=(2.0, -1.0, 0.0),
                          start_yaw_rad=-math.pi / 2, goal_category="tv")
    obs = sim.reset(ep)
    assert fake.calls[-1][1]["rotation"]["y"] == pytest.approx(90.0)
    cam = {"x": 1.0, "y": CENTRE + fk.CAMERA_ABOVE_CENTRE_M, "z": 2.0}
    K = obs.intrinsics
    uv, z = project(obs, {**cam, "x": cam["x"] + 2.0})
    np.testing.assert_allclose(uv, [K.cx, K.cy], atol=1e-9)
    assert z == pytest.approx(2.0)
    uv, _ = project(obs, {**cam, "x": cam["x"] + 2.0, "z": cam["z"] + 1.0})
    np.testing.assert_allclose(uv, [K.cx - K.fx * 0.5, K.cy], atol=1e-9)  # left of centre
    uv, _ = project(obs, {**cam, "x": cam["x"] + 2.0, "y": cam["y"] + 0.5})
    np.testing.assert_allclose(uv, [K.cx, K.cy - K.fy * 0.25], atol=1e-9)  # above centre
    assert obs.agent_pose.yaw_rad == pytest.approx(-math.pi / 2)


def test_look_down_tilts_the_optical_axis_down(sim):
    obs = sim.step(Action.LOOK_DOWN).observation  # horizon 30
    np.testing.assert_allclose(obs.T_world_cam[:3, 2], [math.cos(math.pi / 6), 0.0, -math.sin(math.pi / 6)], atol=1e-12)
    cam = {"x": 1.0, "y": CENTRE + fk.CAMERA_ABOVE_CENTRE_M, "z": 2.0}
    below_ahead = {"x": cam["x"], "y": cam["y"] - math.sin(math.pi / 6), "z": cam["z"] + math.cos(math.pi / 6)}
    uv, z = project(obs, below_ahead)
    np.testing.assert_allclose(uv, [obs.intrinsics.cx, obs.intrinsics.cy], atol=1e-9)
    assert z == pytest.approx(1.0)


def test_turn_right_and_move_follow_thor_semantics(sim):
    obs = sim.step(Action.TURN_RIGHT).observation
    assert obs.agent_pose.yaw_rad == pytest.approx(-math.pi / 6)  # right turn = clockwise = negative yaw
    sim.step(Action.TURN_LEFT)
    obs = sim.step(Action.MOVE_FORWARD).observation
    assert obs.agent_pose.position_m == pytest.approx((2.25, -1.0, 0.0))  # +0.25 along our +X
    np.testing.assert_allclose(obs.T_world_cam[:3, 3], [2.25, -1.0, CENTRE + fk.CAMERA_ABOVE_CENTRE_M], atol=1e-9)


# --- images -------------------------------------------------------------------------------------------


def test_event_is_a_real_ai2thor_event(sim, fake):
    import ai2thor.server

    ev = fake.last_event
    assert isinstance(ev, ai2thor.server.Event)
    assert ev.frame.shape == (fk.H, fk.W, 3) and ev.depth_frame.dtype == np.float32
    assert ev.color_to_object_id[fk.COLORS[fk.TV_ID]] == fk.TV_ID
    assert fk.TV_ID in ev.instance_masks  # ai2thor's own lazy masks agree with our painting
    painted = (fk.default_segmentation() == fk.COLORS[fk.TV_ID]).all(-1)
    np.testing.assert_array_equal(ev.instance_masks[fk.TV_ID], painted)


def test_rgb_matches_unity_frame(sim):
    obs = sim.reset()
    assert obs.rgb.dtype == np.uint8 and obs.rgb.shape == (fk.H, fk.W, 3)
    np.testing.assert_array_equal(obs.rgb, fk.default_rgb())  # RGBA dropped, bottom-up rows flipped once


def test_depth_preserved_and_invalid_pixels_zeroed(sim):
    obs = sim.reset()
    expected = fk.default_depth()
    assert obs.depth.dtype == np.float32 and obs.depth.shape == (fk.H, fk.W)
    for r in range(4):  # NaN, inf, beyond the 20 m far plane, negative
        assert obs.depth[r, 7] == 0.0
    mask = np.ones_like(expected, dtype=bool)
    mask[0:4, 7] = False
    np.testing.assert_allclose(obs.depth[mask], expected[mask], atol=1e-6, rtol=0)
    assert obs.depth[0, 0] == pytest.approx(0.5) and obs.depth[5, 6] == pytest.approx(0.5 + 0.0371 * 46, abs=1e-6)


def test_semantic_ids_and_labels(sim):
    obs = sim.reset()
    sem = obs.semantic
    assert sem.dtype == np.int32 and sem.shape == (fk.H, fk.W)
    # ids are given in sorted objectId order: Fridge 0, HousePlant 1, Television 2
    assert (sem[0:3, 2:5] == 2).all() and (sem[3:6, 5:8] == 1).all()
    assert (sem[:, 0:2] == -1).all()  # wall: has a THOR colour, but is not an object
    assert sem[5, 2] == -1  # colour THOR never listed
    assert sem[5, 4] == -1  # floor
    assert dict(obs.labels) == {1: "potted plant", 2: "tv"}
    assert sim.goal_instance_ids("refrigerator") == [0] and sim.goal_instance_ids("tv") == [2]
    assert sim.goal_instance_ids("bed") == []


def test_instance_ids_stable_for_the_scene(sim, fake):
    first = sim.reset().semantic
    apple = {"objectId": "Apple|+00.50|+00.90|+01.00", "objectType": "Apple",
             "position": {"x": 0.5, "y": 0.9, "z": 1.0}}
    fake.objects.append(apple)
    fake.frames.seg[0:2, 5:8] = (7, 7, 7)
    fake.frames.seg = fake.frames.seg.copy()
    obs = sim.step(Action.TURN_LEFT).observation
    np.testing.assert_array_equal(obs.semantic[3:6], first[3:6])  # old ids unchanged
    assert (obs.semantic[0:2, 5:8] == -1).all()  # (7,7,7) is not in metadata colors
    assert sim.goal_instance_ids("apple") == [3]  # the newcomer gets the next id


def test_pixels_of_objects_gone_from_metadata_are_unlabelled(sim, fake):
    assert (sim.reset().semantic[0:3, 2:5] == 2).all()
    fake.objects = [o for o in fake.objects if o["objectId"] != fk.TV_ID]  # e.g. removed by an action
    obs = sim.step(Action.TURN_LEFT).observation
    assert (obs.semantic[0:3, 2:5] == -1).all() and 2 not in obs.labels
    assert (obs.semantic[3:6, 5:8] == 1).all()


def test_frame_size_mismatch_is_a_config_error():
    sim = ThorSimulator(ThorConfig(width=16, height=6), controller=fk.FakeController())
    with pytest.raises(ConfigError, match="8x6"):
        sim.reset()


@pytest.mark.parametrize("thor_type,ours", [
    ("Television", "tv"), ("HousePlant", "potted plant"), ("Sofa", "sofa"), ("ArmChair", "chair"), ("Chair", "chair"),
    ("Bed", "bed"), ("Toilet", "toilet"), ("Fridge", "refrigerator"), ("SinkBasin", "sink"),
    ("BathtubBasin", "bathtub"),
    ("DeskLamp", "lamp"), ("FloorLamp", "lamp"), ("ShelvingUnit", "bookshelf"), ("DiningTable", "table"),
    ("Desk", "table"), ("CoffeeMachine", "coffee machine"), ("TVStand", "tv stand"), ("Shelf", "shelf"),
    ("StoveBurner", "stove burner"), ("Apple", "apple"), ("Microwave", "microwave"),
])
def test_thor_category(thor_type, ours):
    assert thor_category(thor_type) == ours


def test_mapped_categories_exist_in_builtin_vocabulary():
    from sims.raycast.categories import CATEGORIES

    assert set(THOR_CATEGORY_MAP.values()) <= set(CATEGORIES)


# --- episodes -----------------------------------------------------------------------------------------


def test_objectnav_reset_teleports_to_converted_start(fake):
    sim = ThorSimulator(small_config(), controller=fake)
    ep = ObjectNavEpisode(episode_id="e1", scene_id="FloorPlan5", start_position_m=(3.5, 0.75, 0.0),
                          start_yaw_rad=math.pi / 2, goal_category="chair")
    obs = sim.reset(ep, seed=7)
    assert [c[0] for c in fake.calls] == ["reset", "TeleportFull"]
    assert fake.calls[0][1] == {"scene": "FloorPlan5"}
    tp = fake.calls[1][1]
    assert tp["position"] == pytest.approx({"x": -0.75, "y": CENTRE, "z": 3.5})
    assert tp["rotation"] == pytest.approx({"x": 0.0, "y": 270.0, "z": 0.0})
    assert tp["horizon"] == 0.0 and tp["standing"] is True
    assert obs.goal == "chair" and obs.step == 0
    assert obs.agent_pose.position_m == pytest.approx((3.5, 0.75, 0.0))  # round trip through THOR's frame
    assert obs.agent_pose.yaw_rad == pytest.approx(math.pi / 2)


def test_teleport_without_standing_for_other_agents(fake):
    sim = ThorSimulator(small_config(agent_mode="locobot"), controller=fake)
    ep = ObjectNavEpisode(episode_id="e", scene_id="FloorPlan_Train1_1", start_position_m=(0, 0, 0),
                          start_yaw_rad=0.0, goal_category="tv")
    sim.reset(ep)
    assert "standing" not in fake.calls[1][1]


def test_failed_teleport_is_a_config_error(fake):
    fake.fail["TeleportFull"] = "Collided with Chair|1|2|3"
    sim = ThorSimulator(small_config(), controller=fake)
    ep = ObjectNavEpisode(episode_id="bad", scene_id="FloorPlan2", start_position_m=(9, 9, 0),
                          start_yaw_rad=0.0, goal_category="tv")
    with pytest.raises(ConfigError, match="bad.*Collided with Chair"):
        sim.reset(ep)


def test_reset_rejects_other_episode_types(sim):
    with pytest.raises(ConfigError):
        sim.reset("FloorPlan3")


# --- geodesic -----------------------------------------------------------------------------------------


def test_geodesic_sums_horizontal_corners(sim, fake):
    fake.path_corners = [{"x": 0.0, "y": 0.0, "z": 0.0}, {"x": 3.0, "y": 0.0, "z": 0.0}, {"x": 3.0, "y": 0.0, "z": 4.0}]
    assert sim.geodesic_distance(np.array([2.0, -1.0, 0.0]), np.array([5.0, 0.5, 0.0])) == pytest.approx(7.0)
    name, kw = fake.calls[-1]
    assert name == "GetShortestPathToPoint"
    assert kw["position"] == pytest.approx({"x": 1.0, "y": CENTRE, "z": 2.0})
    assert kw["target"] == pytest.approx({"x": -0.5, "y": CENTRE, "z": 5.0})
    fake.path_corners = [{"x": 0.0, "y": 0.0, "z": 0.0}, {"x": 3.0, "y": 0.4, "z": 0.0}, {"x": 3.0, "y": 0.0, "z": 4.0}]
    assert sim.geodesic_distance(np.zeros(3), np.ones(3)) == pytest.approx(7.0)  # vertical steps do not count


def test_geodesic_inf_without_path(sim, fake):
    fake.path_corners = None
    assert sim.geodesic_distance(np.zeros(3), np.array([10.0, 0.0, 0.0])) == math.inf
    fake.path_corners = []
    assert sim.geodesic_distance(np.zeros(3), np.array([10.0, 0.0, 0.0])) == math.inf


def test_geodesic_does_not_change_observations(sim, fake):
    before = sim.step(Action.TURN_LEFT).observation
    fake.path_corners = [{"x": 0.0, "y": 0.0, "z": 0.0}]
    assert sim.geodesic_distance(np.zeros(3), np.zeros(3)) == 0.0
    after = sim.step(Action.STOP).observation
    np.testing.assert_array_equal(after.T_world_cam, before.T_world_cam)


# --- ObjectNav scoring: the lattice of reachable positions --------------------------------------------

# An L of reachable positions (Unity x, z): the arm z = 0 from x = 0 to 1, the arm x = 1 from z = 0 to 1,
# 0.25 m apart, plus one position (0.5, 0.5) with no neighbour one grid step away.
L_SHAPE = fk.lattice([0.0, 0.25, 0.5, 0.75, 1.0], [0.0]) + fk.lattice([1.0], [0.25, 0.5, 0.75, 1.0])
ISLAND = fk.lattice([0.5], [0.5])
TV_AT_L_END = {"objectId": fk.TV_ID, "objectType": "Television", "position": {"x": 1.3, "y": 1.2, "z": 1.0}}


def at_unity(x: float, z: float, goal: str = "tv") -> ObjectNavEpisode:
    """An episode starting on the floor under Unity (x, z): ours is (z, -x, 0)."""
    return ObjectNavEpisode(episode_id=f"at-{x}-{z}", scene_id="FloorPlan_Train1_1", start_position_m=(z, -x, 0.0),
                            start_yaw_rad=0.0, goal_category=goal)


@pytest.fixture
def l_sim(fake) -> ThorSimulator:
    fake.reachable = L_SHAPE + ISLAND
    fake.objects = [dict(TV_AT_L_END)]
    s = ThorSimulator(small_config(), controller=fake)
    s.reset(at_unity(0.0, 0.0))
    return s


def test_reachable_graph_is_the_4_neighbour_lattice():
    g = ReachableGraph(L_SHAPE + ISLAND, 0.25)
    assert len(g) == 10
    assert len(g.edges) == 8  # 4 along z = 0, 4 along x = 1; the island has none
    pts = g.points[:, [0, 2]]
    assert all(math.isclose(float(np.linalg.norm(pts[i] - pts[j])), 0.25) for i, j in g.edges)
    square = ReachableGraph(fk.lattice([0.0, 0.25], [0.0, 0.25]), 0.25)
    far_corner = square.nearest((0.25, 0.25))[0]
    assert len(square.edges) == 4  # no diagonals (allenact's MoveAhead edges)
    assert square.distance((0.0, 0.0), [far_corner]) == pytest.approx(0.5)  # not 0.354


def test_reachable_graph_tolerates_float_noise_and_order():
    noisy = [{"x": 0.0, "y": 0.9, "z": 0.0}, {"x": 0.2500001, "y": 0.9, "z": 3e-7},
             {"x": 0.4999998, "y": 0.9, "z": -1e-7}]
    g = ReachableGraph(noisy[::-1], 0.25)
    np.testing.assert_allclose(g.points[:, 0], [0.0, 0.2500001, 0.4999998])  # sorted by (x, z)
    assert len(g.edges) == 2
    assert g.distance((0.0, 0.0), [2]) == pytest.approx(0.5, abs=1e-6)


def test_reachable_graph_rejects_bad_input():
    with pytest.raises(ObservationError):
        ReachableGraph([], 0.25)
    with pytest.raises(ObservationError):
        ReachableGraph([{"x": 0.0, "z": 1.0}], 0.25)
    with pytest.raises(ConfigError):
        ReachableGraph(L_SHAPE, 0.0)


def test_distance_to_goal_on_the_l(l_sim, fake):
    # TV at Unity (1.3, 1.0): its nearest reachable position is the end of the L, (1.0, 1.0), 0.3 m away.
    # From (0, 0): 4 steps along z = 0 and 4 up x = 1 = 2.0 m (the straight line would be 1.41 m).
    assert l_sim.distance_to_goal("tv") == pytest.approx(2.0)
    assert l_sim.distance_to_goal("Television") == pytest.approx(2.0)  # THOR's objectType works too
    # our-frame floor points (X, Y) = (z, -x): the goal node itself, and a point snapped to (0, 0)
    assert l_sim.distance_to_goal("tv", np.array([1.0, -1.0, 0.0])) == pytest.approx(0.0)
    assert l_sim.distance_to_goal("tv", (0.05, -0.1)) == pytest.approx(2.0 + math.hypot(0.1, 0.05))
    assert l_sim.distance_to_goal("tv", (0.9, -1.0)) == pytest.approx(0.1)  # Unity (1.0, 0.9): 0.1 off the goal node
    assert [c[0] for c in fake.calls].count("GetReachablePositions") == 1  # asked once per scene load


def test_distance_to_goal_snaps_off_lattice_points(l_sim):
    # Unity (0.6, 0.1): nearest reachable (0.5, 0.0), 0.1414 m; then 0.5 along z = 0 and 1.0 up x = 1
    assert l_sim.distance_to_goal("tv", (0.1, -0.6)) == pytest.approx(1.5 + math.hypot(0.1, 0.1))


def test_distance_to_goal_takes_the_nearest_instance(l_sim, fake):
    # a second TV near (0.5, 0.0): 0.5 m from the start, against 2.0 m to the first
    fake.objects = [dict(TV_AT_L_END), {"objectId": "Television|2", "objectType": "Television",
                                        "position": {"x": 0.5, "y": 1.0, "z": -0.3}}]
    l_sim.reset(at_unity(0.0, 0.0))
    assert l_sim.distance_to_goal("tv") == pytest.approx(0.5)
    assert l_sim.distance_to_goal("tv", (1.0, -1.0)) == pytest.approx(0.0)
    assert l_sim.distance_to_goal("tv", (0.5, -1.0)) == pytest.approx(0.5)  # Unity (1.0, 0.5): 0.5 to either


def test_distance_to_goal_inf_when_the_goal_node_is_cut_off(l_sim, fake):
    # the fridge's nearest reachable position is the island (0.5, 0.5), 0.11 m away: no path to it
    fake.objects = [dict(TV_AT_L_END), {"objectId": fk.FRIDGE_ID, "objectType": "Fridge",
                                        "position": {"x": 0.45, "y": 0.0, "z": 0.6}}]
    l_sim.reset(at_unity(0.0, 0.0))
    assert l_sim.distance_to_goal("refrigerator") == math.inf
    assert l_sim.distance_to_goal("refrigerator", (0.5, -0.5)) == pytest.approx(0.0)  # on the island itself


def test_distance_to_goal_asks_again_after_a_scene_load(l_sim, fake):
    l_sim.distance_to_goal("tv")
    l_sim.distance_to_goal("tv")
    l_sim.step(Action.MOVE_FORWARD)  # rotation 0: Unity +z, off the L (the agent stands at (0, 0.25))
    assert l_sim.distance_to_goal("tv") == pytest.approx(2.25)  # snapped back to (0, 0): 0.25 + 2.0
    assert [c[0] for c in fake.calls].count("GetReachablePositions") == 1
    l_sim.reset(at_unity(1.0, 0.5))
    assert l_sim.distance_to_goal("tv") == pytest.approx(0.5)
    assert [c[0] for c in fake.calls].count("GetReachablePositions") == 2


def test_distance_to_goal_errors(l_sim, fake):
    with pytest.raises(ConfigError, match="no 'bed'.*tv"):
        l_sim.distance_to_goal("bed")
    with pytest.raises(ConfigError, match="position_m"):
        l_sim.distance_to_goal("tv", (math.nan, 0.0))
    fake.fail["GetReachablePositions"] = "agent is not standing"
    l_sim.reset(at_unity(0.0, 0.0))
    with pytest.raises(ObservationError, match="not standing"):
        l_sim.distance_to_goal("tv")
    del fake.fail["GetReachablePositions"]
    fake.reachable = []
    with pytest.raises(ObservationError, match="no positions"):
        l_sim.distance_to_goal("tv")
    with pytest.raises(RuntimeError, match="reset"):
        ThorSimulator(small_config(), controller=fk.FakeController()).distance_to_goal("tv")


def test_reachable_positions_are_floor_points_of_our_frame(l_sim):
    pts = l_sim.reachable_positions_m()
    assert pts.shape == (10, 3)
    np.testing.assert_allclose(pts[0], [0.0, 0.0, 0.0], atol=1e-9)  # Unity (0, 0.9009995, 0)
    assert {tuple(np.round(p, 6)) for p in pts} >= {(1.0, -1.0, 0.0), (0.5, -0.5, 0.0), (0.0, -1.0, 0.0)}


# --- ObjectNav scoring: RoboTHOR's success rule -----------------------------------------------------------


@pytest.fixture
def cow_sim() -> tuple[ThorSimulator, fk.FakeController]:
    fake = fk.FakeController(visibility_distance=1.0)  # THOR started with CoW's visibilityDistance
    sim = ThorSimulator(small_config(visibility_distance_m=1.0), controller=fake)
    sim.reset()
    return sim, fake


def test_goal_success_when_visible_within_visibility_distance(cow_sim):
    sim, fake = cow_sim
    # agent at Unity (1, 2), TV at (1, 3): 1.0 m from the agent's axis, in view -> THOR reports it visible
    assert fake.last_event.metadata["objects"][0]["visible"] is True
    assert sim.goal_success("tv") and sim.goal_success("Television")
    assert not sim.goal_success("refrigerator")  # out of view
    assert not sim.goal_success("potted plant")  # in view, but 1.80 m away


def test_goal_success_false_when_too_far_or_not_visible(cow_sim):
    sim, fake = cow_sim
    fake.objects[0]["position"]["z"] = 3.25  # 1.25 m: beyond visibilityDistance 1.0
    sim.step(Action.TURN_LEFT)
    assert not sim.goal_success("tv")
    fake.objects[0]["position"]["z"] = 3.0
    sim.step(Action.TURN_RIGHT)
    assert sim.goal_success("tv")
    fake.in_view.discard(fk.TV_ID)  # e.g. behind the agent, or hidden by a wall
    sim.step(Action.TURN_RIGHT)
    assert not sim.goal_success("tv")


def test_goal_success_optional_centre_distance(cow_sim):
    sim, _ = cow_sim
    # THOR's "distance": camera (1, 0.9009995 + 0.675, 2) to the TV's centre (1, 1.2, 3) = 1.0684 m
    tv = next(o for o in sim.controller.last_event.metadata["objects"] if o["objectId"] == fk.TV_ID)
    assert tv["distance"] == pytest.approx(math.hypot(1.0, CENTRE + fk.CAMERA_ABOVE_CENTRE_M - 1.2))
    assert sim.goal_success("tv")  # CoW: visible is enough
    assert not sim.goal_success("tv", max_distance_m=1.0)
    assert sim.goal_success("tv", max_distance_m=1.1)


def test_goal_success_before_reset_raises():
    with pytest.raises(RuntimeError, match="reset"):
        ThorSimulator(small_config(), controller=fk.FakeController()).goal_success("tv")


def test_run_episode_scores_by_visibility_and_lattice_distance():
    from embodied.evaluation import run_episode

    class Scripted:
        def __init__(self, actions):
            self.actions = list(actions)

        def reset(self, goal):
            pass

        def act(self, observation):
            return self.actions.pop(0)

    fake = fk.FakeController(visibility_distance=1.0)
    sim = ThorSimulator(small_config(visibility_distance_m=1.0), controller=fake)
    ep = ObjectNavEpisode(episode_id="tv", scene_id="FloorPlan_Train1_1", start_position_m=(2.0, -1.0, 0.0),
                          start_yaw_rad=0.0, goal_category="tv")  # Unity (1, 2), facing the TV at (1, 3)
    row = run_episode(sim, Scripted([Action.MOVE_FORWARD, Action.STOP]), ep)
    assert row["status"] == "ok" and row["success"] == 1.0
    assert row["shortest_path_m"] == pytest.approx(1.0)  # lattice (1, 2) -> (1, 3)
    assert row["distance_to_goal_m"] == pytest.approx(0.75)
    fake.in_view.clear()
    assert run_episode(sim, Scripted([Action.STOP]), ep)["success"] == 0.0


# --- presets ------------------------------------------------------------------------------------------


def test_robothor_cow_preset():
    c = ThorConfig.preset("robothor-cow")
    assert (c.agent_mode, c.visibility_distance_m, c.width, c.height, c.max_steps) == ("locobot", 1.0, 672, 672, 250)
    assert (c.hfov_deg, c.forward_m, c.turn_deg, c.tilt_deg, c.snap_to_grid) == (90.0, 0.25, 30.0, 30.0, False)
    kw = c.controller_kwargs()
    assert kw["fieldOfView"] == pytest.approx(90.0)  # CoW's fieldOfView: 90 (square images: vertical = horizontal)
    assert (kw["gridSize"], kw["rotateStepDegrees"], kw["visibilityDistance"], kw["agentMode"]) == (
        0.25, 30.0, 1.0, "locobot")
    assert ThorConfig.preset("robothor-cow", max_steps=500, scene="FloorPlan_Val2_1").max_steps == 500
    assert set(THOR_PRESETS) == {"robothor-cow"}
    assert ThorConfig().visibility_distance_m == 1.5  # defaults untouched
    with pytest.raises(ConfigError, match="robothor-cow"):
        ThorConfig.preset("robothor")
    with pytest.raises(ConfigError, match="fov"):
        ThorConfig.preset("robothor-cow", fov=90)
    with pytest.raises(ConfigError):
        ThorConfig.preset("robothor-cow", width=0)


# --- RoboTHOR episode files ---------------------------------------------------------------------------

ROBOTHOR_EPISODES = [
    {  # as in allenai/robothor-challenge dataset/debug/episodes/FloorPlan_Train1_1.json.gz
        "id": "FloorPlan_Train1_1_AlarmClock_0", "initial_horizon": 30, "initial_orientation": 150,
        "initial_position": {"x": 3.75, "y": 0.9009997248649597, "z": -2.25}, "object_type": "AlarmClock",
        "scene": "FloorPlan_Train1_1",
        "shortest_path": [{"x": 3.75, "y": 0.0045, "z": -2.25}, {"x": 9.25, "y": 0.0045, "z": -2.75}],
        "shortest_path_length": 5.573443102847643,
    },
    {  # the README's example: older fields
        "difficulty": "easy", "id": 0, "initial_orientation": 180,
        "initial_position": {"x": 3.0, "y": 0.910344243, "z": -1.75}, "object_id": "Apple|+01.98|+00.77|-01.75",
        "object_type": "Apple", "scene": "FloorPlan_Train1_1", "shortest_path_length": 0.25,
        "target_position": {"x": 1.979, "y": 0.7714, "z": -1.753},
    },
    {  # test split: no shortest path
        "id": "FloorPlan_test-challenge1_1_Television_2", "initial_horizon": 30, "initial_orientation": 330,
        "initial_position": {"x": 7.25, "y": 0.9009996652603149, "z": -4.5}, "object_type": "Television",
        "scene": "FloorPlan_test-challenge1_1",
    },
]


def write_gz(path: Path, data) -> Path:
    with gzip.open(path, "wt", encoding="utf-8") as f:
        json.dump(data, f)
    return path


def test_read_robothor_episodes(tmp_path):
    eps = read_robothor_episodes(write_gz(tmp_path / "val.json.gz", ROBOTHOR_EPISODES), split="val")
    assert [e.episode_id for e in eps] == [str(ep["id"]) for ep in ROBOTHOR_EPISODES]
    a, b, c = eps
    assert a.scene_id == "FloorPlan_Train1_1" and a.split == "val"
    # Unity (3.75, y, -2.25) -> ours (z, -x, y - 0.9009995)
    assert a.start_position_m == pytest.approx((-2.25, -3.75, 0.9009997248649597 - CENTRE))
    assert a.start_yaw_rad == pytest.approx(math.radians(-150.0))  # rotation.y 150 (clockwise) -> yaw -150 deg
    assert a.goal_category == "alarm clock" and a.geodesic_distance_m == pytest.approx(5.573443102847643)
    assert a.extras["thor_object_type"] == "AlarmClock" and a.extras["thor_initial_horizon"] == 30
    assert a.extras["thor_shortest_path"] == ROBOTHOR_EPISODES[0]["shortest_path"]
    assert b.start_yaw_rad == pytest.approx(math.pi) and b.goal_category == "apple"
    assert b.extras["thor_object_id"] == "Apple|+01.98|+00.77|-01.75" and b.extras["thor_difficulty"] == "easy"
    assert b.extras["goal_position_m"] == pytest.approx([-1.753, -1.979, 0.7714])
    assert c.goal_category == "tv" and c.geodesic_distance_m is None
    assert c.start_yaw_rad == pytest.approx(math.radians(30.0))
    assert ObjectNavEpisode.from_dict(json.loads(json.dumps(a.to_dict()))) == a  # JSON-serialisable


def test_robothor_start_round_trips_through_teleport(tmp_path, fake):
    ep = read_robothor_episodes(write_gz(tmp_path / "e.json.gz", ROBOTHOR_EPISODES[:1]))[0]
    obs = ThorSimulator(small_config(), controller=fake).reset(ep)
    name, kw = fake.calls[-1]
    assert name == "TeleportFull" and kw["horizon"] == 0.0  # CoW starts at horizon 0
    assert kw["position"] == pytest.approx(ROBOTHOR_EPISODES[0]["initial_position"])
    assert kw["rotation"]["y"] == pytest.approx(150.0)
    assert obs.agent_pose.position_m == pytest.approx(ep.start_position_m)


def test_read_robothor_episode_folder(tmp_path):
    folder = tmp_path / "val" / "episodes"
    folder.mkdir(parents=True)
    write_gz(folder / "FloorPlan_Val2_1.json.gz", ROBOTHOR_EPISODES[2:])
    write_gz(folder / "FloorPlan_Val1_1.json.gz", ROBOTHOR_EPISODES[:2])
    ids = [e.episode_id for e in read_robothor_episodes(tmp_path / "val")]
    assert ids == [str(ep["id"]) for ep in ROBOTHOR_EPISODES]  # files in sorted order: Val1_1 before Val2_1
    assert len(read_robothor_episodes(folder)) == 3
    (folder / "plain.json").write_text(json.dumps([]))
    assert len(read_robothor_episodes(folder)) == 3


def _bad(**changes):
    ep = {**ROBOTHOR_EPISODES[0], **changes}
    return [ROBOTHOR_EPISODES[2], {k: v for k, v in ep.items() if v is not None}]


@pytest.mark.parametrize("episodes,match", [
    (_bad(object_type=None), r"episode #1 \(id FloorPlan_Train1_1_AlarmClock_0\).*object_type"),
    (_bad(initial_position={"x": 1.0, "z": 2.0}), r"#1 .*'initial_position.y' is missing"),
    (_bad(initial_orientation="north"), r"#1 .*initial_orientation"),
    (_bad(shortest_path_length=-1.0), r"#1 .*shortest_path_length"),
    (_bad(scene=""), r"#1 .*scene"),
    ([ROBOTHOR_EPISODES[0], ROBOTHOR_EPISODES[0]], r"#1 .*repeats an id"),
    ([3], r"episode #0 \(id \?\)"),
    ({"episodes": ROBOTHOR_EPISODES}, "JSON list"),
])
def test_read_robothor_episodes_errors(tmp_path, episodes, match):
    path = write_gz(tmp_path / "bad.json.gz", episodes)
    with pytest.raises(EpisodeFileError, match=match) as info:
        read_robothor_episodes(path)
    assert str(path) in str(info.value)


def test_read_robothor_episodes_file_errors(tmp_path):
    with pytest.raises(EpisodeFileError, match="not found"):
        read_robothor_episodes(tmp_path / "missing.json.gz")
    garbage = tmp_path / "garbage.json.gz"
    garbage.write_bytes(b"not gzip at all")
    with pytest.raises(EpisodeFileError, match="garbage.json.gz"):
        read_robothor_episodes(garbage)
    (tmp_path / "empty").mkdir()
    with pytest.raises(EpisodeFileError, match="no RoboTHOR episode files"):
        read_robothor_episodes(tmp_path / "empty")


# --- sampling episodes --------------------------------------------------------------------------------


SCENES = ["FloorPlan_Train1_1", "FloorPlan_Train1_2"]


def test_sample_thor_episodes_is_deterministic_and_valid():
    def sample(seed):
        sim = ThorSimulator(small_config(), controller=fk.FakeController())
        return sim, sample_thor_episodes(sim, SCENES, 5, seed=seed)

    sim, eps = sample(3)
    assert [e.to_dict() for e in eps] == [e.to_dict() for e in sample(3)[1]]
    assert [e.to_dict() for e in eps] != [e.to_dict() for e in sample(4)[1]]
    assert [e.episode_id for e in eps] == [f"{SCENES[0]}-{k}" for k in range(3)] + [f"{SCENES[1]}-{k}"
                                                                                    for k in range(2)]
    reachable = {(p["z"], -p["x"]) for p in fk.DEFAULT_REACHABLE}
    assert {"tv", "potted plant"} <= set(ROBOTHOR_GOALS)  # the fake scene's objects among RoboTHOR's targets
    for e in eps:
        assert e.goal_category in {"tv", "potted plant"}
        assert (round(e.start_position_m[0], 6), round(e.start_position_m[1], 6)) in reachable
        assert e.start_position_m[2] == pytest.approx(0.0)
        assert e.extras["thor_initial_orientation"] % 30.0 == 0.0
        assert world_yaw_to_unity(e.start_yaw_rad) == pytest.approx(e.extras["thor_initial_orientation"])
        sim.reset(e)
        assert e.geodesic_distance_m > 1.0
        assert sim.distance_to_goal(e.goal_category) == pytest.approx(e.geodesic_distance_m)


def test_sample_thor_episodes_from_a_controller_and_goal_choice():
    eps = sample_thor_episodes(fk.FakeController(), "FloorPlan_Train1_1", 4, seed=0, goals=["refrigerator"],
                               config=small_config())
    assert len(eps) == 4 and {e.goal_category for e in eps} == {"refrigerator"}
    assert all(e.geodesic_distance_m > 1.0 for e in eps)


def test_sample_thor_episodes_errors():
    with pytest.raises(ConfigError, match="none of the goals"):
        sample_thor_episodes(fk.FakeController(), SCENES, 2, seed=0, goals=["bed"], config=small_config())
    cramped = fk.FakeController()
    cramped.reachable = fk.lattice([1.0], [2.75, 3.0])  # the TV's foot and one step away: never > 1 m
    with pytest.raises(ConfigError, match="no start"):
        sample_thor_episodes(cramped, SCENES, 1, seed=0, goals=["tv"], config=small_config(), max_tries=5)
    with pytest.raises(ConfigError):
        sample_thor_episodes(fk.FakeController(), SCENES, -1, seed=0)
    assert sample_thor_episodes(fk.FakeController(), SCENES, 0, seed=0) == []


def test_generate_thor_episodes_samples_the_splits_robothor_scenes():
    """What `embodied nav --sim thor` runs without an episode file: RoboTHOR's split scenes (CoW's
    constants: 60 train, 15 val, 10 test-challenge), sampled from the reachable positions."""
    assert [len(ROBOTHOR_SCENES[s]) for s in ("train", "val", "test")] == [60, 15, 10]
    eps = generate_thor_episodes("val", 3, seed=1, sim_config=small_config(), controller=fk.FakeController())
    again = generate_thor_episodes("val", 3, seed=1, sim_config=small_config(), controller=fk.FakeController())
    assert [e.to_dict() for e in eps] == [e.to_dict() for e in again]
    assert [e.scene_id for e in eps] == ["FloorPlan_Val1_1", "FloorPlan_Val1_2", "FloorPlan_Val1_3"]
    assert {e.split for e in eps} == {"val"}
    with pytest.raises(ConfigError, match="unknown RoboTHOR split"):
        generate_thor_episodes("dev", 1, controller=fk.FakeController())


# --- missing build, missing package -------------------------------------------------------------------


def _assert_actionable(msg: str, releases: str, build: str) -> None:
    assert "could not be downloaded" in msg
    assert ai2thor.build.COMMIT_ID in msg and build in msg
    assert releases in msg and "~/.ai2thor/releases" in msg
    assert "local_executable_path" in msg
    assert "CloudRendering" in msg and "X server" in msg


def test_missing_build_becomes_actionable_error(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))

    def offline_controller(**kwargs):
        raise ValueError(OFFLINE_ERROR)

    monkeypatch.setattr(ai2thor.controller, "Controller", offline_controller)
    with pytest.raises(ThorBuildUnavailableError) as info:
        ThorSimulator(ThorConfig())
    err = info.value
    assert isinstance(err, EmbodiedError) and isinstance(err, RuntimeError)
    assert isinstance(err.__cause__, ValueError)
    _assert_actionable(str(err), str(tmp_path / ".ai2thor" / "releases"), f"thor-Linux64-{ai2thor.build.COMMIT_ID}")
    assert "DNS" in str(err)


@pytest.mark.parametrize("platform", [None, "CloudRendering"])
def test_real_controller_offline_raises_build_unavailable(monkeypatch, tmp_path, platform):
    """The real ai2thor Controller, with its one network call (HEAD on the build zip) failing like DNS does."""
    monkeypatch.setenv("HOME", str(tmp_path))  # empty ~/.ai2thor/releases

    def no_dns(*args, **kwargs):
        raise requests.exceptions.ConnectionError("Failed to resolve 's3-us-west-2.amazonaws.com'")

    monkeypatch.setattr(ai2thor.build.requests, "head", no_dns)
    with pytest.raises(ThorBuildUnavailableError) as info:
        ThorSimulator(ThorConfig(platform=platform))
    cause = info.value.__cause__
    assert type(cause) is ValueError and "no build exists" in str(cause)
    name = platform or "Linux64"
    releases = str(tmp_path / ".ai2thor" / "releases")
    _assert_actionable(str(info.value), releases, f"thor-{name}-{ai2thor.build.COMMIT_ID}")


def test_other_controller_errors_pass_through(monkeypatch):
    def broken(**kwargs):
        raise ValueError("Quality Ultra2 is invalid, please select from one of the following settings: ...")

    monkeypatch.setattr(ai2thor.controller, "Controller", broken)
    with pytest.raises(ValueError, match="Quality") as info:
        ThorSimulator(ThorConfig())
    assert not isinstance(info.value, ThorBuildUnavailableError)


def test_missing_ai2thor_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "ai2thor", None)
    with pytest.raises(MissingDependencyError, match=r"embodied-zeroshot\[thor\]"):
        ThorSimulator(ThorConfig())
    # an injected controller needs no ai2thor import at all
    ThorSimulator(small_config(), controller=fk.FakeController()).reset()


def test_importing_the_adapter_does_not_import_ai2thor():
    code = "import sys, sims.thor; assert 'ai2thor' not in sys.modules, 'ai2thor imported eagerly'"
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr


# --- the real thing -----------------------------------------------------------------------------------


@pytest.mark.network
def test_real_thor_end_to_end():
    """Downloads (or reuses) the Unity build and runs a few steps. Needs an X server or CloudRendering (GPU)."""
    platform = None if os.environ.get("DISPLAY") else "CloudRendering"
    with ThorSimulator(ThorConfig(platform=platform, width=160, height=120)) as sim:
        obs = sim.reset()
        assert obs.semantic is not None and obs.depth is not None and (obs.depth > 0).any()
        assert obs.agent_pose.position_m[2] == pytest.approx(0.0, abs=0.05)  # FloorPlan1's floor is at y = 0
        res = sim.step(Action.TURN_RIGHT)
        assert res.info["success"]
        dyaw = math.remainder(res.observation.agent_pose.yaw_rad - obs.agent_pose.yaw_rad, 2 * math.pi)
        assert dyaw == pytest.approx(-math.radians(30.0), abs=1e-3)
        here = np.array(obs.agent_pose.position_m)
        assert sim.geodesic_distance(here, here) == pytest.approx(0.0, abs=0.05)
