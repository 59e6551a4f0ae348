"""Mapping on synthetic depth, frontiers and planning on hand-made grids."""

import math

import numpy as np
import pytest

from embodied import geometry
from embodied.mapping.frontiers import detect_frontiers
from embodied.mapping.grid import GridFrame
from embodied.mapping.occupancy import MapConfig, OccupancyMap
from embodied.mapping.planning import descend, geodesic_field, path_to_action
from embodied.mapping.value_map import ValueMap
from embodied.types import Action, CameraIntrinsics


def wall_depth(K: CameraIntrinsics, distance_m: float) -> np.ndarray:
    """A fronto-parallel wall: constant z-depth."""
    return np.full((K.height, K.width), distance_m, np.float32)


def test_wall_at_known_distance_fills_the_right_cells():
    K = CameraIntrinsics.from_hfov(64, 48, 90.0)
    m = OccupancyMap(MapConfig(size_m=10.0, agent_radius_m=0.2, pixel_stride=1), np.zeros(2))
    T = geometry.camera_pose(np.array([0.0, 0.0, 0.9]), 0.0)  # looking along +x, wall plane x = 3
    visible = m.update(wall_depth(K, 3.0), K, T)
    rows, cols = np.nonzero(m.obstacles)
    xy = m.frame.cell_centers(rows, cols)
    assert np.abs(xy[:, 0] - 3.0).max() <= 0.05  # every obstacle cell lies on the wall line
    # wall height band 0.1..1.6 m above the floor: visible wall spans y in [-3, 3] (hfov 90 at 3 m)
    assert xy[:, 1].min() == pytest.approx(-3.0, abs=0.1) and xy[:, 1].max() == pytest.approx(3.0, abs=0.1)
    # ray clearing: the cone between camera and wall is free, behind the wall stays unknown
    for x, y, free in ((1.0, 0.0, True), (2.5, 2.0, True), (2.5, -2.0, True), (1.0, 1.5, False), (4.0, 0.0, False)):
        assert visible[m.frame.to_cell((x, y))] == free, (x, y)
    assert not m.explored[m.frame.to_cell((4.0, 0.0))]
    # inflation: cells within the radius of the wall are not navigable, cells beyond are
    assert not m.navigable[m.frame.to_cell((2.85, 0.0))] and m.navigable[m.frame.to_cell((2.7, 0.0))]


def test_floor_points_are_not_obstacles_and_height_band_filters():
    K = CameraIntrinsics.from_hfov(32, 32, 90.0)
    m = OccupancyMap(MapConfig(size_m=10.0), np.zeros(2))
    # looking 45 degrees down at a flat floor from 1 m: only floor points, no obstacles
    T = geometry.camera_pose(np.array([0.0, 0.0, 1.0]), 0.0, -math.pi / 4)
    pts_dirs = geometry.unproject_depth(np.ones((32, 32), np.float32), K.K) @ T[:3, :3].T
    depth = np.where(pts_dirs[..., 2] < 0, -1.0 / pts_dirs[..., 2], 0.0).astype(np.float32)  # ray hits z = 0
    visible = m.update(depth, K, T)
    assert not m.obstacles.any() and visible.sum() > 50
    assert m.update(np.full((32, 32), np.nan, np.float32), K, T).sum() <= 1  # NaN depth: nothing but the camera cell


def test_goal_evidence_projects_through_depth():
    K = CameraIntrinsics.from_hfov(64, 48, 90.0)
    m = OccupancyMap(MapConfig(size_m=10.0), np.zeros(2))
    T = geometry.camera_pose(np.array([0.0, 0.0, 0.9]), 0.0)
    rel = np.zeros((48, 64), np.float32)
    rel[20:28, 40:48] = 0.9  # right of centre -> negative y
    n = m.add_goal_evidence(rel, wall_depth(K, 2.0), K, T)
    rows, cols = np.nonzero(m.goal)
    xy = m.frame.cell_centers(rows, cols)
    assert n > 0 and np.allclose(xy[:, 0], 2.0, atol=0.05) and (xy[:, 1] < 0).all()
    assert m.goal.max() == pytest.approx(0.9)


