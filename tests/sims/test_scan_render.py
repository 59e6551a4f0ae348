"""Scanned scenes in the built-in simulator: per-pixel texture and vertex-colour lookup, storeys and
navigability from geometry (scenes built here as arrays; the mesh-file reader is tested in test_scan.py)."""

import math

import numpy as np
import pytest

from embodied import geometry
from embodied.errors import ConfigError
from embodied.types import CameraIntrinsics
from sims.raycast.floors import build_scan_navgrid, detect_floors, storey_of, surface_samples
from sims.raycast.render import Renderer, sample_texture
from sims.raycast.scene import Scene


def scan_scene(vertices, faces, **appearance) -> Scene:
    """A scanned Scene straight from arrays (flat grey unless ``appearance`` says otherwise)."""
    V, F = np.asarray(vertices, np.float32), np.asarray(faces, np.int32)
    return Scene(scene_id="scan", vertices=V, faces=F, face_albedo=np.full((len(F), 3), 150, np.uint8),
                 face_pattern=np.zeros(len(F), np.uint8), face_instance=np.full(len(F), -1, np.int32), objects=[],
                 rooms=[], walls=[], doors=[], wall_height_m=float(np.ptp(V[:, 2])), source_path="scan.glb",
                 **appearance)


def quad(x0, y0, z0, x1, y1, z1):
    """Two triangles of an axis-aligned rectangle (one of the extents is 0), counter-clockwise seen from +normal."""
    if z0 == z1:  # horizontal, normal +Z
        v = [[x0, y0, z0], [x1, y0, z0], [x1, y1, z0], [x0, y1, z0]]
    elif x0 == x1:
        v = [[x0, y0, z0], [x0, y1, z0], [x0, y1, z1], [x0, y0, z1]]
    else:
        v = [[x0, y0, z0], [x1, y0, z0], [x1, y0, z1], [x0, y0, z1]]
    return np.array(v, float), np.array([[0, 1, 2], [0, 2, 3]])


def merge(*parts):
    vs, fs, n = [], [], 0
    for v, f in parts:
        vs.append(v)
        fs.append(f + n)
        n += len(v)
    return np.concatenate(vs), np.concatenate(fs)


def checkerboard(texels=8, px=8):
    img = np.zeros((texels * px, texels * px, 3), np.uint8)
    for i in range(texels):
        for j in range(texels):
            img[i * px:(i + 1) * px, j * px:(j + 1) * px] = (200, 30, 10) if (i + j) % 2 else (10, 40, 220)
    img[:px, :px] = (0, 255, 0)  # the image's top-left block
    return img


@pytest.fixture(scope="module")
def textured_wall():
    """A 2 m x 2 m wall at x = 2 facing -X (y in [-1, 1], z in [0, 2]); UV (0, 0) at its y = +1, z = 0
    corner, which the camera at the origin looking along +X sees bottom-left."""
    V = np.array([[2, 1, 0], [2, -1, 0], [2, -1, 2], [2, 1, 2]], np.float32)
    F = np.array([[0, 1, 2], [0, 2, 3]], np.int32)
    uv = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], np.float32)
    return scan_scene(V, F, face_uv=uv[F], face_texture=np.zeros(2, np.int32), textures=[checkerboard()])


@pytest.mark.parametrize("native", [False, True])
def test_texture_lookup_is_exact_on_a_checkerboard(textured_wall, native):
    from sims.raycast.native import load_native

    if native and load_native() is None:
        pytest.skip("the native renderer cannot be built here")
    # 64 x 64 px at HFOV 90 from 2 m: the wall spans pixels 16..47, 0.5 px per texel pixel: 4 px per texel
    K = CameraIntrinsics.from_hfov(64, 64, 90.0)
    T = geometry.camera_pose(np.array([0.0, 0.0, 1.0]), 0.0)
    frame = Renderer(textured_wall, native=native, threads=1).render(T, K)
    img = checkerboard()
    for ti in range(8):  # texel row ti from the image's top
        for tj in range(8):
            # centre of texel block (ti, tj): wall point z = 2 - (ti + 0.5) / 4, y = 1 - (tj + 0.5) / 4
            z, y = 2 - (ti + 0.5) / 4, 1 - (tj + 0.5) / 4
            u = K.cx + K.fx * (-y) / 2.0
            v = K.cy + K.fy * (1.0 - z) / 2.0
            px = frame.rgb[int(round(v)), int(round(u))]  # pixel centres at integers
            np.testing.assert_array_equal(px, img[ti * 8 + 4, tj * 8 + 4], err_msg=f"texel {ti},{tj}")
    assert tuple(frame.rgb[17, 17]) == (0, 255, 0)  # the image's top-left is the wall's top-left
    np.testing.assert_allclose(frame.depth[32, 32], 2.0, atol=1e-3)


