"""URDF loading: the two real assets (PartNet-Mobility 45940, ReplicaCAD cabinet), a hand-written URDF
with known poses, scale and colours, the error messages, and URDF discovery."""

from __future__ import annotations

import re
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from embodied.errors import ConfigError
from sims.articulated.urdf import find_urdfs, load_urdf

ASSETS = Path(__file__).resolve().parents[2].parent / "shared" / "assets" / "articulated"
PARTNET = ASSETS / "partnet_45940_storagefurniture"
REPLICA = ASSETS / "replicacad_cabinet_habitatsim"


def _need(folder: Path) -> None:
    if not folder.is_dir():
        pytest.skip(f"asset folder {folder} is absent (shared assets not installed)")


def _rot(axis: int, a: float) -> np.ndarray:
    """(4, 4) rotation by ``a`` rad about coordinate axis 0 (X), 1 (Y) or 2 (Z)."""
    c, s = np.cos(a), np.sin(a)
    R = [np.array([[1, 0, 0], [0, c, -s], [0, s, c]]),
         np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]]),
         np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])][axis]
    T = np.eye(4)
    T[:3, :3] = R
    return T


def _trans(xyz) -> np.ndarray:
    T = np.eye(4)
    T[:3, 3] = xyz
    return T


# --- real assets ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def partnet():
    _need(PARTNET)
    t0 = time.perf_counter()
    model = load_urdf(PARTNET / "mobility.urdf")
    return model, time.perf_counter() - t0


@pytest.fixture(scope="module")
def replica():
    _need(REPLICA)
    return load_urdf(REPLICA / "cabinet.urdf")


def test_partnet_joints(partnet):
    model, _ = partnet
    types = sorted(j.type for j in model.movable_joints)
    assert types == ["prismatic", "revolute", "revolute"]
    for j in model.movable_joints:
        assert np.linalg.norm(j.axis) == pytest.approx(1.0, abs=1e-12)
    limits = {j.name: (j.lower, j.upper) for j in model.movable_joints}
    assert limits["joint_0"] == pytest.approx((0.0, np.deg2rad(170)))
    assert limits["joint_2"] == pytest.approx((0.0, 0.48))
    assert model.meta["up_axis"] == "z" and model.T_world_root == pytest.approx(np.eye(4))
    # the fixed base joint has rpy (pi/2, 0, -pi/2): Rz(-pi/2) @ Rx(pi/2)
    base = next(j for j in model.joints if j.type == "fixed")
    assert base.T_parent_joint == pytest.approx(_rot(2, -np.pi / 2) @ _rot(0, np.pi / 2), abs=1e-12)


def test_partnet_geometry(partnet):
    model, seconds = partnet
    assert seconds < 10.0
    assert model.links[0].name == "base" and model.links[0].visual_mesh() is None
    with_visuals = [lk for lk in model.links if lk.visuals]
    assert len(with_visuals) == 4
    for lk in with_visuals:
        mesh = lk.visual_mesh()
        assert len(mesh.faces) > 100
        assert mesh.vertices.dtype == np.float32 and mesh.faces.dtype == np.int32 and mesh.face_rgb.dtype == np.uint8
        assert mesh.faces.max() < len(mesh.vertices)
        assert len(lk.collisions) == len(lk.visuals)
        assert all(g.kind == "mesh" and len(g.faces) >= 2 for g in lk.collisions)
    rgb = np.concatenate([lk.visual_mesh().face_rgb for lk in with_visuals])
    assert len(np.unique(rgb, axis=0)) > 10  # sampled from the textures, not one flat colour
    lo, hi = model.bounds_m()
    ext = hi - lo
    assert np.isfinite(lo).all() and np.isfinite(hi).all()
    assert ((ext > 0.2) & (ext < 3.0)).all(), ext


