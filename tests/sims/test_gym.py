import numpy as np
import pytest

gym = pytest.importorskip("gymnasium")

from embodied.errors import ConfigError  # noqa: E402
from embodied.tasks import ObjectNavEpisode  # noqa: E402
from sims.raycast.episodes import generate_episodes  # noqa: E402
from sims.raycast.simulator import RaycastSimulator, SimConfig  # noqa: E402


@pytest.fixture(scope="module")
def small():
    cfg = SimConfig(width=32, height=24)
    return cfg, generate_episodes("val", 3, sim_config=cfg)


def test_check_env_passes(small):
    from gymnasium.utils.env_checker import check_env

    from sims.gym import ObjectNavEnv

    cfg, eps = small
    env = ObjectNavEnv(RaycastSimulator(cfg), eps)
    check_env(env, skip_render_check=True)


def test_rewards_success_and_truncation(small):
    from sims.gym import ACTIONS, ObjectNavEnv
    from embodied.types import Action

    cfg, eps = small
    sim = RaycastSimulator(cfg)
    env = ObjectNavEnv(sim, eps, max_steps=4)
    obs, info = env.reset(seed=0, options={"episode_index": 0})
    assert obs["rgb"].shape == (24, 32, 3) and obs["goal"] == env.goals.index(eps[0].goal_category)
    np.testing.assert_allclose(obs["gps"], 0.0)
    np.testing.assert_allclose(obs["compass"], 0.0, atol=1e-6)
    d0 = info["distance_to_goal"]
    _, r, term, trunc, info = env.step(ACTIONS.index(Action.MOVE_FORWARD))
    assert r == pytest.approx(d0 - info["distance_to_goal"]) and not term and not trunc
    for _ in range(3):
        *_, term, trunc, _ = env.step(ACTIONS.index(Action.TURN_LEFT))
    assert trunc and not term
    # teleport onto a goal view point, then STOP: success and the bonus
    env.reset(seed=0, options={"episode_index": 0})
    goal_cells = np.argwhere(sim.goal_mask(eps[0].goal_category))
    sim._pos = sim.nav.cell_center(*goal_cells[0])
    _, r, term, _, info = env.step(ACTIONS.index(Action.STOP))
    assert term and info["success"] and r >= 2.5


def test_registered_and_bad_goals(small):
    import sims.gym  # noqa: F401
    from sims.gym import ENV_ID, ObjectNavEnv

    assert ENV_ID in gym.registry
    cfg, eps = small
    bad = [ObjectNavEpisode(episode_id="x", scene_id=eps[0].scene_id, start_position_m=eps[0].start_position_m,
                            start_yaw_rad=0.0, goal_category="mug")]
    with pytest.raises(ConfigError, match="not in the goal vocabulary"):
        ObjectNavEnv(RaycastSimulator(cfg), bad)


def test_gps_is_forward_right_of_the_start_as_in_habitat(small):
    """habitat-lab's EpisodicGPSSensor is [-z, x] in the start frame (-Z forward, +X right) =
    [forward, right]; the compass is counter-clockwise positive. Hand case: start facing +y (yaw 90
    deg); the agent 1 m along world +x (to its right) and 0.5 m along +y (ahead), facing +x."""
    import math

    from sims.gym import ObjectNavEnv

    cfg, eps = small
    sim = RaycastSimulator(cfg)
    env = ObjectNavEnv(sim, eps)
    env.reset(seed=0, options={"episode_index": 0})
    start = np.array(eps[0].start_position_m)
    env._episode = ObjectNavEpisode(**{**eps[0].to_dict(), "start_yaw_rad": math.pi / 2})
    free = [(dx, dy) for dx, dy in ((1.0, 0.5), (-0.5, 0.25), (0.25, -0.5), (0.5, 1.0)) if sim.nav.is_navigable(start[:2] + (dx, dy))]
    dx, dy = free[0]  # some offset off both axes is free around a start pose
    target = start[:2] + (dx, dy)
    obs = env._convert(sim.teleport(np.r_[target, 0.0], 0.0))
    np.testing.assert_allclose(obs["gps"], [dy, dx], atol=1e-5)  # forward = +y offset, right = +x offset
    np.testing.assert_allclose(obs["compass"], [-math.pi / 2], atol=1e-6)  # turned 90 deg clockwise
