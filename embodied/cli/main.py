"""The ``embodied`` command line: assembles the command modules, nothing else.

Every toolkit error (:class:`embodied.errors.EmbodiedError`) becomes one ``error: ...`` line on
stderr and exit code 2 (:class:`embodied.cli.options.Group`). A new command goes into a module of
its own that imports only :mod:`embodied.cli.options` and the packages' public APIs, and is added
below.
"""

from __future__ import annotations

import click

from embodied import __version__
from embodied.cli.articulate import articulate
from embodied.cli.clip_cmds import clip
from embodied.cli.data import data
from embodied.cli.data_assets import ingest, render
from embodied.cli.graph import graph
from embodied.cli.info import info
from embodied.cli.localize import localize
from embodied.cli.nav import nav, report
from embodied.cli.options import CONTEXT, Group, setup_logging
from embodied.cli.rearrange import rearrange
from embodied.cli.sim import sim

__all__ = ["cli", "main"]


@click.group(cls=Group, context_settings=CONTEXT)
@click.version_option(__version__, prog_name="embodied")
@click.option("-v", "--verbose", count=True, help="More logging (-v info, -vv debug).")
def cli(verbose: int) -> None:
    """Embodied AI on zero-shot models: simulators, agents, CLIP tools and 3D data.

    Run `embodied COMMAND --help` for the options of each command.
    """
    setup_logging(verbose)


data.add_command(ingest)
data.add_command(render)
for _command in (info, clip, sim, nav, report, localize, graph, rearrange, articulate, data):
    cli.add_command(_command)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="embodied")


if __name__ == "__main__":
    main()
