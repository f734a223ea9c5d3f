"""COBA (Vogels & Abbott 2005, Brian2's benchmark parameters) sits in the asynchronous-irregular regime.

Statistics over 1 s of 4000 neurons, after a 100 ms transient:
- mean rate 15-30 Hz (Brian2 2.9 standalone gives 22 Hz on these parameters, see benchmarks/RESULTS.md),
- irregular: mean coefficient of variation of the inter-spike intervals > 0.8 (Poisson: 1),
- asynchronous: synchrony chi = sqrt(var(population activity) / mean var(single-neuron activity)) < 0.2
  in 2 ms bins (1 for full synchrony, ~ 1/sqrt(N) for independent neurons), and the mean pairwise
  correlation of 10 ms spike counts is below 0.05 in magnitude.
"""

import numpy as np
import pytest

import snnsim
from snnsim.examples.coba import build_coba


@pytest.fixture(scope="module", params=[1, 7])
def spikes(request):
    res = snnsim.simulate(build_coba(seed=request.param), 1.0)
    times = np.concatenate([res.spikes["exc"].times, res.spikes["inh"].times])
    neurons = np.concatenate([res.spikes["exc"].indices, res.spikes["inh"].indices + 3200])
    return res, times, neurons


def binned(times, neurons, width, start=0.1, stop=1.0):
    n_bins = int(round((stop - start) / width))
    keep = (times > start) & (times <= stop)
    b = np.minimum(((times[keep] - start) / width).astype(int), n_bins - 1)
    counts = np.zeros((4000, n_bins))
    np.add.at(counts, (neurons[keep], b), 1)
    return counts


def test_mean_rate_in_brian2_range(spikes):
    res, times, _ = spikes
    assert 15.0 <= res.mean_rate() <= 30.0
    assert res.counters["neuron_spikes"] == len(times)


def test_firing_is_irregular(spikes):
    _, times, neurons = spikes
    keep = times > 0.1
    order = np.lexsort((times[keep], neurons[keep]))
    t, n = times[keep][order], neurons[keep][order]
    same = n[1:] == n[:-1]
    isi, owner = np.diff(t)[same], n[1:][same]
    cvs = []
    for j in np.unique(owner):
        x = isi[owner == j]
        if len(x) >= 4:
            cvs.append(x.std() / x.mean())
    assert len(cvs) > 1000
    assert np.mean(cvs) > 0.8


def test_firing_is_asynchronous(spikes):
    _, times, neurons = spikes
    counts = binned(times, neurons, 2e-3)
    chi = np.sqrt(counts.mean(0).var() / counts.var(1).mean())
    assert chi < 0.2
    c10 = binned(times, neurons, 10e-3)
    active = np.flatnonzero(c10.std(1) > 0)
    rng = np.random.default_rng(0)
    pairs = rng.choice(active, (400, 2))
    corr = [np.corrcoef(c10[a], c10[b])[0, 1] for a, b in pairs if a != b]
    assert abs(np.mean(corr)) < 0.05
