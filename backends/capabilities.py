"""What engines declare and the one refusal path: ``Capabilities``, ``check`` and the registry.
Installed as ``snnsim.backends.capabilities``; ``snnsim.backends.base`` re-exports it.

:func:`check` walks a network against an engine's declared capabilities before anything is
built and refuses what is missing with one error naming the engine, the object, the field, why,
and the registered engines that can (``docs/backends.md``).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, replace

import numpy as np

from snnsim.errors import NetworkError
from snnsim.network import Network, PoissonSource
from snnsim.plan import delay_steps

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
    #: ``counts``: a Poisson(rate dt) number of spikes per neuron and step, at any rate;
    #: ``per_step``: the same counts, refused above ``rate dt = 1``;
    #: ``continuous``: Poisson processes in continuous time, at any rate
    poisson: str = "counts"

    def reason(self, key: str) -> str:
        return dict(self.reasons).get(key, "")

    def under(self, arithmetic: str) -> "Capabilities":
        """These capabilities within what ``arithmetic`` can express: Loihi's CUBA LIF has no
        conductances, refractoriness, subtractive reset or injected current."""
        if arithmetic not in LOIHI_ARITHMETICS:
            return self
        return replace(
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


def check(network: Network, options, name: str, caps: Capabilities) -> None:
    """Refuse, before anything is built, what engine ``name`` cannot run with ``options`` (a
    :class:`~snnsim.backends.options.RunOptions`): one NetworkError naming the engine, the
    object, the field and the engines that can."""
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
        if kind.startswith("poisson") and eff.poisson == "per_step" and float(np.max(src.rate)) * dt > 1:
            rate = float(np.max(src.rate))
            raise _refuse(name, src.where, "rate", f"Poisson rates with rate*dt > 1 ({rate!r} Hz at dt={dt!r} s "
                          f"gives {rate * dt:.3g})", lambda c: c.poisson != "per_step",
                          caps.reason("poisson") or "use a smaller dt", arithmetic)
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
