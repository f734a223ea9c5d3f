"""Inputs: spike sources and synaptic delivery, Poisson sources, injected currents.

Semantics under test (the engine's documented rules): step n advances time from n*dt
to (n+1)*dt; a spike emitted at time t with delay d arrives at t + d and is added at
the end of the step ending then, before that step's threshold test; injected
currents of step n hold over [n*dt, (n+1)*dt]. Expected values are computed here by
hand or in closed form.
"""

import math

import numpy as np
import pytest

from snnsim import IF, LIF, CobaLIF, CubaLIF, Network, OneToOne, Sparse, simulate

DT = 1e-4
TAU = 20e-3


def steps(t):
    return int(round(t / DT))


# ----------------------------------------------------------------------------- spike-source delivery

def test_spike_source_delivery_time_and_decay():
    w, t_spike, delay = 0.3, 1.0e-3, 1.5e-3
    net = Network(dt=DT)
    net.add_spike_source("s", 1, [t_spike], [0])
    net.add_population("p", 1, LIF(tau_mem=TAU, v_th=1e9))
    net.connect("s", "p", OneToOne(), weight=w, delay=delay)
    net.probe_state("p", "v", every=1)
    res = simulate(net, 6e-3, arithmetic="float64")
    tr = res.traces["p.v"]
    v = tr.values[:, 0]
    np.testing.assert_allclose(tr.times, np.arange(61) * DT, rtol=0, atol=1e-15)
    k = steps(t_spike + delay)  # 25: t = 2.5 ms
    assert k == 25
    np.testing.assert_array_equal(v[:k], 0.0)   # nothing before 2.5 ms
    assert v[k] == w                             # exactly w at 2.5 ms
    m = np.arange(len(v) - k)
    np.testing.assert_allclose(v[k:], w * np.exp(-m * DT / TAU), rtol=1e-12, atol=0)
    # step by step, the decay factor is exp(-dt / tau)
    np.testing.assert_allclose(v[k + 1:] / v[k:-1], math.exp(-DT / TAU), rtol=1e-12)


def test_spike_source_into_cuba_lif_jumps_i_syn():
    w, t_spike, delay, tau_syn, r = 2.0, 1.0e-3, 1.5e-3, 5e-3, 0.5
    net = Network(dt=DT)
    net.add_spike_source("s", 1, [t_spike], [0])
    net.add_population("p", 1, CubaLIF(tau_mem=TAU, tau_syn=tau_syn, r=r, v_th=1e9))
    net.connect("s", "p", OneToOne(), weight=w, delay=delay)
    net.probe_state("p", "i_syn", name="i")
    net.probe_state("p", "v", name="v")
    res = simulate(net, 10e-3, arithmetic="float64")
    i_syn = res.traces["i"].values[:, 0]
    v = res.traces["v"].values[:, 0]
    k = steps(t_spike + delay)
    np.testing.assert_array_equal(i_syn[:k], 0.0)
    assert i_syn[k] == w
    s = np.arange(len(i_syn) - k) * DT  # time since arrival
    np.testing.assert_allclose(i_syn[k:], w * np.exp(-s / tau_syn), rtol=1e-12)
    # v: 0 until the current has acted; then the closed form of tau dv/dt = -v + r i
    np.testing.assert_array_equal(v[:k + 1], 0.0)
    closed = r * w * tau_syn / (tau_syn - TAU) * (np.exp(-s / tau_syn) - np.exp(-s / TAU))
    np.testing.assert_allclose(v[k:], closed, rtol=1e-9, atol=1e-15)


def test_spike_source_time_zero_arrives_after_one_step():
    w = 0.25
    net = Network(dt=DT)
    net.add_spike_source("s", 2, [0.0, 0.0], [0, 1])
    net.add_population("p", 2, LIF(tau_mem=TAU, v_th=1e9))
    net.connect("s", "p", Sparse([0, 1], [0, 1]), weight=w, delay=[DT, 3 * DT])
    net.probe_state("p", "v")
    net.probe_spikes("s")
    res = simulate(net, 1e-3, arithmetic="float64")
    v = res.traces["p.v"].values
    assert v[0, 0] == 0.0 and v[1, 0] == w  # delay of one step: arrives at t = dt
    np.testing.assert_array_equal(v[:3, 1], 0.0)
    assert v[3, 1] == w  # three steps: at t = 3 dt
    np.testing.assert_array_equal(res.spikes["s"].times, [0.0, 0.0])
    assert res.spike_counts["s"] == 2


