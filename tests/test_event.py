"""The event-driven engine against closed forms written out here, and against the clock engine as dt -> 0.

Spike times are continuous: a neuron under constant drive fires at the analytic
crossing time, a spike arrives exactly ``delay`` after it was sent, and a jump
of ``v`` above threshold fires at its arrival (docs/engines.md).
"""

import json
import math

import numpy as np
import pytest
from scipy.optimize import brentq

import snnsim
from reference import uniform as reference_uniform
from snnsim import IF, LI, LIF, CobaLIF, CubaLIF, FixedInDegree, Network, OneToOne, Sparse, Uniform
from snnsim.backends import event as event_backend
from snnsim.kernels import event as ke
from snnsim.cli import main
from snnsim.errors import NetworkError

DT = 1e-4
EXACT = 1e-12  # s: spike times agree to rounding


def run(net, duration, **kw):
    return snnsim.simulate(net, duration, backend="event", **kw)


def single(model, duration, initial=None, every=1, sources=None):
    net = Network(dt=DT)
    pop = net.add_population("p", 1, model, initial=initial or {})
    net.probe_spikes(pop)
    for var in model.state_variables:
        net.probe_state(pop, var, every=every)
    if sources:
        sources(net, pop)
    return run(net, duration)


# ------------------------------------------------------------------ constant drive
@pytest.mark.parametrize("reset", ["value", "subtract"])
@pytest.mark.parametrize("t_ref", [0.0, 2.5e-3])
def test_lif_constant_current_fires_at_analytic_times(reset, t_ref):
    tau, drive, theta, v_reset, v0 = 20e-3, 1.37, 1.0, -0.2, 0.1
    res = single(LIF(tau_mem=tau, i_bias=drive, v_th=theta, v_reset=v_reset, t_ref=t_ref, reset=reset), 0.3,
                 initial={"v": v0})
    first = tau * math.log((drive - v0) / (drive - theta))
    period = tau * math.log((drive - v_reset) / (drive - theta)) + t_ref
    expected = first + period * np.arange(100)
    expected = expected[expected <= 0.3]
    assert len(expected) >= 8
    np.testing.assert_allclose(res.spikes["p"].times, expected, rtol=0, atol=EXACT)


def test_lif_refractory_period_holds_v_at_reset():
    tau, drive, t_ref = 10e-3, 2.0, 4e-3
    res = single(LIF(tau_mem=tau, i_bias=drive, v_reset=0.25, t_ref=t_ref), 0.05)
    t_spike = res.spikes["p"].times[0]
    assert t_spike == pytest.approx(tau * math.log(2.0), abs=EXACT)
    tr = res.traces["p.v"]
    held = (tr.times > t_spike) & (tr.times <= t_spike + t_ref)
    assert held.sum() == 40
    np.testing.assert_array_equal(tr.values[held, 0], 0.25)
    after = (tr.times > t_spike + t_ref) & (tr.times < res.spikes["p"].times[1])
    s = tr.times[after] - (t_spike + t_ref)
    np.testing.assert_allclose(tr.values[after, 0], drive + (0.25 - drive) * np.exp(-s / tau), rtol=1e-12)


@pytest.mark.parametrize("reset", ["value", "subtract"])
def test_if_constant_current_fires_at_analytic_times(reset):
    tau, r, i, theta, t_ref = 10e-3, 2.0, 0.37, 1.0, 1e-3
    res = single(IF(tau_mem=tau, r=r, i_bias=i, v_th=theta, v_reset=-0.1, t_ref=t_ref, reset=reset), 0.2)
    slope = r * i / tau  # an IF starts at v_reset = -0.1
    expected = 1.1 / slope + (1.1 / slope + t_ref) * np.arange(50)
    np.testing.assert_allclose(res.spikes["p"].times, expected[expected <= 0.2], rtol=0, atol=EXACT)


