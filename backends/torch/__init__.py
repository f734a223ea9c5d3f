"""The PyTorch engine: ``TorchNetwork`` (the trainable module, CPU or CUDA) and ``Simulator``, its
forward pass as a simulation engine. See :mod:`.network` and :mod:`.engine`."""

from .engine import CAPABILITIES, NAME, Simulator
from .network import DTYPES, Outputs, TorchNetwork

__all__ = ["NAME", "CAPABILITIES", "Simulator", "TorchNetwork", "Outputs", "DTYPES"]
