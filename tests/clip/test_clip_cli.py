"""`embodied clip train | eval | interpolate` on the tiny synthetic shapes data."""

import json

import pytest
from click.testing import CliRunner

from embodied.cli.main import cli
from embodied.clip.model_card import read_model_card

from .test_train import _dataset


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    train = _dataset(root / "train", scenes=("scene-a", "scene-b"))
    held_out = _dataset(root / "val", n_per_class=4, seed=1, scenes=("scene-z",))
    ckpt = root / "m.safetensors"
    res = CliRunner().invoke(cli, ["clip", "train", "--data", str(train), "--out", str(ckpt), "--model", "embodied-tiny",
                                   "--steps", "8", "--batch-size", "12", "--threads", "1", "--device", "cpu",
                                   "--interpolate", "0,1", "--eval-data", str(held_out)])
    assert res.exit_code == 0, res.output
    return root, train, held_out, ckpt, res.output


def test_train_command_writes_checkpoint_card_blends_and_evaluation(run):
    root, _, _, ckpt, out = run
    assert "trained embodied-tiny (sim-trained, 8 steps, seed 0)" in out and "top-1" in out
    card = read_model_card(ckpt)
    cls = card["evaluation"]["classification"]
    assert cls["n"] == 16 and cls["classes"] == 4 and 0 <= cls["top1"] <= cls["top5"] == 1.0  # 4 classes: top-5 = all
    assert card["data"]["scenes"] == ["scene-a", "scene-b"] and card["evaluation"]["data"]["split"] == "train"
    assert (root / "m-wise0.00.safetensors").is_file() and (root / "m-wise1.00.safetensors").is_file()


def test_eval_command_and_leak_check(run):
    root, train, held_out, ckpt, _ = run
    res = CliRunner().invoke(cli, ["clip", "eval", "--checkpoint", str(ckpt), "--data", str(held_out), "--device", "cpu",
                                   "--localizers", "", "--out", str(root / "ev"), "--json"])
    assert res.exit_code == 0, res.output
    ev = json.loads(res.output[res.output.index("{"):])
    assert ev["classification"]["n"] == 16 and "sim-trained (not zero-shot)" in ev["weights"]
    assert json.loads((root / "ev" / "eval.json").read_text())["classification"] == ev["classification"]
    res = CliRunner().invoke(cli, ["clip", "eval", "--checkpoint", str(ckpt), "--data", str(train), "--device", "cpu"])
    assert res.exit_code == 2 and "shares 2 scenes with the training data" in res.output


def test_eval_sweep_writes_rows_and_plot(run):
    root, _, held_out, ckpt, _ = run
    res = CliRunner().invoke(cli, ["clip", "eval", "--zeroshot", str(root / "m-wise0.00.safetensors"),
                                   "--finetuned", str(ckpt), "--alphas", "0:1:0.5", "--data", str(held_out),
                                   "--device", "cpu", "--out", str(root / "sweep")])
    assert res.exit_code == 0, res.output
    rows = json.loads((root / "sweep" / "sweep.json").read_text())["rows"]
    assert [r["alpha"] for r in rows] == [0.0, 0.5, 1.0]
    assert rows[0]["drift"] == pytest.approx(0.0, abs=1e-4) and rows[2]["drift"] > 0
    assert (root / "sweep" / "sweep.png").stat().st_size > 1000


def test_bad_alphas_and_mixed_architectures(run, tmp_path):
    root, _, _, ckpt, _ = run
    from embodied.clip import ClipBackbone, ClipConfig

    other = ClipBackbone(ClipConfig(model="embodied-sim", random_init=True, device="cpu")).save(tmp_path / "s.safetensors")
    res = CliRunner().invoke(cli, ["clip", "interpolate", "--zeroshot", str(other), "--finetuned", str(ckpt),
                                   "--alpha", "0.5", "--out", str(tmp_path / "b")])
    assert res.exit_code == 2 and "cannot interpolate a embodied-sim checkpoint with a embodied-tiny" in res.output
    for bad in ("1.5", "-0.1", "x"):
        res = CliRunner().invoke(cli, ["clip", "interpolate", "--zeroshot", str(ckpt), "--finetuned", str(ckpt),
                                       "--alpha", bad, "--out", str(tmp_path / "b")])
        assert res.exit_code == 2 and ("[0, 1]" in res.output or "cannot read alpha" in res.output), res.output
    res = CliRunner().invoke(cli, ["clip", "interpolate", "--zeroshot", str(ckpt), "--finetuned", str(ckpt),
                                   "--alpha", "0.25", "--out", str(tmp_path / "b")])
    assert res.exit_code == 0 and read_model_card(tmp_path / "b" / "blend-0.25.safetensors")["interpolation"]["alpha"] == 0.25
    res = CliRunner().invoke(cli, ["clip", "train", "--data", str(tmp_path / "none"), "--out", str(tmp_path / "x.safetensors"),
                                   "--interpolate", "2"])
    assert res.exit_code == 2 and "[0, 1]" in res.output
