"""The conformance suite: every registered engine, the same networks, the same answers.

Each engine runs every case of ``conformance_cases`` that its declared capabilities allow, in
every arithmetic it declares, and is compared with the CPU engine: bit-identical in the same
arithmetic where the engine declares ``comparison="bit-identical"`` (and always in Loihi's
integer arithmetic), the same spikes and values to rounding for ``"float"``, and, for the
event engine (``"continuous"``), the clock engine's spikes to 1e-12 s on cases where spikes can
only happen on the grid. A case an engine does not support must be refused by ``check`` with
an error naming the engine. The suite also checks, per engine: split runs against one run,
``state``/``restore`` and ``save``/``load_simulator`` against one run (or their refusal), counts
against hand counts, and every capability the engine does not declare is refused. Adding an
engine to ``snnsim.backends.base.REGISTRY`` adds it here.
"""

from __future__ import annotations

import numpy as np
import pytest

import snnsim
from snnsim.backends.base import REGISTRY, capabilities, check, resolve_options
from snnsim.errors import NetworkError
from snnsim.lava_compat import available as lava_available

from conformance_cases import CASES, HAND_COUNTS, HAND_DURATION, counted_by_hand

ENGINES = list(REGISTRY)


def engine_param(name):
    marks = [pytest.mark.skipif(not lava_available(), reason="lava-nc is not installed (scripts/setup.sh "
                                                             "installs it)")] if name == "lava" else []
    return pytest.param(name, marks=marks, id=name)


ENGINE_PARAMS = [engine_param(e) for e in ENGINES]


def refusal(engine: str, net, arithmetic: str):
    """The NetworkError ``check`` raises for this engine, network and arithmetic, or None."""
    caps = capabilities(engine)
    try:
        check(net, resolve_options(engine, caps, None, {"arithmetic": arithmetic}), engine, caps)
    except NetworkError as err:
        return err
    return None


def combos():
    """(engine, case, arithmetic) for every engine, case and declared arithmetic."""
    out = []
    for engine in ENGINES:
        for case in CASES:
            for arithmetic in capabilities(engine).arithmetics:
                marks = [pytest.mark.skipif(not lava_available(), reason="lava-nc is not installed")] \
                    if engine == "lava" else []
                out.append(pytest.param(engine, case, arithmetic, marks=marks, id=f"{engine}-{case.name}-{arithmetic}"))
    return out


def run(engine, net, duration, arithmetic, **kw):
    return snnsim.simulate(net, duration, backend=engine, arithmetic=arithmetic, progress=False, **kw)


def split_point(case) -> float:
    """A time about 40 % into the case, on the grid."""
    steps = round(case.duration / case.build().dt)
    return round(0.4 * steps) * case.build().dt


def assert_identical(a, b, what=""):
    """Bit for bit: every recorded spike, every trace sample, every count."""
    assert sorted(a.spikes) == sorted(b.spikes), what
    for name in a.spikes:
        np.testing.assert_array_equal(a.spikes[name].times, b.spikes[name].times, err_msg=f"{what} {name}")
        np.testing.assert_array_equal(a.spikes[name].indices, b.spikes[name].indices, err_msg=f"{what} {name}")
    assert sorted(a.traces) == sorted(b.traces), what
    for name in a.traces:
        np.testing.assert_array_equal(a.traces[name].times, b.traces[name].times, err_msg=f"{what} {name}")
        np.testing.assert_array_equal(a.traces[name].values, b.traces[name].values, err_msg=f"{what} {name}")
    assert a.counts == b.counts, what


def assert_same_spikes(a, b, atol_s=0.0, what=""):
    for name in a.spikes:
        np.testing.assert_array_equal(a.spikes[name].indices, b.spikes[name].indices, err_msg=f"{what} {name}")
        np.testing.assert_allclose(a.spikes[name].times, b.spikes[name].times, rtol=0, atol=atol_s,
                                   err_msg=f"{what} {name}")


def close_traces(a, b, rtol, what=""):
    for name in a.traces:
        x, y = a.traces[name].values, b.traces[name].values
        scale = max(1.0, float(np.abs(x).max()) if x.size else 1.0)
        np.testing.assert_allclose(x, y, rtol=rtol, atol=rtol * scale, err_msg=f"{what} {name}")


