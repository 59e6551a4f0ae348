"""Agents on the built-in simulator, localizers on a tiny model, the nav runner end to end."""

import json
import shlex

import numpy as np
import pytest
from click.testing import CliRunner

from embodied.cli.main import cli
from embodied.errors import ConfigError, ObservationError
from embodied.evaluation import run_episode
from embodied.localization import (
    ClipGradLocalizer,
    ClipPatchLocalizer,
    ClipRefLocalizer,
    DenseClipLocalizer,
    depth_segments,
    OracleLocalizer,
    make_localizer,
    vit_attention_forward,
)
from embodied.types import Action
from sims.raycast.episodes import generate_episodes
from sims.raycast.simulator import RaycastSimulator, SimConfig

SMALL = SimConfig(width=96, height=72)


@pytest.fixture(scope="module")
def episodes():
    return generate_episodes("val", 3, sim_config=SMALL)


@pytest.mark.parametrize("name", ["cow", "frontier", "random"])
def test_full_short_episode_per_agent(episodes, name):
    from agents.registry import make_agent

    sim = RaycastSimulator(SMALL)
    agent = make_agent(name)
    row = run_episode(sim, agent, episodes[2], max_steps=60)
    assert "skipped" not in row and 1 <= row["steps"] <= 60
    assert 0.0 <= row["spl"] <= row["success"] <= 1.0 and row["path_length_m"] >= 0
    if name == "random":
        assert row["success"] == 0.0 and row["steps"] == 60  # never stops


def test_cow_oracle_reaches_a_visible_goal(episodes):
    """Episode 2 starts 1.5 m from a potted plant: CoW + oracle must find it and stop in the region."""
    from agents.registry import make_agent

    sim = RaycastSimulator(SMALL)
    row = run_episode(sim, make_agent("cow"), episodes[2], max_steps=200)
    assert row["success"] == 1.0 and row["distance_to_goal_m"] == 0.0 and row["spl"] > 0.3


def test_cow_forgets_a_goal_it_can_neither_confirm_nor_refute(episodes):
    """One detection of the plant, never again, and misses that cost nothing: the agent goes to it and
    looks again ``verify_steps`` times (short of STOP's 3.0), then forgets it instead of looking forever."""
    from agents.cow import CowAgent, CowConfig
    from embodied.localization import Localization

    oracle, seen = OracleLocalizer(), []

    def once(obs, goal):
        loc = oracle(obs, goal)
        if loc.found and not seen:
            seen.append(True)
            return loc
        return Localization(np.zeros_like(loc.relevance), False)

    agent = CowAgent(CowConfig(localizer="patch", goal_miss_logodds=0.0, verify_steps=4, spin=False), once)
    phases = []
    row = run_episode(RaycastSimulator(SMALL), agent, episodes[2], max_steps=80,
                      on_step=lambda obs, action, ag: phases.append(ag._phase))
    assert seen and phases.count("verify") == 4 and row["steps"] == 80  # four looks, no STOP, no endless looking
    lo = agent.map.goal_logodds  # forgotten: two new detections are needed to bring it back
    assert not agent._goal_cells().any() and lo.max() == 0.0 and lo.min() == -agent.config.goal_hit_logodds


def test_cow_needs_depth_and_pose(episodes):
    from agents.cow import CowAgent, CowConfig

    sim = RaycastSimulator(SMALL)
    obs = sim.reset(episodes[0])
    agent = CowAgent(CowConfig(), OracleLocalizer())
    agent.reset(episodes[0].goal_category)
    import dataclasses

    with pytest.raises(ObservationError, match="depth"):
        agent.act(dataclasses.replace(obs, depth=None))
    with pytest.raises(ObservationError, match="agent_pose"):
        agent.act(dataclasses.replace(obs, agent_pose=None))
    with pytest.raises(ConfigError, match="frontier"):
        CowConfig(frontier="best")
    with pytest.raises(ConfigError, match="scorer"):
        CowAgent(CowConfig(frontier="value"), OracleLocalizer())


