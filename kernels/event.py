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
- the **spikes in flight**: one entry per presynaptic spike and projection,
  pointing at the next synapse of its row to deliver. Rows are sorted by delay,
  so a window (see :func:`run_windows`) takes the synapses whose arrival falls in
  it from the front of each row, and the entry moves on.

At equal times deliveries come first, so every input arriving at ``t`` is added
before a neuron fires at ``t`` (the clock engine's order within a step).

Global numbering is the clock engine's: neurons ``[0, n_neurons)`` population
after population, then source neurons.

Per-neuron parameters and state live in one ``(2, n_neurons, N_COLS)`` float64
table: a hot half (state and what a delivery to a LIF reads: one cache line per
random access) and a cold half, columns named below. ``DRIVE`` is the asymptote ``v_leak + r (i_bias + i_ext)`` (V) of a
leaky neuron, and the slope ``r (i_bias + i_ext) / tau_mem`` (V/s) of an IF.
``TAU_S`` is 0 for instantaneous synapses. ``V_SUB`` is ``v_th - v_reset`` for reset by
subtraction, 0 for reset to ``V_RESET``. ``NEXT_OK`` (``-inf`` when none) is the earliest time of
the neuron's next spike: a reset by subtraction with ``t_ref = 0`` that leaves ``v`` above
threshold sets it to the next ``dt`` grid point (at most one spike per ``[k dt, (k+1) dt)``, the
clock engine's one spike per step), so a huge input cannot make the neuron fire without end at
one instant. ``V_TH`` is +inf for a leaky
integrator that never fires. ``PRED`` is the neuron's predicted next spike time
(its key in the node queue, inf when it has none). ``LINK`` is the neuron's last
delivery in the window being processed (-1 outside). ``REF_UNTIL`` is the end of the refractory period
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

from .hints import prefetch_row
from .rng import uniform

# the neuron table has two halves, ``tbl[0]`` (hot) and ``tbl[1]`` (cold), each ``(n_neurons, 8)``:
# a delivery to a LIF reads and chains through only its neuron's 64-byte hot row (one random
# access per delivery), and the hot half of 100 k neurons (6.4 MB) stays in cache where a
# 128-byte row per neuron (12.8 MB) did not
HOT, COLD = 0, 1
V, T_LAST, REF_UNTIL, TAU_M, DRIVE, V_TH, PRED, LINK = range(8)      # in tbl[HOT]
ISYN, TAU_S, R, V_RESET, V_SUB, T_REF, NEXT_OK, KIND = range(8)      # in tbl[COLD]
N_COLS = 8  # per half: 64 bytes
#: ``KIND``: leaky with instantaneous synapses (LIF, LI), IF, leaky with a synaptic current (CubaLIF, LI)
KIND_DELTA, KIND_IF, KIND_CURRENT = 0.0, 1.0, 2.0

SOURCE_POISSON, SOURCE_TIMED = 0, 1
INF = np.inf

#: projections: per source/population group ``g`` the projections leaving it are
#: ``grp_proj[grp_ptr[g]:grp_ptr[g + 1]]``; per projection ``p``: ``pre_lo`` (first global
#: node of its presynaptic group), ``row_off`` (its first row in ``indptr``), ``syn_lo``
#: (its first synapse), ``w0``/``w_off``
#: and ``d0``/``d_off`` (one shared weight/delay when the offset is -1, else per synapse
#: ``weight[w_off + k - syn_lo]``, ``delay[d_off + k - syn_lo]``, delays in s, rows sorted by delay),
#: ``post_delta`` (1 when its targets are leaky with instantaneous synapses: ``KIND_DELTA``)
EventSynapses = namedtuple("EventSynapses", "grp_ptr grp_proj pre_lo row_off syn_lo w0 w_off d0 d_off "
                                            "indptr post weight delay post_delta")
#: source neurons, indexed by ``node - n_neurons``: kind; Poisson: rate table slice (``off``,
#: ``n_rows``, ``n_cols``, column ``col``, sample interval ``rate_dt``, 0 for constant), random
#: stream ``key``, ``index`` in its group and ``count`` of intervals drawn; timed: the node's
#: sorted spike times ``times[tptr:tend]`` (``tptr`` advances)
EventSources = namedtuple("EventSources", "kind off n_rows n_cols col rate_dt table key index count times tptr tend")
#: the node queue (indexed heap): ``key/node`` in heap order, ``pos[node]`` (-1: absent), ``size[0]``
NodeQueue = namedtuple("NodeQueue", "key node pos size")
#: spikes in flight (growable, first ``count[0]`` used): spike time, next synapse of its row to
#: deliver, row end, projection
Flight = namedtuple("Flight", "t_spike cursor end proj count")
#: scratch of one window: per delivery arrival time, target, weight, ``flags`` (below) and the
#: previous delivery to the same target (chains from the target's ``LINK``
#: column, -1 ends one), a sort buffer ``order`` (all growable); the spikes of the window
#: (growable); ``touched`` (one per neuron) lists the targets that need the general path
Window = namedtuple("Window", "time target weight flags next order spike_time spike_node touched")
#: bits of a delivery's ``flags``: its target is ``KIND_DELTA``; the target has a later delivery in the window
FLAG_DELTA, FLAG_LATER = 1, 2
#: spikes of recorded nodes (``mask``; ``times/nodes`` growable, ``count[0]`` used) and state samples:
#: union of sample times ``t0 + ks[m] * dt``, per column (neuron, variable 0 = v / 1 = i_syn, every,
#: out offset); ``next[0]`` is the next sample to take
EventRecorder = namedtuple("EventRecorder", "mask times nodes count t0 dt ks next col_node col_var col_every "
                                            "col_off out")
#: ``totals``: [neuron spikes, deliveries, source spikes, windows]; spikes per group; per projection
#: entry of :class:`EventSynapses`: synapses of the spikes ``sent`` through it and ``delivered``
EventCounters = namedtuple("EventCounters", "totals node_group per_group sent delivered")
#: gathering prefetches the hot row of the target this many synapses ahead in the row: 2-3x fewer
#: stalls on the random row reads at low rates (100 k neurons: the hot half is 6.4 MB)
PREFETCH_AHEAD = 12
#: the default of ``clock[CLOCK_BUDGET]``, the deliveries a window should hold at most: their
#: targets' rows (64 bytes each) then stay in the core's cache between gathering and delivering.
#: Windows halve while they hold more, and grow back (up to ``CLOCK_W``) while they hold under a
#: quarter of it. Any window no longer than the shortest delay gives the same result.
WINDOW_DELIVERIES = 8192
#: ``[T, W, next_arrival, budget, dt]``: the end of the last window processed (s), the longest window
#: (s, just under the shortest delay; inf without synapses), the earliest arrival still in flight
#: (s), the window's delivery budget (see ``WINDOW_DELIVERIES``) and the run's ``dt`` (s: see ``NEXT_OK``)
CLOCK_T, CLOCK_W, CLOCK_NEXT_ARRIVAL, CLOCK_BUDGET, CLOCK_DT = 0, 1, 2, 3, 4


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


@njit(cache=True, inline="always")
def free_v(tbl, j, s, v0, i0):
    """``v`` of neuron ``j`` after ``s`` seconds of free evolution from ``(v0, i0)`` (no refractoriness)."""
    drive = tbl[HOT, j, DRIVE]
    kind = tbl[COLD, j, KIND]
    if kind == KIND_IF:
        return v0 + drive * s
    tau_m = tbl[HOT, j, TAU_M]
    v = drive + (v0 - drive) * math.exp(-s / tau_m)
    if kind == KIND_CURRENT and i0 != 0.0:
        v += tbl[COLD, j, R] * i0 * synaptic_kernel(s, tau_m, tbl[COLD, j, TAU_S])
    return v


@njit(cache=True)
def _state_at_current(tbl, j, t):
    """:func:`state_at` for a neuron with a synaptic current (kept apart: see there)."""
    t0 = tbl[HOT, j, T_LAST]
    v0 = tbl[HOT, j, V]
    i0 = tbl[COLD, j, ISYN]
    if t <= t0:
        return v0, i0
    tau_s = tbl[COLD, j, TAU_S]
    ref_until = tbl[HOT, j, REF_UNTIL]
    if ref_until >= t:  # refractory throughout: v held
        return v0, _decay(i0, t - t0, tau_s)
    start = t0
    if ref_until > t0:  # refractoriness ends on the way
        i0 = _decay(i0, ref_until - t0, tau_s)
        start = ref_until
    s = t - start
    return free_v(tbl, j, s, v0, i0), _decay(i0, s, tau_s)


@njit(cache=True, inline="always")
def state_at(tbl, j, t):
    """``(v, i_syn)`` of neuron ``j`` at ``t >= T_LAST`` without changing it (refractoriness included).

    Neurons without a synaptic current read only the first cache line of their row; the
    current-synapse case is a separate call so the compiler cannot hoist its loads into this path.
    """
    if tbl[COLD, j, KIND] == KIND_CURRENT:
        return _state_at_current(tbl, j, t)
    t0 = tbl[HOT, j, T_LAST]
    v0 = tbl[HOT, j, V]
    if t <= t0:
        return v0, 0.0
    ref_until = tbl[HOT, j, REF_UNTIL]
    if ref_until >= t:
        return v0, 0.0
    return free_v(tbl, j, t - max(t0, ref_until), v0, 0.0), 0.0


@njit(cache=True)
def _slope(tbl, j, s, v0, i0):
    """``dv/ds`` of a leaky neuron at ``s`` (V/s), from the equation itself."""
    v = free_v(tbl, j, s, v0, i0)
    return (tbl[HOT, j, DRIVE] - v + tbl[COLD, j, R] * _decay(i0, s, tbl[COLD, j, TAU_S])) / tbl[HOT, j, TAU_M]


@njit(cache=True)
def _root(tbl, j, v0, i0, lo, hi):
    """The crossing ``v(s) = v_th`` in ``[lo, hi]``, where ``v - v_th`` is monotone, <= 0 at ``lo`` and
    > 0 at ``hi``: Newton steps that stay inside the bracket, bisection otherwise."""
    v_th = tbl[HOT, j, V_TH]
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
    v_th = tbl[HOT, j, V_TH]
    if not v_th < INF:
        return INF
    drive = tbl[HOT, j, DRIVE]
    kind = tbl[COLD, j, KIND]
    if kind == KIND_IF:
        return (v_th - v0) / drive if drive > 0.0 else INF
    tau_m = tbl[HOT, j, TAU_M]
    if kind != KIND_CURRENT or i0 == 0.0:
        if drive > v_th:
            return tau_m * math.log((drive - v0) / (drive - v_th))
        return INF
    tau_s = tbl[COLD, j, TAU_S]
    a = tbl[COLD, j, R] * i0
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
def _next_spike_current(tbl, j, t):
    """:func:`next_spike` for a neuron with a synaptic current."""
    v_th = tbl[HOT, j, V_TH]
    v = tbl[HOT, j, V]
    i = tbl[COLD, j, ISYN]
    start = t
    ref_until = tbl[HOT, j, REF_UNTIL]
    if ref_until > t:
        start = ref_until
        i = _decay(i, ref_until - t, tbl[COLD, j, TAU_S])
    if v > v_th:
        return start if start >= tbl[COLD, j, NEXT_OK] else deferred_spike(tbl, j)
    return start + time_to_threshold(tbl, j, v, i)


@njit(cache=True, inline="always")
def next_spike(tbl, j, t):
    """Predicted spike time of neuron ``j``, whose state is committed at ``t``; inf without one."""
    v_th = tbl[HOT, j, V_TH]
    if not v_th < INF:
        return INF
    if tbl[COLD, j, KIND] == KIND_CURRENT:
        return _next_spike_current(tbl, j, t)
    v = tbl[HOT, j, V]
    start = t
    ref_until = tbl[HOT, j, REF_UNTIL]
    if ref_until > t:
        start = ref_until
    if v > v_th:
        return start if start >= tbl[COLD, j, NEXT_OK] else deferred_spike(tbl, j)
    drive = tbl[HOT, j, DRIVE]
    if tbl[COLD, j, KIND] == KIND_IF:
        return start + (v_th - v) / drive if drive > 0.0 else INF
    if drive > v_th:
        return start + tbl[HOT, j, TAU_M] * math.log((drive - v) / (drive - v_th))
    return INF


@njit(cache=True, inline="always")
def advance(tbl, j, t):
    """Commit neuron ``j``'s state at time ``t``."""
    v, i = state_at(tbl, j, t)
    tbl[HOT, j, V] = v
    if tbl[COLD, j, KIND] == KIND_CURRENT:
        tbl[COLD, j, ISYN] = i
    tbl[HOT, j, T_LAST] = t


@njit(cache=True, inline="always")
def deliver_delta(tbl, j, t, w):
    """A jump of ``w`` at ``t`` into leaky neuron ``j`` with instantaneous synapses (LIF, LI); returns
    its predicted spike time. :func:`advance`, the jump and :func:`next_spike` fused (twice as fast)."""
    t0 = tbl[HOT, j, T_LAST]
    v = tbl[HOT, j, V]
    ref_until = tbl[HOT, j, REF_UNTIL]
    drive = tbl[HOT, j, DRIVE]
    if t > t0 and ref_until < t:
        start = t0 if t0 > ref_until else ref_until
        v = drive + (v - drive) * math.exp(-(t - start) / tbl[HOT, j, TAU_M])
    if t > ref_until:
        v += w
    tbl[HOT, j, V] = v
    tbl[HOT, j, T_LAST] = t
    v_th = tbl[HOT, j, V_TH]
    start = t if ref_until <= t else ref_until
    if v > v_th:
        return start if start >= tbl[COLD, j, NEXT_OK] else deferred_spike(tbl, j)
    if drive > v_th:
        return start + tbl[HOT, j, TAU_M] * math.log((drive - v) / (drive - v_th))
    return INF


@njit(cache=True)
def deferred_spike(tbl, j):
    """Next spike of neuron ``j``, above threshold at ``T_LAST`` but not allowed to fire before
    ``NEXT_OK`` (see the module doc): at ``NEXT_OK`` if its free evolution is still above threshold
    then, else when it next reaches threshold from there (inf if never)."""
    t1 = tbl[COLD, j, NEXT_OK]
    v1, i1 = state_at(tbl, j, t1)
    if v1 > tbl[HOT, j, V_TH]:
        return t1
    return t1 + time_to_threshold(tbl, j, v1, i1)


@njit(cache=True, inline="always")
def next_grid_point(t, dt):
    """The first grid point ``k dt`` after ``t`` (s); ``t`` within 1e-9 dt below a grid point counts as on it."""
    return (math.floor(t / dt + 1e-9) + 1.0) * dt


@njit(cache=True)
def fire(tbl, j, t, dt):
    """Neuron ``j`` spikes at ``t``: reset (to ``v_reset`` or by ``v_th - v_reset``) and refractoriness.

    A spike predicted from the drive has ``v = v_th`` in exact arithmetic; a jump-evoked
    spike resets from the value above threshold (reset by subtraction keeps the excess). A
    reset by subtraction without refractoriness that leaves ``v`` above threshold defers the
    next spike to the next grid point of ``dt`` (s; ``NEXT_OK``).
    """
    advance(tbl, j, t)
    v = max(tbl[HOT, j, V], tbl[HOT, j, V_TH])
    v_sub = tbl[COLD, j, V_SUB]
    tbl[HOT, j, V] = v - v_sub if v_sub > 0.0 else tbl[COLD, j, V_RESET]
    if tbl[COLD, j, T_REF] > 0.0:
        tbl[HOT, j, REF_UNTIL] = t + tbl[COLD, j, T_REF]
    elif tbl[HOT, j, V] > tbl[HOT, j, V_TH]:
        tbl[COLD, j, NEXT_OK] = next_grid_point(t, dt)


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


@njit(cache=True)
def set_prediction(tbl, nq, j, when):
    """Neuron ``j``'s next spike is predicted at ``when`` (inf: none); the node queue follows.

    Per-delivery loops write this out with the queue's arrays unpacked once: inlining it
    (``inline="always"``) binds ``nq`` and ``tbl`` anew at every call, and the reference
    counting that costs made the delivery loop about twice as slow.
    """
    if when != tbl[HOT, j, PRED]:
        tbl[HOT, j, PRED] = when
        node_schedule(nq.key, nq.node, nq.pos, nq.size, j, when)


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
        set_prediction(tbl, nq, j, next_spike(tbl, j, 0.0))
    for m in range(n_sources):
        node_schedule(nq.key, nq.node, nq.pos, nq.size, tbl.shape[1] + m, source_next(src, m, 0.0))


@njit(cache=True)
def recommit(tbl, nq, new, lo, hi, t):
    """Neurons ``lo:hi`` take the parameters of table ``new`` from time ``t`` on: their state is
    committed at ``t`` with the old ones, then their next spike is predicted anew."""
    for j in range(lo, hi):
        advance(tbl, j, t)
        for col in (TAU_M, DRIVE, V_TH):
            tbl[HOT, j, col] = new[HOT, j, col]
        for col in (TAU_S, R, V_RESET, V_SUB, T_REF):
            tbl[COLD, j, col] = new[COLD, j, col]
        set_prediction(tbl, nq, j, next_spike(tbl, j, t))


@njit(cache=True)
def reschedule_sources(src, nq, n_neurons, lo, hi, t):
    """Source neurons ``lo:hi`` (source numbering) follow their new rates or times after ``t``: a
    Poisson neuron draws its next spike from ``t`` on (the process is memoryless), a timed one
    skips the times up to ``t`` (its ``tptr`` starts at the first of its times)."""
    for m in range(lo, hi):
        if src.kind[m] == SOURCE_TIMED:
            p = src.tptr[m]
            while p < src.tend[m] and src.times[p] <= t:
                p += 1
            src.tptr[m] = p
        node_schedule(nq.key, nq.node, nq.pos, nq.size, n_neurons + m,
                      source_next(src, m, t) if src.kind[m] == SOURCE_TIMED else poisson_next(src, m, t))


@njit(cache=True)
def states_at(tbl, t, v_out, i_out):
    """``v`` and ``i_syn`` of every neuron at time ``t`` (not before any neuron's last update)."""
    for j in range(tbl.shape[1]):
        v, i = state_at(tbl, j, t)
        v_out[j] = v
        i_out[j] = i


@njit(cache=True)
def grown(arr, need):
    """``arr`` if it holds ``need`` items, else a copy at least twice as long."""
    n = arr.shape[0]
    if need <= n:
        return arr
    out = np.empty(max(2 * n, need, 16), arr.dtype)
    out[:n] = arr
    return out


@njit(cache=True)
def sample_at(tbl, rec, m):
    """Take state sample ``m`` (time ``t0 + ks[m] dt``) of every column due then."""
    k = rec.ks[m]
    ts = rec.t0 + k * rec.dt
    for c in range(rec.col_node.shape[0]):
        every = rec.col_every[c]
        if k % every == 0:
            v, i = state_at(tbl, rec.col_node[c], ts)
            rec.out[rec.col_off[c] + k // every] = v if rec.col_var[c] == 0 else i


@njit(cache=True)
def _deliver_singles(n_del, wb_t, wb_j, wb_w, wb_flags, wb_next, touched, tbl, nq):
    """Take every target with one delivery in the window through it, in gather order; returns how
    many other targets it put in ``touched`` (several deliveries, a synaptic current or IF, or a
    spike due before the delivery), for :func:`_run_targets`.

    Delivery ``i`` is its target's only one when no later one has flagged it (``FLAG_LATER``)
    and no earlier one is chained to it (``wb_next[i] < 0``); only then is the target's row
    read. A spike the delivery brings into the window is left to the node queue (step (4) of
    :func:`run_windows`), which fires it in time.
    """
    key, node, pos, size = nq.key, nq.node, nq.pos, nq.size
    n_touched = 0
    for i in range(n_del):
        flags = wb_flags[i]
        if flags & FLAG_LATER:  # the target has a later delivery: handled from that one
            continue
        j = wb_j[i]
        t = wb_t[i]
        if wb_next[i] >= 0 or not flags & FLAG_DELTA or tbl[HOT, j, PRED] < t:
            touched[n_touched] = j
            n_touched += 1
            continue
        tbl[HOT, j, LINK] = -1.0
        pred = deliver_delta(tbl, j, t, wb_w[i])
        if pred != tbl[HOT, j, PRED]:  # set_prediction, written out (see there)
            tbl[HOT, j, PRED] = pred
            node_schedule(key, node, pos, size, j, pred)
    return n_touched


@njit(cache=True)
def _run_targets(q, k, m, n_touched, touched, order, wb_t, wb_w, wb_flags, wb_next, tbl, nq, t_hi, sp_t, sp_n,
                 n_sp, dt):
    """Take touched targets ``q, q+1, ...`` through their deliveries in time order, firing wherever the
    predicted spike comes first; spikes go to ``sp_t/sp_n``; ``dt`` (s) is :func:`fire`'s.

    A target's deliveries (the chain from its ``LINK``) are laid out in ``order[:m]`` by arrival
    time (insertion sort: a target gets a few per window); ``k`` is the next one, -1 before the
    layout. Returns ``(q, k, m, n_sp)``: ``q == n_touched`` when done, else where to resume once
    the spike buffer has grown.
    """
    key, node, pos, size = nq.key, nq.node, nq.pos, nq.size
    cap = sp_t.shape[0]
    while q < n_touched:
        j = touched[q]
        if k < 0:
            m = 0
            i = int(tbl[HOT, j, LINK])
            tbl[HOT, j, LINK] = -1.0
            while i >= 0:
                at = m
                ti = wb_t[i]
                while at > 0 and wb_t[order[at - 1]] > ti:
                    order[at] = order[at - 1]
                    at -= 1
                order[at] = i
                m += 1
                i = wb_next[i]
            k = 0
        pred = tbl[HOT, j, PRED]
        while k < m:
            i = order[k]
            t = wb_t[i]
            while pred < t:
                if n_sp == cap:
                    set_prediction(tbl, nq, j, pred)
                    return q, k, m, n_sp
                fire(tbl, j, pred, dt)
                sp_t[n_sp] = pred
                sp_n[n_sp] = j
                n_sp += 1
                pred = next_spike(tbl, j, pred)
            if wb_flags[i] & FLAG_DELTA:
                pred = deliver_delta(tbl, j, t, wb_w[i])
            else:
                advance(tbl, j, t)
                if tbl[COLD, j, KIND] == KIND_CURRENT:
                    tbl[COLD, j, ISYN] += wb_w[i]
                elif t > tbl[HOT, j, REF_UNTIL]:  # instantaneous synapse: jump v unless refractory
                    tbl[HOT, j, V] += wb_w[i]
                pred = next_spike(tbl, j, t)
            k += 1
        while pred <= t_hi:
            if n_sp == cap:
                set_prediction(tbl, nq, j, pred)
                return q, k, m, n_sp
            fire(tbl, j, pred, dt)
            sp_t[n_sp] = pred
            sp_n[n_sp] = j
            n_sp += 1
            pred = next_spike(tbl, j, pred)
        if pred != tbl[HOT, j, PRED]:  # set_prediction, written out (see there)
            tbl[HOT, j, PRED] = pred
            node_schedule(key, node, pos, size, j, pred)
        q += 1
        k = -1
    return q, k, m, n_sp


@njit(cache=True)
def run_windows(t_end, tbl, syn, src, nq, flight, win, rec, cnt, clock):
    """Process every event up to ``t_end`` (s), window by window; returns the grown arrays
    ``(flight t_spike, cursor, end, proj, window time, target, weight, flags, next, order,
    spike_time, spike_node, recorder times, nodes)``.

    A window ``(T, T_end]`` is never longer than the shortest delay, so every delivery that
    arrives in it comes from a spike before it: the window's deliveries are all known when it
    starts, and neurons are independent inside it. Each window (1) moves the deliveries that
    arrive in it out of the spikes in flight, chaining each target's deliveries through its
    ``LINK``, (2) takes every target with one delivery through it (most targets at low rates),
    (3) takes every other target through its deliveries in time order, firing wherever its
    predicted spike comes first (inputs at equal times before the spike), and sets its next
    predicted spike once, (4) fires the neurons and sources whose next spike from the node
    queue falls in the window, (5) puts the window's spikes in flight. A window starts where
    the earliest pending event is and ends at most one window length later, at the next state
    sample, or at ``t_end``.
    """
    key = nq.key
    node = nq.node
    pos = nq.pos
    size = nq.size
    fl_t, fl_c, fl_e, fl_p = flight.t_spike, flight.cursor, flight.end, flight.proj
    n_fl = flight.count[0]
    wb_t, wb_j, wb_w, wb_flags, wb_next, order = win.time, win.target, win.weight, win.flags, win.next, win.order
    touched = win.touched
    sp_t, sp_n = win.spike_time, win.spike_node
    rec_t, rec_n = rec.times, rec.nodes
    totals = cnt.totals
    # plain arrays in the hot loops: reading a tuple field there costs reference counting
    post, weight, delay = syn.post, syn.weight, syn.delay
    w0, w_off_of, d0, d_off_of, syn_lo, post_delta = syn.w0, syn.w_off, syn.d0, syn.d_off, syn.syn_lo, syn.post_delta
    grp_ptr, grp_proj, row_off, pre_lo, indptr = syn.grp_ptr, syn.grp_proj, syn.row_off, syn.pre_lo, syn.indptr
    node_group, per_group, mask = cnt.node_group, cnt.per_group, rec.mask
    sent, delivered = cnt.sent, cnt.delivered
    max_out = 0  # most projections leaving one group
    for g in range(grp_ptr.shape[0] - 1):
        max_out = max(max_out, grp_ptr[g + 1] - grp_ptr[g])
    n_neurons = tbl.shape[1]
    width = clock[CLOCK_W]
    span = width  # this window's length: shortened while windows hold more than the budget
    budget = clock[CLOCK_BUDGET]
    t_lo = clock[CLOCK_T]
    next_arrival = clock[CLOCK_NEXT_ARRIVAL]
    m = rec.next[0]
    n_samples = rec.ks.shape[0]
    while t_lo < t_end:
        t_sample = rec.t0 + rec.ks[m] * rec.dt if m < n_samples else INF
        earliest = min(key[0] if size[0] > 0 else INF, next_arrival)
        t_hi = min(earliest + span, t_sample, t_end)
        totals[3] += 1
        # (1) deliveries arriving in (t_lo, t_hi]
        bound = 0
        for e in range(n_fl):
            bound += fl_e[e] - fl_c[e]
        if bound > wb_t.shape[0]:
            wb_t = grown(wb_t, bound)
            wb_j = grown(wb_j, bound)
            wb_w = grown(wb_w, bound)
            wb_flags = grown(wb_flags, bound)
            wb_next = grown(wb_next, bound)
            order = grown(order, bound)
        n_del = 0
        kept = 0
        next_arrival = INF
        # chaining reads each target's hot row while gathering, which brings it into cache
        # before (2) and (3) work on it; the row PREFETCH_AHEAD synapses further is prefetched
        for e in range(n_fl):
            p = fl_p[e]
            t_spike = fl_t[e]
            c = fl_c[e]
            c_first = c
            end = fl_e[e]
            base = syn_lo[p]
            w_off = w_off_of[p]
            shared_w = w0[p]
            flags = FLAG_DELTA if post_delta[p] else 0
            shared_d = d_off_of[p] < 0
            d_off = d_off_of[p] - base
            while c < end:
                arrival = t_spike + (d0[p] if shared_d else delay[d_off + c])
                if arrival > t_hi:
                    next_arrival = min(next_arrival, arrival)
                    break
                if c + PREFETCH_AHEAD < end:
                    prefetch_row(tbl, HOT, post[c + PREFETCH_AHEAD])
                j = post[c]
                prev = int(tbl[HOT, j, LINK])
                wb_next[n_del] = prev
                wb_flags[n_del] = flags
                if prev >= 0:
                    wb_flags[prev] |= FLAG_LATER
                tbl[HOT, j, LINK] = n_del
                wb_t[n_del] = arrival
                wb_j[n_del] = j
                wb_w[n_del] = shared_w if w_off < 0 else weight[w_off + c - base]
                n_del += 1
                c += 1
            delivered[p] += c - c_first
            if c < end:
                fl_t[kept] = t_spike
                fl_c[kept] = c
                fl_e[kept] = end
                fl_p[kept] = p
                kept += 1
        n_fl = kept
        totals[1] += n_del
        if n_del > budget:
            span *= 0.5
        elif 4 * n_del < budget and span < width:
            span = min(2.0 * span, width)
        # (2) targets with one delivery; (3) the others. Spikes go to a buffer that is emitted in
        # (5): no array is replaced inside the per-delivery loops (that would cost reference
        # counting on every iteration)
        n_touched = _deliver_singles(n_del, wb_t, wb_j, wb_w, wb_flags, wb_next, touched, tbl, nq)
        q = 0
        k = -1
        n_lay = 0
        n_sp = 0
        while True:
            q, k, n_lay, n_sp = _run_targets(q, k, n_lay, n_touched, touched, order, wb_t, wb_w, wb_flags, wb_next,
                                             tbl, nq, t_hi, sp_t, sp_n, n_sp, clock[CLOCK_DT])
            if q >= n_touched:
                break
            sp_t = grown(sp_t, 2 * n_sp)
            sp_n = grown(sp_n, 2 * n_sp)
        # (4) nodes whose next spike falls in the window
        while size[0] > 0 and key[0] <= t_hi:
            if n_sp == sp_t.shape[0]:
                sp_t = grown(sp_t, 2 * n_sp)
                sp_n = grown(sp_n, 2 * n_sp)
            n = node[0]
            t = key[0]
            if n < n_neurons:
                fire(tbl, n, t, clock[CLOCK_DT])
                set_prediction(tbl, nq, n, next_spike(tbl, n, t))
            else:
                s_m = n - n_neurons
                if src.kind[s_m] == SOURCE_TIMED:
                    src.tptr[s_m] += 1
                node_schedule(key, node, pos, size, n, source_next(src, s_m, t))
            sp_t[n_sp] = t
            sp_n[n_sp] = n
            n_sp += 1
        # (5) count and record the window's spikes and put one entry per outgoing row in flight
        if n_sp > 0:
            fl_t = grown(fl_t, n_fl + n_sp * max_out)
            fl_c = grown(fl_c, n_fl + n_sp * max_out)
            fl_e = grown(fl_e, n_fl + n_sp * max_out)
            fl_p = grown(fl_p, n_fl + n_sp * max_out)
            rec_t = grown(rec_t, rec.count[0] + n_sp)
            rec_n = grown(rec_n, rec.count[0] + n_sp)
        for e in range(n_sp):
            n = sp_n[e]
            t = sp_t[e]
            if n < n_neurons:
                totals[0] += 1
            else:
                totals[2] += 1
            g = node_group[n]
            per_group[g] += 1
            if mask[n]:
                rc = rec.count[0]
                rec_t[rc] = t
                rec_n[rc] = n
                rec.count[0] = rc + 1
            for gq in range(grp_ptr[g], grp_ptr[g + 1]):
                p = grp_proj[gq]
                row = row_off[p] + n - pre_lo[p]
                first = indptr[row]
                last = indptr[row + 1]
                if first < last:
                    sent[p] += last - first
                    fl_t[n_fl] = t
                    fl_c[n_fl] = first
                    fl_e[n_fl] = last
                    fl_p[n_fl] = p
                    n_fl += 1
                    d = d0[p] if d_off_of[p] < 0 else delay[d_off_of[p] + first - syn_lo[p]]
                    next_arrival = min(next_arrival, t + d)
        t_lo = t_hi
        if t_hi == t_sample:
            sample_at(tbl, rec, m)
            m += 1
    while m < n_samples:  # the last sample may lie an ulp past t_end
        sample_at(tbl, rec, m)
        m += 1
    rec.next[0] = m
    clock[CLOCK_T] = t_lo
    clock[CLOCK_NEXT_ARRIVAL] = next_arrival
    flight.count[0] = n_fl
    return fl_t, fl_c, fl_e, fl_p, wb_t, wb_j, wb_w, wb_flags, wb_next, order, sp_t, sp_n, rec_t, rec_n
