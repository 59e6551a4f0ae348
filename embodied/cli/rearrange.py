"""``embodied rearrange``: the two-phase rearrangement benchmark (RoomR's rules) on built-in houses.

The command builds one :class:`RearrangeRun` from its options, writes it to the run's config.json and
hands it to the workers of :mod:`embodied.runs`; each worker builds the rearrangement simulator, the
CLIP backbone and the scene-graph agent once, then runs episodes (results.jsonl, summary.json /
summary.md, one top-down PNG per episode).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from embodied import __version__
from embodied.cli.options import (
    clip_config_from_options,
    clip_options,
    command_line,
    field_default,
    finish_run,
    retry_errors_option,
    run_record,
)
from embodied.config import parse_overrides

__all__ = ["rearrange", "RearrangeRun", "init_worker", "run_rearrange_job"]

_WORKER: dict[str, Any] = {}


@dataclass(frozen=True)
class RearrangeRun:
    """Everything that decides the numbers of a rearrangement run (its identity in config.json).

    Attributes:
        sim_config: the built-in simulator's SimConfig; rearrange: its RearrangeConfig.
        agent_config: the RearrangeAgentConfig; clip: the ClipConfig of the graphs' embeddings.
        split, episode_seed, n_moved: which episodes (generate_rearrange_episodes).
        run_seed: seeds each episode's simulator reset.
    """

    sim_config: Any
    rearrange: Any
    agent_config: Any
    clip: Any
    split: str = "val"
    episode_seed: int = 0
    n_moved: tuple[int, int] = (3, 3)
    run_seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {**run_record(self), "n_moved": list(self.n_moved)}


# --------------------------------------------------------------------------- in each worker
def init_worker(arg: tuple[RearrangeRun, int | None]) -> None:
    import torch

    from agents.rearrange import RearrangeAgent
    from embodied.clip import get_backbone
    from sims.raycast import RearrangeSimulator

    run, threads = arg
    torch.set_num_threads(1)
    sim_config = dataclasses.replace(run.sim_config, threads=threads) if threads else run.sim_config
    _WORKER.update(run=run, sim=RearrangeSimulator(sim_config, run.rearrange),
                   agent=RearrangeAgent(run.agent_config, get_backbone(run.clip)))


def run_rearrange_job(payload: dict[str, Any]) -> dict[str, Any]:
    """Run one episode in this worker and draw its top-down picture (maps/<episode>.png)."""
    import zlib

    import numpy as np
    from PIL import Image

    from embodied.evaluation import run_rearrange_episode
    from embodied.tasks import RearrangeEpisode
    from sims.raycast.viz import rearrange_map

    run, sim, agent = _WORKER["run"], _WORKER["sim"], _WORKER["agent"]
    ep = RearrangeEpisode.from_dict(payload["episode"])
    trail: list[tuple[float, float]] = []

    def on_step(obs, action, ag, phase) -> None:
        if phase == "unshuffle" and obs.agent_pose is not None:
            trail.append(obs.agent_pose.position_m[:2])

    row = run_rearrange_episode(sim, agent, ep, seed=zlib.crc32(f"{run.run_seed}:{ep.episode_id}".encode()),
                                on_step=on_step)
    if row.get("status") == "ok":
        out = Path(payload["out"]) / "maps"
        out.mkdir(parents=True, exist_ok=True)
        img = rearrange_map(sim, getattr(agent, "predicted_moves", ()), np.array(trail) if trail else None)
        Image.fromarray(img).save(out / f"{ep.episode_id}.png")
        row["log"] = list(getattr(agent, "log", []))
    return row


# --------------------------------------------------------------------------- the command
def _parse_k(value: str) -> tuple[int, int]:
    try:
        lo, _, hi = value.partition("-")
        k = (int(lo), int(hi or lo))
    except ValueError:
        raise click.BadParameter(f"expected a count (3) or an inclusive range (1-5), got {value!r}") from None
    if not 1 <= k[0] <= k[1]:
        raise click.BadParameter(f"objects moved must be >= 1 and the range ordered, got {value!r}")
    return k


def _agent_field(name: str) -> Any:
    from agents.rearrange import RearrangeAgentConfig

    return field_default(RearrangeAgentConfig, name)


@click.command("rearrange")
@click.option("--split", type=click.Choice(["train", "val", "test"]), default="val", show_default=True,
              help="Split of the built-in houses the episodes come from.")
@click.option("-n", "--episodes", "n", type=click.IntRange(min=1), default=20, show_default=True,
              help="Number of episodes.")
@click.option("--objects", "k", default="3", show_default=True, metavar="K|LO-HI",
              help="Objects moved per episode: a count, or a range drawn per episode (RoomR: 1-5).")
@click.option("--episode-seed", type=int, default=0, show_default=True, help="Seed of episode generation (the shuffles).")
@click.option("--run-seed", type=int, default=0, show_default=True, help="Seed of the simulator resets.")
@click.option("--proposals", type=click.Choice(["oracle", "segments"]), default=_agent_field("proposals"),
              show_default=True, help="Scene-graph object proposals: instance masks, or training-free depth segments.")
@click.option("--mode", type=click.Choice(["fix", "detect"]), default=_agent_field("mode"), show_default=True,
              help="fix: put moved objects back; detect: change detection only (STOP after the diff).")
@click.option("--snap/--no-snap", default=True, show_default=True,
              help="RoomR's snap put-down (the object returns to its walkthrough pose when the agent is in reach "
                   "and sees it); without it, objects land where the agent aims.")
@click.option("--agent-set", "agent_overrides", multiple=True, metavar="KEY=VALUE",
              help="Override an agent setting (repeatable), e.g. --agent-set survey=false; fields of "
                   "agents/rearrange/agent.py RearrangeAgentConfig.")
@clip_options("clip-")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Worker processes (default: CPU count); not part of the run's identity.")
@click.option("--ray", "use_ray", is_flag=True, help="Run on a Ray cluster (address from RAY_ADDRESS).")
@retry_errors_option("episodes")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output folder (default: outputs/rearrange/<proposals>-<mode>-k<K>-<split>).")
def rearrange(split, n, k, episode_seed, run_seed, proposals, mode, snap, agent_overrides, workers, use_ray,
              retry_errors, out, **clip_kw) -> None:
    """Two-phase rearrangement: a walkthrough of the room as it should be, then an unshuffle phase in
    which K objects were moved; the scene-graph agent must put them back.

    Scored by RoomR's rules (allenai/ai2thor-rearrangement): Success, % Fixed Strict, % Misplaced,
    % Energy Remaining, plus change-detection precision / recall / F1 of the agent's predicted moves.
    Resumable like `embodied nav`: rerunning skips finished episodes. Writes results.jsonl,
    summary.json / summary.md and maps/<episode>.png (what moved, where it went, what the agent thought).

    \b
    Examples:
      embodied rearrange -n 20                         # K = 3, oracle masks, CLIP auto
      embodied rearrange --proposals segments --objects 1-5
      embodied rearrange --mode detect --clip-model embodied-tiny --clip-random-init
    """
    from agents.rearrange import RearrangeAgentConfig
    from embodied.config import config_from_dict
    from embodied.evaluation import rearrange_markdown, summarize_rearrange
    from embodied.files import atomic_write
    from embodied.runs import Job, RunFolder
    from sims.raycast import RearrangeConfig, SimConfig, generate_rearrange_episodes

    n_moved = _parse_k(k)
    rcfg = RearrangeConfig(snap=snap)
    sim_cfg = SimConfig()
    agent_kw = {"proposals": proposals, "mode": mode, "walkthrough_steps": rcfg.walkthrough_steps}
    agent_kw.update(parse_overrides(agent_overrides, "--agent-set"))
    agent_cfg = config_from_dict(RearrangeAgentConfig, agent_kw)
    agent_cfg = dataclasses.replace(agent_cfg, cow=dataclasses.replace(
        agent_cfg.cow, forward_m=sim_cfg.forward_m, turn_deg=sim_cfg.turn_deg, camera_height_m=sim_cfg.camera_height_m))
    clip_cfg = clip_config_from_options(clip_kw, "clip-")
    run = RearrangeRun(sim_config=sim_cfg, rearrange=rcfg, agent_config=agent_cfg, clip=clip_cfg, split=split,
                       episode_seed=episode_seed, n_moved=n_moved, run_seed=run_seed)
    from embodied.clip import get_backbone
    from embodied.clip.auto import weights_label

    weights = weights_label(get_backbone(clip_cfg).provenance)  # a bad checkpoint fails here, before any worker
    episodes = generate_rearrange_episodes(split, n, seed=episode_seed, n_moved=n_moved, config=rcfg,
                                           sim_config=sim_cfg, progress=True)
    skipped = episodes[-1].extras.get("houses_skipped", 0) if episodes else 0
    if skipped:
        click.echo(f"{skipped} houses skipped: too few reachable pickupable objects, or no free spots "
                   "for them", err=True)
    workers = workers or os.cpu_count() or 1
    k_label = f"{n_moved[0]}" if n_moved[0] == n_moved[1] else f"{n_moved[0]}-{n_moved[1]}"
    out = out or Path("outputs/rearrange") / f"{proposals}-{mode}-k{k_label}-{split}"
    record = {"config": run.to_dict(), "embodied": __version__, "episodes": [e.episode_id for e in episodes]}
    with RunFolder(out, record, what="episodes") as folder:
        jobs = [Job(e.episode_id, {"episode": e.to_dict(), "out": str(out)},
                    meta={"episode_id": e.episode_id, "scene_id": e.scene_id, "n_moved": len(e.moves)})
                for e in episodes]
        click.echo(f"{len(episodes)} episodes, K={k_label} | proposals {proposals} | mode {mode} | "
                   f"snap {'on' if snap else 'off'} | CLIP {weights} | {workers} worker(s) -> {out}")

        def postfix(rows: list[dict[str, Any]]) -> dict[str, str]:
            s = summarize_rearrange(rows)
            return {"fixed_strict": f"{s['prop_fixed_strict']:.3f}", "cd_f1": f"{s.get('cd_f1', float('nan')):.3f}"}

        threads = max(1, (os.cpu_count() or 1) // workers)
        report = folder.run(jobs, run_rearrange_job, init=init_worker, init_arg=(run, threads), workers=workers,
                            use_ray=use_ray, retry_errors=retry_errors, progress="episodes", postfix=postfix)
        summary = summarize_rearrange(report.rows)
        header = {"weights": weights, "proposals": proposals, "mode": mode, "snap": snap, "objects moved": k_label,
                  "split": split, "episode_seed": episode_seed, "run_seed": run_seed, "embodied": __version__,
                  "command": command_line(click.get_current_context())}
        folder.write_json("summary.json", {"header": header, **summary})
        md = rearrange_markdown(summary, header)
        atomic_write(out / "summary.md", md.encode())
    click.echo(md)
    finish_run(report, "episodes", out / "results.jsonl")
