"""The built-in ObjectNav success region under habitat's view-point rule and the plain radius rule.

For every goal category of each house: the navigable cells within ``goal_view_radius_m`` (1 m) of an
instance (rule "radius") and those of them from which the instance is in line of sight at camera
height (rule "visible", habitat-lab's view points, the default). Prints the share of radius cells
that see the goal only through a wall or furniture, and the time the visibility test costs.

    .venv/bin/python benchmarks/success_rule.py              # val houses 800-809
    .venv/bin/python benchmarks/success_rule.py --houses 50
"""

from __future__ import annotations

import argparse
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--houses", type=int, default=10, help="val houses, from 800")
    args = ap.parse_args()

    from sims.raycast.house import house_scene_id
    from sims.raycast.simulator import RaycastSimulator, SimConfig

    visible, radius = RaycastSimulator(SimConfig()), RaycastSimulator(SimConfig(goal_view_rule="radius"))
    n_radius = n_visible = masks = 0
    seconds = 0.0
    for h in range(800, 800 + args.houses):
        for sim in (visible, radius):
            sim._ensure_scene(house_scene_id(h))
        for goal in visible.scene.categories:
            t0 = time.perf_counter()
            v = visible.goal_mask(goal)
            seconds += time.perf_counter() - t0
            r = radius.goal_mask(goal)
            assert not (v & ~r).any(), "a visible view point outside the radius"
            n_radius, n_visible, masks = n_radius + int(r.sum()), n_visible + int(v.sum()), masks + 1
    print(f"{args.houses} val houses, {masks} (house, category) success regions, 1.0 m radius, 5 cm cells")
    print(f"radius rule: {n_radius} cells; visibility rule: {n_visible} cells; "
          f"{100 * (1 - n_visible / n_radius):.1f} % of the radius cells see the goal only through an obstacle")
    print(f"visibility test: {1000 * seconds / masks:.0f} ms per region (ray casts from every candidate cell)")


if __name__ == "__main__":
    main()
