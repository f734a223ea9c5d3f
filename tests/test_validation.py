"""Bad input is rejected by every public entry point with a NetworkError naming the object and the field.

Each check asserts that the message contains the object (population, projection, ...),
the field name and the offending value.
"""

import math

import numpy as np
import pytest

import snnsim

from snnsim import (IF, LI, LIF, AllToAll, CobaLIF, CubaLIF, Dense, FixedInDegree, FixedProbability, Network,
                    NetworkError, Normal, OneToOne, Sparse, simulate)
from snnsim.backends.cpu import Simulator
from snnsim.distributions import Uniform

DT = 1e-4


def expect(fn, field, *fragments):
    """``fn()`` raises NetworkError whose field is ``field`` and whose message contains ``field``
    and every fragment (object name, offending value)."""
    with pytest.raises(NetworkError) as info:
        fn()
    err = info.value
    msg = str(err)
    assert err.field == field, msg
    assert field in msg, msg
    for frag in fragments:
        assert str(frag) in msg, f"{frag!r} not in {msg!r}"
    return err


def base_net(**kw):
    net = Network(dt=DT, **kw)
    net.add_population("p", 3, LIF())
    return net


# ----------------------------------------------------------------------------- neuron parameters

TAU_CASES = [
    (LIF, "tau_mem"), (CubaLIF, "tau_mem"), (CubaLIF, "tau_syn"), (LI, "tau_mem"), (IF, "tau_mem"),
    (CobaLIF, "tau_mem"), (CobaLIF, "tau_exc"), (CobaLIF, "tau_inh"),
]
BAD_TAUS = [(0.0, "0.0"), (-1e-3, "-0.001"), (math.nan, "nan"), (math.inf, "inf")]


@pytest.mark.parametrize("model,field", TAU_CASES)
@pytest.mark.parametrize("value,text", BAD_TAUS)
def test_time_constant_rejected(model, field, value, text):
    net = Network(dt=DT)
    expect(lambda: net.add_population("pop", 4, model(**{field: value})), field, "population 'pop'", text)
    assert "pop" not in net.populations


@pytest.mark.parametrize("value,text", [(-1e-3, "-0.001"), (math.nan, "nan"), (math.inf, "inf")])
def test_li_tau_syn_rejected(value, text):
    net = Network(dt=DT)
    expect(lambda: net.add_population("ro", 2, LI(tau_syn=value)), "tau_syn", "population 'ro'", text)


def test_li_tau_syn_zero_allowed_but_not_mixed():
    net = Network(dt=DT)
    net.add_population("ro", 2, LI(tau_syn=0.0))
    expect(lambda: net.add_population("mix", 2, LI(tau_syn=np.array([0.0, 5e-3]))), "tau_syn", "population 'mix'")


def test_time_constant_array_with_one_bad_element():
    net = Network(dt=DT)
    err = expect(lambda: net.add_population("pop", 3, LIF(tau_mem=np.array([0.02, -0.5, 0.02]))),
                 "tau_mem", "population 'pop'", "-0.5")
    assert "neuron 1" in str(err)


@pytest.mark.parametrize("model", [LIF, CubaLIF, IF, CobaLIF])
def test_v_reset_at_or_above_threshold(model):
    net = Network(dt=DT)
    expect(lambda: net.add_population("a", 2, model(v_th=-0.05, v_reset=-0.05)), "v_reset", "population 'a'",
           "-0.05")
    expect(lambda: net.add_population("b", 2, model(v_th=-0.05, v_reset=-0.04)), "v_reset", "population 'b'",
           "-0.04")


@pytest.mark.parametrize("model", [LIF, CubaLIF, IF, CobaLIF])
def test_negative_refractory_period(model):
    net = Network(dt=DT)
    expect(lambda: net.add_population("a", 2, model(t_ref=-2e-3)), "t_ref", "population 'a'", "-0.002")


@pytest.mark.parametrize("model", [LIF, CubaLIF, IF, CobaLIF])
def test_unknown_reset_mode(model):
    net = Network(dt=DT)
    expect(lambda: net.add_population("a", 2, model(reset="zero")), "reset", "population 'a'", "'zero'")


