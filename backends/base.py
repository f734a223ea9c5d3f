"""The engine contract: what every engine declares, the one refusal path, the run options and
the base class every ``Simulator`` derives from. Installed as ``snnsim.backends.base``.

An engine module exports ``NAME``, ``CAPABILITIES`` (:class:`Capabilities`) and ``Simulator``
(a subclass of :class:`Engine`), and has one entry in :data:`REGISTRY`. Nothing else about an
engine is known by convention: :func:`check` refuses what it does not declare before anything
is built, and ``tests/conformance`` runs every registered engine. See ``docs/backends.md``.
"""

from __future__ import annotations

import dataclasses
import importlib
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from snnsim import changes as ch
from snnsim.discretize import steps_of
from snnsim.errors import NetworkError
from snnsim.network import Network, PoissonSource, check_dt
from snnsim.plan import delay_steps, make_plan, replan
from snnsim.results import Results

#: name -> module of every engine; ``simulate``, the CLI and the conformance suite read it
REGISTRY = {
    "cpu": "snnsim.backends.cpu",
    "event": "snnsim.backends.event",
    "torch": "snnsim.backends.torch",
    "lava": "snnsim.backends.lava",
}

ARITHMETICS = ("float32", "float64", "loihi_fixed", "loihi_float")
LOIHI_ARITHMETICS = ("loihi_fixed", "loihi_float")
INTEGRATIONS = ("exact", "euler")
MODELS = ("LIF", "CubaLIF", "LI", "IF", "CobaLIF")
INPUTS = ("poisson", "poisson_series", "spike_times", "current", "current_series")
CHANGES = ("parameters", "weights", "delays", "rates", "spike_times", "currents", "probes")
DELAYS = ("continuous", "steps", "uniform_steps", "one_step")  # from most to least general


@dataclass(frozen=True)
class Capabilities:
    """What an engine supports. ``check`` refuses everything else.

    ``arithmetics``: the first is the default. ``delays``: ``continuous`` (any delay > 0, not
    rounded), ``steps`` (whole steps per synapse), ``uniform_steps`` (one whole-step delay per
    projection) or ``one_step``. ``topology``: ``any``, or ``feedforward`` (no cycle through
    different populations; a population may project onto itself). ``changes``: the kinds of
    change (``snnsim.changes``) applied between runs in float arithmetic; ``loihi_changes`` in
    the Loihi arithmetics. ``time``: ``steps`` (runs are whole numbers of steps) or
    ``continuous``. ``comparison``: how results compare with the CPU engine in the same
    arithmetic (``bit-identical``, ``float``: same spikes, values to rounding, or ``continuous``:
    exact spike times). ``options``: engine-specific run options, name -> default. ``reasons``:
    why something is not supported, as ``(key, text)`` pairs shown in refusals (keys: ``model:X``,
    ``integration:X``, ``delays``, ``refractory``, ``reset``, ``target``, an input kind, ``topology``).
    """

    models: tuple = MODELS
    integrations: tuple = INTEGRATIONS
    arithmetics: tuple = ("float32", "float64")
    delays: str = "steps"
    targets: tuple = ("current", "exc", "inh")
    inputs: tuple = INPUTS
    refractory: bool = True
    resets: tuple = ("value", "subtract")
    topology: str = "any"
    continues: bool = True
    restore: bool = True
    snapshots: bool = True
    changes: tuple = CHANGES
    loihi_changes: tuple = ()
    devices: tuple = ("cpu",)
    time: str = "steps"
    comparison: str = "bit-identical"
    options: tuple = ()
    reasons: tuple = ()

    def reason(self, key: str) -> str:
        return dict(self.reasons).get(key, "")

    def under(self, arithmetic: str) -> "Capabilities":
        """These capabilities within what ``arithmetic`` can express: Loihi's CUBA LIF has no
        conductances, refractoriness, subtractive reset or injected current."""
        if arithmetic not in LOIHI_ARITHMETICS:
            return self
        return dataclasses.replace(
            self, models=tuple(m for m in self.models if m != "CobaLIF"), refractory=False, resets=("value",),
            targets=("current",), inputs=tuple(i for i in self.inputs if not i.startswith("current")),
            changes=self.loihi_changes)

    def changes_under(self, arithmetic: str) -> tuple:
        return self.loihi_changes if arithmetic in LOIHI_ARITHMETICS else self.changes


