"""Event-driven CPU backend: exact spike times in continuous time (:mod:`snnsim.kernels.event`).

``Simulator(network).run(duration)`` processes spikes and deliveries in time
order; between events every neuron follows the closed-form solution of its
equations, so spike times are not rounded to a grid (see ``docs/engines.md``).
Consecutive ``run`` calls continue from where the last one stopped. The engine
computes in float64 whatever ``dtype`` is asked; ``dt`` only sets the grid of
state probes and the delay of projections declared without one (one ``dt``, as in
the clock engine). Single-threaded.

Supported: ``LIF``, ``CubaLIF``, ``LI``, ``IF``; constant injected currents (they
join the bias); Poisson sources (constant or time-varying rates) and spike-time
sources; continuous per-synapse delays. Not supported, with an error that points
to ``backend="cpu"``: ``CobaLIF`` (conductance synapses make ``v`` nonlinear in
time between events) and time-series injected currents.
"""

from __future__ import annotations

import math
import time

import numpy as np

from snnsim.errors import NetworkError
from snnsim.models import IF, CobaLIF
from snnsim.network import Network, PoissonSource, StateProbe, check_dt
from snnsim.results import Results, SpikeTrains, Trace
from snnsim.kernels import event as ke

from . import lowering
from .common import check_duration, check_unchanged, compile_notice, structure_of

NAME = "event"


def check_supported(net: Network) -> None:
    """Raise a NetworkError naming the part of ``net`` this engine cannot simulate exactly."""
    for pop in net.populations.values():
        if isinstance(pop.model, CobaLIF):
            raise NetworkError(pop.where, "model", "CobaLIF (conductance-based synapses) cannot be simulated "
                               "exactly event-driven: v depends nonlinearly on the conductances between events; "
                               "use the clock engine, backend='cpu'")
    for cur in net.currents.values():
        if cur.sample_dt is not None:
            raise NetworkError(cur.where, "sample_dt", f"a time-series current (sample_dt={cur.sample_dt!r} s) is "
                               "not supported by the event engine, which needs a constant drive between events; "
                               "use the clock engine, backend='cpu', or a constant amplitude")


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


def _has_current(pop) -> bool:
    return "i_syn" in pop.model.state_variables


def _kind_of(pop) -> float:
    """The kernel's ``KIND`` of a population's neurons."""
    if isinstance(pop.model, IF):
        return ke.KIND_IF
    return ke.KIND_CURRENT if _has_current(pop) else ke.KIND_DELTA


def neuron_table(net: Network, layout: lowering.Layout) -> np.ndarray:
    """The ``(2, n_neurons, N_COLS)`` float64 table of :mod:`snnsim.kernels.event` at t = 0."""
    tbl = _aligned_table(layout.n_neurons, ke.N_COLS)
    i_ext = np.zeros(layout.n_neurons)
    for cur in net.currents.values():  # constant currents only (check_supported)
        lo = layout.offsets[cur.target]
        i_ext[lo:lo + layout.sizes[cur.target]] += cur.amplitude
    for name, pop in net.populations.items():
        lo, hi = layout.offsets[name], layout.offsets[name] + pop.size
        p = pop.parameters()
        init = pop.initial_state(net.seed)
        hot, cold = tbl[ke.HOT, lo:hi], tbl[ke.COLD, lo:hi]
        hot[:, ke.V] = init["v"]
        cold[:, ke.ISYN] = init.get("i_syn", 0.0)
        hot[:, ke.REF_UNTIL] = -np.inf
        hot[:, ke.PRED] = np.inf
        hot[:, ke.LINK] = -1.0
        hot[:, ke.TAU_M] = p["tau_mem"]
        has_current = _has_current(pop)
        cold[:, ke.KIND] = _kind_of(pop)
        cold[:, ke.TAU_S] = p["tau_syn"] if has_current else 0.0
        cold[:, ke.R] = p["r"]
        current = p["i_bias"] + i_ext[lo:hi]
        if isinstance(pop.model, IF):
            hot[:, ke.DRIVE] = p["r"] * current / p["tau_mem"]
        else:
            hot[:, ke.DRIVE] = p["v_leak"] + p["r"] * current
        if pop.model.spiking:
            hot[:, ke.V_TH] = p["v_th"]
            cold[:, ke.V_RESET] = p["v_reset"]
            cold[:, ke.V_SUB] = p["v_th"] - p["v_reset"]
            cold[:, ke.T_REF] = p["t_ref"]
            cold[:, ke.SUBTRACT] = 1.0 if pop.model.reset == "subtract" else 0.0
        else:
            hot[:, ke.V_TH] = np.inf
    return tbl