def test_analytic_time_to_threshold_many_drives():
    tau, theta = 10e-3, 1.0
    drives = np.linspace(1.001, 4.0, 200)
    net = Network(dt=DT)
    pop = net.add_population("p", len(drives), LIF(tau_mem=tau, i_bias=drives, t_ref=1.0))
    net.probe_spikes(pop)
    sp = run(net, 0.2).spikes["p"]
    first = np.full(len(drives), np.inf)
    np.minimum.at(first, sp.indices, sp.times)
    expected = tau * np.log(drives / (drives - theta))
    assert np.isfinite(expected).all() and (expected < 0.2).all()
    np.testing.assert_allclose(first, expected, rtol=1e-13)


# ------------------------------------------------------------------ CubaLIF: bracketed crossing
def cuba_v(t, v0, i0, tau_m, tau_s, r, v_inf):
    """v(t) of a CubaLIF from (v0, i0) at 0, written out independently of the engine."""
    return (v_inf + (v0 - v_inf) * np.exp(-t / tau_m)
            + r * i0 * tau_s / (tau_s - tau_m) * (np.exp(-t / tau_s) - np.exp(-t / tau_m)))


def first_crossing(f, t_max, n=200001):
    """First t in [0, t_max] with f(t) > 0: a dense scan, then brentq on the first sign change."""
    t = np.linspace(0, t_max, n)
    above = np.flatnonzero(f(t) > 0)
    if len(above) == 0:
        return math.inf
    k = above[0]
    return brentq(f, t[k - 1], t[k], xtol=1e-16, rtol=1e-15)


@pytest.mark.parametrize("case", [
    # (v0, i0, i_bias): the current carries v over threshold, then the drive could not have
    dict(v0=0.0, i0=30.0, bias=0.5, tau_s=5e-3),
    # a tiny excursion above threshold: only a bracketing search finds it
    dict(v0=0.0, i0="graze", bias=0.2, tau_s=5e-3),
    # an inhibitory current first pulls v down, the suprathreshold drive wins later
    dict(v0=0.5, i0=-40.0, bias=1.3, tau_s=5e-3),
    # drive alone above threshold, excitatory current speeds it up
    dict(v0=-0.3, i0=3.0, bias=1.2, tau_s=30e-3),
    # time constants equal, and nearly equal (the closed form above cancels badly: ODE solver instead)
    dict(v0=0.0, i0=12.0, bias=0.1, tau_s=10e-3),
    dict(v0=0.0, i0=12.0, bias=0.1, tau_s=10e-3 * (1 + 1e-9)),
], ids=["current-driven", "grazing", "inhibited-then-drive", "slow-synapse", "equal-taus", "nearly-equal-taus"])
def test_cuba_first_crossing_matches_independent_root(case):
    tau_m, r, theta = 10e-3, 1.0, 1.0
    tau_s = case["tau_s"]
    i0 = case["i0"]
    v_inf = case["bias"] * r
    if i0 == "graze":
        # the peak of v(t) from (0, i0) lies 1e-9 V above threshold
        f_peak = lambda i: -min(0, -np.max(cuba_v(np.linspace(0, 0.05, 200001), 0.0, i, tau_m, tau_s, r, v_inf)))  # noqa
        i0 = brentq(lambda i: f_peak(i) - (theta + 1e-9), 1.0, 100.0, xtol=1e-14)
    res = single(CubaLIF(tau_mem=tau_m, tau_syn=tau_s, r=r, i_bias=case["bias"], v_th=theta, t_ref=1.0), 0.1,
                 initial={"v": case["v0"], "i_syn": i0})
    if tau_s == tau_m:
        v_of = lambda t: v_inf + (case["v0"] - v_inf + r * i0 * t / tau_m) * np.exp(-t / tau_m)  # noqa: E731
        expected = first_crossing(lambda t: v_of(t) - theta, 0.1)
    elif abs(tau_s - tau_m) < 1e-6 * tau_m:
        expected = ode_crossing(case["v0"], i0, tau_m, tau_s, r, v_inf, theta)
    else:
        expected = first_crossing(lambda t: cuba_v(t, case["v0"], i0, tau_m, tau_s, r, v_inf) - theta, 0.1)
    assert math.isfinite(expected)
    assert len(res.spikes["p"]) == 1
    assert res.spikes["p"].times[0] == pytest.approx(expected, abs=1e-11)


