"""What a run returns: spikes, state traces and counters. One type and one builder for every engine.

The counter schema (the same names on every engine; the metrics layer reads only these):

- ``counts["populations"][name]``: ``neuron_updates`` (neuron-steps for the time-stepped
  engines; state advances, i.e. inputs and spikes processed, for the event engine) and ``spikes``;
- ``counts["projections"][name]``: ``syn_events``, one per synapse of every spike sent through
  the projection in this segment (counted when the spike is sent);
- ``counts["sources"][name]``: ``spikes``;
- ``counters``: the totals ``steps``, ``neuron_updates``, ``neuron_spikes``, ``source_spikes``,
  ``syn_events`` and the times ``wall_s`` (the whole ``run`` call), ``loop_s`` (advancing only),
  ``jit_s`` (compiling or loading compiled kernels), ``build_s`` (building the engine, in the
  first segment only).

Engine-specific figures (the event engine's ``windows``, Lava's ``readout_s``) are in
``engine_counters``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from snnsim.errors import NetworkError

#: names of the per-object counts and of the run totals and times
POPULATION_COUNTS = ("neuron_updates", "spikes")
PROJECTION_COUNTS = ("syn_events",)
SOURCE_COUNTS = ("spikes",)
TOTALS = ("steps", "neuron_updates", "neuron_spikes", "source_spikes", "syn_events")
TIMES = ("wall_s", "loop_s", "jit_s", "build_s")


@dataclass
class SpikeTrains:
    """Spikes of one population or source: ``indices[k]`` fired at ``times[k]`` (s), time-ordered."""

    times: np.ndarray    # float64, s
    indices: np.ndarray  # int64, neuron index within the population
    size: int            # neurons in the population

    def __len__(self) -> int:
        return len(self.times)

    def __repr__(self) -> str:
        return f"SpikeTrains({len(self)} spikes of {self.size} neurons)"

    def counts(self) -> np.ndarray:
        """Spikes per neuron, shape ``(size,)``."""
        return np.bincount(self.indices, minlength=self.size)

    def trains(self) -> list[np.ndarray]:
        """Spike times of each neuron."""
        order = np.argsort(self.indices, kind="stable")
        split = np.cumsum(self.counts())[:-1]
        return np.split(self.times[order], split)


@dataclass
class Trace:
    """``values[s, i]`` is ``variable`` of neuron ``neurons[i]`` at ``times[s]`` (s).

    Samples lie on the global grid ``k dt`` with ``k % every == 0``: a first segment samples
    ``t = 0`` too, a continued one starts after the time where the previous one ended."""

    population: str
    variable: str
    neurons: np.ndarray
    times: np.ndarray
    values: np.ndarray

    def __repr__(self) -> str:
        return (f"Trace({self.population}.{self.variable}: {len(self.times)} samples x "
                f"{len(self.neurons)} neurons)")


@dataclass
class Results:
    """Output of one run segment ``[t_start, t_start + duration]`` (or of several joined)."""

    backend: str
    dt: float
    integration: str
    arithmetic: str
    t_start: float
    duration: float
    sizes: dict[str, int]          # neurons per population and source
    spikes: dict[str, SpikeTrains] = field(default_factory=dict)
    traces: dict[str, Trace] = field(default_factory=dict)
    counts: dict = field(default_factory=lambda: {"populations": {}, "projections": {}, "sources": {}})
    counters: dict[str, float] = field(default_factory=dict)
    engine_counters: dict[str, float] = field(default_factory=dict)

    neuron_populations: tuple = ()
    spiking_populations: tuple = ()

    def __repr__(self) -> str:
        c = self.counters
        return (f"Results({self.backend}, {self.duration:g} s from t={self.t_start:g} s, dt={self.dt:g} s, "
                f"{int(c.get('neuron_spikes', 0))} spikes, recorded: {sorted(self.spikes)}, "
                f"traces: {sorted(self.traces)})")

    @property
    def dtype(self) -> str:
        """The arithmetic (the older name of the field)."""
        return self.arithmetic

    @property
    def spike_counts(self) -> dict[str, int]:
        """Spikes per population and source in this segment (from ``counts``)."""
        out = {name: int(c["spikes"]) for name, c in self.counts["populations"].items()}
        out.update({name: int(c["spikes"]) for name, c in self.counts["sources"].items()})
        return out

    @property
    def n_neurons(self) -> int:
        return int(sum(self.sizes[name] for name in self.neuron_populations))

    def mean_rate(self, population: str | None = None) -> float:
        """Mean firing rate (Hz) of one population or source, or of the neurons of all
        spiking populations (leaky-integrator readouts, which never fire, are left out)."""
        counts = self.spike_counts
        if population is not None and population not in counts:
            raise NetworkError("results", "population", f"no population or source named {population!r} "
                               f"(known: {sorted(counts)})")
        names = [population] if population else list(self.spiking_populations or self.neuron_populations)
        n = sum(self.sizes[name] for name in names)
        spikes = sum(counts[name] for name in names)
        return spikes / (n * self.duration) if n and self.duration > 0 else 0.0

    def summary(self) -> dict:
        """Figures of the run with units in the names (what ``--json`` prints)."""
        c = self.counters
        loop = c.get("loop_s", 0.0)
        return {
            "backend": self.backend,
            "dt_s": self.dt,
            "integration": self.integration,
            "arithmetic": self.arithmetic,
            "dtype": self.arithmetic,
            "duration_s": self.duration,
            "neurons": self.n_neurons,
            "steps": int(c.get("steps", 0)),
            "neuron_updates": int(c.get("neuron_updates", 0)),
            "spikes": int(c.get("neuron_spikes", 0)),
            "source_spikes": int(c.get("source_spikes", 0)),
            "syn_events": int(c.get("syn_events", 0)),
            "mean_rate_hz": self.mean_rate(),
            "syn_events_per_s": c.get("syn_events", 0) / loop if loop > 0 else 0.0,
            "neuron_updates_per_s": c.get("neuron_updates", 0) / loop if loop > 0 else 0.0,
            "wall_s": c.get("wall_s", 0.0),
            "loop_s": loop,
            "jit_s": c.get("jit_s", 0.0),
            "build_s": c.get("build_s", 0.0),
        }

    @staticmethod
    def concatenate(segments: list["Results"]) -> "Results":
        """Consecutive segments of one Simulator as one Results: spikes and traces in time
        order, counts and times summed."""
        if not segments:
            raise NetworkError("results", "segments", "nothing to join")
        first = segments[0]
        if len(segments) == 1:
            return first
        for a, b in zip(segments, segments[1:]):
            if abs(a.t_start + a.duration - b.t_start) > 1e-9 * max(1.0, abs(b.t_start)):
                raise NetworkError("results", "t_start", f"segments are not consecutive: one ends at "
                                   f"{a.t_start + a.duration!r} s, the next starts at {b.t_start!r} s")
        out = Results(first.backend, first.dt, first.integration, first.arithmetic, first.t_start,
                      sum(s.duration for s in segments), dict(first.sizes), neuron_populations=first.neuron_populations,
                      spiking_populations=first.spiking_populations)
        # a probe added or removed between runs is in the segments that recorded it
        for name in dict.fromkeys(n for s in segments for n in s.spikes):
            parts = [s.spikes[name] for s in segments if name in s.spikes]
            out.spikes[name] = SpikeTrains(np.concatenate([p.times for p in parts]),
                                           np.concatenate([p.indices for p in parts]), parts[0].size)
        for name in dict.fromkeys(n for s in segments for n in s.traces):
            parts = [s.traces[name] for s in segments if name in s.traces]
            tr = parts[0]
            if any(p.values.shape[1:] != tr.values.shape[1:] or not np.array_equal(p.neurons, tr.neurons)
                   or (p.population, p.variable) != (tr.population, tr.variable) for p in parts):
                raise NetworkError("results", name, "the probe changed between runs; read each run's Results")
            out.traces[name] = Trace(tr.population, tr.variable, tr.neurons,
                                     np.concatenate([p.times for p in parts]),
                                     np.concatenate([p.values for p in parts], axis=0))
        for kind in ("populations", "projections", "sources"):
            for name, c in first.counts[kind].items():
                out.counts[kind][name] = {key: sum(s.counts[kind].get(name, {}).get(key, 0) for s in segments)
                                          for key in c}
        for key in first.counters:
            out.counters[key] = sum(s.counters.get(key, 0) for s in segments)
        for key in first.engine_counters:
            out.engine_counters[key] = sum(s.engine_counters.get(key, 0) for s in segments)
        return out


def build_results(backend: str, plan, arithmetic: str, t_start: float, duration: float, *, steps: int,
                  spike_times: np.ndarray, spike_nodes: np.ndarray, traces: dict, group_spikes,
                  projection_events, neuron_updates, loop_s: float, jit_s: float,
                  engine_counters: dict | None = None) -> Results:
    """The one way every engine makes its :class:`Results`.

    ``spike_times``/``spike_nodes``: the recorded spikes (s, global node index), in any order
    (sorted here by time, then node); ``traces``: probe name -> ``(times, values)``;
    ``group_spikes``: spikes per population then source (``plan.layout.groups`` order);
    ``projection_events``: synaptic events per projection (declaration order);
    ``neuron_updates``: per population.
    """
    layout, net = plan.layout, plan.network
    res = Results(backend, plan.dt, plan.integration, arithmetic, t_start, duration, dict(layout.sizes),
                  neuron_populations=layout.populations, spiking_populations=plan.spiking_populations())
    order = np.lexsort((spike_nodes, spike_times))
    times, nodes = np.asarray(spike_times, np.float64)[order], np.asarray(spike_nodes, np.int64)[order]
    for name in sorted(plan.recorded(), key=layout.groups.index):
        lo = layout.offsets[name]
        sel = (nodes >= lo) & (nodes < lo + layout.sizes[name])
        res.spikes[name] = SpikeTrains(times[sel], nodes[sel] - lo, layout.sizes[name])
    for probe in plan.state_probes():
        t, values = traces[probe.name]
        res.traces[probe.name] = Trace(probe.target, probe.variable, probe.neurons.copy(), np.asarray(t, np.float64),
                                       np.asarray(values))
    group_spikes = [int(x) for x in group_spikes]
    pops = layout.populations
    res.counts = {
        "populations": {name: {"neuron_updates": int(neuron_updates[i]), "spikes": group_spikes[i]}
                        for i, name in enumerate(pops)},
        "projections": {name: {"syn_events": int(projection_events[i])} for i, name in enumerate(net.projections)},
        "sources": {name: {"spikes": group_spikes[len(pops) + i]} for i, name in enumerate(layout.sources)},
    }
    res.counters = {
        "steps": int(steps),
        "neuron_updates": int(sum(int(x) for x in neuron_updates)),
        "neuron_spikes": int(sum(group_spikes[:len(pops)])),
        "source_spikes": int(sum(group_spikes[len(pops):])),
        "syn_events": int(sum(int(x) for x in projection_events)),
        "wall_s": 0.0, "loop_s": float(loop_s), "jit_s": float(jit_s), "build_s": 0.0,
    }
    res.engine_counters = dict(engine_counters or {})
    return res


def trace_grid(every: int, k0: int, k1: int, first: bool) -> np.ndarray:
    """Global step indices ``k`` sampled by a probe of period ``every`` in a segment from step
    ``k0`` to ``k1``: ``k % every == 0`` on ``[k0, k1]`` for the first segment, ``(k0, k1]``
    for a continued one."""
    lo = k0 if first else k0 + 1
    start = -(-lo // every) * every
    return np.arange(start, k1 + 1, every, dtype=np.int64)
