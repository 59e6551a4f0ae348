"""Render many objects on :mod:`embodied.runs`: worker processes with a per-object timeout (or a Ray
cluster), resumable.

Each object is one job (id: its uid) done by :func:`render_job` in a worker: verify the file's sha256,
load and normalize it, sample its cameras (from the run seed and the object's sha256 only, so results
do not depend on order or worker), render, and write its folder atomically (see
:mod:`datasets3d.rendering.writer`). The parent appends one fsynced row per finished object to
``results.jsonl`` (:class:`embodied.runs.ResultsLog`): ``status`` ok, error (with the exception and
the end of its traceback, or how the worker died) or timeout (the worker is killed and replaced). A
broken file never stops the job.

Resume after anything, ``kill -9`` included: a rerun skips objects rendered already and renders again
those that failed or timed out (``retry_errors``, the default); an object whose folder was renamed
into place but whose row was not yet written gets its row back from the folder (no re-render);
temporary folders of killed workers are deleted (at the end of a run and at the start of the next).
So no object is lost or written twice. Cameras and images are deterministic for a seed, and
WebDataset shards are rebuilt from the finished folders in uid order
(:mod:`datasets3d.rendering.shards`).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from embodied.config import config_from_dict, config_to_dict
from embodied.errors import ConfigError
from embodied.runs import Job, RunFolder, RunReport

from datasets3d.objaverse import AssetRecord
from datasets3d.rendering.config import BACKENDS, DEPTH_UNITS_PER_M, RenderConfig, texture_limit_px

log = logging.getLogger(__name__)

__all__ = ["render_job", "render_one", "render_objects", "build_backend", "summarize_rows", "summary_table",
           "RenderSummary"]

_BACKEND_CACHE: dict[str, Any] = {}


class RenderSummary(dict):
    """What :func:`render_objects` returns: the summary (as in summary.json), with the run's
    :class:`embodied.runs.RunReport` as ``.report`` (its ``failure_line()``, ``all_failed``)."""

    def __init__(self, summary: Mapping[str, Any], report: RunReport) -> None:
        super().__init__(summary)
        self.report = report


def build_backend(config: RenderConfig) -> Any:
    """The backend object for ``config.backend`` (imported only now; cached per process)."""
    import importlib

    key = json.dumps(config_to_dict(config), sort_keys=True)
    if key not in _BACKEND_CACHE:
        module, cls = BACKENDS[config.backend].split(":")
        _BACKEND_CACHE.clear()
        _BACKEND_CACHE[key] = getattr(importlib.import_module(module), cls)(config)
    return _BACKEND_CACHE[key]


def _version() -> str:
    from embodied import __version__

    return __version__


def _identity(rec: Mapping[str, Any]) -> dict[str, Any]:
    """The fields every row of an object carries, whatever happened to it."""
    return {"uid": rec.get("uid") or rec["sha256"][:16], "file_identifier": rec.get("file_identifier"),
            "path": rec.get("path"), "sha256": rec.get("sha256")}


def render_job(job: dict[str, Any]) -> dict[str, Any]:
    """Render one object (``job``: record, out_dir, config dict) and write its folder; returns its ok
    row. Raises for a bad object (the runner records the exception and the end of its traceback)."""
    from embodied.files import file_sha256
    from datasets3d.rendering.asset import load_asset
    from datasets3d.rendering.cameras import intrinsics_from_lens, object_rng, sample_cameras
    from datasets3d.rendering.writer import camera_metadata, write_object

    t0 = time.perf_counter()
    rec = AssetRecord.from_dict(job["record"])
    row = _identity(job["record"])
    cfg = config_from_dict(RenderConfig, job["config"])
    actual = file_sha256(rec.path)
    if actual != rec.sha256:
        raise ValueError(f"file changed since ingestion: sha256 {actual} != recorded {rec.sha256}; "
                         "re-run `embodied data ingest`")
    asset = load_asset(rec.path, file_type=rec.file_type, up_axis=cfg.up_axis,
                       max_texture_px=texture_limit_px(cfg))
    poses = sample_cameras(cfg, object_rng(cfg.seed, rec.sha256))
    K = intrinsics_from_lens(cfg.width, cfg.height, cfg.lens_mm, cfg.sensor_mm)
    backend = build_backend(cfg)
    views = backend.render(asset, poses, K)
    info = dict(asset.info)
    missing = info.pop("missing_textures")
    metadata = {
        "uid": rec.uid, "sha256": rec.sha256, "file_identifier": rec.file_identifier, "source": rec.source,
        "license": rec.license, "file_name": Path(rec.path).name, "file_size": os.path.getsize(rec.path),
        **info, "missing_textures": {"count": len(missing), "files": missing},
        "camera": {"convention": "OpenCV (x right, y down, z forward); NNN.npy and w2c_opencv map world points "
                                 "into it: x_cam = R x + t. Blender/Zero123: w2c_blender = diag(1, -1, -1) @ "
                                 "w2c_opencv",
                   "mode": cfg.cameras, "K": K.K.tolist(), "width": K.width, "height": K.height,
                   "lens_mm": cfg.lens_mm, "sensor_mm": cfg.sensor_mm, "hfov_deg": K.hfov_deg,
                   "world": "right-handed, Z up; the object normalized into the unit cube at the origin "
                            "(normalized = T_norm_file applied to file coordinates)"},
        "views": camera_metadata(poses, K),
        "depth": {"dtype": "uint16", "units_per_m": DEPTH_UNITS_PER_M, "kind": "z-depth along the optical axis",
                  "no_hit": 0},
        "normals": {"frame": "camera (OpenCV)", "encoding": "(n + 1) / 2 * 255", "facing": "camera",
                    "no_hit": [0, 0, 0]},
        "backend": backend.describe(), "config": config_to_dict(cfg), "embodied": _version(),
    }
    write_object(Path(job["out_dir"]) / "objects", rec.uid, views, poses, metadata, contact=cfg.contact_sheet)
    row.update(status="ok", views=len(views), vertices=info["vertex_count"], faces=info["face_count"])
    row["seconds"] = round(time.perf_counter() - t0, 4)
    return row


def render_one(job: dict[str, Any]) -> dict[str, Any]:
    """:func:`render_job` that never raises for a bad object: the error and the end of its traceback go
    into the returned row (status "error")."""
    t0 = time.perf_counter()
    try:
        return render_job(job)
    except Exception as exc:  # noqa: BLE001 - recorded in the row, never swallowed
        tb = traceback.format_exc().strip().splitlines()
        row = _identity(job["record"])
        row.update(status="error", error=f"{type(exc).__name__}: {' '.join(str(exc).split())}", traceback=tb[-6:],
                   seconds=round(time.perf_counter() - t0, 4))
        log.warning("object %s (%s) failed: %s", row["uid"], row["file_identifier"], row["error"])
        return row


def _warm_up(_arg: Any = None) -> None:
    """A render worker's setup: the imports, before its first object, so they count against no object's
    timeout."""
    import PIL.Image  # noqa: F401
    import trimesh  # noqa: F401

    import datasets3d.rendering.raycast  # noqa: F401
    import datasets3d.rendering.writer  # noqa: F401


# --------------------------------------------------------------------------- the run
def summarize_rows(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Counts by status, seconds per finished object, and the failures with their errors."""
    ok = [r for r in rows if r.get("status") == "ok"]
    timed = [r["seconds"] for r in ok if isinstance(r.get("seconds"), (int, float))]
    return {
        "objects": len(rows),
        "ok": len(ok),
        "error": sum(r.get("status") == "error" for r in rows),
        "timeout": sum(r.get("status") == "timeout" for r in rows),
        "views": sum(int(r.get("views", 0)) for r in ok),
        "seconds_per_object": float(np.mean(timed)) if timed else None,
        "failures": [{"uid": r["uid"], "file_identifier": r.get("file_identifier"), "status": r["status"],
                      "error": r.get("error")} for r in rows if r.get("status") != "ok"],
    }