def ode_crossing(v0, i0, tau_m, tau_s, r, v_inf, theta):
    """The first crossing of the CubaLIF equations integrated by scipy (DOP853, tight tolerances)."""
    from scipy.integrate import solve_ivp

    def rhs(_, y):
        return [(v_inf - y[0] + r * y[1]) / tau_m, -y[1] / tau_s]
    crossing = lambda _, y: y[0] - theta  # noqa: E731
    crossing.terminal, crossing.direction = True, 1
    sol = solve_ivp(rhs, (0, 0.1), [v0, i0], method="DOP853", rtol=1e-13, atol=1e-14, events=crossing)
    return float(sol.t_events[0][0])


def test_cuba_peak_just_below_threshold_never_fires():
    tau_m, tau_s = 10e-3, 5e-3
    t = np.linspace(0, 0.05, 200001)
    peak_of = lambda i: np.max(cuba_v(t, 0.0, i, tau_m, tau_s, 1.0, 0.2))  # noqa: E731
    i0 = brentq(lambda i: peak_of(i) - (1.0 - 1e-9), 1.0, 100.0, xtol=1e-14)
    res = single(CubaLIF(tau_mem=tau_m, tau_syn=tau_s, i_bias=0.2), 0.1, initial={"i_syn": i0})
    assert len(res.spikes["p"]) == 0
    assert 0.99 < res.traces["p.v"].values.max() < 1.0


def test_cuba_probe_follows_closed_form_and_refractory_keeps_current():
    tau_m, tau_s, r, t_ref, w = 10e-3, 3e-3, 1.5, 5e-3, 4.0

    def sources(net, pop):
        src = net.add_spike_source("s", 1, times=[1.2345e-3, 9.0e-3])  # the second arrives while refractory
        net.connect(src, pop, OneToOne(), weight=w, delay=0.5e-3)

    res = single(CubaLIF(tau_mem=tau_m, tau_syn=tau_s, r=r, v_th=1.0, t_ref=t_ref), 0.03, sources=sources)
    t_in = 1.2345e-3 + 0.5e-3
    t_spike = t_in + first_crossing(lambda s: cuba_v(s, 0.0, w, tau_m, tau_s, r, 0.0) - 1.0, 0.02)
    np.testing.assert_allclose(res.spikes["p"].times, [t_spike], atol=1e-11)
    i_tr = res.traces["p.i_syn"]
    t = i_tr.times
    expected_i = np.where(t >= t_in, w * np.exp(-(t - t_in) / tau_s), 0.0) + \
        np.where(t >= 9.5e-3, w * np.exp(-(t - 9.5e-3) / tau_s), 0.0)
    np.testing.assert_allclose(i_tr.values[:, 0], expected_i, rtol=1e-12, atol=1e-300)
    v = res.traces["p.v"].values[:, 0]
    before = t < t_spike
    np.testing.assert_allclose(v[before], cuba_v(np.clip(t[before] - t_in, 0, None), 0.0, w if True else 0, tau_m,
                                                 tau_s, r, 0.0) * (t[before] >= t_in), rtol=1e-11, atol=1e-15)
    held = (t > t_spike) & (t <= t_spike + t_ref)
    np.testing.assert_array_equal(v[held], 0.0)


# ------------------------------------------------------------------ delays, chains, jumps
def test_chain_with_continuous_delays_fires_at_sums_of_delays():
    """A source spike at t0 relayed by a chain of neurons, each fired by one jump."""
    t0, delays = 1.1e-3, [0.73e-3, 1.234567e-3, 2.5e-3, 0.31e-3]
    net = Network(dt=DT)
    net.add_spike_source("s", 1, times=[t0])
    names = []
    for k, d in enumerate(delays):
        name = f"n{k}"
        net.add_population(name, 1, LIF(tau_mem=15e-3, v_th=1.0))
        net.connect(names[-1] if names else "s", name, OneToOne(), weight=1.5, delay=d)
        net.probe_spikes(name)
        names.append(name)
    res = run(net, 0.02)
    for k, name in enumerate(names):
        assert res.spikes[name].times.tolist() == [pytest.approx(t0 + sum(delays[:k + 1]), abs=EXACT)]