def test_native_and_numpy_texture_agree(textured_wall):
    from sims.raycast.native import load_native

    if load_native() is None:
        pytest.skip("the native renderer cannot be built here")
    K = CameraIntrinsics.from_hfov(97, 61, 100.0)
    for yaw in (0.0, 0.3, -0.4):
        T = geometry.camera_pose(np.array([0.3, 0.2, 0.9]), yaw, 0.2)
        a = Renderer(textured_wall, native=True).render(T, K)
        b = Renderer(textured_wall, native=False, threads=1).render(T, K)
        diff = np.abs(a.rgb.astype(int) - b.rgb.astype(int))
        assert diff.max() <= 1 and (diff > 0).mean() < 0.01


def test_sample_texture_bilinear_and_wraps():
    img = np.zeros((2, 2, 3), np.uint8)
    img[0, 0], img[0, 1], img[1, 0], img[1, 1] = (0, 0, 0), (100, 0, 0), (0, 100, 0), (100, 100, 0)
    # texel centres: image (row 0, col 0) at uv (0.25, 0.75); halfway between all four at (0.5, 0.5)
    out = sample_texture(img, np.array([[0.25, 0.75], [0.5, 0.5], [1.25, 0.75], [-0.75, 1.75]], np.float32))
    np.testing.assert_allclose(out[0], (0, 0, 0), atol=1e-4)
    np.testing.assert_allclose(out[1], (50, 50, 0), atol=1e-4)
    np.testing.assert_allclose(out[2], (0, 0, 0), atol=1e-4)  # REPEAT wrapping
    np.testing.assert_allclose(out[3], (0, 0, 0), atol=1e-4)


@pytest.mark.parametrize("native", [False, True])
def test_vertex_colours_interpolate(native):
    from sims.raycast.native import load_native

    if native and load_native() is None:
        pytest.skip("the native renderer cannot be built here")
    V = np.array([[2, 1.5, -0.5], [2, -1.5, -0.5], [2, 0, 2.5]], np.float32)  # one triangle facing the camera
    corners = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255]]], np.uint8)
    scene = scan_scene(V, [[0, 1, 2]], face_corner_rgb=corners)
    K = CameraIntrinsics.from_hfov(65, 65, 90.0)
    T = geometry.camera_pose(np.array([0.0, 0.0, 0.5]), 0.0)  # the optical axis meets the centroid (y 0, z 0.5)
    rgb = Renderer(scene, native=native, threads=1).render(T, K).rgb
    centre = rgb[32, 32].astype(int)
    # at the centroid every corner weighs 1/3
    assert np.abs(centre - 85).max() <= 1, centre


def box_room(size=4.0, height=2.5, z0=0.0):
    """Floor at z0, four zero-thickness walls, a ceiling (facing down), as parts."""
    s = size
    floor = quad(0, 0, z0, s, s, z0)
    ceiling = (quad(0, 0, z0 + height, s, s, z0 + height)[0], quad(0, 0, 0, s, s, 0)[1][:, ::-1])
    walls = [quad(0, 0, z0, s, 0, z0 + height), quad(0, s, z0, s, s, z0 + height),
             quad(0, 0, z0, 0, s, z0 + height), quad(s, 0, z0, s, s, z0 + height)]
    return [floor, ceiling, *walls]


