"""Blender Cycles backend through the ``bpy`` package (``pip install 'embodied-zeroshot[blender]'``).

Photoreal RGBA from Cycles on the CPU, headless: no Blender install, no X server. The object is the
same normalized :class:`~datasets3d.rendering.asset.Asset` the ray caster uses, built directly as
one Blender mesh (``foreach_set``, one material per part: image texture on UVs, colour attribute, or
flat base colour), lit by the sun lamps and grey world of :mod:`datasets3d.rendering.lighting`,
seen by a camera whose ``matrix_world`` is the OpenCV pose turned into Blender's convention
(:func:`~datasets3d.rendering.cameras.blender_camera_matrix_world`), with lens and sensor taken from K
(sensor fit AUTO, principal point via shift). Cycles gives the RGBA image; depth, normals and mask
are the ray caster's on the same mesh and cameras, so geometry outputs are identical across backends
and exact (Cycles' alpha is anti-aliased).

Blender's RNA matrices are column-major: assigning nested lists to ``matrix_world`` reads each inner
list as a *column*, hence the transposes below.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np

from embodied.optional import require
from embodied.errors import ConfigError
from embodied.types import CameraIntrinsics

from datasets3d.rendering.asset import PART_FACE, PART_TEXTURE, PART_VERTEX, Asset
from datasets3d.rendering.cameras import blender_camera_matrix_world, look_at
from datasets3d.rendering.config import RenderConfig
from datasets3d.rendering.lighting import AMBIENT, LIGHTS, srgb_to_linear
from datasets3d.rendering.raycast import RaycastBackend, View

__all__ = ["BlenderBackend", "camera_settings"]


def camera_settings(K: CameraIntrinsics, sensor_mm: float) -> dict[str, float]:
    """Blender camera data (lens, sensor_width, shift_x, shift_y; sensor_fit AUTO) reproducing K.

    Needs square pixels (fx == fy). Blender's pixel grid has its centre at (W/2, H/2) with pixel
    centres at half-integers, which is (W-1)/2, (H-1)/2 in the toolkit's integer-centre convention;
    a shift of 1 moves the image window by the larger image side.
    """
    if abs(K.fx - K.fy) > 1e-9 * K.fx:
        raise ConfigError(f"Blender cameras need square pixels, got fx={K.fx} fy={K.fy}")
    side = max(K.width, K.height)
    return {"lens": K.fx * sensor_mm / side, "sensor_width": sensor_mm,
            "shift_x": ((K.width - 1) / 2.0 - K.cx) / side, "shift_y": (K.cy - (K.height - 1) / 2.0) / side}


def _columns(M: np.ndarray) -> list[list[float]]:
    """Nested lists Blender reads as the columns of (4, 4) matrix ``M``."""
    return np.asarray(M, dtype=np.float64).T.tolist()


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    """Silence Cycles' per-frame progress lines, which it prints on the C-level stdout."""
    import sys

    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError):
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


