"""Files written safely: atomic replacement, content hashes and exclusive locks.

Every long job in the toolkit writes through these, so a run killed at any point (``kill -9``
included) leaves each file either as it was or complete, never torn.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

from embodied.errors import ConfigError

__all__ = ["atomic_write", "atomic_path", "file_sha256", "file_lock", "TMP_GLOB"]

TMP_GLOB = ".*.tmp-*"
"""Temporary files :func:`atomic_write` / :func:`atomic_path` leave behind when killed (safe to delete
when a run starts)."""


def atomic_path(path: str | os.PathLike) -> Path:
    """A temporary name next to ``path`` (same folder, so ``os.replace`` onto ``path`` is atomic),
    matching :data:`TMP_GLOB`. Write it, ``fsync`` it, then ``os.replace(tmp, path)``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def atomic_write(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` via a temporary file in the same folder, fsync and rename, so the
    file is either the old one or the complete new one, even after ``kill -9`` or a power loss."""
    path = Path(path)
    tmp = atomic_path(path)
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def file_sha256(path: str | os.PathLike) -> str:
    """Hex sha256 of a file's bytes (streamed in 1 MiB chunks)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@contextlib.contextmanager
def file_lock(path: str | os.PathLike, *, blocking: bool = True, what: str | None = None) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (POSIX ``flock``; on Windows no lock is taken).

    Args:
        path: the lock file (created if missing; its contents are never read).
        blocking: wait for the lock; with False, a lock held elsewhere raises at once.
        what: for ``blocking=False``, what the error says is being written ("another run is writing
            to <what>").

    Raises:
        ConfigError: ``blocking=False`` and another process holds the lock.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # Windows: no concurrent-writer protection
        yield
        return
    with open(path, "a+") as f:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError as exc:
            raise ConfigError(f"another run is writing to {what or path.parent}; wait for it to finish or use "
                              "another --out") from exc
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)