def box(x0, y0, x1, y1, z0, z1):
    """A closed box as quads (outward normals up to orientation; only the top's matters here)."""
    return [quad(x0, y0, z1, x1, y1, z1), quad(x0, y0, z0, x1, y0, z1), quad(x0, y1, z0, x1, y1, z1),
            quad(x0, y0, z0, x0, y1, z1), quad(x1, y0, z0, x1, y1, z1)]


def test_storeys_from_the_height_histogram():
    table = box(1.0, 1.0, 2.2, 1.8, 0.0, 0.75)  # 1 m2 top at 0.75 m: no storey
    parts = box_room() + box_room(z0=3.0) + table
    scene = scan_scene(*merge(*parts))
    floors = detect_floors(scene)
    assert len(floors) == 2
    np.testing.assert_allclose(floors, [0.0, 3.0], atol=1e-6)
    assert storey_of(floors, 0.05) == 0 and storey_of(floors, 2.9) == 1
    with pytest.raises(ConfigError, match="no storey"):
        storey_of(floors, 1.5)
    # a ceiling whose normals face up (or a roof) has no walls above it: no storey
    room = box_room()
    room[1] = quad(0, 0, 2.5, 4, 4, 2.5)
    np.testing.assert_allclose(detect_floors(scan_scene(*merge(*room))), [0.0], atol=1e-6)


def test_no_floor_is_a_clear_error():
    scene = scan_scene(*merge(quad(0, 0, 0, 0, 4, 2.5), quad(0, 0, 0, 4, 0, 2.5)))  # walls only
    with pytest.raises(ConfigError, match="scan.glb: no floor found"):
        detect_floors(scene)


def test_surface_samples_are_dense_enough():
    tri = np.array([[[0, 0, 0], [1, 0, 0], [0, 0, 1]]], float)
    pts, owner = surface_samples(tri, 0.1)
    assert (owner == 0).all()
    # the longest edge (the hypotenuse, sqrt 2) sets n = ceil(sqrt(2) / 0.1) = 15: (n + 1)(n + 2) / 2 points,
    # sqrt(2) / 15 apart along it
    edge = pts[np.abs(pts[:, 0] + pts[:, 2] - 1) < 1e-9]
    gaps = np.diff(np.sort(edge[:, 0])) * math.sqrt(2)
    assert len(pts) == 136 and len(edge) == 16
    np.testing.assert_allclose(gaps, math.sqrt(2) / 15, atol=1e-9)


def test_navigable_grid_from_geometry():
    room = box_room(4.0)
    chair = box(1.8, 1.8, 2.2, 2.2, 0.0, 0.9)  # a 0.4 m box in the middle
    step = box(3.0, 0.3, 3.4, 0.7, 0.0, 0.15)  # low enough to drive over (max climb 0.2 m)
    scene = scan_scene(*merge(*room, *chair, *step))
    nav = build_scan_navgrid(scene, 0.0, agent_radius_m=0.2, agent_height_m=1.5, resolution_m=0.05)
    ok = nav.is_navigable
    assert ok(np.array([1.0, 1.0])) and ok(np.array([0.3, 2.0]))  # 0.3 m from a wall: free
    assert not ok(np.array([0.1, 2.0]))  # within the radius of the wall x = 0
    assert not ok(np.array([2.0, 2.0])) and not ok(np.array([2.0, 2.35]))  # the box and its margin
    assert ok(np.array([2.0, 2.5]))  # 0.3 m from the box
    assert ok(np.array([3.2, 0.5]))  # on the low step
    # the geodesic around the box is longer than the straight line through it
    d = nav.geodesic_distance(np.array([1.0, 2.0]), np.array([3.0, 2.0]))
    assert 2.0 < d < 2.0 + 0.7


def test_upper_storey_grid_ignores_the_lower_one():
    scene = scan_scene(*merge(*box_room(), *box(1.8, 1.8, 2.2, 2.2, 0.0, 0.9), *box_room(z0=3.0)))
    lower = build_scan_navgrid(scene, 0.0, resolution_m=0.05)
    upper = build_scan_navgrid(scene, 3.0, resolution_m=0.05)
    assert not lower.is_navigable(np.array([2.0, 2.0])) and upper.is_navigable(np.array([2.0, 2.0]))


