"""Golden trajectories: every model x scheme against closed forms written out here.

``exact`` is checked against the continuous-time solution; ``euler`` against the
closed form of the forward-Euler recurrence (v_n = ... (1 - dt/tau)^n ...).
Spike times are the first grid point at which v > v_th (docs/models.md).
All in float64, to 1e-9 relative or better.
"""

import math

import numpy as np
import pytest
from scipy.integrate import solve_ivp

import snnsim
from snnsim import CobaLIF, CubaLIF, IF, LI, LIF, Network

DT = 1e-4
RTOL = 1e-9


def run(model, duration, initial=None, dt=DT, integration="exact", n=1, variables=None, sources=None):
    net = Network(dt=dt, integration=integration)
    pop = net.add_population("p", n, model, initial=initial or {})
    net.probe_spikes(pop)
    for var in variables or model.state_variables:
        net.probe_state(pop, var)
    if sources:
        sources(net, pop)
    res = snnsim.simulate(net, duration, arithmetic="float64")
    traces = {name.split(".")[1]: tr for name, tr in res.traces.items()}
    return res, traces


def first_step_above(v_of_step, threshold, start=1, limit=10**6):
    """Smallest k >= start with v_of_step(k) > threshold (closed form evaluated on the grid)."""
    k = start
    while v_of_step(k) <= threshold:
        k += 1
        assert k < limit
    return k


# ----------------------------------------------------------------- free decay
@pytest.mark.parametrize("scheme", ["exact", "euler"])
@pytest.mark.parametrize("make", [
    lambda: LIF(tau_mem=12e-3, v_leak=-0.07, v_th=10.0, v_reset=-0.07),
    lambda: CubaLIF(tau_mem=12e-3, tau_syn=4e-3, v_leak=-0.07, v_th=10.0, v_reset=-0.07),
    lambda: LI(tau_mem=12e-3, v_leak=-0.07),
    lambda: CobaLIF(tau_mem=12e-3, v_leak=-0.07, v_th=10.0, v_reset=-0.07, t_ref=0.0),
], ids=["LIF", "CubaLIF", "LI", "CobaLIF"])
def test_free_exponential_decay(make, scheme):
    model = make()
    v0 = 0.31
    _, tr = run(model, 0.05, initial={"v": v0}, integration=scheme)
    t = tr["v"].times
    n = np.arange(len(t))
    if scheme == "exact":
        expected = -0.07 + (v0 + 0.07) * np.exp(-t / 12e-3)
    else:
        expected = -0.07 + (v0 + 0.07) * (1 - DT / 12e-3) ** n
    np.testing.assert_allclose(tr["v"].values[:, 0], expected, rtol=RTOL)


# ------------------------------------------------------- response to a current
@pytest.mark.parametrize("scheme", ["exact", "euler"])
def test_lif_current_step_response(scheme):
    tau, r, i = 15e-3, 2e6, 3e-8   # R*I = 60 mV
    model = LIF(tau_mem=tau, v_leak=-0.065, v_th=1.0, v_reset=-0.065, r=r, i_bias=i)
    _, tr = run(model, 0.08, integration=scheme)
    t = tr["v"].times
    h = DT / tau
    growth = 1 - np.exp(-t / tau) if scheme == "exact" else 1 - (1 - h) ** np.arange(len(t))
    np.testing.assert_allclose(tr["v"].values[:, 0], -0.065 + r * i * growth, rtol=RTOL)


@pytest.mark.parametrize("scheme", ["exact", "euler"])
def test_if_integrates_linearly(scheme):
    tau, r, i = 10e-3, 1.0, 0.25
    _, tr = run(IF(tau_mem=tau, v_th=100.0, v_reset=0.0, r=r, i_bias=i), 0.03, initial={"v": -0.2},
                integration=scheme)
    t = tr["v"].times
    np.testing.assert_allclose(tr["v"].values[:, 0], -0.2 + t * r * i / tau, rtol=RTOL, atol=1e-15)


