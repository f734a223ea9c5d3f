"""The event-driven loop: exact spike times in continuous time (float64, seconds).

Nothing is stepped. Each neuron keeps its state at the time it was last touched
(lazy update) and is advanced by the closed-form solution of its equations only
when an input arrives, when it fires or when a probe samples it. Two queues hold
everything that will happen:

- the **node queue**, an indexed binary heap with at most one entry per node:
  the predicted next spike time of every neuron whose current state and
  constant drive make it reach threshold without further input, and the next
  spike time of every source neuron (Poisson or spike times). A neuron's entry is
  replaced (sifted) whenever an input changes its state, so there are no stale
  entries;
- the **delivery queue**, a binary heap of spikes in flight: one entry per
  presynaptic spike and projection, pointing at the next synapse of its row to
  deliver. Rows are sorted by delay, so after delivering every synapse whose
  arrival time is the entry's time, the entry moves on to the next delay of the
  row (with one delay for a whole projection, one entry delivers the row).

At equal times deliveries come first, so every input arriving at ``t`` is added
before a neuron fires at ``t`` (the clock engine's order within a step).

Global numbering is the clock engine's: neurons ``[0, n_neurons)`` population
after population, then source neurons.

Per-neuron parameters and state live in one ``(n_neurons, N_COLS)`` float64
table (one row per neuron: one or two cache lines per random access), columns
named below. ``DRIVE`` is the asymptote ``v_leak + r (i_bias + i_ext)`` (V) of a
leaky neuron, and the slope ``r (i_bias + i_ext) / tau_mem`` (V/s) of an IF.
``TAU_S`` is 0 for instantaneous synapses. ``V_TH`` is +inf for a leaky
integrator that never fires. ``REF_UNTIL`` is the end of the refractory period
(``-inf`` when none): on ``(t_spike, REF_UNTIL]`` ``v`` is held and jumps of
``v`` are dropped; synaptic current keeps decaying and receiving.

The membrane potential of a leaky neuron with current synapses, from state
``(v0, i0)`` at ``s = 0``, is

    v(s) = D + (v0 - D) exp(-s/tau_m) + r i0 K(s),
    K(s) = tau_s (exp(-s/tau_s) - exp(-s/tau_m)) / (tau_s - tau_m)    (s/tau_m exp(-s/tau_m) if equal)

and ``tau_m v'(s) = D - v(s) + r i0 exp(-s/tau_s)``. Multiplying that by
``exp(s/tau_m)`` gives ``H(s) = (D - v0 + r i0) - r i0 tau_m G(s)`` with
``G(s) = expm1(s (tau_s - tau_m)/(tau_m tau_s)) / (tau_s - tau_m)`` increasing from
``G(0) = 0``: ``v'`` changes sign at most once, at an ``s*`` found in closed form.
So ``v - v_th`` is monotone on ``[0, s*]`` and on ``[s*, inf)``; the first
crossing is bracketed on the first of those pieces whose end is above threshold
(the second is bounded by doubling, since its limit ``D - v_th`` is positive), and
a Newton iteration that never leaves the shrinking bracket locates it
(:func:`time_to_threshold`). No crossing can be missed.
"""

import math
from collections import namedtuple

import numpy as np
from numba import njit

from .rng import uniform

# columns of the neuron table
V, ISYN, T_LAST, REF_UNTIL, TAU_M, TAU_S, DRIVE, R, V_TH, V_RESET, V_SUB, T_REF, SUBTRACT, LEAKY = range(14)
N_COLS = 16  # padded to 128 bytes per neuron

SOURCE_POISSON, SOURCE_TIMED = 0, 1
#: what :func:`run_events` returns
DONE, GROW_DELIVERIES, GROW_RECORDER = 0, 1, 2
INF = np.inf

