"""sims.raycast.scan.load_scan: scanned meshes (written here with trimesh, or as raw glTF) read as Scenes:
frames, appearance, HM3D and hand-written semantics, and errors that name the file."""

import io
import json
import struct
import warnings

import numpy as np
import pytest

from embodied.errors import ConfigError
from sims.raycast.scan import SCAN_SUFFIXES, STRUCTURE_CATEGORIES, is_scan_path, load_scan

trimesh = pytest.importorskip("trimesh")
Image = pytest.importorskip("PIL.Image")


# ------------------------------------------------------------------------------------------ helpers
def write_glb(path, positions, faces, *, colours_linear=None, uv_gltf=None, png=None, node="mesh"):
    """A minimal glTF 2.0 binary written by hand (no trimesh on the way out): float positions, uint32
    indices, optional float COLOR_0 (linear, as glTF stores it), TEXCOORD_0 in glTF's own convention
    (origin at the image's top-left) and an embedded PNG base colour texture."""
    blobs, views, accessors = [], [], []

    def blob(data):
        views.append({"buffer": 0, "byteOffset": sum(len(b) for b in blobs), "byteLength": len(data)})
        blobs.append(data + b"\0" * (-len(data) % 4))
        return len(views) - 1

    def accessor(arr, component, kind, **extra):
        accessors.append({"bufferView": blob(arr.tobytes()), "componentType": component, "count": len(arr),
                          "type": kind, **extra})
        return len(accessors) - 1

    pos = np.asarray(positions, np.float32)
    attributes = {"POSITION": accessor(pos, 5126, "VEC3", min=pos.min(0).tolist(), max=pos.max(0).tolist())}
    indices = accessor(np.asarray(faces, np.uint32).reshape(-1), 5125, "SCALAR")
    if colours_linear is not None:
        attributes["COLOR_0"] = accessor(np.asarray(colours_linear, np.float32), 5126, "VEC3")
    if uv_gltf is not None:
        attributes["TEXCOORD_0"] = accessor(np.asarray(uv_gltf, np.float32), 5126, "VEC2")
    material = {"pbrMetallicRoughness": {"baseColorFactor": [1.0, 1.0, 1.0, 1.0]}}
    gltf = {"asset": {"version": "2.0"}, "scene": 0, "scenes": [{"nodes": [0]}], "nodes": [{"mesh": 0, "name": node}],
            "meshes": [{"primitives": [{"attributes": attributes, "indices": indices, "material": 0}]}],
            "materials": [material], "accessors": accessors, "bufferViews": views}
    if png is not None:
        gltf["images"] = [{"bufferView": blob(png), "mimeType": "image/png"}]
        gltf["textures"] = [{"source": 0}]
        material["pbrMetallicRoughness"]["baseColorTexture"] = {"index": 0}
    binary = b"".join(blobs)
    gltf["buffers"] = [{"byteLength": len(binary)}]
    js = json.dumps(gltf).encode()
    js += b" " * (-len(js) % 4)
    head = struct.pack("<4sII", b"glTF", 2, 28 + len(js) + len(binary)) + struct.pack("<I4s", len(js), b"JSON")
    path.write_bytes(head + js + struct.pack("<I4s", len(binary), b"BIN\0") + binary)
    return path


def png_bytes(img):
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG")
    return buf.getvalue()


def srgb_to_linear(rgb_u8):
    c = np.asarray(rgb_u8, np.float64) / 255.0
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def hex_rgb(code):
    return [(code >> 16) & 255, (code >> 8) & 255, code & 255]


def quad(x0=0.0, x1=1.0, y0=0.0, y1=1.0, z=0.0):
    v = np.array([[x0, y0, z], [x1, y0, z], [x1, y1, z], [x0, y1, z]], float)
    return trimesh.Trimesh(v, [[0, 1, 2], [0, 2, 3]], process=False)


def centroids(scene):
    return scene.vertices[scene.faces].mean(1)


def glb(path, *named_meshes):
    s = trimesh.Scene()
    for name, mesh in named_meshes:
        s.add_geometry(mesh, node_name=name, geom_name=name)
    path.write_bytes(s.export(file_type="glb"))
    return path


def no_warnings():
    ctx = warnings.catch_warnings()
    ctx.__enter__()
    warnings.simplefilter("error")
    return ctx


