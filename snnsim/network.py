"""The network description: the hub every backend, file format and tool reads.

A :class:`Network` holds populations of neurons, spike sources (Poisson and
explicit spike times), projections between them, injected currents, and probes.
It is backend-free and concrete: connectivity is drawn when a projection is
declared (from the network seed and the projection's name), so a saved network
reloads with exactly the same synapses. Everything is validated as it is added,
and :meth:`Network.validate` re-checks the whole (e.g. after loading a file).

Declaration order matters and is kept: it fixes the global neuron numbering and
the order in which synaptic inputs are summed (see ``docs/models.md``).

Arrays held by the description are read-only (a private copy of what the caller passed):
a change is an assignment, which every Simulator sees before its next run
(:mod:`snnsim.changes`) and applies or refuses; editing an array in place raises.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Union

import numpy as np

from snnsim import connectivity as conn
from snnsim import memory
from snnsim.distributions import Distribution, child_rng, draw_synaptic, projection_key, resolve
from snnsim.errors import NetworkError
from snnsim.models import NeuronModel

INTEGRATIONS = ("exact", "euler")
TARGETS = ("current", "exc", "inh")


def locked(value):
    """``value`` itself if it is not a writeable array, else a read-only copy of it."""
    if isinstance(value, np.ndarray) and value.flags.writeable:
        value = value.copy()
        value.flags.writeable = False
    return value


class _ReadOnlyArrays:
    """Mixin of the description's parts: every array assigned to a field is stored read-only."""

    def __setattr__(self, name, value):
        object.__setattr__(self, name, locked(value))


def _check_name(kind: str, name) -> str:
    if not isinstance(name, str) or not name or "/" in name:
        raise NetworkError(kind, "name", f"must be a non-empty string without '/', got {name!r}")
    return name


def check_dt(dt, where: str = "network", field: str = "dt") -> float:
    try:
        dt = float(dt)
    except (TypeError, ValueError):
        raise NetworkError(where, field, f"must be a number of seconds, got {dt!r}") from None
    if not np.isfinite(dt) or dt <= 0:
        raise NetworkError(where, field, f"must be a finite number of seconds > 0, got {dt!r}")
    return dt


def check_integration(integration, where: str = "network") -> str:
    """The physics scheme: ``exact`` or ``euler`` (the arithmetic is a run option)."""
    if integration in ("loihi", "loihi_float"):
        arithmetic = "loihi_fixed" if integration == "loihi" else "loihi_float"
        raise NetworkError(where, "integration", f"{integration!r} is an arithmetic, not a physics scheme: "
                           f"describe the network with 'exact' or 'euler' and run it with "
                           f"arithmetic={arithmetic!r}")
    if integration not in INTEGRATIONS:
        raise NetworkError(where, "integration", f"must be one of {INTEGRATIONS}, got {integration!r}")
    return integration


def _check_population(pop, seed: int) -> None:
    """Validate ``pop``'s parameters and initial values: on one neuron when every parameter and
    initial value is one number (the same checks, without arrays of ``size``), else on all."""
    uniform = all(np.ndim(getattr(pop.model, n)) == 0 for n in pop.model.parameter_names()) and \
        all(np.ndim(v) == 0 and not isinstance(v, Distribution) for v in pop.initial.values())
    (Population(pop.name, 1, pop.model, pop.initial) if uniform else pop).initial_state(seed)


@dataclass
class Population(_ReadOnlyArrays):
    """``size`` neurons of one model. ``initial`` maps state variables to a value,
    an array of shape ``(size,)`` or a distribution; the rest start at their defaults."""

    name: str
    size: int
    model: NeuronModel
    initial: dict = field(default_factory=dict)

    @property
    def where(self) -> str:
        return f"population {self.name!r}"

    def parameters(self) -> dict[str, np.ndarray]:
        return self.model.parameters(self.size, self.where)

    def initial_state(self, seed: int) -> dict[str, np.ndarray]:
        """State at t = 0, float64 arrays of shape ``(size,)``; random parts drawn from ``seed``."""
        params = self.parameters()
        state = self.model.default_initial(params)
        for var, value in self.initial.items():
            rng = child_rng(seed, "initial", self.name, var)
            state[var] = resolve(value, self.size, rng, self.where, f"initial[{var!r}]")
        return state


