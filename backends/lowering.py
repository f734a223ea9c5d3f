"""Lowering: a validated ``Network`` becomes the flat arrays the clock kernels step.

Shared by every backend that runs the clock loop (CPU now; GPU and MPI reuse it).
Nothing here steps time; it only numbers neurons, discretises parameters,
converts delays to steps and concatenates projections.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from snnsim.discretize import COBA_EULER, COBA_EXP_EULER, LINEAR, step_coefficients, steps_of
from snnsim.errors import NetworkError
from snnsim.models import CobaLIF
from snnsim.network import Network, PoissonSource, SpikeSource, StateProbe
from snnsim.kernels import neurons as kn
from snnsim.kernels.clock import (FAMILY_COBA_EULER, FAMILY_COBA_EXP_EULER, FAMILY_LINEAR, FAMILY_LOIHI_FIXED,
                                  FAMILY_LOIHI_FLOAT, SOURCE_POISSON, SOURCE_TIMED, Currents, Neurons, Sources,
                                  Synapses)
from snnsim.kernels.rng import stream_key

FAMILY_CODES = {LINEAR: FAMILY_LINEAR, COBA_EULER: FAMILY_COBA_EULER, COBA_EXP_EULER: FAMILY_COBA_EXP_EULER}
ROW_OF = {"a": kn.A, "drive": kn.DRIVE, "c": kn.C, "ds": kn.DS, "ds2": kn.DS2, "e1": kn.E1, "e2": kn.E2,
          "gext": kn.GEXT, "v_th": kn.VTH, "v_reset": kn.VRESET, "v_sub": kn.VSUB, "keep": kn.KEEP}
#: where each model's state variable lives in the kernel state (``v``, ``syn``, ``syn2``)
SLOT_OF = {"v": 0, "i_syn": 1, "g_exc": 1, "g_inh": 2}
DTYPES = {"float32": np.float32, "float64": np.float64}


def check_dtype(dtype) -> str:
    try:
        name = dtype if isinstance(dtype, str) else (np.dtype(dtype).name if dtype is not None else None)
    except TypeError:
        name = None
    if name not in DTYPES:
        raise NetworkError("run", "dtype", f"must be 'float32' or 'float64', got {dtype!r}")
    return name


@dataclass
class Layout:
    """Global numbering: ``offsets[name]`` is the first global index of each population/source."""

    offsets: dict[str, int]
    sizes: dict[str, int]
    n_neurons: int
    n_nodes: int
    populations: tuple[str, ...]
    sources: tuple[str, ...]


def layout_of(net: Network) -> Layout:
    offsets, sizes, at = {}, {}, 0
    for group in (net.populations, net.sources):
        for name, node in group.items():
            offsets[name] = at
            sizes[name] = node.size
            at += node.size
    return Layout(offsets, sizes, net.n_neurons, at, tuple(net.populations), tuple(net.sources))


def delay_steps(proj, dt: float) -> np.ndarray:
    """Delays in whole steps (rounded to nearest); raises if any is below one step.

    ``proj.delays is None`` (no delay given) means one step of this run's ``dt``.
    """
    if proj.delays is None:
        return np.ones(proj.n_synapses, np.int64)
    steps = np.rint(np.asarray(proj.delays, dtype=np.float64) / dt).astype(np.int64)
    steps = np.broadcast_to(steps, (proj.n_synapses,)) if steps.ndim == 0 else steps
    if len(steps) and steps.min() < 1:
        bad = np.atleast_1d(proj.delays)[np.argmin(steps) if np.ndim(proj.delays) else 0]
        raise NetworkError(proj.where, "delay", f"{bad!r} s rounds to {steps.min()} steps of dt={dt!r} s; "
                           f"synaptic delays must be at least one step")
    return steps


def lower_neurons(net: Network, layout: Layout, dt: float, integration: str, dtype) -> Neurons:
    n = layout.n_neurons
    coef = np.zeros((kn.N_ROWS, n), dtype=dtype)
    ref_steps = np.zeros(n, np.int32)
    state = np.zeros((3, n), dtype=dtype)
    families, deltas = [], []
    for name, pop in net.populations.items():
        lo, hi = layout.offsets[name], layout.offsets[name] + pop.size
        family, coefs = step_coefficients(pop.model, pop.parameters(), dt, integration, pop.where)
        for key, row in ROW_OF.items():
            coef[row, lo:hi] = coefs[key]
        ref_steps[lo:hi] = coefs["ref_steps"]
        for var, value in pop.initial_state(net.seed).items():
            state[SLOT_OF[var], lo:hi] = value
        families.append(FAMILY_CODES[family])
        deltas.append((1.0, 0.0) if pop.model.delta_synapses else (0.0, 1.0))
    return _neurons(layout, net.populations.values(), coef, state, ref_steps, families,
                    np.array(deltas, dtype).reshape(-1, 2))


def _neurons(layout: Layout, populations, coef, state, ref_steps, families, routes) -> Neurons:
    """The ``Neurons`` tuple: per-population ranges, and the shared coefficient column of each
    population whose neurons all have the same (``pop_uniform``)."""
    n = layout.n_neurons
    pop_lo = np.array([layout.offsets[p.name] for p in populations], np.int64)
    pop_hi = pop_lo + np.array([p.size for p in populations], np.int64)
    flags = np.zeros(8 * ((n + 7) // 8), np.uint8)
    uniform = [int((coef[:, lo:hi] == coef[:, lo:lo + 1]).all()) for lo, hi in zip(pop_lo, pop_hi)]
    pop_coef = np.ascontiguousarray(coef[:, pop_lo].T)  # (n_populations, N_ROWS): first neuron's column
    return Neurons(state[0].copy(), state[1].copy(), state[2].copy(), np.zeros(n, np.int32), flags, coef,
                   ref_steps, pop_lo, pop_hi, np.array(families, np.int64), routes, np.array(uniform, np.int64),
                   pop_coef, np.zeros(n, dtype=coef.dtype))


def lower_loihi_neurons(lnet, layout: Layout) -> Neurons:
    """Neurons of a :class:`snnsim.loihi.LoihiNetwork` (float64; integers in fixed point):
    rows ``A`` = dv, ``DS`` = du, ``DRIVE`` = bias, ``VTH`` = threshold in state units, reset to 0."""
    from snnsim.loihi import VTH_SHIFT
    n = layout.n_neurons
    coef = np.zeros((kn.N_ROWS, n), np.float64)
    state = np.zeros((3, n), np.float64)
    family = FAMILY_LOIHI_FIXED if lnet.fixed_point else FAMILY_LOIHI_FLOAT
    for name, p in lnet.populations.items():
        lo, hi = layout.offsets[name], layout.offsets[name] + p.size
        coef[kn.A, lo:hi] = p.dv
        coef[kn.DS, lo:hi] = p.du
        coef[kn.DRIVE, lo:hi] = p.bias
        coef[kn.VTH, lo:hi] = (p.vth << VTH_SHIFT) if lnet.fixed_point else p.vth
        state[0, lo:hi] = p.v0
        state[1, lo:hi] = p.u0
    n_pop = len(lnet.populations)
    return _neurons(layout, lnet.populations.values(), coef, state, np.zeros(n, np.int32), [family] * n_pop,
                    np.zeros((n_pop, 2)))


def _store_once(values: np.ndarray, packed: list, n_packed: int, default):
    """A projection's weights or delays: ``(shared value, -1, n_packed)`` when one value
    serves every synapse, else ``(0, offset, n_packed + n)`` with ``values`` appended to ``packed``."""
    values = np.atleast_1d(values)
    if len(values) <= 1 or (values == values[0]).all():
        return (values[0] if len(values) else default), -1, n_packed
    packed.append(values)
    return 0, n_packed, n_packed + len(values)


def lower_synapses(net: Network, layout: Layout, dt: float, dtype, weights_of: dict | None = None) -> Synapses:
    """Concatenate projections; weights/delays shared by a whole projection are stored once.

    ``weights_of`` (projection name -> per-synapse weights) replaces the network's weights
    (the Loihi integrations use their mapped weights)."""
    pre_group, pre_lo, row_off, channel, w0, w_off, d0, d_off = ([] for _ in range(8))
    groups = [*layout.populations, *layout.sources]
    indptrs, posts, weights, delays = [], [], [], []
    n_rows = n_syn = n_w = n_d = 0
    max_delay = 1
    for proj in net.projections.values():
        lo = layout.offsets[proj.pre]
        pre_lo.append(lo)
        pre_group.append(groups.index(proj.pre))
        row_off.append(n_rows)
        channel.append(1 if proj.target == "inh" else 0)
        indptrs.append(proj.indptr + n_syn)
        posts.append((proj.indices.astype(np.int64) + layout.offsets[proj.post]).astype(np.uint32))
        values = proj.weights if weights_of is None else weights_of[proj.name]
        w, off, n_w = _store_once(np.asarray(values).astype(dtype), weights, n_w, default=0.0)
        w0.append(w)
        w_off.append(off)
        steps = delay_steps(proj, dt)
        max_delay = max(max_delay, int(steps.max()) if len(steps) else 1)
        d, off, n_d = _store_once(steps, delays, n_d, default=1)
        d0.append(int(d))
        d_off.append(off)
        n_rows += len(proj.indptr)
        n_syn += proj.n_synapses
    delay_dtype = np.uint8 if max_delay <= 255 else (np.uint16 if max_delay <= 65535 else np.int32)
    length = 2
    while length <= max_delay:
        length *= 2
    n = layout.n_neurons
    ring = np.zeros((length, n), dtype=dtype)
    # the CobaLIF kernels read and zero the inhibitory inbox of all their neurons, connected or not
    has_coba = any(isinstance(pop.model, CobaLIF) for pop in net.populations.values())
    ring2 = np.zeros((length, n) if (1 in channel or has_coba) else (1, 1), dtype=dtype)

    def cat(parts, dt_):
        return np.concatenate(parts).astype(dt_, copy=False) if parts else np.zeros(0, dt_)

    ints = lambda xs: np.array(xs, np.int64)  # noqa: E731
    return Synapses(ints(pre_group), ints(pre_lo), ints(row_off), ints(channel), np.array(w0, dtype), ints(w_off),
                    ints(d0), ints(d_off), cat(indptrs, np.int64), cat(posts, np.uint32), cat(weights, dtype),
                    cat(delays, delay_dtype), ring, ring2, length - 1)


def _series_table(value: np.ndarray, sample_dt, dt, where, field) -> tuple[np.ndarray, int, int, int]:
    """(flat table, n_rows, n_cols, steps per sample) of a constant or time-series input."""
    table = value[None, :] if sample_dt is None else value
    sps = 1 if sample_dt is None else steps_of(sample_dt, dt, where, field)
    if sps < 1:
        raise NetworkError(where, field, f"sample interval {sample_dt!r} s is shorter than dt={dt!r} s")
    return table.reshape(-1), table.shape[0], table.shape[1], sps


def sampled(value: np.ndarray, sample_dt, dt, n_steps: int, size: int, where, field) -> np.ndarray:
    """A constant or time-series input as its value at every step, ``(n_steps, size)``:
    step ``n`` takes sample ``min(n // steps_per_sample, n_samples - 1)`` (``docs/models.md``).
    For backends that build the whole input at once (training); the clock kernels read the table."""
    table, n_rows, n_cols, sps = _series_table(value, sample_dt, dt, where, field)
    rows = np.minimum(np.arange(n_steps) // sps, n_rows - 1)
    return np.broadcast_to(table.reshape(n_rows, n_cols)[rows], (n_steps, size))


def source_key(seed: int, name: str) -> np.uint64:
    """The counter-based random stream of the source ``name``: from the seed and the name's CRC-32."""
    return np.uint64(stream_key(np.uint64(seed), np.uint64(zlib.crc32(name.encode()))))


def source_raster(net: Network, name: str, dt: float, n_steps: int) -> np.ndarray:
    """Spike counts ``(n_steps, size)`` of source ``name`` at ``t_k = k dt``, ``k = 0 .. n_steps-1``:
    the very spikes the clock engine emits (Poisson from the same counter-based stream; a
    neuron listed twice in one step counts twice). For backends that take a whole input."""
    from snnsim.kernels.rng import bernoulli_table
    src = net.sources[name]
    out = np.zeros((n_steps, src.size))
    if isinstance(src, SpikeSource):
        k = np.rint(src.times / dt).astype(np.int64)
        keep = k < n_steps
        np.add.at(out, (k[keep], src.indices[keep]), 1.0)
    elif n_steps > 1:
        # step n emits the spikes of t_{n+1} with p = rate(t_n) dt (docs/models.md)
        prob = sampled(src.rate * dt, src.rate_dt, dt, n_steps - 1, src.size, src.where, "rate_dt")
        out[1:] = bernoulli_table(source_key(net.seed, name), np.ascontiguousarray(prob), 1)
    return out


def lower_sources(net: Network, layout: Layout, dt: float) -> tuple[Sources, int]:
    """Source groups and the largest number of spikes they can emit in one step."""
    lo, hi, kind, tables, off, n_rows, n_cols, sps = [], [], [], [], [], [], [], []
    tsteps, tidx, tptr, tend = [], [], [], []
    max_per_step, at_table, at_timed = 0, 0, 0
    for name, src in net.sources.items():
        lo.append(layout.offsets[name])
        hi.append(layout.offsets[name] + src.size)
        if isinstance(src, PoissonSource):
            prob = src.rate * dt
            if (prob > 1).any():
                raise NetworkError(src.where, "rate", f"{src.rate.max()!r} Hz gives a spike probability "
                                   f"rate*dt = {prob.max():.3g} > 1 per step at dt={dt!r} s")
            table, rows, cols, s = _series_table(prob, src.rate_dt, dt, src.where, "rate_dt")
            kind.append(SOURCE_POISSON)
            tables.append(table)
            off.append(at_table)
            n_rows.append(rows)
            n_cols.append(cols)
            sps.append(s)
            at_table += len(table)
            tptr.append(0)
            tend.append(0)
            max_per_step += src.size
        elif isinstance(src, SpikeSource):
            k = np.rint(src.times / dt).astype(np.int64)
            order = np.lexsort((src.indices, k))
            tsteps.append(k[order])
            tidx.append(src.indices[order])
            kind.append(SOURCE_TIMED)
            off.append(0)
            n_rows.append(1)
            n_cols.append(1)
            sps.append(1)
            tptr.append(at_timed)
            at_timed += len(k)
            tend.append(at_timed)
            max_per_step += int(np.unique(k, return_counts=True)[1].max()) if len(k) else 0
    ints = lambda xs: np.array(xs, np.int64)  # noqa: E731
    keys = np.array([source_key(net.seed, name) for name in net.sources], np.uint64)
    sources = Sources(ints(lo), ints(hi), ints(kind),
                      np.concatenate(tables) if tables else np.zeros(0), ints(off), ints(n_rows), ints(n_cols),
                      ints(sps), keys,
                      np.concatenate(tsteps) if tsteps else np.zeros(0, np.int64),
                      np.concatenate(tidx) if tidx else np.zeros(0, np.int64), ints(tptr), ints(tend))
    return sources, max_per_step


def lower_currents(net: Network, layout: Layout, dt: float, dtype) -> Currents:
    lo, hi, tables, off, n_rows, n_cols, sps, at = [], [], [], [], [], [], [], 0
    for cur in net.currents.values():
        lo.append(layout.offsets[cur.target])
        hi.append(layout.offsets[cur.target] + layout.sizes[cur.target])
        table, rows, cols, s = _series_table(cur.amplitude, cur.sample_dt, dt, cur.where, "sample_dt")
        tables.append(table.astype(dtype))
        off.append(at)
        n_rows.append(rows)
        n_cols.append(cols)
        sps.append(s)
        at += len(table)
    ints = lambda xs: np.array(xs, np.int64)  # noqa: E731
    return Currents(ints(lo), ints(hi), np.concatenate(tables) if tables else np.zeros(0, dtype), ints(off),
                    ints(n_rows), ints(n_cols), ints(sps), np.array([1 if lo else 0], np.int64))


def recorded_mask(net: Network, layout: Layout) -> np.ndarray:
    mask = np.zeros(layout.n_nodes, np.uint8)
    for probe in net.probes.values():
        if not isinstance(probe, StateProbe):
            o = layout.offsets[probe.target]
            mask[o:o + layout.sizes[probe.target]] = 1
    return mask


def trace_columns(net: Network, layout: Layout, n_steps: int):
    """Per-column (var slot, global index, every, offset) and the per-probe column slices."""
    var, idx, every, off, probes, at = [], [], [], [], {}, 0
    for probe in net.probes.values():
        if not isinstance(probe, StateProbe):
            continue
        n_samples = n_steps // probe.every + 1
        first = len(var)
        for i in probe.neurons:
            var.append(SLOT_OF[probe.variable])
            idx.append(layout.offsets[probe.target] + int(i))
            every.append(probe.every)
            off.append(at)
            at += n_samples
        probes[probe.name] = (first, len(var), n_samples)
    ints = lambda xs: np.array(xs, np.int64)  # noqa: E731
    return ints(var), ints(idx), ints(every), ints(off), np.zeros(at), probes