# ------------------------------------------------------------------------------------------ names, frames
def test_suffixes():
    assert SCAN_SUFFIXES == (".glb", ".gltf", ".ply", ".obj")
    assert all(is_scan_path(p) for p in ("TEEsavR23oF.basis.glb", "a/B.PLY", "c.Obj", "d.gltf", "x.basis.GLB"))
    assert not any(is_scan_path(p) for p in ("house-000001", "m.stl", "scene.glb.json", "glb"))
    assert {"wall", "floor", "ceiling", "unknown", ""} <= STRUCTURE_CATEGORIES and "chair" not in STRUCTURE_CATEGORIES


def test_y_up_glb_box_room_lands_z_up(tmp_path):
    # a 4 x 3 m room, 2.5 m high, floor at y = 0 in the file (Y up), placed by its node at (10, 0, 5)
    room = trimesh.creation.box(extents=(4.0, 2.5, 3.0))
    room.apply_translation([0.0, 1.25, 0.0])
    s = trimesh.Scene()
    s.add_geometry(room, node_name="room", transform=trimesh.transformations.translation_matrix([10.0, 0.0, 5.0]))
    path = tmp_path / "TEEsavR23oF.basis.glb"
    path.write_bytes(s.export(file_type="glb"))

    scene = load_scan(path)
    assert scene.scene_id == "TEEsavR23oF" and scene.scanned and scene.source_path == str(path)
    assert scene.vertices.dtype == np.float32 and scene.faces.dtype == np.int32 and scene.faces.shape == (12, 3)
    # the file's corner (x, y, z) = (12, 2.5, 6.5) is ours (-z, -x, y) = (-6.5, -12, 2.5)
    assert np.abs(scene.vertices - np.array([-6.5, -12.0, 2.5], np.float32)).max(1).min() < 1e-6
    np.testing.assert_allclose(scene.vertices.min(0), (-6.5, -12.0, 0.0), atol=1e-6)
    np.testing.assert_allclose(scene.vertices.max(0), (-3.5, -8.0, 2.5), atol=1e-6)
    assert scene.wall_height_m == pytest.approx(2.5, abs=1e-6)
    assert scene.generator == {"source": "scan", "up_axis": "y", "semantics": None, "triangles": 12, "textures": 0}
    assert scene.rooms == [] and scene.walls == [] and scene.doors == [] and scene.objects == []
    assert scene.face_instance.tolist() == [-1] * 12 and scene.face_pattern.tolist() == [0] * 12
    np.testing.assert_array_equal(scene.face_albedo, np.full((12, 3), 180, np.uint8))  # no colour: neutral grey
    assert scene.face_uv is None and scene.face_texture is None and scene.face_corner_rgb is None

    z_up = load_scan(path, up_axis="z")  # coordinates kept
    assert z_up.generator["up_axis"] == "z"
    np.testing.assert_allclose(z_up.vertices.max(0), (12.0, 2.5, 6.5), atol=1e-6)
    np.testing.assert_allclose(load_scan(path, up_axis="Y").vertices, scene.vertices)
    with pytest.raises(ConfigError, match="up_axis must be 'auto', 'y' or 'z'"):
        load_scan(path, up_axis="x")


def test_node_rotation_is_applied(tmp_path):
    # a triangle under a node rotated 90 degrees about the file's Y (up) axis and moved by (1, 0, 0)
    tri = trimesh.Trimesh([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], [[0, 1, 2]], process=False)
    T = trimesh.transformations.rotation_matrix(np.pi / 2, [0, 1, 0])
    T[:3, 3] = (1.0, 0.0, 0.0)
    s = trimesh.Scene()
    s.add_geometry(tri, node_name="t", transform=T)
    path = tmp_path / "rot.glb"
    path.write_bytes(s.export(file_type="glb"))
    v = load_scan(path).vertices
    # file: (1,0,0) -> R -> (0,0,-1) -> +t -> (1,0,-1) -> ours (1,-1,0); (0,0,1) -> (1,0,0) -> (2,0,0) -> ours (0,-2,0)
    np.testing.assert_allclose(v[0], (1.0, -1.0, 0.0), atol=1e-6)
    np.testing.assert_allclose(v[1], (0.0, -1.0, 1.0), atol=1e-6)
    np.testing.assert_allclose(v[2], (0.0, -2.0, 0.0), atol=1e-6)


