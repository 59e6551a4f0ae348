"""The sim-trained CLIP model's pipeline: render training and held-out data from built-in houses
(:mod:`datasets3d.clip_data`), train, evaluate, and write the checkpoint with its model card.

``embodied clip prepare`` and ``--clip auto`` (when no pretrained weights can be had) call
:func:`prepare_sim_trained`.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

from embodied import __version__

__all__ = ["sim_data_configs", "sim_categories", "ensure_dataset", "eval_dir_name", "default_eval_data",
           "prepare_sim_trained"]


def sim_data_configs(workers: int | None = None):
    """(train, held-out) data settings of the sim-trained model."""
    from datasets3d.clip_data import ClipDataConfig

    w = workers or max(1, min(2, os.cpu_count() or 1))
    train = ClipDataConfig(split="train", houses=100, workers=w)
    held_out = ClipDataConfig(split="val", houses=20, keep_masks=True, crops_per_category=2, frames_per_house=6,
                              cells_per_frame=0, workers=w)
    return train, held_out


def sim_categories() -> list[str]:
    """The built-in simulator's object categories (the sim-trained model's class names)."""
    from sims.raycast.categories import CATEGORIES

    return list(CATEGORIES)


def ensure_dataset(path: Path, cfg, echo: Callable[[str], None] = print) -> Path:
    """Render ``cfg`` into ``path`` unless a complete dataset with the same settings is there."""
    from dataclasses import asdict

    from embodied.clip.shards import ShardError, read_index
    from datasets3d.clip_data import CLIP_DATA_VERSION, write_clip_dataset
    from sims.raycast.house import GENERATOR_VERSION

    try:
        index = read_index(path)
        gen = index.get("generator", {})
        have = dict(gen.get("config") or {})
        want = json.loads(json.dumps(asdict(cfg)))
        have.pop("workers", None), want.pop("workers", None)  # how it was rendered does not change the data
        if have == want and (gen.get("clip_data_version"), gen.get("house_generator_version")) == \
                (CLIP_DATA_VERSION, GENERATOR_VERSION):
            return path
    except ShardError:
        pass
    echo(f"rendering {cfg.houses} {cfg.split} houses -> {path}")
    write_clip_dataset(path, cfg, overwrite=True)
    return path


def prepare_sim_trained(path: str | Path, *, echo: Callable[[str], None] = print, workers: int | None = None,
                        device: str = "auto") -> Path:
    """Render training and held-out data from the built-in simulator and train the sim-trained model
    into ``path`` (checkpoint + model card with its held-out evaluation). The data stays next to it."""
    from embodied.clip import ClipConfig, get_backbone
    from embodied.clip.auto import SIM_MODEL, SIM_TRAINED_VERSION, sim_trained_recipe
    from embodied.clip.evaluate import POINTING_LOCALIZERS, evaluate_samples
    from embodied.clip.shards import load_samples
    from embodied.clip.train import train_clip

    path = Path(path)
    t0 = time.perf_counter()
    train_cfg, eval_cfg = sim_data_configs(workers)
    root = path.parent / f"{path.name.split('.')[0]}-data"
    train_dir = ensure_dataset(root / "train", train_cfg, echo)
    render_s = time.perf_counter() - t0
    recipe = sim_trained_recipe(device)
    result = train_clip(train_dir, path, recipe, init=ClipConfig(model=SIM_MODEL, random_init=True, seed=recipe.seed),
                        extra_card={"sim_trained_version": SIM_TRAINED_VERSION, "embodied": __version__,
                                    "render_seconds": round(render_s, 1)})
    total_s = time.perf_counter() - t0
    eval_dir = ensure_dataset(path.parent / eval_dir_name(eval_cfg), eval_cfg, echo)
    samples = load_samples(eval_dir)
    backbone = get_backbone(ClipConfig(model=SIM_MODEL, checkpoint=str(path), device=device))
    ev = evaluate_samples(backbone, samples, sim_categories(), localizers=POINTING_LOCALIZERS, max_queries=100)
    ev["data"] = {"dir": str(eval_dir), "split": eval_cfg.split, "houses": len(eval_cfg.house_seeds)}
    from embodied.clip.model_card import update_model_card

    update_model_card(path, evaluation=ev, pipeline_seconds=round(total_s, 1))
    c = ev["classification"]
    echo(f"sim-trained model ready in {total_s / 60:.1f} min (render {render_s:.0f} s, train "
         f"{result.card['training']['seconds']:.0f} s): held-out top-1 {c['top1']:.3f}, top-5 {c['top5']:.3f} -> {path}")
    return path


def eval_dir_name(cfg) -> str:
    """Folder name of a held-out dataset (``eval-<split>-<first house>-<houses>``)."""
    return f"eval-{cfg.split}-{cfg.first_house}-{cfg.houses}"


def default_eval_data(echo: Callable[[str], None] = print) -> Path:
    """The held-out set of the sim-trained recipe (val houses, with masks), rendered once into the cache."""
    from embodied.clip.auto import sim_cache_dir

    _, eval_cfg = sim_data_configs()
    return ensure_dataset(sim_cache_dir() / eval_dir_name(eval_cfg), eval_cfg, echo)
