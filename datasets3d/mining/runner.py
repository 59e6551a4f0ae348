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
from collections import Counter
from collections.abc import Callable, Iterator, Sequence as Seq
from pathlib import Path
from typing import Any

from embodied.config import config_from_dict, config_to_dict
from embodied.errors import ConfigError
from embodied.evaluation import ResultsLog

from datasets3d.mining.config import MiningConfig
from datasets3d.mining.miner import DROP_REASONS, UnitResult, mine_sequence
from datasets3d.mining.sources import Sequence
from datasets3d.mining.writer import PairWriter, summarize, summary_table, write_index
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


def _mine_job(seq: dict[str, Any], config: dict[str, Any]) -> UnitResult:
    if "tester" not in _WORKER:
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


def _check_config(out: Path, config: MiningConfig, sequences: Seq[Sequence], version: str) -> None:
    path = out / "config.json"
    cfg = config_to_dict(config)
    if path.exists():
        try:
            old = json.loads(path.read_text()).get("config")
        except json.JSONDecodeError:
            old = None
        if old is not None and json.loads(json.dumps(old)) != json.loads(json.dumps(cfg)):
            diff = sorted(k for k in set(old) | set(cfg) if old.get(k) != cfg.get(k))
            raise ConfigError(f"{out} holds pairs mined with a different configuration (differs in: {', '.join(diff)}); "
                              "use another --out, or delete the folder to start over")
    from datasets3d.mining.writer import atomic_write

    atomic_write(path, json.dumps({"embodied": version, "seed": config.seed, "config": cfg,
                                   "sequences": [s.to_dict() for s in sequences]}, indent=1).encode())


def _results(todo: list[Sequence], config: MiningConfig, workers: int, use_ray: bool) -> Iterator[UnitResult]:
    """Mined sequences in the order of ``todo``."""
    cfg = config_to_dict(config)
    jobs = [(s.to_dict(), cfg) for s in todo]
    if use_ray:
        yield from _ray_results(jobs, workers)
    elif workers <= 1 or len(todo) <= 1:
        from datasets3d.mining.overlap import OverlapTester

        tester = OverlapTester(config)
        for s in todo:
            yield mine_sequence(s, config, tester)
    else:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        pool = ProcessPoolExecutor(min(workers, len(todo)), mp_context=mp.get_context("spawn"),
                                   initializer=_init_worker, initargs=(cfg,))
        try:
            futures = [pool.submit(_mine_job, *job) for job in jobs]
            for fut in futures:  # in order; later sequences finish meanwhile
                yield fut.result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _ray_results(jobs: list[tuple], workers: int) -> Iterator[UnitResult]:
    from embodied._optional import require

    ray = require("ray", extra="ray", purpose="--ray")
    ray.init(address=os.environ.get("RAY_ADDRESS"), ignore_reinit_error=True)

    @ray.remote(num_cpus=1)
    class MiningWorker:
        def __init__(self, config):
            _init_worker(config)

        def run(self, seq, config):
            return _mine_job(seq, config)

    from ray.util import ActorPool

    pool = ActorPool([MiningWorker.remote(jobs[0][1]) for _ in range(max(1, min(workers, len(jobs))))])
    yield from pool.map(lambda actor, job: actor.run.remote(*job), jobs)


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
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob(".*.tmp-*"):  # temporary files of a killed run's atomic writes
        stale.unlink(missing_ok=True)
    _check_config(out, config, sequences, __version__)
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
    from datasets3d.mining.writer import atomic_write

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
        from datasets3d.mining.writer import atomic_write

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
