"""Image-caption datasets as WebDataset shards (the format OpenCLIP trains from) with a JSON index.

A dataset is a folder::

    index.json              what is inside: shards, counts, scenes used, categories, generator settings
    <prefix>-000000.tar     samples {key}.jpg (RGB), {key}.txt (caption), {key}.json (metadata),
    <prefix>-000001.tar     and optionally {key}.seg.png (16-bit instance ids + 1; 0 = none)

Shards come from the toolkit's one tar writer (:mod:`embodied.shards`); the index is written last
and atomically, so a folder with an ``index.json`` is always complete. ``webdataset.WebDataset("<dir>/<prefix>-{000000..000001}.tar")``
reads the shards; :func:`iter_samples` reads them without torch data loaders.

>>> with ClipShardWriter(out_dir, prefix="train") as w:
...     w.write("house-000001-o0003-v0", rgb, "a photo of a red chair.", {"kind": "crop", "category": "chair"})
>>> write_index(out_dir, w.shards, {"split": "train", "scenes": ["house-000001"]})
>>> for s in iter_samples(out_dir): ...
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import tarfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from embodied.errors import EmbodiedError
from embodied.files import atomic_write, file_sha256
from embodied.images import decode_image, encode_jpeg
from embodied.shards import ShardWriter

__all__ = ["INDEX_NAME", "SHARD_FORMAT", "ShardError", "ShardInfo", "ClipSample", "ClipShardWriter", "write_index",
           "read_index", "iter_samples", "load_samples", "index_fingerprint", "check_held_out", "encode_seg", "decode_seg"]

INDEX_NAME = "index.json"
SHARD_FORMAT = "embodied-clip-shards/1"
_KEY_RE = re.compile(r"^[A-Za-z0-9_\-]+$")


class ShardError(EmbodiedError, ValueError):
    """A shard folder is missing, empty, corrupt, or not what the caller needs."""


@dataclass(frozen=True)
class ShardInfo:
    """One written tar file: its file name (relative to the dataset folder), sample count and sha256."""

    name: str
    count: int
    sha256: str


@dataclass(frozen=True)
class ClipSample:
    """One sample. ``image`` (H, W, 3) uint8; ``seg`` (H, W) int32 instance ids (-1 = none) or None."""

    key: str
    image: np.ndarray
    caption: str
    meta: dict[str, Any]
    seg: np.ndarray | None = None


def encode_seg(instance: np.ndarray) -> bytes:
    """(H, W) int instance ids (-1 = none, ids < 65535) -> 16-bit PNG of ids + 1."""
    from PIL import Image

    ids = np.asarray(instance)
    if ids.ndim != 2 or ids.min(initial=0) < -1 or ids.max(initial=0) >= 65535:
        raise ValueError(f"instance ids must be (H, W) in [-1, 65534], got shape {ids.shape}")
    buf = io.BytesIO()
    Image.fromarray((ids.astype(np.int64) + 1).astype(np.uint16)).save(buf, format="PNG")
    return buf.getvalue()


def decode_seg(data: bytes) -> np.ndarray:
    """Inverse of :func:`encode_seg`: (H, W) int32 ids, -1 = none."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im, dtype=np.int32) - 1


class ClipShardWriter:
    """Write image-caption samples into ``<prefix>-NNNNNN.tar`` shards of at most ``max_count``
    samples each, through :class:`embodied.shards.ShardWriter` (deterministic members: the same
    samples give byte-identical shards). :attr:`shards` lists them after :meth:`close`.
    """

    def __init__(self, directory: str | os.PathLike, prefix: str = "data", max_count: int = 2000,
                 jpeg_quality: int = 90) -> None:
        if not _KEY_RE.match(prefix):
            raise ShardError(f"shard prefix '{prefix}' may only hold letters, digits, '-' and '_'")
        if max_count < 1:
            raise ShardError(f"max_count must be >= 1, got {max_count}")
        self.directory = Path(directory)
        self.prefix, self.max_count, self.jpeg_quality = prefix, max_count, jpeg_quality
        self.shards: list[ShardInfo] = []
        self._writer = ShardWriter(self.directory, prefix, max_samples=max_count)
        self._counts: dict[str, int] = {}
        self._keys: set[str] = set()

    def write(self, key: str, image: np.ndarray, caption: str, meta: Mapping[str, Any],
              seg: np.ndarray | None = None) -> None:
        """Add one sample. ``key`` must be unique and hold only letters, digits, '-' and '_' (no dots:
        WebDataset splits the key from the extension at the first dot)."""
        if not _KEY_RE.match(key):
            raise ShardError(f"sample key '{key}' may only hold letters, digits, '-' and '_'")
        if key in self._keys:
            raise ShardError(f"duplicate sample key '{key}'")
        if not caption or not caption.strip():
            raise ShardError(f"sample '{key}' has an empty caption")
        self._keys.add(key)
        files = {"jpg": encode_jpeg(image, self.jpeg_quality), "txt": caption.encode(),
                 "json": json.dumps(dict(meta), sort_keys=True).encode()}
        if seg is not None:
            files["seg.png"] = encode_seg(seg)
        name = self._writer.write(key, files)
        self._counts[name] = self._counts.get(name, 0) + 1

    def close(self) -> list[ShardInfo]:
        """Finish the last shard; returns all shards written (name, sample count, sha256)."""
        paths = self._writer.close()
        self.shards = [ShardInfo(p.name, self._counts[p.name], file_sha256(p)) for p in paths]
        return self.shards

    def abort(self) -> None:
        """Remove the shards written so far (on error: a dataset without its index is not one)."""
        for p in self._writer.close():
            p.unlink(missing_ok=True)

    def __enter__(self) -> ClipShardWriter:
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def index_fingerprint(shards: list[ShardInfo] | list[dict[str, Any]]) -> str:
    """sha256 over the shards' names, counts and hashes: identifies the data a model was trained on."""
    h = hashlib.sha256()
    for s in shards:
        d = s if isinstance(s, Mapping) else s.__dict__
        h.update(f"{d['name']}:{d['count']}:{d['sha256']}\n".encode())
    return h.hexdigest()


