"""ObjectNav episodes on built-in houses, with fixed splits of house seeds.

Splits: train = houses 0-799, val = 800-899, test = 900-999 (disjoint, never reshuffled). An
episode starts at a random navigable pose from which at least one instance of its goal category
is reachable, at least ``min_distance_m`` (geodesic) from the goal's view points.
"""

from __future__ import annotations

import math

import numpy as np
from tqdm.auto import tqdm

from embodied.errors import ConfigError
from embodied.tasks import ObjectNavEpisode
from sims.raycast.categories import OBJECTNAV_GOALS, category_spec
from sims.raycast.house import HouseConfig, house_scene_id
from sims.raycast.simulator import RaycastSimulator, SimConfig

__all__ = ["SPLITS", "split_house_seeds", "generate_episodes"]

SPLITS: dict[str, range] = {"train": range(0, 800), "val": range(800, 900), "test": range(900, 1000)}


def split_house_seeds(split: str) -> range:
    if split not in SPLITS:
        raise ConfigError(f"unknown split '{split}'; choose from {sorted(SPLITS)}")
    return SPLITS[split]


def generate_episodes(split: str, n_episodes: int, *, seed: int = 0, goals: tuple[str, ...] = OBJECTNAV_GOALS,
                      episodes_per_house: int = 5, min_distance_m: float = 1.0, max_distance_m: float = 30.0,
                      sim_config: SimConfig = SimConfig(), house_config: HouseConfig = HouseConfig(),
                      progress: bool = False) -> list[ObjectNavEpisode]:
    """Deterministic ObjectNav episodes of ``split`` (same arguments, same episodes).

    Houses are taken in order from the split (``episodes_per_house`` episodes each); each episode
    draws a goal among ``goals`` present and reachable in that house, then a start pose.
    """
    for g in goals:
        category_spec(g)  # unknown goal categories fail here, with suggestions
    if n_episodes < 0 or episodes_per_house < 1:
        raise ConfigError("n_episodes must be >= 0 and episodes_per_house >= 1")
    houses = split_house_seeds(split)
    rng = np.random.default_rng([seed, sorted(SPLITS).index(split)])
    sim = RaycastSimulator(sim_config, house_config=house_config)
    episodes: list[ObjectNavEpisode] = []
    bar = tqdm(total=n_episodes, desc=f"{split} episodes", disable=not progress)
    h = 0
    while len(episodes) < n_episodes:
        if h >= len(houses):
            raise ConfigError(f"split '{split}' ran out of houses after {len(episodes)} episodes; "
                              "raise episodes_per_house")
        house = houses[h]
        h += 1
        sim._ensure_scene(house_scene_id(house))
        comp = sim.nav.largest_component()
        fields = {}
        for g in goals:
            if sim.scene.objects_of(g):
                f = sim.nav.distance_field(sim.goal_mask(g))
                ok = comp & np.isfinite(f) & (f >= min_distance_m) & (f <= max_distance_m)
                if ok.any():
                    fields[g] = (f, np.argwhere(ok))
        if not fields:
            continue
        for _ in range(min(episodes_per_house, n_episodes - len(episodes))):
            goal = sorted(fields)[int(rng.integers(len(fields)))]
            f, cells = fields[goal]
            r, c = cells[int(rng.integers(len(cells)))]
            x, y = sim.nav.cell_center(int(r), int(c))
            episodes.append(ObjectNavEpisode(
                episode_id=f"{split}-{len(episodes):05d}", scene_id=house_scene_id(house),
                start_position_m=(round(float(x), 4), round(float(y), 4), 0.0),
                start_yaw_rad=round(float(rng.uniform(-math.pi, math.pi)), 6), goal_category=goal,
                geodesic_distance_m=round(float(f[r, c]), 4), split=split,
                extras={"house_seed": int(house)},
            ))
            bar.update(1)
    bar.close()
    sim.close()
    return episodes
