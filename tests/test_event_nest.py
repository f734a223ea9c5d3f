"""The event engine against an independent oracle: NEST's ``iaf_psc_delta_ps`` (precise spike timing).

Same networks, same inputs, spike times equal to 1e-9 s. NEST is installed by
``scripts/setup.sh`` (PyPI ``nest-simulator``); these tests skip only where it
cannot be imported. The parameter mapping is in ``nest_oracle.py`` and
``docs/engines.md``.
"""

import numpy as np
import pytest

import snnsim
from nest_oracle import nest_available, run_on_nest
from snnsim import LIF, FixedInDegree, FixedProbability, Network, OneToOne, Uniform

pytestmark = pytest.mark.skipif(not nest_available(), reason="NEST (nest-simulator) is not installed")

TOL = 1e-9  # s


def assert_same_spikes(ours, theirs, n):
    times, idx = theirs
    assert len(ours) == len(times), (len(ours), len(times))
    for i in range(n):
        np.testing.assert_allclose(ours.times[ours.indices == i], times[idx == i], rtol=0, atol=TOL)


def test_single_neuron_constant_current():
    net = Network(dt=1e-4)
    pop = net.add_population("p", 3, LIF(tau_mem=10e-3, v_leak=-0.07, v_th=-0.055, v_reset=-0.07, r=4e7,
                                         i_bias=[4e-10, 5e-10, 1e-9], t_ref=2e-3),
                             initial={"v": [-0.07, -0.06, -0.056]})
    net.probe_spikes(pop)
    ours = snnsim.simulate(net, 0.5, backend="event").spikes["p"]
    assert len(ours) > 50
    assert_same_spikes(ours, run_on_nest(net, 0.5)["p"], 3)


def test_chain_of_neurons_with_delays():
    net = Network(dt=1e-4)
    net.add_spike_source("s", 1, times=[1.23456789e-3, 20.5e-3])
    prev = "s"
    for k, d in enumerate([1.0e-3, 2.3e-3, 0.7e-3]):
        net.add_population(f"n{k}", 1, LIF(tau_mem=20e-3, v_th=1.0, i_bias=0.5, t_ref=1e-3))
        net.connect(prev, f"n{k}", OneToOne(), weight=1.2, delay=d)
        net.probe_spikes(f"n{k}")
        prev = f"n{k}"
    ours = snnsim.simulate(net, 0.05, backend="event")
    theirs = run_on_nest(net, 0.05)
    for k in range(3):
        assert len(ours.spikes[f"n{k}"]) == 2
        assert_same_spikes(ours.spikes[f"n{k}"], theirs[f"n{k}"], 1)


@pytest.mark.parametrize("seed", [1, 2])
def test_random_recurrent_network_with_poisson_input(seed):
    """100 LIF neurons, recurrent excitation and inhibition, heterogeneous drive, refractoriness, and
    Poisson input whose spikes (drawn by the event engine) NEST receives as precise spike times."""
    rng = np.random.default_rng(seed)
    bias = rng.uniform(0.8, 1.3, 100)
    # NEST needs delays on its grid (0.1 ms here) and counts t_ref on it too. Its refractory period is
    # [t_s, t_s + t_ref), ours (the clock engine's) (t_s, t_s + t_ref]: they differ only for an input that
    # arrives exactly at its end. Delays in even multiples of 0.1 ms and t_ref an odd one rule that out.
    delays = rng.integers(5, 16, size=1000) * 2e-4

    def build(poisson_times=None):
        net = Network(dt=1e-4, seed=seed)
        pop = net.add_population("p", 100, LIF(tau_mem=20e-3, v_th=1.0, v_reset=0.1, t_ref=2.1e-3,
                                               i_bias=bias))
        if poisson_times is None:
            net.add_poisson("noise", 20, rate=50.0)
        else:
            net.add_spike_source("noise", 20, times=poisson_times[0], indices=poisson_times[1])
        net.connect("noise", pop, FixedProbability(0.2), weight=0.3, delay=1.6e-3)
        net.connect(pop, pop, FixedInDegree(10), weight=Uniform(-0.15, 0.1), delay=delays)
        net.probe_spikes(pop)
        net.probe_spikes("noise")
        return net

    first = snnsim.simulate(build(), 0.5, backend="event")
    noise = first.spikes["noise"]
    net = build((noise.times, noise.indices))
    ours = snnsim.simulate(net, 0.5, backend="event").spikes["p"]
    assert len(ours) > 500 and len(noise) > 300
    np.testing.assert_array_equal(ours.times, first.spikes["p"].times)  # recorded input = drawn input
    assert_same_spikes(ours, run_on_nest(net, 0.5)["p"], 100)


def test_refractory_boundary_is_the_one_documented_difference():
    """An input arriving exactly at t_s + t_ref: NEST's refractory period [t_s, t_s + t_ref) takes it,
    ours and the clock engine's (t_s, t_s + t_ref] drop it; 0.05 ms earlier both take it."""
    def build(t_ref):
        net = Network(dt=1e-4)
        net.add_spike_source("a", 1, times=[1e-3])
        net.add_spike_source("b", 1, times=[3e-3])
        net.add_population("p", 1, LIF(tau_mem=1e3, v_th=1.0, t_ref=t_ref), initial={"v": 0.5})
        net.connect("a", "p", OneToOne(), weight=0.6, delay=1e-3)  # fires at 2 ms
        net.connect("b", "p", OneToOne(), weight=1.5, delay=1e-3)  # arrives at 4 ms
        net.probe_spikes("p")
        return net

    at_end, before_end = build(2e-3), build(1.95e-3)
    assert snnsim.simulate(at_end, 0.01, backend="event").spikes["p"].times.tolist() == [2e-3]
    assert snnsim.simulate(at_end, 0.01, arithmetic="float64").spikes["p"].times.tolist() == [2e-3]
    np.testing.assert_allclose(run_on_nest(at_end, 0.01)["p"][0], [2e-3, 4e-3], atol=TOL)
    np.testing.assert_allclose(snnsim.simulate(before_end, 0.01, backend="event").spikes["p"].times,
                               [2e-3, 4e-3], atol=TOL)
    np.testing.assert_allclose(run_on_nest(before_end, 0.01)["p"][0], [2e-3, 4e-3], atol=TOL)


def test_nest_stays_out_of_the_test_process():
    """NEST's OpenMP runtime and torch's crash together in one process: the oracle runs NEST in a child."""
    import sys

    run_on_nest(_tiny_network(), 0.01)
    assert "nest" not in sys.modules


def _tiny_network():
    net = Network(dt=1e-4)
    net.add_population("p", 1, LIF(tau_mem=10e-3, v_th=1.0, i_bias=1.5, t_ref=1e-3))
    net.probe_spikes("p")
    return net