def test_jump_fires_at_arrival_and_subtract_keeps_the_excess():
    def sources(net, pop):
        src = net.add_spike_source("s", 1, times=[2e-3, 4e-3])
        net.connect(src, pop, OneToOne(), weight=0.7, delay=0.37e-3)

    res = single(LIF(tau_mem=1e9, v_th=1.0, v_reset=0.0, reset="subtract"), 0.01, initial={"v": 0.5},
                 sources=sources)
    # 0.5 + 0.7 > 1 at 2.37 ms -> spike, v = 0.2; + 0.7 = 0.9 at 4.37 ms: no spike
    np.testing.assert_allclose(res.spikes["p"].times, [2.37e-3], atol=EXACT)
    tr = res.traces["p.v"]
    assert tr.values[tr.times.searchsorted(3e-3), 0] == pytest.approx(0.2, abs=1e-9)
    assert tr.values[-1, 0] == pytest.approx(0.9, abs=1e-9)


def test_inputs_at_the_same_time_are_summed_before_the_threshold():
    def sources(net, pop):
        exc = net.add_spike_source("exc", 1, times=[1e-3])
        inh = net.add_spike_source("inh", 1, times=[1.5e-3])
        net.connect(exc, pop, OneToOne(), weight=0.8, delay=1.0e-3)
        net.connect(inh, pop, OneToOne(), weight=-0.8, delay=0.5e-3)  # arrives at 2 ms too

    res = single(LIF(tau_mem=1e9), 0.01, initial={"v": 0.5}, sources=sources)
    assert len(res.spikes["p"]) == 0


def test_input_during_refractory_period_is_dropped():
    t_ref = 3e-3

    def sources(net, pop):
        src = net.add_spike_source("s", 1, times=[1e-3, 2e-3, 5e-3])
        net.connect(src, pop, OneToOne(), weight=0.6, delay=1e-3)

    res = single(LIF(tau_mem=1e9, t_ref=t_ref), 0.01, initial={"v": 0.5}, sources=sources)
    # 2 ms: 1.1 -> spike, refractory until 5 ms; 3 ms: dropped; 6 ms: v = 0.6
    np.testing.assert_allclose(res.spikes["p"].times, [2e-3], atol=EXACT)
    tr = res.traces["p.v"]
    assert tr.values[tr.times.searchsorted(4e-3), 0] == 0.0
    assert tr.values[-1, 0] == pytest.approx(0.6, rel=1e-9)


def test_per_synapse_delays_deliver_each_synapse_at_its_own_time():
    delays = np.array([3.3e-3, 0.5e-3, 1.7e-3, 0.5e-3, 2.25e-3])
    net = Network(dt=DT)
    net.add_spike_source("s", 1, times=[1e-3])
    pop = net.add_population("p", 5, LIF(tau_mem=1e9))
    net.connect("s", pop, Sparse([0] * 5, list(range(5))), weight=1.5, delay=delays)
    net.probe_spikes(pop)
    sp = run(net, 0.01).spikes["p"]
    np.testing.assert_array_equal(np.sort(sp.indices), np.arange(5))
    np.testing.assert_allclose(sp.times[np.argsort(sp.indices)], 1e-3 + delays, atol=EXACT)
    assert np.all(np.diff(sp.times) >= 0)


# ------------------------------------------------------------------ sources
def test_poisson_spikes_are_the_documented_exponential_intervals():
    rate, n, duration, seed = 40.0, 5, 2.0, 11
    net = Network(dt=DT, seed=seed)
    net.add_poisson("noise", n, rate=rate)
    net.add_population("p", 1, LIF())
    net.probe_spikes("noise")
    sp = run(net, duration).spikes["noise"]
    for i in range(n):
        expected, t, k = [], 0.0, 0
        while True:
            u = reference_uniform(seed, "noise", k, np.array([i]))[0]
            t += -math.log1p(-u) / rate
            k += 1
            if t > duration:
                break
            expected.append(t)
        np.testing.assert_allclose(sp.times[sp.indices == i], expected, rtol=1e-14)


