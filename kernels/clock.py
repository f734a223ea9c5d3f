"""The time-driven loop: one compiled function advances the whole network many steps.

Arrays are grouped in named tuples (plain data, no behaviour) so the signature
stays readable. Global numbering: neurons ``[0, n_neurons)`` population after
population, then spike sources ``[n_neurons, n_nodes)`` group after group.

Step ``n`` advances time from ``n*dt`` to ``(n+1)*dt`` (time index ``k = n + 1``):

1. injected currents of step ``n`` are looked up,
2. every population integrates, decays, receives the ring row for step ``n`` and
   flags threshold crossings (:mod:`.neurons`),
3. flagged neurons reset and become refractory, then sources emit; all of these
   spikes carry time index ``k``,
4. spikes are recorded, counted and propagated to the rows ``n + delay``,
5. state probes due at ``k`` (``k % every == 0``) are sampled.

Threads: :func:`run_steps_parallel` takes ``windows`` (int64, ``(n_threads + 1,)``), which
cut the neurons into contiguous target ranges; step 2 and the propagation of
step 4 run one window per thread (:func:`update_neurons_parallel`,
:func:`_propagate_parallel`): each thread owns its neurons and their columns of the delay
rings, and walks every spike and synapse in the serial order, adding only to its own
targets. Every sum is therefore formed in the same order as with one thread, and the
results are bit-identical whatever the thread count. Resets, sources, recording and
counting stay serial. The thread count itself is Numba's process-global setting: the
caller sets it around the call (``backends/cpu/engine.py``).

Spike sources that fire at time 0 are emitted before step 0 (as step ``-1``).
"""

from collections import namedtuple

import numpy as np
from numba import njit, prange

from .loihi import loihi_fixed_update, loihi_float_update
from .neurons import coba_euler_update, coba_exp_euler_update, fire_and_reset, linear_update
from .rng import poisson_count
from .synapses import propagate, propagate_window

FAMILY_LINEAR, FAMILY_COBA_EULER, FAMILY_COBA_EXP_EULER, FAMILY_LOIHI_FIXED, FAMILY_LOIHI_FLOAT = 0, 1, 2, 3, 4
SOURCE_POISSON, SOURCE_TIMED = 0, 1

#: neuron state (``v syn syn2``: float (n,); ``ref`` int32; ``flags`` uint8 padded to 8),
#: coefficients, populations (``pop_*``: one entry each; ``pop_route[p]`` = (to_v, to_syn): 1/0
#: for instantaneous synapses, 0/1 for current synapses; ``pop_uniform[p]`` = 1 when all its
#: neurons share the coefficients ``pop_coef[p]``) and injected current ``iext`` (n,)
Neurons = namedtuple("Neurons", "v syn syn2 ref flags coef ref_steps pop_lo pop_hi pop_family pop_route "
                                "pop_uniform pop_coef iext")
#: projections (``pre_group pre_lo row_off channel w0 w_off d0 d_off``: one entry each), the
#: concatenated CSR arrays and the two ring buffers (see :mod:`.synapses`)
Synapses = namedtuple("Synapses", "pre_group pre_lo row_off channel w0 w_off d0 d_off indptr post weight delay "
                                  "ring ring2 mask")
#: source groups (one entry each: node range, kind, rate table slice, timed-spike slice)
#: ``table``: mean spike count per step (rate dt) and ``keys``: random stream (Poisson);
#: ``tsteps/tidx``: timed spikes sorted by (k, index)
Sources = namedtuple("Sources", "lo hi kind table off n_rows n_cols sps keys tsteps tidx tptr tend")
#: current inputs (one entry each) writing ``Neurons.iext``; ``use`` is a 0/1 array of length 1
Currents = namedtuple("Currents", "lo hi table off n_rows n_cols sps use")
#: spike recording (``mask`` per node) and state traces (one entry per recorded column; the sample
#: of step ``k`` goes to ``tr_out[tr_off[c] + k // tr_every[c]]``)
Recorder = namedtuple("Recorder", "mask ks nodes count max_per_step tr_var tr_idx tr_every tr_off tr_out")
#: ``totals``: [neuron spikes, synaptic events, source spikes]; ``per_group`` spikes per node group
#: (populations then sources, starting at global index ``group_lo[g]``); ``bounds`` is scratch;
#: ``per_proj`` synaptic events per projection (counted when sent)
Counters = namedtuple("Counters", "totals group_lo per_group bounds per_proj")