def summary_table(summary: dict[str, Any], max_failures: int = 20) -> str:
    """A short Markdown table of a :func:`summarize_rows` summary, then the failures."""
    spo = summary["seconds_per_object"]
    lines = ["| objects | ok | error | timeout | views | s/object |", "|---|---|---|---|---|---|",
             f"| {summary['objects']} | {summary['ok']} | {summary['error']} | {summary['timeout']} | "
             f"{summary['views']} | {'-' if spo is None else f'{spo:.3f}'} |"]
    fails = summary["failures"]
    if fails:
        lines += ["", f"{len(fails)} failed:"]
        lines += [f"- {f['uid']} ({f['file_identifier']}): {f['status']}: {f['error']}" for f in fails[:max_failures]]
        if len(fails) > max_failures:
            lines.append(f"- ... {len(fails) - max_failures} more in results.jsonl")
    return "\n".join(lines) + "\n"


def _drop_tmp(objects: Path) -> None:
    """Delete the temporary folders of objects whose worker was killed (a timeout, a crash, ``kill -9``
    of the run); called when no worker of this folder runs."""
    from datasets3d.rendering.writer import TMP_PREFIX

    for d in objects.glob(f"{TMP_PREFIX}*"):
        shutil.rmtree(d, ignore_errors=True)


