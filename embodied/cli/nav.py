"""``embodied nav``: the ObjectNav benchmark runner (wires simulators, agents and CLIP together)."""

from __future__ import annotations

import json
import logging
import os
import zlib
from pathlib import Path
from typing import Any

import click

from embodied import __version__
from embodied.config import parse_overrides
from embodied.errors import ConfigError

log = logging.getLogger(__name__)

_WORKER: dict[str, Any] = {}


def _build(spec: dict[str, Any]) -> tuple[Any, Any]:
    """(simulator, agent) from a plain, picklable spec (runs inside each worker)."""
    from agents.registry import make_agent
    from embodied.clip import ClipConfig, get_backbone
    from embodied.config import config_from_dict
    from sims.registry import make_simulator

    sim = make_simulator(spec["sim"], spec["sim_config"])
    clip = get_backbone(config_from_dict(ClipConfig, spec["clip"])) if spec.get("clip") else None
    agent = make_agent(spec["agent"], spec["cow"], clip=clip, seed=spec["seed"])
    return sim, agent


def _init_worker(spec: dict[str, Any]) -> None:
    import torch

    torch.set_num_threads(1)
    _WORKER["spec"] = spec
    _WORKER["sim"], _WORKER["agent"] = _build(spec)


def _episode_seed(seed: int, episode_id: str) -> int:
    return zlib.crc32(f"{seed}:{episode_id}".encode())


def run_one(episode: dict[str, Any], video: bool, out_dir: str) -> dict[str, Any]:
    """Run one episode in this worker; an unexpected error becomes a row with the reason (the run
    goes on, and the summary lists it)."""
    import traceback

    try:
        return _run_one(episode, video, out_dir)
    except Exception as exc:  # noqa: BLE001 - recorded, never swallowed
        log.error("episode %s failed:\n%s", episode.get("episode_id"), traceback.format_exc())
        return {"episode_id": episode.get("episode_id"), "scene_id": episode.get("scene_id", ""),
                "goal_category": episode.get("goal_category", ""), "skipped": f"error: {type(exc).__name__}: {exc}"}


def _run_one(episode: dict[str, Any], video: bool, out_dir: str) -> dict[str, Any]:
    """Run one episode in this worker; write its final map PNG (and MP4 when ``video``)."""
    import numpy as np
    from PIL import Image

    from embodied.evaluation import run_episode
    from embodied.mapping.draw import draw_map
    from embodied.tasks import ObjectNavEpisode

    spec, sim, agent = _WORKER["spec"], _WORKER["sim"], _WORKER["agent"]
    ep = ObjectNavEpisode.from_dict(episode)
    frames: list[np.ndarray] = []
    trail: list[tuple[float, float]] = []

    def on_step(obs, action, ag) -> None:
        if obs.agent_pose is not None:
            trail.append(obs.agent_pose.position_m[:2])
        if video:
            frames.append(_video_frame(obs, ag, np.array(trail)))

    row = run_episode(sim, agent, ep, max_steps=spec["max_steps"], success_distance_m=spec["success_distance_m"],
                      seed=_episode_seed(spec["seed"], ep.episode_id), on_step=on_step)
    dbg = agent.debug() if hasattr(agent, "debug") else {}
    out = Path(out_dir)
    if dbg.get("map") is not None:
        (out / "maps").mkdir(parents=True, exist_ok=True)
        img = draw_map(dbg["map"], trail_xy=np.array(trail) if trail else None, path_xy=dbg.get("path_xy"))
        Image.fromarray(img).save(out / "maps" / f"{ep.episode_id}.png")
    if video and frames:
        from sims.raycast.viz import save_walk

        save_walk(frames, out / "videos" / f"{ep.episode_id}.mp4", fps=8)
    return row