class BlenderBackend:
    """Cycles (CPU) renders of an :class:`Asset`; geometry channels from the ray caster."""

    name = "blender"

    def __init__(self, config: RenderConfig) -> None:
        self.config = config
        self.bpy = require("bpy", extra="blender", purpose="the Blender Cycles backend (--backend blender)")
        self._geometry = RaycastBackend(config)

    def describe(self) -> dict[str, Any]:
        bpy = self.bpy
        return {"name": self.name, "engine": "cycles (CPU)", "blender": str(bpy.app.version_string),
                "samples_per_pixel": self.config.samples, "denoise": self.config.denoise,
                "geometry": "depth, normals and mask from the ray caster on the same mesh and cameras",
                "test_stand_in": bool(getattr(bpy, "IS_TEST_STAND_IN", False))}

    # ------------------------------------------------------------------ scene
    def _reset(self, K: CameraIntrinsics) -> Any:
        bpy, cfg = self.bpy, self.config
        bpy.ops.wm.read_factory_settings(use_empty=True)
        scene = bpy.context.scene
        r = scene.render
        r.engine = "CYCLES"
        r.resolution_x, r.resolution_y, r.resolution_percentage = K.width, K.height, 100
        r.film_transparent = True
        r.image_settings.file_format = "PNG"
        r.image_settings.color_mode = "RGBA"
        r.image_settings.color_depth = "8"
        if cfg.threads:
            r.threads_mode = "FIXED"
            r.threads = cfg.threads
        scene.cycles.device = "CPU"
        scene.cycles.samples = cfg.samples
        scene.cycles.use_denoising = cfg.denoise
        scene.cycles.seed = cfg.seed
        scene.view_settings.view_transform = "Standard"  # plain sRGB, like the ray caster
        world = bpy.data.worlds.new("World")
        scene.world = world
        with warnings.catch_warnings():  # World.use_nodes is deprecated in Blender 5 (always on)
            warnings.simplefilter("ignore", DeprecationWarning)
            nodes_on = bool(getattr(world, "use_nodes", False))
        background = world.node_tree.nodes.get("Background") if nodes_on and world.node_tree else None
        if background is not None:
            background.inputs["Color"].default_value = (AMBIENT, AMBIENT, AMBIENT, 1.0)
            background.inputs["Strength"].default_value = 1.0
        else:
            world.color = (AMBIENT, AMBIENT, AMBIENT)
        for name, to_light, strength in LIGHTS:
            light = bpy.data.lights.new(name, "SUN")
            light.energy = strength
            obj = bpy.data.objects.new(name, light)
            scene.collection.objects.link(obj)
            obj.matrix_world = _columns(blender_camera_matrix_world(look_at(np.asarray(to_light))))  # -Z = travel
        cam_data = bpy.data.cameras.new("Camera")
        for key, value in camera_settings(K, cfg.sensor_mm).items():
            setattr(cam_data, key, value)
        cam_data.sensor_fit = "AUTO"
        cam_data.clip_start, cam_data.clip_end = 0.01, 100.0
        cam = bpy.data.objects.new("Camera", cam_data)
        scene.collection.objects.link(cam)
        scene.camera = cam
        return scene

    def _material(self, index: int, asset: Asset, tmp: str) -> Any:
        bpy = self.bpy
        mat = bpy.data.materials.new(f"part{index:03d}")
        with warnings.catch_warnings():  # Material.use_nodes is deprecated in Blender 5 (always on)
            warnings.simplefilter("ignore", DeprecationWarning)
            if not getattr(mat, "use_nodes", True):
                mat.use_nodes = True
        nodes, links = mat.node_tree.nodes, mat.node_tree.links
        bsdf = nodes.get("Principled BSDF")
        rgba = asset.part_rgba[index].astype(np.float64) / 255.0  # linear factor
        kind = int(asset.part_kind[index])
        if kind == PART_TEXTURE:
            from PIL import Image

            path = os.path.join(tmp, f"texture{index:03d}.png")
            Image.fromarray(asset.textures[index]).save(path)
            tex = nodes.new("ShaderNodeTexImage")
            tex.image = bpy.data.images.load(path)
            color = tex.outputs["Color"]
            if not np.allclose(rgba[:3], 1.0):
                mul = nodes.new("ShaderNodeVectorMath")
                mul.operation = "MULTIPLY"
                links.new(color, mul.inputs[0])
                mul.inputs[1].default_value = tuple(rgba[:3])
                color = mul.outputs["Vector"]
            links.new(color, bsdf.inputs["Base Color"])
        elif kind in (PART_VERTEX, PART_FACE):
            attr = nodes.new("ShaderNodeVertexColor")
            attr.layer_name = "Col"
            links.new(attr.outputs["Color"], bsdf.inputs["Base Color"])
        else:
            bsdf.inputs["Base Color"].default_value = (*rgba[:3], 1.0)
        return mat

    def _add_object(self, scene: Any, asset: Asset, tmp: str) -> None:
        bpy = self.bpy
        V, F = asset.vertices.astype(np.float32), asset.faces.astype(np.int32)
        mesh = bpy.data.meshes.new("object")
        mesh.vertices.add(len(V))
        mesh.vertices.foreach_set("co", V.ravel())
        mesh.loops.add(F.size)
        mesh.loops.foreach_set("vertex_index", F.ravel())
        mesh.polygons.add(len(F))
        mesh.polygons.foreach_set("loop_start", np.arange(0, F.size, 3, dtype=np.int32))
        mesh.polygons.foreach_set("material_index", asset.face_part.astype(np.int32))
        if asset.uv is not None:
            mesh.uv_layers.new(name="UVMap").data.foreach_set("uv", asset.uv[F].astype(np.float32).ravel())
        if asset.vertex_rgba is not None or asset.face_rgba is not None:
            corner = np.ones((len(F), 3, 4), np.float32)
            if asset.vertex_rgba is not None:
                corner[:] = asset.vertex_rgba[F] / np.float32(255.0)
            if asset.face_rgba is not None:
                is_face = asset.part_kind[asset.face_part] == PART_FACE
                corner[is_face] = (asset.face_rgba[is_face] / np.float32(255.0))[:, None, :]
            corner[..., :3] = srgb_to_linear(corner[..., :3])  # FLOAT_COLOR attributes are linear
            mesh.color_attributes.new("Col", "FLOAT_COLOR", "CORNER").data.foreach_set("color", corner.ravel())
        for i in range(len(asset.part_kind)):
            mesh.materials.append(self._material(i, asset, tmp))
        mesh.update()
        mesh.validate()
        obj = bpy.data.objects.new("object", mesh)
        scene.collection.objects.link(obj)

    # ------------------------------------------------------------------ render
    def render(self, asset: Asset, poses: np.ndarray, K: CameraIntrinsics) -> list[View]:
        """Views of ``asset`` from each (4, 4) OpenCV pose in ``poses``."""
        from PIL import Image

        geometry = self._geometry.render(asset, poses, K)
        views = []
        with tempfile.TemporaryDirectory(prefix="embodied-bpy-") as tmp:
            scene = self._reset(K)
            self._add_object(scene, asset, tmp)
            for i, T in enumerate(poses):
                scene.camera.matrix_world = _columns(blender_camera_matrix_world(T))
                path = os.path.join(tmp, f"view{i:03d}.png")
                scene.render.filepath = path
                with _quiet_stdout():
                    self.bpy.ops.render.render(write_still=True)
                with Image.open(path) as im:
                    rgba = np.asarray(im.convert("RGBA")).copy()
                if rgba.shape[:2] != (K.height, K.width):
                    raise RuntimeError(f"Blender wrote a {rgba.shape[1]}x{rgba.shape[0]} image, "
                                       f"expected {K.width}x{K.height}")
                g = geometry[i]
                views.append(View(rgba, g.depth, g.normal, g.mask))
        return views

    def close(self) -> None:
        pass