@pytest.mark.parametrize("native", [False, True])
def test_mipmaps_average_a_texture_seen_from_afar(native):
    """A 1-texel black/white checkerboard at 256 px per metre, 4 m away at 32 px per metre: without
    mipmaps every pixel would read one texel (0 or 255); the level that matches the footprint reads grey."""
    from sims.raycast.native import load_native
    from sims.raycast.render import mip_levels, texel_density

    if native and load_native() is None:
        pytest.skip("the native renderer cannot be built here")
    img = np.where((np.add.outer(np.arange(512), np.arange(512)) % 2)[..., None] == 1, 255, 0).astype(np.uint8)
    img = np.repeat(img, 3, axis=2)
    levels = mip_levels(img)
    assert [lv.shape[0] for lv in levels] == [512, 256, 128, 64, 32, 16, 8, 4, 2, 1]
    assert np.abs(levels[1].astype(int) - 128).max() <= 1  # a 2 x 2 average of black and white
    V = np.array([[4, 1, 0], [4, -1, 0], [4, -1, 2], [4, 1, 2]], np.float32)  # 2 m wide at 4 m
    F = np.array([[0, 1, 2], [0, 2, 3]], np.int32)
    uv = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], np.float32)[F]
    np.testing.assert_allclose(texel_density(V, F, uv, np.array([[512, 512]] * 2)), 256, rtol=1e-6)
    scene = scan_scene(V, F, face_uv=uv, face_texture=np.zeros(2, np.int32), textures=[img])
    K = CameraIntrinsics.from_hfov(256, 256, 90.0)  # fx = 128: a pixel covers 4 / 128 m = 8 texels
    frame = Renderer(scene, native=native, threads=1).render(geometry.camera_pose(np.array([0.0, 0.0, 1.0]), 0.0), K)
    wall = frame.rgb[100:156, 100:156].astype(int)
    assert np.abs(wall - 128).max() <= 2


def test_geometry_rule_agrees_with_a_houses_own_grid():
    """A procedural house read as a scan (no rooms or walls, geometry only): the navigable cells found
    from its triangles are, in both directions, the ones its room-and-wall grid has (>= 90 %)."""
    import dataclasses

    from sims.raycast.house import generate_house
    from sims.raycast.navigation import build_navgrid

    house = generate_house(800)
    truth = build_navgrid(house)
    scan = dataclasses.replace(house, rooms=[], walls=[], doors=[], source_path="house.glb")
    assert detect_floors(scan) == pytest.approx([0.0], abs=1e-6)
    found = build_scan_navgrid(scan, 0.0)

    def share(a, b):
        X, Y = a.cell_centers()
        pts = np.stack([X[a.navigable], Y[a.navigable]], 1)[::5]
        return np.mean([b.is_navigable(p) for p in pts])

    assert share(truth, found) > 0.9 and share(found, truth) > 0.97


def test_the_agent_stands_on_the_storey_of_its_start():
    from embodied.tasks import ObjectNavEpisode
    from sims.raycast.simulator import RaycastSimulator, SimConfig

    scene = scan_scene(*merge(*box_room(), *box_room(z0=3.0)))
    with RaycastSimulator(SimConfig(width=32, height=24)) as sim:
        sim.load_scene(scene)
        np.testing.assert_allclose(sim.floors_m, [0.0, 3.0], atol=1e-6)
        ep = ObjectNavEpisode(episode_id="up", scene_id="scan.glb", start_position_m=(2.0, 2.0, 3.02), start_yaw_rad=0.0,
                              goal_category="chair", extras={"goal_view_points_m": [[3.0, 2.0, 3.0]]})
        obs = sim.reset(ep)
        assert sim.floor_z_m == pytest.approx(3.0) and obs.agent_pose.position_m[2] == pytest.approx(3.0)
        assert obs.T_world_cam[2, 3] == pytest.approx(3.0 + 0.88)
        # the view point is 1 m ahead on the same storey; one on the other storey is left out
        assert sim.distance_to_goal("chair") == pytest.approx(1.0, abs=0.06)
        assert not sim.view_point_mask(np.array([[3.0, 2.0, 0.0]])).any()
        np.testing.assert_allclose(obs.depth[12, 16], 2.0, atol=1e-3)  # the wall x = 4 of the upper room


