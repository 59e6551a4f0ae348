"""Is the network there? One bounded probe, used before any download so that offline runs fail (or
fall back) within seconds instead of hanging in DNS or TCP timeouts.

Tests replace :func:`reachable` (``monkeypatch.setattr(embodied.net, "reachable", ...)``); callers
therefore call it as ``net.reachable(...)``.
"""

from __future__ import annotations

import os
import threading
import urllib.error
import urllib.request

__all__ = ["reachable"]


def reachable(url: str, timeout_s: float = 3.0) -> tuple[bool, str]:
    """Whether ``url``'s server answers at all within about ``timeout_s`` (a HEAD request in a thread,
    so a hanging DNS lookup is bounded too). Any HTTP answer, errors included, counts as reachable.

    Returns:
        (reachable, reason): reason is "ok" or why not (the exception, or ``HF_HUB_OFFLINE``).
    """
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes") and "huggingface" in url:
        return False, "HF_HUB_OFFLINE is set"
    result: list[tuple[bool, str]] = []

    def probe() -> None:
        try:
            urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=timeout_s).close()
            result.append((True, "ok"))
        except urllib.error.HTTPError:  # the server answered: the network works
            result.append((True, "ok"))
        except Exception as exc:  # noqa: BLE001 - any failure means unreachable
            result.append((False, f"{type(exc).__name__}: {exc}"))

    th = threading.Thread(target=probe, daemon=True)
    th.start()
    th.join(timeout_s + 0.5)
    return result[0] if result else (False, f"no answer within {timeout_s:.1f} s")
