"""A Rerun recording of a scene graph as it grows (the ``viz`` extra: ``pip install 'embodied-zeroshot[viz]'``).

Per frame (timeline ``step``): the camera (pose, pinhole, RGB), every node's fused points in one colour
per node, the node boxes labelled with their id (and category guess when given), and the edges as
segments between node centres. Open the file with ``rerun graph.rrd``. World frame: Z up, metres.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from embodied.optional import require
from embodied.scene_graph.graph import SceneGraph
from embodied.types import Observation

__all__ = ["GraphRecording"]


def _colours(ids: np.ndarray) -> np.ndarray:
    """Stable distinct (N, 3) uint8 colours for integer ids."""
    h = (np.asarray(ids, np.int64) * 2654435761) % (2**32)
    return (np.stack([(h >> 8) & 255, (h >> 16) & 255, (h >> 24) & 255], -1) // 2 + 100).astype(np.uint8)


class GraphRecording:
    """Writes a ``.rrd`` file; call :meth:`log` after each graph update and :meth:`close` at the end.

    Args:
        path: the ``.rrd`` file to write.
        application_id: the recording's name in the viewer.
    """

    def __init__(self, path: str | os.PathLike, application_id: str = "embodied-scene-graph") -> None:
        self.rr = require("rerun", extra="viz", purpose="recording scene graphs")
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.rec = self.rr.RecordingStream(application_id)
        self.rec.save(str(self.path))
        self.rec.log("world", self.rr.ViewCoordinates.RIGHT_HAND_Z_UP, static=True)
        self.frames = 0

    def _set_step(self, step: int) -> None:
        if hasattr(self.rec, "set_time"):  # rerun >= 0.23
            self.rec.set_time("step", sequence=int(step))
        else:
            self.rec.set_time_sequence("step", int(step))

    def log(self, graph: SceneGraph, obs: Observation | None = None, labels: Mapping[int, str] | None = None,
            step: int | None = None) -> None:
        """Log the graph's current state (and the frame that produced it)."""
        rr = self.rr
        self._set_step(step if step is not None else (obs.step if obs is not None else self.frames))
        self.frames += 1
        if obs is not None:
            T = np.asarray(obs.T_world_cam, float)
            K = obs.intrinsics
            self.rec.log("world/camera", rr.Transform3D(translation=T[:3, 3], mat3x3=T[:3, :3]))
            self.rec.log("world/camera/image", rr.Pinhole(image_from_camera=K.K, width=K.width, height=K.height))
            self.rec.log("world/camera/image/rgb", rr.Image(obs.rgb))
        nodes = graph.nodes
        if not nodes:
            return
        ids = np.array([n.node_id for n in nodes])
        colours = _colours(ids)
        pts = np.concatenate([n.points_m for n in nodes])
        self.rec.log("world/nodes/points", rr.Points3D(pts, colors=np.repeat(colours, [len(n.points_m) for n in nodes], 0),
                                                       radii=0.01))
        lo = np.stack([n.box_m[0] for n in nodes])
        hi = np.stack([n.box_m[1] for n in nodes])
        names = [f"{n.node_id}" + (f" {labels[n.node_id]}" if labels and n.node_id in labels else "") for n in nodes]
        self.rec.log("world/nodes/boxes", rr.Boxes3D(mins=lo, sizes=hi - lo, colors=colours, labels=names))
        centres = {n.node_id: n.center_m for n in nodes}
        segs = [[centres[a], centres[b]] for a, b in graph.edges if a in centres and b in centres]
        if segs:
            self.rec.log("world/edges", rr.LineStrips3D(np.asarray(segs), colors=(90, 90, 90)))

    def close(self) -> None:
        """Flush the file."""
        self.rec.flush()
        if hasattr(self.rec, "disconnect"):
            self.rec.disconnect()

    def __enter__(self) -> GraphRecording:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
