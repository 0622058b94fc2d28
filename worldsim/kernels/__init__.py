"""Numba kernels, one module per domain. Each kernel is small, pure (it only reads and writes the arrays
it is given, draws no random numbers and never raises) and takes columns of the entity table.

Callers check shapes and dtypes before calling; the columns of ``EntityTable`` have fixed dtypes.
"""

from .movement import integrate_positions, select_arrived, steer_wanderers

__all__ = ["integrate_positions", "select_arrived", "steer_wanderers"]
