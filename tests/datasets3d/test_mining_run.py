"""Whole mining runs: MIMIC layout + WebDataset shards + parquet index + summary, the same output for
any number of workers, and kill-and-resume with no lost and no duplicated pairs."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from datasets3d.mining import MiningConfig, builtin_sequences, discover, load_done, read_index, run_mining
from embodied.errors import ConfigError

from .conftest import pan_frames, write_frames, write_video

ROOT = Path(__file__).resolve().parents[2]
SMALL = {"gap_frames": 1, "image_size_px": 112, "patch_size_px": 8, "pano_render_px": 128, "samples_per_scene": 2,
         "shard_max_pairs": 4}
CFG = MiningConfig(**SMALL)
HOUSES = [2, 4]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    """3 panned videos, 1 folder of frames (3 pairs each) and a corrupt video."""
    root = tmp_path_factory.mktemp("mine_inputs") / "clips"
    root.mkdir()
    for s in range(3):
        write_video(root / f"pan{s}.mp4", pan_frames(7, seed=s))
    write_frames(root / "scan", pan_frames(7, seed=5))
    (root / "corrupt.mp4").write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    return root


def sequences(inputs: Path):
    return discover([inputs]) + builtin_sequences(HOUSES)


@pytest.fixture(scope="module")
def reference(inputs, tmp_path_factory) -> tuple[Path, dict]:
    """An uninterrupted run in this process (one worker)."""
    out = tmp_path_factory.mktemp("reference") / "run"
    return out, run_mining(sequences(inputs), CFG, out, workers=1, progress=False, echo=None)


def digest(out: Path) -> dict[str, str]:
    """sha256 of every file under mimic/ and shards/ (hidden leftovers included)."""
    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
            for sub in ("mimic", "shards") for p in sorted((out / sub).rglob("*")) if p.is_file()}


def same_output(a: Path, b: Path) -> None:
    assert read_index(a / "index.parquet") == read_index(b / "index.parquet")
    assert digest(a) == digest(b)
    units_a = [r["unit"] for r in load_done(a)]
    rows_b = []
    for line in (b / "results.jsonl").read_text().splitlines():
        try:
            rows_b.append(json.loads(line))
        except json.JSONDecodeError:  # the torn line a crash left
            continue
    assert sorted({r["unit"] for r in rows_b}) == sorted(units_a)
    mined = [r["unit"] for r in rows_b if r["status"] == "ok"]
    assert len(set(mined)) == len(mined)  # no sequence mined twice (a failed one is retried on a rerun)


def test_run_writes_mimic_layout_shards_index_and_summary(reference, inputs):
    out, summary = reference
    rows = read_index(out / "index.parquet")
    assert summary["sequences"] == {"done": 7, "ok": 6, "partial": 0, "error": 1}
    # each panorama sample gives at most one pair; how many of the houses' samples land strictly inside
    # (50%, 75%) depends on float details of SIFT/Embree on the CPU (house 4 has a pair at exactly 147/196)
    n_builtin = summary["per_source"]["builtin"]["pairs"]
    assert 1 <= n_builtin <= SMALL["samples_per_scene"] * len(HOUSES)
    assert summary["pairs_kept"] == len(rows) == 4 * 3 + n_builtin
    assert summary["errors"][0]["unit"] == "clips/corrupt" and "cannot decode video" in summary["errors"][0]["error"]
    assert summary["pairs_tested"] == summary["pairs_kept"] + sum(summary["dropped"].values())
    assert summary["dropped"]["overlap_high"] >= 12
    assert json.loads((out / "summary.json").read_text())["pairs_kept"] == len(rows)
    assert json.loads((out / "config.json").read_text())["config"]["gap_frames"] == 1
    assert len({r["key"] for r in rows}) == len(rows)
    assert [r["sequence"] for r in rows[:3]] == ["pan0"] * 3 and rows[-1]["source"] == "builtin"

    for r in rows:  # MIMIC folders: two JPEGs and the pickled dict; the index hash covers them
        d = out / r["folder"]
        assert sorted(p.name for p in d.iterdir()) == ["0000.jpg", "0001.jpg", "corresponding.npy"]
        corr = np.load(d / "corresponding.npy", allow_pickle=True).item()
        assert len(corr) == r["n_corresponding"] and 0.5 < r["overlap"] < 0.75
        arr = np.array(sorted(corr.items()), np.int16)
        h = hashlib.sha256((d / "0000.jpg").read_bytes() + (d / "0001.jpg").read_bytes() + arr.tobytes())
        assert h.hexdigest() == r["sha256"]
    assert sorted(p.name for p in (out / "shards").iterdir()) == [f"pairs-00000{i}.tar" for i in range(4)]
    assert (out / "contact_sheet.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_shards_are_readable_by_webdataset(reference):
    import webdataset as wds

    out, _ = reference
    rows = read_index(out / "index.parquet")
    urls = [str(p) for p in sorted((out / "shards").glob("*.tar"))]
    samples = list(wds.WebDataset(urls, shardshuffle=False).decode("rgb8"))
    assert [s["__key__"] for s in samples] == [r["key"] for r in rows]
    for s, r in zip(samples, rows):
        assert s["0000.jpg"].shape == (112, 112, 3) and s["0000.jpg"].dtype == np.uint8
        assert s["json"]["sha256"] == r["sha256"] and s["json"]["frame1"] == r["frame1"]
        assert s["corr.npy"].dtype == np.int16 and s["corr.npy"].shape == (r["n_corresponding"], 2)
        assert s["__url__"].endswith(Path(r["shard"]).name)
        folder_corr = np.load(out / r["folder"] / "corresponding.npy", allow_pickle=True).item()
        assert {int(a): int(b) for a, b in s["corr.npy"]} == folder_corr


def test_output_does_not_depend_on_workers(reference, inputs, tmp_path):
    out = tmp_path / "two_workers"
    run_mining(sequences(inputs), CFG, out, workers=2, progress=False, echo=None)
    same_output(reference[0], out)


def _crash_on_pan1(seq):
    """A worker job that dies like a segfaulting decoder on one sequence (runs in spawned workers)."""
    if seq["name"] == "pan1":
        os._exit(139)
    from datasets3d.mining.runner import mine_job

    return mine_job(seq)


def test_a_worker_that_dies_is_recorded_and_the_run_goes_on(reference, inputs, tmp_path, monkeypatch):
    from datasets3d.mining import runner

    monkeypatch.setattr(runner, "mine_job", _crash_on_pan1)
    out = tmp_path / "crashing"
    summary = run_mining(sequences(inputs), CFG, out, workers=2, progress=False, echo=None)
    assert [e["unit"] for e in summary["errors"]] == ["clips/corrupt", "clips/pan1"]
    assert "the worker process died (exit code 139)" in summary["errors"][1]["error"]
    want = [r for r in read_index(reference[0] / "index.parquet") if r["sequence"] != "pan1"]
    got = read_index(out / "index.parquet")
    assert [(r["key"], r["sha256"]) for r in got] == [(r["key"], r["sha256"]) for r in want]
    assert sorted(r["unit"] for r in load_done(out)) == sorted(r["unit"] for r in load_done(reference[0]))


def test_resume_cleans_what_a_crash_left(reference, inputs, tmp_path):
    """A crash after a sequence's folder was renamed but before its done line, with torn shard bytes and
    a stale partial folder: the rerun redoes exactly the unrecorded sequences."""
    out = tmp_path / "crashed"
    seqs = sequences(inputs)
    run_mining(seqs[:4], CFG, out, workers=1, progress=False, echo=None)
    lines = (out / "results.jsonl").read_text().splitlines(keepends=True)
    (out / "results.jsonl").write_text("".join(lines[:-1]) + lines[-1][:25])  # last record lost, torn line
    shard = sorted((out / "shards").glob("*.tar"))[-1]
    with open(shard, "ab") as f:
        f.write(b"half a tar member")
    (out / "mimic" / "clips" / ".pan9.partial" / "000000").mkdir(parents=True)
    with pytest.raises(ConfigError, match="different configuration"):
        run_mining(seqs, CFG.with_overrides({"overlap_max": 0.8}), out, progress=False, echo=None)
    summary = run_mining(seqs, CFG, out, workers=1, progress=False, echo=None)
    assert summary["pairs_kept"] == reference[1]["pairs_kept"]
    same_output(reference[0], out)


def test_kill_9_and_rerun_gives_the_same_pairs(reference, inputs, tmp_path):
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "embodied.cli.main", "data", "mine", str(inputs), "--sim", "builtin", "--houses",
           ",".join(map(str, HOUSES)), "--out", str(out), "--workers", "1", "--no-progress",
           *[a for k, v in SMALL.items() for a in ("--set", f"{k}={v}")]]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    done = out / "results.jsonl"
    deadline = time.time() + 60
    while time.time() < deadline and proc.poll() is None and not (done.exists() and done.read_bytes().count(b"\n") >= 2):
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    n_before = done.read_bytes().count(b"\n")
    assert 2 <= n_before < 7, "the kill should land mid-run"
    assert not (out / "summary.json").exists()

    res = CliRunner().invoke(_cli(), cmd[3:])
    assert res.exit_code == 0, res.output
    assert f"pairs: {reference[1]['pairs_kept']}" in res.output
    same_output(reference[0], out)
    assert not list((out / "mimic").rglob(".*.partial"))


def _cli():
    from embodied.cli.main import cli

    return cli


def test_cli_formats_and_errors(tmp_path):
    runner = CliRunner()
    frames = write_frames(tmp_path / "in" / "walk", pan_frames(7, seed=9))
    out = tmp_path / "wds"
    res = runner.invoke(_cli(), ["data", "mine", str(frames), "--gap-frames", "1", "--format", "wds", "--out",
                                 str(out), "--no-progress", "--set", "image_size_px=112", "--set", "patch_size_px=8"])
    assert res.exit_code == 0, res.output
    assert "kept" in res.output and "dropped: overlap_high" in res.output and "pairs: 3" in res.output
    assert not (out / "mimic").exists() and len(list((out / "shards").glob("*.tar"))) == 1
    assert all(r["folder"] is None for r in read_index(out / "index.parquet"))
    again = runner.invoke(_cli(), ["data", "mine", str(frames), "--gap-frames", "1", "--format", "wds", "--out",
                                   str(out), "--no-progress", "--set", "image_size_px=112", "--set", "patch_size_px=8"])
    assert again.exit_code == 0 and "pairs: 3" in again.output  # a finished run is a no-op
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "corrupt.mp4").write_bytes(b"\x00" * 4000)
    r = runner.invoke(_cli(), ["data", "mine", str(bad), "--out", str(tmp_path / "bad_out"), "--no-progress"])
    assert r.exit_code == 2, r.output  # every sequence failed: the job ran, recorded it, and says so
    assert "- bad/corrupt (error): cannot decode video" in r.output
    assert r.output.strip().splitlines()[-1].startswith("error: all 1 sequences failed (reasons in")
    assert json.loads((tmp_path / "bad_out" / "summary.json").read_text())["sequences"]["error"] == 1
    for args, msg in [([], "nothing to mine"), ([str(frames), "--gap", "1", "--gap-frames", "2"], "not both"),
                      ([str(frames), "--set", "overlap_mn=0.4"], "did you mean 'overlap_min'"),
                      ([str(tmp_path / "missing")], "does not exist"), (["--sim", "habitat"], "--habitat-scene")]:
        r = runner.invoke(_cli(), ["data", "mine", "--out", str(tmp_path / "x"), *args])
        assert r.exit_code == 2 and msg in r.output, (args, r.output)


def test_ray_gives_the_same_pairs(reference, inputs, tmp_path, ray_session):
    """--ray on a local Ray instance (started by ray.init when RAY_ADDRESS is unset); about 10 s."""
    out = tmp_path / "ray"
    run_mining(sequences(inputs), CFG, out, workers=2, use_ray=True, progress=False, echo=None)
    same_output(reference[0], out)


def test_shard_writer_rolls_over_and_resumes(tmp_path):
    import tarfile

    from embodied.shards import ShardError, ShardPosition, ShardWriter

    def fill(w, keys):
        for k in keys:
            w.write(k, {"txt": k.encode(), "0000.bin": bytes(700)})

    w = ShardWriter(tmp_path, "s", max_samples=2)
    fill(w, ["a", "b", "c"])
    w.sync()
    pos = w.position
    assert pos == ShardPosition(1, (512 + 512) + (512 + 1024), 1)  # headers + data padded to 512
    fill(w, ["d", "e"])  # written after the recorded position: a crash loses them
    del w
    w = ShardWriter(tmp_path, "s", max_samples=2, resume=pos)
    fill(w, ["d", "e"])
    paths = w.close()
    assert [p.name for p in paths] == ["s-000000.tar", "s-000001.tar", "s-000002.tar"]
    names = [m.name for p in paths for m in tarfile.open(p).getmembers()]
    assert names == [f"{k}.{e}" for k in "abcde" for e in ("txt", "0000.bin")]
    assert all(m.mtime == 0 and m.mode == 0o644 and m.uname == "embodied" for p in paths for m in tarfile.open(p).getmembers())
    assert all(p.stat().st_size % tarfile.RECORDSIZE == 0 for p in paths)  # ended as tarfile ends a tar
    with pytest.raises(ValueError, match="no dots"):
        ShardWriter(tmp_path / "x", "s").write("a.b", {"txt": b""})
    (tmp_path / "s-000001.tar").write_bytes(b"short")
    with pytest.raises(ShardError, match="shorter"):
        ShardWriter(tmp_path, "s", max_samples=2, resume=pos)


def test_ray_task_that_dies_is_recorded_and_the_run_goes_on(inputs, tmp_path, monkeypatch, ray_session):
    from datasets3d.mining import runner

    monkeypatch.setattr(runner, "mine_job", _crash_on_pan1)
    seqs = [s for s in discover([inputs]) if s.name in ("pan0", "pan1", "pan2")]
    # other settings than the Ray run before (workers are reused within a session: none may keep them)
    cfg = CFG.with_overrides({"max_widen": 0})  # 1 frame apart overlaps too much and is not widened
    summary = run_mining(seqs, cfg, tmp_path / "ray_crash", workers=2, use_ray=True, progress=False, echo=None)
    assert [e["unit"] for e in summary["errors"]] == ["clips/pan1"]
    assert "the Ray task failed" in summary["errors"][0]["error"]
    assert summary["per_source"]["clips"] == {"sequences": 3, "pairs": 0}
    assert summary["dropped"]["overlap_high"] == 2 * 6


def test_missing_habitat_sim_stops_before_anything_is_recorded(tmp_path, monkeypatch):
    """A missing package is not a bad input: one error line, no results.jsonl (a rerun after installing it
    must mine the scenes, not skip them as failed)."""
    monkeypatch.setitem(sys.modules, "habitat_sim", None)  # not importable, even where it is installed
    scene = tmp_path / "house.glb"
    scene.write_bytes(b"")
    out = tmp_path / "out"
    r = CliRunner().invoke(_cli(), ["data", "mine", "--sim", "habitat", "--habitat-scene", str(scene),
                                    "--out", str(out), "--no-progress"])
    assert r.exit_code == 2 and "error: optional package 'habitat_sim' is not installed" in r.output, r.output
    assert not (out / "results.jsonl").exists()
