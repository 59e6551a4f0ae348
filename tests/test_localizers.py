"""CoW's localizers as its code defines them (real-stanford/cow): the threshold table, CLIP-Ref over nine
captions, CLIP-Grad from the last blocks with an absolute threshold, OWL-ViT through transformers on a
tiny random model saved to a folder. All offline, on random-init models."""

import json
import math
import time

import numpy as np
import pytest

from embodied.clip.prompts import SHORT_TEMPLATES
from embodied.errors import CheckpointError, ConfigError, WeightsUnavailableError
from embodied.localization import (
    COW_THRESHOLDS,
    REF_REGIONS,
    ClipGradLocalizer,
    ClipRefLocalizer,
    LOCALIZERS,
    OwlVitLocalizer,
    cow_threshold,
    make_localizer,
    ref_captions,
    vit_attention_forward,
)
from embodied.types import CameraIntrinsics, Observation


def _obs(rgb):
    H, W = rgb.shape[:2]
    return Observation(rgb=rgb, intrinsics=CameraIntrinsics.from_hfov(W, H, 90.0), T_world_cam=np.eye(4))


def _frame(H, W, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (H, W, 3), dtype=np.uint8)


# --------------------------------------------------------------------------- thresholds
def test_cow_threshold_table_matches_cows_hparams():
    expected = {  # hparams/habitat.json and hparams/robo.json of real-stanford/cow
        ("habitat", "ViT-B-32", "patch"): 0.91, ("habitat", "ViT-B-32", "grad"): 0.375,
        ("habitat", "ViT-B-32", "owl"): 0.2, ("habitat", "EfficientNet-B3", "mdetr"): 0.95,
        ("robothor", "ViT-B-32", "patch"): 0.875, ("robothor", "ViT-B-32", "ref"): 0.25,
        ("robothor", "ViT-B-32", "grad"): 0.625, ("robothor", "ViT-B-32", "owl"): 0.125,
        ("robothor", "ViT-B-16", "patch"): 0.75, ("robothor", "ViT-B-16", "ref"): 0.125,
        ("robothor", "ViT-B-16", "grad"): 0.375, ("robothor", "ViT-B-16", "owl"): 0.125,
        ("robothor", "EfficientNet-B3", "mdetr"): 0.95,
    }
    for key, value in expected.items():
        assert cow_threshold(*key) == value, key
    table = {(s, m, k): v for s, ms in COW_THRESHOLDS.items() for m, ks in ms.items() for k, v in ks.items()}
    assert table == expected  # nothing more, nothing less
    # CoW's own names are accepted too
    assert cow_threshold("robothor", "ViT-B/32", "lang") == 0.25
    assert cow_threshold("habitat", "google/owlvit-base-patch32", "owl") == 0.2
    with pytest.raises(ConfigError, match="no habitat threshold for localizer 'ref'"):
        cow_threshold("habitat", "ViT-B-32", "ref")  # habitat.json has no CLIP-Ref ("lang") entry
    with pytest.raises(ConfigError, match="unknown CoW simulator 'thor'"):
        cow_threshold("thor", "ViT-B-32", "patch")
    with pytest.raises(ConfigError, match="backbone 'ViT-L-14'"):
        cow_threshold("robothor", "ViT-L-14", "patch")


# --------------------------------------------------------------------------- CLIP-Ref
def test_ref_captions_are_cows():
    caps = ref_captions("chair")
    assert len(caps) == 9 and len(REF_REGIONS) == 9
    assert caps[0] == "chair in the top left" and caps[4] == "chair in the center"
    assert caps[5] == "chair in the center right" and caps[7] == "chair in the bottom center"


def test_ref_probabilities_are_a_softmax_over_template_averaged_captions(tiny_clip):
    rgb = _frame(50, 50)
    loc = ClipRefLocalizer(tiny_clip, threshold=0.0, templates="short")
    probs, score = loc.region_probs(rgb, "chair")
    assert probs.shape == (3, 3) and probs.dtype == np.float32
    assert probs.sum() == pytest.approx(1.0, abs=1e-6)
    # by hand: each caption embedded with every short template, averaged, renormalised
    emb = []
    for cap in ref_captions("chair"):
        e = tiny_clip.encode_texts([t.format(cap) for t in SHORT_TEMPLATES]).mean(axis=0)
        emb.append(e / np.linalg.norm(e))
    img = tiny_clip.encode_images(rgb[None])[0]
    logits = tiny_clip.logit_scale * (np.stack(emb) @ img)
    expect = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    np.testing.assert_allclose(probs.ravel(), expect, rtol=1e-4, atol=1e-6)
    assert np.isfinite(score)


