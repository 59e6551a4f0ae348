"""datasets3d: MIMIC-style multi-view pair mining and Objaverse-XL-style asset ingestion and
multi-view rendering.

Subpackages are imported on use (``from datasets3d.mining import run_mining``); importing
``datasets3d`` itself loads nothing heavy.
"""

__all__: list[str] = []