#: projections: per source/population group ``g`` the projections leaving it are
#: ``grp_proj[grp_ptr[g]:grp_ptr[g + 1]]``; per projection ``p``: ``pre_lo`` (first global
#: node of its presynaptic group), ``row_off`` (its first row in ``indptr``), ``syn_lo``
#: (its first synapse), ``to_v`` (1: a spike jumps ``v``, 0: it jumps ``i_syn``), ``w0``/``w_off``
#: and ``d0``/``d_off`` (one shared weight/delay when the offset is -1, else per synapse
#: ``weight[w_off + k - syn_lo]``, ``delay[d_off + k - syn_lo]``, delays in s, rows sorted by delay)
EventSynapses = namedtuple("EventSynapses", "grp_ptr grp_proj pre_lo row_off syn_lo to_v w0 w_off d0 d_off "
                                            "indptr post weight delay")
#: source neurons, indexed by ``node - n_neurons``: kind; Poisson: rate table slice (``off``,
#: ``n_rows``, ``n_cols``, column ``col``, sample interval ``rate_dt``, 0 for constant), random
#: stream ``key``, ``index`` in its group and ``count`` of intervals drawn; timed: the node's
#: sorted spike times ``times[tptr:tend]`` (``tptr`` advances)
EventSources = namedtuple("EventSources", "kind off n_rows n_cols col rate_dt table key index count times tptr tend")
#: the node queue (indexed heap): ``key/node`` in heap order, ``pos[node]`` (-1: absent), ``size[0]``
NodeQueue = namedtuple("NodeQueue", "key node pos size")
#: the delivery queue (heap): arrival time, spike time, next synapse, row end, projection; ``size[0]``
DeliveryQueue = namedtuple("DeliveryQueue", "time t_spike syn end proj size")
#: spikes of recorded nodes (``mask``) and state samples: union of sample times
#: ``t0 + ks[m] * dt``, per column (neuron, variable 0 = v / 1 = i_syn, every, out offset);
#: ``next[0]`` is the next sample to take
EventRecorder = namedtuple("EventRecorder", "mask times nodes count t0 dt ks next col_node col_var col_every "
                                            "col_off out")
#: ``totals``: [neuron spikes, synaptic events, source spikes, queue events]; spikes per group
EventCounters = namedtuple("EventCounters", "totals node_group per_group")


# ------------------------------------------------------------------ closed forms
@njit(cache=True, inline="always")
def _decay(i0, s, tau_s):
    return i0 * math.exp(-s / tau_s) if tau_s > 0.0 else 0.0


@njit(cache=True)
def synaptic_kernel(s, tau_m, tau_s):
    """``K(s)`` (s): the response of ``v`` at time ``s`` to ``r i_syn = 1`` V at 0 (see module doc)."""
    d = tau_s - tau_m
    x = s * d / (tau_m * tau_s)
    if abs(x) < 0.5:  # close time constants: expm1 keeps the difference accurate
        if d == 0.0:
            return s / tau_m * math.exp(-s / tau_m)
        return tau_s * math.exp(-s / tau_m) * math.expm1(x) / d
    return tau_s * (math.exp(-s / tau_s) - math.exp(-s / tau_m)) / d


@njit(cache=True)
def free_v(tbl, j, s, v0, i0):
    """``v`` of neuron ``j`` after ``s`` seconds of free evolution from ``(v0, i0)`` (no refractoriness)."""
    drive = tbl[j, DRIVE]
    if tbl[j, LEAKY] == 0.0:
        return v0 + drive * s
    tau_m = tbl[j, TAU_M]
    v = drive + (v0 - drive) * math.exp(-s / tau_m)
    tau_s = tbl[j, TAU_S]
    if tau_s > 0.0 and i0 != 0.0:
        v += tbl[j, R] * i0 * synaptic_kernel(s, tau_m, tau_s)
    return v


