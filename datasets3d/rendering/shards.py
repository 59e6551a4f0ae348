"""Pack finished object folders into WebDataset tar shards (one sample per view), reproducibly.

Sample key ``<uid>_<NNN>`` with members ``.png`` (RGBA), ``.depth.png`` (uint16), ``.normal.png``,
``.mask.png``, ``.w2c.npy`` ((3, 4) OpenCV world-to-camera) and ``.json`` (K, both matrix
conventions, the object's identity and license). Objects are assigned to shards in uid order,
``objects_per_shard`` each; the tar members come from :class:`embodied.shards.ShardWriter` (no time
stamps), so the same objects give the same bytes. Shards are rebuilt only when their object list
changed (``index.json`` records it), each in a temporary folder and then renamed into place: a killed
run never leaves a half shard under a shard name.

Read them with ``webdataset.WebDataset(sorted(glob("shards/*.tar"))).decode("rgba8")``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from embodied.files import TMP_GLOB, atomic_write

__all__ = ["write_shards", "SHARD_PATTERN"]

SHARD_PATTERN = "shard-{:06d}.tar"


def _object_samples(obj_dir: Path) -> list[tuple[str, dict[str, bytes]]]:
    meta = json.loads((obj_dir / "metadata.json").read_text())
    uid = meta["uid"]
    common = {k: meta.get(k) for k in ("uid", "sha256", "file_identifier", "source", "license")}
    out = []
    for view in meta["views"]:
        f = view["files"]
        info = dict(common, view=view["index"], K=meta["camera"]["K"], width=meta["camera"]["width"],
                    height=meta["camera"]["height"], w2c_opencv=view["w2c_opencv"], w2c_blender=view["w2c_blender"],
                    depth_units_per_m=meta["depth"]["units_per_m"], normal_frame=meta["normals"]["frame"])
        members = {"png": (obj_dir / f["rgba"]).read_bytes(), "depth.png": (obj_dir / f["depth"]).read_bytes(),
                   "normal.png": (obj_dir / f["normal"]).read_bytes(), "mask.png": (obj_dir / f["mask"]).read_bytes(),
                   "w2c.npy": (obj_dir / f["w2c"]).read_bytes(),
                   "json": json.dumps(info, sort_keys=True).encode()}
        out.append((f"{uid}_{view['index']:03d}", members))
    return out


def _write_one(path: Path, obj_dirs: Sequence[Path]) -> dict[str, Any]:
    """One shard through :class:`embodied.shards.ShardWriter` (its deterministic tar members), written
    in a private temporary folder and renamed into place."""
    from embodied.shards import ShardWriter

    tmp_dir = path.with_name(f".tmp-{path.stem}-{os.getpid()}")
    shutil.rmtree(tmp_dir, ignore_errors=True)
    samples = 0
    with ShardWriter(tmp_dir, prefix="shard", max_samples=1 << 62) as writer:
        for d in obj_dirs:
            for key, members in _object_samples(d):
                writer.write(key, members)
                samples += 1
    written = writer.shards[0]
    digest = hashlib.sha256(written.read_bytes()).hexdigest()
    os.replace(written, path)
    shutil.rmtree(tmp_dir, ignore_errors=True)
    return {"samples": samples, "bytes": path.stat().st_size, "sha256": digest}


def write_shards(objects_dir: str | os.PathLike, uids: Sequence[str], shard_dir: str | os.PathLike,
                 objects_per_shard: int = 100) -> list[Path]:
    """Write (or bring up to date) the shards of the objects ``uids`` (folders in ``objects_dir``).

    Returns the shard paths in order. Shards whose object list is unchanged since the last call are
    kept as they are; stale ones beyond the new count are deleted.
    """
    if objects_per_shard < 1:
        raise ValueError(f"objects_per_shard must be >= 1, got {objects_per_shard}")
    objects_dir, shard_dir = Path(objects_dir), Path(shard_dir)
    shard_dir.mkdir(parents=True, exist_ok=True)
    for stale in shard_dir.glob(".tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)
    for stale in shard_dir.glob(TMP_GLOB):  # index.json's temporary file, from a killed run
        stale.unlink(missing_ok=True)
    index_path = shard_dir / "index.json"
    try:
        old = {s["name"]: s for s in json.loads(index_path.read_text())["shards"]}
    except (OSError, ValueError, KeyError):
        old = {}
    order = sorted(uids)
    groups = [order[i:i + objects_per_shard] for i in range(0, len(order), objects_per_shard)]
    entries, paths = [], []
    for i, group in enumerate(groups):
        name = SHARD_PATTERN.format(i)
        path = shard_dir / name
        prev = old.get(name)
        if prev and prev.get("uids") == group and path.is_file() and path.stat().st_size == prev.get("bytes"):
            entry = prev
        else:
            entry = {"name": name, "uids": group, **_write_one(path, [objects_dir / u for u in group])}
        entries.append(entry)
        paths.append(path)
    for extra in shard_dir.glob("shard-*.tar"):
        if extra not in paths:
            extra.unlink()
    atomic_write(index_path, json.dumps({"objects_per_shard": objects_per_shard, "shards": entries}, indent=1).encode())
    return paths
