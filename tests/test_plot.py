"""Raster and rate figures from Results."""

import numpy as np
import pytest

import snnsim
from snnsim import plot

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def results():
    net = snnsim.Network(dt=1e-4, seed=2, name="small")
    net.add_poisson("input", 30, rate=300.0)
    net.add_population("a", 20, snnsim.LIF(tau_mem=10e-3))
    net.add_population("b", 10, snnsim.LIF(tau_mem=10e-3))
    for post in ("a", "b"):
        net.connect("input", post, snnsim.FixedProbability(0.5), weight=0.15)
    for name in ("input", "a", "b"):
        net.probe_spikes(name)
    res = snnsim.simulate(net, 0.1)
    assert all(len(res.spikes[name]) > 0 for name in ("input", "a", "b"))
    return res


def points(ax) -> int:
    return sum(len(line.get_xdata()) for line in ax.get_lines())


def test_raster_points_and_order(results):
    ax = plot.raster(results)
    assert points(ax) == sum(len(s) for s in results.spikes.values())
    assert [line.get_label() for line in ax.get_lines()] == ["a", "b", "input"]  # network order
    assert ax.get_ylim()[1] == pytest.approx(20 + 10 + 30 - 0.5)
    assert len({line.get_color() for line in ax.get_lines()}) == 3
    assert ax.get_legend() is not None


def test_raster_selection_and_max_neurons(results):
    ax = plot.raster(results, populations=["b"], max_neurons=4)
    b = results.spikes["b"]
    assert points(ax) == int((b.indices < 4).sum())
    assert max(line.get_ydata().max() for line in ax.get_lines()) < 4
    with pytest.raises(snnsim.NetworkError, match="populations"):
        plot.raster(results, populations=["nope"])
    with pytest.raises(snnsim.NetworkError, match="max_neurons"):
        plot.raster(results, max_neurons=0)


def test_rate_is_spikes_per_neuron_per_second(results):
    ax = plot.rate(results, bin_s=5e-3, populations=["a"])
    (line,) = ax.get_lines()
    assert len(line.get_xdata()) == 20  # 0.1 s in 5 ms bins
    assert np.sum(line.get_ydata()) * 20 * 5e-3 == pytest.approx(len(results.spikes["a"]))
    with pytest.raises(snnsim.NetworkError, match="bin_s"):
        plot.rate(results, bin_s=-1)


def test_rate_partial_last_bin(results):
    ax = plot.rate(results, bin_s=3e-3, populations="input")
    (line,) = ax.get_lines()
    assert len(line.get_xdata()) == 34  # 33 whole bins and one of 1 ms
    assert line.get_xdata()[-1] == pytest.approx(0.0995)


def test_raster_and_rate_png(results, tmp_path):
    import matplotlib.image

    path = tmp_path / "fig.png"
    assert plot.raster_and_rate(results, path, title="small") == path
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    assert matplotlib.image.imread(path).size > 0
    assert [p.name for p in tmp_path.iterdir()] == ["fig.png"]  # no temporary file left


def test_raster_and_rate_failure_leaves_nothing(results, tmp_path):
    with pytest.raises(OSError):
        plot.raster_and_rate(results, tmp_path / "missing" / "fig.png")
    assert not list(tmp_path.iterdir())
