"""The Numba clock engine agrees bit for bit with the numpy reference of the same step.

Random networks mixing every model, both schemes, per-synapse and shared weights
and delays (up to 7 steps), Poisson and timed sources, constant and time-series
currents, refractoriness and both reset modes.
"""

import numpy as np
import pytest

import snnsim
from snnsim import CobaLIF, CubaLIF, IF, LI, LIF, Network
from snnsim.connectivity import FixedProbability

from reference import simulate as reference_simulate

MODELS = ("LIF", "CubaLIF", "LI", "IF", "CobaLIF")


def random_network(seed: int, integration: str, models=MODELS) -> Network:
    rng = np.random.default_rng(seed)
    dt = 1e-4
    net = Network(dt=dt, integration=integration, seed=seed)
    pops = []
    for i, kind in enumerate(models):
        n = int(rng.integers(5, 40))
        reset = str(rng.choice(["value", "subtract"]))
        t_ref = float(rng.choice([0.0, 2e-4, 1e-3]))
        tau = rng.uniform(5e-3, 30e-3, n)  # per-neuron arrays
        if kind == "LIF":
            model = LIF(tau_mem=tau, v_th=1.0, v_reset=rng.uniform(-0.2, 0.2), i_bias=rng.uniform(0, 1.5, n),
                        t_ref=t_ref, reset=reset)
        elif kind == "CubaLIF":
            model = CubaLIF(tau_mem=tau, tau_syn=rng.uniform(2e-3, 10e-3), v_th=1.0, i_bias=rng.uniform(0.5, 1.5),
                            t_ref=t_ref, reset=reset)
        elif kind == "LI":
            model = LI(tau_mem=tau, tau_syn=float(rng.choice([0.0, 4e-3])), i_bias=0.3)
        elif kind == "IF":
            model = IF(tau_mem=tau, v_th=1.0, i_bias=rng.uniform(0.0, 0.2, n), t_ref=t_ref, reset=reset)
        else:
            model = CobaLIF(tau_mem=tau, i_bias=rng.uniform(0.0, 0.03, n), t_ref=t_ref, reset=reset)
        initial = {"v": snnsim.Uniform(-0.2, 0.9)} if kind != "CobaLIF" else {"v": snnsim.Normal(-0.055, 0.004)}
        pop = net.add_population(f"{kind.lower()}{i}", n, model, initial=initial)
        pops.append(pop)
        net.probe_spikes(pop)
        for var in pop.model.state_variables:
            net.probe_state(pop, var, neurons=rng.choice(n, 3, replace=False), every=int(rng.integers(1, 4)))
    poisson = net.add_poisson("noise", 30, rate=rng.uniform(50, 400, 30))
    varying = net.add_poisson("bursts", 10, rate=[[0.0] * 10, list(rng.uniform(100, 600, 10))], rate_dt=2e-3)
    timed = net.add_spike_source("timed", 4, times=[0.0, 1e-4, 1e-4, 3.3e-3, 7e-3], indices=[0, 1, 3, 2, 0])
    net.probe_spikes(poisson)
    net.probe_spikes(timed)
    for post in pops:
        is_coba = isinstance(post.model, CobaLIF)
        scale = 0.01 if is_coba else 0.3
        for pre in [poisson, varying, timed, *pops]:
            if not getattr(pre, "model", None) or pre.model.spiking:
                target = ("exc" if pre is not pops[-1] else "inh") if is_coba else "current"
                n_pre = pre.size
                per_synapse = rng.random() < 0.5
                weight = (snnsim.Uniform(0.0, scale) if is_coba else snnsim.Normal(scale / 2, scale)) \
                    if per_synapse else float(rng.uniform(0, scale))
                delay = snnsim.Uniform(0.6e-4, 7.4e-4) if rng.random() < 0.5 else float(rng.choice([1e-4, 3e-4]))
                net.connect(pre, post, FixedProbability(float(rng.uniform(0.2, 0.6))), weight=weight, delay=delay,
                            target=target, name=f"{pre.name}->{post.name}")
                del n_pre
    first = pops[0]
    net.add_current("dc", first, rng.uniform(-0.2, 0.4, first.size))
    net.add_current("steps", pops[-1], rng.uniform(0, 0.02, (7, 1)) if len(pops) else 0.0, sample_dt=1e-3)
    return net


def assert_same(net, duration, dtype):
    expected_spikes, expected_traces = reference_simulate(net, duration, dtype=dtype)
    res = snnsim.simulate(net, duration, arithmetic=np.dtype(dtype).name)
    total = 0
    for name, (times, idx) in expected_spikes.items():
        if name not in res.spikes:
            continue
        np.testing.assert_array_equal(res.spikes[name].times, times, err_msg=f"{name} spike times")
        np.testing.assert_array_equal(res.spikes[name].indices, idx, err_msg=f"{name} spike indices")
        total += len(times)
    for name, values in expected_traces.items():
        np.testing.assert_array_equal(res.traces[name].values, values, err_msg=f"trace {name}")
    return total


@pytest.mark.parametrize("integration", ["exact", "euler"])
@pytest.mark.parametrize("seed", range(4))
def test_kernels_bit_identical_float64(seed, integration):
    net = random_network(seed, integration)
    assert assert_same(net, 0.02, np.float64) > 50  # the comparison is not vacuous


@pytest.mark.parametrize("seed", range(2))
def test_kernels_bit_identical_float32_without_exp(seed):
    # float32 exp differs between libm and numpy; the other families use only + - * /
    net = random_network(seed, "euler")
    assert assert_same(net, 0.02, np.float32) > 50
    net = random_network(seed, "exact", models=("LIF", "CubaLIF", "LI", "IF"))
    assert assert_same(net, 0.02, np.float32) > 50
