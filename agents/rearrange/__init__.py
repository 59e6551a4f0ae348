"""The scene-graph rearrangement agent: two graphs, their diff, and navigate / pick / navigate / place."""

from agents.rearrange.agent import RearrangeAgent, RearrangeAgentConfig

__all__ = ["RearrangeAgent", "RearrangeAgentConfig"]