def _recover(objects: Path, done: set[str], results: Any) -> int:
    """Rows for complete object folders that have none (the run died between rename and append)."""
    n = 0
    for d in sorted(objects.iterdir()):
        if d.is_dir() and d.name not in done and (d / "metadata.json").is_file():
            meta = json.loads((d / "metadata.json").read_text())
            results.append({"id": d.name, "uid": d.name, "file_identifier": meta.get("file_identifier"),
                            "sha256": meta.get("sha256"), "status": "ok", "views": len(meta.get("views", [])),
                            "vertices": meta.get("vertex_count"), "faces": meta.get("face_count"), "recovered": True})
            done.add(d.name)
            n += 1
    return n


def render_objects(records: Sequence[AssetRecord], out_dir: str | os.PathLike, config: RenderConfig, *,
                   workers: int = 1, use_ray: bool = False, timeout_s: float | None = 300.0, shards: bool = True,
                   objects_per_shard: int = 100, retry_errors: bool = True, progress: bool = True
                   ) -> RenderSummary:
    """Render ``records`` into ``out_dir`` (resumable); returns the run summary (also summary.json).

    Args:
        workers: worker processes (each object in one, killed after ``timeout_s``); 0, or 1 without a
            timeout, renders in this process (debugging).
        use_ray: run on a Ray cluster (``RAY_ADDRESS``) instead, ``workers`` tasks at a time.
        shards: also pack the finished objects into WebDataset shards under ``out_dir/shards``.
        retry_errors: render again objects whose earlier row is an error or timeout (the new row wins);
            False keeps them as failed.

    Returns:
        The summary dict; ``.report`` is the :class:`embodied.runs.RunReport` (one row per object).
    """
    from embodied.optional import is_available, require

    out = Path(out_dir)
    if config.backend == "blender" and not is_available("bpy"):
        require("bpy", extra="blender", purpose="the Blender Cycles backend (--backend blender)")
    seen: dict[str, AssetRecord] = {}
    for rec in records:
        if rec.uid in seen and seen[rec.uid].sha256 != rec.sha256:
            raise ConfigError(f"uid collision: {seen[rec.uid].path} and {rec.path} share uid {rec.uid}")
        seen.setdefault(rec.uid, rec)
    cfg = config_to_dict(config)
    run_cfg = {"config": cfg, "embodied": _version(), "seed": config.seed}
    with RunFolder(out, run_cfg, what="renders made") as run:
        objects = out / "objects"
        objects.mkdir(parents=True, exist_ok=True)
        _drop_tmp(objects)  # half-written by a killed run
        latest = run.results.latest()
        done = {u for u, r in latest.items() if r.get("status") == "ok" or not retry_errors}
        recovered = _recover(objects, done, run.results)
        if recovered:
            log.info("recovered %d finished objects without a results row", recovered)

        jobs = [Job(u, {"record": r.to_dict(), "out_dir": str(out), "config": cfg}, meta=_identity(r.to_dict()))
                for u, r in seen.items()]

        def postfix(rows: list[dict[str, Any]]) -> dict[str, int]:
            ok = sum(r.get("status") == "ok" for r in rows)
            return {"ok": ok, "failed": len(rows) - ok}

        try:
            report = run.run(jobs, render_job, init=_warm_up, workers=workers, use_ray=use_ray, timeout_s=timeout_s,
                             retry_errors=retry_errors, progress="objects" if progress else None, postfix=postfix)
        finally:
            _drop_tmp(objects)  # of objects that timed out or crashed: their worker was killed mid-write

        rows = sorted(report.rows, key=lambda r: r["id"])
        summary = {"config": run_cfg, **summarize_rows(rows)}
        if shards:
            from datasets3d.rendering.shards import write_shards

            ok = [r["uid"] for r in rows if r["status"] == "ok" and (objects / r["uid"]).is_dir()]
            paths = write_shards(objects, ok, out / "shards", objects_per_shard)
            summary["shards"] = [p.name for p in paths]
        run.write_json("summary.json", summary)
    return RenderSummary(summary, report)
