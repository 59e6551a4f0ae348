import socket
import threading
import time

import numpy as np
import pytest
import torch

from embodied.clip import ClipBackbone, ClipConfig
from embodied.clip.checkpoints import save_state_dict
from embodied import net
from embodied.errors import CheckpointError, ConfigError, WeightsUnavailableError


def tiny(**kw):
    return ClipBackbone(ClipConfig(**{"model": "embodied-tiny", "device": "cpu", **kw}))


def test_random_init_is_explicit_and_seeded(images):
    a, b, c = tiny(random_init=True, seed=1), tiny(random_init=True, seed=1), tiny(random_init=True, seed=2)
    np.testing.assert_array_equal(a.encode_images(images), b.encode_images(images))
    assert not np.allclose(a.encode_images(images), c.encode_images(images))
    assert a.provenance.source == "random" and "RANDOM" in a.provenance.label
    with pytest.raises(ConfigError, match="no pretrained tags"):
        tiny()  # no tag, no file, no random_init: never a silent random model


def test_outputs_are_unit_norm_float32(tiny_clip, images):
    img = tiny_clip.encode_images(images)
    txt = tiny_clip.encode_texts(["a chair", "a bed"])
    for e, n in ((img, 5), (txt, 2)):
        assert e.dtype == np.float32 and e.shape == (n, tiny_clip.embed_dim)
        np.testing.assert_allclose(np.linalg.norm(e, axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("suffix", [".safetensors", ".pt"])
def test_checkpoint_round_trip_is_identical(tmp_path, tiny_clip, images, suffix):
    path = tiny_clip.save(tmp_path / f"w{suffix}")
    loaded = tiny(checkpoint=str(path))
    np.testing.assert_allclose(loaded.encode_images(images), tiny_clip.encode_images(images), atol=1e-6, rtol=0)
    np.testing.assert_allclose(loaded.encode_texts(["a mug"]), tiny_clip.encode_texts(["a mug"]), atol=1e-6, rtol=0)
    prov = loaded.provenance
    assert prov.source == "checkpoint" and len(prov.sha256) == 64 and prov.path == str(path.resolve())


def test_open_clip_training_checkpoint_layout_loads(tmp_path, tiny_clip, images):
    sd = {f"module.{k}": v for k, v in tiny_clip.model.state_dict().items()}
    torch.save({"epoch": 3, "state_dict": sd}, tmp_path / "epoch_3.pt")
    loaded = tiny(checkpoint=str(tmp_path / "epoch_3.pt"))
    np.testing.assert_allclose(loaded.encode_images(images), tiny_clip.encode_images(images), atol=1e-6, rtol=0)


def test_bad_checkpoints_give_clear_errors(tmp_path, tiny_clip):
    with pytest.raises(CheckpointError, match="not found"):
        tiny(checkpoint=str(tmp_path / "missing.pt"))
    (tmp_path / "corrupt.safetensors").write_bytes(b"\x00garbage" * 10)
    with pytest.raises(CheckpointError, match="corrupt"):
        tiny(checkpoint=str(tmp_path / "corrupt.safetensors"))
    sd = dict(tiny_clip.model.state_dict())
    sd.pop("logit_scale")
    sd["visual.proj"] = torch.zeros(3, 3)
    torch.save(sd, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match=r"1 missing keys \['logit_scale'\].*1 shape mismatches"):
        tiny(checkpoint=str(tmp_path / "other.pt"))
    save_state_dict(tmp_path / "b16.safetensors", tiny_clip.model.state_dict(), {"embodied.architecture": "ViT-B-16"})
    with pytest.raises(CheckpointError, match="holds a 'ViT-B-16' model"):
        tiny(checkpoint=str(tmp_path / "b16.safetensors"))


@pytest.mark.parametrize("on_device", [False, True], ids=["pil-threads", "torch-batched"])
@pytest.mark.parametrize("hw", [(120, 160), (160, 120), (64, 64)])
def test_preprocessing_matches_open_clip_transform(tiny_clip, on_device, hw):
    """Both resize paths against open_clip's own PIL eval transform."""
    from open_clip.transform import PreprocessCfg, image_transform_v2
    from PIL import Image

    rng = np.random.default_rng(3)
    # smooth images (real photos are smooth; per-pixel noise exaggerates resampling differences)
    base = rng.integers(0, 256, (3, 12, 16, 3), dtype=np.uint8)
    imgs = np.stack([np.asarray(Image.fromarray(b).resize(hw[::-1], Image.BILINEAR)) for b in base])
    tiny_clip.resize_on_device = on_device
    try:
        ours = tiny_clip.preprocess(imgs)
    finally:
        tiny_clip.resize_on_device = False
    pil = image_transform_v2(PreprocessCfg(**tiny_clip.preprocess_cfg), is_train=False)
    ref = torch.stack([pil(Image.fromarray(a)) for a in imgs])
    assert ours.shape == ref.shape == (3, 3, 64, 64)
    if not on_device:  # the PIL path is open_clip's transform, batched
        torch.testing.assert_close(ours, ref, atol=1e-5, rtol=0)
    # one uint8 step is 1/255/std ~ 0.015 in normalised units
    assert (ours - ref).abs().mean() < 0.01 and (ours - ref).abs().max() < 0.1
    with torch.inference_mode():
        a = torch.nn.functional.normalize(tiny_clip.model.encode_image(ours), dim=-1)
        b = torch.nn.functional.normalize(tiny_clip.model.encode_image(ref), dim=-1)
    assert (a * b).sum(-1).min() > 0.999


def test_uncommon_resize_mode_falls_back_to_open_clip(images):
    clip = tiny(random_init=True)
    clip.preprocess_cfg = {**clip.preprocess_cfg, "resize_mode": "longest"}
    x = clip.preprocess(images)  # (48, 64) -> longest side 64, padded to 64 x 64 with fill 0
    assert x.shape == (5, 3, 64, 64)
    fill = -torch.tensor(clip.preprocess_cfg["mean"]) / torch.tensor(clip.preprocess_cfg["std"])
    torch.testing.assert_close(x[:, :, 0, 0], fill.expand(5, 3))  # top rows are padding


def test_mixed_sizes_and_batching_are_consistent(tiny_clip):
    rng = np.random.default_rng(1)
    imgs = [rng.integers(0, 256, s, dtype=np.uint8) for s in [(48, 64, 3), (100, 80, 3), (48, 64, 3), (64, 64, 3)]]
    together = tiny_clip.encode_images(imgs)
    alone = np.concatenate([tiny_clip.encode_images(im[None]) for im in imgs])
    np.testing.assert_allclose(together, alone, atol=1e-5)
    big = tiny(random_init=True, seed=0, batch_size=64)
    np.testing.assert_allclose(big.encode_images(imgs), together, atol=1e-5)
    with pytest.raises(ValueError, match="uint8"):
        tiny_clip.encode_images(np.zeros((1, 8, 8, 3), np.float32))
    with pytest.raises(ValueError, match="single"):
        tiny_clip.encode_images(imgs[0])
    with pytest.raises(ValueError, match=r"RGB, got shape \(2, 10, 10\)"):
        tiny_clip.encode_images(np.zeros((2, 10, 10), np.uint8))  # a grayscale batch


def test_mixed_sizes_share_forward_passes():
    clip = tiny(random_init=True, batch_size=8)
    rng = np.random.default_rng(2)
    imgs = [rng.integers(0, 256, (20 + i, 30, 3), dtype=np.uint8) for i in range(20)]  # 20 sizes
    before = clip.image_forwards
    emb = clip.encode_images(imgs)
    assert clip.image_forwards - before == 3  # ceil(20 / 8), not one per size
    np.testing.assert_allclose(emb[13], clip.encode_images(imgs[13][None])[0], atol=1e-5)


def test_empty_inputs(tiny_clip):
    D = tiny_clip.embed_dim
    assert tiny_clip.encode_images([]).shape == (0, D)
    assert tiny_clip.patch_features([]).shape == (0, 8, 8, D)
    assert tiny_clip.encode_texts([]).shape == (0, D)
    assert tiny_clip.text_classifier([], "short").shape == (0, D)
    cos, prob = tiny_clip.similarity(np.zeros((2, D), np.float32), np.zeros((0, D), np.float32))
    assert cos.shape == prob.shape == (2, 0)
    with pytest.raises(ConfigError, match="at least one template"):
        tiny_clip.text_classifier(["chair"], [])


def test_text_cache_hits_cost_no_forward(images):
    clip = tiny(random_init=True, text_cache_size=3)
    calls = []
    original = clip.model.encode_text
    clip.model.encode_text = lambda tokens, **kw: calls.append(len(tokens)) or original(tokens, **kw)
    first = clip.encode_texts(["a chair", "a bed", "a chair"])
    assert calls == [2]  # duplicates within a call are encoded once
    again = clip.encode_texts(["a bed", "a chair"])
    assert calls == [2] and clip.text_forwards == 1
    np.testing.assert_array_equal(again, first[[1, 0]])
    assert all(v.base is None for v in clip._text_cache.values())  # rows own their memory
    clip.encode_texts(["a sofa", "a lamp"])  # capacity 3: evicts the least recently used ("a bed")
    assert calls == [2, 2]
    clip.encode_texts(["a chair"])
    assert calls == [2, 2]
    clip.encode_texts(["a bed"])
    assert calls == [2, 2, 1]


def test_text_classifier_is_mean_of_templates(tiny_clip):
    templates = ["a photo of a {}.", "a {} in a room."]
    clf = tiny_clip.text_classifier(["chair", "bed"], templates)
    manual = tiny_clip.encode_texts(["a photo of a chair.", "a chair in a room."]).mean(0)
    np.testing.assert_allclose(clf[0], manual / np.linalg.norm(manual), atol=1e-6)
    assert tiny_clip.text_classifier(["chair"], "imagenet").shape == (1, tiny_clip.embed_dim)
    with pytest.raises(ConfigError, match="unknown template set"):
        tiny_clip.text_classifier(["chair"], "nope")
    with pytest.raises(ValueError, match="exactly one"):
        tiny_clip.text_classifier(["chair"], ["no placeholder"])


def test_patch_features_equal_open_clip_tokens_projected(tiny_clip, images):
    feats = tiny_clip.patch_features(images)
    assert feats.shape == (5, 8, 8, tiny_clip.embed_dim)
    np.testing.assert_allclose(np.linalg.norm(feats, axis=-1), 1.0, atol=1e-5)
    visual = tiny_clip.model.visual
    visual.output_tokens = True
    try:
        with torch.inference_mode():
            _, tokens = visual(tiny_clip.preprocess(images))
            ref = torch.nn.functional.normalize(tokens @ visual.proj, dim=-1).reshape(5, 8, 8, -1).numpy()
    finally:
        visual.output_tokens = False
    np.testing.assert_allclose(feats, ref, atol=1e-5)


def test_config_validation():
    with pytest.raises(ConfigError, match="one weights source"):
        ClipConfig(pretrained="laion2b_s34b_b79k", random_init=True)
    with pytest.raises(ConfigError, match="one weights source"):
        ClipConfig(checkpoint="x.pt", random_init=True)
    for dev, msg in (("cuda:7", "CUDA device"), ("mps", "MPS is not available"), ("xla", "unsupported device")):
        if dev == "cuda:7" and torch.cuda.device_count() > 7:
            continue
        with pytest.raises(ConfigError, match=msg):
            tiny(random_init=True, device=dev)
    with pytest.raises(ConfigError, match="precision"):
        ClipConfig(precision="fp8")
    with pytest.raises(ConfigError, match="fp16 needs a GPU"):
        tiny(random_init=True, precision="fp16")
    with pytest.raises(ConfigError, match="unknown CLIP architecture 'ViT-B-33'.*ViT-B-32"):
        ClipBackbone(ClipConfig(model="ViT-B-33", random_init=True))
    with pytest.raises(ConfigError, match="unknown pretrained tag 'nope'.*laion2b_s34b_b79k"):
        ClipBackbone(ClipConfig(model="ViT-B-32", pretrained="nope"))


@pytest.fixture
def silent_server():
    """A local TCP server that accepts connections and never answers (a hung network)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    conns = []
    stop = threading.Event()

    def accept():
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                conns.append(srv.accept()[0])
            except OSError:
                pass

    th = threading.Thread(target=accept, daemon=True)
    th.start()
    yield f"http://127.0.0.1:{srv.getsockname()[1]}"
    stop.set()
    th.join()
    for c in conns:
        c.close()
    srv.close()


def test_offline_fails_fast_with_cache_dir_in_message(tmp_path, monkeypatch, silent_server):
    monkeypatch.setenv("HF_ENDPOINT", silent_server)  # the hub "exists" but never answers
    t0 = time.monotonic()
    with pytest.raises(WeightsUnavailableError) as err:
        ClipBackbone(ClipConfig(model="ViT-B-32", pretrained="laion2b_s34b_b79k", cache_dir=str(tmp_path),
                                offline_timeout_s=1.0))
    elapsed = time.monotonic() - t0
    assert elapsed < 5.0
    msg = str(err.value)
    for part in ("ViT-B-32", "laion2b_s34b_b79k", str(tmp_path), "--checkpoint", "unreachable"):
        assert part in msg


def test_cached_pretrained_weights_load_without_network(tmp_path, monkeypatch, tiny_clip, images):
    """A tag whose file is in the Hugging Face cache layout loads with no network call at all."""
    import open_clip.pretrained as ocp

    monkeypatch.setitem(ocp._PRETRAINED, "embodied-tiny",
                        {"unit": {"hf_hub": "embodied/tiny-unit/", "mean": (0.5, 0.5, 0.5), "std": (0.5, 0.5, 0.5)}})
    snap = tmp_path / "models--embodied--tiny-unit" / "snapshots" / "abc123"
    (tmp_path / "models--embodied--tiny-unit" / "refs").mkdir(parents=True)
    (tmp_path / "models--embodied--tiny-unit" / "refs" / "main").write_text("abc123")
    save_state_dict(snap / "open_clip_model.safetensors", tiny_clip.model.state_dict())

    def no_network(*a, **k):
        raise AssertionError("network probed although the weights are cached")

    monkeypatch.setattr(net, "reachable", no_network)
    clip = tiny(pretrained="unit", cache_dir=str(tmp_path))
    assert clip.provenance.source == "pretrained" and clip.provenance.tag == "unit"
    assert clip.preprocess_cfg["mean"] == (0.5, 0.5, 0.5)  # the tag's preprocessing, not the default
    np.testing.assert_allclose(clip.encode_texts(["a cup"]), tiny_clip.encode_texts(["a cup"]), atol=1e-6, rtol=0)


def _fake_tag(monkeypatch, tag, **cfg):
    import open_clip.pretrained as ocp

    tags = dict(ocp._PRETRAINED.get("embodied-tiny", {}))
    tags[tag] = {"hf_hub": f"embodied/tiny-{tag}/", **cfg}
    monkeypatch.setitem(ocp._PRETRAINED, "embodied-tiny", tags)


def _seed_hf_cache(cache, tag, state_dict):
    repo = cache / f"models--embodied--tiny-{tag}"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("abc123")
    save_state_dict(repo / "snapshots" / "abc123" / "open_clip_model.safetensors", state_dict)
    return repo / "snapshots" / "abc123" / "open_clip_model.safetensors"


@pytest.mark.parametrize("suffix", [".safetensors", ".pt"])
def test_tag_settings_survive_save_and_reload(tmp_path, monkeypatch, tiny_clip, images, suffix):
    """QuickGELU and the tag's mean/std travel with our checkpoints, or come from --pretrained."""
    _fake_tag(monkeypatch, "qg", quick_gelu=True, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))
    hub_file = _seed_hf_cache(tmp_path, "qg", tiny_clip.model.state_dict())
    tagged = tiny(pretrained="qg", cache_dir=str(tmp_path))
    act = type(tagged.model.visual.transformer.resblocks[0].mlp.gelu).__name__
    assert tagged.quick_gelu and act == "QuickGELU"
    ref = tagged.encode_images(images)
    again = tiny(checkpoint=str(tagged.save(tmp_path / f"saved{suffix}")))
    assert again.quick_gelu and list(again.preprocess_cfg["mean"]) == [0.5, 0.5, 0.5]
    np.testing.assert_allclose(again.encode_images(images), ref, atol=1e-6, rtol=0)
    # the raw hub file carries no metadata: --pretrained supplies the tag's settings, offline
    monkeypatch.setattr(net, "reachable", lambda *a: (_ for _ in ()).throw(AssertionError("network")))
    hub = tiny(checkpoint=str(hub_file), pretrained="qg")
    assert hub.provenance.source == "checkpoint" and hub.provenance.tag == "qg"
    np.testing.assert_allclose(hub.encode_images(images), ref, atol=1e-6, rtol=0)
    plain = tiny(checkpoint=str(hub_file))  # without the tag: GELU and default mean, different outputs
    assert not plain.quick_gelu and np.abs(plain.encode_images(images) - ref).max() > 1e-3


def test_saved_files_get_the_usual_mode(tmp_path, tiny_clip):
    import os

    umask = os.umask(0o022)
    try:
        for suffix in (".safetensors", ".pt"):
            assert (tiny_clip.save(tmp_path / f"m{suffix}").stat().st_mode & 0o777) == 0o644
    finally:
        os.umask(umask)


def test_same_weights_same_file_bytes_in_every_process(tmp_path):
    """safetensors writes metadata in hash-map order, which changes per process; our files do not
    (the sha256 in a provenance label must be reproducible)."""
    import subprocess
    import sys

    from safetensors import safe_open

    code = ("import sys, torch; from embodied.clip.checkpoints import save_state_dict; "
            "save_state_dict(sys.argv[1], {'w': torch.arange(6.0).reshape(2, 3), 'b': torch.ones(5, dtype=torch.float16)}, "
            "{f'key{i}': str(i) for i in range(16)})")
    files = [tmp_path / f"m{i}.safetensors" for i in range(3)]
    for f in files:
        subprocess.run([sys.executable, "-c", code, str(f)], check=True)
    blobs = {f.read_bytes() for f in files}
    assert len(blobs) == 1
    with safe_open(str(files[0]), "pt") as st:  # still a valid safetensors file
        assert st.metadata()["key7"] == "7" and st.get_tensor("w")[1, 2] == 5.0 and st.get_tensor("b").dtype == torch.float16


def test_hf_tokenizer_architectures_need_transformers(monkeypatch):
    import sys

    from embodied.errors import MissingDependencyError

    monkeypatch.setitem(sys.modules, "transformers", None)  # as on a machine without the [hf] extra
    with pytest.raises(MissingDependencyError, match=r"embodied-zeroshot\[hf\]"):
        tiny_clip_siglip = ClipBackbone(ClipConfig(model="ViT-B-16-SigLIP", random_init=True, device="cpu"))
        del tiny_clip_siglip


def test_shared_backbone_is_loaded_once():
    from embodied.clip import get_backbone

    cfg = ClipConfig(model="embodied-tiny", random_init=True, seed=5, device="cpu")
    assert get_backbone(cfg) is get_backbone(ClipConfig(model="embodied-tiny", random_init=True, seed=5, device="cpu"))


@pytest.mark.gpu
def test_gpu_autocast_matches_cpu(images):
    cpu = tiny(random_init=True)
    gpu = ClipBackbone(ClipConfig(model="embodied-tiny", random_init=True, device="cuda", precision="auto"))
    assert gpu.device.type == "cuda" and gpu.autocast_dtype is not None
    cos = (cpu.encode_images(images) * gpu.encode_images(images)).sum(1)
    assert cos.min() > 0.99
