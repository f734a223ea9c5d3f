"""Decoders: a population's outputs ``(T, B, n)`` become class scores ``(B, n)``.

- :func:`spike_count`: spikes summed over time (of a spiking output population);
- :func:`max_membrane`, :func:`mean_membrane`: the largest or mean ``v`` over time of a
  leaky-integrator (``LI``) readout.

The predicted class is the ``argmax`` of the scores; the same functions decode the CPU
engine's results (``numpy`` arrays work too), so both sides predict alike.
"""

from __future__ import annotations


def spike_count(spikes):
    """Number of spikes of each neuron ``(B, n)``."""
    return spikes.sum(0)


def max_membrane(v):
    """Largest membrane potential of each neuron over the steps ``(B, n)``."""
    return v.max(0)[0] if hasattr(v, "dim") else v.max(0)


def mean_membrane(v):
    """Mean membrane potential of each neuron over the steps ``(B, n)``."""
    return v.mean(0)


#: decoder name -> (function, which output it reads: "spikes" or "v")
DECODERS = {"count": (spike_count, "spikes"), "max": (max_membrane, "v"), "mean": (mean_membrane, "v")}
