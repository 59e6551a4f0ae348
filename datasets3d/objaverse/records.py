"""What an ingested object is (:class:`AssetRecord`, a line of manifest.jsonl), its identity
(:func:`uid_for`), license checks, the errors of ingestion and the problem rows it records."""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from embodied.errors import ConfigError, EmbodiedError

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
