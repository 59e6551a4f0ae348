"""Observations -> detections -> graph: synthetic frames with hand-checked geometry, and built-in renders."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from embodied import geometry
from embodied.errors import ConfigError, ObservationError
from embodied.scene_graph import SceneGraph, detections_from_observation, observe, proposal_masks
from embodied.types import Action, CameraIntrinsics, Observation


class CountingClip:
    """Models ClipBackbone.encode_images: a list of (h, w, 3) uint8 crops in, (N, D) unit rows out."""

    def __init__(self, clip):
        self.clip, self.calls, self.shapes = clip, 0, []

    def encode_images(self, images):
        self.calls += 1
        self.shapes += [im.shape for im in images]
        return self.clip.encode_images(images)


def synthetic_frame() -> Observation:
    W = H = 64
    K = CameraIntrinsics.from_hfov(W, H, 90.0)
    depth = np.full((H, W), 2.0, np.float32)
    sem = np.full((H, W), -1, np.int32)
    sem[10:20, 10:20] = 3  # 100 px
    sem[40:44, 40:44] = 5  # 16 px: under min_pixels
    sem[30:40, 50:60] = 7  # 100 px, half of them without depth
    depth[30:35, 50:60] = 0.0
    rgb = np.zeros((H, W, 3), np.uint8)
    rgb[sem == 3] = (200, 30, 30)
    T = geometry.camera_pose(np.array([1.0, 2.0, 1.5]), 0.0, 0.0)  # looking along world +X
    return Observation(rgb=rgb, intrinsics=K, T_world_cam=T, depth=depth, semantic=sem, labels={3: "mug", 7: "tv"})


def test_oracle_masks_points_and_one_batched_forward(tiny_clip):
    obs = synthetic_frame()
    clip = CountingClip(tiny_clip)
    dets = detections_from_observation(obs, clip, "oracle", min_pixels=50)
    assert len(dets) == 2 and clip.calls == 1  # ids 3 and 7; id 5 is too small
    assert clip.shapes[0] == (14, 14, 3)  # the 10 x 10 box padded by 2 px on each side
    a, b = dets
    assert len(a.points_m) == 100 and len(b.points_m) == 50  # only pixels with depth
    np.testing.assert_allclose(a.points_m[:, 0], 1.0 + 2.0, atol=1e-3)  # 2 m in front of x = 1 m, within 1 mm
    # pixel (u, v) = (10..19, 10..19) of a 90 deg, 64 px camera: y = 2 - (u - 31.5) / 32 * 2, z = 1.5 - (v - 31.5) / 32 * 2
    np.testing.assert_allclose(a.points_m[:, 1].max(), 2.0 - (10 - 31.5) / 32 * 2, atol=1e-3)
    np.testing.assert_allclose(a.points_m[:, 2].min(), 1.5 - (19 - 31.5) / 32 * 2, atol=1e-3)
    assert a.embedding.shape == (tiny_clip.embed_dim,) and np.linalg.norm(a.embedding) == pytest.approx(1.0, abs=1e-5)


def test_bad_frames_get_clear_errors(tiny_clip):
    obs = synthetic_frame()
    with pytest.raises(ConfigError, match="proposals='segments'"):
        proposal_masks(replace(obs, semantic=None), "oracle")
    with pytest.raises(ObservationError, match="needs depth"):
        proposal_masks(replace(obs, depth=None), "oracle")
    with pytest.raises(ConfigError, match="unknown proposals"):
        proposal_masks(obs, "sam")
    empty = replace(obs, depth=np.zeros_like(obs.depth))
    assert detections_from_observation(empty, tiny_clip) == []


def _walk():
    from sims.raycast.simulator import RaycastSimulator, SimConfig

    from embodied.tasks import ObjectNavEpisode

    cfg = SimConfig(width=96, height=72)
    sim = RaycastSimulator(cfg)
    # a fixed pose in house 800 (val episode 0 under the radius success rule); from the start of val
    # episode 0 under the visibility rule, 25 cm away, association splits objects (7 nodes for 5 objects)
    start = ObjectNavEpisode(episode_id="walk", scene_id="house-000800", start_position_m=(10.375, 1.375, 0.0),
                             start_yaw_rad=-0.613001, goal_category="tv")
    obs = [sim.reset(start)]
    for _ in range(5):
        obs.append(sim.step(Action.TURN_LEFT).observation)
    return obs


def test_oracle_graph_over_a_turn_keeps_one_node_per_object(tiny_clip):
    """Turning in place in a built-in house: every object seen gets exactly one node, observed once per
    frame it was in, and each node's points lie on its object (>= 90 % of them near that instance's pixels)."""
    frames = _walk()
    g = SceneGraph()
    seen: dict[int, int] = {}
    owner: dict[int, int] = {}
    for obs in frames:
        masks = proposal_masks(obs, "oracle")
        for m in masks:
            iid = int(np.unique(obs.semantic[m])[0])
            seen[iid] = seen.get(iid, 0) + 1
        ids = g.update(detections_from_observation(obs, tiny_clip, "oracle"), step=obs.step)
        for node_id, m in zip(ids, masks):
            owner.setdefault(node_id, int(np.unique(obs.semantic[m])[0]))
            assert owner[node_id] == int(np.unique(obs.semantic[m])[0])  # a node never takes another object
    assert len(seen) >= 3
    assert len(g.nodes) == len(seen)
    assert sorted(n.n_obs for n in g.nodes) == sorted(seen.values())


def test_depth_segments_give_detections_without_ground_truth(tiny_clip):
    frames = _walk()
    g = SceneGraph()
    n_dets = 0
    for obs in frames:
        bare = replace(obs, semantic=None, labels={})  # no ground truth
        dets = detections_from_observation(bare, tiny_clip, "segments")
        n_dets += len(dets)
        g.update(dets, step=obs.step)
    assert n_dets >= 3 and 1 <= len(g.nodes) <= n_dets


def test_frames_without_depth_and_pose_jumps_are_skipped_and_counted(tiny_clip):
    obs = synthetic_frame()
    g = SceneGraph()
    assert observe(g, replace(obs, step=0), tiny_clip) != []
    n = len(g.nodes)
    assert observe(g, replace(obs, step=1, depth=np.zeros_like(obs.depth)), tiny_clip) == []
    T = obs.T_world_cam.copy()
    T[0, 3] += 1.5  # 1.5 m in one step: a relocalization glitch, not a move
    assert observe(g, replace(obs, step=2, T_world_cam=T), tiny_clip) == []
    assert g.skipped == {"frame without valid depth": 1, "pose jump": 1} and len(g.nodes) == n
    T[0, 3] -= 0.5  # the next step is 0.5 m from the skipped frame's camera: accepted
    assert observe(g, replace(obs, step=3, T_world_cam=T), tiny_clip) != []
    with pytest.raises(ObservationError, match="needs depth"):
        observe(g, replace(obs, depth=None), tiny_clip)


def test_rerun_recording_of_a_growing_graph(tiny_clip, tmp_path, monkeypatch):
    import sys

    from embodied.errors import MissingDependencyError
    from embodied.scene_graph.record import GraphRecording

    frames = _walk()
    pytest.importorskip("rerun")
    g = SceneGraph()
    with GraphRecording(tmp_path / "g.rrd") as rec:
        for obs in frames:
            observe(g, obs, tiny_clip)
            rec.log(g, obs)
    assert rec.frames == len(frames) and len(g.nodes) > 0
    size = (tmp_path / "g.rrd").stat().st_size
    assert size > 10_000  # six frames of 96 x 72 RGB and the node clouds
    monkeypatch.setitem(sys.modules, "rerun", None)  # as if the viz extra were not installed
    with pytest.raises(MissingDependencyError, match=r"\[viz\]"):
        GraphRecording(tmp_path / "h.rrd")


def test_graph_from_recorded_observations_matches_the_frame_by_frame_build(tiny_clip):
    """graph_from_observations (recordings: nothing acts) gives the graph that observe() frame by frame
    gives, and fills the ground truth only from frames that carry instance masks."""
    from embodied.scene_graph.walk import graph_from_observations

    frames = _walk()
    walk = graph_from_observations(frames, tiny_clip, proposals="oracle", progress=False)
    g = SceneGraph()
    for obs in frames:
        observe(g, obs, tiny_clip, "oracle")
    assert walk.steps == len(frames) and len(walk.graph.nodes) == len(g.nodes) >= 3
    np.testing.assert_allclose(sorted(n.center_m[0] for n in walk.graph.nodes), sorted(n.center_m[0] for n in g.nodes))
    bare = graph_from_observations([replace(f, semantic=None, labels={}) for f in frames], tiny_clip, progress=False)
    assert bare.steps == len(frames) and len(bare.graph.nodes) >= 1
