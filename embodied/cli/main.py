"""The ``embodied`` command line. This is the one place that wires the packages together.

Every toolkit error (:class:`embodied.errors.EmbodiedError`) becomes one ``error: ...`` line on
stderr and exit code 2.
"""

from __future__ import annotations

import json
import logging
import platform
import sys
from pathlib import Path

import click

from embodied import __version__
from embodied.errors import ConfigError, EmbodiedError

log = logging.getLogger("embodied")


class _QuietOpenClip(logging.Filter):
    """open_clip logs through the root logger; keep its chatter below ERROR out of our output."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR or "open_clip" not in record.pathname


def _setup_logging(verbose: int) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    if verbose < 2:
        handler.addFilter(_QuietOpenClip())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


class _Group(click.Group):
    """A click group that turns toolkit errors into one readable line and exit code 2."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except EmbodiedError as exc:
            click.echo("error: " + " ".join(str(exc).split()), err=True)  # always one line
            ctx.exit(2)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="embodied")
@click.option("-v", "--verbose", count=True, help="More logging (-v info, -vv debug).")
def cli(verbose: int) -> None:
    """Embodied AI on zero-shot models: simulators, agents, CLIP tools and 3D data.

    Run `embodied COMMAND --help` for the options of each command.
    """
    _setup_logging(verbose)


# --------------------------------------------------------------------------- info
def _version(module: str) -> str | None:
    from importlib import metadata

    from embodied._optional import is_available

    dist = {"open3d": "open3d-cpu", "open_clip": "open_clip_torch", "PIL": "pillow"}.get(module, module)
    if not is_available(module):
        return None
    for name in (dist, module):
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return "installed"


def _info() -> dict:
    import torch

    from embodied._optional import feature_status
    from embodied.clip import registry
    from sims.registry import SIMULATORS
    from embodied.clip.backbone import resolve_device

    packages = {m: _version(m) for m in ("torch", "torchvision", "open_clip", "numpy", "scipy", "trimesh",
                                          "embreex", "open3d", "PIL", "safetensors", "click", "tqdm")}
    arch = registry.DEFAULT_MODEL
    src = registry.weights_source(arch, registry.default_tag(arch))
    cached = registry.cached_weights(src)
    return {
        "embodied": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": packages,
        "torch_device": str(resolve_device("auto")),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "features": {f.name: {"usable": ok, "missing": missing, "install": f.install, "what": f.description}
                     for f, ok, missing in feature_status()},
        "simulators": {e.name: {"available": e.available, "what": e.description} for e in SIMULATORS.values()},
        "clip": {
            "default_model": arch,
            "default_tag": src.tag,
            "cache_dir": src.cache_dir,
            "url_cache_dir": str(Path("~/.cache/clip").expanduser()),
            "default_weights_cached": cached,
        },
    }


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def info(as_json: bool) -> None:
    """Versions, torch device, usable simulators and extras, and the CLIP weights cache."""
    data = _info()
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    click.echo(f"embodied {data['embodied']}  (python {data['python']}, {data['platform']})")
    click.echo(f"torch device: {data['torch_device']}" + (f" ({data['cuda']})" if data["cuda"] else ""))
    click.echo("packages:")
    for name, ver in data["packages"].items():
        click.echo(f"  {name:<12} {ver or 'MISSING'}")
    click.echo("features (simulators and extras):")
    for name, f in data["features"].items():
        state = "yes" if f["usable"] else f"no   -> {f['install']}"
        click.echo(f"  {name:<10} {f['what']:<38} {state}")
    click.echo("simulators:")
    for name, e in data["simulators"].items():
        click.echo(f"  {name:<10} {e['what']:<45} {'yes' if e['available'] else 'no (see features)'}")
    c = data["clip"]
    click.echo("CLIP:")
    click.echo(f"  default weights  {c['default_model']} '{c['default_tag']}'")
    click.echo(f"  cache directory  {c['cache_dir']}  (URL downloads: {c['url_cache_dir']})")
    click.echo(f"  cached locally   {c['default_weights_cached'] or 'no (needs internet once, or --checkpoint FILE)'}")


# --------------------------------------------------------------------------- clip
@cli.group(cls=_Group)
def clip() -> None:
    """The shared CLIP backbone: embed images and texts."""