# ------------------------------------------------------------------ against the CPU engine
@pytest.mark.parametrize("engine,case,arithmetic", combos())
def test_engine_agrees_with_the_cpu_engine_or_refuses(engine, case, arithmetic):
    net = case.build()
    refused = refusal(engine, net, arithmetic)
    if refused is not None:
        assert f"the {engine} engine" in str(refused)
        with pytest.raises(NetworkError, match=f"the {engine} engine"):
            snnsim.simulator(net, engine, arithmetic=arithmetic)
        return
    got = run(engine, net, case.duration, arithmetic)
    assert got.backend == engine and got.arithmetic == arithmetic
    reference_arithmetic = arithmetic if arithmetic.startswith("loihi") else "float64"
    ref = run("cpu", case.build(), case.duration, reference_arithmetic)
    assert sum(len(s) for s in ref.spikes.values()) > 0, "a case must spike to test anything"
    comparison = capabilities(engine).comparison
    if arithmetic == "loihi_fixed" or (comparison == "bit-identical" and arithmetic == reference_arithmetic):
        assert_identical(got, ref, f"{engine} {arithmetic}")
    elif comparison == "continuous":
        if case.grid_exact:
            assert_same_spikes(got, ref, atol_s=1e-12, what=engine)
            close_traces(got, ref, 1e-9, engine)
            for kind in ("populations", "projections", "sources"):
                for name, c in ref.counts[kind].items():
                    assert got.counts[kind][name].get("spikes") == c.get("spikes")
                    assert got.counts[kind][name].get("syn_events") == c.get("syn_events")
    elif arithmetic in ("float64", "loihi_float"):
        # the same arithmetic summed in another order: the same spikes, values to rounding
        assert_same_spikes(got, ref, what=f"{engine} {arithmetic}")
        close_traces(got, ref, 1e-9, f"{engine} {arithmetic}")
        for kind in ("populations", "projections", "sources"):
            assert got.counts[kind] == ref.counts[kind]
    else:
        # float32 against float64: on these cases (no input within float32 rounding of a
        # threshold) the same spikes; values to float32 precision
        assert_same_spikes(got, ref, what=f"{engine} {arithmetic}")
        close_traces(got, ref, 2e-4, f"{engine} {arithmetic}")


# ------------------------------------------------------------------ continuing and snapshots
def supported_cases(engine):
    """(case, arithmetic) pairs the engine runs: its default arithmetic on every case it supports."""
    arithmetic = capabilities(engine).arithmetics[0]
    return [(case, arithmetic) for case in CASES if refusal(engine, case.build(), arithmetic) is None]


def per_case(test_engines=ENGINES):
    out = []
    for engine in test_engines:
        marks = [pytest.mark.skipif(not lava_available(), reason="lava-nc is not installed")] \
            if engine == "lava" else []
        for case, arithmetic in supported_cases(engine):
            out.append(pytest.param(engine, case, arithmetic, marks=marks, id=f"{engine}-{case.name}"))
    return out


@pytest.mark.parametrize("engine,case,arithmetic", per_case())
def test_split_runs_equal_one_run(engine, case, arithmetic):
    whole = run(engine, case.build(), case.duration, arithmetic)
    t1 = split_point(case)
    with snnsim.simulator(case.build(), engine, arithmetic=arithmetic) as sim:
        first = sim.run(t1)
        second = sim.run(case.duration - t1)
        assert first.t_start == 0 and second.t_start == pytest.approx(t1)
        joined = sim.results()
    assert_identical(joined, whole, f"{engine} split at {t1}")


