"""Helpers for frozen dataclass configs: strict ``from_dict``, plain-JSON ``to_dict`` and
``KEY=VALUE`` command-line overrides."""

from __future__ import annotations

import dataclasses
import difflib
import json
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from embodied.errors import ConfigError

__all__ = ["config_from_dict", "config_to_dict", "parse_overrides"]

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


def parse_overrides(items: Iterable[str], option: str = "--set") -> dict[str, Any]:
    """``("a=1", "b=true", "c=patch")`` -> ``{"a": 1, "b": True, "c": "patch"}``: values are JSON,
    else plain strings. ``option`` names the command-line option in the error for a bad item."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{option} expects KEY=VALUE, got '{item}'")
        try:
            out[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[key.strip()] = value
    return out
