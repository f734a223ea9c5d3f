"""The tensor core: array-level functions (torch) shared by everything that trains.

No ``Network``, no state, no I/O: the SNN training backend, and the reference models
to come, build on these.
"""

from snnsim.core.capsules import margin_loss, route, squash
from snnsim.core.memory import (embedding_bag, masked_softmax, memory_attention, position_encoding,
                                 temporal_encoding)
from snnsim.core.neurons import Coefficients, Dynamics, State, lif_step
from snnsim.core.sequence import lif_sequence
from snnsim.core.surrogate import SURROGATES, derivative, smooth, spike

__all__ = ["Coefficients", "Dynamics", "State", "lif_step", "lif_sequence",
           "SURROGATES", "spike", "smooth", "derivative",
           "embedding_bag", "position_encoding", "temporal_encoding", "masked_softmax", "memory_attention",
           "squash", "route", "margin_loss"]