@pytest.mark.parametrize("field", ["tau_mem", "v_th", "v_reset", "r", "i_bias", "t_ref"])
def test_parameter_array_of_wrong_shape(field):
    net = Network(dt=DT)
    value = np.full(3, {"v_reset": -1.0, "v_th": 2.0}.get(field, 0.01))
    expect(lambda: net.add_population("a", 4, LIF(**{field: value})), field, "population 'a'", "(3,)")
    expect(lambda: net.add_population("b", 3, LIF(**{field: np.full((3, 1), 0.01)})), field,
           "population 'b'", "(3, 1)")


def test_parameter_not_numeric():
    net = Network(dt=DT)
    expect(lambda: net.add_population("a", 2, LIF(tau_mem="fast")), "tau_mem", "population 'a'", "'fast'")


def test_bad_size_and_model():
    net = Network(dt=DT)
    expect(lambda: net.add_population("a", 0, LIF()), "size", "population 'a'", "0")
    expect(lambda: net.add_population("a", 2.5, LIF()), "size", "population 'a'", "2.5")
    expect(lambda: net.add_population("a", 2, "LIF"), "model", "population 'a'", "'LIF'")
    expect(lambda: net.add_poisson("q", -1, 5.0), "size", "poisson source 'q'", "-1")
    expect(lambda: net.add_population("", 2, LIF()), "name", "''")
    expect(lambda: net.add_population("a/b", 2, LIF()), "name", "'a/b'")


# ----------------------------------------------------------------------------- weights

@pytest.mark.parametrize("value,text", [(math.nan, "nan"), (math.inf, "inf"), (-math.inf, "-inf")])
def test_non_finite_scalar_weight(value, text):
    net = base_net()
    net.add_spike_source("s", 3, [1e-3], [0])
    expect(lambda: net.connect("s", "p", OneToOne(), weight=value, name="x"), "weight", "projection 'x'", text)
    assert "x" not in net.projections


def test_non_finite_weight_array():
    net = base_net()
    net.add_spike_source("s", 3, [1e-3], [0])
    err = expect(lambda: net.connect("s", "p", OneToOne(), weight=np.array([0.1, np.nan, 0.2]), name="x"),
                 "weight", "projection 'x'", "nan")
    assert "1" in str(err)
    expect(lambda: net.connect("s", "p", OneToOne(), weight=[0.1, 0.2, np.inf], name="y"),
           "weight", "projection 'y'", "inf")


def test_non_finite_dense_matrix():
    net = base_net()
    net.add_spike_source("s", 2, [1e-3], [0])
    w = np.zeros((3, 2))
    w[1, 0] = np.nan
    expect(lambda: net.connect("s", "p", w, name="x"), "weight", "projection 'x'", "nan")
    w[1, 0] = np.inf
    expect(lambda: net.connect("s", "p", Dense(w), name="y"), "weight", "projection 'y'", "inf")


def test_weight_array_of_wrong_length():
    net = base_net()
    net.add_spike_source("s", 3, [1e-3], [0])
    expect(lambda: net.connect("s", "p", OneToOne(), weight=np.ones(4), name="x"), "weight", "projection 'x'",
           "(4,)")
    expect(lambda: net.connect("s", "p", AllToAll(), weight=np.ones((3, 3)), name="y"), "weight",
           "projection 'y'", "(3, 3)")


def test_dense_matrix_with_extra_weight():
    net = base_net()
    net.add_spike_source("s", 2, [1e-3], [0])
    expect(lambda: net.connect("s", "p", np.ones((3, 2)), weight=0.5, name="x"), "weight", "projection 'x'")


@pytest.mark.parametrize("target", ["exc", "inh"])
def test_negative_conductance_weight(target):
    net = Network(dt=DT)
    net.add_population("c", 3, CobaLIF())
    net.add_spike_source("s", 3, [1e-3], [0])
    expect(lambda: net.connect("s", "c", OneToOne(), weight=-0.25, target=target, name="x"), "weight",
           "projection 'x'", "-0.25")
    expect(lambda: net.connect("s", "c", OneToOne(), weight=[0.1, 0.2, -0.3], target=target, name="y"),
           "weight", "projection 'y'", "-0.3")
    # a distribution that draws negative values is caught the same way
    expect(lambda: net.connect("s", "c", AllToAll(), weight=Normal(0.0, 1.0), target=target, name="z"),
           "weight", "projection 'z'")
    net.connect("s", "c", OneToOne(), weight=0.25, target=target, name="ok")


def test_negative_current_weight_is_fine():
    net = base_net()
    net.add_spike_source("s", 3, [1e-3], [0])
    net.connect("s", "p", OneToOne(), weight=-0.25)


