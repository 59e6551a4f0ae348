"""The built-in simulator: determinism, depth accuracy, collisions, geodesics, episodes, persistence."""

import math
from pathlib import Path

import numpy as np
import pytest

from embodied import geometry
from embodied.errors import ConfigError
from embodied.tasks import ObjectNavEpisode, read_episodes, write_episodes
from embodied.types import Action, CameraIntrinsics
from sims.raycast.categories import CATEGORIES, OBJECTNAV_GOALS
from sims.raycast.house import generate_house, scene_from_plan
from sims.raycast.layout import Door, Rect, plan_from_rooms
from sims.raycast.navigation import build_navgrid
from sims.raycast.render import Renderer
from sims.raycast.scene import load_scene
from sims.raycast.simulator import RaycastSimulator, SimConfig

ASSETS = Path(__file__).resolve().parents[2].parent / "shared" / "assets"


@pytest.fixture(scope="module")
def house():
    return generate_house(11)


@pytest.fixture(scope="module")
def two_rooms():
    """Rooms [0,6]x[0,3] and [0,6]x[3,6]; a 1 m door in the wall y = 3 at x in [4.5, 5.5]."""
    plan = plan_from_rooms([Rect(0, 0, 6, 3), Rect(0, 3, 6, 6)], [Door(0, 1, "y", 3.0, 4.5, 5.5)])
    return scene_from_plan(plan, ["living_room", "bedroom"])


def test_same_seed_same_house_byte_for_byte(tmp_path, house):
    again = generate_house(11)
    assert again.fingerprint() == house.fingerprint()
    assert generate_house(12).fingerprint() != house.fingerprint()
    a = house.save(tmp_path / "a")
    b = again.save(tmp_path / "b")
    assert a[0].read_bytes() == b[0].read_bytes() and a[1].read_bytes() == b[1].read_bytes()


@pytest.mark.parametrize("seed", range(8))
def test_houses_have_home_scale_and_valid_layouts(seed):
    s = generate_house(seed)
    area = sum((r.bounds_m[2] - r.bounds_m[0]) * (r.bounds_m[3] - r.bounds_m[1]) for r in s.rooms)
    assert 3 <= len(s.rooms) <= 10 and 50 <= area <= 250
    assert len({o.category for o in s.objects}) >= 10 and len(s.faces) < 150_000
    by_type = {r.room_id: r.room_type for r in s.rooms}
    for o in s.objects:  # required goal categories sit in their rooms
        if o.category in ("toilet", "bed"):
            assert by_type[o.room_id] == ("bathroom" if o.category == "toilet" else "bedroom")
        assert o.category in CATEGORIES
    nav = build_navgrid(s)
    comp = nav.largest_component()
    for r in s.rooms:  # every room is reachable from the largest navigable region
        X, Y = nav.cell_centers()
        inside = (X > r.bounds_m[0]) & (X < r.bounds_m[2]) & (Y > r.bounds_m[1]) & (Y < r.bounds_m[3])
        assert (inside & comp).any(), f"room {r.room_id} ({r.room_type}) unreachable in house {seed}"


def test_floor_objects_do_not_intersect_and_surface_objects_stand_on_supports(house):
    nav = build_navgrid(house, agent_radius_m=0.0)
    X, Y = nav.cell_centers()
    floor = [o for o in house.objects if CATEGORIES[o.category].placement == "floor"]
    count = np.zeros(nav.shape, int)
    for o in floor:
        fp = np.asarray(o.footprint_xy_m)
        c, s = math.cos(o.yaw_rad), math.sin(o.yaw_rad)
        hx, hy = np.linalg.norm(fp[0] - fp[1]) / 2 - 0.03, np.linalg.norm(fp[1] - fp[2]) / 2 - 0.03
        dx, dy = X - fp.mean(0)[0], Y - fp.mean(0)[1]
        count += (np.abs(c * dx + s * dy) <= hx) & (np.abs(-s * dx + c * dy) <= hy)
    assert count.max() <= 1, "two floor objects overlap"
    supports = [o for o in house.objects if CATEGORIES[o.category].supports]
    for o in house.objects:
        if CATEGORIES[o.category].placement == "surface":
            below = [s for s in supports if s.room_id == o.room_id and
                     s.bbox_min_m[0] - 1e-3 <= o.position_m[0] <= s.bbox_max_m[0] + 1e-3 and
                     s.bbox_min_m[1] - 1e-3 <= o.position_m[1] <= s.bbox_max_m[1] + 1e-3]
            assert below and any(abs(o.bbox_min_m[2] - s.bbox_max_m[2]) < 0.02 for s in below), o


