"""Whether the sources' hosts can be reached, and quieting the ``objaverse`` package's logging."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator

from embodied import net

_SOURCE_HOSTS = {"github": "github.com", "thingiverse": "www.thingiverse.com", "smithsonian": "3d-api.si.edu",
                 "sketchfab": "huggingface.co", "v1": "huggingface.co"}


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
