"""Training, model cards, WiSE-FT blends and evaluation on a tiny synthetic caption dataset."""

import json

import numpy as np
import pytest
import torch

from embodied.clip import ClipBackbone, ClipConfig
from embodied.clip.checkpoints import load_state_dict
from embodied.files import file_sha256
from embodied.clip.evaluate import plot_tradeoff, text_drift, zero_shot_accuracy
from embodied.clip.model_card import SIM_TRAINED_NOTE, card_path, read_model_card
from embodied.clip.shards import ShardError, ClipShardWriter, write_index
from embodied.clip.train import TrainConfig, blend_path, train_clip
from embodied.errors import CheckpointError, ConfigError

CLASSES = {"red square": (220, 30, 30), "blue disc": (30, 60, 220), "green bar": (30, 180, 60),
           "yellow ring": (230, 200, 40)}


def _image(name, rng):
    img = np.full((40, 40, 3), rng.integers(150, 200), np.uint8)
    yy, xx = np.mgrid[:40, :40]
    cy, cx = rng.integers(14, 26, 2)
    shape = {"red square": (abs(yy - cy) < 9) & (abs(xx - cx) < 9),
             "blue disc": (yy - cy) ** 2 + (xx - cx) ** 2 < 90,
             "green bar": (abs(yy - cy) < 4) & (abs(xx - cx) < 14),
             "yellow ring": np.abs(np.hypot(yy - cy, xx - cx) - 8) < 2.5}[name]
    img[shape] = CLASSES[name]
    return img


def _dataset(path, n_per_class=12, seed=0, scenes=("scene-a",)):
    rng = np.random.default_rng(seed)
    with ClipShardWriter(path, prefix="train", max_count=20) as w:
        for k in range(n_per_class):
            for name in CLASSES:
                cat = name.split()[1]
                cap = [f"a photo of a {cat}.", f"a {name}.", f"a {name.split()[0]} thing shaped like a {cat}."][k % 3]
                w.write(f"s{k:03d}-{cat}", _image(name, rng), cap, {"kind": "crop", "category": cat,
                                                                       "scene": scenes[k % len(scenes)]})
    write_index(path, w.shards, {"split": "train", "scenes": list(scenes),
                                 "categories": [n.split()[1] for n in CLASSES]})
    return path


TINY = TrainConfig(steps=30, batch_size=16, lr=2e-3, warmup_steps=5, threads=1, device="cpu", log_every=5)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return _dataset(tmp_path_factory.mktemp("shapes") / "train")