@pytest.mark.parametrize("backend", ["embree", "open3d"])
def test_depth_of_a_wall_at_known_distance_within_1mm(two_rooms, backend):
    # camera at (1, 1.5, 1.2) facing +X: the wall x = 6 has its inner face at x = 5.95 -> z-depth 4.95 m
    r = Renderer(two_rooms, backend)
    K = CameraIntrinsics.from_hfov(64, 48, 60.0)
    f = r.render(geometry.camera_pose(np.array([1.0, 1.5, 1.2]), 0.0), K)
    centre = f.depth[18:30, 24:40]  # a fronto-parallel wall has constant z-depth across the image
    np.testing.assert_allclose(centre, 4.95, atol=1e-3)
    assert (f.instance == -1).all() and f.rgb.dtype == np.uint8
    # looking straight down the floor is at z = 0: depth = camera height / cos(0) along the axis
    down = r.render(geometry.camera_pose(np.array([1.0, 1.5, 1.2]), 0.0, -math.pi / 2 + 1e-9), K)
    assert abs(down.depth[24, 32] - 1.2) < 1e-3


def test_backends_agree(house):
    K = CameraIntrinsics.from_hfov(96, 72, 90.0)
    nav = build_navgrid(house)
    cells = np.argwhere(nav.largest_component())
    a, b = Renderer(house, "embree"), Renderer(house, "open3d")
    for i in range(0, len(cells), max(1, len(cells) // 5)):
        T = geometry.camera_pose(np.r_[nav.cell_center(*cells[i]), 0.88], i * 0.7)
        fa, fb = a.render(T, K), b.render(T, K)
        same = fa.instance == fb.instance  # ties on shared triangle edges may pick either face
        assert same.mean() > 0.995
        np.testing.assert_allclose(fa.depth, fb.depth, atol=1e-4)


def test_collision_cannot_walk_through_a_wall(two_rooms):
    sim = RaycastSimulator(SimConfig(width=32, height=24), scene=two_rooms)
    # start in room 0 facing +Y at the wall y = 3, far from the door
    ep = ObjectNavEpisode(episode_id="w", scene_id="plan", start_position_m=(1.0, 2.0, 0.0),
                          start_yaw_rad=math.pi / 2, goal_category="chair")
    with pytest.raises(ConfigError, match="has no 'chair'"):
        sim.reset(ep)
    sim.reset(None)
    sim._pos, sim._yaw = np.array([1.0, 2.0]), math.pi / 2
    collided = []
    for _ in range(10):
        res = sim.step(Action.MOVE_FORWARD)
        collided.append(res.collided)
        assert sim.agent_position_m[1] < 3.0 - 0.05 - 0.18 + 0.05  # never past the inflated wall
    assert collided[-1] and not collided[0]
    res = sim.step(Action.TURN_RIGHT)
    assert abs(sim.agent_yaw_rad - (math.pi / 2 - math.radians(30))) < 1e-9 and not res.collided


def test_geodesic_distance_hand_computed(two_rooms):
    nav = build_navgrid(two_rooms, agent_radius_m=0.18, resolution_m=0.05)
    # free room: geodesic = straight line
    assert nav.geodesic_distance(np.array([1.0, 1.0]), np.array([5.0, 1.5])) == pytest.approx(math.hypot(4, 0.5), rel=0.02)
    # around the wall end: the inflated wall ends at x = 4.5 + 0.05 + 0.18 and spans y = 3 -/+ 0.23
    cx, half = 4.73, 0.23
    leg = math.hypot(cx - 1.0, 3.0 - half - 1.5)
    expected = 2 * leg + 2 * half
    assert nav.geodesic_distance(np.array([1.0, 1.5]), np.array([1.0, 4.5])) == pytest.approx(expected, rel=0.02)
    path = nav.shortest_path(np.array([1.0, 1.5]), _cell_mask(nav, (1.0, 4.5)))
    assert path[:, 0].max() > 4.6  # the path goes through the door
    assert math.isinf(nav.geodesic_distance(np.array([1.0, 1.5]), np.array([3.0, 3.0])))  # inside the wall


def _cell_mask(nav, xy):
    m = np.zeros(nav.shape, bool)
    m[nav.to_cell(np.array(xy))] = True
    return m


def test_same_seed_same_frames_and_noise(house):
    def run(seed, noise):
        sim = RaycastSimulator(SimConfig(width=48, height=36, forward_noise_m=noise, turn_noise_deg=noise * 40),
                               scene=house)
        frames = [sim.reset(seed=seed).rgb]
        for a in [Action.MOVE_FORWARD, Action.TURN_LEFT, Action.MOVE_FORWARD, Action.LOOK_DOWN] * 3:
            frames.append(sim.step(a).observation.rgb)
        return np.stack(frames), sim.agent_position_m
    (f1, p1), (f2, p2) = run(3, 0.05), run(3, 0.05)
    np.testing.assert_array_equal(f1, f2)
    np.testing.assert_array_equal(p1, p2)
    _, p3 = run(3, 0.0)
    assert not np.allclose(p1, p3)


def test_observation_contract_and_tilt(house):
    sim = RaycastSimulator(SimConfig(width=40, height=30, tilt_limit_deg=45), scene=house)
    obs = sim.reset(seed=0).validate()
    assert set(np.unique(obs.semantic)) - {-1} <= set(obs.labels)
    for _ in range(3):
        obs = sim.step(Action.LOOK_UP).observation
    assert abs(obs.extras["tilt_rad"] - math.radians(45)) < 1e-12  # clamped at the limit
    assert sim.step(Action.STOP).done
    with pytest.raises(ConfigError, match="unknown action"):
        sim.step("jump")


def test_save_load_renders_identically(tmp_path, house):
    nav = build_navgrid(house)
    _, json_path = house.save(tmp_path, nav=nav.to_json())
    loaded, nav_json = load_scene(json_path)
    for a in ("vertices", "faces", "face_albedo", "face_pattern", "face_instance"):
        np.testing.assert_array_equal(getattr(loaded, a), getattr(house, a))
    assert loaded.objects == house.objects and loaded.rooms == house.rooms
    K = CameraIntrinsics.from_hfov(64, 48, 90.0)
    T = geometry.camera_pose(np.r_[nav.cell_center(*np.argwhere(nav.navigable)[100]), 0.88], 1.0)
    fa, fb = Renderer(house).render(T, K), Renderer(loaded).render(T, K)
    np.testing.assert_array_equal(fa.rgb, fb.rgb)
    np.testing.assert_array_equal(fa.depth, fb.depth)
    from sims.raycast.navigation import NavGrid

    np.testing.assert_array_equal(NavGrid.from_json(nav_json).navigable, nav.navigable)
    sim = RaycastSimulator(SimConfig(width=32, height=24))
    ep = ObjectNavEpisode(episode_id="f", scene_id=str(json_path), start_position_m=(*nav.cell_center(*np.argwhere(nav.largest_component())[0]), 0.0),
                          start_yaw_rad=0.0, goal_category=house.objects[0].category)
    sim.reset(ep).validate()
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "bad.glb").write_bytes(b"")
    with pytest.raises(ConfigError, match="cannot read scene"):
        load_scene(tmp_path / "bad.json")


def test_episodes_valid_deterministic_and_round_trip(tmp_path):
    from sims.raycast.episodes import generate_episodes

    eps = generate_episodes("val", 8, seed=1, sim_config=SimConfig(width=16, height=16))
    assert eps == generate_episodes("val", 8, seed=1, sim_config=SimConfig(width=16, height=16))
    assert all(800 <= e.extras["house_seed"] < 900 and e.goal_category in OBJECTNAV_GOALS for e in eps)
    sim = RaycastSimulator(SimConfig(width=16, height=16))
    for e in eps:
        sim.reset(e)
        d = sim.distance_to_goal(e.goal_category)
        assert d >= 1.0 and d == pytest.approx(e.geodesic_distance_m, abs=1e-3)
    path = write_episodes(tmp_path / "val.jsonl", eps)
    assert read_episodes(path)[0] == eps
    with open(path, "a") as f:
        f.write('{"episode_id": "x"}\n')
    with pytest.raises(ConfigError, match=r"val.jsonl:9"):
        read_episodes(path)
    good, problems = read_episodes(path, skip_bad=True)
    assert len(good) == 8 and len(problems) == 1
    with pytest.raises(ConfigError, match="unknown split"):
        generate_episodes("dev", 1)
    with pytest.raises(ConfigError, match="unknown category 'chiar'.*'chair'"):
        generate_episodes("val", 1, goals=("chiar",))


def test_bad_inputs_are_clear(house):
    with pytest.raises(ConfigError, match="hfov_deg"):
        SimConfig(hfov_deg=200)
    with pytest.raises(ConfigError, match="backend"):
        SimConfig(backend="optix")
    sim = RaycastSimulator(SimConfig(width=16, height=16), scene=house)
    inside_wall = ObjectNavEpisode(episode_id="bad", scene_id=house.scene_id, start_position_m=(
        house.walls[0]["coord"], (house.walls[0]["lo"] + house.walls[0]["hi"]) / 2, 0.0), start_yaw_rad=0.0,
        goal_category="bed")
    with pytest.raises(ConfigError, match="not navigable"):
        sim.reset(inside_wall)
    with pytest.raises(ConfigError, match="not a built-in scene id"):
        sim.reset(ObjectNavEpisode(episode_id="x", scene_id="kitchen-1", start_position_m=(0, 0, 0),
                                   start_yaw_rad=0.0, goal_category="bed"))


def test_mesh_files_become_labelled_objects(tmp_path):
    import trimesh

    from sims.raycast.assets import load_mesh_object

    box = trimesh.creation.cylinder(radius=0.3, height=0.7)
    box.export(tmp_path / "barrel.ply")
    pm = load_mesh_object(tmp_path / "barrel.ply", "barrel")
    assert pm.vertices[:, 2].min() == pytest.approx(0.0) and pm.category == "barrel"
    s = generate_house(5, extra_objects=[pm])
    barrels = s.objects_of("barrel")
    assert len(barrels) == 1 and barrels[0].source.endswith("barrel.ply")
    assert (s.face_instance == barrels[0].instance_id).sum() == len(box.faces)
    (tmp_path / "broken.obj").write_text("v 0 0 0\nthis is not obj\n")
    with pytest.raises(ConfigError, match="no triangles|cannot read"):
        load_mesh_object(tmp_path / "broken.obj", "x")
    with pytest.raises(ConfigError, match="not found"):
        load_mesh_object(tmp_path / "missing.glb", "x")
    cup = ASSETS / "objects" / "ocrtoc_blue_cup" / "textured.obj"
    if cup.exists():
        real = load_mesh_object(cup, "mug", height_m=0.1)
        assert real.vertices[:, 2].max() == pytest.approx(0.1) and real.face_rgb.std() > 0


def test_native_renderer_matches_numpy(house):
    from sims.raycast.native import load_native

    if load_native() is None:
        pytest.skip("the native renderer cannot be built here (no C compiler or embreex layout)")
    nav = build_navgrid(house)
    cells = np.argwhere(nav.largest_component())
    rng = np.random.default_rng(1)
    fast, ref = Renderer(house, native=True), Renderer(house, native=False, threads=1)
    assert fast.native and not ref.native
    for K in (CameraIntrinsics.from_hfov(96, 72, 90.0), CameraIntrinsics.from_hfov(61, 37, 79.0)):  # odd sizes too
        for _ in range(6):
            T = geometry.camera_pose(np.r_[nav.cell_center(*cells[rng.integers(len(cells))]), 0.88],
                                     rng.uniform(-3, 3), rng.uniform(-0.5, 0.5))
            a, b = fast.render(T, K), ref.render(T, K)
            np.testing.assert_allclose(a.depth, b.depth, atol=1e-4)
            np.testing.assert_array_equal(a.instance, b.instance)
            diff = np.abs(a.rgb.astype(int) - b.rgb.astype(int)).max(axis=-1)
            # objects are untextured: identical pixels, but for a ray grazing the edge between two
            # faces of one object, where float rounding may pick the other (differently lit) face
            obj = a.instance >= 0
            assert (diff[obj] > 0).sum() <= max(8, 0.01 * obj.sum())
            # textured floors/walls: float rounding can move a pixel onto the neighbouring texel
            assert (diff <= 1).mean() > 0.98 and diff.mean() < 1.0


def test_native_renderer_falls_back_cleanly(monkeypatch, tmp_path):
    from sims.raycast import native

    monkeypatch.setenv("EMBODIED_CACHE", str(tmp_path))
    monkeypatch.setenv("CC", "false")  # a compiler that always fails
    assert native.load_native.__wrapped__() is None
    monkeypatch.setenv("EMBODIED_NATIVE", "0")
    assert native.load_native.__wrapped__() is None


def test_object_footprints_follow_the_geometry(tmp_path):
    """A round barrel blocks a round footprint (not its bounding rectangle) and its view points lie
    within the success radius of that footprint."""
    import trimesh

    from sims.raycast.assets import load_mesh_object
    from sims.raycast.navigation import object_footprints, object_view_mask

    trimesh.creation.cylinder(radius=0.3, height=0.7, sections=64).export(tmp_path / "barrel.ply")
    s = generate_house(5, extra_objects=[load_mesh_object(tmp_path / "barrel.ply", "barrel")])
    barrel = s.objects_of("barrel")[0]
    hull = object_footprints(s)[barrel.instance_id]
    x, y = hull[:, 0], hull[:, 1]
    area = 0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1)))
    assert area == pytest.approx(math.pi * 0.3**2, rel=0.01)  # a 64-gon: 0.16% under the circle
    centre = hull.mean(0)
    assert np.linalg.norm(hull - centre, axis=1) == pytest.approx(0.3, abs=1e-3)

    nav = build_navgrid(s, agent_radius_m=0.18, resolution_m=0.05)
    X, Y = nav.cell_centers()
    r = np.hypot(X - centre[0], Y - centre[1])
    assert not nav.navigable[r < 0.3 + 0.18 - 0.05].any()  # the body never overlaps the barrel
    view = object_view_mask(nav, [barrel], 1.0, object_footprints(s))
    assert view.any() and (r[view] <= 0.3 + 1.0 + 0.05).all()
    ring = nav.navigable & (r > 0.55) & (r < 1.25)
    assert ring.sum() > 50 and view[ring].all()  # every navigable cell within 0.95 m of the barrel's side is a view point


