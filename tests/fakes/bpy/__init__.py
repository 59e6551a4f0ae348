"""TEST STAND-IN for Blender's ``bpy`` module. This is NOT bpy and must never be installed.

It implements only what :mod:`datasets3d.rendering.blender` touches, with bpy's names, defaults and
semantics (checked against bpy 5.0.1), so the Blender backend can be tested where the real package
is missing. Tests put ``tests/fakes`` on ``sys.path`` temporarily to import it as ``bpy``;
``IS_TEST_STAND_IN`` tells it apart.

What it models, as Blender does it:

* ``bpy.ops.wm.read_factory_settings(use_empty=True)`` leaves one empty scene and empty data-blocks.
* Enum properties (render engine, image format/mode/depth, sensor fit, view transform, light type,
  vector-math operation, colour-attribute type/domain) reject values Blender rejects (TypeError).
* ``foreach_set`` needs exactly ``len(collection) * item_size`` values (RuntimeError otherwise);
  polygon sizes follow from consecutive ``loop_start`` values, as in Blender 4+.
* Matrices are column-major: assigning nested sequences to ``matrix_world`` reads each inner
  sequence as a column (``obj.matrix_world = [[1,0,0,0], [0,1,0,0], [0,0,1,0], [tx,ty,tz,1]]``
  puts (tx, ty, tz) in the translation). Reading gives a :class:`Matrix` with ``[row][col]`` access.
* Cameras look down their local -Z with +Y up; ``lens``/``sensor_width`` with sensor fit AUTO span
  the larger image side; ``shift_x``/``shift_y`` move the image window by fractions of that side.
* New materials and worlds have node trees (Blender 5: ``use_nodes`` is always on, deprecated):
  "Principled BSDF" + "Material Output", and a "Background" node.
* ``bpy.ops.render.render(write_still=True)`` writes an 8-bit RGBA PNG to ``scene.render.filepath``.
  Instead of path tracing, it rasterizes every mesh's triangles with a z-buffer through the scene
  camera (pixel centres at half-integers) and fills them with the material's base colour (a texture's
  mean colour, the colour attribute's mean), sRGB-encoded as the "Standard" view transform does;
  alpha is 255 on the object and 0 elsewhere (``film_transparent``).
Every operator call is appended to ``calls``.
"""

from __future__ import annotations

import os
from types import SimpleNamespace
from typing import Any

import numpy as np

IS_TEST_STAND_IN = True
calls: list[tuple[str, dict[str, Any]]] = []

app = SimpleNamespace(version=(5, 0, 1), version_string="5.0.1 (test stand-in)", background=True)


def _enum(name: str, allowed: set[str]):
    attr = "_" + name

    def get(self):
        return getattr(self, attr)

    def set_(self, value):
        if value not in allowed:
            raise TypeError(f"bpy_struct: item.attr = val: enum \"{value}\" not found in {tuple(sorted(allowed))}")
        setattr(self, attr, value)

    return property(get, set_)


class Matrix:
    """4x4 matrix read as ``m[row][col]`` (mathutils.Matrix semantics)."""

    def __init__(self, rows: Any = None) -> None:
        self._m = np.eye(4) if rows is None else np.array(rows, dtype=np.float64).reshape(4, 4)

    def __getitem__(self, i: int) -> tuple[float, ...]:
        return tuple(self._m[i])

    def to_numpy(self) -> np.ndarray:
        return self._m.copy()

    def __repr__(self) -> str:
        return f"<Matrix 4x4 {self._m.tolist()}>"


class _Collection(list):
    """A bpy_prop_collection of items with ``foreach_set``."""

    def __init__(self, item_size: dict[str, int]) -> None:
        super().__init__()
        self._item_size = item_size
        self._data: dict[str, np.ndarray] = {}

    def add(self, count: int) -> None:
        self.extend([None] * int(count))

    def foreach_set(self, attr: str, seq: Any) -> None:
        if attr not in self._item_size:
            raise AttributeError(f"foreach_set('{attr}', ...): unknown attribute")
        arr = np.asarray(seq).reshape(-1)
        want = len(self) * self._item_size[attr]
        if arr.size != want:
            raise RuntimeError(f"internal error setting the array: expected {want} items, got {arr.size}")
        self._data[attr] = arr.copy()

    def get_array(self, attr: str) -> np.ndarray | None:
        return self._data.get(attr)