def test_replicacad_cabinet(replica):
    model = replica
    assert model.meta["up_axis"] == "y"
    assert model.T_world_root[:3, :3] @ np.array([0.0, 1.0, 0.0]) == pytest.approx([0.0, 0.0, 1.0])
    slides = {j.name: j for j in model.movable_joints}
    assert sorted(slides) == ["left_slide", "right_slide"]
    assert all(j.type == "prismatic" for j in slides.values())
    assert (slides["left_slide"].lower, slides["left_slide"].upper) == pytest.approx((0.0, 0.8))
    assert (slides["right_slide"].lower, slides["right_slide"].upper) == pytest.approx((-0.76, 0.0))
    assert slides["left_slide"].damping == pytest.approx(0.01) and slides["left_slide"].friction == pytest.approx(0.01)
    body = model.link("body")
    assert body.mass_kg == pytest.approx(25.0)
    assert [g.kind for g in body.collisions] == ["box"] * 5
    assert body.collisions[0].size_m == pytest.approx([1.58, 0.036, 0.43])
    assert body.collisions[0].T_link_geom[:3, 3] == pytest.approx([-0.0348, 0.743779, 0.0])
    lo, hi = model.bounds_m()
    assert np.isfinite(lo).all() and np.isfinite(hi).all()
    assert hi[2] - lo[2] > 0.3
    assert load_urdf(REPLICA / "cabinet.urdf", up_axis="z").T_world_root == pytest.approx(np.eye(4))


def test_find_urdfs_assets():
    _need(PARTNET)
    _need(REPLICA)
    found = find_urdfs([ASSETS])
    assert PARTNET / "mobility.urdf" in found
    assert REPLICA / "cabinet.urdf" in found
    assert find_urdfs([PARTNET]) == [PARTNET / "mobility.urdf"]


# --- a hand-written URDF --------------------------------------------------------------------------

CUBE_OBJ = """mtllib part.mtl
v 0 0 0
v 1 0 0
v 1 1 0
v 0 1 0
v 0 0 1
v 1 0 1
v 1 1 1
v 0 1 1
vt 0.2 0.7
vt 0.3 0.8
vt 0.25 0.75
vt 0.7 0.2
vt 0.8 0.3
vt 0.75 0.25
usemtl textured
f 1/1 3/2 2/3
f 1/4 4/5 3/6
usemtl plain
f 5 6 7
f 5 7 8
f 1 2 6
f 1 6 5
f 2 3 7
f 2 7 6
f 3 4 8
f 3 8 7
f 4 1 5
f 4 5 8
"""

MTL = """newmtl textured
Kd 1 1 1
map_Kd tex.png

newmtl plain
Kd 0.2 0.4 0.6
"""

# 2x2 texture, row 0 is the top of the image: uv (0.25, 0.75) is its top-left texel, (0.75, 0.25) bottom-right
TEXELS = np.array([[[250, 0, 0], [0, 250, 0]], [[0, 0, 250], [250, 250, 0]]], np.uint8)

RPY = (0.3, -0.2, 0.5)
XYZ = (0.1, 0.2, 0.3)

URDF = f"""<?xml version="1.0"?>
<robot name="tiny">
  <material name="red"><color rgba="1 0 0 1"/></material>
  <link name="base">
    <inertial><mass value="3.5"/></inertial>
    <visual>
      <origin xyz="0 0 0.05"/>
      <geometry><box size="0.4 0.2 0.1"/></geometry>
      <material name="red"/>
    </visual>
    <collision><geometry><box size="0.4 0.2 0.1"/></geometry></collision>
  </link>
  <link name="arm">
    <visual>
      <origin xyz="1 0 0" rpy="0 0 0"/>
      <geometry><mesh filename="package://tiny/meshes/part.obj" scale="2, 3, 4"/></geometry>
    </visual>
    <visual><geometry><cylinder radius="0.05" length="0.5"/></geometry></visual>
    <collision><geometry><mesh filename="meshes/part.obj" scale="2 3 4"/></geometry></collision>
    <collision><geometry><sphere radius="0.1"/></geometry></collision>
  </link>
  <link name="wheel"/>
  <joint name="hinge" type="revolute">
    <origin xyz="{' '.join(map(str, XYZ))}" rpy="{' '.join(map(str, RPY))}"/>
    <parent link="base"/>
    <child link="arm"/>
    <axis xyz="0 0 2"/>
    <limit lower="-1" upper="1.5"/>
    <dynamics damping="0.7"/>
  </joint>
  <joint name="spin" type="continuous">
    <parent link="arm"/>
    <child link="wheel"/>
  </joint>
</robot>
"""