# ------------------------------------------------------------------------------------------ appearance
def test_z_up_ply_vertex_colours_and_degenerate_faces(tmp_path):
    colours = np.array([[255, 0, 0, 255], [0, 255, 0, 255], [0, 0, 255, 255], [10, 20, 30, 255]], np.uint8)
    v = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], float)
    m = trimesh.Trimesh(v, [[0, 1, 2], [0, 0, 1], [0, 2, 3]], process=False)  # the middle face has zero area
    m.visual.vertex_colors = colours
    path = tmp_path / "scan.ply"
    path.write_bytes(m.export(file_type="ply"))

    scene = load_scan(path)
    assert scene.generator["up_axis"] == "z" and scene.generator["triangles"] == 2
    np.testing.assert_allclose(scene.vertices, v[[0, 1, 2, 0, 2, 3]], atol=1e-6)  # Z up: unchanged
    assert scene.face_corner_rgb.dtype == np.uint8 and scene.face_corner_rgb.shape == (2, 3, 3)
    np.testing.assert_array_equal(scene.face_corner_rgb[0], colours[[0, 1, 2], :3])
    np.testing.assert_array_equal(scene.face_corner_rgb[1], colours[[0, 2, 3], :3])
    np.testing.assert_array_equal(scene.face_albedo, [[85, 85, 85], [88, 7, 95]])  # mean of the corners, rounded
    assert scene.face_uv is None and scene.face_texture is None and scene.textures == []


def test_textured_glb_quad_uvs_follow_trimesh_convention(tmp_path):
    img = np.zeros((64, 64, 3), np.uint8)  # 2 x 2 checker of four colours
    img[:32, :32] = (255, 0, 0)      # top-left
    img[:32, 32:] = (0, 255, 0)      # top-right
    img[32:, :32] = (0, 0, 255)      # bottom-left
    img[32:, 32:] = (255, 255, 255)  # bottom-right
    positions = [[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]]
    uv_gltf = np.array([[0, 1], [1, 1], [1, 0], [0, 0]], float)  # glTF: v down from the image's top
    path = write_glb(tmp_path / "quad.glb", positions, [[0, 1, 2], [0, 2, 3]], uv_gltf=uv_gltf, png=png_bytes(img))

    scene = load_scan(path, up_axis="z")
    assert len(scene.textures) == 1 and scene.generator["textures"] == 1
    assert scene.textures[0].dtype == np.uint8 and scene.textures[0].shape == (64, 64, 3)
    np.testing.assert_array_equal(scene.textures[0], img)
    assert scene.face_texture.dtype == np.int32 and scene.face_texture.tolist() == [0, 0]
    uv = np.column_stack([uv_gltf[:, 0], 1.0 - uv_gltf[:, 1]])  # trimesh flips V: origin at the bottom-left
    assert scene.face_uv.dtype == np.float32 and scene.face_uv.shape == (2, 3, 2)
    np.testing.assert_allclose(scene.face_uv[0], uv[[0, 1, 2]], atol=1e-6)
    np.testing.assert_allclose(scene.face_uv[1], uv[[0, 2, 3]], atol=1e-6)
    # the convention, by sampling: uv (0.1, 0.9) lies in the image's top-left region (row = (1 - v) h)
    h, w = scene.textures[0].shape[:2]
    u, vv = 0.1, 0.9
    np.testing.assert_array_equal(scene.textures[0][int((1 - vv) * h), int(u * w)], (255, 0, 0))
    # and the vertex whose glTF uv is the image's top-left corner, (0, 0), carries uv (0, 1)
    np.testing.assert_allclose(scene.face_uv[1, 2], (0.0, 1.0), atol=1e-6)
    np.testing.assert_array_equal(scene.face_albedo, [[128, 128, 128]] * 2)  # the image's mean colour
    assert scene.face_corner_rgb is None


