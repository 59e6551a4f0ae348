"""Per-step time of the CoW agent, without the CLIP forward, and the CLIP forward separately.

The agent step (mapping + value map + frontiers + planning) is timed with the oracle localizer
and a constant value-map scorer, so no model runs inside it; the CLIP-Patch forward (3 x 3 patches
+ the full frame in one batch, and over depth segments, CoW's default with a vocabulary), the
depth-segment proposer and the value-map frame embedding are timed on their own.
Target: agent step <= 10 ms median at 5 cm on houses of about 20 m x 20 m (ten-room houses of
400 m^2 from the built-in generator, explored for --max-steps steps each: the map keeps growing).

    .venv/bin/python benchmarks/nav.py                   # 20 m x 20 m houses, 224 x 224
    .venv/bin/python benchmarks/nav.py --clip-model ViT-B-32 --episodes 5
    .venv/bin/python benchmarks/nav.py --e2e 100         # + the CLIP path end to end, before / after

``--e2e N`` runs CoW's default CLIP agent (CLIP-Patch over depth segments, value-weighted
frontiers, the sim-trained model of ``--clip auto``) on the first N val episodes twice, side by side:
"before" scores each frame for the value map with a second CLIP forward, "after" reuses the
localizer's forward (``CowConfig.reuse_localizer_score``). It prints ms per step (whole step, and
the agent's share: mapping, planning and every CLIP call) and Success / SPL of both.
Target: <= 60 ms per step after, the same Success / SPL within noise.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--episodes", type=int, default=4, help="houses (one episode each)")
    ap.add_argument("--max-steps", type=int, default=300)
    ap.add_argument("--frontier", choices=["nearest", "value"], default="value")
    ap.add_argument("--clip-model", default="embodied-tiny", help="architecture for the separate CLIP timing")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--e2e", type=int, default=0, metavar="N",
                    help="also run the CLIP agent end to end on N val episodes, before / after (0: skip)")
    args = ap.parse_args()
    if args.e2e:
        end_to_end(args.e2e)

    from agents.cow import CowAgent, CowConfig
    from embodied.clip import ClipBackbone, ClipConfig
    from embodied.localization import ClipPatchLocalizer, OracleLocalizer
    from embodied.types import Action
    from sims.raycast.house import HouseConfig, generate_house
    from sims.raycast.simulator import RaycastSimulator, SimConfig

    cfg = SimConfig(width=224, height=224)
    agent = CowAgent(CowConfig(frontier=args.frontier), OracleLocalizer(), scorer=lambda rgb, goal: 0.5)
    times, sizes = [], []
    for i in range(args.episodes):
        # a goal the house does not have, so the agent explores for all --max-steps steps
        sim = RaycastSimulator(cfg, scene=generate_house(10_000 + args.seed + i, HouseConfig(area_m2=400, n_rooms=10)))
        obs = sim.reset(None, seed=args.seed + i)
        agent.reset("a unicorn")
        x0, y0, x1, y1 = sim.scene.bounds_xy_m
        sizes.append((x1 - x0, y1 - y0))
        for _ in range(args.max_steps):
            t0 = time.perf_counter()
            a = agent.act(obs)
            times.append(time.perf_counter() - t0)
            if a is Action.STOP:
                break
            obs = sim.step(a).observation
    ms = np.array(times) * 1000
    print(f"houses: {len(sizes)} ({', '.join(f'{w:.1f}x{h:.1f} m' for w, h in sizes)}), map 5 cm, frames 224x224")
    print(f"agent step without CLIP: median {statistics.median(ms):.2f} ms, p90 {np.percentile(ms, 90):.2f} ms, "
          f"max {ms.max():.1f} ms over {len(ms)} steps")
    clip = ClipBackbone(ClipConfig(model=args.clip_model, random_init=True, device="auto", batch_size=16))
    from sims.raycast.categories import CATEGORIES

    def median_ms(fn) -> float:
        fn()  # warm-up and text cache
        t = []
        for _ in range(10):
            t0 = time.perf_counter()
            fn()
            t.append(time.perf_counter() - t0)
        return statistics.median(t) * 1000

    grid = median_ms(lambda: ClipPatchLocalizer(clip, threshold=0.5)(obs, "chair"))
    seg_loc = ClipPatchLocalizer(clip, vocabulary=CATEGORIES, proposals="segments")
    segs = median_ms(lambda: seg_loc(obs, "chair"))  # CoW's default with a vocabulary
    from embodied.localization import depth_segments

    proposer = median_ms(lambda: depth_segments(obs.depth, obs.intrinsics.K, obs.T_world_cam, 0.0))
    proposer_no_walls = median_ms(lambda: depth_segments(obs.depth, obs.intrinsics.K, obs.T_world_cam, 0.0,
                                                         wall_min_top_m=None))
    frame = []
    for _ in range(10):
        t0 = time.perf_counter()
        clip.encode_images(obs.rgb[None])
        frame.append(time.perf_counter() - t0)
    print(f"CLIP forward ({args.clip_model} on {clip.device}): CLIP-Patch 3x3+frame {grid:.1f} ms, over depth "
          f"segments {segs:.1f} ms, one frame {statistics.median(frame) * 1000:.1f} ms (median of 10)")
    print(f"depth-segment proposer: {proposer:.1f} ms ({proposer_no_walls:.1f} ms without taking walls out)")
    verdict = "PASS" if statistics.median(ms) <= 10.0 else "FAIL"
    print(f"target: agent step <= 10 ms median -> {verdict}")


def end_to_end(n: int) -> None:
    """CoW's CLIP agent on ``n`` val episodes, the value-map score from a second forward (before) and
    from the localizer's (after): ms per step and Success / SPL, side by side."""
    import torch

    from agents.registry import make_agent
    from embodied.clip import get_backbone
    from embodied.clip.auto import resolve_auto, weights_label
    from embodied.evaluation import NavRun, run_episode, summarize_results
    from sims.raycast.categories import CATEGORIES
    from sims.raycast.episodes import generate_episodes
    from sims.raycast.simulator import RaycastSimulator, SimConfig

    torch.set_num_threads(1)
    clip = get_backbone(resolve_auto().config)
    cfg = SimConfig()
    episodes = generate_episodes("val", n, sim_config=cfg)
    print(f"end to end: {n} val episodes, CLIP-Patch over depth segments + value frontiers, {weights_label(clip.provenance)}")
    print(f"{'variant':<8} {'ms/step':>8} {'agent ms/step':>14} {'Success':>8} {'SPL':>6} {'steps':>6}")
    for name, reuse in (("before", False), ("after", True)):
        agent = make_agent("cow", {"localizer": "patch", "frontier": "value", "vocabulary": CATEGORIES,
                                   "reuse_localizer_score": reuse}, clip=clip)
        sim = RaycastSimulator(cfg)
        run = NavRun()
        rows = [run_episode(sim, agent, ep, max_steps=run.max_steps, seed=run.reset_seed(ep.episode_id))
                for ep in episodes]
        ok = [r for r in rows if r["status"] == "ok"]
        steps = sum(r["steps"] for r in ok)
        wall = sum(r["seconds_per_step"] * r["steps"] for r in ok) / max(steps, 1) * 1000
        agent_ms = sum(r["agent_seconds_per_step"] * r["steps"] for r in ok) / max(steps, 1) * 1000
        o = summarize_results(rows)["overall"]
        print(f"{name:<8} {wall:8.1f} {agent_ms:14.1f} {o['success']:8.3f} {o['spl']:6.3f} {steps / max(len(ok), 1):6.0f}")
    print("target: <= 60 ms per step after, Success / SPL as before within noise")


if __name__ == "__main__":
    main()