@pytest.mark.parametrize("scheme", ["exact", "euler"])
@pytest.mark.parametrize("equal_taus", [False, True])
def test_cuba_synaptic_current_kernel(scheme, equal_taus):
    tau_m, tau_s, r, i0 = 10e-3, (10e-3 if equal_taus else 3e-3), 1.5, 0.8
    model = CubaLIF(tau_mem=tau_m, tau_syn=tau_s, v_leak=0.0, v_th=100.0, v_reset=0.0, r=r)
    _, tr = run(model, 0.06, initial={"i_syn": i0}, integration=scheme)
    t = tr["v"].times
    n = np.arange(len(t))
    if scheme == "exact":
        i_expected = i0 * np.exp(-t / tau_s)
        if equal_taus:
            v_expected = r * i0 * (t / tau_m) * np.exp(-t / tau_m)
        else:
            v_expected = r * i0 * tau_s / (tau_s - tau_m) * (np.exp(-t / tau_s) - np.exp(-t / tau_m))
    else:
        h, q = DT / tau_m, 1 - DT / tau_s
        i_expected = i0 * q ** n
        if equal_taus:  # (1 - h) == q: the sum becomes n (1-h)^(n-1)
            v_expected = h * r * i0 * n * (1 - h) ** np.maximum(n - 1, 0)
        else:
            v_expected = h * r * i0 * ((1 - h) ** n - q ** n) / ((1 - h) - q)
    np.testing.assert_allclose(tr["i_syn"].values[:, 0], i_expected, rtol=RTOL)
    np.testing.assert_allclose(tr["v"].values[1:, 0], v_expected[1:], rtol=1e-8)


@pytest.mark.parametrize("scheme", ["exact", "euler"])
def test_li_readout_with_synaptic_current_never_spikes(scheme):
    tau_m, tau_s, i0 = 8e-3, 2e-3, 50.0
    _, tr = run(LI(tau_mem=tau_m, tau_syn=tau_s), 0.03, initial={"i_syn": i0}, integration=scheme)
    t = tr["v"].times
    if scheme == "exact":
        expected = i0 * tau_s / (tau_s - tau_m) * (np.exp(-t / tau_s) - np.exp(-t / tau_m))
    else:
        h, q, n = DT / tau_m, 1 - DT / tau_s, np.arange(len(t))
        expected = h * i0 * ((1 - h) ** n - q ** n) / ((1 - h) - q)
    np.testing.assert_allclose(tr["v"].values[1:, 0], expected[1:], rtol=1e-8)
    assert tr["v"].values.max() > 1.0  # far above any threshold, yet an LI never fires


# ------------------------------------------- spike times, reset, refractoriness
def lif_spike_steps(v0, drive, theta, v_reset, tau, ref_steps, n_steps, scheme, subtract):
    """Spike steps of a LIF under constant drive R*I, from its closed form on the grid."""
    h = DT / tau
    steps, start, v_start = [], 0, v0
    while True:
        def v_at(k, v_start=v_start, start=start):
            m = k - start
            decay = math.exp(-m * DT / tau) if scheme == "exact" else (1 - h) ** m
            return drive + (v_start - drive) * decay
        k = first_step_above(v_at, theta, start + 1)
        if k > n_steps:
            return steps
        steps.append(k)
        v_after = v_at(k) - (theta - v_reset) if subtract else v_reset
        start, v_start = k + ref_steps, v_after


@pytest.mark.parametrize("scheme", ["exact", "euler"])
@pytest.mark.parametrize("reset", ["value", "subtract"])
@pytest.mark.parametrize("t_ref", [0.0, 2e-3])
def test_lif_spike_times_reset_and_refractoriness(scheme, reset, t_ref):
    tau, drive, theta = 20e-3, 1.37, 1.0
    model = LIF(tau_mem=tau, v_th=theta, v_reset=0.0, i_bias=drive, t_ref=t_ref, reset=reset)
    res, tr = run(model, 0.2, integration=scheme)
    ref_steps = round(t_ref / DT)
    steps = lif_spike_steps(0.0, drive, theta, 0.0, tau, ref_steps, 2000, scheme, reset == "subtract")
    assert len(steps) >= 5
    np.testing.assert_array_equal(res.spikes["p"].times, np.array(steps) * DT)
    v = tr["v"].values[:, 0]
    for k in steps[:3]:
        held = v[k:k + ref_steps + 1]  # reset value held for t_ref
        assert np.all(held == held[0])
        if reset == "value":
            assert held[0] == 0.0
        if ref_steps:
            assert v[k + ref_steps + 1] != held[0]


