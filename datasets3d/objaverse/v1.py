"""Objaverse 1.0 through the ``objaverse`` package (:func:`v1_records`), its cache pointed at the
requested folder for the duration of each call."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from embodied.files import file_sha256
from datasets3d.objaverse.filters import IngestFilter, _filter_columns
from datasets3d.objaverse.network import _online
from datasets3d.objaverse.records import AssetRecord, ObjaverseCacheError, _problem, uid_for


# --------------------------------------------------------------------------- Objaverse 1.0
@contextlib.contextmanager
def _v1_cache(cache_dir: str | os.PathLike) -> Iterator[Any]:
    """The ``objaverse`` (1.0) module with its cache pointed at ``cache_dir`` (restored afterwards)."""
    from embodied.optional import require

    ov = require("objaverse", extra="objaverse", purpose="Objaverse 1.0 ingestion")
    saved = ov.BASE_PATH, ov._VERSIONED_PATH
    ov.BASE_PATH = str(Path(cache_dir).expanduser())
    ov._VERSIONED_PATH = os.path.join(ov.BASE_PATH, "hf-objaverse-v1")
    try:
        yield ov
    finally:
        ov.BASE_PATH, ov._VERSIONED_PATH = saved


def v1_records(cache_dir: str | os.PathLike, uids: Sequence[str] | None = None, *, flt: IngestFilter | None = None,
               processes: int = 1, offline: bool | None = None) -> tuple[list[AssetRecord], list[dict[str, Any]]]:
    """Objaverse 1.0 objects (GLB) via ``objaverse.load_uids / load_annotations / load_objects``.

    ``uids`` None means every uid listed in ``<cache>/hf-objaverse-v1/object-paths.json.gz``.
    License filters apply to the annotations before anything is downloaded; ``flt.limit`` caps the count.
    """
    import gzip

    flt = flt or IngestFilter()
    base = Path(cache_dir).expanduser() / "hf-objaverse-v1"
    is_online = _online(["v1"], offline)["v1"]
    problems: list[dict[str, Any]] = []
    if not (base / "object-paths.json.gz").is_file() and not is_online:
        raise ObjaverseCacheError(f"Objaverse 1.0 object list is not cached at {base / 'object-paths.json.gz'} and the "
                                  f"network is unreachable: seed the cache directory {cache_dir} with "
                                  "hf-objaverse-v1/object-paths.json.gz (gzip JSON uid -> glbs/<dir>/<uid>.glb) and "
                                  "hf-objaverse-v1/metadata/<dir>.json.gz, or run once with internet access")
    with _v1_cache(cache_dir) as ov:
        try:
            wanted = sorted(ov.load_uids()) if uids is None else list(uids)
            with gzip.open(base / "object-paths.json.gz", "rt") as f:
                paths = json.load(f)
        except Exception as exc:  # noqa: BLE001 - network or cache errors
            raise ObjaverseCacheError(f"cannot load the Objaverse 1.0 object list ({type(exc).__name__}: {exc}): "
                                      f"seed {base / 'object-paths.json.gz'} or run with internet access") from exc
        unknown = [u for u in wanted if u not in paths]
        for u in unknown:
            problems.append(_problem("annotations", "uid not in Objaverse 1.0", source="objaverse-v1",
                                     file_identifier=u))
        wanted = [u for u in wanted if u in paths]
        needed_dirs = sorted({paths[u].split("/")[1] for u in wanted})
        absent = [dd for dd in needed_dirs if not (base / "metadata" / f"{dd}.json.gz").is_file()]
        if absent and not is_online:
            raise ObjaverseCacheError(f"Objaverse 1.0 annotations are not cached ({', '.join(absent[:5])} missing in "
                                      f"{base / 'metadata'}) and the network is unreachable: seed them there or run "
                                      "with internet access")
        try:
            ann = ov.load_annotations(wanted) if wanted else {}
        except Exception as exc:  # noqa: BLE001
            raise ObjaverseCacheError(f"cannot load Objaverse 1.0 annotations ({type(exc).__name__}: {exc}): seed "
                                      f"{base / 'metadata'} or run with internet access") from exc
        lic = [str((ann.get(u) or {}).get("license") or "unknown") for u in wanted]
        keep, fprob, _ = _filter_columns(["objaverse-v1"] * len(wanted), ["glb"] * len(wanted), lic,
                                         [""] * len(wanted), IngestFilter(licenses=flt.licenses,
                                                                          exclude_licenses=flt.exclude_licenses,
                                                                          commercial_only=flt.commercial_only),
                                         "Objaverse 1.0 objects")
        problems += fprob
        chosen = [u for u, k in zip(wanted, keep) if k]
        if flt.limit is not None:
            chosen = chosen[:flt.limit]
        cached = [u for u in chosen if (base / paths[u]).is_file()]
        fetch = cached + ([u for u in chosen if u not in cached] if is_online else [])
        for u in chosen:
            if u not in fetch:
                problems.append(_problem("download", f"not in the cache and offline: expected at {base / paths[u]}",
                                         source="objaverse-v1", file_identifier=u))
        got: dict[str, str] = {}
        try:
            got = ov.load_objects(fetch, download_processes=max(1, processes)) if fetch else {}
        except Exception:  # noqa: BLE001 - one failed download fails the batch: go one by one to record which
            for u in fetch:
                try:
                    got.update(ov.load_objects([u]))
                except Exception as one:  # noqa: BLE001
                    problems.append(_problem("download", f"{type(one).__name__}: {one}", source="objaverse-v1",
                                             file_identifier=u))
    records = []
    for u in chosen:
        path = got.get(u)
        if path is None or not Path(path).is_file():
            continue
        sha = file_sha256(path)
        a = ann.get(u) or {}
        records.append(AssetRecord(uid_for(sha), sha, str(Path(path).resolve()), f"https://sketchfab.com/3d-models/{u}",
                                   "objaverse-v1", str(a.get("license") or "unknown"), "glb",
                                   {"objaverse_uid": u, "name": a.get("name")}))
    return records, problems