def test_ref_marks_the_regions_above_the_threshold(tiny_clip):
    S = 50  # cells of nearest upsampling: rows ceil(i S / 3) .. ceil((i + 1) S / 3): 0-16, 17-33, 34-49
    rgb = _frame(S, S)
    probs, _ = ClipRefLocalizer(tiny_clip, threshold=0.0).region_probs(rgb, "chair")
    k = int(np.argmax(probs))
    i, j = divmod(k, 3)
    best = ClipRefLocalizer(tiny_clip, threshold=float(probs.max()) - 1e-6)(_obs(rgb), "chair")
    expect = np.zeros((S, S), np.float32)
    cuts = [math.ceil(n * S / 3) for n in range(4)]
    assert cuts == [0, 17, 34, 50]
    expect[cuts[i]:cuts[i + 1], cuts[j]:cuts[j + 1]] = probs[i, j]
    assert best.found and best.relevance.dtype == np.float32
    np.testing.assert_array_equal(best.relevance, expect)
    # threshold 0: all nine regions, each with its probability
    every = ClipRefLocalizer(tiny_clip, threshold=0.0)(_obs(rgb), "chair")
    for n in range(9):
        a, b = divmod(n, 3)
        cell = every.relevance[cuts[a]:cuts[a + 1], cuts[b]:cuts[b + 1]]
        assert np.all(cell == probs[a, b])
    none = ClipRefLocalizer(tiny_clip, threshold=1.0)(_obs(rgb), "chair")
    assert not none.found and not none.relevance.any()


def test_ref_regions_lie_in_the_square_the_model_sees(tiny_clip):
    rgb = _frame(48, 80)  # the tiny model resizes the short side and centre-crops: columns 16..63
    out = ClipRefLocalizer(tiny_clip, threshold=0.0)(_obs(rgb), "chair")
    assert out.relevance.shape == (48, 80)
    assert (out.relevance[:, 16:64] > 0).all() and not out.relevance[:, :16].any() and not out.relevance[:, 64:].any()
    probs, _ = ClipRefLocalizer(tiny_clip, threshold=0.0).region_probs(rgb, "chair")
    assert out.relevance[0, 16] == probs[0, 0] and out.relevance[47, 63] == probs[2, 2]


# --------------------------------------------------------------------------- CLIP-Grad
def _hand_relevance(clip, rgb, goal, blocks):
    """R[cls, patches] accumulated by hand over attention ``blocks`` (indices) from vit_attention_forward."""
    import torch

    txt = torch.from_numpy(clip.text_classifier([goal], "short")[0])
    x = clip.preprocess(rgb[None]).requires_grad_(True)
    with torch.enable_grad():
        pooled, attns = vit_attention_forward(clip, x)
        cos = torch.nn.functional.normalize(pooled, dim=-1)[0] @ txt
        grads = torch.autograd.grad(clip.logit_scale * cos, [attns[b] for b in blocks])
    R = torch.eye(attns[0].shape[-1])
    for b, g in zip(blocks, grads):
        R = R + ((g * attns[b]).clamp(min=0).mean(dim=1)[0]).detach() @ R
    return R[0, 1:].reshape(clip.model.visual.grid_size).numpy()


