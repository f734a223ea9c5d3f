"""The time-driven CPU engine: the Numba clock loop of :mod:`snnsim.kernels.clock`.

``Simulator(network).run(duration)`` packs the plan once, then advances it in chunks (so a
progress bar can follow long runs); consecutive ``run`` calls continue from where the last one
stopped. ``threads=`` (an engine option, default all cores: Numba's thread count) runs the
neuron updates and the propagation on that many threads, with results bit-identical to one
thread (:mod:`snnsim.kernels.clock`). Numba's thread count is process-global: each run sets
it for its own calls and restores the previous value afterwards. Arithmetic ``float32``/``float64`` steps ``docs/models.md``;
``loihi_fixed``/``loihi_float`` step Loihi's CUBA LIF on the registers of :mod:`snnsim.loihi`
(``self.loihi``; traces then in Loihi's state units).
"""

from __future__ import annotations

import contextlib
import os
import sys
import time

import numpy as np

from snnsim import loihi
from snnsim.errors import NetworkError
from snnsim.results import build_results
from snnsim.kernels.clock import Counters, Recorder, run_steps, run_steps_parallel

from .. import common
from ..base import CHANGES, Capabilities, Engine
from . import packing

NAME = "cpu"

CAPABILITIES = Capabilities(
    arithmetics=("float32", "float64", "loihi_fixed", "loihi_float"),
    delays="steps",
    changes=CHANGES,
    # the Loihi mapping chooses its registers from every value of the network: only the inputs change
    loihi_changes=("rates", "spike_times", "probes"),
    comparison="bit-identical",
    # threads for neuron updates and propagation; None: all cores (numba.config.NUMBA_NUM_THREADS)
    options=(("threads", None),),
)


