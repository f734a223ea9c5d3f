"""The memory guard: what a network and a run will need, estimated before anything is allocated.

``Network.connect`` asks :func:`check_connect` before a rule draws a synapse, and every engine
asks :func:`check_engine` before it builds and before each run (``backends/base.py``). Both
compare an :class:`Estimate` with :func:`available` and raise :class:`MemoryGuardError` (a
``NetworkError`` and a ``MemoryError``) naming the estimate, its largest parts and the memory
available. ``snnsim info --duration`` prints :func:`estimate`.

Byte costs per item (the constants below; measured with tracemalloc, see tests/test_memory_guard.py):

======================================  ==================================================
description (``Network``)               per synapse: ``INDEX_BYTES`` (int32 target);
                                        per synapse for a weight or delay given per
                                        synapse ``VALUE_BYTES`` (float64 arrays) or
                                        ``DRAWN_BYTES`` (float32, drawn from a
                                        distribution), once for a shared one; ``ROW_BYTES`` (int64) per
                                        presynaptic neuron (CSR row pointer)
drawing a rule (transient)              ``BUILD_BYTES`` per synapse above what is stored,
                                        at the peak of ``connect`` (post-keyed rows and
                                        their transpose)
neurons (plan + engine)                 ``NEURON_BYTES`` + 8 per parameter and state variable
delay ring (clock engines)              ``ring rows x n_neurons x arithmetic bytes``, twice
                                        with an inhibitory channel (rows: next power of two
                                        above the longest delay in steps)
engine synapses                         ``ENGINE_SYNAPSE_BYTES[engine]``: targets, delays
                                        (none, shared, per synapse), per-synapse weights;
                                        torch adds one dense ``n_post x n_pre`` matrix per
                                        projection
spike buffers (clock engine)            ``SPIKE_BUFFER_BYTES`` per entry one step can emit:
                                        one per neuron, per Poisson neuron the bound of its
                                        count (about ``lam + 8 sqrt(lam) + 20``)
recorded spikes (per run)               ``SPIKE_BYTES`` per spike (engine buffer and Results);
                                        Poisson sources at rate x duration, populations at
                                        the recorder's first capacity (their rates are not
                                        known before the run)
state traces (per run)                  ``TRACE_BYTES`` per sample (engine, Results, join)
======================================  ==================================================

``available()`` is ``MemAvailable`` of ``/proc/meminfo`` (psutil where there is no /proc), or
``SNNSIM_MEMORY_BYTES`` when set (a budget below the machine's; ``0`` turns the guard off).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from snnsim.errors import NetworkError

INDEX_BYTES = 4            # int32 postsynaptic index
ROW_BYTES = 8              # int64 CSR row pointer per presynaptic neuron
VALUE_BYTES = 8            # float64 weight or delay given as an array
DRAWN_BYTES = 4            # float32 weight or delay drawn from a distribution
BUILD_BYTES = 7            # transient of drawing a rule, per synapse, above what is stored (measured 4-7)
NEURON_BYTES = 64          # engine state (v, syn, syn2, ref, flags) and step coefficients per neuron
#: per synapse at the peak of an engine's packing: (targets, a delay given as None, per-synapse
#: delays, per-synapse weights in units of the arithmetic's bytes). cpu measured
#: (tests/test_memory_guard.py): an int64 temporary of the targets then uint32 targets (8);
#: the plan's int64 delay steps, even when all are one step (8); per-synapse delays add their
#: uint8 copy and its concatenation (8 + 2); weights their cast and concatenation (2 a).
#: event, torch, lava: from their layouts, not measured.
ENGINE_SYNAPSE_BYTES = {"cpu": (8, 8, 10, 2), "event": (12, 8, 24, 2), "torch": (8, 8, 8, 1),
                        "lava": (24, 8, 8, 2)}
SPIKE_BYTES = 12 + 16      # engine record (int64 step + int32 node) + Results (float64 time + int64 node)
SPIKE_BUFFER_BYTES = 8 + 4 * 12   # clock engine, per entry a step can emit: spike list + recorder capacity
TRACE_BYTES = 24           # engine float64 sample, the Results copy and a third while joining (measured)
ARITHMETIC_BYTES = {"float32": 4, "float64": 8, "loihi_fixed": 8, "loihi_float": 8}


class MemoryGuardError(NetworkError, MemoryError):
    """A network or run that would not fit in the memory available (refused before allocating)."""


@dataclass
class Estimate:
    """Bytes by item (``parts``) and their ``total``."""

    parts: dict = field(default_factory=dict)

    def add(self, item: str, n_bytes: float) -> None:
        self.parts[item] = self.parts.get(item, 0) + int(n_bytes)

    @property
    def total(self) -> int:
        return int(sum(self.parts.values()))

    def largest(self, n: int = 3) -> str:
        top = sorted(self.parts.items(), key=lambda kv: -kv[1])[:n]
        return ", ".join(f"{k} {fmt_bytes(v)}" for k, v in top if v)


def fmt_bytes(n: float) -> str:
    for unit, size in (("TiB", 2 ** 40), ("GiB", 2 ** 30), ("MiB", 2 ** 20), ("KiB", 2 ** 10)):
        if abs(n) >= size:
            return f"{n / size:.3g} {unit}"
    return f"{int(n)} B"


def available() -> int | None:
    """Bytes that can be allocated now (``SNNSIM_MEMORY_BYTES`` if set; ``None``: unknown, no guard)."""
    env = os.environ.get("SNNSIM_MEMORY_BYTES")
    if env is not None:
        value = int(float(env))
        return None if value <= 0 else value
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        import psutil
        return int(psutil.virtual_memory().available)
    except ImportError:
        return None


def _value_bytes(value) -> int:
    """Bytes per synapse of a weight or delay: float32 when drawn from a distribution, float64 for an
    array, none for a scalar (stored once)."""
    from snnsim.distributions import Distribution
    if isinstance(value, Distribution):
        return DRAWN_BYTES
    return VALUE_BYTES if value is not None and np.ndim(value) > 0 else 0


def expected_synapses(rule, n_pre: int, n_post: int, same: bool) -> float | None:
    """The expected number of synapses ``rule`` draws, from its parameters only (``None``: unknown
    or invalid parameters, which the rule's own check then names)."""
    n = _expected_synapses(rule, n_pre, n_post, same)
    return n if n is not None and np.isfinite(n) and n >= 0 else None   # else the rule's check names it


def _expected_synapses(rule, n_pre: int, n_post: int, same: bool) -> float | None:
    """The rule's own ``expected_synapses(n_pre, n_post, same)`` (every rule of
    :mod:`snnsim.connectivity` has one; a user rule without it is not guarded)."""
    if not hasattr(rule, "expected_synapses"):
        return None
    try:
        return float(rule.expected_synapses(n_pre, n_post, same))
    except (TypeError, ValueError, AttributeError):
        return None   # an invalid parameter: the rule's own check names it


def connect_estimate(rule, n_pre: int, n_post: int, same: bool, weight=None, delay=None) -> Estimate:
    """What ``Network.connect`` will allocate: the stored projection, or the peak while drawing."""
    est = Estimate()
    n_syn = expected_synapses(rule, n_pre, n_post, same) or 0.0
    stored = n_syn * INDEX_BYTES + (n_pre + 1) * ROW_BYTES
    stored += n_syn * (_value_bytes(weight) + _value_bytes(delay))
    est.add("synapses (drawing)", stored + n_syn * BUILD_BYTES)
    return est


def check(est: Estimate, where: str, field_name: str, what: str) -> None:
    """Refuse ``est`` if it exceeds the memory available."""
    free = available()
    if free is not None and est.total > free:
        raise MemoryGuardError(where, field_name, f"{what} needs about {fmt_bytes(est.total)} "
                               f"({est.largest()}), but only {fmt_bytes(free)} of memory is available "
                               f"(estimate: snnsim.memory; set SNNSIM_MEMORY_BYTES to change the budget)")


def check_connect(rule, n_pre: int, n_post: int, same: bool, weight, delay, where: str) -> None:
    n_syn = expected_synapses(rule, n_pre, n_post, same)
    if n_syn is None:
        return
    check(connect_estimate(rule, n_pre, n_post, same, weight, delay), where, "rule",
          f"about {n_syn:.3g} synapses ({n_pre:,} x {n_post:,} neurons)")


def _delay_steps_max(net, dt: float) -> int:
    longest = 1
    for proj in net.projections.values():
        if proj.delays is not None and np.size(proj.delays):
            longest = max(longest, int(np.rint(float(np.max(proj.delays)) / dt)))
    return longest


def estimate(net, duration: float | None = None, engine: str = "cpu", arithmetic: str = "float64",
             dt: float | None = None, network: bool = False) -> Estimate:
    """What engine ``engine`` will allocate for ``net`` (and a run of ``duration`` s, if given).
    ``network`` adds the description itself (already allocated when an engine checks)."""
    dt = net.dt if dt is None else dt
    a = ARITHMETIC_BYTES.get(arithmetic, 8)
    est = Estimate()
    n = net.n_neurons
    if network:
        for proj in net.projections.values():
            est.add("network synapses", proj.indices.nbytes + proj.indptr.nbytes + np.asarray(proj.weights).nbytes
                    + np.asarray(proj.delays if proj.delays is not None else 0.0).nbytes)
        for pop in net.populations.values():
            est.add("network neurons", 8 * pop.size * len(pop.initial))
    for pop in net.populations.values():
        names = len(pop.model.parameter_names()) + len(pop.model.state_variables)
        est.add("neurons", pop.size * (NEURON_BYTES + 8 * names))
    targets, none_delay, per_delay, per_weight = ENGINE_SYNAPSE_BYTES.get(engine, ENGINE_SYNAPSE_BYTES["cpu"])
    for proj in net.projections.values():
        n_pre = net.node(proj.pre).size
        if engine == "torch":
            est.add("synapses", n_pre * net.populations[proj.post].size * a)
        per_syn = targets + (none_delay if proj.delays is None else per_delay if np.ndim(proj.delays) else 0) \
            + (per_weight * a if np.ndim(proj.weights) else 0)
        est.add("synapses", proj.n_synapses * per_syn + (n_pre + 1) * 8)
    if engine != "event" and n:
        longest = _delay_steps_max(net, dt)
        rows = 1 << max(1, int(np.ceil(np.log2(longest + 1))))
        channels = 2 if any(p.target == "inh" for p in net.projections.values()) or \
            any(type(p.model).__name__ == "CobaLIF" for p in net.populations.values()) else 1
        est.add("delay ring", rows * n * a * channels)
    if engine == "cpu":   # per-step spike list (int64) and the recorder's first capacity (4 x, 12 B each)
        entries = n
        for src in net.sources.values():
            rate = getattr(src, "rate", None)
            if rate is not None:   # the per-neuron bound of a Poisson count (kernels.rng.poisson_count_max)
                lam = float(np.max(rate)) * dt if np.size(rate) else 0.0
                entries += src.size * (lam + 8 * np.sqrt(lam) + 20 if lam > 0 else 0)
            else:
                entries += src.size
        est.add("spike buffers", entries * SPIKE_BUFFER_BYTES)
    for src in net.sources.values():
        rate = getattr(src, "rate", None)
        est.add("sources", 16 * src.size + (np.asarray(rate).nbytes if rate is not None else 0)
                + 12 * np.size(getattr(src, "times", ())))
    if duration is not None:
        n_steps = int(round(duration / dt))
        for probe in net.probes.values():
            if hasattr(probe, "variable"):
                est.add("traces", len(probe.neurons) * (n_steps // max(1, int(probe.every)) + 1) * TRACE_BYTES)
            else:
                node = net.node(probe.target)
                rate = getattr(node, "rate", None)
                if rate is not None:
                    est.add("recorded spikes", float(np.mean(rate)) * node.size * duration * SPIKE_BYTES)
                else:
                    est.add("recorded spikes", 4 * node.size * SPIKE_BYTES)
    return est


def check_engine(net, engine: str, arithmetic: str, dt: float, duration: float | None = None) -> Estimate:
    """Refuse before building (``duration`` None) or before a run what would not fit."""
    est = estimate(net, duration, engine, arithmetic, dt)
    what = f"the {engine} engine" + ("" if duration is None else f" running {duration:g} s")
    check(est, f"{engine} engine", "network" if duration is None else "duration", what)
    return est
