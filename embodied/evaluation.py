"""Running agents on episodes: the episode loop, a resumable results log, and summary tables.

Only protocols are used here (Simulator, Agent); building them by name is the CLI's job.
A simulator scores ObjectNav episodes through ``distance_to_goal(category) -> float`` (geodesic,
metres, to the nearest goal view point): DistanceToGoal, SPL's shortest path (measured at reset, as
habitat-lab does) and SoftSPL come from it, and so does Success unless the simulator also has its
own rule, ``goal_success(category) -> bool`` (RoboTHOR: the target visible within
``visibilityDistance`` at STOP). A simulator with neither is refused (:func:`check_scorable`): a
benchmark that prints zeros it cannot compute is worse than none.
"""

from __future__ import annotations

import dataclasses
import math
import time
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from embodied.errors import ConfigError, EmbodiedError
from embodied.metrics import episode_metrics, summarize
from embodied.tasks import ObjectNavEpisode
from embodied.types import Action, Agent, Observation, Simulator

__all__ = ["NavRun", "check_scorable", "success_rule", "run_episode", "summarize_results", "summary_markdown", "comparison_markdown",
           "geodesic_agreement", "run_rearrange_episode", "summarize_rearrange", "rearrange_markdown"]


@dataclass(frozen=True)
class NavRun:
    """Everything that decides the numbers of an ObjectNav run. Built once from the command line,
    written once to the run's config.json (its identity: a rerun with another NavRun is refused) and
    handed as it is to every worker. Worker and thread counts are not part of it.

    Attributes:
        simulator: registry name ("builtin", "habitat", "thor").
        sim_config: the simulator's typed config (threads left unset; each worker sets its own).
        agent: registry name ("cow", "frontier", "random").
        agent_config: the agent's typed config (a CowConfig; None for agents without settings).
        clip: the ClipConfig of CLIP localizers / value maps, or None when the agent uses no CLIP.
        episodes: the built-in split the episodes were generated from, or the episode file.
        episode_seed: which episodes are generated (sampling of starts and goals).
        run_seed: seeds every episode's simulator reset and the agent; episode ``e`` gets
            :meth:`reset_seed` ``(e)``, so results do not depend on the worker that ran it.
        max_steps: steps before an episode ends without STOP.
        success_distance_m: habitat-lab's SUCCESS_DISTANCE: STOP within this geodesic distance of the
            goal's view points succeeds (the view points themselves are the simulator's business,
            e.g. the built-in ``SimConfig.goal_view_radius_m``).
    """

    simulator: str = "builtin"
    sim_config: Any = None
    agent: str = "cow"
    agent_config: Any = None
    clip: Any = None
    episodes: str = "val"
    episode_seed: int = 0
    run_seed: int = 0
    max_steps: int = 500
    success_distance_m: float = 0.1

    def reset_seed(self, episode_id: str) -> int:
        """The seed of episode ``episode_id``'s simulator reset (crc32 of the run seed and the id)."""
        return zlib.crc32(f"{self.run_seed}:{episode_id}".encode())

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON, nested configs tagged with their type: what config.json holds as the identity."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            out[f.name] = {"type": type(v).__name__, **dataclasses.asdict(v)} if dataclasses.is_dataclass(v) else v
        return out


def check_scorable(sim: Any, name: str | None = None) -> None:
    """Raise ConfigError when ``sim`` (a simulator or its class) cannot score ObjectNav episodes,
    i.e. has no ``distance_to_goal(category)``."""
    if not callable(getattr(sim, "distance_to_goal", None)):
        what = name or (sim.__name__ if isinstance(sim, type) else type(sim).__name__)
        raise ConfigError(f"simulator {what} cannot score ObjectNav episodes: it has no distance_to_goal(category), "
                          "so Success, SPL and DistanceToGoal would all be made up. Use a simulator with a geodesic "
                          "oracle (builtin, habitat, thor) or add distance_to_goal to it.")


def success_rule(sim: Any) -> str:
    """How ``sim``'s episodes succeed: "visible" (its own ``goal_success`` at STOP, RoboTHOR's rule)
    or "distance" (STOP within ``success_distance_m`` of a goal view point, habitat-lab's rule)."""
    return "visible" if callable(getattr(sim, "goal_success", None)) else "distance"


