"""Loaders refuse impossible values with a FileFormatError naming the file and the item
(results files here: spike indices, spike times, lengths, trace shapes, durations)."""

import h5py
import numpy as np
import pytest

import snnsim
from snnsim.errors import FileFormatError
from snnsim.io import load_results, save_results


@pytest.fixture
def good(tmp_path):
    """A valid results file: population 'a' of 3 neurons, 4 spikes in [0, 0.01] s, one 5x2 trace."""
    res = snnsim.Results("cpu", 1e-3, "exact", "float64", 0.0, 0.01, {"a": 3, "src": 2},
                         neuron_populations=("a",))
    res.spikes["a"] = snnsim.SpikeTrains(np.array([0.001, 0.002, 0.002, 0.009]), np.array([0, 2, 1, 2]), 3)
    res.traces["a.v"] = snnsim.Trace("a", "v", np.array([0, 2]), np.arange(5) * 2e-3, np.zeros((5, 2)))
    res.counts = {"populations": {"a": {"neuron_updates": 30, "spikes": 4}}, "projections": {},
                  "sources": {"src": {"spikes": 0}}}
    res.counters = {"steps": 10, "wall_s": 0.1}
    path = tmp_path / "r.h5"
    save_results(res, path)
    return path


def test_the_valid_file_loads(good):
    back = load_results(good)
    assert back.spikes["a"].counts().tolist() == [1, 1, 2]


def _replace(f, name, value):
    del f[name]
    f[name] = value


CORRUPTIONS = {
    "index beyond the population": (lambda f: _replace(f, "spikes/a/indices", np.array([0, 3, 1, 2])),
                                    "/spikes/a/indices"),
    "negative index": (lambda f: _replace(f, "spikes/a/indices", np.array([0, -1, 1, 2])), "/spikes/a/indices"),
    "NaN time": (lambda f: _replace(f, "spikes/a/times", np.array([0.001, np.nan, 0.002, 0.009])),
                 "/spikes/a/times"),
    "time after the run": (lambda f: _replace(f, "spikes/a/times", np.array([0.001, 0.002, 0.002, 5.0])),
                           "/spikes/a/times"),
    "mismatched lengths": (lambda f: _replace(f, "spikes/a/times", np.array([0.001, 0.002])), "/spikes/a"),
    "wrong trace shape": (lambda f: _replace(f, "traces/a.v/values", np.zeros((5, 3))), "/traces/a.v/values"),
    "trace neuron beyond population": (lambda f: _replace(f, "traces/a.v/neurons", np.array([0, 7])),
                                       "/traces/a.v/neurons"),
    "negative duration": (lambda f: f.attrs.__setitem__("duration", -1.0), "/@duration"),
    "NaN duration": (lambda f: f.attrs.__setitem__("duration", np.nan), "/@duration"),
    "zero dt": (lambda f: f.attrs.__setitem__("dt", 0.0), "/@dt"),
    "size disagrees with /sizes": (lambda f: f["spikes/a"].attrs.__setitem__("size", 5), "/spikes/a@size"),
    "negative count": (lambda f: f["counts/populations/a"].attrs.__setitem__("spikes", -4),
                       "/counts/populations/a@spikes"),
    "negative counter": (lambda f: f["counters"].attrs.__setitem__("steps", -10), "/counters@steps"),
}


@pytest.mark.parametrize("case", CORRUPTIONS)
def test_corrupt_results_are_refused_naming_file_and_item(good, case):
    corrupt, item = CORRUPTIONS[case]
    with h5py.File(good, "r+") as f:
        corrupt(f)
    with pytest.raises(FileFormatError) as info:
        load_results(good)
    assert str(good) in str(info.value) and item in str(info.value), str(info.value)
