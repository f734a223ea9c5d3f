"""integration='loihi' / 'loihi_float' and the quantiser, against hand-computed values.

The reference here is Loihi's published fixed-point arithmetic written out with Python
integers (independently of kernels/loihi.py); test_lava.py checks against Lava itself.
"""

import math

import numpy as np
import pytest

import snnsim

from snnsim import IF, LI, LIF, CubaLIF, Network, simulate
from snnsim.errors import NetworkError
from snnsim.loihi import WEIGHT_RANGE, quantize


def trunc_decay(x: int, keep: int) -> int:
    """x * keep / 4096 truncated toward zero, in exact integers."""
    p = x * keep
    return p // 4096 if p >= 0 else -((-p) // 4096)


def reference(du, dv, vth, bias, inputs, u=0, v=0):
    """One Loihi CUBA neuron, Python ints: returns (u, v, spike) per step for the summed
    weight inputs ``inputs[n]`` arriving in step n."""
    out = []
    for a in inputs:
        u = trunc_decay(u, 4096 - du - 1) + (a << 6)
        if u > 2 ** 23:
            u -= 2 ** 24
        elif u <= -2 ** 23:
            u += 2 ** 24
        v = max(min(trunc_decay(v, 4096 - dv) + u + bias, 2 ** 23 - 1), -(2 ** 23) + 1)
        spike = v > (vth << 6)
        if spike:
            v = 0
        out.append((u, v, spike))
    return out


def one_neuron(model, times=(), weights=(), initial=None, steps=60, dt=1e-3):
    net = Network(dt=dt)
    net.add_spike_source("in", max(1, len(weights)), list(times), list(range(len(times))))
    net.add_population("n", 1, model, initial=initial)
    if weights:
        net.connect("in", "n", np.array([weights], float))
    net.probe_spikes("n")
    net.probe_state("n", "v")
    if "i_syn" in model.state_variables:
        net.probe_state("n", "i_syn")
    return net


def test_decay_registers_follow_the_closed_form():
    dt, tau_m, tau_s = 1e-3, 20e-3, 5e-3
    q = quantize(one_neuron(CubaLIF(tau_mem=tau_m, tau_syn=tau_s)), dt).populations["n"]
    assert q.dv == round(4096 * (1 - math.exp(-dt / tau_m))) == 200
    assert q.du == round(4096 * (1 - math.exp(-dt / tau_s))) - 1 == 741   # Loihi adds 1 to du
    lif = quantize(one_neuron(LIF(tau_mem=tau_m)), dt).populations["n"]
    assert lif.du == 4095                    # instantaneous synapse: u keeps nothing
    assert quantize(one_neuron(IF()), dt).populations["n"].dv == 0     # no leak
    euler = one_neuron(CubaLIF(tau_mem=tau_m, tau_syn=tau_s))
    euler.integration = "euler"
    e = quantize(euler, dt).populations["n"]
    assert (e.dv, e.du) == (round(4096 * dt / tau_m), round(4096 * dt / tau_s) - 1)


def test_bias_only_trajectory_equals_hand_arithmetic():
    """A LIF neuron driven by its bias alone, every step against the integer reference."""
    net = one_neuron(LIF(tau_mem=10e-3, v_th=1.0, i_bias=1.6), steps=80)
    q = quantize(net).populations["n"]
    res = simulate(net, 0.08, arithmetic="loihi_fixed")
    ref = reference(q.du, q.dv, q.vth, int(q.bias[0]), [0] * 80)
    assert res.traces["n.v"].values[1:, 0].tolist() == [v for _, v, _ in ref]
    k = [i + 1 for i, (_, _, s) in enumerate(ref) if s]
    assert len(k) >= 3 and res.spikes["n"].times.tolist() == pytest.approx([i * 1e-3 for i in k])
    # the bias register holds gain * r * i_bias in state units: (1 - exp(-dt/tau)) * 1.6 / scale
    assert int(q.bias[0]) == pytest.approx((1 - math.exp(-0.1)) * 1.6 / q.scale, abs=0.5 * 2 ** q.bias_exp[0])