def run_episode(sim: Simulator, agent: Agent, episode: ObjectNavEpisode, *, max_steps: int = 500,
                success_distance_m: float = 0.1, seed: int | None = None,
                on_step: Callable[[Observation, Action, Agent], None] | None = None) -> dict[str, Any]:
    """Run one episode to STOP or ``max_steps``; return a JSON-ready result row.

    Bad input the episode cannot survive (unknown goal, start inside a wall, NaN depth, ...) gives a
    row with ``status`` "error" and the reason in ``error`` instead of raising, so one bad episode never
    stops a run (and counts as a failure in every summary); so does a goal that cannot be reached
    from the start (``status`` "unreachable": habitat-lab counts it, Success 0, SPL 0). A simulator
    that cannot score episodes at all raises ConfigError (:func:`check_scorable`).

    SPL's shortest path is ``distance_to_goal`` at reset (habitat-lab's SPL), or for a simulator with
    its own success rule (RoboTHOR) the episode's ``geodesic_distance_m`` when it has one (RoboTHOR's
    SPL uses the episode's shortest path); the file's value is kept as ``file_geodesic_m`` either way.
    """
    check_scorable(sim)
    rule = success_rule(sim)
    row: dict[str, Any] = {"episode_id": episode.episode_id, "scene_id": episode.scene_id,
                           "goal_category": episode.goal_category}
    t0 = time.perf_counter()
    agent_s = 0.0
    try:
        obs = sim.reset(episode, seed=seed)
        agent.reset(episode.goal_category)
        start_d = float(sim.distance_to_goal(episode.goal_category))
        if not math.isfinite(start_d):
            row.update(status="unreachable", final=True,  # the same on every rerun: not retried
                       error=f"no view point of a '{episode.goal_category}' is reachable from the start "
                             "(geodesic distance inf)")
            return row
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
        final_d = float(sim.distance_to_goal(episode.goal_category))
        stopped = action is Action.STOP
        own = bool(sim.goal_success(episode.goal_category)) if stopped and rule == "visible" else None
    except EmbodiedError as exc:
        row.update(status="error", error=f"{type(exc).__name__}: {exc}")
        return row
    # SPL's l: habitat-lab measures DistanceToGoal at reset (nav.py SPL.reset_metric); RoboTHOR scores
    # with the episode's own shortest path (ai2thor/util/metrics.py compute_single_spl, as
    # allenai/robothor-challenge challenge.py and real-stanford/cow robothor_challenge.py call it)
    shortest = episode.geodesic_distance_m if rule == "visible" and episode.geodesic_distance_m else start_d
    m = episode_metrics(called_stop=stopped, distance_to_goal_m=final_d, start_distance_m=start_d,
                        positions_m=positions, steps=steps, collisions=collisions,
                        success_distance_m=success_distance_m, shortest_path_m=shortest,
                        success=own if rule == "visible" else None)
    wall = time.perf_counter() - t0
    row.update(m.to_dict(), status="ok", success_rule=rule, start_distance_m=start_d,
               file_geodesic_m=episode.geodesic_distance_m)
    row.update({"seconds": round(wall, 4), "seconds_per_step": round(wall / max(steps, 1), 6),
                "agent_seconds_per_step": round(agent_s / max(steps, 1), 6)})
    return row


_FAILED_ZERO = ("success", "spl", "soft_spl")


def _failed(row: Mapping[str, Any]) -> bool:
    return row.get("status", "ok") != "ok"


