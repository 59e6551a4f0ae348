"""Local folders of mesh files (and archives of them) as a source of objects (:func:`scan_local`)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from embodied.files import file_sha256
from datasets3d.objaverse.archives import _extract_cached, _is_archive
from datasets3d.objaverse.records import ArchiveError, AssetRecord, _file_type, _problem, uid_for

MESH_TYPES = frozenset({"glb", "gltf", "obj", "ply", "stl", "off", "fbx", "dae", "usdz", "usd", "usda", "abc",
                        "blend", "3mf"})
"""File types taken as 3D objects when scanning folders (Objaverse-XL's list plus OFF and 3MF)."""


# --------------------------------------------------------------------------- local folders
def scan_local(paths: Sequence[str | os.PathLike], *, extract_dir: str | os.PathLike, license: str = "unknown",
               source: str = "local", progress: bool = False) -> tuple[list[AssetRecord], list[dict[str, Any]]]:
    """Mesh files under ``paths`` (files or folders, searched recursively; archives are extracted safely
    into ``extract_dir``). Returns records in a stable order and the problems met.

    File identifiers are ``local:<root name>/<path relative to it>``, with ``!<member>`` for archive members.
    """
    records: list[AssetRecord] = []
    problems: list[dict[str, Any]] = []
    for root in map(Path, paths):
        if not root.exists():
            problems.append(_problem("scan", f"path not found: {root} (check the --local argument)", source=source))
            continue
        base = root.parent if root.is_file() else root
        candidates = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for f in tqdm(candidates, desc=f"scan {root.name}", unit="file", disable=not progress or len(candidates) < 2):
            rel = f.relative_to(base).as_posix()
            ident = f"local:{base.name}/{rel}"
            if _is_archive(f):
                try:
                    ext_root, res = _extract_cached(f, Path(extract_dir))
                except (ArchiveError, OSError) as exc:
                    problems.append(_problem("extract", str(exc), source=source, file_identifier=ident))
                    continue
                for name, reason in res.refused:
                    problems.append(_problem("extract", f"refused archive member '{name}' of {f.name}: {reason}",
                                             source=source, file_identifier=f"{ident}!{name}"))
                members = sorted(m for m in res.files if _file_type(m) in MESH_TYPES)
                items = [(m, f"{ident}!{m.relative_to(ext_root).as_posix()}", {"archive": str(f)}) for m in members]
            elif _file_type(f) in MESH_TYPES:
                items = [(f, ident, {})]
            else:
                continue  # textures, material libraries, readmes: found by their mesh files
            for path, fid, extra in items:
                try:
                    sha = file_sha256(path)
                except OSError as exc:
                    problems.append(_problem("scan", f"cannot read {path}: {exc}", source=source, file_identifier=fid))
                    continue
                records.append(AssetRecord(uid_for(sha), sha, str(Path(path).resolve()), fid, source, license,
                                           _file_type(path), {"root": str(base.resolve()), **extra}))
    return records, problems