@njit(cache=True)
def state_at(tbl, j, t):
    """``(v, i_syn)`` of neuron ``j`` at ``t >= T_LAST`` without changing it (refractoriness included)."""
    t0 = tbl[j, T_LAST]
    v0 = tbl[j, V]
    i0 = tbl[j, ISYN]
    if t <= t0:
        return v0, i0
    tau_s = tbl[j, TAU_S]
    ref_until = tbl[j, REF_UNTIL]
    if ref_until >= t:  # refractory throughout: v held
        return v0, _decay(i0, t - t0, tau_s)
    start = t0
    if ref_until > t0:  # refractoriness ends on the way
        i0 = _decay(i0, ref_until - t0, tau_s)
        start = ref_until
    s = t - start
    return free_v(tbl, j, s, v0, i0), _decay(i0, s, tau_s)


@njit(cache=True)
def _slope(tbl, j, s, v0, i0):
    """``dv/ds`` of a leaky neuron at ``s`` (V/s), from the equation itself."""
    v = free_v(tbl, j, s, v0, i0)
    return (tbl[j, DRIVE] - v + tbl[j, R] * _decay(i0, s, tbl[j, TAU_S])) / tbl[j, TAU_M]


@njit(cache=True)
def _root(tbl, j, v0, i0, lo, hi):
    """The crossing ``v(s) = v_th`` in ``[lo, hi]``, where ``v - v_th`` is monotone, <= 0 at ``lo`` and
    > 0 at ``hi``: Newton steps that stay inside the bracket, bisection otherwise."""
    v_th = tbl[j, V_TH]
    x = hi
    for _ in range(200):
        f = free_v(tbl, j, x, v0, i0) - v_th
        if f > 0.0:
            hi = x
        elif f < 0.0:
            lo = x
        else:
            return x
        d = _slope(tbl, j, x, v0, i0)
        nxt = x - f / d if d != 0.0 else 0.5 * (lo + hi)
        if not (lo < nxt < hi):
            nxt = 0.5 * (lo + hi)
        if abs(nxt - x) <= 4e-16 * max(abs(nxt), 1e-300) or hi - lo <= 4e-16 * hi:
            return nxt
        x = nxt
    return 0.5 * (lo + hi)


@njit(cache=True)
def time_to_threshold(tbl, j, v0, i0):
    """Time (s) until neuron ``j``, free from ``(v0, i0)`` with ``v0 <= v_th``, reaches ``v_th``; inf if never.

    LIF: ``tau_m ln((D - v0) / (D - v_th))``; IF: ``(v_th - v0) / slope``; with a
    synaptic current, the bracketing search of the module doc.
    """
    v_th = tbl[j, V_TH]
    if not v_th < INF:
        return INF
    drive = tbl[j, DRIVE]
    if tbl[j, LEAKY] == 0.0:
        return (v_th - v0) / drive if drive > 0.0 else INF
    tau_m = tbl[j, TAU_M]
    tau_s = tbl[j, TAU_S]
    if tau_s == 0.0 or i0 == 0.0:
        if drive > v_th:
            return tau_m * math.log((drive - v0) / (drive - v_th))
        return INF
    a = tbl[j, R] * i0
    d = tau_s - tau_m
    q = (drive - v0 + a) / (a * tau_m)  # G(s*) = q at the extremum
    s_ext = -1.0
    if q > 0.0:
        y = q * d
        if abs(y) < 1e-8:
            s_ext = q * tau_m * tau_s * (1.0 - 0.5 * y)
        elif y > -1.0:
            s_ext = math.log1p(y) * tau_m * tau_s / d
    lo = 0.0
    if s_ext > 0.0:
        if free_v(tbl, j, s_ext, v0, i0) > v_th:
            return _root(tbl, j, v0, i0, 0.0, s_ext)
        lo = s_ext
    if not drive > v_th:  # monotone on [lo, inf) towards D <= v_th: never above
        return INF
    width = max(tau_m, tau_s)
    for _ in range(2100):  # v rises monotonically towards D > v_th: double until above
        hi = lo + width
        if free_v(tbl, j, hi, v0, i0) > v_th:
            return _root(tbl, j, v0, i0, lo, hi)
        lo = hi
        width *= 2.0
        if not lo < 1e300:
            break
    return INF  # D exceeds v_th by less than rounding


