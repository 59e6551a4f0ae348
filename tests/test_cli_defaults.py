"""Every command-line default comes from the config dataclass (or function) it fills: one source.

Options made with ``field_option`` match by construction; this guards the ones that cannot be
(``data mine`` keeps None defaults so a ``--config`` file can supply values, and names the real
default as ``[default: X]`` in its help) and any option added later with a retyped default.
"""

from __future__ import annotations

import dataclasses
import re

import click
import pytest

from agents.cow import CowConfig
from datasets3d.clip_data import ClipDataConfig
from datasets3d.mining import MiningConfig
from datasets3d.rendering.config import RenderConfig
from datasets3d.rendering.runner import render_objects
from embodied.cli.main import cli
from embodied.cli.options import field_default
from embodied.clip import ClipConfig
from embodied.evaluation import NavRun
from embodied.runs import run_jobs
from sims.raycast import SimConfig

# command -> the configs whose fields its options fill, and option names that differ from field names
SOURCES = {
    ("nav",): ([NavRun, CowConfig, run_jobs], {"simulator": "simulator", "split": "episodes"}),
    ("sim", "view"): ([SimConfig], {"hfov_deg": "hfov_deg"}),
    ("clip", "dataset"): ([ClipDataConfig], {}),
    ("data", "mine"): ([MiningConfig, run_jobs], {"fmt": "format"}),
    ("data", "render"): ([RenderConfig, render_objects, run_jobs],
                         {"size": "width", "ring_radius": "ring_radius_m", "max_texture_px": "max_texture_px"}),
}
_HINT = re.compile(r"\[default: ([^\]]+)\]")


def _command(path: tuple[str, ...]) -> click.Command:
    cmd: click.Command = cli
    for name in path:
        cmd = cmd.commands[name]  # type: ignore[attr-defined]
    return cmd


def _field(sources, name: str):
    for src in sources:
        names = ({f.name for f in dataclasses.fields(src)} if dataclasses.is_dataclass(src)
                 else set(__import__("inspect").signature(src).parameters))
        if name in names:
            try:
                return True, field_default(src, name)
            except Exception:  # noqa: BLE001 - a required field: nothing to compare
                return False, None
    return False, None


def _same(option_default, field_value) -> bool:
    if isinstance(field_value, tuple):
        field_value = list(field_value)
    if isinstance(option_default, tuple):
        option_default = list(option_default)
    return option_default == field_value


@pytest.mark.parametrize("path", list(SOURCES), ids=" ".join)
def test_option_defaults_are_the_dataclass_defaults(path):
    sources, renamed = SOURCES[path]
    checked, wrong = 0, []
    for p in _command(path).params:
        if not isinstance(p, click.Option) or (p.is_flag and not isinstance(p.default, bool)):
            continue  # an argument, or a flag without a default (off)
        found, value = _field(sources, renamed.get(p.name, p.name))
        if not found or (value is None and p.default is None):
            continue  # no field, or both None (e.g. gap_s: None means MIMIC's 1 s, said in the help)
        hint = _HINT.search(p.help or "")
        if p.default is None and hint:  # a None default naming the real one in its help
            ok = hint.group(1) == str(value)
        elif p.default is None:
            continue  # "the simulator's" and the like: filled from the config at run time
        else:
            ok = _same(p.default, value)
        checked += 1
        if not ok:
            wrong.append(f"--{p.name}: option {p.default!r} / help {hint and hint.group(1)!r}, field {value!r}")
    assert not wrong, wrong
    assert checked >= 3, f"{' '.join(path)}: only {checked} options matched a field; is SOURCES out of date?"


def test_the_check_catches_a_retyped_default():
    @click.command()
    @click.option("--houses", type=int, default=80)
    @click.option("--seed", type=int, default=None, help="Seed. [default: 3]")
    def cmd(houses, seed):
        pass

    wrong = [p.name for p in cmd.params if not _same(p.default, _field([ClipDataConfig], p.name)[1])
             and not (p.default is None and _HINT.search(p.help).group(1) == "0")]
    assert wrong == ["houses", "seed"]  # 80 != 100, and the help says 3 where the field says 0
    assert _field([ClipConfig], "batch_size") == (True, 32)
