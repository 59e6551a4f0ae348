"""Helpers for frozen dataclass configs: strict ``from_dict`` and plain-JSON ``to_dict``."""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Mapping
from typing import Any, TypeVar

from embodied.errors import ConfigError

__all__ = ["config_from_dict", "config_to_dict"]

C = TypeVar("C")


def config_from_dict(cls: type[C], data: Mapping[str, Any]) -> C:
    """Build dataclass ``cls`` from ``data``; unknown keys raise ConfigError with the closest field.

    The keys ``type`` and ``version`` (written by :func:`config_to_dict`) are accepted and ignored.
    """
    names = {f.name for f in dataclasses.fields(cls)}
    for key in data:
        if key in names or key in ("type", "version"):
            continue
        close = difflib.get_close_matches(key, sorted(names), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise ConfigError(f"unknown {cls.__name__} key '{key}'{hint} (valid keys: {', '.join(sorted(names))})")
    try:
        return cls(**{k: v for k, v in data.items() if k in names})
    except TypeError as exc:
        raise ConfigError(f"invalid {cls.__name__}: {exc}") from exc


def config_to_dict(cfg: Any, *, version: int = 1) -> dict[str, Any]:
    """Plain-JSON dict of a dataclass config, with ``type`` and ``version`` keys first."""
    return {"type": type(cfg).__name__, "version": version, **dataclasses.asdict(cfg)}