def test_cow_odometry_tracks_the_true_pose(episodes):
    """Dead reckoning from its own actions (failed moves detected from depth) stays near the truth."""
    from agents.cow import CowAgent, CowConfig

    sim = RaycastSimulator(SMALL)
    obs = sim.reset(episodes[1])
    agent = CowAgent(CowConfig(pose_source="odometry"), OracleLocalizer())
    agent.reset(episodes[1].goal_category)
    start = np.array(obs.agent_pose.position_m[:2])
    yaw0 = obs.agent_pose.yaw_rad
    for _ in range(40):
        a = agent.act(obs)
        if a is Action.STOP:
            break
        obs = sim.step(a).observation
    true = np.array(obs.agent_pose.position_m[:2]) - start
    c, s = np.cos(-yaw0), np.sin(-yaw0)
    true_local = np.array([c * true[0] - s * true[1], s * true[0] + c * true[1]])
    assert np.linalg.norm(agent._odom[:2] - true_local) < 0.3


def test_localizers_shapes_and_decisions(tiny_clip, episodes):
    sim = RaycastSimulator(SMALL)
    # a frame from a start pose with its goal in view and furniture (depth segments) to cut out
    views = []
    for ep in episodes:
        obs = sim.reset(ep)
        for _ in range(12):
            if OracleLocalizer()(obs, ep.goal_category).found:
                segs = depth_segments(obs.depth, obs.intrinsics.K, obs.T_world_cam, 0.0)
                views.append(((segs > 0).mean(), ep.episode_id, obs, ep.goal_category))
            obs = sim.step(Action.TURN_LEFT).observation
    _, _, obs, goal = max(views, key=lambda v: v[:2])
    oracle = OracleLocalizer()(obs, goal)
    assert oracle.found and oracle.relevance.shape == (72, 96) and set(np.unique(oracle.relevance)) <= {0.0, 1.0}
    centred = OracleLocalizer(center=True)(obs, goal)
    assert centred.relevance.sum() == 1.0
    assert not OracleLocalizer()(obs, "bathtub").found
    for loc in (ClipPatchLocalizer(tiny_clip, threshold=0.0), ClipRefLocalizer(tiny_clip, threshold=0.0),
                ClipGradLocalizer(tiny_clip, threshold=0.0), DenseClipLocalizer(tiny_clip, threshold=0.0)):
        out = loc(obs, "chair")
        assert out.relevance.shape == (72, 96) and out.relevance.dtype == np.float32
        assert 0.0 <= out.relevance.min() and out.relevance.max() <= 1.0 and np.isfinite(out.score)
    strict = ClipPatchLocalizer(tiny_clip, threshold=1.0)(obs, "chair")
    assert not strict.found and not strict.relevance.any()  # a softmax never exceeds 1
    loose = ClipPatchLocalizer(tiny_clip, threshold=0.0)(obs, "chair")
    assert loose.found and (loose.relevance > 0).mean() == 1.0  # every patch passes a 0 threshold
    # with a vocabulary, a patch's relevance is P(goal | patch) over goal + vocabulary + background words
    vocab = ClipPatchLocalizer(tiny_clip, vocabulary=["chair", "bed"], threshold=0.0)
    assert vocab.vocabulary[:2] == ("chair", "bed") and "wall" in vocab.vocabulary
    emb = tiny_clip.encode_images([obs.rgb[:24, :32]])
    words = ["chair"] + [w for w in vocab.vocabulary if w != "chair"]
    logits = tiny_clip.logit_scale * (emb @ tiny_clip.text_classifier(words, "short").T)[0]
    expect = np.exp(logits[0] - logits.max()) / np.exp(logits - logits.max()).sum()
    out = vocab(obs, "chair")
    assert out.found and out.relevance[0, 0] == pytest.approx(expect, rel=1e-4)
    refined = ClipPatchLocalizer(tiny_clip, vocabulary=["chair"], refine=True, threshold=0.0)(obs, "chair")
    assert refined.found and 0 < (refined.relevance > 0).mean() < 1.0  # one depth segment, not whole patches
    with pytest.raises(ConfigError, match="need a vocabulary"):
        ClipPatchLocalizer(tiny_clip, refine=True)
    with pytest.raises(ConfigError, match="unknown localizer"):
        make_localizer("mdetr", tiny_clip)
    with pytest.raises(ConfigError, match="needs a CLIP backbone"):
        make_localizer("patch")


