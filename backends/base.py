"""The engine contract: the base class every ``Simulator`` derives from and the ``State`` it
returns, with what engines declare (:mod:`.capabilities`) and how they are run
(:mod:`.options`) re-exported. Installed as ``snnsim.backends.base``.

An engine module exports ``NAME``, ``CAPABILITIES`` (:class:`Capabilities`) and ``Simulator``
(a subclass of :class:`Engine`), and has one entry in :data:`REGISTRY`. Nothing else about an
engine is known by convention: :func:`check` refuses what it does not declare before anything
is built, and ``tests/conformance`` runs every registered engine. See ``docs/backends.md``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import numpy as np

from snnsim import changes as ch
from snnsim import memory
from snnsim.discretize import steps_of
from snnsim.errors import NetworkError
from snnsim.network import Network
from snnsim.plan import make_plan, replan
from snnsim.results import Results

from .capabilities import (ARITHMETICS, CHANGES, DELAYS, INPUTS, INTEGRATIONS, LOIHI_ARITHMETICS,  # noqa: F401
                           MODELS, REGISTRY, Capabilities, _able, capabilities, capability_table, check,
                           engine_module)
from .options import RunOptions, resolve_options  # noqa: F401


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
        memory.check_engine(net, self.NAME, self.options.arithmetic, self.options.dt or net.dt)  # before building
        self.dt = self.options.dt or net.dt
        self.integration = self.options.integration or net.integration
        self.arithmetic = self.options.arithmetic
        self.step = 0          # whole steps done (time-stepped engines)
        self.t = 0.0           # simulated time reached (s)
        self._segments: list[Results] = []
        self.meta: dict = {}
        self._values = ch.values_of(net)
        self.plan = make_plan(net, self.dt, self.integration)
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
        memory.check_engine(self.network, self.NAME, self.arithmetic, self.dt, duration)
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
        self.plan = replan(old_plan, ch.names_by_group(changes))
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
