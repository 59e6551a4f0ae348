"""Reading scanned scene meshes: frames, appearance, semantics and the errors (meshes made here)."""

import json
import warnings

import numpy as np
import pytest

from embodied.errors import ConfigError
from sims.raycast.scan import is_scan_path, load_scan, scene_name

trimesh = pytest.importorskip("trimesh")
Image = pytest.importorskip("PIL.Image")


def quad_mesh(visual=None):
    """A unit quad in the z = 0 plane of the file's frame."""
    v = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], float)
    return trimesh.Trimesh(v, [[0, 1, 2], [0, 2, 3]], visual=visual, process=False)


def test_names_and_suffixes():
    assert scene_name("hm3d/val/00800-TEEsavR23oF/TEEsavR23oF.basis.glb") == "TEEsavR23oF"
    assert is_scan_path("a/B.PLY") and is_scan_path("x.basis.glb") and not is_scan_path("house-000001")


def test_y_up_glb_lands_z_up(tmp_path):
    m = trimesh.Trimesh([[1.0, 2.0, 3.0], [2.0, 2.0, 3.0], [1.0, 2.0, 4.0]], [[0, 1, 2]], process=False)
    path = tmp_path / "s.glb"
    path.write_bytes(trimesh.Scene(m).export(file_type="glb"))
    scene = load_scan(path)
    # habitat's (x, y, z) is our (-z, -x, y)
    np.testing.assert_allclose(scene.vertices[0], (-3.0, -1.0, 2.0), atol=1e-6)
    assert scene.scanned and scene.generator["up_axis"] == "y"
    np.testing.assert_allclose(load_scan(path, up_axis="z").vertices[0], (1.0, 2.0, 3.0), atol=1e-6)
    with pytest.raises(ConfigError, match="up_axis"):
        load_scan(path, up_axis="x")


def test_ply_vertex_colours(tmp_path):
    colours = np.array([[255, 0, 0, 255], [0, 255, 0, 255], [0, 0, 255, 255], [9, 9, 9, 255]], np.uint8)
    m = quad_mesh()
    m.visual.vertex_colors = colours
    path = tmp_path / "s.ply"
    path.write_bytes(m.export(file_type="ply"))
    scene = load_scan(path)
    assert scene.generator["up_axis"] == "z" and scene.face_uv is None
    np.testing.assert_array_equal(scene.face_corner_rgb[0], colours[[0, 1, 2], :3])
    np.testing.assert_array_equal(scene.face_corner_rgb[1], colours[[0, 2, 3], :3])


def test_textured_glb_keeps_uvs_and_image(tmp_path):
    img = np.zeros((64, 64, 3), np.uint8)
    img[:32, :32] = (0, 255, 0)  # the image's top-left quarter
    uv = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], float)
    material = trimesh.visual.material.PBRMaterial(baseColorTexture=Image.fromarray(img))
    m = quad_mesh(trimesh.visual.TextureVisuals(uv=uv, material=material))
    path = tmp_path / "t.glb"
    path.write_bytes(trimesh.Scene(m).export(file_type="glb"))
    scene = load_scan(path, up_axis="z")
    assert len(scene.textures) == 1 and scene.face_texture.tolist() == [0, 0]
    np.testing.assert_array_equal(scene.textures[0], img)
    np.testing.assert_allclose(scene.face_uv[0], uv[[0, 1, 2]], atol=1e-6)
    from sims.raycast.render import sample_texture

    # trimesh's convention: v up from the image's bottom; uv (0.1, 0.9) is the top-left texel block
    np.testing.assert_allclose(sample_texture(scene.textures[0], np.array([[0.1, 0.9]], np.float32))[0], (0, 255, 0))


def test_obj_with_a_missing_texture_warns_and_loads_untextured(tmp_path):
    (tmp_path / "m.obj").write_text("mtllib m.mtl\nv 0 0 0\nv 1 0 0\nv 1 1 0\nvt 0 0\nvt 1 0\nvt 1 1\n"
                                    "usemtl mat\nf 1/1 2/2 3/3\n")
    (tmp_path / "m.mtl").write_text("newmtl mat\nKd 0.8 0.2 0.2\nmap_Kd gone.png\n")
    with pytest.warns(UserWarning, match="gone.png"):
        scene = load_scan(tmp_path / "m.obj")
    assert scene.face_texture is None and len(scene.faces) == 1
    np.testing.assert_array_equal(scene.face_albedo[0], (204, 51, 51))


