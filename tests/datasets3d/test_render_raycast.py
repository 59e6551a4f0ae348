"""The built-in ray-cast renderer and the object folders it writes: camera matrices that reproject the
mesh onto its mask and depth, texture lookup, shading, normals, metadata and contact sheets."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import trimesh
from PIL import Image

from datasets3d.objaverse import scan_local
from datasets3d.rendering.asset import AssetError, load_asset
from datasets3d.rendering.cameras import intrinsics_from_lens, look_at
from datasets3d.rendering.config import RenderConfig
from datasets3d.rendering.lighting import AMBIENT, LIGHTS, linear_to_srgb
from datasets3d.rendering.raycast import RaycastRenderer
from datasets3d.rendering.runner import render_objects
from datasets3d.rendering.writer import decode_depth, decode_normal

ASSETS = Path(__file__).resolve().parents[3] / "shared" / "assets" / "objects"


def _ellipsoid(path: Path) -> trimesh.Trimesh:
    """An asymmetric, off-centre, rotated ellipsoid (a sphere would hide a wrong camera roll)."""
    m = trimesh.creation.icosphere(subdivisions=4)
    m.apply_scale([1.0, 0.7, 0.5])
    m.apply_transform(trimesh.transformations.euler_matrix(0.4, -0.3, 1.1))
    m.apply_translation([0.3, -0.2, 0.1])
    m.export(path)
    return m


def _interp_depth(depth: np.ndarray, mask: np.ndarray, uv: np.ndarray) -> float | None:
    """Depth at sub-pixel ``uv`` from the 4 surrounding pixel centres (bilinear in 1/z, exact on a plane)."""
    u0, v0 = int(np.floor(uv[0])), int(np.floor(uv[1]))
    if u0 < 0 or v0 < 0 or u0 + 1 >= depth.shape[1] or v0 + 1 >= depth.shape[0]:
        return None
    if not mask[v0:v0 + 2, u0:u0 + 2].all():
        return None
    a, b = uv[0] - u0, uv[1] - v0
    inv = 1.0 / depth[v0:v0 + 2, u0:u0 + 2].astype(np.float64)
    w = np.array([[(1 - a) * (1 - b), a * (1 - b)], [(1 - a) * b, a * b]])
    return float(1.0 / (inv * w).sum())


def test_camera_matrices_reproject_vertices_onto_mask_and_depth(tmp_path):
    _ellipsoid(tmp_path / "ellipsoid.ply")
    mesh = trimesh.load(tmp_path / "ellipsoid.ply", process=False)  # as stored (float32 coordinates)
    recs, _ = scan_local([tmp_path / "ellipsoid.ply"], extract_dir=tmp_path / "x")
    cfg = RenderConfig(width=384, height=384, views=5, seed=3)
    summary = render_objects(recs, tmp_path / "out", cfg, workers=0, shards=False, progress=False)
    assert summary["ok"] == 1
    obj = tmp_path / "out" / "objects" / recs[0].uid
    meta = json.loads((obj / "metadata.json").read_text())
    K = np.array(meta["camera"]["K"])
    assert K[0, 0] == pytest.approx(384 * 35 / 32)
    T = np.array(meta["T_norm_file"])  # file -> normalized unit cube (PLY is Z-up: scale + shift only)
    verts = mesh.vertices @ T[:3, :3].T + T[:3, 3]
    np.testing.assert_allclose(verts.max(0) - verts.min(0), np.array(meta["bbox"]["max"]) - meta["bbox"]["min"])
    assert (verts.max(0) - verts.min(0)).max() == pytest.approx(1.0)
    np.testing.assert_allclose((verts.max(0) + verts.min(0)) / 2, 0.0, atol=1e-12)
    normals = mesh.vertex_normals @ T[:3, :3].T
    checked = 0
    for view in meta["views"]:
        w2c = np.load(obj / view["files"]["w2c"])  # the saved 3x4 OpenCV world-to-camera
        assert w2c.shape == (3, 4)
        np.testing.assert_allclose(w2c, view["w2c_opencv"])
        np.testing.assert_allclose(np.diag([1, -1, -1]) @ w2c, view["w2c_blender"])
        mask = np.asarray(Image.open(obj / view["files"]["mask"])) > 0
        depth = decode_depth(np.asarray(Image.open(obj / view["files"]["depth"])))
        cam = verts @ w2c[:, :3].T + w2c[:, 3]
        uv = cam[:, :2] / cam[:, 2:] * [K[0, 0], K[1, 1]] + [K[0, 2], K[1, 2]]
        centre = -w2c[:, :3].T @ w2c[:, 3]
        facing = np.einsum("ij,ij->i", normals, centre - verts) / np.linalg.norm(centre - verts, axis=1)
        px = np.round(uv).astype(int)
        front, back = facing > 0.3, facing < -0.3
        assert mask[px[front, 1], px[front, 0]].all()  # every clearly visible vertex lands on the mask
        assert mask[px[back, 1], px[back, 0]].all()  # the convex body hides the back inside it too
        errs = [abs(_interp_depth(depth, mask, uv[i]) - cam[i, 2]) for i in np.flatnonzero(front)
                if _interp_depth(depth, mask, uv[i]) is not None]
        assert len(errs) >= 0.8 * front.sum()
        assert max(errs) < 1e-3  # depth = z of the visible vertex
        hidden = [cam[i, 2] - _interp_depth(depth, mask, uv[i]) for i in np.flatnonzero(back)
                  if _interp_depth(depth, mask, uv[i]) is not None]
        assert min(hidden) > 0.05  # back vertices lie behind the rendered surface
        checked += len(errs)
        # normals are camera-frame unit vectors facing the camera
        n = decode_normal(np.asarray(Image.open(obj / view["files"]["normal"])))[mask]
        assert np.allclose(np.linalg.norm(n, axis=1), 1.0, atol=1e-3) and (n[:, 2] < 0.05).all()
    assert checked > 1000


def _quad_with_texture(path: Path) -> None:
    tex = np.array([[[255, 0, 0], [0, 255, 0]], [[0, 0, 255], [255, 255, 0]]], np.uint8)  # TL red, TR green
    quad = trimesh.Trimesh([[-0.5, -0.5, 0], [0.5, -0.5, 0], [0.5, 0.5, 0], [-0.5, 0.5, 0]], [[0, 1, 2], [0, 2, 3]],
                           visual=trimesh.visual.TextureVisuals(uv=[[0, 0], [1, 0], [1, 1], [0, 1]],
                                                                image=Image.fromarray(tex)), process=False)
    quad.export(path)


def test_texture_lookup_follows_uvs(tmp_path):
    _quad_with_texture(tmp_path / "quad.glb")
    asset = load_asset(tmp_path / "quad.glb", up_axis="z")
    assert asset.info["textured_parts"] == 1 and asset.info["up_axis"] == "z"
    K = intrinsics_from_lens(64, 64)
    view = RaycastRenderer(asset).render(look_at([0.0, 0.0, 1.6]), K)  # from above: image up = +Y
    rgb = view.rgba[..., :3].astype(int)
    quads = {"red": rgb[20, 20], "green": rgb[20, 43], "blue": rgb[43, 20], "yellow": rgb[43, 43]}
    assert quads["red"][0] > 100 and quads["red"][1:].max() == 0
    assert quads["green"][1] > 100 and quads["green"][[0, 2]].max() == 0
    assert quads["blue"][2] > 100 and quads["blue"][:2].max() == 0
    assert min(quads["yellow"][:2]) > 100 and quads["yellow"][2] == 0
    # the unit quad at 1.6 m with f = 70 px spans 31.5 +- 21.875 px: pixel centres 10..53 exactly
    rows, cols = np.flatnonzero(view.mask.any(1)), np.flatnonzero(view.mask.any(0))
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (10, 53, 10, 53) and view.mask.sum() == 44 * 44


def test_flat_colour_shading_matches_the_lighting_model(tmp_path):
    box = trimesh.creation.box()
    box.visual = trimesh.visual.TextureVisuals(material=trimesh.visual.material.PBRMaterial(
        baseColorFactor=[128, 64, 26, 255]))
    box.export(tmp_path / "box.glb")
    asset = load_asset(tmp_path / "box.glb", up_axis="z")
    assert asset.part_rgba[0].tolist() == [128, 64, 26, 255]
    view = RaycastRenderer(asset).render(look_at([0.0, 0.0, 2.0]), intrinsics_from_lens(32, 32))
    top = np.array([0.0, 0.0, 1.0])
    irradiance = AMBIENT + sum(s * max(0.0, float(np.dot(top, d))) / np.pi for _, d, s in LIGHTS)
    expected = np.round(linear_to_srgb(np.array([128, 64, 26]) / 255.0 * irradiance) * 255)
    np.testing.assert_array_equal(view.rgba[16, 16, :3], expected)
    assert view.rgba[16, 16, 3] == 255 and view.rgba[0, 0, 3] == 0 and view.depth[0, 0] == 0
    assert view.depth[16, 16] == pytest.approx(1.5, abs=1e-6)  # camera at z=2, top face at z=0.5
    np.testing.assert_allclose(view.normal[16, 16], [0, 0, -1], atol=1e-6)  # facing the camera


def test_vertex_colours_and_y_up_conversion(tmp_path):
    m = trimesh.creation.box(extents=[0.2, 1.0, 0.4])  # tallest along Y
    m.visual.vertex_colors = np.tile([10, 200, 30, 255], (8, 1))
    m.export(tmp_path / "tall.obj")
    asset = load_asset(tmp_path / "tall.obj")  # OBJ is Y-up (as Blender imports it) -> tallest along Z
    ext = asset.vertices.max(0) - asset.vertices.min(0)
    np.testing.assert_allclose(ext, [0.2, 0.4, 1.0], atol=1e-9)
    view = RaycastRenderer(asset).render(look_at([0.0, -2.0, 0.0]), intrinsics_from_lens(32, 32))
    r, g, b = view.rgba[16, 16, :3].astype(int)
    assert g > 3 * r and g > 3 * b


def test_unloadable_file_raises_a_clear_error(tmp_path):
    (tmp_path / "broken.glb").write_bytes(b"glTF\x02\x00\x00\x00 not really")
    with pytest.raises(AssetError, match="cannot load broken.glb as 'glb'"):
        load_asset(tmp_path / "broken.glb")
    (tmp_path / "points.ply").write_text("ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\nproperty float y\n"
                                         "property float z\nend_header\n0 0 0\n")
    with pytest.raises(AssetError, match="holds no triangles"):
        load_asset(tmp_path / "points.ply")


@pytest.mark.skipif(not (ASSETS / "ocrtoc_blue_cup" / "textured.obj").is_file(),
                    reason="shared real assets (../shared/assets/objects) not present")
def test_real_textured_scan_renders_with_its_texture(tmp_path):
    asset = load_asset(ASSETS / "ocrtoc_blue_cup" / "textured.obj")
    assert asset.info["face_count"] == 20000 and asset.info["textured_parts"] == 1
    assert asset.info["missing_textures"] == []
    view = RaycastRenderer(asset).render(look_at([1.2, -1.2, 0.9]), intrinsics_from_lens(96, 96))
    px = view.rgba[view.mask][:, :3].astype(int)
    assert view.mask.mean() > 0.05
    assert (px[:, 2] > px[:, 0]).mean() > 0.9  # a blue cup


def test_missing_textures_are_reported_and_render_flat(tmp_path):
    (tmp_path / "m.mtl").write_text("newmtl skin\nKd 0.8 0.1 0.1\nmap_Kd textures/missing.png\n")
    (tmp_path / "m.obj").write_text("mtllib m.mtl\nmtllib gone.mtl\nv -0.5 -0.5 0\nv 0.5 -0.5 0\nv 0 0.5 0\n"
                                    "vt 0 0\nvt 1 0\nvt 0.5 1\nusemtl skin\nf 1/1 2/2 3/3\n")
    asset = load_asset(tmp_path / "m.obj", up_axis="z")
    assert asset.info["missing_textures"] == ["textures/missing.png", "gone.mtl"]
    assert asset.info["textured_parts"] == 0 and asset.part_rgba[0, :3].tolist() == [204, 26, 26]  # Kd, linear
    view = RaycastRenderer(asset).render(look_at([0.0, 0.0, 1.5]), intrinsics_from_lens(32, 32))
    r, g, b = view.rgba[16, 16, :3].astype(int)
    assert view.mask[16, 16] and r > 2 * g and g == b


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_large_textures_are_reduced_to_the_limit(tmp_path, fmt):
    ext = {"PNG": "png", "JPEG": "jpg"}[fmt]
    Image.fromarray(np.full((64, 48, 3), 128, np.uint8)).save(tmp_path / f"t.{ext}", format=fmt)
    (tmp_path / "m.mtl").write_text(f"newmtl a\nmap_Kd t.{ext}\n")
    (tmp_path / "m.obj").write_text("mtllib m.mtl\nv 0 0 0\nv 1 0 0\nv 0 1 0\nvt 0 0\nvt 1 0\nvt 0 1\nusemtl a\n"
                                    "f 1/1 2/2 3/3\n")
    assert load_asset(tmp_path / "m.obj").textures[0].shape == (64, 48, 3)
    small = load_asset(tmp_path / "m.obj", max_texture_px=16).textures[0]
    assert small.shape == (16, 12, 3) and int(small.mean()) in (127, 128)
