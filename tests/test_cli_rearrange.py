"""`embodied rearrange` end to end on one short episode (tiny random CLIP), resume, and bad options."""

from __future__ import annotations

import json

from click.testing import CliRunner

from embodied.cli.main import cli

TINY = ["--clip-model", "embodied-tiny", "--clip-random-init", "--clip-device", "cpu"]


def test_rearrange_runs_resumes_and_reports(tmp_path):
    out = tmp_path / "run"
    args = ["rearrange", "-n", "1", "--objects", "1", "--episode-seed", "0", "--workers", "1", *TINY, "--out", str(out)]
    runner = CliRunner()
    res = runner.invoke(cli, args)
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert len(rows) == 1 and rows[0]["status"] == "ok" and rows[0]["n_moved"] == 1
    summary = json.loads((out / "summary.json").read_text())
    assert summary["episodes"] == 1 and summary["header"]["objects moved"] == "1"
    for key in ("success", "prop_fixed_strict", "prop_misplaced", "energy_prop", "cd_f1"):
        assert key in summary
    assert "% Fixed Strict" in (out / "summary.md").read_text() and "% Fixed Strict" in res.output
    assert (out / "maps" / "val-00000.png").stat().st_size > 1000
    again = runner.invoke(cli, args)  # finished episodes are not run again
    assert again.exit_code == 0, again.output
    assert len((out / "results.jsonl").read_text().splitlines()) == 1
    changed = runner.invoke(cli, [*args, "--no-snap"])  # another run in the same folder is refused
    assert changed.exit_code == 2 and "config" in changed.output.lower()


def test_rearrange_bad_options_exit_nonzero(tmp_path):
    runner = CliRunner()
    res = runner.invoke(cli, ["rearrange", "--objects", "5-2", *TINY, "--out", str(tmp_path / "x")])
    assert res.exit_code == 2 and "objects moved" in res.output
    res = runner.invoke(cli, ["rearrange", "--agent-set", "survey_distance=1", *TINY, "--out", str(tmp_path / "y")])
    assert res.exit_code == 2 and "survey_distance_m" in res.output


def test_the_recorded_command_keeps_negative_flags():
    import click

    from embodied.cli.options import command_line

    @click.command("demo")
    @click.option("--snap/--no-snap", default=True)
    @click.option("--objects", default="3")
    def demo(snap, objects):
        click.echo(command_line(click.get_current_context()))

    res = CliRunner().invoke(demo, ["--no-snap", "--objects", "1-5"])
    assert res.output.strip() == "embodied demo --no-snap --objects 1-5"
    assert CliRunner().invoke(demo, []).output.strip() == "embodied demo"  # an untyped default is left out
    # a typed one is kept: under a preset the default need not be what runs
    assert CliRunner().invoke(demo, ["--snap"]).output.strip() == "embodied demo --snap"