# ------------------------------------------------------------------------- registry
def engine_module(name: str):
    """The module implementing engine ``name``."""
    if name not in REGISTRY:
        raise NetworkError("run", "backend", f"must be one of {sorted(REGISTRY)}, got {name!r}")
    return importlib.import_module(REGISTRY[name])


def capabilities(name: str) -> Capabilities:
    return engine_module(name).CAPABILITIES


def _able(test) -> list[str]:
    """Registered engines whose capabilities pass ``test`` (for refusal messages)."""
    out = []
    for name in REGISTRY:
        try:
            if test(capabilities(name)):
                out.append(name)
        except ImportError:  # an optional engine whose module cannot load here
            continue
    return out


def capability_table() -> str:
    """The capabilities of every registered engine as a Markdown table (``docs/backends.md``
    holds this table; a test checks that it matches the declarations)."""
    rows = [("models", lambda c: ", ".join(c.models)),
            ("integration (physics)", lambda c: ", ".join(c.integrations)),
            ("arithmetic (first: default)", lambda c: ", ".join(c.arithmetics)),
            ("delays", lambda c: c.delays.replace("_", " ")),
            ("synapse targets", lambda c: ", ".join(c.targets)),
            ("inputs", lambda c: ", ".join(i.replace("_", " ") for i in c.inputs)),
            ("refractory period", lambda c: "yes" if c.refractory else "no"),
            ("resets", lambda c: ", ".join(c.resets)),
            ("topology", lambda c: "any" if c.topology == "any" else "feed-forward (+ self)"),
            ("devices", lambda c: ", ".join(c.devices)),
            ("time", lambda c: c.time),
            ("continues a run", lambda c: "yes" if c.continues else "no"),
            ("state() / restore()", lambda c: "yes / " + ("yes" if c.restore else "no")),
            ("save() / load_simulator()", lambda c: "yes" if c.snapshots else "no"),
            ("changes applied between runs", lambda c: ", ".join(c.changes) or "none"),
            ("... in Loihi arithmetic", lambda c: (", ".join(c.loihi_changes) or "none")
             if any(a in LOIHI_ARITHMETICS for a in c.arithmetics) else "-"),
            ("compared with cpu", lambda c: c.comparison),
            ("own options", lambda c: ", ".join(f"{k}={v!r}" for k, v in c.options) or "-")]
    names = list(REGISTRY)
    caps = [capabilities(n) for n in names]
    lines = ["| | " + " | ".join(f"`{n}`" for n in names) + " |", "|---" * (len(names) + 1) + "|"]
    for label, get in rows:
        lines.append(f"| {label} | " + " | ".join(get(c) for c in caps) + " |")
    return "\n".join(lines)


# ------------------------------------------------------------------------- options
@dataclass
class RunOptions:
    """How a Simulator runs a network.

    ``dt`` (s, default the network's); ``integration``: the physics scheme, default the
    network's (``exact`` or ``euler``); ``arithmetic``: ``float32``, ``float64``, ``loihi_fixed``
    or ``loihi_float`` (default the engine's first); ``device`` (``cpu``, ``cuda``);
    ``progress``: a progress bar (None: on a terminal for long runs); ``engine``: the engine's
    own options (``Capabilities.options``).
    """

    dt: float | None = None
    integration: str | None = None
    arithmetic: str | None = None
    device: str = "cpu"
    progress: bool | None = None
    engine: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


_DEPRECATED_INTEGRATION = {"loihi": "loihi_fixed", "loihi_float": "loihi_float"}


