"""Spike propagation through CSR projections into delay ring buffers.

A projection is a slice of concatenated CSR arrays: presynaptic node range
``[pre_lo, pre_hi)``, row pointers ``indptr[row_off + i]`` (absolute positions in
``post``), per-synapse ``post`` (global neuron index, uint32). Weights and delays
are stored per synapse only where they differ within the projection:

- ``w_off < 0``: every synapse has weight ``w0``; else synapse ``k`` has ``weight[w_off + k - first]``,
- ``d_off < 0``: every synapse has delay ``d0`` steps; else ``delay[d_off + k - first]``,

where ``first = indptr[row_off]`` is the projection's first synapse. The ring
buffer ``ring`` has shape ``(L, n_neurons)`` with ``L`` a power of two above the
largest delay; row ``s & (L - 1)`` holds the input that arrives during step ``s``.
"""

from numba import njit


@njit(cache=True)
def propagate(step, spikes, first, last, pre_lo, row_off, indptr, post,
              w0, w_off, weight, d0, d_off, delay, ring, mask):
    """Add the weights of every synapse of the spiking presynaptic nodes to the ring.

    ``spikes[first:last]`` are the global indices (ascending) of the projection's
    presynaptic nodes that fired in step ``step``. Inputs are summed spike by spike
    in that order, each spike's synapses in row order. Returns the number of
    synaptic events.
    """
    base = indptr[row_off]
    events = 0
    for s in range(first, last):
        row = row_off + spikes[s] - pre_lo
        start = indptr[row]
        stop = indptr[row + 1]
        events += stop - start
        if d_off < 0:
            target = ring[(step + d0) & mask]
            if w_off < 0:
                for k in range(start, stop):
                    target[post[k]] += w0
            else:
                w = weight[w_off - base + start:w_off - base + stop]
                targets = post[start:stop]
                for k in range(stop - start):
                    target[targets[k]] += w[k]
        else:
            d = delay[d_off - base + start:d_off - base + stop]
            targets = post[start:stop]
            if w_off < 0:
                for k in range(stop - start):
                    ring[(step + d[k]) & mask, targets[k]] += w0
            else:
                w = weight[w_off - base + start:w_off - base + stop]
                for k in range(stop - start):
                    ring[(step + d[k]) & mask, targets[k]] += w[k]
    return events


@njit(cache=True)
def propagate_window(step, spikes, first, last, pre_lo, row_off, indptr, post,
                     w0, w_off, weight, d0, d_off, delay, ring, mask, tlo, thi):
    """:func:`propagate` restricted to the target neurons ``[tlo, thi)``.

    Walks the same spikes and synapses in the same order as :func:`propagate` and skips
    the targets outside the window, so each ring cell receives the same additions in the
    same order: threads that own disjoint windows together give :func:`propagate`'s
    result bit for bit. Returns nothing (the caller counts events).
    """
    base = indptr[row_off]
    for s in range(first, last):
        row = row_off + spikes[s] - pre_lo
        start = indptr[row]
        stop = indptr[row + 1]
        targets = post[start:stop]
        if d_off < 0:
            target = ring[(step + d0) & mask]
            if w_off < 0:
                for k in range(stop - start):
                    t = targets[k]
                    if t >= tlo and t < thi:
                        target[t] += w0
            else:
                w = weight[w_off - base + start:w_off - base + stop]
                for k in range(stop - start):
                    t = targets[k]
                    if t >= tlo and t < thi:
                        target[t] += w[k]
        else:
            d = delay[d_off - base + start:d_off - base + stop]
            if w_off < 0:
                for k in range(stop - start):
                    t = targets[k]
                    if t >= tlo and t < thi:
                        ring[(step + d[k]) & mask, t] += w0
            else:
                w = weight[w_off - base + start:w_off - base + stop]
                for k in range(stop - start):
                    t = targets[k]
                    if t >= tlo and t < thi:
                        ring[(step + d[k]) & mask, t] += w[k]
