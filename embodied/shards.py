"""Deterministic, resumable WebDataset tar shards.

A sample is a key plus named files; it is stored as tar members ``<key>.<ext>`` one after another, the
layout ``webdataset.WebDataset`` reads (``<key>.0000.jpg`` decodes as an image, ``<key>.json`` as
JSON, ``<key>.npy`` as an array). Shards are ``<prefix>-000000.tar``, ``<prefix>-000001.tar``, ...;
a new one starts when the current one holds ``max_samples`` samples (or would pass ``max_bytes``).

Members carry no time, user or permission noise (mtime 0, uid/gid 0, owner "embodied", mode 0644),
and a finished shard ends like ``tarfile`` ends one (two zero blocks, padded to 10 KiB), so the same
samples in the same order give byte-identical shards. This is the one tar writer of the toolkit:
CLIP datasets (:mod:`embodied.clip.shards`), mined pairs and rendered views (:mod:`datasets3d`).

Resuming: after writing a batch of samples, call :meth:`ShardWriter.sync` and store
:attr:`ShardWriter.position` with your own record of the finished work. After a crash, a writer
created with ``resume=<that position>`` cuts the current shard back to it and removes later shards,
so samples written after the last recorded position are dropped and written again, never twice.

>>> w = ShardWriter("out/shards", prefix="pairs", max_samples=1000)
>>> w.write("seq__000001", {"0000.jpg": jpg0, "0001.jpg": jpg1, "json": b"{...}"})
>>> w.sync(); pos = w.position          # record pos.to_dict() atomically with your bookkeeping
>>> w.close()                           # -> [Path('out/shards/pairs-000000.tar')]
"""

from __future__ import annotations

import io
import os
import re
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from embodied.errors import EmbodiedError

__all__ = ["ShardError", "ShardPosition", "ShardWriter", "shard_name"]

_KEY = re.compile(r"^[A-Za-z0-9_\-]+$")
_EXT = re.compile(r"^[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+)*$")
_BLOCK = tarfile.BLOCKSIZE
_END = b"\0" * (2 * _BLOCK)
_OWNER = "embodied"


class ShardError(EmbodiedError, ValueError):
    """A shard folder does not match the recorded position (edited or truncated by hand)."""


def shard_name(prefix: str, index: int) -> str:
    """File name of shard ``index``: ``<prefix>-000123.tar``."""
    return f"{prefix}-{index:06d}.tar"


@dataclass(frozen=True)
class ShardPosition:
    """Where the next sample goes: shard ``index``, byte ``offset`` in it, ``samples`` already in it."""

    index: int = 0
    offset: int = 0
    samples: int = 0

    def to_dict(self) -> dict[str, int]:
        return {"index": self.index, "offset": self.offset, "samples": self.samples}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ShardPosition:
        return cls(int(d["index"]), int(d["offset"]), int(d["samples"]))


