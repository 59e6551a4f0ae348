"""Change detection, registration and part segmentation on before/after pairs the tests make themselves."""

import numpy as np
import pytest
from scipy.spatial import cKDTree
from scipy.spatial.transform import Rotation

from embodied.articulation import (ArticulationEstimator, Interaction, MultiView, RGBDView, register_rigid,
                                   fuse_views)
from embodied.articulation.metrics import sample_surface
from embodied.errors import ObservationError
from sims.articulated import ArticulatedSimulator, ObjectConfig, generate_object


def _box_points(lo, hi, n, rng):
    """Points on the surface of an axis-aligned box."""
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    p = rng.uniform(lo, hi, (n, 3))
    ax = rng.integers(3, size=n)
    side = rng.integers(2, size=n)
    p[np.arange(n), ax] = np.where(side, hi[ax], lo[ax])
    return p


def test_register_rigid_recovers_a_known_motion():
    rng = np.random.default_rng(1)
    src = np.concatenate([_box_points([0, 0, 0], [0.02, 0.4, 0.6], 3000, rng),
                          _box_points([0.02, 0.15, 0.4], [0.05, 0.25, 0.42], 300, rng)])  # a door with a handle
    R = Rotation.from_rotvec([0, 0, np.radians(20)]).as_matrix()
    t = (np.eye(3) - R) @ np.array([0.0, 0.0, 0.0])
    tgt = src @ R.T + t
    import open3d as o3d

    pc = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(tgt))
    pc.estimate_normals(o3d.geometry.KDTreeSearchParamKNN(16))
    T, fit, rmse = register_rigid(src, tgt, np.asarray(pc.normals), 0.01)
    assert fit > 0.95 and rmse < 2e-3  # fitness on random subsets of both clouds
    assert np.degrees(np.arccos(np.clip((np.trace(T[:3, :3].T @ R) - 1) / 2, -1, 1))) < 0.1
    assert np.abs(src @ T[:3, :3].T + T[:3, 3] - tgt).max() < 1e-3


def _one_drawer():
    model = generate_object(3, ObjectConfig(kinds=("drawers",), max_parts=1))
    assert len(model.movable_joints) == 1
    return model


def _handle_point(part):
    v = part.mesh.vertices
    return v[v[:, 0] > v[:, 0].max() - 1e-4].mean(0)  # the face of the handle bar, proud of the front


@pytest.fixture(scope="module")
def drawer_pair():
    model = _one_drawer()
    sim = ArticulatedSimulator(model)
    before = sim.observe()
    part = sim.truth()[0]
    inter = Interaction("pull", _handle_point(part), [1, 0, 0], [1, 0, 0], 0.12)
    res = sim.interact(inter)
    return model, sim, before, sim.observe(), inter, res, part


def test_a_pulled_drawer_is_segmented_and_its_motion_measured(drawer_pair):
    model, sim, before, after, inter, res, part = drawer_pair
    q = sim.joint_positions()[part.joint]
    assert res.touched and q > 0.08
    est = ArticulationEstimator(before)
    rep = est.update(after, inter)
    assert rep.moved and rep.new_part and rep.part == 0
    assert rep.translation_m == pytest.approx(q, abs=0.005)
    assert rep.angle_deg < 1.0
    # every point claimed for the part lies on the drawer (canonical state), none on the body
    gt = cKDTree(sample_surface(part.mesh.vertices, part.mesh.faces, 0.004))
    pts = est.parts[0].points
    assert len(pts) > 300
    assert np.mean(gt.query(pts)[0] < 0.015) > 0.97
    # the labels of the first frame's cloud: points on the drawer front are part, the body is base
    points, labels = est.segmentation()
    first = est.canonical_cloud0
    drawer_link = sim.link_names.index(part.links[0])
    on_drawer = first.link_id == drawer_link
    near_part = cKDTree(points[labels == 0]).query(first.points)[0] < 0.01
    near_base = cKDTree(points[labels == -1]).query(first.points)[0] < 0.004
    assert np.mean(near_part[on_drawer]) > 0.9
    assert np.mean(near_base[~on_drawer]) > 0.9
    assert est.parts[0].joint.type == "prismatic"


def test_an_interaction_that_moves_nothing_reveals_nothing(drawer_pair):
    model, sim, before, after, inter, res, part = drawer_pair
    est = ArticulationEstimator(after)
    rep = est.update(after, Interaction("push", inter.point_m, [-1, 0, 0], [1, 0, 0], 0.1))
    assert not rep.moved and rep.reason == "nothing moved" and not est.parts


def test_fusion_rejects_nan_depth(drawer_pair):
    _, _, before, *_ = drawer_pair
    v = before.views[0]
    bad = v.depth.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ObservationError, match="finite"):
        fuse_views(MultiView((RGBDView(v.rgb, bad, v.intrinsics, v.T_world_cam),)))


def test_fusion_keeps_one_point_per_voxel(drawer_pair):
    _, _, before, *_ = drawer_pair
    cloud = fuse_views(before, voxel_m=0.01)
    keys = np.floor(cloud.points / 0.01).astype(int)
    assert len(np.unique(keys, axis=0)) == len(cloud)
    assert np.allclose(np.linalg.norm(cloud.normals, axis=1), 1.0, atol=1e-6)
