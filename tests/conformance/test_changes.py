"""Changes between runs, on every registered engine: each kind of change is either applied from
the next step on, or refused with an error naming the engine, the object and the field.

Applied means: the run after the change equals a fresh Simulator of the changed network started
from the state at the time of the change (``restore``), bit for bit; and it differs from the run
without the change, so the test would see a change that was ignored. An engine that cannot
restore (Lava) is compared with the CPU engine making the same change in the same arithmetic.
"""

from __future__ import annotations

import numpy as np
import pytest

import snnsim
from snnsim import LIF, CubaLIF, FixedProbability, Network
from snnsim.backends.base import CHANGES, REGISTRY, capabilities
from snnsim.errors import NetworkError
from snnsim.lava_compat import available as lava_available

from test_conformance import assert_identical

T1, T2 = 12e-3, 14e-3


def changeable(engine: str) -> Network:
    """A network every engine runs, with a part for every kind of change."""
    lava = engine == "lava"
    net = Network(dt=1e-3 if lava else 1e-4, seed=21, name="changeable")
    net.add_poisson("noise", 20, rate=80.0)
    net.add_spike_source("kick", 3, np.array([2e-3, 5e-3, 5e-3, 16e-3, 20e-3]), [0, 1, 2, 0, 1])
    net.add_population("h", 12, CubaLIF(tau_mem=10e-3, tau_syn=4e-3, i_bias=0.0 if lava else 0.5))
    net.add_population("o", 4, LIF(tau_mem=8e-3))
    net.connect("noise", "h", FixedProbability(0.4), weight=2.0)
    net.connect("kick", "h", FixedProbability(0.6), weight=4.0)
    net.connect("h", "o", FixedProbability(0.5), weight=0.15, delay=None if lava else 3e-4)
    if not lava:
        net.add_current("c", "o", 0.4)
    net.probe_spikes("h")
    net.probe_spikes("o")
    net.probe_state("h", "v", [0, 1, 2])
    return net


CHANGERS = {
    "parameters": lambda net: net.set_parameters("h", v_th=0.7, tau_mem=6e-3),
    "weights": lambda net: net.set_weights("noise->h", 4.0),
    "delays": lambda net: net.set_delays("h->o", 6e-4),
    "rates": lambda net: net.set_rate("noise", 250.0),
    "spike_times": lambda net: net.set_spike_times("kick", [13e-3, 13e-3, 15e-3, 18e-3], [0, 1, 2, 2]),
    "currents": lambda net: net.set_current("c", 1.2),
    "probes": lambda net: net.probe_state("o", "v"),
}


def cases():
    out = []
    for engine in REGISTRY:
        for kind in CHANGES:
            marks = [pytest.mark.skipif(not lava_available(), reason="lava-nc is not installed")] \
                if engine == "lava" else []
            out.append(pytest.param(engine, kind, marks=marks, id=f"{engine}-{kind}"))
    return out


def two_runs(engine, kind, change: bool, arithmetic=None, first=False, network_of=None):
    """Run T1, change (or not), run T2: all that was recorded (with ``first``: and the first run).
    ``network_of``: the engine whose version of the network to run (default ``engine``)."""
    net = changeable(network_of or engine)
    with snnsim.simulator(net, engine, arithmetic=arithmetic) as sim:
        before = sim.run(T1)
        if change:
            CHANGERS[kind](net)
        sim.run(T2)
        return (sim.results(), before) if first else sim.results()