def test_textured_and_plain_parts_mix(tmp_path):
    img = np.full((8, 8, 4), (40, 80, 120, 7), np.uint8)  # RGBA: alpha dropped
    textured = quad()
    textured.visual = trimesh.visual.TextureVisuals(
        uv=[[0, 0], [1, 0], [1, 1], [0, 1]],
        material=trimesh.visual.material.PBRMaterial(baseColorTexture=Image.fromarray(img)))
    plain = quad(3, 4)
    plain.visual = trimesh.visual.TextureVisuals(
        material=trimesh.visual.material.PBRMaterial(baseColorFactor=[0.2, 0.4, 0.6, 1.0]))
    path = glb(tmp_path / "mix.glb", ("textured", textured), ("plain", plain))

    scene = load_scan(path, up_axis="z")
    on_plain = centroids(scene)[:, 0] > 2
    assert on_plain.sum() == 2 and len(scene.textures) == 1
    np.testing.assert_array_equal(scene.textures[0], img[..., :3])
    np.testing.assert_array_equal(scene.face_texture, np.where(on_plain, -1, 0))
    np.testing.assert_array_equal(scene.face_uv[on_plain], np.zeros((2, 3, 2)))
    np.testing.assert_array_equal(scene.face_albedo[on_plain], [[51, 102, 153]] * 2)  # baseColorFactor
    np.testing.assert_array_equal(scene.face_albedo[~on_plain], [[40, 80, 120]] * 2)  # the texture's mean


def test_uv_mapped_plain_material_does_not_warn(tmp_path):
    # Blender writes UVs for plain materials too: no texture, no warning
    m = quad()
    material = trimesh.visual.material.PBRMaterial(baseColorFactor=[1.0, 0, 0, 1])
    m.visual = trimesh.visual.TextureVisuals(uv=[[0, 0], [1, 0], [1, 1], [0, 1]], material=material)
    path = glb(tmp_path / "plain.glb", ("plain", m))
    ctx = no_warnings()
    try:
        scene = load_scan(path, up_axis="z")
    finally:
        ctx.__exit__(None, None, None)
    assert scene.face_texture is None
    np.testing.assert_array_equal(scene.face_albedo, [[255, 0, 0]] * 2)


def test_obj_with_a_missing_texture_warns_once_and_loads_untextured(tmp_path):
    (tmp_path / "m.obj").write_text("mtllib m.mtl\nv 0 0 0\nv 1 0 0\nv 1 1 0\nvt 0 0\nvt 1 0\nvt 1 1\n"
                                    "usemtl mat\nf 1/1 2/2 3/3\n")
    (tmp_path / "m.mtl").write_text("newmtl mat\nKd 0.8 0.2 0.2\nmap_Kd gone.png\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scene = load_scan(tmp_path / "m.obj")
    mine = [w for w in caught if issubclass(w.category, UserWarning)]
    assert len(mine) == 1
    assert str(tmp_path / "m.obj") in str(mine[0].message) and "gone.png" in str(mine[0].message)
    assert scene.face_texture is None and scene.face_uv is None and len(scene.faces) == 1
    np.testing.assert_array_equal(scene.face_albedo[0], (204, 51, 51))  # Kd


def test_gltf_with_a_missing_image_warns_and_loads_untextured(tmp_path):
    m = quad()
    m.visual = trimesh.visual.TextureVisuals(
        uv=[[0, 0], [1, 0], [1, 1], [0, 1]],
        material=trimesh.visual.material.PBRMaterial(baseColorTexture=Image.new("RGB", (4, 4), (9, 9, 9))))
    files = trimesh.Scene(m).export(file_type="gltf")
    header = json.loads(files.pop("model.gltf"))
    header["images"] = [{"uri": "textures/wood.png"}]  # an external image that is not there
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "room.gltf").write_text(json.dumps(header))
    with pytest.warns(UserWarning, match=r"room\.gltf.*missing: textures/wood\.png"):
        scene = load_scan(tmp_path / "room.gltf", up_axis="z")
    assert scene.face_texture is None and len(scene.faces) == 2


# ------------------------------------------------------------------------------------------ HM3D semantics
CHAIR, WALL = 0x123456, 0xABCDEF


def _hm3d_geometry():
    """File-frame (Y up) chair box and wall quad, and a lamp only the render mesh has."""
    chair = trimesh.creation.box(extents=(0.5, 0.8, 0.5))
    chair.apply_translation([1.0, 0.4, -2.0])
    wall = trimesh.Trimesh([[0, 0, -4], [3, 0, -4], [3, 2.5, -4], [0, 2.5, -4]], [[0, 1, 2], [0, 2, 3]],
                           process=False)
    lamp = trimesh.creation.box(extents=(0.2, 0.2, 0.2))
    lamp.apply_translation([5.0, 1.0, 5.0])
    return chair, wall, lamp


