"""Numba kernels: pure functions over arrays (no classes, no I/O, no knowledge of Network).

Installed as ``snnsim.kernels``. Modules:

- :mod:`.rng`      counter-based random numbers (same stream on every backend)
- :mod:`.neurons`  one step of each neuron family, threshold and reset
- :mod:`.synapses` spike propagation through CSR projections into delay ring buffers
- :mod:`.clock`    the time-driven loop that composes them
"""