class Simulator(Engine):
    """A network packed for the CPU clock engine, with its state (see the module doc)."""

    NAME = NAME
    CAPABILITIES = CAPABILITIES

    # ------------------------------------------------------------------ building
    def _build(self) -> None:
        self.threads = resolve_threads(self.options.engine.get("threads"))
        self.dtype = packing.DTYPES[self.arithmetic]
        self.loihi = None
        self._pack(state=None, ring_rows=2)

    def _pack(self, state, ring_rows: int, old_synapses=None) -> None:
        """Pack the whole plan; ``state`` keeps the running neuron state, ``old_synapses`` the
        input already in the delay rings."""
        plan = self.plan
        if self.arithmetic in ("loihi_fixed", "loihi_float"):
            mapping = loihi.quantize if self.arithmetic == "loihi_fixed" else loihi.float_parameters
            self.loihi = mapping(self.network, self.dt, self.integration)
            self.neurons = packing.pack_loihi_neurons(plan, self.loihi, state)
            weights = {n: p.weights for n, p in self.loihi.projections.items()}
        else:
            self.neurons = packing.pack_neurons(plan, self.dtype, state)
            weights = None
        self.synapses = packing.pack_synapses(plan, self.dtype, weights, min_length=ring_rows)
        if old_synapses is not None:
            packing.moved_ring(old_synapses.ring, self.synapses.ring, self.step)
            packing.moved_ring(old_synapses.ring2, self.synapses.ring2, self.step)
        self.sources, self._source_max = packing.pack_sources(plan)
        self.currents = packing.pack_currents(plan, self.dtype)

    def _apply(self, changes, old_plan, old_values) -> None:
        """Repack with the state kept: neuron state as it is, the input already sent (in the
        rings, with the weights and delays it was sent with) moved to the new rings."""
        n = self.neurons
        old = self.synapses
        self._pack((n.v, n.syn, n.syn2, n.ref), ring_rows=old.ring.shape[0], old_synapses=old)

    # ------------------------------------------------------------------ state
    def _population_state(self) -> dict:
        out = {}
        slots = (self.neurons.v, self.neurons.syn, self.neurons.syn2)
        for name, pop in self.plan.populations.items():
            out[name] = {var: slots[packing.SLOT_OF[var]][pop.lo:pop.lo + pop.size].copy()
                         for var in pop.model.state_variables}
        return out

    def _internals(self) -> dict:
        n, s = self.neurons, self.synapses
        return {"v": n.v.copy(), "syn": n.syn.copy(), "syn2": n.syn2.copy(), "ref": n.ref.copy(),
                "ring": s.ring.copy(), "ring2": s.ring2.copy(), "tptr": self.sources.tptr.copy(),
                "step": np.int64(self.step)}

    def _load_internals(self, internals: dict) -> None:
        n = self.neurons
        for key in ("v", "syn", "syn2", "ref"):
            common.load_array(getattr(n, key), internals[key], self.NAME, key)
        ring, ring2 = np.asarray(internals["ring"]), np.asarray(internals["ring2"])
        if ring.shape[0] > self.synapses.ring.shape[0]:  # the state's delays were longer: keep its rows
            self._pack((n.v, n.syn, n.syn2, n.ref), ring_rows=ring.shape[0])
        common.check_shape(ring.shape[1:], self.synapses.ring.shape[1:], self.NAME, "ring")
        self.synapses.ring[:] = 0
        packing.moved_ring(ring.astype(self.synapses.ring.dtype), self.synapses.ring, int(internals["step"]))
        if ring2.shape[0] > 1:
            common.check_shape(ring2.shape[1:], self.synapses.ring2.shape[1:], self.NAME, "ring2")
            self.synapses.ring2[:] = 0
            packing.moved_ring(ring2.astype(self.synapses.ring2.dtype), self.synapses.ring2, int(internals["step"]))
        tptr = np.asarray(internals["tptr"])
        if tptr.shape == self.sources.tptr.shape:
            self.sources.tptr[:] = tptr

    # ------------------------------------------------------------------ running
    def _advance(self, duration, n_steps, progress):
        plan = self.plan
        k0, k1, first = self.step, self.step + n_steps, not self._segments
        record_mask = plan.recorded_mask()
        max_per_step = int(record_mask[:plan.layout.n_neurons].sum()) + self._source_max
        scratch = np.zeros(plan.layout.n_neurons + self._source_max + 1, np.int64)
        tr_var, tr_idx, tr_every, tr_off, tr_out, probe_cols = packing.trace_columns(plan, k0, k1, first)
        if first:
            self._sample_now(tr_var, tr_idx, tr_every, tr_off, tr_out)
        capacity = max(4096, 4 * max_per_step)
        rec = Recorder(record_mask, np.zeros(capacity, np.int64), np.zeros(capacity, np.int32),
                       np.zeros(1, np.int64), max_per_step, tr_var, tr_idx, tr_every, tr_off, tr_out)
        group_lo = np.array([plan.layout.offsets[g] for g in plan.layout.groups] + [plan.layout.n_nodes], np.int64)
        cnt = Counters(np.zeros(3, np.int64), group_lo, np.zeros(len(group_lo) - 1, np.int64),
                       np.zeros(len(group_lo), np.int64), np.zeros(len(plan.projections), np.int64))
        windows = thread_windows(plan.layout.n_neurons, self.threads)
        args = (self.neurons, self.synapses, self.sources, self.currents)
        if len(windows) > 2:
            def loop(a, b, rec):
                with numba_threads(len(windows) - 1):
                    return run_steps_parallel(a, b, *args, rec, cnt, scratch, windows)
        else:
            def loop(a, b, rec):
                return run_steps(a, b, *args, rec, cnt, scratch)

        t_jit = time.perf_counter()
        with common.compile_notice(progress):
            loop(k0 + 1, k0 + 1, rec)  # compile or load: no step taken
        jit_s = time.perf_counter() - t_jit

        t_loop = time.perf_counter()
        bar = _progress(n_steps, progress, plan.layout.n_neurons)
        chunk, n = 1000, k0
        while n < k1:
            stop = min(n + chunk, k1)
            t_chunk = time.perf_counter()
            reached = loop(n, stop, rec)
            if reached < stop:  # the spike recorder is full: grow it and go on
                rec = rec._replace(ks=_grow(rec.ks, rec.count[0]), nodes=_grow(rec.nodes, rec.count[0]))
            if bar is not None:
                bar.update(reached - n)
            if reached > n and time.perf_counter() - t_chunk < 0.05:
                chunk = min(chunk * 2, 1 << 20)
            n = self.step = reached  # state and step count stay consistent if interrupted
        loop_s = time.perf_counter() - t_loop
        if bar is not None:
            bar.close()
        self.t = self.step * self.dt
        count = int(rec.count[0])
        traces = {name: (ks * self.dt, np.stack([tr_out[tr_off[c] + ks // tr_every[c]] for c in range(lo, hi)], axis=1)
                         if hi > lo else np.zeros((len(ks), 0)))
                  for name, (lo, hi, ks) in probe_cols.items()}
        updates = [p.size * n_steps for p in plan.populations.values()]
        return build_results(NAME, plan, self.arithmetic, k0 * self.dt, n_steps * self.dt, steps=n_steps,
                             spike_times=rec.ks[:count] * self.dt, spike_nodes=rec.nodes[:count], traces=traces,
                             group_spikes=cnt.per_group, projection_events=cnt.per_proj, neuron_updates=updates,
                             loop_s=loop_s, jit_s=jit_s)

    def _sample_now(self, tr_var, tr_idx, tr_every, tr_off, tr_out) -> None:
        """The sample of the state at step ``self.step`` (taken before the loop)."""
        slots = (self.neurons.v, self.neurons.syn, self.neurons.syn2)
        for c in range(len(tr_var)):
            if self.step % tr_every[c] == 0:
                tr_out[tr_off[c] + self.step // tr_every[c]] = slots[tr_var[c]][tr_idx[c]]


#: the fewest neurons worth a thread of their own: Numba wakes its threads twice a step (tens of
#: microseconds, far more on a loaded machine), which costs more than it saves below this (COBA, 4000
#: neurons, ran 100x slower on 2 threads of a loaded 2-core machine); tests lower it
MIN_WINDOW = 16384


def resolve_threads(threads) -> int:
    """The ``threads`` option checked: an int in ``[1, NUMBA_NUM_THREADS]``; None: all of them."""
    import numba
    most = numba.config.NUMBA_NUM_THREADS
    if threads is None:
        return most
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1:
        raise NetworkError(f"{NAME} engine", "threads", f"must be an integer >= 1, got {threads!r}")
    if threads > most:
        raise NetworkError(f"{NAME} engine", "threads", f"must be at most {most} (NUMBA_NUM_THREADS, the cores "
                           f"Numba may use), got {threads!r}")
    return int(threads)


def thread_windows(n_neurons: int, threads: int) -> np.ndarray:
    """Neuron windows, one per thread: ``(k + 1,)`` int64 bounds, cut at multiples of 64
    (one cache line of flags), at most one window per ``MIN_WINDOW`` neurons."""
    k = max(1, min(threads, n_neurons // MIN_WINDOW))
    if k == 1:
        return np.array([0, n_neurons], np.int64)
    cuts = [min(n_neurons, (n_neurons * i // k) // 64 * 64) for i in range(k + 1)]
    cuts[-1] = n_neurons
    return np.array(cuts, np.int64)


def _prefer_workqueue() -> None:
    """Numba's own thread pool (``workqueue``) for the parallel loop, unless the user chose a
    layer (``NUMBA_THREADING_LAYER``) or Numba already started one. Numba would otherwise pick
    OpenMP, a second OpenMP runtime beside torch's or NEST's in the same process; on a loaded
    2-core machine it also ran 2 threads 86x slower than one (workqueue: 2.5x slower)."""
    from numba.np.ufunc import parallel
    if "NUMBA_THREADING_LAYER" not in os.environ and not parallel._is_initialized:
        import numba
        numba.config.THREADING_LAYER = "workqueue"


@contextlib.contextmanager
def numba_threads(n: int):
    """Numba's process-global thread count set to ``n`` inside, restored afterwards."""
    if n <= 1:
        yield
        return
    import numba
    _prefer_workqueue()
    before = numba.get_num_threads()
    numba.set_num_threads(n)
    try:
        yield
    finally:
        numba.set_num_threads(before)


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