# ----------------------------------------------------------------------------- targets and references

def test_target_not_accepted_by_model():
    net = Network(dt=DT)
    net.add_population("lif", 2, LIF())
    net.add_population("coba", 2, CobaLIF())
    net.add_spike_source("s", 2, [1e-3], [0])
    expect(lambda: net.connect("s", "lif", OneToOne(), target="exc", name="x"), "target", "projection 'x'",
           "'exc'")
    expect(lambda: net.connect("s", "lif", OneToOne(), target="inh", name="x"), "target", "projection 'x'",
           "'inh'")
    expect(lambda: net.connect("s", "coba", OneToOne(), weight=0.1, name="y"), "target", "projection 'y'",
           "'current'")


def test_unknown_target():
    net = base_net()
    net.add_spike_source("s", 3, [1e-3], [0])
    expect(lambda: net.connect("s", "p", OneToOne(), target="glutamate", name="x"), "target", "projection 'x'",
           "'glutamate'")


def test_projection_to_or_from_unknown_population():
    net = base_net()
    expect(lambda: net.connect("nowhere", "p", AllToAll(), name="x"), "pre", "'nowhere'")
    expect(lambda: net.connect("p", "nowhere", AllToAll(), name="x"), "post", "'nowhere'")
    assert not net.projections


def test_projection_onto_spike_source():
    net = base_net()
    net.add_spike_source("s", 3, [1e-3], [0])
    net.add_poisson("q", 3, 10.0)
    expect(lambda: net.connect("p", "s", OneToOne(), name="x"), "post", "projection 'x'", "'s'")
    expect(lambda: net.connect("p", "q", OneToOne(), name="y"), "post", "projection 'y'", "'q'")


def test_duplicate_names():
    net = base_net()
    net.add_spike_source("s", 3, [1e-3], [0])
    expect(lambda: net.add_population("p", 2, LIF()), "name", "'p'")
    expect(lambda: net.add_population("s", 2, LIF()), "name", "'s'")
    expect(lambda: net.add_poisson("p", 2, 5.0), "name", "'p'")
    expect(lambda: net.add_spike_source("s", 2, [0.0]), "name", "'s'")
    net.connect("s", "p", OneToOne(), name="proj")
    expect(lambda: net.connect("s", "p", AllToAll(), name="proj"), "name", "projection 'proj'")
    net.connect("p", "p", AllToAll(), weight=0.01)  # default name p->p
    expect(lambda: net.connect("p", "p", OneToOne()), "name", "projection 'p->p'")
    net.add_current("i", "p", 1.0)
    expect(lambda: net.add_current("i", "p", 2.0), "name", "current 'i'")
    net.probe_spikes("p", name="probe")
    expect(lambda: net.probe_spikes("s", name="probe"), "name", "'probe'")
    expect(lambda: net.probe_state("p", "v", name="probe"), "name", "'probe'")


def test_dense_matrix_shape_mismatch():
    net = base_net()  # 3 post neurons
    net.add_spike_source("s", 2, [1e-3], [0])  # 2 pre neurons
    expect(lambda: net.connect("s", "p", np.ones((2, 3)), name="x"), "weight", "projection 'x'", "(2, 3)",
           "(3, 2)")
    expect(lambda: net.connect("s", "p", Dense(np.ones((3, 3))), name="x"), "weight", "(3, 3)")
    net.connect("s", "p", np.ones((3, 2)), name="ok")


@pytest.mark.parametrize("p,text", [(-0.1, "-0.1"), (1.5, "1.5"), (math.nan, "nan"), (math.inf, "inf"),
                                    ("half", "'half'"), (None, "None")])
def test_fixed_probability_out_of_range(p, text):
    net = base_net()
    expect(lambda: net.connect("p", "p", FixedProbability(p), name="x"), "p", "projection 'x'", text)