def test_grad_start_block_selects_the_blocks(tiny_clip):
    n = len(tiny_clip.model.visual.transformer.resblocks)
    assert n == 2
    rgb = _frame(48, 48)
    last = ClipGradLocalizer(tiny_clip, start_block=n - 1).relevance(rgb, "chair")[0]
    full = ClipGradLocalizer(tiny_clip, start_block=0).relevance(rgb, "chair")[0]
    default = ClipGradLocalizer(tiny_clip).relevance(rgb, "chair")[0]  # CoW's 11, clipped to the last block
    assert last.shape == (8, 8) and last.dtype == np.float32 and (last >= 0).all()
    np.testing.assert_allclose(last, _hand_relevance(tiny_clip, rgb, "chair", [n - 1]), rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(full, _hand_relevance(tiny_clip, rgb, "chair", list(range(n))), rtol=1e-4, atol=1e-7)
    np.testing.assert_array_equal(default, last)
    assert not np.allclose(full, last)
    assert ClipGradLocalizer(tiny_clip).first_block(12) == 11  # ViT-B/32: CoW skips blocks 0..10
    assert all(p.grad is None for p in tiny_clip.model.parameters())
    with pytest.raises(ConfigError, match="start_block"):
        ClipGradLocalizer(tiny_clip, start_block=-1)


def test_grad_threshold_is_absolute_and_can_find_nothing(tiny_clip):
    import torch

    rgb = _frame(48, 48)
    grid, score = ClipGradLocalizer(tiny_clip).relevance(rgb, "chair")
    top = 10.0 * float(grid.max())  # CoW's gradient_scalar 10
    assert top > 0
    nothing = ClipGradLocalizer(tiny_clip, threshold=top + 1e-6)(_obs(rgb), "chair")
    assert not nothing.found and nothing.relevance.shape == (48, 48) and not nothing.relevance.any()
    assert nothing.score == pytest.approx(score)
    thr = 0.5 * top
    some = ClipGradLocalizer(tiny_clip, threshold=thr)(_obs(rgb), "chair")
    assert some.found and 0 < (some.relevance > 0).mean() < 1
    # by hand: bilinear upsampling, x 10, kept above the threshold, divided by the maximum only if it exceeds 1
    up = torch.nn.functional.interpolate(torch.from_numpy(grid)[None, None], size=(48, 48), mode="bilinear",
                                         align_corners=False)[0, 0].numpy() * 10.0
    kept = np.where(up > thr, up, 0.0)
    np.testing.assert_allclose(some.relevance, kept / max(1.0, kept.max()), rtol=1e-5, atol=1e-7)
    assert some.relevance.max() <= 1.0


# --------------------------------------------------------------------------- OWL-ViT
def _tiny_owl_folder(root, family="owlvit"):
    """A random-init OWL-ViT (or OWLv2) with hidden size 32, 2 layers, 64 px images, patch 16, and a
    processor around a character-level CLIP tokenizer, saved with save_pretrained."""
    import torch
    import transformers as tf

    root.mkdir(parents=True, exist_ok=True)
    vocab = {"!": 0, "<|startoftext|>": 1}  # OWL-ViT masks a query whose first token id is 0
    for c in "abcdefghijklmnopqrstuvwxyz.":
        vocab.setdefault(c, len(vocab))
        vocab.setdefault(c + "</w>", len(vocab))
    vocab["<|endoftext|>"] = len(vocab)  # the highest id: OWL-ViT pools the text at the first argmax id
    (root / "vocab.json").write_text(json.dumps(vocab))
    (root / "merges.txt").write_text("#version: 0.2\n")
    tok = tf.CLIPTokenizer(str(root / "vocab.json"), str(root / "merges.txt"), model_max_length=32)
    text = dict(vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                num_attention_heads=2, max_position_embeddings=32, bos_token_id=0, eos_token_id=vocab["<|endoftext|>"],
                pad_token_id=vocab["<|endoftext|>"])
    vision = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2, image_size=64,
                  patch_size=16)
    size = {"height": 64, "width": 64}
    if family == "owlvit":
        cfg = tf.OwlViTConfig(text_config=text, vision_config=vision, projection_dim=32)
        model_cls, proc = tf.OwlViTForObjectDetection, tf.OwlViTProcessor(
            image_processor=tf.OwlViTImageProcessor(size=size, crop_size=size), tokenizer=tok)
    else:
        cfg = tf.Owlv2Config(text_config=text, vision_config=vision, projection_dim=32)
        model_cls, proc = tf.Owlv2ForObjectDetection, tf.Owlv2Processor(
            image_processor=tf.Owlv2ImageProcessor(size=size), tokenizer=tok)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = model_cls(cfg).eval()
        with torch.no_grad():  # boxes = the model's grid priors (random box heads saturate the sigmoid)
            model.box_head.dense2.weight.zero_()
            model.box_head.dense2.bias.zero_()
    model.save_pretrained(root)
    proc.save_pretrained(root)
    return root


