"""Multi-view rendering of 3D objects, Objaverse-XL / Zero123 style.

Each object is normalized into the unit cube at the origin and seen from N cameras (Zero123's random
shell, the northern hemisphere, or a fixed ring; 35 mm lens on a 32 mm sensor). Per view: RGBA,
z-depth, camera-frame normals, mask and the 3x4 world-to-camera matrix (OpenCV convention; the
Blender/Zero123 one is ``diag(1, -1, -1) @ it``); per object metadata.json and a contact sheet; all
views also as WebDataset shards. Backends: the built-in Embree ray caster (default, headless, no
Blender) and Blender Cycles through ``bpy`` (extra ``[blender]``). Runs are resumable after any kill,
with a per-object timeout in worker processes or on Ray.

Modules: ``config`` (RenderConfig) · ``cameras`` · ``asset`` (load + normalize) · ``lighting`` ·
``raycast`` · ``blender`` · ``writer`` · ``shards`` · ``runner`` (render_objects). Only the light
ones (numpy) are imported here.
"""

from datasets3d.rendering.cameras import (
    blender_to_opencv_w2c,
    intrinsics_from_lens,
    look_at,
    opencv_to_blender_w2c,
    sample_cameras,
    world_to_camera,
)
from datasets3d.rendering.config import BACKENDS, CAMERA_MODES, RenderConfig

__all__ = [
    "BACKENDS",
    "CAMERA_MODES",
    "RenderConfig",
    "intrinsics_from_lens",
    "look_at",
    "sample_cameras",
    "world_to_camera",
    "opencv_to_blender_w2c",
    "blender_to_opencv_w2c",
]
