"""``embodied data``: multi-view training data (MIMIC pair mining; Objaverse ingestion and rendering).

``ingest`` and ``render`` (:mod:`embodied.cli.data_assets`) join this group in :mod:`embodied.cli.main`.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from embodied.cli.options import CONTEXT, Group, finish_run, retry_errors_option
from embodied.config import parse_overrides
from embodied.errors import ConfigError

__all__ = ["data", "parse_seeds"]


@click.group("data", cls=Group, context_settings=CONTEXT)
def data() -> None:
    """Multi-view training data: mine MIMIC image pairs from videos, RGB-D recordings and simulators; ingest
    Objaverse-XL assets and render them from many views.

    mine and render are resumable: rerun the same command after an interruption (even kill -9) and
    it finishes the job without losing or repeating output (ingest rewrites its manifest each run).
    Bad inputs (corrupt videos, broken meshes, unsafe archive members) are recorded in the output
    folder and the job goes on. mine and render take --ray to run on a Ray cluster (RAY_ADDRESS,
    else a local one). `embodied data COMMAND --help` for more.

    \b
    Examples:
      embodied data mine videos/ --out outputs/mining/videos
      embodied data mine tum/rgbd_dataset_freiburg1_room scannet/scans/ --gap-frames 15
      embodied data mine --sim builtin --houses 0-99 --samples-per-scene 50 --workers 8
      embodied data ingest --xl-dir ~/.objaverse --source smithsonian --commercial-only --limit 100
      embodied data ingest --local ~/meshes --local-license cc-by-4.0 --out outputs/objaverse
      embodied data render outputs/objaverse/manifest.jsonl --size 256 --views 12
    """


def parse_seeds(text: str) -> list[int]:
    """'0-3,8,10-11' -> [0, 1, 2, 3, 8, 10, 11] (inclusive ranges, order kept, duplicates dropped)."""
    out: list[int] = []
    try:
        for part in filter(None, (p.strip() for p in text.split(","))):
            lo, _, hi = part.partition("-")
            rng = range(int(lo), int(hi) + 1) if hi else [int(lo)]
            out += [s for s in rng if s not in out]
    except ValueError:
        raise ConfigError(f"bad seed list '{text}': use numbers and inclusive ranges, e.g. 0-9 or 0-3,8") from None
    if not out or min(out) < 0:
        raise ConfigError(f"bad seed list '{text}': give at least one seed >= 0, e.g. 0-9")
    return out


@data.command("mine")
@click.argument("inputs", nargs=-1, type=click.Path(path_type=Path))
@click.option("--source-name", default=None, help="Source name of INPUTS (default: the folder's name).")
@click.option("--sim", "sims", type=click.Choice(["builtin", "habitat"]), multiple=True,
              help="Also mine synthetic panoramas: built-in houses (--houses) or habitat scenes (--habitat-scene).")
@click.option("--houses", default="0-9", show_default=True, help="Built-in house seeds, e.g. 0-99 or 3,5,8.")
@click.option("--habitat-scene", "habitat_scenes", multiple=True, help="habitat scene file (repeatable).")
@click.option("--scene-dataset-config", default=None, help="habitat *.scene_dataset_config.json.")
@click.option("--samples-per-scene", type=click.IntRange(min=1), default=None,
              help="Panorama samples per scene (each gives at most one pair). [default: 20]")
@click.option("--gap", "gap_s", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Frame gap of videos and recorded sequences in seconds. [default: 1.0]")
@click.option("--gap-frames", type=click.IntRange(min=1), default=None, help="Frame gap in frames instead.")
@click.option("--format", "fmt", type=click.Choice(["mimic", "wds", "both"]), default=None,
              help="MIMIC folders, WebDataset shards (+ parquet index) or both. [default: both]")
@click.option("--epipolar", is_flag=True, default=None, help="Also require a fundamental matrix (beyond MIMIC).")
@click.option("--seed", type=int, default=None, help="Pixel sampling and synthetic randomness. [default: 0]")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Any MiningConfig field, e.g. --set overlap_min=0.4 --set resize=crop (repeatable).")
@click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="JSON MiningConfig (e.g. the 'config' of an earlier run's config.json); options override it.")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Worker processes (default: CPU count).")
@click.option("--ray", "use_ray", is_flag=True, help="Run on a Ray cluster (RAY_ADDRESS, else a local one).")
@retry_errors_option("sequences")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output folder (default: outputs/mining/<sources>).")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def mine(inputs, source_name, sims, houses, habitat_scenes, scene_dataset_config, samples_per_scene, gap_s,
         gap_frames, fmt, epipolar, seed, overrides, config_file, workers, use_ray, retry_errors, out,
         no_progress) -> None:
    """Mine MIMIC pairs (two views, 50-75% patch overlap, patch correspondences).

    INPUTS are video files, folders of frames, recorded RGB-D sequences (TUM RGB-D, ScanNet exports,
    or plain rgb/ + depth/ + camera.json [+ poses.json] folders), or folders holding any of them
    (searched recursively; an RGB-D sequence is one sequence, its image folders are not mined again).
    RGB-D sequences with camera poses are paired by depth and pose (patches reprojected, occlusions
    checked) instead of SIFT; --set rgbd_overlap=homography uses MIMIC's SIFT test for them too.
    Every sequence is mined once; rerunning the same command after an interruption finishes the job
    without losing or repeating pairs. Writes the MIMIC layout (mimic/<source>/<sequence>/<pair>/),
    WebDataset shards with index.parquet, summary.json and contact_sheet.png.

    \b
    Examples:
      embodied data mine videos/ --out outputs/mining/videos
      embodied data mine clip.mp4 --gap-frames 15 --format mimic
      embodied data mine tum/rgbd_dataset_freiburg1_desk --gap 0.5
      embodied data mine scannet/scans/ --gap-frames 20 --source-name scannet
      embodied data mine --sim builtin --houses 0-99 --samples-per-scene 50 --workers 8
      embodied data mine --sim habitat --habitat-scene hm3d/00800/xyz.basis.glb
      embodied data mine videos/ --ray --workers 64 --set overlap_min=0.4 --epipolar
    """
    from datasets3d.mining import MiningConfig, builtin_sequences, discover, habitat_sequences, run_mining

    base = MiningConfig()
    if config_file is not None:
        from embodied.config import config_from_dict

        try:
            loaded = json.loads(config_file.read_text())
        except json.JSONDecodeError as exc:
            raise ConfigError(f"--config {config_file} is not valid JSON: {exc}") from exc
        base = config_from_dict(MiningConfig, loaded.get("config", loaded) if isinstance(loaded, dict) else {})
    if gap_s is not None and gap_frames is not None:
        raise ConfigError("give --gap (seconds) or --gap-frames, not both")
    opts = {"samples_per_scene": samples_per_scene, "gap_s": gap_s, "gap_frames": gap_frames, "format": fmt,
            "epipolar": True if epipolar else None, "seed": seed}
    config = base.with_overrides({**{k: v for k, v in opts.items() if v is not None}, **parse_overrides(overrides)})

    sequences = discover(inputs, source_name) if inputs else []
    if "builtin" in sims:
        sequences += builtin_sequences(parse_seeds(houses))
    if "habitat" in sims:
        if not habitat_scenes:
            raise ConfigError("--sim habitat needs --habitat-scene FILE (repeatable)")
        sequences += habitat_sequences(habitat_scenes, scene_dataset_config)
    elif habitat_scenes:
        raise ConfigError("--habitat-scene is used with --sim habitat")
    if not sequences:
        raise ConfigError("nothing to mine: give video files, folders of frames or RGB-D sequences, or --sim builtin / "
                          "--sim habitat")
    if out is None:
        names = sorted({s.source for s in sequences})
        out = Path("outputs/mining") / "-".join(names)[:80]
    click.echo(f"{len(sequences)} sequence(s) from {', '.join(sorted({s.source for s in sequences}))} -> {out}")
    summary = run_mining(sequences, config, out, workers=workers, use_ray=use_ray, retry_errors=retry_errors,
                         progress=not no_progress, echo=click.echo)
    click.echo(f"pairs: {summary['pairs_kept']} | index: {out / 'index.parquet'} | summary: {out / 'summary.json'}"
               + (f" | contact sheet: {out / summary['contact_sheet']}" if summary.get("contact_sheet") else ""))
    finish_run(summary.report, "sequences", out / "results.jsonl")
