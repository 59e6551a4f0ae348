"""Objaverse-XL / 1.0 ingestion from a hand-seeded cache with the network blocked, local folders,
filters, sha256 verification and dedup, and safe archive extraction."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import socket
import tarfile
import zipfile
from pathlib import Path

import pytest
import trimesh
from click.testing import CliRunner

from datasets3d import objaverse as ox
from datasets3d.objaverse import (
    ArchiveError,
    IngestFilter,
    ObjaverseCacheError,
    ingest,
    is_noncommercial,
    read_manifest,
    safe_extract,
    scan_local,
)
from embodied.cli.data_assets import ingest as ingest_cmd
from embodied import net
from embodied.errors import ConfigError
from embodied.files import file_sha256


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a connection fails the test."""
    def refuse(*a, **k):
        raise AssertionError(f"network access attempted: {a[:1]}")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(net, "reachable", lambda url, timeout_s=3.0: (False, "offline (test)"))


def _bytes(mesh: trimesh.Trimesh, ext: str) -> bytes:
    return mesh.export(file_type=ext)


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name), data)
    return path


SK_A, SK_B = "0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210"
GH_CHAIR = "https://github.com/org1/repo1/blob/abc123/models/chair.obj"
GH_COPY = "https://github.com/org1/repo1/blob/abc123/models/box_copy.glb"
GH_CUP = "https://github.com/org2/repo2/blob/def456/meshes/cup.ply"
TH_OK = "https://www.thingiverse.com/thing:11/files?fileId=22"
TH_MISSING = "https://www.thingiverse.com/thing:33/files?fileId=44"
SM = "https://3d-api.si.edu/content/document/3d_package:abc/model.glb"


@pytest.fixture
def xl_cache(tmp_path):
    """An Objaverse-XL download dir as ``objaverse.xl`` leaves it: 4 annotation parquets, cached objects."""
    pd = pytest.importorskip("pandas")
    pytest.importorskip("objaverse")
    from objaverse.utils import get_uid_from_str

    root = tmp_path / "objaverse"
    box, ball = _bytes(trimesh.creation.box(), "glb"), _bytes(trimesh.creation.icosphere(1), "glb")
    stl = _bytes(trimesh.creation.cylinder(0.3, 1.0), "stl")
    chair = trimesh.creation.box(extents=[0.5, 0.5, 1.0]).export(file_type="obj")
    cup = _bytes(trimesh.creation.annulus(0.2, 0.3, 0.4), "ply")
    files = {
        f"hf-objaverse-v1/glbs/000-001/{SK_A}.glb": box,
        f"hf-objaverse-v1/glbs/000-002/{SK_B}.glb": ball,
        "thingiverse/thing-11-file-22.stl": stl,
        f"smithsonian/objects/{get_uid_from_str(SM)}.glb": ball + b"modified",
        "github/repos/org1/repo1/models/chair.obj": chair.encode(),
        "github/repos/org1/repo1/models/box_copy.glb": box,
    }
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    _zip(root / "github/repos/org2/repo2.zip", {"meshes/cup.ply": cup, "../../evil.obj": b"v 0 0 0\n"})
    with gzip.open(root / "hf-objaverse-v1/object-paths.json.gz", "wt") as f:
        json.dump({SK_A: f"glbs/000-001/{SK_A}.glb", SK_B: f"glbs/000-002/{SK_B}.glb"}, f)
    sha = hashlib.sha256

    for src in ("github", "thingiverse", "smithsonian", "sketchfab"):
        (root / src).mkdir(parents=True, exist_ok=True)

    def frame(rows):
        return pd.DataFrame([dict(fileIdentifier=f, source=s, license=lic, fileType=t, sha256=h, metadata="{}")
                             for f, s, lic, t, h in rows])

    frame([(f"https://sketchfab.com/3d-models/{SK_A}", "sketchfab", "by", "glb", sha(box).hexdigest()),
           (f"https://sketchfab.com/3d-models/{SK_B}", "sketchfab", "by-nc", "glb", sha(ball).hexdigest())]
          ).to_parquet(root / "sketchfab/sketchfab.parquet")
    frame([(TH_OK, "thingiverse", "Creative Commons - Attribution", "stl", sha(stl).hexdigest()),
           (TH_MISSING, "thingiverse", "Creative Commons - Attribution", "stl", "0" * 64)]
          ).to_parquet(root / "thingiverse/thingiverse.parquet")
    frame([(SM, "smithsonian", "CC0", "glb", sha(ball).hexdigest())]
          ).to_parquet(root / "smithsonian/smithsonian.parquet")
    frame([(GH_CHAIR, "github", "MIT License", "obj", sha(chair.encode()).hexdigest()),
           (GH_COPY, "github", "MIT License", "glb", sha(box).hexdigest()),
           (GH_CUP, "github", "Apache License 2.0", "ply", sha(cup).hexdigest())]
          ).to_parquet(root / "github/github.parquet")
    return root


