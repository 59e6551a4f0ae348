"""Which reader a folder needs, and :func:`open_sequence`."""

from __future__ import annotations

import os
from pathlib import Path

from datasets3d.sequences import folder, scannet, tum
from datasets3d.sequences.base import RGBDSequence, SequenceError

__all__ = ["SEQUENCE_FORMATS", "sequence_format", "open_sequence"]

_READERS = {"tum": tum, "scannet": scannet, "folder": folder}
SEQUENCE_FORMATS: dict[str, str] = {name: reader.REQUIRES for name, reader in _READERS.items()}
"""Format name -> the files it needs, in the order :func:`sequence_format` tries them."""


def _folder(path: str | os.PathLike) -> Path:
    p = Path(path).expanduser()
    if not p.exists():
        raise SequenceError(f"sequence folder {p} does not exist")
    if not p.is_dir():
        raise SequenceError(f"{p} is not a folder; pass the sequence's folder")
    return p


def sequence_format(path: str | os.PathLike) -> str:
    """"tum" | "scannet" | "folder", detected from the files in ``path``; a SequenceError listing
    what each format needs when none matches."""
    p = _folder(path)
    for fmt in SEQUENCE_FORMATS:
        if _READERS[fmt].looks_like(p):
            return fmt
    have = sorted(c.name + ("/" if c.is_dir() else "") for c in p.iterdir())
    shown = ", ".join(have[:12]) + (", ..." if len(have) > 12 else "") if have else "nothing"
    needs = "; ".join(f"{k}: {v}" for k, v in SEQUENCE_FORMATS.items())
    raise SequenceError(f"{p} is not a known RGB-D sequence (it holds {shown}). Formats need: {needs}")


def open_sequence(
    path: str | os.PathLike,
    *,
    format: str | None = None,
    stride: int = 1,
    max_frames: int | None = None,
    max_depth_m: float | None = None,
    align_floor: bool | str = "auto",
) -> RGBDSequence:
    """Open a recorded RGB-D sequence; frames are decoded only when read.

    Args:
        path: the sequence folder.
        format: one of SEQUENCE_FORMATS; None detects it (:func:`sequence_format`).
        stride: keep every ``stride``-th frame.
        max_frames: keep at most this many frames (after the stride).
        max_depth_m: depth beyond this becomes NO_DEPTH (overrides a camera.json "max_depth_m").
        align_floor: True: find the floor in the depth of up to 10 frames and gravity-align the
            poses so the world is Z-up with the floor at z = 0 (needs poses); False: keep the poses;
            "auto": align only poses not known to be Z-up (TUM, and folders whose camera.json says
            ``"z_up": false``). When no floor is found the poses are kept and a warning logged.
    """
    p = _folder(path)
    if format is None:
        format = sequence_format(p)
    elif format not in SEQUENCE_FORMATS:
        raise SequenceError(f"unknown sequence format {format!r}; choose from {', '.join(SEQUENCE_FORMATS)}")
    return _READERS[format].read(p, stride=stride, max_frames=max_frames, max_depth_m=max_depth_m,
                                align_floor=align_floor)
