"""Structure from Action inference: parts and joints of an articulated object from its own interactions.

Simulator-free: it sees calibrated RGB-D views, and the interactions it chose, nothing else.
"""
