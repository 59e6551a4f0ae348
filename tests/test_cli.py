import json
import tempfile

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from embodied.cli.main import cli


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def pngs(tmp_path):
    paths = []
    for i, colour in enumerate([(200, 30, 30), (30, 30, 200)]):
        p = tmp_path / f"img{i}.png"
        Image.fromarray(np.full((40, 50, 3), colour, np.uint8)).save(p)
        paths.append(p)
    return paths


def _all_commands(group, prefix=()):
    yield prefix
    for name, cmd in getattr(group, "commands", {}).items():
        yield from _all_commands(cmd, prefix + (name,))


def test_help_on_every_command(runner):
    cmds = list(_all_commands(cli))
    assert ("info",) in cmds and ("clip", "embed") in cmds
    for path in cmds:
        res = runner.invoke(cli, [*path, "--help"])
        assert res.exit_code == 0 and "Usage:" in res.output, path


def test_info_reports_versions_features_and_cache(runner):
    res = runner.invoke(cli, ["info", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    from embodied.optional import is_available
    from embodied.clip import resolve_device

    assert data["torch_device"] == str(resolve_device("auto"))
    assert data["packages"]["open_clip"] and data["packages"]["torch"]
    assert set(data["features"]) >= {"raycast", "habitat", "thor", "gym", "ray", "objaverse"}
    assert data["features"]["habitat"]["usable"] is is_available("habitat_sim")
    assert data["clip"]["cache_dir"].startswith(tempfile.gettempdir())  # the isolated cache from conftest
    assert data["clip"]["default_weights_cached"] is None
    text = runner.invoke(cli, ["info"])
    assert text.exit_code == 0 and "cache directory" in text.output and "habitat" in text.output


def test_clip_embed_matches_backbone(runner, pngs):
    from embodied.clip import ClipConfig, get_backbone

    args = ["clip", "embed", "--random-init", "--model", "embodied-tiny", "--device", "cpu", "--json",
            "--image", str(pngs[0]), "--image", str(pngs[1]), "--text", "a red square", "--text", "a blue square"]
    res = runner.invoke(cli, args)
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["weights"]["source"] == "random"
    clip = get_backbone(ClipConfig(model="embodied-tiny", random_init=True, device="cpu"))
    imgs = [np.asarray(Image.open(p).convert("RGB")) for p in pngs]
    cos = clip.encode_images(imgs) @ clip.encode_texts(["a red square", "a blue square"]).T
    np.testing.assert_allclose(out["cosine"], cos, atol=1e-5)
    np.testing.assert_allclose(np.sum(out["softmax"], axis=1), 1.0, atol=1e-5)
    table = runner.invoke(cli, args[:-9] + args[-8:])  # without --json
    assert table.exit_code == 0 and "RANDOM INIT" in table.output and "a blue square" in table.output


def test_clip_embed_with_checkpoint_and_templates(runner, pngs, tmp_path):
    from embodied.clip import ClipBackbone, ClipConfig

    ckpt = ClipBackbone(ClipConfig(model="embodied-tiny", random_init=True, seed=7, device="cpu")).save(tmp_path / "w.safetensors")
    res = runner.invoke(cli, ["clip", "embed", "--model", "embodied-tiny", "--checkpoint", str(ckpt), "--json",
                              "--templates", "short", "--image", str(pngs[0]), "--text", "chair", "--text", "bed"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["weights"]["source"] == "checkpoint" and len(out["weights"]["sha256"]) == 64
    assert out["templates"] == "short"


def test_offline_is_one_line_and_exit_2(runner, pngs, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    res = runner.invoke(cli, ["clip", "embed", "--model", "ViT-B-32", "--cache-dir", str(tmp_path), "--image", str(pngs[0]), "--text", "x"])
    assert res.exit_code == 2
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: pretrained weights for ViT-B-32")
    assert str(tmp_path) in lines[0]


def test_bad_inputs_exit_nonzero_with_reason(runner, pngs, tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    res = runner.invoke(cli, ["clip", "embed", "--random-init", "--model", "embodied-tiny", "--image", str(bad), "--text", "x"])
    assert res.exit_code == 2 and "cannot read image" in res.output
    res = runner.invoke(cli, ["clip", "embed", "--model", "ViT-B-33", "--random-init", "--image", str(pngs[0]), "--text", "x"])
    assert res.exit_code == 2 and "unknown CLIP architecture 'ViT-B-33'" in res.output
    res = runner.invoke(cli, ["clip", "embed", "--model", "embodied-tiny", "--checkpoint", str(bad), "--image", str(pngs[0]), "--text", "x"])
    assert res.exit_code == 2 and "unsupported checkpoint suffix" in res.output
    import torch  # a pickle with a numpy array: torch's long multi-line refusal becomes one line

    torch.save({"w": torch.zeros(2), "m": np.zeros(3)}, tmp_path / "np.pt")
    res = runner.invoke(cli, ["clip", "embed", "--model", "embodied-tiny", "--checkpoint", str(tmp_path / "np.pt"),
                              "--image", str(pngs[0]), "--text", "x"])
    assert res.exit_code == 2 and len(res.output.strip().splitlines()) == 1 and "refused for safety" in res.output