def write_index(directory: str | os.PathLike, shards: list[ShardInfo], info: Mapping[str, Any]) -> Path:
    """Write ``index.json`` (atomically) listing ``shards`` plus ``info`` (split, scenes, categories,
    counts, generator settings...). Raises ShardError when no shard holds a sample."""
    d = Path(directory)
    total = sum(s.count for s in shards)
    if total == 0:
        raise ShardError(f"no samples were written to {d}; nothing to index (were any scenes rendered?)")
    index = {"format": SHARD_FORMAT, **dict(info), "total": total,
             "shards": [s.__dict__ for s in shards], "fingerprint": index_fingerprint(shards),
             "created_unix_s": round(time.time(), 3)}
    return atomic_write(d / INDEX_NAME, json.dumps(index, indent=1).encode())


def read_index(directory: str | os.PathLike) -> dict[str, Any]:
    """The index of a dataset folder (validated: format, shard files present, at least one sample)."""
    d = Path(directory)
    path = d / INDEX_NAME
    if not path.is_file():
        hint = " (it holds .tar files but no index.json: an interrupted write?)" if d.is_dir() and any(
            d.glob("*.tar")) else ""
        raise ShardError(f"{d} is not a CLIP dataset: {path} is missing{hint}. Write one with "
                         "`embodied clip dataset --out DIR`.")
    try:
        index = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ShardError(f"{path} is not valid JSON ({exc}); delete the folder and write the dataset again") from exc
    if index.get("format") != SHARD_FORMAT:
        raise ShardError(f"{path} has format {index.get('format')!r}, expected {SHARD_FORMAT!r}")
    if not index.get("shards") or int(index.get("total", 0)) == 0:
        raise ShardError(f"{d} holds no samples (empty shards); write the dataset again with more scenes")
    missing = [s["name"] for s in index["shards"] if not (d / s["name"]).is_file()]
    if missing:
        raise ShardError(f"{d} lacks shard files {missing[:3]} listed in its index; copy them or write it again")
    return index


def iter_samples(directory: str | os.PathLike, kinds: tuple[str, ...] | None = None,
                 with_seg: bool = True) -> Iterator[ClipSample]:
    """Samples of a dataset folder in index order; ``kinds`` filters on ``meta["kind"]``.

    Raises:
        ShardError: no index, a shard that holds no samples, or a sample without image or caption.
    """
    d = Path(directory)
    index = read_index(d)
    for shard in index["shards"]:
        path = d / shard["name"]
        groups: dict[str, dict[str, bytes]] = {}
        order: list[str] = []
        try:
            with tarfile.open(path, "r") as tar:
                for m in tar:
                    if not m.isfile():
                        continue
                    key, _, ext = Path(m.name).name.partition(".")
                    if key not in groups:
                        groups[key] = {}
                        order.append(key)
                    groups[key][ext] = tar.extractfile(m).read()
        except tarfile.TarError as exc:
            raise ShardError(f"shard {path} is corrupt ({exc}); write the dataset again") from exc
        if not order:
            raise ShardError(f"shard {path} holds no samples (empty shard); write the dataset again")
        for key in order:
            g = groups[key]
            if "jpg" not in g or "txt" not in g:
                raise ShardError(f"sample '{key}' in {path} lacks its {'jpg' if 'jpg' not in g else 'txt'} file")
            meta = json.loads(g["json"]) if "json" in g else {}
            if kinds is not None and meta.get("kind") not in kinds:
                continue
            seg = decode_seg(g["seg.png"]) if (with_seg and "seg.png" in g) else None
            yield ClipSample(key, decode_image(g["jpg"]), g["txt"].decode(), meta, seg)


def load_samples(directory: str | os.PathLike, kinds: tuple[str, ...] | None = None,
                 with_seg: bool = True) -> list[ClipSample]:
    """All samples of :func:`iter_samples` in a list; ShardError when none match ``kinds``."""
    out = list(iter_samples(directory, kinds, with_seg))
    if not out:
        what = f" of kind {', '.join(kinds)}" if kinds else ""
        raise ShardError(f"{directory} holds no samples{what}")
    return out



def check_held_out(train_scenes: list[str] | set[str], eval_index: Mapping[str, Any], what: str = "training data") -> None:
    """Raise ShardError when the evaluation dataset ``eval_index`` shares scenes with ``train_scenes``
    (the scene ids a model was trained on, e.g. from its model card or its training index)."""
    shared = sorted(set(train_scenes) & set(eval_index.get("scenes", [])))
    if shared:
        raise ShardError(f"evaluation data shares {len(shared)} scenes with the {what} ({', '.join(shared[:3])}"
                         f"{'...' if len(shared) > 3 else ''}); evaluate on held-out houses (--split val or test)")
