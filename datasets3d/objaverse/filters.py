"""Which objects to keep (:class:`IngestFilter`, :func:`filter_records`) and dedup by contents
(:func:`dedupe_records`)."""

from __future__ import annotations

import fnmatch
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from embodied.errors import ConfigError
from datasets3d.objaverse.records import AssetRecord, _problem, is_noncommercial


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
