"""The time-driven CPU engine (Numba clock kernels, single thread). See :mod:`.engine`."""

from .engine import CAPABILITIES, NAME, Simulator

__all__ = ["NAME", "CAPABILITIES", "Simulator"]
