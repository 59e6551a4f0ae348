"""``embodied articulate``: Structure from Action on procedural objects or URDF files.

Each job is one object: build the articulated simulator (MuJoCo + the ray caster), run the interaction
agent with the simulator-free estimator, export the discovered model (URDF + meshes + JSON), draw
the segmented cloud with its axes, and score it against the ground truth (parts matched by 3D IoU,
joint type, axis and pivot errors). Resumable and parallel like ``embodied nav`` (embodied.runs).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from embodied import __version__
from embodied.cli.options import command_line, finish_run, retry_errors_option, run_record
from embodied.config import parse_overrides

__all__ = ["articulate", "ArticulateRun", "run_articulate_job", "articulate_markdown"]

_WORKER: dict[str, Any] = {}


@dataclass(frozen=True)
class ArticulateRun:
    """Everything that decides the numbers of a run (its identity in config.json)."""

    sim_config: Any
    agent_config: Any
    estimator_config: Any
    agent: str = "sfa"
    up_axis: str = "auto"
    run_seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return run_record(self)


def init_worker(run: ArticulateRun) -> None:
    _WORKER["run"] = run


def _object_model(payload: dict[str, Any], run: ArticulateRun):
    from sims.articulated import generate_object, load_urdf

    if payload["source"] == "procedural":
        return generate_object(int(payload["seed"]))
    return load_urdf(payload["path"], up_axis=run.up_axis)


def run_articulate_job(payload: dict[str, Any]) -> dict[str, Any]:
    """Run, export, draw and score one object (in a worker)."""
    import numpy as np
    from PIL import Image

    from agents.articulate import RandomInteractionAgent, SfaAgent
    from embodied.articulation.draw import draw_segmentation
    from embodied.articulation.episode import run_articulation_episode
    from embodied.articulation.export import export_urdf
    from embodied.articulation.joints import JointEstimate
    from embodied.articulation.metrics import TruePart, evaluate_parts, sample_surface
    from sims.articulated import ArticulatedSimulator

    run: ArticulateRun = _WORKER["run"]
    model = _object_model(payload, run)
    sim = ArticulatedSimulator(model, run.sim_config)
    agent = (SfaAgent if run.agent == "sfa" else RandomInteractionAgent)(run.agent_config)
    est, log = run_articulation_episode(sim, agent, config=run.estimator_config, seed=run.run_seed)
    visible = sim.observable_truth()
    truth = [TruePart(p.joint, p.type, p.axis, p.pivot_m, visible[p.joint],
                      sample_surface(p.mesh.vertices, p.mesh.faces, 0.005) if p.mesh is not None else None)
             for p in sim.truth()]
    ev = evaluate_parts([(p.points, p.joint) for p in est.parts], truth)
    oid = payload["id"]
    out = Path(payload["out"])
    urdf = export_urdf(out / "urdf" / oid, oid, est.base_points, [(p.points, p.joint) for p in est.parts],
                       {"estimator": est.summary(), "eval": ev, "source": model.source})
    # picture: first camera's RGB | discovered parts and axes | truth
    T, K = sim.cameras[0]
    points, labels = est.segmentation()
    first = est.canonical_cloud0
    names = sim.link_names
    owner = model.rigid_groups()
    # truth coloured like the discovered part it was matched to (unmatched: colours after the discovered ones)
    colour = {p["name"]: p.get("pred_index", len(est.parts) + i) for i, p in enumerate(ev["parts"])}
    true_lab = np.array([colour.get(owner[names[i]], -1) if i >= 0 else -1 for i in first.link_id])
    true_joints: list = [None] * (len(est.parts) + len(truth))
    for p in sim.truth():
        true_joints[colour[p.joint]] = JointEstimate(p.type, p.axis, p.pivot_m)
    rgb0 = sim.reset().views[0].rgb
    panel = np.concatenate([rgb0, draw_segmentation(points, labels, [p.joint for p in est.parts], T, K, "discovered"),
                            draw_segmentation(first.points, true_lab, true_joints, T, K, "truth")], axis=1)
    (out / "images").mkdir(parents=True, exist_ok=True)
    Image.fromarray(panel).save(out / "images" / f"{oid}.png")
    return {"object": model.name, "source": model.source, "interactions": len(log), "eval": ev,
            "urdf": str(urdf.relative_to(out)), "inference_s": [r["inference_s"] for r in log],
            "sim_s": [r["sim_s"] for r in log], "points": int(len(est.canonical_cloud0)),
            "steps": [{"interaction": r["interaction"], "moved": r["report"]["moved"], "part": r["report"]["part"],
                       "new_part": r["report"]["new_part"], "reason": r["report"]["reason"],
                       "link": r["sim_info"].get("link")} for r in log]}


def articulate_markdown(summary: dict[str, Any], header: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    """summary.md: the run's header, the aggregate table, one line per object."""
    s = summary
    lines = ["# embodied articulate", "", *[f"- {k}: {v}" for k, v in header.items()], "",
             "| objects | parts found | joint-type acc. | axis err. (deg, median) | pivot err. (cm, median) | "
             "part IoU visible (mean) | part IoU full (mean) | interactions (mean) | inference s / interaction |",
             "|---|---|---|---|---|---|---|---|---|",
             f"| {s['objects_ok']}/{s['objects']} | {s['parts_found']}/{s['parts_true']} ({s['found_rate']:.1%}) | "
             f"{s['joint_type_accuracy']:.3f} | {s['axis_error_deg_median']:.2f} | {s['pivot_error_cm_median']:.2f} | "
             f"{s['part_iou_mean']:.3f} | {s['part_iou_full_mean']:.3f} | {s['interactions_mean']:.1f} | "
             f"{s['inference_s_mean']:.2f} |", "", "| object | parts found | IoU per part | interactions |",
             "|---|---|---|---|"]
    for r in rows:
        if r.get("status") == "ok":
            ev = r["eval"]
            ious = ", ".join(f"{p['name']} {p['iou']:.2f}" for p in ev["parts"])
            lines.append(f"| {r['object']} | {ev['n_found']}/{ev['n_true']} | {ious} | {r['interactions']} |")
        else:
            lines.append(f"| {r['id']} | failed: {r.get('error', '?')} | | |")
    return "\n".join(lines) + "\n"


