"""The built-in CPU simulator: procedural houses rendered by ray casting (no GPU, no display)."""

__all__: list[str] = []