def test_current_synapse_trajectory_equals_hand_arithmetic():
    """A CubaLIF neuron with positive and negative input spikes, u and v every step."""
    times = [0.002, 0.003, 0.010, 0.011, 0.012, 0.030]
    weights = [2.0, 1.5, -1.0, 3.0, 2.5, 4.0]
    net = one_neuron(CubaLIF(tau_mem=20e-3, tau_syn=8e-3, v_th=0.6), times, weights,
                     initial={"v": np.array([0.3])})
    lnet = quantize(net)
    q, proj = lnet.populations["n"], lnet.projections[next(iter(lnet.projections))]
    m = proj.mant.astype(int) << proj.exp
    inputs = [0] * 60
    for t, mi in zip(times, m):
        inputs[round(t / 1e-3) + 1 - 1] += int(mi)     # spike at step k reaches u in step k+1 (index k)
    res = simulate(net, 0.06, arithmetic="loihi_fixed")
    ref = reference(q.du, q.dv, q.vth, int(q.bias[0]), inputs, v=int(q.v0[0]))
    assert res.traces["n.i_syn"].values[1:, 0].tolist() == [u for u, _, _ in ref]
    assert res.traces["n.v"].values[1:, 0].tolist() == [v for _, v, _ in ref]
    assert res.traces["n.v"].values[0, 0] == q.v0[0] == round(0.3 / q.scale)
    assert any(s for _, _, s in ref)


def test_threshold_and_weights_are_scaled_to_the_state_units():
    net = one_neuron(LIF(tau_mem=10e-3, v_th=1.5), [0.001], [0.25])
    lnet = quantize(net)
    q, p = lnet.populations["n"], next(iter(lnet.projections.values()))
    assert q.vth * 64 * q.scale == pytest.approx(1.5, rel=1e-4)
    assert (int(p.mant[0]) << p.exp) * 64 * q.scale == pytest.approx(0.25, rel=1e-2)
    row = lnet.report.rows()[0]
    assert row["threshold_rel_err"] == pytest.approx(abs(q.vth * 64 * q.scale - 1.5) / 1.5)
    assert row["weight_rms_rel_err"] < 0.01


@pytest.mark.parametrize("sign", ["excitatory", "inhibitory", "mixed"])
def test_weight_mantissas_fit_the_sign_mode(sign):
    rng = np.random.default_rng(1)
    w = rng.uniform(0.01, 2.0, (7, 9))
    if sign == "inhibitory":
        w = -w
    if sign == "mixed":
        w[::2] *= -1
    net = Network(dt=1e-3)
    net.add_poisson("in", 9, 50.0)
    net.add_population("n", 7, LIF(v_th=1.0))
    net.connect("in", "n", w)
    p = next(iter(quantize(net).projections.values()))
    lo, hi = WEIGHT_RANGE[sign]
    assert p.sign_mode == sign and p.mant.min() >= lo and p.mant.max() <= hi
    if sign == "mixed":
        assert (p.mant % 2 == 0).all()       # Loihi drops the last bit of mixed-sign weights
    # rounding to nearest: the error is at most half a mantissa step
    step = (2 if sign == "mixed" else 1) << p.exp
    scale = quantize(net).populations["n"].scale * 64
    err = np.abs(p.mant.astype(float) * (1 << p.exp) * scale - np.sort(w.T.ravel())[np.argsort(np.argsort(w.T.ravel()))])
    assert err.max() <= 0.5 * step * scale * (1 + 1e-9)


def test_large_weights_take_an_exponent():
    net = Network(dt=1e-3)
    net.add_poisson("in", 2, 50.0)
    net.add_population("n", 1, LIF(v_th=1.0))
    net.connect("in", "n", np.array([[500.0, 0.3]]))
    lnet = quantize(net)
    p = next(iter(lnet.projections.values()))
    assert p.exp > 0 and (int(p.mant.max()) << p.exp) * 64 * lnet.populations["n"].scale == pytest.approx(500, rel=0.01)