class ShardWriter:
    """Write samples into numbered tar shards (see the module docstring).

    Args:
        directory: folder of the shards (created).
        prefix: shard file prefix.
        max_samples: samples per shard.
        max_bytes: optional soft size limit per shard (a shard always takes at least one sample).
        resume: continue from this position (from an earlier writer's :attr:`position`); None starts
            afresh and removes any ``<prefix>-*.tar`` already in ``directory``.
    """

    def __init__(self, directory: str | os.PathLike, prefix: str = "shard", *, max_samples: int = 1000,
                 max_bytes: int | None = None, resume: ShardPosition | None = None) -> None:
        if not _KEY.match(prefix):
            raise ValueError(f"shard prefix must be letters, digits, '_' or '-', got {prefix!r}")
        if max_samples < 1:
            raise ValueError("max_samples must be >= 1")
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.prefix = prefix
        self.max_samples = max_samples
        self.max_bytes = max_bytes
        self._pos = resume or ShardPosition()
        self._file: io.BufferedRandom | None = None
        self._restore()

    # ------------------------------------------------------------------ public
    @property
    def position(self) -> ShardPosition:
        """Where the next sample will be written (store it once :meth:`sync` returned)."""
        return self._pos

    def path(self, index: int) -> Path:
        return self.directory / shard_name(self.prefix, index)

    @property
    def shards(self) -> list[Path]:
        """Shard files written so far (the current one included when it holds samples)."""
        n = self._pos.index + (1 if self._pos.samples else 0)
        return [self.path(i) for i in range(n)]

    def write(self, key: str, files: Mapping[str, bytes]) -> str:
        """Append one sample; returns the shard file name it went to."""
        if not _KEY.match(key):
            raise ValueError(f"sample key must be letters, digits, '_' or '-' (no dots), got {key!r}")
        if not files:
            raise ValueError(f"sample {key!r} has no files")
        blob = b"".join(self._member(f"{key}.{ext}", data) for ext, data in files.items())
        pos = self._pos
        full = pos.samples >= self.max_samples or (
            self.max_bytes is not None and pos.samples and pos.offset + len(blob) > self.max_bytes)
        if full:
            self._finish_current()
            pos = self._pos = ShardPosition(pos.index + 1, 0, 0)
        f = self._open()
        f.seek(pos.offset)
        f.write(blob)
        self._pos = ShardPosition(pos.index, pos.offset + len(blob), pos.samples + 1)
        return shard_name(self.prefix, pos.index)

    def sync(self) -> None:
        """Flush and fsync the current shard (call before recording :attr:`position`)."""
        if self._file is not None:
            self._file.flush()
            os.fsync(self._file.fileno())

    def close(self) -> list[Path]:
        """End the current shard (tar end marker) and return all shard paths."""
        if self._pos.samples:
            self._finish_current()
        elif self._file is not None:
            self._file.close()
            self._file = None
        return self.shards

    def __enter__(self) -> ShardWriter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ------------------------------------------------------------------ internals
    @staticmethod
    def _member(name: str, data: bytes) -> bytes:
        ext = name.split(".", 1)[1]
        if not _EXT.match(ext):
            raise ValueError(f"file extension must be dot-separated names without '/', got {ext!r}")
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.mtime = 0
        info.mode = 0o644
        info.uid = info.gid = 0
        info.uname = info.gname = _OWNER
        header = info.tobuf(format=tarfile.PAX_FORMAT, encoding="utf-8", errors="strict")
        pad = (-len(data)) % _BLOCK
        return header + bytes(data) + b"\0" * pad

    def _open(self) -> io.BufferedRandom:
        if self._file is None:
            path = self.path(self._pos.index)
            self._file = open(path, "r+b" if path.exists() else "w+b")  # noqa: SIM115 - kept open across writes
        return self._file

    def _finish_current(self) -> None:
        f = self._open()
        f.seek(self._pos.offset)
        end = self._pos.offset + len(_END)
        f.write(_END + b"\0" * ((-end) % tarfile.RECORDSIZE))  # as tarfile.close() pads a tar
        f.truncate()
        f.flush()
        os.fsync(f.fileno())
        f.close()
        self._file = None

    def _restore(self) -> None:
        """Make the folder match ``self._pos``: later shards removed, the current one cut back."""
        pos = self._pos
        for p in self.directory.glob(f"{self.prefix}-*.tar"):
            m = re.fullmatch(rf"{re.escape(self.prefix)}-(\d+)\.tar", p.name)
            if m and int(m.group(1)) > pos.index:
                p.unlink()
        for i in range(pos.index):
            if not self.path(i).exists():
                raise ShardError(f"shard {self.path(i)} is missing but the recorded position is shard {pos.index}; "
                                 "the output folder was changed by hand: delete it and run again")
        cur = self.path(pos.index)
        if cur.exists():
            if cur.stat().st_size < pos.offset:
                raise ShardError(f"shard {cur} is shorter ({cur.stat().st_size} bytes) than recorded ({pos.offset}); "
                                 "delete the output folder and run again")
            with open(cur, "r+b") as f:
                f.truncate(pos.offset)
            if pos.offset == 0:
                cur.unlink()
        elif pos.offset:
            raise ShardError(f"shard {cur} is missing but {pos.samples} samples were recorded in it; "
                             "delete the output folder and run again")
