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
from snnsim.kernels.rng import bernoulli_table, stream_key


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
    # time index k >= 1 holds the spikes drawn in step n = k - 1 with p = rate(t_n) dt (docs/models.md)
    lo = max(first, 1)
    if lo < first + n_steps:
        rate = np.broadcast_to(np.asarray(src.rate, np.float64), (src.size,)) if src.rate_dt is None else src.rate
        prob = sampled(rate * dt, src.rate_dt, dt, lo - 1, first + n_steps - lo, src.size, src.where, "rate_dt")
        out[lo - first:] = bernoulli_table(source_key(net.seed, name), np.ascontiguousarray(prob), lo)
    return out


def check_spike_probability(plan) -> None:
    """Refuse a Poisson source whose spike probability per step (``rate dt``) exceeds 1: a
    clock engine draws at most one spike per step, and would silently fire less than asked."""
    for src in plan.sources.values():
        if src.kind == "poisson" and (src.prob > 1).any():
            where = plan.network.sources[src.name].where
            raise NetworkError(where, "rate", f"{float(np.max(src.rate))!r} Hz gives a spike probability "
                               f"rate*dt = {src.prob.max():.3g} > 1 per step at dt={plan.dt!r} s; use a smaller dt "
                               f"or the event engine (continuous-time Poisson)")


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