@pytest.fixture(scope="module")
def trained(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("model") / "tiny.safetensors"
    init = ClipConfig(model="embodied-tiny", random_init=True, device="cpu")
    return train_clip(data, out, TINY, init=init, interpolate=(0.0, 0.5, 1.0), progress=False,
                      evaluate=lambda clip: {"probe": clip.embed_dim})


def test_short_run_loss_decreases(trained):
    losses = trained.losses
    assert len(losses) == TINY.steps and all(np.isfinite(losses))
    assert np.mean(losses[-5:]) < 0.8 * np.mean(losses[:5])
    t = trained.card["training"]
    assert t["final_loss"] < t["initial_loss"] and len(t["loss_curve"]) == 6


def test_checkpoint_and_model_card_round_trip(trained, data):
    card = read_model_card(trained.checkpoint)
    assert card == {"format": "embodied-clip-model-card/1", **trained.card}
    assert card_path(trained.checkpoint).name == "tiny.card.json"
    assert card["architecture"] == "embodied-tiny" and card["kind"] == "sim-trained"
    assert card["note"] == SIM_TRAINED_NOTE and card["init"]["source"] == "random"
    assert card["checkpoint"]["sha256"] == file_sha256(trained.checkpoint)
    assert card["data"]["scenes"] == ["scene-a"] and card["data"]["trained_on"]["crop"] == 48
    assert card["training"]["steps"] == 30 and card["training"]["seed"] == 0 and card["training"]["seconds"] > 0
    assert card["evaluation"] == {"probe": 64}
    _, meta = load_state_dict(trained.checkpoint)
    assert meta["embodied.architecture"] == "embodied-tiny"
    assert json.loads(meta["embodied.provenance"])["note"] == SIM_TRAINED_NOTE
    clip = ClipBackbone(ClipConfig(model="embodied-tiny", checkpoint=str(trained.checkpoint), device="cpu"))
    sd = load_state_dict(trained.checkpoint)[0]
    assert all(torch.equal(clip.model.state_dict()[k], v) for k, v in sd.items())
    from embodied.clip.auto import weights_label

    assert weights_label(clip.provenance).endswith(SIM_TRAINED_NOTE)


def test_same_seed_same_weights(data, tmp_path, trained):
    cfg = TrainConfig(**{**TINY.__dict__, "steps": 6})
    init = ClipConfig(model="embodied-tiny", random_init=True, device="cpu")
    a = train_clip(data, tmp_path / "a.safetensors", cfg, init=init, progress=False)
    b = train_clip(data, tmp_path / "b.safetensors", cfg, init=init, progress=False)
    assert a.losses == b.losses
    (sa, ma), (sb, mb) = load_state_dict(a.checkpoint), load_state_dict(b.checkpoint)
    assert ma == mb and sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
    # (the bytes can differ: safetensors writes its header's metadata keys in hash order)
    c = train_clip(data, tmp_path / "c.safetensors", TrainConfig(**{**cfg.__dict__, "seed": 1}), init=init,
                   progress=False)
    assert c.losses != a.losses


def test_interpolation_endpoints(trained):
    assert [p.name for p in trained.blends] == ["tiny-wise0.00.safetensors", "tiny-wise0.50.safetensors",
                                                "tiny-wise1.00.safetensors"]
    assert trained.blends[1] == blend_path(trained.checkpoint, 0.5)
    initial = ClipBackbone(ClipConfig(model="embodied-tiny", random_init=True, seed=0, device="cpu")).model.state_dict()
    final = load_state_dict(trained.checkpoint)[0]
    zero, half, one = (load_state_dict(p)[0] for p in trained.blends)
    for k in final:
        torch.testing.assert_close(zero[k], initial[k], atol=0, rtol=0)
        torch.testing.assert_close(one[k], final[k], atol=0, rtol=0)
    k = "visual.proj"
    torch.testing.assert_close(half[k], (0.5 * initial[k].double() + 0.5 * final[k].double()).float())
    card = read_model_card(trained.blends[1])
    assert card["kind"] == "interpolation" and card["interpolation"]["alpha"] == 0.5
    assert card["interpolation"]["finetuned"]["sha256"] == file_sha256(trained.checkpoint)
    assert card["evaluation"] == {"probe": 64}


def test_bad_input(data, tmp_path):
    init = ClipConfig(model="embodied-tiny", random_init=True, device="cpu")
    with pytest.raises(ConfigError, match=r"alpha must be in \[0, 1\]"):
        train_clip(data, tmp_path / "x.safetensors", TINY, init=init, interpolate=(1.5,), progress=False)
    assert not (tmp_path / "x.safetensors").exists()  # refused before training
    with pytest.raises(ShardError, match="embodied clip dataset"):
        train_clip(tmp_path / "nothing", tmp_path / "x.safetensors", TINY, init=init, progress=False)
    with pytest.raises(ConfigError, match="must end in .safetensors"):
        train_clip(data, tmp_path / "x.ckpt2", TINY, init=init, progress=False)
    with pytest.raises(ConfigError, match="sampler"):
        TrainConfig(sampler="shuffled")
    # fine-tuning a checkpoint of another architecture
    other = ClipBackbone(ClipConfig(model="embodied-sim", random_init=True, device="cpu")).save(tmp_path / "sim.safetensors")
    with pytest.raises(CheckpointError, match="embodied-sim"):
        train_clip(data, tmp_path / "y.safetensors", TINY, progress=False,
                   init=ClipConfig(model="embodied-tiny", checkpoint=str(other), device="cpu"))


def test_fine_tuning_a_checkpoint_is_labelled_fine_tuned(data, trained, tmp_path):
    init = ClipConfig(model="embodied-tiny", checkpoint=str(trained.checkpoint), device="cpu")
    res = train_clip(data, tmp_path / "ft.safetensors", TrainConfig(**{**TINY.__dict__, "steps": 3, "lr": 1e-4}),
                     init=init, progress=False)
    assert res.card["kind"] == "fine-tuned" and res.card["note"] is None
    assert res.card["init"]["source"] == "checkpoint" and res.card["init"]["sha256"] == file_sha256(trained.checkpoint)


class _OneHotClip:
    """Images -> one-hot of their dominant colour channel; texts -> one-hot by keyword."""

    embed_dim = 3

    def encode_images(self, images):
        out = np.zeros((len(images), 3), np.float32)
        for i, im in enumerate(images):
            out[i, int(np.argmax(im.reshape(-1, 3).mean(0)))] = 1
        return out

    def text_classifier(self, classnames, templates):
        return np.eye(3, dtype=np.float32)[[("red", "green", "blue").index(c) for c in classnames]]

    def encode_texts(self, texts):
        return np.stack([np.eye(3, dtype=np.float32)[len(t) % 3] for t in texts])


def test_zero_shot_accuracy_numbers():
    imgs = [np.full((4, 4, 3), c, np.uint8) for c in ((200, 0, 0), (0, 200, 0), (0, 0, 200), (0, 0, 200))]
    labels = ["red", "green", "blue", "green"]  # the last one is wrong
    acc = zero_shot_accuracy(_OneHotClip(), imgs, labels, ["red", "green", "blue"], topk=(1, 2))
    assert acc["top1"] == 0.75 and acc["n"] == 4
    assert acc["per_class"]["green"] == {"n": 2, "top1": 0.5} and acc["mean_class_top1"] == pytest.approx(0.8333, abs=1e-4)
    assert acc["confusions"] == [["green", "blue", 1]]
    with pytest.raises(ConfigError, match="not among"):
        zero_shot_accuracy(_OneHotClip(), imgs, ["red", "green", "blue", "cyan"], ["red", "green", "blue"])


def test_drift_and_plot(tmp_path, tiny_clip):
    same = text_drift(tiny_clip, tiny_clip)
    assert same["text_cosine"] == pytest.approx(1.0, abs=1e-4) and same["neighbour_agreement"] == 1.0
    other = ClipBackbone(ClipConfig(model="embodied-tiny", random_init=True, seed=5, device="cpu"))
    assert text_drift(other, tiny_clip)["drift"] > 0.05
    rows = [{"alpha": a, "top1": 0.2 + 0.6 * a, "drift": 0.3 * a} for a in (0.0, 0.5, 1.0)]
    from PIL import Image

    png = plot_tradeoff(rows, tmp_path / "sweep.png")
    with Image.open(png) as im:
        assert im.size == (640, 440)
        assert np.asarray(im.convert("RGB")).std() > 10  # something was drawn


def test_balanced_sampler_crop_share():
    """Per category, ``crop_share`` of the places go to crops when the category has other kinds too;
    None keeps sampling by count."""
    from embodied.clip.shards import ClipSample
    from embodied.clip.train import BatchSampler

    img = np.zeros((4, 4, 3), np.uint8)
    samples = ([ClipSample(f"c{i}", img, "a chair.", {"kind": "crop", "category": "chair"}) for i in range(10)]
               + [ClipSample(f"s{i}", img, "a chair.", {"kind": "segment", "category": "chair"}) for i in range(30)]
               + [ClipSample(f"b{i}", img, "a bed.", {"kind": "segment", "category": "bed"}) for i in range(10)])
    kinds = np.array([s.meta["kind"] == "crop" for s in samples])
    chair = np.array([s.meta["category"] == "chair" for s in samples])

    def crop_fraction(share, steps=400):
        b = BatchSampler(samples, 20, "balanced", torch.Generator().manual_seed(0), share)
        idx = torch.cat([b.next() for _ in range(steps)]).numpy()
        assert abs(chair[idx].mean() - 0.5) < 0.01  # categories stay balanced whatever the kinds
        return kinds[idx].sum() / chair[idx].sum()

    assert crop_fraction(None) == pytest.approx(10 / 40, abs=0.01)  # by count
    assert crop_fraction(0.6) == pytest.approx(0.6, abs=0.02)
    assert crop_fraction(1.0) == 1.0 and crop_fraction(0.0) == 0.0
    with pytest.raises(ConfigError, match="crop_share"):
        TrainConfig(crop_share=1.5)
    with pytest.raises(ConfigError, match="crop_share needs sampler='balanced'"):
        TrainConfig(crop_share=0.5, sampler="random")
