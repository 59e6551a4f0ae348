"""Starting ``ai2thor.controller.Controller`` (:func:`make_controller`) and turning ai2thor's
"no usable Unity build" failures into an actionable :class:`ThorBuildUnavailableError`."""

from __future__ import annotations

import importlib
import logging
import os
import platform
import re
from typing import Any

from embodied.optional import require
from embodied.errors import EmbodiedError
from sims.thor.config import ThorConfig

logger = logging.getLogger(__name__)


class ThorBuildUnavailableError(EmbodiedError, RuntimeError):
    """AI2-THOR's Unity build is neither cached locally nor downloadable, or cannot run on this machine."""


# ---------------------------------------------------------------------------------------------------
# Controller construction and the missing-build error
# ---------------------------------------------------------------------------------------------------

# What ai2thor 5.0 raises when it cannot find, fetch or run a build (it uses bare Exception/ValueError):
#   find_build, default commit_id:  ValueError("Invalid commit_id: <sha> - no build exists for arch=... platforms=...")
#     (offline, Build.exists() swallows the DNS/connection error, so this is what a user sees)
#   find_build, branch/local:       Exception("No build exists for arch=... platforms=... and commits: ...")
#   branch lookup offline:          Exception("Unable to get commit history for branch ...")
#   build found, platform invalid:  Exception("The following builds were found, but had missing dependencies. ...")
#   CloudRendering without Vulkan:  Exception("Unity process has exited - ... Confirm that Vulkan ...")
#   download:                       requests.exceptions.RequestException, Exception("Digest mismatch for url ...")
_BUILD_FAILURES = re.compile(
    r"no build exists|unable to get commit history|missing dependencies|unity process has exited"
    r"|digest mismatch",
    re.IGNORECASE,
)
_COMMIT_IN_MESSAGE = re.compile(r"commit_id: ([0-9a-f]{7,40})|commits: ([0-9a-f]{7,40})", re.IGNORECASE)


def _is_build_failure(exc: BaseException) -> bool:
    """True when ``exc`` is one of ai2thor's "no usable Unity build" failures (see the table above)."""
    try:
        import requests

        if isinstance(exc, requests.exceptions.RequestException):
            return True
    except ImportError:  # pragma: no cover - requests is an ai2thor dependency
        pass
    return type(exc) in (Exception, ValueError, RuntimeError) and bool(_BUILD_FAILURES.search(str(exc)))


def _releases_dir() -> str:
    """Where ai2thor caches downloaded builds (``Controller.releases_dir``)."""
    return os.path.join(os.path.expanduser("~"), ".ai2thor", "releases")


def _default_platform_name(config: ThorConfig) -> str:
    """The ai2thor platform whose build ``config`` asks for (ai2thor's own choice when None)."""
    if config.platform:
        return config.platform
    return "OSXIntel64" if platform.system() == "Darwin" else "Linux64"


def _build_unavailable_error(exc: BaseException, config: ThorConfig) -> ThorBuildUnavailableError:
    """An actionable :class:`ThorBuildUnavailableError` for ai2thor's build failure ``exc``."""
    match = _COMMIT_IN_MESSAGE.search(str(exc))
    commit = (match.group(1) or match.group(2)) if match else None
    if commit is None:
        try:
            commit = importlib.import_module("ai2thor.build").COMMIT_ID
        except ImportError:  # pragma: no cover - only reached with a broken ai2thor install
            commit = None
    platform_name = _default_platform_name(config)
    build = f"thor-{platform_name}-{commit or '<commit>'}"
    releases = _releases_dir()
    url = f"http://s3-us-west-2.amazonaws.com/ai2-thor-public/builds/{build}.zip"
    parts = [
        f"AI2-THOR could not start: its Unity build {build} (commit {commit or 'unknown'}) is not in the "
        "local cache and could not be downloaded, or cannot run on this machine.",
    ]
    if "no build exists" in str(exc).lower():
        parts.append(
            "ai2thor words this as 'no build exists', but the usual cause is that the download server "
            "(s3-us-west-2.amazonaws.com) could not be reached: check DNS and internet access."
        )
    parts += [
        f"ai2thor caches builds under {releases} (~/.ai2thor/releases/{build}/).",
        f"To run offline, fetch {url} on a machine with internet access and unzip it into "
        f"{releases}/{build}/ (or there run: python -c \"import os, ai2thor.build as b, ai2thor.platform as p; "
        f"b.Build(p.{platform_name}, '{commit or '<commit>'}', False, "
        "os.path.expanduser('~/.ai2thor/releases')).download()\" and copy the folder over), or set "
        f"ThorConfig(local_executable_path=...) to the executable inside it ({releases}/{build}/{build} on Linux; "
        "ai2thor runs such a build as Linux64, with an X server).",
        "Headless machines need platform='CloudRendering' (a Vulkan-capable GPU with libvulkan1) or a "
        "running X server (e.g. `sudo ai2thor-xorg start`).",
        f"ai2thor said: {type(exc).__name__}: {exc}",
    ]
    return ThorBuildUnavailableError(" ".join(parts))


def _resolve_platform(name: str) -> Any:
    """The ``ai2thor.platform`` class for ``name``.

    ai2thor 5.0's ``Controller(platform=...)`` needs the class: a string is accepted by ``Build`` but
    crashes ``find_build``'s error path with ``AttributeError: 'str' object has no attribute 'name'``.
    """
    platforms = importlib.import_module("ai2thor.platform")
    return getattr(platforms, name)


def make_controller(config: ThorConfig) -> Any:
    """Start ``ai2thor.controller.Controller`` for ``config`` (downloads the Unity build if needed).

    Raises:
        MissingDependencyError: ai2thor is not installed.
        ThorBuildUnavailableError: the build is not cached and cannot be downloaded, or cannot run here.
    """
    require("ai2thor", extra="thor", purpose="the AI2-THOR simulator adapter")
    controller_module = importlib.import_module("ai2thor.controller")
    kwargs = config.controller_kwargs()
    if "platform" in kwargs:
        if "local_executable_path" in kwargs and config.platform != "Linux64":
            logger.warning(
                "ai2thor ignores platform=%r for a local_executable_path build and launches it as Linux64 "
                "(needs an X server); unpack the build into %s to use %s", config.platform, _releases_dir(),
                config.platform,
            )
        kwargs["platform"] = _resolve_platform(kwargs["platform"])
    logger.info("starting AI2-THOR: %s", {k: v for k, v in kwargs.items() if k != "scene"})
    try:
        return controller_module.Controller(**kwargs)
    except Exception as exc:
        if _is_build_failure(exc):
            raise _build_unavailable_error(exc, config) from exc
        raise
