"""Hand-computed edge cases that the broader tests can miss (issue 14, "tests that bite").

Each case pins one comparison or one formula that a realistic slip would change: the
threshold is strict (``v > v_th``: a neuron driven exactly to threshold does not fire),
reset by subtraction removes ``v_th - v_reset`` (not ``v_th``), and Loihi's fixed point
truncates toward zero, wraps ``u`` and saturates ``v`` at 24 bits, and rounds biases to
the nearest mantissa. All expected values are worked out by hand in the comments.
"""

import numpy as np
import pytest

import snnsim
from snnsim import LIF, Network
from snnsim.kernels.loihi import loihi_fixed_update
from snnsim.kernels.neurons import A, DRIVE, DS, N_ROWS, VTH
from snnsim.kernels.training import layer_forward
from snnsim.loihi import _quantize_bias


def _kicked(backend, weight, v_reset=0.0, reset="value"):
    """One LIF neuron (v starts at 0, v_leak 0) kicked once at t = 1 ms by a spike of ``weight``."""
    net = Network(dt=1e-3, integration="exact", seed=1)
    src = net.add_spike_source("kick", 1, times=[1e-3], indices=[0])
    pop = net.add_population("n", 1, LIF(tau_mem=20e-3, v_th=1.0, v_reset=v_reset, reset=reset),
                             initial={"v": 0.0})
    net.connect(src, pop, snnsim.OneToOne(), weight=weight, delay=1e-3)
    net.probe_spikes(pop)
    net.probe_state(pop, "v")
    res = snnsim.simulate(net, duration=5e-3, backend=backend, arithmetic="float64")
    return res.spikes["n"].times, res.traces["n.v"].values[:, 0]


@pytest.mark.parametrize("backend", ["cpu", "event"])
def test_exactly_at_threshold_does_not_fire(backend):
    # v jumps from 0 to exactly 1.0 = v_th: 1.0 > 1.0 is false, so no spike
    times, v = _kicked(backend, 1.0)
    assert len(times) == 0
    assert v.max() == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("backend", ["cpu", "event"])
def test_subtractive_reset_removes_threshold_minus_reset(backend):
    # v jumps to 1.25 > 1, fires; subtract (v_th - v_reset) = 1 - (-0.5) = 1.5 -> v = -0.25
    # (a reset to v_reset would give -0.5, subtracting v_th alone would give 0.25)
    times, v = _kicked(backend, 1.25, v_reset=-0.5, reset="subtract")
    assert len(times) == 1
    if backend == "cpu":
        k = int(np.flatnonzero(v != 0)[0])
        assert v[k] == pytest.approx(-0.25, abs=1e-12)
        assert v[k + 1] == pytest.approx(-0.25 * np.exp(-1e-3 / 20e-3), abs=1e-12)


def _layer(x, vth, vreset, subtract):
    """The fused training layer on one neuron, no leak (a = 1), instantaneous input ``x`` (T,)."""
    T = len(x)
    X = np.asarray(x, np.float64).reshape(T, 1, 1)
    Z, V, I, VPRE = (np.zeros((T, 1, 1)) for _ in range(4))
    one, zero = np.ones(1), np.zeros(1)
    layer_forward(X, np.zeros((1, 1, 1)), np.zeros((1, 1)), np.zeros((1, 1)), np.zeros((1, 1)),
                  one, zero, zero, zero, zero, np.full(1, vth), np.full(1, vreset),
                  False, False, True, False, True, subtract, Z, V, I, VPRE, 0, 1)
    return Z[:, 0, 0], V[:, 0, 0]


def test_training_layer_threshold_is_strict_and_subtracts_th_minus_reset():
    # step 0: v = 1.0 (= v_th, no spike); step 1: v = 1.0 + 0.25 = 1.25 > 1, spike,
    # subtract 1 - (-0.5) = 1.5 -> -0.25; step 2: -0.25 + 0 = -0.25
    z, v = _layer([1.0, 0.25, 0.0], vth=1.0, vreset=-0.5, subtract=True)
    assert z.tolist() == [0.0, 1.0, 0.0]
    assert v.tolist() == [1.0, -0.25, -0.25]
    z, v = _layer([1.0, 0.25, 0.0], vth=1.0, vreset=-0.5, subtract=False)
    assert z.tolist() == [0.0, 1.0, 0.0]
    assert v.tolist() == [1.0, -0.5, -0.5]