def test_fixed_in_degree_too_large():
    net = base_net()  # 3 neurons
    net.add_poisson("q", 5, 1.0)
    expect(lambda: net.connect("q", "p", FixedInDegree(6), name="x"), "k", "projection 'x'", "6")
    expect(lambda: net.connect("q", "p", FixedInDegree(-1), name="x"), "k", "projection 'x'", "-1")
    expect(lambda: net.connect("q", "p", FixedInDegree(2.5), name="x"), "k", "projection 'x'", "2.5")
    expect(lambda: net.connect("q", "p", FixedInDegree(math.nan), name="x"), "k", "projection 'x'", "nan")
    expect(lambda: net.connect("q", "p", FixedInDegree("2"), name="x"), "k", "projection 'x'", "'2'")
    # without self-connections a population of 3 can give each neuron at most 2 inputs
    expect(lambda: net.connect("p", "p", FixedInDegree(3, allow_self=False), name="y"), "k", "projection 'y'", "3")
    net.connect("q", "p", FixedInDegree(5), name="ok")
    net.connect("p", "p", FixedInDegree(2, allow_self=False), name="ok2")


def test_sparse_indices_out_of_range_or_duplicated():
    net = base_net()  # 3 post
    net.add_spike_source("s", 2, [1e-3], [0])  # 2 pre
    expect(lambda: net.connect("s", "p", Sparse([0, 2], [0, 1]), name="x"), "pre", "projection 'x'", "2")
    expect(lambda: net.connect("s", "p", Sparse([0, 1], [0, 3]), name="x"), "post", "projection 'x'", "3")
    expect(lambda: net.connect("s", "p", Sparse([0, -1], [0, 1]), name="x"), "pre", "projection 'x'", "-1")
    expect(lambda: net.connect("s", "p", Sparse([0.0, 1.0], [0, 1]), name="x"), "pre", "projection 'x'")
    expect(lambda: net.connect("s", "p", Sparse([0, 1, 0], [2, 1, 2]), name="x"), "connectivity",
           "projection 'x'", "(0, 2)")
    expect(lambda: net.connect("s", "p", Sparse([0, 1, 0], [2, 1]), name="x"), "connectivity", "projection 'x'")
    net.connect("s", "p", Sparse([0, 1, 0], [2, 1, 1]), name="ok")


def test_one_to_one_size_mismatch():
    net = base_net()
    net.add_spike_source("s", 2, [1e-3], [0])
    expect(lambda: net.connect("s", "p", OneToOne(), name="x"), "connectivity", "projection 'x'", "2", "3")


def test_missing_rule():
    net = base_net()
    expect(lambda: net.connect("p", "p", None, name="x"), "rule", "projection 'x'")
    expect(lambda: net.connect("p", "p", "all", name="x"), "rule", "projection 'x'", "'all'")


# ----------------------------------------------------------------------------- delays

@pytest.mark.parametrize("delay,text", [(0.0, "0.0"), (-1e-3, "-0.001"), (math.nan, "nan"), (math.inf, "inf")])
def test_bad_scalar_delay(delay, text):
    net = base_net()
    net.add_spike_source("s", 3, [1e-3], [0])
    expect(lambda: net.connect("s", "p", OneToOne(), delay=delay, name="x"), "delay", "projection 'x'", text)


def test_bad_delay_array():
    net = base_net()
    net.add_spike_source("s", 3, [1e-3], [0])
    expect(lambda: net.connect("s", "p", OneToOne(), delay=[1e-3, np.nan, 1e-3], name="x"), "delay",
           "projection 'x'", "nan")
    expect(lambda: net.connect("s", "p", OneToOne(), delay=[1e-3, 0.0, 1e-3], name="x"), "delay",
           "projection 'x'", "0.0")
    expect(lambda: net.connect("s", "p", OneToOne(), delay=[1e-3, 1e-3], name="x"), "delay",
           "projection 'x'", "(2,)")
    expect(lambda: net.connect("s", "p", OneToOne(), delay=Normal(-1.0, 0.1), name="x"), "delay",
           "projection 'x'")


def test_delay_below_half_a_step_at_run_time():
    net = base_net()
    net.add_spike_source("s", 3, [1e-3], [0])
    net.connect("s", "p", OneToOne(), delay=0.4 * DT, name="x")  # > 0: accepted by the description
    expect(lambda: simulate(net, 1e-3), "delay", "projection 'x'", "4e-05", "0 steps")
    # the same delay is fine at a step small enough
    simulate(net, 1e-3, dt=DT / 4)
    # a per-synapse delay array with one short delay
    net2 = base_net()
    net2.add_spike_source("s", 3, [1e-3], [0])
    net2.connect("s", "p", OneToOne(), delay=[1e-3, 2e-3, 0.3 * DT], name="y")
    expect(lambda: simulate(net2, 1e-3), "delay", "projection 'y'", "3e-05")


