"""``--clip auto``: pretrained weights when local, else the cached sim-trained model, else prepare it."""

import numpy as np
import pytest
from click.testing import CliRunner

from embodied.clip import ClipBackbone, ClipConfig, get_backbone
from embodied.clip.auto import (
    SIM_MODEL,
    SIM_TRAINED_VERSION,
    cached_sim_trained,
    resolve_auto,
    sim_cache_dir,
    sim_trained_path,
    weights_label,
)
from embodied.clip.checkpoints import save_state_dict
from embodied.clip.model_card import SIM_TRAINED_NOTE, write_model_card
from embodied import net
from embodied.errors import WeightsUnavailableError


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No network, an empty weights cache and an empty sim cache."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("EMBODIED_CACHE_DIR", str(tmp_path / "embodied-cache"))
    return tmp_path


def _fake_sim_trained(path):
    """What prepare leaves behind: an embodied-sim checkpoint and its card."""
    clip = ClipBackbone(ClipConfig(model=SIM_MODEL, random_init=True, seed=3, device="cpu"))
    clip.save(path)
    write_model_card(path, {"kind": "sim-trained", "note": SIM_TRAINED_NOTE, "architecture": SIM_MODEL,
                            "sim_trained_version": SIM_TRAINED_VERSION,
                            "evaluation": {"classification": {"top1": 0.9}}})
    return path


def test_local_pretrained_weights_win(offline, monkeypatch, tiny_clip):
    import open_clip.pretrained as ocp

    monkeypatch.setitem(ocp._PRETRAINED, "embodied-tiny", {"unit": {"hf_hub": "embodied/tiny-unit/"}})
    repo = offline / "hf" / "models--embodied--tiny-unit"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("abc123")
    save_state_dict(repo / "snapshots" / "abc123" / "open_clip_model.safetensors", tiny_clip.model.state_dict())
    monkeypatch.setattr(net, "reachable", lambda *a: (_ for _ in ()).throw(AssertionError("network")))
    _fake_sim_trained(sim_trained_path())  # present, but pretrained weights come first

    def never(path):
        raise AssertionError("prepare must not run when pretrained weights are local")

    choice = resolve_auto(model="embodied-tiny", pretrained="unit", cache_dir=str(offline / "hf"), prepare=never)
    assert choice.source == "pretrained" and choice.reason is None and choice.label == "embodied-tiny pretrained 'unit'"
    assert choice.config.pretrained == "unit" and choice.config.checkpoint is None
    clip = get_backbone(ClipConfig(**{**choice.config.__dict__, "device": "cpu"}))
    assert clip.provenance.source == "pretrained" and SIM_TRAINED_NOTE not in weights_label(clip.provenance)


def test_offline_without_weights_uses_the_cached_sim_trained_model(offline):
    path = _fake_sim_trained(sim_trained_path())
    assert path.parent == sim_cache_dir() and str(offline) in str(path)

    def never(path):
        raise AssertionError("prepare must not run when the sim-trained model is cached")

    choice = resolve_auto(prepare=never, device="cpu")
    assert choice.source == "sim-trained" and "ViT-B-32" in choice.reason
    assert SIM_TRAINED_NOTE in choice.label and "0.90" in choice.label
    assert choice.config.model == SIM_MODEL and choice.config.checkpoint == str(path)
    clip = get_backbone(choice.config)
    assert weights_label(clip.provenance).endswith(f"- {SIM_TRAINED_NOTE}")


def test_offline_with_nothing_prepares_once(offline):
    calls, messages = [], []

    def prepare(path):
        calls.append(path)
        _fake_sim_trained(path)

    with pytest.raises(WeightsUnavailableError, match="embodied clip prepare"):
        resolve_auto(device="cpu")  # no prepare callback: a clear error, no training
    a = resolve_auto(prepare=prepare, echo=messages.append, device="cpu")
    b = resolve_auto(prepare=prepare, echo=messages.append, device="cpu")
    assert calls == [sim_trained_path()] and a.config == b.config and a.source == "sim-trained"
    assert len(messages) == 1 and "No pretrained CLIP weights available offline" in messages[0]
    assert str(sim_trained_path()) in messages[0]


def test_incomplete_or_stale_cache_is_not_used(offline):
    path = sim_trained_path()
    ClipBackbone(ClipConfig(model=SIM_MODEL, random_init=True, device="cpu")).save(path)
    assert cached_sim_trained() is None  # checkpoint without card: an interrupted run
    write_model_card(path, {"architecture": SIM_MODEL, "sim_trained_version": SIM_TRAINED_VERSION - 1})
    assert cached_sim_trained() is None  # an older recipe
    _fake_sim_trained(path)
    assert cached_sim_trained()[0] == path


def test_cli_model_auto(offline, tmp_path):
    from PIL import Image

    from embodied.cli.main import cli

    _fake_sim_trained(sim_trained_path())
    img = tmp_path / "a.png"
    Image.fromarray(np.full((32, 32, 3), 120, np.uint8)).save(img)
    res = CliRunner().invoke(cli, ["clip", "embed", "--model", "auto", "--device", "cpu", "--image", str(img),
                                   "--text", "a chair"])
    assert res.exit_code == 0, res.output
    assert f"embodied-sim checkpoint {sim_trained_path()}" in res.output and SIM_TRAINED_NOTE in res.output
    res = CliRunner().invoke(cli, ["clip", "embed", "--model", "auto", "--random-init", "--image", str(img),
                                   "--text", "x"])
    assert res.exit_code == 2 and "--random-init needs an architecture" in res.output
