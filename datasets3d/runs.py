"""What the mining and rendering runs share: atomic file writes, the config.json guard of an output
folder, and connecting to Ray.

Both runs are resumable: an output folder remembers the configuration it was made with
(``config.json``), and a rerun with a different one is refused instead of mixing outputs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from embodied.errors import ConfigError

__all__ = ["atomic_write", "check_run_config", "init_ray", "TMP_GLOB"]

TMP_GLOB = ".*.tmp-*"
"""Temporary files :func:`atomic_write` leaves behind when killed (safe to delete at start-up)."""


def atomic_write(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` via a temporary file in the same folder + fsync + rename, so the
    file is either the old one or the complete new one, even after ``kill -9``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path


def _normalized(d: Any) -> Any:
    return json.loads(json.dumps(d))  # tuples -> lists, as they are read back from the file


def check_run_config(out: str | os.PathLike, record: Mapping[str, Any], what: str) -> None:
    """Refuse an output folder made with another configuration, else (re)write its config.json.

    Args:
        out: the output folder.
        record: what config.json should hold; ``record["config"]`` is compared with the file's.
        what: how the error names the folder's contents ("pairs mined", "renders made").

    Raises:
        ConfigError: ``out/config.json`` holds a different ``config`` (the message lists the keys).
    """
    path = Path(out) / "config.json"
    cfg = _normalized(record["config"])
    if path.exists():
        try:
            old = json.loads(path.read_text()).get("config")
        except (json.JSONDecodeError, AttributeError):
            old = None  # unreadable (torn by hand): rewritten below
        if isinstance(old, dict) and old != cfg:
            diff = sorted(k for k in set(old) | set(cfg) if old.get(k) != cfg.get(k))
            raise ConfigError(f"{out} holds {what} with a different configuration (differs in: {', '.join(diff)}); "
                              "use another --out, or delete the folder to start over")
    atomic_write(path, json.dumps(dict(record), indent=1).encode())


def init_ray(purpose: str = "--ray") -> Any:
    """The ``ray`` module, connected to ``RAY_ADDRESS`` or, when it is unset, to a local instance (started
    once per process). Raises MissingDependencyError naming the ``[ray]`` extra when ray is missing."""
    from embodied._optional import require

    ray = require("ray", extra="ray", purpose=purpose)
    if not ray.is_initialized():
        ray.init(address=os.environ.get("RAY_ADDRESS"), ignore_reinit_error=True)
    return ray
