"""One Structure-from-Action episode: observe, choose an interaction, act, observe, update, until the agent stops.

Works with any simulator offering ``reset() -> MultiView``, ``interact(Interaction) -> InteractionResult``
and ``observe() -> MultiView`` (:class:`sims.articulated.ArticulatedSimulator`), and any agent offering
``reset()``, ``act(estimator) -> Interaction | None`` and ``feedback(interaction, touched, report, estimator)``.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from embodied.articulation.estimator import ArticulationEstimator, EstimatorConfig

__all__ = ["run_articulation_episode"]


def run_articulation_episode(sim: Any, agent: Any, *, config: EstimatorConfig = EstimatorConfig(),
                             seed: int | None = None, max_interactions: int = 50,
                             on_step: Callable[[int, Any, Any, Any], None] | None = None
                             ) -> tuple[ArticulationEstimator, list[dict[str, Any]]]:
    """Run until the agent returns None (or ``max_interactions``); returns the estimator and a per-step log.

    Each log row: the interaction, whether the probe touched, the estimator's report, and the seconds of
    physics + rendering (``sim_s``) and of inference (``inference_s``). ``on_step(k, interaction, result,
    report)`` is called after each step.
    """
    est = ArticulationEstimator(sim.reset(seed=seed), config)
    agent.reset()
    log: list[dict[str, Any]] = []
    for k in range(max_interactions):
        inter = agent.act(est)
        if inter is None:
            break
        t0 = time.perf_counter()
        res = sim.interact(inter)
        obs = sim.observe()
        t1 = time.perf_counter()
        rep = est.update(obs, inter, travel_m=res.travel_m)
        t2 = time.perf_counter()
        agent.feedback(inter, res.touched, rep, est)
        log.append({"step": k, "interaction": inter.to_dict(), "touched": res.touched, "report": rep.to_dict(),
                    "sim_s": t1 - t0, "inference_s": t2 - t1, "sim_info": res.info})
        if on_step is not None:
            on_step(k, inter, res, rep)
    return est, log