def _shared(values: np.ndarray):
    """The one value of ``values`` if they are all equal (or there are none), else None."""
    if len(values) == 0:
        return 0.0
    return float(values[0]) if (values == values[0]).all() else None


def lower_synapses(net: Network, layout: lowering.Layout, dt: float) -> ke.EventSynapses:
    """Concatenated CSR rows with continuous delays (s), each row sorted by delay.

    A projection declared without a delay gets one ``dt`` of the run (as in the clock engine).
    Weights or delays equal across a projection are stored once.
    """
    groups = [*layout.populations, *layout.sources]
    out_of = [[] for _ in groups]
    pre_lo, row_off, syn_lo, w0, w_off, d0, d_off, post_delta = ([] for _ in range(8))
    indptrs, posts, weights, delays = [], [], [], []
    n_rows = n_syn = n_w = n_d = 0
    for p, proj in enumerate(net.projections.values()):
        out_of[groups.index(proj.pre)].append(p)
        n_pre = len(proj.indptr) - 1
        pre_lo.append(layout.offsets[proj.pre])
        post_delta.append(int(_kind_of(net.populations[proj.post]) == ke.KIND_DELTA))
        row_off.append(n_rows)
        syn_lo.append(n_syn)
        post = proj.indices.astype(np.int64) + layout.offsets[proj.post]
        w = np.broadcast_to(np.asarray(proj.weights, np.float64), (proj.n_synapses,))
        d = np.broadcast_to(np.asarray(dt if proj.delays is None else proj.delays, np.float64), (proj.n_synapses,))
        shared_d = _shared(d)
        if shared_d is None:  # sort every row by delay, so deliveries walk each row in time order
            row = np.repeat(np.arange(n_pre), np.diff(proj.indptr))
            order = np.lexsort((d, row))
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


def lower_sources(net: Network, layout: lowering.Layout) -> ke.EventSources:
    """Per source neuron: Poisson rate tables and random streams, or its sorted spike times."""
    n = layout.n_nodes - layout.n_neurons
    kind, off, n_rows, n_cols, col = (np.zeros(n, np.int64) for _ in range(5))
    rate_dt, index, count = np.zeros(n), np.zeros(n, np.int64), np.zeros(n, np.int64)
    key = np.zeros(n, np.uint64)
    tptr, tend = np.zeros(n, np.int64), np.zeros(n, np.int64)
    tables, times, at_table, at_time = [], [], 0, 0
    for name, src in net.sources.items():
        lo = layout.offsets[name] - layout.n_neurons
        sl = slice(lo, lo + src.size)
        index[sl] = np.arange(src.size)
        if isinstance(src, PoissonSource):
            table = src.rate[None, :] if src.rate_dt is None else src.rate
            kind[sl] = ke.SOURCE_POISSON
            off[sl] = at_table
            n_rows[sl], n_cols[sl] = table.shape
            col[sl] = np.arange(src.size) if table.shape[1] > 1 else 0
            rate_dt[sl] = 0.0 if src.rate_dt is None else src.rate_dt
            key[sl] = lowering.source_key(net.seed, name)
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


