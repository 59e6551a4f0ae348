import json
import math

import numpy as np
import pytest

from embodied.errors import ConfigError
from embodied.rearrangement import (IOU_THRESHOLD, OPENNESS_THRESHOLD, POSITION_DIFF_BARRIER_M, ObjectPose,
                                    box_iou_3d, compare_poses, pose_energy, poses_equal, rearrangement_metrics)


def cube(x=0.0, y=0.0, z=0.0, yaw_deg=0.0, size=(1.0, 1.0, 1.0), oid="mug_1", category="Mug", **kw):
    return ObjectPose(oid, category, (x, y, z), size, math.radians(yaw_deg), **kw)


SQUARE_45_AREA = 2 * (math.sqrt(2) - 1)  # unit square intersected with its own 45-degree rotation


def test_constants_match_reference():
    assert (IOU_THRESHOLD, OPENNESS_THRESHOLD, POSITION_DIFF_BARRIER_M) == (0.5, 0.2, 2.0)


def test_corners_of_rotated_box():
    c = cube(1.0, 2.0, 3.0, yaw_deg=90, size=(2.0, 1.0, 4.0)).corners_m()
    assert c.shape == (8, 3)
    # after a 90-degree yaw the 2 m extent lies along world y
    assert np.ptp(c[:, 0]) == pytest.approx(1.0) and np.ptp(c[:, 1]) == pytest.approx(2.0)
    assert sorted(set(np.round(c[:, 2], 9))) == [1.0, 5.0]
    assert c.mean(0) == pytest.approx([1.0, 2.0, 3.0])


def test_iou_identical_shifted_rotated_disjoint():
    a = cube()
    assert box_iou_3d(a, a) == pytest.approx(1.0, abs=1e-12)
    # overlap 0.5 of 1 + 1 - 0.5 = 1.5
    assert box_iou_3d(a, cube(x=0.5)) == pytest.approx(1 / 3, abs=1e-9)
    assert box_iou_3d(a, cube(z=0.5)) == pytest.approx(1 / 3, abs=1e-9)
    assert box_iou_3d(a, cube(yaw_deg=45)) == pytest.approx(SQUARE_45_AREA / (2 - SQUARE_45_AREA), abs=1e-9)
    assert box_iou_3d(a, cube(yaw_deg=45)) == pytest.approx(0.828427 / (2 - 0.828427), abs=1e-6)
    assert box_iou_3d(a, cube(x=3.0)) == 0.0
    assert box_iou_3d(a, cube(z=1.5)) == 0.0
    # a 90-degree yaw of a square box is the same box
    assert box_iou_3d(a, cube(yaw_deg=90)) == pytest.approx(1.0, abs=1e-9)


def test_iou_is_symmetric():
    pairs = [(cube(), cube(x=0.3, y=0.2, yaw_deg=30)),
             (cube(size=(2.0, 0.5, 1.0)), cube(x=0.4, z=0.2, yaw_deg=-70, size=(1.0, 1.5, 0.3)))]
    for a, b in pairs:
        ab, ba = box_iou_3d(a, b), box_iou_3d(b, a)
        assert 0.0 < ab < 1.0 and ab == pytest.approx(ba, abs=1e-12)
    # nested boxes: a 0.5^3 cube inside a unit cube -> IoU = 0.125
    assert box_iou_3d(cube(), cube(size=(0.5, 0.5, 0.5), yaw_deg=20)) == pytest.approx(0.125, abs=1e-12)


