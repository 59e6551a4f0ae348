import math

import pytest

from embodied.metrics import episode_metrics, path_length, soft_spl, spl, summarize


def test_path_length_hand_computed():
    assert path_length([(0, 0), (3, 0), (3, 4)]) == 7.0
    assert path_length([(1, 1, 0)]) == 0.0


def test_spl_hand_computed():
    # shortest 5 m, walked 3 + 4 + 1 = 8 m, success -> 5 / 8
    m = episode_metrics(called_stop=True, distance_to_goal_m=0.05, start_distance_m=5.0,
                        positions_m=[(0, 0), (3, 0), (3, 4), (3, 5)], steps=30, collisions=2)
    assert m.success == 1.0 and m.spl == pytest.approx(0.625, abs=1e-6) and m.path_length_m == 8.0
    # SoftSPL: progress 1 - 0.05/5 = 0.99, times 5/8
    assert m.soft_spl == pytest.approx(0.99 * 0.625, abs=1e-6)
    # walking less than the shortest path (teleport-free start inside the radius) caps at 1
    assert spl(True, 5.0, 4.0) == 1.0 and spl(False, 5.0, 5.0) == 0.0


def test_failure_modes():
    far = episode_metrics(called_stop=True, distance_to_goal_m=0.5, start_distance_m=4.0,
                          positions_m=[(0, 0), (2, 0)], steps=8)
    assert far.success == 0.0 and far.spl == 0.0
    assert far.soft_spl == pytest.approx((1 - 0.5 / 4.0) * 1.0, abs=1e-6)  # p = 2 < l = 4
    no_stop = episode_metrics(called_stop=False, distance_to_goal_m=0.0, start_distance_m=4.0,
                              positions_m=[(0, 0), (4, 0)], steps=500)
    assert no_stop.success == 0.0 and no_stop.soft_spl == pytest.approx(1.0)
    assert soft_spl(math.inf, 4.0, 1.0) == 0.0 and soft_spl(6.0, 4.0, 1.0) == 0.0  # moved away: no credit


def test_summarize_means():
    a = episode_metrics(called_stop=True, distance_to_goal_m=0.0, start_distance_m=2.0, positions_m=[(0, 0), (2, 0)], steps=8)
    b = episode_metrics(called_stop=False, distance_to_goal_m=2.0, start_distance_m=2.0, positions_m=[(0, 0)], steps=500)
    s = summarize([a, b])
    assert s["success"] == 0.5 and s["spl"] == 0.5 and s["episodes"] == 2 and s["steps"] == 254
    assert summarize([]) == {"episodes": 0}