def _hm3d_scene(tmp_path, semantic="vertex"):
    chair, wall, lamp = _hm3d_geometry()
    glb(tmp_path / "S.basis.glb", ("chair_and_wall", trimesh.util.concatenate([chair, wall])), ("lamp", lamp))
    # the semantic mesh: the same surfaces, triangulated differently (each triangle split in 4), unmerged
    parts = [(chair.subdivide(), CHAIR), (wall.subdivide(), WALL)]
    pos = np.concatenate([m.vertices[m.faces].reshape(-1, 3) for m, _ in parts])
    code = np.concatenate([np.full(3 * len(m.faces), c) for m, c in parts])
    faces = np.arange(len(pos)).reshape(-1, 3)
    if semantic == "vertex":  # habitat-sim: linear COLOR_0, whose sRGB is the txt's hex code
        write_glb(tmp_path / "S.semantic.glb", pos,
                  faces, colours_linear=srgb_to_linear([hex_rgb(int(c)) for c in code]))
    else:  # a flat-coloured texture, two texels, sampled at each face's UV centroid
        img = np.array([[hex_rgb(CHAIR), hex_rgb(WALL)]], np.uint8)
        uv_gltf = np.column_stack([np.where(code == CHAIR, 0.25, 0.75), np.full(len(code), 0.5)])
        write_glb(tmp_path / "S.semantic.glb", pos, faces, uv_gltf=uv_gltf, png=png_bytes(img))
    (tmp_path / "S.semantic.txt").write_text('HM3D Semantic Annotations\n7,123456,"chair",1\n'
                                             '8,ABCDEF,"wall",1\n9,00FF00,"sofa",2\n')
    return tmp_path / "S.basis.glb"


def _assert_hm3d(scene):
    c = centroids(scene)
    # ours (-z, -x, y): the chair spans X [1.75, 2.25], Y [-1.25, -0.75], Z [0, 0.8]
    in_chair = (np.abs(c[:, 0] - 2.0) < 0.26) & (np.abs(c[:, 1] + 1.0) < 0.26)
    assert in_chair.sum() == 12
    np.testing.assert_array_equal(scene.face_instance, np.where(in_chair, 7, -1))  # wall and lamp: structure
    assert [(o.instance_id, o.category) for o in scene.objects] == [(7, "chair")]  # the sofa has no faces
    o = scene.objects[0]
    np.testing.assert_allclose(o.bbox_min_m, (1.75, -1.25, 0.0), atol=1e-6)
    np.testing.assert_allclose(o.bbox_max_m, (2.25, -0.75, 0.8), atol=1e-6)
    np.testing.assert_allclose(o.position_m, (2.0, -1.0, 0.0), atol=1e-6)  # bottom centre
    fp = np.array(o.footprint_xy_m)
    np.testing.assert_allclose(fp, [[1.75, -1.25], [2.25, -1.25], [2.25, -0.75], [1.75, -0.75]], atol=1e-6)
    x, y = fp[:, 0], fp[:, 1]
    assert 0.5 * np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y) == pytest.approx(0.25)  # counter-clockwise
    assert o.yaw_rad == 0.0 and o.room_id is None and o.source == "scan"
    assert o.attributes == {"raw_category": "chair", "region": "1"}
    assert scene.labels == {7: "chair"}


def test_hm3d_semantics_vertex_colours(tmp_path):
    path = _hm3d_scene(tmp_path)
    scene = load_scan(path)
    _assert_hm3d(scene)
    assert scene.generator["semantics"] == str(tmp_path / "S.semantic.txt")


def test_hm3d_semantics_flat_texture(tmp_path):
    _assert_hm3d(load_scan(_hm3d_scene(tmp_path, semantic="texture")))


