"""``embodied nav`` (the ObjectNav benchmark) and ``embodied report`` (tables of finished runs).

The command builds one :class:`embodied.evaluation.NavRun` from its options, writes it to the run's
config.json and hands it to the workers of :mod:`embodied.runs`; each worker builds the simulator and
the agent through the registries (``sims.registry``, ``agents.registry``) and runs episodes.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import click

from embodied import __version__
from embodied.cli.options import (
    clip_config_from_options,
    clip_options,
    command_line,
    field_default,
    field_option,
    finish_run,
    retry_errors_option,
)
from embodied.config import parse_overrides
from embodied.errors import ConfigError
from embodied.evaluation import NavRun

__all__ = ["nav", "report", "init_worker", "run_episode_job"]

_WORKER: dict[str, Any] = {}


# --------------------------------------------------------------------------- in each worker
def init_worker(arg: tuple[NavRun, int | None]) -> None:
    """Build the simulator, CLIP and the agent of ``run`` once per worker (``threads`` render threads)."""
    import torch

    from agents.registry import make_agent
    from embodied.clip import get_backbone
    from sims.registry import make_simulator

    run, threads = arg
    torch.set_num_threads(1)
    sim_config = run.sim_config
    if threads and any(f.name == "threads" for f in dataclasses.fields(sim_config)):
        sim_config = dataclasses.replace(sim_config, threads=threads)
    clip = get_backbone(run.clip) if run.clip is not None else None
    _WORKER.update(run=run, sim=make_simulator(run.simulator, sim_config),
                   agent=make_agent(run.agent, run.agent_config, clip=clip, seed=run.run_seed))


def run_episode_job(payload: dict[str, Any]) -> dict[str, Any]:
    """Run one episode in this worker; write its final map PNG (and MP4 when ``payload["video"]``)."""
    import numpy as np
    from PIL import Image

    from embodied.evaluation import run_episode
    from embodied.mapping.draw import draw_map
    from embodied.tasks import ObjectNavEpisode

    run, sim, agent = _WORKER["run"], _WORKER["sim"], _WORKER["agent"]
    ep = ObjectNavEpisode.from_dict(payload["episode"])
    video = payload["video"]
    frames: list[np.ndarray] = []
    trail: list[tuple[float, float]] = []

    def on_step(obs, action, ag) -> None:
        if obs.agent_pose is not None:
            trail.append(obs.agent_pose.position_m[:2])
        if video:
            frames.append(_video_frame(obs, ag, np.array(trail)))

    row = run_episode(sim, agent, ep, max_steps=run.max_steps, success_distance_m=run.success_distance_m,
                      seed=run.reset_seed(ep.episode_id), on_step=on_step)
    dbg = agent.debug() if hasattr(agent, "debug") else {}
    out = Path(payload["out"])
    if dbg.get("map") is not None:
        img = draw_map(dbg["map"], trail_xy=np.array(trail) if trail else None, path_xy=dbg.get("path_xy"))
        (out / "maps").mkdir(parents=True, exist_ok=True)
        Image.fromarray(img).save(out / "maps" / f"{ep.episode_id}.png")
    if video and frames:
        from embodied.video import save_video

        save_video(frames, out / "videos" / f"{ep.episode_id}.mp4", fps=8)
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


# --------------------------------------------------------------------------- the command
def _cow_field(name: str) -> Any:
    from agents.cow import CowConfig

    return field_default(CowConfig, name)


def _builtin_field(name: str) -> Any:
    from sims.raycast import SimConfig

    return field_default(SimConfig, name)


@click.command("nav")
@field_option(NavRun, "simulator", "--sim", "simulator",
              help="Simulator: builtin, habitat or thor (see `embodied info`).")
@click.option("--split", type=click.Choice(["train", "val", "test"]), default=field_default(NavRun, "episodes"),
              show_default=True, help="Split of generated episodes (ignored with --episode-file).")
@click.option("-n", "--episodes", "n", type=click.IntRange(min=1), default=100, show_default=True,
              help="Number of episodes (the first N of the split or file).")
@click.option("--episode-file", "--episodes-file", "episode_file", type=click.Path(path_type=Path),
              default=None,
              help="Episodes from a file: JSONL (embodied format; a bad line is recorded as a failed episode), a "
                   "habitat-lab ObjectNav dataset (.json/.json.gz, split files with content/ per-scene files too) or "
                   "a RoboTHOR ObjectNav file or folder (dataset/{split}/episodes/*.json.gz).")
@click.option("--scene-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="habitat-lab's SCENES_DIR: where the episode file's scene paths (data/scene_datasets/...) live.")
@click.option("--preset", type=click.Choice(["cow-habitat", "cow-robothor", "robothor-cow"]), default=None,
              help="CoW's own setup (agents/cow/presets.py): dead-reckoned pose, its 9-turn spin, stop within 1 m, "
                   "3 x 3 CLIP-Patch with CoW's thresholds, 672 x 672 at FOV 90, 250 steps. Explicit options still "
                   "win; robothor-cow is another name of cow-robothor (with --sim thor: locobot, visibilityDistance "
                   "1.0 m). Without it the toolkit's (stronger) defaults run; every summary says which.")
@field_option(NavRun, "episode_seed", type=int, help="Seed of episode generation (which starts and goals).")
@field_option(NavRun, "run_seed", type=int,
              help="Seed of the simulator resets and the agent (per episode: crc32 of it and the episode id).")
@field_option(NavRun, "agent", "--agent", type=click.Choice(["cow", "frontier", "random"]))
@click.option("--localizer", type=click.Choice(["oracle", "patch", "ref", "grad", "dense", "owl"]),
              default=_cow_field("localizer"), show_default=True,
              help="CoW's goal localizer (CLIP ones need CLIP weights; owl needs an OWL-ViT checkpoint, --cow "
                   "owl_checkpoint=..., and the [hf] extra).")
@click.option("--frontier", type=click.Choice(["nearest", "value"]), default=_cow_field("frontier"), show_default=True,
              help="Frontier choice: nearest (CoW) or value-weighted (VLFM; needs CLIP weights).")
@field_option(NavRun, "max_steps", type=click.IntRange(min=1), help="Steps before an episode ends without STOP.")
@field_option(NavRun, "success_distance_m", "--success-distance", "success_distance_m", type=click.FloatRange(min=0),
              help="habitat-lab's SUCCESS_DISTANCE (m): STOP this close (geodesic) to a goal view point succeeds. "
                   "Which points are view points is the simulator's setting (builtin: goal_view_radius_m, "
                   f"{_builtin_field('goal_view_radius_m')} m around the goal; change it with --sim-set).")
@click.option("--width", type=click.IntRange(min=8), default=None, show_default="the simulator's", help="Image width (px).")
@click.option("--height", type=click.IntRange(min=8), default=None, show_default="the simulator's", help="Image height (px).")
@click.option("--hfov", type=float, default=None, show_default="the simulator's", help="Horizontal FOV (deg).")
@click.option("--sim-set", "sim_overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a simulator setting (repeatable), e.g. --sim-set goal_view_radius_m=1.5; the fields are "
                   "those of its config (builtin: sims/raycast/simulator.py SimConfig).")
@click.option("--cow", "cow_overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a CoW agent setting (repeatable), e.g. --cow clearance_m=0.5 --cow spin=false; "
                   "see agents/cow/config.py for the fields.")
@clip_options("clip-")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Worker processes (default: CPU count); not part of the run's identity, so a rerun may change it.")
@click.option("--ray", "use_ray", is_flag=True, help="Run on a Ray cluster (address from RAY_ADDRESS).")
@retry_errors_option("episodes")
@click.option("--video", type=click.IntRange(min=0), default=0, show_default=True,
              help="Write MP4s of the first N episodes (RGB + relevance | agent map).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output folder (default: outputs/nav/<agent>-<localizer>-<frontier>-<split>).")
def nav(simulator, split, n, episode_file, scene_dir, preset, episode_seed, run_seed, agent, localizer, frontier,
        max_steps, success_distance_m, width, height, hfov, sim_overrides, cow_overrides, workers, use_ray,
        retry_errors, video, out, **clip_kw) -> None:
    """Run an agent over ObjectNav episodes and report habitat-lab metrics.

    Per-episode results are appended to results.jsonl as they finish; rerunning the same command
    skips finished episodes and retries failed ones. A failed episode (bad input, a crash, a bad
    episode-file line) counts as Success 0 and SPL 0. Writes summary.json / summary.md (with the
    CLIP weights at the top) and a final map PNG per episode.

    \b
    Examples:
      embodied nav -n 20                                   # CoW + oracle localizer on 20 val episodes
      embodied nav --agent random -n 100
      embodied nav --localizer patch --clip-checkpoint ft.safetensors --clip-model ViT-B-32
    """
    from agents.registry import agent_config
    from embodied.evaluation import check_scorable
    from embodied.runs import Job, RunFolder
    from embodied.evaluation import summarize_results, summary_markdown
    from sims import registry as sims
    from sims.episode_files import read_episode_file

    ctx = click.get_current_context()

    def given(name: str) -> bool:  # typed on the command line (not a default)
        return ctx.get_parameter_source(name) not in (click.core.ParameterSource.DEFAULT, None)

    entry = sims.simulator_entry(simulator)
    if not entry.available:
        raise ConfigError(f"simulator '{simulator}' is not usable here (needs {', '.join(entry.requires)}); "
                          "see `embodied info`")
    check_scorable(sims.simulator_class(simulator), simulator)  # no Success/SPL it cannot compute
    setup = None
    if preset is not None:
        from agents.cow.presets import cow_preset

        preset = "cow-robothor" if preset == "robothor-cow" else preset
        setup = cow_preset(preset)
        if not given("max_steps"):
            max_steps = setup.max_steps
    fields = sims.simulator_fields(simulator)
    sensor = {k: v for k, v in (setup.sensor if setup else {}).items() if k in fields}
    sensor.update((setup.simulator.get(simulator, {}) if setup else {}))
    sensor.update({k: v for k, v in (("width", width), ("height", height), ("hfov_deg", hfov)) if v is not None})
    overrides = {**sensor, **parse_overrides(sim_overrides, "--sim-set")}

    bad_lines: list[str] = []
    if episode_file is not None:
        episodes, bad_lines = read_episode_file(episode_file, scene_dir=scene_dir, split=split)
        episodes = episodes[:n]
        if "scene" in fields and "scene" not in overrides and episodes:  # habitat/THOR start in the first scene
            overrides["scene"] = episodes[0].scene_id
            dataset = episodes[0].extras.get("scene_dataset_config")
            if dataset and "scene_dataset_config" in fields and "scene_dataset_config" not in overrides:
                overrides["scene_dataset_config"] = dataset  # with its semantics (HM3D), as every later scene
        sim_config = sims.simulator_config(simulator, overrides)
    else:
        sim_config = sims.simulator_config(simulator, overrides)
        episodes = sims.generate_episodes(simulator, split, n, seed=episode_seed, sim_config=sim_config,
                                          progress=True)

    cow: dict[str, Any] = dict(setup.agent) if setup else {}
    if setup is None or given("localizer"):
        cow["localizer"] = localizer
    if setup is None or given("frontier"):
        cow["frontier"] = frontier
    for key, sim_key in (("turn_deg", "turn_deg"), ("forward_m", "forward_m"), ("camera_height_m", "camera_height_m"),
                         ("camera_height_m", "sensor_height_m")):  # the agent's action and camera model are the sim's
        if hasattr(sim_config, sim_key):
            cow[key] = getattr(sim_config, sim_key)
    cow.update(parse_overrides(cow_overrides, "--cow"))
    if cow.get("localizer") == "patch" and "vocabulary" not in cow:  # the task's known object categories
        cow["vocabulary"] = sims.task_vocabulary(simulator) or sorted({e.goal_category for e in episodes})
    agent_cfg = agent_config(agent, cow)  # fails here, before any worker, on an unknown field or a bad value
    uses_clip = agent_cfg is not None and (agent_cfg.localizer not in ("oracle", "owl") or agent_cfg.frontier == "value")
    clip_given = any(clip_kw[k] for k in ("clip_model", "clip_pretrained", "clip_checkpoint", "clip_random_init"))
    clip_cfg = clip_config_from_options(clip_kw, "clip-") if uses_clip or clip_given else None
    threshold_note = None
    if setup is not None and agent_cfg is not None and agent_cfg.localizer_threshold is None:
        from agents.cow.presets import preset_threshold

        t, threshold_note = preset_threshold(setup, agent_cfg, clip_cfg)
        if t is not None:
            agent_cfg = dataclasses.replace(agent_cfg, localizer_threshold=t)

    run = NavRun(simulator=simulator, sim_config=sim_config, agent=agent, agent_config=agent_cfg, clip=clip_cfg,
                 episodes=str(episode_file) if episode_file else split, episode_seed=episode_seed, run_seed=run_seed,
                 max_steps=max_steps, success_distance_m=success_distance_m)
    workers = workers or os.cpu_count() or 1
    loc, front = (agent_cfg.localizer, agent_cfg.frontier) if agent_cfg is not None else (localizer, frontier)
    out = out or Path("outputs/nav") / (f"{agent}-{loc}-{front}-{split}" + (f"-{preset}" if preset else ""))
    weights = _weights_label(run)  # loads the CLIP weights once here: a bad checkpoint fails before any worker

    record = {"config": run.to_dict(), "embodied": __version__, "episodes": [e.episode_id for e in episodes]}
    with RunFolder(out, record, what="episodes") as folder:
        bad_rows = [{"id": f"bad-line-{i}", "episode_id": f"bad-line-{i}", "scene_id": "", "goal_category": "",
                     "status": "error", "error": problem} for i, problem in enumerate(bad_lines)]
        logged = folder.results.latest()
        for row in bad_rows:
            if logged.get(row["id"]) != row:
                folder.results.append(row)
        video_ids = {e.episode_id for e in episodes[:video]}
        jobs = [Job(e.episode_id, {"episode": e.to_dict(), "video": e.episode_id in video_ids, "out": str(out)},
                    meta={"episode_id": e.episode_id, "scene_id": e.scene_id, "goal_category": e.goal_category})
                for e in episodes]
        done = sum(1 for e in episodes if logged.get(e.episode_id, {}).get("status") == "ok")
        click.echo(f"{len(episodes)} episodes ({done} already done) | agent {agent} localizer {loc} frontier {front} "
                   f"| sim {simulator} | {workers} worker(s) -> {out}")

        def postfix(rows: list[dict[str, Any]]) -> dict[str, str]:
            s = summarize_results(rows)["overall"]
            return {"success": f"{s.get('success', 0):.3f}", "spl": f"{s.get('spl', 0):.3f}"}

        threads = max(1, (os.cpu_count() or 1) // workers)
        report = folder.run(jobs, run_episode_job, init=init_worker, init_arg=(run, threads), workers=workers,
                            use_ray=use_ray, retry_errors=retry_errors, progress="episodes", postfix=postfix)
        summary = summarize_results(report.rows + bad_rows)
        header = {"weights": weights, "agent": agent, "localizer": loc, "frontier": front,
                  "setup": f"preset {preset} (CoW's own setup)" if preset else "toolkit defaults (stronger than CoW's)",
                  "proposals": _proposals(agent_cfg), "success_rule": _rule_label(summary, sim_config, episodes),
                  "simulator": simulator, "split": run.episodes, "episode_seed": episode_seed, "run_seed": run_seed,
                  "max_steps": max_steps, "embodied": __version__, "command": command_line(ctx)}
        if threshold_note:
            header["threshold"] = threshold_note
        folder.write_json("summary.json", {"header": header, **summary})
        md = summary_markdown(summary, header)
        from embodied.files import atomic_write

        atomic_write(out / "summary.md", md.encode())
    click.echo(md)
    report.rows += bad_rows
    finish_run(report, "episodes", out / "results.jsonl")


def _rule_label(summary: dict[str, Any], sim_config: Any, episodes: list[Any] = ()) -> str:
    """How the run's episodes succeeded: "distance" / "visible" (the simulator's own rule), with the
    built-in simulator's view-point rule, e.g. "distance (visible view points)", or "distance (the
    episode file's view points)" when its episodes carry their own (habitat-lab files)."""
    rule = summary.get("success_rule", "-")
    view = getattr(sim_config, "goal_view_rule", None)
    if view and getattr(sim_config, "episode_view_points", False) and any(
            e.extras.get("goal_view_points_m") for e in episodes):
        view = "the episode file's"
    return f"{rule} ({view} view points)" if view and rule == "distance" else rule