@njit(cache=True)
def next_spike(tbl, j, t):
    """Predicted spike time of neuron ``j``, whose state is committed at ``t``; inf without one."""
    v_th = tbl[j, V_TH]
    if not v_th < INF:
        return INF
    v = tbl[j, V]
    i = tbl[j, ISYN]
    start = t
    ref_until = tbl[j, REF_UNTIL]
    if ref_until > t:
        start = ref_until
        i = _decay(i, ref_until - t, tbl[j, TAU_S])
    if v > v_th:
        return start
    return start + time_to_threshold(tbl, j, v, i)


@njit(cache=True)
def advance(tbl, j, t):
    """Commit neuron ``j``'s state at time ``t``."""
    v, i = state_at(tbl, j, t)
    tbl[j, V] = v
    tbl[j, ISYN] = i
    tbl[j, T_LAST] = t


@njit(cache=True)
def fire(tbl, j, t):
    """Neuron ``j`` spikes at ``t``: reset (to ``v_reset`` or by ``v_th - v_reset``) and refractoriness.

    A spike predicted from the drive has ``v = v_th`` in exact arithmetic; a jump-evoked
    spike resets from the value above threshold (reset by subtraction keeps the excess).
    """
    advance(tbl, j, t)
    v = max(tbl[j, V], tbl[j, V_TH])
    tbl[j, V] = v - tbl[j, V_SUB] if tbl[j, SUBTRACT] != 0.0 else tbl[j, V_RESET]
    if tbl[j, T_REF] > 0.0:
        tbl[j, REF_UNTIL] = t + tbl[j, T_REF]


# ------------------------------------------------------------------ node queue (indexed heap)
@njit(cache=True)
def _node_swap(key, node, pos, a, b):
    ka = key[a]
    na = node[a]
    key[a] = key[b]
    node[a] = node[b]
    key[b] = ka
    node[b] = na
    pos[node[a]] = a
    pos[node[b]] = b


@njit(cache=True)
def _node_sift(key, node, pos, size, i):
    while i > 0:
        parent = (i - 1) >> 1
        if key[i] < key[parent]:
            _node_swap(key, node, pos, i, parent)
            i = parent
        else:
            break
    while True:
        left = 2 * i + 1
        if left >= size:
            break
        child = left
        if left + 1 < size and key[left + 1] < key[left]:
            child = left + 1
        if key[child] < key[i]:
            _node_swap(key, node, pos, i, child)
            i = child
        else:
            break


@njit(cache=True)
def node_schedule(key, node, pos, size, n, when):
    """Set node ``n``'s next event to time ``when`` (inf removes it)."""
    i = pos[n]
    if i < 0:
        if when < INF:
            i = size[0]
            size[0] = i + 1
            key[i] = when
            node[i] = n
            pos[n] = i
            _node_sift(key, node, pos, size[0], i)
        return
    if when == key[i]:
        return
    if when < INF:
        key[i] = when
        _node_sift(key, node, pos, size[0], i)
        return
    last = size[0] - 1
    size[0] = last
    pos[n] = -1
    if i != last:
        key[i] = key[last]
        node[i] = node[last]
        pos[node[i]] = i
        _node_sift(key, node, pos, last, i)


# ------------------------------------------------------------------ delivery queue (heap)
@njit(cache=True)
def _dq_swap(dq, a, b):
    for arr in (dq.time, dq.t_spike):
        x = arr[a]
        arr[a] = arr[b]
        arr[b] = x
    for arr in (dq.syn, dq.end, dq.proj):
        y = arr[a]
        arr[a] = arr[b]
        arr[b] = y


@njit(cache=True)
def _dq_down(dq, i):
    size = dq.size[0]
    time = dq.time
    while True:
        left = 2 * i + 1
        if left >= size:
            break
        child = left
        if left + 1 < size and time[left + 1] < time[left]:
            child = left + 1
        if time[child] < time[i]:
            _dq_swap(dq, i, child)
            i = child
        else:
            break