def test_poisson_statistics_and_piecewise_rate():
    net = Network(dt=DT, seed=4)
    net.add_poisson("src", 2000, rate=[50.0, 0.0, 200.0], rate_dt=0.1)
    net.add_population("p", 1, LIF())
    net.probe_spikes("src")
    sp = run(net, 0.4).spikes["src"]
    t = sp.times
    assert not ((t > 0.1) & (t < 0.2)).any()
    n1, n3 = ((t <= 0.1)).sum(), ((t >= 0.2)).sum()
    assert n1 == pytest.approx(2000 * 50 * 0.1, rel=0.05)
    assert n3 == pytest.approx(2000 * 200 * 0.2, rel=0.03)
    # memoryless: the wait from 0.2 s to each neuron's first spike is Exp(200 Hz) (Kolmogorov-Smirnov)
    from scipy.stats import kstest
    late = t >= 0.2
    first = np.full(2000, np.inf)
    np.minimum.at(first, sp.indices[late], t[late])
    assert kstest(first - 0.2, "expon", args=(0, 1 / 200.0)).pvalue > 1e-3


def test_poisson_intervals_are_exponential():
    from scipy.stats import kstest
    net = Network(dt=DT, seed=9)
    net.add_poisson("src", 1, rate=50.0)
    net.add_population("p", 1, LIF())
    net.probe_spikes("src")
    t = run(net, 400.0).spikes["src"].times
    assert len(t) == pytest.approx(20000, rel=0.03)
    assert kstest(np.diff(t), "expon", args=(0, 1 / 50.0)).pvalue > 1e-3


def test_poisson_input_drives_v_by_exact_jumps():
    tau, w, d = 20e-3, 0.01, 1.5e-3
    net = Network(dt=DT, seed=2)
    net.add_poisson("in", 3, rate=300.0)
    pop = net.add_population("p", 1, LIF(tau_mem=tau, v_th=1e9))
    net.connect("in", pop, snnsim.AllToAll(), weight=w, delay=d)
    net.probe_spikes("in")
    net.probe_state(pop, "v", every=7)
    res = run(net, 0.1)
    arrivals = res.spikes["in"].times + d
    tr = res.traces["p.v"]
    expected = [(w * np.exp(-(t - arrivals[arrivals <= t]) / tau)).sum() for t in tr.times]
    np.testing.assert_allclose(tr.values[:, 0], expected, rtol=1e-11, atol=1e-15)
    np.testing.assert_allclose(tr.times, np.arange(len(tr.times)) * 7 * DT, rtol=1e-12)


def test_spike_source_exact_times_and_duplicates():
    net = Network(dt=DT)
    net.add_spike_source("s", 2, times=[0.0, 1.23456789e-3, 1.23456789e-3, 3e-3], indices=[0, 1, 1, 0])
    net.add_population("p", 2, LIF(tau_mem=1e9, v_th=100.0))
    net.connect("s", "p", OneToOne(), weight=0.25, delay=1e-3)
    net.probe_spikes("s")
    net.probe_state("p", "v")
    res = run(net, 0.01)
    np.testing.assert_array_equal(res.spikes["s"].times, [0.0, 1.23456789e-3, 1.23456789e-3, 3e-3])
    np.testing.assert_array_equal(res.spikes["s"].indices, [0, 1, 1, 0])
    np.testing.assert_allclose(res.traces["p.v"].values[-1], [0.5, 0.5], rtol=1e-9)


# ------------------------------------------------------------------ readout, runs, errors
def test_li_readout_closed_form_and_never_spikes():
    tau_m, tau_s, i0 = 8e-3, 2e-3, 50.0
    res = single(LI(tau_mem=tau_m, tau_syn=tau_s), 0.03, initial={"i_syn": i0})
    t = res.traces["p.v"].times
    expected = cuba_v(t, 0.0, i0, tau_m, tau_s, 1.0, 0.0)
    np.testing.assert_allclose(res.traces["p.v"].values[:, 0], expected, rtol=1e-11, atol=1e-15)
    assert res.spike_counts["p"] == 0 and expected.max() > 1.0


