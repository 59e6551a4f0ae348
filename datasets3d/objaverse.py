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

import contextlib
import fnmatch
import json
import math
import os
import re
import shutil
import stat
import tarfile
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from tqdm.auto import tqdm

from embodied import net
from embodied.errors import ConfigError, EmbodiedError
from embodied.files import atomic_write, file_sha256

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

XL_SOURCES = ("github", "thingiverse", "smithsonian", "sketchfab")
MESH_TYPES = frozenset({"glb", "gltf", "obj", "ply", "stl", "off", "fbx", "dae", "usdz", "usd", "usda", "abc",
                        "blend", "3mf"})
"""File types taken as 3D objects when scanning folders (Objaverse-XL's list plus OFF and 3MF)."""
_ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
_SOURCE_HOSTS = {"github": "github.com", "thingiverse": "www.thingiverse.com", "smithsonian": "3d-api.si.edu",
                 "sketchfab": "huggingface.co", "v1": "huggingface.co"}
_XL_COLUMNS = ("fileIdentifier", "source", "license", "fileType", "sha256")
_NC_RE = re.compile(r"(\bnc\b|non-?commercial)", re.IGNORECASE)


class ObjaverseCacheError(EmbodiedError, RuntimeError):
    """Objaverse data is neither in the local cache nor downloadable; the message names what to seed."""


class ArchiveError(EmbodiedError, ValueError):
    """An archive cannot be read (not zip/tar, corrupt, or over the size limit)."""


# --------------------------------------------------------------------------- records
@dataclass(frozen=True)
class AssetRecord:
    """One ingested object: a local file, its identity and provenance (a line of manifest.jsonl).

    ``uid`` is the first 16 hex digits of ``sha256`` (the sha256 of the file's contents).
    """

    uid: str
    sha256: str
    path: str
    file_identifier: str
    source: str
    license: str
    file_type: str
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AssetRecord:
        missing = [k for k in ("sha256", "path") if not d.get(k)]
        if missing:
            raise ConfigError(f"manifest row lacks {', '.join(missing)}: {json.dumps(d)[:200]}")
        sha = str(d["sha256"]).lower()
        return cls(uid=d.get("uid") or uid_for(sha), sha256=sha, path=str(d["path"]),
                   file_identifier=str(d.get("file_identifier") or d["path"]), source=str(d.get("source") or "local"),
                   license=str(d.get("license") or "unknown"),
                   file_type=str(d.get("file_type") or _file_type(d["path"])), metadata=dict(d.get("metadata") or {}))


def uid_for(sha256: str) -> str:
    """Object uid: the first 16 hex digits of the content sha256."""
    return sha256.lower()[:16]


def _file_type(path: str | os.PathLike) -> str:
    return Path(path).suffix.lstrip(".").lower()


def is_noncommercial(license_name: str | None) -> bool:
    """True for licenses that forbid commercial use (CC BY-NC*, "NonCommercial", ...)."""
    return bool(license_name) and bool(_NC_RE.search(str(license_name)))


