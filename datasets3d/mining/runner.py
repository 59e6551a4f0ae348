"""Running a mining job on :mod:`embodied.runs`: sequences in worker processes (or Ray), written in
order, resumable.

The unit of work is one sequence; its job id is the sequence's ``unit_id``. Workers mine sequences in
parallel; the parent writes each finished sequence (folders + shards, see
:mod:`datasets3d.mining.writer`) strictly in the order of the sequence list (``ordered=True``) and
then appends its row to ``results.jsonl`` (fsynced). Results therefore do not depend on the number of
workers, and a run killed at any point (even ``kill -9``) and restarted with the same command skips
the finished sequences, cleans what the killed run left half-written, and ends with the same pairs,
none lost and none twice.

A sequence that fails (nothing could be read, its worker died) gets a row with status "error" and
the reason, and the run goes on; a rerun mines it again (``retry_errors``, the default). Its pairs,
when it then succeeds, are the same pairs (keys, bytes, MIMIC folders, index rows) as in a run where
it never failed, but they go into the shards after those written meanwhile: shards are append-only.
A "partial" sequence (a truncated video: mined what could be read) is finished, not failed.
"""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence as Seq
from pathlib import Path
from typing import Any

from embodied.config import config_from_dict, config_to_dict
from embodied.errors import ConfigError
from embodied.files import atomic_write
from embodied.runs import RESULTS_FILE, Job, ResultsLog, RunFolder, RunReport

from datasets3d.mining.config import MiningConfig
from datasets3d.mining.miner import DROP_REASONS, UnitResult, mine_sequence
from datasets3d.mining.sources import Sequence
from datasets3d.mining.writer import PairWriter, summarize, summary_table, write_index
from embodied.shards import ShardPosition

__all__ = ["run_mining", "load_done", "MiningSummary", "init_worker", "mine_job"]

log = logging.getLogger(__name__)

_WORKER: dict[str, Any] = {}


class MiningSummary(dict):
    """What :func:`run_mining` returns: the summary (as in summary.json), with the run's
    :class:`embodied.runs.RunReport` as ``.report`` (its ``failure_line()``, ``all_failed``)."""

    def __init__(self, summary: Mapping[str, Any], report: RunReport) -> None:
        super().__init__(summary)
        self.report = report


def init_worker(arg: Mapping[str, Any]) -> None:
    """A mining worker's setup (``init`` of :func:`embodied.runs.run_jobs`): the OverlapTester for
    ``arg["config"]``; in a worker process (``arg["one_thread"]``), OpenCV single-threaded, one core each."""
    import cv2

    if arg.get("one_thread"):
        cv2.setNumThreads(1)
    from datasets3d.mining.overlap import OverlapTester

    _WORKER["tester"] = OverlapTester(config_from_dict(MiningConfig, arg["config"]))


def mine_job(seq: dict[str, Any]) -> UnitResult:
    """A worker's job: mine one sequence (``Sequence.to_dict()``) with the tester of :func:`init_worker`."""
    tester = _WORKER["tester"]
    return mine_sequence(Sequence.from_dict(seq), tester.config, tester)


def load_done(out: str | os.PathLike) -> list[dict[str, Any]]:
    """The rows of an output folder's results.jsonl: the latest per sequence (finished ones, and failed
    ones with status "error" and the reason), in the order they first appear; a torn last line is ignored."""
    return [r for r in ResultsLog(Path(out) / RESULTS_FILE).latest().values() if "unit" in r]