@pytest.fixture(scope="module")
def owl_folder(tmp_path_factory):
    pytest.importorskip("transformers")
    return _tiny_owl_folder(tmp_path_factory.mktemp("owl") / "tiny-owlvit")


@pytest.mark.parametrize("family", ["owlvit", "owlv2"])
def test_owl_localizer_from_a_folder(tmp_path, owl_folder, family):
    folder = owl_folder if family == "owlvit" else _tiny_owl_folder(tmp_path / "tiny-owlv2", "owlv2")
    rgb = _frame(48, 80)
    loose = OwlVitLocalizer(str(folder), threshold=0.0, device="cpu")
    assert loose.detector.family == family
    boxes, scores = loose.detector.detect(rgb, "a photo of a chair.")
    assert boxes.shape == (16, 4) and scores.shape == (16,)  # (64 / 16) ** 2 patches, one box each
    assert boxes.dtype == np.float32 and ((scores >= 0) & (scores <= 1)).all()
    assert (boxes[:, 0] <= boxes[:, 2]).all() and (boxes[:, 2] <= 80).all() and (boxes[:, 3] <= 48).all()
    out = loose(_obs(rgb), "chair")
    assert out.found and out.relevance.shape == (48, 80) and out.relevance.dtype == np.float32
    assert out.score == pytest.approx(float(scores.max())) and out.relevance.max() == pytest.approx(out.score)
    strict = OwlVitLocalizer(str(folder), threshold=1.01, device="cpu")(_obs(rgb), "chair")
    assert not strict.found and not strict.relevance.any() and strict.score == pytest.approx(out.score)
    # a middle threshold: the boxes with score >= it, filled with their score (the best where they overlap)
    thr = float(np.median(scores))
    mid = OwlVitLocalizer(str(folder), threshold=thr, device="cpu")(_obs(rgb), "chair")
    expect = np.zeros((48, 80), np.float32)
    for (x0, y0, x1, y1), s in zip(boxes, scores):
        if s >= thr:
            sl = (slice(math.floor(y0), math.ceil(y1)), slice(math.floor(x0), math.ceil(x1)))
            expect[sl] = np.maximum(expect[sl], s)
    np.testing.assert_array_equal(mid.relevance, expect)
    assert mid.found == bool(expect.any())
    centred = OwlVitLocalizer(str(folder), threshold=0.0, device="cpu", center=True)(_obs(rgb), "chair")
    assert (centred.relevance > 0).sum() == 1


def test_make_localizer_owl_needs_no_clip(owl_folder):
    assert LOCALIZERS["owl"] is OwlVitLocalizer
    loc = make_localizer("owl", checkpoint=str(owl_folder), threshold=0.0, templates="short", center=False,
                         device="cpu")
    assert isinstance(loc, OwlVitLocalizer) and loc.threshold == 0.0 and loc.query == "a photo of a {}."
    assert loc(_obs(_frame(48, 48)), "chair").found
    assert OwlVitLocalizer(str(owl_folder), device="cpu").threshold == 0.2  # CoW's habitat OWL-ViT B/32


def test_owl_offline_without_weights_fails_fast_and_clearly(tmp_path, monkeypatch):
    pytest.importorskip("transformers")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    t0 = time.monotonic()
    with pytest.raises(WeightsUnavailableError, match=r"'embodied-test/no-such-owlvit'.*save_pretrained"):
        OwlVitLocalizer("embodied-test/no-such-owlvit", device="cpu")
    assert time.monotonic() - t0 < 10.0
    with pytest.raises(CheckpointError, match="not found"):
        OwlVitLocalizer(str(tmp_path / "missing" / "folder"), device="cpu")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="does not hold an OWL-ViT model"):
        OwlVitLocalizer(str(tmp_path / "empty"), device="cpu")
