"""snnsim: spiking neural networks from Python, on fast and neuromorphic back-ends.

The public API is what this module exports (``__all__``).
"""

from snnsim.connectivity import (AllToAll, Dense, FixedInDegree, FixedOutDegree, FixedProbability, FixedTotalNumber,
                                 OneToOne, Sparse, SparseMatrix)
from snnsim.distributions import Normal, Uniform
from snnsim.errors import FileFormatError, NetworkError, SnnsimError
from snnsim.models import IF, LI, LIF, CobaLIF, CubaLIF
from snnsim.network import Network
from snnsim.results import Results, SpikeTrains, Trace
from snnsim.simulate import load_simulator, simulate, simulator

__version__ = "0.1.0"

__all__ = [
    "Network", "simulate", "simulator", "load_simulator", "Results", "SpikeTrains", "Trace",
    "LIF", "CubaLIF", "LI", "IF", "CobaLIF",
    "FixedProbability", "FixedInDegree", "FixedOutDegree", "FixedTotalNumber", "OneToOne", "AllToAll", "Dense", "Sparse", "SparseMatrix",
    "Uniform", "Normal",
    "SnnsimError", "NetworkError", "FileFormatError",
    "__version__",
]
