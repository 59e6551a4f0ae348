"""Render many objects: worker processes with a per-object timeout (or a Ray cluster), resumable.

Each object is a unit of work done by :func:`render_one` in a worker: verify the file's sha256, load
and normalize it, sample its cameras (from the run seed and the object's sha256 only, so results do
not depend on order or worker), render, and write its folder atomically (see
:mod:`datasets3d.rendering.writer`). The parent appends one fsynced row per finished object to
``results.jsonl`` (:class:`embodied.evaluation.ResultsLog`): ``status`` ok, error (with the
exception and the end of its traceback) or timeout (the worker is killed and replaced). A broken
file never stops the job.

Resume after anything, ``kill -9`` included: a rerun skips objects with a row; an object whose
folder was renamed into place but whose row was not yet written gets its row back from the folder
(no re-render); leftover temporary folders are deleted. So no object is lost or written twice.
Cameras and images are deterministic for a seed, and WebDataset shards are rebuilt from the finished
folders in uid order (:mod:`datasets3d.rendering.shards`).
"""

from __future__ import annotations

import json
import logging
import multiprocessing as mp
import os
import shutil
import time
import traceback
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from embodied.config import config_from_dict, config_to_dict
from embodied.errors import ConfigError

from datasets3d.objaverse import AssetRecord
from datasets3d.rendering.config import BACKENDS, DEPTH_UNITS_PER_M, RenderConfig, texture_limit_px
from datasets3d.runs import TMP_GLOB, atomic_write, check_run_config, init_ray

log = logging.getLogger(__name__)

__all__ = ["render_one", "render_objects", "build_backend", "summarize_rows", "summary_table"]

_BACKEND_CACHE: dict[str, Any] = {}


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


def render_one(job: dict[str, Any]) -> dict[str, Any]:
    """Render one object (``job``: record, out_dir, config dict); returns its results row. Never raises
    for a bad object: the error and the end of its traceback go into the row."""
    from datasets3d.objaverse import sha256_file
    from datasets3d.rendering.asset import load_asset
    from datasets3d.rendering.cameras import intrinsics_from_lens, object_rng, sample_cameras
    from datasets3d.rendering.writer import camera_metadata, write_object

    t0 = time.perf_counter()
    rec = AssetRecord.from_dict(job["record"])
    row: dict[str, Any] = {"uid": rec.uid, "file_identifier": rec.file_identifier, "path": rec.path,
                           "sha256": rec.sha256}
    try:
        cfg = config_from_dict(RenderConfig, job["config"])
        actual = sha256_file(rec.path)
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
    except Exception as exc:  # noqa: BLE001 - recorded in the row, never swallowed
        tb = traceback.format_exc().strip().splitlines()
        row.update(status="error", error=f"{type(exc).__name__}: {' '.join(str(exc).split())}", traceback=tb[-6:])
        log.warning("object %s (%s) failed: %s", rec.uid, rec.file_identifier, row["error"])
    row["seconds"] = round(time.perf_counter() - t0, 4)
    return row


