"""The Blender Cycles backend: against the bpy stand-in in tests/fakes (always) and real bpy (when it
imports). Both must put the object exactly where the ray caster does (same cameras, same mesh)."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import trimesh
from PIL import Image

from datasets3d.objaverse import scan_local
from datasets3d.rendering.asset import PART_TEXTURE, PART_VERTEX, load_asset
from datasets3d.rendering.blender import BlenderBackend, camera_settings
from datasets3d.rendering.cameras import intrinsics_from_lens, object_rng, sample_cameras
from datasets3d.rendering.config import RenderConfig
from datasets3d.rendering.raycast import RaycastBackend
from datasets3d.rendering.runner import render_objects
from embodied.types import CameraIntrinsics

FAKES = str(Path(__file__).resolve().parents[1] / "fakes")


@pytest.fixture
def fake_bpy(monkeypatch):
    """Import tests/fakes/bpy as ``bpy`` for one test (a real bpy already imported is put back after)."""
    real = sys.modules.pop("bpy", None)
    monkeypatch.syspath_prepend(FAKES)
    mod = importlib.import_module("bpy")
    assert mod.IS_TEST_STAND_IN
    yield mod
    sys.modules.pop("bpy", None)
    if real is not None:
        sys.modules["bpy"] = real


def _scene(tmp_path: Path) -> Path:
    """A textured quad plus a two-coloured, off-centre ellipsoid in one GLB."""
    tex = np.array([[[255, 0, 0], [0, 255, 0]], [[0, 0, 255], [255, 255, 0]]], np.uint8)
    quad = trimesh.Trimesh([[-0.6, -0.6, -0.3], [0.6, -0.6, -0.3], [0.6, 0.6, -0.3], [-0.6, 0.6, -0.3]],
                           [[0, 1, 2], [0, 2, 3]], process=False,
                           visual=trimesh.visual.TextureVisuals(uv=[[0, 0], [1, 0], [1, 1], [0, 1]],
                                                                image=Image.fromarray(tex)))
    ell = trimesh.creation.icosphere(subdivisions=2)
    ell.apply_scale([0.5, 0.3, 0.2])
    ell.apply_translation([0.1, 0.05, 0.0])
    ell.visual.face_colors = np.where(np.arange(len(ell.faces))[:, None] % 2 == 0, [200, 30, 30, 255],
                                      [30, 30, 200, 255])
    path = tmp_path / "scene.glb"
    trimesh.Scene([quad, ell]).export(path)
    return path


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


def test_camera_settings_reproduce_intrinsics():
    K = intrinsics_from_lens(320, 240)
    s = camera_settings(K, 32.0)
    assert s == pytest.approx({"lens": 35.0, "sensor_width": 32.0, "shift_x": 0.0, "shift_y": 0.0})
    off = CameraIntrinsics(100, 80, 90.0, 90.0, 40.0, 45.0)  # principal point off-centre
    s = camera_settings(off, 32.0)
    assert s["shift_x"] == pytest.approx((49.5 - 40.0) / 100) and s["shift_y"] == pytest.approx((45.0 - 39.5) / 100)


def test_stand_in_renders_where_the_ray_caster_does(fake_bpy, tmp_path):
    asset = load_asset(_scene(tmp_path), up_axis="z")
    assert set(asset.part_kind.tolist()) == {PART_TEXTURE, PART_VERTEX}  # GLB stores face colours per vertex
    cfg = RenderConfig(backend="blender", width=80, height=64, views=4, samples=8, threads=1)
    poses = sample_cameras(cfg, object_rng(0, "scene"))
    K = intrinsics_from_lens(80, 64)
    views = BlenderBackend(cfg).render(asset, poses, K)
    geo = RaycastBackend(cfg).render(asset, poses, K)
    for v, g in zip(views, geo):
        assert v.rgba.shape == (64, 80, 4)
        assert _iou(v.rgba[..., 3] > 127, g.mask) > 0.97  # same camera, lens, principal point and pose
        np.testing.assert_array_equal(v.depth, g.depth)  # geometry channels are the ray caster's
        np.testing.assert_array_equal(v.mask, g.mask)
    scene = fake_bpy.context.scene
    assert (scene.render.engine, scene.cycles.device, scene.cycles.samples) == ("CYCLES", "CPU", 8)
    assert scene.render.film_transparent and scene.view_settings.view_transform == "Standard"
    assert (scene.render.threads_mode, scene.render.threads) == ("FIXED", 1)
    assert sorted(o.name for o in scene.objects if o.type == "LIGHT") == ["bottom", "fill", "key", "rim"]
    assert scene.camera.data.lens == pytest.approx(35.0) and scene.camera.data.sensor_width == 32.0
    mesh = next(o.data for o in scene.objects if o.type == "MESH")
    assert len(mesh.polygons) == len(asset.faces) and len(mesh.vertices) == len(asset.vertices)
    feeds = [m.node_tree.nodes.get("Principled BSDF").inputs["Base Color"].links[0].node for m in mesh.materials]
    assert [n.bl_idname for n in feeds] == ["ShaderNodeVertexColor", "ShaderNodeVectorMath"]
    # trimesh writes the quad's texture with baseColorFactor 0.4 (linear): texture x factor, as glTF says
    assert feeds[1].operation == "MULTIPLY" and feeds[1].inputs[1].default_value == pytest.approx((0.4,) * 3)
    assert feeds[1].inputs[0].links[0].node.image.size == (2, 2)
    colors = mesh.color_attributes[0].data.get_array("color").reshape(-1, 4)
    assert colors[:, :3].max() <= 1.0 and np.isclose(colors[:, :3], 0.5776, atol=1e-3).any()  # 200 sRGB, linear
    renders = [c for c in fake_bpy.calls if c[0] == "render.render"]
    assert len(renders) == 4 and all(c[1]["write_still"] for c in renders)


def test_blender_backend_through_the_runner(fake_bpy, tmp_path):
    recs, _ = scan_local([_scene(tmp_path)], extract_dir=tmp_path / "x")
    cfg = RenderConfig(backend="blender", width=48, height=48, views=2, samples=4)
    summary = render_objects(recs, tmp_path / "out", cfg, workers=0, progress=False)
    assert summary["ok"] == 1 and summary["shards"] == ["shard-000000.tar"]
    meta = json.loads((tmp_path / "out" / "objects" / recs[0].uid / "metadata.json").read_text())
    assert meta["backend"]["name"] == "blender" and meta["backend"]["test_stand_in"] is True
    assert meta["backend"]["samples_per_pixel"] == 4 and meta["material_count"] == 2


def _real_bpy():
    try:
        mod = importlib.import_module("bpy")
    except ImportError:
        return None
    return None if getattr(mod, "IS_TEST_STAND_IN", False) else mod


def test_real_blender_cycles_matches_the_ray_caster(tmp_path):
    if _real_bpy() is None:
        pytest.skip("bpy (pip install 'embodied-zeroshot[blender]') is not installed")
    asset = load_asset(_scene(tmp_path), up_axis="z")
    cfg = RenderConfig(backend="blender", width=64, height=48, views=2, samples=4, threads=1)
    poses = sample_cameras(cfg, object_rng(1, "scene"))
    K = intrinsics_from_lens(64, 48)
    views = BlenderBackend(cfg).render(asset, poses, K)
    geo = RaycastBackend(cfg).render(asset, poses, K)
    for v, g in zip(views, geo):
        assert _iou(v.rgba[..., 3] > 127, g.mask) > 0.95  # Cycles' anti-aliased alpha vs exact hits
        on = g.mask & (v.rgba[..., 3] == 255)
        assert v.rgba[on][:, :3].max() > 60  # lit, not black
