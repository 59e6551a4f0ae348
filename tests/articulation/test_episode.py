"""Whole Structure-from-Action episodes: the agent finds the parts of a one-drawer chest and of a
drawer-and-door cabinet, estimates their joints, and the same seed gives the same result."""

import numpy as np
import pytest

from agents.articulate import RandomInteractionAgent, SfaAgent, SfaAgentConfig
from embodied.articulation import TruePart, evaluate_parts, run_articulation_episode
from sims.articulated import ArticulatedSimulator, ObjectConfig, generate_object


def _run(model, agent):
    sim = ArticulatedSimulator(model)
    est, log = run_articulation_episode(sim, agent, seed=0)
    visible = sim.observable_truth()
    truth = [TruePart(p.joint, p.type, p.axis, p.pivot_m, visible[p.joint]) for p in sim.truth()]
    return est, log, evaluate_parts([(p.points, p.joint) for p in est.parts], truth)


@pytest.mark.parametrize("model", [generate_object(3, ObjectConfig(kinds=("drawers",), max_parts=1)),
                                   generate_object(0, ObjectConfig(kinds=("cabinet",), max_parts=2))],
                         ids=["one-drawer", "drawer-and-door"])
def test_sfa_agent_discovers_every_part(model):
    est, log, ev = _run(model, SfaAgent())
    assert ev["n_found"] == ev["n_true"] == len(model.movable_joints)
    for p in ev["parts"]:
        assert p["type_correct"], p
        assert p["axis_error_deg"] < 2.0
        assert p.get("pivot_error_cm", 0.0) < 2.0
        assert p["iou"] > 0.5
    assert len(log) <= SfaAgentConfig().budget
    # the agent stopped because nothing more moved (patience), not because it ran out
    assert [r["report"]["moved"] for r in log][-SfaAgentConfig().patience:] == [False] * SfaAgentConfig().patience


def test_same_seed_same_discovery():
    model = generate_object(0, ObjectConfig(kinds=("cabinet",), max_parts=2))
    a, log_a, _ = _run(model, SfaAgent())
    b, log_b, _ = _run(model, SfaAgent())
    # equal up to floating-point reduction order (Open3D's ICP sums in parallel)
    assert len(log_a) == len(log_b) and len(a.parts) == len(b.parts)
    for ra, rb in zip(log_a, log_b):
        assert ra["interaction"]["kind"] == rb["interaction"]["kind"]
        assert np.allclose(ra["interaction"]["point_m"], rb["interaction"]["point_m"], atol=1e-9)
    for pa, pb in zip(a.parts, b.parts):
        assert pa.points.shape == pb.points.shape and np.allclose(pa.points, pb.points, atol=1e-9)
        assert np.allclose(pa.joint.axis, pb.joint.axis, atol=1e-9)


def test_random_baseline_spends_its_budget():
    model = generate_object(3, ObjectConfig(kinds=("drawers",), max_parts=1))
    est, log, ev = _run(model, RandomInteractionAgent(SfaAgentConfig(budget=4, seed=1)))
    assert len(log) == 4
    assert 0 <= ev["n_found"] <= 1