def test_explicit_delay_too_short_for_run_dt():
    net = base_net()
    net.add_spike_source("s", 3, [1e-3], [0])
    net.connect("s", "p", OneToOne(), delay=DT, name="x")  # one step of the network's dt, fixed in seconds
    expect(lambda: simulate(net, 2e-3, dt=4 * DT), "delay", "projection 'x'")


def test_default_delay_is_one_step_of_the_run_dt():
    """No delay given: the input arrives one step of the run's dt after the spike, whatever that dt is."""
    for run_dt in (DT, 4 * DT):
        net = Network(dt=DT)
        net.add_population("p", 1, LIF(tau_mem=1e9, v_th=10.0))
        net.add_spike_source("s", 1, [1.2e-3])
        net.connect("s", "p", OneToOne(), weight=0.5)
        net.probe_state("p", "v")
        tr = simulate(net, 4e-3, dt=run_dt, dtype="float64").traces["p.v"]
        arrived = tr.times[tr.values[:, 0] > 0.25]
        assert arrived[0] == pytest.approx(1.2e-3 + run_dt)


# ----------------------------------------------------------------------------- run options

@pytest.mark.parametrize("dt,text", [(0.0, "0.0"), (-1e-4, "-0.0001"), (math.nan, "nan"), (math.inf, "inf"),
                                     ("fast", "'fast'")])
def test_bad_dt(dt, text):
    expect(lambda: Network(dt=dt), "dt", "network", text)
    net = base_net()
    expect(lambda: simulate(net, 1e-3, dt=dt), "dt", text)
    expect(lambda: Simulator(net, dt=dt), "dt", text)


def test_unknown_integration():
    expect(lambda: Network(integration="rk4"), "integration", "network", "'rk4'")
    net = base_net()
    expect(lambda: simulate(net, 1e-3, integration="rk4"), "integration", "'rk4'")


@pytest.mark.parametrize("arithmetic", ["float16", "int32", "double precision", "loihi"])
def test_unknown_arithmetic(arithmetic):
    net = base_net()
    expect(lambda: simulate(net, 1e-3, arithmetic=arithmetic), "arithmetic", repr(arithmetic))


def test_the_old_dtype_spelling_still_works_with_a_deprecation():
    net = base_net()
    with pytest.warns(DeprecationWarning, match="dtype= is deprecated"):
        res = simulate(net, 1e-3, dtype=np.float64)
    assert res.arithmetic == "float64"
    expect(lambda: simulate(net, 1e-3, dtype="float16"), "arithmetic", "'float16'")


def test_unknown_backend():
    net = base_net()
    expect(lambda: simulate(net, 1e-3, backend="quantum"), "backend", "'quantum'")


@pytest.mark.parametrize("duration,text", [(1.05e-3, "0.00105"), (-1e-3, "-0.001"), (math.nan, "nan"),
                                           (math.inf, "inf"), ("long", "'long'")])
def test_bad_duration(duration, text):
    net = base_net()
    expect(lambda: simulate(net, duration), "duration", text)
    sim = Simulator(net)
    expect(lambda: sim.run(duration), "duration", text)
    assert sim.step == 0


def test_zero_duration_is_fine():
    net = base_net()
    net.probe_state("p", "v")
    res = simulate(net, 0.0)
    assert res.traces["p.v"].values.shape == (1, 3)


def test_negative_seed():
    expect(lambda: Network(seed=-1), "seed", "-1")
    expect(lambda: Network(seed=1.5), "seed", "1.5")
    Network(seed=np.int64(3))


def test_empty_network():
    expect(lambda: simulate(Network(dt=DT), 1e-3), "populations")


# ----------------------------------------------------------------------------- sources and currents

def test_poisson_rate_negative_or_non_finite():
    net = base_net()
    expect(lambda: net.add_poisson("q", 3, -5.0), "rate", "poisson source 'q'", "-5.0")
    expect(lambda: net.add_poisson("q", 3, [1.0, np.nan, 2.0]), "rate", "poisson source 'q'", "nan")
    expect(lambda: net.add_poisson("q", 3, [1.0, 2.0]), "rate", "poisson source 'q'", "(2,)")
    expect(lambda: net.add_poisson("q", 3, [[1.0, -2.0, 1.0]], rate_dt=1e-3), "rate", "poisson source 'q'", "-2.0")
    expect(lambda: net.add_poisson("q", 3, np.ones((4, 2)), rate_dt=1e-3), "rate", "poisson source 'q'", "(4, 2)")
    expect(lambda: net.add_poisson("q", 3, [1.0, 2.0], rate_dt=0.0), "rate_dt", "poisson source 'q'", "0.0")
    assert "q" not in net.sources


