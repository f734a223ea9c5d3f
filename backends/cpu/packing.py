"""Packing a :class:`~snnsim.plan.Plan` into the arrays the clock kernels step (CPU choices).

What is the CPU engine's own: one ``(12, n_neurons)`` coefficient matrix plus one row per
homogeneous population, spike flags padded to whole 64-bit words, all projections concatenated
into one CSR structure with weights and delays stored once where a projection shares them, and
a dense delay ring of ``L x n_neurons`` values (``L`` the power of two above the longest delay).
"""

from __future__ import annotations

import numpy as np

from snnsim.discretize import COBA_EULER, COBA_EXP_EULER, LINEAR
from snnsim.models import CobaLIF
from snnsim.plan import Plan
from snnsim.kernels import neurons as kn
from snnsim.kernels.clock import (FAMILY_COBA_EULER, FAMILY_COBA_EXP_EULER, FAMILY_LINEAR, FAMILY_LOIHI_FIXED,
                                  FAMILY_LOIHI_FLOAT, SOURCE_POISSON, SOURCE_TIMED, Currents, Neurons, Sources,
                                  Synapses)
from snnsim.kernels.rng import poisson_count_max, stream_key

FAMILY_CODES = {LINEAR: FAMILY_LINEAR, COBA_EULER: FAMILY_COBA_EULER, COBA_EXP_EULER: FAMILY_COBA_EXP_EULER}
ROW_OF = {"a": kn.A, "drive": kn.DRIVE, "c": kn.C, "ds": kn.DS, "ds2": kn.DS2, "e1": kn.E1, "e2": kn.E2,
          "gext": kn.GEXT, "v_th": kn.VTH, "v_reset": kn.VRESET, "v_sub": kn.VSUB, "keep": kn.KEEP}
#: where each model's state variable lives in the kernel state (``v``, ``syn``, ``syn2``)
SLOT_OF = {"v": 0, "i_syn": 1, "g_exc": 1, "g_inh": 2}
DTYPES = {"float32": np.float32, "float64": np.float64, "loihi_fixed": np.float64, "loihi_float": np.float64}


def ints(xs) -> np.ndarray:
    return np.array(xs, np.int64)


def pack_neurons(plan: Plan, dtype, state=None) -> Neurons:
    """The ``Neurons`` tuple of a float-arithmetic plan; ``state`` (v, syn, syn2, ref) keeps a
    running state instead of the plan's initial one."""
    layout = plan.layout
    n = layout.n_neurons
    coef = np.zeros((kn.N_ROWS, n), dtype=dtype)
    ref_steps = np.zeros(n, np.int32)
    initial = np.zeros((3, n), dtype=dtype)
    families, routes = [], []
    for pop in plan.populations.values():
        lo, hi = pop.lo, pop.lo + pop.size
        for key, row in ROW_OF.items():
            coef[row, lo:hi] = pop.coefficients[key]
        ref_steps[lo:hi] = pop.coefficients["ref_steps"]
        for var, value in pop.initial.items():
            initial[SLOT_OF[var], lo:hi] = value
        families.append(FAMILY_CODES[pop.family])
        routes.append((1.0, 0.0) if pop.delta else (0.0, 1.0))
    return _neurons(plan, coef, initial, ref_steps, families, np.array(routes, dtype).reshape(-1, 2), state)


def pack_loihi_neurons(plan: Plan, lnet, state=None) -> Neurons:
    """Neurons of a :class:`snnsim.loihi.LoihiNetwork` (float64; integers in fixed point):
    rows ``A`` = dv, ``DS`` = du, ``DRIVE`` = bias, ``VTH`` = threshold in state units, reset to 0."""
    from snnsim.loihi import VTH_SHIFT
    n = plan.layout.n_neurons
    coef = np.zeros((kn.N_ROWS, n), np.float64)
    initial = np.zeros((3, n), np.float64)
    family = FAMILY_LOIHI_FIXED if lnet.fixed_point else FAMILY_LOIHI_FLOAT
    for name, p in lnet.populations.items():
        lo, hi = plan.layout.offsets[name], plan.layout.offsets[name] + p.size
        coef[kn.A, lo:hi] = p.dv
        coef[kn.DS, lo:hi] = p.du
        coef[kn.DRIVE, lo:hi] = p.bias
        coef[kn.VTH, lo:hi] = (p.vth << VTH_SHIFT) if lnet.fixed_point else p.vth
        initial[0, lo:hi] = p.v0
        initial[1, lo:hi] = p.u0
    n_pop = len(lnet.populations)
    return _neurons(plan, coef, initial, np.zeros(n, np.int32), [family] * n_pop, np.zeros((n_pop, 2)), state)


