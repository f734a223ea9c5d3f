"""Spike propagation through CSR projections into delay ring buffers.

A projection is a slice of concatenated CSR arrays: presynaptic node range
``[pre_lo, pre_hi)``, row pointers ``indptr[row_off + i]`` (absolute positions in
the synapse arrays), per-synapse ``post`` (global neuron index), ``weight`` and
``delay`` (whole steps, >= 1). The ring buffer ``ring`` has shape ``(L, n_neurons)``
with ``L`` a power of two above the largest delay; row ``s & (L - 1)`` holds the
input that arrives during step ``s``.
"""

import numpy as np
from numba import njit


@njit(cache=True)
def propagate(step, spikes, n_spikes, pre_lo, pre_hi, row_off, indptr, post, weight, delay, ring, mask):
    """Add the weights of every synapse of the spiking presynaptic nodes to the ring.

    ``spikes[:n_spikes]`` are global node indices in ascending order; only those in
    ``[pre_lo, pre_hi)`` are used. Inputs are summed spike by spike in ascending
    order, each spike's synapses in row order. Returns the number of synaptic events.
    """
    active = spikes[:n_spikes]
    first = np.searchsorted(active, pre_lo)
    last = np.searchsorted(active, pre_hi)
    events = 0
    for s in range(first, last):
        row = row_off + active[s] - pre_lo
        start = indptr[row]
        stop = indptr[row + 1]
        for k in range(start, stop):
            ring[(step + delay[k]) & mask, post[k]] += weight[k]
        events += stop - start
    return events
