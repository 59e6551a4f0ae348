"""ObjectNav episodes on built-in houses, with fixed splits of house seeds.

Splits: train = houses 0-799, val = 800-899, test = 900-999 (disjoint, never reshuffled). An
episode starts at a random navigable pose from which at least one instance of its goal category
is reachable, at least ``min_distance_m`` (geodesic) from the goal's view points.

Scanned scenes (a mesh file with semantics, :mod:`sims.raycast.scan`) get episodes the same way from
:func:`generate_scan_episodes`, over every storey: start heights are the storeys' floors.
"""

from __future__ import annotations

import math
import os

import numpy as np
from tqdm.auto import tqdm

from embodied.errors import ConfigError
from embodied.tasks import ObjectNavEpisode
from sims.raycast.categories import OBJECTNAV_GOALS, category_spec
from sims.raycast.house import HouseConfig, house_scene_id
from sims.raycast.simulator import RaycastSimulator, SimConfig

__all__ = ["SPLITS", "split_house_seeds", "generate_episodes", "generate_scan_episodes"]

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
        fields = _start_fields(sim, goals, min_distance_m, max_distance_m)
        if not fields:
            continue
        for _ in range(min(episodes_per_house, n_episodes - len(episodes))):
            episodes.append(_draw(sim, fields, rng, f"{split}-{len(episodes):05d}", house_scene_id(house), split,
                                  {"house_seed": int(house)}))
            bar.update(1)
    bar.close()
    sim.close()
    return episodes


def _start_fields(sim: RaycastSimulator, goals, min_distance_m: float, max_distance_m: float) -> dict:
    """goal -> (distance field, (K, 2) start cells) on the agent's storey, for the goals with starts."""
    comp = sim.nav.largest_component()
    fields = {}
    for g in goals:
        if sim.scene.objects_of(g):
            f = sim.nav.distance_field(sim.goal_mask(g))
            ok = comp & np.isfinite(f) & (f >= min_distance_m) & (f <= max_distance_m)
            if ok.any():
                fields[g] = (f, np.argwhere(ok))
    return fields


def _draw(sim: RaycastSimulator, fields: dict, rng: np.random.Generator, episode_id: str, scene_id: str, split: str,
          extras: dict) -> ObjectNavEpisode:
    """One episode: a goal among ``fields``, then a start cell and a heading."""
    goal = sorted(fields)[int(rng.integers(len(fields)))]
    f, cells = fields[goal]
    r, c = cells[int(rng.integers(len(cells)))]
    x, y = sim.nav.cell_center(int(r), int(c))
    return ObjectNavEpisode(
        episode_id=episode_id, scene_id=scene_id,
        start_position_m=(round(float(x), 4), round(float(y), 4), round(sim.floor_z_m, 4)),
        start_yaw_rad=round(float(rng.uniform(-math.pi, math.pi)), 6), goal_category=goal,
        geodesic_distance_m=round(float(f[r, c]), 4), split=split, extras=extras)


def generate_scan_episodes(scene_path: str, n_episodes: int, *, seed: int = 0, goals: tuple[str, ...] | None = None,
                           min_distance_m: float = 1.0, max_distance_m: float = 30.0,
                           sim_config: SimConfig = SimConfig(), split: str = "",
                           progress: bool = False) -> list[ObjectNavEpisode]:
    """Deterministic ObjectNav episodes on one scanned scene (a mesh file with semantics).

    Args:
        goals: categories to find (default: the ObjectNav goals the scene holds, else all its categories).
    Raises:
        ConfigError: the scene has none of ``goals`` (the message lists what it has), or no start of a
            reachable goal lies within [min_distance_m, max_distance_m].
    """
    if n_episodes < 0:
        raise ConfigError("n_episodes must be >= 0")
    scene_path = os.path.realpath(scene_path)  # episode files are read from anywhere
    sim = RaycastSimulator(sim_config)
    try:
        sim._ensure_scene(scene_path)
        scene = sim.scene
        have = scene.categories
        if goals is None:
            goals = tuple(g for g in OBJECTNAV_GOALS if g in have) or tuple(have)
        missing = [g for g in goals if g not in have]
        if not goals or len(missing) == len(goals):
            raise ConfigError(f"{scene_path}: no goal category to make episodes of (asked for "
                              f"{', '.join(goals) or 'the ObjectNav goals'}); the scene has: "
                              f"{', '.join(have) or 'no labelled objects (give it semantics: see sims/raycast/scan.py)'}")
        per_storey = []
        for i in range(len(sim.floors_m)):
            try:
                sim.select_storey(i)
            except ConfigError:  # a storey without navigable floor (a crawl space, a mezzanine too low)
                continue
            fields = _start_fields(sim, goals, min_distance_m, max_distance_m)
            if fields:
                per_storey.append((i, fields))
        if not per_storey:
            raise ConfigError(f"{scene_path}: no navigable start within {min_distance_m}-{max_distance_m} m of a "
                              f"reachable {' / '.join(goals)}")
        rng = np.random.default_rng(seed)
        episodes = []
        for k in tqdm(range(n_episodes), desc=f"{scene.scene_id} episodes", disable=not progress):
            storey, fields = per_storey[int(rng.integers(len(per_storey)))]
            sim.select_storey(storey)
            episodes.append(_draw(sim, fields, rng, f"{scene.scene_id}-{k:05d}", scene_path, split,
                                  {"storey": storey}))
        return episodes
    finally:
        sim.close()