def test_poisson_rate_above_one_per_step_runs_on_the_clock_engine_and_lava_refuses_it():
    """rate * dt = 2: the clock engine draws Poisson counts; Lava (graded spikes checked up to
    rate * dt = 1) refuses it before building, naming the source, the field and the rate."""
    net = base_net()
    net.add_poisson("q", 3, 20000.0)  # rate * dt = 2 at dt = 0.1 ms
    simulate(net, 1e-3)
    lava = dict(backend="lava", arithmetic="loihi_fixed")
    expect(lambda: simulate(net, 1e-3, **lava), "rate", "poisson source 'q'", "20000.0")
    net2 = base_net()
    net2.add_poisson("q", 3, [0.0, 5000.0, 20000.0], rate_dt=1e-3)  # time series, last sample too high
    expect(lambda: simulate(net2, 1e-3, **lava), "rate", "poisson source 'q'", "20000.0")


def test_poisson_rate_dt_not_whole_steps():
    net = base_net()
    net.add_poisson("q", 3, [5.0, 10.0], rate_dt=1.5 * DT)
    expect(lambda: simulate(net, 1e-3), "rate_dt", "poisson source 'q'", "0.00015")


def test_spike_source_bad_times_or_indices():
    net = base_net()
    expect(lambda: net.add_spike_source("s", 3, [1e-3, -1e-3], [0, 1]), "times", "spike source 's'", "-0.001")
    expect(lambda: net.add_spike_source("s", 3, [np.nan], [0]), "times", "spike source 's'", "nan")
    expect(lambda: net.add_spike_source("s", 3, [np.inf], [0]), "times", "spike source 's'", "inf")
    expect(lambda: net.add_spike_source("s", 3, [1e-3, 2e-3], [0, 3]), "indices", "spike source 's'", "3")
    expect(lambda: net.add_spike_source("s", 3, [1e-3, 2e-3], [0, -1]), "indices", "spike source 's'", "-1")
    expect(lambda: net.add_spike_source("s", 3, [1e-3, 2e-3], [0.0, 1.5]), "indices", "spike source 's'")
    expect(lambda: net.add_spike_source("s", 3, [1e-3, 2e-3], [0]), "indices", "spike source 's'")
    assert "s" not in net.sources


def test_current_bad_shape_or_sample_dt():
    net = base_net()  # 3 neurons
    expect(lambda: net.add_current("i", "p", [1.0, 2.0]), "amplitude", "current 'i'", "(2,)")
    expect(lambda: net.add_current("i", "p", np.ones((5, 2)), sample_dt=1e-3), "amplitude", "current 'i'",
           "(5, 2)")
    expect(lambda: net.add_current("i", "p", np.ones((2, 3, 1)), sample_dt=1e-3), "amplitude", "current 'i'",
           "(2, 3, 1)")
    expect(lambda: net.add_current("i", "p", np.zeros(0), sample_dt=1e-3), "amplitude", "current 'i'")
    expect(lambda: net.add_current("i", "p", [1.0, np.inf, 0.0]), "amplitude", "current 'i'", "inf")
    expect(lambda: net.add_current("i", "p", [0.0, 1.0], sample_dt=-1e-3), "sample_dt", "current 'i'", "-0.001")
    expect(lambda: net.add_current("i", "nowhere", 1.0), "target", "'nowhere'")
    net.add_spike_source("s", 3, [1e-3], [0])
    expect(lambda: net.add_current("i", "s", 1.0), "target", "current 'i'", "'s'")
    net.add_current("i", "p", [0.0, 1.0], sample_dt=2.5 * DT)
    expect(lambda: simulate(net, 1e-3), "sample_dt", "current 'i'", "0.00025")


# ----------------------------------------------------------------------------- probes and initial state