def test_xl_ingestion_from_a_seeded_offline_cache(xl_cache, tmp_path, no_network):
    report = ingest(tmp_path / "out", xl_dir=xl_cache)  # offline detected (hosts unreachable)
    got = {r.file_identifier: r for r in report.records}
    assert sorted(got) == sorted([GH_COPY, GH_CHAIR, GH_CUP, TH_OK, f"https://sketchfab.com/3d-models/{SK_B}"])
    # sketchfab's box has the contents of GitHub's box_copy.glb, which comes first: kept once
    assert report.duplicates == [{"file_identifier": f"https://sketchfab.com/3d-models/{SK_A}",
                                  "duplicate_of": GH_COPY, "sha256": got[GH_COPY].sha256}]
    for r in report.records:  # verified: the sha256 is the file's, and the uid derives from it
        assert file_sha256(r.path) == r.sha256 and r.uid == r.sha256[:16]
    assert got[GH_CUP].path.endswith("meshes/cup.ply") and got[TH_OK].file_type == "stl"
    assert got[f"https://sketchfab.com/3d-models/{SK_B}"].license == "by-nc"
    # annotated duplicates: the box twice, and the smithsonian object (annotated like sketchfab's ball,
    # but modified) which fails verification without hiding the good ball
    assert report.counts["objaverse_xl"]["annotation_duplicates"] == 2
    by_stage = {}
    for p in report.problems:
        by_stage.setdefault(p["stage"], []).append(p)
    assert sorted(by_stage) == ["download", "extract", "verify"]
    (missing,) = by_stage["download"]
    assert missing["file_identifier"] == TH_MISSING and "thing-33-file-44.stl" in missing["error"]
    assert "offline" in missing["error"]
    (modified,) = by_stage["verify"]
    assert modified["file_identifier"] == SM and "sha256 mismatch" in modified["error"]
    (evil,) = by_stage["extract"]
    assert "refused archive member '../../evil.obj' of repo2.zip" in evil["error"]
    assert not list(tmp_path.rglob("evil.obj"))  # nothing was written outside the target folder
    manifest, bad = read_manifest(tmp_path / "out" / "manifest.jsonl")
    assert not bad and [m.to_dict() for m in manifest] == [r.to_dict() for r in report.records]
    errors = [json.loads(ln) for ln in (tmp_path / "out" / "ingest_errors.jsonl").read_text().splitlines()]
    assert len(errors) == 3
    summary = json.loads((tmp_path / "out" / "ingest_summary.json").read_text())
    assert summary["objects"] == 5 and summary["by_source"] == {"sketchfab": 1, "thingiverse": 1, "github": 3}


def test_xl_filters_and_a_license_filter_that_matches_nothing(xl_cache, tmp_path, no_network):
    rep = ingest(tmp_path / "a", xl_dir=xl_cache, offline=True, flt=IngestFilter(commercial_only=True))
    assert not any(is_noncommercial(r.license) for r in rep.records) and len(rep.records) == 4
    rep = ingest(tmp_path / "b", xl_dir=xl_cache, offline=True,
                 flt=IngestFilter(sources=("github", "thingiverse"), file_types=("STL", ".ply")))
    assert sorted(r.file_identifier for r in rep.records) == sorted([TH_OK, GH_CUP])
    rep = ingest(tmp_path / "c", xl_dir=xl_cache, offline=True, flt=IngestFilter(licenses=("cc0*",),
                                                                                sources=("sketchfab",)))
    assert rep.records == [] and len(rep.problems) == 1
    msg = rep.problems[0]["error"]
    assert rep.problems[0]["stage"] == "filter"
    assert "the license filter (licenses ['cc0*']) matched none of the 2 Objaverse-XL annotations" in msg
    assert "'by' (1)" in msg and "'by-nc' (1)" in msg
    chair_sha = file_sha256(xl_cache / "github/repos/org1/repo1/models/chair.obj")
    rep = ingest(tmp_path / "e", xl_dir=xl_cache, offline=True, flt=IngestFilter(sha256=(chair_sha.upper(),)))
    assert [r.file_identifier for r in rep.records] == [GH_CHAIR]
    with pytest.raises(ConfigError, match="not sha256 hex digests"):
        IngestFilter(sha256=("abc",))