def test_continued_runs_equal_one_run():
    def build():
        net = Network(dt=DT, seed=7)
        bias = np.linspace(0.9, 1.3, 200)
        pop = net.add_population("p", 200, CubaLIF(i_bias=bias, t_ref=1e-3))
        net.add_poisson("noise", 50, rate=100.0)
        net.connect("noise", pop, FixedInDegree(5), weight=0.5, delay=Uniform(0.5e-3, 2e-3))
        net.connect(pop, pop, FixedInDegree(10), weight=Uniform(-0.3, 0.3), delay=Uniform(1e-3, 3e-3))
        net.probe_spikes(pop)
        net.probe_state(pop, "v", neurons=[0, 5], every=10)
        return net

    whole = run(build(), 0.2)
    sim = event_backend.Simulator(build())
    first, second = sim.run(0.1), sim.run(0.1)
    assert len(whole.spikes["p"]) > 100
    np.testing.assert_array_equal(np.concatenate([first.spikes["p"].times, second.spikes["p"].times]),
                                  whole.spikes["p"].times)
    np.testing.assert_array_equal(np.concatenate([first.spikes["p"].indices, second.spikes["p"].indices]),
                                  whole.spikes["p"].indices)
    # a continued run samples after where the last one ended: (0.1, 0.2] on the global grid
    np.testing.assert_array_equal(second.traces["p.v"].values, whole.traces["p.v"].values[101:])
    np.testing.assert_array_equal(sim.results().traces["p.v"].values, whole.traces["p.v"].values)
    assert second.t_start == pytest.approx(0.1)
    # the state after the runs equals the last samples of the probe
    state = sim.state()["p"]
    np.testing.assert_allclose(state["v"][[0, 5]], second.traces["p.v"].values[-1], rtol=1e-12)
    assert set(state) == {"v", "i_syn"} and np.isfinite(state["i_syn"]).all()
    # and the same network + seed gives the same spikes again
    np.testing.assert_array_equal(run(build(), 0.2).spikes["p"].times, whole.spikes["p"].times)


def test_window_length_does_not_change_the_result():
    """Windows shrink while they hold more deliveries than their budget (for cache locality); any
    window no longer than the shortest delay must give the same spikes and states. A budget of 4
    deliveries forces many short windows, and mixed models and sources take every path: single
    deliveries, several per target, synaptic currents, IF, refractoriness, subtractive reset."""
    def build():
        net = Network(dt=DT, seed=11)
        rng = np.random.default_rng(11)
        lif = net.add_population("lif", 150, LIF(tau_mem=15e-3, t_ref=1e-3, i_bias=rng.uniform(0.8, 1.2, 150)))
        cuba = net.add_population("cuba", 60, CubaLIF(reset="subtract", i_bias=rng.uniform(0.5, 1.4, 60)))
        integ = net.add_population("if", 20, IF(i_bias=0.6))
        net.add_poisson("noise", 40, rate=200.0)
        net.connect("noise", lif, FixedInDegree(8), weight=0.08, delay=Uniform(0.5e-3, 1.5e-3))
        net.connect(lif, lif, FixedInDegree(20), weight=Uniform(-0.1, 0.12), delay=Uniform(0.6e-3, 2e-3))
        net.connect(lif, cuba, FixedInDegree(10), weight=Uniform(-0.5, 0.8), delay=Uniform(0.7e-3, 1.2e-3))
        net.connect(cuba, integ, FixedInDegree(5), weight=0.05, delay=Uniform(0.5e-3, 0.9e-3))
        for pop in (lif, cuba, integ):
            net.probe_spikes(pop)
        net.probe_state(cuba, "i_syn", neurons=[0, 1, 2], every=50)
        return net

    results = []
    for budget in (None, 4):
        sim = event_backend.Simulator(build())
        if budget is not None:
            sim.clock[ke.CLOCK_BUDGET] = budget
        results.append(sim.run(0.15))
    wide, narrow = results
    assert narrow.engine_counters["windows"] > 3 * wide.engine_counters["windows"]
    for name in ("lif", "cuba", "if"):
        assert len(wide.spikes[name]) > 20
        np.testing.assert_array_equal(narrow.spikes[name].indices, wide.spikes[name].indices)
        np.testing.assert_allclose(narrow.spikes[name].times, wide.spikes[name].times, rtol=0, atol=1e-12)
    np.testing.assert_allclose(narrow.traces["cuba.i_syn"].values, wide.traces["cuba.i_syn"].values,
                               rtol=1e-12, atol=1e-15)