def test_state_probe_bad_variable_neuron_or_every():
    net = base_net()  # LIF, 3 neurons
    net.add_spike_source("s", 3, [1e-3], [0])
    expect(lambda: net.probe_state("p", "i_syn", name="x"), "variable", "state probe 'x'", "'i_syn'")
    expect(lambda: net.probe_state("p", "v", neurons=[0, 3], name="x"), "neurons", "state probe 'x'", "3")
    expect(lambda: net.probe_state("p", "v", neurons=[-1], name="x"), "neurons", "state probe 'x'", "-1")
    expect(lambda: net.probe_state("p", "v", neurons=[0.5], name="x"), "neurons", "state probe 'x'", "0.5")
    expect(lambda: net.probe_state("p", "v", every=0, name="x"), "every", "state probe 'x'", "0")
    expect(lambda: net.probe_state("p", "v", every=-2, name="x"), "every", "state probe 'x'", "-2")
    expect(lambda: net.probe_state("p", "v", every=1.5, name="x"), "every", "state probe 'x'", "1.5")
    expect(lambda: net.probe_state("s", "v", name="x"), "target", "state probe 'x'", "'s'")
    expect(lambda: net.probe_state("nowhere", "v", name="x"), "target", "'nowhere'")
    expect(lambda: net.probe_spikes("nowhere", name="y"), "target", "'nowhere'")
    assert not net.probes


def test_initial_state_bad_variable_or_value():
    net = Network(dt=DT)
    expect(lambda: net.add_population("a", 2, LIF(), initial={"i_syn": 0.0}), "initial", "population 'a'",
           "'i_syn'")
    expect(lambda: net.add_population("a", 2, CubaLIF(), initial={"g_exc": 0.0}), "initial", "population 'a'",
           "'g_exc'")
    err = expect(lambda: net.add_population("a", 2, LIF(), initial={"v": np.nan}), "initial['v']",
                 "population 'a'", "nan")
    assert "initial" in str(err)
    expect(lambda: net.add_population("a", 2, CubaLIF(), initial={"i_syn": [0.0, np.inf]}), "initial['i_syn']",
           "population 'a'", "inf")
    expect(lambda: net.add_population("a", 2, LIF(), initial={"v": [0.0, 0.1, 0.2]}), "initial['v']",
           "population 'a'", "(3,)")
    assert not net.populations


@pytest.mark.parametrize("model,field", [(LIF, "tau_mem"), (IF, "tau_mem"), (CubaLIF, "tau_syn"),
                                         (CubaLIF, "tau_mem"), (CobaLIF, "tau_exc"), (CobaLIF, "tau_inh"),
                                         (CobaLIF, "tau_mem"), (LI, "tau_mem")])
def test_euler_with_dt_above_tau(model, field):
    net = Network(dt=1e-3, integration="euler")
    net.add_population("a", 2, model(**{field: 5e-4}))
    expect(lambda: simulate(net, 1e-2), field, "population 'a'", "0.0005")
    simulate(net, 1e-2, integration="exact")  # the exact scheme has no such limit
    simulate(net, 1e-2, dt=5e-4)  # dt == tau is the limit of forward Euler, still allowed
    net2 = Network(dt=1e-3, integration="exact")
    net2.add_population("a", 2, model(**{field: 5e-4}))
    expect(lambda: simulate(net2, 1e-2, integration="euler"), field, "population 'a'")


# ----------------------------------------------------------------------------- Network.validate

def _valid_net():
    net = Network(dt=DT, seed=1)
    net.add_population("p", 5, LIF())
    net.add_spike_source("s", 4, [1e-3, 2e-3], [0, 3])
    net.add_poisson("q", 4, 10.0)
    net.connect("s", "p", FixedProbability(0.5), weight=0.1, name="sp")
    net.connect("q", "p", AllToAll(), weight=np.linspace(0.1, 0.2, 20), delay=np.linspace(1e-4, 2e-3, 20),
                name="qp")
    net.add_current("i", "p", 1.0)
    net.probe_state("p", "v", neurons=[0, 4])
    net.probe_spikes("p")
    return net


def put(part, field, index, value):
    """Corrupt one entry of a part's array: the description's arrays are read-only, so by assignment."""
    arr = np.array(getattr(part, field))
    arr[index] = value
    setattr(part, field, arr)


def test_the_description_arrays_cannot_be_edited_in_place():
    net = _valid_net()
    with pytest.raises(ValueError, match="read-only"):
        net.projections["qp"].weights[0] = 2.0
    with pytest.raises(ValueError, match="read-only"):
        net.sources["q"].rate[0] = 1.0
    user = np.ones(net.projections["qp"].n_synapses)
    net.projections["qp"].weights = user            # assigning stores a private read-only copy
    user[0] = 5.0
    assert net.projections["qp"].weights[0] == 1.0 and user.flags.writeable


