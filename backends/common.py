"""What several engines share and no engine owns: the compile notice, the counter-based source
streams for engines that build a whole input at once, and checks on loaded state."""

from __future__ import annotations

import contextlib
import sys
import threading

import numpy as np

from snnsim.errors import NetworkError
from snnsim.network import Network, SpikeSource
from snnsim.plan import sampled, stream_id
from snnsim.results import Results, build_results
from snnsim.kernels.rng import poisson_table, stream_key


def source_key(seed: int, name: str) -> np.uint64:
    """The key of the counter-based random stream of source ``name`` (``snnsim.plan.stream_id``)."""
    return np.uint64(stream_key(np.uint64(seed), np.uint64(stream_id(name))))


def source_raster(net: Network, name: str, dt: float, n_steps: int, first: int = 0) -> np.ndarray:
    """Spike counts ``(n_steps, size)`` of source ``name`` at ``t_k = k dt`` for
    ``k = first .. first + n_steps - 1``: the very spikes the clock engine emits (Poisson from the
    same counter-based stream; a neuron listed twice in one step counts twice)."""
    src = net.sources[name]
    out = np.zeros((n_steps, src.size))
    if isinstance(src, SpikeSource):
        k = np.rint(src.times / dt).astype(np.int64) - first
        keep = (k >= 0) & (k < n_steps)
        np.add.at(out, (k[keep], src.indices[keep]), 1.0)
        return out
    # time index k >= 1 holds the Poisson(rate(t_n) dt) counts drawn in step n = k - 1 (docs/models.md)
    lo = max(first, 1)
    if lo < first + n_steps:
        rate = np.broadcast_to(np.asarray(src.rate, np.float64), (src.size,)) if src.rate_dt is None else src.rate
        prob = sampled(rate * dt, src.rate_dt, dt, lo - 1, first + n_steps - lo, src.size, src.where, "rate_dt")
        out[lo - first:] = poisson_table(source_key(net.seed, name), np.ascontiguousarray(prob), lo)
    return out


def raster_results(engine: str, plan, arithmetic: str, k0: int, n_steps: int, rasters: dict, traces: dict,
                   loop_s: float, jit_s: float = 0.0, engine_counters: dict | None = None) -> Results:
    """The Results of an engine that holds a run's spikes as rasters: ``rasters[name] = (k, raster)``,
    spike counts ``(rows, size)`` of every population and source whose row 0 is time index ``k``.
    Counts come from the rasters (synaptic events: each neuron's spikes times its out-degree),
    neuron updates are neuron-steps, every spike of a recorded node is recorded."""
    layout, dt = plan.layout, plan.dt
    per_neuron, times, nodes = {}, [], []
    for name, (k_first, raster) in rasters.items():
        raster = np.asarray(raster)
        per_neuron[name] = raster.sum(axis=0)
        k, i = np.nonzero(raster)
        reps = raster[k, i].astype(np.int64)   # a timed source may fire twice in one step
        times.append(np.repeat(k_first + k, reps) * dt)
        nodes.append(np.repeat(i + layout.offsets[name], reps))
    group_spikes = [int(per_neuron[g].sum()) for g in layout.groups]
    events = [int(per_neuron[p.pre] @ p.out_degree()) for p in plan.projections.values()]
    return build_results(engine, plan, arithmetic, k0 * dt, n_steps * dt, steps=n_steps,
                         spike_times=np.concatenate(times) if times else np.zeros(0),
                         spike_nodes=np.concatenate(nodes) if nodes else np.zeros(0, np.int64), traces=traces,
                         group_spikes=group_spikes, projection_events=events,
                         neuron_updates=[p.size * n_steps for p in plan.populations.values()],
                         loop_s=loop_s, jit_s=jit_s, engine_counters=engine_counters)


def check_shape(got: tuple, want: tuple, engine: str, key: str) -> None:
    if tuple(got) != tuple(want):
        raise NetworkError(f"{engine} engine", "state", f"{key} has shape {tuple(got)}, this network needs "
                           f"{tuple(want)}: the state belongs to another network")


def load_array(target: np.ndarray, value, engine: str, key: str) -> None:
    """Copy a state array into the engine's own, refusing a wrong shape."""
    value = np.asarray(value)
    check_shape(value.shape, target.shape, engine, key)
    target[...] = value


@contextlib.contextmanager
def compile_notice(progress: bool | None, after_s: float = 1.0):
    """Tell an interactive user why the first run waits: Numba compiles the kernels once."""
    show = progress if progress is not None else sys.stderr.isatty()
    timer = threading.Timer(after_s, lambda: print(
        "snnsim: compiling the simulation kernels (first run only; later runs load them from the cache) ...",
        file=sys.stderr, flush=True)) if show else None
    if timer is not None:
        timer.daemon = True
        timer.start()
    try:
        yield
    finally:
        if timer is not None:
            timer.cancel()
