"""``embodied info``: versions, torch device, usable simulators and extras, the CLIP weights cache."""

from __future__ import annotations

import json
import platform
from pathlib import Path

import click

from embodied import __version__

__all__ = ["info", "collect_info"]


def _version(module: str) -> str | None:
    from importlib import metadata

    from embodied.optional import is_available

    dist = {"open3d": "open3d-cpu", "open_clip": "open_clip_torch", "PIL": "pillow"}.get(module, module)
    if not is_available(module):
        return None
    for name in (dist, module):
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return "installed"


def collect_info() -> dict:
    """Everything ``embodied info`` shows, as plain JSON."""
    import torch

    from embodied.optional import feature_status
    from embodied.clip import registry, resolve_device
    from sims.registry import SIMULATORS

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


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def info(as_json: bool) -> None:
    """Versions, torch device, usable simulators and extras, and the CLIP weights cache."""
    data = collect_info()
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