@dataclass
class PoissonSource(_ReadOnlyArrays):
    """``size`` independent Poisson spike trains.

    ``rate`` (Hz) is a scalar or ``(size,)`` array (constant), or with
    ``rate_dt`` (s) a time series of shape ``(n_samples,)`` or ``(n_samples, size)``,
    sample ``k`` holding on ``[k * rate_dt, (k + 1) * rate_dt)`` and the last one after.
    """

    name: str
    size: int
    rate: np.ndarray
    rate_dt: float | None = None

    @property
    def where(self) -> str:
        return f"poisson source {self.name!r}"


@dataclass
class SpikeSource(_ReadOnlyArrays):
    """Spikes at given times: neuron ``indices[k]`` fires at ``times[k]`` (s)."""

    name: str
    size: int
    times: np.ndarray
    indices: np.ndarray

    @property
    def where(self) -> str:
        return f"spike source {self.name!r}"


Node = Union[Population, PoissonSource, SpikeSource]


@dataclass
class Projection(_ReadOnlyArrays):
    """Synapses from ``pre`` (a population or source) to ``post`` (a population).

    CSR keyed by presynaptic neuron: ``indptr`` (n_pre + 1, int64), ``indices`` (post neuron
    per synapse, int32), ``weights`` (per synapse, or one scalar shared by all; V, A or relative conductance, see
    :mod:`snnsim.models`), ``delays`` (s, per synapse, or one scalar for all, or ``None``:
    one step of the run's ``dt``, the shortest delay there is). Per-synapse values drawn from
    a distribution are float32 (compact storage), arrays the user gives are kept as float64.
    """

    name: str
    pre: str
    post: str
    target: str
    indptr: np.ndarray
    indices: np.ndarray
    weights: Union[float, np.ndarray]
    delays: Union[None, float, np.ndarray]
    rule: str = ""

    @property
    def where(self) -> str:
        return f"projection {self.name!r}"

    @property
    def n_synapses(self) -> int:
        return int(self.indices.shape[0])


@dataclass
class CurrentInput(_ReadOnlyArrays):
    """Current (A) injected into every neuron of ``target``.

    ``amplitude`` is a scalar or ``(size,)`` array (constant), or with ``sample_dt``
    (s) a time series of shape ``(n_samples,)`` or ``(n_samples, size)`` held like
    :class:`PoissonSource` rates.
    """

    name: str
    target: str
    amplitude: np.ndarray
    sample_dt: float | None = None

    @property
    def where(self) -> str:
        return f"current {self.name!r}"


@dataclass
class SpikeProbe(_ReadOnlyArrays):
    """Record every spike of a population or source."""

    name: str
    target: str


@dataclass
class StateProbe(_ReadOnlyArrays):
    """Record ``variable`` of the chosen ``neurons`` at t = 0 and every ``every`` steps."""

    name: str
    target: str
    variable: str
    neurons: np.ndarray
    every: int = 1

    @property
    def where(self) -> str:
        return f"state probe {self.name!r}"


def _series(where: str, field_name: str, value, size: int, sample_dt, *,
            nonnegative: bool) -> tuple[np.ndarray, float | None]:
    """Validate a constant-or-time-series input; returns (array, sample_dt)."""
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise NetworkError(where, field_name, f"must be numeric, got {value!r}") from None
    if sample_dt is None:
        if arr.ndim == 0:
            arr = np.full(size, float(arr))
        if arr.shape != (size,):
            raise NetworkError(where, field_name, f"must be a scalar or have shape ({size},) (or give "
                               f"a sample dt for a time series), got shape {arr.shape}")
    else:
        sample_dt = check_dt(sample_dt, where, "rate_dt" if field_name == "rate" else "sample_dt")
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] not in (1, size):
            raise NetworkError(where, field_name, f"time series must have shape (n_samples,) or "
                               f"(n_samples, {size}), got shape {np.shape(value)}")
    if not np.isfinite(arr).all():
        raise NetworkError(where, field_name, f"must be finite, got {arr[~np.isfinite(arr)][0]!r}")
    if nonnegative and (arr < 0).any():
        raise NetworkError(where, field_name, f"must be >= 0, got {arr[arr < 0][0]!r}")
    return arr, sample_dt