def test_empty_cache_offline_names_the_directory_to_seed(tmp_path, no_network):
    pytest.importorskip("objaverse")
    with pytest.raises(ObjaverseCacheError) as exc:
        ingest(tmp_path / "out", xl_dir=tmp_path / "empty-cache", flt=IngestFilter(sources=("github",)))
    msg = str(exc.value)
    assert f"seed the cache directory {tmp_path / 'empty-cache'}" in msg and "github/github.parquet" in msg
    assert "network is unreachable" in msg and "fileIdentifier" in msg
    with pytest.raises(ObjaverseCacheError, match="hf-objaverse-v1/object-paths.json.gz"):
        ox.v1_records(tmp_path / "empty-cache", offline=True)


def test_missing_objects_are_downloaded_through_the_objaverse_package_when_online(xl_cache, tmp_path, monkeypatch):
    import objaverse.xl as oxl

    calls = []

    def fake_download(objects, download_dir, processes, **kw):  # what objaverse.xl does: fetch into the cache
        calls.append((sorted(objects["fileIdentifier"]), kw))
        target = Path(download_dir) / "thingiverse" / "thing-33-file-44.stl"
        target.write_bytes(b"solid x\nendsolid x\n")
        return {TH_MISSING: str(target)}

    monkeypatch.setattr(oxl, "download_objects", fake_download)
    monkeypatch.setattr(net, "reachable", lambda url, timeout_s=3.0: (True, "ok"))
    rep = ingest(tmp_path / "out", xl_dir=xl_cache, flt=IngestFilter(sources=("thingiverse",)))
    assert calls == [([TH_MISSING], {"save_repo_format": "files"})]  # cached objects are not fetched again
    # the downloaded file does not match its annotated sha256 ("0" * 64): recorded and left out
    assert [r.file_identifier for r in rep.records] == [TH_OK]
    assert [p["stage"] for p in rep.problems] == ["verify"]


def test_safe_extract_refuses_traversal_links_and_absolute_paths(tmp_path):
    good = b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n"
    z = _zip(tmp_path / "a.zip", {"ok/tri.obj": good, "../escape.obj": good, "/abs/x.obj": good,
                                  "ok/../../up.obj": good, "C:/win.obj": good})
    link = zipfile.ZipInfo("ok/link.obj")
    link.external_attr = (0o120777 << 16)
    with zipfile.ZipFile(z, "a") as zf:
        zf.writestr(link, "/etc/passwd")
    res = safe_extract(z, tmp_path / "t")
    assert [p.relative_to((tmp_path / "t").resolve()).as_posix() for p in res.files] == ["ok/tri.obj"]
    reasons = dict(res.refused)
    assert reasons["../escape.obj"] == "path outside the target folder ('..')"
    assert reasons["/abs/x.obj"] == reasons["C:/win.obj"] == "absolute path"
    assert reasons["ok/../../up.obj"].startswith("path outside") and reasons["ok/link.obj"] == "symbolic link"
    assert not (tmp_path / "escape.obj").exists() and not (tmp_path / "up.obj").exists()

    t = tmp_path / "b.tar.gz"
    with tarfile.open(t, "w:gz") as tf:
        for name, kind in (("m/tri.obj", tarfile.REGTYPE), ("../../evil.obj", tarfile.REGTYPE),
                           ("m/sym.obj", tarfile.SYMTYPE), ("m/hard.obj", tarfile.LNKTYPE)):
            info = tarfile.TarInfo(name)
            info.type = kind
            if kind == tarfile.REGTYPE:
                info.size = len(good)
                tf.addfile(info, io.BytesIO(good))
            else:
                info.linkname = "../../../etc/passwd"
                tf.addfile(info)
    res = safe_extract(t, tmp_path / "u")
    assert [p.name for p in res.files] == ["tri.obj"]
    assert dict(res.refused) == {"../../evil.obj": "path outside the target folder ('..')", "m/sym.obj": "link",
                                 "m/hard.obj": "link"}
    (tmp_path / "junk.zip").write_bytes(b"not an archive")
    with pytest.raises(ArchiveError, match="junk.zip is not a zip or tar archive"):
        safe_extract(tmp_path / "junk.zip", tmp_path / "v")


