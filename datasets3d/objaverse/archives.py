"""Safe extraction of zip / tar archives (:func:`safe_extract`), cached by archive contents."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from embodied.files import file_sha256
from datasets3d.objaverse.records import ArchiveError, uid_for

_ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")


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
