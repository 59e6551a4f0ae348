"""The whole ingestion (:func:`ingest`): collect, filter, verify and dedupe, then write
``manifest.jsonl`` (:func:`write_manifest`, :func:`read_manifest`), ``ingest_errors.jsonl`` and
``ingest_summary.json``."""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from embodied.errors import ConfigError
from embodied.files import atomic_write
from datasets3d.objaverse.filters import IngestFilter, _filter_columns, dedupe_records, filter_records
from datasets3d.objaverse.local import scan_local
from datasets3d.objaverse.records import AssetRecord, _problem, _text
from datasets3d.objaverse.v1 import v1_records
from datasets3d.objaverse.xl import XL_SOURCES, xl_annotations, xl_fetch


# --------------------------------------------------------------------------- pipeline
@dataclass
class IngestReport:
    """Result of :func:`ingest`: kept records, problems, duplicates and per-stage counts."""

    records: list[AssetRecord]
    problems: list[dict[str, Any]]
    duplicates: list[dict[str, str]]
    counts: dict[str, Any]

    def summary(self) -> dict[str, Any]:
        return {"objects": len(self.records), "problems": len(self.problems), "duplicates": len(self.duplicates),
                "by_source": dict(Counter(r.source for r in self.records)),
                "by_license": dict(Counter(r.license for r in self.records)),
                "by_file_type": dict(Counter(r.file_type for r in self.records)), "counts": self.counts,
                "problems_by_stage": dict(Counter(p["stage"] for p in self.problems))}


def write_manifest(path: str | os.PathLike, records: Iterable[AssetRecord]) -> Path:
    """Write records as JSON lines, atomically (temporary file, then rename)."""

    return atomic_write(path, "".join(json.dumps(r.to_dict(), sort_keys=True) + "\n" for r in records).encode())


def read_manifest(path: str | os.PathLike) -> tuple[list[AssetRecord], list[dict[str, Any]]]:
    """Records of a manifest.jsonl, and a problem per unreadable line (the rest is still returned)."""
    records, problems = [], []
    for i, line in enumerate(Path(path).read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            records.append(AssetRecord.from_dict(json.loads(line)))
        except (ValueError, ConfigError, TypeError) as exc:
            problems.append(_problem("manifest", f"{path}:{i}: {exc}"))
    return records, problems


def ingest(out_dir: str | os.PathLike, *, local: Sequence[str | os.PathLike] = (), local_license: str = "unknown",
           xl_dir: str | os.PathLike | None = None, v1_dir: str | os.PathLike | None = None,
           v1_uids: Sequence[str] | None = None, flt: IngestFilter | None = None, processes: int = 1,
           offline: bool | None = None, progress: bool = False) -> IngestReport:
    """Collect, filter, verify and dedupe objects from local folders, Objaverse-XL and Objaverse 1.0.

    Writes ``out_dir/manifest.jsonl`` (the kept :class:`AssetRecord` s), ``ingest_errors.jsonl`` (one
    row per problem) and ``ingest_summary.json``. Local archives are extracted under
    ``out_dir/extracted``. Raises only for what stops the whole run (no source given, annotations
    neither cached nor downloadable); everything else is recorded.
    """
    flt = flt or IngestFilter()
    if not local and xl_dir is None and v1_dir is None:
        raise ConfigError("nothing to ingest: give local folders, an Objaverse-XL download dir, or Objaverse 1.0")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    records: list[AssetRecord] = []
    problems: list[dict[str, Any]] = []
    counts: dict[str, Any] = {}
    if local:
        recs, probs = scan_local(local, extract_dir=out / "extracted", license=local_license, progress=progress)
        problems += probs
        kept, fprob, c = filter_records(recs, IngestFilter(file_types=flt.file_types, licenses=flt.licenses,
                                                           exclude_licenses=flt.exclude_licenses,
                                                           commercial_only=flt.commercial_only, sha256=flt.sha256),
                                        "local objects")
        problems += fprob
        counts["local"] = c
        records += kept
    if xl_dir is not None:
        sources = tuple(flt.sources) or XL_SOURCES
        ann = xl_annotations(xl_dir, sources, offline=offline)
        keep, fprob, c = _filter_columns(ann["source"].tolist(), ann["fileType"].astype(str).str.lower().tolist(),
                                         [_text(v) for v in ann["license"].tolist()],
                                         ann["sha256"].astype(str).str.lower().tolist(), flt,
                                         "Objaverse-XL annotations")
        problems += fprob
        chosen = ann[keep]
        # duplicates are dropped after verification (dedupe_records), so a copy that fails to download
        # or verify never hides a good one; here they are only counted
        c["annotation_duplicates"] = int(chosen["sha256"].duplicated().sum())
        if flt.limit is not None:
            chosen = chosen.head(max(0, flt.limit - len(records)))
        c["to_fetch"] = len(chosen)
        recs, probs = xl_fetch(chosen, xl_dir, processes=processes, offline=offline, progress=progress)
        problems += probs
        c["fetched"] = len(recs)
        counts["objaverse_xl"] = c
        records += recs
    if v1_dir is not None:
        left = None if flt.limit is None else max(0, flt.limit - len(records))
        v1_flt = IngestFilter(licenses=flt.licenses, exclude_licenses=flt.exclude_licenses,
                              commercial_only=flt.commercial_only, limit=left)
        recs, probs = v1_records(v1_dir, v1_uids, flt=v1_flt, processes=processes, offline=offline)
        problems += probs
        if flt.sha256:
            recs = [r for r in recs if r.sha256 in set(flt.sha256)]
        counts["objaverse_v1"] = {"fetched": len(recs)}
        records += recs
    unique, dups = dedupe_records(records)
    if flt.limit is not None:
        unique = unique[:flt.limit]
    report = IngestReport(unique, problems, dups, counts)
    write_manifest(out / "manifest.jsonl", unique)
    with open(out / "ingest_errors.jsonl", "w") as f:
        for p in problems:
            f.write(json.dumps(p, sort_keys=True) + "\n")
    (out / "ingest_summary.json").write_text(json.dumps(
        {"filter": asdict(flt), "sources": {"local": [str(p) for p in local], "objaverse_xl": str(xl_dir) if xl_dir
                                            else None, "objaverse_v1": str(v1_dir) if v1_dir else None},
         **report.summary(), "duplicates_list": dups}, indent=1, default=str))
    return report