def test_goal_votes_add_hit_and_miss_logodds_per_seen_cell():
    K = CameraIntrinsics.from_hfov(64, 48, 90.0)
    m = OccupancyMap(MapConfig(size_m=10.0, pixel_stride=1), np.zeros(2))
    T = geometry.camera_pose(np.array([0.0, 0.0, 0.9]), 0.0)
    rel = np.zeros((48, 64), np.float32)
    rel[20:28, 40:48] = 0.9
    depth = wall_depth(K, 2.0)
    hit, miss = m.vote_goal(rel, depth, K, T, floor_z_m=0.0, hit_logodds=2.0, miss_logodds=-0.5)
    assert hit > 0 and miss > 0
    assert np.isclose(m.goal_logodds, 2.0).sum() == hit and np.isclose(m.goal_logodds, -0.5).sum() == miss
    hit_xy = m.frame.cell_centers(*np.nonzero(m.goal_logodds > 0))
    assert np.allclose(hit_xy[:, 0], 2.0, atol=0.05) and (hit_xy[:, 1] < 0).all()
    for _ in range(3):  # three frames without the detection: 2 - 3 * 0.5 = 0.5 on the once-hit cells
        m.vote_goal(np.zeros_like(rel), depth, K, T, 0.0, 2.0, -0.5)
    assert m.goal_logodds.max() == pytest.approx(0.5)
    for _ in range(20):  # clipped, so later evidence can still overturn it
        m.vote_goal(np.zeros_like(rel), depth, K, T, 0.0, 2.0, -0.5)
    assert m.goal_logodds.min() == pytest.approx(-4.0)
    # floor points carry no votes; a frame beyond range carries none either
    assert m.vote_goal(rel, depth, K, T, floor_z_m=3.0, hit_logodds=2.0, miss_logodds=-0.5) == (0, 0)
    assert m.vote_goal(rel, wall_depth(K, 9.0), K, T, 0.0, 2.0, -0.5) == (0, 0)


def test_depth_segments_split_an_object_from_the_wall_behind_it():
    from embodied.localization import depth_segments

    K = CameraIntrinsics.from_hfov(64, 48, 90.0)
    T = geometry.camera_pose(np.array([0.0, 0.0, 0.9]), 0.0)
    depth = wall_depth(K, 3.0)
    depth[10:30, 20:40] = 1.5  # a box 1.5 m in front of the wall
    seg = depth_segments(depth, K.K, T, floor_z_m=0.0)
    box = seg[20, 30]
    assert box > 0 and seg[5, 5] == 0  # the wall (it rises to 3.1 m) is structure, not a proposal
    assert (seg == box).sum() >= 16 * 16 and ((seg == box) <= (depth == 1.5)).all()
    keep_walls = depth_segments(depth, K.K, T, floor_z_m=0.0, wall_min_top_m=None)
    assert keep_walls[5, 5] > 0 and keep_walls[5, 5] != keep_walls[20, 30]


def _ray_cast_box_at_wall(K: CameraIntrinsics, T: np.ndarray, box_min, box_max, wall_x_m: float):
    """z-depth (H, W) of a room corner seen from ``T``: the floor z = 0, a wall x = ``wall_x_m`` (2.6 m
    high) and an axis-aligned box; and the (H, W) bool mask of the box's pixels."""
    H, W = K.height, K.width
    v, u = np.mgrid[:H, :W].astype(np.float64)
    rays_cam = np.stack([(u - K.cx) / K.fx, (v - K.cy) / K.fy, np.ones_like(u)], -1)  # z-depth 1 per unit t
    d = rays_cam @ T[:3, :3].T
    o = T[:3, 3]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        t_wall = np.where(d[..., 0] > 0, (wall_x_m - o[0]) / d[..., 0], np.inf)
        t_wall = np.where(o[2] + t_wall * d[..., 2] <= 2.6, t_wall, np.inf)
        t_floor = np.where(d[..., 2] < 0, -o[2] / d[..., 2], np.inf)
        lo = (np.asarray(box_min) - o) / d
        hi = (np.asarray(box_max) - o) / d
    t_near = np.nanmax(np.minimum(lo, hi), -1)
    t_far = np.nanmin(np.maximum(lo, hi), -1)
    t_box = np.where((t_near <= t_far) & (t_near > 0), t_near, np.inf)
    t = np.minimum(np.minimum(t_wall, t_floor), t_box)
    return np.where(np.isfinite(t), t, 0.0).astype(np.float32), (t_box <= t) & np.isfinite(t_box)


