"""`embodied articulate`: a small run writes its results, resumes, and bad input fails with a clear error."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from embodied.cli.main import cli

ASSETS = Path(__file__).resolve().parents[1].parent / "shared" / "assets" / "articulated"


def _run(*args):
    return CliRunner().invoke(cli, ["articulate", *args], catch_exceptions=False)


def test_a_small_run_writes_results_and_resumes(tmp_path):
    out = tmp_path / "run"
    r = _run("--objects", "1", "--budget", "3", "--workers", "1", "--out", str(out))
    assert r.exit_code == 0, r.output
    rows = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    assert len(rows) == 1 and rows[0]["status"] == "ok" and rows[0]["interactions"] <= 3
    oid = rows[0]["id"]
    assert (out / "urdf" / oid / f"{oid}.urdf").exists() and (out / "images" / f"{oid}.png").exists()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["objects"] == 1 and summary["parts_true"] == rows[0]["eval"]["n_true"]
    assert "| object |" in (out / "summary.md").read_text()
    again = _run("--objects", "1", "--budget", "3", "--workers", "1", "--out", str(out))  # resumes: nothing to do
    assert again.exit_code == 0
    assert len((out / "results.jsonl").read_text().splitlines()) == 1
    changed = CliRunner().invoke(cli, ["articulate", "--objects", "1", "--budget", "4", "--workers", "1",
                                       "--out", str(out)])
    assert changed.exit_code == 2 and "different configuration" in changed.output


def test_bad_paths_and_options_fail_clearly(tmp_path):
    r = CliRunner().invoke(cli, ["articulate", str(tmp_path / "missing.urdf")])
    assert r.exit_code == 2 and "missing.urdf" in r.output
    (tmp_path / "empty").mkdir()
    r = CliRunner().invoke(cli, ["articulate", str(tmp_path / "empty")])
    assert r.exit_code == 2 and "empty" in r.output
    r = CliRunner().invoke(cli, ["articulate", "--agent-set", "budget=0", "--objects", "1"])
    assert r.exit_code == 2 and "budget" in r.output
    r = CliRunner().invoke(cli, ["articulate", str(tmp_path), "--objects", "2"])
    assert r.exit_code == 2 and "not both" in r.output


def test_help_explains_the_command():
    r = _run("--help")
    assert r.exit_code == 0 and "Structure from Action" in r.output and "--objects" in r.output


@pytest.mark.skipif(not ASSETS.is_dir(), reason="../shared/assets/articulated is absent (real test objects)")
def test_runs_on_a_real_urdf(tmp_path):
    out = tmp_path / "real"
    r = _run(str(ASSETS / "replicacad_cabinet_habitatsim" / "cabinet.urdf"), "--budget", "2", "--workers", "1",
             "--out", str(out))
    assert r.exit_code == 0, r.output
    row = json.loads((out / "results.jsonl").read_text().splitlines()[0])
    assert row["status"] == "ok" and row["eval"]["n_true"] == 2 and row["id"] == "cabinet"
