"""The event-driven engine: exact spike times in continuous time. See :mod:`.engine`."""

from .engine import CAPABILITIES, NAME, Simulator

__all__ = ["NAME", "CAPABILITIES", "Simulator"]
