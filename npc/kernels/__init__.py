"""Numba kernels of the NPC system, one module per domain. Each kernel is small and pure: it reads and writes
only the arrays it is given, draws no random numbers and never raises. Callers check shapes and dtypes first
(``npc.curves.UtilityBrain`` does it for the utility kernel).
"""

from .utility import response, score_actions, score_actions_serial

__all__ = ["response", "score_actions", "score_actions_serial"]
