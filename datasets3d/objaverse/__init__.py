"""Objaverse-XL ingestion: annotations and downloads through the ``objaverse`` package, local folders
of mesh files as a first-class source, filters, sha256 identity and dedup, and safe archive extraction.

Sources
  * **Objaverse-XL** (``objaverse.xl``, extra ``[objaverse]``): annotations are the per-source parquet
    files under ``download_dir`` (``github/github.parquet``, ``thingiverse/thingiverse.parquet``,
    ``smithsonian/smithsonian.parquet``, ``sketchfab/sketchfab.parquet``; columns fileIdentifier,
    source, license, fileType, sha256, metadata); objects come from ``objaverse.xl.download_objects``
    into the same folder, GitHub repositories saved as files (or found there as zip/tar archives,
    which are extracted safely).
  * **Objaverse 1.0** (``objaverse.load_uids / load_annotations / load_objects``): its cache is
    ``<cache>/hf-objaverse-v1``; the package fixes that path at import from $HOME, so it is pointed at
    the requested folder for the duration of each call.
  * **Local folders** of mesh files (and zip/tar archives of them): no ``objaverse`` package needed.

Offline (the hosts cannot be reached), everything works from a seeded cache; a missing annotation file
raises :class:`ObjaverseCacheError` naming the folder to seed and the file it needs, and an object
not in the cache is recorded as a problem with the path it should be at. Nothing retries in a loop.

Every object is identified by the sha256 of its file contents: Objaverse-XL's annotated sha256 is
checked after download (a mismatch is recorded and the object left out), and objects with equal
contents are kept once. Problems never stop a run: each is a row in ``ingest_errors.jsonl`` and
counted in ``ingest_summary.json``; the ingested objects are ``manifest.jsonl`` (see
:class:`AssetRecord`), which ``embodied data render`` reads.
"""

from __future__ import annotations

from datasets3d.objaverse.archives import ExtractResult, safe_extract
from datasets3d.objaverse.filters import IngestFilter, dedupe_records, filter_records
from datasets3d.objaverse.local import MESH_TYPES, scan_local
from datasets3d.objaverse.pipeline import IngestReport, ingest, read_manifest, write_manifest
from datasets3d.objaverse.records import ArchiveError, AssetRecord, ObjaverseCacheError, is_noncommercial, uid_for
from datasets3d.objaverse.v1 import v1_records
from datasets3d.objaverse.xl import XL_SOURCES, xl_annotations, xl_cache_path, xl_fetch

__all__ = [
    "XL_SOURCES",
    "MESH_TYPES",
    "ObjaverseCacheError",
    "ArchiveError",
    "AssetRecord",
    "IngestFilter",
    "IngestReport",
    "ExtractResult",
    "uid_for",
    "is_noncommercial",
    "safe_extract",
    "scan_local",
    "filter_records",
    "dedupe_records",
    "xl_annotations",
    "xl_cache_path",
    "xl_fetch",
    "v1_records",
    "ingest",
    "read_manifest",
    "write_manifest",
]
