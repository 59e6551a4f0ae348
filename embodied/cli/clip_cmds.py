"""``embodied clip dataset | train | eval | prepare | interpolate``: CLIP data from the built-in
simulator, contrastive training and fine-tuning, WiSE-FT / PAINT blends, and evaluation.

Also the ``--clip auto`` resolution with the sim-trained fallback (:func:`resolve_clip_auto`), which the
other commands (``embodied nav``, ``embodied clip embed``) call.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click

from datasets3d.clip_data import ClipDataConfig
from datasets3d.sim_clip import default_eval_data, prepare_sim_trained, sim_categories
from embodied import __version__
from embodied.cli.options import CONTEXT, Group, clip_config_from_options, clip_options, field_option
from embodied.errors import ConfigError

__all__ = ["clip", "parse_alphas"]


def _backbone(cfg):
    from embodied.clip import get_backbone

    return get_backbone(cfg)


def parse_alphas(values: tuple[str, ...]) -> list[float]:
    """"0.5", "0,0.25,1" or "0:1:0.25" (start:stop:step, stop included) -> sorted alphas in [0, 1]."""
    from embodied.clip.train import check_alphas

    out: list[float] = []
    for v in values:
        for part in str(v).split(","):
            part = part.strip()
            if not part:
                continue
            try:
                if ":" in part:
                    a, b, step = (float(x) for x in part.split(":"))
                    if step <= 0:
                        raise ValueError
                    n = int(round((b - a) / step))
                    out += [round(a + i * step, 6) for i in range(n + 1)]
                else:
                    out.append(float(part))
            except ValueError:
                raise ConfigError(f"cannot read alpha '{part}'; use a number in [0, 1], a list '0,0.5,1' or a "
                                  "sweep 'start:stop:step' like 0:1:0.25") from None
    return check_alphas(out)


# ----------------------------------------------------------------------------- commands
@click.command("dataset")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="Output folder.")
@field_option(ClipDataConfig, "split", type=click.Choice(["train", "val", "test"]),
              help="House split (train 0-799, val 800-899, test 900-999).")
@field_option(ClipDataConfig, "houses", type=click.IntRange(min=1), help="Houses to render.")
@field_option(ClipDataConfig, "first_house", type=click.IntRange(min=0), help="Index of the first house within the split.")
@field_option(ClipDataConfig, "crops_per_category", type=click.IntRange(min=0),
              help="Object crops per category present in a house.")
@field_option(ClipDataConfig, "frames_per_house", type=click.IntRange(min=0), help="Whole frames per house.")
@field_option(ClipDataConfig, "cells_per_frame", type=click.IntRange(min=0),
              help="Captioned 3x3 cells kept per frame (what CLIP-Patch sees).")
@field_option(ClipDataConfig, "frame_px", type=click.IntRange(min=32), help="Frame size (px).")
@field_option(ClipDataConfig, "crop_px", type=click.IntRange(min=16), help="Object crop size (px).")
@click.option("--masks", is_flag=True, help="Store instance masks with frames (evaluation data for localizers).")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Render processes (default: up to 2).")
@field_option(ClipDataConfig, "seed", type=int, help="Seed of the views and crops.")
@click.option("--overwrite", is_flag=True, help="Replace a dataset already in --out.")
def dataset(out, split, houses, first_house, crops_per_category, frames_per_house, cells_per_frame, frame_px,
            crop_px, masks, workers, seed, overwrite) -> None:
    """Render image-caption pairs from built-in houses as WebDataset shards with a JSON index.

    Crops around object instances, whole frames and their 3x3 cells, captioned from the categories and
    attributes the generator knows ("a photo of a small red fabric chair in a bedroom.").

    \b
    Examples:
      embodied clip dataset --out outputs/clip-data/train --houses 100
      embodied clip dataset --out outputs/clip-data/val --split val --houses 20 --masks --cells-per-frame 0
    """
    import os

    from datasets3d.clip_data import write_clip_dataset

    cfg = ClipDataConfig(split=split, houses=houses, first_house=first_house, crops_per_category=crops_per_category,
                         frames_per_house=frames_per_house, cells_per_frame=cells_per_frame, frame_px=frame_px,
                         crop_px=crop_px, keep_masks=masks, workers=workers or max(1, min(2, os.cpu_count() or 1)),
                         seed=seed)
    index_path = write_clip_dataset(out, cfg, overwrite=overwrite)
    index = json.loads(index_path.read_text())
    counts = ", ".join(f"{v} {k}s" for k, v in index["counts"].items())
    click.echo(f"{index['total']} samples ({counts}) from {len(index['houses'])} {split} houses in "
               f"{index['render_seconds']:.0f} s -> {out}")
    click.echo(f"index: {index_path}  (fingerprint {index['fingerprint'][:12]})")


@click.command("train")
@click.option("--data", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Training dataset folder (from `embodied clip dataset`).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Checkpoint to write (.safetensors); the model card goes next to it (.card.json).")
@click.option("--model", default=None, help="Architecture (default: embodied-sim from scratch, ViT-B-32 to fine-tune).")
@click.option("--pretrained", default=None, help="Fine-tune this open_clip pretrained tag.")
@click.option("--checkpoint", "init_checkpoint", type=click.Path(dir_okay=False, exists=True), default=None,
              help="Fine-tune these weights (a local state dict of --model).")
@click.option("--steps", type=click.IntRange(min=1), default=None, help="Optimiser steps (default: the recipe's).")
@click.option("--batch-size", type=click.IntRange(min=2), default=None)
@click.option("--lr", type=float, default=None, help="Peak learning rate (default 2e-3 from scratch, 1e-5 fine-tuning).")
@click.option("--warmup", type=click.IntRange(min=0), default=None, help="Warm-up steps.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--threads", type=click.IntRange(min=1), default=None, help="torch CPU threads.")
@click.option("--device", default="auto", show_default=True)
@click.option("--interpolate", "alphas", multiple=True,
              help="Also write WiSE-FT blends (1-a)*initial + a*trained: 0.5, '0.25,0.5' or a sweep '0:1:0.25'.")
@click.option("--eval-data", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Held-out dataset to evaluate the result (and blends) on; results go into the model card.")
def train(data, out, model, pretrained, init_checkpoint, steps, batch_size, lr, warmup, seed, threads, device, alphas,
          eval_data) -> None:
    """Contrastive CLIP training: a small model from scratch, or fine-tuning pretrained weights.

    Writes the checkpoint and a JSON model card (architecture, data, steps, seed, wall time, loss
    curve, evaluation). On the CPU the same seed gives the same weights.

    \b
    Examples:
      embodied clip train --data outputs/clip-data/train --out outputs/clip/sim.safetensors
      embodied clip train --data D --out ft.safetensors --model ViT-B-32 --pretrained laion2b_s34b_b79k \\
          --lr 1e-5 --steps 500 --interpolate 0:1:0.25 --eval-data outputs/clip-data/val
    """
    from dataclasses import replace

    from embodied.clip import ClipConfig
    from embodied.clip.auto import SIM_MODEL, sim_trained_recipe
    from embodied.clip.train import train_clip

    blend = parse_alphas(alphas)
    scratch = not (pretrained or init_checkpoint)
    recipe = sim_trained_recipe(device)
    if not scratch:
        recipe = replace(recipe, lr=1e-5, steps=500, batch_size=128, warmup_steps=50, patch_init="random")
    recipe = replace(recipe, seed=seed, device=device, threads=threads,
                     **{k: v for k, v in (("steps", steps), ("batch_size", batch_size), ("lr", lr),
                                          ("warmup_steps", warmup)) if v is not None})
    if scratch:
        init = ClipConfig(model=model or SIM_MODEL, random_init=True, seed=seed)
    else:
        init = ClipConfig(model=model or "ViT-B-32", pretrained=pretrained,
                          checkpoint=str(init_checkpoint) if init_checkpoint else None)
    evaluate = None
    if eval_data is not None:
        evaluate = _evaluator(eval_data, data)
    res = train_clip(data, out, recipe, init=init, evaluate=evaluate, interpolate=blend,
                     extra_card={"embodied": __version__})
    t = res.card["training"]
    click.echo(f"trained {init.model} ({res.card['kind']}, {t['steps']} steps, seed {t['seed']}) in {t['seconds']:.0f} s: "
               f"loss {t['initial_loss']:.3f} -> {t['final_loss']:.3f}")
    click.echo(f"checkpoint: {res.checkpoint}\nmodel card: {res.card_path}")
    if "evaluation" in res.card:
        _echo_eval(res.card["evaluation"])
    for p in res.blends:
        click.echo(f"blend: {p}")


def _evaluator(eval_dir: Path, train_dir: Path | None):
    """A callback for train_clip: held-out classification + pointing, after checking for leakage."""
    from embodied.clip.evaluate import POINTING_LOCALIZERS, evaluate_samples
    from embodied.clip.shards import check_held_out, load_samples, read_index

    index = read_index(eval_dir)
    if train_dir is not None:
        check_held_out(read_index(train_dir).get("scenes", []), index)
    samples = load_samples(eval_dir)

    def evaluate(backbone) -> dict[str, Any]:
        ev = evaluate_samples(backbone, samples, index.get("categories") or sim_categories(),
                              localizers=POINTING_LOCALIZERS, max_queries=100)
        ev["data"] = {"dir": str(eval_dir), "split": index.get("split"), "fingerprint": index["fingerprint"]}
        return ev

    return evaluate


def _echo_eval(ev: dict[str, Any]) -> None:
    c = ev["classification"]
    click.echo(f"zero-shot classification ({c['classes']} categories, {c['n']} held-out crops): top-1 {c['top1']:.3f}  "
               f"top-5 {c['top5']:.3f}  mean per-class top-1 {c['mean_class_top1']:.3f}")
    worst = sorted(c["per_class"].items(), key=lambda kv: kv[1]["top1"])[:4]
    click.echo("  weakest: " + ", ".join(f"{k} {v['top1']:.2f}" for k, v in worst))
    p = ev.get("pointing")
    if p:
        click.echo(f"localization on held-out frames ({p['positives']} goal views, {p['negatives']} absent goals):")
        for name, r in p.items():
            if isinstance(r, dict) and "skipped" in r:
                click.echo(f"  {name:<6} skipped: {r['skipped']}")
            elif isinstance(r, dict):
                extra = f"  best threshold {r['best_threshold']['threshold']:.2f}" if "best_threshold" in r else ""
                fpr = f"{r['found_fpr']:.2f}" if r.get("found_fpr") is not None else "-"
                click.echo(f"  {name:<6} pointing {r['pointing']:.3f} (chance {r['chance']:.3f})  found: TPR "
                           f"{r['found_tpr']:.2f} FPR {fpr} at threshold {r['threshold']:.2f}{extra}")


@click.option("--data", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Held-out dataset (default: 20 val houses, rendered once into the cache).")
@click.option("--localizers", default="patch,dense,grad,ref", show_default=True,
              help="Comma list of CLIP localizers to score on frames ('' = none).")
@click.option("--templates", default="short", show_default=True, help="Prompt ensemble: short, imagenet or none.")
@click.option("--max-queries", type=click.IntRange(min=1), default=200, show_default=True,
              help="Goal views (and absent goals) per localizer.")
@click.option("--zeroshot", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="Sweep: the zero-shot checkpoint (alpha 0).")
@click.option("--finetuned", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="Sweep: the fine-tuned checkpoint (alpha 1).")
@click.option("--alphas", "alphas", multiple=True, default=("0:1:0.25",), show_default=True,
              help="Sweep blend weights: '0.5', '0,0.5,1' or 'start:stop:step'.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for eval.json / sweep.json, sweep.png and blends (default: outputs/clip/eval).")
@click.option("--update-card", is_flag=True, help="Write the results into the checkpoint's model card.")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def _evaluate(data, localizers, templates, max_queries, zeroshot, finetuned, alphas, out, update_card,
                 as_json, **kw) -> None:
    """Zero-shot accuracy (top-1 / top-5 over all categories) on held-out-house crops, and pointing
    accuracy of the CoW localizers on held-out frames.

    With --zeroshot and --finetuned: a WiSE-FT / PAINT sweep over --alphas, reporting accuracy on sim
    data against the drift from the zero-shot model (text-embedding cosine on captions from outside the
    simulator), plotted to sweep.png.

    \b
    Examples:
      embodied clip eval                                   # the --model auto weights on the default held-out set
      embodied clip eval --checkpoint sim.safetensors --data outputs/clip-data/val
      embodied clip eval --zeroshot zs.safetensors --finetuned ft.safetensors --alphas 0:1:0.1
    """
    from embodied.clip.auto import weights_label
    from embodied.clip.evaluate import evaluate_samples
    from embodied.clip.model_card import read_model_card, update_model_card
    from embodied.clip.shards import check_held_out, load_samples, read_index

    echo = (lambda m: click.echo(m, err=True)) if as_json else click.echo
    names = [n.strip() for n in localizers.split(",") if n.strip()]
    data = data or default_eval_data(echo)
    index = read_index(data)
    classnames = index.get("categories") or sim_categories()
    out = out or Path("outputs/clip/eval")
    if (zeroshot is None) != (finetuned is None):
        raise ConfigError("a blend sweep needs both --zeroshot and --finetuned checkpoints")
    samples = load_samples(data)
    if zeroshot is not None:
        rows = _sweep(zeroshot, finetuned, parse_alphas(alphas), samples, classnames, templates, index, out, kw, echo)
        if as_json:
            click.echo(json.dumps({"data": str(data), "rows": rows}, indent=1))
        return
    cfg = clip_config_from_options(kw, echo=echo)
    backbone = _backbone(cfg)
    card = read_model_card(cfg.checkpoint) if cfg.checkpoint else None
    if card and card.get("data", {}).get("scenes"):
        check_held_out(card["data"]["scenes"], index, what=f"training data of {cfg.checkpoint}")
    label = weights_label(backbone.provenance)
    echo(f"weights: {label}")
    t0 = time.perf_counter()
    ev = evaluate_samples(backbone, samples, classnames, templates=templates, localizers=names,
                          max_queries=max_queries)
    ev.update(weights=label, provenance=backbone.provenance.to_dict(), seconds=round(time.perf_counter() - t0, 1),
              data={"dir": str(data), "split": index.get("split"), "fingerprint": index["fingerprint"],
                    "scenes": len(index.get("scenes", []))}, templates=templates, embodied=__version__)
    out.mkdir(parents=True, exist_ok=True)
    (out / "eval.json").write_text(json.dumps(ev, indent=1))
    if update_card and cfg.checkpoint:
        update_model_card(cfg.checkpoint, evaluation=ev)
    if as_json:
        click.echo(json.dumps(ev, indent=1))
        return
    _echo_eval(ev)
    click.echo(f"results: {out / 'eval.json'}")


def _sweep(zeroshot: Path, finetuned: Path, alphas: list[float], samples, classnames, templates, index, out: Path,
           kw: dict, echo) -> list[dict[str, Any]]:
    from embodied.clip import ClipConfig, interpolate_checkpoints
    from embodied.clip.checkpoints import ARCH_KEY, load_state_dict
    from embodied.clip.evaluate import plot_tradeoff, text_drift, zero_shot_accuracy
    from embodied.clip.model_card import read_model_card

    _, meta = load_state_dict(zeroshot)
    model = kw.get("model") if kw.get("model") not in (None, "auto") else meta.get(ARCH_KEY)
    if not model:
        raise ConfigError(f"{zeroshot} does not say its architecture; pass --model")
    for ck in (zeroshot, finetuned):
        card = read_model_card(ck)
        if card and card.get("data", {}).get("scenes"):
            from embodied.clip.shards import check_held_out

            check_held_out(card["data"]["scenes"], index, what=f"training data of {ck}")
    crops = [s for s in samples if s.meta.get("kind") == "crop" and s.meta.get("category") in classnames]
    base = dict(model=model, device=kw.get("device") or "auto", batch_size=kw.get("batch_size") or 32)
    zs = _backbone(ClipConfig(checkpoint=str(zeroshot), **base))
    rows = []
    blends = out / "blends"
    for a in alphas:
        path = interpolate_checkpoints(zeroshot, finetuned, a, blends / f"blend-{a:.2f}.safetensors")
        clip = _backbone(ClipConfig(checkpoint=str(path), **base))
        acc = zero_shot_accuracy(clip, [s.image for s in crops], [s.meta["category"] for s in crops], classnames,
                                 templates)
        row = {"alpha": a, "top1": acc["top1"], "top5": acc["top5"], **text_drift(clip, zs), "checkpoint": str(path)}
        rows.append(row)
        echo(f"alpha {a:.2f}: top-1 {row['top1']:.3f}  top-5 {row['top5']:.3f}  drift {row['drift']:.4f} "
             f"(text cosine to zero-shot {row['text_cosine']:.4f})")
    out.mkdir(parents=True, exist_ok=True)
    (out / "sweep.json").write_text(json.dumps({"zeroshot": str(zeroshot), "finetuned": str(finetuned),
                                                "architecture": model, "rows": rows}, indent=1))
    png = plot_tradeoff(rows, out / "sweep.png")
    echo(f"sweep: {out / 'sweep.json'}  plot: {png}")
    return rows


@click.command("prepare")
@click.option("--force", is_flag=True, help="Train again even when the cached model exists.")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Render processes (default: up to 2).")
@click.option("--device", default="auto", show_default=True)
def prepare(force, workers, device) -> None:
    """Train the sim-trained CLIP model into the cache (what `--model auto` does on first use offline).

    Renders image-caption pairs from 100 train-split houses, trains the small embodied-sim model
    from scratch (about 5 minutes on a 2-core CPU), evaluates it on 20 held-out val houses and writes
    the checkpoint and its model card to the cache (see `embodied info`).
    """
    from embodied.clip.auto import cached_sim_trained, sim_trained_path
    from embodied.files import file_lock

    path = sim_trained_path()
    with file_lock(path.with_name(path.name + ".lock")):
        found = cached_sim_trained()
        if found and not force:
            click.echo(f"already trained: {found[0]} (use --force to train again)")
            return
        if force:
            path.unlink(missing_ok=True)
        prepare_sim_trained(path, echo=click.echo, workers=workers, device=device)


@click.command("interpolate")
@click.option("--zeroshot", type=click.Path(dir_okay=False, exists=True, path_type=Path), required=True)
@click.option("--finetuned", type=click.Path(dir_okay=False, exists=True, path_type=Path), required=True)
@click.option("--alpha", "alphas", multiple=True, required=True,
              help="Blend weight(s) in [0, 1]: 0 = zero-shot, 1 = fine-tuned; '0.5', '0,0.5' or '0:1:0.25'.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="Output folder.")
def interpolate(zeroshot, finetuned, alphas, out) -> None:
    """Write WiSE-FT / PAINT blends (1 - alpha) * zero-shot + alpha * fine-tuned of two checkpoints of
    one architecture (blend-<alpha>.safetensors, each with a model card)."""
    from embodied.clip import interpolate_checkpoints
    from embodied.files import file_sha256
    from embodied.clip.model_card import read_model_card, write_model_card

    zs_card, ft_card = read_model_card(zeroshot) or {}, read_model_card(finetuned) or {}
    for a in parse_alphas(alphas):
        path = interpolate_checkpoints(zeroshot, finetuned, a, out / f"blend-{a:.2f}.safetensors")
        note = ft_card.get("note") if a > 0 else zs_card.get("note")
        write_model_card(path, {"kind": "interpolation", "note": note, "architecture": ft_card.get("architecture"),
                                "checkpoint": {"file": path.name, "sha256": file_sha256(path)},
                                "interpolation": {"alpha": a, "zeroshot": {"path": str(zeroshot),
                                                                           "sha256": file_sha256(zeroshot)},
                                                  "finetuned": {"path": str(finetuned),
                                                                "sha256": file_sha256(finetuned)}},
                                "embodied": __version__})
        click.echo(f"alpha {a:.2f} -> {path}")


# ----------------------------------------------------------------------------- embed and the group
def _read_image(path: Path):
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))
    except (UnidentifiedImageError, OSError) as exc:
        raise click.BadParameter(f"cannot read image {path}: {exc}", param_hint="--image") from exc


@click.command()
@clip_options()
@click.option("--image", "images", type=click.Path(exists=True, dir_okay=False, path_type=Path), multiple=True,
              required=True, help="Image file (repeatable).")
@click.option("--text", "texts", multiple=True, required=True, help='Text, e.g. "a chair" (repeatable).')
@click.option("--templates", default="none", show_default=True,
              help="Prompt ensemble per text: none, short or imagenet (80 CLIP templates).")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def embed(images, texts, templates, as_json, **kw) -> None:
    """Similarity of each image to each text.

    Prints the cosine similarity and CLIP's softmax over the texts for every image, under a header
    naming the weights used.

    \b
    Examples:
      embodied clip embed --image kitchen.png --text "a chair" --text "a fridge"
      embodied clip embed --checkpoint ft.safetensors --model ViT-B-32 --image a.png --text chair
      embodied clip embed --random-init --model embodied-tiny --image a.png --text x
    """
    from embodied.clip import get_backbone
    from embodied.clip.auto import weights_label

    cfg = clip_config_from_options(kw)
    arrays = [_read_image(p) for p in images]
    backbone = get_backbone(cfg)
    img = backbone.encode_images(arrays)
    txt = backbone.text_classifier(list(texts), templates) if templates != "none" else backbone.encode_texts(texts)
    cos, prob = backbone.similarity(img, txt)
    if as_json:
        click.echo(json.dumps({
            "weights": backbone.provenance.to_dict(), "templates": templates,
            "images": [str(p) for p in images], "texts": list(texts),
            "cosine": cos.round(6).tolist(), "softmax": prob.round(6).tolist(),
        }, indent=2))
        return
    click.echo(f"weights: {weights_label(backbone.provenance)}")
    width = max(12, *(len(t) for t in texts))
    click.echo(f"{'image':<24} {'text':<{width}} {'cosine':>8} {'softmax':>8}")
    for i, p in enumerate(images):
        for j, t in enumerate(texts):
            click.echo(f"{p.name[:24]:<24} {t:<{width}} {cos[i, j]:>8.4f} {prob[i, j]:>8.4f}")


@click.group(cls=Group, context_settings=CONTEXT)
def clip() -> None:
    """The shared CLIP backbone: embed images and texts; make, train, blend and evaluate CLIP models."""


for _cmd in (embed, dataset, train, prepare, interpolate, click.command("eval")(clip_options()(_evaluate))):
    clip.add_command(_cmd)
