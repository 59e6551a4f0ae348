"""The ``embodied`` command line (``embodied --help``): :func:`embodied.cli.main.main` is the entry point.

Nothing is imported here, so ``python -m embodied.cli.main`` runs the module once, as ``__main__``.
"""