def _hm3d_pair(tmp_path):
    """A render mesh with two quads (a chair at x in [0, 1], a wall at x in [2, 3]) and its HM3D semantics."""
    render = trimesh.Scene()
    render.add_geometry(trimesh.util.concatenate([quad_mesh(), quad_mesh().apply_translation([2, 0, 0])]),
                        node_name="mesh")
    (tmp_path / "S.basis.glb").write_bytes(render.export(file_type="glb"))
    sem = trimesh.util.concatenate([quad_mesh(), quad_mesh().apply_translation([2, 0, 0])])
    sem.visual.vertex_colors = np.array([[0x12, 0x34, 0x56, 255]] * 4 + [[0xAB, 0xCD, 0xEF, 255]] * 4, np.uint8)
    (tmp_path / "S.semantic.glb").write_bytes(trimesh.Scene(sem).export(file_type="glb"))
    (tmp_path / "S.semantic.txt").write_text('HM3D Semantic Annotations\n7,123456,"chair",1\n8,ABCDEF,"wall",1\n')
    return tmp_path / "S.basis.glb"


def test_hm3d_semantics_give_instances_and_categories(tmp_path):
    scene = load_scan(_hm3d_pair(tmp_path), up_axis="z")
    assert [o.category for o in scene.objects] == ["chair"] and scene.objects[0].instance_id == 7
    assert sorted(np.unique(scene.face_instance).tolist()) == [-1, 7]  # the wall is structure
    o = scene.objects[0]
    np.testing.assert_allclose(o.bbox_min_m, (0, 0, 0), atol=1e-6)
    np.testing.assert_allclose(o.bbox_max_m, (1, 1, 0), atol=1e-6)
    assert o.attributes["raw_category"] == "chair"


def test_bad_hm3d_line_is_named(tmp_path):
    path = _hm3d_pair(tmp_path)
    (tmp_path / "S.semantic.txt").write_text('HM3D Semantic Annotations\n7,123456,"chair",1\nseven,ZZ,chair\n')
    with pytest.raises(ConfigError, match=r"S\.semantic\.txt: line 3"):
        load_scan(path)
    (tmp_path / "S.semantic.txt").write_text('1,123456,"chair",1\n')
    with pytest.raises(ConfigError, match="not an HM3D semantics file"):
        load_scan(path)


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_hand_written_mapping_by_node_name(tmp_path, fmt):
    s = trimesh.Scene()
    s.add_geometry(quad_mesh(), node_name="floorplan", geom_name="floorplan")
    s.add_geometry(quad_mesh().apply_translation([3, 0, 0]), node_name="Couch.001", geom_name="Couch.001")
    path = tmp_path / "room.glb"
    path.write_bytes(s.export(file_type="glb"))
    if fmt == "json":
        (tmp_path / "room.semantic.json").write_text(json.dumps({"Couch.001": "Couch"}))
    else:
        (tmp_path / "room.semantic.csv").write_text("node,category\nCouch.001,Couch\n")
    scene = load_scan(path, up_axis="z")
    assert [(o.instance_id, o.category) for o in scene.objects] == [(1, "sofa")]  # habitat's table: couch -> sofa
    np.testing.assert_allclose(scene.objects[0].bbox_min_m[:2], (3, 0), atol=1e-6)
    scene = load_scan(path, up_axis="z", category_map={"couch": "bench"})
    assert scene.objects[0].category == "bench"


def test_errors_name_the_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_scan(tmp_path / "nope.glb")
    (tmp_path / "bad.glb").write_bytes(b"not a glb at all")
    with pytest.raises(ConfigError, match="bad.glb"):
        load_scan(tmp_path / "bad.glb")
    (tmp_path / "x.stl").write_text("solid")
    with pytest.raises(ConfigError, match=r"\.glb, \.gltf, \.ply, \.obj"):
        load_scan(tmp_path / "x.stl")
    pc = trimesh.PointCloud(np.random.default_rng(0).random((10, 3)))
    (tmp_path / "empty.ply").write_bytes(pc.export(file_type="ply"))
    with pytest.raises(ConfigError, match="empty.ply: the mesh is empty"):
        load_scan(tmp_path / "empty.ply")
    (tmp_path / "nan.obj").write_text("v 0 0 0\nv 1 0 nan\nv 0 1 0\nf 1 2 3\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ConfigError, match="nan.obj: 1 vertex positions are NaN"):
            load_scan(tmp_path / "nan.obj")