def _is_matrix(value) -> bool:
    """True for a 2-D array or a list of equal-length lists."""
    if not isinstance(value, (np.ndarray, list, tuple)):
        return False
    try:
        return np.ndim(value) == 2
    except ValueError:  # ragged
        return False


def _check_spike_times(where: str, size: int, times: np.ndarray, indices: np.ndarray) -> None:
    if times.ndim != 1:
        raise NetworkError(where, "times", f"must be 1-D, got shape {times.shape}")
    if indices.shape != times.shape:
        raise NetworkError(where, "indices", f"times and indices must be 1-D of equal length, got shapes "
                           f"{times.shape} and {indices.shape}")
    if not np.isfinite(times).all() or (times < 0).any():
        bad = times[~np.isfinite(times) | (times < 0)][0]
        raise NetworkError(where, "times", f"must be finite and >= 0, got {bad!r}")
    if len(indices) and (not np.issubdtype(indices.dtype, np.integer) or indices.min() < 0 or indices.max() >= size):
        raise NetworkError(where, "indices", f"must be integers in [0, {size}), got {indices!r}")


class Network:
    """A spiking network, independent of any backend.

    Parameters
    ----------
    dt : float
        Default simulation step (s); a run may override it.
    integration : {"exact", "euler"}
        Default integration scheme (see ``docs/models.md``).
    seed : int
        Seeds connectivity, random initial states and Poisson spikes.
    """

    def __init__(self, dt: float = 1e-4, integration: str = "exact", seed: int = 0, name: str = "network"):
        self.dt = check_dt(dt)
        self.integration = check_integration(integration)
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or not 0 <= seed < 2**63:
            raise NetworkError("network", "seed", f"must be an integer in [0, 2**63), got {seed!r}")
        self.seed = int(seed)
        self.name = name
        self.populations: dict[str, Population] = {}
        self.sources: dict[str, Union[PoissonSource, SpikeSource]] = {}
        self.projections: dict[str, Projection] = {}
        self.currents: dict[str, CurrentInput] = {}
        self.probes: dict[str, Union[SpikeProbe, StateProbe]] = {}

    # ----------------------------------------------------------------- nodes
    def node(self, ref, where: str = "network", field_name: str = "node") -> Node:
        """Look up a population or source by name or object.

        ``where`` and ``field_name`` name the object and field in the error raised
        when there is no such node (e.g. ``"projection 'a->b'"``, ``"pre"``).
        """
        name = ref if isinstance(ref, str) else getattr(ref, "name", None)
        if name in self.populations:
            return self.populations[name]
        if name in self.sources:
            return self.sources[name]
        shown = name if name is not None else ref
        raise NetworkError(where, field_name, f"no population or source named {shown!r} "
                           f"(known: {sorted([*self.populations, *self.sources])})")

    def _new_node_name(self, name, kind: str) -> str:
        """``name`` if it is valid and free; ``kind`` ("population", ...) names the object in errors."""
        _check_name(kind, name)
        if name in self.populations or name in self.sources:
            raise NetworkError(f"{kind} {name!r}", "name", "is already used by another population or source")
        return name

    @staticmethod
    def _check_size(where, size) -> int:
        if not isinstance(size, (int, np.integer)) or isinstance(size, bool) or size < 1:
            raise NetworkError(where, "size", f"must be a positive integer, got {size!r}")
        return int(size)

    def add_population(self, name: str, size: int, model: NeuronModel, initial: dict | None = None) -> Population:
        """Add ``size`` neurons of ``model``; ``initial`` maps state variables to initial values."""
        self._new_node_name(name, "population")
        where = f"population {name!r}"
        size = self._check_size(where, size)
        if not isinstance(model, NeuronModel):
            raise NetworkError(where, "model", f"must be a neuron model (LIF, CubaLIF, LI, IF, CobaLIF), got {model!r}")
        pop = Population(name, size, model, dict(initial or {}))
        for var in pop.initial:
            if var not in model.state_variables:
                raise NetworkError(where, "initial", f"{model.kind} has no state variable {var!r} "
                                   f"(it has {model.state_variables})")
        memory.check(memory.Estimate({"validation": 8 * size * (len(model.parameter_names())
                                                                + len(model.state_variables))}),
                     where, "size", f"{size:,} neurons")
        _check_population(pop, self.seed)  # validates parameters and initial values now
        self.populations[name] = pop
        return pop

    def add_poisson(self, name: str, size: int, rate, rate_dt: float | None = None) -> PoissonSource:
        """Add ``size`` Poisson spike trains with ``rate`` (Hz), constant or a time series."""
        self._new_node_name(name, "poisson source")
        where = f"poisson source {name!r}"
        size = self._check_size(where, size)
        arr, rate_dt = _series(where, "rate", rate, size, rate_dt, nonnegative=True)
        src = PoissonSource(name, size, arr, rate_dt)
        self.sources[name] = src
        return src

    def add_spike_source(self, name: str, size: int, times, indices=None) -> SpikeSource:
        """Add ``size`` neurons firing at given ``times`` (s); ``indices[k]`` fires at ``times[k]``."""
        self._new_node_name(name, "spike source")
        where = f"spike source {name!r}"
        size = self._check_size(where, size)
        try:
            times = np.atleast_1d(np.asarray(times, dtype=np.float64))
        except (TypeError, ValueError):
            raise NetworkError(where, "times", f"must be numbers of seconds, got {times!r}") from None
        indices = np.zeros(len(times), np.int64) if indices is None else np.atleast_1d(np.asarray(indices))
        _check_spike_times(where, size, times, indices)
        order = np.lexsort((indices, times))
        src = SpikeSource(name, size, times[order], indices[order].astype(np.int64))
        self.sources[name] = src
        return src

    # ----------------------------------------------------------- projections
    def connect(self, pre, post, rule=None, *, weight=None, delay=None, target: str = "current",
                name: str | None = None) -> Projection:
        """Connect ``pre`` to ``post`` with a connectivity rule.

        ``rule`` is a rule from :mod:`snnsim.connectivity`, or a weight matrix of shape
        ``(n_post, n_pre)``: dense (2-D array) or ``scipy.sparse`` (stored entries only). ``weight`` and ``delay`` (s, default one step of
        the network's ``dt``) are scalars, distributions, or per-synapse arrays: in the
        order of the pairs for :class:`~snnsim.connectivity.Sparse`, otherwise in storage
        order (presynaptic neuron major, as ``Projection.indices``). With a dense matrix
        the delays may also be a matrix of the same shape.
        """
        ref_name = lambda r: r if isinstance(r, str) else getattr(r, "name", r)  # noqa: E731
        early = f"projection {name or f'{ref_name(pre)}->{ref_name(post)}'!r}"
        pre_node = self.node(pre, early, "pre")
        post_node = self.node(post, early, "post")
        name = _check_name("projection", name or f"{pre_node.name}->{post_node.name}")
        where = f"projection {name!r}"
        if name in self.projections:
            raise NetworkError(where, "name", "is already used by another projection")
        if not isinstance(post_node, Population):
            raise NetworkError(where, "post", f"must be a population of neurons, got source {post_node.name!r}")
        if _is_matrix(rule):
            try:
                rule = conn.Dense(np.asarray(rule, dtype=np.float64))
            except (TypeError, ValueError):
                raise NetworkError(where, "weight", f"a weight matrix must hold numbers, got {rule!r}") from None
        elif hasattr(rule, "tocoo") and hasattr(rule, "shape"):  # a scipy.sparse matrix
            rule = conn.SparseMatrix(rule)
        if rule is None or isinstance(rule, type) or not hasattr(rule, "build"):
            raise NetworkError(where, "rule", f"must be a connectivity rule (an instance, e.g. OneToOne()) or a "
                               f"(n_post, n_pre) weight matrix, got {rule!r}")
        if isinstance(rule, (conn.Dense, conn.SparseMatrix)) and weight is not None:
            raise NetworkError(where, "weight", "is given by the matrix; do not pass weight too")
        memory.check_connect(rule, pre_node.size, post_node.size, pre_node is post_node, weight, delay, where)
        key = projection_key(self.seed, "projection", name)
        built = rule.build(pre_node.size, post_node.size, key, pre_node is post_node, where)
        n_syn = len(built.indices)
        if built.weights is not None:
            weights = built.weights
            if not np.isfinite(weights).all():
                i = int(np.flatnonzero(~np.isfinite(weights))[0])
                raise NetworkError(where, "weight", f"must be finite, got {weights[i]!r} at synapse {i}")
        else:
            weight = 1.0 if weight is None else weight
            if np.ndim(weight) == 0 and not isinstance(weight, Distribution):
                weights = float(resolve(weight, 1, None, where, "weight")[0])  # shared: stored once
            else:
                weights = self._per_synapse(weight, n_syn, key, 3, built, where, "weight")
        if isinstance(rule, conn.Dense) and np.ndim(delay) == 2:  # a delay matrix shaped like the weights
            delay = np.asarray(delay, dtype=np.float64)
            if delay.shape != (post_node.size, pre_node.size):
                raise NetworkError(where, "delay", f"a delay matrix must have the weights' shape (n_post, n_pre) "
                                   f"= ({post_node.size}, {pre_node.size}), got {delay.shape}")
            delay = delay.T.reshape(-1)  # storage order: presynaptic neuron major
        if delay is None:
            delays: Union[None, float, np.ndarray] = None  # one step, whatever the run's dt
        elif np.ndim(delay) == 0 and not isinstance(delay, Distribution):
            delays = float(resolve(delay, 1, None, where, "delay")[0])
        else:
            delays = self._per_synapse(delay, n_syn, key, 4, built, where, "delay")
        for arr in (built.indptr, built.indices, weights, delays):  # ours: stored read-only without a copy
            if isinstance(arr, np.ndarray) and arr is not weight and arr is not delay and arr.flags.owndata:
                arr.flags.writeable = False
        proj = Projection(name, pre_node.name, post_node.name, target, built.indptr, built.indices,
                          weights, delays, rule=type(rule).__name__)
        self._check_projection(proj)
        self.projections[name] = proj
        return proj

    @staticmethod
    def _per_synapse(value, n_syn, key, tag, built, where, field_name) -> np.ndarray:
        """Per-synapse values: drawn from the projection's stream (a distribution, float32) or
        the user's array (float64; in pair order for ``Sparse``, stored in CSR order)."""
        if isinstance(value, Distribution):
            return draw_synaptic(value, key, tag, built.indptr, built.indices, where, field_name)
        arr = resolve(value, n_syn, None, where, field_name)
        if built.order is not None and np.ndim(value) == 1:
            arr = arr[built.order]  # user gave values in pair order; store them in CSR order
        return arr

    def _check_projection(self, p: Projection) -> None:
        where = p.where
        for end in ("pre", "post"):
            ref = getattr(p, end)
            if ref not in self.populations and ref not in self.sources:
                raise NetworkError(where, end, f"unknown population or source {ref!r}")
        pre, post = self.node(p.pre), self.populations.get(p.post)
        if post is None:
            raise NetworkError(where, "post", f"must be a population of neurons, got source {p.post!r}")
        if p.target not in TARGETS:
            raise NetworkError(where, "target", f"must be one of {TARGETS}, got {p.target!r}")
        if p.target not in post.model.targets:
            raise NetworkError(where, "target", f"{post.model.kind} population {post.name!r} accepts "
                               f"{post.model.targets}, got {p.target!r}")
        if p.indptr.shape != (pre.size + 1,) or p.indptr[0] != 0 or p.indptr[-1] != len(p.indices) or \
                (np.diff(p.indptr) < 0).any():
            raise NetworkError(where, "indptr", f"is not a valid CSR row pointer for {pre.size} presynaptic neurons")
        if len(p.indices) and (p.indices.min() < 0 or p.indices.max() >= post.size):
            i = int(np.flatnonzero((p.indices < 0) | (p.indices >= post.size))[0])
            raise NetworkError(where, "indices", f"postsynaptic indices must lie in [0, {post.size}), got "
                               f"{int(p.indices[i])} at synapse {i}")
        weights = np.asarray(p.weights)  # checked in its own dtype: no float64 copy of float32 weights
        if weights.dtype.kind not in "iuf":
            weights = weights.astype(np.float64)
        if weights.ndim != 0 and weights.shape != p.indices.shape:
            raise NetworkError(where, "weight", f"must be one value shared by all synapses or one per synapse "
                               f"({len(p.indices)}), got shape {weights.shape}")
        weights = np.atleast_1d(weights)
        if not np.isfinite(weights).all():
            i = int(np.flatnonzero(~np.isfinite(weights))[0])
            raise NetworkError(where, "weight", f"must be finite, got {weights[i]!r} at synapse {i}")
        if p.target in ("exc", "inh") and (weights < 0).any():
            i = int(np.flatnonzero(weights < 0)[0])
            raise NetworkError(where, "weight", f"conductance weights must be >= 0, got {weights[i]!r} at synapse {i}")
        if p.delays is None:  # one step of the run's dt
            return
        delays = np.atleast_1d(np.asarray(p.delays))
        if delays.dtype.kind not in "iuf":
            delays = delays.astype(np.float64)
        if delays.ndim != 1 or (delays.shape[0] != 1 and delays.shape != p.indices.shape):
            raise NetworkError(where, "delay", f"must be a scalar or one value per synapse, got shape {delays.shape}")
        if not np.isfinite(delays).all() or (delays <= 0).any():
            bad = delays[~np.isfinite(delays) | (delays <= 0)][0]
            raise NetworkError(where, "delay", f"must be finite and > 0 s (at least one step), got {bad!r}")

    # ---------------------------------------------------------------- inputs
    def add_current(self, name: str, target, amplitude, sample_dt: float | None = None) -> CurrentInput:
        """Inject ``amplitude`` (A) into ``target``: constant, or a time series sampled every ``sample_dt``."""
        _check_name("current", name)
        where = f"current {name!r}"
        if name in self.currents:
            raise NetworkError(where, "name", "is already used by another current")
        pop = self.node(target, where, "target")
        if not isinstance(pop, Population):
            raise NetworkError(where, "target", f"must be a population of neurons, got source {pop.name!r}")
        arr, sample_dt = _series(where, "amplitude", amplitude, pop.size, sample_dt, nonnegative=False)
        cur = CurrentInput(name, pop.name, arr, sample_dt)
        self.currents[name] = cur
        return cur

    # ---------------------------------------------------------------- probes
    def probe_spikes(self, target, name: str | None = None) -> SpikeProbe:
        """Record all spikes of a population or source."""
        node = self.node(target, f"probe {name!r}" if name else "spike probe", "target")
        name = _check_name("probe", name or f"{node.name}.spikes")
        if name in self.probes:
            raise NetworkError(f"probe {name!r}", "name", "is already used by another probe")
        probe = SpikeProbe(name, node.name)
        self.probes[name] = probe
        return probe

    def probe_state(self, target, variable: str = "v", neurons=None, every: int = 1,
                    name: str | None = None) -> StateProbe:
        """Record ``variable`` of ``neurons`` (default: all) at t = 0 and every ``every`` steps."""
        node = self.node(target, f"state probe {name!r}" if name else "state probe", "target")
        name = _check_name("probe", name or f"{node.name}.{variable}")
        where = f"state probe {name!r}"
        if name in self.probes:
            raise NetworkError(where, "name", "is already used by another probe")
        neurons = np.arange(node.size) if neurons is None else np.atleast_1d(np.asarray(neurons))
        probe = StateProbe(name, node.name, variable, neurons.astype(np.int64) if neurons.dtype.kind in "iu" else neurons,
                           every)
        self._check_state_probe(probe)
        self.probes[name] = probe
        return probe

    def _check_state_probe(self, probe: StateProbe) -> None:
        where = probe.where
        pop = self.populations.get(probe.target)
        if pop is None:
            raise NetworkError(where, "target", f"must be a population of neurons, got {probe.target!r}")
        if probe.variable not in pop.model.state_variables:
            raise NetworkError(where, "variable", f"{pop.model.kind} has state variables "
                               f"{pop.model.state_variables}, got {probe.variable!r}")
        n = probe.neurons
        if n.ndim != 1 or not np.issubdtype(n.dtype, np.integer) or (len(n) and (n.min() < 0 or n.max() >= pop.size)):
            raise NetworkError(where, "neurons", f"must be integer indices in [0, {pop.size}), got {n!r}")
        if not isinstance(probe.every, (int, np.integer)) or isinstance(probe.every, bool) or probe.every < 1:
            raise NetworkError(where, "every", f"must be a positive whole number of steps, got {probe.every!r}")

    # ------------------------------------------------------- changes between runs
    # Each setter validates like the matching add_*/connect call and assigns a new value; a
    # Simulator applies it from its next step on, or refuses it (snnsim.changes, docs/backends.md).
    def set_parameters(self, population, **parameters) -> Population:
        """Replace parameters of a population's model (e.g. ``v_th=0.8``, ``tau_mem=...``)."""
        pop = self._population(population, "set_parameters")
        names = pop.model.parameter_names() + (["reset"] if hasattr(pop.model, "reset") else [])
        unknown = sorted(set(parameters) - set(names))
        if unknown:
            raise NetworkError(pop.where, unknown[0], f"is not a parameter of {pop.model.kind} ({names})")
        model = dataclasses.replace(pop.model, **parameters)
        model.parameters(pop.size, pop.where)
        if tuple(model.state_variables) != tuple(pop.model.state_variables):
            raise NetworkError(pop.where, "tau_syn", f"changes the state variables from {pop.model.state_variables} "
                               f"to {model.state_variables}; build a new population instead")
        pop.model = model
        return pop

    def set_weights(self, projection, weight) -> Projection:
        """New weights of a projection: one value for all synapses, or one per synapse (storage order)."""
        return self._set_synaptic(projection, "weights", "weight", weight)

    def set_delays(self, projection, delay) -> Projection:
        """New delays (s) of a projection: one value for all synapses, or one per synapse."""
        return self._set_synaptic(projection, "delays", "delay", delay)

    def _set_synaptic(self, projection, attribute: str, field_name: str, value) -> Projection:
        """Assign weights or delays (a value, an array per synapse or a distribution), checked like
        ``connect``; on an error the projection keeps its old value."""
        proj = self._projection(projection)
        if np.ndim(value) == 0 and not isinstance(value, Distribution):
            new = float(resolve(value, 1, None, proj.where, field_name)[0])
        elif isinstance(value, Distribution):
            key = projection_key(self.seed, "projection", proj.name, f"set_{attribute}")
            new = draw_synaptic(value, key, 3 if attribute == "weights" else 4, proj.indptr, proj.indices,
                                proj.where, field_name)
        else:
            new = resolve(value, proj.n_synapses, None, proj.where, field_name)
        old = getattr(proj, attribute)
        setattr(proj, attribute, new)
        try:
            self._check_projection(proj)
        except NetworkError:
            setattr(proj, attribute, old)
            raise
        return proj

    def set_rate(self, source, rate, rate_dt: float | None = None) -> PoissonSource:
        """New rate (Hz) of a Poisson source: constant, or a time series sampled every ``rate_dt``
        (sample ``k`` holds on ``[k rate_dt, (k + 1) rate_dt)`` of the whole run's time)."""
        src = self.node(source, "set_rate", "source")
        if not isinstance(src, PoissonSource):
            raise NetworkError(getattr(src, "where", "set_rate"), "rate", "only a Poisson source has a rate")
        arr, rate_dt = _series(src.where, "rate", rate, src.size, rate_dt, nonnegative=True)
        src.rate, src.rate_dt = arr, rate_dt
        return src

    def set_spike_times(self, source, times, indices=None) -> SpikeSource:
        """New spike times (s) of a spike source; ``indices[k]`` fires at ``times[k]``."""
        src = self.node(source, "set_spike_times", "source")
        if not isinstance(src, SpikeSource):
            raise NetworkError(getattr(src, "where", "set_spike_times"), "times", "only a spike source has spike times")
        times = np.atleast_1d(np.asarray(times, dtype=np.float64))
        indices = np.zeros(len(times), np.int64) if indices is None else np.atleast_1d(np.asarray(indices))
        _check_spike_times(src.where, src.size, times, indices)
        order = np.lexsort((indices, times))
        src.times, src.indices = times[order], indices[order].astype(np.int64)
        return src

    def set_current(self, name: str, amplitude, sample_dt: float | None = None) -> CurrentInput:
        """New amplitude (A) of an injected current: constant or a time series."""
        cur = self.currents.get(name)
        if cur is None:
            raise NetworkError("set_current", "name", f"no current named {name!r} (known: {sorted(self.currents)})")
        arr, sample_dt = _series(cur.where, "amplitude", amplitude, self.populations[cur.target].size, sample_dt,
                                 nonnegative=False)
        cur.amplitude, cur.sample_dt = arr, sample_dt
        return cur

    def _population(self, ref, where: str) -> Population:
        node = self.node(ref, where, "population")
        if not isinstance(node, Population):
            raise NetworkError(where, "population", f"{node.name!r} is a source, not a population of neurons")
        return node

    def _projection(self, ref) -> Projection:
        name = ref if isinstance(ref, str) else getattr(ref, "name", ref)
        if name not in self.projections:
            raise NetworkError("network", "projection", f"no projection named {name!r} "
                               f"(known: {sorted(self.projections)})")
        return self.projections[name]

    # ------------------------------------------------------------ whole-net
    @property
    def n_neurons(self) -> int:
        return sum(p.size for p in self.populations.values())

    @property
    def n_synapses(self) -> int:
        return sum(p.n_synapses for p in self.projections.values())

    def validate(self) -> "Network":
        """Re-check every part and their references; returns self. Raises NetworkError."""
        check_dt(self.dt)
        check_integration(self.integration)
        if not self.populations:
            raise NetworkError("network", "populations", "the network has no population of neurons")
        for pop in self.populations.values():
            self._check_size(pop.where, pop.size)
            for var in pop.initial:
                if var not in pop.model.state_variables:
                    raise NetworkError(pop.where, "initial", f"{pop.model.kind} has no state variable {var!r} "
                                       f"(it has {pop.model.state_variables})")
            _check_population(pop, self.seed)
        for src in self.sources.values():
            self._check_size(src.where, src.size)
            if isinstance(src, PoissonSource):
                _series(src.where, "rate", src.rate, src.size, src.rate_dt, nonnegative=True)
            else:
                _check_spike_times(src.where, src.size, np.asarray(src.times), np.asarray(src.indices))
        for proj in self.projections.values():
            self._check_projection(proj)
        for cur in self.currents.values():
            pop = self.populations.get(cur.target)
            if pop is None:
                raise NetworkError(cur.where, "target", f"unknown population {cur.target!r}")
            _series(cur.where, "amplitude", cur.amplitude, pop.size, cur.sample_dt, nonnegative=False)
        for probe in self.probes.values():
            if isinstance(probe, StateProbe):
                self._check_state_probe(probe)
            else:
                self.node(probe.target, f"probe {probe.name!r}", "target")
        return self

    def summary(self) -> list[tuple[str, str, str]]:
        """Rows (kind, name, description) for printing."""
        rows = []
        for p in self.populations.values():
            rows.append(("population", p.name, f"{p.size} x {p.model.kind}"))
        for s in self.sources.values():
            kind = "poisson" if isinstance(s, PoissonSource) else "spike source"
            rows.append((kind, s.name, f"{s.size} sources"))
        for pr in self.projections.values():
            rows.append(("projection", pr.name, f"{pr.pre} -> {pr.post} ({pr.target}), {pr.n_synapses} synapses, {pr.rule}"))
        for c in self.currents.values():
            rows.append(("current", c.name, f"-> {c.target}"))
        return rows

    def __repr__(self) -> str:
        return (f"Network(name={self.name!r}, dt={self.dt}, integration={self.integration!r}, seed={self.seed}, "
                f"neurons={self.n_neurons}, synapses={self.n_synapses})")