def test_hm3d_semantic_mesh_itself_and_explicit_path(tmp_path):
    path = _hm3d_scene(tmp_path)
    own = load_scan(tmp_path / "S.semantic.glb")  # its own faces, no transfer
    assert own.scene_id == "S" and [(o.instance_id, o.category) for o in own.objects] == [(7, "chair")]
    assert (own.face_instance == 7).sum() == 48 and set(own.face_instance.tolist()) == {-1, 7}
    np.testing.assert_allclose(own.objects[0].bbox_min_m, (1.75, -1.25, 0.0), atol=1e-6)
    # files named differently: pass the txt
    other = tmp_path / "elsewhere"
    other.mkdir()
    render = other / "render.glb"
    render.write_bytes(path.read_bytes())
    assert load_scan(render).objects == []
    _assert_hm3d(load_scan(render, semantics=tmp_path / "S.semantic.txt"))
    # a category map renames raw categories before habitat's table
    scene = load_scan(path, category_map={"chair": "armchair"})
    assert scene.objects[0].category == "chair"  # habitat's table: armchair -> chair
    scene = load_scan(path, category_map={"chair": "stool"})
    assert scene.objects[0].category == "stool" and scene.objects[0].attributes["raw_category"] == "chair"


def test_bad_hm3d_txt_is_named_with_its_line(tmp_path):
    path = _hm3d_scene(tmp_path)
    txt = tmp_path / "S.semantic.txt"
    txt.write_text('HM3D Semantic Annotations\n7,123456,"chair",1\nseven,ZZ,chair\n')
    with pytest.raises(ConfigError, match=r"S\.semantic\.txt: line 3 .*is not 'id,HEXCOLOR"):
        load_scan(path)
    txt.write_text('HM3D Semantic Annotations\n7,12345,"chair",1\n')  # five hex digits
    with pytest.raises(ConfigError, match=r"S\.semantic\.txt: line 2"):
        load_scan(path)
    txt.write_text('7,123456,"chair",1\n')
    with pytest.raises(ConfigError, match=r"S\.semantic\.txt: not an HM3D semantics file"):
        load_scan(path)


# ------------------------------------------------------------------------------------------ hand-written
def _blender_like(tmp_path):
    """floorplan (structure), Couch.001, a lamp, and a "Chair" node whose two parts are child geometries."""
    s = trimesh.Scene()
    s.add_geometry(quad(0, 4, 0, 4), node_name="floorplan", geom_name="floorplan")
    s.add_geometry(quad(0, 1, 0, 1, z=0.4), node_name="Couch.001", geom_name="Couch.001",
                   transform=trimesh.transformations.translation_matrix([3.0, 0.0, 0.0]))
    s.add_geometry(quad(0, 0.2, 0, 0.2, z=1.0), node_name="Lamp_body", geom_name="LampMesh")
    s.graph.update(frame_to="Chair", frame_from=s.graph.base_frame,
                   matrix=trimesh.transformations.translation_matrix([0.0, 2.0, 0.0]))
    s.add_geometry(quad(0, 0.5, 0, 0.5, z=0.45), node_name="Chair_seat", geom_name="seat", parent_node_name="Chair")
    back = trimesh.Trimesh([[0, 0.5, 0.45], [0.5, 0.5, 0.45], [0.5, 0.5, 0.9]], [[0, 1, 2]], process=False)
    s.add_geometry(back, node_name="Chair_back", geom_name="back", parent_node_name="Chair")
    path = tmp_path / "room.glb"
    path.write_bytes(s.export(file_type="glb"))
    return path


def _assert_mapping(scene):
    assert [(o.instance_id, o.category) for o in scene.objects] == [(1, "chair"), (2, "sofa"), (3, "lamp")]
    chair, couch, lamp = scene.objects
    np.testing.assert_allclose(chair.bbox_min_m, (0.0, 2.0, 0.45), atol=1e-6)  # both parts, parent moved
    np.testing.assert_allclose(chair.bbox_max_m, (0.5, 2.5, 0.9), atol=1e-6)
    np.testing.assert_allclose(couch.bbox_min_m, (3.0, 0.0, 0.4), atol=1e-6)
    assert couch.attributes == {"raw_category": "Couch"}  # habitat's table: couch -> sofa
    np.testing.assert_allclose(lamp.position_m, (0.1, 0.1, 1.0), atol=1e-6)
    c = centroids(scene)
    assert (scene.face_instance[c[:, 2] < 0.01] == -1).all()  # the floorplan is structure
    assert (scene.face_instance == 1).sum() == 3