@njit(cache=True)
def delivery_push(dq, when, t_spike, syn, end, proj):
    i = dq.size[0]
    dq.size[0] = i + 1
    dq.time[i] = when
    dq.t_spike[i] = t_spike
    dq.syn[i] = syn
    dq.end[i] = end
    dq.proj[i] = proj
    time = dq.time
    while i > 0:
        parent = (i - 1) >> 1
        if time[i] < time[parent]:
            _dq_swap(dq, i, parent)
            i = parent
        else:
            break


@njit(cache=True)
def _dq_pop(dq):
    last = dq.size[0] - 1
    dq.size[0] = last
    if last > 0:
        _dq_swap(dq, 0, last)
        _dq_down(dq, 0)


# ------------------------------------------------------------------ sources
@njit(cache=True)
def poisson_next(src, m, t):
    """Next spike time after ``t`` of Poisson source neuron ``m``: an Exp(1) draw spent against the
    integral of its piecewise-constant rate; inf if the rate stays 0."""
    u = uniform(src.key[m], src.count[m], src.index[m])
    src.count[m] += 1
    need = -math.log1p(-u)
    rate_dt = src.rate_dt[m]
    n_rows = src.n_rows[m]
    row = 0
    if rate_dt > 0.0:
        row = min(int(t / rate_dt), n_rows - 1)
    while True:
        rate = src.table[src.off[m] + row * src.n_cols[m] + src.col[m]]
        seg_end = (row + 1) * rate_dt if (rate_dt > 0.0 and row < n_rows - 1) else INF
        if rate > 0.0:
            dt_needed = need / rate
            if t + dt_needed <= seg_end:
                return t + dt_needed
            need -= rate * (seg_end - t)
        elif seg_end == INF:
            return INF
        t = seg_end
        row += 1


@njit(cache=True)
def source_next(src, m, t):
    """Next spike time of source neuron ``m`` at or after ``t`` (timed) / after ``t`` (Poisson)."""
    if src.kind[m] == SOURCE_POISSON:
        return poisson_next(src, m, t)
    p = src.tptr[m]
    return src.times[p] if p < src.tend[m] else INF


# ------------------------------------------------------------------ the loop
@njit(cache=True)
def initialise(tbl, syn, src, nq, n_neurons, n_sources):
    """Schedule the first predicted spike of neurons ``[0, n_neurons)`` and the first spike of source
    neurons ``[0, n_sources)`` (at t = 0). ``syn`` is unused; it keeps the argument list of :func:`run_events`."""
    for j in range(n_neurons):
        node_schedule(nq.key, nq.node, nq.pos, nq.size, j, next_spike(tbl, j, 0.0))
    for m in range(n_sources):
        node_schedule(nq.key, nq.node, nq.pos, nq.size, tbl.shape[0] + m, source_next(src, m, 0.0))


@njit(cache=True)
def states_at(tbl, t, v_out, i_out):
    """``v`` and ``i_syn`` of every neuron at time ``t`` (not before any neuron's last update)."""
    for j in range(tbl.shape[0]):
        v, i = state_at(tbl, j, t)
        v_out[j] = v
        i_out[j] = i


