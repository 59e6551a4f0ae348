"""Baselines: a random walker (the floor of every table)."""

from __future__ import annotations

import numpy as np

from embodied.types import Action, Observation

__all__ = ["RandomAgent"]


class RandomAgent:
    """Moves forward with probability ``p_forward``, else turns; never calls STOP (so it can only
    fail), as habitat-lab's random baseline does without its oracle stop."""

    def __init__(self, seed: int = 0, p_forward: float = 0.6) -> None:
        self.seed, self.p_forward = seed, p_forward
        self._rng = np.random.default_rng(seed)

    def reset(self, goal: str) -> None:
        self._rng = np.random.default_rng([self.seed, sum(map(ord, goal))])

    def act(self, observation: Observation) -> Action:
        r = self._rng.random()
        if r < self.p_forward:
            return Action.MOVE_FORWARD
        return Action.TURN_LEFT if r < (1 + self.p_forward) / 2 else Action.TURN_RIGHT

    def debug(self) -> dict:
        return {}