def test_segment_proposals_mark_whole_depth_segments(tiny_clip):
    from embodied import geometry
    from embodied.localization import depth_segments, segment_crop
    from embodied.types import AgentPose, CameraIntrinsics, Observation

    K = CameraIntrinsics.from_hfov(64, 48, 90.0)
    T = geometry.camera_pose(np.array([0.0, 0.0, 0.9]), 0.0)
    depth = np.full((48, 64), 3.0, np.float32)
    depth[10:30, 20:40] = 1.5  # a box 1.5 m in front of a wall 3 m away (structure: no proposal)
    depth[12:28, 46:60] = 2.2  # and another one
    rgb = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    obs = Observation(rgb=rgb, depth=depth, intrinsics=K, T_world_cam=T,
                      agent_pose=AgentPose(position_m=(0.0, 0.0, 0.0), yaw_rad=0.0))
    box = np.zeros((48, 64), bool)
    box[10:30, 20:40] = True
    crop = segment_crop(rgb, box)  # the box padded by an eighth (2 px) on each side
    assert np.array_equal(crop, rgb[8:32, 18:42])
    loc = ClipPatchLocalizer(tiny_clip, vocabulary=["chair", "bed"], proposals="segments", threshold=0.0)
    assert loc.kind == "patch_segments"
    out = loc(obs, "chair")
    segs = depth_segments(depth, K.K, T, 0.0)
    ids = [i for i in np.unique(segs) if i > 0 and (segs == i).sum() >= loc.min_segment_frac * 48 * 64]
    assert len(ids) == 2 and out.found and segs[0, 0] == 0
    for i in ids:  # every segment carries its own P(goal | crop), constant over the segment
        m = segs == i
        emb = tiny_clip.encode_images([segment_crop(rgb, m)])
        words = ["chair"] + [w for w in loc.vocabulary if w != "chair"]
        logits = tiny_clip.logit_scale * (emb @ tiny_clip.text_classifier(words, "short").T)[0]
        expect = np.exp(logits[0] - logits.max()) / np.exp(logits - logits.max()).sum()
        assert np.allclose(out.relevance[m], expect, rtol=1e-4)
    assert out.score == pytest.approx(float(tiny_clip.encode_images([rgb])[0] @ loc._text("chair")), rel=1e-4)
    strict = ClipPatchLocalizer(tiny_clip, vocabulary=["chair"], proposals="segments", threshold=1.0)(obs, "chair")
    assert not strict.found and not strict.relevance.any()
    with pytest.raises(ConfigError, match="need a vocabulary"):
        ClipPatchLocalizer(tiny_clip, proposals="segments")
    with pytest.raises(ConfigError, match="'grid' or 'segments'"):
        ClipPatchLocalizer(tiny_clip, vocabulary=["chair"], proposals="boxes")
    with pytest.raises(ConfigError, match="needs depth"):
        loc(Observation(rgb=rgb, intrinsics=K, T_world_cam=T), "chair")
    from agents.cow.config import CowConfig

    assert CowConfig(localizer="patch", vocabulary=["chair"], proposals="segments").proposals == "segments"
    with pytest.raises(ConfigError, match="CowConfig.proposals must be one of"):
        CowConfig(proposals="boxes")


def _nav(tmp_path, *extra):
    return CliRunner().invoke(cli, ["nav", "-n", "2", "--workers", "1", "--width", "64", "--height", "48",
                                    "--max-steps", "40", "--out", str(tmp_path), *extra])