def test_depth_segments_free_an_object_standing_against_a_wall():
    """A box touching the wall behind it (a toilet, a sofa) has no depth edge along the contact: by
    depth edges alone box and wall are one region; the wall plane, which rises above the furniture,
    is taken out, and the box is a proposal of its own."""
    from embodied.localization import depth_segments, structure_mask

    K = CameraIntrinsics.from_hfov(96, 72, 90.0)
    T = geometry.camera_pose(np.array([1.2, 1.4, 1.3]), -0.9, -0.3)  # looking down at it, from its side
    depth, box = _ray_cast_box_at_wall(K, T, (2.4, -0.3, 0.0), (3.0, 0.3, 0.8), wall_x_m=3.0)
    assert box.sum() > 300
    merged = depth_segments(depth, K.K, T, floor_z_m=0.0, wall_min_top_m=None)
    ids, n = np.unique(merged[box], return_counts=True)
    main = ids[np.argmax(n)]
    assert main > 0 and (merged == main).sum() > 2 * box.sum()  # box + wall in one segment
    seg = depth_segments(depth, K.K, T, floor_z_m=0.0)
    ids, n = np.unique(seg[box], return_counts=True)
    main = ids[np.argmax(n)]
    assert main > 0 and n.max() >= 0.6 * box.sum()  # the box, less its depth-edge outline
    assert (seg == main)[~box].sum() <= 0.1 * box.sum()  # and next to nothing of the wall
    P = geometry.unproject_depth(depth, K.K) @ T[:3, :3].T + T[:3, 3]
    wall = structure_mask(P.astype(np.float32), depth > 0, 0.0)
    on_wall = (np.abs(P[..., 0] - 3.0) < 1e-3) & (depth > 0) & ~box
    assert wall[on_wall].mean() > 0.9 and wall[box].mean() < 0.1  # the box but for where it touches the wall


@pytest.mark.parametrize("distance_m,yaw", [(2.0, 0.0), (3.0, 0.5), (5.0, -0.5)])
def test_a_bare_wall_leaves_no_proposals_and_a_clock_on_it_stays_one(distance_m, yaw):
    """At the agent's 224 x 224, a wall leaves nothing to classify, not even strips at the frame
    border; a clock 4 cm proud of it, hung as high as they hang (centre 2.0 m), is kept whole."""
    from embodied.localization import depth_segments

    K = CameraIntrinsics.from_hfov(224, 224, 90.0)
    T = geometry.camera_pose(np.array([3.0 - distance_m, 0.0, 0.88]), yaw)
    depth, _ = _ray_cast_box_at_wall(K, T, (9.0, 9.0, 9.0), (9.1, 9.1, 9.1), wall_x_m=3.0)
    assert depth_segments(depth, K.K, T, floor_z_m=0.0).max() == 0
    depth, clock = _ray_cast_box_at_wall(K, T, (2.96, -0.18, 1.82), (3.0, 0.18, 2.18), wall_x_m=3.0)
    seg = depth_segments(depth, K.K, T, floor_z_m=0.0)
    ids, n = np.unique(seg[clock], return_counts=True)
    assert ids[-1] > 0 and n[-1] >= 0.7 * clock.sum() and (seg == ids[-1])[~clock].sum() <= 0.1 * clock.sum()


