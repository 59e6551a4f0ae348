"""Writing mined pairs: MIMIC's folder layout, WebDataset shards, a parquet index and a summary.

Output folder::

    config.json                 the resolved MiningConfig, package version, seed and sequences
    results.jsonl               one fsynced row per sequence (embodied.runs; the resume record): its
                                status, pairs, outcomes and shard position, or the reason it failed
    mimic/<source>/<sequence>/<pair>/0000.jpg, 0001.jpg, corresponding.npy     (format "mimic"/"both")
    shards/pairs-000000.tar ... (format "wds"/"both"): <key>.0000.jpg, <key>.0001.jpg,
                                <key>.corr.npy ((K, 2) int16 patch pairs), <key>.json (the index row + more)
    index.parquet               one row per pair: key, source, sequence, pair, frame0, frame1, overlap,
                                n_corresponding, n_matches, n_inliers, sha256, folder, shard
    summary.json                pairs kept, tested pairs dropped by reason, errors, time
    contact_sheet.png           a few kept pairs with their matched patches

``corresponding.npy`` is MIMIC's: ``np.load(p, allow_pickle=True).item()`` is a dict {patch in 0000.jpg:
patch in 0001.jpg} (row-major patch ids, 14 x 14 grid by default). The shards carry the same pairs as a
plain (K, 2) array instead, which loads without pickle.

Crash safety: a sequence's folder is written under ``.<sequence>.partial`` and renamed when complete;
its shard samples are fsynced, then its row is appended to results.jsonl. On a rerun, sequences without
a finished row are cleaned (folders removed, shards cut back to the last recorded position) and mined
again, failed ones included.
"""

from __future__ import annotations

import io
import json
import os
import shutil
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from embodied.files import atomic_write

from datasets3d.mining.config import MiningConfig
from datasets3d.mining.miner import DROP_REASONS, UnitResult, corresponding_npy
from datasets3d.mining.sources import Sequence
from embodied.shards import ShardPosition, ShardWriter

__all__ = ["PairWriter", "INDEX_COLUMNS", "write_index", "read_index", "summarize", "summary_table",
           "atomic_write"]  # atomic_write lives in embodied.files (re-exported here)

SHARD_PREFIX = "pairs"
INDEX_COLUMNS = ("key", "source", "sequence", "pair", "frame0", "frame1", "overlap", "n_corresponding", "n_matches",
                 "n_inliers", "sha256", "folder", "shard")


class PairWriter:
    """Writes finished sequences into an output folder (see the module docstring).

    Args:
        out: the output folder.
        config: decides the formats, shard size.
        resume: the shard position recorded with the last finished sequence (None: nothing written yet).
    """

    def __init__(self, out: str | os.PathLike, config: MiningConfig, resume: ShardPosition | None = None) -> None:
        self.out = Path(out)
        self.config = config
        self.folders = config.format in ("mimic", "both")
        self.shards: ShardWriter | None = None
        if config.format in ("wds", "both"):
            self.shards = ShardWriter(self.out / "shards", SHARD_PREFIX, max_samples=config.shard_max_pairs,
                                      resume=resume)

    def clean(self, unfinished: Iterable[Sequence]) -> None:
        """Remove what a killed run left of sequences that are not recorded as done."""
        root = self.out / "mimic"
        for seq in unfinished:
            for d in (root / seq.source / seq.name, root / seq.source / f".{seq.name}.partial"):
                if d.exists():
                    shutil.rmtree(d)
        for d in root.glob("*/.*.partial"):
            shutil.rmtree(d, ignore_errors=True)

    def write(self, res: UnitResult) -> dict[str, Any]:
        """Write one sequence's pairs; returns its results row (append it after this returns). The row's
        ``status`` is the job's: "error" when nothing could be mined, else "ok"; ``sequence_status`` is
        the sequence's own ("ok", "partial" or "error")."""
        seq = res.sequence
        metas = []
        final = self.out / "mimic" / seq.source / seq.name
        if self.folders and res.pairs:
            tmp = final.with_name(f".{seq.name}.partial")
            if tmp.exists():
                shutil.rmtree(tmp)
            for p in res.pairs:
                d = tmp / f"{p.index:06d}"
                d.mkdir(parents=True)
                (d / "0000.jpg").write_bytes(p.jpg0)
                (d / "0001.jpg").write_bytes(p.jpg1)
                (d / "corresponding.npy").write_bytes(corresponding_npy(p.correspondences))
            _fsync_tree(tmp)
            if final.exists():
                shutil.rmtree(final)
            os.replace(tmp, final)
        for p in res.pairs:
            meta = dict(p.meta)
            meta["folder"] = f"mimic/{seq.source}/{seq.name}/{p.index:06d}" if self.folders else None
            meta["shard"] = None
            if self.shards is not None:
                buf = io.BytesIO()
                np.save(buf, np.ascontiguousarray(p.correspondences, np.int16), allow_pickle=False)
                name = self.shards.write(meta["key"], {
                    "0000.jpg": p.jpg0, "0001.jpg": p.jpg1, "corr.npy": buf.getvalue(),
                    "json": json.dumps({**meta, "shard": None}, sort_keys=True).encode()})
                meta["shard"] = f"shards/{name}"
            metas.append(meta)
        position = None
        if self.shards is not None:
            self.shards.sync()
            position = self.shards.position.to_dict()
        return {"unit": seq.unit_id, "sequence": seq.to_dict(), "status": "error" if res.status == "error" else "ok",
                "sequence_status": res.status, "error": res.error,
                "frames": res.frames, "seconds": round(res.seconds, 4),
                "timings": {k: round(v, 4) for k, v in res.timings.items()},
                "outcomes": dict(sorted(res.outcomes.items())), "pairs": metas, "shard_position": position}

    def close(self) -> list[Path]:
        return self.shards.close() if self.shards is not None else []