def test_matches_clock_engine_state_on_a_quiet_network():
    """Subthreshold dynamics with inputs on the grid: both engines are exact, so v agrees to rounding."""
    net = Network(dt=DT, seed=1)
    net.add_spike_source("s", 4, times=np.arange(1, 40) * 5e-4, indices=np.arange(39) % 4)
    pop = net.add_population("p", 3, CubaLIF(tau_mem=12e-3, tau_syn=4e-3, v_th=1e3, i_bias=0.3))
    net.connect("s", pop, snnsim.AllToAll(), weight=Uniform(-1, 1), delay=1e-3)
    net.probe_state(pop, "v")
    net.probe_state(pop, "i_syn")
    ev, cl = run(net, 0.03), snnsim.simulate(net, 0.03, arithmetic="float64")
    # a sample that falls on an arrival time (to rounding) may see it or not: leave those out
    t = ev.traces["p.v"].times
    arrivals = np.arange(1, 40) * 5e-4 + 1e-3
    clear = np.abs(t[:, None] - arrivals[None, :]).min(axis=1) > 1e-9
    assert clear.sum() > 200
    for name in ("p.v", "p.i_syn"):
        np.testing.assert_allclose(ev.traces[name].values[clear], cl.traces[name].values[clear], rtol=1e-9,
                                   atol=1e-12)


def test_unsupported_models_and_inputs_are_clear_errors():
    net = Network(dt=DT)
    net.add_population("coba", 3, CobaLIF())
    with pytest.raises(NetworkError, match=r"population 'coba': model: the event engine does not support CobaLIF "
                                           r"\(conductance synapses.*engines that do: \['cpu'\]"):
        run(net, 0.01)
    net = Network(dt=DT)
    net.add_population("p", 3, LIF())
    net.add_current("wave", "p", [0.1, 0.2], sample_dt=1e-3)
    with pytest.raises(NetworkError, match=r"current 'wave': sample_dt: the event engine does not support "
                                           r"time-series injected currents.*engines that do: \['cpu', 'torch'\]"):
        run(net, 0.01)
    net = Network(dt=DT)
    net.add_population("p", 3, LIF())
    with pytest.raises(NetworkError, match=r"run: integration: the event engine does not support "
                                           r"integration='euler'.*closed form.*engines that do: \['cpu', 'torch'\]"):
        run(net, 0.01, integration="euler")
    with pytest.raises(NetworkError, match=r"event engine: arithmetic: the event engine computes in \('float64',\)"):
        run(net, 0.01, arithmetic="float32")
    with pytest.raises(NetworkError, match=r"run: duration"):
        run(net, -1.0)


def test_constant_injected_current_joins_the_bias():
    net = Network(dt=DT)
    net.add_population("p", 2, LIF(tau_mem=10e-3, i_bias=[0.5, 2.0]))
    net.add_current("dc", "p", 1.0)
    net.probe_spikes("p")
    sp = run(net, 0.011).spikes["p"]
    # drives 1.5 and 3 V: first crossings tau ln 3 and tau ln 1.5 (then every tau ln 1.5)
    np.testing.assert_allclose(sp.times, [10e-3 * math.log(1.5), 20e-3 * math.log(1.5), 10e-3 * math.log(3.0)],
                               atol=EXACT)
    np.testing.assert_array_equal(sp.indices, [1, 1, 0])