@pytest.mark.parametrize("scheme", ["exact", "euler"])
def test_analytic_time_to_threshold(scheme):
    """Many neurons, many drives: first spike is the first grid point after tau ln(RI / (RI - theta))."""
    tau, theta = 10e-3, 1.0
    drives = np.linspace(1.05, 4.0, 40)
    model = CubaLIF(tau_mem=tau, tau_syn=5e-3, v_th=theta, v_reset=0.0, i_bias=drives, t_ref=1.0)
    res, _ = run(model, 0.05, n=len(drives), integration=scheme, variables=["v"])
    first = np.full(len(drives), np.inf)
    sp = res.spikes["p"]
    np.minimum.at(first, sp.indices, sp.times)
    for j, d in enumerate(drives):
        if scheme == "exact":
            t_star = tau * math.log(d / (d - theta))
            k = math.floor(t_star / DT) + 1
        else:
            k = math.floor(math.log(1 - theta / d) / math.log(1 - DT / tau)) + 1
        assert first[j] == pytest.approx(k * DT, abs=DT * 1e-6), j


@pytest.mark.parametrize("scheme", ["exact", "euler"])
@pytest.mark.parametrize("reset", ["value", "subtract"])
def test_if_spike_times(scheme, reset):
    tau, rate, theta = 10e-3, 0.37, 1.0  # dv/dt = 37 V/s
    res, _ = run(IF(tau_mem=tau, v_th=theta, v_reset=0.0, i_bias=rate, t_ref=1e-3, reset=reset), 0.2,
                 integration=scheme)
    slope = DT * rate / tau
    steps, k, v = [], 0, 0.0
    while True:  # closed form of a ramp with resets, 10 steps held after each spike
        m = math.floor((theta - v) / slope) + 1
        k += m
        if k > 2000:
            break
        steps.append(k)
        v = (v + m * slope - theta) if reset == "subtract" else 0.0
        k += 10
    np.testing.assert_array_equal(res.spikes["p"].times, np.array(steps) * DT)


# --------------------------------------------------------- synaptic delivery
def test_cuba_kick_from_delayed_spike():
    """A source spike at 1 ms with delay 0.5 ms jumps i_syn by w at 1.5 ms; v follows the kernel."""
    tau_m, tau_s, w = 10e-3, 3e-3, 0.9

    def sources(net, pop):
        src = net.add_spike_source("s", 1, times=[1e-3])
        net.connect(src, pop, snnsim.OneToOne(), weight=w, delay=0.5e-3)

    _, tr = run(CubaLIF(tau_mem=tau_m, tau_syn=tau_s, v_th=100.0), 0.02, sources=sources)
    t = tr["v"].times
    s = np.clip(t - 1.5e-3, 0, None)
    np.testing.assert_array_equal(tr["i_syn"].values[t < 1.5e-3 - 1e-9, 0], 0.0)
    np.testing.assert_allclose(tr["i_syn"].values[t > 1.5e-3 - 1e-9, 0], (w * np.exp(-s / tau_s))[t > 1.5e-3 - 1e-9],
                               rtol=RTOL)
    v_expected = w * tau_s / (tau_s - tau_m) * (np.exp(-s / tau_s) - np.exp(-s / tau_m))
    np.testing.assert_allclose(tr["v"].values[:, 0], v_expected, rtol=1e-8, atol=1e-15)


def test_lif_instantaneous_synapse_jump_and_threshold_same_step():
    """A delta input that lifts v over threshold fires at its arrival time."""
    def sources(net, pop):
        src = net.add_spike_source("s", 1, times=[2e-3, 4e-3])
        net.connect(src, pop, snnsim.OneToOne(), weight=0.6, delay=1e-3)

    res, tr = run(LIF(tau_mem=1e9, v_th=1.0, v_reset=0.0), 0.01, initial={"v": 0.5}, sources=sources)
    # first arrival (3 ms): 0.5 + 0.6 > 1 -> spike at 3 ms, reset to 0; second (5 ms): 0.6, no spike
    np.testing.assert_allclose(res.spikes["p"].times, [3e-3])
    v = tr["v"].values[:, 0]
    assert v[29] == pytest.approx(0.5, rel=1e-9) and v[30] == 0.0 and v[50] == pytest.approx(0.6, rel=1e-9)


