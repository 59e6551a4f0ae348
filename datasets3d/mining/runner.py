"""Running a mining job: sequences in worker processes (or Ray actors), written in order, resumable.

The unit of work is one sequence. Workers mine sequences in parallel; the parent writes each
finished sequence (folders + shards, see :mod:`datasets3d.mining.writer`) strictly in the order of the
sequence list and then appends its record to ``done.jsonl`` (fsynced). Results therefore do not
depend on the number of workers, and a run killed at any point (even ``kill -9``) and restarted with
the same command skips the recorded sequences, cleans what the killed run left half-written, and
ends with the same pairs, none lost and none twice.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence as Seq
from pathlib import Path
from typing import Any

from embodied.config import config_from_dict, config_to_dict
from embodied.errors import ConfigError
from embodied.runs import ResultsLog

from datasets3d.mining.config import MiningConfig
from datasets3d.mining.miner import DROP_REASONS, UnitResult, mine_sequence
from datasets3d.mining.sources import Sequence
from datasets3d.mining.writer import PairWriter, summarize, summary_table, write_index
from datasets3d.runs import TMP_GLOB, atomic_write, check_run_config, init_ray
from datasets3d.shards import ShardPosition

__all__ = ["run_mining", "load_done"]

log = logging.getLogger(__name__)

_WORKER: dict[str, Any] = {}


def _init_worker(config: dict[str, Any]) -> None:
    """One core per worker: OpenCV (and BLAS, when numpy is imported here first) single-threaded."""
    import cv2

    cv2.setNumThreads(1)
    from datasets3d.mining.overlap import OverlapTester

    _WORKER["tester"] = OverlapTester(config_from_dict(MiningConfig, config))
    _WORKER["config"] = config


def _mine_job(seq: dict[str, Any], config: dict[str, Any]) -> UnitResult:
    if _WORKER.get("config") != config:  # first job here, or a Ray worker reused by a run with other settings
        _init_worker(config)
    tester = _WORKER["tester"]
    return mine_sequence(Sequence.from_dict(seq), tester.config, tester)


def load_done(out: str | os.PathLike) -> list[dict[str, Any]]:
    """The done.jsonl records of an output folder (first record per sequence; a torn last line is ignored)."""
    seen: dict[str, dict[str, Any]] = {}
    for r in ResultsLog(Path(out) / "done.jsonl").rows():
        if "unit" in r:
            seen.setdefault(r["unit"], r)
    return list(seen.values())


def _results(todo: list[Sequence], config: MiningConfig, workers: int, use_ray: bool) -> Iterator[UnitResult]:
    """Mined sequences in the order of ``todo``."""
    cfg = config_to_dict(config)
    jobs = [(s.to_dict(), cfg) for s in todo]
    if use_ray:
        yield from _ray_results(todo, jobs, workers)
    elif workers <= 1 or len(todo) <= 1:
        from datasets3d.mining.overlap import OverlapTester

        tester = OverlapTester(config)
        for s in todo:
            yield mine_sequence(s, config, tester)
    else:
        yield from _pool_results(todo, jobs, workers, cfg)


_JOB = _mine_job
"""What a worker process runs per sequence (replaceable in tests, e.g. by a job that crashes)."""

_DIED = ("the worker process died while mining this sequence, also when it ran alone (a crash in the video "
         "decoder, or out of memory); check the file with ffprobe, re-encode it or leave it out")


def _pool_results(todo: list[Sequence], jobs: list[tuple], workers: int, cfg: dict[str, Any]) -> Iterator[UnitResult]:
    """Mined sequences in order from spawned worker processes. A worker that dies (a segfault in a
    decoder, an OOM kill) breaks the pool: the first unfinished sequence is then mined again alone in a
    fresh process (so a sequence is blamed only when it kills a process by itself) and recorded as an
    error if that dies too; the pool is restarted for the rest and the run goes on."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    ctx = mp.get_context("spawn")

    def pool_of(n: int) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(n, mp_context=ctx, initializer=_init_worker, initargs=(cfg,))

    i = 0
    while i < len(todo):
        pool = pool_of(min(workers, len(todo) - i))
        broken = False
        try:
            futures = [pool.submit(_JOB, *job) for job in jobs[i:]]
            for fut in futures:  # in order; later sequences finish meanwhile
                try:
                    res = fut.result()
                except BrokenProcessPool:
                    broken = True
                    break
                yield res
                i += 1
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        if broken:
            log.warning("a mining worker died; mining %s again on its own", todo[i].unit_id)
            alone = pool_of(1)
            try:
                res = alone.submit(_JOB, *jobs[i]).result()
            except BrokenProcessPool:
                res = UnitResult(todo[i], status="error", error=_DIED)
            finally:
                alone.shutdown(wait=True, cancel_futures=True)
            yield res
            i += 1