def test_frontiers_on_a_hand_made_grid():
    explored = np.zeros((20, 20), bool)
    explored[5:15, 5:15] = True
    navigable = explored.copy()
    navigable[5:15, 14] = False  # an obstacle wall on the right edge: no frontier there
    fr = detect_frontiers(explored, navigable, navigable, min_size_cells=3)
    cells = {tuple(c) for f in fr for c in f.cells}
    assert all(r in (5, 14) or c == 5 for r, c in cells)  # top, bottom and left borders only
    assert (10, 14) not in cells and (10, 5) in cells
    assert fr[0].size >= fr[-1].size and all(navigable[f.target] for f in fr)
    # frontier cells themselves may be non-navigable (inflated band); the target is the nearest navigable cell
    nav2 = explored.copy()
    nav2[5:8, :] = False  # the top band is too close to something to stand on
    top = [f for f in detect_frontiers(explored, explored, nav2, min_size_cells=3) if (5, 9) in {tuple(c) for c in f.cells}]
    assert top and nav2[top[0].target] and top[0].target[0] >= 8
    assert detect_frontiers(np.zeros((5, 5), bool), np.zeros((5, 5), bool), np.zeros((5, 5), bool)) == []


def test_planner_goes_around_an_obstacle():
    trav = np.ones((30, 30), bool)
    trav[5:25, 15] = False  # a wall with gaps at both ends
    goal = np.zeros_like(trav)
    goal[15, 25] = True
    f = geodesic_field(trav, goal, 0.1)
    path = descend(f, (15, 5))
    assert path[0] == (15, 5) and path[-1] == (15, 25)
    assert all(trav[r, c] for r, c in path)
    assert min(r for r, _ in path) <= 5 or max(r for r, _ in path) >= 24  # around one end of the wall
    # hand-computed: straight would be 2.0 m; around the wall end (row 4 or 25) about 2 * hypot(1.0, 1.1)
    assert f[15, 5] == pytest.approx(2 * math.hypot(1.0, 1.05), rel=0.05)
    assert math.isinf(geodesic_field(trav, np.zeros_like(trav), 0.1)[0, 0])


def test_path_to_action():
    assert path_to_action(np.zeros(2), 0.0, np.array([1.0, 0.05]), math.radians(30)) is Action.MOVE_FORWARD
    assert path_to_action(np.zeros(2), 0.0, np.array([0.0, 1.0]), math.radians(30)) is Action.TURN_LEFT
    assert path_to_action(np.zeros(2), 0.0, np.array([0.0, -1.0]), math.radians(30)) is Action.TURN_RIGHT


def test_value_map_fusion_hand_computed():
    frame = GridFrame((0.0, 0.0), 1.0, (3, 3))
    vm = ValueMap(frame)
    vis = np.zeros((3, 3), bool)
    vis[1, 2] = True  # cell centre (2.5, 1.5); camera at (0.5, 1.5) looking +x: on the axis, c = 1
    vm.update(np.nonzero(vis), np.array([0.5, 1.5]), 0.0, math.pi / 2, 0.3)
    assert vm.value[1, 2] == pytest.approx(0.3) and vm.confidence[1, 2] == pytest.approx(1.0)
    vm.update(np.nonzero(vis), np.array([0.5, 1.5]), 0.0, math.pi / 2, 0.6)
    assert vm.value[1, 2] == pytest.approx(0.45) and vm.confidence[1, 2] == pytest.approx(1.0)
    vis2 = np.zeros((3, 3), bool)
    vis2[2, 2] = True  # centre (2.5, 2.5): 45 deg off-axis with hfov 90 -> c = cos(pi/2)^2 = 0
    vm.update(np.nonzero(vis2), np.array([0.5, 0.5]), 0.0, math.pi / 2, 0.9)
    assert vm.confidence[2, 2] == pytest.approx(0.0, abs=1e-6)
