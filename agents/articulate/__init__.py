"""Structure-from-Action interaction policies: the SfA agent and a random baseline."""

from agents.articulate.agent import RandomInteractionAgent, SfaAgent, SfaAgentConfig, handle_scores

__all__ = ["SfaAgent", "SfaAgentConfig", "RandomInteractionAgent", "handle_scores"]
