"""``embodied graph build``: explore a scene, build its scene graph, score it against the instances."""

from __future__ import annotations

import json
from pathlib import Path

import click

from embodied.cli.options import CONTEXT, Group, clip_config_from_options, clip_options, field_option

__all__ = ["graph"]


def _graph_config_cls():
    from embodied.scene_graph import SceneGraphConfig

    return SceneGraphConfig


@click.group(cls=Group, context_settings=CONTEXT)
def graph() -> None:
    """Continuous scene graphs (objects with CLIP features and point clouds, relations as edges)."""


@graph.command()
@click.option("--sim", "simulator", default="builtin", show_default=True, help="Simulator (see `embodied info`).")
@click.option("--split", type=click.Choice(["train", "val", "test"]), default="val", show_default=True)
@click.option("--episode", "episode_index", type=click.IntRange(min=0), default=0, show_default=True,
              help="Which episode of the split gives the scene and the start pose.")
@click.option("--episode-seed", type=int, default=0, show_default=True, help="Seed of the episode sampling.")
@click.option("--steps", type=click.IntRange(min=0), default=250, show_default=True,
              help="Step budget of the exploration walk (RoomR's walkthrough: 250).")
@click.option("--sequence", type=click.Path(exists=True, path_type=Path), default=None,
              help="Build from a recorded RGB-D sequence instead of a simulator walk (TUM, ScanNet or a plain folder; "
                   "needs poses; see datasets3d/sequences). Uses depth-segment proposals.")
@click.option("--stride", type=click.IntRange(min=1), default=1, show_default=True,
              help="With --sequence: every n-th frame.")
@click.option("--max-frames", type=click.IntRange(min=1), default=None, help="With --sequence: at most this many frames.")
@click.option("--proposals", type=click.Choice(["oracle", "segments"]), default="oracle", show_default=True,
              help="Object proposals: the simulator's instance masks, or training-free depth segments.")
@field_option(_graph_config_cls(), "match_threshold", type=float,
              help="Spatial + visual score (of 2) above which a detection joins a node (ConceptGraphs: 1.2).")
@field_option(_graph_config_cls(), "max_nodes", type=click.IntRange(min=1), help="Node cap (merges beyond it).")
@click.option("--width", type=click.IntRange(min=8), default=None, show_default="the simulator's", help="Image width (px).")
@click.option("--height", type=click.IntRange(min=8), default=None, show_default="the simulator's", help="Image height (px).")
@clip_options()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("outputs/graph"),
              show_default=True, help="Output folder: graph.json + graph.npz, quality.json, graph.png.")
@click.option("--rerun", "rerun_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write a Rerun recording (.rrd: camera, node points, boxes, edges per step; "
                   "needs the viz extra); open it with `rerun FILE`.")