def run_mining(sequences: Seq[Sequence], config: MiningConfig, out: str | os.PathLike, *,
               workers: int | None = None, use_ray: bool = False, retry_errors: bool = True, progress: bool = True,
               echo: Callable[[str], None] | None = print) -> MiningSummary:
    """Mine ``sequences`` into ``out`` (resuming what is there); returns the summary (also in summary.json).

    Args:
        sequences: the units of work (see :mod:`datasets3d.mining.sources`).
        config: the mining settings; an existing ``out`` must have been made with the same.
        workers: worker processes (default: CPU count; 1 mines in this process) or Ray actors.
        use_ray: run on a Ray cluster (``RAY_ADDRESS``, else a local one); needs the ``[ray]`` extra.
        retry_errors: mine again sequences that failed in an earlier run (else they stay failed).
        progress: show a tqdm bar over sequences with the kept/dropped counts.
        echo: where to print the summary table (None: nowhere).

    Returns:
        The summary dict; ``.report`` is the :class:`embodied.runs.RunReport` (one row per sequence).
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
        # sequence's error would make every rerun fail them again until it is installed
        from embodied.optional import require

        require("habitat_sim", purpose="mining habitat scenes")
    out = Path(out)
    if (out / "done.jsonl").exists() and not (out / RESULTS_FILE).exists():
        raise ConfigError(f"{out} was mined by an older version (done.jsonl, no {RESULTS_FILE}); use another --out, "
                          "or delete the folder to start over")
    cfg = config_to_dict(config)
    record = {"embodied": __version__, "seed": config.seed, "config": cfg,
              "sequences": [s.to_dict() for s in sequences]}
    t0 = time.perf_counter()
    with RunFolder(out, record, what="pairs mined") as run:
        # the shards end where the last row that wrote to them says (rows are appended in writing order;
        # a failed job's row from the runner has no position: nothing of it was written)
        position = None
        for r in run.results.rows():
            if r.get("shard_position"):
                position = ShardPosition.from_dict(r["shard_position"])
        latest = run.results.latest()
        done = {i for i, r in latest.items() if r.get("status") == "ok" or not retry_errors}
        todo = [s for s in sequences if s.unit_id not in done]
        writer = PairWriter(out, config, resume=position)
        writer.clean(todo)  # what a killed run left of sequences without a finished row

        tally: Counter = Counter()
        for i in done:
            tally.update(latest[i].get("outcomes", {}))

        def write(job: Job, res: UnitResult) -> dict[str, Any]:  # in the parent, in sequence order
            row = writer.write(res)
            tally.update(row["outcomes"])
            if res.status == "partial":
                log.warning("%s partial: %s", job.id, res.error)
            return row

        def postfix(_rows: list[dict[str, Any]]) -> dict[str, int]:
            return {"kept": tally.get("kept", 0), "dropped": sum(tally.get(k, 0) for k in DROP_REASONS)}

        jobs = [Job(s.unit_id, s.to_dict(), meta={"unit": s.unit_id, "sequence": s.to_dict()}) for s in sequences]
        n_workers = max(1, workers or os.cpu_count() or 1)
        report = run.run(jobs, mine_job, init=init_worker, init_arg={"config": cfg, "one_thread": use_ray or n_workers > 1},
                         record=write, workers=n_workers, use_ray=use_ray, ordered=True, retry_errors=retry_errors,
                         progress="mining" if progress else None, postfix=postfix)
        writer.close()

        # rows of sequences an earlier run of this folder mined but this call was not given: still in the outputs
        given = set(ids)
        records = report.rows + [r for i, r in run.results.latest().items() if i not in given and "unit" in r]
        write_index(out / "index.parquet", records)
        summary = {"embodied": __version__, "seed": config.seed, "config": cfg, **summarize(records),
                   "wall_s": round(time.perf_counter() - t0, 3)}
        if config.contact_sheet_pairs:
            sheet = _contact_sheet(out, records, config)
            summary["contact_sheet"] = sheet.name if sheet else None
        run.write_json("summary.json", summary)
    if echo is not None:
        echo(summary_table(summary))
    return MiningSummary(summary, report)


def _contact_sheet(out: Path, records: list[dict[str, Any]], config: MiningConfig) -> Path | None:
    """contact_sheet.png of the first ``contact_sheet_pairs`` pairs, read back from the outputs."""
    import cv2
    import numpy as np

    from datasets3d.mining.viz import contact_sheet, draw_pair

    metas = [m for r in records for m in r.get("pairs", [])][: config.contact_sheet_pairs]
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