def _fsync_tree(root: Path) -> None:
    for dirpath, _, files in os.walk(root):
        for f in files:
            fd = os.open(os.path.join(dirpath, f), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


# --------------------------------------------------------------------------------------------- index, summary
def write_index(path: Path, records: Iterable[Mapping[str, Any]]) -> Path:
    """index.parquet: one row per pair of the finished sequences, in sequence order."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([("key", pa.string()), ("source", pa.string()), ("sequence", pa.string()),
                        ("pair", pa.int32()), ("frame0", pa.string()), ("frame1", pa.string()),
                        ("overlap", pa.float32()), ("n_corresponding", pa.int32()), ("n_matches", pa.int32()),
                        ("n_inliers", pa.int32()), ("sha256", pa.string()), ("folder", pa.string()),
                        ("shard", pa.string())])
    rows = [{c: m.get(c) for c in INDEX_COLUMNS} for r in records for m in r.get("pairs", [])]
    table = pa.Table.from_pylist(rows, schema=schema)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    pq.write_table(table, tmp)
    os.replace(tmp, path)
    return path


def read_index(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Rows of an index.parquet as dicts."""
    import pyarrow.parquet as pq

    return pq.read_table(path).to_pylist()


def summarize(records: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Totals over results rows: sequences by status, pairs kept, tested pairs by outcome, errors. A row
    of a failed job (status "error", no pairs: the worker died) counts as an errored sequence."""
    records = list(records)
    outcomes: Counter = Counter()
    per_source: dict[str, Counter] = {}
    timings: Counter = Counter()
    for r in records:
        outcomes.update(r.get("outcomes", {}))
        src = r["sequence"]["source"]
        per_source.setdefault(src, Counter()).update({"sequences": 1, "pairs": len(r.get("pairs", []))})
        timings.update(r.get("timings", {}))
    tested = sum(outcomes.values())
    dropped = {k: outcomes.get(k, 0) for k in DROP_REASONS}
    status = Counter(_sequence_status(r) for r in records)
    return {
        "sequences": {"done": len(records), "ok": status.get("ok", 0), "partial": status.get("partial", 0),
                      "error": status.get("error", 0)},
        "frames": sum(r.get("frames", 0) for r in records),
        "pairs_kept": sum(len(r.get("pairs", [])) for r in records),
        "pairs_tested": tested,
        "dropped": dropped,
        "per_source": {k: dict(v) for k, v in sorted(per_source.items())},
        "errors": [{"unit": r["unit"], "status": _sequence_status(r), "error": r["error"]} for r in records
                   if r.get("error")],
        "seconds": round(sum(r.get("seconds", 0.0) for r in records), 3),
        "time_split_s": {k: round(v, 3) for k, v in sorted(timings.items())},
    }


def _sequence_status(row: Mapping[str, Any]) -> str:
    """ok / partial / error: the sequence's own status, or the job's where the job failed."""
    return "error" if row.get("status") != "ok" else row.get("sequence_status", "ok")


def summary_table(summary: Mapping[str, Any]) -> str:
    """A plain-text table of kept pairs and drop reasons (printed at the end of a run)."""
    tested = max(1, summary["pairs_tested"])
    lines = [f"sequences: {summary['sequences']['done']} done ({summary['sequences']['ok']} ok, "
             f"{summary['sequences']['partial']} partial, {summary['sequences']['error']} error), "
             f"{summary['frames']} frames",
             f"{'outcome of tested pairs':<26}{'pairs':>9}{'share':>9}",
             f"{'kept':<26}{summary['pairs_kept']:>9}{summary['pairs_kept'] / tested:>9.1%}"]
    for reason, n in summary["dropped"].items():
        if n:
            lines.append(f"{'dropped: ' + reason:<26}{n:>9}{n / tested:>9.1%}")
    lines.append(f"{'total tested':<26}{summary['pairs_tested']:>9}")
    if summary["errors"]:
        lines.append(f"{len(summary['errors'])} sequence(s) with problems (recorded in summary.json):")
        lines += [f"- {e['unit']} ({e['status']}): {e['error']}" for e in summary["errors"]]
    return "\n".join(lines)