@pytest.mark.parametrize("engine,kind", cases())
def test_changes_between_runs(engine, kind):
    caps = capabilities(engine)
    arithmetic = caps.arithmetics[0]
    applies = kind in caps.changes_under(arithmetic)
    if kind == "currents" and engine == "lava":
        # Lava has no injected current to change: adding one is refused like any current
        net = changeable(engine)
        with snnsim.simulator(net, engine) as sim:
            sim.run(T1)
            net.add_current("c", "o", 0.4)
            with pytest.raises(NetworkError, match="the lava engine"):
                sim.run(T2)
        return
    if not applies:
        net = changeable(engine)
        with snnsim.simulator(net, engine, arithmetic=arithmetic) as sim:
            first = sim.run(T1)
            CHANGERS[kind](net)
            with pytest.raises(NetworkError, match=rf"the {engine} engine .*does not apply {kind} changes") as err:
                sim.run(T2)
            assert err.value.where.startswith(("population", "projection", "source", "current", "probe"))
            assert sim.t == pytest.approx(first.duration)   # nothing ran
        return
    changed, changed_first = two_runs(engine, kind, True, arithmetic, first=True)
    unchanged, unchanged_first = two_runs(engine, kind, False, arithmetic, first=True)
    assert_identical(changed_first, unchanged_first, "a change must not alter the past")
    if caps.restore:
        base = changeable(engine)
        with snnsim.simulator(base, engine, arithmetic=arithmetic) as before:
            before.run(T1)
            state = before.state()
        fresh_net = changeable(engine)
        CHANGERS[kind](fresh_net)
        with snnsim.simulator(fresh_net, engine, arithmetic=arithmetic) as fresh:
            fresh.restore(state)
            fresh.run(T2)
            expected = fresh.results()
    else:  # compare with the CPU engine making the same change in the same arithmetic
        expected = two_runs("cpu", kind, True, arithmetic, network_of=engine)
    assert_identical(changed, expected, f"{engine} {kind}")
    # the change mattered: an ignored change would have given the unchanged run
    if kind == "probes":
        assert "o.v" in changed.traces and "o.v" not in unchanged.traces
        assert changed.traces["o.v"].times.min() > T1
    else:
        after = lambda r: [(n, s.times[s.times > T1], s.indices[s.times > T1]) for n, s in r.spikes.items()]  # noqa
        differs = any(len(a[1]) != len(b[1]) or not np.array_equal(a[1], b[1]) or not np.array_equal(a[2], b[2])
                      for a, b in zip(after(changed), after(unchanged)))
        differs = differs or not np.array_equal(changed.traces["h.v"].values, unchanged.traces["h.v"].values)
        assert differs, f"{engine}: the {kind} change left the run as it was"


def test_structural_changes_are_refused_by_every_engine():
    for engine in REGISTRY:
        if engine == "lava" and not lava_available():
            continue
        net = changeable(engine)
        with snnsim.simulator(net, engine) as sim:
            sim.run(T1)
            net.add_population("extra", 2, LIF())
            with pytest.raises(NetworkError, match="population 'extra': added: .*build a new Simulator"):
                sim.run(T2)


def test_changes_before_the_first_run_rebuild_the_simulator():
    net = changeable("cpu")
    sim = snnsim.simulator(net, "cpu")
    net.set_parameters("h", v_th=0.7)
    net.add_population("late", 2, LIF(i_bias=5.0))
    net.probe_spikes("late")
    res = sim.run(T1)
    fresh = snnsim.simulate(net, T1)
    assert_identical(res, fresh)
    assert len(res.spikes["late"]) > 0


@pytest.mark.parametrize("engine", [e for e in REGISTRY if "weights" in capabilities(e).changes])
def test_spikes_in_flight_keep_the_weight_they_were_sent_with(engine):
    """A spike sent at 1 ms with a 5 ms delay is in flight when the weight changes at 3 ms: it
    arrives at 6 ms with the old weight (0.5); the spike sent at 4 ms arrives at 9 ms with the new
    one (0.8). No leak to speak of (tau 1000 s) and no threshold: v is the sum of the jumps."""
    net = Network(dt=1e-4, seed=0)
    net.add_spike_source("s", 1, [1e-3, 4e-3])
    net.add_population("p", 1, LIF(tau_mem=1e3, v_th=1e9))
    net.connect("s", "p", [[1.0]], delay=5e-3)
    net.set_weights("s->p", 0.5)
    net.probe_state("p", "v")
    with snnsim.simulator(net, engine) as sim:
        sim.run(3e-3)
        net.set_weights("s->p", 0.8)
        sim.run(7e-3)
        tr = sim.results().traces["p.v"]
    at = lambda t: float(tr.values[np.argmin(np.abs(tr.times - t)), 0])  # noqa: E731
    assert at(5.5e-3) == pytest.approx(0.0, abs=1e-9)
    assert at(7e-3) == pytest.approx(0.5, rel=1e-5)
    assert at(9.9e-3) == pytest.approx(1.3, rel=1e-5)
