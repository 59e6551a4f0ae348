"""What every command shares: the group class (errors as one line), logging, options whose defaults
come from the config dataclasses, the CLIP weights options, and how a run's failures end a command.

This module imports no command module; command modules import this and the packages' public APIs;
:mod:`embodied.cli.main` only assembles them.
"""

from __future__ import annotations

import dataclasses
import logging
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from embodied.errors import ConfigError, EmbodiedError

__all__ = ["Group", "setup_logging", "field_default", "field_option", "clip_options", "clip_config_from_options",
           "finish_run", "retry_errors_option", "command_line", "CONTEXT"]

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class _QuietOpenClip(logging.Filter):
    """open_clip logs through the root logger; keep its chatter below ERROR out of our output."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR or "open_clip" not in record.pathname


def setup_logging(verbose: int) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    if verbose < 2:
        handler.addFilter(_QuietOpenClip())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


class Group(click.Group):
    """A click group that turns toolkit errors into one readable ``error:`` line and exit code 2, and
    Ctrl-C into a line saying how to resume (exit code 130)."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except EmbodiedError as exc:
            click.echo("error: " + " ".join(str(exc).split()), err=True)  # always one line
            ctx.exit(2)
        except KeyboardInterrupt:
            click.echo("interrupted: finished jobs are saved; rerun the same command to resume", err=True)
            ctx.exit(130)


# --------------------------------------------------------------------------- options from dataclasses
def field_default(cls: Any, name: str) -> Any:
    """The default of dataclass field ``cls.name``, or of parameter ``name`` of function ``cls``: the
    one source of a command-line default."""
    if not dataclasses.is_dataclass(cls):
        import inspect

        param = inspect.signature(cls).parameters.get(name)
        if param is None or param.default is inspect.Parameter.empty:
            raise ConfigError(f"{cls.__name__}() has no parameter '{name}' with a default")
        return param.default
    for f in dataclasses.fields(cls):
        if f.name == name:
            if f.default is not dataclasses.MISSING:
                return f.default
            if f.default_factory is not dataclasses.MISSING:
                return f.default_factory()
            raise ConfigError(f"{cls.__name__}.{name} has no default")
    raise ConfigError(f"{cls.__name__} has no field '{name}'")


def field_option(cls: Any, name: str, *decls: str, **kw: Any) -> Callable:
    """``click.option(*decls, default=<cls.name's default>, show_default=True, **kw)``.

    ``decls`` default to ``--<name with dashes>``; a ``_m``/``_deg`` unit suffix is kept.
    """
    decls = decls or (f"--{name.replace('_', '-')}",)
    default = field_default(cls, name)
    if isinstance(default, tuple) and kw.get("multiple"):
        default = list(default)
    kw.setdefault("show_default", True)
    return click.option(*decls, default=default, **kw)


def retry_errors_option(what: str) -> Callable:
    """``--retry-errors/--no-retry-errors`` of every resumable command (default: embodied.runs.run_jobs's)."""
    from embodied.runs import run_jobs

    return field_option(run_jobs, "retry_errors", "--retry-errors/--no-retry-errors",
                        help=f"On a rerun, run again the {what} that failed before (finished ones are never repeated).")


# --------------------------------------------------------------------------- CLIP weights
_CLIP_KEYS = ("model", "pretrained", "checkpoint", "random_init", "seed", "device", "precision", "batch_size",
              "cache_dir")


def clip_options(prefix: str = "") -> Callable:
    """The options that pick CLIP weights (``--model``, ``--checkpoint``, ...), each as
    ``--<prefix><name>`` (``embodied nav`` uses ``clip-``); defaults come from ClipConfig."""
    from embodied.clip import ClipConfig

    p = prefix
    opts = [
        click.option(f"--{p}model", default=None, show_default="auto",
                     help="open_clip architecture (see open_clip.list_models()), or 'auto' (the default): "
                          "pretrained ViT-B-32 when its weights are cached or downloadable, else the "
                          "sim-trained model (trained once on first use, labelled 'not zero-shot'). An "
                          "explicit architecture never falls back."),
        click.option(f"--{p}pretrained", default=None,
                     help="open_clip pretrained tag (default: the architecture's preferred tag)."),
        click.option(f"--{p}checkpoint", type=click.Path(dir_okay=False, path_type=Path), default=None,
                     help="Local weights file (.safetensors/.pt/.bin state dict) instead of a tag; our "
                          "checkpoints name their architecture, so the model can be left out."),
        click.option(f"--{p}random-init", is_flag=True,
                     help="Random weights (tests/plumbing only; results are not meaningful)."),
        field_option(ClipConfig, "seed", f"--{p}random-init-seed", f"{p.replace('-', '_')}seed", type=int,
                     help="Seed of the random weights (with --random-init)."),
        field_option(ClipConfig, "device", f"--{p}device", help="auto (cuda > mps > cpu), cpu, cuda, cuda:1, mps."),
        field_option(ClipConfig, "precision", f"--{p}precision", type=click.Choice(["auto", "fp32", "fp16", "bf16"]),
                     help="auto = bf16/fp16 autocast on CUDA, fp32 elsewhere."),
        field_option(ClipConfig, "batch_size", f"--{p}batch-size", type=click.IntRange(min=1),
                     help="Images per forward pass."),
        click.option(f"--{p}cache-dir", type=click.Path(file_okay=False), default=None,
                     help="Weights cache (default: the Hugging Face hub cache)."),
    ]

    def decorate(f: Callable) -> Callable:
        for opt in reversed(opts):
            f = opt(f)
        return f

    return decorate


