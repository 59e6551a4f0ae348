"""The native (C) frame renderer: built once per machine from ``_native_render.c`` against the Embree
4 library inside the embreex wheel, loaded with ctypes (calls release the GIL, so row bands render
in parallel threads). Anything missing (no C compiler, a different embreex layout) logs why and
returns None: the numpy renderer is then used, with identical output.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import subprocess
import sys
import tempfile
from functools import lru_cache
from pathlib import Path

log = logging.getLogger(__name__)

__all__ = ["load_native", "cache_dir"]

_SRC = Path(__file__).with_name("_native_render.c")


def cache_dir() -> Path:
    """Where compiled helpers live: $EMBODIED_CACHE/native, else ~/.cache/embodied/native."""
    base = os.environ.get("EMBODIED_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "embodied")
    return Path(base) / "native"


def _embree_library() -> Path | None:
    import importlib.util

    spec = importlib.util.find_spec("embreex")
    if spec is None or not spec.submodule_search_locations:
        return None
    libs = Path(list(spec.submodule_search_locations)[0]).parent / "embreex.libs"
    found = sorted(libs.glob("libembree4*.so*"))
    return found[0] if found else None


@lru_cache(maxsize=1)
def load_native() -> ctypes.CDLL | None:
    """The compiled renderer, or None (with the reason logged) when it cannot be built here."""
    if os.environ.get("EMBODIED_NATIVE", "1") == "0":
        return None
    if not sys.platform.startswith("linux"):
        log.info("native renderer: only built on Linux; using numpy")
        return None
    embree = _embree_library()
    if embree is None:
        log.info("native renderer: embreex's bundled libembree4 not found; using numpy")
        return None
    flags = ["-O3", "-ffp-contract=off"]  # no fused multiply-adds: the same float results as numpy on every CPU
    key = hashlib.sha256(_SRC.read_bytes() + str(embree).encode() + " ".join(flags).encode()).hexdigest()[:16]
    out = cache_dir() / f"libembodied_render-{key}.so"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=out.parent, suffix=".so")
        os.close(fd)
        cmd = [os.environ.get("CC", "gcc"), *flags, "-shared", "-fPIC", "-o", tmp, str(_SRC),
               f"-L{embree.parent}", f"-l:{embree.name}", f"-Wl,-rpath,{embree.parent}", "-lm"]
        try:
            subprocess.run(cmd, check=True, capture_output=True, timeout=120)
            os.replace(tmp, out)
        except (OSError, subprocess.SubprocessError) as exc:
            err = getattr(exc, "stderr", b"") or b""
            log.warning("native renderer: build failed (%s %s); using numpy", exc, err.decode(errors="replace")[:300])
            Path(tmp).unlink(missing_ok=True)
            return None
    try:
        lib = ctypes.CDLL(str(out))
    except OSError as exc:
        log.warning("native renderer: cannot load %s (%s); using numpy", out, exc)
        return None
    P, D, I, F = ctypes.c_void_p, ctypes.c_double, ctypes.c_int, ctypes.c_float
    lib.fc_build.restype = P
    lib.fc_build.argtypes = [P, ctypes.c_long, I]
    lib.fc_render.restype = None
    lib.fc_render.argtypes = [P, P, P, D, D, D, D, I, I, I, I, F, P, P, P, P, I, P, P, I, P, P, P, P, P, P, P, P, P, P]
    lib.fc_release.restype = None
    lib.fc_release.argtypes = [P]
    return lib