def _job_id(path: Path) -> str:
    name = path.parent.name if path.name == "mobility.urdf" else path.stem
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


@click.command("articulate")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--objects", "n", type=click.IntRange(min=1), default=None,
              help="Run on this many procedural objects of --split (default 20 when no PATHS are given).")
@click.option("--split", type=click.Choice(["train", "val", "test"]), default="val", show_default=True,
              help="Split of the procedural object seeds.")
@click.option("--object-seed", type=int, default=0, show_default=True, help="Seed that draws the objects of the split.")
@click.option("--agent", type=click.Choice(["sfa", "random"]), default="sfa", show_default=True,
              help="sfa: the Structure-from-Action policy; random: random pushes and pulls (baseline).")
@click.option("--budget", type=click.IntRange(min=1), default=None, help="Most interactions per object [default: 10].")
@click.option("--cameras", type=click.IntRange(1, 4), default=None, help="RGB-D views [default: 4: three on an arc in front, one higher].")
@click.option("--up-axis", type=click.Choice(["auto", "y", "z"]), default="auto", show_default=True,
              help="Up axis of URDF files (auto: y for glTF meshes, z otherwise).")
@click.option("--agent-set", "agent_overrides", multiple=True, metavar="KEY=VALUE",
              help="Override an agent setting (agents/articulate/agent.py SfaAgentConfig), e.g. --agent-set extend=1.")
@click.option("--sim-set", "sim_overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a simulator setting (sims/articulated/simulator.py ArticulatedSimConfig), e.g. "
                   "--sim-set depth_noise_m=0.002.")
