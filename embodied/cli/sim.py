"""``embodied sim view | episodes``: look at built-in houses and scanned scenes, make ObjectNav episodes."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import click

from embodied.cli.options import CONTEXT, Group, field_default, field_option

__all__ = ["sim"]


def _sim_config_cls():
    from sims.raycast import SimConfig

    return SimConfig


def _sensor_options(f):
    cfg = _sim_config_cls()
    for opt in reversed([
        field_option(cfg, "width", type=click.IntRange(min=8), help="Image width (px)."),
        field_option(cfg, "height", type=click.IntRange(min=8), help="Image height (px)."),
        field_option(cfg, "hfov_deg", "--hfov", "hfov_deg", type=float, help="Horizontal FOV (deg)."),
        field_option(cfg, "backend", type=click.Choice(["embree", "open3d"]), help="Ray-casting backend."),
    ]):
        f = opt(f)
    return f


@click.group(cls=Group, context_settings=CONTEXT)
def sim() -> None:
    """Simulators: look at built-in houses and scanned scenes, make ObjectNav episodes."""


@sim.command()
@click.option("--house", "house_seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="House seed: the scene 'house-<seed>' (train 0-799, val 800-899, test 900-999).")
@click.option("--scene", "scene_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="A scanned scene instead: a mesh file (.glb/.gltf/.ply/.obj, metres; semantics from "
                   "<name>.semantic.glb+.txt or <name>.semantic.json/.csv beside it).")
@click.option("--up", "up_axis", type=click.Choice(["auto", "y", "z"]), default="auto", show_default=True,
              help="Up axis of --scene (auto: y for glTF, z for PLY/OBJ).")
@click.option("--storey", type=click.IntRange(min=0), default=0, show_default=True,
              help="Which storey of --scene to start on (0 = the lowest floor found).")
@click.option("--start-seed", type=int, default=0, show_default=True,
              help="Seed of the random start pose (and of the random walk).")
@click.option("--walk", type=click.IntRange(min=0), default=0, show_default=True,
              help="Also record a random walk of this many steps.")
@click.option("--format", "fmt", type=click.Choice(["gif", "mp4"]), default="gif", show_default=True,
              help="Format of the walk.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("outputs/sim"),
              show_default=True, help="Output folder.")
@click.option("--save-scene", is_flag=True, help="Also write the house as GLB + JSON (with its navigable grid).")
@_sensor_options
def view(house_seed, scene_file, up_axis, storey, start_seed, walk, fmt, out, save_scene, width, height, hfov_deg,
         backend) -> None:
    """Render a built-in house or a scanned scene: a PNG panel RGB | depth | instances | top-down
    navigable map, from a random navigable start.

    \b
    Examples:
      embodied sim view --house 3
      embodied sim view --house 3 --walk 60 --format mp4
      embodied sim view --scene scans/TEEsavR23oF.basis.glb --walk 40
    """
    import numpy as np
    from PIL import Image
    from tqdm.auto import tqdm

    from embodied.types import Action
    from embodied.video import save_video
    from sims import raycast

    cfg = raycast.SimConfig(width=width, height=height, hfov_deg=hfov_deg, backend=backend,
                            scene=str(scene_file) if scene_file else None, scan_up_axis=up_axis)
    if scene_file is not None and save_scene:
        raise click.UsageError("--save-scene writes procedural houses; a scanned scene is its mesh file already")
    with raycast.RaycastSimulator(cfg, scene=None if scene_file else raycast.generate_house(house_seed)) as simulator:
        if scene_file is not None:
            simulator.reset(seed=start_seed)  # loads the scan
            if storey >= len(simulator.floors_m):
                raise click.BadParameter(f"the scene has {len(simulator.floors_m)} storey(s)", param_hint="--storey")
            simulator.select_storey(storey)
        obs = simulator.reset(seed=start_seed)
        scene = simulator.scene
        out.mkdir(parents=True, exist_ok=True)
        png = out / f"{scene.scene_id}.png"
        Image.fromarray(raycast.panel(obs, scene, simulator.nav)).save(png)
        if scene.scanned:
            nav = simulator.nav
            floors = ", ".join(f"{z:.2f}" for z in simulator.floors_m)
            click.echo(f"{scene.scene_id}: scan of {len(scene.faces)} triangles, {len(scene.textures)} textures, "
                       f"storeys at {floors} m, {nav.navigable.sum() * nav.resolution_m ** 2:.0f} m2 navigable on "
                       f"storey {storey}, {len(scene.objects)} objects ({len(scene.categories)} categories)")
        else:
            area = sum((r.bounds_m[2] - r.bounds_m[0]) * (r.bounds_m[3] - r.bounds_m[1]) for r in scene.rooms)
            click.echo(f"{scene.scene_id}: {len(scene.rooms)} rooms, {area:.0f} m2, {len(scene.objects)} objects "
                       f"({len(scene.categories)} categories), {len(scene.faces)} triangles")
        click.echo(f"panel: {png}")
        if save_scene:
            glb, js = scene.save(out, nav=simulator.nav.to_json())
            click.echo(f"scene: {glb} + {js}")
        if walk:
            rng = np.random.default_rng(start_seed)
            frames, trail = [], [obs.agent_pose.position_m[:2]]
            for _ in tqdm(range(walk), desc="walk", unit="step"):
                act = Action.MOVE_FORWARD if rng.random() < 0.7 else (
                    Action.TURN_LEFT if rng.random() < 0.5 else Action.TURN_RIGHT)
                res = simulator.step(act)
                if res.collided:  # turn away from walls
                    res = simulator.step(Action.TURN_LEFT)
                trail.append(res.observation.agent_pose.position_m[:2])
                frames.append(raycast.panel(res.observation, scene, simulator.nav, path_xy=np.array(trail)))
            path = save_video(frames, out / f"{scene.scene_id}_walk.{fmt}")
            click.echo(f"walk: {path}")


def _generator():
    from sims.raycast import generate_episodes

    return generate_episodes


@sim.command()
@click.option("--sim", "simulator", default="builtin", show_default=True,
              help="Simulator that generates the episodes (see `embodied info`).")
@click.option("--split", type=click.Choice(["train", "val", "test"]), default="val", show_default=True)
@click.option("-n", "--episodes", "n", type=click.IntRange(min=1), default=100, show_default=True)
@click.option("--episode-seed", type=int, default=field_default(_generator(), "seed"), show_default=True,
              help="Seed of the sampling of starts and goals.")
@click.option("--per-house", type=click.IntRange(min=1), default=field_default(_generator(), "episodes_per_house"),
              show_default=True, help="Episodes per house.")
@click.option("--scene", "scene_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Sample on this scanned scene (a mesh file with semantics) instead of the built-in houses.")
@click.option("--goals", default=None, metavar="CAT[,CAT...]",
              help="Goal categories for --scene (default: the ObjectNav goals it holds, else all its categories).")
@click.option("--sim-set", "sim_overrides", multiple=True, metavar="KEY=VALUE",
              help="Built-in simulator settings for --scene (e.g. scan_up_axis=z, agent_radius_m=0.1).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="JSONL file (default: outputs/episodes/<split>.jsonl, or <scene name>.jsonl with --scene).")
def episodes(simulator, split, n, episode_seed, per_house, scene_file, goals, sim_overrides, out) -> None:
    """Generate ObjectNav episodes as JSON lines: built-in houses (fixed house splits), or a
    scanned scene with --scene (run them with `embodied nav --episodes-file FILE`).

    \b
    Examples:
      embodied sim episodes --split val -n 100
      embodied sim episodes --scene scans/apartment.glb --goals chair,bed -n 50
    """
    from embodied.tasks import write_episodes
    from sims.registry import generate_episodes

    if scene_file is not None:
        from embodied.config import parse_overrides
        from sims.raycast.episodes import generate_scan_episodes
        from sims.registry import simulator_config

        cfg = simulator_config("builtin", parse_overrides(sim_overrides, "--sim-set"))
        wanted = tuple(g.strip() for g in goals.split(",") if g.strip()) if goals else None
        eps = generate_scan_episodes(str(scene_file), n, seed=episode_seed, goals=wanted, sim_config=cfg,
                                     split=split, progress=True)
        name = scene_file.name.split(".")[0]
        path = write_episodes(out or Path("outputs/episodes") / f"{name}.jsonl", eps)
        click.echo(f"{len(eps)} episodes on {scene_file} -> {path}")
    else:
        if goals or sim_overrides:
            raise click.UsageError("--goals and --sim-set go with --scene")
        eps = generate_episodes(simulator, split, n, seed=episode_seed, progress=True, episodes_per_house=per_house)
        path = write_episodes(out or Path("outputs/episodes") / f"{split}.jsonl", eps)
        click.echo(f"{len(eps)} {split} episodes -> {path}")
    counts = Counter(e.goal_category for e in eps)
    click.echo("goals: " + ", ".join(f"{g} {c}" for g, c in sorted(counts.items())))
