"""Time of SceneGraph.update per frame, without the CLIP forward, how it grows with the graph, and the forward.

Frames hold ``--objects`` detections (boxes of ~0.3 m seen from ~2,000 points each, the size a 224 x 224
frame gives a nearby object) of a room whose objects are re-observed with a little noise, so most
detections match a node; the graph is first filled with ``N`` other nodes (100, 500, 2000) spread over
a 40 m x 40 m floor, as after a long run. Timed: association (point overlap, cosine, Hungarian),
fusion and voxel downsampling; not the merge pass (every 20 frames; timed separately) and not CLIP.
Target: <= 50 ms per frame with ~20 visible objects.

    .venv/bin/python benchmarks/scene_graph.py
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from embodied.scene_graph import Detection, SceneGraph, SceneGraphConfig


def box(rng, center, size=0.3, n=2000):
    return center + rng.uniform(-size / 2, size / 2, (n, 3))


def unit(rng, d):
    v = rng.normal(size=d)
    return v / np.linalg.norm(v)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--objects", type=int, default=20)
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--dim", type=int, default=512)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-clip", action="store_true", help="skip the CLIP forward timing")
    args = ap.parse_args()
    print(f"{args.objects} detections per frame, {args.frames} frames, embeddings of {args.dim}, seed {args.seed}")
    print(f"{'nodes before':>12}  {'median ms':>9}  {'p90 ms':>7}  {'merge pass ms':>13}  nodes after")
    results = {}
    for n_background in (0, 100, 500, 2000):
        rng = np.random.default_rng(args.seed)
        g = SceneGraph(SceneGraphConfig(merge_every=0))
        if n_background:
            centers = np.column_stack([rng.uniform(-20, 20, (n_background, 2)), rng.uniform(0, 2, n_background)])
            centers[:, 0] += 30  # away from the room
            g.update([Detection(unit(rng, args.dim), box(rng, c, n=200)) for c in centers])
        room = np.column_stack([rng.uniform(0, 5, (args.objects, 2)), rng.uniform(0, 1.5, args.objects)])
        looks = [unit(rng, args.dim) for _ in range(args.objects)]
        times = []
        for _ in range(args.frames):
            dets = [Detection(looks[k] + 0.1 * unit(rng, args.dim), box(rng, room[k] + rng.normal(0, 0.01, 3)))
                    for k in range(args.objects)]
            t0 = time.perf_counter()
            g.update(dets)
            times.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        g.merge()
        merge_ms = (time.perf_counter() - t0) * 1000
        med, p90 = statistics.median(times[1:]), float(np.percentile(times[1:], 90))
        results[n_background] = med
        print(f"{n_background:>12}  {med:>9.1f}  {p90:>7.1f}  {merge_ms:>13.1f}  {len(g.nodes)}")
    ok = results[0] <= 50
    print(f"target: update <= 50 ms per frame with {args.objects} objects (graph of the room only): "
          f"{results[0]:.1f} ms -> {'PASS' if ok else 'FAIL'}")
    if not args.no_clip:
        clip_forward(args.objects)


def clip_forward(n_crops: int) -> None:
    """The other half of a frame's cost: one batched CLIP forward over its crops (random weights: the
    time depends on the architecture only), for the sim-trained model's architecture and ViT-B-32."""
    import torch

    from embodied.clip import ClipBackbone, ClipConfig

    torch.set_num_threads(max(1, torch.get_num_threads()))
    rng = np.random.default_rng(0)
    crops = [rng.integers(0, 256, (int(rng.integers(40, 160)), int(rng.integers(40, 160)), 3), dtype=np.uint8)
             for _ in range(n_crops)]
    print(f"CLIP forward over {n_crops} crops of one frame (one batch, CPU, {torch.get_num_threads()} threads):")
    for arch in ("embodied-sim", "ViT-B-32"):
        clip = ClipBackbone(ClipConfig(model=arch, random_init=True, seed=0, device="cpu", batch_size=n_crops))
        clip.encode_images(crops[:2])  # warm-up
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            clip.encode_images(crops)
            times.append((time.perf_counter() - t0) * 1000)
        print(f"  {arch:<14} {statistics.median(times):8.1f} ms per frame")


if __name__ == "__main__":
    main()