def _ray_results(todo: list[Sequence], jobs: list[tuple], workers: int) -> Iterator[UnitResult]:
    """Mined sequences in order from Ray tasks, at most ``workers`` running at once (each worker process
    keeps its OverlapTester between tasks). A task that fails (its worker died, the node was lost) is
    recorded as the sequence's error; no retries, the run goes on."""
    ray = init_ray()
    task = ray.remote(max_retries=0, num_cpus=1)(_JOB)
    pending = deque(range(len(jobs)))
    running: dict[Any, int] = {}
    finished: dict[int, UnitResult] = {}
    nxt = 0
    while nxt < len(jobs):
        while pending and len(running) < max(1, workers):
            k = pending.popleft()
            running[task.remote(*jobs[k])] = k
        ready, _ = ray.wait(list(running), num_returns=1)
        for ref in ready:
            k = running.pop(ref)
            try:
                finished[k] = ray.get(ref)
            except Exception as exc:  # noqa: BLE001 - a dead worker or lost node: this sequence's error
                why = " ".join(str(exc).split())[:300]
                finished[k] = UnitResult(todo[k], status="error",
                                         error=f"the Ray task mining this sequence failed: {type(exc).__name__}: {why}")
        while nxt in finished:  # in order; later sequences wait in the buffer
            yield finished.pop(nxt)
            nxt += 1


