"""Poisson sources at any rate: the number of spikes per neuron and step is Poisson(rate dt).

Checked against the closed form (mean = variance = rate dt) with z-tests whose tolerance is
4 standard errors of the estimate (not tuned), and against ``scipy.stats.poisson.pmf`` with a
chi-square test, at rate dt = 0.05, 1.6 and 20, on the clock engine, the whole-input path of
the torch/Lava engines (``source_raster``) and the event engine (continuous-time process).
"""

import math

import numpy as np
import pytest
import scipy.stats

from snnsim import LIF, Network, simulate
from snnsim.backends.common import source_raster
from snnsim.kernels.rng import poisson_count, poisson_count_max, stream_key

DT = 1e-4


def _counts(engine, lam, n, n_steps, seed=11):
    """Per-(step, neuron) spike counts ``(n_steps, n)`` of a source with ``rate dt = lam``."""
    net = Network(dt=DT, seed=seed)
    net.add_population("dummy", 1, LIF())
    net.add_poisson("q", n, lam / DT)
    net.probe_spikes("q")
    res = simulate(net, n_steps * DT, backend=engine)
    sp = res.spikes["q"]
    step = np.ceil(sp.times / DT - 1e-9).astype(np.int64) - 1   # (k-1) dt < t <= k dt -> row k-1
    out = np.zeros((n_steps, n), np.int64)
    np.add.at(out, (step, sp.indices), 1)
    return out


def _check_poisson(counts, lam):
    x = counts.ravel().astype(np.float64)
    m = x.size
    # mean: standard error sqrt(lam / m); variance: Var(s^2) = (mu4 - lam^2) / m = (lam + 2 lam^2) / m
    assert abs(x.mean() - lam) < 4 * math.sqrt(lam / m), (x.mean(), lam)
    assert abs(x.var(ddof=1) - lam) < 4 * math.sqrt((lam + 2 * lam ** 2) / m), (x.var(ddof=1), lam)
    # chi-square against the pmf, bins pooled so that each expects >= 5 counts (tails into the end bins)
    hi = int(x.max())
    expected = scipy.stats.poisson.pmf(np.arange(hi + 1), lam) * m
    expected[-1] += scipy.stats.poisson.sf(hi, lam) * m
    observed = np.bincount(x.astype(np.int64), minlength=hi + 1).astype(np.float64)
    obs, exp, acc_o, acc_e = [], [], 0.0, 0.0
    for o, e in zip(observed, expected):
        acc_o, acc_e = acc_o + o, acc_e + e
        if acc_e >= 5:
            obs.append(acc_o), exp.append(acc_e)
            acc_o = acc_e = 0.0
    obs[-1] += acc_o
    exp[-1] += acc_e
    stat, p = scipy.stats.chisquare(obs, exp)
    assert p > 1e-3, (lam, stat, len(obs), p)


@pytest.mark.parametrize("lam", [0.05, 1.6, 20.0])
def test_clock_engine_counts_are_poisson(lam):
    _check_poisson(_counts("cpu", lam, 500, 400), lam)


@pytest.mark.parametrize("lam", [0.05, 1.6, 20.0])
def test_event_engine_counts_per_step_are_poisson(lam):
    """The event engine's continuous-time process: its count in every step is Poisson(rate dt) too."""
    _check_poisson(_counts("event", lam, 100, 200), lam)


@pytest.mark.parametrize("lam", [0.05, 1.6, 20.0, 700.0])
def test_whole_input_raster_is_poisson_and_the_clock_engines_counts(lam):
    """``source_raster`` (torch, Lava) draws the very counts of the clock engine; 700 exercises the
    split into parts of at most 256."""
    n, n_steps = 200, 100 if lam > 100 else 400
    net = Network(dt=DT, seed=11)
    net.add_poisson("q", n, lam / DT)
    raster = source_raster(net, "q", DT, n_steps + 1)
    assert not raster[0].any()                  # nothing at t = 0
    _check_poisson(raster[1:], lam)
    if lam < 100:
        np.testing.assert_array_equal(raster[1:], _counts("cpu", lam, n, n_steps))


def test_count_is_the_poisson_quantile_of_one_uniform():
    """The documented draw: count = smallest c with CDF(c) >= 1 - u, u = uniform(key, step, index)
    (scipy's ppf, an independent inversion), and the buffer bound holds."""
    from reference import uniform
    from snnsim.plan import stream_id
    key = stream_key(np.uint64(3), np.uint64(stream_id("q")))
    idx = np.arange(2000)
    for lam in (0.05, 1.6, 20.0):
        u = uniform(3, "q", 7, idx)
        want = scipy.stats.poisson.ppf(1.0 - u, lam).astype(np.int64)
        got = np.array([poisson_count(key, 7, int(i), lam) for i in idx])
        np.testing.assert_array_equal(got, want)
        assert got.max() <= poisson_count_max(lam)
        # the truncated tail is at the uniform's resolution (2**-53; the summed CDF rounds to 1 a few ulps early)
        assert scipy.stats.poisson.sf(poisson_count_max(lam), lam) < 1e-15


def test_counts_above_one_deliver_count_times_weight_on_the_clock_and_torch_engines():
    """rate dt = 2 into LIF neurons that never fire: v follows the hand recursion
    v_(k+1) = a v_k + c_k w from the recorded counts, on the clock engine and on torch (same counts)."""
    from snnsim.connectivity import OneToOne
    from snnsim.backends.capabilities import REGISTRY
    w, tau, n = 0.01, 20e-3, 5
    net = Network(dt=DT, seed=5)
    net.add_poisson("q", n, 2.0 / DT)
    net.add_population("p", n, LIF(tau_mem=tau, v_th=1e9))
    net.connect("q", "p", OneToOne(), weight=w, delay=DT)
    net.probe_state("p", "v")
    net.probe_spikes("q")
    engines = ["cpu"] + (["torch"] if "torch" in REGISTRY and _imports("torch") else [])
    a = math.exp(-DT / tau)
    for engine in engines:
        res = simulate(net, 5e-3, backend=engine, arithmetic="float64")
        v = res.traces["p.v"].values
        sp = res.spikes["q"]
        c = np.zeros(v.shape, np.int64)
        np.add.at(c, (np.rint(sp.times / DT).astype(np.int64), sp.indices), 1)
        assert c.max() >= 4, engine                       # Poisson(2): counts well above one
        expected = np.zeros_like(v)
        for k in range(2, len(v)):
            expected[k] = a * expected[k - 1] + c[k - 1] * w
        np.testing.assert_allclose(v, expected, rtol=1e-9, atol=1e-15, err_msg=engine)


def _imports(module):
    import importlib.util
    return importlib.util.find_spec(module) is not None