def _text(value: Any, default: str = "unknown") -> str:
    """A string column value; None and NaN (pandas' missing) become ``default``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return default
    return str(value)


def _problem(stage: str, error: str, **kw: Any) -> dict[str, Any]:
    return {"stage": stage, **{k: v for k, v in kw.items() if v is not None}, "error": error}


# --------------------------------------------------------------------------- archives
@dataclass
class ExtractResult:
    """Files extracted (absolute paths) and members refused, as (member name, reason)."""

    files: list[Path]
    refused: list[tuple[str, str]]


def _unsafe_reason(name: str) -> str | None:
    if not name or "\x00" in name:
        return "empty or NUL in name"
    norm = name.replace("\\", "/")
    if norm.startswith("/") or re.match(r"^[A-Za-z]:", norm):
        return "absolute path"
    if ".." in PurePosixPath(norm).parts:
        return "path outside the target folder ('..')"
    return None


def safe_extract(archive: str | os.PathLike, target: str | os.PathLike, *,
                 max_total_bytes: int = 16 << 30) -> ExtractResult:
    """Extract a zip or tar(.gz/.bz2/.xz) archive into ``target``, refusing unsafe members.

    Refused (and reported, never written): absolute paths, paths with ``..`` components or that
    resolve outside ``target``, symbolic and hard links, devices and FIFOs. Raises
    :class:`ArchiveError` for an unreadable archive or one whose files exceed ``max_total_bytes``.
    """
    archive, target = Path(archive), Path(target)
    target.mkdir(parents=True, exist_ok=True)
    root = target.resolve()
    files: list[Path] = []
    refused: list[tuple[str, str]] = []
    total = 0

    def destination(name: str) -> Path | None:
        reason = _unsafe_reason(name)
        dest = None if reason else (root / name.replace("\\", "/")).resolve()
        if dest is not None and (dest == root or not dest.is_relative_to(root)):
            reason = "path outside the target folder"
        if reason:
            refused.append((name, reason))
            return None
        return dest

    def copy(src: Any, dest: Path, size: int) -> None:
        nonlocal total
        total += size
        if total > max_total_bytes:
            raise ArchiveError(f"{archive.name} expands beyond {max_total_bytes} bytes; refusing to extract it")
        dest.parent.mkdir(parents=True, exist_ok=True)
        with open(dest, "wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)
        files.append(dest)

    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf:
                for info in zf.infolist():
                    if info.is_dir():
                        continue
                    if stat.S_ISLNK(info.external_attr >> 16):
                        refused.append((info.filename, "symbolic link"))
                        continue
                    dest = destination(info.filename)
                    if dest is not None:
                        with zf.open(info) as src:
                            copy(src, dest, info.file_size)
        elif tarfile.is_tarfile(archive):
            with tarfile.open(archive) as tf:
                for member in tf:
                    if member.isdir():
                        continue
                    if member.issym() or member.islnk():
                        refused.append((member.name, "link"))
                        continue
                    if not member.isfile():
                        refused.append((member.name, "not a regular file"))
                        continue
                    dest = destination(member.name)
                    if dest is not None:
                        copy(tf.extractfile(member), dest, member.size)
        else:
            raise ArchiveError(f"{archive.name} is not a zip or tar archive")
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as exc:
        raise ArchiveError(f"cannot read archive {archive.name}: {type(exc).__name__}: {exc}") from exc
    return ExtractResult(files, refused)


def _is_archive(path: Path) -> bool:
    return path.name.lower().endswith(_ARCHIVE_SUFFIXES)


def _extract_cached(archive: Path, extract_root: Path) -> tuple[Path, ExtractResult]:
    """:func:`safe_extract` into ``extract_root/<sha256[:16]>`` (returned with the result), reusing a
    finished earlier extraction of the same archive contents."""
    dest = (extract_root / uid_for(file_sha256(archive))).resolve()
    marker = dest / ".extracted.json"
    if marker.is_file():
        data = json.loads(marker.read_text())
        return dest, ExtractResult([dest / f for f in data["files"]], [tuple(r) for r in data["refused"]])
    if dest.exists():
        shutil.rmtree(dest)  # an interrupted extraction
    res = safe_extract(archive, dest)
    marker.write_text(json.dumps({"archive": archive.name, "files": [f.relative_to(dest).as_posix() for f in res.files],
                                  "refused": res.refused}))
    return dest, res


# --------------------------------------------------------------------------- local folders
def scan_local(paths: Sequence[str | os.PathLike], *, extract_dir: str | os.PathLike, license: str = "unknown",
               source: str = "local", progress: bool = False) -> tuple[list[AssetRecord], list[dict[str, Any]]]:
    """Mesh files under ``paths`` (files or folders, searched recursively; archives are extracted safely
    into ``extract_dir``). Returns records in a stable order and the problems met.

    File identifiers are ``local:<root name>/<path relative to it>``, with ``!<member>`` for archive members.
    """
    records: list[AssetRecord] = []
    problems: list[dict[str, Any]] = []
    for root in map(Path, paths):
        if not root.exists():
            problems.append(_problem("scan", f"path not found: {root} (check the --local argument)", source=source))
            continue
        base = root.parent if root.is_file() else root
        candidates = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for f in tqdm(candidates, desc=f"scan {root.name}", unit="file", disable=not progress or len(candidates) < 2):
            rel = f.relative_to(base).as_posix()
            ident = f"local:{base.name}/{rel}"
            if _is_archive(f):
                try:
                    ext_root, res = _extract_cached(f, Path(extract_dir))
                except (ArchiveError, OSError) as exc:
                    problems.append(_problem("extract", str(exc), source=source, file_identifier=ident))
                    continue
                for name, reason in res.refused:
                    problems.append(_problem("extract", f"refused archive member '{name}' of {f.name}: {reason}",
                                             source=source, file_identifier=f"{ident}!{name}"))
                members = sorted(m for m in res.files if _file_type(m) in MESH_TYPES)
                items = [(m, f"{ident}!{m.relative_to(ext_root).as_posix()}", {"archive": str(f)}) for m in members]
            elif _file_type(f) in MESH_TYPES:
                items = [(f, ident, {})]
            else:
                continue  # textures, material libraries, readmes: found by their mesh files
            for path, fid, extra in items:
                try:
                    sha = file_sha256(path)
                except OSError as exc:
                    problems.append(_problem("scan", f"cannot read {path}: {exc}", source=source, file_identifier=fid))
                    continue
                records.append(AssetRecord(uid_for(sha), sha, str(Path(path).resolve()), fid, source, license,
                                           _file_type(path), {"root": str(base.resolve()), **extra}))
    return records, problems


# --------------------------------------------------------------------------- filters
@dataclass(frozen=True, kw_only=True)
class IngestFilter:
    """Which objects to keep. Empty tuples keep everything.

    ``licenses``/``exclude_licenses`` are case-insensitive shell patterns (``"cc0*"``, ``"*by-sa*"``,
    ``"mit"``); ``commercial_only`` drops non-commercial licenses (BY-NC, "NonCommercial").
    ``sha256`` keeps only those contents. ``limit`` caps the count after filtering (annotation order).
    """

    sources: tuple[str, ...] = ()
    file_types: tuple[str, ...] = ()
    licenses: tuple[str, ...] = ()
    exclude_licenses: tuple[str, ...] = ()
    commercial_only: bool = False
    sha256: tuple[str, ...] = ()
    limit: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "file_types", tuple(t.lower().lstrip(".") for t in self.file_types))
        object.__setattr__(self, "sha256", tuple(s.lower() for s in self.sha256))
        bad = [s for s in self.sha256 if not re.fullmatch(r"[0-9a-f]{64}", s)]
        if bad:
            raise ConfigError(f"not sha256 hex digests: {bad[:3]} (expected 64 hex characters)")
        if self.limit is not None and self.limit < 0:
            raise ConfigError(f"limit must be >= 0, got {self.limit}")

    def license_ok(self, name: str) -> bool:
        low = (name or "unknown").lower()
        if self.licenses and not any(fnmatch.fnmatchcase(low, p.lower()) for p in self.licenses):
            return False
        if any(fnmatch.fnmatchcase(low, p.lower()) for p in self.exclude_licenses):
            return False
        return not (self.commercial_only and is_noncommercial(low))

    def describe_license(self) -> str:
        parts = [f"licenses {list(self.licenses)}"] if self.licenses else []
        parts += [f"exclude {list(self.exclude_licenses)}"] if self.exclude_licenses else []
        parts += ["commercial use only"] if self.commercial_only else []
        return ", ".join(parts)


def _present(values: Iterable[str], n: int = 8) -> str:
    c = Counter(values)
    top = ", ".join(f"'{k}' ({v})" for k, v in c.most_common(n))
    return top + (f", ... {len(c) - n} more" if len(c) > n else "")


def _filter_columns(source: Sequence[str], file_type: Sequence[str], license: Sequence[str],
                    sha256: Sequence[str], flt: IngestFilter, what: str) -> tuple[list[bool], list[dict[str, Any]],
                                                                                   dict[str, int]]:
    """Keep-mask over parallel columns, the problems (a filter stage that keeps nothing), stage counts.

    Each predicate is evaluated once per distinct value, so this scales to millions of annotations.
    """
    n = len(source)
    keep = [True] * n
    problems: list[dict[str, Any]] = []
    counts = {"input": n}
    stages = [
        ("source", source, bool(flt.sources), lambda v: v in flt.sources, f"sources {list(flt.sources)}"),
        ("file_type", file_type, bool(flt.file_types), lambda v: (v or "").lower() in flt.file_types,
         f"file types {list(flt.file_types)}"),
        ("license", license, bool(flt.licenses or flt.exclude_licenses or flt.commercial_only), flt.license_ok,
         flt.describe_license()),
        ("sha256", sha256, bool(flt.sha256), lambda v: (v or "").lower() in set(flt.sha256), "the given sha256 list"),
    ]
    for name, column, active, pred, desc in stages:
        if active:
            before = [column[i] for i in range(n) if keep[i]]
            cache: dict[Any, bool] = {}
            for i in range(n):
                if keep[i]:
                    v = column[i]
                    if v not in cache:
                        cache[v] = bool(pred(v))
                    keep[i] = cache[v]
            after = sum(keep)
            if before and not after:
                problems.append(_problem("filter", f"the {name} filter ({desc}) matched none of the {len(before)} "
                                                   f"{what}; present: {_present(str(v) for v in before)}"))
        counts[f"after_{name}"] = sum(keep)
    return keep, problems, counts


def filter_records(records: Sequence[AssetRecord], flt: IngestFilter, what: str = "objects"
                   ) -> tuple[list[AssetRecord], list[dict[str, Any]], dict[str, int]]:
    """Apply ``flt`` (except ``limit``) to records; returns kept records, problems and stage counts."""
    keep, problems, counts = _filter_columns([r.source for r in records], [r.file_type for r in records],
                                             [r.license for r in records], [r.sha256 for r in records], flt, what)
    return [r for r, k in zip(records, keep) if k], problems, counts


def dedupe_records(records: Iterable[AssetRecord]) -> tuple[list[AssetRecord], list[dict[str, str]]]:
    """Keep the first record of each sha256; returns (unique, [{file_identifier, duplicate_of, sha256}])."""
    seen: dict[str, AssetRecord] = {}
    dups = []
    for r in records:
        first = seen.get(r.sha256)
        if first is None:
            seen[r.sha256] = r
        else:
            dups.append({"file_identifier": r.file_identifier, "duplicate_of": first.file_identifier,
                         "sha256": r.sha256})
    return list(seen.values()), dups


# --------------------------------------------------------------------------- network
def _online(sources: Iterable[str], offline: bool | None) -> dict[str, bool]:
    if offline is not None:
        return {s: not offline for s in sources}
    hosts = {s: _SOURCE_HOSTS.get(s, "huggingface.co") for s in sources}
    up = {h: net.reachable(f"https://{h}")[0] for h in set(hosts.values())}
    return {s: up[h] for s, h in hosts.items()}


@contextlib.contextmanager
def _quiet_objaverse() -> Iterator[None]:
    """The objaverse package logs every cache hit at INFO through loguru; keep it quiet while we call it."""
    try:
        from loguru import logger
    except ImportError:
        yield
        return
    logger.disable("objaverse")
    try:
        yield
    finally:
        logger.enable("objaverse")


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