def _loihi_step(v, u, a, dv, du, bias, vth):
    """One fixed-point Loihi step of one neuron; returns (v', u', spiked)."""
    coef = np.zeros(N_ROWS)
    coef[A], coef[DS], coef[DRIVE], coef[VTH] = dv, du, bias, vth
    v, u, inbox, flags = (np.array([x], np.float64) for x in (v, u, a, 0))
    flags = np.zeros(1, np.bool_)
    loihi_fixed_update(0, 1, v, u, inbox, coef, flags)
    assert inbox[0] == 0
    return v[0], u[0], bool(flags[0])


def test_loihi_decay_truncates_toward_zero_for_negative_values():
    # dv = 2048 keeps half: -3 * 2048 / 4096 = -1.5 -> -1 (toward zero; floor would give -2)
    # du = 2047: keep 4096 - 2047 - 1 = 2048: -5 -> -2.5 -> -2
    v, u, _ = _loihi_step(-3, -5, 0, dv=2048, du=2047, bias=0, vth=1 << 20)
    assert u == -2
    assert v == -1 + -2
    v, u, _ = _loihi_step(3, 5, 0, dv=2048, du=2047, bias=0, vth=1 << 20)
    assert (v, u) == (1 + 2, 2)


def test_loihi_input_is_shifted_by_6_and_bias_added():
    # u = 0 + (3 << 6) = 192; v = 0 + 192 + 7 = 199; 199 > 198 fires, 199 > 199 does not
    assert _loihi_step(0, 0, 3, dv=0, du=4095, bias=7, vth=198) == (199, 192, True)
    assert _loihi_step(0, 0, 3, dv=0, du=4095, bias=7, vth=199) == (199, 192, False)


def test_loihi_u_wraps_and_v_saturates_at_24_bits():
    # u = (2**23 - 64) kept whole (du = -1 -> keep 4096), plus 2 << 6 = 128: 2**23 + 64 > 2**23
    # wraps to 2**23 + 64 - 2**24 = -(2**23) + 64
    top = 1 << 23
    v, u, _ = _loihi_step(0, top - 64, 2, dv=0, du=-1, bias=0, vth=1 << 30)
    assert u == -top + 64
    assert v == -top + 64
    # negative side: -(2**23) + 64 - 128 = -(2**23) - 64 <= -(2**23): + 2**24 -> 2**23 - 64
    v, u, _ = _loihi_step(0, -top + 64, -2, dv=0, du=-1, bias=0, vth=1 << 30)
    assert u == top - 64
    # v saturates: (2**23 - 10) kept whole + u 0 + bias 100 -> clipped to 2**23 - 1
    v, u, _ = _loihi_step(top - 10, 0, 0, dv=0, du=4095, bias=100, vth=1 << 30)
    assert v == top - 1
    v, u, _ = _loihi_step(-top + 10, 0, 0, dv=0, du=4095, bias=-100, vth=1 << 30)
    assert v == -top + 1


def test_bias_quantisation_rounds_to_nearest_with_smallest_exponent():
    # 4095 fits exponent 0; 4095.6 rounds to 4096 > 4095, so exponent 1: 4095.6/2 = 2047.8 -> 2048
    # -4095.4 -> -4095 at exponent 0 (rounded, not truncated: truncation would give the same,
    # so also check 10.6 -> 11 and -10.6 -> -11); 100000 / 2**5 = 3125 (2**4: 6250 too big)
    mant, exp = _quantize_bias(np.array([4095.0, 4095.6, -4095.4, 10.6, -10.6, 100000.0]))
    assert mant.tolist() == [4095, 2048, -4095, 11, -11, 3125]
    assert exp.tolist() == [0, 1, 0, 0, 0, 5]
    # beyond 4095 << 7 there is no register for it
    assert _quantize_bias(np.array([4095.6 * 128])) is None