def test_spike_source_times_round_to_nearest_step():
    net = Network(dt=DT)
    times = [1.04e-3, 1.06e-3, 2.0e-3, 2.049e-3]
    net.add_spike_source("s", 4, times, [0, 1, 2, 3])
    net.add_population("p", 4, LIF(tau_mem=TAU, v_th=1e9))
    net.connect("s", "p", OneToOne(), weight=0.5, delay=DT)
    net.probe_spikes("s")
    net.probe_state("p", "v")
    res = simulate(net, 4e-3, arithmetic="float64")
    sp = res.spikes["s"]
    order = np.argsort(sp.indices)
    np.testing.assert_allclose(sp.times[order], [1.0e-3, 1.1e-3, 2.0e-3, 2.0e-3], rtol=0, atol=1e-12)
    v = res.traces["p.v"].values
    for j, t in enumerate([1.0e-3, 1.1e-3, 2.0e-3, 2.0e-3]):
        k = steps(t) + 1
        assert v[k - 1, j] == 0.0 and v[k, j] == 0.5


def test_input_dropped_while_refractory():
    """A LIF spike resets v and holds it for t_ref; instantaneous input arriving then is lost."""
    t_ref = 2e-3
    net = Network(dt=DT)
    # 1.5 at 1.0 ms -> arrives 1.1 ms and fires; 0.4 arriving at 2.0 ms (refractory) is dropped;
    # 0.4 arriving at 3.5 ms (after the refractory period) is added.
    net.add_spike_source("s", 1, [1.0e-3, 1.9e-3, 3.4e-3], [0, 0, 0])
    net.add_population("p", 1, LIF(tau_mem=TAU, t_ref=t_ref, v_reset=0.0))
    net.connect("s", "p", OneToOne(), weight=[1.5], delay=DT)
    net.add_spike_source("s2", 1, [1.9e-3, 3.4e-3], [0, 0])
    net.connect("s2", "p", OneToOne(), weight=-1.1, delay=DT)  # cancels the 1.5 jumps that follow
    net.probe_state("p", "v")
    net.probe_spikes("p")
    res = simulate(net, 5e-3, arithmetic="float64")
    v = res.traces["p.v"].values[:, 0]
    np.testing.assert_allclose(res.spikes["p"].times, [1.1e-3], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(v[steps(1.1e-3):steps(3.1e-3) + 1], 0.0)  # reset and held
    k = steps(3.5e-3)
    assert v[k - 1] == 0.0
    assert v[k] == pytest.approx(1.5 - 1.1, abs=1e-15)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_chain_source_to_a_to_b(dtype):
    """source -> A -> B, with a direct source -> B path; spike times worked out by hand.

    a = exp(-dt/tau) = exp(-0.005) per step.
    A gets 0.6 at 2.5 ms and 2.8 ms (source at 1.0, 1.3 ms + 1.5 ms):
      v(2.5) = 0.6;  v(2.8) = 0.6 a^3 + 0.6 = 1.1911 > 1  ->  A fires at 2.8 ms.
    B gets 0.5 at 4.0 and 4.3 ms (source + 3.0 ms) and 0.05 at 4.8 ms (A + 2.0 ms):
      v(4.3) = 0.5 a^3 + 0.5 = 0.99256 (< 1, no spike);
      v(4.8) = 0.99256 a^5 + 0.05 = 1.01805 > 1  ->  B fires at 4.8 ms.
    Without A's input B would not fire (0.99256 a^k only decays).
    """
    a = math.exp(-DT / TAU)
    assert 0.6 * a ** 3 + 0.6 > 1.0 + 0.1
    vb = 0.5 * a ** 3 + 0.5
    assert vb < 1.0 - 5e-3 and vb * a ** 5 + 0.05 > 1.0 + 1e-2
    net = Network(dt=DT)
    net.add_spike_source("src", 1, [1.0e-3, 1.3e-3], [0, 0])
    net.add_population("A", 1, LIF(tau_mem=TAU, t_ref=1e-3))
    net.add_population("B", 1, LIF(tau_mem=TAU, t_ref=1e-3))
    net.connect("src", "A", OneToOne(), weight=0.6, delay=1.5e-3)
    net.connect("src", "B", OneToOne(), weight=0.5, delay=3.0e-3)
    net.connect("A", "B", OneToOne(), weight=0.05, delay=2.0e-3)
    for name in ("src", "A", "B"):
        net.probe_spikes(name)
    res = simulate(net, 10e-3, arithmetic=dtype)
    np.testing.assert_allclose(res.spikes["src"].times, [1.0e-3, 1.3e-3], rtol=0, atol=1e-12)
    np.testing.assert_allclose(res.spikes["A"].times, [2.8e-3], rtol=0, atol=1e-12)
    np.testing.assert_allclose(res.spikes["B"].times, [4.8e-3], rtol=0, atol=1e-12)
    assert res.spike_counts == {"A": 1, "B": 1, "src": 2}

    # and without the A -> B synapse, B stays silent
    net2 = Network(dt=DT)
    net2.add_spike_source("src", 1, [1.0e-3, 1.3e-3], [0, 0])
    net2.add_population("B", 1, LIF(tau_mem=TAU))
    net2.connect("src", "B", OneToOne(), weight=0.5, delay=3.0e-3)
    net2.probe_spikes("B")
    assert len(simulate(net2, 10e-3, arithmetic=dtype).spikes["B"]) == 0


def test_threshold_is_strict_and_tested_after_input():
    """v == v_th does not fire (``>``); the input of a step counts in that step's threshold test."""
    net = Network(dt=DT)
    net.add_spike_source("s", 2, [1e-3, 1e-3], [0, 1])
    net.add_population("p", 2, LIF(tau_mem=TAU, v_th=0.5))
    net.connect("s", "p", Sparse([0, 1], [0, 1]), weight=[0.5, 0.5 + 1e-9], delay=DT)
    net.probe_spikes("p")
    res = simulate(net, 3e-3, arithmetic="float64")
    np.testing.assert_array_equal(res.spikes["p"].indices, [1])
    np.testing.assert_allclose(res.spikes["p"].times, [1.1e-3], rtol=0, atol=1e-12)


# ----------------------------------------------------------------------------- Poisson sources

def _poisson_run(n, rate, duration, rate_dt=None, seed=0):
    net = Network(dt=DT, seed=seed)
    net.add_population("dummy", 1, LIF())
    net.add_poisson("q", n, rate, rate_dt=rate_dt)
    net.probe_spikes("q")
    return simulate(net, duration)


def test_poisson_count_and_independence():
    n, rate, duration = 2000, 50.0, 2.0
    lam = rate * DT   # Poisson(lam) spikes per neuron and step
    n_steps = steps(duration)
    res = _poisson_run(n, rate, duration, seed=4)
    sp = res.spikes["q"]
    total = len(sp)
    mean, sd = n * n_steps * lam, math.sqrt(n * n_steps * lam)
    assert abs(total - mean) < 5 * sd, (total, mean, sd)
    assert res.spike_counts["q"] == total == res.counters["source_spikes"]
    # spikes lie on the grid, strictly after t = 0; a neuron fires c times in a step with P = Poisson pmf
    k = np.rint(sp.times / DT).astype(np.int64)
    np.testing.assert_allclose(sp.times, k * DT, rtol=0, atol=1e-12)
    assert k.min() >= 1 and k.max() <= n_steps
    _, per_pair = np.unique(k * n + sp.indices, return_counts=True)
    cells = n * n_steps
    p_multi = 1 - math.exp(-lam) * (1 + lam)   # P(c >= 2)
    assert abs((per_pair >= 2).sum() - cells * p_multi) < 5 * math.sqrt(cells * p_multi)
    # per-neuron counts ~ Poisson(n_steps lam): Fano factor 1
    counts = np.bincount(sp.indices, minlength=n)
    assert abs(counts.var(ddof=1) / counts.mean() - 1) < 5 * math.sqrt(2 / n)
    # per-step totals ~ Poisson(n lam): dispersion 1, no correlation between steps
    per_step = np.bincount(k - 1, minlength=n_steps).astype(float)
    assert abs(per_step.var(ddof=1) / per_step.mean() - 1) < 5 * math.sqrt(2 / n_steps) + 0.01
    x = per_step - per_step.mean()
    for lag in (1, 2, 10):
        rho = (x[:-lag] * x[lag:]).mean() / x.var()
        assert abs(rho) < 5 / math.sqrt(n_steps), (lag, rho)
    # no correlation between neurons within a step (even vs odd neurons)
    even = np.bincount(k[sp.indices % 2 == 0] - 1, minlength=n_steps).astype(float)
    odd = np.bincount(k[sp.indices % 2 == 1] - 1, minlength=n_steps).astype(float)
    assert abs(np.corrcoef(even, odd)[0, 1]) < 5 / math.sqrt(n_steps)
    # the steps a neuron fires in are geometric apart: P(fire) q = 1 - exp(-lam), mean 1/q, CV sqrt(1 - q)
    q = 1 - math.exp(-lam)
    isi = np.concatenate([np.diff(np.unique(np.rint(tr / DT))) for tr in sp.trains()])
    assert abs(isi.mean() * q - 1) < 0.02
    assert abs(isi.std() / isi.mean() - math.sqrt(1 - q)) < 0.02


def test_poisson_rate_one_per_step_and_zero():
    res = _poisson_run(3, [1.0 / DT, 0.0, 0.5 / DT], 5e-3)
    counts = res.spikes["q"].counts()
    assert counts[1] == 0  # rate 0 never fires; rate 1/dt: Poisson(1) per step, 50 steps
    assert abs(counts[0] - 50) < 5 * math.sqrt(50) and abs(counts[2] - 25) < 5 * math.sqrt(25)


def test_poisson_time_varying_rate():
    n, rate_dt, duration = 1000, 50e-3, 300e-3
    sps = steps(rate_dt)
    net = Network(dt=DT, seed=9)
    net.add_population("dummy", 1, LIF())
    net.add_poisson("on_last", n, [0.0, 100.0, 0.0, 100.0], rate_dt=rate_dt)   # last sample holds: 100 Hz
    net.add_poisson("off_last", n, [100.0, 0.0, 100.0, 0.0], rate_dt=rate_dt)  # last sample holds: silent
    net.probe_spikes("on_last")
    net.probe_spikes("off_last")
    res = simulate(net, duration)
    n_windows = steps(duration) // sps
    p = 100.0 * DT
    mean, sd = n * sps * p, math.sqrt(n * sps * p * (1 - p))
    active = {"on_last": {1, 3, 4, 5}, "off_last": {0, 2}}
    for name, on in active.items():
        # a spike at time (n+1) dt was drawn in step n, which belongs to sample n // sps
        step = np.rint(res.spikes[name].times / DT).astype(np.int64) - 1
        per_window = np.bincount(step // sps, minlength=n_windows)
        assert len(per_window) == n_windows
        for w in range(n_windows):
            if w in on:
                assert abs(per_window[w] - mean) < 5 * sd, (name, w, per_window[w], mean)
            else:
                assert per_window[w] == 0, (name, w, per_window[w])


def test_poisson_per_neuron_time_series():
    rates = np.array([[0.0, 2000.0], [2000.0, 0.0]])  # (n_samples, size): ~20 spikes per sample
    res = _poisson_run(2, rates, 20e-3, rate_dt=10e-3)
    sp = res.spikes["q"]
    step = np.rint(sp.times / DT).astype(np.int64) - 1
    assert ((sp.indices == 0) == (step >= 100)).all()  # neuron 0 only in the second sample
    assert (sp.indices == 0).sum() > 0 and (sp.indices == 1).sum() > 0


# ----------------------------------------------------------------------------- injected currents

def lif_current_closed_form(t, v0, v_leak, r, tau, jumps):
    """v(t) of tau dv/dt = v_leak - v + r I(t) with I piecewise constant: ``jumps`` = [(t_k, dI_k)]."""
    v = v_leak + (v0 - v_leak) * np.exp(-t / tau)
    for tk, di in jumps:
        s = np.maximum(t - tk, 0.0)
        v = v + r * di * -np.expm1(-s / tau)
    return v


@pytest.mark.parametrize("r,every", [(1.0, 1), (2.5, 7)])
def test_constant_current_lif(r, every):
    v_leak, amp, duration = -0.065, 0.04, 30e-3
    net = Network(dt=DT)
    net.add_population("p", 2, LIF(tau_mem=TAU, v_leak=v_leak, r=r, v_th=1e9))
    net.add_current("i", "p", amp)
    net.probe_state("p", "v", every=every)
    res = simulate(net, duration, arithmetic="float64")
    tr = res.traces["p.v"]
    n_samples = steps(duration) // every + 1
    np.testing.assert_allclose(tr.times, np.arange(n_samples) * every * DT, rtol=0, atol=1e-15)
    expected = v_leak + r * amp * (1 - np.exp(-tr.times / TAU))
    np.testing.assert_allclose(tr.values, np.repeat(expected[:, None], 2, axis=1), rtol=1e-9)


def test_constant_current_if_and_cuba():
    amp, tau, r = 0.3, 10e-3, 2.0
    net = Network(dt=DT)
    net.add_population("if", 1, IF(tau_mem=tau, r=r, v_th=1e9))
    net.add_population("cuba", 1, CubaLIF(tau_mem=tau, tau_syn=3e-3, v_leak=0.01, r=r, v_th=1e9))
    net.add_current("i1", "if", amp)
    net.add_current("i2", "cuba", amp)
    net.probe_state("if", "v")
    net.probe_state("cuba", "v")
    net.probe_state("cuba", "i_syn")
    res = simulate(net, 10e-3, arithmetic="float64")
    t = res.traces["if.v"].times
    # IF: tau dv/dt = r I  ->  v = r I t / tau
    np.testing.assert_allclose(res.traces["if.v"].values[:, 0], r * amp * t / tau, rtol=1e-9, atol=1e-15)
    # injected current drives v directly (it does not pass through i_syn)
    np.testing.assert_allclose(res.traces["cuba.v"].values[:, 0],
                               lif_current_closed_form(t, 0.01, 0.01, r, tau, [(0.0, amp)]), rtol=1e-9)
    np.testing.assert_array_equal(res.traces["cuba.i_syn"].values, 0.0)


def test_step_current_time_series():
    v_leak, amp, r = -0.07, 0.05, 1.0
    net = Network(dt=DT)
    net.add_population("p", 1, LIF(tau_mem=TAU, v_leak=v_leak, r=r, v_th=1e9))
    net.add_current("i", "p", [0, 0, 0, 0, 0, amp], sample_dt=1e-3)  # I from t = 5 ms, held after the end
    net.probe_state("p", "v")
    res = simulate(net, 20e-3, arithmetic="float64")
    t = res.traces["p.v"].times
    v = res.traces["p.v"].values[:, 0]
    k5 = steps(5e-3)
    np.testing.assert_allclose(v[:k5 + 1], v_leak, rtol=1e-12)  # up to and including t = 5 ms
    assert v[k5 + 1] > v_leak + 1e-6
    expected = v_leak + r * amp * (1 - np.exp(-(t[k5:] - 5e-3) / TAU))
    np.testing.assert_allclose(v[k5:], expected, rtol=1e-9)


def test_time_series_holds_each_sample_and_the_last():
    v_leak, r, sample_dt = 0.0, 1.0, 3e-3
    samples = [0.2, -0.1, 0.05]
    net = Network(dt=DT)
    net.add_population("p", 1, LIF(tau_mem=TAU, v_leak=v_leak, r=r, v_th=1e9))
    net.add_current("i", "p", samples, sample_dt=sample_dt)
    net.probe_state("p", "v", every=3)
    res = simulate(net, 15e-3, arithmetic="float64")
    t = res.traces["p.v"].times
    jumps = [(k * sample_dt, samples[k] - (samples[k - 1] if k else 0.0)) for k in range(len(samples))]
    np.testing.assert_allclose(res.traces["p.v"].values[:, 0],
                               lif_current_closed_form(t, 0.0, v_leak, r, TAU, jumps), rtol=1e-9, atol=1e-15)


def test_two_currents_add():
    v_leak, r, i1, i2 = -0.06, 1.5, 0.02, 0.03
    net = Network(dt=DT)
    net.add_population("p", 3, LIF(tau_mem=TAU, v_leak=v_leak, r=r, v_th=1e9))
    net.add_population("other", 2, LIF(tau_mem=TAU, v_leak=v_leak, r=r, v_th=1e9))
    net.add_current("const", "p", i1)
    net.add_current("step", "p", [0.0, 0.0, i2], sample_dt=2e-3)  # from 4 ms
    net.probe_state("p", "v")
    net.probe_state("other", "v")
    res = simulate(net, 12e-3, arithmetic="float64")
    t = res.traces["p.v"].times
    expected = lif_current_closed_form(t, v_leak, v_leak, r, TAU, [(0.0, i1), (4e-3, i2)])
    np.testing.assert_allclose(res.traces["p.v"].values, np.repeat(expected[:, None], 3, axis=1), rtol=1e-9)
    np.testing.assert_allclose(res.traces["other.v"].values, v_leak, rtol=1e-12)  # untouched


def test_per_neuron_current_amplitudes():
    amps = np.array([0.0, 0.01, -0.02])
    series = np.array([[0.01, 0.0, 0.02], [0.0, 0.03, 0.0]])  # (n_samples, size)
    net = Network(dt=DT)
    net.add_population("p", 3, LIF(tau_mem=TAU, v_th=1e9))
    net.add_current("c", "p", amps)
    net.add_current("s", "p", series, sample_dt=5e-3)
    net.probe_state("p", "v")
    res = simulate(net, 12e-3, arithmetic="float64")
    t = res.traces["p.v"].times
    for j in range(3):
        jumps = [(0.0, amps[j] + series[0, j]), (5e-3, series[1, j] - series[0, j])]
        np.testing.assert_allclose(res.traces["p.v"].values[:, j],
                                   lif_current_closed_form(t, 0.0, 0.0, 1.0, TAU, jumps), rtol=1e-9, atol=1e-15)


def test_current_drives_regular_firing():
    """Constant suprathreshold current: v = rI (1 - a^n) after each reset; first crossing by hand."""
    amp = 1.5  # r I = 1.5 > v_th = 1
    a = math.exp(-DT / TAU)
    n_star = next(n for n in range(1, 10 ** 5) if amp * (1 - a ** n) > 1.0)
    assert abs(amp * (1 - a ** n_star) - 1.0) > 1e-4 and abs(amp * (1 - a ** (n_star - 1)) - 1.0) > 1e-4
    net = Network(dt=DT)
    net.add_population("p", 1, LIF(tau_mem=TAU))
    net.add_current("i", "p", amp)
    net.probe_spikes("p")
    res = simulate(net, 100e-3, arithmetic="float64")
    n_spikes = steps(100e-3) // n_star
    np.testing.assert_allclose(res.spikes["p"].times, np.arange(1, n_spikes + 1) * n_star * DT, rtol=0, atol=1e-12)


def test_poisson_spikes_are_delivered_after_their_delay():
    """Rate 1/dt: the source fires Poisson(1) times at every t = k dt, k >= 1; with one step of
    delay the c spikes of t_k add c w to v at t_(k+1) (first input at t = 2 dt)."""
    w, tau = 0.01, 1e3
    net = Network(dt=DT)
    net.add_poisson("q", 1, 1.0 / DT)
    net.add_population("p", 1, LIF(tau_mem=tau, v_th=1e9))
    net.connect("q", "p", OneToOne(), weight=w, delay=DT)
    net.probe_state("p", "v")
    net.probe_spikes("q")
    res = simulate(net, 1e-3, arithmetic="float64")
    v = res.traces["p.v"].values[:, 0]
    c = np.bincount(np.rint(res.spikes["q"].times / DT).astype(np.int64), minlength=len(v))
    assert c[0] == 0 and c.max() >= 2   # counts above one occur (P(c >= 2) = 0.26 per step)
    a = math.exp(-DT / tau)
    expected = [0.0, 0.0]
    for k in range(2, len(v)):
        expected.append(a * expected[-1] + c[k - 1] * w)
    np.testing.assert_allclose(v, expected, rtol=1e-12, atol=0)
    assert v[1] == 0.0 and v[2] == c[1] * w


def test_spike_into_if_and_coba():
    w, t_spike, delay = 0.2, 0.5e-3, 0.7e-3
    net = Network(dt=DT)
    net.add_spike_source("s", 1, [t_spike], [0])
    net.add_population("if", 1, IF(v_th=1e9))
    net.add_population("coba", 1, CobaLIF(tau_exc=5e-3, tau_inh=8e-3, v_th=1e9))
    net.connect("s", "if", OneToOne(), weight=w, delay=delay)
    net.connect("s", "coba", OneToOne(), weight=w, delay=delay, target="exc")
    net.connect("s", "coba", OneToOne(), weight=2 * w, delay=delay + DT, target="inh", name="inh")
    net.probe_state("if", "v")
    net.probe_state("coba", "g_exc")
    net.probe_state("coba", "g_inh")
    res = simulate(net, 5e-3, arithmetic="float64")
    k = steps(t_spike + delay)
    v_if = res.traces["if.v"].values[:, 0]
    np.testing.assert_array_equal(v_if[:k], 0.0)
    np.testing.assert_array_equal(v_if[k:], w)  # IF: no leak, the jump stays
    for name, tau, w_, k_ in (("coba.g_exc", 5e-3, w, k), ("coba.g_inh", 8e-3, 2 * w, k + 1)):
        g = res.traces[name].values[:, 0]
        np.testing.assert_array_equal(g[:k_], 0.0)
        assert g[k_] == w_
        m = np.arange(len(g) - k_)
        np.testing.assert_allclose(g[k_:], w_ * np.exp(-m * DT / tau), rtol=1e-12)


def test_constant_current_coba_exact_and_lif_euler():
    """CobaLIF with no conductance: exponential Euler is exact, v = v_leak + rI (1 - e^{-t/tau}).
    LIF with forward Euler: v_n = v_leak + rI (1 - (1 - dt/tau)^n), the recursion solved by hand."""
    v_leak, amp, r = -0.06, 0.005, 2.0
    net = Network(dt=DT)
    net.add_population("coba", 2, CobaLIF(tau_mem=TAU, v_leak=v_leak, r=r, v_th=1e9, t_ref=0.0))
    net.add_current("i", "coba", amp)
    net.probe_state("coba", "v")
    res = simulate(net, 10e-3, arithmetic="float64")
    t = res.traces["coba.v"].times
    np.testing.assert_allclose(res.traces["coba.v"].values[:, 0], v_leak + r * amp * (1 - np.exp(-t / TAU)),
                               rtol=1e-9)

    net = Network(dt=DT, integration="euler")
    net.add_population("lif", 1, LIF(tau_mem=TAU, v_leak=v_leak, r=r, v_th=1e9))
    net.add_current("i", "lif", amp)
    net.probe_state("lif", "v")
    res = simulate(net, 10e-3, arithmetic="float64")
    n = np.arange(len(res.traces["lif.v"].times))
    np.testing.assert_allclose(res.traces["lif.v"].values[:, 0], v_leak + r * amp * (1 - (1 - DT / TAU) ** n),
                               rtol=1e-9)
