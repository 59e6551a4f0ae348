"""Objaverse-XL through the ``objaverse.xl`` package: annotations (:func:`xl_annotations`), cache
paths (:func:`xl_cache_path`) and sha256-verified local files (:func:`xl_fetch`)."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from embodied.errors import ConfigError
from embodied.files import file_sha256
from datasets3d.objaverse.archives import ExtractResult, _extract_cached
from datasets3d.objaverse.network import _online, _quiet_objaverse
from datasets3d.objaverse.records import (ArchiveError, AssetRecord, ObjaverseCacheError, _file_type, _problem,
                                          _text, uid_for)

XL_SOURCES = ("github", "thingiverse", "smithsonian", "sketchfab")
_XL_COLUMNS = ("fileIdentifier", "source", "license", "fileType", "sha256")


# --------------------------------------------------------------------------- Objaverse-XL
def _xl_module() -> Any:
    from embodied.optional import require

    require("objaverse", extra="objaverse", purpose="Objaverse-XL ingestion")
    import objaverse.xl as oxl

    return oxl


_XL_CLASSES = {"github": "GitHubDownloader", "thingiverse": "ThingiverseDownloader",
               "smithsonian": "SmithsonianDownloader", "sketchfab": "SketchfabDownloader"}


def _seed_hint(download_dir: str, files: Sequence[str]) -> str:
    return (f"seed the cache directory {download_dir} with {', '.join(files)} (parquet columns: "
            f"{', '.join(_XL_COLUMNS)}, metadata), or run once with internet access")


def xl_annotations(download_dir: str | os.PathLike, sources: Sequence[str] = XL_SOURCES, *,
                   offline: bool | None = None) -> Any:
    """Objaverse-XL annotations of ``sources`` as one pandas DataFrame (via ``objaverse.xl``).

    Raises:
        ObjaverseCacheError: a source's parquet file is not in ``download_dir`` and cannot be
            downloaded (offline, or the download failed); the message names the file to seed.
    """
    import pandas as pd

    oxl = _xl_module()
    unknown = [s for s in sources if s not in XL_SOURCES]
    if unknown:
        raise ConfigError(f"unknown Objaverse-XL sources {unknown}; choose from {', '.join(XL_SOURCES)}")
    d = str(Path(download_dir).expanduser())
    online = _online(sources, offline)
    absent = [f"{src}/{src}.parquet" for src in sources
              if not (Path(d) / src / f"{src}.parquet").is_file() and not online[src]]
    if absent:  # all of them in one message: seeding one file at a time is tedious
        why = "--offline was given" if offline else "the network is unreachable"
        names = ", ".join(f"'{a.split('/')[0]}'" for a in absent)
        raise ObjaverseCacheError(f"Objaverse-XL annotations for {names} are not cached in {d} and {why}: "
                                  f"{_seed_hint(d, absent)}")
    frames = []
    for src in sources:
        rel = f"{src}/{src}.parquet"
        try:
            with _quiet_objaverse():
                df = getattr(oxl, _XL_CLASSES[src]).get_annotations(download_dir=d)
        except Exception as exc:  # noqa: BLE001 - requests/fsspec/pyarrow errors all mean "no annotations"
            raise ObjaverseCacheError(f"cannot load Objaverse-XL annotations for '{src}' "
                                      f"({type(exc).__name__}: {exc}): {_seed_hint(d, [rel])}") from exc
        missing = [c for c in _XL_COLUMNS if c not in df.columns]
        if missing:
            raise ObjaverseCacheError(f"{Path(d) / rel} lacks columns {missing}: {_seed_hint(d, [rel])}")
        frames.append(df)
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(_XL_COLUMNS))
    if "metadata" not in out.columns:
        out["metadata"] = "{}"
    return out


def _github_parts(fid: str) -> tuple[str, str, str, str]:
    """(org, repo, commit, path in repo) of a GitHub file identifier .../org/repo/blob/commit/path."""
    parts = fid.split("/")
    if len(parts) < 8 or parts[5] != "blob":
        raise ValueError(f"not a GitHub blob URL: {fid}")
    return parts[3], parts[4], parts[6], "/".join(parts[7:])


def xl_cache_path(row: dict[str, Any], download_dir: str | os.PathLike, object_paths: dict[str, str] | None = None
                  ) -> Path | None:
    """Where ``objaverse.xl`` keeps (or would keep) the object of annotation ``row`` under ``download_dir``.

    GitHub objects: ``github/repos/<org>/<repo>/<path>`` (repositories saved as files). Sketchfab needs
    ``object_paths`` (``hf-objaverse-v1/object-paths.json.gz``); without it, None.
    """
    from objaverse.utils import get_uid_from_str

    d = Path(download_dir).expanduser()
    src, fid = row["source"], row["fileIdentifier"]
    if src == "sketchfab":
        uid = fid.rstrip("/").split("/")[-1]
        rel = (object_paths or {}).get(uid)
        return d / "hf-objaverse-v1" / rel if rel else None
    if src == "thingiverse":
        oxl = _xl_module()
        file_id = oxl.ThingiverseDownloader.get_file_id_from_file_identifier(fid)
        thing_id = oxl.ThingiverseDownloader.get_thing_id_from_file_identifier(fid)
        return d / "thingiverse" / f"thing-{thing_id}-file-{file_id}.stl"
    if src == "smithsonian":
        return d / "smithsonian" / "objects" / f"{get_uid_from_str(fid)}.glb"
    if src == "github":
        org, repo, _, path = _github_parts(fid)
        return d / "github" / "repos" / org / repo / path
    return None


def _github_resolve(fid: str, d: Path, problems: list[dict[str, Any]],
                    extracted: dict[Path, tuple[Path | None, ExtractResult]]) -> Path | None:
    """The local file of a GitHub object: from the repository saved as files, else from a saved archive."""
    org, repo, _, path = _github_parts(fid)
    direct = d / "github" / "repos" / org / repo / path
    if direct.is_file():
        return direct
    for ext in ("zip", "tar.gz", "tar"):
        archive = d / "github" / "repos" / org / f"{repo}.{ext}"
        if not archive.is_file():
            continue
        if archive not in extracted:
            try:
                extracted[archive] = _extract_cached(archive, d / "github" / "extracted" / org / repo)
            except ArchiveError as exc:
                problems.append(_problem("extract", str(exc), source="github", file_identifier=str(archive)))
                extracted[archive] = (None, ExtractResult([], []))
                continue
            for name, reason in extracted[archive][1].refused:
                problems.append(_problem("extract", f"refused archive member '{name}' of {archive.name}: {reason}",
                                         source="github", file_identifier=f"{archive}!{name}"))
        root = extracted[archive][0]
        if root is None:
            continue
        for cand in (root / path, root / repo / path):  # zip: repo contents; tar: under <repo>/
            if cand.is_file():
                return cand
    return None


def xl_fetch(objects: Any, download_dir: str | os.PathLike, *, processes: int = 1, offline: bool | None = None,
             progress: bool = False) -> tuple[list[AssetRecord], list[dict[str, Any]]]:
    """Local, sha256-verified files of Objaverse-XL annotation rows (a DataFrame), via the cache or
    ``objaverse.xl.download_objects``.

    Objects already in the cache are used as they are; missing ones are downloaded when their host
    is reachable (GitHub repositories saved as files), else recorded with the path to seed. Every
    file's sha256 is compared with the annotation; mismatches are recorded and left out.
    """
    import gzip

    import pandas as pd

    oxl = _xl_module()
    d = Path(download_dir).expanduser()
    problems: list[dict[str, Any]] = []
    rows = objects.to_dict(orient="records")
    online = _online({r["source"] for r in rows}, offline)
    object_paths: dict[str, str] | None = None
    if any(r["source"] == "sketchfab" for r in rows):
        op = d / "hf-objaverse-v1" / "object-paths.json.gz"
        if op.is_file():
            with gzip.open(op, "rt") as f:
                object_paths = json.load(f)
        elif not online["sketchfab"]:
            hint = _seed_hint(str(d), ["hf-objaverse-v1/object-paths.json.gz"])
            for r in rows:
                if r["source"] == "sketchfab":
                    problems.append(_problem("download", f"not in the cache and offline: {op} is missing; {hint}",
                                             source="sketchfab", file_identifier=r["fileIdentifier"]))
            rows = [r for r in rows if r["source"] != "sketchfab"]
    # which objects are already local
    extracted: dict[Path, tuple[Path | None, ExtractResult]] = {}
    local: dict[str, Path] = {}
    to_download = []
    for r in rows:
        fid = r["fileIdentifier"]
        try:
            path = (_github_resolve(fid, d, problems, extracted) if r["source"] == "github"
                    else xl_cache_path(r, d, object_paths))
        except ValueError as exc:
            problems.append(_problem("download", str(exc), source=r["source"], file_identifier=fid))
            continue
        if path is not None and Path(path).is_file():
            local[fid] = Path(path)
        elif online[r["source"]]:
            to_download.append(r)
        else:
            expected = xl_cache_path(r, d, object_paths)
            where = str(expected) if expected is not None else str(d / r["source"])
            problems.append(_problem("download", f"not in the cache and offline: expected at {where}; seed that "
                                                 f"file (from {fid}) or run with internet access",
                                     source=r["source"], file_identifier=fid))
    if to_download:  # through the objaverse package, into the same cache
        got: dict[str, str] = {}
        try:
            with _quiet_objaverse():
                got = oxl.download_objects(pd.DataFrame(to_download), download_dir=str(d),
                                           processes=max(1, processes), save_repo_format="files")
        except Exception as exc:  # noqa: BLE001 - a failed batch is recorded per object below
            problems.append(_problem("download", f"objaverse.xl.download_objects failed: {type(exc).__name__}: "
                                                 f"{exc}"))
        for r in to_download:
            fid = r["fileIdentifier"]
            path = got.get(fid)
            if r["source"] == "github":
                path = _github_resolve(fid, d, problems, extracted)
            if path is not None and Path(path).is_file():
                local[fid] = Path(path)
            else:
                problems.append(_problem("download", "not downloaded: the source no longer has it or the download "
                                                     "failed", source=r["source"], file_identifier=fid))
    records = []
    for r in tqdm(rows, desc="verify sha256", unit="obj", disable=not progress or len(rows) < 2):
        fid = r["fileIdentifier"]
        if fid not in local:
            continue
        path = local[fid]
        actual = file_sha256(path)
        expected = str(r.get("sha256") or "").lower()
        if expected and actual != expected:
            problems.append(_problem("verify", f"sha256 mismatch for {path}: annotation {expected}, file {actual} "
                                               "(modified upstream or corrupt download); left out",
                                     source=r["source"], file_identifier=fid))
            continue
        meta = r.get("metadata")
        if isinstance(meta, str):
            try:
                meta = json.loads(meta)
            except ValueError:
                meta = {"raw": meta}
        records.append(AssetRecord(uid_for(actual), actual, str(path.resolve()), fid, r["source"],
                                   _text(r.get("license")), _text(r.get("fileType"), _file_type(path)).lower(),
                                   meta if isinstance(meta, dict) else {}))
    return records, problems