def resolve_options(name: str, caps: Capabilities, options=None, kwargs: dict | None = None) -> RunOptions:
    """``options`` (a :class:`RunOptions`, a dict or None) with ``kwargs`` applied, old
    spellings mapped (with a DeprecationWarning) and every value checked against ``caps``."""
    where = f"{name} engine"
    if options is None:
        opts = RunOptions()
    elif isinstance(options, RunOptions):
        opts = dataclasses.replace(options, engine=dict(options.engine))
    elif isinstance(options, Mapping):
        opts = RunOptions()
        kwargs = {**options, **(kwargs or {})}
    else:
        raise NetworkError(where, "options", f"must be RunOptions, a dict or None, got {options!r}")
    own = dict(caps.options)
    for key, value in (kwargs or {}).items():
        if key == "dtype":  # old spelling of the float arithmetic
            if value is None:
                continue
            warnings.warn("dtype= is deprecated: use arithmetic='float32' or 'float64'", DeprecationWarning,
                          stacklevel=4)
            key, value = "arithmetic", np.dtype(value).name if not isinstance(value, str) else value
        if key == "integration" and value in _DEPRECATED_INTEGRATION:
            warnings.warn(f"integration={value!r} is deprecated: the integration scheme is physics "
                          f"(exact, euler); use arithmetic={_DEPRECATED_INTEGRATION[value]!r}",
                          DeprecationWarning, stacklevel=4)
            key, value = "arithmetic", _DEPRECATED_INTEGRATION[value]
        if key == "fixed_point":  # the Lava backend's old switch
            if value is None:
                continue
            warnings.warn("fixed_point= is deprecated: use arithmetic='loihi_fixed' (or 'loihi_float')",
                          DeprecationWarning, stacklevel=4)
            key, value = "arithmetic", "loihi_fixed" if value else "loihi_float"
        if key in ("dt", "integration", "arithmetic", "device", "progress"):
            if value is not None or key == "progress":
                setattr(opts, key, value)
        elif key in own:
            opts.engine[key] = value
        else:
            known = ["dt", "integration", "arithmetic", "device", "progress", *own]
            raise NetworkError(where, key, f"is not an option of the {name} engine (options: {known})")
    for key in own:
        opts.engine.setdefault(key, own[key])
    unknown = set(opts.engine) - set(own)
    if unknown:
        raise NetworkError(where, sorted(unknown)[0], f"is not an option of the {name} engine (its own: {sorted(own)})")
    if opts.dt is not None:
        opts.dt = check_dt(opts.dt, "run")
    if opts.integration is not None and opts.integration not in INTEGRATIONS:
        raise NetworkError("run", "integration", f"must be one of {INTEGRATIONS} (the physics; the arithmetic "
                           f"is a separate option), got {opts.integration!r}")
    if opts.arithmetic is None:
        opts.arithmetic = caps.arithmetics[0]
    if opts.arithmetic not in ARITHMETICS:
        raise NetworkError("run", "arithmetic", f"must be one of {ARITHMETICS}, got {opts.arithmetic!r}")
    if opts.arithmetic not in caps.arithmetics:
        able = _able(lambda c: opts.arithmetic in c.arithmetics)
        raise NetworkError(where, "arithmetic", f"the {name} engine computes in {caps.arithmetics}, not "
                           f"{opts.arithmetic!r}; engines that do: {able}")
    if opts.device not in caps.devices and not (opts.device.startswith("cuda") and "cuda" in caps.devices):
        able = _able(lambda c: opts.device.split(":")[0] in c.devices)
        raise NetworkError(where, "device", f"the {name} engine runs on {caps.devices}, not {opts.device!r}; "
                           f"engines that do: {able}")
    return opts