def test_compare_poses_short_circuit_and_wrapping():
    goal = cube()
    near = compare_poses(goal, cube(x=0.005, yaw_deg=5))
    assert near.iou == 1.0 and near.position_dist_m == pytest.approx(0.005)
    assert near.rotation_dist_deg == pytest.approx(5.0) and near.openness_diff is None
    turned = compare_poses(goal, cube(x=0.005, yaw_deg=20))
    assert turned.iou < 1.0 and turned.iou == pytest.approx(box_iou_3d(goal, cube(x=0.005, yaw_deg=20)))
    assert turned.rotation_dist_deg == pytest.approx(20.0)
    wrap = compare_poses(cube(yaw_deg=179), cube(yaw_deg=-179))
    assert wrap.rotation_dist_deg == pytest.approx(2.0) and wrap.iou == 1.0
    assert compare_poses(cube(yaw_deg=0), cube(yaw_deg=540)).rotation_dist_deg == pytest.approx(180.0)
    dist = compare_poses(goal, cube(x=3.0, y=4.0))
    assert dist.position_dist_m == pytest.approx(5.0)
    with pytest.raises(ConfigError, match="categories"):
        compare_poses(goal, cube(category="Cup"))
    with pytest.raises(ConfigError, match="openness"):
        compare_poses(goal, cube(openness=0.5))


def test_pose_energy_pickupable():
    goal = cube()
    assert pose_energy(goal, goal) == 0.0
    assert pose_energy(goal, cube(x=0.5)) == pytest.approx(0.5 * (1 - 2 / 3), abs=1e-9)  # iou 1/3 -> 1/6
    # gap of 1 m between facing faces: nearest corners 1 m apart -> 0.5 * 1 + 0.5 * 1 / 2
    assert pose_energy(goal, cube(x=2.0)) == pytest.approx(0.75, abs=1e-12)
    assert pose_energy(goal, cube(x=5.0)) == 1.0  # 4 m > 2 m barrier
    assert pose_energy(goal, cube(x=2.0), pos_barrier_m=4.0) == pytest.approx(0.625, abs=1e-12)
    # iou >= min_iou -> zero energy, even without the short circuit
    assert pose_energy(goal, cube(x=0.25)) == 0.0  # iou 0.75 / 1.25 = 0.6
    # pickupable openable objects are scored by their box only (reference: goal_pose["pickupable"])
    laptop = dict(category="Laptop", oid="laptop_1")
    assert pose_energy(cube(openness=0.0, **laptop), cube(openness=1.0, **laptop)) == 0.0


def test_pose_energy_openable_not_pickupable():
    fridge = dict(category="Fridge", oid="fridge_1", pickupable=False)
    goal = cube(openness=0.5, **fridge)
    assert pose_energy(goal, cube(openness=0.65, **fridge)) == 0.0
    assert pose_energy(goal, cube(openness=0.75, **fridge)) == 1.0
    assert pose_energy(goal, cube(openness=0.25, **fridge)) == 1.0
    # position is ignored for these objects
    assert pose_energy(goal, cube(x=5.0, openness=0.5, **fridge)) == 0.0
    with pytest.raises(ConfigError, match="min_iou"):
        pose_energy(goal, goal, min_iou=0.0)


def test_poses_equal_strict_iou_and_openness():
    goal = cube()
    assert poses_equal(goal, goal)
    assert poses_equal(goal, cube(x=0.25))  # iou 0.6 > 0.5
    assert not poses_equal(goal, cube(x=0.5))  # iou 1/3
    # iou exactly 0.5 (x shift of 1/3): energy is 0 but poses are not equal (reference uses iou > min_iou)
    third = cube(x=1 / 3)
    assert box_iou_3d(goal, third) == pytest.approx(0.5, abs=1e-12)
    assert not poses_equal(goal, third, min_iou=box_iou_3d(goal, third))
    assert poses_equal(goal, third, min_iou=box_iou_3d(goal, third) - 1e-9)
    fridge = dict(category="Fridge", oid="fridge_1", pickupable=False)
    assert poses_equal(cube(openness=0.5, **fridge), cube(openness=0.65, **fridge))
    assert not poses_equal(cube(openness=0.5, **fridge), cube(openness=0.75, **fridge))


def _scene(a_x, b_x, c_x, d_open):
    return [cube(x=a_x, oid="a"), cube(x=b_x, oid="b"), cube(x=c_x, oid="c"),
            cube(x=30.0, openness=d_open, oid="d", category="Fridge", pickupable=False)]