# --------------------------------------------------------------------------- local worker processes
def _worker_main(conn: Any) -> None:
    """Loop of a worker process: jobs in, rows out; exits when the parent goes away."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    import PIL.Image  # noqa: F401 - imports before the first job, so they count against no object's time
    import trimesh  # noqa: F401

    import datasets3d.rendering.raycast  # noqa: F401
    import datasets3d.rendering.writer  # noqa: F401

    try:
        conn.send("ready")  # the parent starts a job's clock only now
    except (BrokenPipeError, OSError):
        return
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        row = render_one(job)
        try:
            conn.send(row)
        except (BrokenPipeError, OSError):
            return


class _Slot:
    def __init__(self, ctx: Any) -> None:
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker_main, args=(child,), daemon=True, name="embodied-render")
        self.proc.start()
        child.close()
        self.job: dict[str, Any] | None = None
        self.started = 0.0
        self.ready = False

    def stop(self, kill: bool = False) -> None:
        if not kill:
            try:
                self.conn.send(None)
            except (BrokenPipeError, OSError):
                pass
            self.proc.join(timeout=5)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join()
        self.conn.close()


def _failed_row(job: dict[str, Any], status: str, error: str, seconds: float) -> dict[str, Any]:
    rec = job["record"]
    return {"uid": rec.get("uid") or rec["sha256"][:16], "file_identifier": rec.get("file_identifier"),
            "path": rec.get("path"), "sha256": rec.get("sha256"), "status": status, "error": error,
            "seconds": round(seconds, 4)}


def _drop_tmp(out_dir: str, uid: str, pid: int | None) -> None:
    from datasets3d.rendering.writer import TMP_PREFIX

    if pid is not None:
        shutil.rmtree(Path(out_dir) / "objects" / f"{TMP_PREFIX}{uid}-{pid}", ignore_errors=True)


def _run_local(jobs: Sequence[dict[str, Any]], workers: int, timeout_s: float | None,
               record: Callable[[dict[str, Any]], None]) -> None:
    from multiprocessing.connection import wait

    ctx = mp.get_context("spawn")
    pending = deque(jobs)
    slots = [_Slot(ctx) for _ in range(min(workers, len(jobs)))]
    try:
        while pending or any(s.job for s in slots):
            for s in slots:
                if s.ready and s.job is None and pending:
                    s.job, s.started = pending.popleft(), time.monotonic()
                    s.conn.send(s.job)
            busy = [s for s in slots if s.job is not None]
            wait_s = None
            if timeout_s and busy:
                wait_s = max(0.0, min(s.started + timeout_s for s in busy) - time.monotonic())
            ready = wait([s.conn for s in slots if s.job is not None or not s.ready], timeout=wait_s)
            now = time.monotonic()
            for i, s in enumerate(slots):
                if not s.ready and s.conn in ready:
                    try:
                        s.ready = s.conn.recv() == "ready"
                    except (EOFError, OSError):  # died while starting (import error): report and stop
                        raise RuntimeError(f"render worker failed to start (exit code {s.proc.exitcode}); "
                                           "run with --workers 0 to see the error") from None
                    continue
                if s.job is None:
                    continue
                if s.conn in ready:
                    try:
                        row = s.conn.recv()
                    except (EOFError, OSError):  # the worker died (segfault in a loader, OOM kill)
                        s.proc.join(timeout=5)
                        row = _failed_row(s.job, "error", f"worker process died (exit code {s.proc.exitcode}) "
                                                          "while rendering this object", now - s.started)
                        _drop_tmp(s.job["out_dir"], row["uid"], s.proc.pid)
                        s.job = None
                        s.stop(kill=True)
                        slots[i] = _Slot(ctx)
                    else:
                        s.job = None
                    record(row)
                elif timeout_s and now - s.started >= timeout_s:
                    row = _failed_row(s.job, "timeout", f"timed out after {timeout_s:g} s (worker killed)",
                                      now - s.started)
                    pid, out_dir = s.proc.pid, s.job["out_dir"]
                    s.job = None
                    s.stop(kill=True)
                    _drop_tmp(out_dir, row["uid"], pid)
                    slots[i] = _Slot(ctx)
                    record(row)
    finally:
        for s in slots:
            s.stop(kill=s.job is not None)


def _run_ray(jobs: Sequence[dict[str, Any]], workers: int, timeout_s: float | None,
             record: Callable[[dict[str, Any]], None]) -> None:
    """One Ray task per object (no retries), at most ``workers`` in flight; a task past ``timeout_s``
    is cancelled with force (its worker is killed). ``out_dir`` must be on storage all nodes share."""
    ray = init_ray()
    task = ray.remote(max_retries=0, num_cpus=1)(render_one)
    pending = deque(jobs)
    running: dict[Any, tuple[dict[str, Any], float]] = {}
    while pending or running:
        while pending and len(running) < workers:
            job = pending.popleft()
            running[task.remote(job)] = (job, time.monotonic())
        wait_s = None
        if timeout_s:
            wait_s = max(0.0, min(t + timeout_s for _, t in running.values()) - time.monotonic())
        ready, _ = ray.wait(list(running), num_returns=1, timeout=wait_s)
        for ref in ready:
            job, t = running.pop(ref)
            try:
                record(ray.get(ref))
            except Exception as exc:  # noqa: BLE001 - worker crash, node loss
                record(_failed_row(job, "error", f"ray task failed: {type(exc).__name__}: {exc}",
                                   time.monotonic() - t))
        now = time.monotonic()
        for ref, (job, t) in list(running.items()):
            if timeout_s and now - t >= timeout_s:
                ray.cancel(ref, force=True)
                running.pop(ref)
                record(_failed_row(job, "timeout", f"timed out after {timeout_s:g} s (ray task cancelled)", now - t))


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


def _lock(out: Path) -> Any:
    import fcntl

    fh = open(out / ".lock", "w")
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        fh.close()
        raise ConfigError(f"another run is writing to {out}; wait for it or use another --out") from exc
    return fh


def _recover(out: Path, done: set[str], results: Any) -> int:
    """Rows for complete object folders that have none (the run died between rename and append)."""
    from datasets3d.rendering.writer import TMP_PREFIX

    objects = out / "objects"
    n = 0
    if not objects.is_dir():
        return 0
    for d in sorted(objects.iterdir()):
        if d.name.startswith(TMP_PREFIX):
            shutil.rmtree(d, ignore_errors=True)  # half-written by a killed run
        elif d.is_dir() and d.name not in done and (d / "metadata.json").is_file():
            meta = json.loads((d / "metadata.json").read_text())
            results.append({"uid": d.name, "file_identifier": meta.get("file_identifier"), "sha256": meta.get("sha256"),
                            "status": "ok", "views": len(meta.get("views", [])), "vertices": meta.get("vertex_count"),
                            "faces": meta.get("face_count"), "recovered": True})
            done.add(d.name)
            n += 1
    return n


def render_objects(records: Sequence[AssetRecord], out_dir: str | os.PathLike, config: RenderConfig, *,
                   workers: int = 1, use_ray: bool = False, timeout_s: float | None = 300.0, shards: bool = True,
                   objects_per_shard: int = 100, retry_failed: bool = False, progress: bool = True
                   ) -> dict[str, Any]:
    """Render ``records`` into ``out_dir`` (resumable); returns the run summary (also summary.json).

    Args:
        workers: worker processes (each object in one, killed after ``timeout_s``); 0 renders in this
            process without a timeout (debugging).
        use_ray: run on a Ray cluster (``RAY_ADDRESS``) instead, ``workers`` tasks at a time.
        shards: also pack the finished objects into WebDataset shards under ``out_dir/shards``.
        retry_failed: render again objects whose earlier row is an error or timeout (the new row wins).
    """
    from tqdm.auto import tqdm

    from embodied._optional import is_available, require
    from embodied.runs import ResultsLog

    out = Path(out_dir)
    (out / "objects").mkdir(parents=True, exist_ok=True)
    if config.backend == "blender" and not is_available("bpy"):
        require("bpy", extra="blender", purpose="the Blender Cycles backend (--backend blender)")
    lock = _lock(out)
    try:
        run_cfg = {"config": config_to_dict(config), "embodied": _version(), "seed": config.seed}
        for stale in out.glob(TMP_GLOB):  # temporary files of a killed run's atomic writes
            stale.unlink(missing_ok=True)
        check_run_config(out, run_cfg, "renders made")

        results = ResultsLog(out / "results.jsonl")
        latest = {r["uid"]: r for r in results.rows() if "uid" in r}
        done = {u for u, r in latest.items() if r.get("status") == "ok" or not retry_failed}
        recovered = _recover(out, done, results)
        if recovered:
            log.info("recovered %d finished objects without a results row", recovered)
        latest = {r["uid"]: r for r in results.rows() if "uid" in r}

        seen: dict[str, AssetRecord] = {}
        for rec in records:
            if rec.uid in seen and seen[rec.uid].sha256 != rec.sha256:
                raise ConfigError(f"uid collision: {seen[rec.uid].path} and {rec.path} share uid {rec.uid}")
            seen.setdefault(rec.uid, rec)
        todo = [r for u, r in seen.items() if u not in done]
        jobs = [{"record": r.to_dict(), "out_dir": str(out), "config": config_to_dict(config)} for r in todo]
        bar = tqdm(total=len(seen), initial=len(seen) - len(todo), desc="objects", unit="obj", disable=not progress)
        counts = {"ok": 0, "failed": 0}

        def record(row: dict[str, Any]) -> None:
            results.append(row)
            latest[row["uid"]] = row
            counts["ok" if row["status"] == "ok" else "failed"] += 1
            bar.set_postfix(ok=counts["ok"], failed=counts["failed"])
            bar.update(1)

        if not jobs:
            pass  # everything is done already: only the summary and shards are refreshed
        elif use_ray:
            _run_ray(jobs, max(1, workers), timeout_s, record)
        elif workers == 0:
            for job in jobs:
                record(render_one(job))
        else:
            _run_local(jobs, workers, timeout_s, record)
        bar.close()

        rows = [latest[u] for u in sorted(seen) if u in latest]
        summary = {"config": run_cfg, **summarize_rows(rows)}
        if shards:
            from datasets3d.rendering.shards import write_shards

            ok = [r["uid"] for r in rows if r["status"] == "ok" and (out / "objects" / r["uid"]).is_dir()]
            paths = write_shards(out / "objects", ok, out / "shards", objects_per_shard)
            summary["shards"] = [p.name for p in paths]
        atomic_write(out / "summary.json", json.dumps(summary, indent=1).encode())
        return summary
    finally:
        lock.close()
