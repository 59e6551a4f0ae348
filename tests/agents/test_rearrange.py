"""The scene-graph rearrangement agent on full short episodes of the built-in task (tiny random CLIP)."""

from __future__ import annotations

import numpy as np
import pytest

from agents.cow import CowAgent, CowConfig
from agents.rearrange import RearrangeAgent, RearrangeAgentConfig
from embodied.errors import ConfigError
from embodied.evaluation import run_rearrange_episode
from embodied.localization import Localization
from embodied.types import Action
from sims.raycast import RearrangeSimulator, generate_rearrange_episodes


@pytest.fixture(scope="module")
def episode():
    return generate_rearrange_episodes("val", 3, n_moved=1)[2]  # one mug/vase moved in house 802


def test_a_full_episode_puts_the_moved_object_back(tiny_clip, episode):
    sim = RearrangeSimulator()
    agent = RearrangeAgent(RearrangeAgentConfig(), tiny_clip)
    row = run_rearrange_episode(sim, agent, episode)
    assert row["status"] == "ok", row
    # the diff found exactly the moved object, and it went back: RoomR success
    assert (row["cd_tp"], row["cd_fp"], row["cd_fn"]) == (1, 0, 0)
    assert (row["success"], row["prop_fixed_strict"], row["end_energy"]) == (1.0, 1.0, 0.0)
    assert row["walkthrough_steps"] <= 250 and row["unshuffle_steps"] <= 500
    actions = [h["action"] for h in sim.history]
    assert actions[-2:] == ["pick_up", "put_down"] and all(h["success"] for h in sim.history[-2:])
    (frm, to), = agent.predicted_moves
    goal = next(p for p in sim.goal_poses() if p.object_id == episode.moves[0].object_id)
    assert np.linalg.norm(np.subtract(frm, goal.center_m)[:2]) < 0.1
    # detect mode: the same diff, no interaction, nothing fixed
    sim2 = RearrangeSimulator()
    det = run_rearrange_episode(sim2, RearrangeAgent(RearrangeAgentConfig(mode="detect"), tiny_clip), episode)
    assert (det["cd_tp"], det["cd_fp"], det["cd_fn"]) == (1, 0, 0)
    assert sim2.history == [] and det["prop_fixed"] == 0.0 and det["num_misplaced"] == 1
    assert det["walkthrough_steps"] == row["walkthrough_steps"]  # same seed, same walk


def test_phases_and_config_are_checked(tiny_clip):
    agent = RearrangeAgent(RearrangeAgentConfig(), tiny_clip)
    with pytest.raises(ConfigError, match="before a walkthrough"):
        agent.reset("unshuffle")
    with pytest.raises(ConfigError, match="takes a phase"):
        agent.reset("chair")
    with pytest.raises(ConfigError, match="mode"):
        RearrangeAgentConfig(mode="tidy")
    cfg = RearrangeAgentConfig(cow={"stop_distance_m": 1.2}, graph={"match_threshold": 1.1})
    assert cfg.cow.stop_distance_m == 1.2 and cfg.graph.match_threshold == 1.1


def test_cow_navigate_to_a_point_stops_within_reach_facing_it():
    from sims.raycast import RaycastSimulator

    sim = RaycastSimulator()
    obs = sim.reset(None, seed=3)
    agent = CowAgent(CowConfig(spin=False), lambda o, g: Localization(np.zeros(o.rgb.shape[:2], np.float32), False))
    agent.reset(None)
    with pytest.raises(Exception, match="map"):
        agent.navigate_to(np.zeros((1, 2)))
    sim.step(agent.act(obs))
    # a navigable target 1.5 to 3 m (walking) from the agent
    start = sim.agent_position_m[:2]
    cells = np.argwhere(sim.nav.largest_component())
    target = None
    for r, c in cells[np.random.default_rng(0).permutation(len(cells))]:
        p = sim.nav.cell_center(int(r), int(c))
        if 1.5 <= sim.geodesic_distance(start, p) <= 3.0:
            target = p
            break
    assert target is not None
    agent.navigate_to(target[None], stop_distance_m=0.5)
    obs = sim.step(Action.TURN_LEFT).observation
    for _ in range(60):
        a = agent.act(obs)
        if a is Action.STOP:
            break
        obs = sim.step(a).observation
    assert a is Action.STOP
    d = np.linalg.norm(sim.agent_position_m[:2] - target)
    heading = np.arctan2(*(target - sim.agent_position_m[:2])[::-1]) - sim.agent_yaw_rad
    # within the stop distance of the nearest goal cell (cells cover 0.1 m around the point, 5 cm each)
    assert d <= 0.5 + 0.1 + 0.05 and abs((heading + np.pi) % (2 * np.pi) - np.pi) <= np.radians(30)