class _Layer:
    def __init__(self, name: str, n: int, size: int, attr: str) -> None:
        self.name = name
        self.data = _Collection({attr: size})
        self.data.add(n)


class _LayerList(list):
    def __init__(self, mesh: Mesh, attr: str, size: int) -> None:
        super().__init__()
        self._mesh, self._attr, self._size = mesh, attr, size

    def new(self, name: str = "UVMap", type: str | None = None, domain: str | None = None) -> _Layer:  # noqa: A002
        if self._attr == "color":
            if type not in {"FLOAT_COLOR", "BYTE_COLOR"} or domain not in {"POINT", "CORNER"}:
                raise TypeError(f"color_attributes.new(): bad type/domain {type!r}/{domain!r}")
            n = len(self._mesh.loops) if domain == "CORNER" else len(self._mesh.vertices)
        else:
            n = len(self._mesh.loops)
        layer = _Layer(name, n, self._size, self._attr)
        self.append(layer)
        return layer


class Mesh:
    def __init__(self, name: str) -> None:
        self.name = name
        self.vertices = _Collection({"co": 3})
        self.loops = _Collection({"vertex_index": 1})
        self.polygons = _Collection({"loop_start": 1, "material_index": 1})
        self.uv_layers = _LayerList(self, "uv", 2)
        self.color_attributes = _LayerList(self, "color", 4)
        self.materials: list[Material] = []

    def update(self) -> None:
        pass

    def validate(self) -> bool:
        starts = self.polygons.get_array("loop_start")
        if starts is None or len(starts) != len(self.polygons):
            raise RuntimeError("mesh polygons have no loop_start")
        if self.vertices.get_array("co") is None or self.loops.get_array("vertex_index") is None:
            raise RuntimeError("mesh vertices or loops are unset")
        return False  # False: nothing had to be fixed

    def triangles(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(V, 3) vertices, (T, 3) vertex ids and (T,) polygon index of a fan triangulation."""
        co = self.vertices.get_array("co").reshape(-1, 3).astype(np.float64)
        vi = self.loops.get_array("vertex_index").astype(np.int64)
        starts = self.polygons.get_array("loop_start").astype(np.int64)
        ends = np.append(starts[1:], len(vi))
        tris, owner = [], []
        for p, (a, b) in enumerate(zip(starts, ends)):
            for k in range(a + 1, b - 1):
                tris.append((vi[a], vi[k], vi[k + 1]))
                owner.append(p)
        return co, np.array(tris, np.int64).reshape(-1, 3), np.array(owner, np.int64)


class _Socket:
    def __init__(self, node: _Node, name: str, default: Any = None) -> None:
        self.node, self.name, self.default_value, self.links = node, name, default, []


class _Sockets(dict):
    def __getitem__(self, key: Any) -> _Socket:
        if isinstance(key, int):
            return list(self.values())[key]
        return super().__getitem__(key)


_NODE_SOCKETS = {
    "ShaderNodeBsdfPrincipled": ({"Base Color": (0.8, 0.8, 0.8, 1.0), "Metallic": 0.0, "Roughness": 0.5}, ["BSDF"]),
    "ShaderNodeOutputMaterial": ({"Surface": None}, []),
    "ShaderNodeTexImage": ({"Vector": None}, ["Color", "Alpha"]),
    "ShaderNodeVertexColor": ({}, ["Color", "Alpha"]),
    "ShaderNodeVectorMath": ({"Vector": (0.0, 0.0, 0.0), "Vector_001": (0.0, 0.0, 0.0)}, ["Vector", "Value"]),
    "ShaderNodeBackground": ({"Color": (0.05, 0.05, 0.05, 1.0), "Strength": 1.0}, ["Background"]),
    "ShaderNodeOutputWorld": ({"Surface": None}, []),
}


class _Node:
    operation = _enum("operation", {"ADD", "SUBTRACT", "MULTIPLY", "DIVIDE", "SCALE"})

    def __init__(self, bl_idname: str, name: str) -> None:
        if bl_idname not in _NODE_SOCKETS:
            raise RuntimeError(f"NodeTree.nodes.new(): node type \"{bl_idname}\" undefined")
        ins, outs = _NODE_SOCKETS[bl_idname]
        self.bl_idname, self.name = bl_idname, name
        self.inputs = _Sockets({k: _Socket(self, k, v) for k, v in ins.items()})
        self.outputs = _Sockets({k: _Socket(self, k) for k in outs})
        self.image: Image | None = None
        self.layer_name = ""
        self._operation = "ADD"


class _Nodes(list):
    def new(self, type: str) -> _Node:  # noqa: A002
        node = _Node(type, type.replace("ShaderNode", ""))
        self.append(node)
        return node

    def get(self, name: str) -> _Node | None:
        return next((n for n in self if n.name == name), None)


class _Links(list):
    def new(self, from_socket: _Socket, to_socket: _Socket) -> tuple[_Socket, _Socket]:
        if not isinstance(from_socket, _Socket) or not isinstance(to_socket, _Socket):
            raise TypeError("NodeLinks.new(): expected two NodeSocket arguments")
        to_socket.links = [from_socket]
        self.append((from_socket, to_socket))
        return from_socket, to_socket


class _NodeTree:
    def __init__(self, nodes: list[tuple[str, str]]) -> None:
        self.nodes, self.links = _Nodes(), _Links()
        for bl_idname, name in nodes:
            self.nodes.append(_Node(bl_idname, name))


class Material:
    def __init__(self, name: str) -> None:
        self.name = name
        self.use_nodes = True
        self.node_tree = _NodeTree([("ShaderNodeBsdfPrincipled", "Principled BSDF"),
                                    ("ShaderNodeOutputMaterial", "Material Output")])

    def base_color_srgb(self, mesh: Mesh) -> np.ndarray:
        """(3,) uint8 flat colour this material shows in the stand-in's renders."""
        sock = self.node_tree.nodes.get("Principled BSDF").inputs["Base Color"]
        src = sock.links[0] if sock.links else None
        while src is not None and src.node.bl_idname == "ShaderNodeVectorMath":  # texture * factor
            src = src.node.inputs[0].links[0] if src.node.inputs[0].links else None
        if src is None:
            lin = np.asarray(sock.default_value[:3], np.float64)
        elif src.node.bl_idname == "ShaderNodeTexImage" and src.node.image is not None:
            return src.node.image.mean_srgb()
        elif src.node.bl_idname == "ShaderNodeVertexColor":
            layer = next((c for c in mesh.color_attributes if c.name == src.node.layer_name), None)
            if layer is None:
                return np.zeros(3, np.uint8)  # Blender renders a missing attribute black
            lin = layer.data.get_array("color").reshape(-1, 4)[:, :3].mean(axis=0)
        else:
            lin = np.full(3, 0.8)
        lin = np.clip(lin, 0.0, 1.0)
        srgb = np.where(lin <= 0.0031308, lin * 12.92, 1.055 * lin ** (1 / 2.4) - 0.055)
        return np.round(srgb * 255).astype(np.uint8)


class Image:
    def __init__(self, path: str) -> None:
        from PIL import Image as PILImage

        if not os.path.isfile(path):
            raise RuntimeError(f"Error: Cannot read '{path}': No such file or directory")
        self.filepath, self.name = path, os.path.basename(path)
        with PILImage.open(path) as im:
            self._rgb = np.asarray(im.convert("RGB"))
        self.size = (self._rgb.shape[1], self._rgb.shape[0])

    def mean_srgb(self) -> np.ndarray:
        return np.round(self._rgb.reshape(-1, 3).mean(axis=0)).astype(np.uint8)


class Light:
    type = _enum("type", {"POINT", "SUN", "SPOT", "AREA"})

    def __init__(self, name: str, type: str) -> None:  # noqa: A002
        self.name, self.energy, self.angle = name, 10.0, 0.00918043
        self.type = type


class Camera:
    sensor_fit = _enum("sensor_fit", {"AUTO", "HORIZONTAL", "VERTICAL"})

    def __init__(self, name: str) -> None:
        self.name, self.lens, self.sensor_width, self.sensor_height = name, 50.0, 36.0, 24.0
        self.shift_x = self.shift_y = 0.0
        self.clip_start, self.clip_end = 0.1, 1000.0
        self._sensor_fit = "AUTO"


class World:
    def __init__(self, name: str) -> None:
        self.name, self.use_nodes, self.color = name, True, (0.05, 0.05, 0.05)
        self.node_tree = _NodeTree([("ShaderNodeBackground", "Background"), ("ShaderNodeOutputWorld", "World Output")])


class Object:
    def __init__(self, name: str, data: Any) -> None:
        self.name, self.data = name, data
        self.type = {Mesh: "MESH", Camera: "CAMERA", Light: "LIGHT"}.get(type(data), "EMPTY")
        self._matrix = np.eye(4)

    @property
    def matrix_world(self) -> Matrix:
        return Matrix(self._matrix)

    @matrix_world.setter
    def matrix_world(self, value: Any) -> None:
        if isinstance(value, Matrix):
            self._matrix = value.to_numpy()
            return
        arr = np.array(value, dtype=np.float64)
        if arr.shape != (4, 4):
            raise ValueError(f"matrix_world: expected a 4x4 matrix, got shape {arr.shape}")
        self._matrix = arr.T  # RNA matrices are column-major: each inner sequence is a column


class _DataBlocks(list):
    def __init__(self, factory: Any) -> None:
        super().__init__()
        self._factory = factory

    def new(self, name: str, *args: Any) -> Any:
        item = self._factory(name, *args)
        self.append(item)
        return item

    def load(self, filepath: str, check_existing: bool = False) -> Any:
        item = self._factory(filepath)
        self.append(item)
        return item

    def get(self, name: str) -> Any:
        return next((x for x in self if x.name == name), None)


class _SceneObjects(list):
    def link(self, obj: Object) -> None:
        if obj in self:
            raise RuntimeError(f"Object '{obj.name}' already in collection")
        self.append(obj)


class _ImageSettings:
    file_format = _enum("file_format", {"PNG", "JPEG", "OPEN_EXR", "OPEN_EXR_MULTILAYER", "TIFF", "BMP"})
    color_mode = _enum("color_mode", {"BW", "RGB", "RGBA"})
    color_depth = _enum("color_depth", {"8", "16", "32"})

    def __init__(self) -> None:
        self._file_format, self._color_mode, self._color_depth = "PNG", "RGBA", "8"


class _Render:
    engine = _enum("engine", {"BLENDER_EEVEE", "BLENDER_WORKBENCH", "CYCLES"})
    threads_mode = _enum("threads_mode", {"AUTO", "FIXED"})

    def __init__(self) -> None:
        self._engine, self._threads_mode = "BLENDER_EEVEE", "AUTO"
        self.resolution_x, self.resolution_y, self.resolution_percentage = 1920, 1080, 100
        self.film_transparent, self.filepath, self.threads = False, "/tmp/", 1
        self.image_settings = _ImageSettings()


class _Cycles:
    device = _enum("device", {"CPU", "GPU"})

    def __init__(self) -> None:
        self._device, self.samples, self.use_denoising, self.seed = "CPU", 4096, True, 0


class _ViewSettings:
    view_transform = _enum("view_transform", {"Standard", "Khronos PBR Neutral", "AgX", "Filmic", "Raw",
                                              "Filmic Log", "False Color"})

    def __init__(self) -> None:
        self._view_transform = "AgX"


class Scene:
    def __init__(self) -> None:
        self.name = "Scene"
        self.render, self.cycles, self.view_settings = _Render(), _Cycles(), _ViewSettings()
        self.collection = SimpleNamespace(objects=_SceneObjects())
        self.camera: Object | None = None
        self.world: World | None = None

    @property
    def objects(self) -> list[Object]:
        return list(self.collection.objects)


def _fresh_data() -> SimpleNamespace:
    return SimpleNamespace(meshes=_DataBlocks(Mesh), objects=_DataBlocks(Object), cameras=_DataBlocks(Camera),
                           lights=_DataBlocks(Light), materials=_DataBlocks(Material), images=_DataBlocks(Image),
                           worlds=_DataBlocks(World))


data = _fresh_data()
context = SimpleNamespace(scene=Scene())


def _read_factory_settings(use_empty: bool = False) -> set[str]:
    calls.append(("wm.read_factory_settings", {"use_empty": use_empty}))
    fresh = _fresh_data()  # refilled in place: ``bpy.data`` stays the same object, as in Blender
    data.__dict__.update(fresh.__dict__)
    context.scene = Scene()
    return {"FINISHED"}


def _rasterize(scene: Scene) -> np.ndarray:
    r = scene.render
    W = int(r.resolution_x * r.resolution_percentage / 100)
    H = int(r.resolution_y * r.resolution_percentage / 100)
    rgba = np.zeros((H, W, 4), np.uint8)
    zbuf = np.full((H, W), np.inf)
    cam = scene.camera
    if cam is None:
        raise RuntimeError("Error: No camera found in scene \"Scene\"")
    cd = cam.data
    side = W if (cd.sensor_fit == "AUTO" and W >= H) or cd.sensor_fit == "HORIZONTAL" else H
    f = cd.lens / cd.sensor_width * side
    ox, oy = W / 2.0 + cd.shift_x * side, H / 2.0 + cd.shift_y * side  # image centre, y up, corner origin
    world_to_cam = np.linalg.inv(cam.matrix_world.to_numpy())
    px_x, px_y = np.meshgrid(np.arange(W) + 0.5, np.arange(H) + 0.5)  # pixel centres (x right, y down)
    for obj in scene.objects:
        if obj.type != "MESH":
            continue
        mesh = obj.data
        co, tris, owner = mesh.triangles()
        pts = (np.c_[co, np.ones(len(co))] @ (world_to_cam @ obj.matrix_world.to_numpy()).T)[:, :3]
        depth = -pts[:, 2]  # the camera looks down -Z
        with np.errstate(divide="ignore", invalid="ignore"):
            sx = ox + f * pts[:, 0] / depth
            sy = H - (oy + f * pts[:, 1] / depth)  # rows grow downwards
        mat_index = mesh.polygons.get_array("material_index")
        colours = [m.base_color_srgb(mesh) for m in mesh.materials] or [np.full(3, 204, np.uint8)]
        for t, p in zip(tris, owner):
            if np.any(depth[t] <= cd.clip_start):
                continue
            x, y = sx[t], sy[t]
            x0, x1 = max(int(np.floor(x.min())), 0), min(int(np.ceil(x.max())), W)
            y0, y1 = max(int(np.floor(y.min())), 0), min(int(np.ceil(y.max())), H)
            if x0 >= x1 or y0 >= y1:
                continue
            X, Y = px_x[y0:y1, x0:x1], px_y[y0:y1, x0:x1]
            area = (x[1] - x[0]) * (y[2] - y[0]) - (x[2] - x[0]) * (y[1] - y[0])
            if abs(area) < 1e-12:
                continue
            w0 = ((x[1] - X) * (y[2] - Y) - (x[2] - X) * (y[1] - Y)) / area
            w1 = ((x[2] - X) * (y[0] - Y) - (x[0] - X) * (y[2] - Y)) / area
            w2 = 1.0 - w0 - w1
            inside = (w0 >= 0) & (w1 >= 0) & (w2 >= 0)
            z = 1.0 / (w0 / depth[t[0]] + w1 / depth[t[1]] + w2 / depth[t[2]])  # perspective-correct
            closer = inside & (z < zbuf[y0:y1, x0:x1])
            zbuf[y0:y1, x0:x1][closer] = z[closer]
            m = int(mat_index[p]) if mat_index is not None and len(colours) > 1 else 0
            rgba[y0:y1, x0:x1][closer] = (*colours[min(m, len(colours) - 1)], 255)
    if not r.film_transparent:
        rgba[..., 3] = 255
    return rgba


def _render(write_still: bool = False, animation: bool = False) -> set[str]:
    from PIL import Image as PILImage

    scene = context.scene
    calls.append(("render.render", {"write_still": write_still, "engine": scene.render.engine,
                                    "samples": scene.cycles.samples, "filepath": scene.render.filepath}))
    rgba = _rasterize(scene)
    if write_still:
        path = scene.render.filepath
        if not path.lower().endswith(".png"):
            path += ".png"
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        mode = scene.render.image_settings.color_mode
        PILImage.fromarray(rgba if mode == "RGBA" else rgba[..., :3]).save(path)
    return {"FINISHED"}


ops = SimpleNamespace(
    wm=SimpleNamespace(read_factory_settings=_read_factory_settings),
    render=SimpleNamespace(render=_render),
)
types = SimpleNamespace(Mesh=Mesh, Object=Object, Camera=Camera, Light=Light, Material=Material, Image=Image,
                        Scene=Scene, World=World)