def run_mining(sequences: Seq[Sequence], config: MiningConfig, out: str | os.PathLike, *,
               workers: int | None = None, use_ray: bool = False, progress: bool = True,
               echo: Callable[[str], None] | None = print) -> dict[str, Any]:
    """Mine ``sequences`` into ``out`` (resuming what is there); returns the summary (also in summary.json).

    Args:
        sequences: the units of work (see :mod:`datasets3d.mining.sources`).
        config: the mining settings; an existing ``out`` must have been made with the same.
        workers: worker processes (default: CPU count) or Ray actors.
        use_ray: run on a Ray cluster (``RAY_ADDRESS``, else a local one); needs the ``[ray]`` extra.
        progress: show a tqdm bar over sequences with the kept/dropped counts.
        echo: where to print the summary table (None: nowhere).
    """
    from embodied import __version__

    if not sequences:
        raise ConfigError("nothing to mine: no sequences were given")
    ids = [s.unit_id for s in sequences]
    if len(set(ids)) != len(ids):
        dup = sorted({i for i in ids if ids.count(i) > 1})
        raise ConfigError(f"sequences must be unique; repeated: {', '.join(dup)}")
    if any(s.kind == "habitat" for s in sequences):
        # checked before anything runs: a missing package is not a bad input, and recording it as each
        # sequence's error would make the rerun after installing it skip them
        from embodied._optional import require

        require("habitat_sim", purpose="mining habitat scenes")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob(TMP_GLOB):  # temporary files of a killed run's atomic writes
        stale.unlink(missing_ok=True)
    check_run_config(out, {"embodied": __version__, "seed": config.seed, "config": config_to_dict(config),
                           "sequences": [s.to_dict() for s in sequences]}, "pairs mined")
    t0 = time.perf_counter()

    records = load_done(out)
    done = {r["unit"] for r in records}
    position = None
    for r in records:
        if r.get("shard_position"):
            position = ShardPosition.from_dict(r["shard_position"])
    writer = PairWriter(out, config, resume=position)
    todo = [s for s in sequences if s.unit_id not in done]
    writer.clean(todo)
    donelog = ResultsLog(out / "done.jsonl")
    workers = max(1, workers or os.cpu_count() or 1)
    tally = Counter()
    for r in records:
        tally.update(r["outcomes"])

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(sequences), initial=len(sequences) - len(todo), desc="mining", unit="seq")

    def postfix() -> None:
        if bar is not None:
            dropped = sum(tally.get(k, 0) for k in DROP_REASONS)
            bar.set_postfix(kept=tally.get("kept", 0), dropped=dropped, refresh=False)

    postfix()
    try:
        for res in _results(todo, config, workers, use_ray):
            record = writer.write(res)
            donelog.append(record)
            records.append(record)
            tally.update(record["outcomes"])
            if res.status != "ok":
                log.warning("%s %s: %s", res.sequence.unit_id, res.status, res.error)
            if bar is not None:
                postfix()
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    writer.close()

    order = {u: i for i, u in enumerate(ids)}
    records.sort(key=lambda r: order.get(r["unit"], len(order)))
    write_index(out / "index.parquet", records)
    summary = {"embodied": __version__, "seed": config.seed, "config": config_to_dict(config),
               **summarize(records), "wall_s": round(time.perf_counter() - t0, 3)}
    if config.contact_sheet_pairs:
        sheet = _contact_sheet(out, records, config)
        summary["contact_sheet"] = sheet.name if sheet else None
    atomic_write(out / "summary.json", json.dumps(summary, indent=1).encode())
    if echo is not None:
        echo(summary_table(summary))
    return summary


def _contact_sheet(out: Path, records: list[dict[str, Any]], config: MiningConfig) -> Path | None:
    """contact_sheet.png of the first ``contact_sheet_pairs`` pairs, read back from the outputs."""
    import cv2
    import numpy as np

    from datasets3d.mining.viz import contact_sheet, draw_pair

    metas = [m for r in records for m in r["pairs"]][: config.contact_sheet_pairs]
    panels = []
    for m in metas:
        imgs = _read_pair(out, m)
        if imgs is None:
            continue
        a, b, corr = imgs
        title = f"{m['source']}/{m['sequence']} #{m['pair']} {m['frame0']}-{m['frame1']} overlap {m['overlap']:.0%}"
        panels.append(draw_pair(a, b, corr, config.patch_size_px, title))
    if not panels:
        return None
    path = out / "contact_sheet.png"
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(contact_sheet(panels)[..., ::-1]))
    if ok:
        atomic_write(path, buf.tobytes())
    return path


def _read_pair(out: Path, meta: dict[str, Any]):
    import io
    import tarfile

    import cv2
    import numpy as np

    def decode(data: bytes):
        return cv2.cvtColor(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)

    if meta.get("folder"):
        d = out / meta["folder"]
        corr = np.load(d / "corresponding.npy", allow_pickle=True).item()
        return (decode((d / "0000.jpg").read_bytes()), decode((d / "0001.jpg").read_bytes()),
                np.array(sorted(corr.items()), np.int64).reshape(-1, 2))
    if meta.get("shard"):
        with tarfile.open(out / meta["shard"]) as tf:
            get = lambda ext: tf.extractfile(f"{meta['key']}.{ext}").read()  # noqa: E731
            return decode(get("0000.jpg")), decode(get("0001.jpg")), np.load(io.BytesIO(get("corr.npy")))
    return None
