"""The trained digits network on Loihi: quantised, in Lava fixed_pt, and as a netx file in lava-dl."""

import numpy as np
import pytest

from snnsim import simulate
from snnsim.io.netx import lava_dl_available, write_netx
from snnsim.lava_compat import available
from snnsim.replicate import replicate
from snnsim.training.classify import Encoding, encode, engine_scores
from snnsim.training.run import TaskSpec, _generator, train_task
from snnsim.training.tasks import load_digits_task

pytestmark = pytest.mark.skipif(not available(), reason="lava-nc is not installed (scripts/setup.sh installs it)")

ENC = Encoding("poisson", 30, 500.0)


@pytest.fixture(scope="module")
def trained():
    figures, model = train_task(TaskSpec("digits"), progress=False)
    return figures, model.to_network()


def test_quantised_digits_network_in_lava_fixed_pt_is_within_one_point(trained):
    """All 360 test samples, 40 copies of the network per Lava run."""
    figures, net = trained
    x, y = load_digits_task(0).test
    lava = engine_scores(net, ENC, x, "max", _generator(0, 2**32), backend="lava", arithmetic="loihi_fixed", copies=40)
    ours = engine_scores(net, ENC, x, "max", _generator(0, 2**32), arithmetic="loihi_fixed", copies=40)
    lava_accuracy = float((lava.argmax(1) == y).mean())
    assert figures["test_accuracy"] >= 0.95
    assert lava_accuracy >= figures["test_accuracy"] - 0.01, (lava_accuracy, figures["test_accuracy"])
    np.testing.assert_array_equal(lava, ours)        # and bit-identical to our loihi engine


@pytest.mark.skipif(not lava_dl_available(), reason="lava-dl is not installed (scripts/setup.sh installs it)")
def test_netx_file_of_the_trained_network_runs_in_lava_dl_like_our_engine(trained, tmp_path):
    """20 test samples side by side: the exported file, loaded by lava-dl's netx and run in Lava
    fixed_pt, gives our loihi engine's hidden spikes and the readout's u and v at every step."""
    from lava_dl_runner import run_netx
    _, net = trained
    x, _ = load_digits_task(0).test
    copies = 20
    spikes = encode(ENC, x[:copies], net.dt, _generator(0, 2**32))["inputs"]["input"].numpy()   # (T, B, 64)
    big = replicate(net, copies, sources={"input": 64})
    del big.sources["input"]
    k, b, i = np.nonzero(spikes)
    big.add_spike_source("input", copies * 64, k * net.dt, b * 64 + i)
    big.probe_spikes("hidden0")
    for var in ("v", "i_syn"):
        big.probe_state("hidden0", var)
        big.probe_state("output", var)
    path = str(tmp_path / "digits.net")
    write_netx(big, path)
    steps = ENC.steps
    ours = simulate(big, steps * net.dt, arithmetic="loihi_fixed")
    raster = np.zeros((steps + 1, copies * 64), np.int64)
    raster[k, b * 64 + i] = 1
    got = run_netx(path, raster, steps)
    hidden = np.zeros((steps, copies * net.populations["hidden0"].size))
    s = ours.spikes["hidden0"]
    hidden[np.rint(s.times / net.dt).astype(int) - 1, s.indices] = 1
    assert hidden.sum() > 100
    np.testing.assert_array_equal(got[(0, "s")] != 0, hidden != 0)
    np.testing.assert_array_equal(got[(0, "v")], ours.traces["hidden0.v"].values[1:])
    np.testing.assert_array_equal(got[(0, "u")], ours.traces["hidden0.i_syn"].values[1:])
    np.testing.assert_array_equal(got[(1, "v")], ours.traces["output.v"].values[1:])
    np.testing.assert_array_equal(got[(1, "u")], ours.traces["output.i_syn"].values[1:])


def test_copies_of_the_trained_network_map_onto_loihi_like_the_network(trained):
    """snnsim.replicate (batched Lava runs, the netx file above) must not change the mapping: the same
    scale, threshold, exponents and mantissas as the single network, copy after copy. (The scale search
    once sampled the weights with their multiplicity, and 20 copies took weight exponent 2 where one
    network took 0, which netx cannot carry.)"""
    from snnsim.loihi import quantize

    _, net = trained
    copies = 20
    one, many = quantize(net), quantize(replicate(net, copies, sources={"input": 64}))
    for name in net.populations:
        assert many.populations[name].scale == one.populations[name].scale
        assert many.populations[name].vth == one.populations[name].vth
    for name in net.projections:
        assert many.projections[name].exp == one.projections[name].exp
        np.testing.assert_array_equal(many.projections[name].mant, np.tile(one.projections[name].mant, copies))
