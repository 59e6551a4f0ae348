"""Where frames come from: video files, folders of frames, recorded RGB-D sequences, and synthetic panoramas.

A unit of work is one :class:`Sequence` (a source name + a sequence name): a video, a folder of
frames, a recorded RGB-D sequence, a built-in house, or a habitat scene. Sequences are plain data (JSON-able, picklable) so they
travel to worker processes and Ray actors; readers are opened inside the worker.

* Videos are decoded with OpenCV (FFmpeg backend), falling back to imageio-ffmpeg when OpenCV cannot
  open a file. Frames are read in order; only every ``gap``-th frame is kept.
* Folders of frames are read in natural order (``frame2.png`` before ``frame10.png``).
* Recorded RGB-D sequences (kind "rgbd": TUM RGB-D, ScanNet exports, or the plain folder of
  :func:`datasets3d.sequences.write_folder_sequence`) are read with :mod:`datasets3d.sequences`: colour,
  metric depth, intrinsics and, where recorded, camera poses. A folder that is one is a single sequence;
  its ``rgb/``, ``depth/`` or ``color/`` subfolders are not also taken as folders of frames.
  :func:`prepare_depth` and :func:`prepare_intrinsics` apply :func:`prepare_frame`'s crop and resize
  to the depth image (nearest) and to the camera.
* Synthetic panoramas follow MIMIC's ``hm3d_multipro.py`` through a small camera "rig" with
  ``place_random / turn_right / forward / view``: :class:`BuiltinRig` renders built-in houses from any
  pose (camera height sampled per panorama point); :class:`HabitatRig` drives
  :class:`sims.habitat.HabitatSimulator` with 15 degree turns and 5 cm moves (camera height sampled
  once per scene, as MIMIC does). Points come from the largest navigable region (built-in) or
  ``reset()``'s random navigable point (habitat); MIMIC's extra "island radius >= 6 m" check is not made.

Problems with an input raise :class:`SourceError` (bad files) with the path and what to do.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterator, Sequence as Seq
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from embodied.errors import ConfigError, EmbodiedError

__all__ = [
    "SourceError",
    "Sequence",
    "VIDEO_SUFFIXES",
    "IMAGE_SUFFIXES",
    "discover",
    "builtin_sequences",
    "habitat_sequences",
    "sanitize_name",
    "prepare_frame",
    "prepare_depth",
    "prepare_intrinsics",
    "is_rgbd_sequence",
    "open_rgbd",
    "FrameStream",
    "open_stream",
    "BuiltinRig",
    "HabitatRig",
    "open_rig",
]

VIDEO_SUFFIXES = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv", ".gif")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
KINDS = ("video", "frames", "rgbd", "builtin", "habitat")

# OpenCV's FFmpeg would print its own lines for a corrupt or truncated file ("moov atom not found",
# "Invalid NAL unit size") between the progress bar and the summary; the problem is recorded in the
# sequence's result with what to do, so FFmpeg is kept quiet (read before the first VideoCapture;
# set OPENCV_FFMPEG_LOGLEVEL yourself to see them).
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")


class SourceError(EmbodiedError, ValueError):
    """An input cannot be mined: unreadable or corrupt video, no frames, too few frames."""


@dataclass(frozen=True)
class Sequence:
    """One unit of work.

    Attributes:
        kind: "video", "frames", "rgbd", "builtin" or "habitat".
        source: dataset name (first level of the MIMIC layout).
        name: sequence name (second level), unique within the source; letters, digits, ``_`` and ``-``.
        path: the video file, frame folder, RGB-D sequence folder or habitat scene; None for built-in houses.
        seed: built-in house seed.
        options: extra settings (habitat: ``scene_dataset_config``).
    """

    kind: str
    source: str
    name: str
    path: str | None = None
    seed: int | None = None
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def unit_id(self) -> str:
        return f"{self.source}/{self.name}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Sequence:
        return cls(**d)


_UNSAFE = re.compile(r"[^A-Za-z0-9_\-]+")


def sanitize_name(name: str) -> str:
    """A name safe for folders and WebDataset keys: runs of other characters become ``_``."""
    out = _UNSAFE.sub("_", name).strip("_")
    return out or "unnamed"


def _natural_key(name: str) -> list:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


def _images_in(folder: Path) -> list[Path]:
    return sorted((p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES),
                  key=lambda p: _natural_key(p.name))


def discover(paths: Seq[str | os.PathLike], source: str | None = None) -> list[Sequence]:
    """Sequences under ``paths``: each video file, each RGB-D sequence folder (TUM, ScanNet or plain, see
    :func:`is_rgbd_sequence`; not searched further), and each other folder that directly holds image files.

    Args:
        paths: video files, frame folders, RGB-D sequence folders, or folders to search (recursively).
        source: the source name for all of them; default: the folder's name for a folder, the parent
            folder's name for a file.

    Raises:
        ConfigError: a path does not exist, holds nothing to mine, or two sequences get the same name.
    """
    out: list[Sequence] = []
    for raw in paths:
        root = Path(raw).expanduser()
        if not root.exists():
            raise ConfigError(f"input {root} does not exist")
        src = sanitize_name(source or (root.name if root.is_dir() else root.parent.name or "videos"))
        found: list[Sequence] = []
        if root.is_file():
            if root.suffix.lower() not in VIDEO_SUFFIXES:
                raise ConfigError(f"{root} is not a video ({', '.join(VIDEO_SUFFIXES)}); pass a video file or a folder")
            found.append(Sequence("video", src, sanitize_name(root.stem), str(root.resolve())))
        else:
            for folder, dirs, files in os.walk(root):
                dirs.sort()
                here = Path(folder)
                rel = here.relative_to(root)
                if is_rgbd_sequence(here):
                    dirs[:] = []  # its rgb/ depth/ color/ folders belong to it
                    name = "_".join(rel.parts) or root.name
                    found.append(Sequence("rgbd", src, sanitize_name(name), str(here.resolve())))
                    continue
                for f in sorted(files, key=_natural_key):
                    if Path(f).suffix.lower() in VIDEO_SUFFIXES:
                        name = "_".join([*rel.parts, Path(f).stem])
                        found.append(Sequence("video", src, sanitize_name(name), str((here / f).resolve())))
                if any(Path(f).suffix.lower() in IMAGE_SUFFIXES for f in files):
                    name = "_".join(rel.parts) or root.name
                    found.append(Sequence("frames", src, sanitize_name(name), str(here.resolve())))
            if not found:
                raise ConfigError(f"{root} holds no videos ({', '.join(VIDEO_SUFFIXES)}), no RGB-D sequences "
                                  f"(TUM, ScanNet or plain folders) and no folders of images ({', '.join(IMAGE_SUFFIXES)})")
        out.extend(found)
    _check_unique(out)
    return out


def _check_unique(seqs: list[Sequence]) -> None:
    seen: dict[str, Sequence] = {}
    for s in seqs:
        if s.unit_id in seen:
            raise ConfigError(f"two inputs map to the same sequence '{s.unit_id}': {seen[s.unit_id].path} and "
                              f"{s.path}; rename one or mine them in separate runs (--source-name)")
        seen[s.unit_id] = s


def builtin_sequences(seeds: Seq[int]) -> list[Sequence]:
    """One sequence per built-in house seed (source "builtin", name "house-<seed>")."""
    from sims.raycast.house import house_scene_id

    return [Sequence("builtin", "builtin", house_scene_id(int(s)), seed=int(s)) for s in seeds]


def habitat_sequences(scenes: Seq[str], scene_dataset_config: str | None = None) -> list[Sequence]:
    """One sequence per habitat scene file (source "habitat", name from the file name)."""
    out = []
    for scene in scenes:
        stem = Path(scene).name.split(".")[0]
        out.append(Sequence("habitat", "habitat", sanitize_name(stem), str(scene),
                            options={"scene_dataset_config": scene_dataset_config} if scene_dataset_config else {}))
    _check_unique(out)
    return out


# --------------------------------------------------------------------------------------------- frames
def prepare_frame(rgb: np.ndarray, size_px: int, mode: str) -> np.ndarray:
    """(H, W, 3) uint8 -> (size, size, 3) uint8: "stretch" resizes (MIMIC), "crop" takes the centre
    square first."""
    import cv2

    if mode == "crop":
        h, w = rgb.shape[:2]
        s = min(h, w)
        y0, x0 = (h - s) // 2, (w - s) // 2
        rgb = rgb[y0:y0 + s, x0:x0 + s]
    if rgb.shape[:2] == (size_px, size_px):
        return np.ascontiguousarray(rgb)
    return cv2.resize(np.ascontiguousarray(rgb), (size_px, size_px))


def prepare_depth(depth_m: np.ndarray, size_px: int, mode: str) -> np.ndarray:
    """(H, W) float depth -> (size, size) float32 with :func:`prepare_frame`'s crop and resize, by
    nearest neighbour (no blending across depth edges; 0 = invalid stays 0). Output pixel ``u`` takes
    input pixel ``floor((u + 0.5) * W / size)``, the pixel nearest to where ``cv2.resize`` samples."""
    d = np.asarray(depth_m, np.float32)
    if mode == "crop":
        h, w = d.shape
        s = min(h, w)
        y0, x0 = (h - s) // 2, (w - s) // 2
        d = d[y0:y0 + s, x0:x0 + s]
    h, w = d.shape
    if (h, w) == (size_px, size_px):
        return np.ascontiguousarray(d)
    rows = np.minimum(((np.arange(size_px) + 0.5) * (h / size_px)).astype(np.int64), h - 1)
    cols = np.minimum(((np.arange(size_px) + 0.5) * (w / size_px)).astype(np.int64), w - 1)
    return np.ascontiguousarray(d[rows[:, None], cols[None, :]])


def prepare_intrinsics(intrinsics: Any, size_px: int, mode: str) -> Any:
    """The :class:`embodied.types.CameraIntrinsics` of a frame after :func:`prepare_frame` (pixel
    centres at integers; ``cv2.resize`` maps output pixel ``u`` to input ``(u + 0.5) * W / size - 0.5``)."""
    from embodied.types import CameraIntrinsics

    w, h = int(intrinsics.width), int(intrinsics.height)
    cx, cy = float(intrinsics.cx), float(intrinsics.cy)
    if mode == "crop":
        s = min(h, w)
        cx, cy = cx - (w - s) // 2, cy - (h - s) // 2
        w = h = s
    sx, sy = w / size_px, h / size_px
    return CameraIntrinsics(size_px, size_px, float(intrinsics.fx) / sx, float(intrinsics.fy) / sy,
                            (cx + 0.5) / sx - 0.5, (cy + 0.5) / sy - 0.5)


def is_rgbd_sequence(folder: str | os.PathLike) -> bool:
    """Whether ``folder`` is a recorded RGB-D sequence :mod:`datasets3d.sequences` reads (TUM, ScanNet,
    plain folder)."""
    from datasets3d.sequences import SequenceError, sequence_format

    try:
        sequence_format(folder)
    except SequenceError:
        return False
    return True


def open_rgbd(seq: Sequence) -> Any:
    """The :class:`datasets3d.sequences.RGBDSequence` of an "rgbd" sequence; SourceError when it cannot be read."""
    from datasets3d.sequences import SequenceError, open_sequence

    if seq.kind != "rgbd":
        raise ConfigError(f"sequence kind '{seq.kind}' is not an RGB-D sequence")
    if not Path(seq.path).is_dir():
        raise SourceError(f"RGB-D sequence {seq.path} does not exist")
    try:
        return open_sequence(seq.path)
    except SequenceError as exc:
        raise SourceError(f"cannot read RGB-D sequence {seq.path}: {exc}") from None


@dataclass
class FrameStream:
    """The frames of a video or folder, every ``step``-th one, resized.

    ``frames()`` yields ``(frame index, (S, S, 3) uint8 or None, problem or None)``; after it is
    exhausted, ``problems`` lists what went wrong (unreadable files, a truncated video) and
    ``n_decoded`` how many frames were read.
    """

    kind: str
    path: str
    fps: float
    n_declared: int
    size_px: int
    resize: str
    problems: list[str] = field(default_factory=list)
    n_decoded: int = 0
    _backend: str = "opencv"

    def frames(self, step: int) -> Iterator[tuple[int, np.ndarray | None, str | None]]:
        if self.kind == "frames":
            yield from self._folder_frames(step)
        elif self._backend == "opencv":
            yield from self._opencv_frames(step)
        else:
            yield from self._imageio_frames(step)

    def _folder_frames(self, step: int):
        import cv2

        files = _images_in(Path(self.path))
        self.n_decoded = len(files)
        for i in range(0, len(files), step):
            img = cv2.imread(str(files[i]), cv2.IMREAD_COLOR)
            if img is None:
                msg = f"unreadable frame {files[i].name}"
                self.problems.append(msg)
                yield i, None, msg
                continue
            yield i, prepare_frame(cv2.cvtColor(img, cv2.COLOR_BGR2RGB), self.size_px, self.resize), None

    def _opencv_frames(self, step: int):
        import cv2

        cap = cv2.VideoCapture(self.path)
        try:
            i = 0
            while True:
                if i % step == 0:
                    ok, bgr = cap.read()
                    if not ok or bgr is None:
                        break
                    self.n_decoded = i + 1
                    yield i, prepare_frame(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), self.size_px, self.resize), None
                else:
                    if not cap.grab():
                        break
                    self.n_decoded = i + 1
                i += 1
        finally:
            cap.release()
        self._check_truncated()

    def _imageio_frames(self, step: int):
        import imageio_ffmpeg

        gen = imageio_ffmpeg.read_frames(self.path, pix_fmt="rgb24")
        try:
            meta = next(gen)
            w, h = meta["size"]
            i = 0
            for buf in gen:
                self.n_decoded = i + 1
                if i % step == 0:
                    rgb = np.frombuffer(buf, np.uint8).reshape(h, w, 3)
                    yield i, prepare_frame(rgb, self.size_px, self.resize), None
                i += 1
        except (RuntimeError, OSError) as exc:
            self.problems.append(f"decoding stopped after {self.n_decoded} frames: {' '.join(str(exc).split())[:200]}")
        finally:
            gen.close()
        self._check_truncated()

    def _check_truncated(self) -> None:
        missing = self.n_declared - self.n_decoded
        if self.n_declared > 0 and missing > max(2, 0.02 * self.n_declared):
            self.problems.append(f"truncated video: decoded {self.n_decoded} of {self.n_declared} frames "
                                 "(the rest is missing or corrupt; re-encode or re-download the file)")


def open_stream(seq: Sequence, size_px: int, resize: str, frames_fps: float) -> FrameStream:
    """Open a video or frame folder; SourceError when it cannot be read at all."""
    if seq.kind == "frames":
        folder = Path(seq.path)
        if not folder.is_dir():
            raise SourceError(f"frame folder {folder} does not exist")
        return FrameStream("frames", str(folder), frames_fps, len(_images_in(folder)), size_px, resize)
    if seq.kind != "video":
        raise ConfigError(f"sequence kind '{seq.kind}' has no frame stream")
    path = Path(seq.path)
    if not path.is_file():
        raise SourceError(f"video {path} does not exist")
    if path.stat().st_size == 0:
        raise SourceError(f"video {path} is empty (0 bytes); re-download or remove it")
    import cv2

    cap = cv2.VideoCapture(str(path))
    try:
        opened = cap.isOpened() and cap.grab()
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    finally:
        cap.release()
    if opened and fps > 0:
        return FrameStream("video", str(path), fps, max(count, 0), size_px, resize)
    try:  # OpenCV could not open it: imageio-ffmpeg (a separate ffmpeg binary) may
        import imageio_ffmpeg

        gen = imageio_ffmpeg.read_frames(str(path), pix_fmt="rgb24")
        meta = next(gen)
        first = next(gen, None)
        gen.close()
        if first is None:
            raise RuntimeError("no frames")
        fps = float(meta.get("fps") or 0) or frames_fps
        count = int(round(float(meta.get("duration") or 0) * fps))
        return FrameStream("video", str(path), fps, count, size_px, resize, _backend="imageio")
    except Exception as exc:  # noqa: BLE001 - both decoders failed: one clear error
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
        why = (lines[-1] if lines else type(exc).__name__)[:200]  # ffmpeg's last line says what is wrong
        raise SourceError(f"cannot decode video {path}: neither OpenCV nor imageio-ffmpeg can read it ({why}); "
                          "the file is corrupt, truncated before its index, or not a video: check it with "
                          "ffprobe, re-encode or remove it") from None


# --------------------------------------------------------------------------------------------- rigs
class BuiltinRig:
    """A free camera in a built-in house: random navigable points, any height, turns and moves that
    stop at obstacles (the navigable grid of a 0.18 m agent)."""

    def __init__(self, seed: int, render_px: int, hfov_deg: float, height_range_m: tuple[float, float],
                 backend: str = "embree") -> None:
        from embodied.types import CameraIntrinsics
        from sims.raycast.house import generate_house
        from sims.raycast.navigation import build_navgrid
        from sims.raycast.render import Renderer

        self.scene = generate_house(int(seed))
        self.nav = build_navgrid(self.scene, 0.18, 1.5, 0.05)
        self._cells = np.argwhere(self.nav.navigable & self.nav.largest_component())
        if len(self._cells) == 0:
            raise SourceError(f"house {seed} has no navigable cells")
        self.renderer = Renderer(self.scene, backend, 20.0, threads=1)
        self.intrinsics = CameraIntrinsics.from_hfov(render_px, render_px, hfov_deg)
        self.height_range_m = height_range_m
        self.pos = np.zeros(2)
        self.yaw = 0.0
        self.height_m = float(height_range_m[0])

    def place_random(self, rng: np.random.Generator) -> None:
        r, c = self._cells[int(rng.integers(len(self._cells)))]
        self.pos = self.nav.cell_center(int(r), int(c))
        self.yaw = float(rng.uniform(-math.pi, math.pi))
        self.height_m = float(rng.uniform(*self.height_range_m))

    def turn_right(self, deg: float) -> None:
        self.yaw = float((self.yaw - math.radians(deg) + math.pi) % (2 * math.pi) - math.pi)

    def forward(self, dist_m: float) -> None:
        direction = np.array([math.cos(self.yaw), math.sin(self.yaw)])
        n = max(2, int(math.ceil(dist_m / 0.0125)) + 1)
        for p in np.linspace(self.pos, self.pos + dist_m * direction, n)[1:]:
            if not self.nav.is_navigable(p):
                break
            self.pos = p

    def pose(self) -> np.ndarray:
        from embodied import geometry

        return geometry.camera_pose(np.array([self.pos[0], self.pos[1], self.height_m]), self.yaw)

    def view(self) -> tuple[np.ndarray, np.ndarray]:
        """((R, R, 3) uint8 RGB, (4, 4) T_world_cam)."""
        T = self.pose()
        return self.renderer.render(T, self.intrinsics).rgb, T

    def close(self) -> None:
        self.renderer.close()


class HabitatRig:
    """The same rig on habitat-sim through :class:`sims.habitat.HabitatSimulator` (15 degree turns,
    5 cm moves; the camera height is fixed per scene)."""

    TURN_DEG = 15.0
    STEP_M = 0.05

    def __init__(self, scene: str, render_px: int, hfov_deg: float, height_m: float,
                 scene_dataset_config: str | None = None, sim: Any = None) -> None:
        from sims.habitat import HabitatConfig, HabitatSimulator

        cfg = HabitatConfig(scene=scene, scene_dataset_config=scene_dataset_config, width=render_px,
                            height=render_px, hfov_deg=hfov_deg, sensor_height_m=height_m, turn_deg=self.TURN_DEG,
                            forward_m=self.STEP_M, semantic=False, tilt_limit_deg=None, max_steps=10**9)
        self.sim = HabitatSimulator(cfg, sim=sim)
        self.height_m = height_m
        self._obs = None

    def place_random(self, rng: np.random.Generator) -> None:
        self._obs = self.sim.reset(seed=int(rng.integers(2**31 - 1)))

    def turn_right(self, deg: float) -> None:
        from embodied.types import Action

        for _ in range(int(round(deg / self.TURN_DEG))):
            self._obs = self.sim.step(Action.TURN_RIGHT).observation

    def forward(self, dist_m: float) -> None:
        from embodied.types import Action

        for _ in range(int(round(dist_m / self.STEP_M))):
            self._obs = self.sim.step(Action.MOVE_FORWARD).observation

    def view(self) -> tuple[np.ndarray, np.ndarray]:
        return self._obs.rgb, self._obs.T_world_cam

    def close(self) -> None:
        self.sim.close()


def open_rig(seq: Sequence, render_px: int, hfov_deg: float, height_range_m: tuple[float, float],
             rng: np.random.Generator) -> BuiltinRig | HabitatRig:
    """The camera rig of a synthetic sequence."""
    if seq.kind == "builtin":
        return BuiltinRig(int(seq.seed), render_px, hfov_deg, height_range_m)
    if seq.kind == "habitat":
        from embodied.optional import require

        require("habitat_sim", purpose="mining habitat scenes")
        if not Path(seq.path).exists() and not seq.options.get("scene_dataset_config"):
            raise SourceError(f"habitat scene {seq.path} does not exist")
        return HabitatRig(seq.path, render_px, hfov_deg, float(rng.uniform(*height_range_m)),
                          seq.options.get("scene_dataset_config"))
    raise ConfigError(f"sequence kind '{seq.kind}' is not synthetic (choose from {KINDS})")
