"""`embodied graph build` end to end on a small built-in walk."""

from __future__ import annotations

import json

from click.testing import CliRunner

from embodied.cli.main import cli
from embodied.scene_graph import load_graph


def test_graph_build_writes_graph_quality_and_picture(tmp_path):
    out = tmp_path / "g"
    args = ["graph", "build", "--episode", "1", "--steps", "40", "--width", "96", "--height", "72", "--model",
            "embodied-tiny", "--random-init", "--device", "cpu", "--out", str(out), "--no-progress"]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    q = json.loads((out / "quality.json").read_text())
    g = load_graph(out / "graph.json")
    assert q["nodes"] == len(g.nodes) > 0 and q["steps"] == 40 and q["edges"] == len(g.edges)
    assert q["node_precision"] == 1.0 and q["object_recall"] == 1.0  # oracle masks
    assert "RANDOM INIT" in q["clip"] and "RANDOM INIT" in res.output
    assert (out / "graph.png").stat().st_size > 1000
    again = CliRunner().invoke(cli, args)  # the same command gives the same graph
    assert again.exit_code == 0 and json.loads((out / "quality.json").read_text()) == q
    try:
        import rerun  # noqa: F401
    except ImportError:
        return
    rec = CliRunner().invoke(cli, [*args, "--steps", "5", "--rerun", str(out / "walk.rrd")])
    assert rec.exit_code == 0, rec.output
    assert (out / "walk.rrd").stat().st_size > 10_000 and "walk.rrd" in rec.output


def test_graph_build_rejects_unknown_proposals(tmp_path):
    res = CliRunner().invoke(cli, ["graph", "build", "--proposals", "sam", "--out", str(tmp_path)])
    assert res.exit_code == 2 and "sam" in res.output
