"""agents: policies that only see :class:`embodied.types.Observation` and return
:class:`embodied.types.Action` (CLIP-on-Wheels, scene-graph rearrangement, Structure from Action,
baselines)."""

__all__: list[str] = []