class Simulator:
    """A network lowered for the event-driven engine, with its state and queues.

    Parameters
    ----------
    network : Network
    dt : float, optional
        Grid of state probes and the delay of projections declared without one (s);
        default ``network.dt``. Spike times do not depend on it otherwise.
    integration : None or "exact"
        The engine solves the equations in closed form; ``"euler"`` is rejected.
    dtype : {"float32", "float64"}
        Accepted for interface compatibility; the engine always computes in float64.
    """

    backend = NAME

    def __init__(self, network: Network, dt: float | None = None, integration: str | None = None,
                 dtype: str = "float32"):
        t0 = time.perf_counter()
        network.validate()
        self.network = network
        self.dt = check_dt(network.dt if dt is None else dt, "run")
        if integration not in (None, "exact"):
            raise NetworkError("run", "integration", f"the event engine solves the equations in closed form "
                               f"(exact); {integration!r} is a clock-engine scheme: use backend='cpu'")
        lowering.check_dtype(dtype)
        check_supported(network)
        self.layout = layout = lowering.layout_of(network)
        self.table = neuron_table(network, layout)
        self.synapses = lower_synapses(network, layout, self.dt)
        self.sources = lower_sources(network, layout)
        n_nodes = layout.n_nodes
        self.node_queue = ke.NodeQueue(np.full(n_nodes, np.inf), np.zeros(n_nodes, np.int64),
                                       np.full(n_nodes, -1, np.int64), np.zeros(1, np.int64))
        self.flight = ke.Flight(np.zeros(1024), np.zeros(1024, np.int64), np.zeros(1024, np.int64),
                                np.zeros(1024, np.int64), np.zeros(1, np.int64))
        n = layout.n_neurons
        self.window = ke.Window(np.zeros(1024), np.zeros(1024, np.int64), np.zeros(1024), np.zeros(1024, np.uint8),
                                np.zeros(1024, np.int64), np.zeros(1024, np.int64), np.zeros(256),
                                np.zeros(256, np.int64), np.zeros(n, np.int64))
        d_min = _shortest_delay(self.synapses)
        # a window stays just under the shortest delay, so rounding never lets a spike reach its own window
        self.clock = np.array([-1.0, d_min * (1.0 - 1e-9), np.inf, ke.WINDOW_DELIVERIES])
        self.record_mask = lowering.recorded_mask(network, layout)
        sizes = [layout.sizes[name] for name in (*layout.populations, *layout.sources)]
        self.node_group = np.repeat(np.arange(len(sizes), dtype=np.int32), sizes)
        self._structure = structure_of(network)
        self._started = False
        self.t = 0.0  # simulated time reached (s)
        self.build_s = time.perf_counter() - t0

    def state(self) -> dict[str, dict[str, np.ndarray]]:
        """State of every population at the time reached: ``{population: {variable: array}}``."""
        v, i = np.zeros(self.layout.n_neurons), np.zeros(self.layout.n_neurons)
        ke.states_at(self.table, self.t, v, i)
        out = {}
        for name, pop in self.network.populations.items():
            lo = self.layout.offsets[name]
            values = {"v": v, "i_syn": i}
            out[name] = {var: values[var][lo:lo + pop.size].copy() for var in pop.model.state_variables}
        return out

    def run(self, duration: float, progress: bool | None = None) -> Results:
        """Advance by ``duration`` (s) and return what was recorded (spikes with exact times)."""
        t_wall = time.perf_counter()
        duration = check_duration(duration)
        check_unchanged(self.network, self._structure)
        t0, t_end = self.t, self.t + duration
        rec, probe_cols = self._recorder(t0, duration)
        counters = ke.EventCounters(np.zeros(4, np.int64), self.node_group,
                                    np.zeros(len(self.layout.populations) + len(self.layout.sources), np.int64))
        args = (self.table, self.synapses, self.sources, self.node_queue)

        t_jit = time.perf_counter()
        with compile_notice(progress):  # compile or load from the cache: no event is processed
            ke.initialise(*args, 0, 0)
            ke.run_windows(-np.inf, *args, self.flight, self.window, rec._replace(ks=rec.ks[:0]), counters,
                           self.clock.copy())
        jit_s = time.perf_counter() - t_jit

        t_loop = time.perf_counter()
        if not self._started:
            ke.initialise(*args, self.layout.n_neurons, len(self.sources.kind))
            self._started = True
        if len(rec.ks) and rec.ks[0] == 0:  # the state at the start, before any event at that time
            ke.sample_at(self.table, rec, 0)
            rec.next[0] = 1
        out = ke.run_windows(t_end, *args, self.flight, self.window, rec, counters, self.clock)
        self.flight = ke.Flight(*out[:4], self.flight.count)
        self.window = self.window._replace(time=out[4], target=out[5], weight=out[6], flags=out[7], next=out[8],
                                           order=out[9], spike_time=out[10], spike_node=out[11])
        rec = rec._replace(times=out[12], nodes=out[13])
        loop_s = time.perf_counter() - t_loop
        self.t = t_end
        return self._results(t0, duration, rec, counters, probe_cols, jit_s, loop_s, time.perf_counter() - t_wall)

    def _recorder(self, t0: float, duration: float):
        """Spike recorder and the state samples of this segment: ``t0 + k dt`` for k every ``every``."""
        n_steps = math.floor(duration / self.dt + 1e-9)
        col_node, col_var, col_every, col_off, probe_cols, at, everies = [], [], [], [], {}, 0, set()
        for probe in self.network.probes.values():
            if not isinstance(probe, StateProbe):
                continue
            n_samples = n_steps // probe.every + 1
            first = len(col_node)
            for i in probe.neurons:
                col_node.append(self.layout.offsets[probe.target] + int(i))
                col_var.append(0 if probe.variable == "v" else 1)
                col_every.append(probe.every)
                col_off.append(at)
                at += n_samples
            everies.add(probe.every)
            probe_cols[probe.name] = (first, len(col_node), n_samples)
        ks = np.unique(np.concatenate([np.arange(0, n_steps + 1, e) for e in everies])) if everies else \
            np.zeros(0, np.int64)
        ints = lambda xs: np.array(xs, np.int64)  # noqa: E731
        capacity = 4096
        rec = ke.EventRecorder(self.record_mask, np.zeros(capacity), np.zeros(capacity, np.int64),
                               np.zeros(1, np.int64), float(t0), float(self.dt), ks.astype(np.int64),
                               np.zeros(1, np.int64), ints(col_node), ints(col_var), ints(col_every), ints(col_off),
                               np.zeros(at))
        return rec, probe_cols

    def _results(self, t0, duration, rec, cnt, probe_cols, jit_s, loop_s, wall_s) -> Results:
        layout, net = self.layout, self.network
        count = int(rec.count[0])
        order = np.lexsort((rec.nodes[:count], rec.times[:count]))  # windows record target by target
        times, nodes = rec.times[:count][order], rec.nodes[:count][order]
        spiking = tuple(name for name, pop in net.populations.items() if pop.model.spiking)
        res = Results(NAME, self.dt, "exact", "float64", t0, duration, dict(layout.sizes),
                      neuron_populations=layout.populations, spiking_populations=spiking)
        recorded = {p.target for p in net.probes.values() if not isinstance(p, StateProbe)}
        for name in recorded:
            lo = layout.offsets[name]
            sel = (nodes >= lo) & (nodes < lo + layout.sizes[name])
            res.spikes[name] = SpikeTrains(times[sel].copy(), (nodes[sel] - lo).astype(np.int64), layout.sizes[name])
        for name, probe in net.probes.items():
            if isinstance(probe, StateProbe):
                first, last, n_samples = probe_cols[name]
                values = np.stack([rec.out[rec.col_off[c]:rec.col_off[c] + n_samples] for c in range(first, last)],
                                  axis=1) if last > first else np.zeros((n_samples, 0))
                sample_times = t0 + np.arange(n_samples) * probe.every * self.dt
                res.traces[name] = Trace(probe.target, probe.variable, probe.neurons.copy(), sample_times, values)
        names = (*layout.populations, *layout.sources)
        res.spike_counts = {name: int(c) for name, c in zip(names, cnt.per_group)}
        res.counters = {"steps": 0, "neuron_spikes": int(cnt.totals[0]), "syn_events": int(cnt.totals[1]),
                        "source_spikes": int(cnt.totals[2]), "windows": int(cnt.totals[3]), "wall_s": wall_s,
                        "loop_s": loop_s, "jit_s": jit_s, "build_s": self.build_s if t0 == 0 else 0.0}
        return res


def _shortest_delay(syn: ke.EventSynapses) -> float:
    """The shortest synaptic delay (s); inf without synapses."""
    shared = syn.d0[(syn.d_off < 0) & (np.diff(syn.indptr[syn.row_off].tolist() + [len(syn.post)]) > 0)]
    parts = [shared] + ([syn.delay] if len(syn.delay) else [])
    values = np.concatenate(parts) if parts else np.zeros(0)
    return float(values.min()) if len(values) else np.inf


def run(network: Network, duration: float, *, dt: float | None = None, integration: str | None = None,
        dtype: str = "float32", progress: bool | None = None) -> Results:
    """Build a :class:`Simulator` and run it for ``duration`` seconds."""
    sim = Simulator(network, dt=dt, integration=integration, dtype=dtype)
    results = sim.run(duration, progress=progress)
    results.counters["wall_s"] += sim.build_s  # the whole call, lowering included
    return results