GOAL = _scene(0.0, 10.0, 20.0, 0.0)


def test_metrics_partial_fix_with_disturbance():
    # start: a off by 0.5 m (1/6), b 5 m off (1.0), c 2 m off (0.75), d in place -> 3 misplaced
    start = _scene(0.5, 15.0, 22.0, 0.0)
    # end: a and b fixed, c still 0.5 m off (1/6), d opened (1.0) -> newly misplaced
    end = _scene(0.0, 10.0, 20.5, 0.5)
    m = rearrangement_metrics(GOAL, start, end)
    assert m.start_energy == pytest.approx(1 / 6 + 1.0 + 0.75, abs=1e-9)
    assert m.end_energy == pytest.approx(1 / 6 + 1.0, abs=1e-9)
    assert (m.num_initially_misplaced, m.num_fixed, m.num_newly_misplaced, m.num_misplaced) == (3, 2, 1, 2)
    assert m.prop_fixed == pytest.approx(2 / 3) and m.prop_fixed_strict == 0.0
    assert m.prop_misplaced == pytest.approx(2 / 3) and m.success == 0.0
    assert m.energy_prop == pytest.approx((7 / 6) / (23 / 12), abs=1e-9)  # 14/23
    d = m.to_dict()
    assert d["num_fixed"] == 2 and d["success"] == 0.0 and len(d) == 11
    json.dumps(d)


def test_metrics_all_fixed_and_order_independent():
    start = _scene(0.5, 15.0, 22.0, 0.0)
    m = rearrangement_metrics(GOAL, start, list(reversed(GOAL)))
    assert m.success == 1.0 and m.prop_fixed == 1.0 and m.prop_fixed_strict == 1.0
    assert m.energy_prop == 0.0 and m.end_energy == 0.0 and m.prop_misplaced == 0.0
    assert (m.num_initially_misplaced, m.num_fixed, m.num_newly_misplaced, m.num_misplaced) == (3, 3, 0, 0)


def test_metrics_nothing_misplaced():
    m = rearrangement_metrics(GOAL, GOAL, GOAL)
    assert math.isnan(m.prop_misplaced) and math.isnan(m.energy_prop)
    assert m.prop_fixed == 1.0 and m.prop_fixed_strict == 1.0 and m.success == 1.0 and m.start_energy == 0.0
    disturbed = rearrangement_metrics(GOAL, GOAL, _scene(0.0, 10.0, 25.0, 0.0))
    assert disturbed.prop_fixed == 1.0 and disturbed.prop_fixed_strict == 0.0 and disturbed.success == 0.0
    assert disturbed.num_newly_misplaced == 1 and math.isnan(disturbed.prop_misplaced)


def test_metrics_mismatched_ids():
    with pytest.raises(ConfigError, match="missing from end: d"):
        rearrangement_metrics(GOAL, GOAL, GOAL[:3])
    with pytest.raises(ConfigError, match="missing from goal: z"):
        rearrangement_metrics(GOAL, GOAL + [cube(oid="z")], GOAL + [cube(oid="z")])
    with pytest.raises(ConfigError, match="twice"):
        rearrangement_metrics(GOAL + [GOAL[0]], GOAL, GOAL)


def test_object_pose_round_trip_and_validation():
    p = cube(1, 2, 3, yaw_deg=30, size=(0.2, 0.3, 0.4), openness=0.4, pickupable=False, category="Drawer")
    d = json.loads(json.dumps(p.to_dict()))
    assert d["center_m"] == [1.0, 2.0, 3.0] and d["openness"] == 0.4
    assert ObjectPose.from_dict(d) == p
    assert isinstance(p.center_m, tuple) and all(isinstance(v, float) for v in p.center_m)
    with pytest.raises(ConfigError, match="center_m"):
        cube(x=float("nan"))
    with pytest.raises(ConfigError, match="size_m"):
        cube(size=(1.0, 0.0, 1.0))
    with pytest.raises(ConfigError, match="openness"):
        cube(openness=1.5)
    with pytest.raises(ConfigError, match="yaw_rad"):
        ObjectPose("a", "Mug", (0, 0, 0), (1, 1, 1), float("inf"))
    with pytest.raises(ConfigError, match="unknown ObjectPose key"):
        ObjectPose.from_dict({**d, "colour": "red"})


