"""2.5D mapping, frontiers, semantic value maps and grid planning (numpy, no simulator imports)."""

__all__: list[str] = []