def test_nav_runner_resume_and_same_seed_same_metrics(tmp_path):
    res = _nav(tmp_path / "a")
    assert res.exit_code == 0, res.output
    rows = [json.loads(x) for x in (tmp_path / "a" / "results.jsonl").read_text().splitlines()]
    assert len(rows) == 2 and (tmp_path / "a" / "summary.md").exists()
    assert (tmp_path / "a" / "maps" / f"{rows[0]['episode_id']}.png").exists()
    # interrupted run: drop the last row (as if killed mid-episode), rerun: only that episode reruns
    lines = (tmp_path / "a" / "results.jsonl").read_text().splitlines()
    (tmp_path / "a" / "results.jsonl").write_text(lines[0] + "\n" + lines[1][:20])  # a torn line
    res = _nav(tmp_path / "a")
    assert res.exit_code == 0 and "(1 already done)" in res.output
    from embodied.runs import ResultsLog

    again = ResultsLog(tmp_path / "a" / "results.jsonl").rows()
    assert sorted(r["episode_id"] for r in again) == sorted(r["episode_id"] for r in rows)
    # same seed, fresh folder: identical metrics
    assert _nav(tmp_path / "b").exit_code == 0
    other = [json.loads(x) for x in (tmp_path / "b" / "results.jsonl").read_text().splitlines()]
    strip = lambda r: {k: v for k, v in r.items() if "seconds" not in k}  # noqa: E731
    assert sorted(map(json.dumps, map(strip, rows))) == sorted(map(json.dumps, map(strip, other)))
    summary = json.loads((tmp_path / "b" / "summary.json").read_text())
    assert summary["header"]["weights"].startswith("none") and summary["overall"]["episodes"] == 2
    # a different configuration in the same folder is refused
    res = _nav(tmp_path / "b", "--agent", "random")
    assert res.exit_code == 2 and "different configuration" in res.output
    # the header's command reproduces the run: rerunning it in a new folder gives the same rows
    cmd = summary["header"]["command"]
    assert cmd.startswith("embodied nav ") and "--max-steps 40" in cmd and "--out" not in cmd
    res = CliRunner().invoke(cli, [*shlex.split(cmd)[1:], "--workers", "1", "--out", str(tmp_path / "c")])
    assert res.exit_code == 0, res.output
    third = [json.loads(x) for x in (tmp_path / "c" / "results.jsonl").read_text().splitlines()]
    assert sorted(map(json.dumps, map(strip, third))) == sorted(map(json.dumps, map(strip, other)))


def test_nav_report_table_and_readme(tmp_path):
    assert _nav(tmp_path / "cow").exit_code == 0
    assert _nav(tmp_path / "rnd", "--agent", "random").exit_code == 0
    readme = tmp_path / "README.md"
    readme.write_text("# t\n<!-- nav-results:start -->\nold\n<!-- nav-results:end -->\ntail\n")
    res = CliRunner().invoke(cli, ["report", str(tmp_path / "cow"), str(tmp_path / "rnd"), "--readme", str(readme)])
    assert res.exit_code == 0, res.output
    text = readme.read_text()
    assert "old" not in text and text.endswith("<!-- nav-results:end -->\ntail\n")
    rows = [line for line in text.splitlines() if line.startswith("| cow") or line.startswith("| random")]
    assert len(rows) == 2
    for row, run in zip(rows, ("cow", "rnd")):
        overall = json.loads((tmp_path / run / "summary.json").read_text())["overall"]
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert float(cells[8]) == pytest.approx(overall["success"], abs=5e-4)
        assert float(cells[9]) == pytest.approx(overall["spl"], abs=5e-4)
        assert cells[4] == "distance (visible view points)" and cells[5] == "toolkit defaults", cells
    assert "1. `embodied nav" in text and "2. `embodied nav" in text and "--agent random" in text
    res = CliRunner().invoke(cli, ["report", str(tmp_path)])
    assert res.exit_code == 2 and "no summary.json" in res.output
    # a second marked table in the same file
    readme.write_text(text + "<!-- cow-results:start -->\n<!-- cow-results:end -->\n")
    res = CliRunner().invoke(cli, ["report", str(tmp_path / "rnd"), "--readme", str(readme), "--section", "cow-results"])
    assert res.exit_code == 0, res.output
    assert readme.read_text().startswith(text) and readme.read_text().count("| random |") == 2


def test_nav_cow_overrides(tmp_path):
    res = _nav(tmp_path / "a", "--cow", "clearance_m=0.5", "--cow", "spin=false", "-n", "1")
    assert res.exit_code == 0, res.output
    cow = json.loads((tmp_path / "a" / "config.json").read_text())["config"]["agent_config"]
    assert cow["type"] == "CowConfig" and cow["clearance_m"] == 0.5 and cow["spin"] is False
    res = _nav(tmp_path / "b", "--cow", "clearence_m=0.5")
    assert res.exit_code == 2 and "did you mean 'clearance_m'" in res.output
    res = _nav(tmp_path / "c", "--cow", "clearance_m")
    assert res.exit_code == 2 and "KEY=VALUE" in res.output
    res = _nav(tmp_path / "d", "--cow", "clearance_m=0.1")  # inside the inflation radius
    assert res.exit_code == 2 and "squeeze_m <= agent_radius_m < clearance_m" in res.output


