"""``embodied data ingest`` and ``embodied data render``: Objaverse-XL style 3D asset ingestion and
multi-view rendering (:mod:`embodied.cli.main` adds them to the ``data`` group)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from datasets3d.rendering.config import BACKENDS, RenderConfig
from datasets3d.rendering.runner import render_objects
from embodied.cli.options import field_default, field_option, finish_run, retry_errors_option
from embodied.errors import ConfigError

__all__ = ["ingest", "render"]


def _echo_problems(problems: list[dict], path: Path | None, limit: int = 10) -> None:
    if not problems:
        return
    where = f" (all in {path})" if path else ""
    click.echo(f"{len(problems)} problem(s){where}:")
    for p in problems[:limit]:
        ident = p.get("file_identifier") or p.get("source") or ""
        click.echo(f"  [{p['stage']}] {ident + ': ' if ident else ''}{p['error']}")
    if len(problems) > limit:
        click.echo(f"  ... {len(problems) - limit} more")


@click.command("ingest")
@click.option("--local", "local", multiple=True, type=click.Path(path_type=Path),
              help="Folder or file of meshes (GLB, OBJ, PLY, STL, ...) or zip/tar archives of them (repeatable).")
@click.option("--local-license", default="unknown", show_default=True, help="License recorded for --local objects.")
@click.option("--xl-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Objaverse-XL download dir: annotation parquets and object cache (e.g. ~/.objaverse).")
@click.option("--v1-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Objaverse 1.0 cache dir (holds hf-objaverse-v1/; e.g. ~/.objaverse).")
@click.option("--v1-uids", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Objaverse 1.0 uids to take, one per line (default: all).")
@click.option("--source", "sources", multiple=True, type=click.Choice(["github", "thingiverse", "smithsonian",
                                                                       "sketchfab"]),
              help="Objaverse-XL sources to take (repeatable; default: all).")
@click.option("--file-type", "file_types", multiple=True, help="Keep these file types, e.g. glb (repeatable).")
@click.option("--license", "licenses", multiple=True,
              help='Keep licenses matching these case-insensitive patterns, e.g. "cc0*" "*by-sa*" (repeatable).')
@click.option("--exclude-license", "exclude_licenses", multiple=True, help="Drop licenses matching these patterns.")
@click.option("--commercial-only", is_flag=True, help="Drop non-commercial licenses (BY-NC, NonCommercial).")
@click.option("--sha256", "sha256", multiple=True, help="Keep only these contents (repeatable).")
@click.option("--sha256-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="File of sha256 digests to keep, one per line.")
@click.option("--limit", type=click.IntRange(min=0), default=None, help="At most this many objects.")
@click.option("--processes", type=click.IntRange(min=1), default=1, show_default=True, help="Download processes.")
@click.option("--offline", is_flag=True, help="Never use the network: the caches only.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("outputs/objaverse"),
              show_default=True, help="Output folder (manifest.jsonl, ingest_errors.jsonl, ingest_summary.json).")
def ingest(local, local_license, xl_dir, v1_dir, v1_uids, sources, file_types, licenses, exclude_licenses,
           commercial_only, sha256, sha256_file, limit, processes, offline, out) -> None:
    """Collect 3D objects into a verified, deduplicated manifest.

    Sources: local folders, Objaverse-XL (through the objaverse package, from its cache or the
    network) and Objaverse 1.0. Filters by source, file type, license and sha256; identity and
    dedup by the sha256 of the file contents; downloads are checked against Objaverse-XL's sha256.
    Problems (unreadable files, refused archive members, missing or modified objects, a filter that
    matches nothing) are listed and written to ingest_errors.jsonl; the run goes on.

    \b
    Examples:
      embodied data ingest --local ~/meshes --local-license cc-by-4.0
      embodied data ingest --xl-dir ~/.objaverse --source smithsonian --commercial-only --limit 100
      embodied data ingest --xl-dir ./seeded-cache --offline --file-type glb
    """
    from datasets3d.objaverse import IngestFilter
    from datasets3d.objaverse import ingest as run_ingest

    digests = list(sha256)
    if sha256_file is not None:
        digests += [ln.strip() for ln in sha256_file.read_text().splitlines() if ln.strip()]
    uids = [ln.strip() for ln in v1_uids.read_text().splitlines() if ln.strip()] if v1_uids else None
    flt = IngestFilter(sources=tuple(sources), file_types=tuple(file_types), licenses=tuple(licenses),
                       exclude_licenses=tuple(exclude_licenses), commercial_only=commercial_only,
                       sha256=tuple(digests), limit=limit)
    report = run_ingest(out, local=list(local), local_license=local_license, xl_dir=xl_dir, v1_dir=v1_dir,
                        v1_uids=uids, flt=flt, processes=processes, offline=True if offline else None, progress=True)
    s = report.summary()
    click.echo(f"{s['objects']} object(s) -> {out / 'manifest.jsonl'}  ({s['duplicates']} duplicate(s) dropped)")
    for key in ("by_source", "by_file_type", "by_license"):
        if s[key]:
            click.echo(f"  {key[3:]:<10} " + ", ".join(f"{k} {v}" for k, v in sorted(s[key].items())))
    _echo_problems(report.problems, out / "ingest_errors.jsonl")
    if not report.records:
        first = report.problems[0]["error"] if report.problems else "no mesh files found"
        raise ConfigError(f"no objects ingested: {first}")


@click.command("render")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("outputs/renders"),
              show_default=True, help="Output folder (objects/, shards/, results.jsonl, summary.json).")
@field_option(RenderConfig, "backend", type=click.Choice(sorted(BACKENDS)),
              help="raycast: built-in CPU ray caster; blender: Cycles through bpy (extra [blender]).")
@field_option(RenderConfig, "views", type=click.IntRange(min=1), help="Views per object.")
@field_option(RenderConfig, "width", "--size", "size", type=click.IntRange(min=8),
              help="Image width and height (px).")
@field_option(RenderConfig, "cameras", type=click.Choice(["zero123", "ring", "hemisphere"]),
              help="zero123: random on a shell; hemisphere: upper half only; ring: fixed circle.")
@click.option("--radius", nargs=2, type=float, show_default=True,
              default=(field_default(RenderConfig, "radius_min_m"), field_default(RenderConfig, "radius_max_m")),
              help="Camera distance range (m; zero123, hemisphere).")
@field_option(RenderConfig, "ring_radius_m", "--ring-radius", "ring_radius", type=float,
              help="Camera distance (m; ring).")
@field_option(RenderConfig, "ring_elevation_deg", "--ring-elevation", "ring_elevation_deg", type=float,
              help="Ring elevation (deg).")
@field_option(RenderConfig, "up_axis", type=click.Choice(["auto", "y", "z"]),
              help="auto: glTF/OBJ are Y-up, STL/PLY Z-up (as Blender imports them).")
@field_option(RenderConfig, "max_texture_px", "--max-texture", "max_texture_px", type=click.IntRange(min=0),
              help="Reduce textures to at most this many pixels a side (0: 4x the image size).")
@field_option(RenderConfig, "samples", type=click.IntRange(min=1), help="Cycles samples (blender).")
@field_option(RenderConfig, "seed", type=int,
              help="Camera sampling (with each object's sha256: results do not depend on order or workers).")
@click.option("--workers", type=click.IntRange(min=0), default=None,
              help="Worker processes (default: CPU count; 0 = in this process, no timeout).")
@click.option("--ray", "use_ray", is_flag=True, help="Run on a Ray cluster (RAY_ADDRESS); --out must be shared.")
@field_option(render_objects, "timeout_s", "--timeout", "timeout_s", type=float,
              help="Seconds per object before its worker is killed (0 = none).")
@field_option(render_objects, "shards", "--shards/--no-shards", help="Also write WebDataset shards.")
@field_option(render_objects, "objects_per_shard", type=click.IntRange(min=1),
              help="Objects per WebDataset shard (one sample per view).")
@field_option(RenderConfig, "contact_sheet", "--contact-sheet/--no-contact-sheet",
              help="contact.png (all views) in each object folder.")
@retry_errors_option("objects")
@click.option("--limit", type=click.IntRange(min=0), default=None, help="At most this many objects.")
@click.option("--license", "license_name", default="unknown", show_default=True,
              help="License recorded for mesh files given directly.")
@click.option("--progress/--no-progress", default=True, show_default=True)
def render(inputs, out, backend, views, size, cameras, radius, ring_radius, ring_elevation_deg, up_axis,
           max_texture_px, samples, seed, workers, use_ray, timeout_s, shards, objects_per_shard, contact_sheet,
           retry_errors, limit, license_name, progress) -> None:
    """Render multi-view images of 3D objects (Zero123 / Objaverse-XL style).

    INPUTS are manifest.jsonl files from `embodied data ingest`, or mesh files and folders.
    Each object is normalized into the unit cube and seen from N cameras (35 mm lens on a 32 mm
    sensor); per view an RGBA PNG, depth, normals, mask and the 3x4 world-to-camera matrix, plus
    metadata.json and a contact sheet per object, and WebDataset shards. Rerunning the same command
    resumes; a broken file is recorded in results.jsonl and the run goes on.

    \b
    Examples:
      embodied data render outputs/objaverse/manifest.jsonl --size 256
      embodied data render ~/meshes --cameras ring --views 24 --workers 2
      embodied data render manifest.jsonl --backend blender --samples 64
      embodied data render manifest.jsonl --ray --workers 64 --out /shared/renders --timeout 120
    """
    from datasets3d.objaverse import dedupe_records, read_manifest, scan_local
    from datasets3d.rendering.runner import summary_table

    records, problems = [], []
    meshes = []
    for p in inputs:
        if p.is_file() and p.name.endswith(".jsonl"):
            recs, probs = read_manifest(p)
            records += recs
            problems += probs
        else:
            meshes.append(p)
    if meshes:
        recs, probs = scan_local(meshes, extract_dir=out / "extracted", license=license_name)
        records += recs
        problems += probs
    records, dups = dedupe_records(records)
    if limit is not None:
        records = records[:limit]
    _echo_problems(problems, None)
    if not records:
        first = f": {problems[0]['error']}" if problems else " (no mesh files or manifest rows found)"
        raise ConfigError("no objects to render in " + ", ".join(map(str, inputs)) + first)
    cfg = RenderConfig(backend=backend, views=views, width=size, height=size, cameras=cameras, radius_min_m=radius[0],
                       radius_max_m=radius[1], ring_radius_m=ring_radius, ring_elevation_deg=ring_elevation_deg,
                       up_axis=up_axis, max_texture_px=max_texture_px, seed=seed, samples=samples,
                       contact_sheet=contact_sheet)
    n_workers = (os.cpu_count() or 1) if workers is None else workers
    click.echo(f"{len(records)} object(s) ({len(dups)} duplicate(s) dropped) | backend {backend} | {views} views "
               f"{size}x{size} | cameras {cameras} | {'ray' if use_ray else f'{n_workers} worker(s)'} -> {out}")
    summary = render_objects(records, out, cfg, workers=n_workers, use_ray=use_ray, timeout_s=timeout_s or None,
                             shards=shards, objects_per_shard=objects_per_shard, retry_errors=retry_errors,
                             progress=progress)
    click.echo(summary_table(summary))
    if summary.get("shards"):
        click.echo(f"shards: {len(summary['shards'])} in {out / 'shards'}")
    click.echo(json.dumps({k: summary[k] for k in ("ok", "error", "timeout")}))
    finish_run(summary.report, "objects", out / "results.jsonl")
