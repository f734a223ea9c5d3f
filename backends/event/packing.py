"""Packing a :class:`~snnsim.plan.Plan` into the tables of the event kernels (:mod:`snnsim.kernels.event`).

What is the event engine's own: one ``(2, n_neurons, 8)`` float64 table per neuron (a hot half,
what a delivery reads, on 64-byte cache lines, and a cold half), CSR rows sorted by continuous
delay, and per source neuron its Poisson rate table and stream, or its sorted spike times.
"""

from __future__ import annotations

import numpy as np

from snnsim.models import IF
from snnsim.plan import Plan
from snnsim.kernels import event as ke

from ..common import source_key


def _aligned_table(n_rows: int, n_cols: int) -> np.ndarray:
    """A zeroed ``(2, n_rows, n_cols)`` float64 table (hot and cold halves) whose rows start
    on 64-byte cache lines.

    numpy aligns large arrays to 16 bytes only: a 64-byte row would then span two cache lines.
    ``np.empty`` (not ``np.zeros``): numpy asks for huge pages (fewer TLB misses on random
    rows), calloc does not.
    """
    raw = np.empty(2 * n_rows * n_cols + 8)
    skip = (-raw.ctypes.data % 64) // 8
    tbl = raw[skip:skip + 2 * n_rows * n_cols].reshape(2, n_rows, n_cols)
    tbl[:] = 0.0
    return tbl


def kind_of(pop) -> float:
    """The kernel's ``KIND`` of a population's neurons."""
    if isinstance(pop.model, IF):
        return ke.KIND_IF
    return ke.KIND_CURRENT if pop.has_current else ke.KIND_DELTA


def neuron_table(plan: Plan) -> np.ndarray:
    """The ``(2, n_neurons, N_COLS)`` float64 table of :mod:`snnsim.kernels.event` at t = 0."""
    n = plan.layout.n_neurons
    tbl = _aligned_table(n, ke.N_COLS)
    i_ext = np.zeros(n)
    for cur in plan.currents.values():  # constant currents only (the capabilities say so)
        i_ext[cur.lo:cur.lo + cur.size] += cur.table[0]
    for pop in plan.populations.values():
        lo, hi = pop.lo, pop.lo + pop.size
        p, init = pop.params, pop.initial
        hot, cold = tbl[ke.HOT, lo:hi], tbl[ke.COLD, lo:hi]
        hot[:, ke.V] = init["v"]
        cold[:, ke.ISYN] = init.get("i_syn", 0.0)
        hot[:, ke.REF_UNTIL] = -np.inf
        cold[:, ke.NEXT_OK] = -np.inf
        hot[:, ke.PRED] = np.inf
        hot[:, ke.LINK] = -1.0
        hot[:, ke.TAU_M] = p["tau_mem"]
        cold[:, ke.KIND] = kind_of(pop)
        cold[:, ke.TAU_S] = p["tau_syn"] if pop.has_current else 0.0
        cold[:, ke.R] = p["r"]
        current = p["i_bias"] + i_ext[lo:hi]
        if isinstance(pop.model, IF):
            hot[:, ke.DRIVE] = p["r"] * current / p["tau_mem"]
        else:
            hot[:, ke.DRIVE] = p["v_leak"] + p["r"] * current
        if pop.model.spiking:
            hot[:, ke.V_TH] = p["v_th"]
            cold[:, ke.V_RESET] = p["v_reset"]
            cold[:, ke.V_SUB] = p["v_th"] - p["v_reset"] if pop.model.reset == "subtract" else 0.0
            cold[:, ke.T_REF] = p["t_ref"]
        else:
            hot[:, ke.V_TH] = np.inf
    return tbl


def _shared(values: np.ndarray):
    """The one value of ``values`` if they are all equal (or there are none), else None."""
    if len(values) == 0:
        return 0.0
    return float(values[0]) if (values == values[0]).all() else None


def delays_of(proj, dt: float) -> np.ndarray:
    """A projection's delays (s), one per synapse; none given means one ``dt``."""
    return np.broadcast_to(np.asarray(dt if proj.delays is None else proj.delays, np.float64), (proj.n_synapses,))


def storage_order(proj, dt: float):
    """The permutation from a projection's CSR order to the event engine's (each row sorted by
    delay), or None when its delays are all equal (CSR order kept)."""
    d = delays_of(proj, dt)
    if _shared(d) is not None:
        return None
    row = np.repeat(np.arange(len(proj.indptr) - 1), np.diff(proj.indptr))
    return np.lexsort((d, row))