# ------------------------------------------------------------------------- check
def _refuse(name: str, where: str, field_name: str, what: str, declares, why: str = "",
            arithmetic: str | None = None) -> NetworkError:
    """The refusal of engine ``name``; ``declares(capabilities)`` tells whether an engine's
    capabilities (within ``arithmetic``) cover what is missing, to name the engines that can."""
    same = [e for e in _able(lambda c: (arithmetic is None or arithmetic in c.arithmetics)
                             and declares(c.under(arithmetic) if arithmetic else c)) if e != name]
    why = f" ({why})" if why else ""
    if same or arithmetic is None:
        able = same if same else "none"
    else:
        other = [f"{e} ({a})" for e in REGISTRY if e != name and e in _able(lambda c: True)
                 for a in capabilities(e).arithmetics if declares(capabilities(e).under(a))]
        able = f"none in arithmetic {arithmetic!r}; in another arithmetic: {other if other else 'none'}"
    return NetworkError(where, field_name, f"the {name} engine does not support {what}{why}; "
                        f"engines that do: {able}")


def _cycles(net: Network) -> list[str]:
    """Populations on a cycle through different populations (empty if feed-forward)."""
    edges = {p: {q.post for q in net.projections.values() if q.pre == p and q.post != p} for p in net.populations}
    state, on_cycle = {}, set()

    def visit(p, path):
        state[p] = 1
        path.append(p)
        for q in edges[p]:
            if state.get(q) == 1:
                on_cycle.update(path[path.index(q):])
            elif q not in state:
                visit(q, path)
        path.pop()
        state[p] = 2
    for p in net.populations:
        if p not in state:
            visit(p, [])
    return sorted(on_cycle)


def check(network: Network, options: RunOptions, name: str, caps: Capabilities) -> None:
    """Refuse, before anything is built, what engine ``name`` cannot run: one NetworkError naming
    the engine, the object, the field and the engines that can."""
    network.validate()
    arithmetic = options.arithmetic
    eff = caps.under(arithmetic)
    dt = options.dt or network.dt
    integration = options.integration or network.integration
    if integration not in eff.integrations:
        raise _refuse(name, "run", "integration", f"integration={integration!r}",
                      lambda c: integration in c.integrations, caps.reason(f"integration:{integration}"), arithmetic)
    loihi_note = f" in arithmetic {arithmetic!r}" if arithmetic in LOIHI_ARITHMETICS else ""
    for pop in network.populations.values():
        kind = pop.model.kind
        if kind not in eff.models:
            raise _refuse(name, pop.where, "model", f"{kind}{loihi_note}", lambda c: kind in c.models,
                          caps.reason(f"model:{kind}") if kind in MODELS and kind not in caps.models else "", arithmetic)
        params = pop.parameters()
        if pop.model.spiking and not eff.refractory and (params["t_ref"] > 0).any():
            raise _refuse(name, pop.where, "t_ref", f"refractory periods{loihi_note} (t_ref = "
                          f"{float(params['t_ref'].max())!r} s); use t_ref=0", lambda c: c.refractory,
                          caps.reason("refractory"), arithmetic)
        reset = getattr(pop.model, "reset", "value")
        if pop.model.spiking and reset not in eff.resets:
            raise _refuse(name, pop.where, "reset", f"reset={reset!r}{loihi_note}",
                          lambda c: reset in c.resets, caps.reason("reset"), arithmetic)
    for proj in network.projections.values():
        if proj.target not in eff.targets:
            raise _refuse(name, proj.where, "target", f"target {proj.target!r}{loihi_note}",
                          lambda c: proj.target in c.targets, caps.reason("target"), arithmetic)
        _check_delays(name, eff, proj, dt, arithmetic)
    for src in network.sources.values():
        if isinstance(src, PoissonSource):
            kind = "poisson" if src.rate_dt is None else "poisson_series"
        else:
            kind = "spike_times"
        if kind not in eff.inputs:
            raise _refuse(name, src.where, "rate" if kind.startswith("poisson") else "times",
                          f"{kind.replace('_', ' ')} inputs", lambda c: kind in c.inputs,
                          caps.reason(kind), arithmetic)
    for cur in network.currents.values():
        kind = "current" if cur.sample_dt is None else "current_series"
        if kind not in eff.inputs:
            raise _refuse(name, cur.where, "sample_dt" if kind == "current_series" else "amplitude",
                          f"{'time-series ' if kind == 'current_series' else ''}injected currents{loihi_note}",
                          lambda c: kind in c.inputs, caps.reason(kind), arithmetic)
    if eff.topology == "feedforward":
        stuck = _cycles(network)
        if stuck:
            raise _refuse(name, f"population {stuck[0]!r}", "projections", f"cycles through different "
                          f"populations ({stuck}); only self-projections are recurrent here",
                          lambda c: c.topology == "any", caps.reason("topology"), arithmetic)