def _category_summary(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Means over all ``rows``: a failed episode counts 0 in Success, SPL and SoftSPL; the other
    metrics (distance, steps, path lengths) are means over the episodes that ran."""
    ran = [r for r in rows if not _failed(r)]
    out = summarize(ran)
    n = len(rows)
    out["episodes"] = n
    if ran:
        for k in _FAILED_ZERO:
            if k in out:
                out[k] = out[k] * len(ran) / n
    else:
        out.update({k: 0.0 for k in _FAILED_ZERO} if n else {})
    out["failed"] = n - len(ran)
    return out


def summarize_results(rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Overall and per-category means over every episode, failed ones included (Success, SPL and
    SoftSPL 0: a failure never leaves the denominator), plus the failed ones with their reasons.

    A row failed when its ``status`` is not "ok" (an error, a timeout, a bad episode-file line).
    """
    rows = sorted(rows, key=lambda r: r.get("episode_id", r.get("id", "")))
    out: dict[str, Any] = {"overall": _category_summary(rows), "per_category": {}}
    for cat in sorted({r.get("goal_category") or "" for r in rows} - {""}):
        out["per_category"][cat] = _category_summary([r for r in rows if r.get("goal_category") == cat])
    ran = [r for r in rows if not _failed(r)]
    if ran:
        out["overall"]["seconds_per_step"] = sum(r["seconds_per_step"] for r in ran) / len(ran)
    out["failed"] = [{"episode_id": r.get("episode_id", r.get("id")), "status": r.get("status"), "reason": r.get("error")}
                     for r in rows if _failed(r)]
    rules = sorted({r["success_rule"] for r in ran if r.get("success_rule")})
    if rules:
        out["success_rule"] = "+".join(rules)
    check = geodesic_agreement(ran)
    if check:
        out["geodesic_vs_file"] = check
    return out


def geodesic_agreement(rows: Iterable[Mapping[str, Any]]) -> dict[str, Any] | None:
    """How far the simulator's start distances (``start_distance_m``, its own navigability) are from
    the episode file's ``geodesic_distance`` (``file_geodesic_m``: habitat's navmesh, for one): episodes
    compared, mean |ours - file| (m), mean ours / file, and how many differ by more than 0.5 m.
    None when no row has both."""
    pairs = [(float(r["start_distance_m"]), float(r["file_geodesic_m"])) for r in rows
             if r.get("start_distance_m") is not None and r.get("file_geodesic_m") is not None
             and math.isfinite(float(r["start_distance_m"])) and float(r["file_geodesic_m"]) > 0]
    if not pairs:
        return None
    diffs = [abs(a - b) for a, b in pairs]
    return {"episodes": len(pairs), "mean_abs_diff_m": sum(diffs) / len(pairs),
            "mean_ratio": sum(a / b for a, b in pairs) / len(pairs), "over_0.5m": sum(d > 0.5 for d in diffs)}


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
    g = summary.get("geodesic_vs_file")
    if g:
        lines += ["", f"Start geodesic, this simulator vs the episode file's, over {g['episodes']} episodes: mean |diff| "
                      f"{g['mean_abs_diff_m']:.3f} m, mean ratio {g['mean_ratio']:.3f}, {g['over_0.5m']} differ by more "
                      "than 0.5 m (per episode: start_distance_m and file_geodesic_m in results.jsonl)."]
    if summary["failed"]:
        kinds: dict[str, int] = {}
        for f in summary["failed"]:
            kinds[f.get("status") or "error"] = kinds.get(f.get("status") or "error", 0) + 1
        why = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
        lines += ["", f"{len(summary['failed'])} of {summary['overall']['episodes']} episodes failed ({why}); they "
                      "count in every mean with Success 0, SPL 0, SoftSPL 0:"]
        lines += [f"- {s['episode_id']} ({s.get('status') or 'error'}): {s['reason']}" for s in summary["failed"]]
    return "\n".join(lines) + "\n"


def _no_paths(text: str) -> str:
    """``text`` with every file path cut to its file name (tables must not name a machine's folders)."""
    import re

    return re.sub(r"(?:[A-Za-z]:)?[^\s/\\]*[/\\](?:[^\s/\\]+[/\\])*([^\s/\\]+)", r"\1", text)


def comparison_markdown(summaries: Sequence[Mapping[str, Any]]) -> str:
    """One Markdown table comparing runs: a row per ``summary.json`` (header + overall), with every
    setting that tells rows apart (localizer, its proposals, frontier, success rule, setup, CLIP
    weights without machine paths) and the command that reproduces it."""
    cols = ("success", "spl", "soft_spl", "distance_to_goal_m", "steps")
    lines = ["| agent | localizer | proposals | frontier | success rule | setup | CLIP weights | episodes | Success | SPL "
             "| SoftSPL | DTG (m) | steps |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    commands = []
    for i, s in enumerate(summaries, 1):
        h, o = s["header"], s["overall"]
        loc, front = (h["localizer"], h["frontier"]) if h["agent"] != "random" else ("-", "-")
        setup = str(h.get("setup", "toolkit defaults")).split(" (")[0]
        lines.append(f"| {h['agent']} | {loc} | {h.get('proposals', '-')} | {front} | "
                     f"{h.get('success_rule', o.get('success_rule', '-'))} | {setup} | {_no_paths(str(h['weights']))} | "
                     f"{o.get('episodes', 0)} | "
                     + " | ".join(f"{o[c]:.3f}" if c != "steps" else f"{o[c]:.0f}" for c in cols) + " |")
        if h.get("command"):
            commands.append(f"{i}. `{h['command']}`")
    if commands:
        lines += ["", "Rows from:", *commands]
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------------- rearrangement
def _run_phase(sim: Any, agent: Agent, obs: Observation, on_step: Callable | None, phase: str) -> tuple[int, float]:
    """Act until STOP or the simulator says the phase is over; (steps, agent seconds)."""
    steps, agent_s = 0, 0.0
    while True:
        obs.validate()
        ta = time.perf_counter()
        action = agent.act(obs)
        agent_s += time.perf_counter() - ta
        if on_step is not None:
            on_step(obs, action, agent, phase)
        if action is Action.STOP:
            return steps, agent_s
        res = sim.step(action)
        steps += 1
        obs = res.observation
        if res.done:
            return steps, agent_s


def run_rearrange_episode(sim: Any, agent: Agent, episode: Any, *, seed: int | None = None,
                          on_step: Callable[[Observation, Any, Agent, str], None] | None = None) -> dict[str, Any]:
    """Run both phases of a two-phase rearrangement episode; return a JSON-ready result row.

    ``sim`` has ``reset(episode)`` (walkthrough), ``begin_unshuffle()``, ``step``, and the scoring
    ``metrics()``, ``goal_poses()``, ``start_poses()`` (sims.raycast.RearrangeSimulator); ``agent`` is
    reset with the phase name. STOP ends a phase (RoomR's "done"). The row has RoomR's metrics
    (embodied.rearrangement) and, when the agent exposes ``predicted_moves``, change detection.
    Errors give a row with ``status`` "error" (counted as a failure in the summary).
    """
    from embodied.rearrangement import change_detection

    row: dict[str, Any] = {"episode_id": episode.episode_id, "scene_id": episode.scene_id,
                           "n_moved": len(episode.moves)}
    t0 = time.perf_counter()
    try:
        obs = sim.reset(episode, seed=seed)
        agent.reset("walkthrough")
        walk_steps, a1 = _run_phase(sim, agent, obs, on_step, "walkthrough")
        obs = sim.begin_unshuffle()
        agent.reset("unshuffle")
        un_steps, a2 = _run_phase(sim, agent, obs, on_step, "unshuffle")
        m = sim.metrics()
    except EmbodiedError as exc:
        row.update(status="error", error=f"{type(exc).__name__}: {exc}")
        return row
    row.update(m.to_dict(), status="ok", walkthrough_steps=walk_steps, unshuffle_steps=un_steps)
    predicted = getattr(agent, "predicted_moves", None)
    if predicted is not None:
        row.update(change_detection(predicted, sim.goal_poses(), sim.start_poses()).to_dict())
    wall = time.perf_counter() - t0
    steps = max(walk_steps + un_steps, 1)
    row.update(seconds=round(wall, 4), seconds_per_step=round(wall / steps, 6),
               agent_seconds_per_step=round((a1 + a2) / steps, 6))
    return row


_REARRANGE_ZERO = ("success", "prop_fixed", "prop_fixed_strict")
_REARRANGE_MEAN = ("success", "prop_fixed", "prop_fixed_strict", "prop_misplaced", "energy_prop",
                   "walkthrough_steps", "unshuffle_steps", "seconds_per_step")


def summarize_rearrange(rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Means over episodes (a failed one counts 0 in Success, % Fixed and % Fixed Strict and leaves the
    other means), NaN-skipping for % Misplaced and Energy remaining (undefined when nothing was
    misplaced), and change detection micro-averaged (TP, FP, FN summed over episodes)."""
    from embodied.rearrangement import ChangeDetection

    rows = sorted(rows, key=lambda r: r.get("episode_id", r.get("id", "")))
    ran = [r for r in rows if not _failed(r)]
    out: dict[str, Any] = {"episodes": len(rows), "failed": len(rows) - len(ran)}
    for k in _REARRANGE_MEAN:
        vals = [float(r[k]) for r in ran if k in r and r[k] is not None and not math.isnan(float(r[k]))]
        out[k] = sum(vals) / len(vals) if vals else math.nan
        if k in _REARRANGE_ZERO:
            out[k] = sum(vals) / len(rows) if rows else math.nan
    if any("cd_tp" in r for r in ran):
        out.update(ChangeDetection(*(sum(int(r.get(k, 0)) for r in ran) for k in ("cd_tp", "cd_fp", "cd_fn"))).to_dict())
    out["failed_episodes"] = [{"episode_id": r.get("episode_id", r.get("id")), "reason": r.get("error")}
                              for r in rows if _failed(r)]
    return out


def rearrange_markdown(summary: Mapping[str, Any], header: Mapping[str, Any]) -> str:
    """A Markdown report of a rearrangement run: header lines, then one table of the RoomR metrics."""
    cols = (("episodes", "episodes"), ("success", "Success"), ("prop_fixed_strict", "% Fixed Strict"),
            ("prop_fixed", "% Fixed"), ("prop_misplaced", "% Misplaced"), ("energy_prop", "% Energy Remaining"),
            ("cd_precision", "CD precision"), ("cd_recall", "CD recall"), ("cd_f1", "CD F1"),
            ("unshuffle_steps", "unshuffle steps"))
    lines = [f"- **{k}**: {v}" for k, v in header.items()]
    lines += ["", "| " + " | ".join(name for _, name in cols) + " |", "|---" * len(cols) + "|"]

    def fmt(v: Any) -> str:
        return "-" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)

    lines.append("| " + " | ".join(fmt(summary.get(k)) for k, _ in cols) + " |")
    if summary["failed_episodes"]:
        lines += ["", f"{len(summary['failed_episodes'])} episodes failed (Success 0, % Fixed Strict 0):"]
        lines += [f"- {s['episode_id']}: {s['reason']}" for s in summary["failed_episodes"]]
    return "\n".join(lines) + "\n"