def clip_options(f):
    """The options that pick CLIP weights, shared by every command that loads a backbone."""
    opts = [
        click.option("--model", default=None, show_default="auto",
                     help="open_clip architecture (see open_clip.list_models()), or 'auto' (the default): "
                          "pretrained ViT-B-32 when its weights are cached or downloadable, else the "
                          "sim-trained model (trained once on first use, labelled 'not zero-shot'). An "
                          "explicit architecture never falls back."),
        click.option("--pretrained", default=None,
                     help="open_clip pretrained tag (default: the architecture's preferred tag)."),
        click.option("--checkpoint", type=click.Path(dir_okay=False, path_type=Path), default=None,
                     help="Local weights file (.safetensors/.pt/.bin state dict) instead of a tag; our "
                          "checkpoints name their architecture, so --model can be left out."),
        click.option("--random-init", is_flag=True, help="Random weights (tests/plumbing only; results are not meaningful)."),
        click.option("--seed", type=int, default=0, show_default=True, help="Seed of --random-init."),
        click.option("--device", default="auto", show_default=True, help="auto (cuda > mps > cpu), cpu, cuda, cuda:1, mps."),
        click.option("--precision", type=click.Choice(["auto", "fp32", "fp16", "bf16"]), default="auto",
                     show_default=True, help="auto = bf16/fp16 autocast on CUDA, fp32 elsewhere."),
        click.option("--batch-size", type=click.IntRange(min=1), default=32, show_default=True),
        click.option("--cache-dir", type=click.Path(file_okay=False), default=None,
                     help="Weights cache (default: the Hugging Face hub cache)."),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f


def clip_config_from_options(kw: dict, echo=None):
    """Build a ClipConfig from :func:`clip_options` values (popping them from ``kw``).

    ``--model`` left out or ``auto``:

    * with ``--checkpoint``: the architecture its header names (our checkpoints carry it);
    * with ``--random-init``: an error (say which architecture);
    * with ``--pretrained`` and no ``--model``: that tag of the default architecture;
    * otherwise :func:`embodied.cli.clip_cmds.resolve_clip_auto`: pretrained weights when available,
      else the sim-trained model (``echo`` gets its messages).
    """
    from embodied.clip import ClipConfig, registry

    model = kw.pop("model")
    checkpoint = str(c) if (c := kw.pop("checkpoint")) else None
    rest = {k: kw.pop(k) for k in ("device", "precision", "batch_size", "cache_dir")}
    pretrained, random_init, seed = kw.pop("pretrained"), kw.pop("random_init"), kw.pop("seed")
    if model in (None, "auto"):
        if checkpoint:
            from embodied.clip.checkpoints import ARCH_KEY, load_state_dict

            model = load_state_dict(checkpoint)[1].get(ARCH_KEY)
            if not model:
                raise ConfigError(f"{checkpoint} does not say its architecture; pass it (--model ViT-B-32)")
        elif random_init:
            raise ConfigError("--random-init needs an architecture: pass --model (e.g. embodied-tiny)")
        elif pretrained and model is None:
            model = registry.DEFAULT_MODEL
        else:
            from embodied.cli.clip_cmds import resolve_clip_auto

            return resolve_clip_auto(pretrained=pretrained, echo=echo, **rest).config
    return ClipConfig(model=model, pretrained=pretrained, checkpoint=checkpoint, random_init=random_init, seed=seed,
                      **rest)


def _read_image(path: Path):
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))
    except (UnidentifiedImageError, OSError) as exc:
        raise click.BadParameter(f"cannot read image {path}: {exc}", param_hint="--image") from exc


@clip.command()
@clip_options
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
    from embodied.clip.auto import weights_label

    click.echo(f"weights: {weights_label(backbone.provenance)}")
    width = max(12, *(len(t) for t in texts))
    click.echo(f"{'image':<24} {'text':<{width}} {'cosine':>8} {'softmax':>8}")
    for i, p in enumerate(images):
        for j, t in enumerate(texts):
            click.echo(f"{p.name[:24]:<24} {t:<{width}} {cos[i, j]:>8.4f} {prob[i, j]:>8.4f}")


# --------------------------------------------------------------------------- sim
@cli.group(cls=_Group)
def sim() -> None:
    """Simulators: look at built-in houses, make ObjectNav episodes."""