@pytest.mark.parametrize("engine,case,arithmetic", per_case())
def test_restore_and_snapshot_continue_exactly(engine, case, arithmetic, tmp_path):
    caps = capabilities(engine)
    whole = run(engine, case.build(), case.duration, arithmetic)
    t1 = split_point(case)
    with snnsim.simulator(case.build(), engine, arithmetic=arithmetic) as sim:
        sim.run(t1)
        state = sim.state()
        assert set(state) == set(case.build().populations)
        for name, pop in case.build().populations.items():
            assert set(state[name]) == set(pop.model.state_variables)
            assert all(v.shape == (pop.size,) for v in state[name].values())
        if not caps.restore:
            with pytest.raises(NetworkError, match=f"the {engine} engine cannot restore"):
                snnsim.simulator(case.build(), engine, arithmetic=arithmetic).restore(state)
        if not caps.snapshots:
            with pytest.raises(NetworkError, match=f"the {engine} engine cannot snapshot"):
                sim.save(tmp_path / "snap.h5")
            assert not (tmp_path / "snap.h5").exists()
        else:
            sim.save(tmp_path / "snap.h5")
        sim.run(case.duration - t1)   # the state and the snapshot stay as they were
    if caps.restore:
        with snnsim.simulator(case.build(), engine, arithmetic=arithmetic) as fresh:
            fresh.restore(state)
            fresh.run(case.duration - t1)
            assert_identical(fresh.results(), whole, f"{engine} restored at {t1}")
    if caps.snapshots:
        loaded = snnsim.load_simulator(tmp_path / "snap.h5")
        assert loaded.NAME == engine and loaded.t == pytest.approx(t1)
        loaded.run(case.duration - t1)
        assert_identical(loaded.results(), whole, f"{engine} loaded at {t1}")


# ------------------------------------------------------------------ counts
@pytest.mark.parametrize("engine", ENGINE_PARAMS)
def test_counts_equal_the_hand_counts(engine):
    for arithmetic in capabilities(engine).arithmetics:
        res = run(engine, counted_by_hand(), HAND_DURATION, arithmetic)
        counts = res.counts
        assert {n: c["spikes"] for n, c in counts["populations"].items()} == \
            {n: HAND_COUNTS["spikes"][n] for n in ("a", "b")}, arithmetic
        assert counts["sources"] == {"in": {"spikes": HAND_COUNTS["spikes"]["in"]}}
        assert {n: c["syn_events"] for n, c in counts["projections"].items()} == HAND_COUNTS["syn_events"]
        steps = round(HAND_DURATION / res.dt)
        if capabilities(engine).time == "steps":
            assert counts["populations"]["a"]["neuron_updates"] == 4 * steps
            assert counts["populations"]["b"]["neuron_updates"] == 2 * steps
            assert res.counters["steps"] == steps
        else:
            # one state advance per delivered input and per spike: a: 6 + 6, b: 12 + 0
            assert counts["populations"]["a"]["neuron_updates"] == 12
            assert counts["populations"]["b"]["neuron_updates"] == 12
        totals = res.counters
        assert totals["neuron_spikes"] == 6 and totals["source_spikes"] == 3 and totals["syn_events"] == 18
        assert totals["neuron_updates"] == sum(c["neuron_updates"] for c in counts["populations"].values())
        for key in ("wall_s", "loop_s", "jit_s", "build_s"):
            assert totals[key] >= 0
        assert res.spikes["a"].counts().tolist() == [2, 2, 1, 1]