@click.option("--run-seed", type=int, default=0, show_default=True, help="Seeds depth noise.")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Worker processes (default: CPU count).")
@click.option("--ray", "use_ray", is_flag=True, help="Run on a Ray cluster (address from RAY_ADDRESS).")
@retry_errors_option("objects")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output folder (default: outputs/articulate/<agent>-<split> or <agent>-urdf).")
def articulate(paths, n, split, object_seed, agent, budget, cameras, up_axis, agent_overrides, sim_overrides,
               run_seed, workers, use_ray, retry_errors, out) -> None:
    """Structure from Action: discover the parts and joints of articulated objects by pushing and pulling them.

    The agent sees calibrated RGB-D views and its own actions only; it segments what moved, estimates
    each part's rigid motion (ICP) and joint (revolute axis and pivot, or prismatic axis), aggregates
    part geometry in the initial frame, and stops on its budget or when nothing moves any more.
    PATHS are URDF files, PartNet-Mobility folders (holding mobility.urdf) or folders of them; without
    PATHS, procedural cabinets, chests, boxes, microwaves and fridges.

    Writes results.jsonl, summary.json / summary.md, urdf/<object>/ (the discovered model: URDF, meshes,
    JSON) and images/<object>.png (camera view | discovered parts and axes | truth). Scored by joint-type
    accuracy, axis angle error (deg, sign ignored), pivot error (cm, distance between axis lines), part
    IoU (2 cm voxels; visible and full surface) and parts found.

    \b
    Examples:
      embodied articulate --objects 20
      embodied articulate --objects 100 --agent random
      embodied articulate ../shared/assets/articulated/
    """
    from agents.articulate import SfaAgentConfig
    from embodied.articulation.estimator import EstimatorConfig
    from embodied.articulation.metrics import summarize_articulation
    from embodied.config import config_from_dict
    from embodied.files import atomic_write
    from embodied.runs import Job, RunFolder
    from sims.articulated import ArticulatedSimConfig, find_urdfs, object_seeds

    agent_kw = parse_overrides(agent_overrides, "--agent-set")
    if budget is not None:
        agent_kw["budget"] = budget
    agent_cfg = config_from_dict(SfaAgentConfig, agent_kw)
    sim_kw = parse_overrides(sim_overrides, "--sim-set")
    if cameras is not None:
        sim_kw["n_cameras"] = cameras
    sim_cfg = config_from_dict(ArticulatedSimConfig, sim_kw)
    run = ArticulateRun(sim_cfg, agent_cfg, EstimatorConfig(), agent=agent, up_axis=up_axis, run_seed=run_seed)
    if paths:
        if n is not None:
            raise click.UsageError("give PATHS or --objects, not both")
        files = find_urdfs(paths)
        ids = [_job_id(f) for f in files]
        seen: dict[str, int] = {}
        for i, x in enumerate(ids):  # unique ids for same-named objects
            seen[x] = seen.get(x, 0) + 1
            if seen[x] > 1:
                ids[i] = f"{x}-{seen[x]}"
        payloads = [{"id": i, "source": "urdf", "path": str(f.resolve())} for i, f in zip(ids, files)]
        out = out or Path("outputs/articulate") / f"{agent}-urdf"
    else:
        seeds = object_seeds(split, n or 20, seed=object_seed)
        payloads = [{"id": f"{split}-{s}", "source": "procedural", "seed": s} for s in seeds]
        out = out or Path("outputs/articulate") / f"{agent}-{split}"
    record = {"config": run.to_dict(), "embodied": __version__, "objects": [p["id"] for p in payloads]}
    workers = workers or os.cpu_count() or 1
    with RunFolder(out, record, what="objects") as folder:
        jobs = [Job(p["id"], {**p, "out": str(out)}, meta={"id_source": p["source"]}) for p in payloads]
        click.echo(f"{len(jobs)} objects | agent {agent} | budget {agent_cfg.budget} | {sim_cfg.n_cameras} cameras | "
                   f"{workers} worker(s) -> {out}")

        def postfix(rows):
            s = summarize_articulation(rows)
            return {"found": f"{s['found_rate']:.2f}", "iou": f"{s['part_iou_mean']:.2f}"}

        report = folder.run(jobs, run_articulate_job, init=init_worker, init_arg=run, workers=workers,
                            use_ray=use_ray, retry_errors=retry_errors, progress="objects", postfix=postfix)
        summary = summarize_articulation(report.rows)
        header = {"agent": agent, "budget": agent_cfg.budget, "cameras": sim_cfg.n_cameras,
                  "objects": "URDF files" if paths else f"procedural, split {split}, object seed {object_seed}",
                  "run_seed": run_seed, "embodied": __version__, "command": command_line(click.get_current_context())}
        folder.write_json("summary.json", {"header": header, **summary})
        md = articulate_markdown(summary, header, report.rows)
        atomic_write(out / "summary.md", md.encode())
    click.echo(md)
    finish_run(report, "objects", out / "results.jsonl")