def test_nav_bad_inputs(tmp_path, episodes):
    from embodied.runs import ResultsLog
    from embodied.tasks import write_episodes

    path = write_episodes(tmp_path / "eps.jsonl", episodes[:1])
    with open(path, "a") as f:
        f.write("{broken\n")
    res = _nav(tmp_path / "c", "--episode-file", str(path))
    assert res.exit_code == 0, res.output
    assert "1 of 2 episodes failed" in res.output
    summary = json.loads((tmp_path / "c" / "summary.json").read_text())
    rows = {r["id"]: r for r in ResultsLog(tmp_path / "c" / "results.jsonl").rows()}
    ok = rows[episodes[0].episode_id]
    # the bad line is a failed episode: in the denominator, with Success 0 and SPL 0
    assert summary["overall"]["episodes"] == 2 and summary["overall"]["failed"] == 1
    assert summary["overall"]["success"] == pytest.approx(ok["success"] / 2, abs=1e-9)
    assert summary["overall"]["spl"] == pytest.approx(ok["spl"] / 2, abs=1e-9)
    assert len(summary["failed"]) == 1 and "eps.jsonl:2" in summary["failed"][0]["reason"]
    # every episode bad: the command fails
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"episode_id": "x", "scene_id": "house-800", "goal_category": "unicorn"}\n{broken\n')
    res = _nav(tmp_path / "g", "--episode-file", str(bad))
    assert res.exit_code == 2 and "all 2 episodes failed" in res.output, res.output
    res = _nav(tmp_path / "d", "--localizer", "owl")
    assert res.exit_code == 2 and "owl" in res.output
    res = _nav(tmp_path / "e", "--sim", "habitat")
    assert res.exit_code == 2 and ("not usable" in res.output or "episode-file" in res.output)
    res = _nav(tmp_path / "f", "--localizer", "patch", "--clip-model", "ViT-B-32", "--clip-checkpoint",
               str(tmp_path / "missing.pt"))
    assert res.exit_code == 2 and "not found" in res.output


def test_clip_grad_forward_matches_open_clip_and_relevance_is_a_map(tiny_clip):
    import torch

    rgb = np.random.default_rng(0).integers(0, 256, (2, 64, 80, 3), dtype=np.uint8)
    x = tiny_clip.preprocess(rgb)
    with torch.no_grad():
        ours, attns = vit_attention_forward(tiny_clip, x)
        ref = tiny_clip.model.encode_image(x)
    torch.testing.assert_close(ours, ref, atol=1e-5, rtol=1e-5)  # the explicit attention is the model's
    assert len(attns) == 2 and attns[0].shape == (2, 2, 65, 65)
    torch.testing.assert_close(attns[0].sum(-1), torch.ones(2, 2, 65), atol=1e-5, rtol=0)
    grid, score = ClipGradLocalizer(tiny_clip, threshold=0.5).relevance_grid(rgb[0], "a chair")
    assert grid.shape == (8, 8) and grid.min() == 0.0 and grid.max() == 1.0 and np.isfinite(score)
    assert all(p.grad is None for p in tiny_clip.model.parameters())  # no gradients left behind


def test_nav_preset_runs_cows_own_setup_and_says_so(tmp_path):
    from agents.cow import COW_PRESETS, cow_preset

    res = _nav(tmp_path / "p", "--preset", "cow-habitat", "--localizer", "oracle", "-n", "1")
    assert res.exit_code == 0, res.output
    record = json.loads((tmp_path / "p" / "config.json").read_text())["config"]
    cow = record["agent_config"]
    # CoW's agent (real-stanford/cow src/simulation/constants.py, src/models/agent_fbe.py)
    assert cow["pose_source"] == "odometry" and cow["spin_turns"] == 9 and cow["stop_distance_m"] == 1.0
    assert cow["map_resolution_m"] == 0.125 and cow["max_obstacle_height_m"] == 1.9 and cow["proposals"] == "grid"
    assert cow["localizer"] == "oracle"  # an explicit option wins over the preset
    assert record["sim_config"]["width"] == 64 and record["sim_config"]["hfov_deg"] == 90.0  # --width wins; FOV 90
    assert record["max_steps"] == 40  # --max-steps given; the preset's is 250
    header = json.loads((tmp_path / "p" / "summary.json").read_text())["header"]
    assert header["setup"].startswith("preset cow-habitat") and "preset cow-habitat" in (tmp_path / "p" / "summary.md").read_text()
    assert "--localizer oracle" in header["command"]  # typed, though the default: the preset's would differ
    assert cow_preset("cow-robothor").simulator["thor"] == {"agent_mode": "locobot", "visibility_distance_m": 1.0}
    assert set(COW_PRESETS) == {"cow-habitat", "cow-robothor"} and COW_PRESETS["cow-habitat"].max_steps == 250
    plain = _nav(tmp_path / "d", "-n", "1")
    assert plain.exit_code == 0
    assert json.loads((tmp_path / "d" / "summary.json").read_text())["header"]["setup"].startswith("toolkit defaults")


def test_cow_spin_turns():
    """CoW spins (360 - FOV) / turn = 9 times before exploring; the toolkit's default turns a full 360."""
    from agents.cow import CowAgent, CowConfig
    from embodied.localization import OracleLocalizer

    sim = RaycastSimulator(SMALL)
    episodes = generate_episodes("val", 1, sim_config=SMALL)
    for turns, expected in ((9, 9), (None, 12)):
        agent = CowAgent(CowConfig(spin_turns=turns), OracleLocalizer())
        agent.reset("unicorn")  # nothing to find: the spin runs to its end
        obs = sim.reset(episodes[0])
        phases = []
        for _ in range(expected + 1):
            a = agent.act(obs)
            phases.append((a, agent.debug()["phase"]))
            obs = sim.step(a).observation
        assert phases[:expected] == [(Action.TURN_LEFT, "spin")] * expected, phases
        assert phases[expected][1] != "spin"  # the spin ended after exactly `expected` turns


def test_preset_takes_cows_threshold_only_for_cows_rules_and_weights(tmp_path):
    """CoW's hparams/habitat.json: CLIP-Patch on OpenAI's ViT-B/32 0.91 (hparams/robo.json: 0.875, Ref
    0.25); other weights, a vocabulary or a backbone CoW never ran keep the toolkit's, and say so."""
    from agents.cow import CowConfig, cow_preset, preset_threshold
    from embodied.clip import ClipConfig

    habitat, robothor = cow_preset("cow-habitat"), cow_preset("cow-robothor")
    openai = ClipConfig(model="ViT-B-32", pretrained="openai")
    grid = CowConfig(localizer="patch", vocabulary=())
    assert preset_threshold(habitat, grid, openai)[0] == 0.91 and preset_threshold(robothor, grid, openai)[0] == 0.875
    assert preset_threshold(robothor, CowConfig(localizer="ref"), openai)[0] == 0.25
    assert preset_threshold(habitat, CowConfig(localizer="grad"), openai)[0] == 0.375
    assert preset_threshold(robothor, CowConfig(localizer="owl"), None)[0] == 0.125  # google/owlvit-base-patch32
    laion = ClipConfig(model="ViT-B-32")  # the default tag is LAION's
    t, note = preset_threshold(habitat, grid, laion)
    assert t is None and "OpenAI's weights" in note
    t, note = preset_threshold(habitat, CowConfig(localizer="patch", vocabulary=("chair",)), openai)
    assert t is None and "vocabulary" in note
    t, note = preset_threshold(habitat, CowConfig(localizer="ref"), openai)  # habitat.json has no "lang" entry
    assert t is None and "CoW publishes none" in note
    # through the command line: the note lands in the summary, the threshold in the run's config
    res = _nav(tmp_path / "tiny", "--preset", "cow-robothor", "--clip-model", "embodied-tiny", "--clip-random-init",
               "-n", "1", "--max-steps", "2")
    assert res.exit_code == 0, res.output
    cfg = json.loads((tmp_path / "tiny" / "config.json").read_text())["config"]["agent_config"]
    assert cfg["localizer"] == "patch" and cfg["vocabulary"] == [] and cfg["localizer_threshold"] is None
    header = json.loads((tmp_path / "tiny" / "summary.json").read_text())["header"]
    assert "OpenAI's weights" in header["threshold"] and header["proposals"].startswith("grid")
