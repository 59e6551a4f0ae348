"""Building a scene graph along an exploration walk: any Simulator and any exploring Agent.

The agent is reset with no goal (``agent.reset(None)``): an agent whose localizer never fires (the
frontier baseline with the oracle localizer) then explores until it has nothing left to see and STOPs,
or the step budget runs out. Every frame goes into the graph (:func:`observe`) and, where the simulator
gives instance masks, into the ground truth the graph is scored against.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tqdm import tqdm

from embodied.scene_graph.graph import SceneGraph, SceneGraphConfig
from embodied.scene_graph.proposals import observe
from embodied.scene_graph.quality import GroundTruth
from embodied.types import Action, Agent, Observation, Simulator

__all__ = ["GraphWalk", "build_graph", "graph_from_observations"]


@dataclass
class GraphWalk:
    """The result of :func:`build_graph`: the graph, the ground truth seen, the steps and the proposals
    per frame."""

    graph: SceneGraph
    ground_truth: GroundTruth
    steps: int = 0
    proposals_per_frame: list[int] = field(default_factory=list)


def build_graph(sim: Simulator, agent: Agent, episode: Any, clip: Any, *, proposals: str = "oracle",
                max_steps: int = 250, config: SceneGraphConfig | None = None, min_pixels: int = 50,
                progress: bool = True, recording: Any = None) -> GraphWalk:
    """Walk ``episode``'s scene with ``agent`` for at most ``max_steps`` actions, building the graph.

    ``recording``: a :class:`~embodied.scene_graph.record.GraphRecording` that gets every frame.

    ``max_steps`` defaults to RoomR's walkthrough budget (250 steps).
    """
    walk = GraphWalk(SceneGraph(config or SceneGraphConfig()), GroundTruth())
    obs = sim.reset(episode)
    agent.reset(None)
    bar = tqdm(total=max_steps, desc="graph walk", unit="step", disable=not progress, leave=False)
    try:
        while True:
            walk.ground_truth.add(obs)
            ids = observe(walk.graph, obs, clip, proposals, min_pixels)
            walk.proposals_per_frame.append(len(ids))
            if recording is not None:
                recording.log(walk.graph, obs)
            bar.set_postfix(nodes=len(walk.graph.nodes), edges=len(walk.graph.edges))
            if walk.steps >= max_steps:
                break
            action = agent.act(obs)
            if action is Action.STOP:
                break
            obs = sim.step(action).observation
            walk.steps += 1
            bar.update(1)
    finally:
        bar.close()
    return walk


def graph_from_observations(observations: Iterable[Observation], clip: Any, *, proposals: str = "segments",
                            config: SceneGraphConfig | None = None, min_pixels: int = 50, progress: bool = True,
                            total: int | None = None, recording: Any = None) -> GraphWalk:
    """The graph of a recorded sequence (``datasets3d.sequences``, a robot's log): every observation
    goes in as it comes, nothing acts. Recordings have no instance masks, so ``proposals`` is normally
    "segments"; the ground truth is filled only where observations carry ``semantic``."""
    walk = GraphWalk(SceneGraph(config or SceneGraphConfig()), GroundTruth())
    for obs in tqdm(observations, total=total, desc="graph", unit="frame", disable=not progress, leave=False):
        if obs.semantic is not None:
            walk.ground_truth.add(obs)
        walk.proposals_per_frame.append(len(observe(walk.graph, obs, clip, proposals, min_pixels)))
        if recording is not None:
            recording.log(walk.graph, obs)
        walk.steps += 1
    return walk
