"""URDF export round trip: the written model loads into MuJoCo and into our URDF reader and moves as discovered."""

import json

import numpy as np
import pytest

from embodied.articulation import JointEstimate, export_urdf, points_to_mesh
from embodied.errors import ConfigError
from sims.articulated import load_urdf


def _slab(lo, hi, step=0.01):
    g = np.stack(np.meshgrid(*[np.arange(a, b + 1e-9, step) for a, b in zip(lo, hi)], indexing="ij"), -1)
    return g.reshape(-1, 3)


@pytest.fixture
def exported(tmp_path):
    base = _slab([-0.2, -0.3, 0.0], [0.2, 0.3, 0.02])
    door = _slab([0.2, -0.3, 0.05], [0.22, 0.0, 0.5])
    drawer = _slab([0.0, 0.05, 0.05], [0.22, 0.3, 0.15])
    hinge = JointEstimate("revolute", np.array([0.0, 0.0, -1.0]), np.array([0.21, -0.3, 0.3]), 0.0, 1.2)
    slide = JointEstimate("prismatic", np.array([1.0, 0.0, 0.0]), drawer.mean(0), 0.0, 0.25)
    path = export_urdf(tmp_path, "obj", base, [(door, hinge), (drawer, slide)], {"note": "test"})
    return path, [(door, hinge), (drawer, slide)]


def test_export_writes_urdf_meshes_and_json(exported):
    path, parts = exported
    doc = json.loads(path.with_suffix(".json").read_text())
    assert doc["note"] == "test" and [j["type"] for j in doc["joints"]] == ["revolute", "prismatic"]
    assert (path.parent / "meshes" / "part_0.obj").stat().st_size > 0


def test_exported_urdf_moves_in_mujoco_as_discovered(exported):
    import mujoco

    path, parts = exported
    m = mujoco.MjModel.from_xml_path(str(path))
    d = mujoco.MjData(m)
    assert m.njnt == 2 and m.nmesh >= 3
    for k, (pts, joint) in enumerate(parts):
        q = 0.7 * joint.upper
        jid = m.joint(f"joint_{k}").id
        mujoco.mj_resetData(m, d)
        mujoco.mj_forward(m, d)
        body = m.body(f"part_{k}").id
        p0 = d.xpos[body] + d.xmat[body].reshape(3, 3) @ np.zeros(3)  # the link origin at rest
        d.qpos[m.jnt_qposadr[jid]] = q
        mujoco.mj_forward(m, d)
        T = joint.transform(q)
        probe = pts[::50]
        local = probe - p0  # link frame = world-aligned at the joint origin
        moved_mj = local @ d.xmat[body].reshape(3, 3).T + d.xpos[body]
        moved_est = probe @ T[:3, :3].T + T[:3, 3]
        assert np.abs(moved_mj - moved_est).max() < 1e-5


def test_exported_urdf_reads_back_with_the_same_joints(exported):
    path, parts = exported
    model = load_urdf(path)
    truth = model.parts_truth()
    assert [t.type for t in truth] == ["revolute", "prismatic"]
    for t, (_, j) in zip(truth, parts):
        assert np.allclose(t.axis, j.axis, atol=1e-8)
        assert (t.lower, t.upper) == pytest.approx((j.lower, j.upper), abs=1e-6)
    assert np.allclose(truth[0].pivot_m, parts[0][1].pivot_m, atol=1e-6)


def test_points_to_mesh_is_closed_and_covers_the_points():
    import trimesh

    pts = _slab([0, 0, 0], [0.1, 0.2, 0.05])
    v, f = points_to_mesh(pts, 0.01)
    mesh = trimesh.Trimesh(v, f)
    assert mesh.is_watertight
    lo, hi = v.min(0), v.max(0)
    assert np.all(lo <= pts.min(0)) and np.all(hi >= pts.max(0))
    with pytest.raises(ConfigError, match="empty"):
        points_to_mesh(np.zeros((0, 3)))