def test_validate_accepts_valid_network():
    net = _valid_net()
    assert net.validate() is net


@pytest.mark.parametrize("corrupt,field,text", [
    (lambda n: put(n.projections["qp"], "weights", 0, np.nan), "weight", "nan"),
    (lambda n: put(n.projections["qp"], "weights", 3, np.inf), "weight", "inf"),
    (lambda n: put(n.projections["qp"], "indices", 0, 10 ** 6), "indices", "1000000"),
    (lambda n: put(n.projections["qp"], "indices", 0, -1), "indices", "-1"),
    (lambda n: setattr(n.projections["qp"], "weights", np.ones(3)), "weight", "(3,)"),
    (lambda n: put(n.projections["qp"], "delays", 2, -1.0), "delay", "-1.0"),
    (lambda n: setattr(n.projections["sp"], "delays", np.nan), "delay", "nan"),
    (lambda n: setattr(n.projections["sp"], "target", "exc"), "target", "'exc'"),
    (lambda n: setattr(n.projections["sp"], "post", "s"), "post", "'s'"),
    (lambda n: setattr(n.projections["sp"], "pre", "gone"), "pre", "'gone'"),
    (lambda n: put(n.projections["qp"], "indptr", 2, 999), "indptr", ""),
])
def test_validate_catches_corrupted_projection(corrupt, field, text):
    net = _valid_net()
    corrupt(net)
    expect(net.validate, field, "projection", text)
    expect(lambda: simulate(net, 1e-3), field, "projection", text)


@pytest.mark.parametrize("corrupt,field,text", [
    (lambda n: put(n.sources["q"], "rate", 1, -3.0), "rate", "-3.0"),
    (lambda n: put(n.sources["q"], "rate", 1, np.nan), "rate", "nan"),
    (lambda n: put(n.sources["s"], "times", 0, -1.0), "times", "-1.0"),
    (lambda n: put(n.sources["s"], "indices", 1, 4), "indices", "4"),
    (lambda n: put(n.currents["i"], "amplitude", 0, np.nan), "amplitude", "nan"),
    (lambda n: put(n.probes["p.v"], "neurons", 1, 5), "neurons", "5"),
    (lambda n: setattr(n.populations["p"], "initial", {"v": np.nan}), "initial['v']", "nan"),
    (lambda n: setattr(n, "dt", -1.0), "dt", "-1.0"),
    (lambda n: setattr(n, "integration", "rk4"), "integration", "'rk4'"),
])
def test_validate_catches_corrupted_parts(corrupt, field, text):
    net = _valid_net()
    corrupt(net)
    expect(net.validate, field, text)


@pytest.mark.parametrize("arithmetic", [object(), "float16", "int32", 32])
def test_unknown_arithmetic_is_rejected(arithmetic):
    net = Network()
    net.add_population("p", 2, LIF())
    with pytest.raises(NetworkError) as err:
        snnsim.simulate(net, 1e-3, arithmetic=arithmetic)
    assert err.value.field == "arithmetic"


@pytest.mark.parametrize("call,field,text", [
    (lambda n, a: n.connect(a, a, OneToOne(), delay="1ms"), "delay", "'1ms'"),
    (lambda n, a: n.add_population("b", 2, LIF(), initial={"v": Uniform("a", 1)}), "initial['v']", "'a'"),
    (lambda n, a: n.add_population("c", 2, LIF(), initial={"v": Normal(None, 1.0)}), "initial['v']", "None"),
    (lambda n, a: n.connect(a, a, OneToOne), "rule", "OneToOne"),
    (lambda n, a: n.connect(a, a, [["x", "y"], ["z", "w"]]), "weight", "'x'"),
    (lambda n, a: Sparse.from_csr([0, 2, 1], [0, 1]), "indptr", "[0, 2, 1]"),
    (lambda n, a: Network(seed=2**64), "seed", str(2**64)),
])
def test_odd_values_give_field_errors_not_raw_exceptions(call, field, text):
    net = Network()
    a = net.add_population("a", 2, LIF())
    with pytest.raises(NetworkError) as err:
        call(net, a)
    assert err.value.field == field and text in str(err.value)