def test_review_cases_of_multi_storey_scans():
    """A plain room's floor (one histogram bin) is found; a storey without navigable floor is skipped;
    another storey's objects are never this storey's goals; teleport's z picks the storey."""
    from sims.raycast.scene import SceneObject
    from sims.raycast.simulator import RaycastSimulator, SimConfig

    assert detect_floors(scan_scene(*merge(*box_room()))) == pytest.approx([0.0], abs=1e-6)
    # a 1.2 m crawl space under the main floor: a storey by the histogram, but too low to stand in
    v, f = merge(*box_room(height=1.2), *box_room(z0=2.0), *box(1.0, 1.0, 2.0, 2.0, 2.0, 2.5))
    scene = scan_scene(v, f)
    scene.face_instance[len(f) - 10:] = 5  # the box upstairs is a bed
    scene.objects.append(SceneObject(instance_id=5, category="bed", position_m=(1.5, 1.5, 2.0), yaw_rad=0.0,
                                     bbox_min_m=(1.0, 1.0, 2.0), bbox_max_m=(2.0, 2.0, 2.5),
                                     footprint_xy_m=((1, 1), (2, 1), (2, 2), (1, 2)), room_id=None, source="scan"))
    with RaycastSimulator(SimConfig(width=32, height=24, goal_view_rule="radius")) as sim:
        sim.load_scene(scene)
        assert sim.floors_m == pytest.approx([0.0, 2.0], abs=1e-6) and sim.floor_z_m == pytest.approx(2.0)
        with pytest.raises(ConfigError, match="no navigable floor"):
            sim.select_storey(0)
        assert sim.goal_mask("bed").any()
        sim.teleport(np.array([3.0, 3.0, 2.0]), 0.0)
        assert sim.agent_position_m[2] == pytest.approx(2.0)
    two = scan_scene(*merge(*box_room(), *box_room(z0=3.0), *box(1.0, 1.0, 2.0, 2.0, 3.0, 3.5)))
    two.face_instance[-10:] = 5
    two.objects.append(SceneObject(instance_id=5, category="bed", position_m=(1.5, 1.5, 3.0), yaw_rad=0.0,
                                   bbox_min_m=(1.0, 1.0, 3.0), bbox_max_m=(2.0, 2.0, 3.5),
                                   footprint_xy_m=((1, 1), (2, 1), (2, 2), (1, 2)), room_id=None, source="scan"))
    with RaycastSimulator(SimConfig(width=32, height=24, goal_view_rule="radius")) as sim:
        sim.load_scene(two)
        assert sim.floor_z_m == pytest.approx(0.0) and not sim.goal_mask("bed").any()  # the bed is upstairs
        sim.teleport(np.array([3.0, 3.0, 3.0]), 0.0)
        assert sim.floor_z_m == pytest.approx(3.0) and sim.goal_mask("bed").any()


def test_top_down_map_of_a_scan_shows_floor_and_furniture():
    from sims.raycast.viz import top_down_map

    v, f = merge(*box_room(), *box(1.5, 1.5, 2.5, 2.5, 0.0, 1.0))
    scene = scan_scene(v, f)
    nav = build_scan_navgrid(scene, 0.0)
    img = top_down_map(scene, nav, px_per_m=20.0)
    pad = 0.5

    def px(x, y):  # world -> image (the map's own frame: 0.5 m margin, y up)
        return img[int(img.shape[0] - (y + pad) * 20), int((x + pad) * 20)].astype(int)
    # the box top (1 m up) is brighter than the floor under it: shade 0.75 + 0.25 * height / 2
    assert px(2.0, 2.0).mean() > px(0.5, 3.5).mean() > 0
    assert px(-0.4, -0.4).tolist() == [255, 255, 255]  # outside the scan