def _check_delays(name: str, caps: Capabilities, proj, dt: float, arithmetic: str) -> None:
    if caps.delays == "continuous" or proj.n_synapses == 0:
        return
    steps = delay_steps(proj, dt)
    if caps.delays == "steps":
        return
    if caps.delays == "one_step" and (steps != 1).any():
        raise _refuse(name, proj.where, "delay", f"delays other than one step (dt={dt!r} s; this projection has "
                      f"{int(steps[steps != 1][0])} steps)", lambda c: DELAYS.index(c.delays) < DELAYS.index("one_step"),
                      caps.reason("delays"), arithmetic)
    if caps.delays == "uniform_steps" and (steps != steps[0]).any():
        raise _refuse(name, proj.where, "delay", f"delays that differ within a projection (from {int(steps.min())} "
                      f"to {int(steps.max())} steps)", lambda c: DELAYS.index(c.delays) < DELAYS.index("uniform_steps"),
                      caps.reason("delays"), arithmetic)


# ------------------------------------------------------------------------- state
class State(Mapping):
    """A Simulator's state at one time: ``state[population][variable]`` (the state variables, in
    SI units or the arithmetic's state units), plus what ``restore`` needs to continue exactly:
    ``internals`` (the engine's own arrays: delay buffers, refractory counters, queues, source
    positions), the network values it was reached with and the results recorded so far.
    Everything is a copy: continuing the Simulator does not change a State."""

    def __init__(self, engine: str, t: float, step: int, populations: dict, internals: dict, values: dict,
                 segments: list, dt: float, integration: str, arithmetic: str):
        self.engine = engine
        self.dt, self.integration, self.arithmetic = dt, integration, arithmetic
        self.t = t
        self.step = step
        self.populations = populations
        self.internals = internals
        self.values = values
        self.segments = segments

    def __getitem__(self, population):
        return self.populations[population]

    def __iter__(self):
        return iter(self.populations)

    def __len__(self):
        return len(self.populations)

    def __repr__(self):
        return f"State({self.engine}, t={self.t:g} s, populations={list(self.populations)})"