# ------------------------------------------------------------ conductances
@pytest.mark.parametrize("scheme", ["exact", "euler"])
def test_coba_conductances_decay(scheme):
    tau_e, tau_i = 5e-3, 10e-3
    model = CobaLIF(tau_exc=tau_e, tau_inh=tau_i, v_th=10.0, v_reset=-0.06)
    _, tr = run(model, 0.04, initial={"g_exc": 0.7, "g_inh": 1.3}, integration=scheme)
    t = tr["v"].times
    n = np.arange(len(t))
    if scheme == "exact":
        ge, gi = 0.7 * np.exp(-t / tau_e), 1.3 * np.exp(-t / tau_i)
    else:
        ge, gi = 0.7 * (1 - DT / tau_e) ** n, 1.3 * (1 - DT / tau_i) ** n
    np.testing.assert_allclose(tr["g_exc"].values[:, 0], ge, rtol=RTOL)
    np.testing.assert_allclose(tr["g_inh"].values[:, 0], gi, rtol=RTOL)


def coba_reference(t_end, v0, ge0, gi0, p):
    """The CobaLIF equations solved by scipy (Radau, tight tolerances)."""
    def rhs(_, y):
        v, ge, gi = y
        return [((p["v_leak"] - v) + ge * (p["e_exc"] - v) + gi * (p["e_inh"] - v) + p["drive"]) / p["tau_mem"],
                -ge / p["tau_exc"], -gi / p["tau_inh"]]
    sol = solve_ivp(rhs, (0, t_end), [v0, ge0, gi0], method="Radau", rtol=1e-12, atol=1e-15, dense_output=True)
    return sol.sol


@pytest.mark.parametrize("scheme", ["exact", "euler"])
def test_coba_membrane_converges_to_ode_solution_first_order(scheme):
    p = dict(tau_mem=20e-3, tau_exc=5e-3, tau_inh=10e-3, e_exc=0.0, e_inh=-0.08, v_leak=-0.06, drive=0.005)
    model = CobaLIF(tau_mem=p["tau_mem"], tau_exc=p["tau_exc"], tau_inh=p["tau_inh"], e_exc=p["e_exc"],
                    e_inh=p["e_inh"], v_leak=p["v_leak"], v_th=10.0, v_reset=-0.06, i_bias=p["drive"], t_ref=0.0)
    sol = coba_reference(0.03, -0.065, 2.0, 1.0, p)
    errors = []
    for dt in (2e-4, 1e-4, 5e-5):
        _, tr = run(model, 0.03, initial={"v": -0.065, "g_exc": 2.0, "g_inh": 1.0}, dt=dt, integration=scheme,
                    variables=["v"])
        errors.append(np.abs(tr["v"].values[:, 0] - sol(tr["v"].times)[0]).max())
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert errors[-1] < 1e-4  # 0.1 mV at dt = 50 us
    np.testing.assert_allclose(orders, 1.0, atol=0.15)  # first order in dt, as documented


def test_exact_scheme_is_exact_for_linear_models_at_any_dt():
    """The exact scheme gives the same v at t = 10 ms whatever the step."""
    model = CubaLIF(tau_mem=7e-3, tau_syn=2e-3, v_leak=0.1, v_th=100.0, r=2.0, i_bias=0.3)
    t_end = 10e-3
    tm, ts, r = 7e-3, 2e-3, 2.0
    expected = 0.1 + r * 0.3 * (1 - math.exp(-t_end / tm)) + \
        r * 0.5 * ts / (ts - tm) * (math.exp(-t_end / ts) - math.exp(-t_end / tm))
    for dt in (1e-3, 2.5e-4, 1e-5):
        _, tr = run(model, t_end, initial={"i_syn": 0.5, "v": 0.1}, dt=dt, variables=["v"])
        assert tr["v"].values[-1, 0] == pytest.approx(expected, rel=1e-10)


def test_coba_without_inhibitory_input_keeps_g_inh_zero():
    """A CobaLIF population with no "inh" projection (declared after another population) has g_inh = 0."""
    net = Network(dt=DT)
    net.add_population("first", 64, LIF())
    pop = net.add_population("coba", 200, CobaLIF(i_bias=0.02, v_th=10.0))
    src = net.add_poisson("drive", 20, rate=500.0)
    net.connect(src, pop, snnsim.FixedProbability(0.5), weight=0.1, target="exc")
    net.probe_state(pop, "g_inh")
    net.probe_state(pop, "g_exc")
    res = snnsim.simulate(net, 0.02, arithmetic="float64")
    assert np.all(res.traces["coba.g_inh"].values == 0.0)
    assert res.traces["coba.g_exc"].values.max() > 0.1