@njit(cache=True)
def _sample(tbl, rec, t_next):
    """Take every state sample due before ``t_next`` (all remaining ones when ``t_next`` is inf).

    The schedule ``ks`` holds only this segment's samples, so the last one (``t0 + duration``
    up to rounding) is taken once every event up to the end has been processed.
    """
    m = rec.next[0]
    ks = rec.ks
    while m < ks.shape[0]:
        k = ks[m]
        ts = rec.t0 + k * rec.dt
        if not ts < t_next:
            break
        for c in range(rec.col_node.shape[0]):
            every = rec.col_every[c]
            if k % every == 0:
                v, i = state_at(tbl, rec.col_node[c], ts)
                rec.out[rec.col_off[c] + k // every] = v if rec.col_var[c] == 0 else i
        m += 1
    rec.next[0] = m


@njit(cache=True)
def run_events(t_end, tbl, syn, src, nq, dq, rec, cnt):
    """Process every event with time ``<= t_end`` in time order (deliveries before spikes at equal times).

    Returns ``DONE``, or ``GROW_DELIVERIES``/``GROW_RECORDER`` when the next event might overflow
    that array (the caller grows it and calls again; nothing is lost).
    """
    n_neurons = tbl.shape[0]
    key, node, pos, size = nq
    max_out = 0
    for g in range(syn.grp_ptr.shape[0] - 1):
        max_out = max(max_out, syn.grp_ptr[g + 1] - syn.grp_ptr[g])
    rec_cap = rec.times.shape[0]
    dq_cap = dq.time.shape[0]
    totals = cnt.totals
    while True:
        t_del = dq.time[0] if dq.size[0] > 0 else INF
        t_node = key[0] if size[0] > 0 else INF
        t_next = min(t_del, t_node)
        if not t_next <= t_end:
            _sample(tbl, rec, INF if t_end > -INF else -INF)
            return DONE
        _sample(tbl, rec, t_next)
        totals[3] += 1
        if t_del <= t_node:  # deliver every synapse of the row that arrives now
            k = dq.syn[0]
            end = dq.end[0]
            p = dq.proj[0]
            t = t_del
            to_v = syn.to_v[p] != 0
            shared_w = syn.w_off[p] < 0
            w = syn.w0[p]
            base = syn.syn_lo[p]
            if syn.d_off[p] < 0:
                stop = end
            else:
                d_first = syn.delay[syn.d_off[p] + k - base]
                stop = k + 1
                while stop < end and syn.delay[syn.d_off[p] + stop - base] == d_first:
                    stop += 1
            for s in range(k, stop):
                j = syn.post[s]
                if not shared_w:
                    w = syn.weight[syn.w_off[p] + s - base]
                advance(tbl, j, t)
                if to_v:
                    if t > tbl[j, REF_UNTIL]:
                        tbl[j, V] += w
                else:
                    tbl[j, ISYN] += w
                node_schedule(key, node, pos, size, j, next_spike(tbl, j, t))
            totals[1] += stop - k
            if stop < end:  # the row's next delay: reuse the entry
                dq.time[0] = dq.t_spike[0] + syn.delay[syn.d_off[p] + stop - base]
                dq.syn[0] = stop
                _dq_down(dq, 0)
            else:
                _dq_pop(dq)
            continue
        # a node fires
        if rec.count[0] + 1 > rec_cap:
            return GROW_RECORDER
        if dq.size[0] + max_out > dq_cap:
            return GROW_DELIVERIES
        n = node[0]
        t = t_node
        if n < n_neurons:
            fire(tbl, n, t)
            totals[0] += 1
            node_schedule(key, node, pos, size, n, next_spike(tbl, n, t))
        else:
            m = n - n_neurons
            totals[2] += 1
            if src.kind[m] == SOURCE_TIMED:
                src.tptr[m] += 1
            node_schedule(key, node, pos, size, n, source_next(src, m, t))
        g = cnt.node_group[n]
        cnt.per_group[g] += 1
        if rec.mask[n]:
            c = rec.count[0]
            rec.times[c] = t
            rec.nodes[c] = n
            rec.count[0] = c + 1
        for q in range(syn.grp_ptr[g], syn.grp_ptr[g + 1]):
            p = syn.grp_proj[q]
            row = syn.row_off[p] + n - syn.pre_lo[p]
            first = syn.indptr[row]
            last = syn.indptr[row + 1]
            if first < last:
                d = syn.d0[p] if syn.d_off[p] < 0 else syn.delay[syn.d_off[p] + first - syn.syn_lo[p]]
                delivery_push(dq, t + d, t, first, last, p)