def test_local_folders_dedupe_by_content_and_extract_archives(tmp_path):
    src = tmp_path / "meshes"
    (src / "sub").mkdir(parents=True)
    box = _bytes(trimesh.creation.box(), "glb")
    (src / "box.glb").write_bytes(box)
    (src / "sub" / "same_box.glb").write_bytes(box)  # identical contents
    (src / "ball.stl").write_bytes(_bytes(trimesh.creation.icosphere(1), "stl"))
    (src / "texture.png").write_bytes(b"\x89PNG not a mesh")
    _zip(src / "pack.zip", {"inner/cone.ply": _bytes(trimesh.creation.cone(0.3, 0.8), "ply"),
                            "../../outside.ply": b"ply"})
    report = ingest(tmp_path / "out", local=[src], local_license="CC-BY-4.0")
    ids = [r.file_identifier for r in report.records]
    assert ids == ["local:meshes/ball.stl", "local:meshes/box.glb", "local:meshes/pack.zip!inner/cone.ply"]
    assert report.duplicates == [{"file_identifier": "local:meshes/sub/same_box.glb",
                                  "duplicate_of": "local:meshes/box.glb", "sha256": report.records[1].sha256}]
    assert all(r.license == "CC-BY-4.0" and r.source == "local" for r in report.records)
    assert [p["stage"] for p in report.problems] == ["extract"]
    assert not list(tmp_path.rglob("outside.ply"))
    again, _ = scan_local([src], extract_dir=tmp_path / "out" / "extracted")  # the extraction is reused
    assert [r.path for r in again if "cone" in r.path] == [report.records[2].path]


def test_ingest_command_records_problems_and_continues(tmp_path):
    src = tmp_path / "meshes"
    src.mkdir()
    (src / "box.glb").write_bytes(_bytes(trimesh.creation.box(), "glb"))
    res = CliRunner().invoke(ingest_cmd, ["--local", str(src), "--local", str(tmp_path / "nope"), "--out",
                                          str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    assert "1 object(s) ->" in res.output and "[scan]" in res.output and "path not found" in res.output
    from embodied.cli.main import cli

    res = CliRunner().invoke(cli, ["data", "ingest", "--local", str(src), "--license", "cc0*", "--out",
                                   str(tmp_path / "o2")])
    assert res.exit_code == 2  # nothing left to ingest: one "error:" line, like every toolkit error
    assert "error: no objects ingested: the license filter (licenses ['cc0*']) matched none of the 1 local " \
           "objects; present: 'unknown' (1)" in res.output
    assert (tmp_path / "o2" / "ingest_errors.jsonl").read_text().count("\n") == 1


def test_v1_api_from_a_seeded_cache(tmp_path, no_network):
    ov = pytest.importorskip("objaverse")
    base = tmp_path / "cache" / "hf-objaverse-v1"
    uids = ["a" * 32, "b" * 32, "c" * 32]
    (base / "glbs" / "000-000").mkdir(parents=True)
    (base / "metadata").mkdir()
    for i, u in enumerate(uids[:2]):  # the third is listed but not cached
        (base / "glbs" / "000-000" / f"{u}.glb").write_bytes(_bytes(trimesh.creation.icosphere(i + 1), "glb"))
    with gzip.open(base / "object-paths.json.gz", "wt") as f:
        json.dump({u: f"glbs/000-000/{u}.glb" for u in uids}, f)
    with gzip.open(base / "metadata" / "000-000.json.gz", "wt") as f:
        json.dump({uids[0]: {"name": "ball", "license": "by"}, uids[1]: {"name": "ball2", "license": "by-nc-sa"},
                   uids[2]: {"name": "gone", "license": "cc0"}}, f)
    before = ov._VERSIONED_PATH
    recs, probs = ox.v1_records(tmp_path / "cache", offline=True)
    assert ov._VERSIONED_PATH == before  # the package's own cache path is put back
    assert [r.metadata["objaverse_uid"] for r in recs] == uids[:2]
    assert [r.license for r in recs] == ["by", "by-nc-sa"] and all(r.file_type == "glb" for r in recs)
    assert [(p["stage"], p["file_identifier"]) for p in probs] == [("download", uids[2])]
    recs, probs = ox.v1_records(tmp_path / "cache", offline=True, flt=IngestFilter(commercial_only=True))
    assert [r.metadata["objaverse_uid"] for r in recs] == [uids[0]] and len(probs) == 1