# ------------------------------------------------------------------ refusals
def _needs():
    """One network (or option) per capability, and the test of whether an engine declares it."""
    from snnsim import IF, LI, LIF, CobaLIF, CubaLIF, Network

    def one(model, **kw):
        net = Network(dt=1e-4)
        net.add_population("p", 2, model)
        return net, kw

    def with_source(poisson_series=False):
        net = Network(dt=1e-4)
        net.add_population("p", 2, LIF())
        if poisson_series:
            net.add_poisson("s", 2, [1.0, 2.0], rate_dt=1e-3)
        else:
            net.add_spike_source("s", 2, [1e-3])
        net.connect("s", "p", [[1.0, 0.0], [0.0, 1.0]])
        return net, {}

    def current(series=False):
        net = Network(dt=1e-4)
        net.add_population("p", 2, LIF())
        net.add_current("c", "p", [1.0, 2.0] if series else 1.0, sample_dt=1e-3 if series else None)
        return net, {}

    def delays(kind):
        net = Network(dt=1e-4)
        net.add_population("a", 2, LIF())
        net.add_population("b", 2, LIF())
        value = {"steps": [2e-4, 5e-4, 3e-4, 1e-4], "uniform_steps": 3e-4, "continuous": [1.05e-4, 2.2e-4, 1e-4, 3e-4]}
        net.connect("a", "b", [[1.0, 1.0], [1.0, 1.0]], delay=np.array(value[kind]).reshape(2, 2)
                    if np.ndim(value[kind]) else value[kind])
        return net, {}

    def cycle():
        net = Network(dt=1e-4)
        net.add_population("a", 2, LIF())
        net.add_population("b", 2, LIF())
        net.connect("a", "b", [[1.0, 0.0], [0.0, 1.0]])
        net.connect("b", "a", [[1.0, 0.0], [0.0, 1.0]])
        return net, {}

    needs = [(f"model {m}", lambda c, m=m: m in c.models, lambda m=m: one({"LIF": LIF(), "CubaLIF": CubaLIF(),
                                                                           "LI": LI(), "IF": IF(), "CobaLIF": CobaLIF()}[m]))
             for m in ("LIF", "CubaLIF", "LI", "IF", "CobaLIF")]
    needs += [
        ("integration euler", lambda c: "euler" in c.integrations, lambda: one(CubaLIF(), integration="euler")),
        ("refractory", lambda c: c.refractory, lambda: one(LIF(t_ref=1e-3))),
        ("reset subtract", lambda c: "subtract" in c.resets, lambda: one(LIF(reset="subtract"))),
        ("spike times", lambda c: "spike_times" in c.inputs, lambda: with_source()),
        ("poisson series", lambda c: "poisson_series" in c.inputs, lambda: with_source(True)),
        ("current", lambda c: "current" in c.inputs, lambda: current()),
        ("current series", lambda c: "current_series" in c.inputs, lambda: current(True)),
        ("delays in steps", lambda c: c.delays in ("continuous", "steps"), lambda: delays("steps")),
        ("uniform delays", lambda c: c.delays != "one_step", lambda: delays("uniform_steps")),
        ("cycles", lambda c: c.topology == "any", cycle),
        ("device cuda", lambda c: "cuda" in c.devices, lambda: one(LIF(), device="cuda")),
    ]
    needs += [(f"arithmetic {a}", lambda c, a=a: a in c.arithmetics, lambda a=a: one(LIF(), arithmetic=a))
              for a in ("float32", "float64", "loihi_fixed", "loihi_float")]
    return needs


@pytest.mark.parametrize("engine", ENGINE_PARAMS)
def test_every_capability_an_engine_does_not_declare_is_refused(engine):
    caps = capabilities(engine)
    refused = 0
    for what, declared, build in _needs():
        net, options = build()
        options.setdefault("arithmetic", caps.arithmetics[0] if "arithmetic" not in options else options["arithmetic"])
        if declared(caps):
            if what.startswith("device cuda"):
                continue  # declared, but there may be no GPU here
            sim = snnsim.simulator(net, engine, **options)   # builds: nothing refused
            sim.close()
            continue
        with pytest.raises(NetworkError) as err:
            snnsim.simulator(net, engine, **options)
        message = str(err.value)
        assert f"the {engine} engine" in message, (what, message)
        assert "engines that do" in message, (what, message)
        able = [e for e in ENGINES if e != engine and declared(capabilities(e))]
        if able:   # the error names an engine that can
            assert any(e in message.split("engines that do")[1] for e in able), (what, message)
        refused += 1
    assert refused == sum(not d(caps) for w, d, _ in _needs() if not w.startswith("device cuda")) + \
        (0 if "cuda" in caps.devices else 1)


def test_the_suite_covers_every_registered_engine():
    """Every engine in the registry appears in every parametrised test of this suite, and follows
    the interface (NAME, CAPABILITIES, an Engine subclass as Simulator)."""
    import subprocess
    import sys
    from pathlib import Path

    from snnsim.backends.base import Capabilities, Engine, engine_module
    for name in REGISTRY:
        module = engine_module(name)
        assert module.NAME == name and isinstance(module.CAPABILITIES, Capabilities)
        assert issubclass(module.Simulator, Engine) and module.Simulator.NAME == name
    here = Path(__file__).parent
    out = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                          str(here)], capture_output=True, text=True, cwd=here.parent.parent)
    ids = [line for line in out.stdout.splitlines() if "::" in line]
    for test in ("test_engine_agrees_with_the_cpu_engine_or_refuses", "test_split_runs_equal_one_run",
                 "test_restore_and_snapshot_continue_exactly", "test_counts_equal_the_hand_counts",
                 "test_every_capability_an_engine_does_not_declare_is_refused", "test_changes_between_runs"):
        for name in REGISTRY:
            assert any(f"{test}[{name}" in i for i in ids), (test, name)