def _video_frame(obs, agent, trail):
    """RGB with the goal relevance overlay | the agent's map with frontiers and plan."""
    import numpy as np
    from PIL import Image

    from embodied.mapping.draw import draw_map

    rgb = obs.rgb.astype(np.float32)
    dbg = agent.debug() if hasattr(agent, "debug") else {}
    loc = getattr(agent, "last_localization", None)
    if loc is not None and loc.relevance.any():
        w = 0.4 * loc.relevance[..., None]  # tint relevant pixels red
        rgb = rgb * (1 - w) + np.array([255, 0, 0], np.float32) * w
    left = np.clip(rgb, 0, 255).astype(np.uint8)
    if dbg.get("map") is None:
        return left
    pose = obs.agent_pose
    m = draw_map(dbg["map"], (pose.position_m[0], pose.position_m[1], pose.yaw_rad) if pose else None,
                 trail_xy=trail if len(trail) > 1 else None, path_xy=dbg.get("path_xy"),
                 frontier_cells=[f.cells for f in dbg.get("frontiers", [])])
    h = left.shape[0]  # fit the map into a fixed h x h box so every frame has the same size
    k = h / max(m.shape[:2])
    m = np.asarray(Image.fromarray(m).resize((max(1, int(m.shape[1] * k)), max(1, int(m.shape[0] * k)))))
    box = np.full((h, h, 3), 255, np.uint8)
    box[: m.shape[0], : m.shape[1]] = m
    return np.concatenate([left, box], axis=1)


@click.command("nav")
@click.option("--sim", "sim_name", default="builtin", show_default=True, help="builtin, habitat or thor.")
@click.option("--split", type=click.Choice(["train", "val", "test"]), default="val", show_default=True,
              help="Built-in split (ignored with --episode-file).")
