"""Same network + same seed => same spikes and traces; run splitting and precision do not change them."""

import math

import numpy as np
import pytest

import snnsim

from snnsim import (LIF, CobaLIF, CubaLIF, FixedInDegree, FixedProbability, Network, Normal, OneToOne, Uniform,
                    simulate)
from snnsim.backends.cpu import Simulator

DT = 1e-4


def random_net(seed=1):
    """Poisson input into a recurrent LIF/CubaLIF network with random weights, delays and initial v."""
    net = Network(dt=DT, seed=seed)
    net.add_poisson("in", 100, 40.0)
    net.add_spike_source("kick", 10, [0.0, 0.0, 5e-3, 12.3e-3], [0, 3, 5, 9])
    net.add_population("exc", 160, LIF(tau_mem=20e-3, v_th=1.0, t_ref=2e-3), initial={"v": Uniform(0.0, 0.9)})
    net.add_population("inh", 40, CubaLIF(tau_mem=10e-3, tau_syn=5e-3, v_th=1.0, t_ref=1e-3),
                       initial={"v": Uniform(0.0, 0.5)})
    net.add_population("coba", 20, CobaLIF(), initial={"v": Uniform(-60e-3, -52e-3)})
    net.connect("in", "exc", FixedProbability(0.1), weight=Normal(0.25, 0.05), delay=Uniform(1e-4, 2e-3))
    net.connect("in", "inh", FixedInDegree(10), weight=Uniform(2.0, 4.0))
    net.connect("kick", "exc", FixedProbability(0.5), weight=0.6)
    net.connect("exc", "exc", FixedProbability(0.05, allow_self=False), weight=Normal(0.1, 0.03),
                delay=Uniform(5e-4, 3e-3))
    net.connect("exc", "inh", FixedProbability(0.1), weight=1.0, delay=1e-3)
    net.connect("inh", "exc", FixedProbability(0.2), weight=Normal(-0.3, 0.05), delay=Uniform(1e-4, 1e-3))
    net.connect("exc", "coba", FixedProbability(0.2), weight=Uniform(0.0, 0.3), target="exc")
    net.connect("inh", "coba", FixedProbability(0.2), weight=Uniform(0.0, 0.5), target="inh")
    for name in ("in", "kick", "exc", "inh", "coba"):
        net.probe_spikes(name)
    net.probe_state("exc", "v", neurons=[0, 7, 100], every=3)
    net.probe_state("inh", "i_syn", every=2)
    net.probe_state("coba", "g_exc", neurons=[1, 2])
    return net


DURATION = 0.15


def assert_same(r1, r2, traces=True):
    assert r1.spikes.keys() == r2.spikes.keys()
    for name in r1.spikes:
        np.testing.assert_array_equal(r1.spikes[name].times, r2.spikes[name].times, err_msg=name)
        np.testing.assert_array_equal(r1.spikes[name].indices, r2.spikes[name].indices, err_msg=name)
    assert r1.spike_counts == r2.spike_counts
    if traces:
        assert r1.traces.keys() == r2.traces.keys()
        for name in r1.traces:
            np.testing.assert_array_equal(r1.traces[name].times, r2.traces[name].times, err_msg=name)
            np.testing.assert_array_equal(r1.traces[name].values, r2.traces[name].values, err_msg=name)


def test_random_network_is_active():
    res = simulate(random_net(), DURATION)
    for name in ("in", "exc", "inh", "coba"):
        assert res.spike_counts[name] >= 10, res.spike_counts
    assert res.spike_counts["kick"] == 4


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_same_network_twice(dtype):
    net = random_net()
    assert_same(simulate(net, DURATION, arithmetic=dtype), simulate(net, DURATION, arithmetic=dtype))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_networks_built_separately(dtype):
    assert_same(simulate(random_net(seed=5), DURATION, arithmetic=dtype),
                simulate(random_net(seed=5), DURATION, arithmetic=dtype))


def test_different_seed_changes_spikes():
    r1 = simulate(random_net(seed=1), DURATION)
    r2 = simulate(random_net(seed=2), DURATION)
    for name in ("in", "exc", "inh"):
        a, b = r1.spikes[name], r2.spikes[name]
        assert len(a) != len(b) or not (np.array_equal(a.times, b.times) and np.array_equal(a.indices, b.indices))
    assert not np.array_equal(r1.traces["exc.v"].values, r2.traces["exc.v"].values)


@pytest.mark.parametrize("split_steps", [[1500], [750, 750], [1, 372, 1127], [123, 0, 1377], [0, 1500]])
def test_split_run_matches_single_run(split_steps):
    net = random_net()
    whole = Simulator(net, arithmetic="float64").run(sum(split_steps) * DT)
    sim = Simulator(net, arithmetic="float64")
    parts = [sim.run(n * DT) for n in split_steps]
    assert sim.step == sum(split_steps)
    for name in whole.spikes:
        times = np.concatenate([p.spikes[name].times for p in parts])
        indices = np.concatenate([p.spikes[name].indices for p in parts])
        np.testing.assert_array_equal(np.rint(times / DT), np.rint(whole.spikes[name].times / DT), err_msg=name)
        np.testing.assert_array_equal(indices, whole.spikes[name].indices, err_msg=name)
        assert sum(p.spike_counts[name] for p in parts) == whole.spike_counts[name]
    # the traces of the parts, joined, are the trace of the whole run (every = 1 probe): the first
    # part samples its start too, a continued one starts after where the last one ended
    whole_v = whole.traces["coba.g_exc"].values
    at = 0
    for i, (n, p) in enumerate(zip(split_steps, parts)):
        lo = at if i == 0 else at + 1
        np.testing.assert_array_equal(p.traces["coba.g_exc"].values, whole_v[lo:at + n + 1])
        np.testing.assert_allclose(p.traces["coba.g_exc"].times, np.arange(lo, at + n + 1) * DT, rtol=0, atol=1e-12)
        at += n
    joined = sim.results()
    np.testing.assert_array_equal(joined.traces["coba.g_exc"].values, whole_v)
    assert joined.counts == whole.counts
    # the final state agrees too
    s_whole = Simulator(net, arithmetic="float64")
    s_whole.run(sum(split_steps) * DT)
    for pop, state in sim.state().items():
        for var, value in state.items():
            np.testing.assert_array_equal(value, s_whole.state()[pop][var], err_msg=f"{pop}.{var}")


