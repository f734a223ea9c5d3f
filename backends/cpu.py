"""Time-driven CPU backend: the Numba clock loop of :mod:`snnsim.kernels.clock`.

``Simulator(network).run(duration)`` lowers the network once, then advances it
in chunks (so a progress bar can follow long runs); consecutive ``run`` calls
continue from where the last one stopped. Single-threaded.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from snnsim import loihi
from snnsim.discretize import steps_of
from snnsim.network import Network, StateProbe, check_dt, check_integration
from snnsim.results import Results, SpikeTrains, Trace
from snnsim.kernels.clock import Counters, Recorder, run_steps

from . import lowering
from .common import check_duration, check_unchanged, compile_notice, structure_of

NAME = "cpu"


class Simulator:
    """A network lowered for the CPU clock engine, with its state.

    Parameters
    ----------
    network : Network
    dt : float, optional
        Step (s); default ``network.dt``.
    integration : {"exact", "euler", "loihi", "loihi_float"}, optional
        Default ``network.integration``. ``loihi``: Loihi's fixed-point LIF, bit-identical to
        Lava's ``fixed_pt`` (the network is mapped by :func:`snnsim.loihi.quantize`, kept as
        ``self.loihi``; traces are in integer state units); ``loihi_float``: Loihi's update
        order in float64, as Lava's ``floating_pt`` (traces in volts from ``v_reset``).
    dtype : {"float32", "float64"}
        Precision of state, coefficients and weights (always float64 for the Loihi integrations).
    """

    backend = NAME

    def __init__(self, network: Network, dt: float | None = None, integration: str | None = None,
                 dtype: str = "float32"):
        t0 = time.perf_counter()
        network.validate()
        self.network = network
        self.dt = check_dt(network.dt if dt is None else dt, "run")
        self.integration = check_integration(network.integration if integration is None else integration, "run")
        self.dtype = lowering.check_dtype(dtype)
        self.layout = lowering.layout_of(network)
        self.loihi = None
        if self.integration in ("loihi", "loihi_float"):
            # Loihi's arithmetic: integers (exact in float64) or Lava's float64 model
            self.dtype = "float64"
            self.loihi = (loihi.quantize if self.integration == "loihi" else loihi.float_parameters)(network, self.dt)
            self.neurons = lowering.lower_loihi_neurons(self.loihi, self.layout)
            self.synapses = lowering.lower_synapses(network, self.layout, self.dt, np.float64,
                                                    {n: p.weights for n, p in self.loihi.projections.items()})
        else:
            np_dtype = lowering.DTYPES[self.dtype]
            self.neurons = lowering.lower_neurons(network, self.layout, self.dt, self.integration, np_dtype)
            self.synapses = lowering.lower_synapses(network, self.layout, self.dt, np_dtype)
        self.sources, source_max = lowering.lower_sources(network, self.layout, self.dt)
        self.currents = lowering.lower_currents(network, self.layout, self.dt, lowering.DTYPES[self.dtype])
        self.record_mask = lowering.recorded_mask(network, self.layout)
        # upper bound on the spikes recorded in one step
        self.max_per_step = int(self.record_mask[:self.layout.n_neurons].sum()) + source_max
        self.spike_scratch = np.zeros(self.layout.n_neurons + source_max + 1, np.int64)
        group_lo = np.array([self.layout.offsets[n] for n in (*self.layout.populations, *self.layout.sources)]
                            + [self.layout.n_nodes], np.int64)
        self._group_lo = group_lo
        self._structure = structure_of(network)
        self.step = 0  # steps done so far
        self.build_s = time.perf_counter() - t0

    @property
    def t(self) -> float:
        """Simulated time reached (s)."""
        return self.step * self.dt

    def state(self) -> dict[str, dict[str, np.ndarray]]:
        """Current state of every population: ``{population: {variable: array}}`` (copies)."""
        out = {}
        slots = (self.neurons.v, self.neurons.syn, self.neurons.syn2)
        for name, pop in self.network.populations.items():
            lo = self.layout.offsets[name]
            out[name] = {var: slots[lowering.SLOT_OF[var]][lo:lo + pop.size].copy()
                         for var in pop.model.state_variables}
        return out

    def run(self, duration: float, progress: bool | None = None) -> Results:
        """Advance by ``duration`` (s, a whole number of steps) and return what was recorded."""
        t_wall = time.perf_counter()
        duration = check_duration(duration)
        n_steps = steps_of(duration, self.dt, "run", "duration")
        check_unchanged(self.network, self._structure)
        n0, k0 = self.step, self.step
        tr_var, tr_idx, tr_every, tr_off, tr_out, probe_cols = lowering.trace_columns(
            self.network, self.layout, n_steps)
        self._sample_initial(tr_var, tr_idx, tr_off, tr_out)
        capacity = max(4096, 4 * self.max_per_step)
        rec = Recorder(self.record_mask, np.zeros(capacity, np.int64), np.zeros(capacity, np.int32),
                       np.zeros(1, np.int64), self.max_per_step, tr_var, tr_idx, tr_every, tr_off, tr_out)
        cnt = Counters(np.zeros(3, np.int64), self._group_lo, np.zeros(len(self._group_lo) - 1, np.int64),
                       np.zeros(len(self._group_lo), np.int64))
        args = (self.neurons, self.synapses, self.sources, self.currents)

        t_jit = time.perf_counter()
        with compile_notice(progress):
            run_steps(n0 + 1, n0 + 1, k0, *args, rec, cnt, self.spike_scratch)  # compile or load: no step taken
        jit_s = time.perf_counter() - t_jit

        t_loop = time.perf_counter()
        end = n0 + n_steps
        bar = _progress(n_steps, progress, self.layout.n_neurons)
        chunk = 1000
        n = n0
        while n < end:
            stop = min(n + chunk, end)
            t_chunk = time.perf_counter()
            reached = run_steps(n, stop, k0, *args, rec, cnt, self.spike_scratch)
            if reached < stop:  # the spike recorder is full: grow it and go on
                rec = rec._replace(ks=_grow(rec.ks, rec.count[0]), nodes=_grow(rec.nodes, rec.count[0]))
            if bar is not None:
                bar.update(reached - n)
            elapsed = time.perf_counter() - t_chunk
            if reached > n and elapsed < 0.05:
                chunk = min(chunk * 2, 1 << 20)
            n = self.step = reached  # state and step count stay consistent if interrupted
        loop_s = time.perf_counter() - t_loop
        if bar is not None:
            bar.close()
        return self._results(n_steps, k0, rec, cnt, probe_cols, jit_s, loop_s, time.perf_counter() - t_wall)

    def _sample_initial(self, tr_var, tr_idx, tr_off, tr_out):
        slots = (self.neurons.v, self.neurons.syn, self.neurons.syn2)
        for c in range(len(tr_var)):
            tr_out[tr_off[c]] = slots[tr_var[c]][tr_idx[c]]

    def _results(self, n_steps, k0, rec, cnt, probe_cols, jit_s, loop_s, wall_s) -> Results:
        layout, net, dt = self.layout, self.network, self.dt
        count = int(rec.count[0])
        ks, nodes = rec.ks[:count], rec.nodes[:count]
        spiking = tuple(name for name, pop in net.populations.items() if pop.model.spiking)
        res = Results(NAME, dt, self.integration, self.dtype, k0 * dt, n_steps * dt, dict(layout.sizes),
                      neuron_populations=layout.populations, spiking_populations=spiking)
        recorded = {p.target for p in net.probes.values() if not isinstance(p, StateProbe)}
        for name in recorded:
            lo = layout.offsets[name]
            sel = (nodes >= lo) & (nodes < lo + layout.sizes[name])
            res.spikes[name] = SpikeTrains(ks[sel] * dt, (nodes[sel] - lo).astype(np.int64), layout.sizes[name])
        for name, probe in net.probes.items():
            if isinstance(probe, StateProbe):
                first, last, n_samples = probe_cols[name]
                values = np.stack([rec.tr_out[rec.tr_off[c]:rec.tr_off[c] + n_samples] for c in range(first, last)],
                                  axis=1) if last > first else np.zeros((n_samples, 0))
                times = (k0 + np.arange(n_samples) * probe.every) * dt
                res.traces[name] = Trace(probe.target, probe.variable, probe.neurons.copy(), times, values)
        names = (*layout.populations, *layout.sources)
        res.spike_counts = {name: int(c) for name, c in zip(names, cnt.per_group)}
        res.counters = {"steps": n_steps, "neuron_spikes": int(cnt.totals[0]), "syn_events": int(cnt.totals[1]),
                        "source_spikes": int(cnt.totals[2]), "wall_s": wall_s, "loop_s": loop_s, "jit_s": jit_s,
                        "build_s": self.build_s if k0 == 0 else 0.0}
        return res


def _grow(arr: np.ndarray, used: int) -> np.ndarray:
    out = np.zeros(2 * len(arr), arr.dtype)
    out[:used] = arr[:used]
    return out


def _progress(n_steps: int, progress: bool | None, n_neurons: int):
    """A progress bar (tqdm) for long runs: always if ``progress``, never if False,
    otherwise when stderr is a terminal and the run is large."""
    if progress is None:
        progress = sys.stderr.isatty() and n_steps * max(n_neurons, 1) >= 2e9
    if not progress:
        return None
    from tqdm import tqdm
    return tqdm(total=n_steps, unit="step", unit_scale=True, desc="simulating", leave=False)


def run(network: Network, duration: float, *, dt: float | None = None, integration: str | None = None,
        dtype: str = "float32", progress: bool | None = None) -> Results:
    """Build a :class:`Simulator` and run it for ``duration`` seconds."""
    sim = Simulator(network, dt=dt, integration=integration, dtype=dtype)
    results = sim.run(duration, progress=progress)
    results.counters["wall_s"] += sim.build_s  # the whole call, lowering included
    return results