@click.option("-n", "--episodes", "n", type=click.IntRange(min=1), default=100, show_default=True)
@click.option("--episode-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="JSONL episodes (embodied format); bad lines are recorded as skipped.")
@click.option("--agent", "agent_name", type=click.Choice(["cow", "frontier", "random"]), default="cow",
              show_default=True)
@click.option("--localizer", type=click.Choice(["oracle", "patch", "ref", "grad", "dense"]), default="oracle",
              show_default=True, help="CoW's goal localizer (CLIP ones need weights).")
@click.option("--frontier", type=click.Choice(["nearest", "value"]), default="nearest", show_default=True,
              help="Frontier choice: nearest (CoW) or value-weighted (VLFM; needs CLIP weights).")
@click.option("--max-steps", type=click.IntRange(min=1), default=500, show_default=True)
@click.option("--success-radius", type=float, default=1.0, show_default=True,
              help="Built-in sim: view points within this distance (m) of a goal instance count as success.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Worker processes (default: CPU count).")
@click.option("--ray", "use_ray", is_flag=True, help="Run on a Ray cluster (address from RAY_ADDRESS).")
@click.option("--video", type=click.IntRange(min=0), default=0, show_default=True,
              help="Write MP4s of the first N episodes (RGB + relevance | agent map).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output folder (default: outputs/nav/<agent>-<localizer>-<frontier>-<split>).")
@click.option("--width", type=click.IntRange(min=8), default=224, show_default=True)
@click.option("--height", type=click.IntRange(min=8), default=224, show_default=True)
@click.option("--hfov", type=float, default=90.0, show_default=True)
@click.option("--clip-model", default=None, show_default="auto",
              help="CLIP for CLIP localizers / value maps: an open_clip architecture, or 'auto' (pretrained "
                   "ViT-B-32 when available, else the sim-trained model, trained once on first use).")
@click.option("--clip-pretrained", default=None, help="open_clip pretrained tag.")
@click.option("--clip-checkpoint", type=click.Path(dir_okay=False), default=None,
              help="Local CLIP weights file (ours name their architecture; others need --clip-model).")
@click.option("--clip-random-init", is_flag=True, help="Random CLIP weights (plumbing tests only).")
@click.option("--cow", "cow_overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a CoW agent setting (repeatable), e.g. --cow clearance_m=0.5 --cow spin=false; "
                   "see agents/cow/config.py for the fields.")
def nav(sim_name, split, n, episode_file, agent_name, localizer, frontier, max_steps, success_radius, seed, workers,
        use_ray, video, out, width, height, hfov, clip_model, clip_pretrained, clip_checkpoint, clip_random_init,
        cow_overrides) -> None:
    """Run an agent over ObjectNav episodes and report habitat-lab metrics.

    Per-episode results are appended to results.jsonl as they finish; rerunning the same command
    skips finished episodes. Writes summary.json / summary.md (with the CLIP weights at the top) and a
    final map PNG per episode.

    \b
    Examples:
      embodied nav -n 20                                   # CoW + oracle localizer on 20 val episodes
      embodied nav --agent random -n 100
      embodied nav --localizer patch --clip-checkpoint ft.safetensors --clip-model ViT-B-32
    """
    from tqdm.auto import tqdm

    from embodied.evaluation import ResultsLog, summarize_results, summary_markdown
    from embodied.tasks import read_episodes
    from sims.registry import simulator_entry

    entry = simulator_entry(sim_name)
    if not entry.available:
        raise ConfigError(f"simulator '{sim_name}' is not usable here (needs {', '.join(entry.requires)}); "
                          "see `embodied info`")
    needs_clip = agent_name == "cow" and (localizer != "oracle" or frontier == "value")
    clip_cfg = None
    if needs_clip or any((clip_model, clip_pretrained, clip_checkpoint, clip_random_init)):
        from embodied.cli.main import clip_config_from_options
        from embodied.config import config_to_dict

        clip_cfg = config_to_dict(clip_config_from_options(
            {"model": clip_model, "pretrained": clip_pretrained, "checkpoint": clip_checkpoint,
             "random_init": clip_random_init, "seed": 0, "device": "auto", "precision": "auto", "batch_size": 32,
             "cache_dir": None}, echo=lambda m: click.echo(m, err=True)))
    sim_config: dict[str, Any] = {"width": width, "height": height, "hfov_deg": hfov}
    if sim_name == "builtin":
        sim_config["success_radius_m"] = success_radius
    workers = workers or os.cpu_count() or 1
    if sim_name == "builtin":
        sim_config["threads"] = max(1, (os.cpu_count() or 1) // workers)
    out = out or Path("outputs/nav") / f"{agent_name}-{localizer}-{frontier}-{split}"
    out.mkdir(parents=True, exist_ok=True)

    skipped_lines: list[str] = []
    if episode_file is not None:
        episodes, skipped_lines = read_episodes(episode_file, skip_bad=True)
        episodes = episodes[:n]
    elif sim_name == "builtin":
        from sims.raycast.episodes import generate_episodes
        from sims.raycast.simulator import SimConfig

        episodes = generate_episodes(split, n, seed=seed, sim_config=SimConfig(**sim_config), progress=True)
    else:
        raise ConfigError(f"--sim {sim_name} needs --episode-file (episodes are only generated for the built-in sim)")

    cow = {"localizer": localizer, "frontier": frontier, "turn_deg": 30.0, "forward_m": 0.25,
           **parse_overrides(cow_overrides, "--cow")}
    if localizer == "patch" and "vocabulary" not in cow:  # the task's known object categories
        cow["vocabulary"] = _task_vocabulary(sim_name, episodes)
    if agent_name != "random":  # fail here, before any worker, on an unknown field or a bad value
        from agents.cow import CowConfig
        from embodied.config import config_from_dict

        config_from_dict(CowConfig, cow)
    spec = {"sim": sim_name, "sim_config": sim_config, "agent": agent_name, "seed": seed, "clip": clip_cfg,
            "cow": cow,
            "max_steps": max_steps, "success_distance_m": 0.1}
    run_cfg = {"embodied": __version__, "spec": spec, "split": split, "episodes": [e.episode_id for e in episodes],
               "episode_file": str(episode_file) if episode_file else None}
    cfg_path = out / "config.json"
    if cfg_path.exists() and json.loads(cfg_path.read_text()).get("spec") != spec:
        raise ConfigError(f"{out} holds results of a different configuration; use another --out or delete it")
    cfg_path.write_text(json.dumps(run_cfg, indent=1))
    weights = _weights_label(spec)  # loads the CLIP weights once here: a bad checkpoint fails before any worker

    results = ResultsLog(out / "results.jsonl")
    done = results.done_ids()
    todo = [e for e in episodes if e.episode_id not in done]
    for i, problem in enumerate(skipped_lines):
        if f"bad-line-{i}" not in done:
            results.append({"episode_id": f"bad-line-{i}", "scene_id": "", "goal_category": "", "skipped": problem})
    click.echo(f"{len(episodes)} episodes ({len(done)} already done) | agent {agent_name} localizer {localizer} "
               f"frontier {frontier} | sim {sim_name} | {workers} worker(s) -> {out}")
    video_ids = {e.episode_id for e in episodes[:video]}
    wanted = {e.episode_id for e in episodes} | {f"bad-line-{i}" for i in range(len(skipped_lines))}
    rows = [r for r in results.rows() if r["episode_id"] in wanted]
    bar = tqdm(total=len(episodes), initial=len(episodes) - len(todo), desc="episodes", unit="ep")

    def record(row: dict[str, Any]) -> None:
        results.append(row)
        rows.append(row)
        s = summarize_results(rows)["overall"]
        bar.set_postfix(success=f"{s.get('success', 0):.3f}", spl=f"{s.get('spl', 0):.3f}")
        bar.update(1)

    jobs = [(e.to_dict(), e.episode_id in video_ids, str(out)) for e in todo]
    if use_ray:
        _run_ray(spec, jobs, workers, record)
    elif workers == 1 or len(todo) <= 1:
        _init_worker(spec)
        for job in jobs:
            record(run_one(*job))
    else:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor, as_completed

        with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"), initializer=_init_worker,
                                 initargs=(spec,)) as pool:
            futures = [pool.submit(run_one, *job) for job in jobs]
            for fut in as_completed(futures):
                record(fut.result())
    bar.close()

    summary = summarize_results(rows)
    header = {"weights": weights, "agent": agent_name, "localizer": localizer, "frontier": frontier,
              "simulator": sim_name, "split": split if episode_file is None else str(episode_file),
              "seed": seed, "max_steps": max_steps, "embodied": __version__,
              "command": _command_line(click.get_current_context())}
    (out / "summary.json").write_text(json.dumps({"header": header, **summary}, indent=1))
    md = summary_markdown(summary, header)
    (out / "summary.md").write_text(md)
    click.echo(md)


def _command_line(ctx: click.Context) -> str:
    """``embodied nav ...`` with every option that differs from its default (reproduces the run)."""
    import shlex

    parts = ["embodied", ctx.info_name]
    for p in ctx.command.params:
        value = ctx.params.get(p.name)
        if value == p.default or value in (None, (), False) or p.name in ("workers", "use_ray", "video", "out"):
            continue
        flag = max(p.opts, key=len)
        if p.is_flag:
            parts.append(flag)
        else:
            for v in (value if p.multiple else (value,)):
                parts += [flag, shlex.quote(str(v))]
    return " ".join(parts)


def _task_vocabulary(sim_name: str, episodes) -> list[str]:
    """The object categories the task knows: all of the built-in simulator's, else the episodes' goals."""
    if sim_name == "builtin":
        from sims.raycast.categories import CATEGORIES

        return list(CATEGORIES)
    return sorted({e.goal_category for e in episodes})


def _weights_label(spec: dict[str, Any]) -> str:
    if not spec.get("clip"):
        return "none (no CLIP model used)"
    from embodied.clip import ClipConfig, get_backbone
    from embodied.config import config_from_dict

    from embodied.clip.auto import weights_label

    return weights_label(get_backbone(config_from_dict(ClipConfig, spec["clip"])).provenance)


def _run_ray(spec: dict[str, Any], jobs: list[tuple], workers: int, record) -> None:
    from embodied._optional import require

    ray = require("ray", extra="ray", purpose="--ray")
    ray.init(address=os.environ.get("RAY_ADDRESS"), ignore_reinit_error=True)

    @ray.remote
    class Worker:
        def __init__(self, spec):
            _init_worker(spec)

        def run(self, *job):
            return run_one(*job)

    from ray.util import ActorPool

    pool = ActorPool([Worker.remote(spec) for _ in range(workers)])
    for row in pool.map_unordered(lambda a, job: a.run.remote(*job), jobs):
        record(row)


@click.command("report")
@click.argument("runs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--readme", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Replace the table between '<!-- nav-results:start -->' and '<!-- nav-results:end -->' "
                   "in this file.")
def report(runs, readme) -> None:
    """Compare finished `embodied nav` runs: one Markdown table (Success, SPL, SoftSPL, DTG,
    steps) with the CLIP weights and the command of each run.

    \b
    Examples:
      embodied report outputs/nav/*
      embodied report outputs/nav/random-* outputs/nav/cow-* --readme README.md
    """
    from embodied.evaluation import comparison_markdown

    summaries = []
    for run in runs:
        path = run / "summary.json"
        if not path.exists():
            raise ConfigError(f"{run} has no summary.json (is it an `embodied nav` output folder that finished?)")
        summaries.append(json.loads(path.read_text()))
    table = comparison_markdown(summaries)
    click.echo(table)
    if readme is not None:
        start, end = "<!-- nav-results:start -->", "<!-- nav-results:end -->"
        text = readme.read_text()
        if start not in text or end not in text:
            raise ConfigError(f"{readme} has no '{start}' ... '{end}' markers to put the table between")
        head, rest = text.split(start, 1)
        readme.write_text(head + start + "\n" + table + end + rest.split(end, 1)[1])
        click.echo(f"updated {readme}")