@pytest.fixture()
def tiny(tmp_path):
    (tmp_path / "meshes").mkdir()
    (tmp_path / "meshes" / "part.obj").write_text(CUBE_OBJ)
    (tmp_path / "meshes" / "part.mtl").write_text(MTL)
    Image.fromarray(TEXELS).save(tmp_path / "meshes" / "tex.png")
    path = tmp_path / "tiny.urdf"
    path.write_text(URDF)
    return path


def test_tiny_model(tiny):
    model = load_urdf(tiny)
    assert model.name == "tiny" and model.source == str(tiny) and model.meta == {"urdf": str(tiny), "up_axis": "z"}
    assert [lk.name for lk in model.links] == ["base", "arm", "wheel"]
    assert model.link("base").mass_kg == pytest.approx(3.5) and model.link("arm").mass_kg is None
    hinge, spin = model.joints
    assert hinge.axis == pytest.approx([0.0, 0.0, 1.0])
    assert (hinge.lower, hinge.upper, hinge.damping, hinge.friction) == pytest.approx((-1.0, 1.5, 0.7, 1.0))  # friction: the model default
    assert spin.axis == pytest.approx([1.0, 0.0, 0.0]) and (spin.lower, spin.upper) == (-np.inf, np.inf)


def test_tiny_pose(tiny):
    model = load_urdf(tiny)
    q = 0.4
    r, p, y = RPY
    expected = _trans(XYZ) @ _rot(2, y) @ _rot(1, p) @ _rot(0, r) @ _rot(2, q)
    poses = model.link_poses({"hinge": q, "spin": 0.25})
    assert np.abs(poses["arm"] - expected).max() < 1e-9
    assert np.abs(poses["wheel"] - expected @ _rot(0, 0.25)).max() < 1e-9


def test_tiny_visuals(tiny):
    arm = load_urdf(tiny).link("arm")
    cube, cylinder = arm.visuals
    # the unit cube scaled by (2, 3, 4), then moved by the visual origin (1, 0, 0)
    assert cube.vertices.min(0) == pytest.approx([1.0, 0.0, 0.0])
    assert cube.vertices.max(0) == pytest.approx([3.0, 3.0, 4.0])
    assert len(cube.faces) == 12
    # two textured faces: UV centroids (0.25, 0.75) -> the top-left texel, (0.75, 0.25) -> the bottom-right
    # one; ten faces of Kd 0.2 0.4 0.6
    counts = Counter(map(tuple, cube.face_rgb.tolist()))
    assert counts == {tuple(TEXELS[0, 0].tolist()): 1, tuple(TEXELS[1, 1].tolist()): 1, (51, 102, 153): 10}
    assert cylinder.vertices.min(0) == pytest.approx([-0.05, -0.05, -0.25], abs=1e-6)
    assert cylinder.vertices.max(0) == pytest.approx([0.05, 0.05, 0.25], abs=1e-6)
    assert set(map(tuple, cylinder.face_rgb.tolist())) == {(180, 180, 180)}
    base = load_urdf(tiny).link("base").visuals[0]
    assert base.vertices.min(0) == pytest.approx([-0.2, -0.1, 0.0], abs=1e-6)
    assert set(map(tuple, base.face_rgb.tolist())) == {(255, 0, 0)}


def test_tiny_collisions(tiny):
    model = load_urdf(tiny)
    box = model.link("base").collisions[0]
    assert box.kind == "box" and box.size_m == pytest.approx([0.4, 0.2, 0.1])
    hull, sphere = model.link("arm").collisions
    assert hull.kind == "mesh" and len(hull.vertices) == 8 and len(hull.faces) == 12
    assert hull.vertices.max(0) == pytest.approx([2.0, 3.0, 4.0])
    assert sphere.kind == "mesh" and np.linalg.norm(sphere.vertices, axis=1) == pytest.approx(0.1, rel=1e-5)


def test_up_axis_choice(tiny):
    model = load_urdf(tiny, up_axis="y")
    assert model.meta["up_axis"] == "y"
    assert model.T_world_root == pytest.approx(_rot(0, np.pi / 2), abs=1e-12)
    lo, hi = model.bounds_m()
    lo_z, hi_z = load_urdf(tiny).bounds_m()
    assert hi[2] == pytest.approx(hi_z[1], abs=1e-6)  # the file's +Y is the world's +Z
    with pytest.raises(ConfigError, match="up_axis='x'"):
        load_urdf(tiny, up_axis="x")


