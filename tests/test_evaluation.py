"""The ObjectNav episode runner and its summaries on scripted simulators: hand-computed Success,
SPL (shortest path measured at reset), the simulator's own success rule, refusal of simulators that
cannot score, and unreachable / failed episodes counted in every mean."""

from __future__ import annotations

import math

import numpy as np
import pytest

from embodied.errors import ConfigError
from embodied.evaluation import check_scorable, run_episode, success_rule, summarize_results, summary_markdown
from embodied.tasks import ObjectNavEpisode
from embodied.types import Action, AgentPose, CameraIntrinsics, Observation, StepResult

K = CameraIntrinsics.from_hfov(4, 4, 90.0)
EP = ObjectNavEpisode(episode_id="e0", scene_id="line", start_position_m=(0.0, 0.0, 0.0), start_yaw_rad=0.0,
                      goal_category="chair", geodesic_distance_m=9.0)


class LineSim:
    """The agent walks along +x in 1 m steps; the goal's nearest view point is at x = ``goal_x``
    (distance_to_goal = |goal_x - x|, or inf when ``reachable`` is False)."""

    def __init__(self, goal_x: float = 3.0, reachable: bool = True) -> None:
        self.goal_x, self.reachable, self.x, self.k = goal_x, reachable, 0.0, 0

    def _obs(self) -> Observation:
        return Observation(rgb=np.zeros((4, 4, 3), np.uint8), depth=np.ones((4, 4), np.float32), intrinsics=K,
                           T_world_cam=np.eye(4), agent_pose=AgentPose((self.x, 0.0, 0.0), 0.0), step=self.k)

    def reset(self, episode, *, seed=None) -> Observation:
        self.x, self.k = 0.0, 0
        return self._obs()

    def step(self, action) -> StepResult:
        self.k += 1
        if action is Action.MOVE_FORWARD:
            self.x += 1.0
        return StepResult(self._obs(), done=action is Action.STOP)

    def distance_to_goal(self, category: str) -> float:
        return abs(self.goal_x - self.x) if self.reachable else math.inf

    def close(self) -> None:
        pass


class VisibleSim(LineSim):
    """RoboTHOR-style: success is the simulator's own verdict (the target visible from x = 2 on)."""

    def goal_success(self, category: str) -> bool:
        return self.x >= 2.0


class NoOracleSim(LineSim):
    distance_to_goal = None  # e.g. a THOR adapter without a geodesic oracle


class Script:
    def __init__(self, actions) -> None:
        self.actions = list(actions)

    def reset(self, goal: str) -> None:
        self.i = 0

    def act(self, obs: Observation) -> Action:
        self.i += 1
        return self.actions[self.i - 1]


F, S = Action.MOVE_FORWARD, Action.STOP


def test_distance_rule_and_spl_from_the_distance_at_reset():
    # 3 m forward onto the goal, STOP
    row = run_episode(LineSim(goal_x=3.0), Script([F, F, F, S]), EP)
    assert row["status"] == "ok" and row["success_rule"] == "distance"
    assert row["success"] == 1.0 and row["spl"] == pytest.approx(1.0, abs=1e-9)
    # SPL's l is distance_to_goal at reset (3 m), not the file's 9 m; the file's is kept beside it
    assert row["shortest_path_m"] == 3.0 and row["file_geodesic_m"] == 9.0
    # one step short: d_T = 1 m, no success; SoftSPL = (1 - 1/3) * 3 / max(3, 2) = 2/3
    row = run_episode(LineSim(goal_x=3.0), Script([F, F, S]), EP)
    assert row["success"] == 0.0 and row["spl"] == 0.0 and row["soft_spl"] == pytest.approx(2 / 3, abs=1e-9)
    # habitat-lab's Success is strict: distance_to_target < success_distance (exactly at it fails)
    row = run_episode(LineSim(goal_x=0.5), Script([S]), EP, success_distance_m=0.5)
    assert row["distance_to_goal_m"] == 0.5 and row["success"] == 0.0
    row = run_episode(LineSim(goal_x=0.5), Script([S]), EP, success_distance_m=0.5 + 1e-9)
    assert row["success"] == 1.0
    # walking past the goal: 2 m beyond it at STOP, no success
    row = run_episode(LineSim(goal_x=2.0), Script([F, F, F, F, S]), EP)
    assert row["success"] == 0.0 and row["path_length_m"] == 4.0


def test_the_simulators_own_success_rule_decides():
    assert success_rule(VisibleSim()) == "visible" and success_rule(LineSim()) == "distance"
    # visible from x = 2 although 1 m from the goal's view point: success, SPL = 3 / max(3, 2) = 1
    # RoboTHOR's SPL takes l from the episode (9 m here): SPL = 9 / max(9, 2) = 1; without one, d at reset (3 m)
    row = run_episode(VisibleSim(goal_x=3.0), Script([F, F, S]), EP)
    assert row["success_rule"] == "visible" and row["success"] == 1.0 and row["spl"] == pytest.approx(1.0)
    assert row["shortest_path_m"] == 9.0
    no_l = ObjectNavEpisode(**{**EP.to_dict(), "geodesic_distance_m": None})
    row = run_episode(VisibleSim(goal_x=3.0), Script([F, F, F, F, S]), no_l)
    assert row["shortest_path_m"] == 3.0 and row["spl"] == pytest.approx(3 / 4)
    row = run_episode(VisibleSim(goal_x=0.5), Script([F, S]), EP)  # at x = 1: 0.5 m away but not visible
    assert row["success"] == 0.0
    # no STOP, no success, whatever the simulator says
    row = run_episode(VisibleSim(goal_x=3.0), Script([F] * 5), EP, max_steps=5)
    assert row["success"] == 0.0 and row["steps"] == 5


def test_a_simulator_that_cannot_score_is_refused():
    with pytest.raises(ConfigError, match="cannot score ObjectNav episodes"):
        run_episode(NoOracleSim(), Script([S]), EP)
    with pytest.raises(ConfigError, match="NoOracleSim"):
        check_scorable(NoOracleSim)
    check_scorable(LineSim)  # a class with the oracle passes


def test_unreachable_and_failed_episodes_stay_in_the_denominator():
    ok = run_episode(LineSim(goal_x=2.0), Script([F, F, F, F, S]), EP)  # walks 4 m, l = 2: no success
    good = run_episode(LineSim(goal_x=2.0), Script([F, F, S]), ObjectNavEpisode(**{**EP.to_dict(), "episode_id": "e1"}))
    lost = run_episode(LineSim(reachable=False), Script([S]), ObjectNavEpisode(**{**EP.to_dict(), "episode_id": "e2"}))
    assert lost["status"] == "unreachable" and "reachable" in lost["error"]
    broken = {"episode_id": "e3", "goal_category": "chair", "status": "error", "error": "ObservationError: NaN depth"}
    s = summarize_results([ok, good, lost, broken])
    o = s["overall"]
    assert o["episodes"] == 4 and o["failed"] == 2
    assert o["success"] == pytest.approx(1 / 4) and o["spl"] == pytest.approx(1 / 4)  # 1 success of 4, SPL 1
    assert {f["status"] for f in s["failed"]} == {"unreachable", "error"}
    md = summary_markdown(s, {"agent": "script"})
    assert "2 of 4 episodes failed (1 error, 1 unreachable)" in md and "e2 (unreachable)" in md