def test_cli_runs_the_event_backend(tmp_path, capsys):
    script = tmp_path / "net.py"
    script.write_text("import snnsim\nnetwork = snnsim.Network(dt=1e-4)\n"
                      "network.add_population('p', 4, snnsim.LIF(tau_mem=10e-3, i_bias=2.0))\n"
                      "network.probe_spikes('p')\n")
    assert main(["run", str(script), "--backend", "event", "--duration", "0.05", "--raster", "", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert figures["backend"] == "event"
    assert figures["spikes"] == 4 * 7  # period 10 ms ln 2 = 6.93 ms: 7 spikes each in 50 ms


# ------------------------------------------------------------------ convergence of the clock engine
def convergence_network(n=1000, seed=5):
    """Random, weakly coupled and excitatory: not chaotic, so spike trains can be matched one to one."""
    net = Network(dt=DT, seed=seed)
    bias = np.random.default_rng(seed).uniform(1.05, 1.6, n)
    pop = net.add_population("p", n, LIF(tau_mem=20e-3, i_bias=bias, t_ref=2e-3))
    net.connect(pop, pop, FixedInDegree(20), weight=Uniform(0.0, 0.004), delay=Uniform(1e-3, 2e-3))
    net.probe_spikes(pop)
    return net


def spike_time_error(reference, other, n):
    """Mean |t - t_ref| over neurons whose spike counts agree (spikes matched in order),
    and the fraction of neurons whose counts differ."""
    ref_trains, trains = reference.trains(), other.trains()
    errors, mismatched = [], 0
    for i in range(n):
        if len(ref_trains[i]) != len(trains[i]):
            mismatched += 1
            continue
        errors.append(np.abs(ref_trains[i] - trains[i]))
    return float(np.concatenate(errors).mean()), mismatched / n


def test_clock_engine_converges_to_event_engine_first_order():
    net = convergence_network()
    duration = 0.2
    exact = run(net, duration).spikes["p"]
    assert len(exact) > 2000
    errors, mismatch = [], []
    for dt in (1e-3, 1e-4, 1e-5):
        clock = snnsim.simulate(net, duration, dt=dt, arithmetic="float64").spikes["p"]
        err, frac = spike_time_error(exact, clock, net.n_neurons)
        errors.append(err)
        mismatch.append(frac)
    orders = np.log10(np.array(errors[:-1]) / np.array(errors[1:]))
    print("clock vs event: dt 1, 0.1, 0.01 ms -> mean |dt_spike| (s)", errors, "order", orders,
          "mismatched neurons", mismatch)
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 5e-5 and mismatch[2] < 0.01  # measured: about 2 dt
    assert orders.min() > 0.7  # first order: the grid rounds each spike up to the next step


def test_clock_engine_converges_on_a_driven_cuba_network_with_refractoriness():
    """CubaLIF (bracketed crossings), heavy input, refractoriness: the same spike-time input (times drawn
    once by the event engine's Poisson source) into both engines; the clock's error falls ~10x per decade."""
    src_net = Network(dt=DT, seed=2)
    src_net.add_poisson("in", 20, rate=100.0)
    src_net.add_population("x", 1, LIF())
    src_net.probe_spikes("in")
    drawn = run(src_net, 0.2).spikes["in"]
    net = Network(dt=DT, seed=2)
    net.add_spike_source("in", 20, times=drawn.times, indices=drawn.indices)
    net.add_population("p", 50, CubaLIF(tau_mem=10e-3, tau_syn=5e-3, t_ref=2e-3))
    net.connect("in", "p", snnsim.FixedProbability(0.3), weight=2.0, delay=Uniform(1e-3, 2e-3))
    net.probe_spikes("p")
    exact = run(net, 0.2).spikes["p"]
    assert len(exact) > 1000
    errors = []
    for dt in (1e-4, 1e-5, 1e-6):
        err, mismatched = spike_time_error(exact, snnsim.simulate(net, 0.2, dt=dt, arithmetic="float64").spikes["p"], 50)
        errors.append(err)
    assert mismatched == 0
    assert errors[0] > 3 * errors[1] > 9 * errors[2]