def _neurons(plan: Plan, coef, initial, ref_steps, families, routes, state) -> Neurons:
    """The ``Neurons`` tuple: per-population ranges, and the shared coefficient column of each
    population whose neurons all have the same (``pop_uniform``)."""
    n = plan.layout.n_neurons
    pops = list(plan.populations.values())
    pop_lo = ints([p.lo for p in pops])
    pop_hi = pop_lo + ints([p.size for p in pops])
    flags = np.zeros(8 * ((n + 7) // 8), np.uint8)
    uniform = [int((coef[:, lo:hi] == coef[:, lo:lo + 1]).all()) for lo, hi in zip(pop_lo, pop_hi)]
    pop_coef = np.ascontiguousarray(coef[:, pop_lo].T)  # (n_populations, N_ROWS): first neuron's column
    if state is None:
        v, syn, syn2, ref = initial[0].copy(), initial[1].copy(), initial[2].copy(), np.zeros(n, np.int32)
    else:
        v, syn, syn2, ref = state
    return Neurons(v, syn, syn2, ref, flags, coef, ref_steps, pop_lo, pop_hi, ints(families), routes,
                   ints(uniform), pop_coef, np.zeros(n, dtype=coef.dtype))


def _store_once(values: np.ndarray, packed: list, n_packed: int, default):
    """A projection's weights or delays: ``(shared value, -1, n_packed)`` when one value
    serves every synapse, else ``(0, offset, n_packed + n)`` with ``values`` appended to ``packed``."""
    values = np.atleast_1d(values)
    if len(values) <= 1 or (values == values[0]).all():
        return (values[0] if len(values) else default), -1, n_packed
    packed.append(values)
    return 0, n_packed, n_packed + len(values)


def ring_length(max_delay: int) -> int:
    """Rows of the delay ring: the power of two above the longest delay (steps)."""
    length = 2
    while length <= max_delay:
        length *= 2
    return length


def pack_synapses(plan: Plan, dtype, weights_of: dict | None = None, min_length: int = 2) -> Synapses:
    """Concatenate projections; weights/delays shared by a whole projection are stored once.

    ``weights_of`` (projection name -> per-synapse weights) replaces the plan's weights
    (the Loihi arithmetics use their mapped weights); the ring has at least ``min_length`` rows."""
    layout = plan.layout
    groups = list(layout.groups)
    pre_group, pre_lo, row_off, channel, w0, w_off, d0, d_off = ([] for _ in range(8))
    indptrs, posts, weights, delays = [], [], [], []
    n_rows = n_syn = n_w = n_d = 0
    max_delay = 1
    for proj in plan.projections.values():
        pre_lo.append(proj.pre_lo)
        pre_group.append(groups.index(proj.pre))
        row_off.append(n_rows)
        channel.append(1 if proj.target == "inh" else 0)
        indptrs.append(proj.indptr + n_syn)
        posts.append(proj.indices.astype(np.uint32) + np.uint32(proj.post_lo))  # no int64 temporary
        values = proj.weights if weights_of is None else weights_of[proj.name]
        w, off, n_w = _store_once(np.asarray(values).astype(dtype), weights, n_w, default=0.0)
        w0.append(w)
        w_off.append(off)
        steps = proj.steps
        max_delay = max(max_delay, int(steps.max()) if len(steps) else 1)
        d, off, n_d = _store_once(steps, delays, n_d, default=1)
        d0.append(int(d))
        d_off.append(off)
        n_rows += len(proj.indptr)
        n_syn += proj.n_synapses
    delay_dtype = np.uint8 if max_delay <= 255 else (np.uint16 if max_delay <= 65535 else np.int32)
    length = max(ring_length(max_delay), min_length)
    n = layout.n_neurons
    ring = np.zeros((length, n), dtype=dtype)
    # the CobaLIF kernels read and zero the inhibitory inbox of all their neurons, connected or not
    has_coba = any(isinstance(pop.model, CobaLIF) for pop in plan.populations.values())
    ring2 = np.zeros((length, n) if (1 in channel or has_coba) else (1, 1), dtype=dtype)

    def cat(parts, dt_):
        if len(parts) == 1 and parts[0].dtype == dt_ and parts[0].flags.owndata:
            return parts[0]  # already a private copy: no second one
        return np.concatenate(parts).astype(dt_, copy=False) if parts else np.zeros(0, dt_)

    return Synapses(ints(pre_group), ints(pre_lo), ints(row_off), ints(channel), np.array(w0, dtype), ints(w_off),
                    ints(d0), ints(d_off), cat(indptrs, np.int64), cat(posts, np.uint32), cat(weights, dtype),
                    cat(delays, delay_dtype), ring, ring2, length - 1)


def moved_ring(old: np.ndarray, new: np.ndarray, step: int) -> np.ndarray:
    """Copy the input pending in ring ``old`` for steps ``step, step + 1, ..`` into ring ``new``
    (the row of step ``s`` is ``s & (L - 1)`` in each); ``new`` must hold as many rows."""
    if old.shape[0] == 1:  # the (1, 1) placeholder of an unused inhibitory ring
        return new
    rows = np.arange(step, step + old.shape[0])
    new[rows & (new.shape[0] - 1)] = old[rows & (old.shape[0] - 1)]
    return new


def poisson_buffer(lam: np.ndarray, size: int) -> int:
    """Spike-buffer entries a Poisson source of ``size`` neurons with means ``lam`` per step
    (``(n_rows, n_cols)``, ``n_cols`` 1 or ``size``) can fill in one step: per neuron the largest
    count :func:`poisson_count_max` at its largest mean."""
    peak, counts = np.unique(lam.max(axis=0), return_counts=True)
    scale = size if lam.shape[1] == 1 else 1
    return int(sum(poisson_count_max(float(x)) * int(c) * scale for x, c in zip(peak, counts)))


def pack_sources(plan: Plan) -> tuple[Sources, int]:
    """Source groups and the largest number of spikes they can emit in one step."""
    lo, hi, kind, tables, off, n_rows, n_cols, sps, keys = [], [], [], [], [], [], [], [], []
    tsteps, tidx, tptr, tend = [], [], [], []
    max_per_step, at_table, at_timed = 0, 0, 0
    for src in plan.sources.values():
        lo.append(src.lo)
        hi.append(src.lo + src.size)
        keys.append(np.uint64(stream_key(np.uint64(plan.seed), np.uint64(src.stream))))
        if src.kind == "poisson":   # Poisson counts per step: at most poisson_count_max each
            kind.append(SOURCE_POISSON)
            tables.append(src.prob.reshape(-1))
            off.append(at_table)
            n_rows.append(src.prob.shape[0])
            n_cols.append(src.prob.shape[1])
            sps.append(src.steps_per_sample)
            at_table += src.prob.size
            tptr.append(0)
            tend.append(0)
            max_per_step += poisson_buffer(src.prob, src.size)
        else:
            tsteps.append(src.steps)
            tidx.append(src.indices)
            kind.append(SOURCE_TIMED)
            off.append(0)
            n_rows.append(1)
            n_cols.append(1)
            sps.append(1)
            tptr.append(at_timed)
            at_timed += len(src.steps)
            tend.append(at_timed)
            max_per_step += int(np.unique(src.steps, return_counts=True)[1].max()) if len(src.steps) else 0
    sources = Sources(ints(lo), ints(hi), ints(kind), np.concatenate(tables) if tables else np.zeros(0), ints(off),
                      ints(n_rows), ints(n_cols), ints(sps), np.array(keys, np.uint64),
                      np.concatenate(tsteps) if tsteps else np.zeros(0, np.int64),
                      np.concatenate(tidx) if tidx else np.zeros(0, np.int64), ints(tptr), ints(tend))
    return sources, max_per_step


def pack_currents(plan: Plan, dtype) -> Currents:
    lo, hi, tables, off, n_rows, n_cols, sps, at = [], [], [], [], [], [], [], 0
    for cur in plan.currents.values():
        lo.append(cur.lo)
        hi.append(cur.lo + cur.size)
        tables.append(cur.table.reshape(-1).astype(dtype))
        off.append(at)
        n_rows.append(cur.table.shape[0])
        n_cols.append(cur.table.shape[1])
        sps.append(cur.steps_per_sample)
        at += cur.table.size
    return Currents(ints(lo), ints(hi), np.concatenate(tables) if tables else np.zeros(0, dtype), ints(off),
                    ints(n_rows), ints(n_cols), ints(sps), np.array([1 if lo else 0], np.int64))


def trace_columns(plan: Plan, k0: int, k1: int, first: bool):
    """The recorder's trace columns for a segment from step ``k0`` to ``k1``: per column (state slot,
    global neuron, every, offset so that step ``k``'s sample lands at ``offset + k // every``),
    the output buffer, and per probe ``(first column, last column, sampled steps)``."""
    from snnsim.results import trace_grid
    var, idx, every, off, probes, at = [], [], [], [], {}, 0
    for probe in plan.state_probes():
        ks = trace_grid(probe.every, k0, k1, first)
        lo = plan.layout.offsets[probe.target]
        first_col = len(var)
        base = at - (int(ks[0]) // probe.every if len(ks) else 0)
        for i in probe.neurons:
            var.append(SLOT_OF[probe.variable])
            idx.append(lo + int(i))
            every.append(probe.every)
            off.append(base)
            at += len(ks)
            base += len(ks)
        probes[probe.name] = (first_col, len(var), ks)
    return ints(var), ints(idx), ints(every), ints(off), np.zeros(at), probes