# --- errors ---------------------------------------------------------------------------------------


def _raises(path: Path, pattern: str, **kwargs) -> None:
    """load_urdf(path) raises a ConfigError matching ``pattern`` that names the file."""
    with pytest.raises(ConfigError, match=pattern) as info:
        load_urdf(path, **kwargs)
    assert str(path) in str(info.value)


def _urdf(tmp_path: Path, body: str, name: str = "bad.urdf") -> Path:
    path = tmp_path / name
    path.write_text(f'<?xml version="1.0"?>\n<robot name="bad">{body}</robot>\n')
    return path


def _mesh_link(filename: str) -> str:
    return f'<link name="a"><visual><geometry><mesh filename="{filename}"/></geometry></visual></link>'


def test_error_unparsable(tmp_path):
    path = tmp_path / "broken.urdf"
    path.write_text('<robot name="x"><link name="a">')
    _raises(path, "not valid XML")
    path.write_text('<sdf version="1.6"/>')
    _raises(path, "not <robot>")


def test_error_missing_mesh(tmp_path):
    _raises(_urdf(tmp_path, _mesh_link("meshes/nope.obj")), r"link 'a' visual: mesh file 'meshes/nope.obj' not found")


def test_error_mesh_escapes(tmp_path):
    inner = tmp_path / "obj"
    inner.mkdir()
    (tmp_path / "outside.obj").write_text(CUBE_OBJ)
    _raises(_urdf(inner, _mesh_link("../outside.obj")), re.escape("mesh path '../outside.obj' escapes the object's folder"))


def test_error_joint_type(tmp_path):
    body = ('<link name="a"/><link name="b"/><joint name="free" type="floating">'
            '<parent link="a"/><child link="b"/></joint>')
    _raises(_urdf(tmp_path, body), "joint 'free' has unsupported type 'floating'")


def test_error_bad_numbers_and_axis(tmp_path):
    body = '<link name="a"><visual><geometry><box size="1 2"/></geometry></visual></link>'
    _raises(_urdf(tmp_path, body), "size='1 2'.* must be 3 finite numbers")
    body = ('<link name="a"/><link name="b"/><joint name="j" type="revolute"><axis xyz="0 0 0"/>'
            '<parent link="a"/><child link="b"/></joint>')
    _raises(_urdf(tmp_path, body, "zero.urdf"), "joint 'j': the axis is zero")


def test_error_missing_urdf(tmp_path):
    _raises(tmp_path / "absent.urdf", "no such URDF file")


# --- discovery ------------------------------------------------------------------------------------


def test_find_urdfs_rules(tmp_path):
    (tmp_path / "a" / "x").mkdir(parents=True)
    (tmp_path / "b").mkdir()
    for rel in ("a/x/mobility.urdf", "a/x/mobility_cvx.urdf", "b/two.urdf", "b/one.urdf"):
        (tmp_path / rel).write_text("<robot/>")
    assert find_urdfs([tmp_path]) == [tmp_path / "a/x/mobility.urdf", tmp_path / "b/one.urdf", tmp_path / "b/two.urdf"]
    assert find_urdfs([tmp_path / "a" / "x"]) == [tmp_path / "a/x/mobility.urdf"]
    assert find_urdfs([tmp_path / "b/two.urdf", tmp_path / "b"]) == [tmp_path / "b/two.urdf", tmp_path / "b/one.urdf"]
    assert find_urdfs(tmp_path / "b/one.urdf") == [tmp_path / "b/one.urdf"]


def test_find_urdfs_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match=re.escape(f"{tmp_path / 'empty'}: the folder holds no .urdf file")):
        find_urdfs([tmp_path / "empty"])
    with pytest.raises(ConfigError, match="no such file or folder"):
        find_urdfs([tmp_path / "missing"])
    (tmp_path / "mesh.obj").write_text(CUBE_OBJ)
    with pytest.raises(ConfigError, match="not a .urdf file"):
        find_urdfs([tmp_path / "mesh.obj"])
