"""The plan: a validated network laid out for a run, for every engine, in numpy only.

A :class:`Plan` says what a run of a :class:`~snnsim.network.Network` at a given ``dt``
and integration scheme computes, without choosing how: the global numbering of neurons
and source neurons, each population's step coefficients (float64, from
:mod:`snnsim.discretize`), refractory steps and initial state, each projection's CSR
connectivity (the description's arrays, not copies) with its delays in whole steps,
each source's counter-based random stream and spike probabilities or spike steps, each
current's table, and what is recorded. Engines pack it for their own kernels
(``backends/cpu/packing.py``, ``backends/event/packing.py``, ...). It imports no kernel.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np

from snnsim.discretize import has_synaptic_current, step_coefficients, steps_of
from snnsim.errors import NetworkError
from snnsim.models import NeuronModel
from snnsim.network import Network, PoissonSource, Projection, SpikeProbe, StateProbe


@dataclass(frozen=True)
class Layout:
    """Global numbering: neurons ``[0, n_neurons)`` population after population in declaration
    order, then source neurons ``[n_neurons, n_nodes)`` source after source; ``offsets[name]``
    is the first global index of a population or source."""

    offsets: dict
    sizes: dict
    n_neurons: int
    n_nodes: int
    populations: tuple
    sources: tuple

    @property
    def groups(self) -> tuple:
        """Populations then sources: the order of per-group counters."""
        return (*self.populations, *self.sources)


def layout_of(net: Network) -> Layout:
    offsets, sizes, at = {}, {}, 0
    for group in (net.populations, net.sources):
        for name, node in group.items():
            offsets[name] = at
            sizes[name] = node.size
            at += node.size
    return Layout(offsets, sizes, net.n_neurons, at, tuple(net.populations), tuple(net.sources))


def delay_steps(proj: Projection, dt: float) -> np.ndarray:
    """Delays of ``proj`` in whole steps of ``dt`` (rounded to nearest), shape ``(n_synapses,)``;
    a NetworkError if any is below one step. No delay given means one step of this ``dt``."""
    if proj.delays is None:  # a read-only view: no array per synapse
        return np.broadcast_to(np.int64(1), (proj.n_synapses,))
    steps = np.rint(np.asarray(proj.delays, dtype=np.float64) / dt)
    # per-synapse steps as int32 (half the memory) unless a delay needs more
    steps = steps.astype(np.int32 if steps.ndim and len(steps) and steps.max() < 2**31 else np.int64)
    steps = np.broadcast_to(steps, (proj.n_synapses,)) if steps.ndim == 0 else steps
    if len(steps) and steps.min() < 1:
        bad = np.atleast_1d(proj.delays)[np.argmin(steps) if np.ndim(proj.delays) else 0]
        raise NetworkError(proj.where, "delay", f"{bad!r} s rounds to {steps.min()} steps of dt={dt!r} s; "
                           f"synaptic delays must be at least one step")
    return steps


def series_table(value: np.ndarray, sample_dt, dt: float, where: str, field_name: str):
    """A constant or time-series input as ``(table (n_rows, n_cols), steps per sample)``: step ``n``
    reads row ``min(n // steps_per_sample, n_rows - 1)``; ``n_cols`` is 1 (shared) or the size."""
    table = np.asarray(value, np.float64)[None, :] if sample_dt is None else np.asarray(value, np.float64)
    sps = 1 if sample_dt is None else steps_of(sample_dt, dt, where, field_name)
    if sps < 1:
        raise NetworkError(where, field_name, f"sample interval {sample_dt!r} s is shorter than dt={dt!r} s")
    return table, sps


def sampled(value: np.ndarray, sample_dt, dt: float, first_step: int, n_steps: int, size: int, where: str,
            field_name: str) -> np.ndarray:
    """A constant or time-series input at steps ``first_step .. first_step + n_steps - 1``,
    ``(n_steps, size)``: step ``n`` takes sample ``min(n // steps_per_sample, n_samples - 1)``
    (``docs/models.md``). For engines that build a whole input at once."""
    table, sps = series_table(value, sample_dt, dt, where, field_name)
    rows = np.minimum((first_step + np.arange(n_steps)) // sps, table.shape[0] - 1)
    return np.broadcast_to(table[rows], (n_steps, size))


def stream_id(name: str) -> int:
    """The random stream of the source ``name`` within the network seed: the CRC-32 of its name.
    Engines turn ``(seed, stream_id)`` into the key of the counter-based generator
    (``snnsim.kernels.rng.stream_key``), so adding a source never changes another's spikes."""
    return zlib.crc32(name.encode())


@dataclass
class PopulationPlan:
    """One population: global range ``[lo, lo + size)``, model, kernel ``family`` and the float64
    step ``coefficients`` of :func:`snnsim.discretize.step_coefficients`, ``params`` (SI, ``(size,)``),
    ``initial`` state and whether input jumps ``v`` (``delta``) or ``i_syn`` (``has_current``)."""

    name: str
    lo: int
    size: int
    model: NeuronModel
    family: str
    coefficients: dict
    params: dict
    initial: dict
    delta: bool
    has_current: bool

    @property
    def where(self) -> str:
        return f"population {self.name!r}"


@dataclass
class ProjectionPlan:
    """One projection: the description's CSR arrays (``indptr`` over the presynaptic group,
    ``indices`` local to the post population), its weights (a float shared by all synapses, or
    ``(n_synapses,)``), delays in seconds as given and in whole steps of the run's ``dt``."""

    name: str
    pre: str
    post: str
    target: str
    pre_lo: int
    post_lo: int
    indptr: np.ndarray
    indices: np.ndarray
    weights: object
    delays: object
    steps: np.ndarray

    @property
    def n_synapses(self) -> int:
        return int(self.indices.shape[0])

    @property
    def where(self) -> str:
        return f"projection {self.name!r}"

    def out_degree(self) -> np.ndarray:
        """Synapses per presynaptic neuron, ``(n_pre,)``."""
        return np.diff(self.indptr)


@dataclass
class SourcePlan:
    """One source: ``kind`` ``"poisson"`` (stream ``key``, mean spike count per step (rate dt)
    ``prob`` ``(n_rows, n_cols)`` held ``steps_per_sample`` steps, rates in Hz) or ``"timed"``
    (spike ``steps`` and ``indices`` sorted by step then index, times in s). ``stream`` is the
    source's random stream within the network seed (:func:`stream_id`)."""

    name: str
    kind: str
    lo: int
    size: int
    stream: int = 0
    prob: np.ndarray | None = None
    steps_per_sample: int = 1
    rate: np.ndarray | None = None
    rate_dt: float | None = None
    times: np.ndarray | None = None
    steps: np.ndarray | None = None
    indices: np.ndarray | None = None


@dataclass
class CurrentPlan:
    """One injected current into population ``target`` (global range ``[lo, lo + size)``):
    ``table`` (A, ``(n_rows, n_cols)``) held ``steps_per_sample`` steps."""

    name: str
    target: str
    lo: int
    size: int
    table: np.ndarray
    steps_per_sample: int
    constant: bool


@dataclass
class Plan:
    """Everything an engine needs to run ``network`` at ``dt`` with the physics ``integration``."""

    network: Network
    dt: float
    integration: str
    layout: Layout
    populations: dict = field(default_factory=dict)
    projections: dict = field(default_factory=dict)
    sources: dict = field(default_factory=dict)
    currents: dict = field(default_factory=dict)

    @property
    def seed(self) -> int:
        return self.network.seed

    @property
    def max_delay_steps(self) -> int:
        return max([1] + [int(p.steps.max()) for p in self.projections.values() if p.n_synapses])

    def recorded(self) -> set:
        """Names of the populations and sources whose spikes are recorded."""
        return {p.target for p in self.network.probes.values() if isinstance(p, SpikeProbe)}

    def recorded_mask(self) -> np.ndarray:
        """1 for every recorded node (global numbering), uint8 ``(n_nodes,)``."""
        mask = np.zeros(self.layout.n_nodes, np.uint8)
        for name in self.recorded():
            lo = self.layout.offsets[name]
            mask[lo:lo + self.layout.sizes[name]] = 1
        return mask

    def state_probes(self) -> list:
        return [p for p in self.network.probes.values() if isinstance(p, StateProbe)]

    def spiking_populations(self) -> tuple:
        return tuple(name for name, p in self.populations.items() if p.model.spiking)


def population_plan(pop, lo: int, dt: float, integration: str, seed: int) -> PopulationPlan:
    params = pop.parameters()
    family, coefficients = step_coefficients(pop.model, params, dt, integration, pop.where)
    return PopulationPlan(pop.name, lo, pop.size, pop.model, family, coefficients, params,
                          pop.initial_state(seed), pop.model.delta_synapses,
                          has_synaptic_current(pop.model, params))


def projection_plan(proj: Projection, layout: Layout, dt: float) -> ProjectionPlan:
    return ProjectionPlan(proj.name, proj.pre, proj.post, proj.target, layout.offsets[proj.pre],
                          layout.offsets[proj.post], proj.indptr, proj.indices, proj.weights, proj.delays,
                          delay_steps(proj, dt))


def source_plan(net: Network, name: str, layout: Layout, dt: float) -> SourcePlan:
    src = net.sources[name]
    lo = layout.offsets[name]
    if isinstance(src, PoissonSource):
        rate = np.broadcast_to(np.asarray(src.rate, np.float64), (src.size,)) if src.rate_dt is None else src.rate
        table, sps = series_table(rate * dt, src.rate_dt, dt, src.where, "rate_dt")
        return SourcePlan(name, "poisson", lo, src.size, stream=stream_id(name), prob=table,
                          steps_per_sample=sps, rate=rate, rate_dt=src.rate_dt)
    k = np.rint(src.times / dt).astype(np.int64)
    order = np.lexsort((src.indices, k))
    return SourcePlan(name, "timed", lo, src.size, stream=stream_id(name), times=src.times[order], steps=k[order],
                      indices=src.indices[order])


def current_plan(cur, layout: Layout, dt: float) -> CurrentPlan:
    table, sps = series_table(cur.amplitude, cur.sample_dt, dt, cur.where, "sample_dt")
    return CurrentPlan(cur.name, cur.target, layout.offsets[cur.target], layout.sizes[cur.target], table, sps,
                       cur.sample_dt is None)


def make_plan(net: Network, dt: float | None = None, integration: str | None = None) -> Plan:
    """The plan of ``net`` (validated) at ``dt`` (default ``net.dt``) with the physics scheme
    ``integration`` (default the network's)."""
    net.validate()
    dt = net.dt if dt is None else dt
    integration = net.integration if integration is None else integration
    layout = layout_of(net)
    plan = Plan(net, dt, integration, layout)
    for name, pop in net.populations.items():
        plan.populations[name] = population_plan(pop, layout.offsets[name], dt, integration, net.seed)
    for name, proj in net.projections.items():
        plan.projections[name] = projection_plan(proj, layout, dt)
    for name in net.sources:
        plan.sources[name] = source_plan(net, name, layout, dt)
    for name, cur in net.currents.items():
        plan.currents[name] = current_plan(cur, layout, dt)
    return plan


def replan(plan: Plan, changed: dict) -> Plan:
    """``plan`` with the parts named in ``changed`` (``{"populations": names, "projections": ...,
    "sources": ..., "currents": ...}``) made again from the network; the rest is shared."""
    net, layout = plan.network, plan.layout
    new = Plan(net, plan.dt, plan.integration, layout, dict(plan.populations), dict(plan.projections),
               dict(plan.sources), dict(plan.currents))
    for name in changed.get("populations", ()):
        new.populations[name] = population_plan(net.populations[name], layout.offsets[name], plan.dt,
                                                plan.integration, net.seed)
    for name in changed.get("projections", ()):
        new.projections[name] = projection_plan(net.projections[name], layout, plan.dt)
    for name in changed.get("sources", ()):
        new.sources[name] = source_plan(net, name, layout, plan.dt)
    if changed.get("currents"):  # added or removed ones too, in declaration order (the summation order)
        new.currents = {name: current_plan(cur, layout, plan.dt) for name, cur in net.currents.items()}
    return new