def regular_net():
    """Five LIF neurons driven by constant currents, plus a spike-source driven pair.

    Constant drive rI with v_th = 1, v_reset = 0, no refractory period: v_n = rI (1 - a^n)
    after each reset, so neuron j fires every n_j steps, n_j = min{n : rI_j (1 - a^n) > 1}.
    """
    net = Network(dt=DT, seed=3)
    net.add_population("reg", 5, LIF(tau_mem=20e-3))
    net.add_current("drive", "reg", np.array(AMPS))
    net.add_spike_source("s", 2, [1e-3, 1.2e-3, 2e-3, 2.5e-3], [0, 0, 1, 1])
    net.add_population("pair", 2, LIF(tau_mem=20e-3, v_th=1.0))
    # neuron 0 gets 0.55 at 1.1 and 1.3 ms: 0.55 exp(-0.01) + 0.55 = 1.0945 > 1 -> fires at 1.3 ms;
    # neuron 1 gets 0.55 at 2.1 and 2.6 ms: 0.55 exp(-0.025) + 0.55 = 1.0864 > 1 -> fires at 2.6 ms
    net.connect("s", "pair", OneToOne(), weight=0.55, delay=DT)
    net.probe_spikes("reg")
    net.probe_spikes("pair")
    return net


AMPS = [1.2, 1.5, 2.0, 3.0, 5.0]


def test_float32_and_float64_give_the_same_spikes():
    a = math.exp(-DT / 20e-3)
    duration = 0.2
    n_total = round(duration / DT)
    expected_t, expected_i = [], []
    for j, amp in enumerate(AMPS):
        n_j = next(n for n in range(1, 10 ** 6) if amp * (1 - a ** n) > 1.0)
        # far enough from threshold that float32 cannot decide differently
        assert amp * (1 - a ** n_j) - 1.0 > 1e-4 and 1.0 - amp * (1 - a ** (n_j - 1)) > 1e-4, (amp, n_j)
        ks = np.arange(n_j, n_total + 1, n_j)
        expected_t.append(ks)
        expected_i.append(np.full(len(ks), j))
    k_exp = np.concatenate(expected_t)
    i_exp = np.concatenate(expected_i)
    order = np.lexsort((i_exp, k_exp))
    k_exp, i_exp = k_exp[order], i_exp[order]

    results = {dt: simulate(regular_net(), duration, arithmetic=dt) for dt in ("float32", "float64")}
    for dtype, res in results.items():
        sp = res.spikes["reg"]
        np.testing.assert_array_equal(np.rint(sp.times / DT), k_exp, err_msg=dtype)
        np.testing.assert_array_equal(sp.indices, i_exp, err_msg=dtype)
        np.testing.assert_allclose(res.spikes["pair"].times, [1.3e-3, 2.6e-3], rtol=0, atol=1e-12)
        np.testing.assert_array_equal(res.spikes["pair"].indices, [0, 1])
    assert_same(results["float32"], results["float64"], traces=False)


def test_poisson_spikes_do_not_depend_on_unrelated_parts_of_the_network():
    """A Poisson source's spikes depend on the seed and its own name only."""
    def build(extra: bool):
        net = Network(dt=1e-4, seed=11)
        if extra:
            net.add_population("unrelated", 5, snnsim.LIF())
            net.add_poisson("other", 7, rate=30.0)
        src = net.add_poisson("drive", 50, rate=80.0)
        net.add_population("p", 3, snnsim.LIF())
        net.probe_spikes(src)
        return net

    a = snnsim.simulate(build(False), 0.2).spikes["drive"]
    b = snnsim.simulate(build(True), 0.2).spikes["drive"]
    assert len(a) > 100
    np.testing.assert_array_equal(a.times, b.times)
    np.testing.assert_array_equal(a.indices, b.indices)


def test_simulator_refuses_a_structural_change_and_applies_a_new_probe():
    net = Network(dt=1e-4)
    a = net.add_population("a", 3, snnsim.LIF(i_bias=2.0))
    sim = Simulator(net)
    sim.run(0.01)
    net.probe_spikes(a)                 # a probe added between runs records from the next step on
    res = sim.run(0.01)
    assert len(res.spikes["a"]) > 0 and res.spikes["a"].times.min() > 0.01
    net.add_population("b", 2, snnsim.LIF())
    with pytest.raises(snnsim.NetworkError, match=r"population 'b': added: .*structure changed.*new Simulator"):
        sim.run(0.01)


def test_mean_rate_counts_spiking_populations_only():
    """An LI readout never fires; it must not dilute the network's mean rate."""
    net = Network(dt=1e-4)
    net.add_population("lif", 4, snnsim.LIF(i_bias=2.0, tau_mem=10e-3))  # fires regularly
    net.add_population("readout", 96, snnsim.LI())
    res = snnsim.simulate(net, 0.1)
    n_spikes = res.spike_counts["lif"]
    assert n_spikes > 0
    assert res.mean_rate() == pytest.approx(n_spikes / (4 * 0.1))
    assert res.mean_rate("readout") == 0.0
    with pytest.raises(snnsim.NetworkError, match="population"):
        res.mean_rate("nope")