def test_values_out_of_loihi_ranges_name_the_field():
    net = one_neuron(LIF(tau_mem=20e-3, v_th=1.0, i_bias=1e7))
    with pytest.raises(NetworkError) as err:
        quantize(net)
    assert err.value.field == "i_bias" and "population 'n'" in str(err.value)
    net = Network(dt=1e-3)
    net.add_poisson("in", 1, 50.0)
    net.add_population("n", 1, LIF(v_th=1.0))
    net.connect("in", "n", np.array([[1e9]]), name="huge")
    with pytest.raises(NetworkError) as err:
        quantize(net)
    assert err.value.field == "weights" and "huge" in str(err.value) and "1000000000.0" in str(err.value)


def test_loihi_float_lif_equals_the_euler_clock_engine():
    """For LIF (instantaneous synapses) Loihi's float update is the euler scheme itself."""
    rng = np.random.default_rng(3)
    net = Network(dt=1e-3, integration="euler", seed=4)
    net.add_poisson("in", 30, 150.0)
    net.add_population("a", 40, LIF(tau_mem=15e-3, v_th=1.0, i_bias=rng.uniform(0, 0.8, 40)))
    net.connect("in", "a", rng.normal(0.1, 0.3, (40, 30)))
    net.connect("a", "a", rng.normal(0.0, 0.2, (40, 40)))
    net.probe_spikes("a")
    net.probe_state("a", "v")
    ref = simulate(net, 0.2, integration="euler", arithmetic="float64")
    got = simulate(net, 0.2, arithmetic="loihi_float")
    assert len(ref.spikes["a"]) > 50
    np.testing.assert_array_equal(got.spikes["a"].times, ref.spikes["a"].times)
    np.testing.assert_array_equal(got.spikes["a"].indices, ref.spikes["a"].indices)
    np.testing.assert_allclose(got.traces["a.v"].values, ref.traces["a.v"].values, atol=1e-12)


def test_quantised_network_tracks_the_float_network():
    """Fixed point approximates the float Loihi model: spike counts within a few percent."""
    rng = np.random.default_rng(5)
    net = Network(dt=1e-3, seed=6)
    net.add_poisson("in", 50, 80.0)
    net.add_population("a", 100, CubaLIF(tau_mem=20e-3, tau_syn=5e-3, v_th=1.0))
    net.connect("in", "a", rng.normal(1.0, 0.5, (100, 50)) * 4)
    net.probe_spikes("a")
    fixed = simulate(net, 0.5, arithmetic="loihi_fixed")
    flt = simulate(net, 0.5, arithmetic="loihi_float")
    n_fixed, n_float = len(fixed.spikes["a"]), len(flt.spikes["a"])
    assert n_float > 500 and abs(n_fixed - n_float) / n_float < 0.03


def test_readout_never_fires_and_keeps_its_trace():
    net = Network(dt=1e-3)
    net.add_poisson("in", 5, 200.0)
    net.add_population("out", 3, LI(tau_mem=10e-3, tau_syn=5e-3))
    net.connect("in", "out", np.full((3, 5), 0.5))
    net.probe_state("out", "v")
    lnet = quantize(net)
    res = simulate(net, 0.1, arithmetic="loihi_fixed")
    v = res.traces["out.v"].values
    assert lnet.populations["out"].readout and v.max() > 0
    assert v.max() < lnet.populations["out"].vth * 64    # never reaches the (largest) threshold


def test_other_engines_refuse_the_loihi_arithmetics():
    net = one_neuron(LIF())
    from snnsim.backends.torch import TorchNetwork
    with pytest.raises(NetworkError) as err:
        TorchNetwork(net, integration="loihi")
    assert err.value.field == "integration"
    for backend in ("event", "torch"):
        with pytest.raises(NetworkError, match=f"the {backend} engine computes in .*engines that do: .*cpu.*lava") as err:
            simulate(net, 0.01, backend=backend, arithmetic="loihi_float")
        assert err.value.field == "arithmetic"
    with pytest.warns(DeprecationWarning, match="integration='loihi_float' is deprecated"):
        with pytest.raises(NetworkError) as err:
            simulate(net, 0.01, backend="event", integration="loihi_float")
    assert err.value.field == "arithmetic"
    with pytest.raises(NetworkError, match="'loihi' is an arithmetic, not a physics scheme"):
        snnsim.Network(integration="loihi")


