"""``embodied localize``: a zero-shot localizer over a recorded RGB-D sequence (open loop)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from embodied.cli.options import clip_config_from_options, clip_options

__all__ = ["localize"]


@click.command("localize")
@click.argument("sequence", type=click.Path(exists=True, path_type=Path))
@click.option("--goal", required=True, help="What to look for, e.g. chair.")
@click.option("--format", "fmt", type=click.Choice(["auto", "tum", "scannet", "folder"]), default="auto",
              show_default=True, help="Layout of SEQUENCE (auto: from its files).")
@click.option("--localizer", type=click.Choice(["patch", "ref", "grad", "dense", "owl"]), default="patch",
              show_default=True, help="CoW's localizers (embodied/localization.py); owl needs --owl-checkpoint "
                                      "and the [hf] extra.")
@click.option("--vocabulary", default=None, metavar="CAT[,CAT...]",
              help="Object categories of the scene for CLIP-Patch: each depth segment is classified over goal + "
                   "these (without: CoW's softmax over a 3 x 3 grid).")
@click.option("--threshold", type=float, default=None, help="Localizer threshold (default: the localizer's own).")
@click.option("--owl-checkpoint", default="google/owlvit-base-patch32", show_default=True,
              help="OWL-ViT / OWLv2 checkpoint (a hub id or a local folder) for --localizer owl.")
@click.option("--stride", type=click.IntRange(min=1), default=1, show_default=True, help="Use every n-th frame.")
@click.option("--max-frames", type=click.IntRange(min=1), default=None, help="At most this many frames.")
@click.option("--max-depth", "max_depth_m", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Depth beyond this (m) reads as no return.")
@click.option("--video/--no-video", default=True, show_default=True, help="Write overlay.mp4.")
@click.option("--fps", type=click.IntRange(min=1), default=10, show_default=True)
@clip_options()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output folder (default: outputs/localize/<sequence>-<goal>).")
def localize(sequence, goal, fmt, localizer, vocabulary, threshold, owl_checkpoint, stride, max_frames, max_depth_m,
             video, fps, out, **clip_kw) -> None:
    """Run a localizer over a recorded RGB-D sequence and fuse it into the 2.5D map.

    SEQUENCE is a TUM RGB-D folder (rgb.txt, depth.txt, groundtruth.txt), a ScanNet export (color/,
    depth/, pose/, intrinsic/) or a plain folder (rgb/, depth/, camera.json, optional poses.json);
    see datasets3d/sequences. Nothing acts (a recording cannot follow a policy): each frame gets a
    detection, and frames with depth and a pose build the map the CoW agent would have built, with
    the goal evidence in red. Writes detections.jsonl (one line per frame: found, score, box, the
    goal's world point), overlay.mp4 (relevant pixels in red, the box green when found), map.png
    and summary.json.

    \b
    Examples:
      embodied localize data/rgbd_dataset_freiburg1_room --goal chair --stride 5
      embodied localize scans/scene0000_00 --goal sofa --vocabulary sofa,table,chair,bed,tv
    """
    import numpy as np
    from PIL import Image
    from tqdm.auto import tqdm

    from datasets3d.sequences import open_sequence
    from embodied.clip import get_backbone
    from embodied.clip.auto import weights_label
    from embodied.files import atomic_write
    from embodied.localization import make_localizer
    from embodied.mapping.draw import draw_map
    from embodied.open_loop import localize_sequence, overlay

    seq = open_sequence(sequence, format=None if fmt == "auto" else fmt, stride=stride, max_frames=max_frames,
                        max_depth_m=max_depth_m)
    words = tuple(w.strip() for w in vocabulary.split(",") if w.strip()) if vocabulary else ()
    kw: dict = {"threshold": threshold}
    clip, weights = None, "none"
    if localizer == "owl":
        kw["checkpoint"] = owl_checkpoint
        weights = owl_checkpoint
    else:
        clip = get_backbone(clip_config_from_options(clip_kw))
        weights = weights_label(clip.provenance)
        if localizer == "patch" and words:
            kw["vocabulary"] = words
    loc = make_localizer(localizer, clip, **kw)
    out = out or Path("outputs/localize") / f"{seq.name}-{goal.replace(' ', '_')}"
    out.mkdir(parents=True, exist_ok=True)
    from embodied.video import VideoWriter

    writer = VideoWriter(out / "overlay.mp4", fps=fps) if video else None  # streamed: long recordings fit
    bar = tqdm(total=len(seq), desc=f"localize {goal}", unit="frame")

    def on_frame(obs, result, det) -> None:
        if writer is not None:
            writer.append(overlay(obs.rgb, result, det))
        bar.update(1)

    try:
        dets, m = localize_sequence(seq, loc, goal, on_frame=on_frame)
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    finally:
        bar.close()
    video_path = writer.close() if writer is not None else None
    lines = "".join(json.dumps(d.to_dict()) + "\n" for d in dets)
    atomic_write(out / "detections.jsonl", lines.encode())
    written = [out / "detections.jsonl"]
    if video_path is not None and writer.frames:
        written.append(video_path)
    if m is not None:
        Image.fromarray(draw_map(m)).save(out / "map.png")
        written.append(out / "map.png")
    found = [d for d in dets if d.found]
    points = np.array([d.goal_xyz_m for d in found if d.goal_xyz_m is not None])
    summary = {"sequence": str(sequence), "format": seq.format, "frames": len(dets), "goal": goal,
               "localizer": localizer, "weights": weights, "vocabulary": list(words), "found_frames": len(found),
               "first_found_step": found[0].step if found else None,
               "goal_point_median_m": np.median(points, 0).round(3).tolist() if len(points) else None,
               "mapped": m is not None, "poses": seq.has_poses}
    atomic_write(out / "summary.json", (json.dumps(summary, indent=1) + "\n").encode())
    written.append(out / "summary.json")
    click.echo(f"{seq.name}: {len(dets)} frames ({seq.format}), '{goal}' found in {len(found)} "
               f"(localizer {localizer}, weights {weights})")
    if len(points):
        click.echo(f"  goal point (median of {len(points)} detections): {tuple(summary['goal_point_median_m'])} m")
    if m is None:
        click.echo("  no map: the sequence has no poses (or no depth)")
    click.echo("-> " + ", ".join(str(p) for p in written))