def _with_box(scene, lo, hi, category="box", instance_id=7):
    """``scene`` plus an axis-aligned box object from corner ``lo`` to ``hi`` (x, y, z metres)."""
    import dataclasses

    import trimesh

    from sims.raycast.scene import SceneObject

    box = trimesh.creation.box(bounds=np.array([lo, hi], float))
    faces = np.asarray(box.faces) + len(scene.vertices)
    (x0, y0, _), (x1, y1, _) = lo, hi
    obj = SceneObject(instance_id=instance_id, category=category, position_m=((x0 + x1) / 2, (y0 + y1) / 2, 0.0),
                      yaw_rad=0.0, bbox_min_m=tuple(lo), bbox_max_m=tuple(hi),
                      footprint_xy_m=((x1, y1), (x0, y1), (x0, y0), (x1, y0)), room_id=0)
    return dataclasses.replace(
        scene, vertices=np.concatenate([scene.vertices, np.asarray(box.vertices, np.float32)]),
        faces=np.concatenate([scene.faces, faces.astype(np.int32)]),
        face_albedo=np.concatenate([scene.face_albedo, np.full((len(faces), 3), 200, np.uint8)]),
        face_pattern=np.concatenate([scene.face_pattern, np.zeros(len(faces), np.uint8)]),
        face_instance=np.concatenate([scene.face_instance, np.full(len(faces), instance_id, np.int32)]),
        objects=[*scene.objects, obj])


