"""Speed of Structure from Action: inference per interaction (fusion + change detection + motion
estimation + part update) against physics + rendering per interaction.

On procedural val objects, each pulled at its first part's handle (ground truth picks the point, so
every interaction moves something and the inference does its full work), prints per interaction:
- the fused cloud's size (points after the 6 mm voxel grid);
- inference seconds, split into fusion / change / registration / rest, with the target (<= 1 s for
  ~50k points on this machine);
- physics (MuJoCo probe + settling) and rendering (the ray caster, all cameras) seconds beside it.
``--width/--height`` set the camera resolution (default 360 x 270 with 4 cameras: about 50k points; the
simulator's own default, 320 x 240, gives about 40k).

    .venv/bin/python benchmarks/articulation.py [--objects 6] [--width 360 --height 270]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--objects", type=int, default=6)
    ap.add_argument("--width", type=int, default=360)
    ap.add_argument("--height", type=int, default=270)
    ap.add_argument("--cameras", type=int, default=4)
    args = ap.parse_args()

    from embodied.articulation import ArticulationEstimator, Interaction
    from sims.articulated import ArticulatedSimConfig, ArticulatedSimulator, generate_object, object_seeds

    cfg = ArticulatedSimConfig(n_cameras=args.cameras, width=args.width, height=args.height)
    rows = []
    for seed in object_seeds("val", args.objects, seed=3):
        sim = ArticulatedSimulator(generate_object(seed), cfg)
        est = ArticulationEstimator(sim.observe())
        part = sim.truth()[0]
        v = part.mesh.vertices
        front = v[:, 0] > v[:, 0].max() - 1e-4
        for k in range(2):  # pull the handle, then pull again from where it went
            lk = part.links[0]
            T = sim.link_poses()[lk] @ np.linalg.inv(sim.model.link_poses()[lk])
            p = v[front].mean(0) @ T[:3, :3].T + T[:3, 3]
            d = np.array([0.0, 0.0, 1.0]) if part.joint.startswith("lid") else np.array([1.0, 0.0, 0.0])
            inter = Interaction("pull", p, d, [1.0, 0.0, 0.0], 0.12)
            t0 = time.perf_counter()
            res = sim.interact(inter)
            t1 = time.perf_counter()
            obs = sim.observe()
            t2 = time.perf_counter()
            rep = est.update(obs, inter, travel_m=res.travel_m)
            t3 = time.perf_counter()
            s = rep.seconds
            rows.append({"points": len(est.cloud), "inference": t3 - t2, "physics": t1 - t0, "render": t2 - t1,
                         "fusion": s.get("fusion", 0.0), "change": s.get("change", 0.0),
                         "registration": s.get("registration", 0.0), "moved": rep.moved})
    med = {k: statistics.median(r[k] for r in rows) for k in rows[0] if k != "moved"}
    print(f"{len(rows)} interactions on {args.objects} objects, {args.cameras} cameras {args.width}x{args.height}, "
          f"{sum(r['moved'] for r in rows)} explained")
    print(f"points per cloud (median)        {med['points']:9.0f}")
    print(f"inference s / interaction        {med['inference']:9.3f}   (target <= 1 s for ~50k points)")
    print(f"  fusion + normals               {med['fusion']:9.3f}")
    print(f"  change detection               {med['change']:9.3f}")
    print(f"  registration                   {med['registration']:9.3f}")
    print(f"  part update + joint fit        {med['inference'] - med['fusion'] - med['change'] - med['registration']:9.3f}")
    print(f"physics s / interaction          {med['physics']:9.3f}")
    print(f"rendering s / observation        {med['render']:9.3f}")
    print(f"inference / (physics + render)   {med['inference'] / (med['physics'] + med['render']):9.2f}x")


if __name__ == "__main__":
    main()