def _sim_config(width: int, height: int, hfov: float, backend: str):
    from sims.raycast.simulator import SimConfig

    return SimConfig(width=width, height=height, hfov_deg=hfov, backend=backend)


def _sensor_options(f):
    for opt in reversed([
        click.option("--width", type=click.IntRange(min=8), default=320, show_default=True, help="Image width (px)."),
        click.option("--height", type=click.IntRange(min=8), default=240, show_default=True, help="Image height (px)."),
        click.option("--hfov", "hfov", type=float, default=90.0, show_default=True, help="Horizontal FOV (deg)."),
        click.option("--backend", type=click.Choice(["embree", "open3d"]), default="embree", show_default=True,
                     help="Ray-casting backend."),
    ]):
        f = opt(f)
    return f


@sim.command()
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="House seed (scene 'house-<seed>').")
@click.option("--start-seed", type=int, default=0, show_default=True, help="Seed of the random start pose.")
@click.option("--walk", type=click.IntRange(min=0), default=0, show_default=True,
              help="Also record a random walk of this many steps.")
@click.option("--format", "fmt", type=click.Choice(["gif", "mp4"]), default="gif", show_default=True,
              help="Format of the walk.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("outputs/sim"),
              show_default=True, help="Output folder.")
@click.option("--save-scene", is_flag=True, help="Also write the house as GLB + JSON (with its navigable grid).")
@_sensor_options
def view(seed, start_seed, walk, fmt, out, save_scene, width, height, hfov, backend) -> None:
    """Render a built-in house: a PNG panel RGB | depth | instances | top-down map.

    \b
    Examples:
      embodied sim view --seed 3
      embodied sim view --seed 3 --walk 60 --format mp4
    """
    import numpy as np
    from PIL import Image
    from tqdm.auto import tqdm

    from embodied.types import Action
    from sims.raycast.house import generate_house
    from sims.raycast.simulator import RaycastSimulator
    from sims.raycast.viz import panel, save_walk

    scene = generate_house(seed)
    simulator = RaycastSimulator(_sim_config(width, height, hfov, backend), scene=scene)
    obs = simulator.reset(seed=start_seed)
    out.mkdir(parents=True, exist_ok=True)
    png = out / f"{scene.scene_id}.png"
    Image.fromarray(panel(obs, scene, simulator.nav)).save(png)
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
            act = Action.MOVE_FORWARD if rng.random() < 0.7 else (Action.TURN_LEFT if rng.random() < 0.5 else Action.TURN_RIGHT)
            res = simulator.step(act)
            if res.collided:  # turn away from walls
                res = simulator.step(Action.TURN_LEFT)
            trail.append(res.observation.agent_pose.position_m[:2])
            frames.append(panel(res.observation, scene, simulator.nav, path_xy=np.array(trail)))
        path = save_walk(frames, out / f"{scene.scene_id}_walk.{fmt}")
        click.echo(f"walk: {path}")
    simulator.close()


@sim.command()
@click.option("--split", type=click.Choice(["train", "val", "test"]), default="val", show_default=True)
@click.option("-n", "--episodes", "n", type=click.IntRange(min=1), default=100, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--per-house", type=click.IntRange(min=1), default=5, show_default=True, help="Episodes per house.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="JSONL file (default: outputs/episodes/<split>.jsonl).")
def episodes(split, n, seed, per_house, out) -> None:
    """Generate ObjectNav episodes on built-in houses (fixed house splits) as JSON lines."""
    from collections import Counter

    from embodied.tasks import write_episodes
    from sims.raycast.episodes import generate_episodes

    eps = generate_episodes(split, n, seed=seed, episodes_per_house=per_house, progress=True)
    path = write_episodes(out or Path("outputs/episodes") / f"{split}.jsonl", eps)
    goals = Counter(e.goal_category for e in eps)
    click.echo(f"{len(eps)} {split} episodes -> {path}")
    click.echo("goals: " + ", ".join(f"{g} {c}" for g, c in sorted(goals.items())))


def _register_subcommands() -> None:
    from embodied.cli.clip_cmds import register
    from embodied.cli.data import data
    from embodied.cli.nav import nav, report

    register(clip)

    cli.add_command(nav)
    cli.add_command(report)
    cli.add_command(data)


_register_subcommands()


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="embodied")


if __name__ == "__main__":
    main()