# ------------------------------------------------------------------------- engine base
class Engine:
    """The base of every engine's ``Simulator``.

    ``Simulator(network, options=None, **options)``: :func:`check`, then the engine's ``_build``
    on the :class:`~snnsim.plan.Plan`. ``run(duration)`` applies (or refuses) what changed in the
    network since the last run, advances and returns that segment's :class:`Results`;
    ``results()`` joins every segment so far. ``state()``/``restore()``, ``save(path)``
    (``snnsim.load_simulator``). An engine implements ``_build``, ``_advance``, ``_internals``,
    ``_load_internals``, ``_population_state`` and ``_apply``.
    """

    NAME = ""
    CAPABILITIES = Capabilities()

    def __init__(self, network: Network, options=None, **kwargs):
        t0 = time.perf_counter()
        if not isinstance(network, Network):
            raise NetworkError(f"{self.NAME} engine", "network", f"must be an snnsim.Network, got "
                               f"{type(network).__name__}")
        self.options = resolve_options(self.NAME, self.CAPABILITIES, options, kwargs)
        self.network = network
        self._setup()
        self.build_s = time.perf_counter() - t0

    def _setup(self) -> None:
        """Check, plan and build from the network as it is now (also before a first run after changes)."""
        net = self.network
        check(net, self.options, self.NAME, self.CAPABILITIES)
        self.dt = self.options.dt or net.dt
        self.integration = self.options.integration or net.integration
        self.arithmetic = self.options.arithmetic
        self.step = 0          # whole steps done (time-stepped engines)
        self.t = 0.0           # simulated time reached (s)
        self._segments: list[Results] = []
        self.meta: dict = {}
        self._values = ch.values_of(net)
        self.plan = make_plan(net, self.dt, self.integration)
        self._refuse_values(self.plan)
        self._build()

    # ------------------------------------------------------------------ the contract
    @property
    def backend(self) -> str:
        return self.NAME

    @property
    def started(self) -> bool:
        return self.t > 0 or self.step > 0 or bool(self._segments)

    def run(self, duration: float, progress: bool | None = None) -> Results:
        """Advance by ``duration`` (s) from where the last run stopped; returns this segment."""
        t_wall = time.perf_counter()
        duration = _check_duration(duration)
        if self.started and not self.CAPABILITIES.continues:
            raise NetworkError(f"{self.NAME} engine", "run", "cannot continue a run; build a new Simulator")
        self.sync()
        n_steps = steps_of(duration, self.dt, "run", "duration") if self.CAPABILITIES.time == "steps" else None
        progress = self.options.progress if progress is None else progress
        res = self._advance(duration, n_steps, progress)
        res.counters["wall_s"] = time.perf_counter() - t_wall
        res.counters["build_s"] = self.build_s if not self._segments else 0.0
        self._segments.append(res)
        return res

    def results(self) -> Results:
        """Everything recorded so far, every segment joined (see :meth:`Results.concatenate`)."""
        if not self._segments:
            raise NetworkError(f"{self.NAME} engine", "results", "nothing has been run yet")
        return Results.concatenate(self._segments)

    def sync(self) -> list:
        """Apply what changed in the network since the last run (or refuse it); returns the changes."""
        values = ch.values_of(self.network)
        changes = ch.diff(self._values, values)
        if not changes:
            return []
        if not self.started:  # nothing has run: start afresh from the network as it is now
            self._setup()
            return changes
        self._apply_changes(changes, self._values)
        self._values = values
        return changes

    def _apply_changes(self, changes: list, old_values: dict) -> None:
        allowed = self.CAPABILITIES.changes_under(self.arithmetic)
        for c in changes:
            if c.kind not in allowed:
                if c.kind in ("structure", "initial"):
                    why = ("the initial state applies at t = 0 only (set the state with restore())"
                           if c.kind == "initial" else "the network's structure changed")
                    raise NetworkError(c.where, c.field, f"changed after this {self.NAME} Simulator started to "
                                       f"run: {why}; build a new Simulator")
                able = [e for e in _able(lambda cap: c.kind in cap.changes_under(self.arithmetic)) if e != self.NAME]
                raise NetworkError(c.where, c.field, f"changed between runs, and the {self.NAME} engine "
                                   f"{'in arithmetic ' + repr(self.arithmetic) + ' ' if self.arithmetic in LOIHI_ARITHMETICS else ''}"
                                   f"does not apply {c.kind} changes (engines that do: {able or 'none'}); "
                                   f"undo the change or build a new Simulator")
        check(self.network, self.options, self.NAME, self.CAPABILITIES)
        old_plan = self.plan
        new_plan = replan(old_plan, ch.names_by_group(changes))
        self._refuse_values(new_plan)     # before anything changes
        self.plan = new_plan
        try:
            self._apply(changes, old_plan, old_values)
        except BaseException:
            self.plan = old_plan
            raise

    def state(self) -> State:
        """The state reached (copies): ``state[population][variable]`` and what restore needs."""
        return State(self.NAME, self.t, self.step, self._population_state(), self._internals(), self._values,
                     list(self._segments), self.dt, self.integration, self.arithmetic)

    def restore(self, state: State) -> None:
        """Continue from ``state`` (taken from this engine on a network of the same structure).

        Values that differ between the state's network and this Simulator's are applied as
        changes at the state's time, as if they had been changed then."""
        if not self.CAPABILITIES.restore:
            able = [e for e in _able(lambda c: c.restore) if e != self.NAME]
            raise NetworkError(f"{self.NAME} engine", "restore", f"the {self.NAME} engine cannot restore a state "
                               f"(engines that can: {able})")
        if not isinstance(state, State) or state.engine != self.NAME:
            raise NetworkError(f"{self.NAME} engine", "state", f"must be a State of the {self.NAME} engine, got "
                               f"{getattr(state, 'engine', type(state).__name__)!r}")
        for key in ("dt", "integration", "arithmetic"):
            if getattr(state, key) != getattr(self, key):
                raise NetworkError(f"{self.NAME} engine", key, f"the state was made with {key}="
                                   f"{getattr(state, key)!r}, this Simulator uses {getattr(self, key)!r}")
        self.sync()
        differences = ch.diff(state.values, self._values, by_value=state.values is not self._values)
        for c in differences:
            if c.kind == "structure":
                raise NetworkError(c.where, c.field, "differs between the state's network and this Simulator's: "
                                   "a state restores onto a network of the same structure only")
        self._load_internals(state.internals)
        self.t, self.step = state.t, state.step
        self._segments = list(state.segments)
        real = [c for c in differences if c.kind not in ("initial", "probes")]
        if real:
            current = self._values
            self._apply_changes(real, state.values)
            self._values = current

    def save(self, path, meta: dict | None = None) -> None:
        """Write the network, the options, the state and the results so far to one HDF5 file,
        atomically (an interrupted save leaves the previous file whole). ``meta``: JSON-able
        notes kept with it (``load_simulator`` puts them in ``Simulator.meta``)."""
        if not self.CAPABILITIES.snapshots:
            able = [e for e in _able(lambda c: c.snapshots) if e != self.NAME]
            raise NetworkError(f"{self.NAME} engine", "save", f"the {self.NAME} engine cannot snapshot its state "
                               f"(engines that can: {able})")
        from snnsim.io.snapshot import write_snapshot
        self.sync()
        write_snapshot(path, self.NAME, self.network, self.options.to_dict(), self.t, self.step, self._internals(),
                       self._segments, meta or {})

    def close(self) -> None:
        """Release what the engine holds outside this process (Lava's processes); a no-op elsewhere."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def load_snapshot(self, snap: dict) -> None:
        """Continue from a snapshot read by :func:`snnsim.io.snapshot.read_snapshot` (of this
        Simulator's network: ``snnsim.load_simulator`` builds it from the file)."""
        if snap["engine"] != self.NAME:
            raise NetworkError(f"{self.NAME} engine", "snapshot", f"was written by the {snap['engine']} engine")
        self._load_internals(snap["internals"])
        self.t, self.step = snap["t"], snap["step"]
        self._segments = [snap["results"]] if snap["results"] is not None else []
        self.meta = dict(snap.get("meta", {}))

    # ------------------------------------------------------------------ for engines
    def _refuse_values(self, plan) -> None:
        """Refuse what the capabilities cannot say because it depends on values (default: nothing)."""

    def _build(self) -> None:
        raise NotImplementedError

    def _advance(self, duration: float, n_steps: int | None, progress) -> Results:
        raise NotImplementedError

    def _population_state(self) -> dict:
        raise NotImplementedError

    def _internals(self) -> dict:
        raise NotImplementedError

    def _load_internals(self, internals: dict) -> None:
        raise NotImplementedError

    def _apply(self, changes: list, old_plan, old_values: dict) -> None:
        raise NotImplementedError


def _check_duration(duration) -> float:
    """``duration`` (s) as a finite float >= 0, or a NetworkError naming it."""
    try:
        duration = float(duration)
    except (TypeError, ValueError):
        raise NetworkError("run", "duration", f"must be a number of seconds, got {duration!r}") from None
    if not np.isfinite(duration) or duration < 0:
        raise NetworkError("run", "duration", f"must be finite and >= 0 s, got {duration!r}")
    return duration