def _proposals(cfg: Any) -> str:
    """What a CLIP-Patch localizer classifies: "segments" (depth segments over a vocabulary), "grid+refine",
    "grid" (CoW's 3 x 3 cells, softmax over them without a vocabulary), or "-" for other localizers."""
    if cfg is None or cfg.localizer != "patch":
        return "-"
    if not cfg.vocabulary:
        return "grid (softmax over cells)"
    return "segments" if cfg.proposals == "segments" else "grid+refine" if cfg.refine else "grid"


def _weights_label(run: NavRun) -> str:
    if run.clip is None:
        return "none (no CLIP model used)"
    from embodied.clip import get_backbone
    from embodied.clip.auto import weights_label

    return weights_label(get_backbone(run.clip).provenance)


# --------------------------------------------------------------------------- report
@click.command("report")
@click.argument("runs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--readme", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Replace the table between '<!-- <section>:start -->' and '<!-- <section>:end -->' "
                   "in this file.")
@click.option("--section", default="nav-results", show_default=True,
              help="Which marked table of --readme to replace (e.g. cow-results).")
def report(runs, readme, section) -> None:
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
        start, end = f"<!-- {section}:start -->", f"<!-- {section}:end -->"
        text = readme.read_text()
        if start not in text or end not in text:
            raise ConfigError(f"{readme} has no '{start}' ... '{end}' markers to put the table between")
        head, rest = text.split(start, 1)
        readme.write_text(head + start + "\n" + table + end + rest.split(end, 1)[1])
        click.echo(f"updated {readme}")