def test_change_detection_on_a_hand_made_shuffle():
    from embodied.rearrangement import change_detection

    goal = [cube(0, 0, oid="a"), cube(5, 0, oid="b"), cube(0, 5, oid="c")]
    start = [cube(2, 0, oid="a"), cube(5, 3, oid="b"), cube(0, 5, oid="c")]  # a and b moved, c did not
    # one right (both ends within 0.3 m), one with the right start but the wrong goal, one invented
    predicted = [((0.1, 0.1, 0), (2.2, 0.0, 0)), ((5.0, 1.0, 0), (5.0, 3.0, 0)), ((0, 5, 0), (1, 5, 0))]
    cd = change_detection(predicted, goal, start)
    assert (cd.tp, cd.fp, cd.fn) == (1, 2, 1)
    assert cd.precision == pytest.approx(1 / 3) and cd.recall == pytest.approx(1 / 2)
    assert cd.f1 == pytest.approx(2 * 1 / (2 * 1 + 2 + 1))
    # a prediction cannot count twice: two predictions of the same move give 1 TP and 1 FP
    twice = change_detection([predicted[0], predicted[0]], goal, start)
    assert (twice.tp, twice.fp, twice.fn) == (1, 1, 1)
    none = change_detection([], goal, start)
    assert (none.tp, none.fp, none.fn) == (0, 0, 2) and math.isnan(none.precision) and none.recall == 0.0
    assert math.isnan(change_detection([], goal, goal).f1)  # nothing moved, nothing predicted: undefined


def test_rearrange_summary_counts_failures_and_micro_averages_change_detection():
    from embodied.evaluation import rearrange_markdown, summarize_rearrange

    rows = [
        {"episode_id": "a", "status": "ok", "success": 1.0, "prop_fixed": 1.0, "prop_fixed_strict": 1.0,
         "prop_misplaced": 0.0, "energy_prop": 0.0, "cd_tp": 3, "cd_fp": 0, "cd_fn": 0, "unshuffle_steps": 300,
         "walkthrough_steps": 200, "seconds_per_step": 0.04},
        {"episode_id": "b", "status": "ok", "success": 0.0, "prop_fixed": 0.5, "prop_fixed_strict": 0.0,
         "prop_misplaced": float("nan"), "energy_prop": 0.5, "cd_tp": 1, "cd_fp": 2, "cd_fn": 1,
         "unshuffle_steps": 100, "walkthrough_steps": 100, "seconds_per_step": 0.02},
        {"episode_id": "c", "status": "error", "error": "ConfigError: bad"},
    ]
    s = summarize_rearrange(rows)
    assert (s["episodes"], s["failed"]) == (3, 1)
    assert s["success"] == pytest.approx(1 / 3) and s["prop_fixed_strict"] == pytest.approx(1 / 3)
    assert s["prop_fixed"] == pytest.approx(1.5 / 3)
    assert s["prop_misplaced"] == 0.0 and s["energy_prop"] == pytest.approx(0.25)  # NaN skipped; ran episodes only
    assert (s["cd_tp"], s["cd_fp"], s["cd_fn"]) == (4, 2, 1)
    assert s["cd_precision"] == pytest.approx(4 / 6) and s["cd_recall"] == pytest.approx(4 / 5)
    assert s["cd_f1"] == pytest.approx(8 / 11) and s["unshuffle_steps"] == 200
    md = rearrange_markdown(s, {"weights": "tiny"})
    assert "| 3 | 0.333 | 0.333 |" in md and "c: ConfigError: bad" in md
