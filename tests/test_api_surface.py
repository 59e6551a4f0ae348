"""Blocks silent removals from the public API. After a deliberate change, regenerate with
``python tests/test_api_surface.py`` and commit tests/api_surface.json."""

import importlib
import json
import sys
from pathlib import Path

SURFACE = Path(__file__).with_name("api_surface.json")
MODULES = ["embodied", "embodied.types", "embodied.geometry", "embodied.errors", "embodied.clip", "embodied.metrics",
           "embodied.tasks", "embodied.localization", "embodied.evaluation", "embodied.mapping.occupancy",
           "embodied.mapping.planning", "embodied.mapping.frontiers", "embodied.mapping.value_map",
           "embodied.clip.registry", "embodied.clip.checkpoints", "embodied.clip.prompts", "embodied.config",
           "embodied.files", "embodied.runs", "embodied.net", "embodied.images", "embodied.optional",
           "datasets3d.mining", "embodied.shards", "datasets3d.objaverse", "datasets3d.rendering",
           "embodied.scene_graph", "embodied.rearrangement", "embodied.articulation", "sims.articulated", "embodied.owl",
           "embodied.rgbd", "embodied.open_loop", "datasets3d.sequences", "sims.raycast.scan", "sims.raycast.floors",
           "sims.raycast.mesh_files", "sims.raycast.scan_semantics",
           "agents.robot"]


def current() -> dict[str, list[str]]:
    return {m: sorted(importlib.import_module(m).__all__) for m in MODULES}


def test_no_public_name_was_removed():
    recorded = json.loads(SURFACE.read_text())
    now = current()
    removed = {m: sorted(set(names) - set(now.get(m, []))) for m, names in recorded.items()}
    removed = {m: r for m, r in removed.items() if r}
    assert not removed, f"public names removed: {removed}; if deliberate, regenerate {SURFACE.name}"
    for m in MODULES:  # every exported name resolves
        mod = importlib.import_module(m)
        assert all(hasattr(mod, n) for n in mod.__all__), m


if __name__ == "__main__":
    sys.path.insert(0, str(SURFACE.parents[1]))
    SURFACE.write_text(json.dumps(current(), indent=1) + "\n")
    print(f"wrote {SURFACE}")