@click.option("--progress/--no-progress", default=True, show_default=True)
def build(simulator, split, episode_index, episode_seed, steps, sequence, stride, max_frames, proposals, match_threshold,
          max_nodes, width, height, out, rerun_path, progress, **clip_kw) -> None:
    """Explore one scene with the frontier agent and build its scene graph.

    Writes the graph, its quality against the simulator's instances (node precision, object recall,
    duplicate rate, centre error, open-vocabulary and relational retrieval) and a top-down picture.
    With --sequence, the graph of a recording (no ground truth: no quality figures).

    \b
    Examples:
      embodied graph build --episode 3 --out outputs/graph/ep3
      embodied graph build --proposals segments --model ViT-B-32
      embodied graph build --sequence data/rgbd_dataset_freiburg1_room --stride 10 --out outputs/graph/fr1
    """
    import numpy as np
    from PIL import Image

    from agents.registry import make_agent
    from embodied.clip import get_backbone
    from embodied.clip.auto import weights_label
    from embodied.errors import ConfigError
    from embodied.files import atomic_write
    from embodied.scene_graph import SceneGraphConfig, draw_graph, graph_quality, guess_categories, save_graph
    from embodied.scene_graph.walk import build_graph
    from sims.registry import generate_episodes, make_simulator, task_vocabulary

    if sequence is not None:
        return _build_from_sequence(sequence, stride, max_frames, match_threshold, max_nodes, out, rerun_path, progress,
                                    clip_kw)
    sensors = {k: v for k, v in (("width", width), ("height", height)) if v is not None}
    episodes = generate_episodes(simulator, split, episode_index + 1, seed=episode_seed, sim_config=sensors or None)
    if episode_index >= len(episodes):
        raise ConfigError(f"--episode {episode_index}: the {split} split has {len(episodes)} episodes")
    clip = get_backbone(clip_config_from_options(clip_kw))
    cfg = SceneGraphConfig(match_threshold=match_threshold, max_nodes=max_nodes)
    recording = None
    if rerun_path is not None:
        from embodied.scene_graph.record import GraphRecording

        recording = GraphRecording(rerun_path)  # a missing viz extra fails here, before the walk
    sim = make_simulator(simulator, sensors or None)
    try:
        walk = build_graph(sim, make_agent("frontier"), episodes[episode_index], clip, proposals=proposals,
                           max_steps=steps, config=cfg, progress=progress, recording=recording)
    finally:
        sim.close()
        if recording is not None:
            recording.close()
    out.mkdir(parents=True, exist_ok=True)
    path = save_graph(walk.graph, out / "graph.json")
    quality = graph_quality(walk.graph, walk.ground_truth, clip)
    quality.update(scene_id=episodes[episode_index].scene_id, steps=walk.steps, proposals=proposals,
                   clip=weights_label(clip.provenance), skipped=walk.graph.skipped, edges=len(walk.graph.edges))
    atomic_write(out / "quality.json", (json.dumps(quality, indent=1) + "\n").encode())
    vocabulary = task_vocabulary(simulator)
    labels = None
    if vocabulary:
        labels = {k: c for k, (c, _) in guess_categories(walk.graph, clip.text_classifier(vocabulary), vocabulary).items()}
    Image.fromarray(np.asarray(draw_graph(walk.graph, labels))).save(out / "graph.png")
    click.echo(f"{quality['scene_id']}: {walk.steps} steps, {quality['nodes']} nodes, {quality['edges']} edges "
               f"({proposals} proposals; CLIP {quality['clip']})")
    for key in ("node_precision", "object_recall", "duplicate_rate", "center_error_cm", "retrieval_top1",
                "retrieval_top5", "relational_top1"):
        value = quality.get(key)
        click.echo(f"  {key:<16} {'-' if value is None else f'{value:.3f}'}")
    click.echo(f"-> {path}, {out / 'quality.json'}, {out / 'graph.png'}" + (f", {rerun_path}" if rerun_path else ""))


def _build_from_sequence(sequence, stride, max_frames, match_threshold, max_nodes, out, rerun_path, progress,
                         clip_kw) -> None:
    import numpy as np
    from PIL import Image

    from datasets3d.sequences import open_sequence
    from embodied.clip import get_backbone
    from embodied.clip.auto import weights_label
    from embodied.errors import ConfigError
    from embodied.files import atomic_write
    from embodied.scene_graph import SceneGraphConfig, draw_graph, save_graph
    from embodied.scene_graph.walk import graph_from_observations

    seq = open_sequence(sequence, stride=stride, max_frames=max_frames)
    if not seq.has_poses:
        raise ConfigError(f"{sequence}: a scene graph needs camera poses, and this {seq.format} sequence has none "
                          "(add groundtruth.txt / pose/ / poses.json)")
    clip = get_backbone(clip_config_from_options(clip_kw))
    cfg = SceneGraphConfig(match_threshold=match_threshold, max_nodes=max_nodes)
    recording = None
    if rerun_path is not None:
        from embodied.scene_graph.record import GraphRecording

        recording = GraphRecording(rerun_path)
    try:
        walk = graph_from_observations(seq, clip, proposals="segments", config=cfg, progress=progress, total=len(seq),
                                       recording=recording)
    finally:
        if recording is not None:
            recording.close()
    out.mkdir(parents=True, exist_ok=True)
    path = save_graph(walk.graph, out / "graph.json")
    info = {"sequence": str(sequence), "format": seq.format, "frames": walk.steps, "nodes": len(walk.graph.nodes),
            "edges": len(walk.graph.edges), "proposals": "segments", "clip": weights_label(clip.provenance),
            "skipped": walk.graph.skipped}
    atomic_write(out / "info.json", (json.dumps(info, indent=1) + "\n").encode())
    Image.fromarray(np.asarray(draw_graph(walk.graph, None))).save(out / "graph.png")
    click.echo(f"{seq.name}: {walk.steps} frames, {info['nodes']} nodes, {info['edges']} edges (segments; CLIP "
               f"{info['clip']})")
    click.echo(f"-> {path}, {out / 'info.json'}, {out / 'graph.png'}" + (f", {rerun_path}" if rerun_path else ""))
