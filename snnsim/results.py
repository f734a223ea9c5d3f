"""What a run returns: spikes, state traces and counters. The same type from every backend."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from snnsim.errors import NetworkError


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
    """``values[s, i]`` is ``variable`` of neuron ``neurons[i]`` at ``times[s]`` (s)."""

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
    """Output of one run segment ``[t_start, t_start + duration]``.

    ``counters`` holds ``steps``, ``neuron_spikes``, ``source_spikes``,
    ``syn_events``, ``wall_s`` (whole call), ``loop_s`` (stepping only),
    ``jit_s`` (compiling or loading compiled kernels), ``build_s`` (turning the
    network into arrays).
    """

    backend: str
    dt: float
    integration: str
    dtype: str
    t_start: float
    duration: float
    sizes: dict[str, int]          # neurons per population and source
    spikes: dict[str, SpikeTrains] = field(default_factory=dict)
    traces: dict[str, Trace] = field(default_factory=dict)
    spike_counts: dict[str, int] = field(default_factory=dict)
    counters: dict[str, float] = field(default_factory=dict)

    neuron_populations: tuple = ()
    spiking_populations: tuple = ()

    def __repr__(self) -> str:
        c = self.counters
        return (f"Results({self.backend}, {self.duration:g} s from t={self.t_start:g} s, dt={self.dt:g} s, "
                f"{int(c.get('neuron_spikes', 0))} spikes, recorded: {sorted(self.spikes)}, "
                f"traces: {sorted(self.traces)})")

    @property
    def n_neurons(self) -> int:
        return int(sum(self.sizes[name] for name in self.neuron_populations))

    def mean_rate(self, population: str | None = None) -> float:
        """Mean firing rate (Hz) of one population or source, or of the neurons of all
        spiking populations (leaky-integrator readouts, which never fire, are left out)."""
        if population is not None and population not in self.spike_counts:
            raise NetworkError("results", "population", f"no population or source named {population!r} "
                               f"(known: {sorted(self.spike_counts)})")
        names = [population] if population else list(self.spiking_populations or self.neuron_populations)
        n = sum(self.sizes[name] for name in names)
        spikes = sum(self.spike_counts[name] for name in names)
        return spikes / (n * self.duration) if n and self.duration > 0 else 0.0

    def summary(self) -> dict:
        """Figures of the run with units in the names (what ``--json`` prints)."""
        c = self.counters
        loop = c.get("loop_s", 0.0)
        return {
            "backend": self.backend,
            "dt_s": self.dt,
            "integration": self.integration,
            "dtype": self.dtype,
            "duration_s": self.duration,
            "neurons": self.n_neurons,
            "steps": int(c.get("steps", 0)),
            "spikes": int(c.get("neuron_spikes", 0)),
            "source_spikes": int(c.get("source_spikes", 0)),
            "syn_events": int(c.get("syn_events", 0)),
            "mean_rate_hz": self.mean_rate(),
            "syn_events_per_s": c.get("syn_events", 0) / loop if loop > 0 else 0.0,
            "neuron_updates_per_s": self.n_neurons * c.get("steps", 0) / loop if loop > 0 else 0.0,
            "wall_s": c.get("wall_s", 0.0),
            "loop_s": loop,
            "jit_s": c.get("jit_s", 0.0),
            "build_s": c.get("build_s", 0.0),
        }
