"""What ``load_results`` checks in a results file beyond its structure (types and presence are checked
while reading): the values must describe a possible run, or the file is refused."""

from __future__ import annotations

import math

import numpy as np


def check_results(res, error) -> None:
    """Raise ``error(item, message)`` (a FileFormatError naming the file) for the first impossible value
    in the Results ``res``: times, sizes, spike trains, traces and counts."""
    if not (math.isfinite(res.dt) and res.dt > 0):
        raise error("/@dt", f"must be a time step > 0 s, got {res.dt!r}")
    if not math.isfinite(res.t_start) or res.t_start < 0:
        raise error("/@t_start", f"must be a time >= 0 s, got {res.t_start!r}")
    if not math.isfinite(res.duration) or res.duration < 0:
        raise error("/@duration", f"must be a duration >= 0 s, got {res.duration!r}")
    for name, size in res.sizes.items():
        if not isinstance(size, int) or size < 0:
            raise error(f"/sizes@{name}", f"must be a neuron count >= 0, got {size!r}")
    for key, value in res.counters.items():
        if not math.isfinite(value) or value < 0:
            raise error(f"/counters@{key}", f"must be a count or time >= 0, got {value!r}")
    for kind, members in res.counts.items():
        for name, values in members.items():
            for key, value in values.items():
                if value < 0:
                    raise error(f"/counts/{kind}/{name}@{key}", f"must be >= 0, got {value!r}")
    t_end = res.t_start + res.duration
    for name, trains in res.spikes.items():
        _check_spikes(error, f"/spikes/{name}", res, name, trains, t_end)
    for name, trace in res.traces.items():
        _check_trace(error, f"/traces/{name}", res, trace)


def _check_spikes(error, item, res, name, trains, t_end) -> None:
    expected = res.sizes.get(name)
    if trains.size < 0 or (expected is not None and trains.size != expected):
        raise error(f"{item}@size", f"is {trains.size}, but /sizes gives {expected} neurons")
    if len(trains.times) != len(trains.indices):
        raise error(item, f"has {len(trains.times)} times but {len(trains.indices)} indices")
    if len(trains.indices):
        lo, hi = int(trains.indices.min()), int(trains.indices.max())
        if lo < 0 or hi >= trains.size:
            raise error(f"{item}/indices", f"must lie in [0, {trains.size}), got {lo if lo < 0 else hi}")
        if not np.all(np.isfinite(trains.times)):
            raise error(f"{item}/times", "holds NaN or infinite times")
        slack = res.dt * (1 + 1e-9)
        if trains.times.min() < res.t_start - slack or trains.times.max() > t_end + slack:
            raise error(f"{item}/times", f"must lie in the run [{res.t_start:g}, {t_end:g}] s, got "
                                         f"[{trains.times.min():g}, {trains.times.max():g}] s")


def _check_trace(error, item, res, trace) -> None:
    size = res.sizes.get(trace.population)
    if size is None:
        raise error(f"{item}@population", f"{trace.population!r} is not in /sizes")
    if len(trace.neurons) and (trace.neurons.min() < 0 or trace.neurons.max() >= size):
        raise error(f"{item}/neurons", f"must lie in [0, {size}) of population {trace.population!r}")
    shape = (len(trace.times), len(trace.neurons))
    if trace.values.shape != shape:
        raise error(f"{item}/values", f"must have shape (times, neurons) = {shape}, got {trace.values.shape}")
    if not np.all(np.isfinite(trace.times)):
        raise error(f"{item}/times", "holds NaN or infinite times")
