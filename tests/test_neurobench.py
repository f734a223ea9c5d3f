"""Our metrics of the trained digits network against NeuroBench's (PyPI ``neurobench``, installed by
scripts/setup.sh), the same model fed the same spikes. Definitions compared: docs/bench.md."""

import numpy as np
import pytest
import scipy.sparse
import torch

from snnsim import Network, simulate
from snnsim.metrics import run_metrics
from snnsim.replicate import replicate
from snnsim.training.classify import Encoding, encode
from snnsim.training.run import TaskSpec, _generator, train_task
from snnsim.training.tasks import load_digits_task

neurobench = pytest.importorskip("neurobench", reason="neurobench is not installed (scripts/setup.sh installs it)")

SAMPLES = 40
ENC = Encoding("poisson", 30, 500.0)


def _pruned(net: Network, keep: float) -> Network:
    """``net`` with only the largest ``keep`` fraction of each projection's weights (a real sparse network)."""
    out = Network(dt=net.dt, integration=net.integration, seed=net.seed, name="pruned")
    for name, src in net.sources.items():
        out.add_spike_source(name, src.size, times=[])
    for name, pop in net.populations.items():
        out.add_population(name, pop.size, pop.model)
    for name, proj in net.projections.items():
        n_pre, n_post = net.node(proj.pre).size, net.node(proj.post).size
        pre = np.repeat(np.arange(n_pre), np.diff(proj.indptr))
        w = np.asarray(proj.weights)
        cut = np.quantile(np.abs(w), 1 - keep)
        big = np.abs(w) > cut
        out.connect(proj.pre, proj.post, scipy.sparse.csr_matrix((w[big], (proj.indices[big], pre[big])),
                                                                 shape=(n_post, n_pre)))
    return out


@pytest.fixture(scope="module")
def trained():
    _, model = train_task(TaskSpec("digits"), progress=False, threads=1)
    return model.to_network()


@pytest.mark.parametrize("keep", [1.0, 0.4])
def test_neurobench_figures_equal_ours_on_the_trained_digits_network(trained, keep):
    from snnsim.backends.torch import TorchNetwork
    from snnsim.metrics.neurobench import neurobench_figures

    net = trained if keep == 1.0 else _pruned(trained, keep)
    x, _ = load_digits_task(0).test
    spikes = encode(ENC, x[:SAMPLES], net.dt, _generator(0, 2**32))["inputs"]["input"].double()   # (T, B, 64)
    T = spikes.shape[0]
    theirs = neurobench_figures(TorchNetwork(net, dtype="float64"), spikes)

    # ours: the same samples as SAMPLES copies of the network on the CPU engine, from its counters
    big = replicate(net, SAMPLES, sources={"input": 64})
    del big.sources["input"]
    k, b, i = np.nonzero(spikes.numpy())
    big.add_spike_source("input", SAMPLES * 64, k * net.dt, b * 64 + i)
    big.probe_spikes("hidden0")
    res = simulate(big, T * net.dt, arithmetic="float64")
    ours = run_metrics(big, res)

    hidden = ours["populations"]["hidden0"]
    assert theirs["activation_sparsity"] == pytest.approx(hidden["activation_sparsity"], abs=1e-12)
    assert 0.5 < hidden["activation_sparsity"] < 0.99            # a real, sparse activity
    # NeuroBench counts an operation when a spike reaches a layer within the T steps; our counter
    # when it is sent: the hidden spikes of the last step (one-step delay) are sent, not yet delivered
    out_degree = np.diff(big.projections["hidden0->output"].indptr)
    last = res.spikes["hidden0"].indices[np.rint(res.spikes["hidden0"].times / net.dt).astype(int) == T]
    in_flight = int(out_degree[last].sum())
    syn = ours["totals"]["syn_events"]
    assert theirs["effective_acs_per_sample"] == pytest.approx((syn - in_flight) / SAMPLES, rel=1e-12)
    assert theirs["effective_macs_per_sample"] == 0          # binary inputs: accumulates only
    # dense SynOps: n_in * n_out per layer and step, by hand: 30 x (64 x 128 + 128 x 10)
    assert theirs["dense_synops_per_sample"] == T * (64 * 128 + 128 * 10)
    per_copy = {p: run_metrics(net, simulate(net, T * net.dt))["projections"][p] for p in net.projections}
    assert theirs["dense_synops_per_sample"] == sum(p["dense_macs"] for p in per_copy.values())
    synapses = sum(p["synapses"] for p in per_copy.values())
    ours_sparsity = 1 - synapses / (64 * 128 + 128 * 10)
    assert theirs["connection_sparsity"] == pytest.approx(round(ours_sparsity, 3), abs=1e-12)  # NB rounds to 3
    assert ours_sparsity == pytest.approx(1 - keep, abs=2e-3)
