"""Speed of the rearrangement task: simulator steps, pick-up / put-down, and where an episode's time goes.

Prints, on built-in val rearrangement episodes (K = 3):
- navigation steps/s of RearrangeSimulator beside the plain RaycastSimulator on the same house
  (the baseline: the rearrangement layer should cost nothing per step);
- milliseconds per pick-up and per put-down (each rebuilds the renderer's scene);
- for full episodes with the scene-graph agent (tiny random CLIP unless --sim-clip): seconds per
  episode, and the share of the agent (graph update + CLIP + planning) against the simulator.

    .venv/bin/python benchmarks/rearrange.py [--episodes 3] [--sim-clip]
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--episodes", type=int, default=3)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--sim-clip", action="store_true", help="use the sim-trained CLIP (trained on first use)")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    from agents.rearrange import RearrangeAgent, RearrangeAgentConfig
    from embodied.evaluation import run_rearrange_episode
    from embodied.types import Action, ActionAt
    from sims.raycast import RaycastSimulator, RearrangeSimulator, generate_rearrange_episodes

    episodes = generate_rearrange_episodes("val", args.episodes, n_moved=3)
    ep = episodes[0]
    rng = np.random.default_rng(0)
    actions = [Action.MOVE_FORWARD, Action.TURN_LEFT, Action.TURN_RIGHT]
    plan = [actions[i] for i in rng.integers(0, 3, args.steps)]

    sim = RearrangeSimulator()
    sim.reset(ep)
    sim.begin_unshuffle()
    base = RaycastSimulator(scene=sim.scene)
    base.teleport(ep.start_position_m, ep.start_yaw_rad)
    for name, s in (("RaycastSimulator (baseline)", base), ("RearrangeSimulator", sim)):
        t = time.perf_counter()
        for a in plan:
            s.step(a)
        dt = time.perf_counter() - t
        print(f"{name:<28} {args.steps / dt:7.1f} steps/s")

    pick, put = [], []
    for mv in ep.moves:  # teleport next to each object, pick it up, bring it back
        for stage in ("current", "goal"):
            xy = sim.object_outline(mv.object_id, stage).mean(0)
            cells = np.argwhere(sim.nav.largest_component())
            pts = np.stack([sim.nav.cell_center(int(r), int(c)) for r, c in cells])
            k = int(np.argmin(np.abs(np.linalg.norm(pts - xy, axis=1) - 0.8)))
            obs = sim.teleport(pts[k], math.atan2(*(xy - pts[k])[::-1]), math.radians(-30))
            if stage == "current":
                ys, xs = np.nonzero(obs.semantic == int(mv.object_id))
                aim = ActionAt(Action.PICK_UP, (xs.mean() + 0.5) / 224, (ys.mean() + 0.5) / 224)
                t = time.perf_counter()
                sim.step(aim)
                pick.append(time.perf_counter() - t)
            else:
                t = time.perf_counter()
                sim.step(Action.PUT_DOWN)
                put.append(time.perf_counter() - t)
    print(f"pick-up {1000 * statistics.median(pick):.1f} ms, put-down {1000 * statistics.median(put):.1f} ms "
          f"(median of {len(pick)}; end energy {sim.metrics().end_energy:.3f})")

    if args.sim_clip:
        from embodied.cli.options import resolve_clip_auto
        from embodied.clip import get_backbone

        clip = get_backbone(resolve_clip_auto().config)
    else:
        from embodied.clip import ClipBackbone, ClipConfig

        clip = ClipBackbone(ClipConfig(model="embodied-tiny", random_init=True, seed=0, device="cpu"))
    for ep in episodes:
        agent = RearrangeAgent(RearrangeAgentConfig(), clip)
        t = time.perf_counter()
        row = run_rearrange_episode(RearrangeSimulator(), agent, ep)
        dt = time.perf_counter() - t
        steps = row["walkthrough_steps"] + row["unshuffle_steps"]
        agent_share = row["agent_seconds_per_step"] * steps / dt
        print(f"{ep.episode_id}: {dt:5.1f} s for {steps} steps ({1000 * dt / steps:.0f} ms/step, agent "
              f"{100 * agent_share:.0f} %), % fixed strict {row['prop_fixed_strict']:.2f}")


if __name__ == "__main__":
    main()
