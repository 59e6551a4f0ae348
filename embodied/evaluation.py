"""Running agents on episodes: the episode loop, a resumable results log, and summary tables.

Only protocols are used here (Simulator, Agent); building them by name is the CLI's job.
A simulator that also has ``distance_to_goal(category) -> float`` (geodesic, metres) gets the
habitat-lab metrics; without it, Success/SPL cannot be computed and the run says so.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from embodied.errors import EmbodiedError
from embodied.metrics import episode_metrics, summarize
from embodied.tasks import ObjectNavEpisode
from embodied.types import Action, Agent, Observation, Simulator

__all__ = ["run_episode", "ResultsLog", "summarize_results", "summary_markdown", "comparison_markdown"]


def run_episode(sim: Simulator, agent: Agent, episode: ObjectNavEpisode, *, max_steps: int = 500,
                success_distance_m: float = 0.1, seed: int | None = None,
                on_step: Callable[[Observation, Action, Agent], None] | None = None) -> dict[str, Any]:
    """Run one episode to STOP or ``max_steps``; return a JSON-ready result row.

    Bad input the episode cannot survive (unknown goal, start inside a wall, NaN depth, ...) gives a
    row with ``skipped`` set to the reason instead of raising, so one bad episode never stops a run.
    """
    row: dict[str, Any] = {"episode_id": episode.episode_id, "scene_id": episode.scene_id,
                           "goal_category": episode.goal_category}
    t0 = time.perf_counter()
    agent_s = 0.0
    try:
        obs = sim.reset(episode, seed=seed)
        agent.reset(episode.goal_category)
        dist_fn = getattr(sim, "distance_to_goal", None)
        start_d = float(dist_fn(episode.goal_category)) if dist_fn else math.nan
        positions = [obs.agent_pose.position_m if obs.agent_pose else (math.nan,) * 3]
        collisions, action, steps = 0, None, 0
        for steps in range(1, max_steps + 1):
            obs.validate()
            ta = time.perf_counter()
            action = agent.act(obs)
            agent_s += time.perf_counter() - ta
            if on_step is not None:
                on_step(obs, action, agent)
            res = sim.step(action)
            obs = res.observation
            collisions += int(res.collided)
            positions.append(obs.agent_pose.position_m if obs.agent_pose else (math.nan,) * 3)
            if action is Action.STOP:
                break
        final_d = float(dist_fn(episode.goal_category)) if dist_fn else math.nan
    except EmbodiedError as exc:
        row["skipped"] = f"{type(exc).__name__}: {exc}"
        return row
    shortest = episode.geodesic_distance_m if episode.geodesic_distance_m is not None else start_d
    m = episode_metrics(called_stop=action is Action.STOP, distance_to_goal_m=final_d, start_distance_m=start_d,
                        positions_m=[p[:2] for p in positions], steps=steps, collisions=collisions,
                        success_distance_m=success_distance_m, shortest_path_m=shortest)
    wall = time.perf_counter() - t0
    row.update(m.to_dict())
    row.update({"seconds": round(wall, 4), "seconds_per_step": round(wall / max(steps, 1), 6),
                "agent_seconds_per_step": round(agent_s / max(steps, 1), 6)})
    return row


class ResultsLog:
    """Append-only JSONL of result rows; each line is written and fsynced whole, so a killed run
    loses at most the episode in flight and a rerun skips what is already there."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def rows(self) -> list[dict[str, Any]]:
        """Rows written so far (a torn last line from a crash is ignored)."""
        if not self.path.exists():
            return []
        out = []
        for line in self.path.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return out

    def done_ids(self) -> set[str]:
        return {r["episode_id"] for r in self.rows()}

    def append(self, row: Mapping[str, Any]) -> None:
        data = (json.dumps(row, sort_keys=True) + "\n").encode()
        if self.path.exists() and self.path.stat().st_size:
            with open(self.path, "rb") as f:  # a crash may have left a torn last line: start afresh
                f.seek(-1, os.SEEK_END)
                if f.read(1) != b"\n":
                    data = b"\n" + data
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)


def summarize_results(rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Overall and per-category means of finished episodes, plus skipped ones with reasons."""
    rows = sorted(rows, key=lambda r: r["episode_id"])
    done = [r for r in rows if "skipped" not in r]
    out: dict[str, Any] = {"overall": summarize(done), "per_category": {}}
    for cat in sorted({r["goal_category"] for r in done}):
        out["per_category"][cat] = summarize([r for r in done if r["goal_category"] == cat])
    if done:
        out["overall"]["seconds_per_step"] = sum(r["seconds_per_step"] for r in done) / len(done)
    out["skipped"] = [{"episode_id": r["episode_id"], "reason": r["skipped"]} for r in rows if "skipped" in r]
    return out


def summary_markdown(summary: Mapping[str, Any], header: Mapping[str, Any]) -> str:
    """A Markdown report: the header (weights, config) then overall and per-category tables."""
    cols = ("episodes", "success", "spl", "soft_spl", "distance_to_goal_m", "steps", "collisions")
    lines = [f"- **{k}**: {v}" for k, v in header.items()]
    lines += ["", "| split | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]

    def fmt(v: Any) -> str:
        return f"{v:.3f}" if isinstance(v, float) else str(v)

    def row(name: str, s: Mapping[str, Any]) -> str:
        return f"| {name} | " + " | ".join(fmt(s.get(c, "")) for c in cols) + " |"

    lines.append(row("**all**", summary["overall"]))
    lines += [row(cat, s) for cat, s in summary["per_category"].items()]
    if summary["skipped"]:
        lines += ["", f"Skipped {len(summary['skipped'])} episodes:"]
        lines += [f"- {s['episode_id']}: {s['reason']}" for s in summary["skipped"]]
    return "\n".join(lines) + "\n"


def comparison_markdown(summaries: Sequence[Mapping[str, Any]]) -> str:
    """One Markdown table comparing runs: a row per ``summary.json`` (header + overall), with the
    CLIP weights and the command that reproduces it."""
    cols = ("success", "spl", "soft_spl", "distance_to_goal_m", "steps")
    lines = ["| agent | localizer | frontier | CLIP weights | episodes | Success | SPL | SoftSPL | DTG (m) | steps |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    commands = []
    for i, s in enumerate(summaries, 1):
        h, o = s["header"], s["overall"]
        loc, front = (h["localizer"], h["frontier"]) if h["agent"] != "random" else ("-", "-")
        lines.append(f"| {h['agent']} | {loc} | {front} | {h['weights']} | {o.get('episodes', 0)} | "
                     + " | ".join(f"{o[c]:.3f}" if c != "steps" else f"{o[c]:.0f}" for c in cols) + " |")
        if h.get("command"):
            commands.append(f"{i}. `{h['command']}`")
    if commands:
        lines += ["", "Rows from:", *commands]
    return "\n".join(lines) + "\n"
