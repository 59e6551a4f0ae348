"""sims: simulator adapters behind the :class:`embodied.types.Simulator` protocol.

Planned backends (see the issues): a built-in CPU ray-cast simulator (the default), habitat-sim and
AI2-THOR. Only ``embodied`` is imported from here; heavy simulator packages load lazily in their
adapter modules.
"""

__all__: list[str] = []
