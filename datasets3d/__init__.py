"""datasets3d: MIMIC-style multi-view pair mining and Objaverse-XL-style asset ingestion and
multi-view rendering."""

__all__: list[str] = []