@pytest.mark.parametrize("fmt", ["json", "json-instances", "csv"])
def test_hand_written_mapping_by_node_name(tmp_path, fmt):
    path = _blender_like(tmp_path)
    mapping = {"Chair": "Chair", "Couch.001": "Couch", "LampMesh": "floor lamp"}  # LampMesh: a geometry name
    if fmt == "json":
        (tmp_path / "room.semantic.json").write_text(json.dumps(mapping))
    elif fmt == "json-instances":
        (tmp_path / "room.semantic.json").write_text(json.dumps({"instances": mapping}))
    else:
        rows = "".join(f"{k},{v}\n" for k, v in mapping.items())
        (tmp_path / "room.semantic.csv").write_text("name,category\n" + rows)
    scene = load_scan(path, up_axis="z")
    _assert_mapping(scene)
    assert scene.generator["semantics"].endswith(f"room.semantic.{fmt.split('-')[0]}")


def test_mapping_details(tmp_path):
    path = _blender_like(tmp_path)
    sem = tmp_path / "mine.csv"
    sem.write_text("Chair,chair\nCouch.001,wall\nLamp_body,lamp\nChiar,chair\n")  # no header; a typo
    with pytest.warns(UserWarning, match=r"mine\.csv: 1 name\(s\) match no node.*'Chiar' \(did you mean 'Chair'\?\)"):
        scene = load_scan(path, up_axis="z", semantics=sem)
    # ids follow the file's order; "wall" is structure
    assert [(o.instance_id, o.category) for o in scene.objects] == [(1, "chair"), (3, "lamp")]
    cmap = tmp_path / "cmap.csv"
    cmap.write_text("raw,category\nchair,stool\n")
    sem.write_text("Chair,chair\n")
    scene = load_scan(path, up_axis="z", semantics=sem, category_map=cmap)
    assert [o.category for o in scene.objects] == ["stool"]
    bad = tmp_path / "bad.json"
    bad.write_text('{"Chair": 3}')
    with pytest.raises(ConfigError, match=r"bad\.json: expected a JSON object of name -> category"):
        load_scan(path, up_axis="z", semantics=bad)
    bad.write_text("{nope")
    with pytest.raises(ConfigError, match=r"bad\.json: not valid JSON"):
        load_scan(path, up_axis="z", semantics=bad)
    with pytest.raises(ConfigError, match=r"semantics file not found: .*nothing\.json"):
        load_scan(path, semantics=tmp_path / "nothing.json")


# ------------------------------------------------------------------------------------------ errors
def test_errors_name_the_file(tmp_path):
    with pytest.raises(ConfigError, match=r"scene mesh not found: .*nope\.glb"):
        load_scan(tmp_path / "nope.glb")
    (tmp_path / "bad.glb").write_bytes(b"not a glb at all")
    with pytest.raises(ConfigError, match=r"cannot read scene mesh .*bad\.glb"):
        load_scan(tmp_path / "bad.glb")
    (tmp_path / "x.stl").write_text("solid")
    with pytest.raises(ConfigError, match=r"x\.stl: not a scene mesh; .*\.glb, \.gltf, \.ply, \.obj"):
        load_scan(tmp_path / "x.stl")
    pc = trimesh.PointCloud(np.random.default_rng(0).random((10, 3)))
    (tmp_path / "empty.ply").write_bytes(pc.export(file_type="ply"))
    with pytest.raises(ConfigError, match=r"empty\.ply: the mesh is empty"):
        load_scan(tmp_path / "empty.ply")
    (tmp_path / "nan.obj").write_text("v 0 0 0\nv 1 0 nan\nv 0 1 0\nv 1 1 0\nf 1 2 3\nf 2 4 3\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ConfigError, match=r"nan\.obj: 1 vertex positions are NaN or infinite"):
            load_scan(tmp_path / "nan.obj")
    (tmp_path / "flat.obj").write_text("v 0 0 0\nv 1 0 0\nv 2 0 0\nf 1 2 3\n")
    with pytest.raises(ConfigError, match=r"flat\.obj: all 1 triangles have zero area"):
        load_scan(tmp_path / "flat.obj")
    with pytest.raises(ConfigError, match="is a directory"):
        load_scan(tmp_path)
    render = glb(tmp_path / "lonely.glb", ("q", quad()))
    (tmp_path / "anno.semantic.txt").write_text('HM3D Semantic Annotations\n1,123456,"chair",1\n')
    with pytest.raises(ConfigError, match=r"anno\.semantic\.txt: HM3D semantics need their mesh"):
        load_scan(render, semantics=tmp_path / "anno.semantic.txt")