def test_visible_success_rule_drops_view_points_behind_a_wall(two_rooms):
    """A box against the wall y = 3 in room 0: the radius rule (1 m) counts cells of room 1 behind the
    wall as view points; habitat's rule (line of sight at camera height) keeps only room 0's."""
    scene = _with_box(two_rooms, (0.8, 2.5, 0.0), (1.2, 2.8, 0.8))
    radius = RaycastSimulator(SimConfig(width=32, height=24, goal_view_rule="radius"), scene=scene)
    visible = RaycastSimulator(SimConfig(width=32, height=24), scene=scene)
    assert visible.config.goal_view_rule == "visible"  # the default
    r, v = radius.goal_mask("box"), visible.goal_mask("box")
    X, Y = radius.nav.cell_centers()
    assert not (v & ~r).any()  # visible view points are radius view points
    behind = r & (Y > 3.0)
    assert behind.sum() > 50 and not v[behind].any()  # none of the cells behind the wall sees the box
    front = r & (Y < 3.0)
    assert v[front].mean() > 0.95  # in its own room the box is in sight from (almost) every cell
    cell = radius.nav.to_cell(np.array([1.0, 2.0]))
    assert r[cell] and v[cell]  # 0.5 m in front of it
    # distance_to_goal follows the rule: from behind the wall the agent must walk round through the door
    p = np.array([1.0, 3.5])
    assert radius.distance_to_goal("box", p) == 0.0
    assert visible.distance_to_goal("box", p) > 6.0
    with pytest.raises(ConfigError, match="goal_view_rule"):
        SimConfig(goal_view_rule="nearby")