def clip_config_from_options(kw: dict[str, Any], prefix: str = "", echo: Callable[[str], None] | None = None):
    """Pop the :func:`clip_options` values from ``kw`` and build the ClipConfig they ask for.

    The model left out or ``auto``:

    * with a checkpoint: the architecture its header names (our checkpoints carry it);
    * with random init: an error (say which architecture);
    * with a pretrained tag: that tag of the default architecture;
    * otherwise ``--clip auto``: pretrained weights when available, else the sim-trained model,
      trained on first use (``echo`` gets its messages; default stderr).
    """
    from embodied.clip import ClipConfig, registry

    p = prefix.replace("-", "_")
    v = {k: kw.pop(p + k) for k in _CLIP_KEYS}
    model, checkpoint = v["model"], str(v["checkpoint"]) if v["checkpoint"] else None
    rest = {k: v[k] for k in ("device", "precision", "batch_size", "cache_dir")}
    if model in (None, "auto"):
        if checkpoint:
            from embodied.clip.checkpoints import ARCH_KEY, load_state_dict

            model = load_state_dict(checkpoint)[1].get(ARCH_KEY)
            if not model:
                raise ConfigError(f"{checkpoint} does not say its architecture; pass it (--{prefix}model ViT-B-32)")
        elif v["random_init"]:
            raise ConfigError(f"--{prefix}random-init needs an architecture: pass --{prefix}model (e.g. embodied-tiny)")
        elif v["pretrained"] and model is None:
            model = registry.DEFAULT_MODEL
        else:
            return resolve_clip_auto(pretrained=v["pretrained"], echo=echo, **rest).config
    return ClipConfig(model=model, pretrained=v["pretrained"], checkpoint=checkpoint, random_init=v["random_init"],
                      seed=v["seed"], **rest)


def resolve_clip_auto(*, device: str = "auto", precision: str = "auto", batch_size: int = 32,
                      cache_dir: str | None = None, pretrained: str | None = None, echo=None):
    """``--clip auto``: pretrained weights if available, else the sim-trained model (trained on first
    use with a message and progress bars). Returns an :class:`embodied.clip.auto.AutoWeights`."""
    from datasets3d.sim_clip import prepare_sim_trained
    from embodied.clip.auto import resolve_auto

    say = echo or (lambda msg: click.echo(msg, err=True))
    return resolve_auto(pretrained=pretrained, cache_dir=cache_dir, device=device, precision=precision,
                        batch_size=batch_size, echo=say,
                        prepare=lambda p: prepare_sim_trained(p, echo=say, device=device))


# --------------------------------------------------------------------------- ending a run
def run_record(run: Any) -> dict[str, Any]:
    """A run dataclass as config.json records it: nested config dataclasses with their type names."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(run):
        v = getattr(run, f.name)
        out[f.name] = {"type": type(v).__name__, **dataclasses.asdict(v)} if dataclasses.is_dataclass(v) else v
    return out


def command_line(ctx: click.Context) -> str:
    """``embodied <command> ...`` with every option that differs from its default, or was typed even
    though it equals it (a preset may change what the default means), so that it reproduces the run."""
    parts = ["embodied", ctx.info_name]
    for p in ctx.command.params:
        value = ctx.params.get(p.name)
        typed = ctx.get_parameter_source(p.name) is click.core.ParameterSource.COMMANDLINE
        if (value == p.default and not typed) or value in (None, ()) or p.name in ("workers", "use_ray", "video",
                                                                                  "out", "retry_errors"):
            continue
        if value is False and not getattr(p, "secondary_opts", None):
            continue
        if isinstance(p, click.Argument):  # positional arguments (paths) go in as given
            parts += [shlex.quote(str(v)) for v in (value if p.nargs != 1 else (value,))]
            continue
        flag = max(p.opts, key=len)
        if p.is_flag:
            parts.append(flag if value else max(p.secondary_opts, key=len))  # --no-snap is a choice too
        else:
            for v in (value if p.multiple else (value,)):
                parts += [flag, shlex.quote(str(v))]
    return " ".join(parts)


def finish_run(report: Any, what: str, where: str | Path | None = None) -> None:
    """After a :func:`embodied.runs.run_jobs` run: one line when some jobs failed, and a non-zero exit
    (JobsFailedError, exit code 2) when every one did."""
    report.raise_if_all_failed(what, where)
    line = report.failure_line(what, where)
    if line:
        click.echo(f"warning: {line}", err=True)
