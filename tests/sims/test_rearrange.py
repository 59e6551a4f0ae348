"""The built-in rearrangement task: episodes, phases, pick-up / put-down rules and RoomR scoring."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from embodied.errors import ConfigError
from embodied.tasks import RearrangeEpisode, read_episodes, write_episodes
from embodied.types import Action, ActionAt
from sims.raycast.rearrange import RearrangeConfig, RearrangeSimulator, generate_rearrange_episodes


@pytest.fixture(scope="module")
def episode() -> RearrangeEpisode:
    return generate_rearrange_episodes("val", 1, n_moved=3)[0]


@pytest.fixture()
def sim(episode):
    s = RearrangeSimulator()
    s.reset(episode)
    yield s
    s.close()


def _approach(sim: RearrangeSimulator, xy: np.ndarray, dist_m: float = 0.8):
    """Teleport to the navigable cell nearest ``dist_m`` from ``xy``, facing it, camera 30 deg down."""
    cells = np.argwhere(sim.nav.largest_component())
    pts = np.stack([sim.nav.cell_center(int(r), int(c)) for r, c in cells])
    k = int(np.argmin(np.abs(np.linalg.norm(pts - xy, axis=1) - dist_m)))
    return sim.teleport(pts[k], math.atan2(*(xy - pts[k])[::-1]), math.radians(-30))


def _aim(obs, instance: int) -> ActionAt:
    ys, xs = np.nonzero(obs.semantic == instance)
    assert len(ys), "the object is not in view"
    k = np.argmin((ys - ys.mean()) ** 2 + (xs - xs.mean()) ** 2)  # a pixel of the object near its middle
    return ActionAt(Action.PICK_UP, (xs[k] + 0.5) / obs.intrinsics.width, (ys[k] + 0.5) / obs.intrinsics.height)


def test_same_seed_same_episodes_and_jsonl_round_trip(tmp_path):
    a = generate_rearrange_episodes("val", 3, n_moved=(1, 5), seed=4)
    b = generate_rearrange_episodes("val", 3, n_moved=(1, 5), seed=4)
    assert [e.to_dict() for e in a] == [e.to_dict() for e in b]
    assert [e.to_dict() for e in generate_rearrange_episodes("val", 3, n_moved=(1, 5), seed=5)] != [e.to_dict() for e in a]
    write_episodes(tmp_path / "r.jsonl", a)
    back, problems = read_episodes(tmp_path / "r.jsonl", episode_type=RearrangeEpisode)
    assert problems == [] and back == a
    assert all(1 <= len(e.moves) <= 5 for e in a)


def test_shuffle_misplaces_exactly_the_moved_objects(sim, episode):
    assert sim.phase == "walkthrough"
    obs = sim.begin_unshuffle()
    assert obs.goal == "unshuffle" and sim.phase == "unshuffle"
    m = sim.metrics()
    assert m.num_initially_misplaced == 3 and m.num_misplaced == 3 and m.prop_fixed == 0.0
    assert m.prop_misplaced == 1.0 and m.energy_prop == 1.0 and m.success == 0.0
    moved = {mv.object_id for mv in episode.moves}
    for g, c in zip(sim.goal_poses(), sim.object_poses()):
        gap = np.linalg.norm(np.subtract(g.center_m, c.center_m))
        assert (gap >= 0.3) if g.object_id in moved else (gap < 1e-6)
    # the unshuffle start is the shuffle: same start pose as the walkthrough
    assert np.allclose(obs.agent_pose.position_m[:2], episode.start_position_m[:2])


def test_no_interaction_in_the_walkthrough(sim):
    r = sim.step(Action.PICK_UP)
    assert r.info["success"] is False and "unshuffle phase" in r.info["error"] and sim.held is None


def test_pick_up_rules_and_the_held_object_moves_with_the_agent(sim, episode):
    sim.begin_unshuffle()
    target = int(episode.moves[0].object_id)
    for dist in (2.0, 2.2, 2.4, 2.6, 2.8, 3.0):  # seen from 2 m or more: out of reach
        far = _approach(sim, sim.object_outline(str(target)).mean(0), dist_m=dist)
        if (far.semantic == target).sum() >= 3:
            break
    r = sim.step(_aim(far, target))
    assert not r.info["success"] and "reach" in r.info["error"] and sim.held is None
    obs = _approach(sim, sim.object_outline(str(target)).mean(0))
    floor = np.argwhere(obs.semantic == -1)[-1]  # bottom row: floor
    r = sim.step(ActionAt(Action.PICK_UP, (floor[1] + 0.5) / 224, (floor[0] + 0.5) / 224))
    assert not r.info["success"] and "no pickupable object" in r.info["error"]
    r = sim.step(_aim(obs, target))
    assert r.info["success"] and sim.held == target and r.info["held"] == str(target)
    assert not (r.observation.semantic == target).any()  # carried out of view
    before = next(p for p in sim.object_poses() if p.object_id == str(target)).center_m
    yaw = sim.agent_yaw_rad
    res = sim.step(Action.MOVE_FORWARD)
    after = next(p for p in sim.object_poses() if p.object_id == str(target)).center_m
    if not res.collided:
        assert np.allclose(np.subtract(after, before)[:2], 0.25 * np.array([math.cos(yaw), math.sin(yaw)]), atol=1e-6)
    assert not sim.step(_aim(obs, target)).info["success"]  # the hand is full


def test_snap_put_down_fixes_every_object(sim, episode):
    sim.begin_unshuffle()
    for mv in episode.moves:
        obs = _approach(sim, sim.object_outline(mv.object_id).mean(0))
        assert sim.step(_aim(obs, int(mv.object_id))).info["success"]
        sim.teleport(*_far_pose(sim, sim.object_outline(mv.object_id, "goal").mean(0)))
        r = sim.step(Action.PUT_DOWN)  # far from the goal: no snap, and nothing within reach to put it on
        assert not r.info["success"] and sim.held == int(mv.object_id)
        _approach(sim, sim.object_outline(mv.object_id, "goal").mean(0))
        assert sim.step(Action.PUT_DOWN).info["success"] and sim.held is None
    m = sim.metrics()
    assert (m.success, m.prop_fixed_strict, m.end_energy, m.num_fixed) == (1.0, 1.0, 0.0, 3)
    assert sim.history[-1]["action"] == "put_down" and len(sim.history) >= 6


def _far_pose(sim, xy):
    cells = np.argwhere(sim.nav.largest_component())
    pts = np.stack([sim.nav.cell_center(int(r), int(c)) for r, c in cells])
    k = int(np.argmax(np.linalg.norm(pts - xy, axis=1)))
    return pts[k], math.atan2(*(xy - pts[k])[::-1])


def test_put_down_without_snap_lands_on_the_aimed_table_point(episode):
    sim = RearrangeSimulator(rearrange=RearrangeConfig(snap=False))
    sim.reset(episode)
    sim.begin_unshuffle()
    # an object whose walkthrough spot is on a top below the camera (0.88 m), so the top is in view
    oid = next(m.object_id for m in episode.moves if _goal_base_z(sim, m.object_id) < 0.85)
    obs = _approach(sim, sim.object_outline(oid).mean(0))
    assert sim.step(_aim(obs, int(oid))).info["success"]
    obs = _approach(sim, sim.object_outline(oid, "goal").mean(0))
    # aim at the goal spot's centre, now empty: a point of the table top
    c = np.append(sim.object_outline(oid, "goal").mean(0), 0.0)
    c[2] = _goal_base_z(sim, oid) - 0.001  # the top it stood on
    p = np.linalg.inv(obs.T_world_cam) @ np.append(c, 1.0)
    K = obs.intrinsics
    x, y = (K.fx * p[0] / p[2] + K.cx + 0.5) / K.width, (K.fy * p[1] / p[2] + K.cy + 0.5) / K.height
    floor = np.argwhere(obs.semantic == -1)[-1]
    r = sim.step(ActionAt(Action.PUT_DOWN, (floor[1] + 0.5) / 224, (floor[0] + 0.5) / 224))
    assert not r.info["success"] and "tables and cabinets" in r.info["error"]
    r = sim.step(ActionAt(Action.PUT_DOWN, x, y))
    assert r.info["success"], r.info
    placed = sim.object_outline(oid).mean(0)
    # the box centre lands over the surface point the aimed pixel shows (its depth back-projected)
    col, row = int(x * K.width), int(y * K.height)
    d = float(obs.depth[row, col])
    hit = obs.T_world_cam @ np.array([(col - K.cx) / K.fx * d, (row - K.cy) / K.fy * d, d, 1.0])
    assert np.linalg.norm(placed - hit[:2]) < 1e-3
    assert np.linalg.norm(placed - c[:2]) < 0.1  # and that is near the spot aimed at
    pose = next(q for q in sim.object_poses() if q.object_id == oid)
    goal = next(q for q in sim.goal_poses() if q.object_id == oid)
    start = next(q for q in sim.start_poses() if q.object_id == oid)
    assert abs(pose.center_m[2] - goal.center_m[2]) < 0.002  # on the same top
    assert pose.yaw_rad == pytest.approx(start.yaw_rad)  # placing keeps the heading it was carried with
    sim.close()


def _goal_base_z(sim, oid: str) -> float:
    return next(o.position_m[2] for o in sim._goal_scene.objects if str(o.instance_id) == oid)


def test_budgets_and_bad_input(episode):
    sim = RearrangeSimulator(rearrange=RearrangeConfig(walkthrough_steps=3, unshuffle_steps=2))
    with pytest.raises(ConfigError, match="RearrangeEpisode"):
        sim.reset(None)
    sim.reset(episode)
    results = [sim.step(Action.TURN_LEFT) for _ in range(3)]
    assert [r.done for r in results] == [False, False, True]
    with pytest.raises(ConfigError, match="begin_unshuffle"):
        sim.step(Action.TURN_LEFT)
    sim.begin_unshuffle()
    assert [sim.step(Action.TURN_LEFT).done for _ in range(2)] == [False, True]
    other = RearrangeSimulator(rearrange=RearrangeConfig(house=dataclasses.replace(RearrangeConfig().house, area_m2=40.0)))
    with pytest.raises(ConfigError, match="made for houses"):
        other.reset(episode)
    bad = dataclasses.replace(episode, moves=(dataclasses.replace(episode.moves[0], object_id="0"),))
    with pytest.raises(ConfigError, match="not a pickupable object"):
        sim.reset(bad)
    with pytest.raises(ConfigError, match="at least one object"):
        dataclasses.replace(episode, moves=())


def test_snap_refuses_a_goal_another_object_stands_on(sim, episode):
    from sims.raycast.rearrange import move_object

    sim.begin_unshuffle()
    a, b = episode.moves[0].object_id, episode.moves[1].object_id
    obs = _approach(sim, sim.object_outline(a).mean(0))
    assert sim.step(_aim(obs, int(a))).info["success"]
    goal = sim._goal_object(int(a))  # put b where a belongs (white box: what a wrong put-down would do)
    sim._scene = move_object(sim.scene, sim._object(int(b)), np.asarray(goal.position_m), goal.yaw_rad)
    sim._render_current()
    _approach(sim, sim.object_outline(a, "goal").mean(0))
    r = sim.step(Action.PUT_DOWN)
    assert not r.info["success"] and sim.held == int(a)


def test_a_round_table_offers_its_disc_not_its_square():
    from sims.raycast.objects import make_object
    from sims.raycast.rearrange import support_top
    from sims.raycast.scene import SceneBuilder, SceneObject

    for seed in range(200):
        o = make_object("table", np.random.default_rng(seed))
        v = np.asarray(o.mesh.vertices)
        top = v[v[:, 2] >= v[:, 2].max() - 0.005]
        if len(top) > 10:  # a disc (a 24-gon and its centre), not a rectangle's 4 corners
            break
    else:
        pytest.fail("no round table in 200 seeds")
    b = SceneBuilder()
    b.add(v, np.asarray(o.mesh.faces), np.array([200, 200, 200], np.uint8), instance=0)
    r = float(np.linalg.norm(top[:, :2], axis=1).max())
    obj = SceneObject(0, "table", (0.0, 0.0, 0.0), 0.0, tuple(v.min(0)), tuple(v.max(0)),
                      ((-r, -r), (r, -r), (r, r), (-r, r)), None)
    scene = b.build(scene_id="t", objects=[obj], rooms=[], walls=[], doors=[], wall_height_m=2.5)
    z, outline = support_top(scene, obj)
    assert z == pytest.approx(v[:, 2].max(), abs=1e-6)
    radii = np.linalg.norm(outline, axis=1)
    assert radii.max() <= r - 0.02 + 1e-6  # the square's corners (r * sqrt 2 out) are not offered
    area = 0.5 * abs(np.dot(outline[:, 0], np.roll(outline[:, 1], 1)) - np.dot(outline[:, 1], np.roll(outline[:, 0], 1)))
    assert area == pytest.approx(np.pi * (r - 0.02) ** 2, rel=0.03)


def test_stop_ends_a_phase_moves_must_misplace_and_the_seed_drives_the_noise(episode):
    sim = RearrangeSimulator()
    sim.reset(episode)
    assert sim.step(Action.STOP).done
    with pytest.raises(ConfigError, match="STOP was called"):
        sim.step(Action.TURN_LEFT)
    goal = next(o for o in generate_house_of(episode).objects if str(o.instance_id) == episode.moves[0].object_id)
    stay = dataclasses.replace(episode, moves=(dataclasses.replace(episode.moves[0], position_m=goal.position_m,
                                                                   yaw_rad=goal.yaw_rad),))
    sim.reset(stay)
    with pytest.raises(ConfigError, match="must misplace"):
        sim.begin_unshuffle()
    from sims.raycast import SimConfig

    noisy = RearrangeSimulator(SimConfig(forward_noise_m=0.05))

    def walk(seed):
        noisy.reset(episode, seed=seed)
        for _ in range(4):
            noisy.step(Action.TURN_LEFT)
            noisy.step(Action.MOVE_FORWARD)
        return noisy.agent_position_m.copy()

    assert np.array_equal(walk(1), walk(1)) and not np.array_equal(walk(1), walk(2))


def generate_house_of(episode):
    from sims.raycast.house import generate_house, seed_from_scene_id

    return generate_house(seed_from_scene_id(episode.scene_id), RearrangeConfig().house)


def test_moving_an_off_centre_object_keeps_its_box_on_its_mesh():
    """A box whose centre is 0.1 m ahead of its base point, turned 30 degrees: after a move to another
    place and heading, the pose's box centre is where the moved triangles are, and the outline too."""
    import trimesh

    from sims.raycast.rearrange import move_object, footprint_outline, object_pose, object_shape
    from sims.raycast.scene import SceneBuilder, SceneObject

    yaw = math.radians(30)
    m = trimesh.creation.box(extents=(0.2, 0.1, 0.3))
    local = np.asarray(m.vertices) + (0.1, 0.0, 0.15)  # base at z = 0, centre 0.1 m ahead (+x)
    c, s_ = math.cos(yaw), math.sin(yaw)
    R = np.array([[c, -s_, 0], [s_, c, 0], [0, 0, 1]])
    world = local @ R.T + (1.0, 2.0, 0.7)
    b = SceneBuilder()
    b.add(world, np.asarray(m.faces), np.array([200, 0, 0], np.uint8), instance=0)
    fp = tuple(tuple(p) for p in (world[:, :2].min(0), world[:, :2].max(0)))
    obj = SceneObject(0, "mug", (1.0, 2.0, 0.7), yaw, tuple(world.min(0)), tuple(world.max(0)), fp * 2, None)
    scene = b.build(scene_id="t", objects=[obj], rooms=[], walls=[], doors=[], wall_height_m=2.5)
    shape = object_shape(scene, obj)
    np.testing.assert_allclose(shape.center_local_m, (0.1, 0.0, 0.15), atol=1e-6)
    np.testing.assert_allclose(shape.size_m, (0.2, 0.1, 0.3), atol=1e-6)
    moved = move_object(scene, obj, np.array([3.0, -1.0, 0.9]), math.radians(-100))
    new = moved.objects[0]
    v = moved.vertices[moved.faces[moved.face_instance == 0]].reshape(-1, 3)
    pose = object_pose(new, shape)
    np.testing.assert_allclose(pose.center_m, v.mean(0), atol=1e-5)  # a box's vertices average to its centre
    np.testing.assert_allclose(pose.yaw_rad, math.radians(-100), atol=1e-6)
    ring = footprint_outline(new, shape)  # the oriented footprint's corners are the mesh's extreme xy points
    corners = np.unique(np.round(v[:, :2], 5), axis=0)
    assert len(corners) == 4 and all(np.linalg.norm(corners - p, axis=1).min() < 1e-4 for p in ring)
