"""Open-loop localization over recorded observations: detections per frame and the fused map."""

import numpy as np

from embodied.localization import OracleLocalizer
from embodied.open_loop import localize_sequence, overlay
from sims.raycast.simulator import RaycastSimulator, SimConfig


def recorded_turn(goal="chair"):
    """12 frames of a full turn on the spot in a built-in val house, from a start near a ``goal``."""
    from sims.raycast.episodes import generate_episodes

    ep = next(e for e in generate_episodes("val", 20) if e.goal_category == goal)
    with RaycastSimulator(SimConfig(width=64, height=48)) as sim:
        frames = [sim.reset(ep)]
        frames += [sim.step("turn_left").observation for _ in range(11)]
        objects = sim.scene.objects_of(goal)
    return ep, frames, objects


def test_detections_point_at_the_goal_and_the_map_holds_it():
    ep, frames, objects = recorded_turn()
    dets, m = localize_sequence(frames, OracleLocalizer(min_pixels=5), "chair")
    assert len(dets) == 12 and [d.step for d in dets] == [f.step for f in frames]
    found = [d for d in dets if d.found]
    assert found, "a full turn near a chair sees it"
    for d in found:  # the median relevant depth pixel lies on one of the chairs (within 10 cm of its box)
        p = np.array(d.goal_xyz_m)
        near = [np.all(p >= np.array(o.bbox_min_m) - 0.1) and np.all(p <= np.array(o.bbox_max_m) + 0.1) for o in objects]
        assert any(near), (p, [(o.bbox_min_m, o.bbox_max_m) for o in objects])
        u0, v0, u1, v1 = d.box_px
        assert 0 <= u0 < u1 <= 64 and 0 <= v0 < v1 <= 48
    for d in dets:
        if not d.found:
            assert d.box_px is None or d.relevant_fraction < 5 / (64 * 48)
    # the map: explored around the start, with goal evidence inside a chair's footprint
    assert m is not None and m.explored.sum() > 100
    rows, cols = np.nonzero(m.goal > 0)
    xy = np.stack([m.frame.origin_xy_m[0] + (cols + 0.5) * m.frame.resolution_m,
                   m.frame.origin_xy_m[1] + (rows + 0.5) * m.frame.resolution_m], 1)
    inside = np.zeros(len(xy), bool)
    for o in objects:
        inside |= np.all((xy >= np.array(o.bbox_min_m[:2]) - 0.1) & (xy <= np.array(o.bbox_max_m[:2]) + 0.1), 1)
    assert len(xy) and inside.mean() > 0.9


def test_no_pose_means_no_map_and_overlay_marks_the_box():
    import dataclasses

    _, frames, _ = recorded_turn()
    blind = [dataclasses.replace(f, agent_pose=None) for f in frames]
    seen = []
    dets, m = localize_sequence(blind, OracleLocalizer(min_pixels=5), "chair",
                                on_frame=lambda obs, loc, det: seen.append(overlay(obs.rgb, loc, det)))
    assert m is None and len(seen) == 12
    k = next(i for i, d in enumerate(dets) if d.found)
    u0, v0, u1, v1 = dets[k].box_px
    assert tuple(seen[k][v0, u0]) == (0, 220, 0)  # found: a green box
