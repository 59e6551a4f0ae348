"""The ``embodied`` command line (``embodied --help``)."""

from embodied.cli.main import cli, main

__all__ = ["cli", "main"]