def pack_synapses(plan: Plan) -> ke.EventSynapses:
    """Concatenated CSR rows with continuous delays (s), each row sorted by delay.

    A projection declared without a delay gets one ``dt`` of the run (as in the clock engine).
    Weights or delays equal across a projection are stored once.
    """
    layout = plan.layout
    groups = list(layout.groups)
    out_of = [[] for _ in groups]
    pre_lo, row_off, syn_lo, w0, w_off, d0, d_off, post_delta = ([] for _ in range(8))
    indptrs, posts, weights, delays = [], [], [], []
    n_rows = n_syn = n_w = n_d = 0
    for p, proj in enumerate(plan.projections.values()):
        out_of[groups.index(proj.pre)].append(p)
        n_pre = len(proj.indptr) - 1
        pre_lo.append(proj.pre_lo)
        post_delta.append(int(kind_of(plan.populations[proj.post]) == ke.KIND_DELTA))
        row_off.append(n_rows)
        syn_lo.append(n_syn)
        post = proj.indices.astype(np.int64) + proj.post_lo
        w = np.broadcast_to(np.asarray(proj.weights, np.float64), (proj.n_synapses,))
        d = delays_of(proj, plan.dt)
        shared_d = _shared(d)
        order = storage_order(proj, plan.dt)
        if order is not None:  # every row sorted by delay, so deliveries walk each row in time order
            post, w, d = post[order], w[order], d[order]
        shared_w = _shared(w)
        w0.append(0.0 if shared_w is None else shared_w)
        w_off.append(-1 if shared_w is not None else n_w)
        if shared_w is None:
            weights.append(np.asarray(w))
            n_w += len(w)
        d0.append(0.0 if shared_d is None else shared_d)
        d_off.append(-1 if shared_d is not None else n_d)
        if shared_d is None:
            delays.append(np.asarray(d))
            n_d += len(d)
        indptrs.append(proj.indptr.astype(np.int64) + n_syn)
        posts.append(post)
        n_rows += n_pre + 1
        n_syn += proj.n_synapses
    grp_ptr = np.zeros(len(groups) + 1, np.int64)
    grp_ptr[1:] = np.cumsum([len(x) for x in out_of])
    ints = lambda xs: np.array(xs, np.int64)  # noqa: E731
    cat = lambda parts, dtype: np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)  # noqa: E731
    post_dtype = np.int32 if layout.n_nodes < 2**31 else np.int64
    return ke.EventSynapses(grp_ptr, ints([p for x in out_of for p in x]), ints(pre_lo), ints(row_off),
                            ints(syn_lo), np.array(w0, np.float64), ints(w_off),
                            np.array(d0, np.float64), ints(d_off), cat(indptrs, np.int64), cat(posts, post_dtype),
                            cat(weights, np.float64), cat(delays, np.float64), np.array(post_delta, np.uint8))


def with_legacy(syn: ke.EventSynapses, shadows: list) -> ke.EventSynapses:
    """``syn`` plus one entry per ``(projection, w0, weights)`` in ``shadows``: the projection's
    synapses with older weights (``weights`` per synapse in the live entry's storage order, or
    None for the shared ``w0``), for the spikes that were in flight when the weights changed.
    Legacy entries are reached only through the spikes in flight, never by a new spike."""
    if not shadows:
        return syn
    w0, w_off, weight = list(syn.w0), list(syn.w_off), [syn.weight]
    at = len(syn.weight)
    for p, shared, per_synapse in shadows:
        if per_synapse is None:
            w0.append(shared)
            w_off.append(-1)
        else:
            w0.append(0.0)
            w_off.append(at)
            weight.append(np.asarray(per_synapse, np.float64))
            at += len(per_synapse)
    extra = [p for p, _, _ in shadows]
    take = lambda arr: np.concatenate([arr, arr[extra]])  # noqa: E731
    return syn._replace(pre_lo=take(syn.pre_lo), row_off=take(syn.row_off), syn_lo=take(syn.syn_lo),
                        w0=np.array(w0, np.float64), w_off=np.array(w_off, np.int64), d0=take(syn.d0),
                        d_off=take(syn.d_off), weight=np.concatenate(weight), post_delta=take(syn.post_delta))


def pack_sources(plan: Plan) -> ke.EventSources:
    """Per source neuron: Poisson rate tables and random streams, or its sorted spike times."""
    n = plan.layout.n_nodes - plan.layout.n_neurons
    kind, off, n_rows, n_cols, col = (np.zeros(n, np.int64) for _ in range(5))
    rate_dt, index, count = np.zeros(n), np.zeros(n, np.int64), np.zeros(n, np.int64)
    key = np.zeros(n, np.uint64)
    tptr, tend = np.zeros(n, np.int64), np.zeros(n, np.int64)
    tables, times, at_table, at_time = [], [], 0, 0
    for src in plan.sources.values():
        lo = src.lo - plan.layout.n_neurons
        sl = slice(lo, lo + src.size)
        index[sl] = np.arange(src.size)
        if src.kind == "poisson":
            table = src.rate[None, :] if src.rate_dt is None else src.rate
            kind[sl] = ke.SOURCE_POISSON
            off[sl] = at_table
            n_rows[sl], n_cols[sl] = table.shape
            col[sl] = np.arange(src.size) if table.shape[1] > 1 else 0
            rate_dt[sl] = 0.0 if src.rate_dt is None else src.rate_dt
            key[sl] = source_key(plan.seed, src.name)
            tables.append(table.reshape(-1))
            at_table += table.size
        else:
            kind[sl] = ke.SOURCE_TIMED
            order = np.lexsort((src.times, src.indices))
            times.append(src.times[order])
            counts = np.bincount(src.indices, minlength=src.size)
            ends = at_time + np.cumsum(counts)
            tptr[sl] = ends - counts
            tend[sl] = ends
            at_time += len(src.times)
    cat = lambda parts: np.concatenate(parts).astype(np.float64) if parts else np.zeros(0)  # noqa: E731
    return ke.EventSources(kind, off, n_rows, n_cols, col, rate_dt, cat(tables), key, index, count, cat(times),
                           tptr, tend)


def shortest_delay(syn: ke.EventSynapses, n_live: int) -> float:
    """The shortest synaptic delay (s) of the first ``n_live`` entries (the live projections);
    inf without synapses."""
    starts = syn.indptr[syn.row_off[:n_live]] if n_live else np.zeros(0, np.int64)
    ends = np.append(starts[1:], len(syn.post)) if n_live else starts
    has = ends > starts
    shared = syn.d0[:n_live][(syn.d_off[:n_live] < 0) & has]
    parts = [shared] + ([syn.delay] if len(syn.delay) else [])
    values = np.concatenate(parts) if parts else np.zeros(0)
    return float(values.min()) if len(values) else np.inf