@njit(cache=True, inline="always")
def _emit_sources(n, k, include_poisson, src, spikes, ns):
    for g in range(src.lo.shape[0]):
        lo = src.lo[g]
        if src.kind[g] == SOURCE_POISSON:
            if not include_poisson:
                continue
            row = min(n // src.sps[g], src.n_rows[g] - 1)
            base = src.off[g] + row * src.n_cols[g]
            per_neuron = src.n_cols[g] > 1
            for i in range(src.hi[g] - lo):
                lam = src.table[base + i] if per_neuron else src.table[base]
                if lam > 0.0:   # a count c > 1 is c entries: c x weight in this step
                    for _ in range(poisson_count(src.keys[g], k, i, lam)):
                        spikes[ns] = lo + i
                        ns += 1
        else:
            ptr = src.tptr[g]
            end = src.tend[g]
            while ptr < end and src.tsteps[ptr] < k:
                ptr += 1
            while ptr < end and src.tsteps[ptr] == k:
                spikes[ns] = lo + src.tidx[ptr]
                ns += 1
                ptr += 1
            src.tptr[g] = ptr
    return ns


@njit(cache=True, inline="always")
def _record_and_count(k, spikes, ns, rec, cnt):
    """Record and count the spikes of time index ``k``; fills ``cnt.bounds`` (spikes are
    sorted: group g's spikes are ``spikes[bounds[g]:bounds[g + 1]]``)."""
    c = rec.count[0]
    for s in range(ns):
        node = spikes[s]
        if rec.mask[node]:
            rec.ks[c] = k
            rec.nodes[c] = node
            c += 1
    rec.count[0] = c
    active = spikes[:ns]
    bounds = cnt.bounds
    for g in range(cnt.group_lo.shape[0]):
        bounds[g] = np.searchsorted(active, cnt.group_lo[g])
    for g in range(cnt.per_group.shape[0]):
        cnt.per_group[g] += bounds[g + 1] - bounds[g]


@njit(cache=True, inline="always")
def _deliver(n, k, spikes, ns, syn, rec, cnt):
    """Record, count and propagate the spikes of time index ``k`` (one thread)."""
    if ns == 0:
        return
    _record_and_count(k, spikes, ns, rec, cnt)
    bounds = cnt.bounds
    events = 0
    for p in range(syn.pre_group.shape[0]):
        g = syn.pre_group[p]
        if bounds[g + 1] == bounds[g]:
            continue
        ring = syn.ring if syn.channel[p] == 0 else syn.ring2
        sent = propagate(n, spikes, bounds[g], bounds[g + 1], syn.pre_lo[p], syn.row_off[p], syn.indptr,
                         syn.post, syn.w0[p], syn.w_off[p], syn.weight, syn.d0[p], syn.d_off[p], syn.delay,
                         ring, syn.mask)
        cnt.per_proj[p] += sent
        events += sent
    cnt.totals[1] += events


@njit(cache=True, inline="always")
def _deliver_parallel(n, k, spikes, ns, syn, rec, cnt, windows):
    """:func:`_deliver` with the propagation one target window per thread."""
    if ns == 0:
        return
    _record_and_count(k, spikes, ns, rec, cnt)
    bounds = cnt.bounds
    events = 0
    for p in range(syn.pre_group.shape[0]):
        g = syn.pre_group[p]
        sent = _count_events(spikes, bounds[g], bounds[g + 1], syn.pre_lo[p], syn.row_off[p], syn.indptr)
        cnt.per_proj[p] += sent
        events += sent
    if events > 0:
        _propagate_parallel(n, spikes, bounds, windows, syn.pre_group, syn.pre_lo, syn.row_off, syn.channel,
                            syn.w0, syn.w_off, syn.d0, syn.d_off, syn.indptr, syn.post, syn.weight, syn.delay,
                            syn.ring, syn.ring2, syn.mask)
    cnt.totals[1] += events


@njit(cache=True)
def _count_events(spikes, first, last, pre_lo, row_off, indptr):
    """Synapses of the presynaptic spikes ``spikes[first:last]`` of one projection."""
    events = 0
    for s in range(first, last):
        row = row_off + spikes[s] - pre_lo
        events += indptr[row + 1] - indptr[row]
    return events


@njit(cache=True, parallel=True)
def _propagate_parallel(n, spikes, bounds, windows, pre_group, pre_lo, row_off, channel, w0, w_off, d0, d_off,
                        indptr, post, weight, delay, ring1, ring2, mask):
    """Propagate every projection, one target window per thread (see the module doc)."""
    for c in prange(windows.shape[0] - 1):
        tlo = windows[c]
        thi = windows[c + 1]
        for p in range(pre_group.shape[0]):
            g = pre_group[p]
            if bounds[g + 1] == bounds[g]:
                continue
            ring = ring1 if channel[p] == 0 else ring2
            propagate_window(n, spikes, bounds[g], bounds[g + 1], pre_lo[p], row_off[p], indptr, post, w0[p],
                             w_off[p], weight, d0[p], d_off[p], delay, ring, mask, tlo, thi)


@njit(cache=True, parallel=True)
def update_neurons_parallel(windows, v, syn, syn2, ref, flags, coef, pop_lo, pop_hi, pop_family, pop_route,
                            pop_uniform, pop_coef, iext, inbox, inbox2):
    """:func:`update_neurons`, one neuron window per thread (elementwise: same result as one)."""
    for c in prange(windows.shape[0] - 1):
        update_neurons(v, syn, syn2, ref, flags, coef, pop_lo, pop_hi, pop_family, pop_route, pop_uniform, pop_coef,
                       iext, inbox, inbox2, windows[c], windows[c + 1])


@njit(cache=True)
def update_neurons(v, syn, syn2, ref, flags, coef, pop_lo, pop_hi, pop_family, pop_route, pop_uniform, pop_coef,
                   iext, inbox, inbox2, wlo, whi):
    """Advance the neurons ``[wlo, whi)`` one step (each population's family kernel); flags
    threshold crossings.

    Takes plain arrays, not the ``Neurons`` tuple: reading a tuple's fields in a
    called function costs reference-count updates per field and call. Kept out of
    ``run_steps``: inlined into that big loop, LLVM stopped vectorising the loops.
    """
    for p in range(pop_lo.shape[0]):
        lo = max(pop_lo[p], wlo)
        hi = min(pop_hi[p], whi)
        if lo >= hi:
            continue
        fam = pop_family[p]
        # the two branches differ only in the coefficients' layout (vector or matrix), so Numba
        # compiles each family for both; a shared helper costs ~10 % of the COBA loop (measured)
        if pop_uniform[p]:
            pc = pop_coef[p]
            if fam == FAMILY_LINEAR:
                linear_update(lo, hi, v, syn, ref, inbox, pc, iext, pop_route[p, 0], pop_route[p, 1], flags)
            elif fam == FAMILY_COBA_EULER:
                coba_euler_update(lo, hi, v, syn, syn2, ref, inbox, inbox2, pc, iext, flags)
            elif fam == FAMILY_LOIHI_FIXED:
                loihi_fixed_update(lo, hi, v, syn, inbox, pc, flags)
            elif fam == FAMILY_LOIHI_FLOAT:
                loihi_float_update(lo, hi, v, syn, inbox, pc, flags)
            else:
                coba_exp_euler_update(lo, hi, v, syn, syn2, ref, inbox, inbox2, pc, iext, flags)
        else:
            if fam == FAMILY_LINEAR:
                linear_update(lo, hi, v, syn, ref, inbox, coef, iext, pop_route[p, 0], pop_route[p, 1], flags)
            elif fam == FAMILY_COBA_EULER:
                coba_euler_update(lo, hi, v, syn, syn2, ref, inbox, inbox2, coef, iext, flags)
            elif fam == FAMILY_LOIHI_FIXED:
                loihi_fixed_update(lo, hi, v, syn, inbox, coef, flags)
            elif fam == FAMILY_LOIHI_FLOAT:
                loihi_float_update(lo, hi, v, syn, inbox, coef, flags)
            else:
                coba_exp_euler_update(lo, hi, v, syn, syn2, ref, inbox, inbox2, coef, iext, flags)


@njit(cache=True, inline="always")
def _currents(n, cur, iext):
    """Write the injected currents of step ``n`` into ``iext``."""
    if cur.use[0]:
        for c in range(cur.lo.shape[0]):
            for j in range(cur.lo[c], cur.hi[c]):
                iext[j] = 0
        for c in range(cur.lo.shape[0]):
            row = min(n // cur.sps[c], cur.n_rows[c] - 1)
            base = cur.off[c] + row * cur.n_cols[c]
            per_neuron = cur.n_cols[c] > 1
            lo = cur.lo[c]
            for j in range(lo, cur.hi[c]):
                iext[j] += cur.table[base + j - lo] if per_neuron else cur.table[base]


@njit(cache=True, inline="always")
def _sample(k, rec, v, syn1, syn2):
    """State probes due at time index ``k``."""
    for c in range(rec.tr_var.shape[0]):
        if k % rec.tr_every[c] == 0:  # the global grid: split runs sample what one run samples
            j = rec.tr_idx[c]
            var = rec.tr_var[c]
            value = v[j] if var == 0 else (syn1[j] if var == 1 else syn2[j])
            rec.tr_out[rec.tr_off[c] + k // rec.tr_every[c]] = value


@njit(cache=True)
def run_steps(n0, n1, neu, syn, src, cur, rec, cnt, spikes):
    """Advance steps ``n0 .. n1-1`` on one thread.

    Returns the step reached: ``n1``, or earlier when the spike recorder might
    overflow during the next step (the caller grows it and calls again).
    """
    v, syn1, syn2, ref, flags, coef, ref_steps, pop_lo, pop_hi, pop_family, pop_route, pop_uniform, pop_coef, \
        iext = neu
    n_neurons = v.shape[0]
    capacity = rec.ks.shape[0]
    if n0 == 0:  # sources firing at t = 0 (timed only); tptr makes this idempotent
        ns = _emit_sources(-1, 0, False, src, spikes, 0)
        if ns > 0:  # the recorder holds at least max_per_step spikes, so these fit
            cnt.totals[2] += ns
            _deliver(-1, 0, spikes, ns, syn, rec, cnt)
    n = n0
    while n < n1:
        if rec.count[0] + rec.max_per_step > capacity:
            return n
        k = n + 1
        _currents(n, cur, iext)
        slot = n & syn.mask
        inbox = syn.ring[slot]
        inbox2 = syn.ring2[slot & (syn.ring2.shape[0] - 1)]  # (1, 1) when no conductance synapses
        update_neurons(v, syn1, syn2, ref, flags, coef, pop_lo, pop_hi, pop_family, pop_route, pop_uniform,
                       pop_coef, iext, inbox, inbox2, 0, n_neurons)
        ns = fire_and_reset(n_neurons, flags, v, ref, coef, ref_steps, spikes, 0)
        cnt.totals[0] += ns
        ns_all = _emit_sources(n, k, True, src, spikes, ns)
        cnt.totals[2] += ns_all - ns
        _deliver(n, k, spikes, ns_all, syn, rec, cnt)
        _sample(k, rec, v, syn1, syn2)
        n += 1
    return n


@njit(cache=True)
def run_steps_parallel(n0, n1, neu, syn, src, cur, rec, cnt, spikes, windows):
    """:func:`run_steps` with neuron updates and propagation one ``windows`` slice per thread.

    A separate function, so that one-thread runs never compile the parallel kernels.
    """
    v, syn1, syn2, ref, flags, coef, ref_steps, pop_lo, pop_hi, pop_family, pop_route, pop_uniform, pop_coef, \
        iext = neu
    n_neurons = v.shape[0]
    capacity = rec.ks.shape[0]
    if n0 == 0:
        ns = _emit_sources(-1, 0, False, src, spikes, 0)
        if ns > 0:
            cnt.totals[2] += ns
            _deliver_parallel(-1, 0, spikes, ns, syn, rec, cnt, windows)
    n = n0
    while n < n1:
        if rec.count[0] + rec.max_per_step > capacity:
            return n
        k = n + 1
        _currents(n, cur, iext)
        slot = n & syn.mask
        inbox = syn.ring[slot]
        inbox2 = syn.ring2[slot & (syn.ring2.shape[0] - 1)]
        update_neurons_parallel(windows, v, syn1, syn2, ref, flags, coef, pop_lo, pop_hi, pop_family, pop_route,
                                pop_uniform, pop_coef, iext, inbox, inbox2)
        ns = fire_and_reset(n_neurons, flags, v, ref, coef, ref_steps, spikes, 0)
        cnt.totals[0] += ns
        ns_all = _emit_sources(n, k, True, src, spikes, ns)
        cnt.totals[2] += ns_all - ns
        _deliver_parallel(n, k, spikes, ns_all, syn, rec, cnt, windows)
        _sample(k, rec, v, syn1, syn2)
        n += 1
    return n
