"""Rendering many objects: bad files and timeouts recorded without stopping the job, kill -9 and
resume with nothing lost or duplicated, determinism, and WebDataset shards read by ``webdataset``."""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import trimesh
from click.testing import CliRunner
from PIL import Image

from datasets3d.objaverse import AssetRecord, read_manifest, scan_local, uid_for
from embodied.files import file_sha256
from datasets3d.rendering.config import RenderConfig
from datasets3d.rendering.runner import render_objects
from embodied.cli.data_assets import render
from embodied.runs import ResultsLog
from embodied.errors import MissingDependencyError

ROOT = Path(__file__).resolve().parents[2]


def _meshes(folder: Path, n: int, subdivisions: int = 2, start: int = 0) -> Path:
    """``n`` distinct procedural meshes (spheres, boxes, cylinders with different proportions)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(start, start + n):
        kind = i % 3
        m = (trimesh.creation.icosphere(subdivisions) if kind == 0 else trimesh.creation.box() if kind == 1
             else trimesh.creation.cylinder(radius=0.3, height=1.0, sections=24))
        m.apply_scale([1.0, 0.5 + 0.05 * i, 0.4 + 0.03 * i])
        m.visual.face_colors = [40 + 10 * i, 200 - 8 * i, 90, 255]
        m.export(folder / f"mesh{i:02d}.ply")
    return folder


def _tree_digest(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_broken_files_and_timeouts_are_recorded_and_the_job_goes_on(tmp_path):
    good = _meshes(tmp_path / "in", 2)
    records, _ = scan_local([good], extract_dir=tmp_path / "x")
    (tmp_path / "in" / "broken.obj").write_text("v 0 0\nf 1 2 3\n")
    broken, _ = scan_local([tmp_path / "in" / "broken.obj"], extract_dir=tmp_path / "x")
    fifo = tmp_path / "stuck.glb"  # opening a FIFO with no writer blocks forever: a hung loader
    os.mkfifo(fifo)
    stuck = AssetRecord(uid_for("f" * 64), "f" * 64, str(fifo), "local:stuck.glb", "local", "unknown", "glb")
    todo = [records[0], broken[0], stuck, records[1]]
    cfg = RenderConfig(width=48, height=48, views=2)
    t0 = time.monotonic()
    summary = render_objects(todo, tmp_path / "out", cfg, workers=1, timeout_s=1.5, shards=False, progress=False)
    assert time.monotonic() - t0 < 30
    assert (summary["ok"], summary["error"], summary["timeout"]) == (2, 1, 1)
    rows = {r["uid"]: r for r in ResultsLog(tmp_path / "out" / "results.jsonl").rows()}
    assert rows[broken[0].uid]["status"] == "error"
    assert "AssetError: cannot load broken.obj as 'obj'" in rows[broken[0].uid]["error"]
    assert rows[broken[0].uid]["traceback"]  # the cause is kept, not swallowed
    assert rows[stuck.uid]["status"] == "timeout" and "timed out after 1.5 s" in rows[stuck.uid]["error"]
    assert rows[records[1].uid]["status"] == "ok"  # the object after the hung one still rendered
    assert sorted(p.name for p in (tmp_path / "out" / "objects").iterdir()) == sorted(r.uid for r in records)
    # a rerun without retry_errors redoes nothing (inline: the FIFO would hang it if it ran again)
    again = render_objects(todo, tmp_path / "out", cfg, workers=0, retry_errors=False, shards=False, progress=False)
    assert (again["ok"], again["error"], again["timeout"]) == (2, 1, 1)
    assert len(ResultsLog(tmp_path / "out" / "results.jsonl").rows()) == 4
    # with it (the default) the two failures run again, and only they: two more rows, same outcome
    third = render_objects(todo, tmp_path / "out", cfg, workers=1, timeout_s=1.5, shards=False, progress=False)
    assert (third["ok"], third["error"], third["timeout"]) == (2, 1, 1)
    rows = ResultsLog(tmp_path / "out" / "results.jsonl").rows()
    assert [r["uid"] for r in rows[4:]] == [broken[0].uid, stuck.uid]


def test_kill_and_resume_loses_and_duplicates_nothing(tmp_path):
    src = _meshes(tmp_path / "in", 14, subdivisions=4)
    out = tmp_path / "out"
    args = [str(src), "--out", str(out), "--size", "160", "--views", "3", "--seed", "7", "--objects-per-shard", "4",
            "--no-progress"]
    proc = subprocess.Popen([sys.executable, "-m", "embodied.cli.main", "data", "render", *args, "--workers", "1"],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    results = out / "results.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if results.exists() and results.read_text().count("\n") >= 3:
            break
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)  # parent and worker, mid-run
    proc.wait()
    n_killed = len(ResultsLog(results).rows())
    assert 3 <= n_killed < 14, "the run ended before it could be killed"

    res = CliRunner().invoke(render, [*args, "--workers", "0"])
    assert res.exit_code == 0, res.output
    rows = ResultsLog(results).rows()
    uids = [r["uid"] for r in rows]
    assert len(uids) == len(set(uids)) == 14 and all(r["status"] == "ok" for r in rows)
    objects = out / "objects"
    assert sorted(p.name for p in objects.iterdir()) == sorted(uids)  # no temporary folders left
    for d in objects.iterdir():
        assert len(list(d.iterdir())) == 3 * 5 + 2  # 3 views x (png, depth, normal, mask, npy) + metadata, contact

    # the resumed output is byte-identical to an uninterrupted run with the same seed
    fresh = tmp_path / "fresh"
    res = CliRunner().invoke(render, [args[0], "--out", str(fresh), *args[3:], "--workers", "0"])
    assert res.exit_code == 0, res.output
    assert _tree_digest(objects) == _tree_digest(fresh / "objects")
    assert _tree_digest(out / "shards") == _tree_digest(fresh / "shards")


def test_webdataset_reads_every_view_once(tmp_path):
    import webdataset as wds

    pool = sorted(scan_local([_meshes(tmp_path / "in", 5)], extract_dir=tmp_path / "x")[0], key=lambda r: r.uid)
    records, extra = pool[:3], pool[-1]  # extra sorts after all of them
    cfg = RenderConfig(width=40, height=32, views=4, cameras="ring")
    summary = render_objects(records, tmp_path / "out", cfg, workers=0, objects_per_shard=2, progress=False)
    assert summary["shards"] == ["shard-000000.tar", "shard-000001.tar"]
    urls = [str(tmp_path / "out" / "shards" / s) for s in summary["shards"]]
    depth16 = wds.handle_extension("depth.png", lambda b: np.asarray(Image.open(io.BytesIO(b))))
    ds = wds.WebDataset(urls, shardshuffle=False).decode(depth16, "rgba8")
    samples = list(ds)
    assert len(samples) == 12
    assert sorted(s["__key__"] for s in samples) == sorted(f"{r.uid}_{i:03d}" for r in records for i in range(4))
    for s in samples:
        uid, idx = s["__key__"].rsplit("_", 1)
        obj = tmp_path / "out" / "objects" / uid
        assert s["png"].shape == (32, 40, 4) and s["png"].dtype == np.uint8
        np.testing.assert_array_equal(s["w2c.npy"], np.load(obj / f"{idx}.npy"))
        np.testing.assert_array_equal(s["depth.png"], np.asarray(Image.open(obj / f"{idx}_depth.png")))
        assert s["depth.png"].dtype == np.uint16 and s["depth.png"].max() > 10000
        assert s["json"]["uid"] == uid and s["json"]["K"][0][0] == pytest.approx(40 * 35 / 32)
        assert s["json"]["w2c_blender"][1] == pytest.approx([-v for v in s["w2c.npy"][1]])
    # one more object whose uid sorts after the first shard's: that shard is kept byte for byte
    first = (tmp_path / "out" / "shards" / "shard-000000.tar").read_bytes()
    render_objects(records + [extra], tmp_path / "out", cfg, workers=0, objects_per_shard=2, progress=False)
    index = json.loads((tmp_path / "out" / "shards" / "index.json").read_text())
    assert [u for s in index["shards"] for u in s["uids"]] == sorted(r.uid for r in records + [extra])
    assert sum(s["samples"] for s in index["shards"]) == 16
    assert (tmp_path / "out" / "shards" / "shard-000000.tar").read_bytes() == first


def test_render_command_from_a_manifest_and_clear_errors(tmp_path, monkeypatch):
    src = _meshes(tmp_path / "in", 1)
    rec = scan_local([src], extract_dir=tmp_path / "x")[0][0]
    manifest = tmp_path / "manifest.jsonl"
    manifest.write_text(json.dumps(rec.to_dict()) + "\n" + '{"path": "/nowhere.glb"}\n')
    res = CliRunner().invoke(render, [str(manifest), "--out", str(tmp_path / "out"), "--size", "32", "--views", "2",
                                      "--workers", "0", "--no-progress"])
    assert res.exit_code == 0, res.output
    assert "manifest.jsonl:2: manifest row lacks sha256" in res.output
    assert '{"ok": 1, "error": 0, "timeout": 0}' in res.output
    assert read_manifest(manifest)[0][0].sha256 == file_sha256(src / "mesh00.ply")
    # a different configuration in the same folder is refused, naming the fix
    res = CliRunner().invoke(render, [str(manifest), "--out", str(tmp_path / "out"), "--size", "48", "--workers", "0"])
    assert res.exit_code != 0
    assert "holds renders made with a different configuration (differs in: height, views, width); use another --out" \
        in str(res.exception)
    # the Blender backend without bpy: the error names the extra to install
    monkeypatch.setitem(sys.modules, "bpy", None)
    res = CliRunner().invoke(render, [str(manifest), "--out", str(tmp_path / "b"), "--backend", "blender",
                                      "--workers", "0"])
    assert isinstance(res.exception, MissingDependencyError)
    assert "pip install 'embodied-zeroshot[blender]'" in str(res.exception)


def test_ray_renders_the_same_objects_and_records_failures(tmp_path, ray_session):
    """--ray on a local Ray instance: the same bytes as in-process rendering, a broken file recorded as an
    error and a hung loader cancelled at the timeout, the job going on past both."""
    good, _ = scan_local([_meshes(tmp_path / "in", 3)], extract_dir=tmp_path / "x")
    (tmp_path / "broken.obj").write_text("v 0 0\nf 1 2 3\n")
    broken, _ = scan_local([tmp_path / "broken.obj"], extract_dir=tmp_path / "x")
    fifo = tmp_path / "stuck.glb"
    os.mkfifo(fifo)
    stuck = AssetRecord(uid_for("e" * 64), "e" * 64, str(fifo), "local:stuck.glb", "local", "unknown", "glb")
    cfg = RenderConfig(width=40, height=40, views=3, seed=2)
    summary = render_objects([*good, broken[0], stuck], tmp_path / "ray", cfg, workers=2, use_ray=True,
                             timeout_s=5.0, objects_per_shard=2, progress=False)
    assert (summary["ok"], summary["error"], summary["timeout"]) == (3, 1, 1)
    rows = {r["uid"]: r for r in ResultsLog(tmp_path / "ray" / "results.jsonl").rows()}
    assert "cannot load broken.obj" in rows[broken[0].uid]["error"]
    assert "timed out after 5 s (Ray worker killed)" in rows[stuck.uid]["error"]
    local = render_objects(good, tmp_path / "local", cfg, workers=0, objects_per_shard=2, progress=False)
    assert local["shards"] == summary["shards"]
    assert _tree_digest(tmp_path / "ray" / "objects") == _tree_digest(tmp_path / "local" / "objects")
    assert _tree_digest(tmp_path / "ray" / "shards") == _tree_digest(tmp_path / "local" / "shards")


def test_render_command_fails_when_every_object_fails(tmp_path):
    from embodied.cli.main import cli

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "broken.obj").write_text("v 0 0\nf 1 2 3\n")
    res = CliRunner().invoke(cli, ["data", "render", str(tmp_path / "in"), "--out", str(tmp_path / "out"), "--size",
                                   "32", "--views", "2", "--workers", "0", "--no-progress"])
    assert res.exit_code == 2, res.output  # recorded, and the command says nothing could be rendered
    assert '{"ok": 0, "error": 1, "timeout": 0}' in res.output
    last = res.output.strip().splitlines()[-1]
    assert last.startswith("error: all 1 objects failed (reasons in") and "cannot load broken.obj" in last
    assert ResultsLog(tmp_path / "out" / "results.jsonl").rows()[0]["status"] == "error"
    (tmp_path / "textures").mkdir()
    (tmp_path / "textures" / "wood.png").write_bytes(b"\x89PNG")
    res = CliRunner().invoke(cli, ["data", "render", str(tmp_path / "textures"), "--out", str(tmp_path / "o2")])
    assert res.exit_code == 2 and "error: no objects to render in" in res.output  # nothing to start with
